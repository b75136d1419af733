/*
 * NAME
 *	front - speaks to the network
 * DESCRIPTION
 *	Accepts connections, runs TLS, and holds each protocol's dialogue up
 *	to the point where an account is involved.  For SMTP in, that is the
 *	whole dialogue: recipients are checked by auth and the message goes to
 *	queue, which writes it to disk.  For POP3 and IMAP, it is the login:
 *	after auth's ticket has bought a session from master, the front only
 *	relays the client's bytes to the account's worker and back.  Several
 *	fronts (one per core) share the listening sockets.
 * SECURITY
 *	Front is the code an attacker reaches before any login, so it can do
 *	the least: after loading its TLS key it enters a Landlock domain with
 *	no file access at all, with no_new_privs and a seccomp filter (no new
 *	sockets, no exec), as the configured user.  It holds no store and no
 *	credentials; it reaches accounts only through auth's answers, the
 *	queue, and session streams master hands it for a valid ticket.
 */
#include "front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/conncount.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/tls.h"

/* Buckets of the connection-by-id table. */
#define FRONT_HASH_SIZE 4096
/* Connections accepted per wake-up of one listener (fairness). */
#define FRONT_ACCEPT_BATCH 64
/* Seconds a relayed IMAP session may stay silent.  The worker's autologout
 * (30 minutes, the least RFC 9051 5.4 allows) ends idle sessions and says
 * so; this only catches a session nobody ends, so it must be longer. */
#define FRONT_IMAP_SESSION_IDLE_TIMEOUT (40 * 60)

/* What each listening service speaks, and whether TLS comes first. */
static const struct {
	const struct front_protocol *proto;
	bool implicit_tls;
} front_services[] = {
	[IPC_SERVICE_SMTP] = { &front_smtp_protocol, false },
	[IPC_SERVICE_POP3] = { &front_pop3_protocol, false },
	[IPC_SERVICE_POP3S] = { &front_pop3_protocol, true },
	[IPC_SERVICE_IMAP] = { &front_imap_protocol, false },
	[IPC_SERVICE_IMAPS] = { &front_imap_protocol, true },
};
#define FRONT_SERVICES (sizeof(front_services) / sizeof(front_services[0]))

static struct conn *conn_hash[FRONT_HASH_SIZE];

struct conn *front_conn_find(struct front *f, uint64_t id)
{
	(void)f;
	for (struct conn *c = conn_hash[id % FRONT_HASH_SIZE]; c != NULL; c = c->hash_next)
		if (c->id == id)
			return c;
	return NULL;
}

static void conn_free(struct conn *c)
{
	struct front *f = c->front;

	c->proto->closed(c);
	if (c->timer != NULL)
		ev_timer_del(&c->timer);
	if (c->delay != NULL)
		ev_timer_del(&c->delay);
	ev_io_del(&c->session_io);
	if (c->session_fd >= 0)
		close(c->session_fd);
	buf_free(&c->to_session);
	ev_io_del(&c->io);
	stream_close(&c->stream);
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->ip_counted)
		conncount_release(f->conncount, c->ip_slot);
	struct conn **pp = &conn_hash[c->id % FRONT_HASH_SIZE];
	while (*pp != c)
		pp = &(*pp)->hash_next;
	*pp = c->hash_next;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	f->conn_count--;
	free(c);
}

void front_conn_output(struct conn *c, const char *data, size_t len)
{
	if (buf_append(&c->out, data, len) < 0) {
		log_info("%s: client does not read its replies; dropping it", c->ip);
		c->dead = true;
	}
}

/* conn_can_read says whether more client input is wanted now. */
static bool conn_can_read(struct conn *c)
{
	if (c->closing || c->tls_pending || c->stream.handshaking)
		return false;
	if (c->relaying)
		return c->to_session.len < FRONT_MAX_TO_SESSION;
	return !c->proto->waiting(c) && c->in.len < FRONT_MAX_INPUT / 2 &&
	       !(c->front->queue_congested && c->in_txn);
}

