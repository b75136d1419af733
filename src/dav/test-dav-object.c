/*
 * Unit tests of objects: PUT with every precondition, GET/HEAD, DELETE,
 * MOVE/COPY (Destination checked: same host, same account, no dot
 * segments), and the scheduling hook after each change.
 */
#include "test-dav.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "dav/dav-private.h"

static const char *const ics[] = { "Content-Type", "text/calendar; charset=utf-8", NULL };

static void etag_of(const struct test_dav *t, char out[64])
{
	const char *e = strstr(t->resp.headers.data, "ETag: ");
	assert_non_null(e);
	e += 6;
	size_t n = strcspn(e, "\r");
	assert_true(n < 64);
	memcpy(out, e, n);
	out[n] = '\0';
}

static void test_put_get(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	char etag[64];
	etag_of(t, etag);
	assert_int_equal(etag[0], '"');
	assert_int_equal(t->change_count, 1);
	assert_false(t->changes[0].had_old);
	assert_true(t->changes[0].has_new);
	assert_string_equal(t->changes[0].name, "a.ics");
	assert_int_equal(test_dav_req(t, "GET", TEST_DAV_CAL "a.ics", NULL, NULL), 200);
	assert_string_equal(t->resp.body.data, test_dav_event("uid-a"));
	assert_string_equal(t->resp.content_type, "text/calendar; charset=utf-8");
	char line[80];
	snprintf(line, sizeof(line), "ETag: %s\r\n", etag);
	assert_true(test_dav_header(t, line));
	assert_int_equal(test_dav_req(t, "HEAD", TEST_DAV_CAL "a.ics", NULL, NULL), 200);
	assert_int_equal(test_dav_req(t, "GET", TEST_DAV_CAL "b.ics", NULL, NULL), 404);
	assert_int_equal(test_dav_req(t, "GET", TEST_DAV_CAL, NULL, NULL), 405);
	/* replaced: 204, a hook with the old data */
	const char *h[] = { "Content-Type", "text/calendar", "If-Match", etag, NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "a.ics", h, test_dav_event("uid-a")), 204);
	assert_int_equal(t->change_count, 2);
	assert_true(t->changes[1].had_old);
	/* a vCard in the address book */
	const char *vcf[] = { "Content-Type", "text/vcard", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_BOOK "c.vcf", vcf,
		"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:C\r\nEND:VCARD\r\n"), 201);
	assert_int_equal(t->change_count, 2);   /* no hook for contacts */
	assert_int_equal(test_dav_req(t, "GET", TEST_DAV_BOOK "c.vcf", NULL, NULL), 200);
	assert_string_equal(t->resp.content_type, "text/vcard; charset=utf-8");
}

