/*
 * store-sqlite-message: reading messages (lists, ranges, the pre-parsed
 * FETCH answers, the content file), expunging them, and the changes since
 * a MODSEQ that keep IMAP sessions in step.
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

/* message_columns: see store-sqlite.h. */
void message_columns(sqlite3_stmt *st, struct store_message *m)
{
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

/* message_query runs one of the message-listing statements: LIST (mailbox),
 * RANGE, RANGE_UNSEEN, RANGE_DELETED (mailbox, first UID, last UID) or
 * CHANGED (mailbox, modseq). */
static int message_query(struct sqlite_store *s, enum stmt_id id, int64_t mailbox_id, int64_t p2,
			 int64_t p3, struct store_message **list_r, size_t *count_r,
			 const char **error_r)
{
	struct store_message *list = NULL;
	size_t count = 0, cap = 0;
	int rc, ret = 0;

	sqlite3_stmt *st = db_stmt(s, id, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, mailbox_id);
	if (id != STMT_MESSAGE_LIST)
		sql_bind_i64(&b, p2);
	if (id == STMT_MESSAGE_RANGE || id == STMT_RANGE_UNSEEN || id == STMT_RANGE_DELETED)
		sql_bind_i64(&b, p3);
	if (db_bind_check(s, &b, error_r) < 0) {
		sql_stmt_done(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t new_cap = cap == 0 ? 64 : cap * 2;
			struct store_message *p = reallocarray(list, new_cap, sizeof(*list));
			if (p == NULL) {
				ret = db_fail(s, error_r, "store: out of memory");
				break;
			}
			list = p;
			cap = new_cap;
		}
		message_columns(st, &list[count++]);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_sql_fail(s, "list messages", error_r);
	sql_stmt_done(st);
	if (ret < 0) {
		free(list);
		return -1;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

/* message_rows reads the messages of mailbox id into a new array. */
int message_rows(struct sqlite_store *s, int64_t mailbox_id, struct store_message **list_r,
			size_t *count_r, const char **error_r)
{
	return message_query(s, STMT_MESSAGE_LIST, mailbox_id, 0, 0, list_r, count_r, error_r);
}

/* sqlite_message_list lists a mailbox's messages in UID order; an unknown
 * mailbox is an error, an empty one gives count 0 and a NULL list. */
int sqlite_message_list(struct store *store, const char *mailbox,
			       struct store_message **list_r, size_t *count_r,
			       const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;

	if (db_no_batch(s, error_r) < 0)
		return -1;
	/* One read transaction: the mailbox cannot vanish between the two. */
	if (db_run(s, STMT_BEGIN, error_r) < 0)
		return -1;
	if (mailbox_require(s, mailbox, &mb, error_r) < 0 ||
	    message_rows(s, mb.id, list_r, count_r, error_r) < 0) {
		db_rollback(s);
		return -1;
	}
	if (db_run(s, STMT_COMMIT, error_r) < 0) {
		free(*list_r);
		*list_r = NULL;
		*count_r = 0;
		db_rollback(s);
		return -1;
	}
	return 0;
}

/* expunge_one removes message uid of mailbox id (when it is there) with
 * its index row and records it as expunged at modseq. */
static int expunge_one(struct sqlite_store *s, int64_t mailbox_id, uint32_t uid,
		       uint64_t modseq, const char **error_r)
{
	sqlite3_stmt *del = db_stmt(s, STMT_MESSAGE_DELETE, error_r);
	if (del == NULL)
		return -1;
	struct sql_binder b = sql_binder(del);
	sql_bind_i64(&b, mailbox_id);
	sql_bind_i64(&b, uid);
	int rc = b.rc == SQLITE_OK ? sqlite3_step(del) : b.rc;
	if (rc == SQLITE_DONE) {
		sql_stmt_done(del);
		return 0; /* not there */
	}
	int64_t rowid = sqlite3_column_int64(del, 0);
	if (rc != SQLITE_ROW || sqlite3_step(del) != SQLITE_DONE) {
		db_sql_fail(s, "expunge", error_r);
		sql_stmt_done(del);
		return -1;
	}
	sql_stmt_done(del);
	if (fts_delete(s, rowid, error_r) < 0)
		return -1;
	sqlite3_stmt *rec = db_stmt(s, STMT_EXPUNGED_ADD, error_r);
	if (rec == NULL)
		return -1;
	b = sql_binder(rec);
	sql_bind_i64(&b, mailbox_id);
	sql_bind_i64(&b, uid);
	sql_bind_u64(&b, modseq);
	return db_bind_run(s, &b, "record expunge", error_r);
}

/* sqlite_expunge removes messages in one transaction, recording each with
 * the new MODSEQ for QRESYNC; their files stay (shared content) until a
 * clean-up pass collects files no message names. */
int sqlite_expunge(struct store *store, const char *mailbox, const uint32_t *uids, size_t count,
		   const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;

	if (db_no_batch(s, error_r) < 0)
		return -1;
	if (db_run(s, STMT_BEGIN_IMMEDIATE, error_r) < 0)
		return -1;
	if (mailbox_require(s, mailbox, &mb, error_r) < 0)
		goto failed;
	uint64_t modseq = (uint64_t)mb.highestmodseq + 1;
	for (size_t i = 0; i < count; i++)
		if (expunge_one(s, mb.id, uids[i], modseq, error_r) < 0)
			goto failed;
	sqlite3_stmt *adv = db_stmt(s, STMT_MAILBOX_MODSEQ, error_r);
	if (adv == NULL)
		goto failed;
	struct sql_binder b = sql_binder(adv);
	sql_bind_i64(&b, mb.id);
	sql_bind_u64(&b, modseq);
	if (db_bind_run(s, &b, "advance modseq", error_r) < 0 ||
	    db_run(s, STMT_COMMIT, error_r) < 0)
		goto failed;
	return 0;
failed:
	db_rollback(s);
	return -1;
}

/* sqlite_message_open finds the message's blob hash and opens that file. */
int sqlite_message_open(struct store *store, const char *mailbox, uint32_t uid,
			       const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	char hash[BLOB_HASH_SIZE] = "";
	int rc, ret = 0;

	if (db_no_batch(s, error_r) < 0)
		return -1;
	sqlite3_stmt *st = db_stmt(s, STMT_MESSAGE_BLOB, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, mailbox);
	sql_bind_i64(&b, uid);
	if (db_bind_check(s, &b, error_r) < 0) {
		ret = -1;
	} else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 0);
		if (text != NULL && sqlite3_column_bytes(st, 0) == BLOB_HASH_SIZE - 1)
			memcpy(hash, text, BLOB_HASH_SIZE);
	} else if (rc == SQLITE_DONE) {
		ret = db_fail(s, error_r, "store: no message %s UID %u", mailbox, uid);
	} else {
		ret = db_sql_fail(s, "message lookup", error_r);
	}
	sql_stmt_done(st);
	if (ret < 0)
		return -1;
	/* blob_open refuses anything but a hash as a file name. */
	return blob_open(&s->blobs, hash, error_r);
}

/* range_read lists mailbox's messages first..last that statement id
 * selects (STMT_MESSAGE_RANGE, or a filtered one), in one read
 * transaction: STORE_OK, or a store status with *error_r. */
static int range_read(struct store *store, const char *mailbox, enum stmt_id id, uint32_t first,
		      uint32_t last, struct store_message **list_r, size_t *count_r,
		      const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	int ret = mailbox_read(s, mailbox, &mb, error_r);
	*list_r = NULL;
	*count_r = 0;
	if (ret != STORE_OK)
		return ret;
	if (message_query(s, id, mb.id, first, last, list_r, count_r, error_r) < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	db_rollback(s); /* read only: ending it is all */
	return STORE_OK;
}

int sqlite_message_range(struct store *store, const char *mailbox, uint32_t first,
				 uint32_t last, struct store_message **list_r, size_t *count_r,
				 const char **error_r)
{
	return range_read(store, mailbox, STMT_MESSAGE_RANGE, first, last, list_r, count_r,
			  error_r);
}

/* sqlite_message_range_filtered: store_message_range_filtered (store.h). */
int sqlite_message_range_filtered(struct store *store, const char *mailbox, uint32_t first,
				  uint32_t last, enum store_range_filter filter,
				  struct store_message **list_r, size_t *count_r,
				  const char **error_r)
{
	enum stmt_id id = filter == STORE_RANGE_UNSEEN ? STMT_RANGE_UNSEEN : STMT_RANGE_DELETED;
	return range_read(store, mailbox, id, first, last, list_r, count_r, error_r);
}

struct meta_block {
	struct store_meta_head head; /* first: store.c sees only this */
	char *strings;
};

/* meta_read reads message uid of mailbox mailbox_id into a new meta,
 * inside the caller's read transaction: STORE_OK, STORE_NOT_FOUND or
 * STORE_ERROR. */
static int meta_read(struct sqlite_store *s, int64_t mailbox_id, uint32_t uid,
		     struct store_message_meta **meta_r, const char **error_r)
{
	/* Kept statements: FETCH asks this once per message. */
	sqlite3_stmt *st = db_stmt(s, STMT_META_MESSAGE, error_r);
	sqlite3_stmt *ps = st == NULL ? NULL : db_stmt(s, STMT_META_PARTS, error_r);
	struct meta_block *mbk = NULL;
	int ret = STORE_ERROR;
	if (ps == NULL)
		goto out;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, mailbox_id);
	sql_bind_i64(&b, uid);
	int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	if (rc == SQLITE_DONE) {
		ret = STORE_NOT_FOUND;
		*error_r = "No such message";
		goto out;
	}
	if (rc != SQLITE_ROW) {
		db_sql_fail(s, "message", error_r);
		goto out;
	}
	/* Strings: columns 8..17, the header copy (21), then the parts'
	 * section and content type. */
	size_t total = 0;
	for (int c = 8; c <= 17; c++)
		total += (size_t)sqlite3_column_bytes(st, c) + 1;
	size_t copy_size = (size_t)sqlite3_column_bytes(st, 21);
	total += copy_size + 1;
	size_t nparts = 0, parts_text = 0;
	b = sql_binder(ps);
	sql_bind_i64(&b, sqlite3_column_int64(st, 0));
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(ps)) == SQLITE_ROW) {
		nparts++;
		parts_text += (size_t)sqlite3_column_bytes(ps, 0) + (size_t)sqlite3_column_bytes(ps, 6) + 2;
	}
	if (rc != SQLITE_DONE) {
		db_sql_fail(s, "parts", error_r);
		goto out;
	}
	sqlite3_reset(ps);
	mbk = calloc(1, sizeof(*mbk));
	char *text = malloc(total + parts_text + 1);
	struct store_part *parts = calloc(nparts + 1, sizeof(*parts));
	if (mbk == NULL || text == NULL || parts == NULL) {
		free(text);
		free(parts);
		db_fail(s, error_r, "store: out of memory");
		goto out;
	}
	mbk->strings = text;
	struct store_message_meta *m = &mbk->head.meta;
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
	const void *copy = copy_size > 0 ? sqlite3_column_blob(st, 21) : NULL;
	if (copy != NULL) {
		memcpy(p, copy, copy_size);
		p[copy_size] = '\0';
		m->header_copy = p;
		m->header_copy_size = copy_size;
		p += copy_size + 1;
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
	/* A copy that does not cover the header the parts name is not used. */
	if (m->header_copy != NULL &&
	    (nparts == 0 || parts[0].header_offset + parts[0].header_size > copy_size ||
	     copy_size > m->msg.size)) {
		m->header_copy = NULL;
		m->header_copy_size = 0;
	}
	*meta_r = m;
	mbk = NULL;
	ret = STORE_OK;
out:
	free(mbk);
	if (st != NULL)
		sql_stmt_done(st);
	if (ps != NULL)
		sql_stmt_done(ps);
	return ret;
}

int sqlite_message_meta(struct store *store, const char *mailbox, uint32_t uid,
			       struct store_message_meta **meta_r, const char **error_r)
{
	*meta_r = NULL;
	int ret = sqlite_message_meta_list(store, mailbox, &uid, 1, meta_r, error_r);
	if (ret == STORE_OK && *meta_r == NULL) {
		*error_r = "No such message";
		return STORE_NOT_FOUND;
	}
	return ret;
}

/* sqlite_message_meta_list: see store_message_meta_list; one read
 * transaction for them all (its start and end cost about as much as
 * reading one message's meta). */
int sqlite_message_meta_list(struct store *store, const char *mailbox, const uint32_t *uids,
			     size_t count, struct store_message_meta **metas_r,
			     const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	int ret = mailbox_read(s, mailbox, &mb, error_r);
	if (ret != STORE_OK)
		return ret;
	for (size_t i = 0; i < count; i++) {
		ret = meta_read(s, mb.id, uids[i], &metas_r[i], error_r);
		if (ret == STORE_NOT_FOUND) {
			metas_r[i] = NULL;   /* expunged meanwhile */
			ret = STORE_OK;
		} else if (ret != STORE_OK) {
			while (i-- > 0) {
				if (metas_r[i] != NULL)
					sqlite_message_meta_free(metas_r[i]);
				metas_r[i] = NULL;
			}
			break;
		}
	}
	db_rollback(s); /* read only: ending it is all */
	return ret;
}

void sqlite_message_meta_free(struct store_message_meta *meta)
{
	struct meta_block *mbk = (struct meta_block *)meta;
	free(mbk->strings);
	free(meta->parts);
	free(mbk);
}

/* message_row_get reads one message's state (and row id) by UID. */
int message_row_get(struct sqlite_store *s, sqlite3_stmt *st, int64_t mailbox_id,
			   uint32_t uid, struct store_message *m, int64_t *rowid_r, bool *found_r,
			   const char **error_r)
{
	sqlite3_reset(st);
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, mailbox_id);
	sql_bind_i64(&b, uid);
	int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : b.rc;
	*found_r = rc == SQLITE_ROW;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_sql_fail(s, "message", error_r);
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

/* uids_collect steps st (bound, its first column a UID) to the end and
 * gives the UIDs in a new array (NULL when none); st is reset. */
int uids_collect(struct sqlite_store *s, sqlite3_stmt *st, uint32_t **uids_r,
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
				ret = db_fail(s, error_r, "store: out of memory");
				break;
			}
			list = p;
		}
		list[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_sql_fail(s, "list UIDs", error_r);
	sql_stmt_done(st);
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
	sqlite3_stmt *st = db_stmt(s, STMT_EXPUNGED_SINCE, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, mailbox_id);
	sql_bind_u64(&b, modseq);
	if (db_bind_check(s, &b, error_r) < 0) {
		sql_stmt_done(st);
		return -1;
	}
	return uids_collect(s, st, uids_r, count_r, error_r);
}

