/*
 * store-sqlite-flags: the account's keyword names and the flag updates of
 * STORE (one new MODSEQ per call for the messages that change,
 * CONDSTORE's UNCHANGEDSINCE).
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

void keywords_forget(struct sqlite_store *s)
{
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++) {
		free(s->keywords[i]);
		s->keywords[i] = NULL;
	}
	s->keyword_count = 0;
	s->keywords_loaded = false;
}

static int keywords_load(struct sqlite_store *s, const char **error_r)
{
	if (s->keywords_loaded)
		return 0;
	keywords_forget(s);
	sqlite3_stmt *st = db_stmt(s, STMT_KEYWORD_LIST, error_r);
	if (st == NULL)
		return -1;
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t bit = sqlite3_column_int64(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (bit < 0 || bit >= STORE_KEYWORDS_MAX || name == NULL)
			continue;
		if ((s->keywords[bit] = strdup(name)) == NULL) {
			ret = db_fail(s, error_r, "store: out of memory");
			break;
		}
		s->keyword_count = (size_t)bit + 1;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_sql_fail(s, "keywords", error_r);
	sql_stmt_done(st);
	if (ret == 0)
		s->keywords_loaded = true;
	else
		keywords_forget(s);
	return ret;
}

int sqlite_keyword_list(struct store *store, const char *const **names_r,
			       size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (keywords_load(s, error_r) < 0)
		return STORE_ERROR;
	*names_r = (const char *const *)s->keywords;
	*count_r = s->keyword_count;
	return STORE_OK;
}

int sqlite_keyword_index(struct store *store, const char *name, bool create,
				unsigned *index_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (keywords_load(s, error_r) < 0)
		return STORE_ERROR;
	int free_bit = -1;
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++) {
		if (s->keywords[i] != NULL && strcasecmp(s->keywords[i], name) == 0) {
			*index_r = (unsigned)i;
			return STORE_OK;
		}
		if (s->keywords[i] == NULL && free_bit < 0)
			free_bit = (int)i;
	}
	if (!create) {
		*error_r = "No such keyword";
		return STORE_NOT_FOUND;
	}
	if (free_bit < 0) {
		*error_r = "Too many keywords in this account";
		return STORE_LIMIT;
	}
	if (db_begin_write(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st = db_stmt(s, STMT_KEYWORD_ADD, error_r);
	int ret = -1;
	if (st != NULL) {
		struct sql_binder b = sql_binder(st);
		sql_bind_i64(&b, free_bit);
		sql_bind_cstr(&b, name);
		ret = db_bind_run(s, &b, "add keyword", error_r);
	}
	if (ret < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	if (db_commit(s, error_r) < 0)
		return STORE_ERROR;
	/* Another process may have added it meanwhile: read the table again. */
	s->keywords_loaded = false;
	if (keywords_load(s, error_r) < 0)
		return STORE_ERROR;
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (s->keywords[i] != NULL && strcasecmp(s->keywords[i], name) == 0) {
			*index_r = (unsigned)i;
			return STORE_OK;
		}
	*error_r = "Too many keywords in this account";
	return STORE_LIMIT;
}

/* What a flags update did: the messages changed (new state) and the UIDs
 * refused by UNCHANGEDSINCE, both in UID order. */
struct flags_result {
	struct store_message *changed;
	uint32_t *failed;
	size_t changed_count, failed_count;
};

/* flags_apply changes m's flags and keywords as a STORE of mode does. */
static void flags_apply(enum store_flags_mode mode, uint32_t flags, uint64_t keywords,
			struct store_message *m)
{
	switch (mode) {
	case STORE_FLAGS_SET:
		m->flags = flags;
		m->keywords = keywords;
		break;
	case STORE_FLAGS_ADD:
		m->flags |= flags;
		m->keywords |= keywords;
		break;
	case STORE_FLAGS_REMOVE:
		m->flags &= ~flags;
		m->keywords &= ~keywords;
		break;
	}
}

/* flags_store writes message row's new state. */
static int flags_store(struct sqlite_store *s, int64_t row, const struct store_message *m,
		       const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_FLAGS_SET, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, row);
	sql_bind_i64(&b, m->flags);
	sql_bind_i64(&b, (int64_t)m->keywords);
	sql_bind_u64(&b, m->modseq);
	return db_bind_run(s, &b, "update flags", error_r);
}

/* flags_locked does a flags update inside the caller's write transaction:
 * one new MODSEQ for every message that really changes. */
static int flags_locked(struct sqlite_store *s, const struct mailbox_row *mb, const uint32_t *uids,
			size_t count, enum store_flags_mode mode, uint32_t flags,
			uint64_t keywords, uint64_t unchangedsince, struct flags_result *r,
			const char **error_r)
{
	sqlite3_stmt *get = db_stmt(s, STMT_MESSAGE_ROW, error_r);
	uint64_t modseq = (uint64_t)mb->highestmodseq + 1;
	int ret = 0;

	if (get == NULL)
		return -1;
	r->changed = calloc(count + 1, sizeof(*r->changed));
	r->failed = calloc(count + 1, sizeof(*r->failed));
	if (r->changed == NULL || r->failed == NULL)
		return db_fail(s, error_r, "store: out of memory");
	for (size_t i = 0; ret == 0 && i < count; i++) {
		struct store_message m, was;
		int64_t row;
		bool found;
		ret = message_row_get(s, get, mb->id, uids[i], &m, &row, &found, error_r);
		if (ret < 0 || !found)
			continue;
		if (unchangedsince > 0 && m.modseq > unchangedsince) {
			r->failed[r->failed_count++] = uids[i];
			continue;
		}
		was = m;
		flags_apply(mode, flags, keywords, &m);
		if (m.flags == was.flags && m.keywords == was.keywords)
			continue;
		m.modseq = modseq;
		r->changed[r->changed_count++] = m;
		sql_stmt_done(get);
		ret = flags_store(s, row, &m, error_r);
	}
	sql_stmt_done(get);
	if (ret == 0 && r->changed_count > 0)
		ret = mailbox_advance(s, mb->id, mb->uidnext, modseq, error_r);
	return ret;
}

/* sqlite_flags_update: one write transaction, durable on STORE_OK. */
int sqlite_flags_update(struct store *store, const char *mailbox, const uint32_t *uids,
			       size_t count, enum store_flags_mode mode, uint32_t flags,
			       uint64_t keywords, uint64_t unchangedsince,
			       struct store_message **changed_r, size_t *changed_count_r,
			       uint32_t **failed_r, size_t *failed_count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct flags_result r = { NULL, NULL, 0, 0 };
	struct mailbox_row mb;

	int opened = mailbox_write(s, mailbox, &mb, error_r);
	if (opened != STORE_OK)
		return opened;
	if (flags_locked(s, &mb, uids, count, mode, flags, keywords, unchangedsince, &r,
			 error_r) < 0 ||
	    db_commit(s, error_r) < 0) {
		db_rollback(s);
		free(r.changed);
		free(r.failed);
		return STORE_ERROR;
	}
	*changed_r = r.changed;
	*changed_count_r = r.changed_count;
	*failed_r = r.failed;
	*failed_count_r = r.failed_count;
	return STORE_OK;
}