static void test_put_preconditions(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	const char *inm[] = { "Content-Type", "text/calendar", "If-None-Match", "*", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "a.ics", inm, test_dav_event("uid-a")), 412);
	const char *im[] = { "Content-Type", "text/calendar", "If-Match", "\"0000\"", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "a.ics", im, test_dav_event("uid-a")), 412);
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "new.ics", im, test_dav_event("uid-n")), 412);
	const char *list[] = { "Content-Type", "text/calendar", "If-Match", "\"a\", \"b\"", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "a.ics", list, test_dav_event("uid-a")), 412);
	/* the media type */
	const char *txt[] = { "Content-Type", "text/plain", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "b.ics", txt, test_dav_event("uid-b")), 403);
	assert_has(t, "<C:supported-calendar-data/>");
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_BOOK "b.vcf", ics, test_dav_event("uid-b")), 403);
	assert_has(t, "<CR:supported-address-data/>");
	/* the data */
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "b.ics", ics, "not a calendar"), 403);
	assert_has(t, "<D:error");
	assert_has(t, "<C:valid-calendar-data/>");
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_BOOK "b.vcf", NULL, "BEGIN:VCARD\r\nEND:VCARD\r\n"), 403);
	assert_has(t, "<CR:valid-address-data/>");
	/* a VTODO in the VEVENT calendar */
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "t.ics", ics,
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:t\r\n"
		"DTSTAMP:20260101T000000Z\r\nSUMMARY:Task\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"), 403);
	assert_has(t, "<C:supported-calendar-component/>");
	assert_int_equal(test_dav_req(t, "PUT", "/dav/calendars/alice@example.com/tasks/t.ics", ics,
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:t\r\n"
		"DTSTAMP:20260101T000000Z\r\nSUMMARY:Task\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"), 201);
	/* If-Match: * wants an existing object */
	const char *star[] = { "Content-Type", "text/calendar", "If-Match", "*", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "none.ics", star, test_dav_event("uid-none")), 412);
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "a.ics", star, test_dav_event("uid-a")), 204);
	/* the same UID under another name */
	assert_int_equal(test_dav_put_event(t, "dup.ics", "uid-a"), 403);
	assert_has(t, "<C:no-uid-conflict><D:href>/dav/calendars/alice@example.com/calendar/a.ics</D:href>"
		      "</C:no-uid-conflict>");
	/* size: one past the limit */
	size_t big = DAV_MAX_OBJECT_SIZE + 1;
	char *body = malloc(big + 1);
	assert_non_null(body);
	memset(body, 'x', big);
	body[big] = '\0';
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "big.ics", ics, body), 403);
	assert_has(t, "<C:max-resource-size/>");
	free(body);
	/* not in a collection, not in the inbox, not a missing collection */
	assert_int_equal(test_dav_req(t, "PUT", "/dav/calendars/alice@example.com/inbox/x.ics", ics,
		test_dav_event("i")), 403);
	assert_int_equal(test_dav_req(t, "PUT", "/dav/calendars/alice@example.com/nope/x.ics", ics,
		test_dav_event("i")), 409);
	assert_int_equal(test_dav_req(t, "PUT", "/dav/calendars/alice@example.com/x.ics", ics,
		test_dav_event("i")), 405);
	assert_int_equal(t->change_count, 3);   /* a.ics made and replaced, t.ics; nothing refused */
}

static void test_delete(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	char etag[64];
	etag_of(t, etag);
	const char *bad[] = { "If-Match", "\"0\"", NULL };
	assert_int_equal(test_dav_req(t, "DELETE", TEST_DAV_CAL "a.ics", bad, NULL), 412);
	const char *good[] = { "If-Match", etag, NULL };
	assert_int_equal(test_dav_req(t, "DELETE", TEST_DAV_CAL "a.ics", good, NULL), 204);
	assert_int_equal(t->change_count, 2);
	assert_true(t->changes[1].had_old);
	assert_false(t->changes[1].has_new);
	assert_int_equal(test_dav_req(t, "DELETE", TEST_DAV_CAL "a.ics", NULL, NULL), 404);
}

static void test_move_copy(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	assert_int_equal(test_dav_req(t, "MKCALENDAR", "/dav/calendars/alice@example.com/work/", NULL, NULL), 201);
	const char *mv[] = { "Destination", "/dav/calendars/alice@example.com/work/b.ics", NULL };
	t->change_count = 0;
	assert_int_equal(test_dav_req(t, "MOVE", TEST_DAV_CAL "a.ics", mv, NULL), 201);
	assert_int_equal(t->change_count, 2);
	assert_true(t->changes[0].had_old && !t->changes[0].has_new);
	assert_true(!t->changes[1].had_old && t->changes[1].has_new);
	assert_int_equal(test_dav_req(t, "GET", TEST_DAV_CAL "a.ics", NULL, NULL), 404);
	assert_int_equal(test_dav_req(t, "GET", "/dav/calendars/alice@example.com/work/b.ics", NULL, NULL), 200);
	/* COPY back under an absolute URI naming our host */
	const char *cp[] = { "Destination", "https://dav.example.com/dav/calendars/alice@example.com/work/c.ics", NULL };
	assert_int_equal(test_dav_req(t, "COPY", "/dav/calendars/alice@example.com/work/b.ics", cp, NULL), 403);
	assert_has(t, "no-uid-conflict");   /* the same UID twice in one calendar */
	const char *cp2[] = { "Destination", "https://dav.example.com/dav/calendars/alice@example.com/calendar/c.ics", NULL };
	assert_int_equal(test_dav_req(t, "COPY", "/dav/calendars/alice@example.com/work/b.ics", cp2, NULL), 201);
	/* Overwrite: F onto an existing object */
	const char *nf[] = { "Destination", TEST_DAV_CAL "c.ics", "Overwrite", "F", NULL };
	assert_int_equal(test_dav_put_event(t, "d.ics", "uid-d"), 201);
	assert_int_equal(test_dav_req(t, "MOVE", TEST_DAV_CAL "d.ics", nf, NULL), 412);
	const char *ow[] = { "Destination", TEST_DAV_CAL "c.ics", "Overwrite", "T", NULL };
	assert_int_equal(test_dav_req(t, "MOVE", TEST_DAV_CAL "d.ics", ow, NULL), 204);
	const char *bad_ow[] = { "Destination", TEST_DAV_CAL "e.ics", "Overwrite", "maybe", NULL };
	assert_int_equal(test_dav_req(t, "MOVE", TEST_DAV_CAL "c.ics", bad_ow, NULL), 400);
}

