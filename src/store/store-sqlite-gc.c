/*
 * store-sqlite-gc: the store's hygiene (store.h, store_gc_step): message
 * files no message names any more, delivery keys past any redelivery,
 * and what the account takes on disk.
 *
 * Where unnamed files come from, and how each is found:
 *   - an expunge or a deleted mailbox: the trigger of schema version 3
 *     writes the file's name into blob_orphans in the same transaction
 *     as the row's deletion, so a crash cannot lose it;
 *   - a batch whose files were renamed into place but whose COMMIT never
 *     came (a failure, or kill -9 in between): no row ever named them.
 *     A sweep of blobs/ finds those, in steps, looking only at files
 *     changed since the last sweep that completed (meta 'gc_swept_at')
 *     less GC_SWEEP_MARGIN_SECONDS. A store opened sweeps once when such
 *     files can be there: its WAL was left (the last process to write did
 *     not close it: killed, or still open elsewhere), a batch of this
 *     process failed, or the last sweep is GC_SWEEP_INTERVAL_SECONDS old.
 *     A worker starts for each login to an idle account, and each start
 *     read the 256 directories again (docs/store-hygiene.md).
 *
 * Why removing is safe: a file is unlinked only inside a BEGIN IMMEDIATE
 * transaction (the account's write lock) in which no message row names it.
 * A delivery decides to reuse an existing file (blob_write_start) inside
 * its own write transaction and holds it until its commit, so no row
 * naming the file can appear between the check and the unlink, and no
 * delivery can be relying on a file that is about to go.  A reader that
 * opened a file before keeps reading it (the unlink removes the name, not
 * the open file).  A kill -9 anywhere leaves either the unlink undone
 * (the file stays, named or not: the next pass looks again) or done with
 * its orphan row still there (the next pass finds no file and drops it).
 */
#include "store-sqlite.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/config.h"

/* Orphan rows one step looks at: each costs an index probe and maybe an
 * unlink (tens of microseconds on a quiet disk, milliseconds on a busy
 * one: 3.1 ms measured with eight builds sharing the disk). */
#define GC_ORPHANS_PER_STEP 256
/* A step starts no new unlink after this long, so the write lock it holds
 * (a delivery waits for it) stays near this whatever the disk's mood:
 * 256 unlinks took 1.6 s on a busy disk. */
#define GC_STEP_BUDGET_US 10000
/* Names one sweep step checks (an index probe each, about 2 us), and
 * directories it reads at most when they hold nothing to check (an
 * unchanged one costs one stat). */
#define GC_SWEEP_NAMES_PER_STEP 1024
#define GC_SWEEP_DIRS_PER_STEP 16
/* A sweep looks at files changed up to this long before the last one
 * began: a batch that was writing while that sweep read its directory
 * commits (or dies) within seconds; an hour also covers a clock set back
 * a little.  A clock set back further starts a full sweep. */
#define GC_SWEEP_MARGIN_SECONDS 3600
/* A store closed cleanly since its last sweep is swept again after this
 * long anyway: what a power loss might leave without a WAL waits a day. */
#define GC_SWEEP_INTERVAL_SECONDS 86400
/* Delivery keys removed per step, and how often old ones are looked for
 * (a key past its keep time costs a hundred bytes, nothing more). */
#define GC_DELIVERIES_PER_STEP 1024
#define GC_PRUNE_INTERVAL_SECONDS 3600

_Static_assert(STORE_DELIVERY_KEEP_SECONDS > CONFIG_MAX_DURATION,
	       "delivery keys outlive the queue's longest retry");

