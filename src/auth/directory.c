/*
 * directory: domains, accounts, aliases, credentials (see directory.h).
 * Its SQL runs as kept statements through lib/sql.h (dir_sql, one slot
 * each, prepared on first use); the schema and the pragmas are the one
 * script run once with sqlite3_exec.
 */
#include "directory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "lib/buf.h"
#include "lib/sql.h"

#define DIRECTORY_SCHEMA_VERSION 1
/* resolve_exact's answer for aliases that lead back to themselves. */
#define RESOLVE_LOOP (-2)

_Static_assert(DIRECTORY_HASH_SIZE == crypto_pwhash_STRBYTES, "the hash text fits");

/* The directory's kept statements (lib/sql.h), one per SQL text. */
enum dir_stmt {
	DIR_BEGIN_IMMEDIATE,
	DIR_COMMIT,
	DIR_ROLLBACK,
	DIR_DOMAIN_ADD,
	DIR_DOMAIN_DEL,
	DIR_DOMAIN_COUNT,
	DIR_DOMAIN_ACCOUNTS,
	DIR_DOMAIN_ALIASES,
	DIR_DOMAIN_LIST,
	DIR_ACCOUNT_ADD,
	DIR_ACCOUNT_PASSWD,
	DIR_ACCOUNT_GET,
	DIR_ACCOUNT_DEL,
	DIR_ACCOUNT_LIST,
	DIR_ACCOUNT_ID,
	DIR_ACCOUNT_COUNT,
	DIR_ACCOUNT_PASSWORD,
	DIR_ALIAS_COUNT,
	DIR_ALIAS_ADD,
	DIR_ALIAS_DEL,
	DIR_ALIAS_DEL_TARGET,
	DIR_ALIAS_LIST,
	DIR_POSTMASTER_DOMAIN,
	DIR_POSTMASTER_ANY,
	DIR_SENDER_CANDIDATES,
	DIR_STMT_COUNT
};

