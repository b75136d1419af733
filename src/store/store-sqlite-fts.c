/*
 * store-sqlite-fts: the full-text index (FTS5, trigram): filling it at
 * delivery (in a batch, just before the commit), at COPY and at the
 * upgrade to schema version 2, removing rows with their message, and
 * answering IMAP's substring SEARCH.
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

/* fts_insert adds message rowid's row to the full-text index: the decoded
 * fields of its messages row and text (index_text_extract's). */
static int fts_insert(struct sqlite_store *s, int64_t rowid, const struct index_text *text,
		      const char **error_r)
{
	sqlite3_stmt *fields = db_stmt(s, STMT_MESSAGE_FIELDS, error_r);
	sqlite3_stmt *st = fields == NULL ? NULL : db_stmt(s, STMT_FTS_INSERT, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder fb = sql_binder(fields);
	sql_bind_i64(&fb, rowid);
	if (fb.rc != SQLITE_OK || sqlite3_step(fields) != SQLITE_ROW) {
		sql_stmt_done(fields);
		return db_sql_fail(s, "index message", error_r);
	}
	/* The field texts stay valid until fields is reset. */
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, rowid);
	for (int col = 0; col < 4; col++)
		sql_bind_str(&b, sql_column_str(fields, col));
	sql_bind_str(&b, buf_str(&text->bcc));
	sql_bind_str(&b, buf_str(&text->body));
	sql_bind_str(&b, buf_str(&text->header));
	int ret = db_bind_check(s, &b, error_r);
	if (ret == 0)
		ret = db_step_done(s, st, "index message", error_r);
	sql_stmt_done(st);
	sql_stmt_done(fields);
	return ret;
}

/* text_size is what a kept index text holds, for STORE_BATCH_TEXT_MAX. */
static size_t text_size(const struct index_text *text)
{
	return text->header.len + text->bcc.len + text->body.len;
}

/* batch_texts_drop frees the batch's index texts from the first on. */
void batch_texts_drop(struct sqlite_store *s, size_t first)
{
	for (size_t i = first; i < s->text_count; i++) {
		s->text_bytes -= text_size(&s->texts[i].text);
		index_text_free(&s->texts[i].text);
	}
	s->text_count = first;
}

/* batch_text_add reads the index text of a delivery of the open batch,
 * kept for batch_index. */
int batch_text_add(struct sqlite_store *s, int64_t rowid, const struct mime_message *msg,
			  const struct iovec *iov, int iovcnt, const char **error_r)
{
	if (s->text_count == s->text_cap) {
		size_t cap = s->text_cap == 0 ? 16 : s->text_cap * 2;
		struct batch_text *t = reallocarray(s->texts, cap, sizeof(*t));
		if (t == NULL)
			return db_fail(s, error_r, "store: out of memory");
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
int batch_index(struct sqlite_store *s, const char **error_r)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < s->text_count; i++)
		ret = fts_insert(s, s->texts[i].rowid, &s->texts[i].text, error_r);
	batch_texts_drop(s, 0);
	if (ret < 0)
		db_rollback(s);
	return ret;
}

/* fts_delete removes message rowid from the index. */
int fts_delete(struct sqlite_store *s, int64_t rowid, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_FTS_DELETE, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, rowid);
	return db_bind_run(s, &b, "unindex message", error_r);
}

/* ---------------------------------------------------------------------
 * Upgrade to schema version 2: the messages a version 1 store holds go
 * into the new full-text index, each read back from its parts rows and its
 * file.  It runs once, inside the upgrade's transaction, at about the cost
 * of indexing at delivery per message.
 */

