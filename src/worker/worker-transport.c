/* worker-transport: a session's bytes to and from its client (see worker-transport.h). */
#include "worker-transport.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/ipc.h"
#include "lib/log.h"
#include "worker-compress.h"

/* Plaintext encrypted per round: four full records. */
#define TRANSPORT_ENCRYPT_STEP (4 * TLS13_MAX_PLAINTEXT)

int transport_init(struct transport *t, int fd, const struct handoff *h, const char **error_r)
{
	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->tls = h->mode == HANDOFF_TLS13;
	t->relayed = h->mode == HANDOFF_RELAY;
	buf_init(&t->raw_in, TRANSPORT_MAX_RAW_IN);
	buf_init(&t->raw_out, TRANSPORT_MAX_RAW_OUT);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (!t->tls)
		return 0;
	if (tls13_init(&t->tls13, h->suite, h->client_secret, h->server_secret, h->secret_len,
		       h->read_seq, h->write_seq, error_r) < 0 ||
	    buf_append_str(&t->raw_in, h->cipher_in) < 0) {
		if (*error_r == NULL)
			*error_r = "too much ciphertext in the hand-off";
		tls13_clear(&t->tls13);
		buf_free(&t->raw_in);
		buf_free(&t->raw_out);
		return -1;
	}
	return 0;
}

/* decrypt moves what raw_in holds into in; the result as transport_read. */
static int decrypt(struct transport *t, struct buf *in)
{
	const char *error;
	if (t->raw_in.len == 0)
		return 1;
	int r = tls13_read(&t->tls13, &t->raw_in, in, &t->raw_out, &error);
	if (r < 0) {
		log_info("TLS error from the client: %s", error);
		t->failed = true;
		return -1;
	}
	if (r == 0)
		t->peer_closed = true;
	return r;
}

/* read_layer reads once from the socket (or decrypts what is held) into
 * in, as transport_read without compression. */
