/* Unit tests for relay-mx: preference order, shuffling of equals, null MX,
 * implicit MX, the limit on hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "relay/relay-mx.h"

static uint32_t counter(void *ctx)
{
	uint32_t *n = ctx;
	return (*n)++;
}

static uint32_t zero(void *ctx)
{
	(void)ctx;
	return 0;
}

static void assert_host(struct str s, const char *want)
{
	if (!str_eq(s, str_c(want)))
		fail_msg("got '%.*s', want '%s'", (int)s.len, s.ptr, want);
}

static void test_order(void **state)
{
	struct dns_record r[] = {
		{ .pref = 20, .data = STR("c.test") },
		{ .pref = 10, .data = STR("a.test") },
		{ .pref = 30, .data = STR("d.test") },
		{ .pref = 10, .data = STR("b.test") },
	};
	struct dns_answer a = { .status = DNS_OK, .count = 4, .records = r };
	struct str hosts[RELAY_MX_MAX_HOSTS];
	size_t n;
	(void)state;
	assert_int_equal(relay_mx_order(&a, STR("x.test"), hosts, &n, zero, NULL), RELAY_MX_HOSTS);
	assert_int_equal(n, 4);
	/* zero swaps the last of a group with the first. */
	assert_host(hosts[0], "b.test");
	assert_host(hosts[1], "a.test");
	assert_host(hosts[2], "c.test");
	assert_host(hosts[3], "d.test");
	/* Both orders of the two 10s come out over several draws. */
	bool seen_a_first = false, seen_b_first = false;
	for (uint32_t seed = 0; seed < 8; seed++) {
		uint32_t c = seed;
		relay_mx_order(&a, STR("x.test"), hosts, &n, counter, &c);
		seen_a_first |= str_eq(hosts[0], STR("a.test"));
		seen_b_first |= str_eq(hosts[0], STR("b.test"));
		assert_host(hosts[2], "c.test");
	}
	assert_true(seen_a_first && seen_b_first);
}

static void test_special(void **state)
{
	struct dns_record null_mx[] = { { .pref = 0, .data = STR("") } };
	struct dns_answer a = { .status = DNS_OK, .count = 1, .records = null_mx };
	struct str hosts[RELAY_MX_MAX_HOSTS];
	size_t n;
	(void)state;
	assert_int_equal(relay_mx_order(&a, STR("x.test"), hosts, &n, zero, NULL), RELAY_MX_NULL);
	null_mx[0].data = STR(".");
	assert_int_equal(relay_mx_order(&a, STR("x.test"), hosts, &n, zero, NULL), RELAY_MX_NULL);
	/* "." beside real hosts is not a null MX: it is skipped. */
	struct dns_record mixed[] = { { .pref = 0, .data = STR(".") },
				      { .pref = 5, .data = STR("mx.x.test") } };
	struct dns_answer m = { .status = DNS_OK, .count = 2, .records = mixed };
	assert_int_equal(relay_mx_order(&m, STR("x.test"), hosts, &n, zero, NULL), RELAY_MX_HOSTS);
	assert_int_equal(n, 1);
	assert_host(hosts[0], "mx.x.test");
	struct dns_answer none = { .status = DNS_NODATA };
	assert_int_equal(relay_mx_order(&none, STR("x.test"), hosts, &n, zero, NULL),
			 RELAY_MX_IMPLICIT);
	assert_int_equal(n, 1);
	assert_host(hosts[0], "x.test");
	none.status = DNS_NXDOMAIN;
	assert_int_equal(relay_mx_order(&none, STR("x.test"), hosts, &n, zero, NULL),
			 RELAY_MX_NO_DOMAIN);
	none.status = DNS_TEMPFAIL;
	assert_int_equal(relay_mx_order(&none, STR("x.test"), hosts, &n, zero, NULL),
			 RELAY_MX_TEMPFAIL);
	none.status = DNS_BOGUS;
	assert_int_equal(relay_mx_order(&none, STR("x.test"), hosts, &n, zero, NULL),
			 RELAY_MX_TEMPFAIL);
}

/* RELAY_MX_MAX_HOSTS hosts are tried; one more is left out, the lowest
 * preferences kept. */
static void test_limit(void **state)
{
	struct dns_record r[RELAY_MX_MAX_HOSTS + 1];
	char names[RELAY_MX_MAX_HOSTS + 1][16];
	struct str hosts[RELAY_MX_MAX_HOSTS];
	size_t n;
	(void)state;
	for (int i = 0; i <= RELAY_MX_MAX_HOSTS; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%d.test", i);
		r[i] = (struct dns_record){ .pref = (uint16_t)(RELAY_MX_MAX_HOSTS - i),
					    .data = str_c(names[i]) };
	}
	struct dns_answer a = { .status = DNS_OK, .count = RELAY_MX_MAX_HOSTS + 1, .records = r };
	assert_int_equal(relay_mx_order(&a, STR("x.test"), hosts, &n, zero, NULL), RELAY_MX_HOSTS);
	assert_int_equal(n, RELAY_MX_MAX_HOSTS);
	assert_host(hosts[0], "mx10.test");
	for (size_t i = 0; i < n; i++)
		assert_false(str_eq(hosts[i], STR("mx0.test")));
	/* All of one preference, more than the limit: still the limit. */
	for (int i = 0; i <= RELAY_MX_MAX_HOSTS; i++)
		r[i].pref = 7;
	assert_int_equal(relay_mx_order(&a, STR("x.test"), hosts, &n, zero, NULL), RELAY_MX_HOSTS);
	assert_int_equal(n, RELAY_MX_MAX_HOSTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_special),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