static const char *const gc_sql[GC_STMT_COUNT] = {
	[GC_STMT_ORPHAN_ANY] = "SELECT EXISTS (SELECT 1 FROM blob_orphans)",
	[GC_STMT_ORPHAN_LIST] = "SELECT blob FROM blob_orphans LIMIT ?1",
	[GC_STMT_ORPHAN_DELETE] = "DELETE FROM blob_orphans WHERE blob = ?1",
	/* messages_blob answers it with one probe. */
	[GC_STMT_BLOB_NAMED] = "SELECT EXISTS (SELECT 1 FROM messages WHERE blob = ?1)",
	[GC_STMT_DELIVERY_OLD] = "SELECT EXISTS (SELECT 1 FROM deliveries WHERE at < ?1)",
	/* Oldest first through deliveries_at, a bounded number at a time. */
	[GC_STMT_DELIVERY_PRUNE] =
		"DELETE FROM deliveries WHERE key IN"
		" (SELECT key FROM deliveries WHERE at < ?1 ORDER BY at LIMIT ?2)",
	[GC_STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[GC_STMT_USAGE] =
		"SELECT count(*), coalesce(sum(size), 0), (SELECT count(*) FROM blob_orphans)"
		" FROM messages",
	[GC_STMT_FREELIST] = "PRAGMA freelist_count",
	[GC_STMT_PAGE_SIZE] = "PRAGMA page_size",
};

/* gc_stmt returns kept statement id of the pass, prepared on first use;
 * NULL with *error_r. */
static sqlite3_stmt *gc_stmt(struct sqlite_store *s, enum gc_stmt_id id, const char **error_r)
{
	sqlite3_stmt *st = sql_stmt(s->db, &s->gc.stmts[id], gc_sql[id]);
	if (st == NULL)
		db_sql_fail(s, "prepare", error_r);
	return st;
}

/* gc_query_int runs a statement of one integer answer, with text (if not
 * NULL) or else number as its ?1, if it has one. */
static int gc_query_int(struct sqlite_store *s, enum gc_stmt_id id, const char *text,
			int64_t number, int64_t *value_r, const char **error_r)
{
	sqlite3_stmt *st = gc_stmt(s, id, error_r);
	*value_r = 0;
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	if (text != NULL)
		sql_bind_cstr(&b, text);
	else if (sqlite3_bind_parameter_count(st) > 0)
		sql_bind_i64(&b, number);
	int ret = db_bind_check(s, &b, error_r);
	if (ret == 0) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*value_r = sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE)
			ret = db_sql_fail(s, "clean-up query", error_r);
	}
	sql_stmt_done(st);
	return ret;
}

/* names_free drops the names a sweep read. */
static void names_free(struct sqlite_gc *gc)
{
	free(gc->names);
	gc->names = NULL;
	gc->name_count = gc->name_next = gc->name_cap = 0;
}

/* gc_sweep_again: a batch failed after renaming files into place; they are
 * swept for from the start (the next store_gc_step). */
void gc_sweep_again(struct sqlite_store *s)
{
	s->gc.sweep_planned = false;
	s->gc.sweep_forced = true;
}

/* gc_close finalizes the pass's statements and frees its names. */
void gc_close(struct sqlite_store *s)
{
	for (int i = 0; i < GC_STMT_COUNT; i++) {
		sqlite3_finalize(s->gc.stmts[i]);
		s->gc.stmts[i] = NULL;
	}
	names_free(&s->gc);
}

static int64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* remove_unnamed unlinks the file of hash if no message names it; the
 * caller holds the write lock. */
static int remove_unnamed(struct sqlite_store *s, const char *hash, const char **error_r)
{
	int64_t named;
	if (!blob_hash_valid(hash))
		return 0; /* never a file of ours: nothing to remove */
	if (gc_query_int(s, GC_STMT_BLOB_NAMED, hash, 0, &named, error_r) < 0)
		return -1;
	if (named)
		return 0;
	if (header_forget(s, hash, error_r) < 0)
		return -1;
	return blob_remove(&s->blobs, hash, error_r);
}

/* orphans_step looks at up to GC_ORPHANS_PER_STEP names of blob_orphans in
 * one write transaction, within GC_STEP_BUDGET_US: the unnamed files go,
 * every row looked at goes.  *more_r when the step was full or cut short. */
