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

#include "front.h"
#include "lib/handoff.h"
#include "lib/log.h"

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
	if (handoff_encode(&h, &b) < 0 ||
	    ipc_send_blocking(link_fd, IPC_HANDOFF, c->id, b.data, b.len, sv[0]) < 0) {
		log_error("%s: handing the session to its worker failed", c->ip);
		close(sv[0]);
		close(sv[1]);
		c->dead = true;
		buf_free(&b);
		return;
	}
	buf_free(&b);
	close(sv[0]);
	front_logged_in(c->front);
	front_conn_relay(c, sv[1]);
}

void front_conn_handoff(struct conn *c, int link_fd)
{
	relay_handoff(c, link_fd, c->proto->session_protocol);
	close(link_fd);
}
