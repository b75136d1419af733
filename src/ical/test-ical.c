/* Unit tests for ical_validate: what real clients send (Thunderbird,
 * Apple, Google, Outlook with Windows zone names), every refusal with its
 * precondition, the limits one past, and the span dav-store prefilters on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ical/ical.h"
#include "ical/test-ical-common.h"
#include "lib/buf.h"

#define THUNDERBIRD                                                                   \
	"BEGIN:VCALENDAR\r\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\n" \
	"VERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"                       \
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"    \
	"DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"         \
	"END:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"   \
	"TZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" \
	"END:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nCREATED:20260101T100000Z\r\n"   \
	"LAST-MODIFIED:20260101T100000Z\r\nDTSTAMP:20260101T100000Z\r\n"                 \
	"UID:6d1c2f4e-tb@example.org\r\nSUMMARY:Weekly sync\r\n"                         \
	"ORGANIZER;CN=Ann:mailto:ann@example.org\r\n"                                    \
	"ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:ann@example.org\r\n"               \
	"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.org\r\n"            \
	"RRULE:FREQ=WEEKLY;UNTIL=20260331T080000Z;BYDAY=MO\r\n"                          \
	"DTSTART;TZID=Europe/Berlin:20260105T090000\r\n"                                 \
	"DTEND;TZID=Europe/Berlin:20260105T100000\r\nTRANSP:OPAQUE\r\n"                  \
	"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;VALUE=DURATION:-PT15M\r\n"            \
	"DESCRIPTION:Default Mozilla Description\r\nEND:VALARM\r\nEND:VEVENT\r\n"        \
	"BEGIN:VEVENT\r\nDTSTAMP:20260101T100000Z\r\nUID:6d1c2f4e-tb@example.org\r\n"     \
	"RECURRENCE-ID;TZID=Europe/Berlin:20260112T090000\r\nSUMMARY:Weekly sync (moved)\r\n" \
	"DTSTART;TZID=Europe/Berlin:20260113T140000\r\n"                                 \
	"DTEND;TZID=Europe/Berlin:20260113T150000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

#define OUTLOOK                                                                        \
	"BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n" \
	"VERSION:2.0\r\nX-MS-OLK-FORCEINSPECTOROPEN:TRUE\r\n"                            \
	"BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\n"          \
	"DTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"         \
	"TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"   \
	"DTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"          \
	"TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"    \
	"BEGIN:VEVENT\r\nCLASS:PUBLIC\r\nCREATED:20260110T120000Z\r\n"                   \
	"DTEND;TZID=\"W. Europe Standard Time\":20260120T110000\r\n"                     \
	"DTSTAMP:20260110T120000Z\r\nDTSTART;TZID=\"W. Europe Standard Time\":20260120T100000\r\n" \
	"PRIORITY:5\r\nSEQUENCE:0\r\nSUMMARY;LANGUAGE=de-de:Budget\r\nTRANSP:OPAQUE\r\n"  \
	"UID:040000008200E00074C5B7101A82E00800000000\r\n"                              \
	"X-MICROSOFT-CDO-BUSYSTATUS:BUSY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

#define APPLE_TODO                                                                   \
	"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Apple Inc.//iOS 17.0//EN\n"            \
	"CALSCALE:GREGORIAN\nBEGIN:VTODO\nCREATED:20260102T080000Z\n"                   \
	"DTSTAMP:20260102T080000Z\nSUMMARY:Renew passport\nUID:A1B2C3D4-apple\n"        \
	"DUE;VALUE=DATE:20260215\nSTATUS:NEEDS-ACTION\nEND:VTODO\nEND:VCALENDAR\n"

#define GOOGLE_ALLDAY                                                                \
	"BEGIN:VCALENDAR\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\n"          \
	"VERSION:2.0\nCALSCALE:GREGORIAN\nBEGIN:VEVENT\n"                               \
	"DTSTART;VALUE=DATE:20260301\nDTEND;VALUE=DATE:20260302\n"                      \
	"RRULE:FREQ=YEARLY\nDTSTAMP:20260101T000000Z\nUID:abc123@google.com\n"          \
	"SUMMARY:Birthday\nTRANSP:TRANSPARENT\nEND:VEVENT\nEND:VCALENDAR\n"

#define EV(body) "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\n" body "END:VCALENDAR\n"

static const unsigned ALL = ICAL_COMP_VEVENT | ICAL_COMP_VTODO | ICAL_COMP_VJOURNAL;

static void test_clients(void **state)
{
	struct ical_info info;
	const char *pre = NULL, *error = NULL;
	(void)state;

	assert_int_equal(ical_validate(STR(THUNDERBIRD), ICAL_COMP_VEVENT, &info, &pre, &error), 0);
	assert_string_equal(info.uid, "6d1c2f4e-tb@example.org");
	assert_int_equal(info.component, ICAL_COMP_VEVENT);
	assert_true(info.recurring);
	assert_string_equal(info.organizer, "mailto:ann@example.org");
	assert_int_equal(info.attendee_count, 2);
	/* 2026-01-05 08:00Z minus the margin; the last Monday before UNTIL plus the margin. */
	assert_true(info.first <= 1767600000 && info.first > 1767600000 - 3 * 86400);
	assert_true(info.last >= 1774944000 && info.last < INT64_MAX);

	assert_int_equal(ical_validate(STR(OUTLOOK), ICAL_COMP_VEVENT, &info, &pre, &error), 0);
	assert_false(info.recurring);
	assert_int_equal(info.attendee_count, 0);
	/* 10:00 in Berlin (winter) is 09:00Z: 1768899600. */
	assert_true(info.first <= 1768899600 && info.last >= 1768903200);

	assert_int_equal(ical_validate(STR(APPLE_TODO), ICAL_COMP_VTODO, &info, &pre, &error), 0);
	assert_int_equal(info.component, ICAL_COMP_VTODO);
	assert_int_equal(info.first, INT64_MIN); /* CREATED: open */

	assert_int_equal(ical_validate(STR(GOOGLE_ALLDAY), ICAL_COMP_VEVENT, &info, &pre, &error), 0);
	assert_true(info.recurring);
	assert_int_equal(info.last, INT64_MAX);
}

