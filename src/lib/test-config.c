/* Unit tests for config: defaults, bounds, unknown keys, round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/config.h"

static void test_defaults_and_bounds(void **state)
{
	struct config c;
	char err[512];
	(void)state;

	config_defaults(&c, true);
	assert_int_equal(c.listen_smtp.count, 1);
	assert_string_equal(c.listen_smtp.addr[0], "127.0.0.1:2525");
	config_defaults(&c, false);
	assert_int_equal(c.listen_smtp.count, 0);
	assert_int_equal(c.smtp_max_recipients, 1000);

	const char ok[] = "# comment\n smtp.max_recipients = 100000 \nlisten.smtp = [::1]:25, 127.0.0.1:25\n";
	assert_int_equal(config_load_text(&c, ok, strlen(ok), "t", err, sizeof(err)), 0);
	assert_int_equal(c.smtp_max_recipients, 100000);
	assert_int_equal(c.listen_smtp.count, 2);
	/* One past the maximum names the key and the line. */
	const char past[] = "\nsmtp.max_recipients = 100001\n";
	assert_int_equal(config_load_text(&c, past, strlen(past), "t", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t:2:"));
	assert_non_null(strstr(err, "smtp.max_recipients"));
	const char unknown[] = "listen.smpt = 1.2.3.4:25\n";
	assert_int_equal(config_load_text(&c, unknown, strlen(unknown), "t", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "listen.smpt"));
	const char noeq[] = "hostname\n";
	assert_int_equal(config_load_text(&c, noeq, strlen(noeq), "t", err, sizeof(err)), -1);
	const char badport[] = "listen.smtp = 127.0.0.1:65536\n";
	assert_int_equal(config_load_text(&c, badport, strlen(badport), "t", err, sizeof(err)), -1);
	const char badlevel[] = "log.level = loud\n";
	assert_int_equal(config_load_text(&c, badlevel, strlen(badlevel), "t", err, sizeof(err)), -1);
}

static void test_dump_round_trip(void **state)
{
	struct config a, b;
	char text[65536], err[512];
	(void)state;

	config_defaults(&a, true);
	assert_int_equal(config_set(&a, "hostname", "mx.example.com", err, sizeof(err)), 0);
	long n = config_dump(&a, text, sizeof(text));
	assert_true(n > 0);
	config_defaults(&b, false);
	assert_int_equal(config_load_text(&b, text, (size_t)n, "dump", err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_bounds),
		cmocka_unit_test(test_dump_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
