/*
 * store-sqlite-deliver: deliveries in batches (group commit; store_deliver
 * is a batch of one) and APPEND, which is a batch without delivery keys.
 * A batch is one transaction; each delivery in it a savepoint; its files
 * are written as it goes and synced together at the commit (blob.c).
 * Nothing is indexed here: each new message is marked for the full-text
 * index in its savepoint (fts_mark), and indexed later (store-sqlite-fts.c).
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

/* delivery_get looks a delivery key up; *found_r says whether it exists
 * and *uid_r then holds its UID. */
static int delivery_get(struct sqlite_store *s, const char *key, uint32_t *uid_r,
			bool *found_r, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_DELIVERY_GET, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, key);
	int ret = db_bind_check(s, &b, error_r);
	*found_r = false;
	if (ret == 0) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*found_r = true;
			*uid_r = (uint32_t)sqlite3_column_int64(st, 0);
		} else if (rc != SQLITE_DONE) {
			ret = db_sql_fail(s, "delivery lookup", error_r);
		}
	}
	sql_stmt_done(st);
	return ret;
}

/* message_insert adds the message row; *rowid_r gets its id. */
static int message_insert(struct sqlite_store *s, const struct mailbox_row *mb, uint32_t uid,
			  uint64_t modseq, const char *hash, const struct mime_message *msg,
			  int64_t internal_date, uint32_t flags, uint64_t keywords,
			  int64_t *rowid_r, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_MESSAGE_INSERT, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, mb->id);
	sql_bind_i64(&b, uid);
	sql_bind_cstr(&b, hash);
	sql_bind_u64(&b, msg->size);
	sql_bind_i64(&b, internal_date);
	sql_bind_u64(&b, modseq);
	sql_bind_str(&b, msg->envelope);
	sql_bind_str(&b, msg->body);
	sql_bind_str(&b, msg->bodystructure);
	sql_bind_str(&b, msg->subject);
	sql_bind_str(&b, msg->from);
	sql_bind_str(&b, msg->to);
	sql_bind_str(&b, msg->cc);
	sql_bind_str(&b, msg->message_id);
	sql_bind_str(&b, msg->in_reply_to);
	sql_bind_str(&b, msg->references);
	if (msg->date < 0)
		sql_bind_null(&b);
	else
		sql_bind_i64(&b, msg->date);
	sql_bind_u64(&b, msg->lines);
	sql_bind_i64(&b, flags);
	sql_bind_i64(&b, (int64_t)keywords);
	sql_bind_i64(&b, msg->date < 0 ? 0 : msg->date_zone);
	if (db_bind_check(s, &b, error_r) < 0) {
		sql_stmt_done(st);
		return -1;
	}
	if (db_step_done(s, st, "insert message", error_r) < 0)
		return -1;
	*rowid_r = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* parts_insert adds the part rows of message rowid. */
static int parts_insert(struct sqlite_store *s, int64_t rowid, const struct mime_message *msg,
			const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_PART_INSERT, error_r);
	if (st == NULL)
		return -1;
	for (size_t i = 0; i < msg->part_count; i++) {
		const struct mime_part *p = &msg->parts[i];
		struct sql_binder b = sql_binder(st);
		sql_bind_i64(&b, rowid);
		sql_bind_u64(&b, i);
		sql_bind_str(&b, p->section);
		sql_bind_i64(&b, p->depth);
		sql_bind_i64(&b, p->child_count);
		sql_bind_i64(&b, p->is_embedded_message != 0);
		sql_bind_u64(&b, p->header_offset);
		sql_bind_u64(&b, p->header_size);
		sql_bind_u64(&b, p->body_offset);
		sql_bind_u64(&b, p->body_size);
		sql_bind_u64(&b, p->body_lines);
		sql_bind_str(&b, p->content_type);
		if (db_bind_check(s, &b, error_r) < 0) {
			sql_stmt_done(st);
			return -1;
		}
		if (db_step_done(s, st, "insert part", error_r) < 0)
			return -1;
	}
	return 0;
}

