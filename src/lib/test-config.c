/* Unit tests for config: defaults, bounds, unknown keys, round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* Durations with a unit or without; a schedule of 1 to
 * CONFIG_MAX_RETRY_STEPS steps within [1 s, 1 day]; one past each bound
 * refused. */
static void test_durations(void **state)
{
	struct config c;
	char err[512], many[CONFIG_MAX_RETRY_STEPS * 4 + 8] = "";
	uint64_t v;
	(void)state;

	config_defaults(&c, false);
	assert_int_equal(c.queue_expire, 5 * 86400);
	assert_int_equal(c.queue_delay_notice, 4 * 3600);
	assert_int_equal(c.queue_retry_schedule.count, 6);
	assert_int_equal(c.queue_retry_schedule.step[0], 300);
	assert_int_equal(c.queue_retry_schedule.step[5], 4 * 3600);
	assert_int_equal(config_parse_duration(STR("90"), 1000, &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(config_parse_duration(STR("2d"), UINT64_MAX, &v), 0);
	assert_int_equal(v, 2 * 86400);
	assert_int_equal(config_parse_duration(STR("30s"), 1000, &v), 0);
	assert_int_equal(v, 30);
	static const char *const bad[] = { "", "m", "5x", "-1", "1.5h", "5 m", "h5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_parse_duration(str_c(bad[i]), UINT64_MAX, &v), -1);
	assert_int_equal(config_set(&c, "queue.delay_notice", "0", err, sizeof(err)), 0);
	assert_int_equal(c.queue_delay_notice, 0);
	assert_int_equal(config_set(&c, "queue.expire", "30d", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "queue.expire", "2592001", err, sizeof(err)), -1);
	assert_int_equal(config_set(&c, "queue.expire", "0", err, sizeof(err)), -1);
	assert_int_equal(config_set(&c, "queue.retry_schedule", "1s, 1d", err, sizeof(err)), 0);
	assert_int_equal(c.queue_retry_schedule.count, 2);
	assert_int_equal(config_set(&c, "queue.retry_schedule", "86401", err, sizeof(err)), -1);
	assert_int_equal(config_set(&c, "queue.retry_schedule", "0", err, sizeof(err)), -1);
	assert_int_equal(config_set(&c, "queue.retry_schedule", "", err, sizeof(err)), -1);
	size_t len = 0;
	for (unsigned i = 0; i < CONFIG_MAX_RETRY_STEPS; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, i ? ",1m" : "1m");
	assert_int_equal(config_set(&c, "queue.retry_schedule", many, err, sizeof(err)), 0);
	snprintf(many + len, sizeof(many) - len, ",1m");
	assert_int_equal(config_set(&c, "queue.retry_schedule", many, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_bounds),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
