/*
 * NAME
 *	relay-child - one outbound SMTP connection's process
 * DESCRIPTION
 *	Forked by the relay spawner for one destination (a domain, or the
 *	smarthost).  Takes jobs (IPC_RELAY_MSG: one message, up to
 *	IPC_RELAY_MAX_RCPTS of its recipients there) from the queue over its
 *	link, connects to the destination's hosts in order (connect timeout,
 *	then the next), speaks SMTP through smtp-client (STARTTLS with
 *	OpenSSL when offered, required for a smarthost unless configured
 *	otherwise), sends every job over the one connection and reports
 *	IPC_RELAY_RESULT per recipient and IPC_RELAY_DONE per job.  Every
 *	failure (no host answers, a TLS handshake that does not end, garbage,
 *	silence) becomes a made-up 4xx for each recipient with a log line.
 *	When the queue closes the link it QUITs and exits.
 *	For a domain (not the smarthost) TLS follows the domain's MTA-STS
 *	policy (fetched once per child) and its MX hosts' DANE TLSA records,
 *	as tls_policy_decide says at the MX, EHLO and handshake stages
 *	(docs/tls-out.md); a refusal is a 451 4.7.5 with the policy's reason.
 * SECURITY
 *	Inherits the spawner's jail (no files, its own uid, TCP connect to
 *	ports 25, 443 and the smarthost's only) and narrows the system calls
 *	to its own allow-list.  Holds the descriptors of its link to the
 *	queue, its connection and the standard ones only; sees the messages
 *	for its one destination and nothing else.  What the server says goes
 *	through smtp-reply's bounded parser.
 */
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/process.h"
#include "relay/tls-policy.h"
#include "smtp-client.h"

/* Where the queue and resolver links are moved to in the child (from the
 * configuration's descriptor on, closed by then). */
#define RELAY_CHILD_QUEUE_FD 4
#define RELAY_CHILD_RESOLVER_FD 5
/* Bytes of the server's replies held at once: one reply line more than a
 * read (the parser takes whole lines off as they come). */
#define RELAY_CHILD_IN_MAX (RELAY_MAX_REPLY_LINE + RELAY_CHILD_READ)
#define RELAY_CHILD_READ 4096
/* Bytes queued for the server: the message is read from its memfd only
 * while fewer than RELAY_CHILD_OUT_LOW wait, a read is at most
 * RELAY_CHILD_BODY_READ (which dot stuffing and line ends can double). */
#define RELAY_CHILD_OUT_LOW (128 * 1024)
#define RELAY_CHILD_BODY_READ (64 * 1024)
#define RELAY_CHILD_OUT_MAX (RELAY_CHILD_OUT_LOW + 4 * RELAY_CHILD_BODY_READ)
/* Waiting for the queue to take the last results before exiting. */
#define RELAY_CHILD_FLUSH_MS 2000

struct job {
	struct job *next;
	uint64_t id;
	struct buf text;         /* sender and recipients, copied */
	struct str rcpts[IPC_RELAY_MAX_RCPTS];
	size_t rcpt_count;
	struct smtp_client_message msg;
	int fd;
	uint64_t offset;
};

struct relay_child {
	const struct relay_child_setup *setup;
	struct ev *ev;
	struct ipc *queue;
	bool queue_gone;
	struct job *jobs;        /* the first one is under way once started */
	bool job_started;
	/* The connection. */
	size_t next_target;
	int fd;
	struct ev_io *io;
	SSL *ssl;
	bool connecting, handshaking, tls_verified;
	struct ev_timer *timer;
	struct buf in, out;
	struct smtp_client *client;
	bool was_ready;          /* this connection got as far as a message */
	bool body_open;
	char host[INET6_ADDRSTRLEN + 8];
	const char *tls_name;    /* the host's name, for SNI and the check */
	/* The TLS policy (MX destinations; docs/tls-out.md). */
	bool policy_on;
	bool have_sts;           /* the domain's MTA-STS policy was fetched */
	struct mta_sts_policy sts;
	const struct relay_target *target; /* the one connected to */
	struct tls_verdict verdict;        /* its MX stage verdict */
	bool tls_tried;          /* STARTTLS was answered 220 on this connection */
	bool retry_plain;        /* its handshake failed, TLS optional: again in clear */
	size_t clear_target;     /* the target index tried in clear, or SIZE_MAX */
	/* Why the last attempt ended, for the jobs no connection took. */
	char why[RELAY_MAX_ANSWER + 64];
	bool dead;               /* no host could be had: every job gets why */
	unsigned fail_code;      /* the code jobs get then (451; 5xx: no mail) */
	const struct relay_target *targets;
	size_t target_count;
	bool closing;            /* the dialogue ended; after_close comes */
	unsigned closed_code;
	struct ev_timer *after_close;
};

