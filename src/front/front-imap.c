/*
 * front-imap: joins a connection to the IMAP not-authenticated state
 * (src/imap-login); what follows the credentials (auth, the ticket,
 * the session) is the shared front-login.c.  The front writes the tagged
 * OK of the login only once master has handed over the session, so a
 * client never hears "Logged in" for a session that cannot start; the
 * worker then begins the authenticated state without a word of its own.
 */
#include "front.h"
#include "imap-login/imap-login.h"

/* The connection's IMAP state (the protocol's one pointer in conn). */
static struct imap_login *imap_of(const struct conn *c)
{
	return c->state;
}

static void imap_free_state(struct conn *c)
{
	struct imap_login *state = c->state;
	imap_login_free(&state);
	c->state = NULL;
}

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
	c->state = imap_login_new(&callbacks, c, f->tls != NULL,
				 c->service == IPC_SERVICE_IMAPS);
	if (imap_of(c) == NULL)
		return -1;
	imap_login_start(imap_of(c));
	return 0;
}

static void imap_input(struct conn *c)
{
	if (imap_of(c) != NULL)
		imap_login_input(imap_of(c), &c->in);
}

static void imap_tls_started(struct conn *c)
{
	imap_login_tls_started(imap_of(c));
}

static void imap_timeout(struct conn *c)
{
	if (imap_of(c) != NULL)
		imap_login_timeout(imap_of(c));
}

static void imap_closed(struct conn *c)
{
	imap_free_state(c);
}

static bool imap_waiting(struct conn *c)
{
	/* From the login on, until the relay starts, nothing is read: what
	 * the client pipelined is the worker's. */
	return imap_of(c) != NULL && (imap_login_waiting(imap_of(c)) || imap_login_done(imap_of(c)));
}

static void imap_login_answer(struct conn *c, bool ok, bool temporary)
{
	if (imap_of(c) != NULL)
		imap_login_result(imap_of(c), ok, temporary);
}

static void imap_session_ready(struct conn *c)
{
	imap_login_session_ready(imap_of(c));
	imap_free_state(c);
}

/* The client hears NO [UNAVAILABLE] (or NO [LIMIT] when the account has
 * all the IMAP sessions it may) and may try again on this connection;
 * what it pipelined after LOGIN is then answered as before login. */
static void imap_session_refused(struct conn *c)
{
	imap_login_session_refused(imap_of(c), c->session_refusal == IPC_SESSION_LIMIT);
}

/* Seconds a relayed IMAP session may stay silent.  The worker's autologout
 * (30 minutes, the least RFC 9051 5.4 allows) ends idle sessions and says
 * so; this only catches a session nobody ends, so it must be longer. */
#define FRONT_IMAP_SESSION_IDLE_TIMEOUT (40 * 60)

static uint64_t imap_idle_timeout(const struct conn *c)
{
	return c->relaying ? FRONT_IMAP_SESSION_IDLE_TIMEOUT : c->front->config.imap_login_timeout;
}

static uint64_t imap_total_timeout(const struct conn *c)
{
	(void)c;
	return FRONT_SESSION_TIMEOUT;
}

const struct front_protocol front_imap_protocol = {
	.start = imap_start,
	.input = imap_input,
	.tls_started = imap_tls_started,
	.timeout = imap_timeout,
	.closed = imap_closed,
	.waiting = imap_waiting,
	.idle_timeout = imap_idle_timeout,
	.session_timeout = imap_total_timeout,
	/* RFC 9051 7.1.5: a BYE greeting refuses the connection. */
	.busy_reply = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n",
	.per_ip_reply = "* BYE [UNAVAILABLE] Too many connections from your address\r\n",
	.session_protocol = IPC_PROTO_IMAP,
	.login_result = imap_login_answer,
	.session_ready = imap_session_ready,
	.session_refused = imap_session_refused,
};
