/* Unit tests for auth-submit: who may relay (the sealed senders are
 * tested with the directory, in test-directory.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth/auth-submit.h"
#include "lib/ipc.h"

/* A pre-auth process with no submission login (port 25) never gets a
 * remote recipient sealed: that is what keeps it from relaying even when
 * it is compromised (the queue takes no zero-account recipient unsealed). */
static void test_relay_only_after_login(void **state)
{
	bool seal;
	(void)state;
	assert_int_equal(auth_submit_rcpt_status(DIRECTORY_RESOLVE_NOT_LOCAL, 0, 0, &seal),
			 IPC_RCPT_NOT_LOCAL);
	assert_false(seal);
	assert_int_equal(auth_submit_rcpt_status(DIRECTORY_RESOLVE_NOT_LOCAL, 0, 7, &seal),
			 IPC_RCPT_OK);
	assert_true(seal);
	/* Local answers are as before, logged in or not. */
	assert_int_equal(auth_submit_rcpt_status(DIRECTORY_RESOLVE_FOUND, 2, 0, &seal),
			 IPC_RCPT_OK);
	assert_true(seal);
	assert_int_equal(auth_submit_rcpt_status(DIRECTORY_RESOLVE_UNKNOWN, 0, 7, &seal),
			 IPC_RCPT_UNKNOWN);
	assert_false(seal);
	assert_int_equal(auth_submit_rcpt_status(DIRECTORY_RESOLVE_LOOP, 0, 7, &seal),
			 IPC_RCPT_LOOP);
	assert_false(seal);
	assert_int_equal(auth_submit_rcpt_status(-1, 0, 7, &seal), IPC_RCPT_TEMPFAIL);
	assert_false(seal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_only_after_login),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
