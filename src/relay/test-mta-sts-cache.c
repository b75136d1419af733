/* Unit tests for mta-sts-cache: put and get, max_age honoured (expiry,
 * max_age 0, one past MTA_STS_MAX_AGE), replacement, bounds, eviction
 * of the entry expiring first when full, and the plan from TXT and cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "relay/mta-sts-cache.h"

static const struct mta_sts_id id1 = { "one" }, id2 = { "two" };
#define POLICY STR("version: STSv1\nmode: enforce\nmax_age: 60\nmx: mx.b.test\n")

static void test_put_get(void **state)
{
	(void)state;
	struct mta_sts_cache *c = mta_sts_cache_new(8);
	assert_non_null(c);
	assert_null(mta_sts_cache_get(c, STR("b.test"), 1000));
	assert_int_equal(mta_sts_cache_put(c, STR("B.Test."), &id1, POLICY, 60, 1000), 0);
	const struct mta_sts_cache_entry *e = mta_sts_cache_get(c, STR("b.TEST"), 1000);
	assert_non_null(e);
	assert_string_equal(e->domain, "b.test");
	assert_string_equal(e->id.id, "one");
	assert_int_equal(e->fetched, 1000);
	assert_int_equal(e->expires, 1060);
	assert_true(str_eq(str_from(e->policy, e->policy_len), POLICY));
	assert_non_null(mta_sts_cache_get(c, STR("b.test."), 1059));
	/* max_age honoured: gone at fetched + max_age. */
	assert_null(mta_sts_cache_get(c, STR("b.test"), 1060));
	assert_int_equal(mta_sts_cache_count(c), 0);

	/* A newer policy replaces the old one. */
	assert_int_equal(mta_sts_cache_put(c, STR("b.test"), &id1, POLICY, 60, 1000), 0);
	assert_int_equal(mta_sts_cache_put(c, STR("b.test"), &id2, STR("x"), 600, 1030), 0);
	assert_int_equal(mta_sts_cache_count(c), 1);
	e = mta_sts_cache_get(c, STR("b.test"), 1100);
	assert_non_null(e);
	assert_string_equal(e->id.id, "two");
	assert_string_equal(e->policy, "x");
	/* max_age 0 forgets the domain. */
	assert_int_equal(mta_sts_cache_put(c, STR("b.test"), &id2, POLICY, 0, 1100), 0);
	assert_null(mta_sts_cache_get(c, STR("b.test"), 1100));
	assert_int_equal(mta_sts_cache_put(c, STR("c.test"), &id2, POLICY, 5, 1100), 0);
	mta_sts_cache_drop(c, STR("C.test"));
	assert_null(mta_sts_cache_get(c, STR("c.test"), 1100));
	mta_sts_cache_free(&c);
	assert_null(c);
	mta_sts_cache_free(&c);
}

static void test_bounds(void **state)
{
	(void)state;
	assert_null(mta_sts_cache_new(0));
	assert_null(mta_sts_cache_new(MTA_STS_CACHE_MAX_ENTRIES + 1));
	struct mta_sts_cache *c = mta_sts_cache_new(MTA_STS_CACHE_MAX_ENTRIES);
	assert_non_null(c);
	assert_int_equal(mta_sts_cache_put(c, STR("b.test"), &id1, POLICY, MTA_STS_MAX_AGE, 0), 0);
	assert_int_equal(mta_sts_cache_put(c, STR("b.test"), &id1, POLICY, MTA_STS_MAX_AGE + 1, 0), -1);
	assert_int_equal(mta_sts_cache_put(c, STR(""), &id1, POLICY, 5, 0), -1);
	assert_int_equal(mta_sts_cache_put(c, STR("a\0b"), &id1, POLICY, 5, 0), -1);
	static char big[MTA_STS_FORMAT_MAX + 1];
	memset(big, 'x', sizeof(big));
	assert_int_equal(mta_sts_cache_put(c, STR("b.test"), &id1, str_from(big, MTA_STS_FORMAT_MAX), 5, 0), 0);
	assert_int_equal(mta_sts_cache_put(c, STR("b.test"), &id1, str_from(big, sizeof(big)), 5, 0), -1);
	char name[DNS_MAX_NAME + 1];
	memset(name, 'a', sizeof(name));
	assert_int_equal(mta_sts_cache_put(c, str_from(name, DNS_MAX_NAME), &id1, POLICY, 5, 0), 0);
	assert_int_equal(mta_sts_cache_put(c, str_from(name, DNS_MAX_NAME + 1), &id1, POLICY, 5, 0), -1);
	mta_sts_cache_free(&c);
}

static void test_full(void **state)
{
	(void)state;
	struct mta_sts_cache *c = mta_sts_cache_new(3);
	assert_int_equal(mta_sts_cache_put(c, STR("a.test"), &id1, POLICY, 300, 0), 0);
	assert_int_equal(mta_sts_cache_put(c, STR("b.test"), &id1, POLICY, 100, 0), 0);
	assert_int_equal(mta_sts_cache_put(c, STR("c.test"), &id1, POLICY, 200, 0), 0);
	/* One past the bound: b.test, expiring first, makes room. */
	assert_int_equal(mta_sts_cache_put(c, STR("d.test"), &id1, POLICY, 50, 0), 0);
	assert_int_equal(mta_sts_cache_count(c), 3);
	assert_null(mta_sts_cache_get(c, STR("b.test"), 1));
	assert_non_null(mta_sts_cache_get(c, STR("a.test"), 1));
	assert_non_null(mta_sts_cache_get(c, STR("c.test"), 1));
	assert_non_null(mta_sts_cache_get(c, STR("d.test"), 1));
	/* Replacing a domain already held evicts nothing. */
	assert_int_equal(mta_sts_cache_put(c, STR("d.test"), &id2, POLICY, 50, 0), 0);
	assert_non_null(mta_sts_cache_get(c, STR("a.test"), 1));
	assert_non_null(mta_sts_cache_get(c, STR("c.test"), 1));
	mta_sts_cache_free(&c);
}

static void test_plan(void **state)
{
	(void)state;
	struct mta_sts_id same = { "one" };
	assert_int_equal(mta_sts_cache_plan(1, &id1, NULL), MTA_STS_PLAN_FETCH);
	assert_int_equal(mta_sts_cache_plan(1, &id1, &same), MTA_STS_PLAN_CACHED);
	assert_int_equal(mta_sts_cache_plan(1, &id2, &id1), MTA_STS_PLAN_FETCH);
	assert_int_equal(mta_sts_cache_plan(0, NULL, &id1), MTA_STS_PLAN_CACHED);
	assert_int_equal(mta_sts_cache_plan(-1, NULL, &id1), MTA_STS_PLAN_CACHED);
	assert_int_equal(mta_sts_cache_plan(0, NULL, NULL), MTA_STS_PLAN_NONE);
	assert_int_equal(mta_sts_cache_plan(-1, NULL, NULL), MTA_STS_PLAN_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