/* sqlite_changes reads both lists in one snapshot; when nothing happened
 * since modseq (the usual case after a command) it reads one row. */
int sqlite_changes(struct store *store, const char *mailbox, uint64_t modseq,
			  struct store_message **changed_r, size_t *changed_count_r,
			  uint32_t **expunged_r, size_t *expunged_count_r, uint64_t *highestmodseq_r,
			  const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;

	int ret = mailbox_read(s, mailbox, &mb, error_r);
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
	db_rollback(s); /* read only: ending it is all */
	return ret;
}

/* The reader of a message: its content file, opened on the first read
 * that a header copy does not answer. */
struct sqlite_reader {
	struct store_reader reader; /* first: store.c sees only this */
	struct sqlite_store *s;
	int fd;                     /* -1 until opened */
	char hash[BLOB_HASH_SIZE];
	char *copy;                 /* the content's first copy_size octets */
	size_t copy_size;
};

/* reader_of makes a reader of the content file hash, of size bytes; with
 * a header copy (copy_size > 0) the file is opened only for a read past
 * it, else now. */
static int reader_of(struct sqlite_store *s, const char *hash, uint64_t size, const char *copy,
		     size_t copy_size, struct store_reader **reader_r, const char **error_r)
{
	struct sqlite_reader *r = calloc(1, sizeof(*r));
	if (r == NULL || (copy_size > 0 && (r->copy = malloc(copy_size)) == NULL)) {
		free(r);
		return db_fail(s, error_r, "store: out of memory");
	}
	r->s = s;
	r->fd = -1;
	memcpy(r->hash, hash, BLOB_HASH_SIZE);
	if (copy_size > 0) {
		memcpy(r->copy, copy, copy_size);
		r->copy_size = copy_size;
	} else if ((r->fd = blob_open(&s->blobs, hash, error_r)) < 0) {
		/* blob_open refuses anything but a hash as a file name. */
		free(r);
		return STORE_ERROR;
	}
	r->reader.backend = &store_backend_sqlite;
	r->reader.size = size;
	*reader_r = &r->reader;
	return STORE_OK;
}

