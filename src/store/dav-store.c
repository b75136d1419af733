/*
 * dav-store: the account's calendars and address books in dav.db (see
 * dav-store.h).  The file is apart from store.db so that a long mail
 * delivery batch never holds the write lock a calendar PUT waits for (and
 * the reverse), and so that its schema changes on its own.  Like store.db:
 * WAL with synchronous=FULL (a COMMIT returns after the WAL is fsynced),
 * defensive mode, temp_store=MEMORY (nothing is opened outside the account
 * directory), statements prepared once and kept.
 *
 * This file: opening and the schema, running SQL, collections, tokens and
 * ETags.  dav-store-object.c: objects and the change log.
 */
#include "dav-store-private.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

/* Errors of dav_store_open outlive the store they came from. */
static _Thread_local char open_error[DAV_ERROR_MAX];

/* The schema, version 1 (PRAGMA user_version).  Object data comes last in
 * its row, so a scan of the other columns stops before its overflow pages. */
static const char schema_v1[] =
	"CREATE TABLE collections ("
	" id INTEGER PRIMARY KEY,"
	" home INTEGER NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
	" displayname TEXT, color TEXT, description TEXT, timezone TEXT, sort_order INTEGER,"
	" components INTEGER NOT NULL,"
	" sync INTEGER NOT NULL,"     /* the last change number */
	" oldest INTEGER NOT NULL,"   /* deletions up to this one are forgotten */
	" UNIQUE (home, name));"
	"CREATE TABLE objects ("
	" id INTEGER PRIMARY KEY,"
	" collection INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, uid TEXT NOT NULL, etag TEXT NOT NULL,"
	" change INTEGER NOT NULL, size INTEGER NOT NULL, component INTEGER NOT NULL,"
	" first INTEGER NOT NULL, last INTEGER NOT NULL, data BLOB NOT NULL,"
	" UNIQUE (collection, name));"
	"CREATE INDEX objects_uid ON objects (collection, uid);"
	/* Sizes summed from the index alone: a home's PROPFIND and the usage
	 * never read the rows (a large object's row spans many pages). */
	"CREATE INDEX objects_size ON objects (collection, size);"
	/* The log holds each name's latest change: live rows mirror objects,
	 * deleted ones are the tombstones sync-collection reports. */
	"CREATE TABLE changes ("
	" collection INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, change INTEGER NOT NULL, deleted INTEGER NOT NULL,"
	" PRIMARY KEY (collection, name)) WITHOUT ROWID;"
	"CREATE INDEX changes_order ON changes (collection, change);"
	"CREATE INDEX changes_deleted ON changes (collection, deleted, change);"
	"PRAGMA user_version = 1;";

#define COLL_COLUMNS                                                                         \
	"SELECT c.id, c.kind, c.name, c.displayname, c.color, c.description, c.timezone,"   \
	" c.sort_order, c.components, c.sync,"                                               \
	" (SELECT count(*) FROM objects o WHERE o.collection = c.id),"                      \
	" (SELECT coalesce(sum(o.size), 0) FROM objects o WHERE o.collection = c.id)"       \
	" FROM collections c "
#define OBJ_COLUMNS "SELECT id, collection, name, uid, etag, change, size, component, first, last"

