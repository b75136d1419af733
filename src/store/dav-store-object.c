/*
 * dav-store-object: the objects of a collection and its change log (see
 * dav-store.h).  Every write takes the collection's next change number in
 * the same transaction as the row it changes, and records it in the log
 * under the object's name: the log holds each name's latest change, so a
 * sync-collection is one ordered scan of the rows after the client's
 * number.  Deleted names stay in the log (at most DAV_MAX_CHANGES_KEPT per
 * collection); forgetting older ones raises the collection's "oldest", and a
 * token from before it is too old.
 */
#include "dav-store-private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The columns of OBJ_COLUMNS (dav-store.c), data last when asked. */
enum { OC_ID, OC_COLLECTION, OC_NAME, OC_UID, OC_ETAG, OC_CHANGE, OC_SIZE, OC_COMPONENT,
       OC_FIRST, OC_LAST, OC_DATA };

/* object_view fills o from the current row with views into the statement
 * (valid until it moves on); name and uid are given as views too. */
static void object_view(sqlite3_stmt *st, bool with_data, struct dav_object *o,
			struct str *name, struct str *uid)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, OC_ID);
	o->collection = sqlite3_column_int64(st, OC_COLLECTION);
	*name = sql_column_str(st, OC_NAME);
	*uid = sql_column_str(st, OC_UID);
	struct str etag = sql_column_str(st, OC_ETAG);
	if (etag.len < sizeof(o->etag)) {
		memcpy(o->etag, etag.ptr, etag.len);
		o->etag[etag.len] = '\0';
	}
	o->change = (uint64_t)sqlite3_column_int64(st, OC_CHANGE);
	o->size = (uint64_t)sqlite3_column_int64(st, OC_SIZE);
	o->component = (unsigned)sqlite3_column_int64(st, OC_COMPONENT);
	o->first = sqlite3_column_int64(st, OC_FIRST);
	o->last = sqlite3_column_int64(st, OC_LAST);
	if (with_data) {
		const void *p = sqlite3_column_blob(st, OC_DATA);
		o->data = str_from(p != NULL ? p : "", (size_t)sqlite3_column_bytes(st, OC_DATA));
	}
}

/* object_row copies the current row into o (owned strings): 0, or -1 out
 * of memory (o freed). */
static int object_row(sqlite3_stmt *st, bool with_data, struct dav_object *o)
{
	struct str name, uid;
	bool ok = true;

	object_view(st, with_data, o, &name, &uid);
	o->name = ds_column_dup(st, OC_NAME, &ok);
	o->uid = ds_column_dup(st, OC_UID, &ok);
	struct str data = o->data;
	o->data = STR_NULL;
	if (with_data && ok) {
		char *copy = malloc(data.len + 1);
		if (copy == NULL) {
			ok = false;
		} else {
			memcpy(copy, data.ptr, data.len);
			copy[data.len] = '\0';
			o->data = str_from(copy, data.len);
		}
	}
	if (!ok || o->name == NULL || o->uid == NULL) {
		dav_object_free(o);
		return -1;
	}
	return 0;
}

/* dav_object_free: see dav-store.h. */
void dav_object_free(struct dav_object *o)
{
	free(o->name);
	free(o->uid);
	free((char *)o->data.ptr);
	memset(o, 0, sizeof(*o));
}

/* object_lookup runs statement id (?1 coll, ?2 key) and copies its first
 * row into out: 1, 0 no row, -1. */
static int object_lookup(struct dav_store *s, enum dav_stmt id, int64_t coll, struct str key,
			 bool with_data, struct dav_object *out, const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, id, error_r);
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_str(&b, key);
	int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc == SQLITE_ROW)
		ret = object_row(st, with_data, out) < 0 ? ds_fail(s, error_r, "dav-store: out of memory")
							 : 1;
	else if (rc != SQLITE_DONE)
		ret = ds_sql_fail(s, "object get", error_r);
	sql_stmt_done(st);
	return ret;
}

