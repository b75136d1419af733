/*
 * Unit tests of PROPFIND (bodies as Apple Calendar, Thunderbird and DAVx5
 * send them), PROPPATCH (all or nothing), MKCALENDAR, extended MKCOL and
 * DELETE of collections.
 */
#include "test-dav.h"

#include <stdio.h>
#include <string.h>

#include "lib/buf.h"

static const char *const depth0[] = { "Depth", "0", NULL };
static const char *const depth1[] = { "Depth", "1", NULL };

/* Apple Calendar's first request on the root, then on the principal. */
static void test_apple_discovery(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "PROPFIND", "/dav/", depth0,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<A:propfind xmlns:A=\"DAV:\"><A:prop>"
		"<A:current-user-principal/><A:principal-URL/><A:resourcetype/></A:prop></A:propfind>"), 207);
	assert_has(t, "<D:current-user-principal><D:href>/dav/principals/alice@example.com/</D:href>");
	assert_has(t, "<D:resourcetype><D:collection/></D:resourcetype>");
	assert_has(t, "<D:principal-URL/>");   /* the root has none: 404 */
	assert_has(t, "HTTP/1.1 404 Not Found");
	assert_int_equal(test_dav_req(t, "PROPFIND", "/dav/principals/alice@example.com/", depth0,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<A:propfind xmlns:A=\"DAV:\"><A:prop>"
		"<B:calendar-home-set xmlns:B=\"urn:ietf:params:xml:ns:caldav\"/>"
		"<B:calendar-user-address-set xmlns:B=\"urn:ietf:params:xml:ns:caldav\"/>"
		"<A:current-user-principal/><A:displayname/>"
		"<C:dropbox-home-URL xmlns:C=\"http://calendarserver.org/ns/\"/>"
		"<C:email-address-set xmlns:C=\"http://calendarserver.org/ns/\"/>"
		"<B:schedule-inbox-URL xmlns:B=\"urn:ietf:params:xml:ns:caldav\"/>"
		"<B:schedule-outbox-URL xmlns:B=\"urn:ietf:params:xml:ns:caldav\"/>"
		"<A:principal-URL/><A:resourcetype/></A:prop></A:propfind>"), 207);
	assert_has(t, "<C:calendar-home-set><D:href>/dav/calendars/alice@example.com/</D:href></C:calendar-home-set>");
	assert_has(t, "<D:href>mailto:alice@example.com</D:href><D:href>mailto:al@example.com</D:href>");
	assert_has(t, "<D:displayname>Alice Liddell</D:displayname>");
	assert_has(t, "<C:schedule-inbox-URL><D:href>/dav/calendars/alice@example.com/inbox/</D:href>");
	assert_has(t, "<C:schedule-outbox-URL><D:href>/dav/calendars/alice@example.com/outbox/</D:href>");
	assert_has(t, "<D:resourcetype><D:collection/><D:principal/></D:resourcetype>");
	assert_has(t, "<CS:dropbox-home-URL/><CS:email-address-set/></D:prop><D:status>HTTP/1.1 404 Not Found");
}

