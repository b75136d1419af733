/*
 * store-sqlite-fts: the full-text index (FTS5, trigram): the backlog a
 * delivery or APPEND marks instead of indexing (fts_pending), indexing it
 * in turns (the worker's idle time, store_index_backlog) and before each
 * search of a mailbox (so answers stay exact), copying rows at COPY,
 * the upgrade to schema version 2, removing rows with their message, and
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

/* fts_mark puts message rowid in the index's backlog (in the caller's
 * transaction: the message and its mark are committed together). */
int fts_mark(struct sqlite_store *s, int64_t rowid, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_FTS_MARK, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, rowid);
	if (db_bind_run(s, &b, "mark message for the index", error_r) < 0)
		return -1;
	s->index_marks++;
	return 0;
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
 * Indexing a stored message: read back from its parts rows and its file.
 * The backlog (fts_pending) is indexed this way on idle time and before a
 * search; the upgrade to schema version 2 indexed every message so, once.
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

/* backfill_one indexes message id, whose file is hash (NULL: none) of
 * size bytes: its decoded fields, and its content when its file is there
 * and whole. */
static int backfill_one(struct sqlite_store *s, struct backfill *bf, int64_t id,
			const char *hash, uint64_t size, const char **error_r)
{
	struct mime_message msg = { 0 };
	struct index_text text;
	int ret = 0;

	msg.size = size;
	void *map = backfill_map(s, hash, msg.size);
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
			ret = backfill_one(s, bf, sqlite3_column_int64(row, 0),
					   (const char *)sqlite3_column_text(row, 1),
					   (uint64_t)sqlite3_column_int64(row, 2), error_r);
		if (ret == 0 && rc != SQLITE_DONE)
			ret = db_sql_fail(s, "index old messages", error_r);
	}
	if (row != NULL)
		sql_stmt_done(row);
	free(bf);
	return ret;
}

/* ---------------------------------------------------------------------
 * The backlog: messages stored but not yet indexed (fts_pending).  Each
 * turn is one write transaction that indexes some of them and removes
 * their marks, so a crash at any point leaves every unindexed message
 * marked; store_open needs no recovery step.
 */

/* Messages a search indexes per transaction while it catches up with the
 * backlog of its mailbox: large enough that a backlog of thousands costs
 * few commits (one WAL fsync each), small enough to keep a transaction's
 * pending FTS5 terms (some 20 KB a message) modest. */
#define FTS_CATCHUP_MAX 1024
/* Content bytes per catch-up transaction (at least one message). */
#define FTS_CATCHUP_BYTES (64u * 1024 * 1024)

/* One marked message: its row, size and file. */
struct backlog_item {
	int64_t id;
	uint64_t size;
	char hash[BLOB_HASH_SIZE];
};

/* backlog_read lists up to max marked messages (of mailbox, or of every
 * mailbox for NULL) in items, oldest first, stopping once their content
 * reaches max_bytes; *more_r says whether more are marked. */
static int backlog_read(struct sqlite_store *s, const char *mailbox, size_t max,
			uint64_t max_bytes, struct backlog_item *items, size_t *count_r,
			bool *more_r, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_FTS_BACKLOG, error_r);
	size_t n = 0;
	uint64_t bytes = 0;
	int rc;

	*count_r = 0;
	*more_r = false;
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, (int64_t)max + 1);
	if (mailbox == NULL)
		sql_bind_null(&b);
	else
		sql_bind_cstr(&b, mailbox);
	if (db_bind_check(s, &b, error_r) < 0) {
		sql_stmt_done(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == max || bytes >= max_bytes) {
			*more_r = true;
			break;
		}
		struct backlog_item *it = &items[n++];
		it->id = sqlite3_column_int64(st, 0);
		it->size = (uint64_t)sqlite3_column_int64(st, 2);
		/* A name that does not fit is no file: the fields alone go in. */
		struct str hash = sql_column_str(st, 1);
		it->hash[0] = '\0';
		if (hash.len < sizeof(it->hash)) {
			memcpy(it->hash, hash.ptr, hash.len);
			it->hash[hash.len] = '\0';
		}
		bytes += it->size;
	}
	sql_stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_sql_fail(s, "read the index backlog", error_r);
	*count_r = n;
	return 0;
}

/* backlog_index_one indexes one marked message and removes its mark.  A
 * row already there (none should be) is replaced, so that it cannot hold
 * the backlog up for ever. */