static struct relay_child rc;

static void try_next_target(void);
static void start_job(void);

/* finish exits once the queue has the last results. */
__attribute__((noreturn)) static void finish(void)
{
	if (rc.queue != NULL)
		(void)ipc_flush_blocking(rc.queue, RELAY_CHILD_FLUSH_MS);
	_exit(0);
}

/* report sends one recipient's outcome to the queue. */
static void report(const struct job *j, size_t index, unsigned code, struct str answer)
{
	struct buf b;
	const char *host = rc.host[0] ? rc.host : rc.setup->destination;
	log_info("job %llu: <%.*s> via %s: %.*s", (unsigned long long)j->id,
		 (int)j->rcpts[index].len, j->rcpts[index].ptr, host, (int)answer.len, answer.ptr);
	if (rc.queue == NULL)
		return;
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_u64(&b, j->id);
	ipc_put_u64(&b, index);
	ipc_put_u64(&b, code);
	ipc_put_str(&b, str_sub(answer, 0, IPC_RELAY_MAX_ANSWER));
	ipc_put_str(&b, str_sub(str_c(host), 0, IPC_RELAY_MAX_HOST));
	if (ipc_send_buf(rc.queue, IPC_RELAY_RESULT, j->id, &b, -1) < 0)
		log_error("the queue takes no result now");
	buf_free(&b);
}

/* job_end says the first job is reported and drops it. */
static void job_end(void)
{
	struct job *j = rc.jobs;
	uint64_t id = j->id;
	if (rc.queue != NULL && ipc_send(rc.queue, IPC_RELAY_DONE, id, &id, sizeof(id), -1) < 0)
		log_error("the queue takes no result now");
	rc.jobs = j->next;
	rc.job_started = false;
	close(j->fd);
	buf_free(&j->text);
	free(j);
}

/* fail_job_all gives every recipient of the first job code and why. */
static void fail_job_all(unsigned code, const char *why)
{
	for (size_t i = 0; i < rc.jobs->rcpt_count; i++)
		report(rc.jobs, i, code, str_c(why));
	job_end();
}

/* fail_waiting fails every job no connection can take: the destination
 * could not be had, or the connection ended after a message. */
static void fail_waiting(void)
{
	while (rc.jobs != NULL)
		fail_job_all(rc.fail_code, rc.why);
	if (rc.queue_gone)
		finish();
}

/* conn_drop closes the connection (the client is gone already or now). */
static void conn_drop(void)
{
	if (rc.timer != NULL)
		ev_timer_del(&rc.timer);
	if (rc.io != NULL)
		ev_io_del(&rc.io);
	if (rc.ssl != NULL) {
		SSL_free(rc.ssl);
		rc.ssl = NULL;
	}
	if (rc.fd >= 0)
		close(rc.fd);
	rc.fd = -1;
	smtp_client_free(&rc.client);
	buf_reset(&rc.in);
	buf_reset(&rc.out);
	rc.connecting = rc.handshaking = rc.body_open = rc.closing = false;
}

static void timer_fired(struct ev_timer *t, void *ctx);

/* arm restarts the timer: connect and handshake have relay.connect_timeout,
 * a reply relay.reply_timeout. */
