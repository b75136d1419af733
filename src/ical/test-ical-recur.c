/* Unit tests for the instance walk: zones from the object, floating times
 * in the collection's zone, all-day dates, RDATE, EXDATE, overrides moved
 * into and out of a range, DURATION, and every limit one past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "ical-private.h"
#include "lib/buf.h"
#include "test-ical-common.h"

static void test_zones(void **state)
{
	const char *error = NULL;
	(void)state;

	/* Monday 9 March 09:00 Berlin is 08:00Z; 30 March (summer time) 07:00Z. */
	assert_int_equal(t_match_range(TB_WEEKLY, "VEVENT", "20260309T080000Z", "20260309T081000Z", "", &error), 1);
	assert_int_equal(t_match_range(TB_WEEKLY, "VEVENT", "20260309T090000Z", "20260309T100000Z", "", &error), 0);
	assert_int_equal(t_match_range(TB_WEEKLY, "VEVENT", "20260330T070000Z", "20260330T071000Z", "", &error), 1);
	assert_int_equal(t_match_range(TB_WEEKLY, "VEVENT", "20260330T080000Z", "20260330T090000Z", "", &error), 0);
	/* After UNTIL. */
	assert_int_equal(t_match_range(TB_WEEKLY, "VEVENT", "20260406T000000Z", "20260407T000000Z", "", &error), 0);
	/* The 12 January instance moved to 13 January 13:00Z. */
	assert_int_equal(t_match_range(TB_WEEKLY, "VEVENT", "20260112T000000Z", "20260113T000000Z", "", &error), 0);
	assert_int_equal(t_match_range(TB_WEEKLY, "VEVENT", "20260113T133000Z", "20260113T134000Z", "", &error), 1);
	/* The alarm 15 minutes before 9 March 08:00Z. */
	struct ical_comp_filter alarm = { .name = STR("VALARM"), .has_time_range = true,
					  .range = t_range("20260309T074000Z", "20260309T075000Z") };
	struct ical_comp_filter ev = { .name = STR("VEVENT"), .comps = &alarm, .comp_count = 1 };
	struct ical_comp_filter top = { .name = STR("VCALENDAR"), .comps = &ev, .comp_count = 1 };
	assert_int_equal(ical_match(STR(TB_WEEKLY), &top, STR_NULL, &error), 1);
	alarm.range = t_range("20260309T080000Z", "20260309T090000Z");
	assert_int_equal(ical_match(STR(TB_WEEKLY), &top, STR_NULL, &error), 0);
}

/* Outlook: a Windows zone name, defined by the object's own VTIMEZONE
 * (rules from 1601), and an RDATE period in that zone. */
static void test_outlook_zone(void **state)
{
	const char *error = NULL;
	const char *ev =
		"BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\nVERSION:2.0\r\n"
		"BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16011028T030000\r\n"
		"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
		"BEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"
		"TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
		"BEGIN:VEVENT\r\nUID:ol\r\nDTSTAMP:20260110T120000Z\r\n"
		"DTSTART;TZID=\"W. Europe Standard Time\":20260120T100000\r\n"
		"DTEND;TZID=\"W. Europe Standard Time\":20260120T110000\r\n"
		"RDATE;VALUE=PERIOD;TZID=\"W. Europe Standard Time\":20260701T100000/PT2H\r\n"
		"END:VEVENT\r\nEND:VCALENDAR\r\n";
	(void)state;

	assert_int_equal(t_match_range(ev, "VEVENT", "20260120T090000Z", "20260120T091000Z", "", &error), 1);
	assert_int_equal(t_match_range(ev, "VEVENT", "20260120T100000Z", "20260120T110000Z", "", &error), 0);
	/* 1 July 10:00 summer time is 08:00Z, for two hours. */
	assert_int_equal(t_match_range(ev, "VEVENT", "20260701T093000Z", "20260701T094000Z", "", &error), 1);
	assert_int_equal(t_match_range(ev, "VEVENT", "20260701T100000Z", "20260701T110000Z", "", &error), 0);
}

