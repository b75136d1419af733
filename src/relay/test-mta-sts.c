/* Unit tests for mta-sts: the TXT record, the policy file, mx matching,
 * the limits (size, mx count, max_age, id length) and the round trip of
 * mta_sts_policy_format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "relay/mta-sts.h"

static int txt(const char *s, struct mta_sts_id *id)
{
	const char *error = NULL;
	int r = mta_sts_txt_parse(str_c(s), id, &error);
	if (r < 0 && error == NULL)
		fail_msg("'%s' refused without a reason", s);
	return r;
}

static void test_txt(void **state)
{
	(void)state;
	struct mta_sts_id id;
	assert_int_equal(txt("v=STSv1; id=20160831085700Z;", &id), 1);
	assert_string_equal(id.id, "20160831085700Z");
	assert_int_equal(txt("v=STSv1;id=abc", &id), 1);
	assert_string_equal(id.id, "abc");
	assert_int_equal(txt("v=STSv1 ;  id=1 ; ext-1=x.y ;", &id), 1);
	assert_string_equal(id.id, "1");
	assert_int_equal(txt("v=STSv1; id=a; id=b", &id), 1);
	assert_string_equal(id.id, "a");
	/* Not MTA-STS records at all. */
	assert_int_equal(txt("v=spf1 -all", &id), 0);
	assert_int_equal(txt("V=STSv1; id=1", &id), 0);
	assert_int_equal(txt("v=STSv10; id=1", &id), 0);
	assert_int_equal(txt("", &id), 0);
	/* MTA-STS records, malformed. */
	assert_int_equal(txt("v=STSv1", &id), -1);
	assert_int_equal(txt("v=STSv1;", &id), -1);
	assert_int_equal(txt("v=STSv1; id=", &id), -1);
	assert_int_equal(txt("v=STSv1; id=a-b", &id), -1);
	assert_int_equal(txt("v=STSv1; id=1;; x=y", &id), -1);
	assert_int_equal(txt("v=STSv1; junk", &id), -1);
	assert_int_equal(txt("v=STSv1; x=a b", &id), -1);
	/* The id is at most 32: one past it is refused. */
	assert_int_equal(txt("v=STSv1; id=12345678901234567890123456789012", &id), 1);
	assert_int_equal(strlen(id.id), MTA_STS_MAX_ID);
	assert_int_equal(txt("v=STSv1; id=123456789012345678901234567890123", &id), -1);
}

static void test_txt_find(void **state)
{
	(void)state;
	struct dns_record recs[3] = {
		{ .data = STR("v=spf1 -all") },
		{ .data = STR("v=STSv1; id=X1") },
		{ .data = STR("v=STSv1; id=X2") },
	};
	struct dns_answer a = { .status = DNS_OK, .count = 2, .records = recs };
	struct mta_sts_id id;
	const char *error = NULL;
	assert_int_equal(mta_sts_txt_find(&a, &id, &error), 1);
	assert_string_equal(id.id, "X1");
	a.count = 3;
	assert_int_equal(mta_sts_txt_find(&a, &id, &error), -1);
	assert_string_equal(error, "more than one MTA-STS record");
	a.count = 1;
	assert_int_equal(mta_sts_txt_find(&a, &id, &error), 0);
	a.status = DNS_NXDOMAIN;
	a.count = 0;
	assert_int_equal(mta_sts_txt_find(&a, &id, &error), 0);
	a.status = DNS_NODATA;
	assert_int_equal(mta_sts_txt_find(&a, &id, &error), 0);
	a.status = DNS_TEMPFAIL;
	assert_int_equal(mta_sts_txt_find(&a, &id, &error), -1);
	a.status = DNS_BOGUS;
	assert_int_equal(mta_sts_txt_find(&a, &id, &error), -1);
}

static struct mta_sts_policy policy;

static int parse(const char *s)
{
	const char *error = NULL;
	int r = mta_sts_policy_parse(str_c(s), &policy, &error);
	if (r < 0 && error == NULL)
		fail_msg("'%s' refused without a reason", s);
	return r;
}

static void test_policy(void **state)
{
	(void)state;
	/* RFC 8461 3.2's example, CRLF lines. */
	assert_int_equal(parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
			       "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"),
			 0);
	assert_int_equal(policy.mode, MTA_STS_MODE_ENFORCE);
	assert_int_equal(policy.max_age, 604800);
	assert_int_equal(policy.mx_count, 3);
	assert_string_equal(policy.mx[0].name, "mail.example.com");
	assert_false(policy.mx[0].wildcard);
	assert_string_equal(policy.mx[1].name, "example.net");
	assert_true(policy.mx[1].wildcard);
	/* LF lines, no final newline, odd case and spacing, an extension. */
	assert_int_equal(parse("Version:STSv1\nMODE:\ttesting  \nmx: MX.B.Test.\n\nfoo-bar: x y\n"
			       "max_age:86400"),
			 0);
	assert_int_equal(policy.mode, MTA_STS_MODE_TESTING);
	assert_int_equal(policy.max_age, 86400);
	assert_string_equal(policy.mx[0].name, "mx.b.test");
	/* mode none needs no mx. */
	assert_int_equal(parse("version: STSv1\nmode: none\nmax_age: 0\n"), 0);
	assert_int_equal(policy.mode, MTA_STS_MODE_NONE);
	/* The first of a repeated field counts. */
	assert_int_equal(parse("version: STSv1\nmode: testing\nmode: enforce\nmx: a.b\n"
			       "max_age: 5\nmax_age: 7\n"),
			 0);
	assert_int_equal(policy.mode, MTA_STS_MODE_TESTING);
	assert_int_equal(policy.max_age, 5);
}