/* span_finds: data validates with a closed span that the store's prefilter
 * (last >= start, first <= end) keeps for [a, b), and ical_match finds it
 * there. */
static void span_finds(const char *data, const char *a, const char *b)
{
	struct ical_info info;
	const char *pre = NULL, *error = NULL;
	struct ical_time_range r = t_range(a, b);

	assert_int_equal(ical_validate(str_c(data), ALL, &info, &pre, &error), 0);
	assert_true(info.last < INT64_MAX);
	assert_true(info.last >= r.start && info.first <= r.end);
	assert_int_equal(t_match_range(data, "VEVENT", a, b, "", &error), 1);
}

/* A series bounded by COUNT or UNTIL gets a closed span that still holds
 * its last instance, its RDATEs and its moved overrides. */
static void test_bounded_span(void **state)
{
	struct ical_info info;
	const char *pre = NULL, *error = NULL;
	(void)state;

	const char *count = EV("BEGIN:VEVENT\nUID:c\nDTSTAMP:20260101T000000Z\n"
			       "DTSTART:20260105T090000Z\nDTEND:20260105T100000Z\n"
			       "RRULE:FREQ=DAILY;COUNT=10\nEND:VEVENT\n");
	span_finds(count, "20260114T093000Z", "20260114T094000Z");
	assert_int_equal(ical_validate(str_c(count), ALL, &info, &pre, &error), 0);
	assert_true(info.last <= t_utc("20260114T100000Z") + 2 * 86400);
	span_finds(EV("BEGIN:VEVENT\nUID:d\nDTSTAMP:20260101T000000Z\n"
		      "DTSTART;VALUE=DATE:20260301\nRRULE:FREQ=WEEKLY;UNTIL=20260329\nEND:VEVENT\n"),
		   "20260329T120000Z", "20260329T130000Z");
	span_finds(CAL(BERLIN_TZ "BEGIN:VEVENT\nUID:z\nDTSTAMP:20260101T000000Z\n"
		       "DTSTART;TZID=Europe/Berlin:20260105T230000\nDTEND;TZID=Europe/Berlin:20260106T000000\n"
		       "RRULE:FREQ=DAILY;UNTIL=20260110T220000Z\nEND:VEVENT\n"),
		   "20260110T221000Z", "20260110T222000Z");
	const char *moved = EV("BEGIN:VEVENT\nUID:m\nDTSTAMP:20260101T000000Z\n"
			       "DTSTART:20260105T090000Z\nDTEND:20260105T100000Z\n"
			       "RRULE:FREQ=DAILY;COUNT=3\nRDATE:20260401T090000Z\nEND:VEVENT\n"
			       "BEGIN:VEVENT\nUID:m\nDTSTAMP:20260101T000000Z\nRECURRENCE-ID:20260106T090000Z\n"
			       "DTSTART:20260601T090000Z\nDTEND:20260601T100000Z\nEND:VEVENT\n");
	span_finds(moved, "20260601T093000Z", "20260601T094000Z");
	span_finds(moved, "20260401T093000Z", "20260401T094000Z");
	/* No end, or more than the walk may take: open as before. */
	assert_int_equal(ical_validate(STR(EV("BEGIN:VEVENT\nUID:o\nDTSTAMP:20260101T000000Z\n"
					      "DTSTART:20260105T090000Z\nRRULE:FREQ=DAILY;COUNT=4\n"
					      "RRULE:FREQ=WEEKLY\nEND:VEVENT\n")),
				       ALL, &info, &pre, &error), 0);
	assert_int_equal(info.last, INT64_MAX);
	assert_int_equal(ical_validate(STR(EV("BEGIN:VEVENT\nUID:h\nDTSTAMP:20260101T000000Z\n"
					      "DTSTART:20260105T090000Z\nRRULE:FREQ=HOURLY;COUNT=5001\nEND:VEVENT\n")),
				       ALL, &info, &pre, &error), 0);
	assert_int_equal(info.last, INT64_MAX);
	/* An RDATE before DTSTART is an instance too, also when the rule's
	 * walk is not done (no end) or stops at a cap (found by fuzz-ical). */
	const char *early[] = {
		EV("BEGIN:VEVENT\nUID:e\nDTSTART:20520202T000000Z\nRRULE:FREQ=DAILY\n"
		   "RDATE:20260301T000000Z\nEND:VEVENT\n"),
		EV("BEGIN:VEVENT\nUID:f\nDTSTART:20520202T000000Z\n"
		   "RRULE:FREQ=SECONDLY;COUNT=1000000000\nRDATE:20260301T000000Z\nEND:VEVENT\n"),
	};
	for (size_t i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
		assert_int_equal(ical_validate(str_c(early[i]), ALL, &info, &pre, &error), 0);
		assert_true(info.first <= t_utc("20260301T000000Z"));
		assert_int_equal(t_match_range(early[i], "VEVENT", "20260301T000000Z",
					       "20260302T000000Z", "", &error), 1);
	}
}

