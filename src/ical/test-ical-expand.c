/* Unit tests for ical_expand, ical_limit_recurrence, ical_busy_add and
 * ical_freebusy_write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "test-ical-common.h"

static bool has(const struct buf *b, const char *s)
{
	return strstr(b->data != NULL ? b->data : "", s) != NULL;
}

static size_t count(const struct buf *b, const char *s)
{
	size_t n = 0;

	for (const char *p = b->data; p != NULL && (p = strstr(p, s)) != NULL; p++)
		n++;
	return n;
}

static void test_expand(void **state)
{
	struct buf out;
	const char *error = NULL;
	(void)state;

	buf_init(&out, 1024 * 1024);
	/* January: 5, (12 moved to 13), 19, 26. */
	assert_int_equal(ical_expand(STR(TB_WEEKLY), t_range("20260101T000000Z", "20260201T000000Z"), STR_NULL,
				     &out, &error), 0);
	assert_int_equal(count(&out, "BEGIN:VEVENT"), 4);
	assert_true(has(&out, "DTSTART:20260105T080000Z"));
	assert_true(has(&out, "RECURRENCE-ID:20260105T080000Z"));
	assert_true(has(&out, "DTSTART:20260113T130000Z"));
	assert_true(has(&out, "RECURRENCE-ID:20260112T080000Z"));
	assert_true(has(&out, "DTEND:20260126T090000Z"));
	assert_false(has(&out, "RRULE"));
	assert_false(has(&out, "VTIMEZONE"));
	assert_false(has(&out, "TZID"));
	assert_true(has(&out, "BEGIN:VALARM"));
	buf_reset(&out);
	/* Across the change to summer time: 30 March at 07:00Z. */
	assert_int_equal(ical_expand(STR(TB_WEEKLY), t_range("20260325T000000Z", "20260401T000000Z"), STR_NULL,
				     &out, &error), 0);
	assert_int_equal(count(&out, "BEGIN:VEVENT"), 1);
	assert_true(has(&out, "DTSTART:20260330T070000Z"));
	buf_reset(&out);
	/* All-day dates stay dates. */
	assert_int_equal(ical_expand(STR(CAL("BEGIN:VEVENT\nUID:b\nDTSTART;VALUE=DATE:20260301\n"
					     "DTEND;VALUE=DATE:20260302\nRRULE:FREQ=YEARLY\nEND:VEVENT\n")),
				     t_range("20260101T000000Z", "20290101T000000Z"), STR_NULL, &out, &error), 0);
	assert_int_equal(count(&out, "BEGIN:VEVENT"), 3);
	assert_true(has(&out, "DTSTART;VALUE=DATE:20280301"));
	assert_true(has(&out, "RECURRENCE-ID;VALUE=DATE:20270301"));
	buf_free(&out);
}

static void test_limit_recurrence(void **state)
{
	struct buf out;
	const char *error = NULL;
	(void)state;

	buf_init(&out, 1024 * 1024);
	assert_int_equal(ical_limit_recurrence(STR(TB_WEEKLY), t_range("20260201T000000Z", "20260301T000000Z"),
					       STR_NULL, &out, &error), 0);
	assert_int_equal(count(&out, "BEGIN:VEVENT"), 1);
	assert_true(has(&out, "RRULE:FREQ=WEEKLY"));
	assert_true(has(&out, "BEGIN:VTIMEZONE"));
	buf_reset(&out);
	assert_int_equal(ical_limit_recurrence(STR(TB_WEEKLY), t_range("20260113T000000Z", "20260114T000000Z"),
					       STR_NULL, &out, &error), 0);
	assert_int_equal(count(&out, "BEGIN:VEVENT"), 2);
	buf_free(&out);
}

