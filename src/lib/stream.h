#ifndef RAVELIN_STREAM_H
#define RAVELIN_STREAM_H
/*
 * stream: one client connection, plain or TLS, behind one interface, so the
 * protocol code never knows which (STARTTLS upgrades a plain stream in
 * place; implicit TLS starts the handshake at once).  Non-blocking.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

struct tls_tap;

struct stream {
	int fd;
	SSL *ssl;
	struct tls_tap *tap; /* the socket side of TLS, kept for a hand-off */
	bool handshaking;
	bool want_write;   /* the last TLS call needs the socket writable */
	bool handed_off;   /* another process has the connection: no close_notify */
};

enum stream_status { STREAM_OK = 1, STREAM_AGAIN = 0, STREAM_ERROR = -1 };

void stream_init(struct stream *s, int fd);
/* stream_close shuts TLS down politely (no waiting; not after a hand-off)
 * and closes fd. */
void stream_close(struct stream *s);
/* stream_drop_tls frees the TLS state (wiping its keys) without a word to
 * the peer: after a hand-off another process writes the next record. */
void stream_drop_tls(struct stream *s);
/* stream_start_tls begins a server handshake on the stream. */
int stream_start_tls(struct stream *s, SSL_CTX *ctx);
/* stream_handshake advances the handshake: STREAM_OK when done. */
enum stream_status stream_handshake(struct stream *s, const char **error_r);
/* stream_read returns bytes read (>0), 0 for end of stream, or -1 with
 * errno EAGAIN (try again when ready) or another errno. */
ssize_t stream_read(struct stream *s, void *buf, size_t len);
/* stream_write returns bytes written (>0) or -1 with errno (EAGAIN). */
ssize_t stream_write(struct stream *s, const void *buf, size_t len);
/* stream_pending is true if TLS holds decrypted bytes not yet read. */
bool stream_pending(const struct stream *s);

#endif