/* Destinations elsewhere: another host 502, another account or home 403,
 * a missing collection 409, dot segments and encoded slashes 400; the
 * source stays where it was. */
static void test_move_refused(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	static const struct {
		const char *dest;
		int status;
	} cases[] = {
		{ "https://evil.example.net/dav/calendars/alice@example.com/tasks/a.ics", 502 },
		{ "/dav/calendars/bob@example.com/calendar/a.ics", 403 },
		{ "/dav/addressbooks/alice@example.com/contacts/a.ics", 403 },
		{ "/dav/calendars/alice@example.com/inbox/a.ics", 403 },
		{ "/dav/calendars/alice@example.com/tasks/", 403 },
		{ "/etc/passwd", 403 },
		{ "/dav/calendars/alice@example.com/nope/a.ics", 409 },
		{ "/dav/calendars/alice@example.com/calendar/../tasks/a.ics", 400 },
		{ "/dav/calendars/alice@example.com/calendar/%2e%2e/tasks/a.ics", 400 },
		{ "/dav/calendars/alice@example.com/calendar%2f..%2ftasks/a.ics", 400 },
		{ "ftp://dav.example.com/dav/calendars/alice@example.com/tasks/a.ics", 400 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *h[] = { "Destination", cases[i].dest, NULL };
		if (test_dav_req(t, "MOVE", TEST_DAV_CAL "a.ics", h, NULL) != cases[i].status)
			fail_msg("%s: %d", cases[i].dest, t->resp.status);
	}
	assert_int_equal(test_dav_req(t, "MOVE", TEST_DAV_CAL "a.ics", NULL, NULL), 400);
	assert_int_equal(test_dav_req(t, "GET", TEST_DAV_CAL "a.ics", NULL, NULL), 200);
	const char *h[] = { "Destination", "/dav/calendars/alice@example.com/work/", NULL };
	assert_int_equal(test_dav_req(t, "MOVE", TEST_DAV_CAL, h, NULL), 403);
}

/* set_usage makes the account's objects weigh used octets, by writing
 * the size column of one (a gigabyte of real objects would be slow). */
static void set_usage(struct test_dav *t, uint64_t used, const char *name)
{
	char path[sizeof(t->dir) + 16], sql[256];
	snprintf(path, sizeof(path), "%s/dav.db", t->dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "UPDATE objects SET size = %" PRIu64 " - (SELECT coalesce(sum(size), 0) FROM "
		 "objects WHERE name != '%s') WHERE name = '%s'", used, name, name);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* RFC 4331: a PUT that would take the account past DAV_ACCOUNT_QUOTA is
 * 507 quota-not-exceeded; one that reaches it exactly is stored. */
static void test_quota(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	size_t len = strlen(test_dav_event("uid-b"));
	set_usage(t, DAV_ACCOUNT_QUOTA - len + 1, "a.ics");
	assert_int_equal(test_dav_put_event(t, "b.ics", "uid-b"), 507);
	assert_has(t, "<D:quota-not-exceeded/>");
	set_usage(t, DAV_ACCOUNT_QUOTA - len, "a.ics");
	assert_int_equal(test_dav_put_event(t, "b.ics", "uid-b"), 201);
	const char *d0[] = { "Depth", "0", NULL };
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, d0, "<D:propfind xmlns:D=\"DAV:\"><D:prop>"
		"<D:quota-available-bytes/></D:prop></D:propfind>"), 207);
	assert_has(t, "<D:quota-available-bytes>0</D:quota-available-bytes>");
}

int test_dav_object_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_put_preconditions, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_delete, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_move_copy, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_move_refused, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_quota, test_dav_setup, test_dav_teardown),
	};
	return cmocka_run_group_tests_name("dav-object", tests, NULL, NULL);
}