/* deliver_locked does the database part of a delivery of a key not stored
 * yet, inside the batch's transaction (the caller releases or rolls back its
 * savepoint): the next UID and MODSEQ of the mailbox, message, parts and
 * delivery rows, and the mark for the full-text index.  *rowid_r is the
 * message row's id. */
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
		return db_fail(s, error_r, "store: mailbox %s has no UIDs left", mailbox);
	uint32_t uid = (uint32_t)mb.uidnext;
	uint64_t modseq = (uint64_t)mb.highestmodseq + 1;

	if (mailbox_advance(s, mb.id, (int64_t)uid + 1, modseq, error_r) < 0)
		return -1;
	if (message_insert(s, &mb, uid, modseq, hash, msg, internal_date, flags, keywords, &rowid,
			   error_r) < 0 ||
	    parts_insert(s, rowid, msg, error_r) < 0 || fts_mark(s, rowid, error_r) < 0)
		return -1;
	*rowid_r = rowid;
	if (key == NULL) {
		*uid_r = uid;
		return 0;
	}

	if ((st = db_stmt(s, STMT_DELIVERY_INSERT, error_r)) == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, key);
	sql_bind_i64(&b, rowid);
	sql_bind_i64(&b, mb.id);
	sql_bind_i64(&b, uid);
	sql_bind_i64(&b, (int64_t)time(NULL));
	if (db_bind_check(s, &b, error_r) < 0 || db_step_done(s, st, "insert delivery", error_r) < 0) {
		sql_stmt_done(st);
		return -1;
	}
	*uid_r = uid;
	return 0;
}

/* batch_usable checks that a batch is open and its transaction still
 * holds: SQLite may roll a whole transaction back on its own after an I/O
 * error, a full disk or lack of memory in any statement, and a delivery
 * made after that would run (and commit) outside the batch. */
int batch_usable(struct sqlite_store *s, const char **error_r)
{
	if (!s->in_batch)
		return db_fail(s, error_r, "store: no batch is open");
	if (sqlite3_get_autocommit(s->db))
		return db_fail(s, error_r, "store: the batch's transaction was rolled back");
	return 0;
}

/* sqlite_batch_begin opens the batch's transaction.  The write lock is held
 * until the commit: other writers of the account (there is one worker per
 * account) wait up to STORE_BUSY_TIMEOUT_MS, readers are not held up (WAL). */
int sqlite_batch_begin(struct store *store, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);

	if (db_no_batch(s, error_r) < 0)
		return -1;
	assert(s->pending_count == 0);
	if (db_run(s, STMT_BEGIN_IMMEDIATE, error_r) < 0)
		return -1;
	s->in_batch = true;
	s->quota_read = false;
	return 0;
}

/* batch_quota_check refuses a delivery of adding bytes past the quota:
 * the limit and what is used are read at the batch's first delivery, and
 * what the batch stores is counted on (batch_add), as quota_check would
 * find it in the transaction. */
static int batch_quota_check(struct sqlite_store *s, uint64_t adding, const char **error_r)
{
	if (!s->quota_read) {
		int64_t limit, used = 0;
		if (db_query_int(s, STMT_QUOTA_LIMIT, NULL, &limit, error_r) < 0 ||
		    (limit > 0 && db_query_int(s, STMT_QUOTA_USED, NULL, &used, error_r) < 0))
			return STORE_ERROR;
		s->quota_limit = limit > 0 ? (uint64_t)limit : 0;
		s->quota_used = used > 0 ? (uint64_t)used : 0;
		s->quota_read = true;
	}
	if (s->quota_limit == 0)
		return STORE_OK;
	if (adding > s->quota_limit || s->quota_used > s->quota_limit - adding) {
		*error_r = "Quota exceeded";
		return STORE_OVER_QUOTA;
	}
	return STORE_OK;
}

/* pending_reserve makes room for one more file in the batch, refusing past
 * STORE_BATCH_MAX. */
