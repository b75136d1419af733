/* Unit tests for pool: alignment, copies, the hard maximum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/pool.h"

static void test_alloc(void **state)
{
	(void)state;
	struct pool *p = pool_new(100000);
	assert_non_null(p);
	for (int i = 0; i < 1000; i++) {
		void *m = pool_alloc(p, 17);
		assert_non_null(m);
		assert_int_equal((uintptr_t)m % _Alignof(max_align_t), 0);
	}
	char *s = pool_strndup(p, "hello world", 5);
	assert_string_equal(s, "hello");
	/* A request past the maximum is refused. */
	assert_null(pool_alloc(p, 100000));
	pool_free(&p);
	assert_null(p);
}

/* pool_wipe zeroes what was handed out, in every block, and keeps it. */
static void test_wipe(void **state)
{
	(void)state;
	struct pool *p = pool_new(100000);
	struct str small = pool_str(p, STR("hunter2"));
	char *big = pool_alloc(p, 20000); /* a block of its own */
	memset(big, 'x', 20000);
	pool_wipe(p);
	for (size_t i = 0; i < small.len; i++)
		assert_int_equal(small.ptr[i], 0);
	for (size_t i = 0; i < 20000; i++)
		assert_int_equal(big[i], 0);
	assert_non_null(pool_alloc(p, 16));
	pool_free(&p);
	pool_wipe(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_wipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