static void arm(void)
{
	if (rc.timer != NULL)
		ev_timer_del(&rc.timer);
	uint64_t s = rc.connecting || rc.handshaking ? rc.setup->config->relay_connect_timeout
						     : rc.setup->config->relay_reply_timeout;
	rc.timer = ev_timer_add(rc.ev, s * 1000, timer_fired, NULL);
}

/* fail_now ends the connection's dialogue for a reason seen here. */
static void fail_now(const char *why)
{
	if (rc.closing)
		return;
	log_warn("%s: %s", rc.host, why);
	smtp_client_fail(rc.client, 451, why);
}

static void timer_fired(struct ev_timer *t, void *ctx)
{
	char why[128];
	(void)t;
	(void)ctx;
	rc.timer = NULL;
	if (rc.connecting) {
		snprintf(rc.why, sizeof(rc.why), "451 4.4.1 connect to %s timed out after %llu s",
			 rc.host, (unsigned long long)rc.setup->config->relay_connect_timeout);
		log_warn("%s", rc.why);
		conn_drop();
		try_next_target();
		return;
	}
	if (rc.handshaking)
		snprintf(why, sizeof(why), "4.7.5 TLS handshake did not end within %llu s",
			 (unsigned long long)rc.setup->config->relay_connect_timeout);
	else
		snprintf(why, sizeof(why), "4.4.2 no reply from the server within %llu s",
			 (unsigned long long)rc.setup->config->relay_reply_timeout);
	fail_now(why);
}

/* io_want sets the events to watch: read always, write while bytes wait
 * or TLS asks for it. */
static void io_want(bool tls_write)
{
	if (rc.io != NULL)
		ev_io_set(rc.io, EV_READ | (rc.out.len > 0 || tls_write ? EV_WRITE : 0));
}

/* body_pump reads the message into the dialogue while little waits to go
 * out; at its end, the "." line. */
static void body_pump(void)
{
	static char chunk[RELAY_CHILD_BODY_READ];
	while (rc.body_open && rc.client != NULL && rc.out.len < RELAY_CHILD_OUT_LOW) {
		struct job *j = rc.jobs;
		ssize_t n = pread(j->fd, chunk, sizeof(chunk), (off_t)j->offset);
		if (n < 0) {
			log_error("job %llu: reading the message failed: %m", (unsigned long long)j->id);
			rc.body_open = false;
			smtp_client_fail(rc.client, 451, "4.3.0 the message could not be read");
			return;
		}
		if (n == 0) {
			rc.body_open = false;
			smtp_client_body_end(rc.client);
			return;
		}
		j->offset += (uint64_t)n;
		smtp_client_body(rc.client, chunk, (size_t)n);
	}
}

/* conn_flush writes what waits; false if the connection broke. */
static bool conn_flush(void)
{
	while (rc.out.len > 0) {
		ssize_t n;
		if (rc.ssl != NULL) {
			ERR_clear_error();
			int r = SSL_write(rc.ssl, rc.out.data, (int)(rc.out.len > 65536 ? 65536
											  : rc.out.len));
			if (r <= 0) {
				int e = SSL_get_error(rc.ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
					io_want(true);
					return true;
				}
				return false;
			}
			n = r;
		} else {
			n = send(rc.fd, rc.out.data, rc.out.len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				io_want(true);
				return true;
			}
			if (n < 0)
				return false;
		}
		buf_consume(&rc.out, (size_t)n);
	}
	io_want(false);
	return true;
}

static void cb_output(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	if (rc.fd < 0 || rc.handshaking)
		return;
	if (buf_append(&rc.out, data, len) < 0) {
		/* Cannot happen: body_pump keeps below the bound. */
		log_error("%s: output over its bound", rc.host);
		return;
	}
	arm();
	io_want(false);
}

/* decide asks tls_policy_decide about the current MX host at stage. */
static void decide(enum tls_stage stage, bool offered, bool handshake_ok, bool verified,
		   struct tls_verdict *v)
{
	struct tls_policy_input in = {
		.stage = stage,
		.domain = str_c(rc.setup->destination),
		.mx_host = str_c(rc.target->name),
		.sts = rc.have_sts ? &rc.sts : NULL,
		.dane = rc.target->dane,
		.starttls_offered = offered,
		.handshake_ok = handshake_ok,
		.verified = verified,
	};
	tls_policy_decide(&in, v);
}

