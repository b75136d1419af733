/*
 * Unit tests of dav: routing of the URL space (the ticket's account only,
 * 404 for another's), OPTIONS, refused methods and paths.  The other
 * groups live in test-dav-props.c, test-dav-object.c, test-dav-report.c.
 */
#include "test-dav.h"

#include <string.h>

static void test_options(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "OPTIONS", "/dav/", NULL, NULL), 200);
	assert_true(test_dav_header(t, "DAV: 1, 3, calendar-access, addressbook, calendar-auto-schedule, extended-mkcol\r\n"));
	assert_true(test_dav_header(t, "Allow: "));
	assert_false(test_dav_header(t, "LOCK"));
	assert_int_equal(test_dav_req(t, "OPTIONS", TEST_DAV_CAL, NULL, NULL), 200);
	assert_int_equal(test_dav_req(t, "OPTIONS", "*", NULL, NULL), 200);
	assert_true(test_dav_header(t, "DAV: 1, 3, calendar-access"));
	assert_int_equal(test_dav_req(t, "GET", "*", NULL, NULL), 400);
}

static void test_lock_refused(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "LOCK", TEST_DAV_CAL "x.ics", NULL, "<lockinfo/>"), 405);
	assert_int_equal(test_dav_req(t, "UNLOCK", TEST_DAV_CAL "x.ics", NULL, NULL), 405);
	assert_int_equal(test_dav_req(t, "BREW", "/dav/", NULL, NULL), 405);
}

/* DESIGN rule 2: the account is the ticket's; a path naming another
 * address is 404 whatever the method, and nothing is touched. */
static void test_other_account(void **state)
{
	struct test_dav *t = *state;
	const char *paths[] = { "/dav/principals/bob@example.com/", "/dav/calendars/bob@example.com/",
		"/dav/calendars/bob@example.com/calendar/", "/dav/calendars/bob@example.com/calendar/x.ics",
		"/dav/addressbooks/bob@example.com/contacts/", "/dav/calendars/alice@example.org/calendar/" };
	const char *h[] = { "Depth", "0", "Content-Type", "text/calendar", NULL };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(test_dav_req(t, "PROPFIND", paths[i], h, NULL), 404);
		assert_int_equal(test_dav_req(t, "PUT", paths[i], h, test_dav_event("u1")), 404);
		assert_int_equal(test_dav_req(t, "DELETE", paths[i], h, NULL), 404);
		assert_int_equal(test_dav_req(t, "MKCALENDAR", paths[i], h, NULL), 404);
	}
	/* the own address in another case is the own account */
	assert_int_equal(test_dav_req(t, "PROPFIND", "/dav/principals/Alice@Example.COM/", h, NULL), 207);
}

static void test_unknown_paths(void **state)
{
	struct test_dav *t = *state;
	const char *h[] = { "Depth", "0", NULL };
	const char *paths[] = { "/davx/", "/dav/calendars/", "/dav/other/", "/index.html",
		"/dav/calendars/alice@example.com/calendar/a/b", "/dav/principals/alice@example.com/x/" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(test_dav_req(t, "PROPFIND", paths[i], h, NULL), 404);
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL "none.ics", h, NULL), 404);
	assert_int_equal(test_dav_req(t, "PROPFIND", "/dav/calendars/alice@example.com/nope/", h, NULL), 404);
	assert_int_equal(test_dav_req(t, "GET", "/.well-known/caldav", NULL, NULL), 301);
	assert_true(test_dav_header(t, "Location: /dav/\r\n"));
	/* The server's root is the DAV root (RFC 6764 6: clients given only
	 * the server ask it), and names the principal even to an empty
	 * PROPFIND (allprop), as a client redirected without its body sends. */
	assert_int_equal(test_dav_req(t, "PROPFIND", "/", h, NULL), 207);
	assert_true(strstr(t->resp.body.data, "current-user-principal") != NULL);
}

/* Dot segments and encoded separators are refused, not normalised: the
 * request touches nothing. */
static void test_traversal(void **state)
{
	struct test_dav *t = *state;
	const char *h[] = { "Content-Type", "text/calendar", NULL };
	const char *paths[] = { "/dav/calendars/alice@example.com/calendar/../tasks/x.ics",
		"/dav/calendars/alice@example.com/calendar/%2e%2e/x.ics",
		"/dav/calendars/alice@example.com/calendar/a%2fb.ics",
		"/dav/calendars/alice@example.com/calendar/a%5cb.ics",
		"/dav/calendars/alice@example.com/calendar/./x.ics",
		"/dav/calendars/alice@example.com//calendar/x.ics",
		"/dav/calendars/alice@example.com/calendar/x%00.ics" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(test_dav_req(t, "PUT", paths[i], h, test_dav_event("trav")), 400);
	struct dav_collection c;
	const char *error = NULL;
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("calendar"), &c, &error), 1);
	assert_int_equal(c.objects, 0);
	dav_collection_free(&c);
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("tasks"), &c, &error), 1);
	assert_int_equal(c.objects, 0);
	dav_collection_free(&c);
}

/* Names are data: one with characters a file name could not hold is kept
 * and answered under its canonical href. */
static void test_odd_names(void **state)
{
	struct test_dav *t = *state;
	const char *h[] = { "Content-Type", "text/calendar", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "a%20b%3Cc%3E%26.ics", h, test_dav_event("odd")), 201);
	const char *d1[] = { "Depth", "1", NULL };
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, d1, NULL), 207);
	assert_has(t, "a%20b%3Cc%3E%26.ics");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_options, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_lock_refused, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_other_account, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_paths, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_traversal, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_odd_names, test_dav_setup, test_dav_teardown),
	};
	int failed = cmocka_run_group_tests_name("dav-routing", tests, NULL, NULL);
	failed += test_dav_props_run();
	failed += test_dav_object_run();
	failed += test_dav_report_run();
	return failed != 0;
}
