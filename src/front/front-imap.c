/*
 * front-imap: joins a connection to the IMAP not-authenticated state
 * (src/imap/imap-login); what follows the credentials (auth, the ticket,
 * the session) is the shared front-login.c.  The front writes the tagged
 * OK of the login only once master has handed over the session, so a
 * client never hears "Logged in" for a session that cannot start; the
 * worker then begins the authenticated state without a word of its own.
 */
#include "front.h"
#include "imap/imap-login.h"

static void cb_login(void *ctx, struct str user, struct str password)
{
	front_login_send(ctx, user, password);
}

static const struct imap_login_callbacks callbacks = {
	.output = front_cb_output,
	.login = cb_login,
	.starttls = front_cb_starttls,
	.close = front_cb_close,
};

static int imap_start(struct conn *c)
{
	struct front *f = c->front;
	c->imap = imap_login_new(&callbacks, c, f->tls != NULL,
				 c->service == IPC_SERVICE_IMAPS);
	if (c->imap == NULL)
		return -1;
	imap_login_start(c->imap);
	return 0;
}

static void imap_input(struct conn *c)
{
	if (c->imap != NULL)
		imap_login_input(c->imap, &c->in);
}

static void imap_tls_started(struct conn *c)
{
	imap_login_tls_started(c->imap);
}

static void imap_timeout(struct conn *c)
{
	if (c->imap != NULL)
		imap_login_timeout(c->imap);
}

static void imap_closed(struct conn *c)
{
	imap_login_free(&c->imap);
}

static bool imap_waiting(struct conn *c)
{
	/* From the login on, until the relay starts, nothing is read: what
	 * the client pipelined is the worker's. */
	return c->imap != NULL && (imap_login_waiting(c->imap) || imap_login_done(c->imap));
}

static void imap_login_answer(struct conn *c, bool ok, bool temporary)
{
	if (c->imap != NULL)
		imap_login_result(c->imap, ok, temporary);
}

static void imap_session_ready(struct conn *c)
{
	imap_login_session_ready(c->imap);
	imap_login_free(&c->imap);
}

/* The client hears NO [UNAVAILABLE] and may try again on this connection;
 * what it pipelined after LOGIN is then answered as before login. */
static void imap_session_refused(struct conn *c)
{
	imap_login_session_refused(c->imap);
}

const struct front_protocol front_imap_protocol = {
	.start = imap_start,
	.input = imap_input,
	.tls_started = imap_tls_started,
	.timeout = imap_timeout,
	.closed = imap_closed,
	.waiting = imap_waiting,
	/* RFC 9051 7.1.5: a BYE greeting refuses the connection. */
	.busy_reply = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n",
	.per_ip_reply = "* BYE [UNAVAILABLE] Too many connections from your address\r\n",
	.session_protocol = IPC_PROTO_IMAP,
	.login_result = imap_login_answer,
	.session_ready = imap_session_ready,
	.session_refused = imap_session_refused,
};