/* sqlite_reader_open finds the message's row in one snapshot and opens its
 * file (content files never change: the reader sees the content as it
 * was, whatever happens to the message later). */
int sqlite_reader_open(struct store *store, const char *mailbox, uint32_t uid,
		       struct store_reader **reader_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	struct store_message m;
	int64_t row;
	bool found = false;

	int ret = mailbox_read(s, mailbox, &mb, error_r);
	if (ret != STORE_OK)
		return ret;
	sqlite3_stmt *get = db_stmt(s, STMT_MESSAGE_ROW, error_r);
	ret = get == NULL ? -1 : message_row_get(s, get, mb.id, uid, &m, &row, &found, error_r);
	if (get != NULL)
		sql_stmt_done(get);
	db_rollback(s); /* read only: ending it is all */
	if (ret < 0)
		return STORE_ERROR;
	if (!found)
		return db_status_fail(s, STORE_NOT_FOUND, error_r, "No such message");
	return reader_of(s, m.hash, m.size, NULL, 0, reader_r, error_r);
}

/* sqlite_reader_open_meta: the meta's row gave its file, which never
 * changes: no lookup, no transaction.  With the meta's header copy, the
 * file is opened at the first read past the header: a FETCH of header
 * fields opens none, and one that reads further opens it before its first
 * octet is sent, so an answer written in steps reads one file throughout. */