static const char *const dir_sql[DIR_STMT_COUNT] = {
	[DIR_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[DIR_COMMIT] = "COMMIT",
	[DIR_ROLLBACK] = "ROLLBACK",
	[DIR_DOMAIN_ADD] = "INSERT OR IGNORE INTO domains VALUES(?1, ?2)",
	[DIR_DOMAIN_DEL] = "DELETE FROM domains WHERE name = ?1",
	[DIR_DOMAIN_COUNT] = "SELECT count(*) FROM domains WHERE name = ?1",
	[DIR_DOMAIN_ACCOUNTS] = "SELECT count(*) FROM accounts WHERE domain = ?1",
	[DIR_DOMAIN_ALIASES] = "SELECT count(*) FROM aliases WHERE domain = ?1",
	[DIR_DOMAIN_LIST] = "SELECT name FROM domains ORDER BY name",
	[DIR_ACCOUNT_ADD] = "INSERT OR IGNORE INTO accounts(address, domain, password, created) "
			    "VALUES(?1, ?2, ?3, ?4)",
	[DIR_ACCOUNT_PASSWD] = "UPDATE accounts SET password = ?1 WHERE address = ?2",
	[DIR_ACCOUNT_GET] = "SELECT id, created FROM accounts WHERE address = ?1",
	[DIR_ACCOUNT_DEL] = "DELETE FROM accounts WHERE address = ?1",
	[DIR_ACCOUNT_LIST] = "SELECT id, address, created FROM accounts ORDER BY domain, address",
	[DIR_ACCOUNT_ID] = "SELECT id FROM accounts WHERE address = ?1",
	[DIR_ACCOUNT_COUNT] = "SELECT count(*) FROM accounts WHERE address = ?1",
	[DIR_ACCOUNT_PASSWORD] = "SELECT id, password FROM accounts WHERE address = ?1",
	[DIR_ALIAS_COUNT] = "SELECT count(*) FROM aliases WHERE alias = ?1",
	[DIR_ALIAS_ADD] = "INSERT OR IGNORE INTO aliases VALUES(?1, ?2, ?3)",
	[DIR_ALIAS_DEL] = "DELETE FROM aliases WHERE alias = ?1",
	[DIR_ALIAS_DEL_TARGET] = "DELETE FROM aliases WHERE target = ?1",
	[DIR_ALIAS_LIST] = "SELECT alias, group_concat(target, ', ') FROM "
			   "(SELECT alias, target FROM aliases ORDER BY alias, target) "
			   "GROUP BY alias ORDER BY alias",
	[DIR_POSTMASTER_DOMAIN] = "SELECT min(id) FROM accounts WHERE domain = ?1",
	[DIR_POSTMASTER_ANY] = "SELECT min(id) FROM accounts WHERE ?1 IS NOT NULL",
	/* The account's address and every alias that leads to it, through
	 * other aliases too (depth as resolve_exact follows). */
	[DIR_SENDER_CANDIDATES] =
		"WITH RECURSIVE r(a, d) AS (SELECT address, 0 FROM accounts WHERE id = ?1 "
		"UNION SELECT aliases.alias, r.d + 1 FROM aliases JOIN r ON aliases.target = r.a "
		"WHERE r.d < 8) SELECT DISTINCT a FROM r ORDER BY d, a LIMIT ?2",
};

/* An alias's targets, read while each is followed: one kept statement per
 * depth of resolve_exact, so a deeper one does not reset the one above. */
static const char dir_sql_targets[] = "SELECT target FROM aliases WHERE alias = ?1";

struct directory {
	sqlite3 *db;
	sqlite3_stmt *stmts[DIR_STMT_COUNT];
	sqlite3_stmt *targets[DIRECTORY_MAX_ALIAS_DEPTH + 1];
	char error[512];
	/* A real hash to verify against when the account does not exist, so a
	 * wrong address costs the same time as a wrong password. */
	char dummy_hash[DIRECTORY_HASH_SIZE];
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS accounts("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  address TEXT NOT NULL UNIQUE,"
	"  domain TEXT NOT NULL REFERENCES domains(name),"
	"  password TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  quota INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS aliases("
	"  alias TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  domain TEXT NOT NULL REFERENCES domains(name),"
	"  PRIMARY KEY(alias, target));"
	"INSERT OR IGNORE INTO meta VALUES('schema', '1');";

static int db_fail(struct directory *dir, const char *what, const char **error_r)
{
	snprintf(dir->error, sizeof(dir->error), "%s: %s", what, sqlite3_errmsg(dir->db));
	*error_r = dir->error;
	return -1;
}

static int fail(struct directory *dir, const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct directory *dir, const char **error_r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dir->error, sizeof(dir->error), fmt, ap);
	va_end(ap);
	*error_r = dir->error;
	return -1;
}

/* dir_stmt returns kept statement id, prepared on first use; NULL with
 * *error_r if it does not prepare. */
static sqlite3_stmt *dir_stmt(struct directory *dir, enum dir_stmt id, const char **error_r)
{
	sqlite3_stmt *st = sql_stmt(dir->db, &dir->stmts[id], dir_sql[id]);
	if (st == NULL)
		db_fail(dir, "prepare", error_r);
	return st;
}

/* dir_write runs a bound statement that returns no rows and makes it ready
 * again; returns the number of rows changed, or -1. */
static int dir_write(struct directory *dir, struct sql_binder *b, const char **error_r)
{
	int rc = b->rc;
	if (rc != SQLITE_OK) {
		sql_stmt_done(b->st);
		return fail(dir, error_r, "bind: %s", sqlite3_errstr(rc));
	}
	rc = sqlite3_step(b->st);
	sql_stmt_done(b->st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(dir, "write", error_r);
	return sqlite3_changes(dir->db);
}

/* dir_write_text runs kept statement id with the texts args as ?1, ?2...;
 * returns the number of rows changed, or -1. */
static int dir_write_text(struct directory *dir, enum dir_stmt id, const char **error_r, int n,
			  ...)
{
	sqlite3_stmt *st = dir_stmt(dir, id, error_r);
	va_list ap;

	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		sql_bind_cstr(&b, va_arg(ap, const char *));
	va_end(ap);
	return dir_write(dir, &b, error_r);
}

/* dir_transaction runs BEGIN IMMEDIATE, COMMIT or ROLLBACK (what names it
 * in the error).  Returns 0 or -1. */
static int dir_transaction(struct directory *dir, enum dir_stmt id, const char *what,
			   const char **error_r)
{
	sqlite3_stmt *st = dir_stmt(dir, id, error_r);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	sql_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(dir, what, error_r);
}

/* dir_rollback ends the open transaction, keeping the error already told. */
static void dir_rollback(struct directory *dir)
{
	const char *ignored;
	(void)dir_transaction(dir, DIR_ROLLBACK, "rollback", &ignored);
}

/* dir_query_int runs kept statement id with arg as ?1: the
 * integer it gives (0 if no row), or -1. */
static int64_t dir_query_int(struct directory *dir, enum dir_stmt id, const char *arg,
			     const char **error_r)
{
	sqlite3_stmt *st = dir_stmt(dir, id, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, arg);
	int64_t v = 0;
	int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sql_stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(dir, "read", error_r);
	return v;
}

int directory_open(const char *data_dir, bool create, struct directory **dir_r,
		   const char **error_r)
{
	static char err[512];
	char path[4096];

	if (sodium_init() < 0) {
		*error_r = "libsodium failed to initialise";
		return -1;
	}
	snprintf(path, sizeof(path), "%s/directory", data_dir);
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, sizeof(err), "mkdir(%s) failed: %s", path, strerror(errno));
		*error_r = err;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/directory/directory.db", data_dir);
	struct directory *dir = calloc(1, sizeof(*dir));
	if (dir == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
		    SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &dir->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, sizeof(err), "cannot open %s: %s", path,
			 dir->db ? sqlite3_errmsg(dir->db) : "out of memory");
		*error_r = err;
		sqlite3_close(dir->db);
		free(dir);
		return -1;
	}
	sqlite3_db_config(dir->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_busy_timeout(dir->db, 10000);
	char *msg = NULL;
	if (sqlite3_exec(dir->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
			 NULL, NULL, &msg) != SQLITE_OK ||
	    (create && sqlite3_exec(dir->db, schema, NULL, NULL, &msg) != SQLITE_OK)) {
		snprintf(err, sizeof(err), "%s: %s", path, msg ? msg : "error");
		sqlite3_free(msg);
		*error_r = err;
		sqlite3_close(dir->db);
		free(dir);
		return -1;
	}
	*dir_r = dir;
	return 0;
}

void directory_close(struct directory **dirp)
{
	if (*dirp == NULL)
		return;
	for (size_t i = 0; i < DIR_STMT_COUNT; i++)
		sqlite3_finalize((*dirp)->stmts[i]);
	for (size_t i = 0; i <= DIRECTORY_MAX_ALIAS_DEPTH; i++)
		sqlite3_finalize((*dirp)->targets[i]);
	sqlite3_close((*dirp)->db);
	sodium_memzero(*dirp, sizeof(**dirp));
	free(*dirp);
	*dirp = NULL;
}

static bool domain_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c >= 0x80;
}

int directory_normalize(struct str address, char out[DIRECTORY_MAX_ADDRESS + 1],
			const char **error_r)
{
	long at = -1;

	if (address.len == 0 || address.len > DIRECTORY_MAX_ADDRESS) {
		*error_r = "address is empty or longer than 254 bytes";
		return -1;
	}
	for (size_t i = 0; i < address.len; i++) {
		unsigned char c = (unsigned char)address.ptr[i];
		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"' ||
		    c == '\\') {
			*error_r = "address has a space, control or special character";
			return -1;
		}
		if (c == '@')
			at = (long)i;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[address.len] = '\0';
	/* The domain part starts after the last '@'; an empty local part is
	 * allowed only for the catch-all form "@domain". */
	if (at < 0 || (size_t)at + 1 == address.len) {
		*error_r = "address must look like user@domain";
		return -1;
	}
	for (size_t i = (size_t)at + 1; i < address.len; i++)
		if (!domain_char_ok((unsigned char)out[i])) {
			*error_r = "domain has a character that is not allowed";
			return -1;
		}
	return 0;
}

static int normalize_domain(struct directory *dir, const char *domain, char *out,
			    const char **error_r)
{
	char tmp[DIRECTORY_MAX_ADDRESS + 1];
	char with_at[DIRECTORY_MAX_ADDRESS + 2];

	snprintf(with_at, sizeof(with_at), "x@%s", domain);
	if (strlen(domain) == 0 || strchr(domain, '@') != NULL ||
	    directory_normalize(str_c(with_at), tmp, error_r) < 0 || strchr(domain, '.') == NULL)
		return fail(dir, error_r, "'%s' is not a domain name", domain);
	snprintf(out, DIRECTORY_MAX_ADDRESS + 1, "%s", tmp + 2);
	return 0;
}

int directory_domain_add(struct directory *dir, const char *domain, const char **error_r)
{
	char name[DIRECTORY_MAX_ADDRESS + 1];

	if (normalize_domain(dir, domain, name, error_r) < 0)
		return -1;
	sqlite3_stmt *st = dir_stmt(dir, DIR_DOMAIN_ADD, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, name);
	sql_bind_i64(&b, (int64_t)time(NULL));
	int n = dir_write(dir, &b, error_r);
	if (n < 0)
		return -1;
	if (n == 0)
		return fail(dir, error_r, "domain %s exists already", name);
	return 0;
}

int directory_domain_del(struct directory *dir, const char *domain, const char **error_r)
{
	char name[DIRECTORY_MAX_ADDRESS + 1];

	if (normalize_domain(dir, domain, name, error_r) < 0)
		return -1;
	int64_t users = dir_query_int(dir, DIR_DOMAIN_ACCOUNTS, name, error_r);
	if (users < 0)
		return -1;
	int64_t aliases = dir_query_int(dir, DIR_DOMAIN_ALIASES, name, error_r);
	if (aliases < 0)
		return -1;
	if (users > 0 || aliases > 0)
		return fail(dir, error_r,
			    "domain %s still has %lld accounts and %lld alias targets: delete "
			    "them first",
			    name, (long long)users, (long long)aliases);
	int n = dir_write_text(dir, DIR_DOMAIN_DEL, error_r, 1, name);
	if (n < 0)
		return -1;
	if (n == 0)
		return fail(dir, error_r, "no domain %s", name);
	return 0;
}

int directory_domain_list(struct directory *dir, void (*fn)(const char *domain, void *ctx),
			  void *ctx, const char **error_r)
{
	sqlite3_stmt *st = dir_stmt(dir, DIR_DOMAIN_LIST, error_r);
	if (st == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0), ctx);
	sql_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(dir, "read", error_r);
}

