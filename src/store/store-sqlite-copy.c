/*
 * store-sqlite-copy: COPY and MOVE within the account.  A copy is a new
 * row naming the same content file; a move changes the row's mailbox and
 * UID and records the old UID as expunged.
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

void copy_set_free(struct copy_set *c)
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
	sqlite3_stmt *get = db_stmt(s, STMT_MESSAGE_ROW, error_r);
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
		return db_fail(s, error_r, "store: out of memory");
	for (size_t i = 0; ret == 0 && i < count; i++) {
		ret = message_row_get(s, get, mailbox_id, uids[i], &m, &c->rows[c->count], &found,
				      error_r);
		if (ret == 0 && found) {
			c->src[c->count++] = uids[i];
			c->bytes += m.size;
		}
	}
	sql_stmt_done(get);
	return ret;
}

/* copy_row inserts a copy of message row from (and its parts) into mailbox
 * dst_id as uid with modseq; *row_r is the new row. */
static int copy_row(struct sqlite_store *s, int64_t from, int64_t dst_id, uint32_t uid,
		    uint64_t modseq, int64_t *row_r, const char **error_r)
{
	sqlite3_stmt *msg = db_stmt(s, STMT_COPY_MESSAGE, error_r);
	sqlite3_stmt *parts = msg == NULL ? NULL : db_stmt(s, STMT_COPY_PARTS, error_r);
	if (parts == NULL)
		return -1;
	struct sql_binder b = sql_binder(msg);
	sql_bind_i64(&b, from);
	sql_bind_i64(&b, dst_id);
	sql_bind_i64(&b, uid);
	sql_bind_u64(&b, modseq);
	if (db_bind_run(s, &b, "copy message", error_r) < 0)
		return -1;
	*row_r = sqlite3_last_insert_rowid(s->db);
	b = sql_binder(parts);
	sql_bind_i64(&b, from);
	sql_bind_i64(&b, *row_r);
	return db_bind_run(s, &b, "copy parts", error_r);
}

/* copy_rows copies c's messages into dst_id with c->dst's UIDs: all the
 * rows first, then the index rows (an INSERT ... SELECT among FTS5 inserts
 * would make FTS5 write its pending terms out each time). */
static int copy_rows(struct sqlite_store *s, const struct copy_set *c, int64_t dst_id,
		     uint64_t modseq, const char **error_r)
{
	int64_t *copies = calloc(c->count + 1, sizeof(*copies));
	int ret = copies == NULL ? db_fail(s, error_r, "store: out of memory") : 0;

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
	sqlite3_stmt *gone = db_stmt(s, STMT_EXPUNGED_ADD, error_r);
	sqlite3_stmt *move = gone == NULL ? NULL : db_stmt(s, STMT_MOVE_MESSAGE, error_r);
	int ret = move == NULL ? -1 : 0;

	for (size_t i = 0; ret == 0 && i < c->count; i++) {
		struct sql_binder b = sql_binder(gone);
		sql_bind_i64(&b, src_id);
		sql_bind_i64(&b, c->src[i]);
		sql_bind_u64(&b, src_modseq);
		ret = db_bind_run(s, &b, "record expunge", error_r);
		b = sql_binder(move);
		sql_bind_i64(&b, c->rows[i]);
		sql_bind_i64(&b, dst_id);
		sql_bind_i64(&b, c->dst[i]);
		sql_bind_u64(&b, dst_modseq);
		if (ret == 0)
			ret = db_bind_run(s, &b, "move message", error_r);
		else
			sql_stmt_done(move);
	}
	return ret;
}

/*
 * copy_locked does a COPY or MOVE inside the caller's write transaction:
 * the target's next UIDs in UID order, one new MODSEQ in the target (and
 * one in the source for the expunges of a MOVE; within one mailbox they
 * are the same).  Returns STORE_OK with *c filled, or a status.
 */
int copy_locked(struct sqlite_store *s, const struct mailbox_row *src,
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
		return db_fail(s, error_r, "store: the target mailbox has no UIDs left");
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
int sqlite_copy(struct store *store, const char *from, const uint32_t *uids, size_t count,
		       const char *to, bool move, uint32_t *uidvalidity_r, uint32_t **src_r,
		       uint32_t **dst_r, size_t *copied_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row src, dst;
	bool found_src, found_dst;
	int64_t uidvalidity;
	struct copy_set c;

	if (db_begin_write(s, error_r) < 0)
		return STORE_ERROR;
	if (mailbox_get(s, from, &src, &found_src, error_r) < 0 ||
	    mailbox_get(s, to, &dst, &found_dst, error_r) < 0 ||
	    db_query_int(s, STMT_MAILBOX_UIDVALIDITY, to, &uidvalidity, error_r) < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	if (!found_src || !found_dst)
		return db_status_fail(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	int ret = copy_locked(s, &src, &dst, uids, count, move, &c, error_r);
	if (ret != STORE_OK || db_commit(s, error_r) < 0) {
		db_rollback(s);
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
