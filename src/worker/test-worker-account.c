/* Unit tests for worker-account: reading auth's IPC_ACCOUNT_INFO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "worker/worker-account.h"

static struct worker_account info;

/* info_payload writes an IPC_ACCOUNT_INFO payload with count addresses
 * addr0@x, addr1@x, ... */
static void info_payload(struct buf *out, uint64_t id, const char *name, uint64_t count)
{
	char a[64];
	buf_init(out, 2 * IPC_MAX_PAYLOAD);
	ipc_put_u64(out, id);
	ipc_put_str(out, str_c(name));
	ipc_put_str(out, STR("Alice Liddell"));
	ipc_put_u64(out, count);
	for (uint64_t i = 0; i < count; i++) {
		snprintf(a, sizeof(a), "addr%llu@x", (unsigned long long)i);
		ipc_put_str(out, str_c(a));
	}
}

static int decode(const struct buf *b, uint64_t account)
{
	const char *error;
	struct ipc_msg msg = { .kind = IPC_ACCOUNT_INFO, .payload = (const unsigned char *)b->data,
			       .len = b->len, .fd = -1 };
	return worker_account_decode(&msg, account, &info, &error);
}

static void test_decode(void **state)
{
	struct buf b;
	(void)state;
	info_payload(&b, 7, "alice@x", 2);
	assert_int_equal(decode(&b, 7), 0);
	assert_int_equal(info.id, 7);
	assert_string_equal(info.name, "alice@x");
	assert_string_equal(info.display_name, "Alice Liddell");
	assert_int_equal(info.address_count, 2);
	assert_string_equal(info.address_list[1], "addr1@x");
	/* Another account's information is not this worker's. */
	assert_int_equal(decode(&b, 8), -1);
	buf_free(&b);
	/* The primary address names URLs: lower case only. */
	info_payload(&b, 7, "Alice@x", 1);
	assert_int_equal(decode(&b, 7), -1);
	buf_free(&b);
	info_payload(&b, 7, "", 1);
	assert_int_equal(decode(&b, 7), -1);
	buf_free(&b);
	/* No address at all. */
	info_payload(&b, 7, "alice@x", 0);
	assert_int_equal(decode(&b, 7), -1);
	buf_free(&b);
	/* A byte left over. */
	info_payload(&b, 7, "alice@x", 1);
	buf_append(&b, "", 1);
	assert_int_equal(decode(&b, 7), -1);
	buf_free(&b);
}

/* IPC_ACCOUNT_MAX_ADDRESSES, and one past it. */
static void test_address_limit(void **state)
{
	struct buf b;
	(void)state;
	info_payload(&b, 7, "alice@x", IPC_ACCOUNT_MAX_ADDRESSES);
	assert_int_equal(decode(&b, 7), 0);
	assert_int_equal(info.address_count, IPC_ACCOUNT_MAX_ADDRESSES);
	buf_free(&b);
	info_payload(&b, 7, "alice@x", IPC_ACCOUNT_MAX_ADDRESSES + 1);
	assert_int_equal(decode(&b, 7), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_address_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
