/*
 * Unit tests of dav-store: defaults, collections, objects with their
 * preconditions, UID conflicts, MOVE/COPY, the change log across a reopen,
 * and each limit one past.  Each test has a fresh directory; the tests
 * that need thousands of rows write them with SQL of their own.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store/dav-store.h"

#define TEMPLATE "/tmp/ravelin-dav-store-XXXXXX"

struct fixture {
	char dir[sizeof(TEMPLATE)];
	struct dav_store *s;
	int64_t calendar, tasks, contacts;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* find returns the id of a collection that must exist. */
static int64_t find(struct dav_store *s, enum dav_kind home, const char *name)
{
	struct dav_collection c;
	const char *error = NULL;
	int ret = dav_collection_get(s, home, str_c(name), &c, &error);
	if (ret != 1)
		fail_msg("collection %s: %d %s", name, ret, error ? error : "");
	int64_t id = c.id;
	dav_collection_free(&c);
	return id;
}

static void reopen(struct fixture *f)
{
	const char *error = NULL;
	dav_store_close(&f->s);
	f->s = dav_store_open(f->dir, &error);
	if (f->s == NULL)
		fail_msg("open: %s", error);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	memcpy(f->dir, TEMPLATE, sizeof(TEMPLATE));
	if (mkdtemp(f->dir) == NULL)
		return -1;
	reopen(f);
	f->calendar = find(f->s, DAV_CALENDAR, "calendar");
	f->tasks = find(f->s, DAV_CALENDAR, "tasks");
	f->contacts = find(f->s, DAV_ADDRESSBOOK, "contacts");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dav_store_close(&f->s);
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* sql runs statements on dav.db over a connection of the test's own. */
static void sql(struct fixture *f, const char *text)
{
	char path[sizeof(f->dir) + 16];
	sqlite3 *db;
	char *err = NULL;
	snprintf(path, sizeof(path), "%s/dav.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("sql: %s", err);
	sqlite3_close(db);
}

/* put stores data under name with uid; returns dav_object_put's value. */
static int put_ext(struct fixture *f, int64_t coll, const char *name, const char *uid,
		   const char *data, const char *if_match, bool if_none_match, struct dav_object *o)
{
	struct dav_put p = { .name = str_c(name), .data = str_c(data), .uid = str_c(uid),
			     .component = DAV_COMP_VEVENT, .first = 100, .last = 200,
			     .if_match = if_match, .if_none_match = if_none_match };
	bool created;
	const char *error = NULL;
	int ret = dav_object_put(f->s, coll, &p, o, &created, &error);
	if (ret < 0)
		fail_msg("put: %s", error);
	return ret;
}

static void put(struct fixture *f, int64_t coll, const char *name, const char *uid, const char *data)
{
	struct dav_object o;
	assert_int_equal(put_ext(f, coll, name, uid, data, NULL, false, &o), 0);
	dav_object_free(&o);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct dav_collection *list;
	size_t n;
	const char *error = NULL;

	assert_int_equal(dav_collection_list(f->s, DAV_CALENDAR, &list, &n, &error), 0);
	assert_int_equal(n, 4);
	assert_string_equal(list[0].name, "calendar");
	assert_string_equal(list[0].displayname, "Calendar");
	assert_int_equal(list[0].components, DAV_COMP_VEVENT);
	assert_int_equal(list[0].sync, 1);
	assert_string_equal(list[1].name, "inbox");
	assert_int_equal(list[1].kind, DAV_SCHEDULE_INBOX);
	assert_string_equal(list[2].name, "outbox");
	assert_string_equal(list[3].name, "tasks");
	assert_int_equal(list[3].components, DAV_COMP_VTODO);
	dav_collection_list_free(list, n);
	assert_int_equal(dav_collection_list(f->s, 0, &list, &n, &error), 0);
	assert_int_equal(n, 5);
	assert_string_equal(list[4].name, "contacts");
	assert_int_equal(list[4].kind, DAV_ADDRESSBOOK);
	assert_null(list[4].color);
	dav_collection_list_free(list, n);

	/* A deleted default stays deleted; the inbox cannot be deleted. */
	assert_int_equal(dav_collection_delete(f->s, f->tasks, &error), 0);
	assert_int_equal(dav_collection_delete(f->s, f->tasks, &error), 1);
	assert_int_equal(dav_collection_delete(f->s, find(f->s, DAV_CALENDAR, "inbox"), &error),
			 DAV_PUT_PRECONDITION);
	reopen(f);
	struct dav_collection c;
	assert_int_equal(dav_collection_get(f->s, DAV_CALENDAR, STR("tasks"), &c, &error), 0);
	/* An inbox lost some other way comes back. */
	sql(f, "DELETE FROM collections WHERE name = 'outbox'");
	reopen(f);
	find(f->s, DAV_CALENDAR, "outbox");
}

static void test_collections(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	int64_t id;
	struct dav_collection c = { .kind = DAV_CALENDAR, .name = "work", .displayname = "Work",
				    .color = "#ff0000ff", .order = 3, .has_order = true,
				    .components = DAV_COMP_VEVENT | DAV_COMP_VTODO };

	assert_int_equal(dav_collection_create(f->s, &c, &id, &error), 0);
	assert_int_equal(dav_collection_create(f->s, &c, &id, &error), 1);
	/* Names are per home: an address book may be called "work" too. */
	c.kind = DAV_ADDRESSBOOK;
	int64_t book;
	assert_int_equal(dav_collection_create(f->s, &c, &book, &error), 0);
	assert_true(book != id);

	struct dav_collection got;
	assert_int_equal(dav_collection_get(f->s, DAV_CALENDAR, STR("work"), &got, &error), 1);
	assert_int_equal(got.id, id);
	assert_string_equal(got.color, "#ff0000ff");
	assert_true(got.has_order);
	assert_int_equal(got.order, 3);
	got.has_order = false;
	free(got.color);
	got.color = NULL;
	free(got.description);
	got.description = strdup("Meetings");
	assert_int_equal(dav_collection_update(f->s, &got, &error), 0);
	dav_collection_free(&got);
	assert_int_equal(dav_collection_get(f->s, DAV_CALENDAR, STR("work"), &got, &error), 1);
	assert_false(got.has_order);
	assert_null(got.color);
	assert_string_equal(got.description, "Meetings");
	got.id = 999999;
	assert_int_equal(dav_collection_update(f->s, &got, &error), 1);
	dav_collection_free(&got);

	/* A property past DAV_MAX_PROPERTY. */
	char *big = malloc(DAV_MAX_PROPERTY + 2);
	assert_non_null(big);
	memset(big, 'x', DAV_MAX_PROPERTY + 1);
	big[DAV_MAX_PROPERTY + 1] = '\0';
	c.kind = DAV_CALENDAR;
	c.name = "big";
	c.description = big;
	assert_int_equal(dav_collection_create(f->s, &c, &id, &error), DAV_PUT_TOO_BIG);
	big[DAV_MAX_PROPERTY] = '\0';
	assert_int_equal(dav_collection_create(f->s, &c, &id, &error), 0);
	free(big);

	/* Invalid names. */
	const char *bad[] = { "", ".", "..", "a/b" };
	c.description = NULL;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.name = (char *)bad[i];
		assert_int_equal(dav_collection_create(f->s, &c, &id, &error), -1);
	}
}

static void test_names(void **state)
{
	(void)state;
	char name[DAV_MAX_NAME + 1];
	memset(name, 'n', sizeof(name));
	assert_true(dav_name_valid(str_from(name, DAV_MAX_NAME)));
	assert_false(dav_name_valid(str_from(name, DAV_MAX_NAME + 1)));
	assert_false(dav_name_valid(STR("")));
	assert_false(dav_name_valid(STR(".")));
	assert_false(dav_name_valid(STR("..")));
	assert_true(dav_name_valid(STR("...")));
	assert_false(dav_name_valid(STR("a/b")));
	assert_false(dav_name_valid(str_from("a\0b", 3)));
	assert_true(dav_name_valid(STR("caf\xc3\xa9 1.ics")));
}

static void test_max_collections(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	int64_t id;
	char name[16];

	/* Five defaults; fill up to the limit, then one more is refused. */
	for (int i = 5; i < DAV_MAX_COLLECTIONS; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		struct dav_collection c = { .kind = DAV_CALENDAR, .name = name };
		assert_int_equal(dav_collection_create(f->s, &c, &id, &error), 0);
	}
	struct dav_collection c = { .kind = DAV_ADDRESSBOOK, .name = "one-past" };
	assert_int_equal(dav_collection_create(f->s, &c, &id, &error), DAV_PUT_TOO_MANY);
}

static void test_etag_token(void **state)
{
	(void)state;
	char etag[48], token[DAV_SYNC_TOKEN_MAX];
	int64_t coll;
	uint64_t change;

	/* SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a3... */
	dav_etag(STR("abc"), etag);
	assert_string_equal(etag, "\"ba7816bf8f01cfea414140de5dae2223\"");
	dav_sync_token(12, 345, token);
	assert_string_equal(token, "urn:ravelin:sync:12:345");
	assert_int_equal(dav_sync_token_parse(str_c(token), &coll, &change), 0);
	assert_int_equal(coll, 12);
	assert_int_equal(change, 345);
	const char *bad[] = { "", "urn:ravelin:sync:", "urn:ravelin:sync:1", "urn:ravelin:sync:1:",
			      "urn:ravelin:sync::1", "urn:ravelin:sync:1:2:3", "urn:other:sync:1:2",
			      "urn:ravelin:sync:-1:2", "urn:ravelin:sync:1:99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dav_sync_token_parse(str_c(bad[i]), &coll, &change), -1);
}

static void test_put_get(void **state)
{
	struct fixture *f = *state;
	struct dav_object o;
	const char *error = NULL;
	char etag[48];

	assert_int_equal(put_ext(f, f->calendar, "a.ics", "uid-a", "BEGIN:VCALENDAR", NULL, true, &o), 0);
	dav_etag(STR("BEGIN:VCALENDAR"), etag);
	assert_string_equal(o.etag, etag);
	assert_string_equal(o.name, "a.ics");
	assert_string_equal(o.uid, "uid-a");
	assert_int_equal(o.size, 15);
	assert_int_equal(o.change, 2);
	assert_null(o.data.ptr);
	dav_object_free(&o);

	/* If-None-Match: * on an existing object; If-Match with another ETag. */
	assert_int_equal(put_ext(f, f->calendar, "a.ics", "uid-a", "x", NULL, true, &o),
			 DAV_PUT_PRECONDITION);
	assert_int_equal(put_ext(f, f->calendar, "a.ics", "uid-a", "x", "\"nope\"", false, &o),
			 DAV_PUT_PRECONDITION);
	assert_int_equal(put_ext(f, f->calendar, "b.ics", "uid-b", "x", "*", false, &o),
			 DAV_PUT_PRECONDITION);
	assert_int_equal(put_ext(f, f->calendar, "a.ics", "uid-a", "v2", etag, false, &o), 0);
	assert_int_equal(o.change, 3);
	dav_object_free(&o);
	assert_int_equal(put_ext(f, f->calendar, "a.ics", "uid-a", "v3", "*", false, &o), 0);
	dav_object_free(&o);

	assert_int_equal(dav_object_get(f->s, f->calendar, STR("a.ics"), true, &o, &error), 1);
	assert_int_equal(o.data.len, 2);
	assert_memory_equal(o.data.ptr, "v3", 2);
	assert_int_equal(o.first, 100);
	assert_int_equal(o.last, 200);
	dav_object_free(&o);
	assert_int_equal(dav_object_get(f->s, f->calendar, STR("zz"), true, &o, &error), 0);
	assert_int_equal(dav_object_by_uid(f->s, f->calendar, STR("uid-a"), &o, &error), 1);
	assert_string_equal(o.name, "a.ics");
	dav_object_free(&o);
	assert_int_equal(dav_object_by_uid(f->s, f->tasks, STR("uid-a"), &o, &error), 0);

	/* The same UID under another name: the conflict names the holder. */
	assert_int_equal(put_ext(f, f->calendar, "c.ics", "uid-a", "x", NULL, false, &o),
			 DAV_PUT_UID_CONFLICT);
	assert_string_equal(o.name, "a.ics");
	dav_object_free(&o);
	/* ... but another collection may hold it. */
	put(f, f->tasks, "c.ics", "uid-a", "x");

	struct dav_collection c;
	assert_int_equal(dav_collection_get(f->s, DAV_CALENDAR, STR("calendar"), &c, &error), 1);
	assert_int_equal(c.sync, 4);
	assert_int_equal(c.objects, 1);
	assert_int_equal(c.bytes, 2);
	dav_collection_free(&c);
	uint64_t usage;
	assert_int_equal(dav_usage(f->s, &usage, &error), 0);
	assert_int_equal(usage, 3);

	/* Delete: If-Match, then gone. */
	assert_int_equal(dav_object_delete(f->s, f->calendar, STR("a.ics"), "\"x\"", &error),
			 DAV_PUT_PRECONDITION);
	assert_int_equal(dav_object_delete(f->s, f->calendar, STR("a.ics"), NULL, &error), 0);
	assert_int_equal(dav_object_delete(f->s, f->calendar, STR("a.ics"), NULL, &error), 1);
	assert_int_equal(dav_object_get(f->s, f->calendar, STR("a.ics"), false, &o, &error), 0);
}

static void test_put_limits(void **state)
{
	struct fixture *f = *state;
	struct dav_object o;
	char *big = malloc(DAV_MAX_OBJECT_SIZE + 2);
	char name[DAV_MAX_NAME + 2];

	assert_non_null(big);
	memset(big, 'x', DAV_MAX_OBJECT_SIZE + 1);
	big[DAV_MAX_OBJECT_SIZE + 1] = '\0';
	assert_int_equal(put_ext(f, f->calendar, "big", "u", big, NULL, false, &o), DAV_PUT_TOO_BIG);
	big[DAV_MAX_OBJECT_SIZE] = '\0';
	put(f, f->calendar, "big", "u", big);
	free(big);

	memset(name, 'n', DAV_MAX_NAME + 1);
	name[DAV_MAX_NAME + 1] = '\0';
	struct dav_put p = { .name = str_c(name), .data = STR("x") };
	bool created;
	const char *error = NULL;
	assert_int_equal(dav_object_put(f->s, f->calendar, &p, &o, &created, &error), -1);
	name[DAV_MAX_NAME] = '\0';
	put(f, f->calendar, name, "", "x");

	/* The collection filled with SQL to DAV_MAX_OBJECTS: a new one is
	 * refused, a replacement is not. */
	char text[512];
	snprintf(text, sizeof(text),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO objects (collection, name, uid, etag, change, size, component,"
		 " first, last, data) SELECT %lld, 'f' || i, 'f' || i, '\"e\"', 1, 1, 1, 0, 0, 'x'"
		 " FROM n",
		 DAV_MAX_OBJECTS - 2, (long long)f->calendar);
	sql(f, text);
	assert_int_equal(put_ext(f, f->calendar, "new", "new", "x", NULL, false, &o), DAV_PUT_TOO_MANY);
	put(f, f->calendar, "big", "u", "smaller");
	put(f, f->tasks, "new", "new", "x");
}

struct seen {
	char names[8][32];
	bool deleted[8];
	size_t n;
};

static int on_change(void *ctx, struct str name, bool deleted, uint64_t change)
{
	struct seen *seen = ctx;
	(void)change;
	assert_true(seen->n < 8 && name.len < 32);
	memcpy(seen->names[seen->n], name.ptr, name.len);
	seen->names[seen->n][name.len] = '\0';
	seen->deleted[seen->n++] = deleted;
	return 0;
}

static uint64_t sync_of(struct fixture *f, int64_t coll)
{
	struct dav_collection *list;
	size_t n;
	uint64_t sync = 0;
	const char *error = NULL;
	assert_int_equal(dav_collection_list(f->s, 0, &list, &n, &error), 0);
	for (size_t i = 0; i < n; i++)
		if (list[i].id == coll)
			sync = list[i].sync;
	dav_collection_list_free(list, n);
	return sync;
}

static void test_changes(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	struct seen seen = { 0 };

	put(f, f->contacts, "a.vcf", "a", "A");
	put(f, f->contacts, "b.vcf", "b", "B");
	uint64_t token = sync_of(f, f->contacts);
	assert_int_equal(token, 3);
	put(f, f->contacts, "c.vcf", "c", "C");
	put(f, f->contacts, "a.vcf", "a", "A2");
	assert_int_equal(dav_object_delete(f->s, f->contacts, STR("b.vcf"), NULL, &error), 0);
	reopen(f);   /* tokens survive a restart */

	assert_int_equal(dav_changes_since(f->s, f->contacts, token, on_change, &seen, &error), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.names[0], "c.vcf");
	assert_string_equal(seen.names[1], "a.vcf");
	assert_string_equal(seen.names[2], "b.vcf");
	assert_true(seen.deleted[2]);
	assert_false(seen.deleted[0]);

	/* The initial sync: what there is, no deletions. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(dav_changes_since(f->s, f->contacts, 0, on_change, &seen, &error), 0);
	assert_int_equal(seen.n, 2);
	/* Nothing since now; a token from the future; no such collection. */
	memset(&seen, 0, sizeof(seen));
	uint64_t now = sync_of(f, f->contacts);
	assert_int_equal(dav_changes_since(f->s, f->contacts, now, on_change, &seen, &error), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(dav_changes_since(f->s, f->contacts, now + 1, on_change, &seen, &error), 1);
	assert_int_equal(dav_changes_since(f->s, 424242, 1, on_change, &seen, &error), 1);
	/* A re-created name is a change, not a deletion. */
	put(f, f->contacts, "b.vcf", "b", "B");
	assert_int_equal(dav_changes_since(f->s, f->contacts, now, on_change, &seen, &error), 0);
	assert_int_equal(seen.n, 1);
	assert_false(seen.deleted[0]);
}

static int count_change(void *ctx, struct str name, bool deleted, uint64_t change)
{
	size_t *n = ctx;
	(void)name;
	(void)change;
	assert_true(deleted);
	(*n)++;
	return 0;
}

static void test_changes_kept(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	struct seen seen = { 0 };
	char text[512];

	/* DAV_MAX_CHANGES_KEPT deletions, numbered 2.., written with SQL. */
	snprintf(text, sizeof(text),
		 "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO changes (collection, name, change, deleted)"
		 " SELECT %lld, 'gone' || i, i, 1 FROM n;"
		 " UPDATE collections SET sync = %d WHERE id = %lld",
		 DAV_MAX_CHANGES_KEPT + 1, (long long)f->calendar, DAV_MAX_CHANGES_KEPT + 1,
		 (long long)f->calendar);
	sql(f, text);
	reopen(f);
	size_t n = 0;
	assert_int_equal(dav_changes_since(f->s, f->calendar, 1, count_change, &n, &error), 0);
	assert_int_equal(n, DAV_MAX_CHANGES_KEPT);
	/* One more (the put is a change, its deletion one past the limit). */
	put(f, f->calendar, "x.ics", "x", "X");
	assert_int_equal(dav_object_delete(f->s, f->calendar, STR("x.ics"), NULL, &error), 0);
	assert_int_equal(dav_changes_since(f->s, f->calendar, 1, on_change, &seen, &error), 1);
	n = 0;
	assert_int_equal(dav_changes_since(f->s, f->calendar, 2, count_change, &n, &error), 0);
	assert_int_equal(n, DAV_MAX_CHANGES_KEPT);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(dav_changes_since(f->s, f->calendar, DAV_MAX_CHANGES_KEPT + 2, on_change,
					   &seen, &error), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.names[0], "x.ics");
	assert_true(seen.deleted[0]);
}

static int count_fn(void *ctx, const struct dav_object *o)
{
	size_t *n = ctx;
	assert_non_null(o->name);
	(*n)++;
	return *n == 2;   /* stops after two */
}

static void test_each(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	size_t n = 0;

	put(f, f->calendar, "1", "1", "x");   /* span [100, 200] */
	put(f, f->calendar, "2", "2", "x");
	put(f, f->calendar, "3", "3", "x");
	assert_int_equal(dav_object_each(f->s, f->calendar, true, INT64_MIN, INT64_MAX, count_fn, &n,
					 &error), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(dav_object_each(f->s, f->calendar, false, 201, 300, count_fn, &n, &error), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dav_object_each(f->s, f->calendar, false, 0, 99, count_fn, &n, &error), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dav_object_each(f->s, f->calendar, false, 200, 300, count_fn, &n, &error), 0);
	assert_int_equal(n, 2);
}

static void test_move_copy(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	bool created;
	struct dav_object o;

	put(f, f->calendar, "a.ics", "uid-a", "A");
	put(f, f->tasks, "t.ics", "uid-t", "T");
	assert_int_equal(dav_object_move(f->s, f->calendar, STR("nope"), f->tasks, STR("x"), true,
					 false, &created, &error), 1);
	assert_int_equal(dav_object_move(f->s, f->calendar, STR("a.ics"), f->calendar, STR("a.ics"),
					 true, false, &created, &error), DAV_PUT_PRECONDITION);
	/* A copy in the same collection would hold the UID twice. */
	assert_int_equal(dav_object_move(f->s, f->calendar, STR("a.ics"), f->calendar, STR("b.ics"),
					 true, true, &created, &error), DAV_PUT_UID_CONFLICT);
	/* A rename in its collection does not conflict with itself. */
	assert_int_equal(dav_object_move(f->s, f->calendar, STR("a.ics"), f->calendar, STR("b.ics"),
					 false, false, &created, &error), 0);
	assert_true(created);
	assert_int_equal(dav_object_get(f->s, f->calendar, STR("a.ics"), false, &o, &error), 0);
	/* Copy to the other collection, then again without Overwrite. */
	assert_int_equal(dav_object_move(f->s, f->calendar, STR("b.ics"), f->tasks, STR("t.ics"),
					 false, true, &created, &error), DAV_PUT_PRECONDITION);
	assert_int_equal(dav_object_move(f->s, f->calendar, STR("b.ics"), f->tasks, STR("t.ics"),
					 true, true, &created, &error), 0);
	assert_false(created);
	assert_int_equal(dav_object_get(f->s, f->tasks, STR("t.ics"), true, &o, &error), 1);
	assert_string_equal(o.uid, "uid-a");
	assert_memory_equal(o.data.ptr, "A", 1);
	dav_object_free(&o);
	assert_int_equal(dav_object_get(f->s, f->calendar, STR("b.ics"), false, &o, &error), 1);
	dav_object_free(&o);
	/* Moving back onto its own UID's holder by another name conflicts. */
	put(f, f->tasks, "u.ics", "uid-b", "U");
	assert_int_equal(dav_object_move(f->s, f->tasks, STR("u.ics"), f->calendar, STR("c.ics"),
					 true, false, &created, &error), 0);
	assert_int_equal(dav_object_move(f->s, f->tasks, STR("t.ics"), f->calendar, STR("d.ics"),
					 true, false, &created, &error), DAV_PUT_UID_CONFLICT);
	/* The move is one change in each collection. */
	struct seen seen = { 0 };
	uint64_t before = sync_of(f, f->calendar);
	put(f, f->tasks, "m.ics", "uid-m", "M");
	assert_int_equal(dav_object_move(f->s, f->tasks, STR("m.ics"), f->calendar, STR("m.ics"),
					 true, false, &created, &error), 0);
	assert_int_equal(dav_changes_since(f->s, f->calendar, before, on_change, &seen, &error), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.names[0], "m.ics");
}

static void test_collection_delete_objects(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	uint64_t usage;

	put(f, f->tasks, "t.ics", "t", "TTTT");
	assert_int_equal(dav_object_delete(f->s, f->tasks, STR("t.ics"), NULL, &error), 0);
	put(f, f->tasks, "u.ics", "u", "UU");
	assert_int_equal(dav_collection_delete(f->s, f->tasks, &error), 0);
	assert_int_equal(dav_usage(f->s, &usage, &error), 0);
	assert_int_equal(usage, 0);
	struct dav_object o;
	struct dav_put p = { .name = STR("v.ics"), .data = STR("x") };
	bool created;
	assert_int_equal(dav_object_put(f->s, f->tasks, &p, &o, &created, &error), -1);
}

/* sql_text runs a query of one text answer on the test's own connection. */
static void sql_text(struct fixture *f, const char *query, char *out, size_t size)
{
	char path[sizeof(f->dir) + 16];
	sqlite3 *db;
	sqlite3_stmt *st;
	snprintf(path, sizeof(path), "%s/dav.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, query, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_file(void **state)
{
	struct fixture *f = *state;
	char text[32];
	const char *error = NULL;
	struct dav_object o;

	sql_text(f, "PRAGMA journal_mode", text, sizeof(text));
	assert_string_equal(text, "wal");
	sql_text(f, "PRAGMA user_version", text, sizeof(text));
	assert_string_equal(text, "1");

	/* A second connection (a command-line tool) sees what the first wrote. */
	struct dav_store *other = dav_store_open(f->dir, &error);
	assert_non_null(other);
	put(f, f->calendar, "a.ics", "a", "A");
	assert_int_equal(dav_object_get(other, f->calendar, STR("a.ics"), true, &o, &error), 1);
	dav_object_free(&o);
	dav_store_close(&other);
	assert_null(other);

	/* A newer schema is refused. */
	dav_store_close(&f->s);
	sql(f, "PRAGMA user_version = 2");
	assert_null(dav_store_open(f->dir, &error));
	assert_non_null(strstr(error, "newer"));
}

static void test_open_error(void **state)
{
	(void)state;
	const char *error = NULL;
	assert_null(dav_store_open("/nonexistent/dir", &error));
	assert_non_null(strstr(error, "dav.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collections, setup, teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_max_collections, setup, teardown),
		cmocka_unit_test(test_etag_token),
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collection_delete_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test(test_open_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
