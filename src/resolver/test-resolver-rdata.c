/* Unit tests for resolver-rdata: DNS record data as libunbound gives it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "resolver/resolver-rdata.h"

static char arena[RESOLVER_RDATA_ARENA];

/* parse one record of type from n octets. */
static int parse1(enum dns_type type, const char *rdata, int n, struct dns_msg_answer *out)
{
	char why[128];
	char *data[1] = { (char *)rdata };
	return resolver_rdata_parse(type, data, &n, 1, out, arena, why, sizeof(why));
}

static void test_mx(void **state)
{
	struct dns_msg_answer a;
	(void)state;
	/* pref 10, mx1.a.test. */
	static const char mx[] = "\0\x0a\3mx1\1a\4test";
	assert_int_equal(parse1(DNS_TYPE_MX, mx, sizeof(mx), &a), 0);
	assert_int_equal(a.answer.status, DNS_OK);
	assert_int_equal(a.answer.count, 1);
	assert_int_equal(a.records[0].pref, 10);
	assert_true(str_eq(a.records[0].data, STR("mx1.a.test")));
	/* A null MX (RFC 7505): pref 0, the root. */
	assert_int_equal(parse1(DNS_TYPE_MX, "\0\0\0", 3, &a), 0);
	assert_int_equal(a.records[0].data.len, 0);
}

/* PTR (SPF's "ptr" mechanism): the target name, nothing before it. */
static void test_ptr(void **state)
{
	struct dns_msg_answer a;
	(void)state;
	static const char ptr[] = "\4mail\1a\4test";
	assert_int_equal(parse1(DNS_TYPE_PTR, ptr, sizeof(ptr), &a), 0);
	assert_true(str_eq(a.records[0].data, STR("mail.a.test")));
	assert_int_equal(parse1(DNS_TYPE_PTR, "\4mail\xc0\x0c", 7, &a), -1);
}

static void test_mx_malformed(void **state)
{
	struct dns_msg_answer a;
	(void)state;
	/* A compression pointer, a label past the end, no root label, bytes
	 * after the name, a byte that is no host-name character. */
	assert_int_equal(parse1(DNS_TYPE_MX, "\0\x0a\3mx1\xc0\x0c", 8, &a), -1);
	assert_int_equal(a.answer.status, DNS_TEMPFAIL);
	assert_int_equal(parse1(DNS_TYPE_MX, "\0\x0a\x09mx1", 6, &a), -1);
	assert_int_equal(parse1(DNS_TYPE_MX, "\0\x0a\3mx1", 6, &a), -1);
	assert_int_equal(parse1(DNS_TYPE_MX, "\0\x0a\3mx1\0x", 8, &a), -1);
	assert_int_equal(parse1(DNS_TYPE_MX, "\0\x0a\3m x\0", 7, &a), -1);
	assert_int_equal(parse1(DNS_TYPE_MX, "\0\x0a", 2, &a), -1);
}

/* A name of 255 octets on the wire (253 as text) goes; longer does not. */
static void test_mx_name_bound(void **state)
{
	char wire[2 + 300];
	struct dns_msg_answer a;
	size_t n = 2;
	(void)state;
	memset(wire, 0, sizeof(wire));
	/* 63+1 * 3 = 192, then 61 + 1 = 62: 254 octets of labels + root. */
	static const int labels[] = { 63, 63, 63, 61 };
	for (size_t i = 0; i < 4; i++) {
		wire[n++] = (char)labels[i];
		memset(wire + n, 'a', (size_t)labels[i]);
		n += (size_t)labels[i];
	}
	wire[n++] = 0;
	assert_int_equal(parse1(DNS_TYPE_MX, wire, (int)n, &a), 0);
	assert_int_equal(a.records[0].data.len, DNS_MAX_NAME);
	wire[2 + 192] = 62;
	wire[n - 1] = 'a';
	wire[n++] = 0;
	assert_int_equal(parse1(DNS_TYPE_MX, wire, (int)n, &a), -1);
}

/* TXT strings are joined (a DKIM key over 255 octets comes in pieces);
 * DNS_MAX_RDATA octets go, one more does not. */
static void test_txt(void **state)
{
	static char rdata[DNS_MAX_RDATA + 64];
	struct dns_msg_answer a;
	size_t n = 0, text = 0;
	(void)state;
	while (text < DNS_MAX_RDATA) {
		size_t piece = DNS_MAX_RDATA - text < 255 ? DNS_MAX_RDATA - text : 255;
		rdata[n++] = (char)piece;
		memset(rdata + n, 'k', piece);
		n += piece;
		text += piece;
	}
	assert_int_equal(parse1(DNS_TYPE_TXT, rdata, (int)n, &a), 0);
	assert_int_equal(a.records[0].data.len, DNS_MAX_RDATA);
	rdata[n++] = 1;
	rdata[n++] = 'k';
	assert_int_equal(parse1(DNS_TYPE_TXT, rdata, (int)n, &a), -1);
	/* A string cut short. */
	assert_int_equal(parse1(DNS_TYPE_TXT, "\5abc", 4, &a), -1);
	assert_int_equal(parse1(DNS_TYPE_TXT, "\3v=1\2ab", 7, &a), 0);
	assert_true(str_eq(a.records[0].data, STR("v=1ab")));
}

static void test_addresses_and_tlsa(void **state)
{
	struct dns_msg_answer a;
	(void)state;
	assert_int_equal(parse1(DNS_TYPE_A, "\x7f\0\0\1", 4, &a), 0);
	assert_int_equal(a.records[0].data.len, 4);
	assert_int_equal(parse1(DNS_TYPE_A, "\x7f\0\0\1\1", 5, &a), -1);
	assert_int_equal(parse1(DNS_TYPE_AAAA, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16, &a), 0);
	assert_int_equal(parse1(DNS_TYPE_AAAA, "\x7f\0\0\1", 4, &a), -1);
	assert_int_equal(parse1(DNS_TYPE_TLSA, "\3\1\1\xab\xcd", 5, &a), 0);
	assert_int_equal(a.records[0].usage, 3);
	assert_int_equal(a.records[0].selector, 1);
	assert_int_equal(a.records[0].mtype, 1);
	assert_int_equal(a.records[0].data.len, 2);
	assert_int_equal(parse1(DNS_TYPE_TLSA, "\3\1\1", 3, &a), -1);
}

/* DNS_MAX_RECORDS records go; one more is refused, naming the count. */
static void test_record_bound(void **state)
{
	static char *data[DNS_MAX_RECORDS + 1];
	static int len[DNS_MAX_RECORDS + 1];
	struct dns_msg_answer a;
	char why[128];
	(void)state;
	for (size_t i = 0; i <= DNS_MAX_RECORDS; i++) {
		data[i] = (char *)"\x7f\0\0\1";
		len[i] = 4;
	}
	assert_int_equal(resolver_rdata_parse(DNS_TYPE_A, data, len, DNS_MAX_RECORDS, &a, arena,
					      why, sizeof(why)), 0);
	assert_int_equal(a.answer.count, DNS_MAX_RECORDS);
	assert_int_equal(resolver_rdata_parse(DNS_TYPE_A, data, len, DNS_MAX_RECORDS + 1, &a,
					      arena, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "65 records"));
	assert_int_equal(a.answer.status, DNS_TEMPFAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_mx_malformed),
		cmocka_unit_test(test_mx_name_bound),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_addresses_and_tlsa),
		cmocka_unit_test(test_record_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