static void refused(const char *data, unsigned allowed, const char *want_pre)
{
	struct ical_info info;
	const char *pre = NULL, *error = NULL;

	assert_int_equal(ical_validate(str_c(data), allowed, &info, &pre, &error), -1);
	assert_non_null(error);
	assert_string_equal(pre, want_pre);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("", ALL, "valid-calendar-data");
	refused("hello", ALL, "valid-calendar-data");
	refused("BEGIN:VCARD\nVERSION:3.0\nFN:x\nEND:VCARD\n", ALL, "valid-calendar-data");
	refused(EV("BEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nDTEND:garbage\nEND:VEVENT\n"), ALL,
		"valid-calendar-data");
	refused("BEGIN:VCALENDAR\nVERSION:1.0\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n",
		ALL, "valid-calendar-data");
	refused(EV("BEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\n") EV(""), ALL, "valid-calendar-data");
	refused("BEGIN:VCALENDAR\nVERSION:2.0\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\n"
		"END:VEVENT\nEND:VCALENDAR\n", ALL, "valid-calendar-object-resource");
	refused(EV("BEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\n"
		   "BEGIN:VTODO\nUID:a\nEND:VTODO\n"), ALL, "valid-calendar-object-resource");
	refused(EV("BEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\n"
		   "BEGIN:VEVENT\nUID:b\nDTSTART:20260101T000000Z\nEND:VEVENT\n"), ALL, "valid-calendar-object-resource");
	refused(EV("BEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\n"
		   "BEGIN:VEVENT\nUID:a\nDTSTART:20260102T000000Z\nEND:VEVENT\n"), ALL, "valid-calendar-object-resource");
	refused(EV("BEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nRRULE:FREQ=DAILY\nEND:VEVENT\n"
		   "BEGIN:VEVENT\nUID:a\nRECURRENCE-ID:20260102T000000Z\nDTSTART:20260102T010000Z\nEND:VEVENT\n"
		   "BEGIN:VEVENT\nUID:a\nRECURRENCE-ID:20260102T000000Z\nDTSTART:20260102T020000Z\nEND:VEVENT\n"),
		ALL, "valid-calendar-object-resource");
	refused(EV("BEGIN:VEVENT\nDTSTART:20260101T000000Z\nEND:VEVENT\n"), ALL, "valid-calendar-object-resource");
	refused(EV("BEGIN:VTIMEZONE\nTZID:x\nEND:VTIMEZONE\n"), ALL, "valid-calendar-object-resource");
	refused(EV("BEGIN:VFREEBUSY\nUID:a\nEND:VFREEBUSY\n"), ALL, "supported-calendar-component");
	refused(APPLE_TODO, ICAL_COMP_VEVENT, "supported-calendar-component");
	refused(THUNDERBIRD, ICAL_COMP_VTODO, "supported-calendar-component");
	refused(EV("BEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nDTEND:20260101T010000Z\nDURATION:PT1H\n"
		   "END:VEVENT\n"), ALL, "valid-calendar-data");
	refused(EV("BEGIN:VEVENT\nUID:a\nEND:VEVENT\n"), ALL, "valid-calendar-data");
}