/* Content type bytes kept per part: the index only asks "text/...?". */
#define BACKFILL_TYPE_MAX 64

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

	struct sql_binder b = sql_binder(bf->parts);
	sql_bind_i64(&b, id);
	if (b.rc != SQLITE_OK)
		rc = b.rc;
	while (b.rc == SQLITE_OK && n < MIME_MAX_PARTS &&
	       (rc = sqlite3_step(bf->parts)) == SQLITE_ROW) {
		struct mime_part *p = &bf->part[n];
		memset(p, 0, sizeof(*p));
		p->header_offset = (uint64_t)sqlite3_column_int64(bf->parts, 0);
		p->header_size = (uint64_t)sqlite3_column_int64(bf->parts, 1);
		p->body_offset = (uint64_t)sqlite3_column_int64(bf->parts, 2);
		p->body_size = (uint64_t)sqlite3_column_int64(bf->parts, 3);
		p->child_count = (unsigned)sqlite3_column_int(bf->parts, 4);
		p->is_embedded_message = sqlite3_column_int(bf->parts, 5);
		struct str type = sql_column_str(bf->parts, 6);
		type.len = type.len < BACKFILL_TYPE_MAX ? type.len : BACKFILL_TYPE_MAX;
		memcpy(bf->type[n], type.ptr, type.len);
		p->content_type = str_from(bf->type[n], type.len);
		inside = inside && p->header_offset <= size &&
			 p->header_size <= size - p->header_offset && p->body_offset <= size &&
			 p->body_size <= size - p->body_offset;
		n++;
	}
	sql_stmt_done(bf->parts);
	if (n < MIME_MAX_PARTS && rc != SQLITE_DONE)
		return db_sql_fail(s, "read parts", error_r);
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
int fts_backfill(struct sqlite_store *s, const char **error_r)
{
	struct backfill *bf = calloc(1, sizeof(*bf));
	sqlite3_stmt *row = NULL;
	int rc = SQLITE_DONE, ret = -1;

	if (bf == NULL)
		return db_fail(s, error_r, "store: out of memory");
	bf->parts = db_stmt(s, STMT_BACKFILL_PARTS, error_r);
	if (bf->parts != NULL)
		row = db_stmt(s, STMT_BACKFILL_MESSAGES, error_r);
	if (row != NULL) {
		ret = 0;
		while (ret == 0 && (rc = sqlite3_step(row)) == SQLITE_ROW)
			ret = backfill_one(s, bf, row, error_r);
		if (ret == 0 && rc != SQLITE_DONE)
			ret = db_sql_fail(s, "index old messages", error_r);
	}
	if (row != NULL)
		sql_stmt_done(row);
	free(bf);
	return ret;
}

/* copy_fts gives the copy to_row the index row of from (the text is not
 * read again); a message without one is left without. */
int copy_fts(struct sqlite_store *s, int64_t from, int64_t to_row, const char **error_r)
{
	sqlite3_stmt *get = db_stmt(s, STMT_FTS_ROW, error_r);
	sqlite3_stmt *put = get == NULL ? NULL : db_stmt(s, STMT_FTS_INSERT, error_r);
	if (put == NULL)
		return -1;
	struct sql_binder gb = sql_binder(get);
	sql_bind_i64(&gb, from);
	int rc = gb.rc == SQLITE_OK ? sqlite3_step(get) : gb.rc, ret = 0;
	if (rc == SQLITE_ROW) {
		/* The texts stay valid until get is reset. */
		struct sql_binder b = sql_binder(put);
		sql_bind_i64(&b, to_row);
		for (int col = 0; col < 7; col++)
			sql_bind_str(&b, sql_column_str(get, col));
		ret = db_bind_run(s, &b, "copy index row", error_r);
	} else if (rc != SQLITE_DONE) {
		ret = db_sql_fail(s, "read index row", error_r);
	}
	sql_stmt_done(get);
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
 * search_stmt gives the kept statement for a search of field (?1 the
 * mailbox id, ?2 the text: STMT_SEARCH_MATCH says how each runs) and puts
 * in query what to bind as ?2: for the index, the text as one phrase
 * (quotes doubled, so nothing in it is query syntax) restricted to field's
 * column; for a scan, the text itself.
 */
static sqlite3_stmt *search_stmt(struct sqlite_store *s, enum store_text_field field,
				 const char *text, struct buf *query, const char **error_r)
{
	if (utf8_chars(text) < 3) {
		buf_append(query, text, strlen(text));
		return db_stmt(s, (enum stmt_id)(STMT_SEARCH_SCAN + field), error_r);
	}
	if (field != STORE_TEXT_ANY)
		buf_printf(query, "%s : ", fts_columns[field]);
	buf_putc(query, '"');
	for (const char *p = text; *p != '\0'; p++)
		if ((*p == '"' && buf_putc(query, '"') < 0) || buf_putc(query, *p) < 0)
			break;
	buf_putc(query, '"');
	return db_stmt(s, STMT_SEARCH_MATCH, error_r);
}

/* sqlite_text_search: see search_stmt for how each search runs. */
int sqlite_text_search(struct store *store, const char *mailbox,
			      enum store_text_field field, const char *text, uint32_t **uids_r,
			      size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	struct buf query;

	int ret = mailbox_read(s, mailbox, &mb, error_r);
	if (ret != STORE_OK)
		return ret;
	buf_init(&query, strlen(text) * 2 + 64);
	sqlite3_stmt *st = search_stmt(s, field, text, &query, error_r);
	ret = STORE_ERROR;
	if (st != NULL) {
		struct sql_binder b = sql_binder(st);
		sql_bind_i64(&b, mb.id);
		sql_bind_str(&b, buf_str(&query));
		if (db_bind_check(s, &b, error_r) < 0)
			sql_stmt_done(st);
		else if (uids_collect(s, st, uids_r, count_r, error_r) == 0)
			ret = STORE_OK;
	}
	buf_free(&query);
	db_rollback(s);
	return ret;
}
