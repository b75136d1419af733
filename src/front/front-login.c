/*
 * front-login: what the protocols with a login (POP3, IMAP) share once a
 * client has given credentials.  They go to auth; a refusal is answered
 * only after the delay auth asks for; auth's sealed ticket goes to master,
 * unread; master's session descriptor becomes the relay to the account's
 * worker.  The front never learns more than "this login worked".  The
 * protocol's own words come from its front_protocol (login_result,
 * session_ready, session_refused).
 */
#include <unistd.h>

#include <sodium.h>

#include "front.h"
#include "lib/log.h"
#include "lib/ticket.h"

/* auth's answer to IPC_LOGIN. */
enum login_status {
	LOGIN_OK = 0,
	LOGIN_REFUSED = 1,  /* wrong credentials; answer after the delay */
	LOGIN_TEMPFAIL = 2, /* the check could not be made */
};

void front_login_send(struct conn *c, struct str user, struct str password)
{
	struct front *f = c->front;
	struct buf b;

	/* A field too long for a message is auth's to judge (it counts as a
	 * failed login there), so the bound is the message, not a guess. */
	buf_init(&b, IPC_MAX_PAYLOAD);
	if (f->auth == NULL || ipc_put_str(&b, user) < 0 || ipc_put_str(&b, password) < 0 ||
	    ipc_put_str(&b, str_c(c->ip)) < 0 ||
	    ipc_send_buf(f->auth, IPC_LOGIN, c->id, &b, -1) < 0) {
		c->proto->login_result(c, false, true);
	} else {
		c->waiting_auth = true;
	}
	sodium_memzero(b.data, b.len);
	buf_free(&b);
}

static void delay_over(struct ev_timer *t, void *ctx)
{
	struct conn *c = ctx;
	(void)t;
	c->delay = NULL;
	c->proto->login_result(c, false, false);
	front_conn_resume(c);
}

void front_login_auth_message(struct front *f, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	struct conn *c = front_conn_find(f, msg->id);

	if (c == NULL || !c->waiting_auth || c->proto->login_result == NULL)
		return;
	c->waiting_auth = false;
	ipc_reader_init(&r, msg);
	uint64_t status = ipc_get_u64(&r);
	uint64_t delay = ipc_get_u64(&r);
	struct str ticket = ipc_get_str(&r, TICKET_SIZE);
	if (!ipc_reader_ok(&r))
		status = LOGIN_TEMPFAIL;
	if (status == LOGIN_OK) {
		/* Logged in: the ticket goes to master, unread. */
		struct buf b;
		buf_init(&b, 128);
		ipc_put_u64(&b, c->proto->session_protocol);
		ipc_put_str(&b, ticket);
		c->proto->login_result(c, true, false);
		if (ipc_send_buf(f->master, IPC_SESSION_OPEN, c->id, &b, -1) == 0)
			c->waiting_session = true;
		else
			c->dead = true;
		buf_free(&b);
		front_conn_resume(c);
		return;
	}
	if (status == LOGIN_REFUSED && delay > 0) {
		c->delay = ev_timer_add(f->ev, delay, delay_over, c);
		if (c->delay != NULL)
			return;
	}
	c->proto->login_result(c, false, status != LOGIN_REFUSED);
	front_conn_resume(c);
}

void front_login_session_message(struct front *f, const struct ipc_msg *msg)
{
	struct conn *c = front_conn_find(f, msg->id);

	if (c == NULL || !c->waiting_session) {
		if (msg->fd >= 0)
			close(msg->fd);
		return;
	}
	c->waiting_session = false;
	if (msg->kind == IPC_SESSION_READY) {
		c->proto->session_ready(c);
		front_conn_handoff(c, msg->fd);
		front_conn_resume(c);
		return;
	}
	log_warn("%s: logged in, but no session could be started", c->ip);
	c->proto->session_refused(c);
	front_conn_resume(c);
}

void front_login_auth_lost(struct front *f)
{
	for (struct conn *c = f->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (!c->waiting_auth || c->proto->login_result == NULL)
			continue;
		c->waiting_auth = false;
		c->proto->login_result(c, false, true);
		front_conn_resume(c);
	}
}
