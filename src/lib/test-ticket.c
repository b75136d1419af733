/* Unit tests for ticket: round trip, forgery, expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "lib/ticket.h"

static void test_ticket(void **state)
{
	unsigned char key[TICKET_KEY_SIZE], other[TICKET_KEY_SIZE], sealed[TICKET_SIZE];
	struct ticket t = { .account = 42, .expires = 1000 }, got;
	(void)state;

	assert_true(sodium_init() >= 0);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	ticket_seal(key, &t, sealed);
	assert_int_equal(ticket_open(key, sealed, sizeof(sealed), 999, &got), 0);
	assert_int_equal(got.account, 42);
	/* Another key, an expired ticket, a changed account, a short one. */
	assert_int_equal(ticket_open(other, sealed, sizeof(sealed), 999, &got), -1);
	assert_int_equal(ticket_open(key, sealed, sizeof(sealed), 1001, &got), -1);
	sealed[8] ^= 1;
	assert_int_equal(ticket_open(key, sealed, sizeof(sealed), 999, &got), -1);
	sealed[8] ^= 1;
	assert_int_equal(ticket_open(key, sealed, sizeof(sealed) - 1, 999, &got), -1);
}

/* A ticket opens one session: shown twice, the second is a replay; once
 * it has expired its slot serves another. */
static void test_ticket_replay(void **state)
{
	static struct ticket_replay replay;
	unsigned char key[TICKET_KEY_SIZE], sealed[TICKET_SIZE];
	struct ticket t = { .account = 7, .expires = 1030 }, got;
	(void)state;

	randombytes_buf(key, sizeof(key));
	ticket_seal(key, &t, sealed);
	assert_int_equal(ticket_open(key, sealed, sizeof(sealed), 1000, &got), 0);
	assert_int_equal(ticket_replay_use(&replay, &got, 1000), 0);
	assert_int_equal(ticket_open(key, sealed, sizeof(sealed), 1001, &got), 0);
	assert_int_equal(ticket_replay_use(&replay, &got, 1001), -1);
	/* Another ticket is not a replay of it. */
	ticket_seal(key, &t, sealed);
	assert_int_equal(ticket_open(key, sealed, sizeof(sealed), 1001, &got), 0);
	assert_int_equal(ticket_replay_use(&replay, &got, 1001), 0);
	/* A window full of live tickets refuses (fails closed)... */
	struct ticket same = { .account = 7, .expires = 2000 };
	for (uint64_t i = 0; i < TICKET_REPLAY_PROBES; i++) {
		same.nonce = 5 + i * TICKET_REPLAY_SLOTS;
		assert_int_equal(ticket_replay_use(&replay, &same, 1500), 0);
	}
	same.nonce = 5 + TICKET_REPLAY_PROBES * (uint64_t)TICKET_REPLAY_SLOTS;
	assert_int_equal(ticket_replay_use(&replay, &same, 1500), -1);
	/* ... until they expire. */
	assert_int_equal(ticket_replay_use(&replay, &same, 2001), 0);
}

/* A recipient seal holds for its address, accounts, pre-auth process and
 * transaction only: a front that changes any of them is refused. */
static void test_ticket_rcpt(void **state)
{
	unsigned char key[TICKET_KEY_SIZE], login_key[TICKET_KEY_SIZE];
	unsigned char mac[TICKET_RCPT_MAC_SIZE];
	uint64_t accounts[2] = { 3, 4 }, forged[2] = { 3, 5 };
	struct ticket_rcpt r = { .serial = 77, .txn = 2, .expires = 1000,
				 .address = STR("bob@example.org"), .accounts = accounts,
				 .account_count = 2 };
	(void)state;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(login_key, sizeof(login_key));
	ticket_rcpt_seal(key, &r, mac);
	assert_int_equal(ticket_rcpt_check(key, &r, mac, sizeof(mac), 999), 0);
	assert_int_equal(ticket_rcpt_check(login_key, &r, mac, sizeof(mac), 999), -1);
	assert_int_equal(ticket_rcpt_check(key, &r, mac, sizeof(mac), 1001), -1);
	assert_int_equal(ticket_rcpt_check(key, &r, mac, sizeof(mac) - 1, 999), -1);
	struct ticket_rcpt c = r;
	c.accounts = forged;
	assert_int_equal(ticket_rcpt_check(key, &c, mac, sizeof(mac), 999), -1);
	c = r;
	c.account_count = 1;
	assert_int_equal(ticket_rcpt_check(key, &c, mac, sizeof(mac), 999), -1);
	c = r;
	c.address = STR("eve@example.org");
	assert_int_equal(ticket_rcpt_check(key, &c, mac, sizeof(mac), 999), -1);
	c = r;
	c.txn = 3;
	assert_int_equal(ticket_rcpt_check(key, &c, mac, sizeof(mac), 999), -1);
	c = r;
	c.serial = 78;
	assert_int_equal(ticket_rcpt_check(key, &c, mac, sizeof(mac), 999), -1);
	c = r;
	c.expires = 2000;
	assert_int_equal(ticket_rcpt_check(key, &c, mac, sizeof(mac), 999), -1);
	mac[0] ^= 1;
	assert_int_equal(ticket_rcpt_check(key, &r, mac, sizeof(mac), 999), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket),
		cmocka_unit_test(test_ticket_replay),
		cmocka_unit_test(test_ticket_rcpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
