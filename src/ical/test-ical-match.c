/* Unit tests for ical_match's filters other than time ranges of
 * components: prop-filter, param-filter, text-match with collations and
 * negation, is-not-defined, a property's time-range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "test-ical-common.h"

#define OUTLOOK                                                                        \
	"BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n" \
	"VERSION:2.0\r\nBEGIN:VEVENT\r\nCLASS:PUBLIC\r\nDTSTAMP:20260110T120000Z\r\n"    \
	"DTSTART;TZID=\"W. Europe Standard Time\":20260120T100000\r\n"                   \
	"DTEND;TZID=\"W. Europe Standard Time\":20260120T110000\r\n"                     \
	"SUMMARY;LANGUAGE=de-de:Budget\\, Q1 Überblick\r\n"                              \
	"UID:040000008200E00074C5B7101A82E00800000000\r\n"                              \
	"X-MICROSOFT-CDO-BUSYSTATUS:BUSY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

static int match_prop(const char *data, struct ical_prop_filter *p)
{
	struct ical_comp_filter ev = { .name = STR("VEVENT"), .props = p, .prop_count = 1 };
	struct ical_comp_filter top = { .name = STR("VCALENDAR"), .comps = &ev, .comp_count = 1 };
	const char *error = NULL;

	return ical_match(str_c(data), &top, STR_NULL, &error);
}

static void test_text(void **state)
{
	struct ical_prop_filter p = { .name = STR("SUMMARY"), .has_text = true,
				      .text = { STR("budget, q1"), COLLATION_ASCII_CASEMAP, false } };
	(void)state;

	assert_int_equal(match_prop(OUTLOOK, &p), 1);
	p.text.collation = COLLATION_OCTET;
	assert_int_equal(match_prop(OUTLOOK, &p), 0);
	p.text = (struct ical_text_match){ STR("überblick"), COLLATION_UNICODE_CASEMAP, false };
	assert_int_equal(match_prop(OUTLOOK, &p), 1);
	p.text.negate = true;
	assert_int_equal(match_prop(OUTLOOK, &p), 0);
	p.text = (struct ical_text_match){ STR("holiday"), COLLATION_ASCII_CASEMAP, true };
	assert_int_equal(match_prop(OUTLOOK, &p), 1);
	/* X- properties by name, case-insensitive. */
	struct ical_prop_filter x = { .name = STR("x-microsoft-cdo-busystatus"), .has_text = true,
				      .text = { STR("BUSY"), COLLATION_OCTET, false } };
	assert_int_equal(match_prop(OUTLOOK, &x), 1);
}

static void test_defined(void **state)
{
	struct ical_prop_filter p = { .name = STR("LOCATION"), .is_not_defined = true };
	(void)state;

	assert_int_equal(match_prop(OUTLOOK, &p), 1);
	p.name = STR("SUMMARY");
	assert_int_equal(match_prop(OUTLOOK, &p), 0);
	p.is_not_defined = false;
	assert_int_equal(match_prop(OUTLOOK, &p), 1);
	p.name = STR("LOCATION");
	assert_int_equal(match_prop(OUTLOOK, &p), 0);
	/* A component that must not be there. */
	struct ical_comp_filter todo = { .name = STR("VTODO"), .is_not_defined = true };
	struct ical_comp_filter top = { .name = STR("VCALENDAR"), .comps = &todo, .comp_count = 1 };
	const char *error;
	assert_int_equal(ical_match(STR(OUTLOOK), &top, STR_NULL, &error), 1);
	todo.name = STR("VEVENT");
	assert_int_equal(ical_match(STR(OUTLOOK), &top, STR_NULL, &error), 0);
	/* The top filter names the VCALENDAR; anything else matches nothing. */
	top.name = STR("VEVENT");
	top.comp_count = 0;
	assert_int_equal(ical_match(STR(OUTLOOK), &top, STR_NULL, &error), 0);
}

static void test_params(void **state)
{
	struct ical_param_filter par = { .name = STR("PARTSTAT"), .has_text = true,
					 .text = { STR("NEEDS-ACTION"), COLLATION_ASCII_CASEMAP, false } };
	struct ical_prop_filter p = { .name = STR("ATTENDEE"), .params = &par, .param_count = 1 };
	(void)state;

	assert_int_equal(match_prop(TB_WEEKLY, &p), 1);
	par.text.text = STR("ACCEPTED");
	assert_int_equal(match_prop(TB_WEEKLY, &p), 0);
	par = (struct ical_param_filter){ .name = STR("CN"), .is_not_defined = true };
	assert_int_equal(match_prop(TB_WEEKLY, &p), 1);
	p.name = STR("ORGANIZER");
	assert_int_equal(match_prop(TB_WEEKLY, &p), 0);
	/* Apple asks for the events where this address is an attendee. */
	struct ical_prop_filter who = { .name = STR("ATTENDEE"), .has_text = true,
					.text = { STR("mailto:BOB@example.org"), COLLATION_ASCII_CASEMAP, false } };
	assert_int_equal(match_prop(TB_WEEKLY, &who), 1);
}