static const char *const stmt_sql[DS_COUNT] = {
	[DS_BEGIN] = "BEGIN",
	[DS_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[DS_COMMIT] = "COMMIT",
	[DS_ROLLBACK] = "ROLLBACK",
	[DS_COLL_LIST] = COLL_COLUMNS "ORDER BY c.home, c.name",
	[DS_COLL_LIST_HOME] = COLL_COLUMNS "WHERE c.home = ?1 ORDER BY c.name",
	[DS_COLL_GET] = COLL_COLUMNS "WHERE c.home = ?1 AND c.name = ?2",
	[DS_COLL_COUNT] = "SELECT count(*) FROM collections",
	[DS_COLL_INSERT] =
		"INSERT INTO collections (home, kind, name, displayname, color, description,"
		" timezone, sort_order, components, sync, oldest)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, 0)",
	[DS_COLL_UPDATE] =
		"UPDATE collections SET displayname = ?2, color = ?3, description = ?4,"
		" timezone = ?5, sort_order = ?6, components = ?7 WHERE id = ?1",
	[DS_COLL_KIND] = "SELECT kind FROM collections WHERE id = ?1",
	[DS_COLL_DELETE] = "DELETE FROM collections WHERE id = ?1",
	[DS_COLL_SYNC] = "SELECT sync, oldest FROM collections WHERE id = ?1",
	[DS_COLL_BUMP] = "UPDATE collections SET sync = sync + 1 WHERE id = ?1 RETURNING sync",
	[DS_COLL_FORGET] = "UPDATE collections SET oldest = ?2 WHERE id = ?1",
	[DS_OBJ_GET] = OBJ_COLUMNS " FROM objects WHERE collection = ?1 AND name = ?2",
	[DS_OBJ_GET_DATA] = OBJ_COLUMNS ", data FROM objects WHERE collection = ?1 AND name = ?2",
	[DS_OBJ_BY_UID] = OBJ_COLUMNS " FROM objects WHERE collection = ?1 AND uid = ?2",
	[DS_OBJ_UID_OTHER] =
		"SELECT name FROM objects WHERE collection = ?1 AND uid = ?2"
		" AND name <> ?3 AND name <> ?4 LIMIT 1",
	[DS_OBJ_EACH] = OBJ_COLUMNS " FROM objects WHERE collection = ?1"
		" AND last >= ?2 AND first <= ?3 ORDER BY name",
	[DS_OBJ_EACH_DATA] = OBJ_COLUMNS ", data FROM objects WHERE collection = ?1"
		" AND last >= ?2 AND first <= ?3 ORDER BY name",
	[DS_OBJ_COUNT] = "SELECT count(*) FROM objects WHERE collection = ?1",
	[DS_OBJ_UPSERT] =
		"INSERT INTO objects (collection, name, uid, etag, change, size, component,"
		" first, last, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
		" ON CONFLICT (collection, name) DO UPDATE SET uid = excluded.uid,"
		" etag = excluded.etag, change = excluded.change, size = excluded.size,"
		" component = excluded.component, first = excluded.first,"
		" last = excluded.last, data = excluded.data",
	[DS_OBJ_DELETE] = "DELETE FROM objects WHERE collection = ?1 AND name = ?2",
	[DS_CHANGE_SET] =
		"INSERT INTO changes (collection, name, change, deleted) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (collection, name) DO UPDATE SET change = excluded.change,"
		" deleted = excluded.deleted",
	[DS_CHANGES_SINCE] =
		"SELECT name, deleted, change FROM changes WHERE collection = ?1 AND change > ?2"
		" AND (?2 > 0 OR deleted = 0) ORDER BY change",
	[DS_DELETED_COUNT] = "SELECT count(*) FROM changes WHERE collection = ?1 AND deleted = 1",
	[DS_DELETED_NTH] =
		"SELECT change FROM changes WHERE collection = ?1 AND deleted = 1"
		" ORDER BY change LIMIT 1 OFFSET ?2",
	[DS_DELETED_PRUNE] =
		"DELETE FROM changes WHERE collection = ?1 AND deleted = 1 AND change <= ?2",
	[DS_USAGE] = "SELECT coalesce(sum(size), 0) FROM objects",
};

/* ds_fail: see dav-store-private.h. */
int ds_fail(struct dav_store *s, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	*error_r = s->error;
	return -1;
}

/* ds_sql_fail: see dav-store-private.h. */
int ds_sql_fail(struct dav_store *s, const char *what, const char **error_r)
{
	return ds_fail(s, error_r, "dav-store: %s: %s", what, sqlite3_errmsg(s->db));
}

/* ds_stmt: see dav-store-private.h. */
sqlite3_stmt *ds_stmt(struct dav_store *s, enum dav_stmt id, const char **error_r)
{
	assert(id < DS_COUNT && stmt_sql[id] != NULL);
	sqlite3_stmt *st = sql_stmt(s->db, &s->stmts[id], stmt_sql[id]);
	if (st == NULL)
		ds_sql_fail(s, "prepare", error_r);
	return st;
}

/* ds_bind_run: see dav-store-private.h. */
int ds_bind_run(struct dav_store *s, struct sql_binder *b, const char *what, const char **error_r)
{
	int ret = 0;

	if (b->rc != SQLITE_OK)
		ret = ds_fail(s, error_r, "dav-store: bind: %s", sqlite3_errstr(b->rc));
	else if (sqlite3_step(b->st) != SQLITE_DONE)
		ret = ds_sql_fail(s, what, error_r);
	sql_stmt_done(b->st);
	return ret;
}

/* ds_query_i64: see dav-store-private.h. */
int ds_query_i64(struct dav_store *s, struct sql_binder *b, int64_t *v, const char **error_r)
{
	int ret = 0;

	*v = 0;
	if (b->rc != SQLITE_OK) {
		ret = ds_fail(s, error_r, "dav-store: bind: %s", sqlite3_errstr(b->rc));
	} else {
		int rc = sqlite3_step(b->st);
		if (rc == SQLITE_ROW) {
			*v = sqlite3_column_int64(b->st, 0);
			ret = 1;
		} else if (rc != SQLITE_DONE) {
			ret = ds_sql_fail(s, "query", error_r);
		}
	}
	sql_stmt_done(b->st);
	return ret;
}

/* run_plain runs a kept statement without parameters. */
static int run_plain(struct dav_store *s, enum dav_stmt id, const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, id, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	return ds_bind_run(s, &b, stmt_sql[id], error_r);
}

/* ds_begin, ds_commit, ds_rollback: see dav-store-private.h. */
int ds_begin(struct dav_store *s, const char **error_r)
{
	return run_plain(s, DS_BEGIN_IMMEDIATE, error_r);
}

int ds_commit(struct dav_store *s, const char **error_r)
{
	if (run_plain(s, DS_COMMIT, error_r) < 0) {
		ds_rollback(s);
		return -1;
	}
	return 0;
}

void ds_rollback(struct dav_store *s)
{
	const char *ignored;
	if (!sqlite3_get_autocommit(s->db))
		(void)run_plain(s, DS_ROLLBACK, &ignored);
}

/* ds_status: see dav-store-private.h. */
int ds_status(struct dav_store *s, int status)
{
	ds_rollback(s);
	return status;
}

/* ds_column_dup: see dav-store-private.h. */
char *ds_column_dup(sqlite3_stmt *st, int col, bool *ok)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	struct str v = sql_column_str(st, col);
	char *copy = malloc(v.len + 1);
	if (copy == NULL) {
		*ok = false;
		return NULL;
	}
	memcpy(copy, v.ptr, v.len);
	copy[v.len] = '\0';
	return copy;
}