/* The rules a 2021-style bomb is made of: refused at the door. */
static void test_bomb_rules(void **state)
{
	static const char *const rules[] = {
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
		"FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=29",
		"FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=SECONDLY;BYHOUR=3",
		"FREQ=SECONDLY;BYSETPOS=-1;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=HOURLY;INTERVAL=2;BYHOUR=3",
		"FREQ=DAILY;INTERVAL=7;BYDAY=TU",
		"FREQ=MONTHLY;INTERVAL=12;BYMONTH=3",
		"FREQ=MONTHLY;BYDAY=5FR;BYMONTHDAY=1",
		"FREQ=DAILY;BYSETPOS=2",
	};
	char data[512];
	(void)state;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		snprintf(data, sizeof(data), EV("BEGIN:VEVENT\nUID:a\nDTSTART:20260105T090000Z\nRRULE:%s\nEND:VEVENT\n"),
			 rules[i]);
		print_message("%s\n", rules[i]);
		refused(data, ALL, "valid-calendar-data");
	}
	/* A zone whose rule is not yearly would be expanded by libical unbounded. */
	refused(EV("BEGIN:VTIMEZONE\nTZID:Bad\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
		   "RRULE:FREQ=SECONDLY\nTZOFFSETFROM:+0000\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n"
		   "BEGIN:VEVENT\nUID:a\nDTSTART;TZID=Bad:20260101T000000\nEND:VEVENT\n"), ALL, "valid-calendar-data");
}

