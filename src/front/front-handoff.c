/*
 * front-handoff: after a login, the connection goes to the account's
 * worker on the link master made for the session (one IPC_HANDOFF
 * message, see lib/handoff.h).  Where the TLS state can be handed over,
 * the worker gets the client's socket itself and this process ends;
 * otherwise it relays the bytes of this one session.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "front.h"
#include "lib/handoff.h"
#include "lib/log.h"
#include "lib/tls-tap.h"

/* The worker takes TLS 1.3 sessions itself. */
#define FRONT_HANDOFF_TLS13 true

/* relay_handoff gives the worker one end of a byte stream and keeps the
 * other, through which this process relays the session. */
static void relay_handoff(struct conn *c, int link_fd, uint64_t protocol)
{
	struct handoff h = { .protocol = protocol, .mode = HANDOFF_RELAY };
	struct buf b;
	int sv[2];

	buf_init(&b, IPC_MAX_PAYLOAD);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("%s: socketpair() for the session failed: %m", c->ip);
		c->dead = true;
		buf_free(&b);
		return;
	}
	if (c->proto->handoff_fill != NULL)
		c->proto->handoff_fill(c, &h);
	int r = handoff_encode(&h, &b);
	handoff_wipe(&h);
	if (r == 0)
		r = ipc_send_blocking(link_fd, IPC_HANDOFF, c->id, b.data, b.len, sv[0]);
	if (b.data != NULL)
		sodium_memzero(b.data, b.cap);
	buf_free(&b);
	if (r < 0) {
		log_error("%s: handing the session to its worker failed", c->ip);
		close(sv[0]);
		close(sv[1]);
		c->dead = true;
		return;
	}
	close(sv[0]);
	front_conn_relay(c, sv[1]);
}

/* tls13_handoff gives the worker the client's socket and the TLS 1.3
 * state; 0 when done (this process then ends), -1 if the connection
 * cannot be handed over now (why logged at debug), -2 if it failed. */
static int tls13_handoff(struct conn *c, int link_fd, uint64_t protocol)
{
	struct handoff h = { .protocol = protocol };
	const char *why;
	char chunk[FRONT_READ_CHUNK];
	struct buf b;

	/* What TLS has decrypted but nobody read goes along as plaintext. */
	while (stream_pending(&c->stream)) {
		ssize_t n = stream_read(&c->stream, chunk, sizeof(chunk));
		if (n <= 0 || buf_append(&c->in, chunk, (size_t)n) < 0)
			return -1;
	}
	if (tls_tap_export(c->stream.ssl, c->stream.tap, &h, &why) < 0) {
		log_debug("%s: session relayed: %s", c->ip, why);
		return -1;
	}
	if (c->proto->handoff_fill != NULL)
		c->proto->handoff_fill(c, &h);
	h.plain_in = buf_str(&c->in);
	if (h.cipher_in.len + h.plain_in.len > HANDOFF_MAX_PENDING) {
		handoff_wipe(&h);
		log_debug("%s: session relayed: too many bytes pending", c->ip);
		return -1;
	}
	buf_init(&b, IPC_MAX_PAYLOAD);
	int r = handoff_encode(&h, &b) == 0 ? 0 : -2;
	handoff_wipe(&h);
	sodium_memzero(c->in.data, c->in.len);
	buf_reset(&c->in);
	/* From here on this process writes nothing to the client: its TLS
	 * state goes (OpenSSL wipes the keys), no close_notify is said, and
	 * only then does the worker get the state it needs to write the next
	 * record.  So the two never both hold the write key able to use it. */
	stream_drop_tls(&c->stream);
	c->dead = true;
	if (r == 0)
		r = ipc_send_blocking(link_fd, IPC_HANDOFF, c->id, b.data, b.len, c->stream.fd) == 0
			    ? 0 : -2;
	sodium_memzero(b.data, b.cap);
	buf_free(&b);
	if (r < 0) {
		log_error("%s: handing the session to its worker failed", c->ip);
		return -2;
	}
	log_debug("%s: session handed to the worker", c->ip);
	return 0;
}

void front_conn_handoff(struct conn *c, int link_fd)
{
	/* Everything said so far must be on the wire first: the worker's
	 * first record follows this process's last one. */
	if (c->out.len > 0 || c->stream.want_write) {
		c->handoff_fd = link_fd;
		return;
	}
	c->handoff_fd = -1;
	int r = -1;
	if (FRONT_HANDOFF_TLS13 && c->stream.ssl != NULL)
		r = tls13_handoff(c, link_fd, c->proto->session_protocol);
	if (r == -1)
		relay_handoff(c, link_fd, c->proto->session_protocol);
	close(link_fd);
}