/* dav_name_valid: see dav-store.h. */
bool dav_name_valid(struct str name)
{
	if (name.len == 0 || name.len > DAV_MAX_NAME)
		return false;
	if (str_eq(name, STR(".")) || str_eq(name, STR("..")))
		return false;
	return memchr(name.ptr, '/', name.len) == NULL && memchr(name.ptr, '\0', name.len) == NULL;
}

/* dav_etag: see dav-store.h. */
void dav_etag(struct str data, char etag[48])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, (const unsigned char *)data.ptr, data.len);
	etag[0] = '"';
	sodium_bin2hex(etag + 1, 33, digest, 16);
	etag[33] = '"';
	etag[34] = '\0';
}

/* dav_sync_token: see dav-store.h. */
void dav_sync_token(int64_t collection, uint64_t change, char out[DAV_SYNC_TOKEN_MAX])
{
	snprintf(out, DAV_SYNC_TOKEN_MAX, "urn:ravelin:sync:%" PRId64 ":%" PRIu64, collection,
		 change);
}

/* dav_sync_token_parse: see dav-store.h. */
int dav_sync_token_parse(struct str token, int64_t *collection_r, uint64_t *change_r)
{
	struct str prefix = STR("urn:ravelin:sync:");
	uint64_t coll;

	if (token.len <= prefix.len || memcmp(token.ptr, prefix.ptr, prefix.len) != 0)
		return -1;
	struct str rest = str_sub(token, prefix.len, token.len - prefix.len);
	long colon = str_chr(rest, ':');
	if (colon < 0 ||
	    str_to_u64(str_sub(rest, 0, (size_t)colon), INT64_MAX, &coll) < 0 ||
	    str_to_u64(str_sub(rest, (size_t)colon + 1, rest.len), INT64_MAX, change_r) < 0)
		return -1;
	*collection_r = (int64_t)coll;
	return 0;
}

/* home_of: the home a kind lives in (0 for no kind). */
static enum dav_home home_of(enum dav_kind kind)
{
	switch (kind) {
	case DAV_CALENDAR:
	case DAV_SCHEDULE_INBOX:
	case DAV_SCHEDULE_OUTBOX:
		return DAV_HOME_CALENDAR;
	case DAV_ADDRESSBOOK:
		return DAV_HOME_ADDRESSBOOK;
	}
	return 0;
}

/* collection_row fills c from a row of COLL_COLUMNS: 0, or -1 out of memory
 * (c freed). */
