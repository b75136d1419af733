/*
 * store-sqlite-header: the copies of header sections (store.h, "Header
 * copies"; schema version 7).  A delivery or APPEND writes its content's
 * copy in the savepoint of its rows (header_keep), so a crash keeps both
 * or neither; the clean-up deletes it with the file (header_forget), in
 * the transaction that found no message naming the file.  A copy is
 * the content's first octets up to the end of its header section, so a
 * reader answers any read inside it from memory (store-sqlite-message.c).
 */
#include "store-sqlite.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* header_span gives how many first octets of msg's content the copy
 * holds (its whole header section and blank line), 0 when none is kept:
 * no parsed header, or one over STORE_HEADER_KEEP_MAX. */
static size_t header_span(const struct mime_message *msg)
{
	if (msg->part_count == 0)
		return 0;
	const struct mime_part *whole = &msg->parts[0];
	if (whole->header_offset != 0 || whole->header_size == 0 ||
	    whole->header_size > STORE_HEADER_KEEP_MAX || whole->header_size > msg->size)
		return 0;
	return (size_t)whole->header_size;
}

/* gather copies the first n octets of iov[0..iovcnt) to dst; false when
 * the vector is shorter. */
static bool gather(const struct iovec *iov, int iovcnt, char *dst, size_t n)
{
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < n; i++) {
		size_t take = iov[i].iov_len < n - done ? iov[i].iov_len : n - done;
		memcpy(dst + done, iov[i].iov_base, take);
		done += take;
	}
	return done == n;
}

int header_keep(struct sqlite_store *s, const char *hash, const struct iovec *iov, int iovcnt,
		const struct mime_message *msg, const char **error_r)
{
	size_t n = header_span(msg);
	if (n == 0 || iovcnt < 1)
		return 0;
	/* The content's first piece nearly always holds the whole header
	 * (a Return-Path line alone in front is the exception). */
	char joined[STORE_HEADER_KEEP_MAX];
	const char *copy = iov[0].iov_base;
	if (iov[0].iov_len < n) {
		if (!gather(iov, iovcnt, joined, n))
			return 0;
		copy = joined;
	}
	sqlite3_stmt *st = db_stmt(s, STMT_HEADER_KEEP, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, hash);
	/* A blob: a header may hold any octet, NUL included. */
	if (b.rc == SQLITE_OK)
		b.rc = sqlite3_bind_blob(st, ++b.n, copy, (int)n, SQLITE_STATIC);
	return db_bind_run(s, &b, "keep header", error_r);
}

int header_forget(struct sqlite_store *s, const char *hash, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_HEADER_FORGET, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, hash);
	return db_bind_run(s, &b, "forget header", error_r);
}

/* A message's head (store_message_head_list): its meta, its one part and
 * its header copy in one allocation. */
struct head_block {
	struct store_meta_head head; /* first: store.c sees only this */
	struct store_part part;
	char copy[];
};

/* ends_blank_line: do the n octets at p end with an empty line? */
static bool ends_blank_line(const char *p, size_t n)
{
	return (n >= 2 && p[n - 2] == '\n' && p[n - 1] == '\n') ||
	       (n >= 3 && p[n - 3] == '\n' && p[n - 2] == '\r' && p[n - 1] == '\n');
}

/* row_block allocates fixed octets (a block whose first member is a
 * struct store_meta_head; zeroed) and n + 1 behind them, fills the meta's
 * state from the row st stands on and copies src[0..n) behind fixed,
 * NUL-terminated; NULL when memory is short. */
static void *row_block(sqlite3_stmt *st, size_t fixed, const void *src, size_t n)
{
	char *p = malloc(fixed + n + 1);
	if (p == NULL)
		return NULL;
	memset(p, 0, fixed);
	struct store_meta_head *h = (struct store_meta_head *)p;
	message_columns(st, &h->meta.msg);
	h->meta.sent_date = -1;
	if (n > 0)
		memcpy(p + fixed, src, n);
	p[fixed + n] = '\0';
	return p;
}

/* head_new makes the head of the message st stands on (STMT_HEAD_RANGE),
 * or NULL when it has no usable copy or memory is short. */