static int backlog_index_one(struct sqlite_store *s, struct backfill *bf,
			     const struct backlog_item *it, const char **error_r)
{
	if (fts_delete(s, it->id, error_r) < 0 ||
	    backfill_one(s, bf, it->id, it->hash, it->size, error_r) < 0)
		return -1;
	sqlite3_stmt *st = db_stmt(s, STMT_FTS_UNMARK, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, it->id);
	return db_bind_run(s, &b, "unmark message", error_r);
}

/*
 * fts_index_turn indexes up to max marked messages (of mailbox, or of any
 * for NULL), stopping once their content reaches max_bytes, in one write
 * transaction; *more_r says whether more are marked.  The backlog is
 * looked at first without the write lock, so that an empty one (the usual
 * case before a search) costs one read.
 */
static int fts_index_turn(struct sqlite_store *s, const char *mailbox, size_t max,
			  uint64_t max_bytes, bool *more_r, const char **error_r)
{
	struct backlog_item *items = calloc(max, sizeof(*items));
	struct backfill *bf = NULL;
	size_t n = 0;
	int ret = -1;

	*more_r = false;
	if (items == NULL) {
		db_fail(s, error_r, "store: out of memory");
		goto out;
	}
	if (db_no_batch(s, error_r) < 0 ||
	    backlog_read(s, mailbox, 1, UINT64_MAX, items, &n, more_r, error_r) < 0)
		goto out;
	if (n == 0) {
		ret = 0;
		goto out;
	}
	bf = calloc(1, sizeof(*bf));
	if (bf == NULL) {
		db_fail(s, error_r, "store: out of memory");
		goto out;
	}
	if (db_begin_write(s, error_r) < 0)
		goto out;
	/* Read again under the lock: another connection may have indexed. */
	ret = backlog_read(s, mailbox, max, max_bytes, items, &n, more_r, error_r);
	if (ret == 0 && n > 0 && (bf->parts = db_stmt(s, STMT_BACKFILL_PARTS, error_r)) == NULL)
		ret = -1;
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = backlog_index_one(s, bf, &items[i], error_r);
	/* The index is no answer's promise: its commit alone leaves the
	 * group commit with nothing new to sync (store_sync_pending). */
	bool unsynced = s->unsynced;
	if (ret == 0)
		ret = db_commit(s, error_r);
	else
		db_rollback(s);
	s->unsynced = unsynced;
	if (ret < 0)
		*more_r = true;
out:
	free(bf);
	free(items);
	return ret;
}

/* sqlite_index_backlog: see store_index_backlog (store.h). */
int sqlite_index_backlog(struct store *store, size_t max, bool *more_r, const char **error_r)
{
	return fts_index_turn(sqlite_store(store), NULL, max, STORE_INDEX_TURN_BYTES, more_r,
			      error_r) < 0 ? STORE_ERROR : STORE_OK;
}

/* sqlite_index_marks: see store_index_marks (store.h). */
uint64_t sqlite_index_marks(struct store *store)
{
	return sqlite_store(store)->index_marks;
}

/* fts_catch_up indexes every marked message of mailbox, so that a search
 * of it is answered from a complete index. */
static int fts_catch_up(struct sqlite_store *s, const char *mailbox, const char **error_r)
{
	bool more = true;
	while (more)
		if (fts_index_turn(s, mailbox, FTS_CATCHUP_MAX, FTS_CATCHUP_BYTES, &more,
				   error_r) < 0)
			return -1;
	return 0;
}

/* copy_fts gives the copy to_row the index row of from (the text is not
 * read again); the copy of a message without one (in the backlog) is
 * marked too. */
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
	if (rc == SQLITE_DONE)
		ret = fts_mark(s, to_row, error_r);
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

/* sqlite_text_catch_up: see store_text_catch_up (store.h). */
int sqlite_text_catch_up(struct store *store, const char *mailbox, const char **error_r)
{
	return fts_catch_up(sqlite_store(store), mailbox, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

/* sqlite_text_search: the mailbox's backlog is indexed first (the answer
 * is exact however far the idle indexing has got); see search_stmt for how
 * each search runs. */
int sqlite_text_search(struct store *store, const char *mailbox,
			      enum store_text_field field, const char *text, uint32_t **uids_r,
			      size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	struct buf query;

	if (fts_catch_up(s, mailbox, error_r) < 0)
		return STORE_ERROR;
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