void front_cb_output(void *ctx, const char *data, size_t len)
{
	front_conn_output(ctx, data, len);
}

/* The reply that announced TLS goes out first; conn_work then starts it. */
void front_cb_starttls(void *ctx)
{
	struct conn *c = ctx;
	c->tls_pending = true;
}

void front_cb_close(void *ctx)
{
	struct conn *c = ctx;
	c->closing = true;
}

static void conn_update(struct conn *c)
{
	unsigned events = 0;
	bool reading = conn_can_read(c);
	if (c->stream.handshaking) {
		events = c->stream.want_write ? EV_WRITE : EV_READ;
	} else {
		if (reading)
			events |= EV_READ;
		if (c->out.len > 0 || c->stream.want_write)
			events |= EV_WRITE;
	}
	ev_io_set(c->io, events);
	if (c->session_io != NULL)
		ev_io_set(c->session_io, (c->out.len < FRONT_MAX_OUTPUT / 2 ? EV_READ : 0) |
						 (c->to_session.len > 0 ? EV_WRITE : 0));
}

/* session_flush writes client bytes to the worker; false if it is gone. */
static bool session_flush(struct conn *c)
{
	if (c->in.len > 0) {
		if (buf_append(&c->to_session, c->in.data, c->in.len) < 0)
			return false;
		buf_reset(&c->in);
	}
	while (c->to_session.len > 0) {
		ssize_t n = write(c->session_fd, c->to_session.data, c->to_session.len);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		buf_consume(&c->to_session, (size_t)n);
	}
	return true;
}

/* conn_flush writes what it can; false if the connection is broken. */
static bool conn_flush(struct conn *c)
{
	while (c->out.len > 0) {
		ssize_t n = stream_write(&c->stream, c->out.data, c->out.len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			return false;
		}
		buf_consume(&c->out, (size_t)n);
		/* A client taking a long download is not idle. */
		c->last_activity = ev_now(c->front->ev);
	}
	return true;
}

static void conn_handshake(struct conn *c)
{
	const char *error;
	enum stream_status st = stream_handshake(&c->stream, &error);
	if (st == STREAM_AGAIN)
		return;
	if (st == STREAM_ERROR) {
		log_info("%s: TLS handshake failed: %s", c->ip, error);
		c->dead = true;
		return;
	}
	log_debug("%s: TLS established (%s, %s)", c->ip, SSL_get_version(c->stream.ssl),
		  SSL_get_cipher_name(c->stream.ssl));
	if (c->greet_after_tls) {
		c->greet_after_tls = false;
		if (c->proto->start(c) < 0)
			c->dead = true;
		return;
	}
	c->proto->tls_started(c);
}

/* conn_work does everything that can be done now, then closes the
 * connection or sets which events to wait for. */
static void conn_work(struct conn *c, bool readable)
{
	char chunk[FRONT_READ_CHUNK];

	/* A bounded number of rounds keeps one busy client from starving the
	 * others; decrypted bytes TLS already holds (at most one record) are
	 * always taken, since no readiness event would announce them. */
	for (int round = 0; (round < 16 || stream_pending(&c->stream)) && !c->dead; round++) {
		if (c->stream.handshaking) {
			conn_handshake(c);
			if (c->stream.handshaking || c->dead)
				break;
			readable = true;
		}
		if (c->relaying) {
			if (!session_flush(c)) {
				c->dead = true;
				break;
			}
		} else {
			c->proto->input(c);
		}
		if (!conn_flush(c)) {
			c->dead = true;
			break;
		}
		if (c->tls_pending && c->out.len == 0) {
			c->tls_pending = false;
			if (stream_start_tls(&c->stream, c->front->tls) < 0) {
				c->dead = true;
				break;
			}
			continue;
		}
		if (!conn_can_read(c) || !(readable || stream_pending(&c->stream)))
			break;
		ssize_t n = stream_read(&c->stream, chunk, sizeof(chunk));
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			readable = false;
			if (!c->stream.want_write)
				break;
			continue;
		}
		if (n <= 0) {
			c->dead = true;
			break;
		}
		c->last_activity = ev_now(c->front->ev);
		if (buf_append(&c->in, chunk, (size_t)n) < 0) {
			c->dead = true;
			break;
		}
	}
	/* The last round's bytes are handed on too: no event would come for
	 * them once the client has sent everything. */
	if (!c->dead && c->in.len > 0 && !c->stream.handshaking) {
		if (c->relaying ? !session_flush(c) : (c->proto->input(c), !conn_flush(c)))
			c->dead = true;
	}
	if (c->dead || (c->closing && c->out.len == 0)) {
		conn_free(c);
		return;
	}
	conn_update(c);
}

