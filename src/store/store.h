#ifndef RAVELIN_STORE_H
#define RAVELIN_STORE_H
/*
 * store: one account's mail (and later calendars and contacts).  This is the
 * whole interface the worker sees; backends sit behind a table of functions
 * (store-sqlite.c is the embedded default: SQLite in WAL mode, synchronous
 * FULL, message files named by content hash).  No backend types leak out,
 * so a PostgreSQL + object-store backend can stand behind the same calls.
 *
 * Durability: a call that adds or changes data returns 0 only after the data
 * is on disk (files fsynced and renamed, directory fsynced, transaction
 * committed with a full sync).
 *
 * Errors: a call that fails returns -1 and sets *error_r to text for a log
 * ("sqlite: ...", "open(blobs/ab) failed: ...").  The text is static or
 * kept by the store, valid until the next call on that store; for
 * store_create and store_open, until the next of them in the same thread.
 * Nothing here logs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mail/mime.h"

struct store;

enum store_special_use {
	STORE_SPECIAL_NONE = 0,
	STORE_SPECIAL_INBOX,
	STORE_SPECIAL_SENT,
	STORE_SPECIAL_DRAFTS,
	STORE_SPECIAL_TRASH,
	STORE_SPECIAL_JUNK,
	STORE_SPECIAL_ARCHIVE,
};

/* Message flags as a bit set (keywords are kept separately). */
#define STORE_FLAG_SEEN     0x01u
#define STORE_FLAG_ANSWERED 0x02u
#define STORE_FLAG_FLAGGED  0x04u
#define STORE_FLAG_DELETED  0x08u
#define STORE_FLAG_DRAFT    0x10u

struct store_mailbox {
	int64_t id;
	char *name;                       /* UTF-8, '/' separates levels */
	enum store_special_use special_use;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint64_t messages;
	uint64_t unseen;
	uint64_t bytes;                   /* sum of message sizes */
	bool subscribed;
};

struct store_message {
	uint32_t uid;
	uint32_t flags;                   /* STORE_FLAG_* */
	uint64_t modseq;
	uint64_t size;
	int64_t internal_date;            /* Unix time */
	char hash[65];                    /* hex SHA-256 of the content, names the file */
};

/*
 * store_preinit does, once per process and before it is confined to one
 * account directory, the setup that reads files elsewhere: it seeds
 * SQLite's random numbers (from /dev/urandom) and loads SHA-256 from
 * OpenSSL (which reads openssl.cnf).  Calling it is optional outside a
 * jail.  Returns 0 or -1 with *error_r.
 */
int store_preinit(const char **error_r);

/*
 * store_create makes a new empty store in dir (which must exist and be
 * empty or hold an earlier store_create's result: it is idempotent), with
 * the mailboxes INBOX, Sent, Drafts, Trash, Junk and Archive and their
 * special-use attributes.  Returns 0 or -1 with *error_r.
 */
int store_create(const char *dir, const char **error_r);
/* store_open opens the store in dir (made by store_create). */
int store_open(const char *dir, struct store **store_r, const char **error_r);
/* store_close releases everything and sets *store to NULL. */
void store_close(struct store **store);

/*
 * store_mailbox_list returns all mailboxes with counts, sorted by name
 * (INBOX first).  Free with store_mailbox_list_free.
 */
int store_mailbox_list(struct store *store, struct store_mailbox **list_r, size_t *count_r,
		       const char **error_r);
void store_mailbox_list_free(struct store_mailbox **list, size_t count);

/*
 * store_deliver adds one message to mailbox (by name, e.g. "INBOX").
 * The content is the concatenation of iov[0..iovcnt) (so a Return-Path line
 * can be put in front of a spooled file without copying it); msg is the
 * parse of exactly that content.  delivery_key names this delivery
 * (queue id + recipient): a second call with a key already stored changes
 * nothing, sets *duplicate_r and gives the first delivery's UID, so a
 * delivery repeated after a crash never duplicates a message.
 * Returns 0 once the message is durable, or -1 with *error_r.  It is a
 * batch of one (below), so it fails while a batch is open.
 */
int store_deliver(struct store *store, const char *mailbox, const char *delivery_key,
		  const struct iovec *iov, int iovcnt, const struct mime_message *msg,
		  int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
		  const char **error_r);

/*
 * Group commit: deliveries that arrive together share one transaction and
 * their syncs, so n messages cost n file syncs (which the kernel runs
 * together), one sync per directory touched and one WAL sync, instead of
 * 3n syncs in sequence.
 *
 *   store_batch_begin(store, &error);
 *   for each message: store_batch_deliver(store, ..., &uid[i], &dup[i], &error);
 *   if (store_batch_commit(store, &error) == 0) acknowledge the ones that
 *       returned 0; else report every one of them as failed (try later).
 *
 * store_batch_begin opens a batch (and takes the account's write lock until
 * the commit or abort: keep batches short).  One batch at a time per store;
 * while it is open, every call but store_batch_deliver, store_batch_commit,
 * store_batch_abort and store_close fails (store_deliver included).
 *
 * store_batch_deliver takes the arguments of store_deliver and gives its
 * answers, but nothing it adds is durable, or may be acknowledged, before
 * store_batch_commit returns 0.  A key already stored, before or earlier in
 * the same batch, is a duplicate: nothing is added and *uid_r is the first
 * delivery's UID.  A delivery that fails (-1, e.g. an unknown mailbox)
 * leaves no trace and the rest of the batch intact; the others may go on
 * and be committed.  The UIDs and MODSEQs a batch gives out are the
 * mailbox's next ones in call order, exactly as separate store_deliver
 * calls would have given them.  At most STORE_BATCH_MAX messages are
 * stored per batch: past that the call fails, commit and start another.
 *
 * store_batch_commit makes the whole batch durable and returns 0, or
 * returns -1 with *error_r having kept nothing of the batch (UIDNEXT as
 * before it; its deliveries, duplicates of keys of the batch included,
 * must be reported as failed).  Either way the batch is over.
 *
 * store_batch_abort drops an open batch the same way (a no-op without
 * one); store_close aborts an open batch.
 */
/* Each message in a batch keeps its file open until the commit (where its
 * sync is awaited), so this bounds the descriptors a batch holds; the
 * worker batches at most 256. */
#define STORE_BATCH_MAX 512
int store_batch_begin(struct store *store, const char **error_r);
int store_batch_deliver(struct store *store, const char *mailbox, const char *delivery_key,
			const struct iovec *iov, int iovcnt, const struct mime_message *msg,
			int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
			const char **error_r);
int store_batch_commit(struct store *store, const char **error_r);
void store_batch_abort(struct store *store);

/* store_message_list returns the messages of a mailbox in UID order (an
 * unknown mailbox is an error).  Free *list_r with free(). */
int store_message_list(struct store *store, const char *mailbox, struct store_message **list_r,
		       size_t *count_r, const char **error_r);
/* store_message_open opens a message's content read-only; returns an fd or -1. */
int store_message_open(struct store *store, const char *mailbox, uint32_t uid,
		       const char **error_r);

/*
 * store_expunge removes the messages uids[0..count) of mailbox (UIDs that
 * are not there are skipped) and records them with a new MODSEQ for
 * QRESYNC.  Durable on return 0.
 */
int store_expunge(struct store *store, const char *mailbox, const uint32_t *uids, size_t count,
		  const char **error_r);

#endif
