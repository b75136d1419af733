/* Unit tests for tls-policy: every stage under no policy, MTA-STS testing
 * and enforce, DANE usable, unusable and failed, DANE before MTA-STS, and
 * the reason texts a bounce shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "relay/tls-policy.h"

static struct mta_sts_policy enforce, testing;

static int setup(void **state)
{
	(void)state;
	const char *error = NULL;
	if (mta_sts_policy_parse(STR("version: STSv1\nmode: enforce\nmx: mx.b.test\nmax_age: 86400\n"),
				 &enforce, &error) < 0)
		return -1;
	if (mta_sts_policy_parse(STR("version: STSv1\nmode: testing\nmx: *.b.test\nmax_age: 86400\n"),
				 &testing, &error) < 0)
		return -1;
	return 0;
}

static struct tls_verdict v;

static enum tls_action decide(const struct mta_sts_policy *sts, enum dane_state dane,
			      const char *mx, enum tls_stage stage, bool offered, bool ok,
			      bool verified)
{
	struct tls_policy_input in = {
		.stage = stage, .domain = STR("b.test"), .mx_host = str_c(mx), .sts = sts,
		.dane = dane, .starttls_offered = offered, .handshake_ok = ok, .verified = verified,
	};
	tls_policy_decide(&in, &v);
	return v.action;
}

static void test_opportunistic(void **state)
{
	(void)state;
	assert_int_equal(decide(NULL, DANE_NONE, "mx.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_CONNECT);
	assert_int_equal(v.auth, DANE_AUTH_NONE);
	assert_false(v.tls_required);
	assert_int_equal(decide(NULL, DANE_NONE, "mx.b.test", TLS_STAGE_EHLO, 0, 0, 0), TLS_SEND);
	assert_string_equal(v.reason, "");
	assert_int_equal(decide(NULL, DANE_NONE, "mx.b.test", TLS_STAGE_EHLO, 1, 0, 0), TLS_STARTTLS);
	assert_int_equal(decide(NULL, DANE_NONE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 0), TLS_SEND);
	assert_int_equal(decide(NULL, DANE_NONE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 0, 0),
			 TLS_RETRY_PLAIN);
	/* A policy of mode none is no policy. */
	struct mta_sts_policy none = enforce;
	none.mode = MTA_STS_MODE_NONE;
	assert_int_equal(decide(&none, DANE_NONE, "other.test", TLS_STAGE_EHLO, 0, 0, 0), TLS_SEND);
}

