/*
 * store-sqlite: the embedded store backend.  One account directory holds
 *
 *   store.db (+ -wal, -shm)   SQLite: mailboxes, messages, parts, deliveries
 *   blobs/ab/ab12...          message files named by SHA-256 (blob.c)
 *
 * The database runs in WAL mode with synchronous=FULL, so a COMMIT returns
 * after the WAL is fsynced; temp_store=MEMORY keeps SQLite from opening
 * temporary files, so nothing outside the account directory is touched
 * (the worker runs under Landlock confined to it).  Statements are prepared
 * once per store and kept.
 *
 * Deliveries go in batches (group commit; store_deliver is a batch of one).
 * A batch of n costs n file syncs (started as each file is written, awaited
 * at the commit), one sync per blobs/xx directory touched and one WAL sync
 * at COMMIT (plus one of blobs/ when a two-digit directory is made, and the
 * occasional WAL checkpoint).  With 256 directories the directory syncs
 * dominate: a batch of 64 touches about 57 of them.
 *
 * Every message is put in the full-text index (FTS5, trigram) as it is
 * added: a batch indexes its deliveries just before its COMMIT, outside
 * their savepoints (FTS5 writes its pending terms out at every savepoint).
 * Indexing is the larger part of a delivery's CPU: about 0.5 ms for an
 * 8 KB message in a batch of 64, against 0.05 ms for the rest (tmpfs,
 * bench-store.c); the index and its copy of the text take about four
 * times the text (22 KB per such message).
 *
 * A store is one connection (opened SQLITE_OPEN_NOMUTEX): one thread uses
 * it at a time.  Other processes may open the same account concurrently;
 * SQLite's locks and BEGIN IMMEDIATE keep UID allocation serial.
 */
#include "store-private.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "blob.h"
#include "imap-format/imap-message.h"
#include "index-text.h"

/* Wait this long for another connection's write lock before failing: a
 * delivery transaction takes milliseconds, a checkpoint a little more. */
#define STORE_BUSY_TIMEOUT_MS 5000
/* UIDs are 32-bit unsigned and never 0 (RFC 9051 2.3.1.1). */
#define STORE_UID_MAX UINT32_MAX
/* Longest account directory path accepted (the kernel's own limit). */
#define STORE_PATH_MAX PATH_MAX

enum stmt_id {
	STMT_BEGIN,
	STMT_BEGIN_IMMEDIATE,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SAVEPOINT,
	STMT_RELEASE,
	STMT_ROLLBACK_TO,
	STMT_DELIVERY_GET,
	STMT_DELIVERY_INSERT,
	STMT_MAILBOX_GET,
	STMT_MAILBOX_ADVANCE,
	STMT_MAILBOX_LIST,
	STMT_MESSAGE_INSERT,
	STMT_MESSAGE_LIST,
	STMT_MESSAGE_BLOB,
	STMT_PART_INSERT,
	STMT_MESSAGE_RANGE,
	STMT_FTS_INSERT,
	STMT_MESSAGE_FIELDS,
	STMT_FTS_DELETE,
	STMT_MESSAGE_CHANGED,
	STMT_EXPUNGED_SINCE,
	STMT_EXPUNGED_ADD,
	STMT_MESSAGE_ROW,
	STMT_COPY_MESSAGE,
	STMT_COPY_PARTS,
	STMT_FTS_ROW,
	STMT_MOVE_MESSAGE,
	STMT_FLAGS_SET,
	STMT_META_MESSAGE,
	STMT_META_PARTS,
	STMT_COUNT
};

/* STMT_MAILBOX_LIST counts unseen messages as those without bit 1. */
_Static_assert(STORE_FLAG_SEEN == 1, "STMT_MAILBOX_LIST hard-codes the \\Seen bit");

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN",
	[STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	/* One savepoint per delivery in a batch: a failed one is undone alone. */
	[STMT_SAVEPOINT] = "SAVEPOINT delivery",
	[STMT_RELEASE] = "RELEASE delivery",
	[STMT_ROLLBACK_TO] = "ROLLBACK TO delivery",
	[STMT_DELIVERY_GET] = "SELECT uid FROM deliveries WHERE key = ?1",
	[STMT_DELIVERY_INSERT] =
		"INSERT INTO deliveries (key, message_id, mailbox_id, uid, at)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[STMT_MAILBOX_GET] = "SELECT id, uidnext, highestmodseq FROM mailboxes WHERE name = ?1",
	[STMT_MAILBOX_ADVANCE] =
		"UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1",
	[STMT_MAILBOX_LIST] =
		"SELECT b.id, b.name, b.special_use, b.uidvalidity, b.uidnext,"
		" b.highestmodseq, b.subscribed, count(m.id),"
		" coalesce(sum((m.flags & 1) = 0), 0), coalesce(sum(m.size), 0)"
		" FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id"
		" GROUP BY b.id ORDER BY b.name = 'INBOX' DESC, b.name",
	[STMT_MESSAGE_INSERT] =
		"INSERT INTO messages (mailbox_id, uid, blob, size, internal_date, modseq,"
		" flags, keywords, envelope, body, bodystructure, subject, from_addr, to_addr,"
		" cc_addr, message_id, in_reply_to, refs, sent_date, lines, sent_zone)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?19, ?20, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
		" ?15, ?16, ?17, ?18, ?21)",
	[STMT_MESSAGE_LIST] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords FROM messages"
		" WHERE mailbox_id = ?1 ORDER BY uid",
	[STMT_MESSAGE_BLOB] =
		"SELECT m.blob FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id"
		" WHERE b.name = ?1 AND m.uid = ?2",
	[STMT_PART_INSERT] =
		"INSERT INTO parts (message_id, idx, section, depth, child_count, is_message,"
		" header_offset, header_size, body_offset, body_size, body_lines, content_type)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[STMT_MESSAGE_RANGE] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords FROM messages"
		" WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
	/* One row, VALUES: a statement that may write several rows opens a
	 * statement journal, and with it FTS5 writes out its pending terms. */
	[STMT_FTS_INSERT] =
		"INSERT INTO fts (rowid, subject, from_addr, to_addr, cc_addr, bcc, body, header)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STMT_MESSAGE_FIELDS] =
		"SELECT subject, from_addr, to_addr, cc_addr FROM messages WHERE id = ?1",
	[STMT_FTS_DELETE] = "DELETE FROM fts WHERE rowid = ?1",
	/* After nearly every IMAP command: only the rows changed since. */
	[STMT_META_MESSAGE] =
		"SELECT id, uid, flags, modseq, size, internal_date, blob, keywords, envelope, body,"
		" bodystructure, subject, from_addr, to_addr, cc_addr, message_id, in_reply_to,"
		" refs, sent_date, lines, sent_zone FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
	[STMT_META_PARTS] =
		"SELECT section, header_offset, header_size, body_offset, body_size, body_lines,"
		" content_type, depth, child_count, is_message FROM parts WHERE message_id = ?1"
		" ORDER BY idx",
	[STMT_MESSAGE_CHANGED] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords FROM messages"
		" INDEXED BY messages_modseq WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
	/* Without INDEXED BY the planner walks every UID ever expunged. */
	[STMT_EXPUNGED_SINCE] =
		"SELECT uid FROM expunged INDEXED BY expunged_modseq"
		" WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
	[STMT_EXPUNGED_ADD] =
		"INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)",
	[STMT_MESSAGE_ROW] =
		"SELECT flags, modseq, size, internal_date, blob, keywords, id FROM messages"
		" WHERE mailbox_id = ?1 AND uid = ?2",
	/* COPY: a new row naming the same file, with everything but the
	 * mailbox, UID and MODSEQ as the original's. */
	[STMT_COPY_MESSAGE] =
		"INSERT INTO messages (mailbox_id, uid, blob, size, internal_date, modseq, flags,"
		" keywords, envelope, body, bodystructure, subject, from_addr, to_addr, cc_addr,"
		" message_id, in_reply_to, refs, sent_date, lines, sent_zone)"
		" SELECT ?2, ?3, blob, size, internal_date, ?4, flags, keywords, envelope, body,"
		" bodystructure, subject, from_addr, to_addr, cc_addr, message_id, in_reply_to, refs,"
		" sent_date, lines, sent_zone FROM messages WHERE id = ?1",
	[STMT_COPY_PARTS] =
		"INSERT INTO parts (message_id, idx, section, depth, child_count, is_message,"
		" header_offset, header_size, body_offset, body_size, body_lines, content_type)"
		" SELECT ?2, idx, section, depth, child_count, is_message, header_offset,"
		" header_size, body_offset, body_size, body_lines, content_type FROM parts"
		" WHERE message_id = ?1",
	[STMT_FTS_ROW] =
		"SELECT subject, from_addr, to_addr, cc_addr, bcc, body, header FROM fts"
		" WHERE rowid = ?1",
	[STMT_MOVE_MESSAGE] =
		"UPDATE messages SET mailbox_id = ?2, uid = ?3, modseq = ?4 WHERE id = ?1",
	[STMT_FLAGS_SET] =
		"UPDATE messages SET flags = ?2, keywords = ?3, modseq = ?4 WHERE id = ?1",
};

/*
 * Schema version 1.  Shaped for the IMAP server on top: UIDVALIDITY/UIDNEXT
 * and HIGHESTMODSEQ per mailbox (CONDSTORE/QRESYNC), the pre-parsed FETCH
 * answers and decoded headers per message (SORT/THREAD, SEARCH), part
 * offsets for BODY[section], expunged UIDs with their MODSEQ (QRESYNC
 * VANISHED), and delivery keys that survive the message (a repeated
 * delivery stays refused after an expunge).
 */
static const char schema_v1[] =
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY,"
	" value TEXT NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE mailboxes ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" special_use INTEGER NOT NULL DEFAULT 0,"
	" uidvalidity INTEGER NOT NULL CHECK (uidvalidity BETWEEN 1 AND 4294967295),"
	" uidnext INTEGER NOT NULL DEFAULT 1 CHECK (uidnext BETWEEN 1 AND 4294967296),"
	" highestmodseq INTEGER NOT NULL DEFAULT 1 CHECK (highestmodseq >= 1),"
	" subscribed INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL"
	");"
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),"
	" blob TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" internal_date INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" keywords TEXT NOT NULL DEFAULT '',"
	" envelope TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" bodystructure TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" from_addr TEXT NOT NULL,"
	" to_addr TEXT NOT NULL,"
	" cc_addr TEXT NOT NULL,"
	" message_id TEXT NOT NULL,"
	" in_reply_to TEXT NOT NULL,"
	" refs TEXT NOT NULL,"
	" sent_date INTEGER,"
	" lines INTEGER NOT NULL,"
	" UNIQUE (mailbox_id, uid)"
	");"
	"CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	"CREATE INDEX messages_blob ON messages(blob);"
	"CREATE TABLE parts ("
	" message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" section TEXT NOT NULL,"
	" depth INTEGER NOT NULL,"
	" child_count INTEGER NOT NULL,"
	" is_message INTEGER NOT NULL,"
	" header_offset INTEGER NOT NULL,"
	" header_size INTEGER NOT NULL,"
	" body_offset INTEGER NOT NULL,"
	" body_size INTEGER NOT NULL,"
	" body_lines INTEGER NOT NULL,"
	" content_type TEXT NOT NULL,"
	" PRIMARY KEY (message_id, idx)"
	") WITHOUT ROWID;"
	"CREATE TABLE deliveries ("
	" key TEXT PRIMARY KEY,"
	" message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
	" mailbox_id INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX deliveries_message ON deliveries(message_id);"
	"CREATE INDEX deliveries_at ON deliveries(at);"
	"CREATE TABLE expunged ("
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox_id, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);";

/*
 * Schema version 2, for IMAP: account-wide keyword names (a message keeps
 * its keywords as a bit set in messages.keywords, an integer from now on)
 * and the full-text index.  FTS5 with the trigram tokenizer answers IMAP's
 * case-insensitive substring SEARCH from the index for strings of three
 * characters or more.  The table keeps its own copy of the text (a
 * contentless table cannot delete rows in SQLite 3.40): rows are removed
 * explicitly with their message.  The upgrade indexes the messages already
 * there (fts_backfill).  The account's quota is meta 'quota_storage'
 * (bytes, absent or 0: none); UIDVALIDITY stays meta 'last_uidvalidity'.
 *
 * messages.keywords keeps the TEXT affinity of version 1 (SQLite cannot
 * change a column's type in place), so an integer bound to it is stored as
 * its decimal text; it is always read with sqlite3_column_int64, which
 * gives the integer back exactly (and 0 for a version 1 '').
 */
static const char schema_v2[] =
	"CREATE TABLE keywords ("
	" bit INTEGER PRIMARY KEY CHECK (bit BETWEEN 0 AND 63),"
	" name TEXT NOT NULL UNIQUE COLLATE NOCASE"
	");"
	"UPDATE messages SET keywords = 0 WHERE keywords = '';"
	"ALTER TABLE mailboxes ADD COLUMN first_recent INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE messages ADD COLUMN sent_zone INTEGER NOT NULL DEFAULT 0;"
	"CREATE VIRTUAL TABLE fts USING fts5(subject, from_addr, to_addr, cc_addr, bcc, body, header,"
	" tokenize = 'trigram case_sensitive 0');";

/* Index text kept for the commit: the text held past this (a batch of
 * large text messages) is indexed before the next delivery instead. */
#define STORE_BATCH_TEXT_MAX (32u * 1024 * 1024)

struct batch_text {
	int64_t rowid;
	struct index_text text;
};