static int orphans_step(struct sqlite_store *s, bool *more_r, const char **error_r)
{
	char names[GC_ORPHANS_PER_STEP][BLOB_HASH_SIZE];
	size_t count = 0;
	int64_t any;

	/* Read first without the lock: nearly every step finds nothing. */
	if (gc_query_int(s, GC_STMT_ORPHAN_ANY, NULL, 0, &any, error_r) < 0)
		return -1;
	if (!any)
		return 0;
	if (db_begin_write(s, error_r) < 0)
		return -1;
	sqlite3_stmt *st = gc_stmt(s, GC_STMT_ORPHAN_LIST, error_r);
	if (st == NULL)
		goto failed;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, GC_ORPHANS_PER_STEP);
	if (db_bind_check(s, &b, error_r) < 0) {
		sql_stmt_done(st);
		goto failed;
	}
	int rc;
	while (count < GC_ORPHANS_PER_STEP && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The trigger keeps names of a hash's length only. */
		struct str name = sql_column_str(st, 0);
		if (name.len != BLOB_HASH_SIZE - 1)
			continue;
		memcpy(names[count], name.ptr, name.len);
		names[count++][name.len] = '\0';
	}
	sql_stmt_done(st);
	if (count < GC_ORPHANS_PER_STEP && rc != SQLITE_DONE) {
		db_sql_fail(s, "orphan list", error_r);
		goto failed;
	}
	int64_t deadline = monotonic_us() + GC_STEP_BUDGET_US;
	size_t done = 0;
	for (; done < count && monotonic_us() < deadline; done++) {
		const char *name = names[done];
		if (remove_unnamed(s, name, error_r) < 0)
			goto failed;
		st = gc_stmt(s, GC_STMT_ORPHAN_DELETE, error_r);
		if (st == NULL)
			goto failed;
		b = sql_binder(st);
		sql_bind_cstr(&b, name);
		if (db_bind_run(s, &b, "orphan delete", error_r) < 0)
			goto failed;
	}
	if (db_commit(s, error_r) < 0)
		return -1;
	s->gc.removed = true;
	*more_r = done < count || count == GC_ORPHANS_PER_STEP;
	return 0;
failed:
	db_rollback(s);
	return -1;
}

/* prune_step forgets up to GC_DELIVERIES_PER_STEP delivery keys older than
 * STORE_DELIVERY_KEEP_SECONDS, at most once per GC_PRUNE_INTERVAL_SECONDS
 * unless the last step was full. */
static int prune_step(struct sqlite_store *s, int64_t now, bool *more_r, const char **error_r)
{
	int64_t old;

	if (now < s->gc.prune_due)
		return 0;
	int64_t before = now - STORE_DELIVERY_KEEP_SECONDS;
	if (gc_query_int(s, GC_STMT_DELIVERY_OLD, NULL, before, &old, error_r) < 0)
		return -1;
	if (!old) {
		s->gc.prune_due = now + GC_PRUNE_INTERVAL_SECONDS;
		return 0;
	}
	if (db_begin_write(s, error_r) < 0)
		return -1;
	sqlite3_stmt *st = gc_stmt(s, GC_STMT_DELIVERY_PRUNE, error_r);
	if (st == NULL) {
		db_rollback(s);
		return -1;
	}
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, before);
	sql_bind_i64(&b, GC_DELIVERIES_PER_STEP);
	if (db_bind_run(s, &b, "delivery prune", error_r) < 0) {
		db_rollback(s);
		return -1;
	}
	int changed = sqlite3_changes(s->db);
	if (db_commit(s, error_r) < 0)
		return -1;
	s->gc.removed = true;
	if (changed < GC_DELIVERIES_PER_STEP)
		s->gc.prune_due = now + GC_PRUNE_INTERVAL_SECONDS;
	else
		*more_r = true;
	return 0;
}

/* sweep_plan starts a sweep: files changed since the last completed one
 * (less the margin), or all of them when none completed or the clock
 * went back past it. */
