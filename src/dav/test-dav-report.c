/*
 * Unit tests of the REPORTs dav-core answers itself: calendar-multiget,
 * addressbook-multiget, sync-collection (initial, delta with deletions,
 * bad tokens, the limit), and unsupported reports.
 */
#include "test-dav.h"

#include <stdio.h>
#include <string.h>

static const char *const depth1[] = { "Depth", "1", NULL };

static void test_calendar_multiget(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	assert_int_equal(test_dav_put_event(t, "b.ics", "uid-b"), 201);
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		"<?xml version=\"1.0\" encoding=\"utf-8\" ?><C:calendar-multiget xmlns:D=\"DAV:\" "
		"xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:prop><D:getetag/><C:calendar-data/><D:foo/></D:prop>"
		"<D:href>/dav/calendars/alice@example.com/calendar/a.ics</D:href>"
		"<D:href>https://dav.example.com/dav/calendars/alice@example.com/calendar/b.ics</D:href>"
		"<D:href>/dav/calendars/alice@example.com/calendar/missing.ics</D:href>"
		"<D:href>/dav/calendars/alice@example.com/tasks/a.ics</D:href>"
		"<D:href>/dav/calendars/bob@example.com/calendar/a.ics</D:href>"
		"<D:href>/dav/calendars/alice@example.com/calendar/../tasks/a.ics</D:href>"
		"<D:href>/dav/calendars/alice@example.com/calendar/%2e%2e/x</D:href>"
		"</C:calendar-multiget>"), 207);
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/calendar/a.ics</D:href><D:propstat><D:prop>"
		      "<D:getetag>&quot;");
	assert_has(t, "<C:calendar-data>BEGIN:VCALENDAR&#13;\nVERSION:2.0");
	assert_has(t, "UID:uid-b&#13;");
	assert_has(t, "<D:foo/></D:prop><D:status>HTTP/1.1 404 Not Found");
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/calendar/missing.ics</D:href>"
		      "<D:status>HTTP/1.1 404 Not Found</D:status>");
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/tasks/a.ics</D:href><D:status>HTTP/1.1 404");
	assert_has(t, "<D:href>/dav/calendars/bob@example.com/calendar/a.ics</D:href><D:status>HTTP/1.1 404");
	assert_has(t, "calendar/../tasks/a.ics</D:href><D:status>HTTP/1.1 404");
	assert_has(t, "calendar/%2e%2e/x</D:href><D:status>HTTP/1.1 404");
	/* expand goes through the iCalendar module */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:prop>"
		"<C:calendar-data><C:expand start=\"20260101T000000Z\" end=\"20260201T000000Z\"/></C:calendar-data>"
		"</D:prop><D:href>/dav/calendars/alice@example.com/calendar/a.ics</D:href></C:calendar-multiget>"), 207);
	assert_lacks(t, "404");
	/* the report on the wrong kind of collection or a non-collection */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_BOOK, depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"/>"), 403);
	assert_int_equal(test_dav_req(t, "REPORT", "/dav/calendars/alice@example.com/", depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"/>"), 403);
	assert_int_equal(test_dav_req(t, "REPORT", "/dav/calendars/alice@example.com/nope/", depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"/>"), 404);
}

static void test_addressbook_multiget(void **state)
{
	struct test_dav *t = *state;
	const char *vcf[] = { "Content-Type", "text/vcard; charset=utf-8", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_BOOK "c.vcf", vcf,
		"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:A <b> & c\r\nEND:VCARD\r\n"), 201);
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_BOOK, depth1,
		"<CR:addressbook-multiget xmlns:D=\"DAV:\" xmlns:CR=\"urn:ietf:params:xml:ns:carddav\"><D:prop>"
		"<D:getetag/><CR:address-data/></D:prop><D:href>" TEST_DAV_BOOK "c.vcf</D:href>"
		"<D:href>" TEST_DAV_CAL "c.vcf</D:href></CR:addressbook-multiget>"), 207);
	assert_has(t, "<CR:address-data>BEGIN:VCARD&#13;\nVERSION:3.0&#13;\nUID:c1&#13;\nFN:A &lt;b&gt; &amp; c");
	assert_has(t, "calendar/c.vcf</D:href><D:status>HTTP/1.1 404");
}

static const char sync_body[] = "<?xml version=\"1.0\" encoding=\"utf-8\" ?><D:sync-collection xmlns:D=\"DAV:\">"
	"<D:sync-token>%s</D:sync-token><D:sync-level>1</D:sync-level>%s<D:prop><D:getetag/></D:prop>"
	"</D:sync-collection>";