struct sqlite_store {
	struct store store; /* first: store.c sees only this */
	sqlite3 *db;
	int dir_fd;
	struct blob_store blobs;
	sqlite3_stmt *stmts[STMT_COUNT];
	char error[STORE_ERROR_MAX];
	/* An open batch: one transaction and the files written for it. */
	bool in_batch;
	struct blob_pending *pending;
	size_t pending_count, pending_cap;
	/* The index text of the batch's deliveries, indexed at the commit:
	 * FTS5 writes out its pending terms at every SAVEPOINT, so indexing
	 * inside each delivery's savepoint costs twice as much. */
	struct batch_text *texts;
	size_t text_count, text_cap, text_bytes;
	/* Keyword names by bit (NULL: free), loaded on first use. */
	bool keywords_loaded;
	char *keywords[STORE_KEYWORDS_MAX];
	size_t keyword_count;     /* highest bit in use + 1 */
};

/* Errors of store_create/store_open outlive the store they came from. */
static _Thread_local char detached_error[STORE_ERROR_MAX];

static struct sqlite_store *sqlite_store(struct store *store)
{
	assert(store->backend == &store_backend_sqlite);
	return (struct sqlite_store *)store;
}

/* fail formats an error into the store and returns -1. */
static int fail(struct sqlite_store *s, const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct sqlite_store *s, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	*error_r = s->error;
	return -1;
}

/* sql_fail reports SQLite's last error on the connection, naming what was
 * being done, and returns -1. */
static int sql_fail(struct sqlite_store *s, const char *what, const char **error_r)
{
	return fail(s, error_r, "sqlite: %s: %s", what, sqlite3_errmsg(s->db));
}

/* stmt_get returns the kept statement id, preparing it on first use, reset
 * and without bindings.  Returns NULL with *error_r. */
static sqlite3_stmt *stmt_get(struct sqlite_store *s, enum stmt_id id, const char **error_r)
{
	if (s->stmts[id] == NULL &&
	    sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
			       &s->stmts[id], NULL) != SQLITE_OK) {
		sql_fail(s, "prepare", error_r);
		return NULL;
	}
	return s->stmts[id];
}

/* stmt_done makes a statement ready for its next use. */
static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * A binder sets parameters ?1, ?2, ... in order and remembers the first
 * failure, so a long INSERT reads as a list of values checked once.
 * Texts are bound SQLITE_STATIC: they must live until stmt_done.
 */
struct binder {
	sqlite3_stmt *st;
	int n;
	int rc;
};

static void bind_i64(struct binder *b, int64_t v)
{
	b->n++;
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->st, b->n, v);
}

/* bind_u64 stores an unsigned count; SQLite integers are signed 64-bit. */
static void bind_u64(struct binder *b, uint64_t v)
{
	if (v > INT64_MAX && b->rc == SQLITE_OK)
		b->rc = SQLITE_TOOBIG;
	bind_i64(b, (int64_t)v);
}

static void bind_str(struct binder *b, struct str v)
{
	b->n++;
	if (b->rc != SQLITE_OK)
		return;
	if (v.ptr == NULL)
		v = STR("");
	if (v.len > INT_MAX)
		b->rc = SQLITE_TOOBIG;
	else
		b->rc = sqlite3_bind_text(b->st, b->n, v.ptr, (int)v.len, SQLITE_STATIC);
}

static void bind_cstr(struct binder *b, const char *v)
{
	bind_str(b, str_c(v));
}

static void bind_null(struct binder *b)
{
	b->n++;
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_null(b->st, b->n);
}

/* bind_check turns a binder's failure into an error.  Returns 0 or -1. */
static int bind_check(struct sqlite_store *s, const struct binder *b, const char **error_r)
{
	if (b->rc == SQLITE_OK)
		return 0;
	return fail(s, error_r, "sqlite: bind: %s", sqlite3_errstr(b->rc));
}

/* step_done runs a statement that returns no rows and resets it.
 * Returns 0 or -1 with *error_r. */
static int step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
		     const char **error_r)
{
	int ret = 0;
	if (sqlite3_step(st) != SQLITE_DONE)
		ret = sql_fail(s, what, error_r);
	stmt_done(st);
	return ret;
}

/* bind_run runs a bound statement that returns no rows (the binder's
 * failure first) and resets it.  Returns 0 or -1 with *error_r. */
static int bind_run(struct sqlite_store *s, struct binder *b, const char *what,
		    const char **error_r)
{
	if (bind_check(s, b, error_r) < 0) {
		stmt_done(b->st);
		return -1;
	}
	return step_done(s, b->st, what, error_r);
}

/* run executes one kept statement without parameters (BEGIN, COMMIT...). */
static int run(struct sqlite_store *s, enum stmt_id id, const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, id, error_r);
	if (st == NULL)
		return -1;
	return step_done(s, st, stmt_sql[id], error_r);
}

/* rollback ends an open transaction, keeping the error already reported. */
static void rollback(struct sqlite_store *s)
{
	const char *ignored;
	if (!sqlite3_get_autocommit(s->db))
		(void)run(s, STMT_ROLLBACK, &ignored);
}

/* no_batch refuses a call made while a batch is open (see store.h). */
static int no_batch(struct sqlite_store *s, const char **error_r)
{
	if (s->in_batch)
		return fail(s, error_r, "store: a batch is open");
	return 0;
}

/* exec runs SQL text once (schema, pragmas), not kept.  Returns 0 or -1. */
static int exec(struct sqlite_store *s, const char *sql, const char **error_r)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sql_fail(s, "exec", error_r);
	return 0;
}

/* query_int runs SQL that yields one integer (0 when there is no row). */
static int query_int(struct sqlite_store *s, const char *sql, const char *param,
		     int64_t *value_r, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = 0;

	*value_r = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return sql_fail(s, "prepare", error_r);
	if (param != NULL && sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC) != SQLITE_OK)
		ret = sql_fail(s, "bind", error_r);
	if (ret == 0) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*value_r = sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE)
			ret = sql_fail(s, "query", error_r);
	}
	sqlite3_finalize(st);
	return ret;
}

/* meta_set stores an integer under key in meta (inside the caller's
 * transaction). */
static int meta_set(struct sqlite_store *s, const char *key, int64_t value, const char **error_r)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_fail(s, "prepare", error_r);
	struct binder b = { st, 0, SQLITE_OK };
	bind_cstr(&b, key);
	bind_i64(&b, value);
	int ret = bind_check(s, &b, error_r);
	if (ret == 0 && sqlite3_step(st) != SQLITE_DONE)
		ret = sql_fail(s, "meta", error_r);
	sqlite3_finalize(st);
	return ret;
}

/*
 * next_uidvalidity gives a UIDVALIDITY for a new mailbox: the current time,
 * but always above every earlier one, so a mailbox deleted and created
 * again within a second still gets a new value (RFC 9051 2.3.1.1).
 */
static int next_uidvalidity(struct sqlite_store *s, uint32_t *value_r, const char **error_r)
{
	int64_t last;

	if (query_int(s, "SELECT value FROM meta WHERE key = 'last_uidvalidity'", NULL, &last,
		      error_r) < 0)
		return -1;
	int64_t now = (int64_t)time(NULL);
	int64_t next = now > last ? now : last + 1;
	/* Past 2106 (or a clock far off): start again low, still non-zero. */
	if (next <= 0 || next > UINT32_MAX)
		next = 1;
	if (meta_set(s, "last_uidvalidity", next, error_r) < 0)
		return -1;
	*value_r = (uint32_t)next;
	return 0;
}

/* mailbox_insert creates one empty mailbox (inside the caller's
 * transaction); a name that exists already is left as it is. */
static int mailbox_insert(struct sqlite_store *s, const char *name,
			  enum store_special_use special_use, bool subscribed,
			  const char **error_r)
{
	uint32_t uidvalidity;
	sqlite3_stmt *st;

	if (next_uidvalidity(s, &uidvalidity, error_r) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR IGNORE INTO mailboxes (name, special_use, uidvalidity,"
			       " uidnext, highestmodseq, subscribed, created)"
			       " VALUES (?1, ?2, ?3, 1, 1, ?4, ?5)",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_fail(s, "prepare", error_r);
	struct binder b = { st, 0, SQLITE_OK };
	bind_cstr(&b, name);
	bind_i64(&b, special_use);
	bind_i64(&b, uidvalidity);
	bind_i64(&b, subscribed);
	bind_i64(&b, (int64_t)time(NULL));
	int ret = bind_check(s, &b, error_r);
	if (ret == 0 && sqlite3_step(st) != SQLITE_DONE)
		ret = sql_fail(s, "create mailbox", error_r);
	sqlite3_finalize(st);
	return ret;
}

/* create_default_mailboxes makes the mailboxes every new account has. */
static int create_default_mailboxes(struct sqlite_store *s, const char **error_r)
{
	static const struct {
		const char *name;
		enum store_special_use special_use;
	} defaults[] = {
		{ "INBOX", STORE_SPECIAL_INBOX },   { "Sent", STORE_SPECIAL_SENT },
		{ "Drafts", STORE_SPECIAL_DRAFTS }, { "Trash", STORE_SPECIAL_TRASH },
		{ "Junk", STORE_SPECIAL_JUNK },     { "Archive", STORE_SPECIAL_ARCHIVE },
	};

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (mailbox_insert(s, defaults[i].name, defaults[i].special_use, true, error_r) < 0)
			return -1;
	return 0;
}

/*
 * The migration hook: entry i takes the schema from version i to i + 1 (SQL
 * first, then an optional function for data).  A schema change appends an
 * entry; store_open applies the missing ones in one transaction.
 */
static int fts_backfill(struct sqlite_store *s, const char **error_r);

static const struct migration {
	const char *sql;
	int (*after)(struct sqlite_store *s, const char **error_r);
} migrations[] = {
	{ schema_v1, create_default_mailboxes },
	{ schema_v2, fts_backfill },
};
#define SCHEMA_VERSION ((int64_t)(sizeof(migrations) / sizeof(migrations[0])))

/* schema_version reads the schema version (0 for an empty database). */
static int schema_version(struct sqlite_store *s, int64_t *version_r, const char **error_r)
{
	int64_t has_meta;

	*version_r = 0;
	if (query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
		      "meta", &has_meta, error_r) < 0)
		return -1;
	if (has_meta == 0)
		return 0;
	return query_int(s, "SELECT value FROM meta WHERE key = 'schema_version'", NULL,
			 version_r, error_r);
}

/*
 * migrate brings the schema to SCHEMA_VERSION under the write lock (a
 * concurrent opener may have done it meanwhile: the version is read again).
 * An empty database is refused unless create is set; a newer one always.
 */
static int migrate(struct sqlite_store *s, bool create, const char **error_r)
{
	int64_t version;

	if (run(s, STMT_BEGIN_IMMEDIATE, error_r) < 0)
		return -1;
	if (schema_version(s, &version, error_r) < 0)
		goto failed;
	if (version > SCHEMA_VERSION) {
		fail(s, error_r, "store: schema version %lld is newer than this program's %lld",
		     (long long)version, (long long)SCHEMA_VERSION);
		goto failed;
	}
	if (version == 0 && !create) {
		fail(s, error_r, "store: not created (empty database)");
		goto failed;
	}
	for (int64_t v = version; v < SCHEMA_VERSION; v++) {
		if (exec(s, migrations[v].sql, error_r) < 0)
			goto failed;
		if (migrations[v].after != NULL && migrations[v].after(s, error_r) < 0)
			goto failed;
	}
	if (version != SCHEMA_VERSION && meta_set(s, "schema_version", SCHEMA_VERSION, error_r) < 0)
		goto failed;
	return run(s, STMT_COMMIT, error_r) < 0 ? (rollback(s), -1) : 0;
failed:
	rollback(s);
	return -1;
}

/* db_configure applies the connection settings of the file header. */
static int db_configure(struct sqlite_store *s, const char **error_r)
{
	int on = 0;

	sqlite3_extended_result_codes(s->db, 1);
	/* Defensive: no writable_schema, no direct shadow-table writes; an
	 * untrusted schema cannot call functions with side effects. */
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK || !on)
		return sql_fail(s, "defensive mode", error_r);
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK)
		return sql_fail(s, "trusted_schema", error_r);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

	/* The pragma answers with the mode now in force. */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
		return sql_fail(s, "prepare", error_r);
	int rc = sqlite3_step(st);
	const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	bool wal = mode != NULL && sqlite3_stricmp(mode, "wal") == 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sql_fail(s, "journal_mode", error_r);
	if (!wal)
		return fail(s, error_r, "sqlite: WAL journal mode not available");
	return exec(s,
		    "PRAGMA synchronous = FULL;"
		    "PRAGMA foreign_keys = ON;"
		    "PRAGMA temp_store = MEMORY;",
		    error_r);
}

static void sqlite_batch_abort(struct store *store);
static void keywords_forget(struct sqlite_store *s);

/* sqlite_close finalizes the kept statements, closes the database (the
 * last connection checkpoints the WAL) and the directories, frees s. */
static void sqlite_close(struct store *store)
{
	struct sqlite_store *s = sqlite_store(store);

	/* An open batch is dropped: nothing of it was promised durable. */
	sqlite_batch_abort(store);
	keywords_forget(s);
	free(s->pending);
	free(s->texts);
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	/* Every statement is finalized, so close cannot be refused. */
	sqlite3_close(s->db);
	blob_store_close(&s->blobs);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s);
}

/* detach copies an error kept by a store into the thread's buffer, for
 * callers that are about to free that store. */
static void detach(const char **error_r)
{
	snprintf(detached_error, sizeof(detached_error), "%s", *error_r);
	*error_r = detached_error;
}

/*
 * open_store opens (and with create, first makes) the store in dir.
 * Returns 0 with *s_r, or -1 with *error_r in the thread's buffer.
 */
