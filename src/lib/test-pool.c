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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