/* fail_policy ends the connection for a TLS policy's reason. */
static void fail_policy(const char *reason)
{
	char why[TLS_POLICY_MAX_REASON + 16];
	snprintf(why, sizeof(why), "4.7.5 %s", reason);
	fail_now(why);
}

/* tls_setup makes the connection's SSL: under the TLS policy with the
 * check its verdict asks for (dane_ssl_prepare), for the smarthost with
 * its name.  0, or -1 with the connection failed. */
static int tls_setup(void)
{
	const char *name = rc.tls_name, *err = "";
	rc.ssl = SSL_new(rc.setup->tls);
	if (rc.ssl == NULL || SSL_set_fd(rc.ssl, rc.fd) != 1) {
		fail_now("4.7.5 TLS could not be started");
		return -1;
	}
	if (rc.policy_on) {
		if (dane_ssl_prepare(rc.ssl, str_c(name), rc.verdict.auth, rc.target->tlsa, &err) <
		    0) {
			char why[TLS_POLICY_MAX_REASON];
			snprintf(why, sizeof(why), "TLS with %s could not be set up: %s", name, err);
			fail_policy(why);
			return -1;
		}
		return 0;
	}
	if (name != NULL &&
	    (SSL_set_tlsext_host_name(rc.ssl, name) != 1 || SSL_set1_host(rc.ssl, name) != 1)) {
		fail_now("4.7.5 TLS could not be started");
		return -1;
	}
	return 0;
}

/* cb_starttls begins the client handshake on the connection. */
static void cb_starttls(void *ctx)
{
	(void)ctx;
	rc.tls_tried = true;
	if (tls_setup() < 0)
		return;
	SSL_set_connect_state(rc.ssl);
	rc.handshaking = true;
	arm();
	io_want(true);
}

/* handshake advances the TLS handshake. */
static void handshake(void)
{
	ERR_clear_error();
	int r = SSL_do_handshake(rc.ssl);
	struct tls_verdict v;
	if (r == 1) {
		rc.handshaking = false;
		/* Opportunistic TLS records whether the chain verifies; a policy
		 * asks for its own check. */
		if (rc.policy_on && rc.verdict.auth != DANE_AUTH_NONE)
			rc.tls_verified = dane_ssl_verified(rc.ssl, rc.verdict.auth);
		else
			rc.tls_verified = SSL_get_verify_result(rc.ssl) == X509_V_OK &&
					  SSL_get0_peer_certificate(rc.ssl) != NULL;
		log_info("%s: TLS %s, %s, certificate %s", rc.host, SSL_get_version(rc.ssl),
			 SSL_get_cipher_name(rc.ssl),
			 rc.tls_verified ? "verified" : "not verified");
		if (rc.policy_on) {
			decide(TLS_STAGE_HANDSHAKE, true, true, rc.tls_verified, &v);
			if (v.action != TLS_SEND) {
				fail_policy(v.reason);
				return;
			}
			if (v.reason[0] != '\0')
				log_warn("%s: %s", rc.host, v.reason);
		}
		arm();
		smtp_client_tls_started(rc.client);
		return;
	}
	int e = SSL_get_error(rc.ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		io_want(e == SSL_ERROR_WANT_WRITE);
		return;
	}
	char why[300];
	unsigned long err = ERR_get_error();
	snprintf(why, sizeof(why), "4.7.5 TLS handshake failed: %s",
		 err ? ERR_reason_error_string(err) : "connection closed");
	if (rc.policy_on) {
		decide(TLS_STAGE_HANDSHAKE, true, false, false, &v);
		if (v.action == TLS_DEFER) {
			log_warn("%s: %s", rc.host, why);
			fail_policy(v.reason);
			return;
		}
		if (v.reason[0] != '\0')
			log_warn("%s: %s", rc.host, v.reason);
		/* TLS_RETRY_PLAIN: a new connection to this host, in clear. */
		rc.retry_plain = v.action == TLS_RETRY_PLAIN && rc.clear_target != rc.next_target - 1;
	}
	fail_now(why);
}

