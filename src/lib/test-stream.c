/* Unit tests for stream: what closing a stream does to OpenSSL's error
 * queue.  A stream that had TLS leaves it empty (what SSL_shutdown said
 * is not read by the next TLS call); a plain one leaves it alone, since
 * its first use costs a fresh process (a pre-auth process serving plain
 * SMTP) OpenSSL's per-thread set-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/stream.h"

/* A plain stream's close closes its descriptor and makes no OpenSSL
 * call: an error someone else left is still there for them. */
static void test_plain_close_leaves_openssl_alone(void **state)
{
	struct stream s;
	int sv[2];
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	stream_init(&s, sv[0]);
	ERR_clear_error();
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
	stream_close(&s);
	assert_int_equal(s.fd, -1);
	assert_true(send(sv[1], "x", 1, MSG_NOSIGNAL) < 0);   /* the other end is gone */
	assert_int_not_equal(ERR_peek_error(), 0);
	ERR_clear_error();
	close(sv[1]);
}

/* A stream that had TLS (here: a handshake begun, never finished) leaves
 * the queue empty when closed. */
static void test_tls_close_clears_errors(void **state)
{
	struct stream s;
	int sv[2];
	(void)state;

	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	stream_init(&s, sv[0]);
	assert_int_equal(stream_start_tls(&s, ctx), 0);
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
	stream_close(&s);
	assert_int_equal(s.fd, -1);
	assert_null(s.ssl);
	assert_int_equal(ERR_peek_error(), 0);
	close(sv[1]);
	SSL_CTX_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_close_leaves_openssl_alone),
		cmocka_unit_test(test_tls_close_clears_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