static void test_floating(void **state)
{
	const char *error = NULL;
	const char *ev = CAL("BEGIN:VEVENT\nUID:f\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T090000\n"
			     "DURATION:PT1H\nEND:VEVENT\n");
	const char *tz = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" BERLIN_TZ "END:VCALENDAR\r\n";
	(void)state;

	/* Floating 09:00 read in Berlin is 08:00Z; without a zone it is 09:00Z. */
	assert_int_equal(t_match_range(ev, "VEVENT", "20260105T080000Z", "20260105T083000Z", tz, &error), 1);
	assert_int_equal(t_match_range(ev, "VEVENT", "20260105T080000Z", "20260105T083000Z", "", &error), 0);
	assert_int_equal(t_match_range(ev, "VEVENT", "20260105T093000Z", "20260105T094000Z", "", &error), 1);
	/* A TZID the object does not define (Outlook's names, no zoneinfo in
	 * the jail) is read as floating. */
	const char *win = CAL("BEGIN:VEVENT\nUID:w\nDTSTAMP:20260101T000000Z\n"
			      "DTSTART;TZID=\"W. Europe Standard Time\":20260105T090000\nDURATION:PT1H\nEND:VEVENT\n");
	assert_int_equal(t_match_range(win, "VEVENT", "20260105T080000Z", "20260105T083000Z", tz, &error), 1);
	assert_int_equal(t_match_range(win, "VEVENT", "20260105T093000Z", "20260105T094000Z", "", &error), 1);
}

static void test_dates_and_sets(void **state)
{
	const char *error = NULL;
	const char *bday = CAL("BEGIN:VEVENT\nUID:b@google.com\nDTSTAMP:20260101T000000Z\n"
			       "DTSTART;VALUE=DATE:20260301\nDTEND;VALUE=DATE:20260302\nRRULE:FREQ=YEARLY\n"
			       "TRANSP:TRANSPARENT\nEND:VEVENT\n");
	const char *daily = CAL("BEGIN:VEVENT\nUID:d\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T100000Z\n"
				"DTEND:20260105T110000Z\nRRULE:FREQ=DAILY;COUNT=5\nEXDATE:20260106T100000Z\n"
				"RDATE:20260120T150000Z\nEND:VEVENT\n");
	const char *point = CAL("BEGIN:VEVENT\nUID:p\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T100000Z\nEND:VEVENT\n");
	(void)state;

	assert_int_equal(t_match_range(bday, "VEVENT", "20300301T120000Z", "20300301T130000Z", "", &error), 1);
	assert_int_equal(t_match_range(bday, "VEVENT", "20300302T000000Z", "20300303T000000Z", "", &error), 0);
	assert_int_equal(t_match_range(bday, "VEVENT", "20250301T000000Z", "20250302T000000Z", "", &error), 0);
	assert_int_equal(t_match_range(daily, "VEVENT", "20260106T000000Z", "20260107T000000Z", "", &error), 0);
	assert_int_equal(t_match_range(daily, "VEVENT", "20260107T103000Z", "20260107T103100Z", "", &error), 1);
	assert_int_equal(t_match_range(daily, "VEVENT", "20260110T000000Z", "20260111T000000Z", "", &error), 0);
	assert_int_equal(t_match_range(daily, "VEVENT", "20260120T153000Z", "20260120T154000Z", "", &error), 1);
	/* No DTEND nor DURATION: a point, start inclusive. */
	assert_int_equal(t_match_range(point, "VEVENT", "20260105T100000Z", "20260105T100001Z", "", &error), 1);
	assert_int_equal(t_match_range(point, "VEVENT", "20260105T090000Z", "20260105T100000Z", "", &error), 0);
}

