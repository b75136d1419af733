/*
 * NAME
 *	pre-auth - serves one connection up to the login
 * DESCRIPTION
 *	A pre-auth process is forked by the spawner before its connection
 *	arrives and serves exactly that one connection: TLS (the signature
 *	comes from the keys process), the protocol's dialogue up to the point
 *	where an account is involved, and the limits.  For SMTP in, that is
 *	the whole dialogue: recipients are checked by auth and the message
 *	goes to queue, which writes it to disk.  For POP3 and IMAP, after
 *	auth's ticket has bought a session from master, the connection is
 *	handed to the account's worker (front-handoff.c) and this process
 *	ends, or, where the session cannot be handed over, it relays the
 *	bytes of that one session.
 * SECURITY
 *	This is the code an attacker reaches before any login, so it can do
 *	the least: no file access at all (the spawner's Landlock domain), no
 *	new sockets, no exec (the spawner's seccomp filter, narrowed to its
 *	own table after the fork), as an unprivileged user; no private key,
 *	no ticket key, and only its own client's bytes and password.  What it
 *	says of itself is not believed where it matters to others (its
 *	client's address, whether it holds a session).  A bug in it reaches
 *	the connection it serves and nothing else.
 */
#include "front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/jail.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/tls-key.h"
#include "lib/tls.h"
#include "spawner.h"

/* How long a connection that timed out may take to send its last words. */
#define FRONT_CLOSE_GRACE_MS 10000
/* How long a pre-auth process about to exit waits for its last messages
 * (log records, the end of a transaction) to leave. */
#define FRONT_EXIT_FLUSH_MS 2000

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
	[IPC_SERVICE_SUBMISSION] = { &front_submission_protocol, false },
	[IPC_SERVICE_SUBMISSIONS] = { &front_submission_protocol, true },
	[IPC_SERVICE_HTTPS] = { &front_http_protocol, true },
	[IPC_SERVICE_HTTP] = { &front_http_protocol, false },
};
#define FRONT_SERVICES (sizeof(front_services) / sizeof(front_services[0]))

static void set_title(struct front *f, uint64_t service);

struct conn *front_conn_find(struct front *f, uint64_t id)
{
	/* The list holds this process's one connection. */
	for (struct conn *c = f->conns; c != NULL; c = c->next)
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
	if (c->handoff_fd >= 0)
		close(c->handoff_fd);
	buf_free(&c->to_session);
	ev_io_del(&c->io);
	stream_close(&c->stream);
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	f->conn_count--;
	free(c);
	/* The one connection is over: so is this process. */
	if (f->conns == NULL)
		ev_stop(f->ev);
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
	if (c->closing || c->tls_pending || c->stream.handshaking || c->handoff_fd >= 0)
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
		if (c->handoff_fd >= 0 && c->out.len == 0 && !c->stream.want_write) {
			front_conn_handoff(c, c->handoff_fd);
			if (c->dead)
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
		/* Read straight into the input: no copy, and no 16 KB frame
		 * here under all that the protocol's input calls (each such
		 * page of stack was a page fault per connection).  The read
		 * is cut to the room left, so a nearly full input fails only
		 * when the client sends past FRONT_MAX_INPUT, as before. */
		size_t room = c->in.max - c->in.len;
		size_t want = room < FRONT_READ_CHUNK ? room : FRONT_READ_CHUNK;
		if (want == 0 || buf_reserve(&c->in, want) < 0) {
			c->dead = true;
			break;
		}
		ssize_t n = stream_read(&c->stream, c->in.data + c->in.len, want);
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
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
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
	return c->proto->idle_timeout(c);
}

static uint64_t conn_session_timeout(const struct conn *c)
{
	return c->proto->session_timeout(c);
}

static void close_deadline(struct ev_timer *t, void *ctx)
{
	struct conn *c = ctx;
	(void)t;
	c->timer = NULL;
	c->dead = true;
	conn_work(c, false);
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
		/* A client that reads nothing cannot keep it open: what is still
		 * unsent gets a short while, then the connection ends. */
		c->timer = ev_timer_add(f->ev, FRONT_CLOSE_GRACE_MS, close_deadline, c);
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
}

const struct front_protocol *front_service_protocol(uint64_t service)
{
	return service < FRONT_SERVICES ? front_services[service].proto : NULL;
}

bool front_service_implicit_tls(uint64_t service)
{
	return service < FRONT_SERVICES && front_services[service].implicit_tls;
}

/* conn_start begins serving the client on fd (a new connection). */
static void conn_start(struct front *f, int fd, enum ipc_service service)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	const struct front_protocol *proto = front_services[service].proto;

	/* Answers are written whole; Nagle's algorithm would hold the tail of
	 * one back for the client's delayed ACK (40 ms per FETCH). */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getpeername(fd, (struct sockaddr *)&sa, &salen) == 0) {
		if (sa.ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)&sa)->sin_addr, ip,
				  sizeof(ip));
		else if (sa.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&sa)->sin6_addr, ip,
				  sizeof(ip));
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		ev_stop(f->ev);
		return;
	}
	c->front = f;
	c->id = ++f->next_id;
	c->deferred_rcpt = -1;
	c->deferred_data = -1;
	c->service = service;
	c->proto = proto;
	c->session_fd = -1;
	c->handoff_fd = -1;
	buf_init(&c->to_session, FRONT_MAX_TO_SESSION + FRONT_READ_CHUNK);
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	stream_init(&c->stream, fd);
	buf_init(&c->in, FRONT_MAX_INPUT);
	buf_init(&c->out, FRONT_MAX_OUTPUT);
	c->started = c->last_activity = ev_now(f->ev);
	c->io = ev_io_add(f->ev, fd, EV_READ, conn_ready, c);
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
	log_debug("%s: connected (%s)", ip, ipc_service_name(service));
	conn_work(c, false);
}

