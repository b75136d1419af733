/* worker-dedup: the same message twice has one key; anything that makes
 * it another message gives another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "worker/worker-dedup.h"

static const char first[] = "Received: from a by b; Sun, 6 Dec 2026 10:00:00 +0000\r\n"
			    "Message-ID: <one@a.test>\r\nSubject: x\r\n\r\nbody\r\n";
/* The copy sent again: other trace fields on top, the same message. */
static const char again[] = "Authentication-Results: mx.b.test; dkim=pass\r\n"
			    "Received: from a by b; Sun, 6 Dec 2026 10:00:09 +0000\r\n"
			    "Message-ID: <one@a.test>\r\nSubject: x\r\n\r\nbody\r\n";
static const char other_body[] = "Message-ID: <one@a.test>\r\nSubject: x\r\n\r\nBODY\r\n";
static const char no_id[] = "Subject: x\r\n\r\nbody\r\n";

static void test_key(void **state)
{
	char k1[WORKER_DEDUP_KEY_SIZE], k2[WORKER_DEDUP_KEY_SIZE], k3[WORKER_DEDUP_KEY_SIZE];
	(void)state;
	assert_true(worker_dedup_key(STR(first), STR("alice@a.test"), k1));
	assert_true(worker_dedup_key(STR(again), STR("alice@a.test"), k2));
	assert_string_equal(k1, k2);
	assert_int_equal(strlen(k1), WORKER_DEDUP_KEY_SIZE - 1);
	/* Another sender, another body: another message. */
	assert_true(worker_dedup_key(STR(first), STR("mallory@x.test"), k3));
	assert_string_not_equal(k1, k3);
	assert_true(worker_dedup_key(STR(other_body), STR("alice@a.test"), k3));
	assert_string_not_equal(k1, k3);
	/* No Message-ID, or no end of the header block: no key. */
	assert_false(worker_dedup_key(STR(no_id), STR("alice@a.test"), k3));
	assert_false(worker_dedup_key(STR("Message-ID: <x@y>\r\n"), STR(""), k3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