static int open_store(const char *dir, bool create, struct sqlite_store **s_r,
		      const char **error_r)
{
	char path[STORE_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/store.db", dir);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		*error_r = "store: directory path too long";
		return -1;
	}
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		*error_r = "store: out of memory";
		return -1;
	}
	s->store.backend = &store_backend_sqlite;
	s->blobs.blobs_fd = -1;
	s->blobs.tmp_fd = -1;
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0) {
		fail(s, error_r, "open(%s) failed: %m", dir);
		goto failed;
	}
	if (blob_store_open(s->dir_fd, create, &s->blobs, error_r) < 0)
		goto failed;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		if (s->db == NULL)
			*error_r = "sqlite: out of memory";
		else
			sql_fail(s, "open(store.db)", error_r);
		goto failed;
	}
	if (db_configure(s, error_r) < 0 || migrate(s, create, error_r) < 0)
		goto failed;
	/* The new store.db entry (and its -wal) must survive a crash too. */
	if (create && fsync(s->dir_fd) < 0) {
		fail(s, error_r, "fsync(%s) failed: %m", dir);
		goto failed;
	}
	*s_r = s;
	return 0;
failed:
	detach(error_r);
	sqlite_close(&s->store);
	return -1;
}

/* sqlite_preinit initialises SQLite and seeds its generator, then loads
 * SHA-256 (blob_preinit). */
static int sqlite_preinit(const char **error_r)
{
	unsigned char seed[8];

	if (sqlite3_initialize() != SQLITE_OK) {
		*error_r = "sqlite: initialize failed";
		return -1;
	}
	/* The first call seeds SQLite's generator from /dev/urandom (it is
	 * used for WAL salts); inside the jail that file is out of reach. */
	sqlite3_randomness(sizeof(seed), seed);
	return blob_preinit(error_r);
}

/* sqlite_create makes (or completes, or finds) the store in dir and closes
 * it again. */
static int sqlite_create(const char *dir, const char **error_r)
{
	struct sqlite_store *s;

	if (open_store(dir, true, &s, error_r) < 0)
		return -1;
	sqlite_close(&s->store);
	return 0;
}

/* sqlite_open opens an existing store, migrating an older schema. */
static int sqlite_open(const char *dir, struct store **store_r, const char **error_r)
{
	struct sqlite_store *s;

	if (open_store(dir, false, &s, error_r) < 0)
		return -1;
	*store_r = &s->store;
	return 0;
}

/* delivery_get looks a delivery key up; *found_r says whether it exists
 * and *uid_r then holds its UID. */
static int delivery_get(struct sqlite_store *s, const char *key, uint32_t *uid_r,
			bool *found_r, const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, STMT_DELIVERY_GET, error_r);
	if (st == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	bind_cstr(&b, key);
	int ret = bind_check(s, &b, error_r);
	*found_r = false;
	if (ret == 0) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*found_r = true;
			*uid_r = (uint32_t)sqlite3_column_int64(st, 0);
		} else if (rc != SQLITE_DONE) {
			ret = sql_fail(s, "delivery lookup", error_r);
		}
	}
	stmt_done(st);
	return ret;
}

struct mailbox_row {
	int64_t id;
	int64_t uidnext;
	int64_t highestmodseq;
};

/* mailbox_get looks a mailbox up by name; *found_r says whether it exists. */
static int mailbox_get(struct sqlite_store *s, const char *name, struct mailbox_row *row_r,
		       bool *found_r, const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, STMT_MAILBOX_GET, error_r);
	if (st == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	bind_cstr(&b, name);
	int ret = bind_check(s, &b, error_r);
	*found_r = false;
	if (ret == 0) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*found_r = true;
			row_r->id = sqlite3_column_int64(st, 0);
			row_r->uidnext = sqlite3_column_int64(st, 1);
			row_r->highestmodseq = sqlite3_column_int64(st, 2);
		} else if (rc != SQLITE_DONE) {
			ret = sql_fail(s, "mailbox lookup", error_r);
		}
	}
	stmt_done(st);
	return ret;
}

/* mailbox_require is mailbox_get where a missing mailbox is an error. */
static int mailbox_require(struct sqlite_store *s, const char *name, struct mailbox_row *row_r,
			   const char **error_r)
{
	bool found;

	if (mailbox_get(s, name, row_r, &found, error_r) < 0)
		return -1;
	if (!found)
		return fail(s, error_r, "store: no such mailbox: %s", name);
	return 0;
}

/* mailbox_advance sets a mailbox's UIDNEXT and HIGHESTMODSEQ. */
static int mailbox_advance(struct sqlite_store *s, int64_t id, int64_t uidnext,
			   uint64_t highestmodseq, const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, STMT_MAILBOX_ADVANCE, error_r);
	if (st == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	bind_i64(&b, id);
	bind_i64(&b, uidnext);
	bind_u64(&b, highestmodseq);
	return bind_run(s, &b, "advance mailbox", error_r);
}

/* message_insert adds the message row; *rowid_r gets its id. */
static int message_insert(struct sqlite_store *s, const struct mailbox_row *mb, uint32_t uid,
			  uint64_t modseq, const char *hash, const struct mime_message *msg,
			  int64_t internal_date, uint32_t flags, uint64_t keywords,
			  int64_t *rowid_r, const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, STMT_MESSAGE_INSERT, error_r);
	if (st == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	struct imap_message_answers answers; /* IMAP's, so FETCH never re-parses */
	if (imap_message_answers_write(msg, &answers) < 0)
		b.rc = SQLITE_TOOBIG;
	bind_i64(&b, mb->id);
	bind_i64(&b, uid);
	bind_cstr(&b, hash);
	bind_u64(&b, msg->size);
	bind_i64(&b, internal_date);
	bind_u64(&b, modseq);
	bind_str(&b, buf_str(&answers.envelope));
	bind_str(&b, buf_str(&answers.body));
	bind_str(&b, buf_str(&answers.bodystructure));
	bind_str(&b, msg->subject);
	bind_str(&b, msg->from);
	bind_str(&b, msg->to);
	bind_str(&b, msg->cc);
	bind_str(&b, msg->message_id);
	bind_str(&b, msg->in_reply_to);
	bind_str(&b, msg->references);
	if (msg->date < 0)
		bind_null(&b);
	else
		bind_i64(&b, msg->date);
	bind_u64(&b, msg->lines);
	bind_i64(&b, flags);
	bind_i64(&b, (int64_t)keywords);
	bind_i64(&b, msg->date < 0 ? 0 : msg->date_zone);
	int ret = 0;
	if (bind_check(s, &b, error_r) < 0) {
		stmt_done(st);
		ret = -1;
	} else if (step_done(s, st, "insert message", error_r) < 0) {
		ret = -1;
	}
	imap_message_answers_free(&answers); /* bound as SQLITE_STATIC until here */
	if (ret < 0)
		return -1;
	*rowid_r = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* parts_insert adds the part rows of message rowid. */
static int parts_insert(struct sqlite_store *s, int64_t rowid, const struct mime_message *msg,
			const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, STMT_PART_INSERT, error_r);
	if (st == NULL)
		return -1;
	for (size_t i = 0; i < msg->part_count; i++) {
		const struct mime_part *p = &msg->parts[i];
		struct binder b = { st, 0, SQLITE_OK };
		bind_i64(&b, rowid);
		bind_u64(&b, i);
		bind_str(&b, p->section);
		bind_i64(&b, p->depth);
		bind_i64(&b, p->child_count);
		bind_i64(&b, p->is_embedded_message != 0);
		bind_u64(&b, p->header_offset);
		bind_u64(&b, p->header_size);
		bind_u64(&b, p->body_offset);
		bind_u64(&b, p->body_size);
		bind_u64(&b, p->body_lines);
		bind_str(&b, p->content_type);
		if (bind_check(s, &b, error_r) < 0) {
			stmt_done(st);
			return -1;
		}
		if (step_done(s, st, "insert part", error_r) < 0)
			return -1;
	}
	return 0;
}

/* column_str gives a text column of the current row (valid until the
 * statement moves on). */
static struct str column_str(sqlite3_stmt *st, int col)
{
	const char *p = (const char *)sqlite3_column_text(st, col);
	return p == NULL ? STR("") : str_from(p, (size_t)sqlite3_column_bytes(st, col));
}

/* fts_insert adds message rowid's row to the full-text index: the decoded
 * fields of its messages row and text (index_text_extract's). */
static int fts_insert(struct sqlite_store *s, int64_t rowid, const struct index_text *text,
		      const char **error_r)
{
	sqlite3_stmt *fields = stmt_get(s, STMT_MESSAGE_FIELDS, error_r);
	sqlite3_stmt *st = fields == NULL ? NULL : stmt_get(s, STMT_FTS_INSERT, error_r);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(fields, 1, rowid);
	if (sqlite3_step(fields) != SQLITE_ROW) {
		stmt_done(fields);
		return sql_fail(s, "index message", error_r);
	}
	/* The field texts stay valid until fields is reset. */
	struct binder b = { st, 0, SQLITE_OK };
	bind_i64(&b, rowid);
	for (int col = 0; col < 4; col++)
		bind_str(&b, column_str(fields, col));
	bind_str(&b, buf_str(&text->bcc));
	bind_str(&b, buf_str(&text->body));
	bind_str(&b, buf_str(&text->header));
	int ret = bind_check(s, &b, error_r);
	if (ret == 0)
		ret = step_done(s, st, "index message", error_r);
	stmt_done(st);
	stmt_done(fields);
	return ret;
}

/* text_size is what a kept index text holds, for STORE_BATCH_TEXT_MAX. */
static size_t text_size(const struct index_text *text)
{
	return text->header.len + text->bcc.len + text->body.len;
}

/* batch_texts_drop frees the batch's index texts from the first on. */
static void batch_texts_drop(struct sqlite_store *s, size_t first)
{
	for (size_t i = first; i < s->text_count; i++) {
		s->text_bytes -= text_size(&s->texts[i].text);
		index_text_free(&s->texts[i].text);
	}
	s->text_count = first;
}

/* batch_text_add reads the index text of a delivery of the open batch,
 * kept for batch_index. */
static int batch_text_add(struct sqlite_store *s, int64_t rowid, const struct mime_message *msg,
			  const struct iovec *iov, int iovcnt, const char **error_r)
{
	if (s->text_count == s->text_cap) {
		size_t cap = s->text_cap == 0 ? 16 : s->text_cap * 2;
		struct batch_text *t = reallocarray(s->texts, cap, sizeof(*t));
		if (t == NULL)
			return fail(s, error_r, "store: out of memory");
		s->texts = t;
		s->text_cap = cap;
	}
	struct batch_text *t = &s->texts[s->text_count++];
	t->rowid = rowid;
	index_text_extract(&t->text, msg, iov, iovcnt);
	s->text_bytes += text_size(&t->text);
	return 0;
}

/* batch_index adds the kept texts to the index and drops them.  A failure
 * rolls the whole transaction back, so that no message of the batch is
 * committed unindexed (batch_usable refuses what follows). */
static int batch_index(struct sqlite_store *s, const char **error_r)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < s->text_count; i++)
		ret = fts_insert(s, s->texts[i].rowid, &s->texts[i].text, error_r);
	batch_texts_drop(s, 0);
	if (ret < 0)
		rollback(s);
	return ret;
}

/* fts_delete removes message rowid from the index. */
static int fts_delete(struct sqlite_store *s, int64_t rowid, const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, STMT_FTS_DELETE, error_r);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rowid);
	return step_done(s, st, "unindex message", error_r);
}

/* ---------------------------------------------------------------------
 * Upgrade to schema version 2: the messages a version 1 store holds go
 * into the new full-text index, each read back from its parts rows and its
 * file.  It runs once, inside the upgrade's transaction, at about the cost
 * of indexing at delivery per message.
 */

/* Content type bytes kept per part: the index only asks "text/...?". */
#define BACKFILL_TYPE_MAX 64

static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, const char **error_r);

/* The parts of one message, rebuilt for index_text_extract (reused from
 * message to message). */
struct backfill {
	sqlite3_stmt *parts; /* the parts of message ?1 in order */
	struct mime_part part[MIME_MAX_PARTS];
	char type[MIME_MAX_PARTS][BACKFILL_TYPE_MAX];
};

/* backfill_map maps the message file of hash when it is there with size
 * bytes, else gives NULL (the message is then indexed by its fields). */
static void *backfill_map(struct sqlite_store *s, const char *hash, uint64_t size)
{
	const char *ignored;
	struct stat st;
	void *map = NULL;

	if (hash == NULL || size == 0 || size != (size_t)size)
		return NULL;
	int fd = blob_open(&s->blobs, hash, &ignored);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == size) {
		map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			map = NULL;
	}
	close(fd);
	return map;
}

/* backfill_parts loads message id's parts into bf; when one of them does
 * not lie inside the size bytes of content, *count_r is 0. */
static int backfill_parts(struct sqlite_store *s, struct backfill *bf, int64_t id,
			  uint64_t size, size_t *count_r, const char **error_r)
{
	size_t n = 0;
	bool inside = true;
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(bf->parts, 1, id);
	while (n < MIME_MAX_PARTS && (rc = sqlite3_step(bf->parts)) == SQLITE_ROW) {
		struct mime_part *p = &bf->part[n];
		memset(p, 0, sizeof(*p));
		p->header_offset = (uint64_t)sqlite3_column_int64(bf->parts, 0);
		p->header_size = (uint64_t)sqlite3_column_int64(bf->parts, 1);
		p->body_offset = (uint64_t)sqlite3_column_int64(bf->parts, 2);
		p->body_size = (uint64_t)sqlite3_column_int64(bf->parts, 3);
		p->child_count = (unsigned)sqlite3_column_int(bf->parts, 4);
		p->is_embedded_message = sqlite3_column_int(bf->parts, 5);
		struct str type = column_str(bf->parts, 6);
		type.len = type.len < BACKFILL_TYPE_MAX ? type.len : BACKFILL_TYPE_MAX;
		memcpy(bf->type[n], type.ptr, type.len);
		p->content_type = str_from(bf->type[n], type.len);
		inside = inside && p->header_offset <= size &&
			 p->header_size <= size - p->header_offset && p->body_offset <= size &&
			 p->body_size <= size - p->body_offset;
		n++;
	}
	sqlite3_reset(bf->parts);
	if (n < MIME_MAX_PARTS && rc != SQLITE_DONE)
		return sql_fail(s, "read parts", error_r);
	*count_r = inside ? n : 0;
	return 0;
}

