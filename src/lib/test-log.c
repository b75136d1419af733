/* Unit tests for log: records are escaped so that none poses as another line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/log.h"

static void test_escape(void **state)
{
	char out[64];
	(void)state;

	const char in[] = "a\nmaster[1]: error: forged\r\x1b[31m\x7f\xc3\xa9";
	size_t n = log_escape(out, sizeof(out), in, sizeof(in) - 1);
	assert_string_equal(out, "a\\x0amaster[1]: error: forged\\x0d\\x1b[31m\\x7f\xc3\xa9");
	assert_int_equal(n, strlen(out));
	/* Cut to size, never in the middle of an escape. */
	n = log_escape(out, 6, "ab\ncd", 5);
	assert_string_equal(out, "ab");
	assert_int_equal(n, 2);
	assert_int_equal(log_escape(out, 0, "x", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