static void test_limits(void **state)
{
	struct buf b;
	struct ical_info info;
	const char *pre, *error;
	(void)state;

	/* ICAL_MAX_COMPONENTS: the VCALENDAR and overrides up to it, then one past. */
	for (int extra = 0; extra <= 1; extra++) {
		buf_init(&b, 4 * 1024 * 1024);
		buf_printf(&b, "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:a\n"
			       "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY\nEND:VEVENT\n");
		for (int i = 0; i < ICAL_MAX_COMPONENTS - 2 + extra; i++)
			buf_printf(&b, "BEGIN:VEVENT\nUID:a\nRECURRENCE-ID:20260101T%02d%02d00Z\n"
				       "DTSTART:20260101T%02d%02d00Z\nEND:VEVENT\n", i / 60, i % 60, i / 60, i % 60);
		buf_printf(&b, "END:VCALENDAR\n");
		int ret = ical_validate(buf_str(&b), ALL, &info, &pre, &error);
		if (extra == 0) {
			assert_int_equal(ret, 0);
		} else {
			assert_int_equal(ret, -1);
			assert_string_equal(error, "too many components (ICAL_MAX_COMPONENTS)");
		}
		buf_free(&b);
	}
	/* ICAL_MAX_PROPERTIES lines. */
	buf_init(&b, 4 * 1024 * 1024);
	buf_printf(&b, "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\n"
		       "RRULE:FREQ=DAILY\n");
	for (int i = 0; i < ICAL_MAX_PROPERTIES; i++)
		buf_printf(&b, "EXDATE:20260101T000000Z\n");
	buf_printf(&b, "END:VEVENT\nEND:VCALENDAR\n");
	assert_int_equal(ical_validate(buf_str(&b), ALL, &info, &pre, &error), -1);
	assert_string_equal(error, "too many lines (ICAL_MAX_PROPERTIES)");
	buf_free(&b);
	/* ICAL_MAX_RULES, exactly and one past. */
	for (int extra = 0; extra <= 1; extra++) {
		buf_init(&b, 4 * 1024 * 1024);
		buf_printf(&b, "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\n");
		for (int i = 0; i < ICAL_MAX_RULES + extra; i++)
			buf_printf(&b, "RRULE:FREQ=HOURLY;BYDAY=MO\n");
		buf_printf(&b, "END:VEVENT\nEND:VCALENDAR\n");
		int ret = ical_validate(buf_str(&b), ALL, &info, &pre, &error);
		assert_int_equal(ret, extra == 0 ? 0 : -1);
		if (extra == 1)
			assert_string_equal(error, "too many RRULEs (ICAL_MAX_RULES)");
		buf_free(&b);
	}
	/* ICAL_MAX_SIZE, one past. */
	buf_init(&b, 4 * 1024 * 1024);
	buf_printf(&b, "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nX-PAD:");
	while (b.len < ICAL_MAX_SIZE)
		buf_putc(&b, 'x');
	buf_printf(&b, "\nEND:VEVENT\nEND:VCALENDAR\n");
	assert_int_equal(ical_validate(buf_str(&b), ALL, &info, &pre, &error), -1);
	assert_string_equal(error, "calendar data too large");
	buf_free(&b);
	/* A NUL inside. */
	static const char nul[] = "BEGIN:VCALENDAR\nVERSION:2.0\0\nEND:VCALENDAR\n";
	assert_int_equal(ical_validate(str_from(nul, sizeof(nul) - 1), ALL, &info, &pre, &error), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients),
		cmocka_unit_test(test_bounded_span),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bomb_rules),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