/* backfill_one indexes the message of row (id, blob, size): its decoded
 * fields, and its content when its file is there and whole. */
static int backfill_one(struct sqlite_store *s, struct backfill *bf, sqlite3_stmt *row,
			const char **error_r)
{
	struct mime_message msg = { 0 };
	struct index_text text;
	int64_t id = sqlite3_column_int64(row, 0);
	int ret = 0;

	msg.size = (uint64_t)sqlite3_column_int64(row, 2);
	void *map = backfill_map(s, (const char *)sqlite3_column_text(row, 1), msg.size);
	struct iovec iov = { map, map != NULL ? (size_t)msg.size : 0 };
	if (map != NULL) {
		msg.parts = bf->part;
		ret = backfill_parts(s, bf, id, msg.size, &msg.part_count, error_r);
	}
	if (ret == 0) {
		index_text_extract(&text, &msg, &iov, map != NULL ? 1 : 0);
		ret = fts_insert(s, id, &text, error_r);
		index_text_free(&text);
	}
	if (map != NULL)
		munmap(map, (size_t)msg.size);
	return ret;
}

/* fts_backfill indexes every message (the migration to version 2). */
static int fts_backfill(struct sqlite_store *s, const char **error_r)
{
	struct backfill *bf = calloc(1, sizeof(*bf));
	sqlite3_stmt *row = NULL;
	int rc = SQLITE_DONE, ret = -1;

	if (bf == NULL)
		return fail(s, error_r, "store: out of memory");
	bf->parts = prepare(s,
		"SELECT header_offset, header_size, body_offset, body_size, child_count,"
		" is_message, content_type FROM parts WHERE message_id = ?1 ORDER BY idx", error_r);
	if (bf->parts != NULL)
		row = prepare(s, "SELECT id, blob, size FROM messages ORDER BY id", error_r);
	if (row != NULL) {
		ret = 0;
		while (ret == 0 && (rc = sqlite3_step(row)) == SQLITE_ROW)
			ret = backfill_one(s, bf, row, error_r);
		if (ret == 0 && rc != SQLITE_DONE)
			ret = sql_fail(s, "index old messages", error_r);
	}
	sqlite3_finalize(row);
	sqlite3_finalize(bf->parts);
	free(bf);
	return ret;
}

/* deliver_locked does the database part of a delivery of a key not stored
 * yet, inside the batch's transaction (the caller releases or rolls back its
 * savepoint): the next UID and MODSEQ of the mailbox, message, parts and
 * delivery rows.  *rowid_r is the message row's id (indexed at the commit). */
static int deliver_locked(struct sqlite_store *s, const char *mailbox, const char *key,
			  const char *hash, const struct mime_message *msg,
			  int64_t internal_date, uint32_t flags, uint64_t keywords,
			  uint32_t *uid_r, int64_t *rowid_r, const char **error_r)
{
	struct mailbox_row mb;
	int64_t rowid;
	sqlite3_stmt *st;

	if (mailbox_require(s, mailbox, &mb, error_r) < 0)
		return -1;
	if (mb.uidnext < 1 || mb.uidnext > STORE_UID_MAX)
		return fail(s, error_r, "store: mailbox %s has no UIDs left", mailbox);
	uint32_t uid = (uint32_t)mb.uidnext;
	uint64_t modseq = (uint64_t)mb.highestmodseq + 1;

	if (mailbox_advance(s, mb.id, (int64_t)uid + 1, modseq, error_r) < 0)
		return -1;
	if (message_insert(s, &mb, uid, modseq, hash, msg, internal_date, flags, keywords, &rowid,
			   error_r) < 0 ||
	    parts_insert(s, rowid, msg, error_r) < 0)
		return -1;
	*rowid_r = rowid;
	if (key == NULL) {
		*uid_r = uid;
		return 0;
	}

	if ((st = stmt_get(s, STMT_DELIVERY_INSERT, error_r)) == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	bind_cstr(&b, key);
	bind_i64(&b, rowid);
	bind_i64(&b, mb.id);
	bind_i64(&b, uid);
	bind_i64(&b, (int64_t)time(NULL));
	if (bind_check(s, &b, error_r) < 0 || step_done(s, st, "insert delivery", error_r) < 0) {
		stmt_done(st);
		return -1;
	}
	*uid_r = uid;
	return 0;
}

/* batch_usable checks that a batch is open and its transaction still
 * holds: SQLite may roll a whole transaction back on its own after an I/O
 * error, a full disk or lack of memory in any statement, and a delivery
 * made after that would run (and commit) outside the batch. */
static int batch_usable(struct sqlite_store *s, const char **error_r)
{
	if (!s->in_batch)
		return fail(s, error_r, "store: no batch is open");
	if (sqlite3_get_autocommit(s->db))
		return fail(s, error_r, "store: the batch's transaction was rolled back");
	return 0;
}

/* sqlite_batch_begin opens the batch's transaction.  The write lock is held
 * until the commit: other writers of the account (there is one worker per
 * account) wait up to STORE_BUSY_TIMEOUT_MS, readers are not held up (WAL). */
static int sqlite_batch_begin(struct store *store, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);

	if (no_batch(s, error_r) < 0)
		return -1;
	assert(s->pending_count == 0);
	if (run(s, STMT_BEGIN_IMMEDIATE, error_r) < 0)
		return -1;
	s->in_batch = true;
	return 0;
}

/* pending_reserve makes room for one more file in the batch, refusing past
 * STORE_BATCH_MAX. */
static int pending_reserve(struct sqlite_store *s, const char **error_r)
{
	if (s->pending_count == STORE_BATCH_MAX)
		return fail(s, error_r, "store: batch is full (%d messages)", STORE_BATCH_MAX);
	if (s->pending_count < s->pending_cap)
		return 0;
	size_t cap = s->pending_cap == 0 ? 16 : s->pending_cap * 2;
	if (cap > STORE_BATCH_MAX)
		cap = STORE_BATCH_MAX;
	struct blob_pending *p = reallocarray(s->pending, cap, sizeof(*p));
	if (p == NULL)
		return fail(s, error_r, "store: out of memory");
	s->pending = p;
	s->pending_cap = cap;
	return 0;
}

/*
 * sqlite_batch_deliver adds one delivery to the open batch: the file is
 * written and its writeback started (blob_write_start), the rows go in
 * under a savepoint, so that a delivery that fails is undone alone and the
 * batch goes on.  A key delivered earlier in the same batch is seen (same
 * transaction) and reported as a duplicate.  Nothing is synced here.
 */
static int batch_add(struct sqlite_store *s, const char *mailbox, const char *delivery_key,
		     const struct iovec *iov, int iovcnt, const struct mime_message *msg,
		     int64_t internal_date, uint32_t flags, uint64_t keywords, uint32_t *uid_r,
		     bool *duplicate_r, const char **error_r)
{
	char hash[BLOB_HASH_SIZE];
	struct mailbox_row mb;
	uint64_t size;
	bool found = false;

	if (batch_usable(s, error_r) < 0)
		return -1;
	if (delivery_key != NULL && delivery_get(s, delivery_key, uid_r, &found, error_r) < 0)
		return -1;
	if (found) {
		*duplicate_r = true;
		return 0;
	}
	/* Checked before any file is written (deliver_locked checks again). */
	if (mailbox_require(s, mailbox, &mb, error_r) < 0 || pending_reserve(s, error_r) < 0)
		return -1;
	if (s->text_bytes >= STORE_BATCH_TEXT_MAX && batch_index(s, error_r) < 0)
		return -1;
	struct blob_pending *p = &s->pending[s->pending_count];
	if (blob_hash(iov, iovcnt, hash, &size, error_r) < 0 ||
	    blob_write_start(&s->blobs, hash, size, iov, iovcnt, p, error_r) < 0)
		return -1;
	assert(size == msg->size);
	if (run(s, STMT_SAVEPOINT, error_r) < 0) {
		blob_write_cancel(&s->blobs, p, 1);
		return -1;
	}
	int64_t rowid = 0;
	size_t texts = s->text_count;
	if (deliver_locked(s, mailbox, delivery_key, hash, msg, internal_date, flags, keywords,
			   uid_r, &rowid, error_r) < 0 ||
	    batch_text_add(s, rowid, msg, iov, iovcnt, error_r) < 0 ||
	    run(s, STMT_RELEASE, error_r) < 0) {
		/* Undo this delivery only; if SQLite rolled the whole
		 * transaction back, batch_usable refuses what follows. */
		const char *ignored;
		if (!sqlite3_get_autocommit(s->db) && run(s, STMT_ROLLBACK_TO, &ignored) == 0)
			(void)run(s, STMT_RELEASE, &ignored);
		batch_texts_drop(s, texts);
		blob_write_cancel(&s->blobs, p, 1);
		*uid_r = 0;
		*duplicate_r = false;
		return -1;
	}
	s->pending_count++;
	return 0;
}

static int sqlite_batch_deliver(struct store *store, const char *mailbox,
				const char *delivery_key, const struct iovec *iov, int iovcnt,
				const struct mime_message *msg, int64_t internal_date,
				uint32_t *uid_r, bool *duplicate_r, const char **error_r)
{
	return batch_add(sqlite_store(store), mailbox, delivery_key, iov, iovcnt, msg,
			 internal_date, 0, 0, uid_r, duplicate_r, error_r);
}

/* sqlite_batch_abort rolls the batch's transaction back and removes the
 * temporaries it wrote; a no-op without a batch. */
static void sqlite_batch_abort(struct store *store)
{
	struct sqlite_store *s = sqlite_store(store);

	if (!s->in_batch)
		return;
	blob_write_cancel(&s->blobs, s->pending, s->pending_count);
	batch_texts_drop(s, 0);
	rollback(s);
	s->in_batch = false;
	s->pending_count = 0;
}

/* sqlite_batch_commit: the batch's index rows first (while the files'
 * writeback runs), then the files (synced, renamed, directories synced),
 * then the COMMIT's one WAL fsync, so that no committed row ever names a
 * file that is not durable.  A failure anywhere rolls the batch back (files
 * renamed already stay, unnamed by any row, for a clean-up pass). */
static int sqlite_batch_commit(struct store *store, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);

	if (!s->in_batch)
		return fail(s, error_r, "store: no batch is open");
	if (batch_usable(s, error_r) < 0 || batch_index(s, error_r) < 0 ||
	    blob_write_finish(&s->blobs, s->pending, s->pending_count, error_r) < 0 ||
	    run(s, STMT_COMMIT, error_r) < 0) {
		sqlite_batch_abort(store);
		return -1;
	}
	s->in_batch = false;
	s->pending_count = 0;
	return 0;
}

/* sqlite_mailbox_list reads all mailboxes with their counts in one query
 * (so one snapshot), INBOX first, then by name in byte order. */
