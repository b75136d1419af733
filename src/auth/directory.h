#ifndef RAVELIN_DIRECTORY_H
#define RAVELIN_DIRECTORY_H
/*
 * directory: domains, accounts, aliases and credentials, in
 * DATA/directory/directory.db.  Read by the auth process (the only process
 * that judges credentials) and changed by the `ravelin` command line.
 * Passwords are stored as argon2id hashes (libsodium's crypto_pwhash_str).
 *
 * Addresses are compared in a normal form: ASCII letters lower-cased in the
 * whole address (local parts are case-insensitive here, as users expect).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ipc-limits.h"
#include "lib/str.h"

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets, so an address 254. */
#define DIRECTORY_MAX_ADDRESS IPC_MAX_ADDRESS
/* Aliases pointing at aliases: deeper than this is a loop or a mistake. */
#define DIRECTORY_MAX_ALIAS_DEPTH 8
/* Accounts one address may expand to (a list alias): what one recipient
 * look-up can answer. */
#define DIRECTORY_MAX_EXPANSION IPC_RCPT_MAX_ACCOUNTS
/* Passwords longer than this are refused, when set and at login: what can
 * be set is what a login can carry to auth (IPC_LOGIN). */
#define DIRECTORY_MAX_PASSWORD IPC_LOGIN_MAX_PASSWORD

struct directory;

struct directory_account {
	uint64_t id;
	char address[DIRECTORY_MAX_ADDRESS + 1];
	int64_t created;
};

/* directory_open opens (create: also makes) DATA/directory/directory.db. */
int directory_open(const char *data_dir, bool create, struct directory **dir_r,
		   const char **error_r);
void directory_close(struct directory **dir);

/* directory_normalize checks an address and writes its normal form. */
int directory_normalize(struct str address, char out[DIRECTORY_MAX_ADDRESS + 1],
			const char **error_r);

int directory_domain_add(struct directory *dir, const char *domain, const char **error_r);
int directory_domain_del(struct directory *dir, const char *domain, const char **error_r);
/* directory_domain_list calls fn for each domain in name order. */
int directory_domain_list(struct directory *dir, void (*fn)(const char *domain, void *ctx),
			  void *ctx, const char **error_r);

int directory_account_add(struct directory *dir, const char *address, struct str password,
			  uint64_t *id_r, const char **error_r);
int directory_account_passwd(struct directory *dir, const char *address, struct str password,
			     const char **error_r);
/* directory_account_del removes the account (and aliases naming it) and
 * gives its id, so the caller can remove its store. */
int directory_account_del(struct directory *dir, const char *address, uint64_t *id_r,
			  const char **error_r);
int directory_account_get(struct directory *dir, const char *address,
			  struct directory_account *account_r, const char **error_r);
int directory_account_list(struct directory *dir,
			   void (*fn)(const struct directory_account *account, void *ctx),
			   void *ctx, const char **error_r);
/* An argon2id hash in its text form (crypto_pwhash_STRBYTES). */
#define DIRECTORY_HASH_SIZE 128

/* directory_password_lookup gives the hash to check a password against:
 * 1 (the account's, *id_r set), 0 (no such account: a real hash of
 * nothing, so that checking takes the same time), -1 on error.  The check
 * itself (directory_password_matches) touches no database, so it can run
 * on another thread. */
int directory_password_lookup(struct directory *dir, struct str address, uint64_t *id_r,
			      char hash_r[DIRECTORY_HASH_SIZE], const char **error_r);
bool directory_password_matches(const char hash[DIRECTORY_HASH_SIZE], struct str password);

/* directory_verify_password: 1 if right (and *id_r), 0 if wrong or no such
 * account (same time either way), -1 on error. */
int directory_verify_password(struct directory *dir, struct str address, struct str password,
			      uint64_t *id_r, const char **error_r);

int directory_alias_add(struct directory *dir, const char *alias, const char *const *targets,
			size_t target_count, const char **error_r);
int directory_alias_del(struct directory *dir, const char *alias, const char **error_r);
/* directory_alias_list calls fn for each alias with its targets joined by
 * ", ". */
int directory_alias_list(struct directory *dir,
			 void (*fn)(const char *alias, const char *targets, void *ctx), void *ctx,
			 const char **error_r);

/* The local part that every domain has (RFC 5321 4.5.1). */
#define DIRECTORY_POSTMASTER "postmaster"

/* directory_resolve's answers. */
enum directory_resolved {
	DIRECTORY_RESOLVE_UNKNOWN = 0,   /* our domain, nobody has the address */
	DIRECTORY_RESOLVE_FOUND = 1,     /* ids follow */
	DIRECTORY_RESOLVE_NOT_LOCAL = 2, /* not one of our domains */
	DIRECTORY_RESOLVE_LOOP = 3,      /* aliases that lead back to themselves */
};

/*
 * directory_resolve finds the accounts mail for address goes to: an
 * account, an alias (recursively), user+tag@ as user@, a catch-all alias
 * @domain, and postmaster@ of every domain (when nobody has it: the
 * domain's first account, else the server's first).  Returns an enum
 * directory_resolved (FOUND: ids in ids[0..*count_r), sorted and without
 * repeats; LOOP with the alias in *error_r), or -1 on error.
 */
int directory_resolve(struct directory *dir, struct str address, uint64_t *ids, size_t max_ids,
		      size_t *count_r, const char **error_r);

/* Remote addresses one address may be forwarded to: what one recipient
 * look-up can answer. */
#define DIRECTORY_MAX_FORWARDS IPC_RCPT_MAX_FORWARDS

/* The remote targets (domains not ours) an address is forwarded to. */
struct directory_forwards {
	char address[DIRECTORY_MAX_FORWARDS][DIRECTORY_MAX_ADDRESS + 1];
	size_t count;
	bool over;   /* there were more than DIRECTORY_MAX_FORWARDS */
};

/* directory_resolve_forwards is directory_resolve that also collects the
 * remote targets of the aliases followed into *fw (without repeats):
 * FOUND when there are accounts, remote targets or both; more than
 * DIRECTORY_MAX_FORWARDS of them is an error (-1).  directory_resolve
 * leaves remote targets out. */
int directory_resolve_forwards(struct directory *dir, struct str address, uint64_t *ids,
			       size_t max_ids, size_t *count_r, struct directory_forwards *fw,
			       const char **error_r);

/* Candidate sender addresses looked at for one account: its own and the
 * aliases that lead to it; an account behind more aliases than this
 * (an alias list gone wild) may send as the first ones only. */
#define DIRECTORY_SENDERS_SCAN 256

/*
 * directory_sender_addresses lists the addresses account may send mail as
 * (submission): its own and every alias that delivers to it and to no
 * other account, at most max of them into out (*n_r).  0, or -1 on error.
 */
int directory_sender_addresses(struct directory *dir, uint64_t account,
			       char (*out)[DIRECTORY_MAX_ADDRESS + 1], size_t max, size_t *n_r,
			       const char **error_r);

#endif