static int read_layer(struct transport *t, struct buf *in, bool readable)
{
	char chunk[TRANSPORT_READ_CHUNK];

	if (t->failed)
		return -1;
	if (t->peer_closed)
		return 0;
	if (t->tls && decrypt(t, in) <= 0)
		return t->failed ? -1 : 0;
	bool room = t->tls ? t->raw_in.len + sizeof(chunk) <= t->raw_in.max
			   : in->len + sizeof(chunk) <= in->max;
	if (!readable || !room)
		return 1;
	ssize_t n = read(t->fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 1 : -1;
	if (n == 0) {
		t->peer_closed = true;
		return 0;
	}
	if (!t->tls)
		return buf_append(in, chunk, (size_t)n) < 0 ? -1 : 1;
	if (buf_append(&t->raw_in, chunk, (size_t)n) < 0)
		return -1;
	int r = decrypt(t, in);
	return r < 0 ? -1 : r;
}

/* inflate_into moves what the client's compressed stream holds into in,
 * as far as in's maximum allows; 0, or -1 (logged). */
static int inflate_into(struct transport *t, struct buf *in)
{
	const char *error;
	size_t room = in->max > in->len ? in->max - in->len : 0;
	if (compress_inflate(t->z, &t->z_in, in, room, &error) < 0) {
		log_info("COMPRESS: the client's stream is unusable: %s", error);
		return -1;
	}
	return 0;
}

int transport_read(struct transport *t, struct buf *in, bool readable)
{
	if (t->z == NULL)
		return read_layer(t, in, readable);
	/* Inflate first: what is held may already fill in. */
	if (inflate_into(t, in) < 0)
		return -1;
	int r = read_layer(t, &t->z_in, readable);
	if (r < 0 || inflate_into(t, in) < 0)
		return -1;
	if (t->z_in.len == 0)
		buf_free(&t->z_in);  /* an idle session holds zlib's state only */
	/* The client has finished once its last bytes are inflated. */
	return r == 0 && t->z_in.len == 0 ? 0 : 1;
}

bool transport_pending(const struct transport *t)
{
	if (t->z != NULL && t->z_in.len > 0 && !t->failed)
		return true;
	if (!t->tls || t->failed || t->peer_closed || t->raw_in.len < TLS13_HEADER_SIZE)
		return false;
	const unsigned char *p = (const unsigned char *)t->raw_in.data;
	size_t len = ((size_t)p[3] << 8) | p[4];
	return t->raw_in.len >= TLS13_HEADER_SIZE + len;
}

/* send_raw writes what the socket takes; -1 if it is broken. */
static int send_raw(struct transport *t, struct buf *b)
{
	while (b->len > 0) {
		ssize_t n = write(t->fd, b->data, b->len);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		buf_consume(b, (size_t)n);
	}
	return 0;
}

/* write_layer is transport_write without compression: b is what the
 * record layer or the socket gets. */
static int write_layer(struct transport *t, struct buf *out)
{
	if (!t->tls)
		return send_raw(t, out);
	/* Answers to the client's KeyUpdate or alerts go first. */
	if (send_raw(t, &t->raw_out) < 0)
		return -1;
	while (!t->failed && out->len > 0 && t->raw_out.len == 0) {
		size_t n = out->len < TRANSPORT_ENCRYPT_STEP ? out->len : TRANSPORT_ENCRYPT_STEP;
		if (tls13_write(&t->tls13, out->data, n, &t->raw_out) < 0)
			return -1;
		buf_consume(out, n);
		if (send_raw(t, &t->raw_out) < 0)
			return -1;
	}
	return 0;
}

int transport_write(struct transport *t, struct buf *out)
{
	if (t->z == NULL)
		return write_layer(t, out);
	if (write_layer(t, &t->z_before) < 0)
		return -1;
	if (t->z_before.len > 0)
		return 0;
	buf_free(&t->z_before);
	/* Deflate while the socket takes what is made: the client reads a
	 * sync-flushed stream, so each burst of answers is whole at its end. */
	for (;;) {
		if (write_layer(t, &t->z_out) < 0)
			return -1;
		if (t->z_out.len > 0 || t->failed)
			return 0;
		if (out->len == 0 && !compress_flush_pending(t->z)) {
			buf_free(&t->z_out);  /* all sent: an idle session keeps none */
			return 0;
		}
		if (compress_deflate(t->z, out, &t->z_out) < 0) {
			log_error("COMPRESS: deflate failed");
			return -1;
		}
	}
}

bool transport_want_write(const struct transport *t)
{
	return transport_unsent(t) > 0 || (t->z != NULL && compress_flush_pending(t->z));
}

size_t transport_unsent(const struct transport *t)
{
	return t->raw_out.len + t->z_out.len + t->z_before.len;
}

int transport_compress_start(struct transport *t, struct buf *in, struct buf *out,
			     const char **error_r)
{
	assert(t->z == NULL);
	struct compress *z = compress_new(error_r);
	if (z == NULL)
		return -1;
	/* in's bytes were compressed by the client: they are copied (in
	 * keeps its memory for the inflated text); out's must not be
	 * compressed: handing the buffer over moves no byte. */
	buf_init(&t->z_in, in->max);
	if (buf_append(&t->z_in, in->data, in->len) < 0) {
		*error_r = "out of memory";
		compress_free(&z);
		buf_free(&t->z_in);
		return -1;
	}
	buf_reset(in);
	t->z = z;
	t->z_before = *out;
	buf_init(out, out->max);
	buf_init(&t->z_out, TRANSPORT_COMPRESS_OUT);
	return 0;
}

bool transport_compressed(const struct transport *t)
{
	return t->z != NULL;
}

size_t transport_compress_memory(const struct transport *t)
{
	if (t->z == NULL)
		return 0;
	return compress_memory(t->z) + t->z_in.cap + t->z_out.cap + t->z_before.cap;
}

void transport_say(struct transport *t, const char *text)
{
	struct buf b;
	buf_init(&b, strlen(text) + 1);
	if (buf_append(&b, text, strlen(text)) == 0)
		(void)transport_write(t, &b);
	buf_free(&b);
}

void transport_finish(struct transport *t)
{
	if (t->write_closed || t->relayed || t->fd < 0)
		return;
	if (t->tls && !t->failed && tls13_close_notify(&t->tls13, &t->raw_out) == 0)
		(void)send_raw(t, &t->raw_out);
	(void)shutdown(t->fd, SHUT_WR);
	t->write_closed = true;
}

void transport_close(struct transport *t)
{
	/* After transport_finish, close_notify is out already. */
	bool say = t->tls && !t->write_closed;
	if (say && !t->failed && tls13_close_notify(&t->tls13, &t->raw_out) == 0)
		(void)send_raw(t, &t->raw_out);
	else if (say && t->failed)
		(void)send_raw(t, &t->raw_out); /* the alert */
	if (t->tls)
		tls13_clear(&t->tls13);
	if (t->z != NULL)
		log_info("COMPRESS: the session held %zu KiB for its deflate layer",
			 (transport_compress_memory(t) + 1023) / 1024);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	buf_free(&t->raw_in);
	buf_free(&t->raw_out);
	compress_free(&t->z);
	buf_free(&t->z_in);
	buf_free(&t->z_out);
	buf_free(&t->z_before);
}

/* park_compress writes the deflate layer's windows into z (see
 * transport_park); -1 if it cannot be parked now. */
static int park_compress(struct transport *t, struct buf *z)
{
	struct buf sent, received;
	if (t->z_in.len > 0 || t->z_out.len > 0 || t->z_before.len > 0)
		return -1;
	buf_init(&sent, COMPRESS_PARK_SENT_MAX);
	buf_init(&received, COMPRESS_PARK_RECEIVED_MAX);
	int r = compress_park(t->z, &sent, &received);
	if (r == 0)
		r = ipc_put_str(z, buf_str(&sent)) | ipc_put_str(z, buf_str(&received));
	sodium_memzero(sent.data, sent.cap);
	sodium_memzero(received.data, received.cap);
	buf_free(&sent);
	buf_free(&received);
	return r < 0 ? -1 : 0;
}

int transport_compress_resume(struct transport *t, struct str z, size_t in_max,
			      const char **error_r)
{
	struct ipc_msg msg = { .payload = (const unsigned char *)z.ptr, .len = z.len };
	struct ipc_reader r;
	ipc_reader_init(&r, &msg);
	struct str sent = ipc_get_str(&r, COMPRESS_PARK_SENT_MAX);
	struct str received = ipc_get_str(&r, COMPRESS_PARK_RECEIVED_MAX);
	if (!ipc_reader_ok(&r)) {
		*error_r = "malformed COMPRESS state";
		return -1;
	}
	assert(t->z == NULL);
	t->z = compress_unpark(sent, received, error_r);
	if (t->z == NULL)
		return -1;
	buf_init(&t->z_in, in_max);
	buf_init(&t->z_out, TRANSPORT_COMPRESS_OUT);
	buf_init(&t->z_before, 0);
	return 0;
}

int transport_park(struct transport *t, struct handoff *h, struct buf *z)
{
	const struct tls13 *s = &t->tls13;
	if (t->relayed || t->failed || t->peer_closed || t->raw_in.len > 0 ||
	    t->raw_out.len > 0 || t->fd < 0)
		return -1;
	/* A KeyUpdate half received, or a state that is closing, stays. */
	if (t->tls && (s->dead || s->peer_closed || s->write_closed || s->handshake_len > 0 ||
		       s->secret_len > HANDOFF_MAX_SECRET))
		return -1;
	if (t->z != NULL && park_compress(t, z) < 0)
		return -1;
	memset(h, 0, sizeof(*h));
	h->protocol = IPC_PROTO_IMAP;
	h->mode = t->tls ? HANDOFF_TLS13 : HANDOFF_PLAIN;
	if (!t->tls)
		return 0;
	h->suite = s->suite;
	h->secret_len = s->secret_len;
	memcpy(h->client_secret, s->read.secret, s->secret_len);
	memcpy(h->server_secret, s->write.secret, s->secret_len);
	h->read_seq = s->read.seq;
	h->write_seq = s->write.seq;
	return 0;
}

void transport_forget(struct transport *t)
{
	if (t->tls)
		tls13_clear(&t->tls13);
	if (t->fd >= 0)
		close(t->fd);
	buf_free(&t->raw_in);
	buf_free(&t->raw_out);
	compress_free(&t->z);
	buf_free(&t->z_in);
	buf_free(&t->z_out);
	buf_free(&t->z_before);
	/* transport_close of what is left does nothing. */
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}