/* conn_read takes what the server sent into the dialogue. */
static void conn_read(void)
{
	for (;;) {
		if (buf_reserve(&rc.in, RELAY_CHILD_READ) < 0) {
			fail_now("4.5.0 reply line too long");
			return;
		}
		ssize_t n;
		if (rc.ssl != NULL) {
			ERR_clear_error();
			int r = SSL_read(rc.ssl, rc.in.data + rc.in.len, RELAY_CHILD_READ);
			if (r <= 0) {
				int e = SSL_get_error(rc.ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				n = e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
			} else {
				n = r;
			}
		} else {
			n = recv(rc.fd, rc.in.data + rc.in.len, RELAY_CHILD_READ, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
		}
		if (n <= 0) {
			fail_now(n == 0 ? "4.4.2 the server closed the connection"
					: "4.4.2 the connection broke");
			return;
		}
		rc.in.len += (size_t)n;
		arm();
		smtp_client_input(rc.client, &rc.in);
		/* After STARTTLS's 220 the handshake reads the socket, not
		 * SSL_read: that would shake hands itself and fail as a broken
		 * connection, not as the handshake the policy judges. */
		if (rc.closing || rc.handshaking)
			return;
	}
}

static const struct smtp_client_callbacks callbacks;

/* connected: the TCP connection is up; the dialogue starts. */
static void connected(void)
{
	struct smtp_client_settings set = {
		.helo_name = rc.setup->config->hostname,
		.tls_possible = rc.setup->tls != NULL && rc.clear_target != rc.next_target - 1,
		.tls_required = rc.policy_on ? rc.verdict.tls_required : rc.setup->tls_required,
		.auth_plain = rc.setup->auth_plain,
	};
	rc.connecting = false;
	rc.was_ready = false;
	rc.tls_tried = false;
	rc.client = smtp_client_new(&set, &callbacks, NULL);
	if (rc.client == NULL) {
		snprintf(rc.why, sizeof(rc.why), "451 4.3.0 out of memory");
		conn_drop();
		fail_waiting();
		return;
	}
	log_info("connected to %s", rc.host);
	arm();
	io_want(false);
}

static void on_io(struct ev_io *io, unsigned events, void *ctx)
{
	(void)io;
	(void)ctx;
	if (rc.connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(rc.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			snprintf(rc.why, sizeof(rc.why), "451 4.4.1 connect to %s failed: %s",
				 rc.host, strerror(err));
			log_warn("%s", rc.why);
			conn_drop();
			try_next_target();
			return;
		}
		connected();
		return;
	}
	if (rc.handshaking) {
		handshake();
		return;
	}
	if (rc.closing)
		return;
	if ((events & EV_READ) || (rc.ssl != NULL && SSL_pending(rc.ssl) > 0))
		conn_read();
	if (!rc.closing && !rc.handshaking && !conn_flush())
		fail_now("4.4.2 the connection broke while sending");
	if (!rc.closing && !rc.handshaking)
		body_pump();
}

/* try_next_target connects to the next address; when none is left, every
 * job waiting gets why. */
static void try_next_target(void)
{
	const struct relay_child_setup *s = rc.setup;
	while (rc.next_target < rc.target_count) {
		const struct relay_target *t = &rc.targets[rc.next_target++];
		rc.tls_name = t->name != NULL ? t->name : s->host_name;
		char ip[INET6_ADDRSTRLEN];
		unsigned port;
		if (t->addr.ss_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const void *)&t->addr;
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
			port = ntohs(a->sin6_port);
		} else {
			const struct sockaddr_in *a = (const void *)&t->addr;
			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
			port = ntohs(a->sin_port);
		}
		snprintf(rc.host, sizeof(rc.host), "%s:%u", ip, port);
		rc.target = t;
		if (rc.policy_on) {
			decide(TLS_STAGE_MX, false, false, false, &rc.verdict);
			if (rc.verdict.action == TLS_SKIP_MX) {
				snprintf(rc.why, sizeof(rc.why), "451 4.7.5 %s", rc.verdict.reason);
				log_warn("%s: not used: %s", rc.host, rc.verdict.reason);
				continue;
			}
			if (rc.verdict.reason[0] != '\0')
				log_warn("%s: %s", rc.host, rc.verdict.reason);
		}
		rc.fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (rc.fd < 0) {
			snprintf(rc.why, sizeof(rc.why), "451 4.4.1 socket() failed: %s",
				 strerror(errno));
			continue;
		}
		if (connect(rc.fd, (const struct sockaddr *)&t->addr, t->addr_len) < 0 &&
		    errno != EINPROGRESS) {
			snprintf(rc.why, sizeof(rc.why), "451 4.4.1 connect to %s failed: %s", rc.host,
				 strerror(errno));
			log_warn("%s", rc.why);
			close(rc.fd);
			rc.fd = -1;
			continue;
		}
		rc.connecting = true;
		rc.io = ev_io_add(rc.ev, rc.fd, EV_WRITE, on_io, NULL);
		arm();
		return;
	}
	if (rc.target_count == 0 && rc.why[0] == '\0')
		snprintf(rc.why, sizeof(rc.why), "451 4.4.3 no host to try for %s", s->destination);
	log_warn("%s: no host could be had: %s", s->destination, rc.why);
	rc.host[0] = '\0';
	rc.dead = true;
	fail_waiting();
}

static void cb_ready(void *ctx)
{
	(void)ctx;
	if (rc.policy_on && !rc.was_ready && !smtp_client_tls_active(rc.client)) {
		/* In clear: only when TLS is optional (a testing policy not met
		 * is noted). */
		struct tls_verdict v;
		decide(TLS_STAGE_EHLO, false, false, false, &v);
		if (v.reason[0] != '\0')
			log_warn("%s: %s", rc.host, v.reason);
	}
	rc.was_ready = true;
	start_job();
}

/* start_job gives the dialogue the next job, or QUITs when the queue is
 * done with this destination. */
static void start_job(void)
{
	if (rc.client == NULL || rc.job_started)
		return;
	if (rc.jobs == NULL) {
		if (rc.queue_gone)
			smtp_client_quit(rc.client);
		return;
	}
	rc.job_started = true;
	if (smtp_client_send(rc.client, &rc.jobs->msg) < 0)
		fail_job_all(553, "553 5.1.3 an address cannot be sent as it is");
}

static void cb_body_wanted(void *ctx)
{
	(void)ctx;
	rc.jobs->offset = 0;
	rc.body_open = true;
	body_pump();
}

static void cb_rcpt_result(void *ctx, size_t index, unsigned code, struct str answer)
{
	(void)ctx;
	report(rc.jobs, index, code, answer);
}

static void cb_message_done(void *ctx)
{
	(void)ctx;
	rc.body_open = false;
	job_end();
}

/* after_close runs from the loop once the dialogue ended (the client may
 * not be freed inside its own callback): next host, or the end. */
static void after_close(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	rc.after_close = NULL;
	unsigned code = rc.closed_code;
	conn_drop();
	if (code < 400) {
		/* QUIT answered: the queue had nothing more. */
		fail_waiting();
		finish();
	}
	if (!rc.was_ready) {
		/* This host would not take mail at all: the next one may, or
		 * this one in clear after a failed opportunistic handshake. */
		if (rc.retry_plain) {
			rc.retry_plain = false;
			rc.clear_target = --rc.next_target;
			log_info("%s: trying again without TLS", rc.host);
		}
		try_next_target();
		return;
	}
	/* An end after messages: the jobs left wait for a retry. */
	rc.dead = true;
	fail_waiting();
}

static void cb_closed(void *ctx, unsigned code, struct str why)
{
	(void)ctx;
	rc.closed_code = code;
	rc.closing = true;
	rc.body_open = false;
	snprintf(rc.why, sizeof(rc.why), "%.*s", (int)why.len, why.ptr);
	if (rc.policy_on && !rc.was_ready && !rc.tls_tried && rc.verdict.tls_required &&
	    code >= 400 && memmem(why.ptr, why.len, "does not offer STARTTLS", 23) != NULL) {
		/* Refused before STARTTLS because the policy requires TLS: its
		 * words (RFC 8461 5, RFC 7672 2.2). */
		struct tls_verdict v;
		decide(TLS_STAGE_EHLO, false, false, false, &v);
		snprintf(rc.why, sizeof(rc.why), "4.7.5 %s", v.reason);
		why = str_c(rc.why);
	}
	if (code >= 400)
		log_warn("%s: connection ended: %s", rc.host, rc.why);
	if (code >= 500 || rc.why[0] != '4')
		/* Jobs that no connection took are retried, whatever a host
		 * said before any transaction. */
		snprintf(rc.why, sizeof(rc.why), "451 4.4.2 %s: %.*s", rc.host, (int)why.len,
			 why.ptr);
	/* A QUIT waiting in out goes if it can. */
	(void)conn_flush();
	if (rc.after_close == NULL)
		rc.after_close = ev_timer_add(rc.ev, 0, after_close, NULL);
}

static const struct smtp_client_callbacks callbacks = {
	.output = cb_output,
	.starttls = cb_starttls,
	.ready = cb_ready,
	.body_wanted = cb_body_wanted,
	.rcpt_result = cb_rcpt_result,
	.message_done = cb_message_done,
	.closed = cb_closed,
};

/* job_take reads IPC_RELAY_MSG into a job at the end of the list. */
static void job_take(const struct ipc_msg *msg)
{
	struct ipc_reader r;
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		close(msg->fd);
		return;
	}
	ipc_reader_init(&r, msg);
	j->id = ipc_get_u64(&r);
	struct str sender = ipc_get_str(&r, IPC_MAX_PATH);
	uint64_t flags = ipc_get_u64(&r);
	j->msg.size = ipc_get_u64(&r);
	uint64_t count = ipc_get_u64(&r);
	struct str rcpts[IPC_RELAY_MAX_RCPTS];
	for (uint64_t i = 0; i < count && i < IPC_RELAY_MAX_RCPTS; i++)
		rcpts[i] = ipc_get_str(&r, IPC_MAX_PATH);
	j->fd = msg->fd;
	if (count == 0 || count > IPC_RELAY_MAX_RCPTS || !ipc_reader_ok(&r)) {
		log_error("malformed job from the queue");
		close(j->fd);
		free(j);
		ipc_reject(&rc.queue, msg);
		rc.queue_gone = true;
		return;
	}
	/* Copies: the payload is the ipc's until the handler returns. */
	buf_init(&j->text, IPC_MAX_PAYLOAD);
	buf_append_str(&j->text, sender);
	for (uint64_t i = 0; i < count; i++)
		buf_append_str(&j->text, rcpts[i]);
	size_t at = 0;
	j->msg.sender = str_from(j->text.data, sender.len);
	at += sender.len;
	for (uint64_t i = 0; i < count; i++) {
		j->rcpts[i] = str_from(j->text.data + at, rcpts[i].len);
		at += rcpts[i].len;
	}
	j->rcpt_count = count;
	j->msg.rcpts = j->rcpts;
	j->msg.rcpt_count = count;
	j->msg.body_8bit = flags & IPC_QUEUE_8BITMIME;
	j->msg.smtputf8 = flags & IPC_QUEUE_SMTPUTF8;
	struct job **pp = &rc.jobs;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = j;
	if (rc.dead) {
		fail_waiting();
		return;
	}
	if (rc.client != NULL && rc.was_ready && !rc.closing)
		start_job();
}

