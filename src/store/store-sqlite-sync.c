/*
 * store-sqlite-sync: group commit (store.h, store_sync_defer).  While the
 * sync is deferred the connection runs with synchronous=NORMAL, so a
 * COMMIT appends its frames to the WAL and returns without waiting for the
 * disk; a commit hook notes that the WAL holds commits not yet durable,
 * and sqlite_sync makes them durable with one sync of the WAL file (the
 * same call SQLite makes at a synchronous=FULL commit).  A checkpoint
 * syncs the WAL before it copies anything (SQLite's own rule in WAL
 * mode), so the database file never runs ahead of a WAL that is not
 * durable.
 *
 * APPEND's message files wait for the same sync (store-sqlite-deliver.c,
 * blob_write_defer): sqlite_sync first syncs every file written since the
 * last sync (and each directory they went into, once), then the WAL, so
 * a row is durable only with its file, and an answer held until the sync
 * promises both.  A crash before the sync may still find such a row in
 * the database without its file: SQLite writes the WAL as it commits, the
 * kernel may write it back early, and a checkpoint syncs it.  That row
 * was never acknowledged (its answer waited for the sync), so it is
 * removed at the next start of the group commit (sync_repair), which
 * looks only at the rows since the mark APPEND kept in meta for that
 * (sqlite_sync_mark, in the same transaction as the rows).
 *
 * The same sync may run beside the loop (sqlite_sync_begin, _run, _end;
 * store.h): begin takes what is pending (the files: blob_flight_take;
 * the WAL's need of a sync), run syncs the files, then the directories
 * with the WAL (a second descriptor of it, wal_fd) on any thread without
 * a SQLite call, and end, on the loop again, gives the files back or
 * repairs.  Commits made meanwhile pend for the next sync; the mark is
 * never raised above a row whose file is in the flight (out_from) or
 * not taken yet (uncut_from).
 */
#include "store-sqlite.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The meta key of the lowest message row whose file may not be durable. */
#define SYNC_META_UNSYNCED "append_unsynced_from"

/* commit_noted: SQLite's commit hook (write transactions only); 0 lets
 * the commit go on.  A write transaction that changed no row (a STORE of
 * flags a message had already) writes nothing to the WAL: no sync. */
static int commit_noted(void *ctx)
{
	struct sqlite_store *s = ctx;
	int64_t changes = sqlite3_total_changes64(s->db);
	if (s->sync_deferred && changes != s->changes_seen)
		s->unsynced = true;
	s->changes_seen = changes;
	return 0;
}

/* sqlite_sync_mark: rows from rowid up may name a file that waits for the
 * sync; written once per sync (or lower), inside the caller's
 * transaction.  0, or -1 with *error_r. */
int sqlite_sync_mark(struct sqlite_store *s, int64_t rowid, const char **error_r)
{
	/* The mark may be written again, higher, after a sync; never above
	 * a row whose file still waits: one not taken yet (uncut_from), or
	 * being synced beside the loop (out_from), whose sync may end after
	 * this commit reaches the disk. */
	int64_t want = rowid;
	if (s->uncut_from != 0 && s->uncut_from < want)
		want = s->uncut_from;
	if (s->out && s->out_from != 0 && s->out_from < want)
		want = s->out_from;
	if (s->unsynced_from == 0 || s->unsynced_from > want) {
		if (db_meta_set(s, SYNC_META_UNSYNCED, want, error_r) < 0)
			return -1;
		s->unsynced_from = want;
	}
	if (s->uncut_from == 0 || s->uncut_from > rowid)
		s->uncut_from = rowid;
	return 0;
}

/* missing_collect adds to *ids_r the message rows from `from` up whose
 * file is not in place; *count_r says how many. */
