/* Unit tests for queue-rcpt: the queue believes a recipient's accounts only
 * under auth's seal for that address and transaction; a forged one is
 * refused and logged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "lib/log.h"
#include "queue/queue-rcpt.h"

static char logged[LOG_MAX_RECORD + 1];

static void capture(enum log_level level, const char *record, size_t len)
{
	(void)level;
	snprintf(logged, sizeof(logged), "%.*s", (int)len, record);
}

/* rcpt_message writes what a pre-auth process sends for one recipient. */
static struct ipc_msg rcpt_message(struct buf *b, struct str address, const uint64_t *accounts,
				   size_t n, uint64_t expires, const unsigned char *mac)
{
	buf_reset(b);
	ipc_put_str(b, address);
	ipc_put_u64(b, n);
	for (size_t i = 0; i < n; i++)
		ipc_put_u64(b, accounts[i]);
	ipc_put_u64(b, expires);
	ipc_put_str(b, str_from((const char *)mac, TICKET_RCPT_MAC_SIZE));
	return (struct ipc_msg){ .kind = IPC_QUEUE_RCPT, .payload = (const unsigned char *)b->data,
				 .len = b->len, .fd = -1 };
}

static void test_seal_checked(void **state)
{
	static struct queue_rcpt got;
	unsigned char key[TICKET_KEY_SIZE], mac[TICKET_RCPT_MAC_SIZE];
	uint64_t bob[1] = { 2 }, alice[1] = { 1 };
	struct buf b;
	(void)state;

	assert_true(sodium_init() >= 0);
	log_init("queue");
	log_set_sink(capture);
	randombytes_buf(key, sizeof(key));
	buf_init(&b, IPC_MAX_PAYLOAD);
	/* auth's answer for bob, in transaction 0 of pre-auth process 9. */
	struct ticket_rcpt seal = { .serial = 9, .txn = 0, .expires = 5000,
				    .address = STR("bob@example.org"), .accounts = bob,
				    .account_count = 1 };
	ticket_rcpt_seal(key, &seal, mac);
	struct queue_rcpt_origin origin = { .peer = "preauth 9", .serial = 9, .txn = 0 };

	struct ipc_msg msg = rcpt_message(&b, STR("bob@example.org"), bob, 1, 5000, mac);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), 0);
	assert_int_equal(got.account_count, 1);
	assert_int_equal(got.accounts[0], 2);
	assert_true(str_eq(got.address, STR("bob@example.org")));

	/* Forged: bob's seal, alice's account. */
	logged[0] = '\0';
	msg = rcpt_message(&b, STR("bob@example.org"), alice, 1, 5000, mac);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), -1);
	assert_non_null(strstr(logged, "preauth 9"));
	assert_non_null(strstr(logged, "<bob@example.org>"));
	assert_non_null(strstr(logged, "refused"));

	/* Bob's seal for another address (which happens to be alice's). */
	msg = rcpt_message(&b, STR("alice@example.org"), bob, 1, 5000, mac);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), -1);

	/* Replayed in the process's next transaction, or by another process. */
	msg = rcpt_message(&b, STR("bob@example.org"), bob, 1, 5000, mac);
	struct queue_rcpt_origin next = origin;
	next.txn = 1;
	assert_int_equal(queue_rcpt_read(key, &msg, &next, 4000, &got), -1);
	next = origin;
	next.serial = 10;
	assert_int_equal(queue_rcpt_read(key, &msg, &next, 4000, &got), -1);
	/* Expired, or with its expiry moved. */
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 5001, &got), -1);
	msg = rcpt_message(&b, STR("bob@example.org"), bob, 1, 9000, mac);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 5001, &got), -1);

	/* No accounts, a space in the address, one account past the bound. */
	unsigned char none[TICKET_RCPT_MAC_SIZE] = { 0 };
	msg = rcpt_message(&b, STR("bob@example.org"), bob, 0, 5000, none);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), -1);
	msg = rcpt_message(&b, STR("bob @example.org"), bob, 1, 5000, mac);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), -1);
	static uint64_t many[IPC_RCPT_MAX_ACCOUNTS + 1];
	msg = rcpt_message(&b, STR("bob@example.org"), many, IPC_RCPT_MAX_ACCOUNTS + 1, 5000, mac);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), -1);
	assert_non_null(strstr(logged, "malformed"));
	buf_free(&b);
	log_set_sink(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
