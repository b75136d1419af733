/* Unit tests for conncount: the limit across fronts, a dead front's row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/conncount.h"

static void test_across_fronts(void **state)
{
	(void)state;
	int fd = conncount_create(2);
	assert_true(fd >= 0);
	struct conncount *a = conncount_attach(fd, 2, 0);
	struct conncount *b = conncount_attach(fd, 2, 1);
	assert_non_null(a);
	assert_non_null(b);
	uint32_t slot = conncount_slot("192.0.2.1");
	/* Three places: two on one front, one on the other; one more fails on
	 * either front. */
	assert_true(conncount_acquire(a, slot, 3));
	assert_true(conncount_acquire(a, slot, 3));
	assert_true(conncount_acquire(b, slot, 3));
	assert_false(conncount_acquire(a, slot, 3));
	assert_false(conncount_acquire(b, slot, 3));
	conncount_release(b, slot);
	assert_true(conncount_acquire(a, slot, 3));
	/* Front a dies holding three; its replacement clears its row. */
	struct conncount *a2 = conncount_attach(fd, 2, 0);
	assert_non_null(a2);
	assert_true(conncount_acquire(b, slot, 3));
	/* Nothing else is touched by another address's slot. */
	uint32_t other = conncount_slot("198.51.100.7");
	if (other != slot)
		assert_true(conncount_acquire(a2, other, 1));
	assert_null(conncount_attach(fd, 2, 2));
	conncount_detach(&a);
	conncount_detach(&a2);
	conncount_detach(&b);
	assert_null(a);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_across_fronts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
