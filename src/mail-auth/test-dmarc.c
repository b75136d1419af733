/* Unit tests for dmarc: record parsing, discovery (with the organizational
 * domain), alignment, policy and pct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mail-auth/dmarc.h"
#include "mail-auth/test-zone.h"

static void test_parse(void **state)
{
	(void)state;
	struct dmarc_record r;
	const char *error;

	assert_int_equal(dmarc_record_parse(STR("v=DMARC1; p=reject"), &r, &error), 0);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT);
	assert_int_equal(r.np, DMARC_POLICY_REJECT);
	assert_int_equal(r.pct, 100);
	assert_false(r.adkim_strict);
	assert_int_equal(dmarc_record_parse(STR(" v = DMARC1 ;p=quarantine; sp=none; np=reject; "
						"adkim=s; aspf=s; pct=20; "
						"rua=mailto:a@b.test; ruf=mailto:c@b.test; fo=1; x=y;"),
					    &r, &error), 0);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_int_equal(r.np, DMARC_POLICY_REJECT);
	assert_true(r.adkim_strict && r.aspf_strict);
	assert_int_equal(r.pct, 20);
	assert_string_equal(r.rua, "mailto:a@b.test");
	assert_string_equal(r.ruf, "mailto:c@b.test");
	/* not DMARC1 first, no p, bad p */
	assert_int_equal(dmarc_record_parse(STR("p=reject; v=DMARC1"), &r, &error), -1);
	assert_int_equal(dmarc_record_parse(STR("v=DMARC2; p=reject"), &r, &error), -1);
	assert_int_equal(dmarc_record_parse(STR("v=DMARC1"), &r, &error), -1);
	assert_int_equal(dmarc_record_parse(STR("v=DMARC1; p=bounce"), &r, &error), -1);
	assert_int_equal(dmarc_record_parse(STR(""), &r, &error), -1);
	assert_int_equal(dmarc_record_parse(STR("v=DMARC1; p"), &r, &error), -1);
	/* a bad p with a report address: p=none (RFC 7489 6.6.3) */
	assert_int_equal(dmarc_record_parse(STR("v=DMARC1; p=bounce; rua=mailto:x@y.test"), &r,
					    &error), 0);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	/* pct out of range: the default */
	assert_int_equal(dmarc_record_parse(STR("v=DMARC1; p=none; pct=101"), &r, &error), 0);
	assert_int_equal(r.pct, 100);
	/* a long rua is cut, not refused */
	char text[DMARC_MAX_URIS + 100];
	int n = snprintf(text, sizeof(text), "v=DMARC1; p=none; rua=mailto:");
	memset(text + n, 'a', sizeof(text) - (size_t)n - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(dmarc_record_parse(str_c(text), &r, &error), 0);
	assert_int_equal(strlen(r.rua), DMARC_MAX_URIS);
}

static void test_org_domain(void **state)
{
	(void)state;
	char buf[DNS_MAX_NAME + 1];
	assert_true(str_eq(dmarc_org_domain(STR("mail.Example.CO.UK"), buf, sizeof(buf)),
			   STR("example.co.uk")));
	assert_true(str_eq(dmarc_org_domain(STR("a.b.test"), buf, sizeof(buf)), STR("b.test")));
	assert_true(str_eq(dmarc_org_domain(STR("co.uk"), buf, sizeof(buf)), STR("co.uk")));
	assert_true(dmarc_aligned(STR("bounce.a.test"), STR("a.test"), false));
	assert_false(dmarc_aligned(STR("bounce.a.test"), STR("a.test"), true));
	assert_true(dmarc_aligned(STR("A.test."), STR("a.test"), true));
	assert_false(dmarc_aligned(STR("b.test"), STR("a.test"), false));
	assert_false(dmarc_aligned(STR("x.co.uk"), STR("y.co.uk"), false));
	assert_false(dmarc_aligned(STR(""), STR("a.test"), false));
}

static struct dmarc_outcome run(struct dns_cache *zone, struct dmarc_params *p, unsigned *asked)
{
	struct dns_cache *cache = dns_cache_new();
	struct dmarc_outcome out;
	struct dns_need need;
	unsigned n = 0;
	while (dmarc_eval(cache, p, &out, &need) == DNS_EVAL_NEED) {
		assert_int_equal(need.type, DNS_TYPE_TXT);
		zone_answer(zone, cache, &need);
		assert_true(++n < 5);
	}
	if (asked != NULL)
		*asked = n;
	dns_cache_free(&cache);
	return out;
}

