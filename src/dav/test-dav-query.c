/*
 * Unit tests of dav-query through dav_handle: calendar-query as clients
 * send it (time ranges, text, expand in calendar-data, a bad filter, an
 * object past the iCalendar limits), free-busy-query, addressbook-query
 * with its limit, and the schedule outbox's free/busy POST.
 */
#include "test-dav.h"

#include <stdio.h>
#include <string.h>

static const char *const depth1[] = { "Depth", "1", NULL };

#define CQ_OPEN                                                                                      \
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><C:calendar-query xmlns:D=\"DAV:\" "              \
	"xmlns:C=\"urn:ietf:params:xml:ns:caldav\">"

static int put(struct test_dav *t, const char *target, const char *type, const char *body)
{
	const char *h[] = { "Content-Type", type, NULL };

	return test_dav_req(t, "PUT", target, h, body);
}

#define WEEKLY                                                                                     \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:weekly\r\n"   \
	"DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\n"       \
	"RRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Team meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

static void test_calendar_query(void **state)
{
	struct test_dav *t = *state;

	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201); /* 2026-01-02 10:00Z */
	assert_int_equal(put(t, TEST_DAV_CAL "w.ics", "text/calendar", WEEKLY), 201);
	/* Thunderbird's query for a month's events, etags only. */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
		"<C:comp-filter name=\"VEVENT\"><C:time-range start=\"20260201T000000Z\" end=\"20260301T000000Z\"/>"
		"</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"), 207);
	assert_has(t, "calendar/w.ics</D:href>");
	assert_lacks(t, "calendar/a.ics");
	/* All events, with the data. */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
		"<C:comp-filter name=\"VEVENT\"/></C:comp-filter></C:filter></C:calendar-query>"), 207);
	assert_has(t, "calendar/w.ics</D:href>");
	assert_has(t, "calendar/a.ics</D:href>");
	assert_has(t, "UID:uid-a");
	/* Apple's text search on SUMMARY, and its negation. */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
		"<C:comp-filter name=\"VEVENT\"><C:prop-filter name=\"SUMMARY\"><C:text-match "
		"collation=\"i;ascii-casemap\">TEAM</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>"
		"</C:filter></C:calendar-query>"), 207);
	assert_has(t, "w.ics");
	assert_lacks(t, "a.ics");
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
		"<C:comp-filter name=\"VEVENT\"><C:prop-filter name=\"SUMMARY\"><C:text-match "
		"negate-condition=\"yes\">team</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>"
		"</C:filter></C:calendar-query>"), 207);
	assert_lacks(t, "w.ics");
	assert_has(t, "a.ics");
	/* expand in calendar-data: the instances of February. */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<D:prop><C:calendar-data><C:expand start=\"20260201T000000Z\" end=\"20260301T000000Z\"/>"
		"</C:calendar-data></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\">"
		"<C:time-range start=\"20260201T000000Z\" end=\"20260301T000000Z\"/></C:comp-filter></C:comp-filter>"
		"</C:filter></C:calendar-query>"), 207);
	assert_has(t, "RECURRENCE-ID:20260202T090000Z");
	assert_has(t, "RECURRENCE-ID:20260223T090000Z");
	assert_lacks(t, "RRULE");
}

static void test_calendar_query_refused(void **state)
{
	struct test_dav *t = *state;

	/* No filter, a bad time, an unknown collation, the wrong collection. */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<D:prop><D:getetag/></D:prop></C:calendar-query>"), 403);
	assert_has(t, "valid-filter");
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<C:filter><C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\">"
		"<C:time-range start=\"2026\"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"), 403);
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<C:filter><C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\">"
		"<C:prop-filter name=\"SUMMARY\"><C:text-match collation=\"i;klingon\">x</C:text-match>"
		"</C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"), 403);
	assert_has(t, "supported-collation");
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_BOOK, depth1,
		CQ_OPEN "<C:filter><C:comp-filter name=\"VCALENDAR\"/></C:filter></C:calendar-query>"), 403);
}

/* An object the iCalendar code gives up on gets its own 507, the others
 * their answers, and the query ends. */
static void test_calendar_query_limit(void **state)
{
	struct test_dav *t = *state;

	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	assert_int_equal(put(t, TEST_DAV_CAL "bomb.ics", "text/calendar",
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:bomb\r\nDTSTAMP:20260101T000000Z\r\n"
		"DTSTART:20260101T000000Z\r\nRRULE:FREQ=SECONDLY;COUNT=1000000000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 201);
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		CQ_OPEN "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
		"<C:comp-filter name=\"VEVENT\"><C:time-range start=\"20270101T000000Z\" end=\"20270102T000000Z\"/>"
		"</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"), 207);
	assert_has(t, "bomb.ics</D:href><D:status>HTTP/1.1 507");
	assert_has(t, "ICAL_MAX_ITERATIONS");
	assert_lacks(t, "a.ics");
}

