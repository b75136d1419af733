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

static void delay_over(struct ev_timer *t, void *ctx);

/* log_login says how a login ended, with the service it came in on (the
 * protocol, and TLS as the port gives it or as STARTTLS made it); auth
 * logs the user name beside its own verdict. */
static void log_login(struct conn *c, enum log_level level, const char *outcome)
{
	log_msg(level, "%s: %s login %s (%s)", c->ip, ipc_service_name(c->service), outcome,
		c->stream.ssl != NULL ? "TLS" : "no TLS");
}

/* refuse_after answers a refused login once delay_ms have passed; false
 * if it cannot wait (no delay, or no timer): the caller answers now.  The
 * connection reads nothing meanwhile. */
static bool refuse_after(struct conn *c, uint64_t delay_ms)
{
	if (delay_ms == 0)
		return false;
	c->delay = ev_timer_add(c->front->ev, delay_ms, delay_over, c);
	return c->delay != NULL;
}

/* refuse_too_long answers credentials longer than auth takes as a failed
 * login, never sending them: the same answer and the same doubling delay
 * (counted per connection here) as a wrong password. */
static void refuse_too_long(struct conn *c)
{
	uint64_t delay = IPC_LOGIN_FIRST_DELAY_MS;
	for (unsigned i = 0; i < c->too_long_logins && delay < IPC_LOGIN_MAX_DELAY_MS; i++)
		delay *= 2;
	if (delay > IPC_LOGIN_MAX_DELAY_MS)
		delay = IPC_LOGIN_MAX_DELAY_MS;
	c->too_long_logins++;
	log_login(c, LOG_LEVEL_WARN, "refused: credentials longer than auth takes");
	/* Called from inside the protocol's login callback: an answer given
	 * now needs no resume (the protocol goes on by itself). */
	if (!refuse_after(c, delay))
		c->proto->login_result(c, false, false);
}

void front_login_send(struct conn *c, struct str user, struct str password)
{
	struct front *f = c->front;
	struct buf b;

	/* Longer fields than auth reads would be a malformed message there,
	 * and cost this front its link to auth: refused here instead. */
	if (user.len > IPC_LOGIN_MAX_USER || password.len > IPC_LOGIN_MAX_PASSWORD) {
		refuse_too_long(c);
		return;
	}
	buf_init(&b, IPC_STR_SIZE(IPC_LOGIN_MAX_USER) + IPC_STR_SIZE(IPC_LOGIN_MAX_PASSWORD) +
			     IPC_STR_SIZE(IPC_LOGIN_MAX_IP));
	/* All of it at once, so the buffer never moves and leaves no copy
	 * of the password behind. */
	if (buf_reserve(&b, b.max) < 0 || f->auth == NULL || ipc_put_str(&b, user) < 0 ||
	    ipc_put_str(&b, password) < 0 || ipc_put_str(&b, str_c(c->ip)) < 0 ||
	    ipc_send_buf(f->auth, c->proto->login_only ? IPC_SUBMIT_LOGIN : IPC_LOGIN, c->id, &b,
			 -1) < 0) {
		log_login(c, LOG_LEVEL_WARN, "not checked: no link to auth");
		c->proto->login_result(c, false, true);
	} else {
		c->waiting_auth = true;
	}
	if (b.data != NULL)
		sodium_memzero(b.data, b.cap);
	buf_free(&b);
}

/* delay_over gives the refusal a delayed login was waiting for. */
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
		status = IPC_LOGIN_TEMPFAIL;
	if (status == IPC_LOGIN_OK && c->proto->login_only) {
		/* Logged in for this process's own use: no session. */
		log_login(c, LOG_LEVEL_INFO, "accepted");
		c->proto->login_result(c, true, false);
		front_conn_resume(c);
		return;
	}
	if (status == IPC_LOGIN_OK) {
		/* Logged in: the ticket goes to master, unread. */
		struct buf b;
		buf_init(&b, 128);
		ipc_put_u64(&b, c->proto->session_protocol);
		ipc_put_str(&b, ticket);
		c->proto->login_result(c, true, false);
		log_login(c, LOG_LEVEL_INFO, "accepted");
		if (ipc_send_buf(f->master, IPC_SESSION_OPEN, c->id, &b, -1) == 0)
			c->waiting_session = true;
		else
			c->dead = true;
		buf_free(&b);
		front_conn_resume(c);
		return;
	}
	log_login(c, LOG_LEVEL_INFO,
		  status == IPC_LOGIN_REFUSED ? "refused: wrong user name or password"
					      : "not checked: auth could not check it now");
	if (status == IPC_LOGIN_REFUSED &&
	    refuse_after(c, delay > IPC_LOGIN_MAX_DELAY_MS ? IPC_LOGIN_MAX_DELAY_MS : delay))
		return;
	c->proto->login_result(c, false, status != IPC_LOGIN_REFUSED);
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
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	c->session_refusal = ipc_get_u64(&r);
	if (c->session_refusal == IPC_SESSION_LIMIT)
		log_info("%s: logged in, but the account has too many sessions", c->ip);
	else
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
		log_login(c, LOG_LEVEL_WARN, "not checked: the link to auth was lost");
		c->proto->login_result(c, false, true);
		front_conn_resume(c);
	}
}