static void conn_ready(struct ev_io *io, unsigned events, void *ctx)
{
	struct conn *c = ctx;
	(void)io;
	conn_work(c, (events & EV_READ) != 0);
}

void front_conn_resume(struct conn *c)
{
	conn_work(c, true);
}

static uint64_t conn_idle_timeout(const struct conn *c)
{
	const struct config *config = &c->front->config;

	switch (c->service) {
	case IPC_SERVICE_SMTP:
		return config->smtp_idle_timeout;
	case IPC_SERVICE_POP3:
	case IPC_SERVICE_POP3S:
		return config->pop3_idle_timeout;
	case IPC_SERVICE_IMAP:
	case IPC_SERVICE_IMAPS:
		return c->relaying ? FRONT_IMAP_SESSION_IDLE_TIMEOUT : config->imap_login_timeout;
	}
	return config->smtp_idle_timeout;
}

/* POP3 and IMAP sessions may last as long as the client keeps talking. */
static uint64_t conn_session_timeout(const struct conn *c)
{
	return c->service == IPC_SERVICE_SMTP ? c->front->config.smtp_session_timeout : 86400;
}

static void conn_timer(struct ev_timer *t, void *ctx)
{
	struct conn *c = ctx;
	struct front *f = c->front;
	uint64_t now = ev_now(f->ev);
	uint64_t idle_end = c->last_activity + conn_idle_timeout(c) * 1000;
	uint64_t total_end = c->started + conn_session_timeout(c) * 1000;
	(void)t;

	c->timer = NULL;
	if (now >= idle_end || now >= total_end) {
		log_info("%s: %s timeout; closing", c->ip, now >= total_end ? "session" : "idle");
		if (!c->relaying)
			c->proto->timeout(c);
		c->closing = true;
		conn_work(c, false);
		return;
	}
	uint64_t next = idle_end < total_end ? idle_end : total_end;
	c->timer = ev_timer_add(f->ev, next - now, conn_timer, c);
}

static void session_ready(struct ev_io *io, unsigned events, void *ctx)
{
	struct conn *c = ctx;
	char chunk[FRONT_READ_CHUNK];
	(void)io;

	if ((events & EV_READ) && c->out.len < FRONT_MAX_OUTPUT / 2) {
		ssize_t n = read(c->session_fd, chunk, sizeof(chunk));
		if (n > 0) {
			front_conn_output(c, chunk, (size_t)n);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* The worker ended the session (after its last answer). */
			ev_io_del(&c->session_io);
			c->closing = true;
		}
	}
	conn_work(c, false);
}

void front_conn_relay(struct conn *c, int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->session_fd = fd;
	c->relaying = true;
	c->session_io = ev_io_add(c->front->ev, fd, EV_READ, session_ready, c);
	if (c->session_io == NULL)
		c->dead = true;
	conn_work(c, true);
}

static void refuse(int fd, const char *reply)
{
	/* Best effort: the socket is new, so its buffer has room. */
	if (reply != NULL && write(fd, reply, strlen(reply)) < 0) {
		/* nothing to do */
	}
	close(fd);
}

/* refuse_reply is what a refused connection is told: nothing on an
 * implicit-TLS port, where a TLS client could not read clear text. */
static const char *refuse_reply(enum ipc_service service, const char *reply)
{
	return front_services[service].implicit_tls ? NULL : reply;
}