static int pending_reserve(struct sqlite_store *s, const char **error_r)
{
	if (s->pending_count == STORE_BATCH_MAX)
		return db_fail(s, error_r, "store: batch is full (%d messages)", STORE_BATCH_MAX);
	if (s->pending_count < s->pending_cap)
		return 0;
	size_t cap = s->pending_cap == 0 ? 16 : s->pending_cap * 2;
	if (cap > STORE_BATCH_MAX)
		cap = STORE_BATCH_MAX;
	struct blob_pending *p = reallocarray(s->pending, cap, sizeof(*p));
	if (p == NULL)
		return db_fail(s, error_r, "store: out of memory");
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
		     int64_t *rowid_r, bool *duplicate_r, const char **error_r)
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
	/* A delivery past the quota is refused before anything is written
	 * (APPEND checks its whole set in sqlite_append; a repeated delivery
	 * is answered above, so a crash's redelivery is never refused). */
	if (delivery_key != NULL) {
		int ret = batch_quota_check(s, msg->size, error_r);
		if (ret != STORE_OK)
			return ret;
	}
	/* Checked before any file is written (deliver_locked checks again). */
	if (mailbox_require(s, mailbox, &mb, error_r) < 0 || pending_reserve(s, error_r) < 0)
		return -1;
	struct blob_pending *p = &s->pending[s->pending_count];
	if (blob_hash(iov, iovcnt, hash, &size, error_r) < 0 ||
	    blob_write_start(&s->blobs, hash, size, iov, iovcnt, p, error_r) < 0)
		return -1;
	assert(size == msg->size);
	if (db_run(s, STMT_SAVEPOINT, error_r) < 0) {
		blob_write_cancel(&s->blobs, p, 1);
		return -1;
	}
	int64_t rowid = 0;
	if (deliver_locked(s, mailbox, delivery_key, hash, msg, internal_date, flags, keywords,
			   uid_r, &rowid, error_r) < 0 ||
	    header_keep(s, hash, iov, iovcnt, msg, error_r) < 0 ||
	    db_run(s, STMT_RELEASE, error_r) < 0) {
		/* Undo this delivery only; if SQLite rolled the whole
		 * transaction back, batch_usable refuses what follows. */
		const char *ignored;
		if (!sqlite3_get_autocommit(s->db) && db_run(s, STMT_ROLLBACK_TO, &ignored) == 0)
			(void)db_run(s, STMT_RELEASE, &ignored);
		blob_write_cancel(&s->blobs, p, 1);
		*uid_r = 0;
		*duplicate_r = false;
		return -1;
	}
	s->pending_count++;
	if (s->quota_read)
		s->quota_used += size;
	*rowid_r = rowid;
	return 0;
}

int sqlite_batch_deliver(struct store *store, const char *mailbox,
				const char *delivery_key, const struct iovec *iov, int iovcnt,
				const struct mime_message *msg, int64_t internal_date,
				uint32_t *uid_r, bool *duplicate_r, const char **error_r)
{
	int64_t rowid;
	return batch_add(sqlite_store(store), mailbox, delivery_key, iov, iovcnt, msg,
			 internal_date, 0, 0, uid_r, &rowid, duplicate_r, error_r);
}

/* sqlite_batch_abort rolls the batch's transaction back and removes the
 * temporaries it wrote; a no-op without a batch. */
void sqlite_batch_abort(struct store *store)
{
	struct sqlite_store *s = sqlite_store(store);

	if (!s->in_batch)
		return;
	blob_write_cancel(&s->blobs, s->pending, s->pending_count);
	db_rollback(s);
	s->in_batch = false;
	s->pending_count = 0;
}

/* sqlite_batch_commit: the files (synced, renamed, directories synced),
 * then the COMMIT's one WAL fsync, so that no committed row ever names a
 * file that is not durable.  A failure anywhere rolls the batch back (files
 * renamed already stay, unnamed by any row, for a clean-up pass). */