/* split_address points *domain_r at the domain part of a normal address. */
static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return at != NULL ? at + 1 : "";
}

static int domain_exists(struct directory *dir, const char *domain, const char **error_r)
{
	int64_t n = dir_query_int(dir, DIR_DOMAIN_COUNT, domain, error_r);
	if (n < 0)
		return -1;
	if (n == 0)
		return fail(dir, error_r, "no domain %s: add it first with 'ravelin domain add %s'",
			    domain, domain);
	return 0;
}

static int hash_password(struct directory *dir, struct str password,
			 char hash[crypto_pwhash_STRBYTES], const char **error_r)
{
	if (password.len == 0 || password.len > DIRECTORY_MAX_PASSWORD)
		return fail(dir, error_r, "password must be 1 to %d bytes", DIRECTORY_MAX_PASSWORD);
	if (crypto_pwhash_str(hash, password.ptr, password.len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return fail(dir, error_r, "hashing the password failed (out of memory?)");
	return 0;
}

int directory_account_add(struct directory *dir, const char *address, struct str password,
			  uint64_t *id_r, const char **error_r)
{
	char addr[DIRECTORY_MAX_ADDRESS + 1];
	char hash[crypto_pwhash_STRBYTES];

	if (directory_normalize(str_c(address), addr, error_r) < 0)
		return fail(dir, error_r, "%s: %s", address, *error_r);
	if (addr[0] == '@')
		return fail(dir, error_r, "an account needs a user part before the @");
	if (domain_exists(dir, domain_of(addr), error_r) < 0)
		return -1;
	int64_t taken = dir_query_int(dir, DIR_ALIAS_COUNT, addr, error_r);
	if (taken < 0)
		return -1;
	if (taken > 0)
		return fail(dir, error_r, "%s is an alias already", addr);
	if (hash_password(dir, password, hash, error_r) < 0)
		return -1;
	int n = -1;
	sqlite3_stmt *st = dir_stmt(dir, DIR_ACCOUNT_ADD, error_r);
	if (st != NULL) {
		struct sql_binder b = sql_binder(st);
		sql_bind_cstr(&b, addr);
		sql_bind_cstr(&b, domain_of(addr));
		sql_bind_cstr(&b, hash);
		sql_bind_i64(&b, (int64_t)time(NULL));
		n = dir_write(dir, &b, error_r);
	}
	sodium_memzero(hash, sizeof(hash));
	if (n < 0)
		return -1;
	if (n == 0)
		return fail(dir, error_r, "account %s exists already", addr);
	*id_r = (uint64_t)sqlite3_last_insert_rowid(dir->db);
	return 0;
}

int directory_account_passwd(struct directory *dir, const char *address, struct str password,
			     const char **error_r)
{
	char addr[DIRECTORY_MAX_ADDRESS + 1];
	char hash[crypto_pwhash_STRBYTES];

	if (directory_normalize(str_c(address), addr, error_r) < 0)
		return fail(dir, error_r, "%s: %s", address, *error_r);
	if (hash_password(dir, password, hash, error_r) < 0)
		return -1;
	int n = dir_write_text(dir, DIR_ACCOUNT_PASSWD, error_r, 2, hash, addr);
	sodium_memzero(hash, sizeof(hash));
	if (n < 0)
		return -1;
	if (n == 0)
		return fail(dir, error_r, "no account %s", addr);
	return 0;
}

int directory_account_get(struct directory *dir, const char *address,
			  struct directory_account *account_r, const char **error_r)
{
	char addr[DIRECTORY_MAX_ADDRESS + 1];

	if (directory_normalize(str_c(address), addr, error_r) < 0)
		return fail(dir, error_r, "%s: %s", address, *error_r);
	sqlite3_stmt *st = dir_stmt(dir, DIR_ACCOUNT_GET, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, addr);
	int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_ROW) {
		account_r->id = (uint64_t)sqlite3_column_int64(st, 0);
		account_r->created = sqlite3_column_int64(st, 1);
		snprintf(account_r->address, sizeof(account_r->address), "%s", addr);
	}
	sql_stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return fail(dir, error_r, "no account %s", addr);
	return db_fail(dir, "read", error_r);
}

int directory_account_del(struct directory *dir, const char *address, uint64_t *id_r,
			  const char **error_r)
{
	struct directory_account a;

	if (directory_account_get(dir, address, &a, error_r) < 0)
		return -1;
	if (dir_transaction(dir, DIR_BEGIN_IMMEDIATE, "begin", error_r) < 0)
		return -1;
	if (dir_write_text(dir, DIR_ALIAS_DEL_TARGET, error_r, 1, a.address) < 0 ||
	    dir_write_text(dir, DIR_ACCOUNT_DEL, error_r, 1, a.address) < 0) {
		dir_rollback(dir);
		return -1;
	}
	if (dir_transaction(dir, DIR_COMMIT, "commit", error_r) < 0)
		return -1;
	*id_r = a.id;
	return 0;
}

int directory_account_list(struct directory *dir,
			   void (*fn)(const struct directory_account *account, void *ctx),
			   void *ctx, const char **error_r)
{
	sqlite3_stmt *st = dir_stmt(dir, DIR_ACCOUNT_LIST, error_r);
	if (st == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct directory_account a = { .id = (uint64_t)sqlite3_column_int64(st, 0),
					       .created = sqlite3_column_int64(st, 2) };
		snprintf(a.address, sizeof(a.address), "%s", sqlite3_column_text(st, 1));
		fn(&a, ctx);
	}
	sql_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(dir, "read", error_r);
}

int directory_password_lookup(struct directory *dir, struct str address, uint64_t *id_r,
			      char hash_r[DIRECTORY_HASH_SIZE], const char **error_r)
{
	char addr[DIRECTORY_MAX_ADDRESS + 1];
	int found = 0;

	if (dir->dummy_hash[0] == '\0' &&
	    crypto_pwhash_str(dir->dummy_hash, "x", 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return fail(dir, error_r, "hashing failed (out of memory?)");
	*id_r = 0;
	if (directory_normalize(address, addr, error_r) == 0) {
		sqlite3_stmt *st = dir_stmt(dir, DIR_ACCOUNT_PASSWORD, error_r);
		if (st == NULL)
			return -1;
		struct sql_binder b = sql_binder(st);
		sql_bind_cstr(&b, addr);
		if (b.rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
			*id_r = (uint64_t)sqlite3_column_int64(st, 0);
			snprintf(hash_r, DIRECTORY_HASH_SIZE, "%s", sqlite3_column_text(st, 1));
			found = 1;
		}
		sql_stmt_done(st);
	}
	if (!found)
		snprintf(hash_r, DIRECTORY_HASH_SIZE, "%s", dir->dummy_hash);
	return found;
}

bool directory_password_matches(const char hash[DIRECTORY_HASH_SIZE], struct str password)
{
	if (password.len > DIRECTORY_MAX_PASSWORD)
		return false;
	return crypto_pwhash_str_verify(hash, password.ptr, password.len) == 0;
}

int directory_verify_password(struct directory *dir, struct str address, struct str password,
			      uint64_t *id_r, const char **error_r)
{
	char hash[DIRECTORY_HASH_SIZE];
	uint64_t id;

	int found = directory_password_lookup(dir, address, &id, hash, error_r);
	if (found < 0)
		return -1;
	bool ok = directory_password_matches(hash, password);
	sodium_memzero(hash, sizeof(hash));
	if (found == 0 || !ok)
		return 0;
	*id_r = id;
	return 1;
}

static int resolve_exact(struct directory *dir, const char *addr, unsigned depth,
			 const char **chain, uint64_t *ids, size_t max, size_t *n,
			 struct directory_forwards *fw, const char **error_r);

int directory_alias_add(struct directory *dir, const char *alias, const char *const *targets,
			size_t target_count, const char **error_r)
{
	char a[DIRECTORY_MAX_ADDRESS + 1];

	if (directory_normalize(str_c(alias), a, error_r) < 0)
		return fail(dir, error_r, "%s: %s", alias, *error_r);
	if (domain_exists(dir, domain_of(a), error_r) < 0)
		return -1;
	int64_t taken = dir_query_int(dir, DIR_ACCOUNT_COUNT, a, error_r);
	if (taken < 0)
		return -1;
	if (taken > 0)
		return fail(dir, error_r, "%s is an account already", a);
	if (target_count == 0)
		return fail(dir, error_r, "an alias needs at least one target");
	if (dir_transaction(dir, DIR_BEGIN_IMMEDIATE, "begin", error_r) < 0)
		return -1;
	for (size_t i = 0; i < target_count; i++) {
		char t[DIRECTORY_MAX_ADDRESS + 1];
		static uint64_t ids[DIRECTORY_MAX_EXPANSION];
		size_t n;
		if (directory_normalize(str_c(targets[i]), t, error_r) < 0 || t[0] == '@') {
			fail(dir, error_r, "target %s: not an address", targets[i]);
			goto rollback;
		}
		/* A target in a domain not ours is forwarded there (relay);
		 * one of ours must lead somewhere. */
		int64_t ours = dir_query_int(dir, DIR_DOMAIN_COUNT, domain_of(t), error_r);
		if (ours < 0)
			goto rollback;
		if (ours > 0 && strcmp(t, a) != 0) {
			int r = directory_resolve(dir, str_c(t), ids, DIRECTORY_MAX_EXPANSION, &n,
						  error_r);
			if (r == DIRECTORY_RESOLVE_LOOP)
				r = -1;
			if (r < 0)
				goto rollback;
			if (r != DIRECTORY_RESOLVE_FOUND) {
				fail(dir, error_r, "target %s is not a local account or alias", t);
				goto rollback;
			}
		}
		if (dir_write_text(dir, DIR_ALIAS_ADD, error_r, 3, a, t, domain_of(a)) < 0)
			goto rollback;
	}
	/* With its targets in place the alias must resolve: a loop (or a
	 * chain too deep) made now would make mail to it fail later. */
	{
		static uint64_t ids[DIRECTORY_MAX_EXPANSION];
		static struct directory_forwards fw;
		size_t n;
		const char *chain[DIRECTORY_MAX_ALIAS_DEPTH + 1];
		fw.count = 0;
		fw.over = false;
		int r = a[0] == '@' ? resolve_exact(dir, a, 0, chain, ids, DIRECTORY_MAX_EXPANSION,
						    &n, &fw, error_r)
				    : directory_resolve_forwards(dir, str_c(a), ids,
								 DIRECTORY_MAX_EXPANSION, &n, &fw,
								 error_r);
		if (r == RESOLVE_LOOP || r == DIRECTORY_RESOLVE_LOOP || fw.over) {
			char why[sizeof(dir->error)];
			snprintf(why, sizeof(why), "%s", *error_r);
			fail(dir, error_r, "%s not added: %s", a, why);
			goto rollback;
		}
	}
	if (dir_transaction(dir, DIR_COMMIT, "commit", error_r) < 0)
		return -1;
	return 0;
rollback:
	dir_rollback(dir);
	return -1;
}

int directory_alias_del(struct directory *dir, const char *alias, const char **error_r)
{
	char a[DIRECTORY_MAX_ADDRESS + 1];

	if (directory_normalize(str_c(alias), a, error_r) < 0)
		return fail(dir, error_r, "%s: %s", alias, *error_r);
	int n = dir_write_text(dir, DIR_ALIAS_DEL, error_r, 1, a);
	if (n < 0)
		return -1;
	if (n == 0)
		return fail(dir, error_r, "no alias %s", a);
	return 0;
}

int directory_alias_list(struct directory *dir,
			 void (*fn)(const char *alias, const char *targets, void *ctx), void *ctx,
			 const char **error_r)
{
	sqlite3_stmt *st = dir_stmt(dir, DIR_ALIAS_LIST, error_r);
	if (st == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		   ctx);
	sql_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(dir, "read", error_r);
}

static int add_id(uint64_t *ids, size_t max, size_t *n, uint64_t id)
{
	for (size_t i = 0; i < *n; i++)
		if (ids[i] == id)
			return 0;
	if (*n == max)
		return -1;
	ids[(*n)++] = id;
	return 0;
}

/* add_forward adds target to fw when its domain is not ours: 1 added (or
 * there already), 0 one of ours (to be followed), -1 error or too many. */
static int add_forward(struct directory *dir, const char *target, struct directory_forwards *fw,
		       const char **error_r)
{
	int64_t ours = dir_query_int(dir, DIR_DOMAIN_COUNT, domain_of(target), error_r);
	if (ours != 0)
		return ours < 0 ? -1 : 0;
	for (size_t i = 0; i < fw->count; i++)
		if (strcmp(fw->address[i], target) == 0)
			return 1;
	fw->over = fw->count == DIRECTORY_MAX_FORWARDS;
	if (fw->over)
		return fail(dir, error_r, "expands to more than %d remote addresses (at %s)",
			    DIRECTORY_MAX_FORWARDS, target);
	snprintf(fw->address[fw->count++], DIRECTORY_MAX_ADDRESS + 1, "%s", target);
	return 1;
}

/* resolve_exact adds the accounts addr goes to (an account, or an alias
 * followed through its targets).  chain holds the aliases that led here
 * (chain[0..depth)), so an alias that leads back to one of them is a loop,
 * told apart (RESOLVE_LOOP) from a look-up that failed (-1).  1 found,
 * 0 nobody. */
static int resolve_exact(struct directory *dir, const char *addr, unsigned depth,
			 const char **chain, uint64_t *ids, size_t max, size_t *n,
			 struct directory_forwards *fw, const char **error_r)
{
	int found = 0;

	for (unsigned i = 0; i < depth; i++)
		if (strcmp(chain[i], addr) == 0) {
			fail(dir, error_r, "aliases loop: %s leads back to itself", addr);
			return RESOLVE_LOOP;
		}
	if (depth > DIRECTORY_MAX_ALIAS_DEPTH)
		return fail(dir, error_r, "aliases nest deeper than %d (a loop?) at %s",
			    DIRECTORY_MAX_ALIAS_DEPTH, addr);
	chain[depth] = addr;
	int64_t id = dir_query_int(dir, DIR_ACCOUNT_ID, addr, error_r);
	if (id < 0)
		return -1;
	if (id > 0) {
		if (add_id(ids, max, n, (uint64_t)id) < 0)
			return fail(dir, error_r, "%s expands to more than %zu accounts", addr, max);
		return 1;
	}
	sqlite3_stmt *st = sql_stmt(dir->db, &dir->targets[depth], dir_sql_targets);
	if (st == NULL)
		return db_fail(dir, "prepare", error_r);
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, addr);
	int rc = b.rc;
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char target[DIRECTORY_MAX_ADDRESS + 1];
		snprintf(target, sizeof(target), "%s", sqlite3_column_text(st, 0));
		found = 1;
		if (strcmp(target, addr) == 0)
			continue;
		int r = fw != NULL ? add_forward(dir, target, fw, error_r) : 0;
		if (r == 0)
			r = resolve_exact(dir, target, depth + 1, chain, ids, max, n, fw, error_r);
		else if (r > 0)
			r = 0;
		if (r < 0) {
			sql_stmt_done(st);
			return r;
		}
	}
	sql_stmt_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(dir, "read", error_r);
	return found;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* resolve_postmaster finds where postmaster@domain goes when nobody has
 * that address (RFC 5321 4.5.1: it must exist): the domain's first
 * account, else the server's first.  1 found, 0 no account at all, -1. */
static int resolve_postmaster(struct directory *dir, const char *domain, uint64_t *ids,
			      size_t max, size_t *n, const char **error_r)
{
	int64_t id = dir_query_int(dir, DIR_POSTMASTER_DOMAIN, domain, error_r);
	if (id == 0)
		id = dir_query_int(dir, DIR_POSTMASTER_ANY, domain, error_r);
	if (id <= 0)
		return (int)id;
	return add_id(ids, max, n, (uint64_t)id) < 0 ? -1 : 1;
}

int directory_resolve(struct directory *dir, struct str address, uint64_t *ids, size_t max_ids,
		      size_t *count_r, const char **error_r)
{
	return directory_resolve_forwards(dir, address, ids, max_ids, count_r, NULL, error_r);
}

int directory_resolve_forwards(struct directory *dir, struct str address, uint64_t *ids,
			       size_t max_ids, size_t *count_r, struct directory_forwards *fw,
			       const char **error_r)
{
	char addr[DIRECTORY_MAX_ADDRESS + 1];
	char alt[DIRECTORY_MAX_ADDRESS + 1];
	const char *chain[DIRECTORY_MAX_ALIAS_DEPTH + 1];
	const char *why;

	*count_r = 0;
	if (fw != NULL) {
		fw->count = 0;
		fw->over = false;
	}
	if (directory_normalize(address, addr, &why) < 0 || addr[0] == '@')
		return DIRECTORY_RESOLVE_UNKNOWN;
	const char *at = strrchr(addr, '@');
	/* Not one of our domains: whoever asks wants us to relay. */
	int64_t ours = dir_query_int(dir, DIR_DOMAIN_COUNT, at + 1, error_r);
	if (ours <= 0)
		return ours < 0 ? -1 : DIRECTORY_RESOLVE_NOT_LOCAL;
	int r = resolve_exact(dir, addr, 0, chain, ids, max_ids, count_r, fw, error_r);
	/* user+tag@domain reaches user@domain when nobody owns the tagged form. */
	const char *plus = strchr(addr, '+');
	if (r == 0 && plus != NULL && plus < at) {
		snprintf(alt, sizeof(alt), "%.*s%s", (int)(plus - addr), addr, at);
		r = resolve_exact(dir, alt, 0, chain, ids, max_ids, count_r, fw, error_r);
	}
	/* A catch-all alias "@domain" takes what is left. */
	if (r == 0) {
		snprintf(alt, sizeof(alt), "%s", at);
		r = resolve_exact(dir, alt, 0, chain, ids, max_ids, count_r, fw, error_r);
	}
	if (r == 0 && (size_t)(at - addr) == strlen(DIRECTORY_POSTMASTER) &&
	    memcmp(addr, DIRECTORY_POSTMASTER, (size_t)(at - addr)) == 0)
		r = resolve_postmaster(dir, at + 1, ids, max_ids, count_r, error_r);
	if (r == RESOLVE_LOOP)
		return DIRECTORY_RESOLVE_LOOP;
	/* Aliases whose targets are all gone lead nobody. */
	if (r > 0 && *count_r == 0 && (fw == NULL || fw->count == 0))
		return DIRECTORY_RESOLVE_UNKNOWN;
	if (r > 0)
		qsort(ids, *count_r, sizeof(*ids), cmp_u64);
	return r;
}

int directory_sender_addresses(struct directory *dir, uint64_t account,
			       char (*out)[DIRECTORY_MAX_ADDRESS + 1], size_t max, size_t *n_r,
			       const char **error_r)
{
	static uint64_t ids[DIRECTORY_MAX_EXPANSION];
	/* Candidates read first, then each resolved: the resolution uses
	 * kept statements of its own, the list is not held open meanwhile. */
	static char found[DIRECTORY_SENDERS_SCAN][DIRECTORY_MAX_ADDRESS + 1];
	size_t count = 0;

	*n_r = 0;
	sqlite3_stmt *st = dir_stmt(dir, DIR_SENDER_CANDIDATES, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, (int64_t)account);
	sql_bind_i64(&b, DIRECTORY_SENDERS_SCAN);
	if (b.rc != SQLITE_OK) {
		sql_stmt_done(st);
		return db_fail(dir, "bind", error_r);
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && count < DIRECTORY_SENDERS_SCAN) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
		if (a != NULL && a[0] != '@')
			snprintf(found[count++], DIRECTORY_MAX_ADDRESS + 1, "%s", a);
	}
	sql_stmt_done(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(dir, "read", error_r);
	for (size_t i = 0; i < count && *n_r < max; i++) {
		size_t n;
		int r = directory_resolve(dir, str_c(found[i]), ids, DIRECTORY_MAX_EXPANSION, &n,
					  error_r);
		if (r < 0)
			return -1;
		/* Only what leads to this account alone: a list alias is not
		 * one member's to send as. */
		if (r == DIRECTORY_RESOLVE_FOUND && n == 1 && ids[0] == account)
			memcpy(out[(*n_r)++], found[i], DIRECTORY_MAX_ADDRESS + 1);
	}
	return 0;
}