static void accept_one(struct front *f, int fd, const struct sockaddr_storage *sa,
		       enum ipc_service service)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const struct front_protocol *proto = front_services[service].proto;

	/* Answers are written whole; Nagle's algorithm would hold the tail of
	 * one back for the client's delayed ACK (40 ms per FETCH). */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sa->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
	else if (sa->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
	if (f->conn_count >= f->config.front_max_connections) {
		log_warn("%s: refused, %u connections already", ip, f->conn_count);
		refuse(fd, refuse_reply(service, proto->busy_reply));
		return;
	}
	uint32_t slot = conncount_slot(ip);
	if (f->conncount != NULL &&
	    !conncount_acquire(f->conncount, slot, (unsigned)f->config.front_max_connections_per_ip)) {
		log_warn("%s: refused, too many connections from this address", ip);
		refuse(fd, refuse_reply(service, proto->per_ip_reply));
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		if (f->conncount != NULL)
			conncount_release(f->conncount, slot);
		refuse(fd, refuse_reply(service, proto->busy_reply));
		return;
	}
	c->front = f;
	c->id = ++f->next_id;
	c->ip_slot = slot;
	c->ip_counted = f->conncount != NULL;
	c->deferred_rcpt = -1;
	c->deferred_data = -1;
	c->service = service;
	c->proto = proto;
	c->session_fd = -1;
	buf_init(&c->to_session, FRONT_MAX_TO_SESSION + FRONT_READ_CHUNK);
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	stream_init(&c->stream, fd);
	buf_init(&c->in, FRONT_MAX_INPUT);
	buf_init(&c->out, FRONT_MAX_OUTPUT);
	c->started = c->last_activity = ev_now(f->ev);
	c->io = ev_io_add(f->ev, fd, EV_READ, conn_ready, c);
	c->hash_next = conn_hash[c->id % FRONT_HASH_SIZE];
	conn_hash[c->id % FRONT_HASH_SIZE] = c;
	c->next = f->conns;
	if (f->conns != NULL)
		f->conns->prev = c;
	f->conns = c;
	f->conn_count++;
	uint64_t first = conn_idle_timeout(c) < conn_session_timeout(c) ? conn_idle_timeout(c)
									  : conn_session_timeout(c);
	c->timer = ev_timer_add(f->ev, first * 1000, conn_timer, c);
	bool implicit_tls = front_services[service].implicit_tls;
	if (implicit_tls && (f->tls == NULL || stream_start_tls(&c->stream, f->tls) < 0))
		c->dead = true;
	c->greet_after_tls = implicit_tls;
	if (c->dead || c->io == NULL || c->timer == NULL ||
	    (!implicit_tls && c->proto->start(c) < 0)) {
		c->dead = true;
		conn_work(c, false);
		return;
	}
	log_debug("%s: connected (connection %llu)", ip, (unsigned long long)c->id);
	conn_work(c, false);
}

struct listener {
	struct front *front;
	int fd;
	enum ipc_service service;
};

static void listener_ready(struct ev_io *io, unsigned events, void *ctx)
{
	struct listener *l = ctx;
	struct front *f = l->front;
	(void)io;
	(void)events;
	for (int i = 0; i < FRONT_ACCEPT_BATCH; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				log_warn("accept() failed: %m");
			return;
		}
		accept_one(f, fd, &sa, l->service);
	}
}

static void peer_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct front *f = ctx;
	if (ipc == f->auth && msg->kind == IPC_RCPT_RESULT) {
		front_smtp_auth_message(f, msg);
		return;
	}
	if (ipc == f->auth && msg->kind == IPC_LOGIN_RESULT) {
		front_login_auth_message(f, msg);
		return;
	}
	if (ipc == f->queue && msg->kind == IPC_QUEUE_RESULT) {
		front_smtp_queue_message(f, msg);
		return;
	}
	log_error("unexpected %s message from %s", ipc_kind_name(msg->kind), ipc_peer_name(ipc));
	if (msg->fd >= 0)
		close(msg->fd);
}

