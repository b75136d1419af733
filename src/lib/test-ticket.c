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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
