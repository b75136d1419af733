/*
 * front-pop3: joins a connection to the POP3 login (src/pop3); what
 * follows the credentials (auth, the ticket, the session) is the shared
 * front-login.c.
 */
#include "front.h"
#include "pop3/pop3-login.h"

/* The connection's POP3 state (the protocol's one pointer in conn). */
static struct pop3_login *pop3_of(const struct conn *c)
{
	return c->state;
}

static void pop3_free_state(struct conn *c)
{
	struct pop3_login *state = c->state;
	pop3_login_free(&state);
	c->state = NULL;
}

static void cb_login(void *ctx, struct str user, struct str password)
{
	front_login_send(ctx, user, password);
}

static const struct pop3_login_callbacks callbacks = {
	.output = front_cb_output,
	.login = cb_login,
	.starttls = front_cb_starttls,
	.close = front_cb_close,
};

static int pop3_start(struct conn *c)
{
	struct front *f = c->front;
	c->state = pop3_login_new(&callbacks, c, f->tls != NULL,
				 c->service == IPC_SERVICE_POP3S);
	if (pop3_of(c) == NULL)
		return -1;
	pop3_login_start(pop3_of(c));
	return 0;
}

static void pop3_input(struct conn *c)
{
	if (pop3_of(c) != NULL && !pop3_login_done(pop3_of(c)))
		pop3_login_input(pop3_of(c), &c->in);
}

static void pop3_tls_started(struct conn *c)
{
	pop3_login_tls_started(pop3_of(c));
}

static void pop3_timeout(struct conn *c)
{
	if (pop3_of(c) != NULL)
		pop3_login_timeout(pop3_of(c));
}

static void pop3_closed(struct conn *c)
{
	pop3_free_state(c);
}

static bool pop3_waiting(struct conn *c)
{
	/* After the login, until master answers, nothing is read either. */
	return pop3_of(c) != NULL && (pop3_login_waiting(pop3_of(c)) || pop3_login_done(pop3_of(c)));
}

static void pop3_login_answer(struct conn *c, bool ok, bool temporary)
{
	if (pop3_of(c) != NULL)
		pop3_login_result(pop3_of(c), ok, temporary);
}

/* The worker greets the session itself. */
static void pop3_session_ready(struct conn *c)
{
	pop3_free_state(c);
}

static void pop3_session_refused(struct conn *c)
{
	static const char refused[] =
		"-ERR [SYS/TEMP] Mailbox not available now, try again later\r\n";
	front_conn_output(c, refused, sizeof(refused) - 1);
	c->closing = true;
}


static uint64_t pop3_idle_timeout(const struct conn *c)
{
	return c->front->config.pop3_idle_timeout;
}

static uint64_t pop3_total_timeout(const struct conn *c)
{
	(void)c;
	return FRONT_SESSION_TIMEOUT;
}

const struct front_protocol front_pop3_protocol = {
	.start = pop3_start,
	.input = pop3_input,
	.tls_started = pop3_tls_started,
	.timeout = pop3_timeout,
	.closed = pop3_closed,
	.waiting = pop3_waiting,
	.idle_timeout = pop3_idle_timeout,
	.session_timeout = pop3_total_timeout,
	.busy_reply = "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
	.per_ip_reply = "-ERR [SYS/TEMP] Too many connections from your address\r\n",
	.session_protocol = IPC_PROTO_POP3,
	.login_result = pop3_login_answer,
	.session_ready = pop3_session_ready,
	.session_refused = pop3_session_refused,
};