/* Thunderbird lists the calendar home at Depth 1. */
static void test_thunderbird_home(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "PROPFIND", "/dav/calendars/alice@example.com/", depth1,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<D:propfind xmlns:D=\"DAV:\" "
		"xmlns:CS=\"http://calendarserver.org/ns/\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\" "
		"xmlns:A=\"http://apple.com/ns/ical/\"><D:prop><D:resourcetype/><D:owner/>"
		"<D:current-user-principal/><D:current-user-privilege-set/><D:supported-report-set/>"
		"<C:supported-calendar-component-set/><CS:getctag/><A:calendar-color/><D:displayname/>"
		"<D:sync-token/><C:max-resource-size/><D:quota-used-bytes/><D:quota-available-bytes/>"
		"</D:prop></D:propfind>"), 207);
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/calendar/</D:href>");
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/tasks/</D:href>");
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/inbox/</D:href>");
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/outbox/</D:href>");
	assert_has(t, "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>");
	assert_has(t, "<D:resourcetype><D:collection/><C:schedule-inbox/></D:resourcetype>");
	assert_has(t, "<D:resourcetype><D:collection/><C:schedule-outbox/></D:resourcetype>");
	assert_has(t, "<C:supported-calendar-component-set><C:comp name=\"VEVENT\"/></C:supported-calendar-component-set>");
	assert_has(t, "<C:supported-calendar-component-set><C:comp name=\"VTODO\"/></C:supported-calendar-component-set>");
	assert_has(t, "<CS:getctag>urn:ravelin:sync:");
	assert_has(t, "<D:sync-token>urn:ravelin:sync:");
	assert_has(t, "<D:supported-report><D:report><C:calendar-multiget/></D:report></D:supported-report>");
	assert_has(t, "<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>");
	assert_has(t, "<D:privilege><D:write/></D:privilege>");
	assert_has(t, "<D:privilege><C:schedule-send/></D:privilege>");
	assert_has(t, "<C:max-resource-size>1048576</C:max-resource-size>");
	assert_has(t, "<D:quota-used-bytes>0</D:quota-used-bytes>");
	assert_has(t, "<D:quota-available-bytes>1073741824</D:quota-available-bytes>");
	assert_has(t, "<D:owner><D:href>/dav/principals/alice@example.com/</D:href></D:owner>");
}

/* DAVx5: the address-book home from the principal, then the books. */
static void test_davx5_books(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "PROPFIND", "/dav/principals/alice@example.com/", depth0,
		"<?xml version='1.0' encoding='UTF-8' ?><propfind xmlns=\"DAV:\" "
		"xmlns:CARD=\"urn:ietf:params:xml:ns:carddav\"><prop><CARD:addressbook-home-set/>"
		"<group-membership/></prop></propfind>"), 207);
	assert_has(t, "<CR:addressbook-home-set><D:href>/dav/addressbooks/alice@example.com/</D:href>");
	assert_has(t, "<D:group-membership/>");
	assert_int_equal(test_dav_req(t, "PROPFIND", "/dav/addressbooks/alice@example.com/", depth1,
		"<?xml version='1.0' encoding='UTF-8' ?><propfind xmlns=\"DAV:\" "
		"xmlns:CARD=\"urn:ietf:params:xml:ns:carddav\"><prop><resourcetype/><displayname/>"
		"<CARD:addressbook-description/><CARD:supported-address-data/><current-user-privilege-set/>"
		"<sync-token/></prop></propfind>"), 207);
	assert_has(t, "<D:href>/dav/addressbooks/alice@example.com/contacts/</D:href>");
	assert_has(t, "<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>");
	assert_has(t, "<D:displayname>Contacts</D:displayname>");
	assert_has(t, "<CR:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>");
}

static void test_depth(void **state)
{
	struct test_dav *t = *state;
	const char *inf[] = { "Depth", "infinity", NULL };
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, inf, NULL), 403);
	assert_has(t, "<D:propfind-finite-depth/>");
	const char *bad[] = { "Depth", "2", NULL };
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, bad, NULL), 400);
	assert_int_equal(test_dav_put_event(t, "e1.ics", "e1"), 201);
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, depth1, NULL), 207);   /* allprop */
	assert_has(t, "<D:href>/dav/calendars/alice@example.com/calendar/e1.ics</D:href>");
	assert_has(t, "<D:getetag>&quot;");
	assert_has(t, "<D:getcontenttype>text/calendar; charset=utf-8</D:getcontenttype>");
	assert_lacks(t, "calendar-home-set");
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, depth0,
		"<D:propfind xmlns:D=\"DAV:\"><D:propname/></D:propfind>"), 207);
	assert_has(t, "<CS:getctag/>");
	assert_lacks(t, "e1.ics");
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, depth0, "<D:propfind xmlns:D=\"DAV:\">"), 400);
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, depth0, "<D:other xmlns:D=\"DAV:\"/>"), 400);
}

