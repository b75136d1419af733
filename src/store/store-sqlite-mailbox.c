/*
 * store-sqlite-mailbox: mailboxes: their rows (UIDVALIDITY, UIDNEXT,
 * HIGHESTMODSEQ), the default ones of a new account, and the IMAP calls
 * that list, create, delete, rename and subscribe them and claim \Recent.
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

/*
 * next_uidvalidity gives a UIDVALIDITY for a new mailbox: the current time,
 * but always above every earlier one, so a mailbox deleted and created
 * again within a second still gets a new value (RFC 9051 2.3.1.1).
 */
static int next_uidvalidity(struct sqlite_store *s, uint32_t *value_r, const char **error_r)
{
	int64_t last;

	if (db_query_int(s, STMT_LAST_UIDVALIDITY, NULL, &last, error_r) < 0)
		return -1;
	int64_t now = (int64_t)time(NULL);
	int64_t next = now > last ? now : last + 1;
	/* Past 2106 (or a clock far off): start again low, still non-zero. */
	if (next <= 0 || next > UINT32_MAX)
		next = 1;
	if (db_meta_set(s, "last_uidvalidity", next, error_r) < 0)
		return -1;
	*value_r = (uint32_t)next;
	return 0;
}

/* mailbox_insert creates one empty mailbox (inside the caller's
 * transaction); a name that exists already is left as it is. */
static int mailbox_insert(struct sqlite_store *s, const char *name,
			  enum store_special_use special_use, bool subscribed,
			  const char **error_r)
{
	uint32_t uidvalidity;

	if (next_uidvalidity(s, &uidvalidity, error_r) < 0)
		return -1;
	sqlite3_stmt *st = db_stmt(s, STMT_MAILBOX_INSERT, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, name);
	sql_bind_i64(&b, special_use);
	sql_bind_i64(&b, uidvalidity);
	sql_bind_i64(&b, subscribed);
	sql_bind_i64(&b, (int64_t)time(NULL));
	return db_bind_run(s, &b, "create mailbox", error_r);
}

/* create_default_mailboxes makes the mailboxes every new account has. */
int create_default_mailboxes(struct sqlite_store *s, const char **error_r)
{
	static const struct {
		const char *name;
		enum store_special_use special_use;
	} defaults[] = {
		{ "INBOX", STORE_SPECIAL_INBOX },   { "Sent", STORE_SPECIAL_SENT },
		{ "Drafts", STORE_SPECIAL_DRAFTS }, { "Trash", STORE_SPECIAL_TRASH },
		{ "Junk", STORE_SPECIAL_JUNK },     { "Archive", STORE_SPECIAL_ARCHIVE },
	};

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (mailbox_insert(s, defaults[i].name, defaults[i].special_use, true, error_r) < 0)
			return -1;
	return 0;
}

/* mailbox_get looks a mailbox up by name; *found_r says whether it exists. */
int mailbox_get(struct sqlite_store *s, const char *name, struct mailbox_row *row_r,
		       bool *found_r, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_MAILBOX_GET, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, name);
	int ret = db_bind_check(s, &b, error_r);
	*found_r = false;
	if (ret == 0) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*found_r = true;
			row_r->id = sqlite3_column_int64(st, 0);
			row_r->uidnext = sqlite3_column_int64(st, 1);
			row_r->highestmodseq = sqlite3_column_int64(st, 2);
		} else if (rc != SQLITE_DONE) {
			ret = db_sql_fail(s, "mailbox lookup", error_r);
		}
	}
	sql_stmt_done(st);
	return ret;
}

/* mailbox_require is mailbox_get where a missing mailbox is an error. */
int mailbox_require(struct sqlite_store *s, const char *name, struct mailbox_row *row_r,
			   const char **error_r)
{
	bool found;

	if (mailbox_get(s, name, row_r, &found, error_r) < 0)
		return -1;
	if (!found)
		return db_fail(s, error_r, "store: no such mailbox: %s", name);
	return 0;
}