static int sqlite_mailbox_list(struct store *store, struct store_mailbox **list_r,
			       size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct store_mailbox *list = NULL;
	size_t count = 0, cap = 0;
	int rc, ret = 0;

	if (no_batch(s, error_r) < 0)
		return -1;
	sqlite3_stmt *st = stmt_get(s, STMT_MAILBOX_LIST, error_r);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t new_cap = cap == 0 ? 16 : cap * 2;
			struct store_mailbox *p = reallocarray(list, new_cap, sizeof(*list));
			if (p == NULL) {
				ret = fail(s, error_r, "store: out of memory");
				break;
			}
			list = p;
			cap = new_cap;
		}
		struct store_mailbox *m = &list[count];
		memset(m, 0, sizeof(*m));
		const char *name = (const char *)sqlite3_column_text(st, 1);
		m->name = strdup(name != NULL ? name : "");
		if (m->name == NULL) {
			ret = fail(s, error_r, "store: out of memory");
			break;
		}
		count++;
		m->id = sqlite3_column_int64(st, 0);
		m->special_use = (enum store_special_use)sqlite3_column_int(st, 2);
		m->uidvalidity = (uint32_t)sqlite3_column_int64(st, 3);
		m->uidnext = (uint32_t)sqlite3_column_int64(st, 4);
		m->highestmodseq = (uint64_t)sqlite3_column_int64(st, 5);
		m->subscribed = sqlite3_column_int(st, 6) != 0;
		m->messages = (uint64_t)sqlite3_column_int64(st, 7);
		m->unseen = (uint64_t)sqlite3_column_int64(st, 8);
		m->bytes = (uint64_t)sqlite3_column_int64(st, 9);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_fail(s, "list mailboxes", error_r);
	stmt_done(st);
	if (ret < 0) {
		store_mailbox_list_free(&list, count);
		return -1;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

static int message_query(struct sqlite_store *s, enum stmt_id id, int64_t mailbox_id, int64_t p2,
			 int64_t p3, struct store_message **list_r, size_t *count_r,
			 const char **error_r);

/* message_rows reads the messages of mailbox id into a new array. */
static int message_rows(struct sqlite_store *s, int64_t mailbox_id, struct store_message **list_r,
			size_t *count_r, const char **error_r)
{
	return message_query(s, STMT_MESSAGE_LIST, mailbox_id, 0, 0, list_r, count_r, error_r);
}

/* message_query runs one of the message-listing statements: LIST (mailbox),
 * RANGE (mailbox, first UID, last UID) or CHANGED (mailbox, modseq). */
static int message_query(struct sqlite_store *s, enum stmt_id id, int64_t mailbox_id, int64_t p2,
			 int64_t p3, struct store_message **list_r, size_t *count_r,
			 const char **error_r)
{
	struct store_message *list = NULL;
	size_t count = 0, cap = 0;
	int rc, ret = 0;

	sqlite3_stmt *st = stmt_get(s, id, error_r);
	if (st == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	bind_i64(&b, mailbox_id);
	if (id != STMT_MESSAGE_LIST)
		bind_i64(&b, p2);
	if (id == STMT_MESSAGE_RANGE)
		bind_i64(&b, p3);
	if (bind_check(s, &b, error_r) < 0) {
		stmt_done(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t new_cap = cap == 0 ? 64 : cap * 2;
			struct store_message *p = reallocarray(list, new_cap, sizeof(*list));
			if (p == NULL) {
				ret = fail(s, error_r, "store: out of memory");
				break;
			}
			list = p;
			cap = new_cap;
		}
		struct store_message *m = &list[count++];
		memset(m, 0, sizeof(*m));
		m->uid = (uint32_t)sqlite3_column_int64(st, 0);
		m->flags = (uint32_t)sqlite3_column_int64(st, 1);
		m->modseq = (uint64_t)sqlite3_column_int64(st, 2);
		m->size = (uint64_t)sqlite3_column_int64(st, 3);
		m->internal_date = sqlite3_column_int64(st, 4);
		const char *hash = (const char *)sqlite3_column_text(st, 5);
		if (hash != NULL && sqlite3_column_bytes(st, 5) == BLOB_HASH_SIZE - 1)
			memcpy(m->hash, hash, BLOB_HASH_SIZE);
		m->keywords = (uint64_t)sqlite3_column_int64(st, 6);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_fail(s, "list messages", error_r);
	stmt_done(st);
	if (ret < 0) {
		free(list);
		return -1;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

/* sqlite_message_list lists a mailbox's messages in UID order; an unknown
 * mailbox is an error, an empty one gives count 0 and a NULL list. */
static int sqlite_message_list(struct store *store, const char *mailbox,
			       struct store_message **list_r, size_t *count_r,
			       const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;

	if (no_batch(s, error_r) < 0)
		return -1;
	/* One read transaction: the mailbox cannot vanish between the two. */
	if (run(s, STMT_BEGIN, error_r) < 0)
		return -1;
	if (mailbox_require(s, mailbox, &mb, error_r) < 0 ||
	    message_rows(s, mb.id, list_r, count_r, error_r) < 0) {
		rollback(s);
		return -1;
	}
	if (run(s, STMT_COMMIT, error_r) < 0) {
		free(*list_r);
		*list_r = NULL;
		*count_r = 0;
		rollback(s);
		return -1;
	}
	return 0;
}

/* sqlite_expunge removes messages in one transaction, recording each with
 * the new MODSEQ for QRESYNC; their files stay (shared content) until a
 * clean-up pass collects files no message names. */
static int sqlite_expunge(struct store *store, const char *mailbox, const uint32_t *uids,
			  size_t count, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	sqlite3_stmt *del = NULL, *rec = NULL, *adv = NULL;
	int ret = -1;

	if (no_batch(s, error_r) < 0)
		return -1;
	if (run(s, STMT_BEGIN_IMMEDIATE, error_r) < 0)
		return -1;
	if (mailbox_require(s, mailbox, &mb, error_r) < 0)
		goto out;
	uint64_t modseq = (uint64_t)mb.highestmodseq + 1;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM messages WHERE mailbox_id = ? AND uid = ? RETURNING id", -1,
			       &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO expunged VALUES (?, ?, ?)", -1, &rec,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", -1,
			       &adv, NULL) != SQLITE_OK) {
		sql_fail(s, "prepare expunge", error_r);
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		sqlite3_reset(del);
		sqlite3_bind_int64(del, 1, mb.id);
		sqlite3_bind_int64(del, 2, uids[i]);
		int rc = sqlite3_step(del);
		if (rc == SQLITE_DONE)
			continue; /* not there */
		int64_t rowid = sqlite3_column_int64(del, 0);
		if (rc != SQLITE_ROW || sqlite3_step(del) != SQLITE_DONE) {
			sql_fail(s, "expunge", error_r);
			goto out;
		}
		if (fts_delete(s, rowid, error_r) < 0)
			goto out;
		sqlite3_reset(rec);
		sqlite3_bind_int64(rec, 1, mb.id);
		sqlite3_bind_int64(rec, 2, uids[i]);
		sqlite3_bind_int64(rec, 3, (int64_t)modseq);
		if (sqlite3_step(rec) != SQLITE_DONE) {
			sql_fail(s, "record expunge", error_r);
			goto out;
		}
	}
	sqlite3_bind_int64(adv, 1, (int64_t)modseq);
	sqlite3_bind_int64(adv, 2, mb.id);
	if (sqlite3_step(adv) != SQLITE_DONE) {
		sql_fail(s, "advance modseq", error_r);
		goto out;
	}
	if (run(s, STMT_COMMIT, error_r) < 0)
		goto out;
	ret = 0;
out:
	sqlite3_finalize(del);
	sqlite3_finalize(rec);
	sqlite3_finalize(adv);
	if (ret < 0)
		rollback(s);
	return ret;
}

/* sqlite_message_open finds the message's blob hash and opens that file. */
static int sqlite_message_open(struct store *store, const char *mailbox, uint32_t uid,
			       const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	char hash[BLOB_HASH_SIZE] = "";
	int rc, ret = 0;

	if (no_batch(s, error_r) < 0)
		return -1;
	sqlite3_stmt *st = stmt_get(s, STMT_MESSAGE_BLOB, error_r);
	if (st == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	bind_cstr(&b, mailbox);
	bind_i64(&b, uid);
	if (bind_check(s, &b, error_r) < 0) {
		ret = -1;
	} else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 0);
		if (text != NULL && sqlite3_column_bytes(st, 0) == BLOB_HASH_SIZE - 1)
			memcpy(hash, text, BLOB_HASH_SIZE);
	} else if (rc == SQLITE_DONE) {
		ret = fail(s, error_r, "store: no message %s UID %u", mailbox, uid);
	} else {
		ret = sql_fail(s, "message lookup", error_r);
	}
	stmt_done(st);
	if (ret < 0)
		return -1;
	/* blob_open refuses anything but a hash as a file name. */
	return blob_open(&s->blobs, hash, error_r);
}

/* ---------------------------------------------------------------------
 * IMAP calls (store.h, "The calls below serve IMAP").
 */

static int read_begin(struct sqlite_store *s, const char **error_r);
static int begin_write(struct sqlite_store *s, const char **error_r);
static int status_fail(struct sqlite_store *s, int status, const char **error_r,
		       const char *text);
/* open_mailbox opens a transaction (a write one with write) and finds the
 * mailbox: STORE_OK with the transaction open, or STORE_NOT_FOUND or
 * STORE_ERROR with it closed. */
static int open_mailbox(struct sqlite_store *s, const char *name, bool write,
			struct mailbox_row *mb, const char **error_r)
{
	bool found;
	if ((write ? begin_write(s, error_r) : read_begin(s, error_r)) < 0)
		return STORE_ERROR;
	if (mailbox_get(s, name, mb, &found, error_r) < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	if (!found)
		return status_fail(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	return STORE_OK;
}

static int read_mailbox(struct sqlite_store *s, const char *name, struct mailbox_row *mb,
			const char **error_r)
{
	return open_mailbox(s, name, false, mb, error_r);
}

static int write_mailbox(struct sqlite_store *s, const char *name, struct mailbox_row *mb,
			 const char **error_r)
{
	return open_mailbox(s, name, true, mb, error_r);
}

/* prepare makes a one-off statement; NULL with *error_r. */
static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, const char **error_r)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sql_fail(s, "prepare", error_r);
		return NULL;
	}
	return st;
}

/* begin_write opens a write transaction after refusing an open batch. */
static int begin_write(struct sqlite_store *s, const char **error_r)
{
	if (no_batch(s, error_r) < 0)
		return -1;
	return run(s, STMT_BEGIN_IMMEDIATE, error_r);
}

/* commit ends a write transaction; on failure it is rolled back. */
static int commit(struct sqlite_store *s, const char **error_r)
{
	if (run(s, STMT_COMMIT, error_r) < 0) {
		rollback(s);
		return -1;
	}
	return 0;
}

/* status_fail rolls back and returns a user-level status with its text. */
static int status_fail(struct sqlite_store *s, int status, const char **error_r,
		       const char *text)
{
	rollback(s);
	snprintf(s->error, sizeof(s->error), "%s", text);
	*error_r = s->error;
	return status;
}

static void keywords_forget(struct sqlite_store *s)
{
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++) {
		free(s->keywords[i]);
		s->keywords[i] = NULL;
	}
	s->keyword_count = 0;
	s->keywords_loaded = false;
}