static const char tz_ok[] = "BEGIN:VCALENDAR&#13;\nVERSION:2.0&#13;\nBEGIN:VTIMEZONE&#13;\nTZID:Europe/Paris&#13;\n"
	"BEGIN:STANDARD&#13;\nDTSTART:19701025T030000&#13;\nTZOFFSETFROM:+0200&#13;\nTZOFFSETTO:+0100&#13;\n"
	"END:STANDARD&#13;\nEND:VTIMEZONE&#13;\nEND:VCALENDAR&#13;\n";

static void test_proppatch(void **state)
{
	struct test_dav *t = *state;
	char body[2048];
	snprintf(body, sizeof(body), "<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\" "
		"xmlns:C=\"urn:ietf:params:xml:ns:caldav\" xmlns:A=\"http://apple.com/ns/ical/\"><D:set><D:prop>"
		"<D:displayname>Work &amp; play</D:displayname><A:calendar-color>#FF0000FF</A:calendar-color>"
		"<A:calendar-order>-3</A:calendar-order><C:calendar-description>Desc</C:calendar-description>"
		"<C:calendar-timezone>%s</C:calendar-timezone></D:prop></D:set></D:propertyupdate>", tz_ok);
	assert_int_equal(test_dav_req(t, "PROPPATCH", TEST_DAV_CAL, NULL, body), 207);
	assert_has(t, "<D:displayname/><A:calendar-color/><A:calendar-order/><C:calendar-description/>"
		      "<C:calendar-timezone/></D:prop><D:status>HTTP/1.1 200 OK");
	struct dav_collection c;
	const char *error = NULL;
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("calendar"), &c, &error), 1);
	assert_string_equal(c.displayname, "Work & play");
	assert_string_equal(c.color, "#FF0000FF");
	assert_true(c.has_order && c.order == -3);
	assert_non_null(strstr(c.timezone, "TZID:Europe/Paris\r\n"));
	dav_collection_free(&c);
	assert_int_equal(test_dav_req(t, "PROPFIND", TEST_DAV_CAL, depth0, "<D:propfind xmlns:D=\"DAV:\" "
		"xmlns:A=\"http://apple.com/ns/ical/\"><D:prop><A:calendar-order/><D:displayname/></D:prop></D:propfind>"), 207);
	assert_has(t, "<A:calendar-order>-3</A:calendar-order><D:displayname>Work &amp; play</D:displayname>");
	/* remove */
	assert_int_equal(test_dav_req(t, "PROPPATCH", TEST_DAV_CAL, NULL, "<D:propertyupdate xmlns:D=\"DAV:\" "
		"xmlns:A=\"http://apple.com/ns/ical/\"><D:remove><D:prop><A:calendar-color/></D:prop></D:remove>"
		"</D:propertyupdate>"), 207);
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("calendar"), &c, &error), 1);
	assert_null(c.color);
	assert_string_equal(c.displayname, "Work & play");
	dav_collection_free(&c);
}

/* One bad property fails them all: 409 for it, 424 for the others, 403 for
 * the protected and unknown ones; nothing stored. */