static void queue_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ctx;
	if (msg->kind == IPC_RELAY_MSG) {
		job_take(msg);
		return;
	}
	struct ipc *self = ipc;
	ipc_reject(&self, msg);
	rc.queue = NULL;
	rc.queue_gone = true;
}

static void queue_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	rc.queue = NULL;
	rc.queue_gone = true;
	/* Nothing more will come: QUIT when idle, or go at once. */
	if (rc.client != NULL && !rc.closing && !rc.job_started && rc.was_ready)
		smtp_client_quit(rc.client);
	else if (rc.client == NULL && !rc.connecting)
		finish();
	else if (rc.jobs == NULL && !rc.was_ready)
		finish();
}

/* adopt_links moves the queue and resolver links to their fixed places
 * and closes every descriptor of the spawner's but the master link (log
 * records).  *resolver_fd becomes RELAY_CHILD_RESOLVER_FD or stays -1. */
static int adopt_links(int queue_fd, int *resolver_fd)
{
	/* Both above the targets first: either may sit on 4 or 5. */
	int q = fcntl(queue_fd, F_DUPFD_CLOEXEC, 10);
	int dns = *resolver_fd >= 0 ? fcntl(*resolver_fd, F_DUPFD_CLOEXEC, 10) : -1;
	if (q < 0 || (*resolver_fd >= 0 && dns < 0) ||
	    dup3(q, RELAY_CHILD_QUEUE_FD, O_CLOEXEC) < 0 ||
	    (dns >= 0 && dup3(dns, RELAY_CHILD_RESOLVER_FD, O_CLOEXEC) < 0))
		return -1;
	if (dns >= 0)
		*resolver_fd = RELAY_CHILD_RESOLVER_FD;
	close_range(RELAY_CHILD_RESOLVER_FD + 1, ~0U, 0);
	if (dns < 0)
		close(RELAY_CHILD_RESOLVER_FD);
	return 0;
}

