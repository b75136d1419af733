/* Unit tests for dns-msg: the DNS question and answer payloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/dns-msg.h"
#include "lib/ipc.h"

static void test_query_round_trip(void **state)
{
	struct buf b;
	enum dns_type type;
	struct str name;
	(void)state;

	buf_init(&b, 1024);
	assert_int_equal(dns_msg_put_query(&b, DNS_TYPE_MX, STR("a.test")), 0);
	assert_int_equal(dns_msg_get_query((unsigned char *)b.data, b.len, &type, &name), 0);
	assert_int_equal(type, DNS_TYPE_MX);
	assert_true(str_eq(name, STR("a.test")));
	/* Cut short, or a byte too many: malformed. */
	assert_int_equal(dns_msg_get_query((unsigned char *)b.data, b.len - 1, &type, &name), -1);
	assert_int_equal(buf_putc(&b, 'x'), 0);
	assert_int_equal(dns_msg_get_query((unsigned char *)b.data, b.len, &type, &name), -1);
	buf_free(&b);
}

/* A name of DNS_MAX_NAME octets goes; one more does not, either way. */
static void test_query_name_bound(void **state)
{
	char name[DNS_MAX_NAME + 1];
	struct buf b;
	enum dns_type type;
	struct str got;
	(void)state;

	memset(name, 'a', sizeof(name));
	buf_init(&b, 1024);
	assert_int_equal(dns_msg_put_query(&b, DNS_TYPE_A, str_from(name, DNS_MAX_NAME)), 0);
	assert_int_equal(dns_msg_get_query((unsigned char *)b.data, b.len, &type, &got), 0);
	buf_reset(&b);
	assert_int_equal(dns_msg_put_query(&b, DNS_TYPE_A, str_from(name, DNS_MAX_NAME + 1)), -1);
	assert_int_equal(dns_msg_put_query(&b, DNS_TYPE_A, STR("")), -1);
	assert_int_equal(dns_msg_put_query(&b, (enum dns_type)99, STR("a.test")), -1);
	ipc_put_u64(&b, DNS_TYPE_A);
	ipc_put_str(&b, str_from(name, DNS_MAX_NAME + 1));
	assert_int_equal(dns_msg_get_query((unsigned char *)b.data, b.len, &type, &got), -1);
	buf_reset(&b);
	ipc_put_u64(&b, 99);
	ipc_put_str(&b, STR("a.test"));
	assert_int_equal(dns_msg_get_query((unsigned char *)b.data, b.len, &type, &got), -1);
	buf_free(&b);
}

static void test_answer_round_trip(void **state)
{
	struct dns_record rr[2] = {
		{ .pref = 10, .data = STR("mx1.a.test") },
		{ .pref = 0, .data = STR("") },      /* a null MX names the root */
	};
	struct dns_answer a = { .status = DNS_OK, .secure = true, .count = 2, .records = rr };
	struct dns_msg_answer got;
	struct buf b;
	(void)state;

	buf_init(&b, DNS_MAX_ANSWER);
	assert_int_equal(dns_msg_put_answer(&b, &a), 0);
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_MX, &got), 0);
	assert_int_equal(got.answer.status, DNS_OK);
	assert_true(got.answer.secure);
	assert_int_equal(got.answer.count, 2);
	assert_int_equal(got.answer.records[0].pref, 10);
	assert_true(str_eq(got.answer.records[0].data, STR("mx1.a.test")));
	assert_int_equal(got.answer.records[1].data.len, 0);
	/* MX data that is no host name, and an address of the wrong size. */
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_A, &got), -1);
	assert_int_equal(got.answer.status, DNS_TEMPFAIL);
	rr[0].data = STR("mx 1");
	buf_reset(&b);
	assert_int_equal(dns_msg_put_answer(&b, &a), 0);
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_MX, &got), -1);
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_TXT, &got), 0);
	buf_free(&b);
}

