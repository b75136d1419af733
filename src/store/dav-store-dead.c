/*
 * dav-store-dead: dead properties (see dav-store.h), one row per property
 * of a collection (object "") or an object, deleted with the collection by
 * its foreign key and with an object by object_remove, moved and copied
 * with it by dav_object_move.
 */
#include "dav-store-private.h"

#include <stdlib.h>
#include <string.h>

/* bind_resource binds ?1 coll and ?2 object of statement id: the binder, or
 * one whose st is NULL. */
static struct sql_binder bind_resource(struct dav_store *s, enum dav_stmt id, int64_t coll, struct str object,
				       const char **error_r)
{
	sqlite3_stmt *st = ds_stmt(s, id, error_r);
	struct sql_binder b = sql_binder(st);
	if (st != NULL) {
		sql_bind_i64(&b, coll);
		sql_bind_str(&b, object);
	}
	return b;
}

/* ds_dead_drop: see dav-store-private.h. */
int ds_dead_drop(struct dav_store *s, int64_t coll, struct str object, const char **error_r)
{
	struct sql_binder b = bind_resource(s, DS_DEAD_DROP, coll, object, error_r);
	if (b.st == NULL)
		return -1;
	return ds_bind_run(s, &b, "dead properties delete", error_r);
}

/* ds_dead_copy: see dav-store-private.h. */
int ds_dead_copy(struct dav_store *s, int64_t from, struct str name, int64_t to, struct str new_name,
		 const char **error_r)
{
	struct sql_binder b = bind_resource(s, DS_DEAD_COPY, from, name, error_r);
	if (b.st == NULL)
		return -1;
	sql_bind_i64(&b, to);
	sql_bind_str(&b, new_name);
	return ds_bind_run(s, &b, "dead properties copy", error_r);
}

/* dav_dead_list_free: see dav-store.h. */
void dav_dead_list_free(struct dav_dead_prop *l, size_t n)
{
	for (size_t i = 0; i < n && l != NULL; i++) {
		free(l[i].ns);
		free(l[i].name);
		free(l[i].value);
	}
	free(l);
}

/* dav_dead_list: see dav-store.h. */
int dav_dead_list(struct dav_store *s, int64_t coll, struct str object, struct dav_dead_prop **out, size_t *n,
		  const char **error_r)
{
	struct dav_dead_prop *list = NULL;
	size_t count = 0;
	int rc = SQLITE_DONE, ret = 0;

	*out = NULL;
	*n = 0;
	struct sql_binder b = bind_resource(s, DS_DEAD_LIST, coll, object, error_r);
	if (b.st == NULL)
		return -1;
	while (b.rc == SQLITE_OK && (rc = sqlite3_step(b.st)) == SQLITE_ROW) {
		/* At most DAV_MAX_DEAD_PROPS rows: grown one at a time. */
		struct dav_dead_prop *grown = realloc(list, (count + 1) * sizeof(*list));
		if (grown == NULL) {
			ret = ds_fail(s, error_r, "dav-store: out of memory");
			break;
		}
		list = grown;
		bool ok = true;
		list[count].ns = ds_column_dup(b.st, 0, &ok);
		list[count].name = ds_column_dup(b.st, 1, &ok);
		list[count].value = ds_column_dup(b.st, 2, &ok);
		count++;
		if (!ok) {
			ret = ds_fail(s, error_r, "dav-store: out of memory");
			break;
		}
	}
	if (ret == 0 && (b.rc != SQLITE_OK || rc != SQLITE_DONE))
		ret = ds_sql_fail(s, "dead properties list", error_r);
	sql_stmt_done(b.st);
	if (ret < 0) {
		dav_dead_list_free(list, count);
		return -1;
	}
	*out = list;
	*n = count;
	return 0;
}

/* dead_change runs one change inside the transaction: 0 or -1. */
static int dead_change(struct dav_store *s, int64_t coll, struct str object, const struct dav_dead_change *ch,
		       const char **error_r)
{
	struct sql_binder b = bind_resource(s, ch->remove ? DS_DEAD_REMOVE : DS_DEAD_SET, coll, object, error_r);
	if (b.st == NULL)
		return -1;
	sql_bind_str(&b, ch->ns);
	sql_bind_str(&b, ch->name);
	if (!ch->remove)
		sql_bind_str(&b, ch->value);
	return ds_bind_run(s, &b, "dead property", error_r);
}

/* dav_dead_update: see dav-store.h. */
int dav_dead_update(struct dav_store *s, int64_t coll, struct str object, const struct dav_dead_change *changes,
		    size_t n, const char **error_r)
{
	int64_t count;

	for (size_t i = 0; i < n; i++)
		if (changes[i].ns.len + changes[i].name.len > DAV_MAX_DEAD_NAME ||
		    (!changes[i].remove && changes[i].value.len > DAV_MAX_DEAD_VALUE))
			return DAV_PUT_TOO_BIG;
	if (ds_begin(s, error_r) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (dead_change(s, coll, object, &changes[i], error_r) < 0)
			return ds_status(s, -1);
	struct sql_binder b = bind_resource(s, DS_DEAD_COUNT, coll, object, error_r);
	if (b.st == NULL || ds_query_i64(s, &b, &count, error_r) < 0)
		return ds_status(s, -1);
	if (count > DAV_MAX_DEAD_PROPS)
		return ds_status(s, DAV_PUT_TOO_MANY);
	return ds_commit(s, error_r);
}