int sqlite_reader_open_meta(struct store *store, const struct store_message_meta *meta,
			    struct store_reader **reader_r, const char **error_r)
{
	return reader_of(sqlite_store(store), meta->msg.hash, meta->msg.size, meta->header_copy,
			 meta->header_copy_size, reader_r, error_r);
}

/* sqlite_reader_read reads the window with pread (no file position is
 * shared); a file shorter than its row says is an error. */
int sqlite_reader_read(struct store_reader *reader, uint64_t offset, void *buf, size_t len,
		       size_t *read_r, const char **error_r)
{
	struct sqlite_reader *r = (struct sqlite_reader *)reader;
	size_t done = 0;

	if (offset < r->copy_size && len <= r->copy_size - offset) {
		memcpy(buf, r->copy + offset, len);
		*read_r = len;
		return STORE_OK;
	}
	if (r->fd < 0 && (r->fd = blob_open(&r->s->blobs, r->hash, error_r)) < 0) {
		snprintf(reader->error, sizeof(reader->error), "%s", *error_r);
		*error_r = reader->error;
		return STORE_ERROR;
	}
	while (done < len) {
		ssize_t n = pread(r->fd, (char *)buf + done, len - done, (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				snprintf(reader->error, sizeof(reader->error),
					 "read(message) failed: %m");
			else
				snprintf(reader->error, sizeof(reader->error),
					 "store: message file too short");
			*error_r = reader->error;
			return STORE_ERROR;
		}
		done += (size_t)n;
	}
	*read_r = done;
	return STORE_OK;
}

void sqlite_reader_close(struct store_reader *reader)
{
	struct sqlite_reader *r = (struct sqlite_reader *)reader;
	if (r->fd >= 0)
		close(r->fd);
	free(r->copy);
	free(r);
}