/* token_of copies the answer's new sync-token. */
static void token_of(const struct test_dav *t, char *out, size_t size)
{
	const char *s = strstr(t->resp.body.data, "<D:sync-token>");
	assert_non_null(s);
	s += strlen("<D:sync-token>");
	const char *e = strstr(s, "</D:sync-token>");
	assert_non_null(e);
	assert_true((size_t)(e - s) < size);
	snprintf(out, size, "%.*s", (int)(e - s), s);
}

static int sync_req(struct test_dav *t, const char *token, const char *extra)
{
	char body[1024];
	snprintf(body, sizeof(body), sync_body, token, extra);
	const char *h[] = { "Depth", "0", NULL };
	return test_dav_req(t, "REPORT", TEST_DAV_CAL, h, body);
}

static void test_sync_collection(void **state)
{
	struct test_dav *t = *state;
	char token[128], token2[128];
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	assert_int_equal(test_dav_put_event(t, "b.ics", "uid-b"), 201);
	/* initial: every member */
	assert_int_equal(sync_req(t, "", ""), 207);
	assert_has(t, "calendar/a.ics</D:href>");
	assert_has(t, "calendar/b.ics</D:href>");
	token_of(t, token, sizeof(token));
	/* delta: one changed, one deleted, one new */
	assert_int_equal(test_dav_req(t, "DELETE", TEST_DAV_CAL "a.ics", NULL, NULL), 204);
	assert_int_equal(test_dav_put_event(t, "c.ics", "uid-c"), 201);
	assert_int_equal(sync_req(t, token, ""), 207);
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/calendar/a.ics</D:href>"
		      "<D:status>HTTP/1.1 404 Not Found</D:status>");
	assert_has(t, "calendar/c.ics</D:href><D:propstat>");
	assert_lacks(t, "b.ics");
	token_of(t, token2, sizeof(token2));
	assert_string_not_equal(token, token2);
	/* nothing since */
	assert_int_equal(sync_req(t, token2, ""), 207);
	assert_lacks(t, "<D:response>");
	/* tokens not ours, of another collection, from the future */
	assert_int_equal(sync_req(t, "http://example.com/token/1", ""), 403);
	assert_has(t, "<D:valid-sync-token/>");
	struct dav_collection c;
	const char *error = NULL;
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("tasks"), &c, &error), 1);
	char other[DAV_SYNC_TOKEN_MAX];
	dav_sync_token(c.id, 1, other);
	dav_collection_free(&c);
	assert_int_equal(sync_req(t, other, ""), 403);
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("calendar"), &c, &error), 1);
	dav_sync_token(c.id, c.sync + 100, other);
	dav_collection_free(&c);
	assert_int_equal(sync_req(t, other, ""), 403);
	assert_has(t, "<D:valid-sync-token/>");
}

/* RFC 6578 3.6: a limit below the changes gives that many, a 507 for the
 * collection, and a token from which the rest follows. */
static void test_sync_limit(void **state)
{
	struct test_dav *t = *state;
	char name[16], uid[16], token[128];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "e%d.ics", i);
		snprintf(uid, sizeof(uid), "u%d", i);
		assert_int_equal(test_dav_put_event(t, name, uid), 201);
	}
	assert_int_equal(sync_req(t, "", "<D:limit><D:nresults>3</D:nresults></D:limit>"), 207);
	assert_has(t, "e0.ics");
	assert_has(t, "e2.ics");
	assert_lacks(t, "e3.ics");
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/calendar/</D:href>"
		      "<D:status>HTTP/1.1 507 Insufficient Storage</D:status>");
	token_of(t, token, sizeof(token));
	assert_int_equal(sync_req(t, token, ""), 207);
	assert_has(t, "e3.ics");
	assert_has(t, "e4.ics");
	assert_lacks(t, "e2.ics");
	assert_int_equal(sync_req(t, "", "<D:limit><D:nresults>x</D:nresults></D:limit>"), 400);
}

static void test_unsupported_reports(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "REPORT", "/dav/principals/alice@example.com/", NULL,
		"<D:principal-property-search xmlns:D=\"DAV:\"/>"), 403);
	assert_has(t, "<D:supported-report/>");
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, NULL, NULL), 400);
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, NULL, "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"), 400);
}

int test_dav_report_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_calendar_multiget, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_addressbook_multiget, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_sync_collection, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_sync_limit, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_reports, test_dav_setup, test_dav_teardown),
	};
	return cmocka_run_group_tests_name("dav-report", tests, NULL, NULL);
}
