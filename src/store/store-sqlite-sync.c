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
 */
#include "store-sqlite.h"

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

int sqlite_sync_defer(struct store *store, bool defer, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (defer == s->sync_deferred)
		return 0;
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
	return sqlite_store(store)->unsynced;
}

int sqlite_sync(struct store *store, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
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
	return 0;
}