/* DNS_MAX_RECORDS records go; one more does not, either way. */
static void test_answer_record_bound(void **state)
{
	static struct dns_record rr[DNS_MAX_RECORDS + 1];
	struct dns_answer a = { .status = DNS_OK, .count = DNS_MAX_RECORDS, .records = rr };
	struct dns_msg_answer got;
	struct buf b;
	(void)state;

	for (size_t i = 0; i <= DNS_MAX_RECORDS; i++)
		rr[i].data = STR("\x7f\0\0\1");
	buf_init(&b, IPC_MAX_PAYLOAD);
	assert_int_equal(dns_msg_put_answer(&b, &a), 0);
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_A, &got), 0);
	assert_int_equal(got.answer.count, DNS_MAX_RECORDS);
	a.count = DNS_MAX_RECORDS + 1;
	buf_reset(&b);
	assert_int_equal(dns_msg_put_answer(&b, &a), -1);
	assert_int_equal(b.len, 0);
	/* Written by hand: the reader refuses it too. */
	ipc_put_u64(&b, DNS_OK);
	ipc_put_u64(&b, 0);
	ipc_put_u64(&b, DNS_MAX_RECORDS + 1);
	for (size_t i = 0; i <= DNS_MAX_RECORDS; i++) {
		for (int f = 0; f < 4; f++)
			ipc_put_u64(&b, 0);
		ipc_put_str(&b, rr[i].data);
	}
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_A, &got), -1);
	buf_free(&b);
}

/* Data of DNS_MAX_RDATA octets goes, one more does not; the answer as a
 * whole stays within DNS_MAX_ANSWER. */
static void test_answer_size_bounds(void **state)
{
	static char text[DNS_MAX_RDATA + 1];
	static struct dns_record rr[DNS_MAX_RECORDS];
	struct dns_answer a = { .status = DNS_OK, .count = 1, .records = rr };
	struct buf b;
	(void)state;

	memset(text, 'v', sizeof(text));
	buf_init(&b, IPC_MAX_PAYLOAD);
	rr[0].data = str_from(text, DNS_MAX_RDATA);
	assert_int_equal(dns_msg_put_answer(&b, &a), 0);
	buf_reset(&b);
	rr[0].data = str_from(text, DNS_MAX_RDATA + 1);
	assert_int_equal(dns_msg_put_answer(&b, &a), -1);
	for (size_t i = 0; i < DNS_MAX_RECORDS; i++)
		rr[i].data = str_from(text, DNS_MAX_RDATA);
	a.count = DNS_MAX_RECORDS;
	assert_int_equal(dns_msg_put_answer(&b, &a), -1);
	buf_free(&b);
}

/* A status without records, records without DNS_OK, unknown values. */
static void test_answer_status(void **state)
{
	struct dns_record rr = { .data = STR("x") };
	struct dns_answer a = { .status = DNS_NXDOMAIN, .count = 0, .records = NULL };
	struct dns_msg_answer got;
	struct buf b;
	(void)state;

	buf_init(&b, 1024);
	assert_int_equal(dns_msg_put_answer(&b, &a), 0);
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_TXT, &got), 0);
	assert_int_equal(got.answer.status, DNS_NXDOMAIN);
	a.status = DNS_OK;
	assert_int_equal(dns_msg_put_answer(&b, &a), -1);
	a.status = DNS_NODATA;
	a.count = 1;
	a.records = &rr;
	assert_int_equal(dns_msg_put_answer(&b, &a), -1);
	buf_reset(&b);
	ipc_put_u64(&b, DNS_BOGUS + 1);
	ipc_put_u64(&b, 0);
	ipc_put_u64(&b, 0);
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_TXT, &got), -1);
	buf_reset(&b);
	ipc_put_u64(&b, DNS_NODATA);
	ipc_put_u64(&b, 2);
	ipc_put_u64(&b, 0);
	assert_int_equal(dns_msg_get_answer((unsigned char *)b.data, b.len, DNS_TYPE_TXT, &got), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_round_trip),
		cmocka_unit_test(test_query_name_bound),
		cmocka_unit_test(test_answer_round_trip),
		cmocka_unit_test(test_answer_record_bound),
		cmocka_unit_test(test_answer_size_bounds),
		cmocka_unit_test(test_answer_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
