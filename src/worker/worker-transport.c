/* worker-transport: a session's bytes to and from its client (see worker-transport.h). */
#include "worker-transport.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

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

int transport_read(struct transport *t, struct buf *in, bool readable)
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

bool transport_pending(const struct transport *t)
{
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

int transport_write(struct transport *t, struct buf *out)
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

bool transport_want_write(const struct transport *t)
{
	return t->raw_out.len > 0;
}

void transport_say(struct transport *t, const char *text)
{
	struct buf b;
	buf_init(&b, strlen(text) + 1);
	if (buf_append(&b, text, strlen(text)) == 0)
		(void)transport_write(t, &b);
	buf_free(&b);
}

void transport_close(struct transport *t)
{
	if (t->tls && !t->failed && tls13_close_notify(&t->tls13, &t->raw_out) == 0)
		(void)send_raw(t, &t->raw_out);
	else if (t->tls && t->failed)
		(void)send_raw(t, &t->raw_out); /* the alert */
	if (t->tls)
		tls13_clear(&t->tls13);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	buf_free(&t->raw_in);
	buf_free(&t->raw_out);
}

int transport_park(const struct transport *t, struct handoff *h)
{
	if (t->relayed || t->failed || t->peer_closed || t->raw_in.len > 0 ||
	    t->raw_out.len > 0 || t->fd < 0)
		return -1;
	memset(h, 0, sizeof(*h));
	h->protocol = IPC_PROTO_IMAP;
	h->mode = t->tls ? HANDOFF_TLS13 : HANDOFF_PLAIN;
	if (!t->tls)
		return 0;
	const struct tls13 *s = &t->tls13;
	/* A KeyUpdate half received, or a state that is closing, stays. */
	if (s->dead || s->peer_closed || s->write_closed || s->handshake_len > 0 ||
	    s->secret_len > HANDOFF_MAX_SECRET)
		return -1;
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
	/* transport_close of what is left does nothing. */
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}