static int sweep_plan(struct sqlite_store *s, int64_t now, const char **error_r)
{
	int64_t swept_at;
	if (gc_query_int(s, GC_STMT_META_GET, "gc_swept_at", 0, &swept_at, error_r) < 0)
		return -1;
	int64_t marked;
	if (gc_query_int(s, GC_STMT_META_GET, "gc_sweep_due", 0, &marked, error_r) < 0)
		return -1;
	s->gc.unclean = s->gc.unclean || marked != 0;
	bool known = swept_at > GC_SWEEP_MARGIN_SECONDS && swept_at <= now;
	s->gc.sweep_since = known ? swept_at - GC_SWEEP_MARGIN_SECONDS : 0;
	s->gc.sweep_started = now;
	s->gc.name_count = s->gc.name_next = 0;
	s->gc.sweep_planned = true;
	bool due = !known || s->gc.unclean || s->gc.sweep_forced ||
		   now - swept_at >= GC_SWEEP_INTERVAL_SECONDS;
	s->gc.sweep_forced = false;
	/* Not due: done for this opening, nothing read. */
	s->gc.sweep_dir = due ? 0 : BLOB_DIRS + 1;
	return 0;
}

/* name_collect keeps one name read from a directory (blob_list_fn). */
static int name_collect(const char *hash, void *ctx)
{
	struct sqlite_store *s = ctx;
	struct sqlite_gc *gc = &s->gc;
	if (gc->name_count == gc->name_cap) {
		size_t cap = gc->name_cap == 0 ? 64 : gc->name_cap * 2;
		void *p = reallocarray(gc->names, cap, sizeof(gc->names[0]));
		if (p == NULL)
			return -1;
		gc->names = p;
		gc->name_cap = cap;
	}
	memcpy(gc->names[gc->name_count++], hash, BLOB_HASH_SIZE);
	return 0;
}

/* sweep_check checks up to GC_SWEEP_NAMES_PER_STEP names read (within the
 * step's time budget), under the write lock; the transaction writes
 * nothing. */
static int sweep_check(struct sqlite_store *s, const char **error_r)
{
	struct sqlite_gc *gc = &s->gc;
	size_t end = gc->name_next + GC_SWEEP_NAMES_PER_STEP;
	if (end > gc->name_count)
		end = gc->name_count;
	if (db_begin_write(s, error_r) < 0)
		return -1;
	int64_t deadline = monotonic_us() + GC_STEP_BUDGET_US;
	for (; gc->name_next < end && monotonic_us() < deadline; gc->name_next++) {
		if (remove_unnamed(s, gc->names[gc->name_next], error_r) < 0) {
			db_rollback(s);
			return -1;
		}
	}
	return db_commit(s, error_r);
}

/* sweep_finish records when the sweep now complete began. */
static int sweep_finish(struct sqlite_store *s, const char **error_r)
{
	if (db_begin_write(s, error_r) < 0)
		return -1;
	if (db_meta_set(s, "gc_swept_at", s->gc.sweep_started, error_r) < 0 ||
	    (s->gc.unclean && db_meta_set(s, "gc_sweep_due", 0, error_r) < 0)) {
		db_rollback(s);
		return -1;
	}
	if (db_commit(s, error_r) < 0)
		return -1;
	s->gc.sweep_dir = BLOB_DIRS + 1;
	/* An idle worker keeps as little as it can. */
	names_free(&s->gc);
	return 0;
}

/* sweep_step goes on with the sweep: reads directories until it has names
 * to check (or read GC_SWEEP_DIRS_PER_STEP), checks a step's worth, and
 * records the sweep once every directory is done. */