static void test_freebusy(void **state)
{
	struct ical_busy *list = NULL;
	size_t n = 0;
	const char *error = NULL;
	struct ical_time_range r = t_range("20260105T000000Z", "20260106T000000Z");
	(void)state;

	assert_int_equal(ical_busy_add(STR(TB_WEEKLY), r, STR_NULL, &list, &n, 100, &error), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ical_busy_add(STR(CAL("BEGIN:VEVENT\nUID:o\nDTSTART:20260105T083000Z\n"
					       "DTEND:20260105T093000Z\nEND:VEVENT\n")), r, STR_NULL, &list, &n, 100, &error), 0);
	assert_int_equal(ical_busy_add(STR(CAL("BEGIN:VEVENT\nUID:t\nDTSTART:20260105T120000Z\n"
					       "DTEND:20260105T130000Z\nSTATUS:TENTATIVE\nEND:VEVENT\n")), r, STR_NULL, &list, &n, 100,
				       &error), 0);
	/* Transparent, cancelled, outside: nothing. */
	assert_int_equal(ical_busy_add(STR(CAL("BEGIN:VEVENT\nUID:x\nDTSTART:20260105T140000Z\n"
					       "DTEND:20260105T150000Z\nTRANSP:TRANSPARENT\nEND:VEVENT\n"
					       )), r, STR_NULL, &list, &n, 100, &error), 0);
	assert_int_equal(ical_busy_add(STR(CAL("BEGIN:VEVENT\nUID:c\nDTSTART:20260105T140000Z\n"
					       "DTEND:20260105T150000Z\nSTATUS:CANCELLED\nEND:VEVENT\n")), r, STR_NULL, &list, &n, 100,
				       &error), 0);
	/* Clipped to the range. */
	assert_int_equal(ical_busy_add(STR(CAL("BEGIN:VEVENT\nUID:l\nDTSTART:20260105T230000Z\n"
					       "DTEND:20260106T020000Z\nEND:VEVENT\n")), r, STR_NULL, &list, &n, 100, &error), 0);
	assert_int_equal(n, 4);
	/* max, one past. */
	assert_int_equal(ical_busy_add(STR(CAL("BEGIN:VEVENT\nUID:m\nDTSTART:20260105T160000Z\n"
					       "DTEND:20260105T170000Z\nEND:VEVENT\n")), r, STR_NULL, &list, &n, 4, &error), -1);
	assert_int_equal(n, 4);
	/* An object that passes max part way adds none of its periods. */
	assert_int_equal(ical_busy_add(STR(CAL("BEGIN:VEVENT\nUID:h\nDTSTART:20260105T000000Z\n"
					       "DTEND:20260105T000100Z\nRRULE:FREQ=HOURLY;COUNT=24\nEND:VEVENT\n")),
				       r, STR_NULL, &list, &n, 10, &error), -1);
	assert_int_equal(n, 4);
	struct buf out;
	buf_init(&out, 64 * 1024);
	assert_int_equal(ical_freebusy_write(list, n, r, STR_NULL, STR_NULL, &out), 0);
	assert_true(has(&out, "BEGIN:VFREEBUSY"));
	assert_true(has(&out, "DTSTART:20260105T000000Z"));
	assert_true(has(&out, "FREEBUSY;FBTYPE=BUSY:20260105T080000Z/20260105T093000Z"));
	assert_true(has(&out, "FREEBUSY;FBTYPE=BUSY:20260105T230000Z/20260106T000000Z"));
	assert_true(has(&out, "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T120000Z/20260105T130000Z"));
	assert_true(has(&out, "DTSTAMP:"));
	assert_false(has(&out, "METHOD"));
	buf_reset(&out);
	/* The outbox's answer: a REPLY naming who; a line break cannot get in. */
	assert_int_equal(ical_freebusy_write(list, 0, r, STR("mailto:a@example.org"),
					     STR("mailto:b@example.org\r\nX-EVIL:1"), &out), 0);
	assert_true(has(&out, "METHOD:REPLY"));
	assert_true(has(&out, "ORGANIZER:mailto:a@example.org"));
	assert_false(has(&out, "X-EVIL"));
	buf_free(&out);
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_limit_recurrence),
		cmocka_unit_test(test_freebusy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