/* dav_object_get: see dav-store.h. */
int dav_object_get(struct dav_store *s, int64_t coll, struct str name, bool with_data,
		   struct dav_object *out, const char **error_r)
{
	return object_lookup(s, with_data ? DS_OBJ_GET_DATA : DS_OBJ_GET, coll, name, with_data, out,
			     error_r);
}

/* dav_object_by_uid: see dav-store.h. */
int dav_object_by_uid(struct dav_store *s, int64_t coll, struct str uid, struct dav_object *out,
		      const char **error_r)
{
	return object_lookup(s, DS_OBJ_BY_UID, coll, uid, false, out, error_r);
}

/* dav_object_each: see dav-store.h. */
int dav_object_each(struct dav_store *s, int64_t coll, bool with_data, int64_t first, int64_t last,
		    dav_object_fn *fn, void *ctx, const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, with_data ? DS_OBJ_EACH_DATA : DS_OBJ_EACH, error_r);
	int rc = SQLITE_DONE, ret = 0;

	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_i64(&b, first);
	sql_bind_i64(&b, last);
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dav_object o;
		struct str name, uid;
		object_view(st, with_data, &o, &name, &uid);
		/* Column texts are NUL-terminated by SQLite: lent as they are. */
		o.name = (char *)name.ptr;
		o.uid = (char *)uid.ptr;
		if (fn(ctx, &o) != 0)
			break;
	}
	if (b.rc != SQLITE_OK || (rc != SQLITE_ROW && rc != SQLITE_DONE))
		ret = ds_sql_fail(s, "object list", error_r);
	sql_stmt_done(st);
	return ret;
}

/* collection_state reads a collection's sync and oldest: 1, 0 no such
 * collection, -1. */
static int collection_state(struct dav_store *s, int64_t coll, uint64_t *sync, uint64_t *oldest,
			    const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, DS_COLL_SYNC, error_r);
	int ret = 0;

	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc == SQLITE_ROW) {
		*sync = (uint64_t)sqlite3_column_int64(st, 0);
		*oldest = (uint64_t)sqlite3_column_int64(st, 1);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = ds_sql_fail(s, "collection state", error_r);
	}
	sql_stmt_done(st);
	return ret;
}

/* coll_query runs statement id with ?1 coll (and ?2 arg when has_arg),
 * yielding one integer: 1, 0 no row, -1. */
static int coll_query(struct dav_store *s, enum dav_stmt id, int64_t coll, bool has_arg,
		      int64_t arg, int64_t *v, const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, id, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	if (has_arg)
		sql_bind_i64(&b, arg);
	return ds_query_i64(s, &b, v, error_r);
}

/* next_change takes coll's next change number: 1 with *change_r, 0 no
 * such collection, -1. */
static int next_change(struct dav_store *s, int64_t coll, int64_t *change_r, const char **error_r)
{
	return coll_query(s, DS_COLL_BUMP, coll, false, 0, change_r, error_r);
}

/* log_change records name's latest change in coll's log. */
static int log_change(struct dav_store *s, int64_t coll, struct str name, int64_t change,
		      bool deleted, const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, DS_CHANGE_SET, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_str(&b, name);
	sql_bind_i64(&b, change);
	sql_bind_i64(&b, deleted);
	return ds_bind_run(s, &b, "change log", error_r);
}

/* prune_deleted forgets coll's oldest deletions past DAV_MAX_CHANGES_KEPT
 * and raises its oldest to the last forgotten change. */