static int collection_row(sqlite3_stmt *st, struct dav_collection *c)
{
	bool ok = true;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->kind = (enum dav_kind)sqlite3_column_int(st, 1);
	c->name = ds_column_dup(st, 2, &ok);
	c->displayname = ds_column_dup(st, 3, &ok);
	c->color = ds_column_dup(st, 4, &ok);
	c->description = ds_column_dup(st, 5, &ok);
	c->timezone = ds_column_dup(st, 6, &ok);
	c->has_order = sqlite3_column_type(st, 7) != SQLITE_NULL;
	c->order = sqlite3_column_int64(st, 7);
	c->components = (unsigned)sqlite3_column_int64(st, 8);
	c->sync = (uint64_t)sqlite3_column_int64(st, 9);
	c->objects = (uint64_t)sqlite3_column_int64(st, 10);
	c->bytes = (uint64_t)sqlite3_column_int64(st, 11);
	if (!ok || c->name == NULL) {
		dav_collection_free(c);
		return -1;
	}
	return 0;
}

/* dav_collection_free: see dav-store.h. */
void dav_collection_free(struct dav_collection *c)
{
	free(c->name);
	free(c->displayname);
	free(c->color);
	free(c->description);
	free(c->timezone);
	memset(c, 0, sizeof(*c));
}

/* dav_collection_list_free: see dav-store.h. */
void dav_collection_list_free(struct dav_collection *l, size_t n)
{
	for (size_t i = 0; i < n && l != NULL; i++)
		dav_collection_free(&l[i]);
	free(l);
}

/* dav_collection_list: see dav-store.h. */
int dav_collection_list(struct dav_store *s, enum dav_kind kind, struct dav_collection **out,
			size_t *n, const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, kind == 0 ? DS_COLL_LIST : DS_COLL_LIST_HOME, error_r);
	struct dav_collection *list = NULL;
	size_t count = 0;
	int rc = SQLITE_DONE, ret = 0;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	if (kind != 0)
		sql_bind_i64(&b, home_of(kind));
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* At most DAV_MAX_COLLECTIONS rows: grown one at a time. */
		struct dav_collection *grown = realloc(list, (count + 1) * sizeof(*list));
		if (grown == NULL || collection_row(st, &grown[count]) < 0) {
			if (grown != NULL)
				list = grown;
			ret = ds_fail(s, error_r, "dav-store: out of memory");
			break;
		}
		list = grown;
		count++;
	}
	if (ret == 0 && (b.rc != SQLITE_OK || rc != SQLITE_DONE))
		ret = ds_sql_fail(s, "collection list", error_r);
	sql_stmt_done(st);
	if (ret < 0) {
		dav_collection_list_free(list, count);
		return -1;
	}
	*out = list;
	*n = count;
	return 0;
}

/* dav_collection_get: see dav-store.h. */
int dav_collection_get(struct dav_store *s, enum dav_kind home, struct str name,
		       struct dav_collection *out, const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, DS_COLL_GET, error_r);
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, home_of(home));
	sql_bind_str(&b, name);
	int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc == SQLITE_ROW)
		ret = collection_row(st, out) < 0 ? ds_fail(s, error_r, "dav-store: out of memory") : 1;
	else if (rc != SQLITE_DONE)
		ret = ds_sql_fail(s, "collection get", error_r);
	sql_stmt_done(st);
	return ret;
}

/* props_too_big: a property over DAV_MAX_PROPERTY. */
static bool props_too_big(const struct dav_collection *c)
{
	const char *props[] = { c->displayname, c->color, c->description, c->timezone };
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		if (props[i] != NULL && strlen(props[i]) > DAV_MAX_PROPERTY)
			return true;
	return false;
}

/* bind_props binds c's properties as the next six parameters. */
static void bind_props(struct sql_binder *b, const struct dav_collection *c)
{
	const char *props[] = { c->displayname, c->color, c->description, c->timezone };
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		if (props[i] == NULL)
			sql_bind_null(b);
		else
			sql_bind_cstr(b, props[i]);
	}
	if (c->has_order)
		sql_bind_i64(b, c->order);
	else
		sql_bind_null(b);
	sql_bind_i64(b, c->components);
}

/* collection_insert adds c inside the caller's transaction: 0 (*id_r), 1
 * exists, DAV_PUT_TOO_MANY, -1. */