/* mailbox_advance sets a mailbox's UIDNEXT and HIGHESTMODSEQ. */
int mailbox_advance(struct sqlite_store *s, int64_t id, int64_t uidnext,
			   uint64_t highestmodseq, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_MAILBOX_ADVANCE, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, id);
	sql_bind_i64(&b, uidnext);
	sql_bind_u64(&b, highestmodseq);
	return db_bind_run(s, &b, "advance mailbox", error_r);
}

/* sqlite_mailbox_list reads all mailboxes with their counts in one query
 * (so one snapshot), INBOX first, then by name in byte order. */
int sqlite_mailbox_list(struct store *store, struct store_mailbox **list_r,
			       size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct store_mailbox *list = NULL;
	size_t count = 0, cap = 0;
	int rc, ret = 0;

	if (db_no_batch(s, error_r) < 0)
		return -1;
	sqlite3_stmt *st = db_stmt(s, STMT_MAILBOX_LIST, error_r);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t new_cap = cap == 0 ? 16 : cap * 2;
			struct store_mailbox *p = reallocarray(list, new_cap, sizeof(*list));
			if (p == NULL) {
				ret = db_fail(s, error_r, "store: out of memory");
				break;
			}
			list = p;
			cap = new_cap;
		}
		struct store_mailbox *m = &list[count];
		memset(m, 0, sizeof(*m));
		const char *name = (const char *)sqlite3_column_text(st, 1);
		m->name = strdup(name != NULL ? name : "");
		if (m->name == NULL) {
			ret = db_fail(s, error_r, "store: out of memory");
			break;
		}
		count++;
		m->id = sqlite3_column_int64(st, 0);
		m->special_use = (enum store_special_use)sqlite3_column_int(st, 2);
		m->uidvalidity = (uint32_t)sqlite3_column_int64(st, 3);
		m->uidnext = (uint32_t)sqlite3_column_int64(st, 4);
		m->highestmodseq = (uint64_t)sqlite3_column_int64(st, 5);
		m->subscribed = sqlite3_column_int(st, 6) != 0;
		m->messages = (uint64_t)sqlite3_column_int64(st, 7);
		m->unseen = (uint64_t)sqlite3_column_int64(st, 8);
		m->bytes = (uint64_t)sqlite3_column_int64(st, 9);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_sql_fail(s, "list mailboxes", error_r);
	sql_stmt_done(st);
	if (ret < 0) {
		store_mailbox_list_free(&list, count);
		return -1;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

/* mailbox_open opens a transaction (a write one with write) and finds the
 * mailbox: STORE_OK with the transaction open, or STORE_NOT_FOUND or
 * STORE_ERROR with it closed. */
static int mailbox_open(struct sqlite_store *s, const char *name, bool write,
			struct mailbox_row *mb, const char **error_r)
{
	bool found;
	if ((write ? db_begin_write(s, error_r) : db_read_begin(s, error_r)) < 0)
		return STORE_ERROR;
	if (mailbox_get(s, name, mb, &found, error_r) < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	if (!found)
		return db_status_fail(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	return STORE_OK;
}

int mailbox_read(struct sqlite_store *s, const char *name, struct mailbox_row *mb,
			const char **error_r)
{
	return mailbox_open(s, name, false, mb, error_r);
}

int mailbox_write(struct sqlite_store *s, const char *name, struct mailbox_row *mb,
			 const char **error_r)
{
	return mailbox_open(s, name, true, mb, error_r);
}

/* mailbox_row_read runs statement id (its ?1 the name; its columns 0..6
 * id, name, special_use, uidvalidity, uidnext, highestmodseq, subscribed)
 * and fills those of box_r (zeroed by the caller; the name malloc'd).
 * STORE_OK with *st_r on the row (the caller reads the other columns,
 * then sql_stmt_done), STORE_NOT_FOUND or STORE_ERROR with *st_r NULL. */
static int mailbox_row_read(struct sqlite_store *s, enum stmt_id id, const char *name,
			    struct store_mailbox *box_r, sqlite3_stmt **st_r, const char **error_r)
{
	*st_r = NULL;
	sqlite3_stmt *st = db_stmt(s, id, error_r);
	if (st == NULL)
		return STORE_ERROR;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, name);
	int rc = db_bind_check(s, &b, error_r) < 0 ? SQLITE_ERROR : sqlite3_step(st);
	int ret = STORE_OK;
	if (rc == SQLITE_ROW) {
		box_r->id = sqlite3_column_int64(st, 0);
		box_r->name = strdup((const char *)sqlite3_column_text(st, 1));
		box_r->special_use = (enum store_special_use)sqlite3_column_int(st, 2);
		box_r->uidvalidity = (uint32_t)sqlite3_column_int64(st, 3);
		box_r->uidnext = (uint32_t)sqlite3_column_int64(st, 4);
		box_r->highestmodseq = (uint64_t)sqlite3_column_int64(st, 5);
		box_r->subscribed = sqlite3_column_int(st, 6) != 0;
		if (box_r->name == NULL)
			ret = db_fail(s, error_r, "store: out of memory");
	} else if (rc == SQLITE_DONE) {
		*error_r = "No such mailbox";
		ret = STORE_NOT_FOUND;
	} else if (b.rc == SQLITE_OK) {
		ret = db_sql_fail(s, "mailbox", error_r);
	} else {
		ret = STORE_ERROR;   /* db_bind_check said why */
	}
	if (ret != STORE_OK) {
		sql_stmt_done(st);
		return ret;
	}
	*st_r = st;
	return STORE_OK;
}

int sqlite_mailbox_get(struct store *store, const char *name, struct store_mailbox *box_r,
			      const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	if (db_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st;
	int ret = mailbox_row_read(s, STMT_MAILBOX_STATUS, name, box_r, &st, error_r);
	if (ret == STORE_OK) {
		box_r->messages = (uint64_t)sqlite3_column_int64(st, 7);
		box_r->unseen = (uint64_t)sqlite3_column_int64(st, 8);
		box_r->bytes = (uint64_t)sqlite3_column_int64(st, 9);
		box_r->recent = (uint64_t)sqlite3_column_int64(st, 10);
		sql_stmt_done(st);
	}
	return ret;
}

int sqlite_mailbox_claim_recent(struct store *store, const char *name, uint32_t *first_r,
				       uint32_t *next_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	int64_t first;
	struct mailbox_row mb;
	int64_t unchanged;

	/* Usually nothing arrived since the last claim: answer that without
	 * the write lock and the commit's sync (every SELECT asks). */
	if (db_no_batch(s, error_r) < 0 ||
	    db_query_int(s, STMT_RECENT_UNCHANGED, name, &unchanged, error_r) < 0)
		return STORE_ERROR;
	if (unchanged > 0) {
		*first_r = *next_r = (uint32_t)(unchanged > UINT32_MAX ? UINT32_MAX : unchanged);
		return STORE_OK;
	}
	int opened = mailbox_write(s, name, &mb, error_r);
	if (opened != STORE_OK)
		return opened;
	if (db_query_int(s, STMT_RECENT_FIRST, name, &first, error_r) < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	if (first < mb.uidnext) {
		sqlite3_stmt *st = db_stmt(s, STMT_RECENT_SET, error_r);
		struct sql_binder b = sql_binder(st);
		if (st != NULL) {
			sql_bind_i64(&b, mb.id);
			sql_bind_i64(&b, mb.uidnext);
		}
		if (st == NULL || db_bind_run(s, &b, "claim recent", error_r) < 0 ||
		    db_commit(s, error_r) < 0) {
			db_rollback(s);
			return STORE_ERROR;
		}
	} else {
		db_rollback(s);
	}
	*first_r = (uint32_t)(first < mb.uidnext ? first : mb.uidnext);
	*next_r = (uint32_t)(mb.uidnext > UINT32_MAX ? UINT32_MAX : mb.uidnext);
	return STORE_OK;
}

/* mailbox_room says whether one more mailbox may be made: STORE_OK,
 * STORE_LIMIT (STORE_MAILBOXES_MAX reached) or STORE_ERROR. */
static int mailbox_room(struct sqlite_store *s, const char **error_r)
{
	int64_t count;

	if (db_query_int(s, STMT_MAILBOX_COUNT, NULL, &count, error_r) < 0)
		return STORE_ERROR;
	return count < STORE_MAILBOXES_MAX ? STORE_OK : STORE_LIMIT;
}

int sqlite_mailbox_create(struct store *store, const char *name, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	bool found;

	if (db_begin_write(s, error_r) < 0)
		return STORE_ERROR;
	int room = mailbox_room(s, error_r);
	if (room == STORE_ERROR || mailbox_get(s, name, &mb, &found, error_r) < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	if (found)
		return db_status_fail(s, STORE_EXISTS, error_r, "Mailbox already exists");
	if (room == STORE_LIMIT)
		return db_status_fail(s, STORE_LIMIT, error_r, "Too many mailboxes");
	if (mailbox_insert(s, name, STORE_SPECIAL_NONE, false, error_r) < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	return db_commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

int sqlite_mailbox_delete(struct store *store, const char *name, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;

	if (strcmp(name, "INBOX") == 0) {
		*error_r = "INBOX cannot be deleted";
		return STORE_NOT_ALLOWED;
	}
	int opened = mailbox_write(s, name, &mb, error_r);
	if (opened != STORE_OK)
		return opened;
	/* The index rows first: the mailbox's messages go with it (ON DELETE
	 * CASCADE), and with them the ids that name the index rows. */
	int ret = -1;
	for (enum stmt_id id = STMT_MAILBOX_UNINDEX; id <= STMT_MAILBOX_DELETE; id++) {
		sqlite3_stmt *st = db_stmt(s, id, error_r);
		if (st == NULL)
			break;
		struct sql_binder b = sql_binder(st);
		sql_bind_i64(&b, mb.id);
		if ((ret = db_bind_run(s, &b, "delete mailbox", error_r)) < 0)
			break;
	}
	if (ret < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	return db_commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

/*
 * rename_inbox moves every INBOX message into the new mailbox to, inside
 * the caller's transaction: a MOVE of them all (UIDs 1..n in their order,
 * expunged from INBOX for QRESYNC), so INBOX stays, empty, with its
 * UIDVALIDITY and UIDNEXT.  STORE_OK, STORE_LIMIT or STORE_ERROR.
 */
static int rename_inbox(struct sqlite_store *s, const char *to, const char **error_r)
{
	struct mailbox_row inbox, dst;
	struct store_message *list = NULL;
	struct copy_set c = { NULL, NULL, NULL, 0, 0 };
	size_t n = 0;

	int ret = mailbox_room(s, error_r);
	if (ret != STORE_OK)
		return ret;
	if (mailbox_require(s, "INBOX", &inbox, error_r) < 0 ||
	    mailbox_insert(s, to, STORE_SPECIAL_NONE, false, error_r) < 0 ||
	    mailbox_require(s, to, &dst, error_r) < 0 ||
	    message_rows(s, inbox.id, &list, &n, error_r) < 0)
		return STORE_ERROR;
	uint32_t *uids = calloc(n + 1, sizeof(*uids));
	if (uids == NULL)
		ret = db_fail(s, error_r, "store: out of memory");
	for (size_t i = 0; uids != NULL && i < n; i++)
		uids[i] = list[i].uid;
	if (ret == STORE_OK)
		ret = copy_locked(s, &inbox, &dst, uids, n, true, &c, error_r);
	copy_set_free(&c);
	free(uids);
	free(list);
	return ret;
}

int sqlite_mailbox_rename(struct store *store, const char *from, const char *to,
				 const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	struct mailbox_row mb;
	bool found;
	size_t fl = strlen(from), tl = strlen(to);

	if (strcmp(to, "INBOX") == 0 || strcmp(from, to) == 0 ||
	    (strncmp(to, from, fl) == 0 && to[fl] == '/')) {
		*error_r = "Cannot rename a mailbox into itself or onto INBOX";
		return STORE_NOT_ALLOWED;
	}
	if (db_begin_write(s, error_r) < 0)
		return STORE_ERROR;
	if (mailbox_get(s, from, &mb, &found, error_r) < 0)
		goto failed;
	if (!found)
		return db_status_fail(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	if (mailbox_get(s, to, &mb, &found, error_r) < 0)
		goto failed;
	if (found)
		return db_status_fail(s, STORE_EXISTS, error_r, "Target mailbox exists");
	if (strcmp(from, "INBOX") == 0) {
		int ret = rename_inbox(s, to, error_r);
		if (ret == STORE_LIMIT)
			return db_status_fail(s, STORE_LIMIT, error_r, "Too many mailboxes");
		if (ret != STORE_OK)
			goto failed;
		return db_commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
	}
	/* The mailbox and its children: every new name must be free. */
	sqlite3_stmt *list = db_stmt(s, STMT_MAILBOX_FAMILY, error_r);
	sqlite3_stmt *upd = list == NULL ? NULL : db_stmt(s, STMT_MAILBOX_RENAME, error_r);
	int ret = upd == NULL ? STORE_ERROR : STORE_OK;
	if (upd != NULL) {
		struct sql_binder b = sql_binder(list);
		sql_bind_cstr(&b, from);
		sql_bind_i64(&b, (int64_t)fl + 1);
		if (db_bind_check(s, &b, error_r) < 0)
			ret = STORE_ERROR;
		while (ret == STORE_OK && sqlite3_step(list) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(list, 1);
			size_t rest = strlen(name) - fl;
			char *new_name = malloc(tl + rest + 1);
			if (new_name == NULL) {
				ret = db_fail(s, error_r, "store: out of memory");
				break;
			}
			memcpy(new_name, to, tl);
			memcpy(new_name + tl, name + fl, rest + 1);
			b = sql_binder(upd);
			sql_bind_i64(&b, sqlite3_column_int64(list, 0));
			sql_bind_cstr(&b, new_name);
			int rc = b.rc == SQLITE_OK ? sqlite3_step(upd) : b.rc;
			if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT)
				ret = STORE_EXISTS;
			else if (rc != SQLITE_DONE)
				ret = db_sql_fail(s, "rename", error_r);
			sql_stmt_done(upd);
			free(new_name);
		}
		sql_stmt_done(list);
	}
	if (ret == STORE_EXISTS)
		return db_status_fail(s, STORE_EXISTS, error_r, "A renamed child mailbox exists");
	if (ret != STORE_OK)
		goto failed;
	return db_commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
failed:
	db_rollback(s);
	return STORE_ERROR;
}

int sqlite_mailbox_subscribe(struct store *store, const char *name, bool subscribed,
				    const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	int64_t kept;
	if (db_begin_write(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st = db_stmt(s, STMT_MAILBOX_SUBSCRIBE, error_r);
	struct sql_binder b = sql_binder(st);
	if (st != NULL) {
		sql_bind_cstr(&b, name);
		sql_bind_i64(&b, subscribed);
	}
	if (st == NULL || db_bind_run(s, &b, "subscribe", error_r) < 0) {
		db_rollback(s);
		return STORE_ERROR;
	}
	/* No such mailbox: the name itself is kept, or no longer. */
	if (sqlite3_changes(s->db) == 0 || !subscribed) {
		st = db_stmt(s, subscribed ? STMT_SUBSCRIPTION_ADD : STMT_SUBSCRIPTION_REMOVE,
			     error_r);
		b = sql_binder(st);
		if (st != NULL)
			sql_bind_cstr(&b, name);
		if (st == NULL || db_bind_run(s, &b, "subscribe", error_r) < 0) {
			db_rollback(s);
			return STORE_ERROR;
		}
		/* Counted once a new name is in: one already kept stays OK. */
		if (subscribed && sqlite3_changes(s->db) > 0) {
			if (db_query_int(s, STMT_SUBSCRIPTION_COUNT, NULL, &kept, error_r) < 0) {
				db_rollback(s);
				return STORE_ERROR;
			}
			if (kept > STORE_SUBSCRIPTIONS_MAX)
				return db_status_fail(s, STORE_LIMIT, error_r,
						      "Too many subscriptions");
		}
	}
	return db_commit(s, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

int sqlite_subscription_list(struct store *store, char ***names_r, size_t *count_r,
			     const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	char **names = NULL;
	size_t count = 0;
	int rc, ret = 0;

	if (db_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st = db_stmt(s, STMT_SUBSCRIPTION_LIST, error_r);
	if (st == NULL)
		return STORE_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && count < STORE_SUBSCRIPTIONS_MAX) {
		char **p = reallocarray(names, count + 1, sizeof(*names));
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (p != NULL)
			names = p;
		if (p == NULL || (names[count] = strdup(name != NULL ? name : "")) == NULL) {
			ret = db_fail(s, error_r, "store: out of memory");
			break;
		}
		count++;
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_sql_fail(s, "list subscriptions", error_r);
	sql_stmt_done(st);
	if (ret < 0) {
		store_subscription_list_free(&names, count);
		return STORE_ERROR;
	}
	*names_r = names;
	*count_r = count;
	return STORE_OK;
}


/* view_query gives statement id with mailbox_id bound as ?1, or NULL. */
static sqlite3_stmt *view_query(struct sqlite_store *s, enum stmt_id id, int64_t mailbox_id,
				const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, id, error_r);
	if (st == NULL)
		return NULL;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, mailbox_id);
	if (db_bind_check(s, &b, error_r) < 0) {
		sql_stmt_done(st);
		return NULL;
	}
	return st;
}

/* view_first_unseen sets *uid_r to the first UID without \Seen (0: none). */
static int view_first_unseen(struct sqlite_store *s, int64_t mailbox_id, uint32_t *uid_r,
			     const char **error_r)
{
	sqlite3_stmt *st = view_query(s, STMT_VIEW_FIRST_UNSEEN, mailbox_id, error_r);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st), ret = 0;
	if (rc == SQLITE_ROW)
		*uid_r = (uint32_t)sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		ret = db_sql_fail(s, "first unseen", error_r);
	sql_stmt_done(st);
	return ret;
}

/* sqlite_mailbox_view: see store_mailbox_view; one read transaction for the
 * mailbox row, its UIDs (from the (mailbox_id, uid) index, never the
 * rows) and the first unseen (from messages_unseen). */
int sqlite_mailbox_view(struct store *store, const char *name, struct store_mailbox *box_r,
			uint32_t **uids_r, uint32_t *first_unseen_r, const char **error_r)
{
	struct sqlite_store *s = sqlite_store(store);
	int64_t first_recent = 0;
	uint32_t *uids = NULL;
	size_t count = 0;

	if (db_read_begin(s, error_r) < 0)
		return STORE_ERROR;
	sqlite3_stmt *st;
	int ret = mailbox_row_read(s, STMT_VIEW_MAILBOX, name, box_r, &st, error_r);
	if (ret == STORE_OK) {
		first_recent = sqlite3_column_int64(st, 7);
		sql_stmt_done(st);
	}
	if (ret == STORE_OK) {
		/* The UIDs from the (mailbox_id, uid) index, never the rows. */
		sqlite3_stmt *uq = view_query(s, STMT_VIEW_UIDS, box_r->id, error_r);
		if (uq == NULL || uids_collect(s, uq, &uids, &count, error_r) < 0 ||
		    view_first_unseen(s, box_r->id, first_unseen_r, error_r) < 0 ||
		    db_run(s, STMT_COMMIT, error_r) < 0)
			ret = STORE_ERROR;
	}
	if (ret != STORE_OK) {
		db_rollback(s);
		free(uids);
		free(box_r->name);
		box_r->name = NULL;
		*first_unseen_r = 0;
		return ret;
	}
	/* The UIDs from first_recent on are not yet claimed (\Recent). */
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((int64_t)uids[mid] < first_recent)
			lo = mid + 1;
		else
			hi = mid;
	}
	box_r->messages = count;
	box_r->recent = count - lo;
	*uids_r = uids;
	return STORE_OK;
}