static int missing_collect(struct sqlite_store *s, int64_t from, int64_t **ids_r,
			   size_t *count_r, const char **error_r)
{
	sqlite3_stmt *st;
	size_t count = 0, cap = 0;
	int64_t *ids = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT id, blob, size FROM messages WHERE id >= ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return db_sql_fail(s, "unsynced rows", error_r);
	sqlite3_bind_int64(st, 1, from);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *hash = (const char *)sqlite3_column_text(st, 1);
		if (hash != NULL && blob_exists(&s->blobs, hash, (uint64_t)sqlite3_column_int64(st, 2)))
			continue;
		/* Waiting for a later sync (its answer too): not lost. */
		if (hash != NULL && blob_waiting(&s->blobs, hash))
			continue;
		if (count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			int64_t *more = reallocarray(ids, cap, sizeof(*ids));
			if (more == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			ids = more;
		}
		ids[count++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		return db_fail(s, error_r, "store: reading the unsynced rows failed (%s)",
			       sqlite3_errstr(rc));
	}
	*ids_r = ids;
	*count_r = count;
	return 0;
}

/* sync_repair removes the message rows a crash left without their file
 * (see the top of this file), then the mark.  Nothing to do without a
 * mark.  0, or -1 with *error_r (nothing changed). */
static int sync_repair(struct sqlite_store *s, const char **error_r)
{
	sqlite3_stmt *st;
	int64_t from = 0;
	int64_t *ids = NULL;
	size_t count = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_sql_fail(s, "unsynced mark", error_r);
	sqlite3_bind_text(st, 1, SYNC_META_UNSYNCED, -1, SQLITE_STATIC);
	bool marked = sqlite3_step(st) == SQLITE_ROW;
	if (marked)
		from = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (!marked)
		return 0;
	if (db_begin_write(s, error_r) < 0)
		return -1;
	sqlite3_stmt *del = NULL;
	int ret = missing_collect(s, from, &ids, &count, error_r);
	if (ret == 0 && count > 0 &&
	    sqlite3_prepare_v2(s->db, "DELETE FROM messages WHERE id = ?1", -1, &del, NULL) !=
		    SQLITE_OK)
		ret = db_sql_fail(s, "unsynced rows", error_r);
	for (size_t i = 0; ret == 0 && i < count; i++) {
		sqlite3_bind_int64(del, 1, ids[i]);
		if (sqlite3_step(del) != SQLITE_DONE)
			ret = db_sql_fail(s, "removing a row without its file", error_r);
		sqlite3_reset(del);
	}
	sqlite3_finalize(del);
	free(ids);
	/* Rows whose files still wait for a sync keep a mark below them. */
	int64_t keep = s->uncut_from;
	if (s->out && s->out_from != 0 && (keep == 0 || s->out_from < keep))
		keep = s->out_from;
	if (ret == 0 && keep != 0)
		ret = db_meta_set(s, SYNC_META_UNSYNCED, keep, error_r);
	else if (ret == 0 &&
		 db_exec(s, "DELETE FROM meta WHERE key = '" SYNC_META_UNSYNCED "';", error_r) < 0)
		ret = -1;
	if (ret < 0) {
		db_rollback(s);
		return -1;
	}
	s->unsynced_from = keep;
	return db_commit(s, error_r);
}

int sqlite_sync_defer(struct store *store, bool defer, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (defer == s->sync_deferred)
		return 0;
	/* Before APPEND defers anything again: what an earlier crash left. */
	if (defer && sync_repair(s, error_r) < 0)
		return -1;
	if (!defer && sqlite_sync(store, error_r) < 0)
		return -1;
	if (db_exec(s, defer ? "PRAGMA synchronous = NORMAL;" : "PRAGMA synchronous = FULL;",
		    error_r) < 0)
		return -1;
	s->changes_seen = sqlite3_total_changes64(s->db);
	sqlite3_commit_hook(s->db, defer ? commit_noted : NULL, s);
	s->sync_deferred = defer;
	return 0;
}

bool sqlite_sync_pending(struct store *store)
{
	struct sqlite_store *s = sqlite_store(store);
	return s->unsynced || blob_deferred_count(&s->blobs) > 0;
}

int sqlite_sync(struct store *store, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	/* The files first: the WAL's sync makes their rows durable. */
	if (blob_sync_deferred(&s->blobs, error_r) < 0) {
		/* Their rows name files that are gone: removed now (none was
		 * acknowledged), or at the next start if this fails too. */
		const char *ignored;
		s->uncut_from = 0;
		(void)sync_repair(s, &ignored);
		return -1;
	}
	if (!s->unsynced)
		return 0;
	sqlite3_file *wal = NULL;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
	    wal == NULL || wal->pMethods == NULL)
		return db_fail(s, error_r, "store: the WAL file is not open to sync");
	int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK)
		return db_fail(s, error_r, "store: syncing the WAL failed (%s)", sqlite3_errstr(rc));
	s->unsynced = false;
	s->unsynced_from = 0; /* the next APPEND marks its rows anew */
	s->uncut_from = 0;
	return 0;
}