static void test_sts_enforce(void **state)
{
	(void)state;
	assert_int_equal(decide(&enforce, DANE_NONE, "mx.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_CONNECT);
	assert_int_equal(v.auth, DANE_AUTH_PKIX);
	assert_true(v.tls_required);
	assert_int_equal(decide(&enforce, DANE_NONE, "evil.test", TLS_STAGE_MX, 0, 0, 0), TLS_SKIP_MX);
	assert_string_equal(v.reason, "MTA-STS policy of b.test does not list evil.test");
	assert_int_equal(decide(&enforce, DANE_NONE, "evil.test", TLS_STAGE_EHLO, 1, 0, 0), TLS_SKIP_MX);
	assert_int_equal(decide(&enforce, DANE_NONE, "mx.b.test", TLS_STAGE_EHLO, 0, 0, 0), TLS_DEFER);
	assert_string_equal(v.reason, "MTA-STS policy requires TLS but mx.b.test offered no STARTTLS");
	assert_int_equal(decide(&enforce, DANE_NONE, "mx.b.test", TLS_STAGE_EHLO, 1, 0, 0), TLS_STARTTLS);
	assert_int_equal(v.auth, DANE_AUTH_PKIX);
	assert_int_equal(decide(&enforce, DANE_NONE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 0, 0), TLS_DEFER);
	assert_string_equal(v.reason, "TLS handshake with mx.b.test failed (MTA-STS policy requires TLS)");
	assert_int_equal(decide(&enforce, DANE_NONE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 0), TLS_DEFER);
	assert_string_equal(v.reason,
			    "certificate of mx.b.test does not verify for that name (MTA-STS policy)");
	assert_int_equal(decide(&enforce, DANE_NONE, "MX.B.test.", TLS_STAGE_HANDSHAKE, 1, 1, 1), TLS_SEND);
	assert_string_equal(v.reason, "");
}

static void test_sts_testing(void **state)
{
	(void)state;
	/* Everything goes through; what was not met is said. */
	assert_int_equal(decide(&testing, DANE_NONE, "mx.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_CONNECT);
	assert_int_equal(v.auth, DANE_AUTH_PKIX);
	assert_false(v.tls_required);
	assert_int_equal(decide(&testing, DANE_NONE, "mx.c.test", TLS_STAGE_MX, 0, 0, 0), TLS_CONNECT);
	assert_string_equal(v.reason, "MTA-STS policy (testing) of b.test does not list mx.c.test");
	assert_int_equal(decide(&testing, DANE_NONE, "mx.b.test", TLS_STAGE_EHLO, 0, 0, 0), TLS_SEND);
	assert_string_equal(v.reason,
			    "MTA-STS policy (testing) requires TLS but mx.b.test offered no STARTTLS");
	assert_int_equal(decide(&testing, DANE_NONE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 0, 0),
			 TLS_RETRY_PLAIN);
	assert_int_equal(decide(&testing, DANE_NONE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 0), TLS_SEND);
	assert_string_equal(v.reason,
			    "certificate of mx.b.test does not verify for that name (MTA-STS policy (testing))");
	assert_int_equal(decide(&testing, DANE_NONE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 1), TLS_SEND);
	assert_string_equal(v.reason, "");
}

static void test_dane(void **state)
{
	(void)state;
	assert_int_equal(decide(NULL, DANE_USABLE, "mx.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_CONNECT);
	assert_int_equal(v.auth, DANE_AUTH_DANE);
	assert_true(v.tls_required);
	assert_int_equal(decide(NULL, DANE_USABLE, "mx.b.test", TLS_STAGE_EHLO, 0, 0, 0), TLS_DEFER);
	assert_string_equal(v.reason, "DANE requires TLS but mx.b.test offered no STARTTLS");
	assert_int_equal(decide(NULL, DANE_USABLE, "mx.b.test", TLS_STAGE_EHLO, 1, 0, 0), TLS_STARTTLS);
	assert_int_equal(v.auth, DANE_AUTH_DANE);
	assert_int_equal(decide(NULL, DANE_USABLE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 0), TLS_DEFER);
	assert_string_equal(v.reason, "DANE TLSA mismatch for mx.b.test");
	assert_int_equal(decide(NULL, DANE_USABLE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 0, 0), TLS_DEFER);
	assert_string_equal(v.reason, "TLS handshake with mx.b.test failed (DANE requires TLS)");
	assert_int_equal(decide(NULL, DANE_USABLE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 1), TLS_SEND);

	/* A failed TLSA lookup: this MX host is not used. */
	assert_int_equal(decide(NULL, DANE_FAILED, "mx.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_SKIP_MX);
	assert_string_equal(v.reason, "DANE TLSA lookup for mx.b.test failed");

	/* None usable: TLS mandatory, any certificate. */
	assert_int_equal(decide(NULL, DANE_UNUSABLE, "mx.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_CONNECT);
	assert_int_equal(v.auth, DANE_AUTH_NONE);
	assert_true(v.tls_required);
	assert_int_equal(decide(NULL, DANE_UNUSABLE, "mx.b.test", TLS_STAGE_EHLO, 0, 0, 0), TLS_DEFER);
	assert_int_equal(decide(NULL, DANE_UNUSABLE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 0), TLS_SEND);
}

static void test_dane_before_sts(void **state)
{
	(void)state;
	/* RFC 8461 2: with usable DANE the MTA-STS mx list and PKIX do not apply. */
	assert_int_equal(decide(&enforce, DANE_USABLE, "mx2.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_CONNECT);
	assert_int_equal(v.auth, DANE_AUTH_DANE);
	assert_int_equal(decide(&enforce, DANE_USABLE, "mx2.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 1),
			 TLS_SEND);
	assert_int_equal(decide(&enforce, DANE_USABLE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 0),
			 TLS_DEFER);
	assert_string_equal(v.reason, "DANE TLSA mismatch for mx.b.test");
	/* Unusable DANE gives no authentication: MTA-STS enforce still does. */
	assert_int_equal(decide(&enforce, DANE_UNUSABLE, "mx2.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_SKIP_MX);
	assert_int_equal(decide(&enforce, DANE_UNUSABLE, "mx.b.test", TLS_STAGE_MX, 0, 0, 0), TLS_CONNECT);
	assert_int_equal(v.auth, DANE_AUTH_PKIX);
	/* Under unusable DANE a testing policy still only notes. */
	assert_int_equal(decide(&testing, DANE_UNUSABLE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 0),
			 TLS_SEND);
	assert_string_equal(v.reason,
			    "certificate of mx.b.test does not verify for that name (MTA-STS policy (testing))");
	assert_int_equal(decide(&enforce, DANE_UNUSABLE, "mx.b.test", TLS_STAGE_HANDSHAKE, 1, 1, 0),
			 TLS_DEFER);
	assert_int_equal(decide(&testing, DANE_UNUSABLE, "mx.b.test", TLS_STAGE_EHLO, 0, 0, 0), TLS_DEFER);
	assert_string_equal(v.reason, "DANE requires TLS but mx.b.test offered no STARTTLS");
}

static void test_long_names(void **state)
{
	(void)state;
	/* Two names of DNS_MAX_NAME fit the reason. */
	char mx[DNS_MAX_NAME + 1];
	memset(mx, 'a', DNS_MAX_NAME);
	mx[DNS_MAX_NAME] = '\0';
	struct tls_policy_input in = {
		.stage = TLS_STAGE_MX, .domain = str_c(mx), .mx_host = str_c(mx), .sts = &enforce,
	};
	tls_policy_decide(&in, &v);
	assert_int_equal(v.action, TLS_SKIP_MX);
	assert_int_equal(strlen(v.reason), strlen("MTA-STS policy of  does not list ") + 2 * DNS_MAX_NAME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opportunistic),
		cmocka_unit_test(test_sts_enforce),
		cmocka_unit_test(test_sts_testing),
		cmocka_unit_test(test_dane),
		cmocka_unit_test(test_dane_before_sts),
		cmocka_unit_test(test_long_names),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