static void test_eval(void **state)
{
	(void)state;
	struct dns_cache *zone = dns_cache_new();
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.a.test", "v=DMARC1; p=reject");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.q.test", "v=DMARC1; p=reject; sp=quarantine; pct=50");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.two.test", "v=DMARC1; p=reject");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.two.test", "v=DMARC1; p=none");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.strict.test", "v=DMARC1; p=reject; aspf=s; adkim=s");
	zone_status(zone, DNS_TYPE_TXT, "_dmarc.tmp.test", DNS_TEMPFAIL);
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.ten.test", "v=DMARC10; p=none");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.ten.test", "spf2.0/pra");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.ten.test", "v=DMARC1;p=reject");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.bad.ten.test", "v=DMARC1; p=bounce");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.two.ten.test", "v=DMARC1; p=none");
	zone_add(zone, DNS_TYPE_TXT, "_dmarc.two.ten.test", "v=DMARC1; p=none");
	struct dmarc_dkim dkim[2] = { { false, STR("a.test") }, { true, STR("other.test") } };
	struct dmarc_params p = { .from_domain = STR("a.test"), .spf = SPF_PASS,
				  .spf_domain = STR("bounce.a.test"), .dkim = dkim,
				  .dkim_count = 2 };
	unsigned asked;

	struct dmarc_outcome o = run(zone, &p, &asked);
	assert_int_equal(o.result, DMARC_RESULT_PASS);
	assert_int_equal(asked, 1);
	assert_string_equal(o.policy_domain, "a.test");
	/* SPF fails, the only passing signature is of another domain */
	p.spf = SPF_FAIL;
	o = run(zone, &p, NULL);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	/* an aligned DKIM pass */
	dkim[0].pass = true;
	assert_int_equal(run(zone, &p, NULL).result, DMARC_RESULT_PASS);
	dkim[0].pass = false;
	/* a subdomain: the organizational record's sp, and pct */
	p.from_domain = STR("news.q.test");
	p.spf_domain = STR("q.test");
	p.spf = SPF_NEUTRAL;
	o = run(zone, &p, &asked);
	assert_int_equal(asked, 2);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);
	assert_string_equal(o.policy_domain, "q.test");
	p.pct_roll = 50;
	o = run(zone, &p, NULL);
	assert_int_equal(o.policy, DMARC_POLICY_NONE);
	assert_true(o.sampled_out);
	p.from_domain = STR("q.test");
	o = run(zone, &p, NULL);
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);   /* reject, sampled out */
	p.pct_roll = 49;
	assert_int_equal(run(zone, &p, NULL).policy, DMARC_POLICY_REJECT);
	/* relaxed SPF alignment passes; strict does not */
	p.spf = SPF_PASS;
	p.from_domain = STR("news.q.test");
	assert_int_equal(run(zone, &p, NULL).result, DMARC_RESULT_PASS);
	p.from_domain = STR("strict.test");
	p.spf_domain = STR("mail.strict.test");
	assert_int_equal(run(zone, &p, NULL).result, DMARC_RESULT_FAIL);
	/* no record, two records, DNS failure, no From: domain */
	p.from_domain = STR("none.test");
	o = run(zone, &p, &asked);
	assert_int_equal(o.result, DMARC_RESULT_NONE);
	assert_int_equal(asked, 1);
	p.from_domain = STR("ten.test");
	p.spf = SPF_FAIL;
	o = run(zone, &p, NULL);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);   /* the one DMARC1 record counts */
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	/* an invalid record, or two, at the From: domain end discovery there:
	 * the organizational domain's record is not looked at */
	p.from_domain = STR("bad.ten.test");
	o = run(zone, &p, &asked);
	assert_int_equal(o.result, DMARC_RESULT_NONE);
	assert_int_equal(asked, 1);
	p.from_domain = STR("two.ten.test");
	o = run(zone, &p, &asked);
	assert_int_equal(o.result, DMARC_RESULT_NONE);
	assert_int_equal(asked, 1);
	p.from_domain = STR("two.test");
	assert_int_equal(run(zone, &p, NULL).result, DMARC_RESULT_NONE);
	p.from_domain = STR("tmp.test");
	assert_int_equal(run(zone, &p, NULL).result, DMARC_RESULT_TEMPERROR);
	p.from_domain = STR("");
	assert_int_equal(run(zone, &p, NULL).result, DMARC_RESULT_PERMERROR);
	p.from_domain = STR("a\0.test");
	assert_int_equal(run(zone, &p, NULL).result, DMARC_RESULT_PERMERROR);
	dns_cache_free(&zone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_eval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