static void test_proppatch_atomic(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "PROPPATCH", TEST_DAV_CAL, NULL, "<D:propertyupdate xmlns:D=\"DAV:\" "
		"xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop><D:displayname>New</D:displayname>"
		"<C:calendar-timezone>BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VEVENT\nEND:VCALENDAR\n</C:calendar-timezone>"
		"</D:prop></D:set></D:propertyupdate>"), 207);
	assert_has(t, "<C:calendar-timezone/></D:prop><D:status>HTTP/1.1 409 Conflict");
	assert_has(t, "<D:displayname/></D:prop><D:status>HTTP/1.1 424 Failed Dependency");
	assert_int_equal(test_dav_req(t, "PROPPATCH", TEST_DAV_CAL, NULL, "<D:propertyupdate xmlns:D=\"DAV:\">"
		"<D:set><D:prop><D:displayname>New</D:displayname><D:getetag>x</D:getetag><x:y xmlns:x=\"urn:x\">1</x:y>"
		"</D:prop></D:set></D:propertyupdate>"), 207);
	assert_has(t, "<D:getetag/><X:y xmlns:X=\"urn:x\"/></D:prop><D:status>HTTP/1.1 403 Forbidden");
	/* a calendar property on an address book; a bad order */
	assert_int_equal(test_dav_req(t, "PROPPATCH", TEST_DAV_BOOK, NULL, "<D:propertyupdate xmlns:D=\"DAV:\" "
		"xmlns:A=\"http://apple.com/ns/ical/\"><D:set><D:prop><A:calendar-color>#000000</A:calendar-color>"
		"</D:prop></D:set></D:propertyupdate>"), 207);
	assert_has(t, "403 Forbidden");
	assert_int_equal(test_dav_req(t, "PROPPATCH", TEST_DAV_CAL, NULL, "<D:propertyupdate xmlns:D=\"DAV:\" "
		"xmlns:A=\"http://apple.com/ns/ical/\"><D:set><D:prop><A:calendar-order>1x</A:calendar-order>"
		"</D:prop></D:set></D:propertyupdate>"), 207);
	assert_has(t, "409 Conflict");
	struct dav_collection c;
	const char *error = NULL;
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("calendar"), &c, &error), 1);
	assert_string_equal(c.displayname, "Calendar");
	assert_null(c.timezone);
	assert_false(c.has_order);
	dav_collection_free(&c);
	/* the principal has nothing to set */
	assert_int_equal(test_dav_req(t, "PROPPATCH", "/dav/principals/alice@example.com/", NULL,
		"<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set>"
		"</D:propertyupdate>"), 207);
	assert_has(t, "403 Forbidden");
	assert_int_equal(test_dav_req(t, "PROPPATCH", TEST_DAV_CAL, NULL, "<D:propfind xmlns:D=\"DAV:\"/>"), 400);
}

/* A property value of DAV_MAX_PROPERTY octets is stored, one more is 409. */
static void test_property_limit(void **state)
{
	struct test_dav *t = *state;
	struct buf b;
	buf_init(&b, 2 * DAV_MAX_PROPERTY);
	for (int over = 0; over < 2; over++) {
		buf_reset(&b);
		buf_printf(&b, "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><D:displayname>");
		for (size_t i = 0; i < DAV_MAX_PROPERTY + (size_t)over; i++)
			buf_putc(&b, 'n');
		buf_printf(&b, "</D:displayname></D:prop></D:set></D:propertyupdate>");
		assert_int_equal(test_dav_req(t, "PROPPATCH", TEST_DAV_CAL, NULL, b.data), 207);
		assert_has(t, over ? "409 Conflict" : "200 OK");
	}
	buf_free(&b);
	struct dav_collection c;
	const char *error = NULL;
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("calendar"), &c, &error), 1);
	assert_int_equal(strlen(c.displayname), DAV_MAX_PROPERTY);
	dav_collection_free(&c);
}

static void test_mkcalendar(void **state)
{
	struct test_dav *t = *state;
	const char *url = "/dav/calendars/alice@example.com/journal/";
	assert_int_equal(test_dav_req(t, "MKCALENDAR", url, NULL, "<?xml version=\"1.0\"?><C:mkcalendar "
		"xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop><D:displayname>Diary"
		"</D:displayname><C:supported-calendar-component-set><C:comp name=\"VJOURNAL\"/><C:comp name=\"VTODO\"/>"
		"</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"), 201);
	struct dav_collection c;
	const char *error = NULL;
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("journal"), &c, &error), 1);
	assert_string_equal(c.displayname, "Diary");
	assert_int_equal(c.components, DAV_COMP_VJOURNAL | DAV_COMP_VTODO);
	dav_collection_free(&c);
	assert_int_equal(test_dav_req(t, "MKCALENDAR", url, NULL, NULL), 405);
	/* a plain MKCALENDAR: VEVENT and VTODO */
	assert_int_equal(test_dav_req(t, "MKCALENDAR", "/dav/calendars/alice@example.com/plain/", NULL, NULL), 201);
	/* not in the address-book home, not an unknown component, not inside a collection */
	assert_int_equal(test_dav_req(t, "MKCALENDAR", "/dav/addressbooks/alice@example.com/cal/", NULL, NULL), 403);
	assert_int_equal(test_dav_req(t, "MKCALENDAR", "/dav/calendars/alice@example.com/bad/", NULL,
		"<C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop>"
		"<C:supported-calendar-component-set><C:comp name=\"VALARM\"/></C:supported-calendar-component-set>"
		"<D:displayname>x</D:displayname></D:prop></D:set></C:mkcalendar>"), 403);
	assert_has(t, "<C:mkcalendar-response");
	assert_has(t, "424 Failed Dependency");
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("bad"), &c, &error), 0);
	assert_int_equal(test_dav_req(t, "MKCALENDAR", TEST_DAV_CAL "sub/", NULL, NULL), 405);
	assert_int_equal(test_dav_req(t, "MKCOL", "/dav/calendars/alice@example.com/weird/", NULL, "afsdfasdfsdf"), 415);
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("weird"), &c, &error), 0);
}

