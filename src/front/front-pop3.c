/*
 * front-pop3: joins a connection to the POP3 login (src/pop3) and, after
 * it, to the account's worker: credentials go to auth, auth's sealed
 * ticket goes to master, master's session descriptor becomes the relay.
 * The front never learns more than "this login worked".
 */
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "front.h"
#include "lib/log.h"
#include "lib/ticket.h"
#include "pop3/pop3-login.h"

static void cb_login(void *ctx, struct str user, struct str password)
{
	struct conn *c = ctx;
	struct front *f = c->front;
	struct buf b;

	buf_init(&b, 4096);
	if (f->auth == NULL || ipc_put_str(&b, user) < 0 || ipc_put_str(&b, password) < 0 ||
	    ipc_put_str(&b, str_c(c->ip)) < 0 ||
	    ipc_send_buf(f->auth, IPC_LOGIN, c->id, &b, -1) < 0) {
		pop3_login_result(c->pop3, false, true);
	} else {
		c->waiting_auth = true;
	}
	sodium_memzero(b.data, b.len);
	buf_free(&b);
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
	c->pop3 = pop3_login_new(&callbacks, c, f->tls != NULL,
				 c->service == IPC_SERVICE_POP3S);
	if (c->pop3 == NULL)
		return -1;
	pop3_login_start(c->pop3);
	return 0;
}

static void pop3_input(struct conn *c)
{
	if (c->pop3 != NULL && !pop3_login_done(c->pop3))
		pop3_login_input(c->pop3, &c->in);
}

static void pop3_tls_started(struct conn *c)
{
	pop3_login_tls_started(c->pop3);
}

static void pop3_timeout(struct conn *c)
{
	if (c->pop3 != NULL)
		pop3_login_timeout(c->pop3);
}

static void pop3_closed(struct conn *c)
{
	pop3_login_free(&c->pop3);
}

static bool pop3_waiting(struct conn *c)
{
	/* After the login, until master answers, nothing is read either. */
	return c->pop3 != NULL && (pop3_login_waiting(c->pop3) || pop3_login_done(c->pop3));
}

const struct front_protocol front_pop3_protocol = {
	.start = pop3_start,
	.input = pop3_input,
	.tls_started = pop3_tls_started,
	.timeout = pop3_timeout,
	.closed = pop3_closed,
	.waiting = pop3_waiting,
};

static void delay_over(struct ev_timer *t, void *ctx)
{
	struct conn *c = ctx;
	(void)t;
	c->delay = NULL;
	pop3_login_result(c->pop3, false, false);
	front_conn_resume(c);
}

void front_pop3_login_result(struct front *f, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	struct conn *c = front_conn_find(f, msg->id);

	if (c == NULL || !c->waiting_auth || c->pop3 == NULL)
		return;
	c->waiting_auth = false;
	ipc_reader_init(&r, msg);
	uint64_t status = ipc_get_u64(&r);
	uint64_t delay = ipc_get_u64(&r);
	struct str ticket = ipc_get_str(&r, TICKET_SIZE);
	if (!ipc_reader_ok(&r))
		status = 2;
	if (status == 0) {
		/* Logged in: the ticket goes to master, unread. */
		struct buf b;
		buf_init(&b, 128);
		ipc_put_u64(&b, IPC_PROTO_POP3);
		ipc_put_str(&b, ticket);
		pop3_login_result(c->pop3, true, false);
		if (ipc_send_buf(f->master, IPC_SESSION_OPEN, c->id, &b, -1) == 0)
			c->waiting_session = true;
		else
			c->dead = true;
		buf_free(&b);
		front_conn_resume(c);
		return;
	}
	if (status == 1 && delay > 0) {
		c->delay = ev_timer_add(f->ev, delay, delay_over, c);
		if (c->delay != NULL)
			return;
	}
	pop3_login_result(c->pop3, false, status != 1);
	front_conn_resume(c);
}

void front_pop3_session_message(struct front *f, const struct ipc_msg *msg)
{
	struct conn *c = front_conn_find(f, msg->id);

	if (c == NULL || !c->waiting_session) {
		if (msg->fd >= 0)
			close(msg->fd);
		return;
	}
	c->waiting_session = false;
	if (msg->kind == IPC_SESSION_READY) {
		pop3_login_free(&c->pop3);
		front_conn_relay(c, msg->fd);
		return;
	}
	log_warn("%s: logged in, but no session could be started", c->ip);
	static const char refused[] = "-ERR [SYS/TEMP] Mailbox not available now, try again later\r\n";
	front_conn_output(c, refused, sizeof(refused) - 1);
	c->closing = true;
	front_conn_resume(c);
}

void front_pop3_auth_lost(struct front *f)
{
	for (struct conn *c = f->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (!c->waiting_auth || c->pop3 == NULL)
			continue;
		c->waiting_auth = false;
		pop3_login_result(c->pop3, false, true);
		front_conn_resume(c);
	}
}
