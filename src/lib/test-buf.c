/* Unit tests for buf: growth, the hard maximum, printf, consume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "lib/buf.h"

static void test_limit(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	/* One byte past the maximum fails and leaves the buffer intact. */
	assert_int_equal(buf_putc(&b, 'x'), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	buf_free(&b);
}

static void test_printf_consume(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%d,", i), 0);
	assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
	buf_consume(&b, 4);
	assert_int_equal(strncmp(b.data, "2,3,", 4), 0);
	char big[600];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, 601);
	assert_int_equal(b.data[600], '>');
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_printf_consume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