static int sweep_step(struct sqlite_store *s, int64_t now, bool *more_r, const char **error_r)
{
	struct sqlite_gc *gc = &s->gc;

	if (!gc->sweep_planned && sweep_plan(s, now, error_r) < 0)
		return -1;
	if (gc->sweep_dir > BLOB_DIRS)
		return 0;
	for (unsigned read = 0; gc->name_next == gc->name_count && read < GC_SWEEP_DIRS_PER_STEP;
	     read++) {
		if (gc->sweep_dir == BLOB_DIRS)
			return sweep_finish(s, error_r);
		gc->name_count = gc->name_next = 0;
		*error_r = NULL;
		if (blob_dir_list(&s->blobs, gc->sweep_dir, gc->sweep_since, name_collect, s,
				  error_r) < 0) {
			gc->name_count = 0;
			/* name_collect stops the listing only for want of memory. */
			return *error_r != NULL ? -1 : db_fail(s, error_r, "store: out of memory");
		}
		gc->sweep_dir++;
	}
	*more_r = true;
	if (gc->name_next < gc->name_count)
		return sweep_check(s, error_r);
	return 0;
}

/* wal_truncate checkpoints the whole WAL into the database and truncates
 * it, if that can be done at once: with another connection reading or
 * writing it is left for a later pass rather than waited for. */
static void wal_truncate(struct sqlite_store *s)
{
	sqlite3_busy_timeout(s->db, 0);
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		s->gc.removed = false;
}

/* sqlite_gc_step: see store.h.  The orphans first (what an expunge just
 * left), then old delivery keys, then the sweep; the WAL last. */
int sqlite_gc_step(struct store *store, int64_t now, bool *more_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	bool more = false;

	*more_r = false;
	if (db_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	/* A file is unlinked only once the expunge that left it unnamed is
	 * durable: with deferred syncs it may not be yet. */
	if (sqlite_sync(store, error_r) < 0)
		return STORE_ERROR;
	int ret = STORE_ERROR;
	if (orphans_step(s, &more, error_r) == 0 &&
	    (more || prune_step(s, now, &more, error_r) == 0) &&
	    (more || sweep_step(s, now, &more, error_r) == 0)) {
		if (!more && s->gc.removed)
			wal_truncate(s);
		*more_r = more;
		ret = STORE_OK;
	}
	/* Its own commits answer nobody: one lost to a crash is only done
	 * again (a name left in blob_orphans whose file is gone is passed
	 * over), so they leave nothing for the group commit to sync. */
	s->unsynced = false;
	return ret;
}

/* file_size adds the size of the account directory's file name, if any. */
static void file_size(struct sqlite_store *s, const char *name, uint64_t *bytes)
{
	struct stat st;
	if (fstatat(s->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		*bytes += (uint64_t)st.st_blocks * 512;
}

/* sqlite_usage: see store.h.  One read of the database, a walk of blobs/. */
int sqlite_usage(struct store *store, struct store_usage *usage_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);

	if (db_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st = gc_stmt(s, GC_STMT_USAGE, error_r);
	if (st == NULL)
		return STORE_ERROR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		usage_r->messages = (uint64_t)sqlite3_column_int64(st, 0);
		usage_r->live_bytes = (uint64_t)sqlite3_column_int64(st, 1);
		usage_r->orphans = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sql_stmt_done(st);
	if (rc != SQLITE_ROW)
		return db_sql_fail(s, "usage", error_r);
	if (blob_usage(&s->blobs, &usage_r->files, &usage_r->file_bytes, error_r) < 0)
		return STORE_ERROR;
	int64_t free_pages, page_size;
	if (gc_query_int(s, GC_STMT_FREELIST, NULL, 0, &free_pages, error_r) < 0 ||
	    gc_query_int(s, GC_STMT_PAGE_SIZE, NULL, 0, &page_size, error_r) < 0)
		return STORE_ERROR;
	usage_r->db_free_bytes = (uint64_t)(free_pages * page_size);
	file_size(s, "store.db", &usage_r->db_bytes);
	file_size(s, "store.db-wal", &usage_r->wal_bytes);
	file_size(s, "store.db-shm", &usage_r->wal_bytes);
	return STORE_OK;
}
