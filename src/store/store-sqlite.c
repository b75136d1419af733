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
 * Every message goes into the full-text index (FTS5, trigram), but not as
 * it is added: indexing is the larger part of a delivery's CPU (about
 * 0.5 ms for an 8 KB message in a batch of 64, against 0.05 ms for the
 * rest; tmpfs, bench-store.c), so a delivery or APPEND only marks the
 * message (fts_pending), and the backlog is indexed in turns on the
 * worker's idle time and before a search of its mailbox
 * (store-sqlite-fts.c).  The index and its copy of the text take about
 * four times the text (22 KB per such message).
 *
 * Files no message names any more (expunged, or left by a failed batch)
 * are removed by the clean-up pass of store-sqlite-gc.c, in bounded steps
 * the worker runs on idle time.
 *
 * A store is one connection (opened SQLITE_OPEN_NOMUTEX): one thread uses
 * it at a time.  Other processes may open the same account concurrently;
 * SQLite's locks and BEGIN IMMEDIATE keep UID allocation serial.
 */
#include "store-sqlite.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Errors of store_create/store_open outlive the store they came from. */
static _Thread_local char detached_error[STORE_ERROR_MAX];

/* schema_version reads the schema version (0 for an empty database). */
static int schema_version(struct sqlite_store *s, int64_t *version_r, const char **error_r)
{
	int64_t has_meta;

	*version_r = 0;
	if (db_query_int(s, STMT_HAS_TABLE, "meta", &has_meta, error_r) < 0)
		return -1;
	if (has_meta == 0)
		return 0;
	return db_query_int(s, STMT_SCHEMA_VERSION, NULL, version_r, error_r);
}

/*
 * migrate brings the schema to sqlite_schema_version under the write lock (a
 * concurrent opener may have done it meanwhile: the version is read again).
 * An empty database is refused unless create is set; a newer one always.
 */
static int migrate(struct sqlite_store *s, bool create, const char **error_r)
{
	int64_t version;

	if (db_run(s, STMT_BEGIN_IMMEDIATE, error_r) < 0)
		return -1;
	if (schema_version(s, &version, error_r) < 0)
		goto failed;
	if (version > sqlite_schema_version) {
		db_fail(s, error_r, "store: schema version %lld is newer than this program's %lld",
		     (long long)version, (long long)sqlite_schema_version);
		goto failed;
	}
	if (version == 0 && !create) {
		db_fail(s, error_r, "store: not created (empty database)");
		goto failed;
	}
	for (int64_t v = version; v < sqlite_schema_version; v++) {
		if (db_exec(s, sqlite_migrations[v].sql, error_r) < 0)
			goto failed;
		if (sqlite_migrations[v].after != NULL && sqlite_migrations[v].after(s, error_r) < 0)
			goto failed;
	}
	if (version != sqlite_schema_version &&
	    db_meta_set(s, "schema_version", sqlite_schema_version, error_r) < 0)
		goto failed;
	return db_run(s, STMT_COMMIT, error_r) < 0 ? (db_rollback(s), -1) : 0;
failed:
	db_rollback(s);
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
		return db_sql_fail(s, "defensive mode", error_r);
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK)
		return db_sql_fail(s, "trusted_schema", error_r);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

	/* The pragma answers with the mode now in force. */
	sqlite3_stmt *st = db_stmt(s, STMT_JOURNAL_WAL, error_r);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	bool wal = mode != NULL && sqlite3_stricmp(mode, "wal") == 0;
	sql_stmt_done(st);
	if (rc != SQLITE_ROW)
		return db_sql_fail(s, "journal_mode", error_r);
	if (!wal)
		return db_fail(s, error_r, "sqlite: WAL journal mode not available");
	return db_exec(s,
		    "PRAGMA synchronous = FULL;"
		    "PRAGMA foreign_keys = ON;"
		    "PRAGMA temp_store = MEMORY;",
		    error_r);
}

/* sqlite_close finalizes the kept statements, closes the database (the
 * last connection checkpoints the WAL) and the directories, frees s. */