static void test_prop_time(void **state)
{
	struct ical_prop_filter p = { .name = STR("DTSTAMP"), .has_time_range = true,
				      .range = t_range("20260110T000000Z", "20260111T000000Z") };
	(void)state;

	assert_int_equal(match_prop(OUTLOOK, &p), 1);
	p.range = t_range("20260110T120001Z", NULL);
	assert_int_equal(match_prop(OUTLOOK, &p), 0);
	p.range = t_range(NULL, "20260110T120001Z");
	assert_int_equal(match_prop(OUTLOOK, &p), 1);
}

static void test_bad_data(void **state)
{
	struct ical_comp_filter top = { .name = STR("VCALENDAR") };
	const char *error = NULL;
	(void)state;

	assert_int_equal(ical_match(STR("BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n"), &top, STR_NULL, &error), -1);
	assert_non_null(error);
	/* An unusable calendar-timezone leaves floating times in UTC. */
	assert_int_equal(ical_match(STR(OUTLOOK), &top, STR("garbage"), &error), 1);
}

/* span_says: ical_match_span of data (validated for its span) against
 * VCALENDAR > comp with [a, b); when it decides, ical_match agrees. */
static int span_says(const char *data, const char *comp, const char *a, const char *b)
{
	struct ical_info info;
	const char *pre = NULL, *error = NULL;
	struct ical_comp_filter sub = { .name = str_c(comp), .has_time_range = true, .range = t_range(a, b) };
	struct ical_comp_filter top = { .name = STR("VCALENDAR"), .comps = &sub, .comp_count = 1 };

	assert_int_equal(ical_validate(str_c(data), ICAL_COMP_VEVENT | ICAL_COMP_VTODO, &info, &pre, &error), 0);
	int m = ical_match_span(str_c(data), info.first, info.last, &top);
	if (m >= 0)
		assert_int_equal(ical_match(str_c(data), &top, STR(""), &error), m);
	return m;
}

/* One VEVENT well inside the range is decided without parsing; anything
 * that recurs, sits near an edge or is not a VEVENT is left to ical_match. */
static void test_match_span(void **state)
{
	(void)state;
	const char *one = CAL("BEGIN:VEVENT\nUID:a\nDTSTAMP:20260101T000000Z\n"
			      "DTSTART:20260110T090000Z\nDTEND:20260110T100000Z\nEND:VEVENT\n");
	assert_int_equal(span_says(one, "VEVENT", "20260101T000000Z", "20260201T000000Z"), 1);
	assert_int_equal(span_says(one, "VEVENT", "20260110T000000Z", "20260201T000000Z"), -1); /* near the start */
	assert_int_equal(span_says(one, "VEVENT", "20260101T000000Z", "20260111T000000Z"), -1); /* near the end */
	assert_int_equal(span_says(one, "VTODO", "20260101T000000Z", "20260201T000000Z"), -1);
	/* A zone's own rules do not make the event recur. */
	const char *zoned = CAL(BERLIN_TZ "BEGIN:VEVENT\nUID:b\nDTSTAMP:20260101T000000Z\n"
				"DTSTART;TZID=Europe/Berlin:20260110T090000\nDURATION:PT1H\nEND:VEVENT\n");
	assert_int_equal(span_says(zoned, "VEVENT", "20260101T000000Z", "20260201T000000Z"), 1);
	assert_int_equal(span_says(TB_WEEKLY, "VEVENT", "20251201T000000Z", "20270101T000000Z"), -1);
	/* A rule folded inside its name is still seen. */
	const char *folded = CAL("BEGIN:VEVENT\nUID:c\nDTSTAMP:20260101T000000Z\n"
				 "DTSTART:20260110T090000Z\nDTEND:20260110T100000Z\nRR\r\n ULE:FREQ=DAILY;COUNT=2\n"
				 "END:VEVENT\n");
	assert_int_equal(span_says(folded, "VEVENT", "20260101T000000Z", "20260201T000000Z"), -1);
	const char *rdate = CAL("BEGIN:VEVENT\nUID:d\nDTSTAMP:20260101T000000Z\n"
				"DTSTART:20260110T090000Z\nrdate:20260111T090000Z\nEND:VEVENT\n");
	assert_int_equal(span_says(rdate, "VEVENT", "20260101T000000Z", "20260201T000000Z"), -1);
	/* Only the plain filter shape is decided. */
	struct ical_prop_filter pf = { .name = STR("SUMMARY"), .is_not_defined = true };
	struct ical_comp_filter sub = { .name = STR("VEVENT"), .has_time_range = true,
					.range = t_range("20260101T000000Z", "20260201T000000Z"), .props = &pf,
					.prop_count = 1 };
	struct ical_comp_filter top = { .name = STR("VCALENDAR"), .comps = &sub, .comp_count = 1 };
	assert_int_equal(ical_match_span(str_c(one), t_utc("20260108T000000Z"), t_utc("20260112T000000Z"), &top), -1);
	sub.prop_count = 0;
	assert_int_equal(ical_match_span(str_c(one), t_utc("20260108T000000Z"), t_utc("20260112T000000Z"), &top), 1);
	assert_int_equal(ical_match_span(str_c(one), INT64_MIN, t_utc("20260112T000000Z"), &top), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_defined),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_prop_time),
		cmocka_unit_test(test_bad_data),
		cmocka_unit_test(test_match_span),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