/* dns_done: the destination's hosts are known (or why not), and its
 * MTA-STS record: its policy is fetched (blocking: nothing goes there
 * before it is known), then the hosts are tried. */
static void dns_done(const struct relay_target *targets, size_t count, unsigned fail_code,
		     const char *why, const struct relay_sts_lookup *sts)
{
	rc.policy_on = true;
	if (count > 0 && sts->published) {
		int ms = (int)(rc.setup->config->relay_connect_timeout * 1000);
		rc.have_sts = relay_tls_fetch_policy(rc.setup->sts_tls, sts, rc.setup->destination,
						     ms, &rc.sts) == 0;
	}
	rc.targets = targets;
	rc.target_count = count;
	if (count == 0) {
		rc.fail_code = fail_code;
		snprintf(rc.why, sizeof(rc.why), "%s", why);
	}
	try_next_target();
}

void relay_child_main(const struct relay_child_setup *setup)
{
	char name[64];
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	/* Log records go to master on the inherited link, written only. */
	process_forget_master_link();
	int resolver_fd = setup->resolver_fd;
	if (adopt_links(setup->queue_fd, &resolver_fd) < 0)
		_exit(1);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	snprintf(name, sizeof(name), "relay %.40s", setup->destination);
	log_init(name);
	process_set_title("ravelin relay (connection)");
	struct jail jail = { .name = name, .role = JAIL_ROLE_RELAY_CHILD };
	if (jail_narrow(&jail) < 0)
		_exit(1);

	memset(&rc, 0, sizeof(rc));
	rc.setup = setup;
	rc.fd = -1;
	rc.fail_code = 451;
	rc.clear_target = SIZE_MAX;
	buf_init(&rc.in, RELAY_CHILD_IN_MAX);
	buf_init(&rc.out, RELAY_CHILD_OUT_MAX);
	rc.ev = ev_new();
	if (rc.ev == NULL)
		_exit(1);
	rc.queue = ipc_new(rc.ev, RELAY_CHILD_QUEUE_FD, "queue", queue_message, queue_closed, NULL);
	if (rc.queue == NULL)
		_exit(1);
	if (strcmp(setup->destination, RELAY_SMARTHOST_DEST) == 0) {
		rc.targets = setup->targets;
		rc.target_count = setup->target_count;
		try_next_target();
	} else {
		relay_dns_find(rc.ev, resolver_fd, setup->destination, dns_done);
	}
	ev_run(rc.ev);
	finish();
}