static void peer_closed(struct ipc *ipc, void *ctx)
{
	struct front *f = ctx;
	if (ipc == f->auth) {
		f->auth = NULL;
		front_smtp_auth_lost(f);
		front_login_auth_lost(f);
	} else if (ipc == f->queue) {
		f->queue = NULL;
		f->queue_congested = false;
		front_smtp_queue_lost(f);
	}
}

static void queue_drained(struct ipc *ipc, void *ctx)
{
	struct front *f = ctx;
	(void)ipc;
	if (!f->queue_congested)
		return;
	f->queue_congested = false;
	for (struct conn *c = f->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->in_txn)
			front_conn_resume(c);
	}
}

static void master_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct front *f = ctx;
	struct ipc_reader r;
	(void)ipc;

	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_LISTEN) {
		struct listener *l = malloc(sizeof(*l));
		if (l == NULL) {
			close(msg->fd);
			return;
		}
		uint64_t service = ipc_get_u64(&r);
		if (service >= FRONT_SERVICES || front_services[service].proto == NULL) {
			close(msg->fd);
			free(l);
			return;
		}
		l->front = f;
		l->fd = msg->fd;
		l->service = (enum ipc_service)service;
		if (ev_io_add(f->ev, l->fd, EV_READ, listener_ready, l) == NULL) {
			close(msg->fd);
			free(l);
		}
		return;
	}
	if (msg->kind == IPC_CONNCOUNT) {
		uint64_t fronts = ipc_get_u64(&r);
		if (f->conncount == NULL)
			f->conncount = conncount_attach(msg->fd, (unsigned)fronts, f->index);
		if (f->conncount == NULL)
			log_error("the shared connection table is not usable: no per-address limit");
		close(msg->fd);
		return;
	}
	if (msg->kind == IPC_SESSION_READY || msg->kind == IPC_SESSION_REFUSED) {
		front_login_session_message(f, msg);
		return;
	}
	if (msg->kind == IPC_PEER) {
		uint64_t role = ipc_get_u64(&r);
		struct ipc **slot = role == IPC_ROLE_AUTH ? &f->auth
				    : role == IPC_ROLE_QUEUE ? &f->queue : NULL;
		if (slot == NULL) {
			close(msg->fd);
			return;
		}
		if (*slot != NULL)
			ipc_close(slot);
		*slot = ipc_new(f->ev, msg->fd, process_role_name((enum ipc_role)role), peer_message,
				peer_closed, f);
		if (*slot == NULL)
			close(msg->fd);
		else if (role == IPC_ROLE_QUEUE)
			ipc_set_drained(*slot, queue_drained);
		return;
	}
	log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
	if (msg->fd >= 0)
		close(msg->fd);
}

static void on_term(int signo, void *ctx)
{
	struct front *f = ctx;
	(void)signo;
	ev_stop(f->ev);
}

int front_main(unsigned index)
{
	static struct front f;
	char name[32], cert[4096], key[4096];
	const char *error;

	snprintf(name, sizeof(name), "front %u", index);
	if (process_child_init(name, &f.config) < 0)
		return 1;
	f.index = index;
	tzset();
	snprintf(cert, sizeof(cert), "%s", f.config.tls_cert);
	snprintf(key, sizeof(key), "%s", f.config.tls_key);
	f.tls = tls_server_ctx(cert, key, &error);
	if (f.tls == NULL)
		log_warn("TLS is off: loading %s and %s failed: %s", cert, key, error);

	/* The jail: no files at all from here on. */
	struct jail jail = { .name = name, .user = f.config.user, .path_count = 0,
			     .role = JAIL_ROLE_FRONT };
	if (jail_enter(&jail) < 0)
		return 1;

	f.ev = ev_new();
	if (f.ev == NULL)
		return 1;
	f.master = process_master_link(f.ev, master_message, &f);
	if (f.master == NULL)
		return 1;
	ev_signal_add(f.ev, SIGTERM, on_term, &f);
	signal(SIGPIPE, SIG_IGN);
	ev_run(f.ev);
	while (f.conns != NULL)
		conn_free(f.conns);
	conncount_detach(&f.conncount);
	return 0;
}