/* wal_open opens the WAL a second time for the sync beside the loop
 * (once: SQLite neither deletes nor replaces it while this connection is
 * open; it rewrites it from its start after a checkpoint, in the same
 * file).  A sync of any descriptor of the file syncs the file.  0, or -1
 * with *error_r. */
static int wal_open(struct sqlite_store *s, const char **error_r)
{
	if (s->wal_fd >= 0)
		return 0;
	const char *db = sqlite3_db_filename(s->db, "main");
	const char *wal = db == NULL ? NULL : sqlite3_filename_wal(db);
	if (wal == NULL || wal[0] == '\0')
		return db_fail(s, error_r, "store: the WAL has no name to sync it by");
	s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (s->wal_fd < 0)
		return db_fail(s, error_r, "open(%s) failed: %m", wal);
	return 0;
}

int sqlite_sync_begin(struct store *store, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	_Static_assert(STORE_SYNC_OUT_MAX == 1, "one flight of files (blob_flight_take)");
	_Static_assert(STORE_SYNC_ERROR_MAX >= BLOB_ERROR_MAX, "a blob error fits");
	if (s->out)
		return db_fail(s, error_r, "store: %d sync is out already", STORE_SYNC_OUT_MAX);
	if (!sqlite_sync_pending(store))
		return 0;
	if (s->unsynced && wal_open(s, error_r) < 0)
		return -1;
	if (blob_flight_take(&s->blobs, error_r) < 0)
		return -1;
	s->out = true;
	s->out_wal = s->unsynced;
	s->out_from = s->uncut_from;
	s->unsynced = false;
	s->uncut_from = 0;
	return 1;
}

/* sqlite_sync_run: beside the loop, so no SQLite call and nothing of s
 * the loop writes meanwhile (see store.h, store_sync_run). */
int sqlite_sync_run(struct store *store, char *error)
{
	struct sqlite_store *s = sqlite_store(store);
	/* The WAL with the files' directories, after the files' data: a
	 * crash between may leave a row durable without its file, which
	 * was not acknowledged and which the repair removes (the mark is in
	 * the same commits as the rows). */
	return blob_flight_sync(&s->blobs, s->out_wal ? s->wal_fd : -1, error);
}

int sqlite_sync_end(struct store *store, bool ok, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (!s->out)
		return db_fail(s, error_r, "store: no sync is out");
	blob_flight_end(&s->blobs, ok);
	s->out = false;
	if (!ok) {
		/* Its rows name files that are gone: removed now (none was
		 * acknowledged; rows whose files wait for the next sync stay),
		 * or at the next start if this fails too.  The mark stays. */
		const char *ignored;
		(void)sync_repair(s, &ignored);
		return 0;
	}
	s->unsynced_from = 0; /* marked anew, never above uncut_from */
	return 0;
}

void sqlite_sync_close(struct sqlite_store *s)
{
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	s->wal_fd = -1;
}