static int collection_insert(struct dav_store *s, const struct dav_collection *c, int64_t *id_r,
			     const char **error_r)
{
	struct dav_collection existing;
	int64_t count;

	int found = dav_collection_get(s, c->kind, str_c(c->name), &existing, error_r);
	if (found != 0) {
		dav_collection_free(&existing);
		return found;
	}
	sqlite3_stmt *st = ds_stmt(s, DS_COLL_COUNT, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	if (ds_query_i64(s, &b, &count, error_r) < 0)
		return -1;
	if (count >= DAV_MAX_COLLECTIONS)
		return DAV_PUT_TOO_MANY;
	if ((st = ds_stmt(s, DS_COLL_INSERT, error_r)) == NULL)
		return -1;
	b = sql_binder(st);
	sql_bind_i64(&b, home_of(c->kind));
	sql_bind_i64(&b, c->kind);
	sql_bind_cstr(&b, c->name);
	bind_props(&b, c);
	if (ds_bind_run(s, &b, "collection insert", error_r) < 0)
		return -1;
	*id_r = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* dav_collection_create: see dav-store.h. */
int dav_collection_create(struct dav_store *s, const struct dav_collection *c, int64_t *id_r,
			  const char **error_r)
{
	if (home_of(c->kind) == 0 || c->name == NULL || !dav_name_valid(str_c(c->name)))
		return ds_fail(s, error_r, "dav-store: invalid collection kind or name");
	if (props_too_big(c))
		return DAV_PUT_TOO_BIG;
	if (ds_begin(s, error_r) < 0)
		return -1;
	int ret = collection_insert(s, c, id_r, error_r);
	if (ret != 0)
		return ds_status(s, ret);
	return ds_commit(s, error_r);
}

/* collection_kind: 1 with *kind_r, 0 no such collection, -1. */
static int collection_kind(struct dav_store *s, int64_t id, int64_t *kind_r, const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, DS_COLL_KIND, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, id);
	return ds_query_i64(s, &b, kind_r, error_r);
}

/* dav_collection_update: see dav-store.h. */
int dav_collection_update(struct dav_store *s, const struct dav_collection *c, const char **error_r)
{
	int64_t kind;

	if (props_too_big(c))
		return DAV_PUT_TOO_BIG;
	if (ds_begin(s, error_r) < 0)
		return -1;
	int found = collection_kind(s, c->id, &kind, error_r);
	if (found <= 0)
		return ds_status(s, found < 0 ? -1 : 1);
	sqlite3_stmt *st = ds_stmt(s, DS_COLL_UPDATE, error_r);
	if (st == NULL)
		return ds_status(s, -1);
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, c->id);
	bind_props(&b, c);
	if (ds_bind_run(s, &b, "collection update", error_r) < 0)
		return ds_status(s, -1);
	return ds_commit(s, error_r);
}

/* dav_collection_delete: see dav-store.h. */
int dav_collection_delete(struct dav_store *s, int64_t id, const char **error_r)
{
	int64_t kind;

	if (ds_begin(s, error_r) < 0)
		return -1;
	int found = collection_kind(s, id, &kind, error_r);
	if (found <= 0)
		return ds_status(s, found < 0 ? -1 : 1);
	/* Scheduling needs them: RFC 6638 gives each calendar user one of each. */
	if (kind == DAV_SCHEDULE_INBOX || kind == DAV_SCHEDULE_OUTBOX)
		return ds_status(s, DAV_PUT_PRECONDITION);
	sqlite3_stmt *st = ds_stmt(s, DS_COLL_DELETE, error_r);
	if (st == NULL)
		return ds_status(s, -1);
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, id);
	if (ds_bind_run(s, &b, "collection delete", error_r) < 0)
		return ds_status(s, -1);
	return ds_commit(s, error_r);
}

/* The collections a new account gets; inbox and outbox are made again
 * whenever they are missing (made_always). */
static const struct {
	enum dav_kind kind;
	const char *name, *displayname;
	unsigned components;
	bool made_always;
} defaults[] = {
	{ DAV_CALENDAR, "calendar", "Calendar", DAV_COMP_VEVENT, false },
	{ DAV_CALENDAR, "tasks", "Tasks", DAV_COMP_VTODO, false },
	{ DAV_SCHEDULE_INBOX, "inbox", NULL, DAV_COMP_VEVENT | DAV_COMP_VTODO, true },
	{ DAV_SCHEDULE_OUTBOX, "outbox", NULL, DAV_COMP_VEVENT | DAV_COMP_VTODO, true },
	{ DAV_ADDRESSBOOK, "contacts", "Contacts", 0, false },
};