static void peer_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct front *f = ctx;
	if (ipc == f->auth && msg->kind == IPC_RCPT_RESULT) {
		front_smtp_auth_message(f, msg);
		return;
	}
	if (ipc == f->auth && msg->kind == IPC_SUBMIT_SENDERS) {
		front_smtp_senders_message(f, msg);
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
	} else {
		return;
	}
	/* This process cannot get its link back: once the client has heard
	 * why, the connection ends, and the client's next one is served by a
	 * new process with links to the restarted peer. */
	for (struct conn *c = f->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->relaying)
			continue;
		c->closing = true;
		front_conn_resume(c);
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

	if (msg->kind == IPC_SESSION_READY || msg->kind == IPC_SESSION_REFUSED) {
		front_login_session_message(f, msg);
		return;
	}
	/* Master speaks nonsense: without master this process is nothing. */
	log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
	(void)ipc;
	_exit(1);
}

/* The spawner's one message: the connection this process is for. */
static void control_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct front *f = ctx;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	uint64_t service = ipc_get_u64(&r);
	if (msg->kind != IPC_PREAUTH_CONN || f->conn_count > 0 || !ipc_reader_ok(&r) ||
	    front_service_protocol(service) == NULL) {
		ipc_reject(&ipc, msg);
		f->control = NULL;
		ev_stop(f->ev);
		return;
	}
	set_title(f, service);
	conn_start(f, msg->fd, (enum ipc_service)service);
}

static void control_closed(struct ipc *ipc, void *ctx)
{
	struct front *f = ctx;
	(void)ipc;
	f->control = NULL;
	/* A spare whose spawner is gone will never get a connection. */
	if (f->conn_count == 0)
		ev_stop(f->ev);
}

static void on_term(int signo, void *ctx)
{
	struct front *f = ctx;
	(void)signo;
	ev_stop(f->ev);
}

/* set_title shows what this process serves in ps (argv is overwritten). */
static void set_title(struct front *f, uint64_t service)
{
	char name[48], title[80];
	preauth_name(f->serial, name, sizeof(name)); /* "preauth N" or "preauth S.N" */
	snprintf(title, sizeof(title), "ravelin preauth %s %s", ipc_service_name(service),
		 name + strlen("preauth "));
	process_set_title(title);
}

/* adopt_links moves the inherited links to fixed numbers and closes every
 * other descriptor the spawner had (listeners, its own links, other
 * spares' links, its event loop). */
static int adopt_links(const int fds[PREAUTH_LINKS], int out[PREAUTH_LINKS])
{
	int high[PREAUTH_LINKS];
	for (unsigned i = 0; i < PREAUTH_LINKS; i++) {
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
		if (high[i] < 0)
			return -1;
	}
	for (unsigned i = 0; i < PREAUTH_LINKS; i++) {
		out[i] = PROCESS_FD_MASTER + (int)i;
		if (dup3(high[i], out[i], O_CLOEXEC) < 0)
			return -1;
	}
	close_range((unsigned)(PROCESS_FD_MASTER + PREAUTH_LINKS), ~0U, 0);
	return 0;
}

void preauth_main(const struct config *config, SSL_CTX *tls, uint64_t serial,
		  const int fds[PREAUTH_LINKS])
{
	static struct front f;
	int links[PREAUTH_LINKS];
	char name[48];
	sigset_t none;

	/* Nothing of the spawner's loop is ours: its signals come back to
	 * their defaults, and its objects are left untouched (their
	 * descriptors are closed below; their memory dies with us). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	process_forget_master_link();
	if (adopt_links(fds, links) < 0)
		_exit(1);
	/* The spawner gone, nobody would reap or limit this process. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	preauth_name(serial, name, sizeof(name));
	log_init(name);
	process_set_title("ravelin preauth (spare)");
	/* The spawner's jail, and this role's smaller system call table. */
	struct jail jail = { .name = name, .role = JAIL_ROLE_PREAUTH };
	if (jail_narrow(&jail) < 0)
		_exit(1);
	f.config = *config;
	f.tls = tls;
	f.serial = serial;
	f.ev = ev_new();
	if (f.ev == NULL)
		_exit(1);
	f.master = process_master_link(f.ev, master_message, &f);
	f.auth = ipc_new(f.ev, links[PREAUTH_LINK_AUTH], "auth", peer_message, peer_closed, &f);
	f.queue = ipc_new(f.ev, links[PREAUTH_LINK_QUEUE], "queue", peer_message, peer_closed, &f);
	f.control = ipc_new(f.ev, links[PREAUTH_LINK_CONTROL], "spawner", control_message,
			    control_closed, &f);
	f.keys_fd = links[PREAUTH_LINK_KEYS];
	tls_key_set_fd(f.keys_fd);
	f.resolver = dns_client_new(f.ev, links[PREAUTH_LINK_RESOLVER]);
	if (f.master == NULL || f.control == NULL)
		_exit(1);
	if (f.queue != NULL)
		ipc_set_drained(f.queue, queue_drained);
	ev_signal_add(f.ev, SIGTERM, on_term, &f);
	ev_run(f.ev);
	while (f.conns != NULL)
		conn_free(f.conns);
	if (f.queue != NULL)
		(void)ipc_flush_blocking(f.queue, FRONT_EXIT_FLUSH_MS);
	(void)ipc_flush_blocking(f.master, FRONT_EXIT_FLUSH_MS);
}
