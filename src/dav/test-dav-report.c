/*
 * Unit tests of the REPORTs dav-core answers itself: calendar-multiget,
 * addressbook-multiget, sync-collection (initial, delta with deletions,
 * bad tokens, the limit), and unsupported reports.
 */
#include "test-dav.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav/dav-private.h"
#include "lib/buf.h"

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
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:prop>"
		"<C:calendar-data><C:limit-recurrence-set start=\"2026\" end=\"20260201T000000Z\"/></C:calendar-data>"
		"</D:prop><D:href>/dav/calendars/alice@example.com/calendar/a.ics</D:href></C:calendar-multiget>"), 400);
	/* the report on the wrong kind of collection or a non-collection */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_BOOK, depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"/>"), 403);
	assert_int_equal(test_dav_req(t, "REPORT", "/dav/calendars/alice@example.com/", depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"/>"), 403);
	assert_int_equal(test_dav_req(t, "REPORT", "/dav/calendars/alice@example.com/nope/", depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"/>"), 404);
}

/* calendar-data with expand: the instances in the range, as ical_expand
 * makes them (RFC 4791 9.6.5), inside the multiget answer. */
static void test_multiget_expand(void **state)
{
	struct test_dav *t = *state;
	const char *h[] = { "Content-Type", "text/calendar", NULL };
	assert_int_equal(test_dav_req(t, "PUT", TEST_DAV_CAL "r.ics", h,
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:rec\r\n"
		"DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\nDURATION:PT1H\r\n"
		"RRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Daily\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 201);
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:prop>"
		"<C:calendar-data><C:expand start=\"20260106T000000Z\" end=\"20260108T000000Z\"/></C:calendar-data>"
		"</D:prop><D:href>" TEST_DAV_CAL "r.ics</D:href></C:calendar-multiget>"), 207);
	assert_has(t, "RECURRENCE-ID:20260106T100000Z");
	assert_has(t, "RECURRENCE-ID:20260107T100000Z");
	assert_lacks(t, "RRULE");
	assert_lacks(t, "20260105T100000Z");
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

/* big_event: a VEVENT of about size octets (a folded DESCRIPTION). */
static char *big_event(const char *uid, size_t size)
{
	struct buf b;
	buf_init(&b, size + 4096);
	buf_printf(&b, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\n"
		   "DTSTAMP:20260101T000000Z\r\nDTSTART:20260102T100000Z\r\nDESCRIPTION:x", uid);
	while (b.len < size)
		buf_printf(&b, "\r\n xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	buf_printf(&b, "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	return b.data;
}

/* A REPORT whose answer would pass DAV_MAX_RESPONSE is 507, no partial
 * multistatus; half as much data fits (the escaping of CR as "&#13;"
 * makes the answer some 5% larger than the data). */
static void test_report_too_large(void **state)
{
	struct test_dav *t = *state;
	const size_t size = DAV_MAX_OBJECT_SIZE - 8192;
	const size_t fit = DAV_MAX_RESPONSE / DAV_MAX_OBJECT_SIZE / 2;
	const size_t over = DAV_MAX_RESPONSE / size + 1;
	const char *h[] = { "Content-Type", "text/calendar", NULL };
	struct buf body;
	buf_init(&body, 1 << 20);
	buf_printf(&body, "<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:prop>"
		   "<C:calendar-data/></D:prop>");
	for (size_t i = 0; i < over; i++) {
		char uid[16], target[128];
		snprintf(uid, sizeof(uid), "big%zu", i);
		snprintf(target, sizeof(target), TEST_DAV_CAL "%s.ics", uid);
		char *data = big_event(uid, size);
		assert_int_equal(test_dav_req(t, "PUT", target, h, data), 201);
		free(data);
		if (i == fit) {
			buf_printf(&body, "</C:calendar-multiget>");
			assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1, body.data), 207);
			body.len -= strlen("</C:calendar-multiget>");
		}
		buf_printf(&body, "<D:href>%s</D:href>", target);
	}
	buf_printf(&body, "</C:calendar-multiget>");
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1, body.data), 507);
	assert_int_equal(t->resp.body.len, 0);
	buf_free(&body);
}

/* Only properties the resource lacks: one 404 propstat and no empty 200 one. */
static void test_only_missing(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		"<C:calendar-multiget xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:prop><D:x/>"
		"</D:prop><D:href>" TEST_DAV_CAL "a.ics</D:href></C:calendar-multiget>"), 207);
	assert_lacks(t, "200 OK");
	assert_has(t, "<D:x/></D:prop><D:status>HTTP/1.1 404 Not Found");
}

/* The UTC date-times of time-range, expand and limit-recurrence-set. */
static void test_time_range(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(dav_utc_parse(STR("20060104T000000Z"), &v), 0);
	assert_int_equal(v, 1136332800);
	assert_int_equal(dav_utc_parse(STR("20240229T235959Z"), &v), 0);
	const char *bad[] = { "20060104T000000", "20060104 000000Z", "2006010T000000Z", "20230229T000000Z",
		"20061304T000000Z", "20060100T000000Z", "20060104T240000Z", "20060104T006000Z", "+0060104T000000Z",
		"20060104T000000z", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dav_utc_parse(str_c(bad[i]), &v) == 0)
			fail_msg("%s accepted", bad[i]);
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	struct ical_time_range r;
	assert_int_equal(dav_xml_parse(STR("<r><a start=\"20060104T000000Z\"/><b end=\"20060104T000000Z\" "
		"start=\"20060104T000000Z\"/><c/><d start=\"x\"/></r>"), &doc, &error), 0);
	const struct dav_xml_node *n = dav_xml_root(doc)->children;
	assert_int_equal(dav_time_range_parse(n, &r), 0);
	assert_int_equal(r.start, 1136332800);
	assert_true(r.end == INT64_MAX);
	assert_int_equal(dav_time_range_parse(n->next, &r), -1);   /* end not after start */
	assert_int_equal(dav_time_range_parse(n->next->next, &r), 0);
	assert_true(r.start == INT64_MIN && r.end == INT64_MAX);
	assert_int_equal(dav_time_range_parse(n->next->next->next, &r), -1);
	dav_xml_free(&doc);
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
		cmocka_unit_test_setup_teardown(test_multiget_expand, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_addressbook_multiget, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_sync_collection, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_sync_limit, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_report_too_large, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_only_missing, test_dav_setup, test_dav_teardown),
		cmocka_unit_test(test_time_range),
		cmocka_unit_test_setup_teardown(test_unsupported_reports, test_dav_setup, test_dav_teardown),
	};
	return cmocka_run_group_tests_name("dav-report", tests, NULL, NULL);
}