/* RFC 4791 9.9's table for VTODO, one row at a time. */
static void test_todo_rules(void **state)
{
	const char *error = NULL;
	(void)state;
#define TODO(props) CAL("BEGIN:VTODO\nUID:t\nDTSTAMP:20260101T000000Z\n" props "END:VTODO\n")
	const char *due = TODO("DUE:20260110T120000Z\n");
	assert_int_equal(t_match_range(due, "VTODO", "20260110T000000Z", "20260110T120000Z", "", &error), 1);
	assert_int_equal(t_match_range(due, "VTODO", "20260110T120000Z", "20260111T000000Z", "", &error), 0);
	const char *start = TODO("DTSTART:20260110T120000Z\n");
	assert_int_equal(t_match_range(start, "VTODO", "20260110T120000Z", "20260110T120001Z", "", &error), 1);
	assert_int_equal(t_match_range(start, "VTODO", "20260110T000000Z", "20260110T120000Z", "", &error), 0);
	const char *both = TODO("DTSTART:20260110T120000Z\nDUE:20260112T120000Z\n");
	assert_int_equal(t_match_range(both, "VTODO", "20260111T000000Z", "20260111T010000Z", "", &error), 1);
	assert_int_equal(t_match_range(both, "VTODO", "20260113T000000Z", "20260114T000000Z", "", &error), 0);
	const char *dur = TODO("DTSTART:20260110T120000Z\nDURATION:P2D\n");
	assert_int_equal(t_match_range(dur, "VTODO", "20260112T120000Z", "20260113T000000Z", "", &error), 1);
	const char *done = TODO("COMPLETED:20260110T120000Z\n");
	assert_int_equal(t_match_range(done, "VTODO", "20260110T000000Z", "20260110T120000Z", "", &error), 1);
	assert_int_equal(t_match_range(done, "VTODO", "20260111T000000Z", "20260112T000000Z", "", &error), 0);
	const char *made = TODO("CREATED:20260110T120000Z\n");
	assert_int_equal(t_match_range(made, "VTODO", "20300101T000000Z", "20300102T000000Z", "", &error), 1);
	assert_int_equal(t_match_range(made, "VTODO", "20200101T000000Z", "20200102T000000Z", "", &error), 0);
	const char *none = TODO("SUMMARY:whenever\n");
	assert_int_equal(t_match_range(none, "VTODO", "20200101T000000Z", "20200102T000000Z", "", &error), 1);
	const char *journal = CAL("BEGIN:VJOURNAL\nUID:j\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260110\n"
				  "END:VJOURNAL\n");
	assert_int_equal(t_match_range(journal, "VJOURNAL", "20260110T230000Z", "20260111T000000Z", "", &error), 1);
	assert_int_equal(t_match_range(journal, "VJOURNAL", "20260111T000000Z", "20260112T000000Z", "", &error), 0);
#undef TODO
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ICAL_MAX_ITERATIONS: a rule by the minute whose instance sits just
 * within, then just past, the iterations allowed (COUNT forbids jumping). */
static void test_iteration_limit(void **state)
{
	char data[512];
	const char *error = NULL;
	struct timespec t0;
	(void)state;

	for (int past = 0; past <= 1; past++) {
		int64_t at = t_utc("20260101T000000Z") + 60LL * (ICAL_MAX_ITERATIONS - 2 + 3 * past);
		char a[17], b[17];
		struct tm tm;
		time_t tt = (time_t)at;
		gmtime_r(&tt, &tm);
		strftime(a, sizeof(a), "%Y%m%dT%H%M%SZ", &tm);
		tt += 30;
		gmtime_r(&tt, &tm);
		strftime(b, sizeof(b), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(data, sizeof(data), CAL("BEGIN:VEVENT\nUID:m\nDTSTAMP:20260101T000000Z\n"
						 "DTSTART:20260101T000000Z\nRRULE:FREQ=MINUTELY;COUNT=1000000000\nEND:VEVENT\n"));
		int ret = t_match_range(data, "VEVENT", a, b, "", &error);
		if (past == 0) {
			assert_int_equal(ret, 1);
		} else {
			assert_int_equal(ret, -1);
			assert_string_equal(error, "recurrence too long (ICAL_MAX_ITERATIONS)");
		}
	}
	/* The 2021 bomb by the second, and the never-yielding rule: both end fast. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(t_match_range(CAL("BEGIN:VEVENT\nUID:s\nDTSTART:20260101T000000Z\n"
					   "RRULE:FREQ=SECONDLY;COUNT=1000000000\nEND:VEVENT\n"),
				       "VEVENT", "20300101T000000Z", "20300102T000000Z", "", &error), -1);
	assert_int_equal(t_match_range(CAL("BEGIN:VEVENT\nUID:n\nDTSTART:20260101T000000Z\n"
					   "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\nEND:VEVENT\n"),
				       "VEVENT", "20300101T000000Z", "20300102T000000Z", "", &error), -1);
	assert_string_equal(error, "RRULE that never occurs");
	assert_true(seconds_since(&t0) < 5.0);
}

/* ICAL_MAX_INSTANCES: a daily event expanded over exactly that many days,
 * then one day more. */
static void test_instance_limit(void **state)
{
	const char *data = CAL("BEGIN:VEVENT\nUID:d\nDTSTART:20000101T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY\nEND:VEVENT\n");
	const char *error = NULL;
	struct buf out;
	(void)state;

	buf_init(&out, 64 * 1024 * 1024);
	int64_t from = t_utc("20000101T000000Z");
	struct ical_time_range r = { from, from + 86400LL * ICAL_MAX_INSTANCES };
	assert_int_equal(ical_expand(str_c(data), r, STR_NULL, &out, &error), 0);
	buf_reset(&out);
	r.end += 86400;
	assert_int_equal(ical_expand(str_c(data), r, STR_NULL, &out, &error), -1);
	assert_string_equal(error, "too many instances (ICAL_MAX_INSTANCES)");
	buf_free(&out);
}

/* ICAL_MAX_CPU_NS: many series each walking almost ICAL_MAX_ITERATIONS
 * steps: the call stops on time, not after all of them. */
static void test_cpu_limit(void **state)
{
	struct buf data;
	const char *error = NULL;
	struct timespec t0;
	(void)state;

	buf_init(&data, 1024 * 1024);
	buf_printf(&data, "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n");
	for (int i = 0; i < ICAL_MAX_RULES; i++)
		buf_printf(&data, "BEGIN:VEVENT\nUID:%d\nDTSTART:20260101T000000Z\n"
				  "RRULE:FREQ=HOURLY;COUNT=1000000000\nEND:VEVENT\n", i);
	buf_printf(&data, "END:VCALENDAR\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t at = t_utc("20260101T000000Z") + 3600LL * (ICAL_MAX_ITERATIONS - 10);
	struct ical_comp_filter sub = { .name = STR("VEVENT"), .has_time_range = true,
					.range = { at, at + 1 } };
	struct ical_comp_filter top = { .name = STR("VCALENDAR"), .comps = &sub, .comp_count = 1 };
	/* The first series matches: the walk stops at the first match. Ask for
	 * a minute none has, so every series is walked. */
	sub.range.start += 1800;
	sub.range.end += 1800;
	assert_int_equal(ical_match(buf_str(&data), &top, STR_NULL, &error), -1);
	assert_string_equal(error, "recurrence takes too long (ICAL_MAX_CPU_NS)");
	assert_true(seconds_since(&t0) < 10.0);
	buf_free(&data);
}

/* zone_first: the span start of an event at 12:00 in a zone TZID:X/Zone
 * of fixed offset +HHMM, margin taken off. */
static int64_t zone_first(int offset_minutes)
{
	char data[1024];
	struct ical_info info;
	const char *pre = NULL, *error = NULL;

	snprintf(data, sizeof(data),
		 CAL("BEGIN:VTIMEZONE\nTZID:X/Zone\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
		     "TZOFFSETFROM:+%02d%02d\nTZOFFSETTO:+%02d%02d\nEND:STANDARD\nEND:VTIMEZONE\n"
		     "BEGIN:VEVENT\nUID:z\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=X/Zone:20260110T120000\n"
		     "END:VEVENT\n"),
		 offset_minutes / 60, offset_minutes % 60, offset_minutes / 60, offset_minutes % 60);
	assert_int_equal(ical_validate(str_c(data), ICAL_COMP_VEVENT, &info, &pre, &error), 0);
	return info.first + ICAL_SPAN_MARGIN;
}

/* Zones are cached by their whole text: one TZID with two definitions
 * reads each its own way, before and after the cache is full. */
static void test_zone_cache(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i <= ICAL_ZONE_CACHE; i++)
			assert_int_equal(zone_first(i), t_utc("20260110T120000Z") - i * 60);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_zone_cache),
		cmocka_unit_test(test_outlook_zone),
		cmocka_unit_test(test_floating),
		cmocka_unit_test(test_dates_and_sets),
		cmocka_unit_test(test_todo_rules),
		cmocka_unit_test(test_iteration_limit),
		cmocka_unit_test(test_instance_limit),
		cmocka_unit_test(test_cpu_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