static void sqlite_close(struct store *store)
{
	struct sqlite_store *s = sqlite_store(store);

	/* An open batch is dropped: nothing of it was promised durable. */
	sqlite_batch_abort(store);
	keywords_forget(s);
	gc_close(s);
	free(s->pending);
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	/* Every statement is finalized, so close cannot be refused. */
	sqlite3_close(s->db);
	sqlite_sync_close(s);
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
	s->wal_fd = -1;
	s->blobs.tmp_fd = -1;
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0) {
		db_fail(s, error_r, "open(%s) failed: %m", dir);
		goto failed;
	}
	if (blob_store_open(s->dir_fd, create, &s->blobs, error_r) < 0)
		goto failed;
	/* A WAL left means the last process to have the store did not close
	 * it (a crash, or it is still open elsewhere): the clean-up sweeps. */
	struct stat st;
	s->gc.unclean = fstatat(s->dir_fd, "store.db-wal", &st, AT_SYMLINK_NOFOLLOW) == 0;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		if (s->db == NULL)
			*error_r = "sqlite: out of memory";
		else
			db_sql_fail(s, "open(store.db)", error_r);
		goto failed;
	}
	if (db_configure(s, error_r) < 0 || migrate(s, create, error_r) < 0)
		goto failed;
	/* The new store.db entry (and its -wal) must survive a crash too. */
	if (create && fsync(s->dir_fd) < 0) {
		db_fail(s, error_r, "fsync(%s) failed: %m", dir);
		goto failed;
	}
	/* Written down, so that an opening that closes cleanly before any
	 * clean-up ran (a command's, say) does not lose it with the WAL. At
	 * best, without waiting: a store another process is writing opens at
	 * once (that process's own opening marked it, or the daily sweep
	 * covers it). */
	const char *ignored;
	sqlite3_busy_timeout(s->db, 0);
	if (s->gc.unclean && db_begin_write(s, &ignored) == 0) {
		if (db_meta_set(s, "gc_sweep_due", 1, &ignored) < 0)
			db_rollback(s);
		else
			(void)db_commit(s, &ignored); /* rolls back itself */
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
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

/* store_made says whether dir holds a store made whole: store.db with a
 * page written and blobs/ with its last fan-out directory. */
static bool store_made(const char *dir)
{
	char path[STORE_PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/store.db", dir);
	if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0)
		return false;
	n = snprintf(path, sizeof(path), "%s/blobs/%s", dir, BLOB_LAST_DIR);
	return n >= 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* sqlite_create makes (or completes, or finds) the store in dir and closes
 * it again. */
static int sqlite_create(const char *dir, const char **error_r)
{
	struct sqlite_store *s;

	/* Made already (a database written, the last fan-out directory
	 * there): sqlite_open does the rest, migrating included. Opening and
	 * closing it here would also checkpoint and remove a WAL a crash
	 * left, which tells sqlite_open's clean-up to sweep. */
	if (store_made(dir))
		return 0;
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

/*
 * quota_check refuses adding bytes past the account's limit (APPEND, COPY
 * and deliveries: the SMTP side answers 452/552 from the worker's figures
 * first, this is the check nothing passes).  What is used is a scan of the
 * message sizes, made only when there is a limit; inside a batch it counts
 * the batch's own deliveries too (same transaction).
 */
int quota_check(struct sqlite_store *s, uint64_t adding, const char **error_r)
{
	int64_t limit, used;
	if (db_query_int(s, STMT_QUOTA_LIMIT, NULL, &limit, error_r) < 0)
		return STORE_ERROR;
	if (limit <= 0)
		return STORE_OK;
	if (db_query_int(s, STMT_QUOTA_USED, NULL, &used, error_r) < 0)
		return STORE_ERROR;
	if (adding > (uint64_t)limit || (uint64_t)used > (uint64_t)limit - adding) {
		*error_r = "Quota exceeded";
		return STORE_OVER_QUOTA;
	}
	return STORE_OK;
}

static int sqlite_quota_get(struct store *store, uint64_t *limit_r, uint64_t *used_r,
			    const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	int64_t limit, used;
	if (db_no_batch(s, error_r) < 0 ||
	    db_query_int(s, STMT_QUOTA_LIMIT, NULL, &limit, error_r) < 0 ||
	    db_query_int(s, STMT_QUOTA_USED, NULL, &used, error_r) < 0)
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
		return db_fail(s, error_r, "store: quota too large");
	if (db_begin_write(s, error_r) < 0)
		return STORE_ERROR;
	if (db_meta_set(s, "quota_storage", (int64_t)limit, error_r) < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	return db_commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
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
	.reader_open = sqlite_reader_open,
	.reader_read = sqlite_reader_read,
	.reader_close = sqlite_reader_close,
	.expunge = sqlite_expunge,
	.keyword_list = sqlite_keyword_list,
	.keyword_index = sqlite_keyword_index,
	.mailbox_get = sqlite_mailbox_get,
	.mailbox_create = sqlite_mailbox_create,
	.mailbox_claim_recent = sqlite_mailbox_claim_recent,
	.mailbox_delete = sqlite_mailbox_delete,
	.mailbox_rename = sqlite_mailbox_rename,
	.mailbox_subscribe = sqlite_mailbox_subscribe,
	.subscription_list = sqlite_subscription_list,
	.mailbox_view = sqlite_mailbox_view,
	.reader_open_meta = sqlite_reader_open_meta,
	.message_meta_list = sqlite_message_meta_list,
	.message_head_list = sqlite_message_head_list,
	.message_head_free = sqlite_message_head_free,
	.message_envelope_list = sqlite_message_envelope_list,
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
	.gc_step = sqlite_gc_step,
	.usage = sqlite_usage,
	.index_backlog = sqlite_index_backlog,
	.index_marks = sqlite_index_marks,
	.text_catch_up = sqlite_text_catch_up,
	.sync_defer = sqlite_sync_defer,
	.sync_pending = sqlite_sync_pending,
	.sync = sqlite_sync,
	.sync_begin = sqlite_sync_begin,
	.sync_run = sqlite_sync_run,
	.sync_end = sqlite_sync_end,
	.message_range_filtered = sqlite_message_range_filtered,
};
