/* Unit tests for dns-cache: copies, case and final dot, the bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail-auth/dns-cache.h"

static void test_copy(void **state)
{
	(void)state;
	struct dns_cache *c = dns_cache_new();
	char data[] = "v=spf1 -all";
	struct dns_record rec = { .data = str_c(data) };
	struct dns_answer a = { .status = DNS_OK, .count = 1, .records = &rec };

	assert_null(dns_cache_get(c, DNS_TYPE_TXT, STR("a.test")));
	assert_int_equal(dns_cache_put(c, DNS_TYPE_TXT, STR("A.Test."), &a), 0);
	memset(data, 'x', sizeof(data) - 1);   /* the cache holds its own copy */
	const struct dns_answer *got = dns_cache_get(c, DNS_TYPE_TXT, STR("a.test"));
	assert_non_null(got);
	assert_int_equal(got->count, 1);
	assert_true(str_eq(got->records[0].data, STR("v=spf1 -all")));
	assert_null(dns_cache_get(c, DNS_TYPE_A, STR("a.test")));
	/* a second put replaces */
	struct dns_answer nx = { .status = DNS_NXDOMAIN };
	assert_int_equal(dns_cache_put(c, DNS_TYPE_TXT, STR("a.test"), &nx), 0);
	assert_int_equal(dns_cache_count(c), 1);
	assert_int_equal(dns_cache_get(c, DNS_TYPE_TXT, STR("a.test."))->status, DNS_NXDOMAIN);
	dns_cache_clear(c);
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_free(&c);
	assert_null(c);
}

static void test_entry_bound(void **state)
{
	(void)state;
	struct dns_cache *c = dns_cache_new();
	struct dns_answer nx = { .status = DNS_NXDOMAIN };
	char name[32];

	for (int i = 0; i < DNS_CACHE_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		assert_int_equal(dns_cache_put(c, DNS_TYPE_A, str_c(name), &nx), 0);
	}
	/* one past the bound fails; replacing one held still works */
	assert_int_equal(dns_cache_put(c, DNS_TYPE_A, STR("one-more.test"), &nx), -1);
	assert_int_equal(dns_cache_put(c, DNS_TYPE_A, STR("n0.test"), &nx), 0);
	assert_int_equal(dns_cache_count(c), DNS_CACHE_MAX_ENTRIES);
	dns_cache_free(&c);
}

static void test_byte_bound(void **state)
{
	(void)state;
	struct dns_cache *c = dns_cache_new();
	static char big[DNS_MAX_RDATA];
	struct dns_record recs[DNS_MAX_RECORDS + 1];
	char name[32];
	size_t per = 0;

	memset(big, 'a', sizeof(big));
	for (size_t i = 0; i < DNS_MAX_RECORDS + 1; i++)
		recs[i].data = str_from(big, sizeof(big));
	struct dns_answer a = { .status = DNS_OK, .count = 16, .records = recs };
	per = 16 * (DNS_MAX_RDATA + 1);
	size_t fit = DNS_CACHE_MAX_BYTES / per;
	for (size_t i = 0; i < fit; i++) {
		snprintf(name, sizeof(name), "n%zu.test", i);
		assert_int_equal(dns_cache_put(c, DNS_TYPE_TXT, str_c(name), &a), 0);
	}
	assert_int_equal(dns_cache_put(c, DNS_TYPE_TXT, STR("past.test"), &a), -1);
	/* malformed answers are refused */
	struct dns_answer many = { .status = DNS_OK, .count = DNS_MAX_RECORDS + 1, .records = recs };
	assert_int_equal(dns_cache_put(c, DNS_TYPE_TXT, STR("x.test"), &many), -1);
	recs[0].data = str_from(big, DNS_MAX_RDATA + 1);
	struct dns_answer long_rec = { .status = DNS_OK, .count = 1, .records = recs };
	assert_int_equal(dns_cache_put(c, DNS_TYPE_TXT, STR("x.test"), &long_rec), -1);
	char longname[DNS_MAX_NAME + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct dns_answer nx = { .status = DNS_NXDOMAIN };
	dns_cache_clear(c);
	assert_int_equal(dns_cache_put(c, DNS_TYPE_TXT, str_c(longname), &nx), -1);
	longname[DNS_MAX_NAME] = '\0';
	assert_int_equal(dns_cache_put(c, DNS_TYPE_TXT, str_c(longname), &nx), 0);
	dns_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_entry_bound),
		cmocka_unit_test(test_byte_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