int sqlite_batch_commit(struct store *store, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);

	if (!s->in_batch)
		return db_fail(s, error_r, "store: no batch is open");
	if (batch_usable(s, error_r) < 0 ||
	    blob_write_finish(&s->blobs, s->pending, s->pending_count, error_r) < 0 ||
	    db_run(s, STMT_COMMIT, error_r) < 0) {
		sqlite_batch_abort(store);
		gc_sweep_again(s);
		return -1;
	}
	s->in_batch = false;
	s->pending_count = 0;
	/* Deferred syncs (group commit): a batch is still durable on return. */
	return sqlite_sync(store, error_r);
}

/*
 * append_commit commits an APPEND's batch.  With the syncs deferred (the
 * worker's group commit) its files are handed to the sync
 * (blob_write_defer) rather than synced here, and its rows marked as
 * naming files that wait for it (sqlite_sync_mark): the held answer goes
 * out after store_sync has made files and rows durable, the files first.
 * Otherwise, or when the files cannot wait, a batch's commit.  Deliveries
 * keep that commit: the queue drops its copy once the worker has answered,
 * and that answer is not held.  low_rowid is the batch's lowest message
 * row.
 */
static int append_commit(struct sqlite_store *s, int64_t low_rowid, const char **error_r)
{
	const char *ignored;
	int64_t marked = s->unsynced_from, uncut = s->uncut_from;

	if (!s->sync_deferred ||
	    s->pending_count > BLOB_DEFERRED_MAX - blob_deferred_count(&s->blobs))
		return sqlite_batch_commit(&s->store, error_r);
	if (batch_usable(s, error_r) < 0 || sqlite_sync_mark(s, low_rowid, error_r) < 0) {
		sqlite_batch_abort(&s->store);
		s->unsynced_from = marked;
		s->uncut_from = uncut;
		return -1;
	}
	if (blob_write_defer(&s->blobs, s->pending, s->pending_count, &ignored) < 0)
		return sqlite_batch_commit(&s->store, error_r);
	/* The files are the sync's now: the batch no longer removes them. */
	s->pending_count = 0;
	if (db_run(s, STMT_COMMIT, error_r) < 0) {
		/* The files still go into place at the sync, named by no row:
		 * the clean-up's sweep finds them. */
		sqlite_batch_abort(&s->store);
		s->unsynced_from = marked; /* the mark went with the rows */
		s->uncut_from = uncut;
		gc_sweep_again(s);
		return -1;
	}
	s->in_batch = false;
	s->unsynced = true;
	return 0;
}

int sqlite_append(struct store *store, const char *mailbox,
			 const struct store_append_msg *msgs, size_t count, uint32_t *uidvalidity_r,
			 uint32_t *uids_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	bool found;
	int64_t uidvalidity;
	uint64_t bytes = 0;

	if (count > STORE_BATCH_MAX)
		return db_fail(s, error_r, "store: too many messages in one append");
	if (sqlite_batch_begin(store, error_r) < 0)
		return STORE_ERROR;
	if (mailbox_get(s, mailbox, &mb, &found, error_r) < 0 ||
	    db_query_int(s, STMT_MAILBOX_UIDVALIDITY, mailbox, &uidvalidity, error_r) < 0) {
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
	int64_t low_rowid = INT64_MAX;
	for (size_t i = 0; i < count; i++) {
		bool dup = false;
		int64_t rowid;
		if (batch_add(s, mailbox, NULL, msgs[i].iov, msgs[i].iovcnt, msgs[i].msg,
			      msgs[i].internal_date, msgs[i].flags & STORE_FLAGS_KEPT,
			      msgs[i].keywords, &uids_r[i], &rowid, &dup, error_r) < 0) {
			sqlite_batch_abort(store);
			return STORE_ERROR;
		}
		if (rowid < low_rowid)
			low_rowid = rowid;
	}
	if (append_commit(s, low_rowid, error_r) < 0)
		return STORE_ERROR;
	*uidvalidity_r = (uint32_t)uidvalidity;
	return STORE_OK;
}