static int prune_deleted(struct dav_store *s, int64_t coll, const char **error_r)
{
	int64_t count, last;

	if (coll_query(s, DS_DELETED_COUNT, coll, false, 0, &count, error_r) < 0)
		return -1;
	if (count <= DAV_MAX_CHANGES_KEPT)
		return 0;
	if (coll_query(s, DS_DELETED_NTH, coll, true, count - DAV_MAX_CHANGES_KEPT - 1, &last,
		       error_r) <= 0)
		return ds_fail(s, error_r, "dav-store: change log count changed");
	sqlite3_stmt *st = ds_stmt(s, DS_DELETED_PRUNE, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_i64(&b, last);
	if (ds_bind_run(s, &b, "change log prune", error_r) < 0 ||
	    (st = ds_stmt(s, DS_COLL_FORGET, error_r)) == NULL)
		return -1;
	b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_i64(&b, last);
	return ds_bind_run(s, &b, "collection oldest", error_r);
}

/* The contents of an object being written (from a PUT or a source of MOVE). */
struct object_body {
	struct str data, uid;
	unsigned component;
	int64_t first, last;
};

/* object_write stores name in coll inside the caller's transaction, with
 * the collection's next change.  0 or -1 (also: no such collection). */
static int object_write(struct dav_store *s, int64_t coll, struct str name,
			const struct object_body *body, const char **error_r)
{
	char etag[48];
	int64_t change;

	int found = next_change(s, coll, &change, error_r);
	if (found <= 0)
		return found < 0 ? -1 : ds_fail(s, error_r, "dav-store: no such collection");
	dav_etag(body->data, etag);
	sqlite3_stmt *st = ds_stmt(s, DS_OBJ_UPSERT, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_str(&b, name);
	sql_bind_str(&b, body->uid);
	sql_bind_cstr(&b, etag);
	sql_bind_i64(&b, change);
	sql_bind_u64(&b, body->data.len);
	sql_bind_i64(&b, body->component);
	sql_bind_i64(&b, body->first);
	sql_bind_i64(&b, body->last);
	if (b.rc == SQLITE_OK)
		b.rc = sqlite3_bind_blob64(st, ++b.n, body->data.ptr != NULL ? body->data.ptr : "",
					   body->data.len, SQLITE_STATIC);
	if (ds_bind_run(s, &b, "object write", error_r) < 0)
		return -1;
	return log_change(s, coll, name, change, false, error_r);
}

/* object_remove deletes name from coll inside the caller's transaction,
 * logging the deletion: 0, or -1. */
static int object_remove(struct dav_store *s, int64_t coll, struct str name, const char **error_r)
{
	int64_t change;

	int found = next_change(s, coll, &change, error_r);
	if (found <= 0)
		return found < 0 ? -1 : ds_fail(s, error_r, "dav-store: no such collection");
	sqlite3_stmt *st = ds_stmt(s, DS_OBJ_DELETE, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_str(&b, name);
	if (ds_bind_run(s, &b, "object delete", error_r) < 0 ||
	    log_change(s, coll, name, change, true, error_r) < 0)
		return -1;
	return prune_deleted(s, coll, error_r);
}

/* uid_taken finds another object of coll with uid, other than names a and
 * b: 1 (*other filled), 0 none, -1.  An empty UID never conflicts. */
static int uid_taken(struct dav_store *s, int64_t coll, struct str uid, struct str a, struct str b_name,
		     struct dav_object *other, const char **error_r)
{
	bool ok = true;
	int ret = 0;

	memset(other, 0, sizeof(*other));
	if (uid.len == 0)
		return 0;
	sqlite3_stmt *st = ds_stmt(s, DS_OBJ_UID_OTHER, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_str(&b, uid);
	sql_bind_str(&b, a);
	sql_bind_str(&b, b_name);
	int rc = b.rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc == SQLITE_ROW) {
		other->name = ds_column_dup(st, 0, &ok);
		ret = ok && other->name != NULL ? 1 : ds_fail(s, error_r, "dav-store: out of memory");
	} else if (rc != SQLITE_DONE) {
		ret = ds_sql_fail(s, "uid check", error_r);
	}
	sql_stmt_done(st);
	return ret;
}

/* collection_full: 1 when coll holds DAV_MAX_OBJECTS already, 0, -1. */
static int collection_full(struct dav_store *s, int64_t coll, const char **error_r)
{
	int64_t count;

	if (coll_query(s, DS_OBJ_COUNT, coll, false, 0, &count, error_r) < 0)
		return -1;
	return count >= DAV_MAX_OBJECTS;
}

/* if_match_fails: the If-Match / If-None-Match check against o (NULL: no
 * such object). */
static bool if_match_fails(const struct dav_object *o, const char *if_match, bool if_none_match)
{
	if (if_none_match && o != NULL)
		return true;
	if (if_match == NULL)
		return false;
	return o == NULL || (strcmp(if_match, "*") != 0 && strcmp(if_match, o->etag) != 0);
}

/* put_locked is dav_object_put inside its transaction. */
static int put_locked(struct dav_store *s, int64_t coll, const struct dav_put *p,
		      struct dav_object *out, bool *created, const char **error_r)
{
	struct dav_object old;

	int found = dav_object_get(s, coll, p->name, false, &old, error_r);
	if (found < 0)
		return -1;
	bool fails = if_match_fails(found ? &old : NULL, p->if_match, p->if_none_match);
	dav_object_free(&old);
	if (fails)
		return DAV_PUT_PRECONDITION;
	int taken = uid_taken(s, coll, p->uid, p->name, p->name, out, error_r);
	if (taken != 0)
		return taken < 0 ? -1 : DAV_PUT_UID_CONFLICT;
	if (!found) {
		int full = collection_full(s, coll, error_r);
		if (full != 0)
			return full < 0 ? -1 : DAV_PUT_TOO_MANY;
	}
	struct object_body body = { p->data, p->uid, p->component, p->first, p->last };
	if (object_write(s, coll, p->name, &body, error_r) < 0)
		return -1;
	*created = !found;
	return dav_object_get(s, coll, p->name, false, out, error_r) == 1 ? 0 : -1;
}

/* dav_object_put: see dav-store.h. */
int dav_object_put(struct dav_store *s, int64_t coll, const struct dav_put *p,
		   struct dav_object *out, bool *created, const char **error_r)
{
	memset(out, 0, sizeof(*out));
	*created = false;
	if (!dav_name_valid(p->name))
		return ds_fail(s, error_r, "dav-store: invalid object name");
	if (p->data.len > DAV_MAX_OBJECT_SIZE)
		return DAV_PUT_TOO_BIG;
	if (ds_begin(s, error_r) < 0)
		return -1;
	int ret = put_locked(s, coll, p, out, created, error_r);
	if (ret == 0)
		ret = ds_commit(s, error_r);
	else
		ds_rollback(s);
	if (ret != 0 && ret != DAV_PUT_UID_CONFLICT)
		dav_object_free(out);
	return ret;
}

/* dav_object_delete: see dav-store.h. */
int dav_object_delete(struct dav_store *s, int64_t coll, struct str name, const char *if_match,
		      const char **error_r)
{
	struct dav_object old;

	if (ds_begin(s, error_r) < 0)
		return -1;
	int found = dav_object_get(s, coll, name, false, &old, error_r);
	if (found <= 0)
		return ds_status(s, found < 0 ? -1 : 1);
	bool fails = if_match_fails(&old, if_match, false);
	dav_object_free(&old);
	if (fails)
		return ds_status(s, DAV_PUT_PRECONDITION);
	if (object_remove(s, coll, name, error_r) < 0)
		return ds_status(s, -1);
	return ds_commit(s, error_r);
}

/* move_locked is dav_object_move inside its transaction. */
static int move_locked(struct dav_store *s, int64_t from, struct str name, int64_t to,
		       struct str new_name, bool overwrite, bool copy, bool *created,
		       const char **error_r)
{
	struct dav_object src, target, other;
	uint64_t sync, oldest;

	if (from == to && str_eq(name, new_name))
		return DAV_PUT_PRECONDITION;
	int found = collection_state(s, to, &sync, &oldest, error_r);
	if (found <= 0)
		return found < 0 ? -1 : ds_fail(s, error_r, "dav-store: no such collection");
	found = dav_object_get(s, from, name, true, &src, error_r);
	if (found <= 0)
		return found < 0 ? -1 : 1;
	int ret = dav_object_get(s, to, new_name, false, &target, error_r);
	bool exists = ret == 1;
	dav_object_free(&target);
	if (ret >= 0 && exists && !overwrite)
		ret = DAV_PUT_PRECONDITION;
	/* The source itself does not conflict when it moves in its collection. */
	else if (ret >= 0)
		ret = uid_taken(s, to, str_c(src.uid), new_name,
				from == to && !copy ? name : new_name, &other, error_r);
	if (ret == 1) {
		dav_object_free(&other);
		ret = DAV_PUT_UID_CONFLICT;
	}
	if (ret == 0 && !exists && !(from == to && !copy)) {
		int full = collection_full(s, to, error_r);
		ret = full == 1 ? DAV_PUT_TOO_MANY : full;
	}
	struct object_body body = { src.data, str_c(src.uid), src.component, src.first, src.last };
	if (ret == 0)
		ret = object_write(s, to, new_name, &body, error_r);
	if (ret == 0 && !copy)
		ret = object_remove(s, from, name, error_r);
	dav_object_free(&src);
	*created = !exists;
	return ret;
}

/* dav_object_move: see dav-store.h. */
int dav_object_move(struct dav_store *s, int64_t from, struct str name, int64_t to,
		    struct str new_name, bool overwrite, bool copy, bool *created,
		    const char **error_r)
{
	*created = false;
	if (!dav_name_valid(new_name))
		return ds_fail(s, error_r, "dav-store: invalid object name");
	if (ds_begin(s, error_r) < 0)
		return -1;
	int ret = move_locked(s, from, name, to, new_name, overwrite, copy, created, error_r);
	if (ret != 0)
		return ds_status(s, ret);
	return ds_commit(s, error_r);
}

/* dav_changes_since: see dav-store.h. */
int dav_changes_since(struct dav_store *s, int64_t coll, uint64_t since, dav_change_fn *fn,
		      void *ctx, const char **error_r)
{
	uint64_t sync, oldest;
	int rc = SQLITE_DONE, ret;

	/* One snapshot: the state checked is the one listed. */
	sqlite3_stmt *st = ds_stmt(s, DS_BEGIN, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	if (ds_bind_run(s, &b, "begin", error_r) < 0)
		return -1;
	int found = collection_state(s, coll, &sync, &oldest, error_r);
	if (found <= 0)
		return ds_status(s, found < 0 ? -1 : 1);
	if (since > sync || (since > 0 && since < oldest) || since > INT64_MAX)
		return ds_status(s, 1);
	if ((st = ds_stmt(s, DS_CHANGES_SINCE, error_r)) == NULL)
		return ds_status(s, -1);
	b = sql_binder(st);
	sql_bind_i64(&b, coll);
	sql_bind_u64(&b, since);
	ret = 0;
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(ctx, sql_column_str(st, 0), sqlite3_column_int(st, 1) != 0,
		       (uint64_t)sqlite3_column_int64(st, 2)) != 0)
			break;
	}
	if (b.rc != SQLITE_OK || (rc != SQLITE_ROW && rc != SQLITE_DONE))
		ret = ds_sql_fail(s, "changes", error_r);
	sql_stmt_done(st);
	ds_rollback(s);
	return ret;
}

/* dav_usage: see dav-store.h. */
int dav_usage(struct dav_store *s, uint64_t *bytes, const char **error_r)
{
	int64_t v;
	sqlite3_stmt *st = ds_stmt(s, DS_USAGE, error_r);

	*bytes = 0;
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	if (ds_query_i64(s, &b, &v, error_r) < 0)
		return -1;
	*bytes = (uint64_t)v;
	return 0;
}