static void test_policy_refused(void **state)
{
	(void)state;
	assert_int_equal(parse(""), -1);
	assert_int_equal(parse("version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 5\n"), -1);
	assert_int_equal(parse("mode: enforce\nmx: a.b\nmax_age: 5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmx: a.b\nmax_age: 5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a.b\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmax_age: 5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: strict\nmx: a.b\nmax_age: 5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 12345678901\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a b\nmax_age: 5\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 5\njunk\n"), -1);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 5\n-x: y\n"), -1);
	/* A refusal leaves nothing behind. */
	assert_int_equal(policy.mx_count, 0);
	assert_int_equal(policy.mode, MTA_STS_MODE_NONE);
}

static void test_policy_limits(void **state)
{
	(void)state;
	/* max_age: the maximum stays, one past it is lowered to it. */
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557600\n"), 0);
	assert_int_equal(policy.max_age, MTA_STS_MAX_AGE);
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n"), 0);
	assert_int_equal(policy.max_age, MTA_STS_MAX_AGE);

	/* MTA_STS_MAX_MX mx lines pass, one more is refused. */
	char *text = malloc(MTA_STS_MAX_POLICY + 2);
	assert_non_null(text);
	int len = snprintf(text, 100, "version: STSv1\nmode: enforce\nmax_age: 5\n");
	for (int i = 0; i < MTA_STS_MAX_MX; i++)
		len += snprintf(text + len, 100, "mx: mx%d.b.test\n", i);
	assert_int_equal(parse(text), 0);
	assert_int_equal(policy.mx_count, MTA_STS_MAX_MX);
	snprintf(text + len, 100, "mx: one-more.b.test\n");
	assert_int_equal(parse(text), -1);

	/* MTA_STS_MAX_POLICY bytes pass, one more is refused. */
	len = snprintf(text, 100, "version: STSv1\nmode: enforce\nmax_age: 5\nmx: a.b\nx: ");
	memset(text + len, 'y', MTA_STS_MAX_POLICY - (size_t)len - 1);
	text[MTA_STS_MAX_POLICY - 1] = '\n';
	text[MTA_STS_MAX_POLICY] = '\0';
	assert_int_equal(parse(text), 0);
	text[MTA_STS_MAX_POLICY - 1] = 'y';
	text[MTA_STS_MAX_POLICY] = '\n';
	text[MTA_STS_MAX_POLICY + 1] = '\0';
	assert_int_equal(parse(text), -1);

	/* An mx of DNS_MAX_NAME passes, one more is refused. */
	char name[DNS_MAX_NAME + 2];
	for (size_t i = 0; i < sizeof(name) - 1; i++)
		name[i] = i % 50 == 49 ? '.' : 'a';
	name[DNS_MAX_NAME] = '\0';
	snprintf(text, MTA_STS_MAX_POLICY, "version: STSv1\nmode: enforce\nmax_age: 5\nmx: %s\n", name);
	assert_int_equal(parse(text), 0);
	name[DNS_MAX_NAME] = 'a';
	name[DNS_MAX_NAME + 1] = '\0';
	snprintf(text, MTA_STS_MAX_POLICY, "version: STSv1\nmode: enforce\nmax_age: 5\nmx: %s\n", name);
	assert_int_equal(parse(text), -1);
	free(text);
}

static void test_mx_matches(void **state)
{
	(void)state;
	assert_int_equal(parse("version: STSv1\nmode: enforce\nmx: mail.example.com\n"
			       "mx: *.example.net\nmax_age: 5\n"),
			 0);
	assert_true(mta_sts_mx_matches(&policy, STR("mail.example.com")));
	assert_true(mta_sts_mx_matches(&policy, STR("MAIL.Example.COM.")));
	assert_false(mta_sts_mx_matches(&policy, STR("mail.example.co")));
	assert_false(mta_sts_mx_matches(&policy, STR("xmail.example.com")));
	assert_true(mta_sts_mx_matches(&policy, STR("mx1.example.net")));
	assert_true(mta_sts_mx_matches(&policy, STR("Mx1.EXAMPLE.net.")));
	/* RFC 8461 4.1: the wildcard is one label, and at least one. */
	assert_false(mta_sts_mx_matches(&policy, STR("example.net")));
	assert_false(mta_sts_mx_matches(&policy, STR(".example.net")));
	assert_false(mta_sts_mx_matches(&policy, STR("a.b.example.net")));
	assert_false(mta_sts_mx_matches(&policy, STR("")));
	policy.mode = MTA_STS_MODE_NONE;
	assert_false(mta_sts_mx_matches(&policy, STR("mail.example.com")));
}

static void test_format(void **state)
{
	(void)state;
	assert_int_equal(parse("mx: *.B.test\nversion: STSv1\nmax_age: 99\nmode: enforce\nmx: mx.c.test\n"), 0);
	char out[MTA_STS_FORMAT_MAX];
	long n = mta_sts_policy_format(&policy, out, sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out, "version: STSv1\nmode: enforce\nmax_age: 99\nmx: *.b.test\nmx: mx.c.test\n");
	struct mta_sts_policy again;
	const char *error = NULL;
	assert_int_equal(mta_sts_policy_parse(str_from(out, (size_t)n), &again, &error), 0);
	assert_memory_equal(&again, &policy, sizeof(policy));
	assert_int_equal(mta_sts_policy_format(&policy, out, 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_txt_find),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_refused),
		cmocka_unit_test(test_policy_limits),
		cmocka_unit_test(test_mx_matches),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
