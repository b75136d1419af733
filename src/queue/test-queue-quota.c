/* Unit tests for queue-quota: the queue's cache of accounts' quotas, its
 * boundary (exactly at the limit fits, one byte past does not) and its
 * bound (one account past QUEUE_QUOTA_CACHE forgets the oldest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "queue/queue-quota.h"

static void test_fit(void **state)
{
	(void)state;
	queue_quota_forget();
	assert_int_equal(queue_quota_fit(7, 1), QUEUE_QUOTA_UNKNOWN);
	queue_quota_note(7, 0, 5000);
	assert_int_equal(queue_quota_fit(7, UINT64_MAX), QUEUE_QUOTA_FITS);
	queue_quota_note(7, 1000, 400);
	assert_int_equal(queue_quota_fit(7, 600), QUEUE_QUOTA_FITS);
	assert_int_equal(queue_quota_fit(7, 601), QUEUE_QUOTA_OVER);
	assert_int_equal(queue_quota_fit(7, UINT64_MAX), QUEUE_QUOTA_OVER);
	/* Already past it (a quota lowered under what is stored). */
	queue_quota_note(7, 1000, 2000);
	assert_int_equal(queue_quota_fit(7, 0), QUEUE_QUOTA_OVER);
	assert_int_equal(queue_quota_fit(8, 1), QUEUE_QUOTA_UNKNOWN);
}

static void test_bound(void **state)
{
	(void)state;
	queue_quota_forget();
	for (uint64_t a = 1; a <= QUEUE_QUOTA_CACHE; a++)
		queue_quota_note(a, 100, 0);
	/* Told again: account 1 is now the newest, 2 the oldest. */
	queue_quota_note(1, 100, 100);
	for (uint64_t a = 1; a <= QUEUE_QUOTA_CACHE; a++)
		assert_int_not_equal(queue_quota_fit(a, 1), QUEUE_QUOTA_UNKNOWN);
	queue_quota_note(QUEUE_QUOTA_CACHE + 1, 100, 0);
	assert_int_equal(queue_quota_fit(2, 1), QUEUE_QUOTA_UNKNOWN);
	assert_int_equal(queue_quota_fit(1, 1), QUEUE_QUOTA_OVER);
	assert_int_equal(queue_quota_fit(QUEUE_QUOTA_CACHE + 1, 1), QUEUE_QUOTA_FITS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests_name("queue-quota", tests, NULL, NULL);
}