static struct store_message_meta *head_new(sqlite3_stmt *st)
{
	size_t n = (size_t)sqlite3_column_bytes(st, 7);
	const void *copy = n > 0 ? sqlite3_column_blob(st, 7) : NULL;
	uint64_t size = (uint64_t)sqlite3_column_int64(st, 3);
	/* A copy longer than its content, or than any kept, is not used;
	 * nor one that is not a whole header section (it ends at the blank
	 * line, or with the content): the meta's check of it against the
	 * part table then decides. */
	if (copy == NULL || n > STORE_HEADER_KEEP_MAX || n > size ||
	    !(n == size || ends_blank_line(copy, n)))
		return NULL;
	struct head_block *hb = row_block(st, offsetof(struct head_block, copy), copy, n);
	if (hb == NULL)
		return NULL;
	struct store_message_meta *m = &hb->head.meta;
	m->header_copy = hb->copy;
	m->header_copy_size = n;
	hb->part = (struct store_part){
		.section = "", .header_size = n, .body_offset = n, .body_size = size - n,
	};
	m->parts = &hb->part;
	m->part_count = 1;
	return m;
}

/* An envelope (store_message_envelope_list): its meta and the ENVELOPE
 * text in one allocation, freed by sqlite_message_head_free. */
struct envelope_block {
	struct store_meta_head head; /* first: store.c sees only this */
	char text[];
};

/* envelope_new makes the envelope of the message st stands on
 * (STMT_ENVELOPE_RANGE), or NULL when memory is short. */
static struct store_message_meta *envelope_new(sqlite3_stmt *st)
{
	const char *text = (const char *)sqlite3_column_text(st, 7);
	size_t n = text != NULL ? (size_t)sqlite3_column_bytes(st, 7) : 0;
	struct envelope_block *eb = row_block(st, offsetof(struct envelope_block, text), text, n);
	if (eb == NULL)
		return NULL;
	if (text != NULL)
		eb->head.meta.envelope = eb->text;
	return &eb->head.meta;
}

typedef struct store_message_meta *range_meta_fn(sqlite3_stmt *st);

/* range_metas: one range read of statement id (?1 the mailbox, ?2..?3 the
 * UIDs) from the first UID asked to the last, its rows matched to uids
 * in order and made metas by make (a UID out of order gets NULL: its
 * caller reads the meta). */
static int range_metas(struct store *store, const char *mailbox, enum stmt_id id,
		       range_meta_fn *make, const uint32_t *uids, size_t count,
		       struct store_message_meta **metas_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	int ret = mailbox_read(s, mailbox, &mb, error_r);
	if (ret != STORE_OK)
		return ret;
	sqlite3_stmt *st = db_stmt(s, id, error_r);
	if (st == NULL) {
		db_rollback(s);
		return STORE_ERROR;
	}
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, mb.id);
	sql_bind_i64(&b, uids[0]);
	sql_bind_i64(&b, uids[count - 1]);
	int rc = b.rc;
	size_t i = 0;
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(st)) != SQLITE_ROW)
			break;
		uint32_t uid = (uint32_t)sqlite3_column_int64(st, 0);
		while (i < count && uids[i] < uid)
			i++;
		if (i == count)
			break;
		if (uids[i] == uid)
			metas_r[i++] = make(st);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = db_sql_fail(s, "message range", error_r);
		for (size_t k = 0; k < count; k++) {
			if (metas_r[k] != NULL)
				sqlite_message_head_free(metas_r[k]);
			metas_r[k] = NULL;
		}
	}
	sql_stmt_done(st);
	db_rollback(s); /* read only: ending it is all */
	return ret;
}

/* sqlite_message_head_list: one range read over messages_state. */
int sqlite_message_head_list(struct store *store, const char *mailbox, const uint32_t *uids,
			     size_t count, struct store_message_meta **metas_r,
			     const char **error_r)
{
	return range_metas(store, mailbox, STMT_HEAD_RANGE, head_new, uids, count, metas_r,
			   error_r);
}

/* sqlite_message_envelope_list: one range read of the messages' rows. */
int sqlite_message_envelope_list(struct store *store, const char *mailbox, const uint32_t *uids,
				 size_t count, struct store_message_meta **metas_r,
				 const char **error_r)
{
	return range_metas(store, mailbox, STMT_ENVELOPE_RANGE, envelope_new, uids, count,
			   metas_r, error_r);
}

void sqlite_message_head_free(struct store_message_meta *meta)
{
	free(meta);
}
