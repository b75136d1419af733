/* Unit tests for auth-results: the field written, quoting, bounds, and
 * finding / removing fields with our authserv-id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mail-auth/auth-results.h"

static void test_write(void **state)
{
	(void)state;
	struct buf b;
	struct auth_results_dkim dkim[2] = {
		{ "pass", STR("a.test"), STR("sel1"), STR("AbCdEfGhIjKl") },
		{ "fail", STR("a.test"), STR("ed"), STR("zz") },
	};
	struct auth_results r = { .spf_done = true, .spf = SPF_PASS,
				  .mailfrom = STR("alice@a.test"), .dkim_done = true, .dkim = dkim,
				  .dkim_count = 2, .dmarc_done = true, .dmarc = DMARC_RESULT_PASS,
				  .from_domain = STR("a.test") };

	buf_init(&b, 65536);
	assert_int_equal(auth_results_write(&b, STR("mx.b.test"), &r), 0);
	assert_string_equal(b.data, "Authentication-Results: mx.b.test;\r\n"
				    "\tspf=pass smtp.mailfrom=alice@a.test;\r\n"
				    "\tdkim=pass header.d=a.test header.s=sel1 header.b=AbCdEfGh;\r\n"
				    "\tdkim=fail header.d=a.test header.s=ed header.b=zz;\r\n"
				    "\tdmarc=pass header.from=a.test\r\n");
	buf_reset(&b);
	/* <> gives smtp.helo; no DKIM signature: dkim=none; odd values quoted */
	r = (struct auth_results){ .spf_done = true, .spf = SPF_SOFTFAIL, .helo = STR("h.test"),
				   .dkim_done = true, .dmarc_done = true,
				   .dmarc = DMARC_RESULT_FAIL, .from_domain = STR("a\"b;\r\nc") };
	assert_int_equal(auth_results_write(&b, STR("mx.b.test"), &r), 0);
	assert_string_equal(b.data, "Authentication-Results: mx.b.test;\r\n"
				    "\tspf=softfail smtp.helo=h.test;\r\n"
				    "\tdkim=none;\r\n"
				    "\tdmarc=fail header.from=\"a\\\"b;c\"\r\n");
	buf_reset(&b);
	r = (struct auth_results){ 0 };
	assert_int_equal(auth_results_write(&b, STR("mx.b.test"), &r), 0);
	assert_string_equal(b.data, "Authentication-Results: mx.b.test; none\r\n");
	buf_free(&b);
	/* full: nothing is left half written */
	buf_init(&b, 40);
	buf_append_str(&b, STR("kept"));
	r = (struct auth_results){ .spf_done = true, .spf = SPF_PASS, .mailfrom = STR("a@b.test") };
	assert_int_equal(auth_results_write(&b, STR("mx.b.test"), &r), -1);
	assert_string_equal(b.data, "kept");
	buf_free(&b);
}

static void test_bounds(void **state)
{
	(void)state;
	struct auth_results_dkim dkim[AUTH_RESULTS_MAX_DKIM + 1];
	char longname[2 * AUTH_RESULTS_MAX_VALUE];
	struct buf b;

	memset(longname, 'd', sizeof(longname));
	for (size_t i = 0; i < AUTH_RESULTS_MAX_DKIM + 1; i++)
		dkim[i] = (struct auth_results_dkim){ "pass", str_from(longname, sizeof(longname)),
						      str_from(longname, sizeof(longname)),
						      STR("b") };
	struct auth_results r = { .spf_done = true, .mailfrom = str_from(longname, sizeof(longname)),
				  .dkim_done = true, .dkim = dkim,
				  .dkim_count = AUTH_RESULTS_MAX_DKIM + 1, .dmarc_done = true,
				  .from_domain = str_from(longname, sizeof(longname)) };
	buf_init(&b, 1 << 20);
	assert_int_equal(auth_results_write(&b, STR("mx.b.test"), &r), 0);
	assert_true(b.len <= AUTH_RESULTS_MAX);
	/* one signature past the bound is left out */
	size_t count = 0;
	for (const char *p = b.data; (p = strstr(p, "dkim=")) != NULL; p++)
		count++;
	assert_int_equal(count, AUTH_RESULTS_MAX_DKIM);
	/* values were cut: every line stays within RFC 5322's 998 */
	for (const char *p = b.data, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		assert_true(nl - p <= 998);
	buf_free(&b);
}

static void test_ours(void **state)
{
	(void)state;
	struct str headers = STR("Received: from x\r\n"
				 "Authentication-Results: other.test; spf=pass\r\n"
				 "authentication-results:  (forged) MX.B.TEST;\r\n"
				 "\tdkim=pass header.d=a.test\r\n"
				 "Subject: hi\r\n"
				 "Authentication-Results: \"mx.b.test\"; none\r\n"
				 "Authentication-Results: mx.b.test.evil; none\r\n"
				 "\r\n"
				 "Authentication-Results: mx.b.test; in the body\r\n");
	struct buf b;

	assert_true(auth_results_has_ours(headers, STR("mx.b.test")));
	assert_false(auth_results_has_ours(headers, STR("mx.c.test")));
	assert_true(auth_results_has_ours(headers, STR("other.test")));
	buf_init(&b, 4096);
	assert_int_equal(auth_results_remove_ours(headers, STR("mx.b.test"), &b), 2);
	assert_string_equal(b.data, "Received: from x\r\n"
				    "Authentication-Results: other.test; spf=pass\r\n"
				    "Subject: hi\r\n"
				    "Authentication-Results: mx.b.test.evil; none\r\n"
				    "\r\n"
				    "Authentication-Results: mx.b.test; in the body\r\n");
	buf_free(&b);
	assert_false(auth_results_is_ours(STR(""), STR("mx.b.test")));
	assert_false(auth_results_is_ours(STR(" (unclosed mx.b.test"), STR("mx.b.test")));
	assert_true(auth_results_is_ours(STR(" (a (nested) comment) mx.b.test 1; none"),
					 STR("mx.b.test")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
