/* Unit tests for date: civil days, Unix times, month names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/date.h"

static void test_days_from_civil(void **state)
{
	(void)state;
	assert_int_equal(date_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(date_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(date_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(date_days_from_civil(2000, 2, 29), 11016);
	assert_int_equal(date_days_from_civil(1900, 1, 1), -25567);
	/* April 31 is May 1, as timegm() would have it. */
	assert_int_equal(date_days_from_civil(2024, 4, 31), date_days_from_civil(2024, 5, 1));
	assert_int_equal(date_time(2009, 2, 13, 23, 31, 30), 1234567890);
	assert_int_equal(date_time(1970, 1, 1, 0, 0, 60), 60);
}

static void test_day_of(void **state)
{
	(void)state;
	assert_int_equal(date_day_of(0), 0);
	assert_int_equal(date_day_of(DATE_DAY_SECONDS - 1), 0);
	assert_int_equal(date_day_of(DATE_DAY_SECONDS), 1);
	assert_int_equal(date_day_of(-1), -1);
	assert_int_equal(date_day_of(-DATE_DAY_SECONDS), -1);
	assert_int_equal(date_day_of(-DATE_DAY_SECONDS - 1), -2);
}

static void test_months(void **state)
{
	(void)state;
	assert_int_equal(date_days_in_month(2024, 2), 29);
	assert_int_equal(date_days_in_month(2023, 2), 28);
	assert_int_equal(date_days_in_month(1900, 2), 28);
	assert_int_equal(date_days_in_month(2000, 2), 29);
	assert_int_equal(date_days_in_month(2023, 4), 30);
	assert_int_equal(date_days_in_month(2023, 12), 31);
	assert_int_equal(date_days_in_month(2023, 13), 0);
	assert_int_equal(date_month_number(STR("Jan")), 1);
	assert_int_equal(date_month_number(STR("dEC")), 12);
	assert_int_equal(date_month_number(STR("Ja")), -1);
	assert_int_equal(date_month_number(STR("June")), -1);
	assert_int_equal(date_month_number(STR("xyz")), -1);
	assert_string_equal(date_month_name(1), "Jan");
	assert_string_equal(date_month_name(12), "Dec");
	assert_null(date_month_name(0));
	assert_null(date_month_name(13));
}

/* date_rfc5322 agrees with the C library's calendar, weekday included,
 * before and after the epoch and across leap days. */
static void test_rfc5322(void **state)
{
	static const int64_t times[] = { 0, -1, 951782400, 1709164799, 1700000000, 4102444800 };
	char got[40], want[64];
	(void)state;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		time_t t = (time_t)times[i];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%a, %-d %b %Y %H:%M:%S +0000", &tm);
		date_rfc5322(times[i], got, sizeof(got));
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days_from_civil),
		cmocka_unit_test(test_rfc5322),
		cmocka_unit_test(test_day_of),
		cmocka_unit_test(test_months),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
