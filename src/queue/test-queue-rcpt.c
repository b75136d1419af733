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

	/* No accounts (unsealed), a space in the address, one account past
	 * the bound. */
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

/* A recipient with no accounts is remote: the queue takes it only under
 * auth's seal, which auth gives only to a process whose client logged in
 * over submission (auth-submit.c), so a pre-auth process on port 25, even
 * compromised, cannot relay: an unsealed or forged one is refused. */
static void test_remote_only_sealed(void **state)
{
	static struct queue_rcpt got;
	unsigned char key[TICKET_KEY_SIZE], mac[TICKET_RCPT_MAC_SIZE];
	unsigned char zeros[TICKET_RCPT_MAC_SIZE] = { 0 };
	uint64_t bob[1] = { 2 };
	struct buf b;
	(void)state;

	randombytes_buf(key, sizeof(key));
	buf_init(&b, IPC_MAX_PAYLOAD);
	struct queue_rcpt_origin origin = { .peer = "preauth 9", .serial = 9, .txn = 0 };
	struct ipc_msg msg = rcpt_message(&b, STR("carol@far.test"), bob, 0, 5000, zeros);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), -1);
	/* A local recipient's seal does not make another address remote. */
	struct ticket_rcpt seal = { .serial = 9, .txn = 0, .expires = 5000,
				    .address = STR("bob@example.org"), .accounts = bob,
				    .account_count = 1 };
	ticket_rcpt_seal(key, &seal, mac);
	msg = rcpt_message(&b, STR("carol@far.test"), bob, 0, 5000, mac);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), -1);
	/* auth's seal with no accounts, as given after a submission login. */
	seal = (struct ticket_rcpt){ .serial = 9, .txn = 0, .expires = 5000,
				     .address = STR("carol@far.test"), .account_count = 0 };
	ticket_rcpt_seal(key, &seal, mac);
	msg = rcpt_message(&b, STR("carol@far.test"), bob, 0, 5000, mac);
	assert_int_equal(queue_rcpt_read(key, &msg, &origin, 4000, &got), 0);
	assert_int_equal(got.account_count, 0);
	/* Not in another process. */
	struct queue_rcpt_origin other = origin;
	other.serial = 10;
	assert_int_equal(queue_rcpt_read(key, &msg, &other, 4000, &got), -1);
	buf_free(&b);
}

/* The sender's account is believed only under auth's sender seal; a
 * recipient seal for the same address and account is not one. */
static void test_sender_seal(void **state)
{
	unsigned char key[TICKET_KEY_SIZE], mac[TICKET_RCPT_MAC_SIZE];
	uint64_t alice = 1;
	(void)state;

	randombytes_buf(key, sizeof(key));
	struct queue_rcpt_origin origin = { .peer = "preauth 9", .serial = 9, .txn = 3 };
	struct str none = STR("");
	assert_int_equal(queue_rcpt_sender(key, STR("x@far.test"), 0, 0, none, &origin, 4000), 0);
	assert_int_equal(queue_rcpt_sender(key, STR("alice@example.org"), 1, 5000, none, &origin,
					   4000), -1);
	struct ticket_rcpt seal = { .serial = 9, .txn = 3, .expires = 5000,
				    .address = STR("alice@example.org"), .accounts = &alice,
				    .account_count = 1 };
	ticket_rcpt_seal(key, &seal, mac);
	struct str m = str_from((const char *)mac, sizeof(mac));
	assert_int_equal(queue_rcpt_sender(key, STR("alice@example.org"), 1, 5000, m, &origin,
					   4000), -1);
	seal.txn = IPC_SENDER_SEAL_TXN;
	ticket_rcpt_seal(key, &seal, mac);
	assert_int_equal(queue_rcpt_sender(key, STR("alice@example.org"), 1, 5000, m, &origin,
					   4000), 0);
	/* Another sender, another account, another process, too late. */
	assert_int_equal(queue_rcpt_sender(key, STR("bob@example.org"), 1, 5000, m, &origin,
					   4000), -1);
	assert_int_equal(queue_rcpt_sender(key, STR("alice@example.org"), 2, 5000, m, &origin,
					   4000), -1);
	origin.serial = 10;
	assert_int_equal(queue_rcpt_sender(key, STR("alice@example.org"), 1, 5000, m, &origin,
					   4000), -1);
	origin.serial = 9;
	assert_int_equal(queue_rcpt_sender(key, STR("alice@example.org"), 1, 5000, m, &origin,
					   5001), -1);
	/* An unsealed sender with a seal attached is malformed. */
	assert_int_equal(queue_rcpt_sender(key, STR("alice@example.org"), 0, 5000, m, &origin,
					   4000), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_checked),
		cmocka_unit_test(test_remote_only_sealed),
		cmocka_unit_test(test_sender_seal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