static void test_mkcol_extended(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "MKCOL", "/dav/addressbooks/alice@example.com/work/", NULL,
		"<?xml version=\"1.0\"?><D:mkcol xmlns:D=\"DAV:\" xmlns:CR=\"urn:ietf:params:xml:ns:carddav\">"
		"<D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>"
		"<D:displayname>Work</D:displayname><CR:addressbook-description>Colleagues</CR:addressbook-description>"
		"</D:prop></D:set></D:mkcol>"), 201);
	struct dav_collection c;
	const char *error = NULL;
	assert_int_equal(dav_collection_get(t->store, DAV_ADDRESSBOOK, STR("work"), &c, &error), 1);
	assert_string_equal(c.description, "Colleagues");
	dav_collection_free(&c);
	/* a calendar resourcetype in the address-book home */
	assert_int_equal(test_dav_req(t, "MKCOL", "/dav/addressbooks/alice@example.com/x/", NULL,
		"<D:mkcol xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop><D:resourcetype>"
		"<D:collection/><C:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>"), 403);
	assert_has(t, "<D:mkcol-response");
	/* in the calendar home, an extended MKCOL makes a calendar */
	assert_int_equal(test_dav_req(t, "MKCOL", "/dav/calendars/alice@example.com/c2/", NULL,
		"<D:mkcol xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop><D:resourcetype>"
		"<D:collection/><C:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>"), 201);
	assert_int_equal(dav_collection_get(t->store, DAV_CALENDAR, STR("c2"), &c, &error), 1);
	assert_int_equal(c.kind, DAV_CALENDAR);
	dav_collection_free(&c);
}

static void test_delete_collections(void **state)
{
	struct test_dav *t = *state;
	assert_int_equal(test_dav_req(t, "DELETE", "/dav/calendars/alice@example.com/inbox/", NULL, NULL), 403);
	assert_int_equal(test_dav_req(t, "DELETE", "/dav/calendars/alice@example.com/outbox/", NULL, NULL), 403);
	assert_int_equal(test_dav_req(t, "DELETE", "/dav/calendars/alice@example.com/", NULL, NULL), 403);
	assert_int_equal(test_dav_req(t, "DELETE", "/dav/calendars/alice@example.com/tasks/", NULL, NULL), 204);
	assert_int_equal(test_dav_req(t, "DELETE", "/dav/calendars/alice@example.com/tasks/", NULL, NULL), 404);
	assert_int_equal(test_dav_req(t, "DELETE", TEST_DAV_BOOK, NULL, NULL), 204);
}

int test_dav_props_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apple_discovery, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_thunderbird_home, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_davx5_books, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_depth, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_proppatch, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_proppatch_atomic, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_property_limit, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_mkcalendar, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_mkcol_extended, test_dav_setup, test_dav_teardown),
		cmocka_unit_test_setup_teardown(test_delete_collections, test_dav_setup, test_dav_teardown),
	};
	return cmocka_run_group_tests_name("dav-props", tests, NULL, NULL);
}