static void test_freebusy_query(void **state)
{
	struct test_dav *t = *state;

	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	assert_int_equal(put(t, TEST_DAV_CAL "w.ics", "text/calendar", WEEKLY), 201);
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		"<C:free-busy-query xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><C:time-range "
		"start=\"20260101T000000Z\" end=\"20260106T000000Z\"/></C:free-busy-query>"), 200);
	assert_has(t, "BEGIN:VFREEBUSY");
	assert_has(t, "FREEBUSY;FBTYPE=BUSY:20260102T100000Z/20260102T110000Z");
	assert_has(t, "FREEBUSY;FBTYPE=BUSY:20260105T090000Z/20260105T100000Z");
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_CAL, depth1,
		"<C:free-busy-query xmlns:C=\"urn:ietf:params:xml:ns:caldav\"/>"), 400);
}

#define CARD(uid, fn, email)                                                                       \
	"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" uid "\r\nFN:" fn "\r\nN:;" fn ";;;\r\nEMAIL;TYPE=work:" email \
	"\r\nEND:VCARD\r\n"

static void test_addressbook_query(void **state)
{
	struct test_dav *t = *state;

	assert_int_equal(put(t, TEST_DAV_BOOK "a.vcf", "text/vcard", CARD("ua", "Ann Smith", "ann@example.org")), 201);
	assert_int_equal(put(t, TEST_DAV_BOOK "b.vcf", "text/vcard", CARD("ub", "Bob Jones", "bob@example.org")), 201);
	assert_int_equal(put(t, TEST_DAV_BOOK "c.vcf", "text/vcard", CARD("uc", "Anna Lee", "anna@example.net")), 201);
	/* An address-completion search as Thunderbird's CardBook sends it. */
#define ABQ(limit) "<?xml version=\"1.0\"?><C:addressbook-query xmlns:D=\"DAV:\" " \
			"xmlns:C=\"urn:ietf:params:xml:ns:carddav\"><D:prop><D:getetag/><C:address-data/></D:prop>" \
			"<C:filter test=\"anyof\"><C:prop-filter name=\"FN\"><C:text-match match-type=\"starts-with\">" \
			"ann</C:text-match></C:prop-filter><C:prop-filter name=\"EMAIL\"><C:text-match>bob@" \
			"</C:text-match></C:prop-filter></C:filter>" limit "</C:addressbook-query>"
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_BOOK, depth1, ABQ("")), 207);
	assert_has(t, "contacts/a.vcf");
	assert_has(t, "contacts/b.vcf");
	assert_has(t, "contacts/c.vcf");
	assert_has(t, "FN:Ann Smith");
	/* The limit: two results, and the 507 that says there were more. */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_BOOK, depth1,
		ABQ("<C:limit><C:nresults>2</C:nresults></C:limit>")), 207);
	assert_has(t, "contacts/a.vcf");
	assert_has(t, "contacts/b.vcf");
	assert_lacks(t, "contacts/c.vcf");
	assert_has(t, "number-of-matches-within-limits");
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_BOOK, depth1,
		ABQ("<C:limit><C:nresults>3</C:nresults></C:limit>")), 207);
	assert_lacks(t, "number-of-matches-within-limits");
	/* allof */
	assert_int_equal(test_dav_req(t, "REPORT", TEST_DAV_BOOK, depth1,
		"<C:addressbook-query xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:carddav\"><D:prop><D:getetag/>"
		"</D:prop><C:filter test=\"allof\"><C:prop-filter name=\"FN\"><C:text-match>ann</C:text-match>"
		"</C:prop-filter><C:prop-filter name=\"EMAIL\"><C:text-match match-type=\"ends-with\">.net"
		"</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"), 207);
	assert_has(t, "contacts/c.vcf");
	assert_lacks(t, "contacts/a.vcf");
}

#define FB_REQUEST(org, att)                                                                        \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 14//EN\r\nMETHOD:REQUEST\r\n"  \
	"BEGIN:VFREEBUSY\r\nUID:fb-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260102T000000Z\r\n"      \
	"DTEND:20260103T000000Z\r\nORGANIZER:mailto:" org "\r\nATTENDEE:mailto:" att "\r\n"           \
	"ATTENDEE:mailto:someone@elsewhere.example\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"

static void test_outbox(void **state)
{
	struct test_dav *t = *state;
	const char *outbox = "/dav/calendars/alice@example.com/outbox/";
	const char *h[] = { "Content-Type", "text/calendar", NULL };

	assert_int_equal(test_dav_put_event(t, "a.ics", "uid-a"), 201);
	assert_int_equal(test_dav_req(t, "POST", outbox, h, FB_REQUEST("alice@example.com", "AL@example.com")), 200);
	assert_has(t, "<C:schedule-response");
	assert_has(t, "<D:href>mailto:AL@example.com</D:href></C:recipient><C:request-status>2.0;Success");
	assert_has(t, "FREEBUSY;FBTYPE=BUSY:20260102T100000Z/20260102T110000Z");
	assert_has(t, "METHOD:REPLY");
	assert_has(t, "mailto:someone@elsewhere.example</D:href></C:recipient><C:request-status>3.7;Invalid calendar user");
	/* Someone else's organizer; not a request. */
	assert_int_equal(test_dav_req(t, "POST", outbox, h, FB_REQUEST("bob@example.com", "alice@example.com")), 403);
	assert_int_equal(test_dav_req(t, "POST", outbox, h, test_dav_event("x")), 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_calendar_query, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_calendar_query_refused, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_calendar_query_limit, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_freebusy_query, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_addressbook_query, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_outbox, test_dav_setup, test_dav_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
