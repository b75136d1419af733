/* Unit tests for retry: the schedule, its last step repeated, the expiry
 * and the delay notice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "queue/retry.h"

#define T0 1700000000

static void test_default_schedule(void **state)
{
	struct config c;
	(void)state;
	config_defaults(&c, false);
	retry_configure(&c);
	assert_int_equal(retry_next(1, T0, T0), T0 + 300);
	assert_int_equal(retry_next(2, T0, T0 + 300), T0 + 900);
	assert_int_equal(retry_next(6, T0, T0 + 10000), T0 + 10000 + 4 * 3600);
	/* The last step repeats. */
	assert_int_equal(retry_next(7, T0, T0 + 20000), T0 + 20000 + 4 * 3600);
	assert_int_equal(retry_next(30, T0, T0 + 100000), T0 + 100000 + 4 * 3600);
	/* Never past the expiry: the last try falls on it. */
	assert_int_equal(retry_next(35, T0, T0 + 5 * 86400 - 60), T0 + 5 * 86400);
	assert_int_equal(retry_next(36, T0, T0 + 5 * 86400 + 5), T0 + 5 * 86400 + 5);
	assert_false(retry_expired(T0, T0 + 5 * 86400 - 1));
	assert_true(retry_expired(T0, T0 + 5 * 86400));
	assert_false(retry_notice_due(T0, T0 + 4 * 3600 - 1));
	assert_true(retry_notice_due(T0, T0 + 4 * 3600));
	assert_false(retry_notice_due(T0, T0 + 5 * 86400));
}

static void test_configured(void **state)
{
	struct config c;
	char err[256];
	(void)state;
	config_defaults(&c, false);
	assert_int_equal(config_set(&c, "queue.retry_schedule", "1s,2s", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "queue.expire", "10s", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "queue.delay_notice", "0", err, sizeof(err)), 0);
	retry_configure(&c);
	assert_int_equal(retry_next(1, T0, T0), T0 + 1);
	assert_int_equal(retry_next(2, T0, T0 + 1), T0 + 3);
	assert_int_equal(retry_next(3, T0, T0 + 3), T0 + 5);
	assert_int_equal(retry_next(9, T0, T0 + 9), T0 + 10);
	assert_true(retry_expired(T0, T0 + 10));
	assert_int_equal(retry_until(T0), T0 + 10);
	/* 0: never a notice. */
	assert_false(retry_notice_due(T0, T0 + 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_schedule),
		cmocka_unit_test(test_configured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