/* make_defaults creates the default collections (all on a new file, else
 * the missing inbox and outbox) inside the caller's transaction. */
static int make_defaults(struct dav_store *s, bool fresh, const char **error_r)
{
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if (!fresh && !defaults[i].made_always)
			continue;
		struct dav_collection c = {
			.kind = defaults[i].kind,
			.name = (char *)defaults[i].name,
			.displayname = (char *)defaults[i].displayname,
			.components = defaults[i].components,
		};
		int64_t id;
		/* 1 (it exists) is what is wanted; a full home cannot
		 * happen on a new file and leaves an old one as it is. */
		if (collection_insert(s, &c, &id, error_r) < 0)
			return -1;
	}
	return 0;
}

/* migrate brings the schema to version 1 and makes the defaults, under the
 * write lock.  *fresh_r: the file was new. */
static int migrate(struct dav_store *s, bool *fresh_r, const char **error_r)
{
	sqlite3_stmt *st;
	int64_t version = 0;

	if (ds_begin(s, error_r) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return ds_status(s, ds_sql_fail(s, "user_version", error_r));
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (version > 1)
		return ds_status(s, ds_fail(s, error_r, "dav-store: schema version %lld is newer "
					    "than this program's", (long long)version));
	*fresh_r = version == 0;
	if (version == 0 && sqlite3_exec(s->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK)
		return ds_status(s, ds_sql_fail(s, "schema", error_r));
	if (make_defaults(s, *fresh_r, error_r) < 0)
		return ds_status(s, -1);
	return ds_commit(s, error_r);
}

/* configure applies the connection settings of the file header. */
static int configure(struct dav_store *s, const char **error_r)
{
	int on = 0;
	sqlite3_stmt *st;

	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK || !on)
		return ds_sql_fail(s, "defensive mode", error_r);
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK)
		return ds_sql_fail(s, "trusted_schema", error_r);
	sqlite3_busy_timeout(s->db, DAV_BUSY_TIMEOUT_MS);
	/* The pragma answers with the mode now in force. */
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
		return ds_sql_fail(s, "journal_mode", error_r);
	const char *mode = sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0)
							: NULL;
	bool wal = mode != NULL && sqlite3_stricmp(mode, "wal") == 0;
	sqlite3_finalize(st);
	if (!wal)
		return ds_fail(s, error_r, "dav-store: WAL journal mode not available");
	if (sqlite3_exec(s->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
			 " PRAGMA temp_store = MEMORY;", NULL, NULL, NULL) != SQLITE_OK)
		return ds_sql_fail(s, "pragmas", error_r);
	return 0;
}

/* sync_dir makes a new dav.db's directory entry durable. */
static int sync_dir(struct dav_store *s, const char *dir, const char **error_r)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ds_fail(s, error_r, "open(%s) failed: %m", dir);
	int ret = fsync(fd) < 0 ? ds_fail(s, error_r, "fsync(%s) failed: %m", dir) : 0;
	close(fd);
	return ret;
}

/* dav_store_open: see dav-store.h. */
struct dav_store *dav_store_open(const char *dir, const char **error_r)
{
	char path[PATH_MAX];
	bool fresh = false;
	int n = snprintf(path, sizeof(path), "%s/dav.db", dir);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		*error_r = "dav-store: directory path too long";
		return NULL;
	}
	struct dav_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		*error_r = "dav-store: out of memory";
		return NULL;
	}
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
		    SQLITE_OPEN_EXRESCODE;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		if (s->db == NULL)
			*error_r = "dav-store: out of memory";
		else
			ds_sql_fail(s, "open(dav.db)", error_r);
		goto failed;
	}
	if (configure(s, error_r) < 0 || migrate(s, &fresh, error_r) < 0 ||
	    (fresh && sync_dir(s, dir, error_r) < 0))
		goto failed;
	return s;
failed:
	snprintf(open_error, sizeof(open_error), "%s", *error_r);
	*error_r = open_error;
	dav_store_close(&s);
	return NULL;
}

/* dav_store_close: see dav-store.h. */
void dav_store_close(struct dav_store **sp)
{
	struct dav_store *s = *sp;

	if (s == NULL)
		return;
	for (int i = 0; i < DS_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	/* Every statement is finalized, so close cannot be refused. */
	sqlite3_close(s->db);
	free(s);
	*sp = NULL;
}