static int keywords_load(struct sqlite_store *s, const char **error_r)
{
	if (s->keywords_loaded)
		return 0;
	keywords_forget(s);
	sqlite3_stmt *st = prepare(s, "SELECT bit, name FROM keywords ORDER BY bit", error_r);
	if (st == NULL)
		return -1;
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t bit = sqlite3_column_int64(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (bit < 0 || bit >= STORE_KEYWORDS_MAX || name == NULL)
			continue;
		if ((s->keywords[bit] = strdup(name)) == NULL) {
			ret = fail(s, error_r, "store: out of memory");
			break;
		}
		s->keyword_count = (size_t)bit + 1;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_fail(s, "keywords", error_r);
	sqlite3_finalize(st);
	if (ret == 0)
		s->keywords_loaded = true;
	else
		keywords_forget(s);
	return ret;
}

static int sqlite_keyword_list(struct store *store, const char *const **names_r,
			       size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (keywords_load(s, error_r) < 0)
		return STORE_ERROR;
	*names_r = (const char *const *)s->keywords;
	*count_r = s->keyword_count;
	return STORE_OK;
}

static int sqlite_keyword_index(struct store *store, const char *name, bool create,
				unsigned *index_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (keywords_load(s, error_r) < 0)
		return STORE_ERROR;
	int free_bit = -1;
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++) {
		if (s->keywords[i] != NULL && strcasecmp(s->keywords[i], name) == 0) {
			*index_r = (unsigned)i;
			return STORE_OK;
		}
		if (s->keywords[i] == NULL && free_bit < 0)
			free_bit = (int)i;
	}
	if (!create) {
		*error_r = "No such keyword";
		return STORE_NOT_FOUND;
	}
	if (free_bit < 0) {
		*error_r = "Too many keywords in this account";
		return STORE_LIMIT;
	}
	if (begin_write(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st = prepare(s, "INSERT OR IGNORE INTO keywords (bit, name) VALUES (?1, ?2)",
				   error_r);
	int ret = -1;
	if (st != NULL) {
		sqlite3_bind_int(st, 1, free_bit);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		ret = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_fail(s, "add keyword", error_r);
		sqlite3_finalize(st);
	}
	if (ret < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	if (commit(s, error_r) < 0)
		return STORE_ERROR;
	/* Another process may have added it meanwhile: read the table again. */
	s->keywords_loaded = false;
	if (keywords_load(s, error_r) < 0)
		return STORE_ERROR;
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (s->keywords[i] != NULL && strcasecmp(s->keywords[i], name) == 0) {
			*index_r = (unsigned)i;
			return STORE_OK;
		}
	*error_r = "Too many keywords in this account";
	return STORE_LIMIT;
}

static int sqlite_mailbox_get(struct store *store, const char *name, struct store_mailbox *box_r,
			      const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (no_batch(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st = prepare(s,
		"SELECT b.id, b.name, b.special_use, b.uidvalidity, b.uidnext,"
		" b.highestmodseq, b.subscribed,"
		/* One pass over the mailbox's rows for all four counts. */
		" count(m.id), coalesce(sum((m.flags & 1) = 0), 0), coalesce(sum(m.size), 0),"
		" coalesce(sum(m.uid >= b.first_recent), 0)"
		" FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id"
		" WHERE b.name = ?1 GROUP BY b.id", error_r);
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), ret = STORE_OK;
	if (rc == SQLITE_ROW) {
		memset(box_r, 0, sizeof(*box_r));
		box_r->id = sqlite3_column_int64(st, 0);
		box_r->name = strdup((const char *)sqlite3_column_text(st, 1));
		box_r->special_use = (enum store_special_use)sqlite3_column_int(st, 2);
		box_r->uidvalidity = (uint32_t)sqlite3_column_int64(st, 3);
		box_r->uidnext = (uint32_t)sqlite3_column_int64(st, 4);
		box_r->highestmodseq = (uint64_t)sqlite3_column_int64(st, 5);
		box_r->subscribed = sqlite3_column_int(st, 6) != 0;
		box_r->messages = (uint64_t)sqlite3_column_int64(st, 7);
		box_r->unseen = (uint64_t)sqlite3_column_int64(st, 8);
		box_r->bytes = (uint64_t)sqlite3_column_int64(st, 9);
		box_r->recent = (uint64_t)sqlite3_column_int64(st, 10);
		if (box_r->name == NULL)
			ret = fail(s, error_r, "store: out of memory");
	} else if (rc == SQLITE_DONE) {
		*error_r = "No such mailbox";
		ret = STORE_NOT_FOUND;
	} else {
		ret = sql_fail(s, "mailbox", error_r);
	}
	sqlite3_finalize(st);
	return ret;
}

static int sqlite_mailbox_claim_recent(struct store *store, const char *name, uint32_t *first_r,
				       uint32_t *next_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	int64_t first;
	struct mailbox_row mb;
	int64_t unchanged;

	/* Usually nothing arrived since the last claim: answer that without
	 * the write lock and the commit's sync (every SELECT asks). */
	if (no_batch(s, error_r) < 0 ||
	    query_int(s, "SELECT CASE WHEN first_recent < uidnext THEN 0 ELSE uidnext END"
			 " FROM mailboxes WHERE name = ?1", name, &unchanged, error_r) < 0)
		return STORE_ERROR;
	if (unchanged > 0) {
		*first_r = *next_r = (uint32_t)(unchanged > UINT32_MAX ? UINT32_MAX : unchanged);
		return STORE_OK;
	}
	int opened = write_mailbox(s, name, &mb, error_r);
	if (opened != STORE_OK)
		return opened;
	if (query_int(s, "SELECT first_recent FROM mailboxes WHERE name = ?1", name, &first,
		      error_r) < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	if (first < mb.uidnext) {
		char sql[128];
		snprintf(sql, sizeof(sql), "UPDATE mailboxes SET first_recent = %lld WHERE id = %lld",
			 (long long)mb.uidnext, (long long)mb.id);
		if (exec(s, sql, error_r) < 0 || commit(s, error_r) < 0) {
			rollback(s);
			return STORE_ERROR;
		}
	} else {
		rollback(s);
	}
	*first_r = (uint32_t)(first < mb.uidnext ? first : mb.uidnext);
	*next_r = (uint32_t)(mb.uidnext > UINT32_MAX ? UINT32_MAX : mb.uidnext);
	return STORE_OK;
}

/* mailbox_room says whether one more mailbox may be made: STORE_OK,
 * STORE_LIMIT (STORE_MAILBOXES_MAX reached) or STORE_ERROR. */
static int mailbox_room(struct sqlite_store *s, const char **error_r)
{
	int64_t count;

	if (query_int(s, "SELECT count(*) FROM mailboxes", NULL, &count, error_r) < 0)
		return STORE_ERROR;
	return count < STORE_MAILBOXES_MAX ? STORE_OK : STORE_LIMIT;
}

static int sqlite_mailbox_create(struct store *store, const char *name, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	bool found;

	if (begin_write(s, error_r) < 0)
		return STORE_ERROR;
	int room = mailbox_room(s, error_r);
	if (room == STORE_ERROR || mailbox_get(s, name, &mb, &found, error_r) < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	if (found)
		return status_fail(s, STORE_EXISTS, error_r, "Mailbox already exists");
	if (room == STORE_LIMIT)
		return status_fail(s, STORE_LIMIT, error_r, "Too many mailboxes");
	if (mailbox_insert(s, name, STORE_SPECIAL_NONE, false, error_r) < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	return commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

static int sqlite_mailbox_delete(struct store *store, const char *name, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;

	if (strcmp(name, "INBOX") == 0) {
		*error_r = "INBOX cannot be deleted";
		return STORE_NOT_ALLOWED;
	}
	int opened = write_mailbox(s, name, &mb, error_r);
	if (opened != STORE_OK)
		return opened;
	sqlite3_stmt *a = prepare(s, "DELETE FROM fts WHERE rowid IN"
				     " (SELECT id FROM messages WHERE mailbox_id = ?1)", error_r);
	sqlite3_stmt *b = a == NULL ? NULL : prepare(s, "DELETE FROM mailboxes WHERE id = ?1", error_r);
	int ret = -1;
	if (b != NULL) {
		sqlite3_bind_int64(a, 1, mb.id);
		sqlite3_bind_int64(b, 1, mb.id);
		if (sqlite3_step(a) == SQLITE_DONE && sqlite3_step(b) == SQLITE_DONE)
			ret = 0;
		else
			sql_fail(s, "delete mailbox", error_r);
	}
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	if (ret < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	return commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

static int rename_inbox(struct sqlite_store *s, const char *to, const char **error_r);

static int sqlite_mailbox_rename(struct store *store, const char *from, const char *to,
				 const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	bool found;
	size_t fl = strlen(from), tl = strlen(to);

	if (strcmp(to, "INBOX") == 0 || strcmp(from, to) == 0 ||
	    (strncmp(to, from, fl) == 0 && to[fl] == '/')) {
		*error_r = "Cannot rename a mailbox into itself or onto INBOX";
		return STORE_NOT_ALLOWED;
	}
	if (begin_write(s, error_r) < 0)
		return STORE_ERROR;
	if (mailbox_get(s, from, &mb, &found, error_r) < 0)
		goto failed;
	if (!found)
		return status_fail(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	if (mailbox_get(s, to, &mb, &found, error_r) < 0)
		goto failed;
	if (found)
		return status_fail(s, STORE_EXISTS, error_r, "Target mailbox exists");
	if (strcmp(from, "INBOX") == 0) {
		int ret = rename_inbox(s, to, error_r);
		if (ret == STORE_LIMIT)
			return status_fail(s, STORE_LIMIT, error_r, "Too many mailboxes");
		if (ret != STORE_OK)
			goto failed;
		return commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
	}
	/* The mailbox and its children: every new name must be free. */
	/* Children by bytes: substr() of a text counts characters. */
	sqlite3_stmt *list = prepare(s, "SELECT id, name FROM mailboxes WHERE name = ?1"
					" OR substr(CAST(name AS BLOB), 1, ?2) = CAST(?1 || '/' AS BLOB)",
				     error_r);
	sqlite3_stmt *upd = list == NULL ? NULL
			  : prepare(s, "UPDATE mailboxes SET name = ?2 WHERE id = ?1", error_r);
	int ret = upd == NULL ? STORE_ERROR : STORE_OK;
	if (upd != NULL) {
		sqlite3_bind_text(list, 1, from, -1, SQLITE_STATIC);
		sqlite3_bind_int64(list, 2, (int64_t)fl + 1);
		while (ret == STORE_OK && sqlite3_step(list) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(list, 1);
			size_t rest = strlen(name) - fl;
			char *new_name = malloc(tl + rest + 1);
			if (new_name == NULL) {
				ret = fail(s, error_r, "store: out of memory");
				break;
			}
			memcpy(new_name, to, tl);
			memcpy(new_name + tl, name + fl, rest + 1);
			sqlite3_reset(upd);
			sqlite3_bind_int64(upd, 1, sqlite3_column_int64(list, 0));
			sqlite3_bind_text(upd, 2, new_name, -1, SQLITE_TRANSIENT);
			int rc = sqlite3_step(upd);
			if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT)
				ret = STORE_EXISTS;
			else if (rc != SQLITE_DONE)
				ret = sql_fail(s, "rename", error_r);
			free(new_name);
		}
	}
	sqlite3_finalize(list);
	sqlite3_finalize(upd);
	if (ret == STORE_EXISTS)
		return status_fail(s, STORE_EXISTS, error_r, "A renamed child mailbox exists");
	if (ret != STORE_OK)
		goto failed;
	return commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
failed:
	rollback(s);
	return STORE_ERROR;
}

static int sqlite_mailbox_subscribe(struct store *store, const char *name, bool subscribed,
				    const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (begin_write(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st = prepare(s, "UPDATE mailboxes SET subscribed = ?2 WHERE name = ?1",
				   error_r);
	if (st == NULL) {
		rollback(s);
		return STORE_ERROR;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, subscribed);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sql_fail(s, "subscribe", error_r);
		rollback(s);
		return STORE_ERROR;
	}
	if (sqlite3_changes(s->db) == 0)
		return status_fail(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	return commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

/* read_begin opens a read transaction (one snapshot for several queries). */
static int read_begin(struct sqlite_store *s, const char **error_r)
{
	if (no_batch(s, error_r) < 0)
		return -1;
	return run(s, STMT_BEGIN, error_r);
}

static int sqlite_message_range(struct store *store, const char *mailbox, uint32_t first,
				 uint32_t last, struct store_message **list_r, size_t *count_r,
				 const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	int ret = read_mailbox(s, mailbox, &mb, error_r);
	*list_r = NULL;
	*count_r = 0;
	if (ret != STORE_OK)
		return ret;
	if (message_query(s, STMT_MESSAGE_RANGE, mb.id, first, last, list_r, count_r, error_r) < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	rollback(s); /* read only: ending it is all */
	return STORE_OK;
}

struct meta_block {
	struct store_message_meta meta;
	char *strings;
};

static int sqlite_message_meta(struct store *store, const char *mailbox, uint32_t uid,
			       struct store_message_meta **meta_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	int ret = read_mailbox(s, mailbox, &mb, error_r);
	if (ret != STORE_OK)
		return ret;
	/* Kept statements: FETCH asks this once per message. */
	sqlite3_stmt *st = stmt_get(s, STMT_META_MESSAGE, error_r);
	sqlite3_stmt *ps = st == NULL ? NULL : stmt_get(s, STMT_META_PARTS, error_r);
	struct meta_block *mbk = NULL;
	ret = STORE_ERROR;
	if (ps == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, mb.id);
	sqlite3_bind_int64(st, 2, uid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = STORE_NOT_FOUND;
		*error_r = "No such message";
		goto out;
	}
	if (rc != SQLITE_ROW) {
		sql_fail(s, "message", error_r);
		goto out;
	}
	/* Strings: columns 8..17, then the parts' section and content type. */
	size_t total = 0;
	for (int c = 8; c <= 17; c++)
		total += (size_t)sqlite3_column_bytes(st, c) + 1;
	size_t nparts = 0, parts_text = 0;
	sqlite3_bind_int64(ps, 1, sqlite3_column_int64(st, 0));
	while ((rc = sqlite3_step(ps)) == SQLITE_ROW) {
		nparts++;
		parts_text += (size_t)sqlite3_column_bytes(ps, 0) + (size_t)sqlite3_column_bytes(ps, 6) + 2;
	}
	if (rc != SQLITE_DONE) {
		sql_fail(s, "parts", error_r);
		goto out;
	}
	sqlite3_reset(ps);
	mbk = calloc(1, sizeof(*mbk));
	char *text = malloc(total + parts_text + 1);
	struct store_part *parts = calloc(nparts + 1, sizeof(*parts));
	if (mbk == NULL || text == NULL || parts == NULL) {
		free(text);
		free(parts);
		fail(s, error_r, "store: out of memory");
		goto out;
	}
	mbk->strings = text;
	struct store_message_meta *m = &mbk->meta;
	m->parts = parts;
	m->part_count = nparts;
	m->msg.uid = (uint32_t)sqlite3_column_int64(st, 1);
	m->msg.flags = (uint32_t)sqlite3_column_int64(st, 2);
	m->msg.modseq = (uint64_t)sqlite3_column_int64(st, 3);
	m->msg.size = (uint64_t)sqlite3_column_int64(st, 4);
	m->msg.internal_date = sqlite3_column_int64(st, 5);
	const char *hash = (const char *)sqlite3_column_text(st, 6);
	if (hash != NULL && sqlite3_column_bytes(st, 6) == BLOB_HASH_SIZE - 1)
		memcpy(m->msg.hash, hash, BLOB_HASH_SIZE);
	m->msg.keywords = (uint64_t)sqlite3_column_int64(st, 7);
	const char **fields[] = { &m->envelope, &m->body, &m->bodystructure, &m->subject,
				  &m->from, &m->to, &m->cc, &m->message_id, &m->in_reply_to,
				  &m->references };
	char *p = text;
	for (int c = 8; c <= 17; c++) {
		size_t n = (size_t)sqlite3_column_bytes(st, c);
		const unsigned char *v = sqlite3_column_text(st, c);
		if (n > 0 && v != NULL)
			memcpy(p, v, n);
		p[n] = '\0';
		*fields[c - 8] = p;
		p += n + 1;
	}
	m->sent_date = sqlite3_column_type(st, 18) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 18);
	m->lines = (uint64_t)sqlite3_column_int64(st, 19);
	m->sent_zone = sqlite3_column_int(st, 20);
	for (size_t i = 0; i < nparts && sqlite3_step(ps) == SQLITE_ROW; i++) {
		struct store_part *pt = &parts[i];
		for (int c = 0; c <= 6; c += 6) {
			size_t n = (size_t)sqlite3_column_bytes(ps, c);
			const unsigned char *v = sqlite3_column_text(ps, c);
			if (n > 0 && v != NULL)
				memcpy(p, v, n);
			p[n] = '\0';
			if (c == 0)
				pt->section = p;
			else
				pt->content_type = p;
			p += n + 1;
		}
		pt->header_offset = (uint64_t)sqlite3_column_int64(ps, 1);
		pt->header_size = (uint64_t)sqlite3_column_int64(ps, 2);
		pt->body_offset = (uint64_t)sqlite3_column_int64(ps, 3);
		pt->body_size = (uint64_t)sqlite3_column_int64(ps, 4);
		pt->body_lines = (uint64_t)sqlite3_column_int64(ps, 5);
		pt->depth = (unsigned)sqlite3_column_int(ps, 7);
		pt->child_count = (unsigned)sqlite3_column_int(ps, 8);
		pt->is_message = sqlite3_column_int(ps, 9) != 0;
	}
	*meta_r = m;
	mbk = NULL;
	ret = STORE_OK;
out:
	free(mbk);
	if (st != NULL)
		stmt_done(st);
	if (ps != NULL)
		stmt_done(ps);
	rollback(s);
	return ret;
}

static void sqlite_message_meta_free(struct store_message_meta *meta)
{
	struct meta_block *mbk = (struct meta_block *)meta;
	free(mbk->strings);
	free(meta->parts);
	free(mbk);
}

/* message_row_get reads one message's state (and row id) by UID. */
static int message_row_get(struct sqlite_store *s, sqlite3_stmt *st, int64_t mailbox_id,
			   uint32_t uid, struct store_message *m, int64_t *rowid_r, bool *found_r,
			   const char **error_r)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	int rc = sqlite3_step(st);
	*found_r = rc == SQLITE_ROW;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sql_fail(s, "message", error_r);
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	m->flags = (uint32_t)sqlite3_column_int64(st, 0);
	m->modseq = (uint64_t)sqlite3_column_int64(st, 1);
	m->size = (uint64_t)sqlite3_column_int64(st, 2);
	m->internal_date = sqlite3_column_int64(st, 3);
	const char *hash = (const char *)sqlite3_column_text(st, 4);
	if (hash != NULL && sqlite3_column_bytes(st, 4) == BLOB_HASH_SIZE - 1)
		memcpy(m->hash, hash, BLOB_HASH_SIZE);
	m->keywords = (uint64_t)sqlite3_column_int64(st, 5);
	*rowid_r = sqlite3_column_int64(st, 6);
	return 0;
}

/* What a flags update did: the messages changed (new state) and the UIDs
 * refused by UNCHANGEDSINCE, both in UID order. */
struct flags_result {
	struct store_message *changed;
	uint32_t *failed;
	size_t changed_count, failed_count;
};

/* flags_apply changes m's flags and keywords as a STORE of mode does. */
static void flags_apply(enum store_flags_mode mode, uint32_t flags, uint64_t keywords,
			struct store_message *m)
{
	switch (mode) {
	case STORE_FLAGS_SET:
		m->flags = flags;
		m->keywords = keywords;
		break;
	case STORE_FLAGS_ADD:
		m->flags |= flags;
		m->keywords |= keywords;
		break;
	case STORE_FLAGS_REMOVE:
		m->flags &= ~flags;
		m->keywords &= ~keywords;
		break;
	}
}

/* flags_store writes message row's new state. */
static int flags_store(struct sqlite_store *s, int64_t row, const struct store_message *m,
		       const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, STMT_FLAGS_SET, error_r);
	if (st == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	bind_i64(&b, row);
	bind_i64(&b, m->flags);
	bind_i64(&b, (int64_t)m->keywords);
	bind_u64(&b, m->modseq);
	return bind_run(s, &b, "update flags", error_r);
}

/* flags_locked does a flags update inside the caller's write transaction:
 * one new MODSEQ for every message that really changes. */
static int flags_locked(struct sqlite_store *s, const struct mailbox_row *mb, const uint32_t *uids,
			size_t count, enum store_flags_mode mode, uint32_t flags,
			uint64_t keywords, uint64_t unchangedsince, struct flags_result *r,
			const char **error_r)
{
	sqlite3_stmt *get = stmt_get(s, STMT_MESSAGE_ROW, error_r);
	uint64_t modseq = (uint64_t)mb->highestmodseq + 1;
	int ret = 0;

	if (get == NULL)
		return -1;
	r->changed = calloc(count + 1, sizeof(*r->changed));
	r->failed = calloc(count + 1, sizeof(*r->failed));
	if (r->changed == NULL || r->failed == NULL)
		return fail(s, error_r, "store: out of memory");
	for (size_t i = 0; ret == 0 && i < count; i++) {
		struct store_message m, was;
		int64_t row;
		bool found;
		ret = message_row_get(s, get, mb->id, uids[i], &m, &row, &found, error_r);
		if (ret < 0 || !found)
			continue;
		if (unchangedsince > 0 && m.modseq > unchangedsince) {
			r->failed[r->failed_count++] = uids[i];
			continue;
		}
		was = m;
		flags_apply(mode, flags, keywords, &m);
		if (m.flags == was.flags && m.keywords == was.keywords)
			continue;
		m.modseq = modseq;
		r->changed[r->changed_count++] = m;
		stmt_done(get);
		ret = flags_store(s, row, &m, error_r);
	}
	stmt_done(get);
	if (ret == 0 && r->changed_count > 0)
		ret = mailbox_advance(s, mb->id, mb->uidnext, modseq, error_r);
	return ret;
}

/* sqlite_flags_update: one write transaction, durable on STORE_OK. */
static int sqlite_flags_update(struct store *store, const char *mailbox, const uint32_t *uids,
			       size_t count, enum store_flags_mode mode, uint32_t flags,
			       uint64_t keywords, uint64_t unchangedsince,
			       struct store_message **changed_r, size_t *changed_count_r,
			       uint32_t **failed_r, size_t *failed_count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct flags_result r = { NULL, NULL, 0, 0 };
	struct mailbox_row mb;

	int opened = write_mailbox(s, mailbox, &mb, error_r);
	if (opened != STORE_OK)
		return opened;
	if (flags_locked(s, &mb, uids, count, mode, flags, keywords, unchangedsince, &r,
			 error_r) < 0 ||
	    commit(s, error_r) < 0) {
		rollback(s);
		free(r.changed);
		free(r.failed);
		return STORE_ERROR;
	}
	*changed_r = r.changed;
	*changed_count_r = r.changed_count;
	*failed_r = r.failed;
	*failed_count_r = r.failed_count;
	return STORE_OK;
}

/*
 * quota_check refuses adding bytes past the account's limit (APPEND and
 * COPY).  Deliveries are not checked: the SMTP side would first have to
 * answer 452 before accepting the message, which it does not do yet.  What
 * is used is a scan of the message sizes, made only when there is a limit.
 */
static int quota_check(struct sqlite_store *s, uint64_t adding, const char **error_r)
{
	int64_t limit, used;
	if (query_int(s, "SELECT value FROM meta WHERE key = 'quota_storage'", NULL, &limit,
		      error_r) < 0)
		return STORE_ERROR;
	if (limit <= 0)
		return STORE_OK;
	if (query_int(s, "SELECT coalesce(sum(size), 0) FROM messages", NULL, &used, error_r) < 0)
		return STORE_ERROR;
	if (adding > (uint64_t)limit || (uint64_t)used > (uint64_t)limit - adding) {
		*error_r = "Quota exceeded";
		return STORE_OVER_QUOTA;
	}
	return STORE_OK;
}

/* The messages a COPY or MOVE takes, in UID order: their UIDs in the
 * source and in the target (pairwise, for COPYUID), their rows, their
 * bytes. */
struct copy_set {
	uint32_t *src, *dst;
	int64_t *rows;
	size_t count;
	uint64_t bytes;
};

static void copy_set_free(struct copy_set *c)
{
	free(c->src);
	free(c->dst);
	free(c->rows);
	memset(c, 0, sizeof(*c));
}

/* copy_set_find reads which of uids[0..count) (ascending) mailbox id
 * holds into c (allocated here: free with copy_set_free). */
static int copy_set_find(struct sqlite_store *s, int64_t mailbox_id, const uint32_t *uids,
			 size_t count, struct copy_set *c, const char **error_r)
{
	sqlite3_stmt *get = stmt_get(s, STMT_MESSAGE_ROW, error_r);
	struct store_message m;
	bool found;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	if (get == NULL)
		return -1;
	c->src = calloc(count + 1, sizeof(*c->src));
	c->dst = calloc(count + 1, sizeof(*c->dst));
	c->rows = calloc(count + 1, sizeof(*c->rows));
	if (c->src == NULL || c->dst == NULL || c->rows == NULL)
		return fail(s, error_r, "store: out of memory");
	for (size_t i = 0; ret == 0 && i < count; i++) {
		ret = message_row_get(s, get, mailbox_id, uids[i], &m, &c->rows[c->count], &found,
				      error_r);
		if (ret == 0 && found) {
			c->src[c->count++] = uids[i];
			c->bytes += m.size;
		}
	}
	stmt_done(get);
	return ret;
}

/* copy_row inserts a copy of message row from (and its parts) into mailbox
 * dst_id as uid with modseq; *row_r is the new row. */
static int copy_row(struct sqlite_store *s, int64_t from, int64_t dst_id, uint32_t uid,
		    uint64_t modseq, int64_t *row_r, const char **error_r)
{
	sqlite3_stmt *msg = stmt_get(s, STMT_COPY_MESSAGE, error_r);
	sqlite3_stmt *parts = msg == NULL ? NULL : stmt_get(s, STMT_COPY_PARTS, error_r);
	if (parts == NULL)
		return -1;
	struct binder b = { msg, 0, SQLITE_OK };
	bind_i64(&b, from);
	bind_i64(&b, dst_id);
	bind_i64(&b, uid);
	bind_u64(&b, modseq);
	if (bind_run(s, &b, "copy message", error_r) < 0)
		return -1;
	*row_r = sqlite3_last_insert_rowid(s->db);
	b = (struct binder){ parts, 0, SQLITE_OK };
	bind_i64(&b, from);
	bind_i64(&b, *row_r);
	return bind_run(s, &b, "copy parts", error_r);
}

/* copy_fts gives the copy to_row the index row of from (the text is not
 * read again); a message without one is left without. */
static int copy_fts(struct sqlite_store *s, int64_t from, int64_t to_row, const char **error_r)
{
	sqlite3_stmt *get = stmt_get(s, STMT_FTS_ROW, error_r);
	sqlite3_stmt *put = get == NULL ? NULL : stmt_get(s, STMT_FTS_INSERT, error_r);
	if (put == NULL)
		return -1;
	sqlite3_bind_int64(get, 1, from);
	int rc = sqlite3_step(get), ret = 0;
	if (rc == SQLITE_ROW) {
		/* The texts stay valid until get is reset. */
		struct binder b = { put, 0, SQLITE_OK };
		bind_i64(&b, to_row);
		for (int col = 0; col < 7; col++)
			bind_str(&b, column_str(get, col));
		ret = bind_run(s, &b, "copy index row", error_r);
	} else if (rc != SQLITE_DONE) {
		ret = sql_fail(s, "read index row", error_r);
	}
	stmt_done(get);
	return ret;
}

/* copy_rows copies c's messages into dst_id with c->dst's UIDs: all the
 * rows first, then the index rows (an INSERT ... SELECT among FTS5 inserts
 * would make FTS5 write its pending terms out each time). */
static int copy_rows(struct sqlite_store *s, const struct copy_set *c, int64_t dst_id,
		     uint64_t modseq, const char **error_r)
{
	int64_t *copies = calloc(c->count + 1, sizeof(*copies));
	int ret = copies == NULL ? fail(s, error_r, "store: out of memory") : 0;

	for (size_t i = 0; ret == 0 && i < c->count; i++)
		ret = copy_row(s, c->rows[i], dst_id, c->dst[i], modseq, &copies[i], error_r);
	for (size_t i = 0; ret == 0 && i < c->count; i++)
		ret = copy_fts(s, c->rows[i], copies[i], error_r);
	free(copies);
	return ret;
}

/* move_rows moves c's messages into dst_id with c->dst's UIDs and records
 * their old UIDs as expunged from src_id (QRESYNC VANISHED): the rows,
 * parts, index rows and files stay as they are. */
static int move_rows(struct sqlite_store *s, const struct copy_set *c, int64_t src_id,
		     uint64_t src_modseq, int64_t dst_id, uint64_t dst_modseq,
		     const char **error_r)
{
	sqlite3_stmt *gone = stmt_get(s, STMT_EXPUNGED_ADD, error_r);
	sqlite3_stmt *move = gone == NULL ? NULL : stmt_get(s, STMT_MOVE_MESSAGE, error_r);
	int ret = move == NULL ? -1 : 0;

	for (size_t i = 0; ret == 0 && i < c->count; i++) {
		struct binder b = { gone, 0, SQLITE_OK };
		bind_i64(&b, src_id);
		bind_i64(&b, c->src[i]);
		bind_u64(&b, src_modseq);
		ret = bind_run(s, &b, "record expunge", error_r);
		b = (struct binder){ move, 0, SQLITE_OK };
		bind_i64(&b, c->rows[i]);
		bind_i64(&b, dst_id);
		bind_i64(&b, c->dst[i]);
		bind_u64(&b, dst_modseq);
		if (ret == 0)
			ret = bind_run(s, &b, "move message", error_r);
		else
			stmt_done(move);
	}
	return ret;
}

/*
 * copy_locked does a COPY or MOVE inside the caller's write transaction:
 * the target's next UIDs in UID order, one new MODSEQ in the target (and
 * one in the source for the expunges of a MOVE; within one mailbox they
 * are the same).  Returns STORE_OK with *c filled, or a status.
 */
static int copy_locked(struct sqlite_store *s, const struct mailbox_row *src,
		       const struct mailbox_row *dst, const uint32_t *uids, size_t count,
		       bool move, struct copy_set *c, const char **error_r)
{
	if (copy_set_find(s, src->id, uids, count, c, error_r) < 0)
		return STORE_ERROR;
	/* A MOVE adds no bytes to the account. */
	int ret = move ? STORE_OK : quota_check(s, c->bytes, error_r);
	if (ret != STORE_OK || c->count == 0)
		return ret;
	if (dst->uidnext + (int64_t)c->count - 1 > STORE_UID_MAX)
		return fail(s, error_r, "store: the target mailbox has no UIDs left");
	for (size_t i = 0; i < c->count; i++)
		c->dst[i] = (uint32_t)(dst->uidnext + (int64_t)i);
	uint64_t src_modseq = (uint64_t)src->highestmodseq + 1;
	uint64_t dst_modseq = src->id == dst->id ? src_modseq : (uint64_t)dst->highestmodseq + 1;
	if (move ? move_rows(s, c, src->id, src_modseq, dst->id, dst_modseq, error_r)
		 : copy_rows(s, c, dst->id, dst_modseq, error_r))
		return STORE_ERROR;
	if (mailbox_advance(s, dst->id, dst->uidnext + (int64_t)c->count, dst_modseq, error_r) < 0)
		return STORE_ERROR;
	if (move && src->id != dst->id &&
	    mailbox_advance(s, src->id, src->uidnext, src_modseq, error_r) < 0)
		return STORE_ERROR;
	return STORE_OK;
}

/* sqlite_copy: one write transaction, durable when it returns STORE_OK;
 * the content files are shared (a copy's row names the same file). */
static int sqlite_copy(struct store *store, const char *from, const uint32_t *uids, size_t count,
		       const char *to, bool move, uint32_t *uidvalidity_r, uint32_t **src_r,
		       uint32_t **dst_r, size_t *copied_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row src, dst;
	bool found_src, found_dst;
	int64_t uidvalidity;
	struct copy_set c;

	if (begin_write(s, error_r) < 0)
		return STORE_ERROR;
	if (mailbox_get(s, from, &src, &found_src, error_r) < 0 ||
	    mailbox_get(s, to, &dst, &found_dst, error_r) < 0 ||
	    query_int(s, "SELECT uidvalidity FROM mailboxes WHERE name = ?1", to, &uidvalidity,
		      error_r) < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	if (!found_src || !found_dst)
		return status_fail(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	int ret = copy_locked(s, &src, &dst, uids, count, move, &c, error_r);
	if (ret != STORE_OK || commit(s, error_r) < 0) {
		rollback(s);
		copy_set_free(&c);
		return ret == STORE_OK ? STORE_ERROR : ret;
	}
	*uidvalidity_r = (uint32_t)uidvalidity;
	*src_r = c.src;
	*dst_r = c.dst;
	*copied_r = c.count;
	free(c.rows);
	return STORE_OK;
}

/*
 * rename_inbox moves every INBOX message into the new mailbox to, inside
 * the caller's transaction: a MOVE of them all (UIDs 1..n in their order,
 * expunged from INBOX for QRESYNC), so INBOX stays, empty, with its
 * UIDVALIDITY and UIDNEXT.  STORE_OK, STORE_LIMIT or STORE_ERROR.
 */
static int rename_inbox(struct sqlite_store *s, const char *to, const char **error_r)
{
	struct mailbox_row inbox, dst;
	struct store_message *list = NULL;
	struct copy_set c = { NULL, NULL, NULL, 0, 0 };
	size_t n = 0;

	int ret = mailbox_room(s, error_r);
	if (ret != STORE_OK)
		return ret;
	if (mailbox_require(s, "INBOX", &inbox, error_r) < 0 ||
	    mailbox_insert(s, to, STORE_SPECIAL_NONE, false, error_r) < 0 ||
	    mailbox_require(s, to, &dst, error_r) < 0 ||
	    message_rows(s, inbox.id, &list, &n, error_r) < 0)
		return STORE_ERROR;
	uint32_t *uids = calloc(n + 1, sizeof(*uids));
	if (uids == NULL)
		ret = fail(s, error_r, "store: out of memory");
	for (size_t i = 0; uids != NULL && i < n; i++)
		uids[i] = list[i].uid;
	if (ret == STORE_OK)
		ret = copy_locked(s, &inbox, &dst, uids, n, true, &c, error_r);
	copy_set_free(&c);
	free(uids);
	free(list);
	return ret;
}

static int sqlite_append(struct store *store, const char *mailbox,
			 const struct store_append_msg *msgs, size_t count, uint32_t *uidvalidity_r,
			 uint32_t *uids_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	bool found;
	int64_t uidvalidity;
	uint64_t bytes = 0;

	if (count > STORE_BATCH_MAX)
		return fail(s, error_r, "store: too many messages in one append");
	if (sqlite_batch_begin(store, error_r) < 0)
		return STORE_ERROR;
	if (mailbox_get(s, mailbox, &mb, &found, error_r) < 0 ||
	    query_int(s, "SELECT uidvalidity FROM mailboxes WHERE name = ?1", mailbox,
		      &uidvalidity, error_r) < 0) {
		sqlite_batch_abort(store);
		return STORE_ERROR;
	}
	if (!found) {
		sqlite_batch_abort(store);
		*error_r = "No such mailbox";
		return STORE_NOT_FOUND;
	}
	for (size_t i = 0; i < count; i++)
		bytes += msgs[i].msg->size;
	int ret = quota_check(s, bytes, error_r);
	if (ret != STORE_OK) {
		if (ret == STORE_OVER_QUOTA) {
			snprintf(s->error, sizeof(s->error), "%s", *error_r);
			*error_r = s->error;
		}
		sqlite_batch_abort(store);
		return ret;
	}
	for (size_t i = 0; i < count; i++) {
		bool dup = false;
		if (batch_add(s, mailbox, NULL, msgs[i].iov, msgs[i].iovcnt, msgs[i].msg,
			      msgs[i].internal_date, msgs[i].flags & STORE_FLAGS_KEPT,
			      msgs[i].keywords, &uids_r[i], &dup, error_r) < 0) {
			sqlite_batch_abort(store);
			return STORE_ERROR;
		}
	}
	if (sqlite_batch_commit(store, error_r) < 0)
		return STORE_ERROR;
	*uidvalidity_r = (uint32_t)uidvalidity;
	return STORE_OK;
}

/* uids_collect steps st (bound, its first column a UID) to the end and
 * gives the UIDs in a new array (NULL when none); st is reset. */
static int uids_collect(struct sqlite_store *s, sqlite3_stmt *st, uint32_t **uids_r,
			size_t *count_r, const char **error_r)
{
	uint32_t *list = NULL;
	size_t n = 0, cap = 0;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			uint32_t *p = reallocarray(list, cap, sizeof(*p));
			if (p == NULL) {
				ret = fail(s, error_r, "store: out of memory");
				break;
			}
			list = p;
		}
		list[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_fail(s, "list UIDs", error_r);
	stmt_done(st);
	if (ret < 0) {
		free(list);
		return -1;
	}
	*uids_r = list;
	*count_r = n;
	return 0;
}

/* expunged_since lists the UIDs expunged from mailbox id after modseq. */
static int expunged_since(struct sqlite_store *s, int64_t mailbox_id, uint64_t modseq,
			  uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	sqlite3_stmt *st = stmt_get(s, STMT_EXPUNGED_SINCE, error_r);
	if (st == NULL)
		return -1;
	struct binder b = { st, 0, SQLITE_OK };
	bind_i64(&b, mailbox_id);
	bind_u64(&b, modseq);
	if (bind_check(s, &b, error_r) < 0) {
		stmt_done(st);
		return -1;
	}
	return uids_collect(s, st, uids_r, count_r, error_r);
}

/* sqlite_changes reads both lists in one snapshot; when nothing happened
 * since modseq (the usual case after a command) it reads one row. */
static int sqlite_changes(struct store *store, const char *mailbox, uint64_t modseq,
			  struct store_message **changed_r, size_t *changed_count_r,
			  uint32_t **expunged_r, size_t *expunged_count_r, uint64_t *highestmodseq_r,
			  const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;

	int ret = read_mailbox(s, mailbox, &mb, error_r);
	if (ret != STORE_OK)
		return ret;
	*highestmodseq_r = (uint64_t)mb.highestmodseq;
	if (modseq < (uint64_t)mb.highestmodseq &&
	    (message_query(s, STMT_MESSAGE_CHANGED, mb.id, (int64_t)modseq, 0, changed_r,
			   changed_count_r, error_r) < 0 ||
	     expunged_since(s, mb.id, modseq, expunged_r, expunged_count_r, error_r) < 0)) {
		free(*changed_r);
		*changed_r = NULL;
		*changed_count_r = 0;
		ret = STORE_ERROR;
	}
	rollback(s); /* read only: ending it is all */
	return ret;
}

/* The index's columns by field; STORE_TEXT_ANY searches all of them, the
 * raw top-level header among them, so IMAP TEXT covers the whole header
 * (decoded and as received) and the body's text parts. */
static const char *const fts_columns[] = {
	[STORE_TEXT_SUBJECT] = "subject", [STORE_TEXT_FROM] = "from_addr",
	[STORE_TEXT_TO] = "to_addr",      [STORE_TEXT_CC] = "cc_addr",
	[STORE_TEXT_BCC] = "bcc",         [STORE_TEXT_BODY] = "body",
	[STORE_TEXT_ANY] = "header",
};

/* utf8_chars counts code points. */
static size_t utf8_chars(const char *t)
{
	size_t n = 0;
	for (; *t != '\0'; t++)
		n += ((unsigned char)*t & 0xc0) != 0x80;
	return n;
}

/*
 * search_prepare makes the statement for a search of field (?1 the
 * mailbox id, ?2 the text) and gives in query what to bind as ?2.  From
 * three characters on, the FTS5 trigram index answers: the text as one
 * phrase (quotes doubled, so nothing in it is query syntax) matches as a
 * substring, case-insensitively.  A shorter text has no trigram: the
 * mailbox's indexed rows are scanned with instr(), which folds ASCII case
 * only.  The index is read first (CROSS JOIN), then each hit's message.
 */
static sqlite3_stmt *search_prepare(struct sqlite_store *s, enum store_text_field field,
				    const char *text, struct buf *query, const char **error_r)
{
	char sql[1024];
	int n;

	if (utf8_chars(text) >= 3) {
		if (field != STORE_TEXT_ANY)
			buf_printf(query, "%s : ", fts_columns[field]);
		buf_putc(query, '"');
		for (const char *p = text; *p != '\0'; p++)
			if ((*p == '"' && buf_putc(query, '"') < 0) || buf_putc(query, *p) < 0)
				break;
		buf_putc(query, '"');
		n = snprintf(sql, sizeof(sql),
			     "SELECT m.uid FROM fts CROSS JOIN messages m ON m.id = fts.rowid"
			     " WHERE fts MATCH ?2 AND m.mailbox_id = ?1 ORDER BY m.uid");
	} else {
		buf_append(query, text, strlen(text));
		n = snprintf(sql, sizeof(sql),
			     "SELECT m.uid FROM messages m CROSS JOIN fts ON fts.rowid = m.id"
			     " WHERE m.mailbox_id = ?1 AND (0");
		for (int f = 0; f <= STORE_TEXT_ANY; f++)
			if (field == STORE_TEXT_ANY || f == (int)field)
				n += snprintf(sql + n, sizeof(sql) - (size_t)n,
					      " OR instr(lower(fts.%s), lower(?2)) > 0",
					      fts_columns[f]);
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, ") ORDER BY m.uid");
	}
	assert(n > 0 && (size_t)n < sizeof(sql));
	return prepare(s, sql, error_r);
}

/* sqlite_text_search: see search_prepare for how each search runs. */
static int sqlite_text_search(struct store *store, const char *mailbox,
			      enum store_text_field field, const char *text, uint32_t **uids_r,
			      size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	struct buf query;

	int ret = read_mailbox(s, mailbox, &mb, error_r);
	if (ret != STORE_OK)
		return ret;
	buf_init(&query, strlen(text) * 2 + 64);
	sqlite3_stmt *st = search_prepare(s, field, text, &query, error_r);
	ret = STORE_ERROR;
	if (st != NULL) {
		struct binder b = { st, 0, SQLITE_OK };
		bind_i64(&b, mb.id);
		bind_str(&b, buf_str(&query));
		if (bind_check(s, &b, error_r) == 0 &&
		    uids_collect(s, st, uids_r, count_r, error_r) == 0)
			ret = STORE_OK;
		sqlite3_finalize(st);
	}
	buf_free(&query);
	rollback(s);
	return ret;
}

static int sqlite_quota_get(struct store *store, uint64_t *limit_r, uint64_t *used_r,
			    const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	int64_t limit, used;
	if (no_batch(s, error_r) < 0 ||
	    query_int(s, "SELECT value FROM meta WHERE key = 'quota_storage'", NULL, &limit,
		      error_r) < 0 ||
	    query_int(s, "SELECT coalesce(sum(size), 0) FROM messages", NULL, &used, error_r) < 0)
		return STORE_ERROR;
	*limit_r = limit > 0 ? (uint64_t)limit : 0;
	*used_r = used > 0 ? (uint64_t)used : 0;
	return STORE_OK;
}

static void sqlite_release_memory(struct store *store)
{
	struct sqlite_store *s = sqlite_store(store);
	if (!s->in_batch)
		sqlite3_db_release_memory(s->db);
}

static int sqlite_quota_set(struct store *store, uint64_t limit, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (limit > INT64_MAX)
		return fail(s, error_r, "store: quota too large");
	if (begin_write(s, error_r) < 0)
		return STORE_ERROR;
	if (meta_set(s, "quota_storage", (int64_t)limit, error_r) < 0) {
		rollback(s);
		return STORE_ERROR;
	}
	return commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.preinit = sqlite_preinit,
	.create = sqlite_create,
	.open = sqlite_open,
	.close = sqlite_close,
	.mailbox_list = sqlite_mailbox_list,
	.batch_begin = sqlite_batch_begin,
	.batch_deliver = sqlite_batch_deliver,
	.batch_commit = sqlite_batch_commit,
	.batch_abort = sqlite_batch_abort,
	.message_list = sqlite_message_list,
	.message_open = sqlite_message_open,
	.expunge = sqlite_expunge,
	.keyword_list = sqlite_keyword_list,
	.keyword_index = sqlite_keyword_index,
	.mailbox_get = sqlite_mailbox_get,
	.mailbox_create = sqlite_mailbox_create,
	.mailbox_claim_recent = sqlite_mailbox_claim_recent,
	.mailbox_delete = sqlite_mailbox_delete,
	.mailbox_rename = sqlite_mailbox_rename,
	.mailbox_subscribe = sqlite_mailbox_subscribe,
	.message_range = sqlite_message_range,
	.message_meta = sqlite_message_meta,
	.message_meta_free = sqlite_message_meta_free,
	.flags_update = sqlite_flags_update,
	.copy = sqlite_copy,
	.append = sqlite_append,
	.changes = sqlite_changes,
	.text_search = sqlite_text_search,
	.quota_get = sqlite_quota_get,
	.quota_set = sqlite_quota_set,
	.release_memory = sqlite_release_memory,
};
