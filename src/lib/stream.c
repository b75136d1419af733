/* stream: plain and TLS connections behind one interface (see stream.h). */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/err.h>

#include "tls-tap.h"
#include "tls.h"

void stream_init(struct stream *s, int fd)
{
	s->fd = fd;
	s->ssl = NULL;
	s->tap = NULL;
	s->handshaking = false;
	s->want_write = false;
	s->handed_off = false;
}

void stream_drop_tls(struct stream *s)
{
	s->handed_off = true;
	if (s->ssl != NULL) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->tap != NULL) {
		tls_tap_wipe(s->tap);
		free(s->tap);
		s->tap = NULL;
	}
}

void stream_close(struct stream *s)
{
	bool tls = s->ssl != NULL;
	if (tls && !s->handshaking && !s->handed_off)
		SSL_shutdown(s->ssl);
	stream_drop_tls(s);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	/* What SSL_shutdown left.  A plain stream leaves nothing (every TLS
	 * call here clears the queue first), and the queue's first use sets
	 * OpenSSL's per-thread state up: a pre-auth process serving plain
	 * SMTP would pay that just to close. */
	if (tls)
		ERR_clear_error();
}


int stream_start_tls(struct stream *s, SSL_CTX *ctx)
{
	s->ssl = SSL_new(ctx);
	s->tap = malloc(sizeof(*s->tap));
	if (s->ssl == NULL || s->tap == NULL || tls_tap_attach(s->ssl, s->tap, s->fd) < 0)
		return -1;
	SSL_set_accept_state(s->ssl);
	s->handshaking = true;
	return 0;
}

/* Maps an SSL_get_error result onto errno for the callers. */
static int ssl_result(struct stream *s, int r)
{
	int e = SSL_get_error(s->ssl, r);
	s->want_write = false;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		s->want_write = true;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = ECONNRESET;
		ERR_clear_error();
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

enum stream_status stream_handshake(struct stream *s, const char **error_r)
{
	ERR_clear_error();
	int r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		s->handshaking = false;
		s->want_write = false;
		tls_tap_handshake_done(s->tap);
		return STREAM_OK;
	}
	int e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		s->want_write = e == SSL_ERROR_WANT_WRITE;
		return STREAM_AGAIN;
	}
	*error_r = e == SSL_ERROR_SSL ? tls_error() : "connection closed during handshake";
	ERR_clear_error();
	return STREAM_ERROR;
}

ssize_t stream_read(struct stream *s, void *buf, size_t len)
{
	if (s->ssl == NULL)
		return read(s->fd, buf, len);
	ERR_clear_error();
	int r = SSL_read(s->ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len);
	if (r > 0) {
		s->want_write = false;
		return r;
	}
	return ssl_result(s, r);
}

ssize_t stream_write(struct stream *s, const void *buf, size_t len)
{
	if (s->ssl == NULL)
		return write(s->fd, buf, len);
	ERR_clear_error();
	int r = SSL_write(s->ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len);
	if (r > 0) {
		s->want_write = false;
		return r;
	}
	int z = ssl_result(s, r);
	if (z == 0) {
		errno = EPIPE;
		return -1;
	}
	return z;
}

bool stream_pending(const struct stream *s)
{
	return s->ssl != NULL && SSL_pending(s->ssl) > 0;
}
