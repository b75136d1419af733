/*
 * NAME
 *	spam - asks rspamd what it makes of each incoming message
 * DESCRIPTION
 *	Started by master only when spam.rspamd is set.  The queue sends it
 *	each complete message before answering DATA (IPC_SPAM_CHECK: the
 *	envelope and a sealed memfd of the message); it POSTs the message to
 *	rspamd's /checkv2 over HTTP/1.1 (rspamd-http.c), reads the JSON
 *	answer (rspamd-verdict.c) and answers IPC_SPAM_VERDICT.  When rspamd
 *	cannot be reached, times out or answers nonsense, the verdict is
 *	"unchecked" and the queue decides (spam.fail_closed).  Training
 *	(IPC_SPAM_LEARN, from the queue or from a worker whose user moved a
 *	message into or out of Junk) is a POST to /learnspam or /learnham
 *	on rspamd's controller (spam.rspamd_controller), logged, unanswered.
 * SECURITY
 *	Holds no key and no spool; it sees only the memfds it is given.
 *	Jail: no file access (Landlock, no paths), TCP connect only to the
 *	ports of spam.rspamd and spam.rspamd_controller (Landlock ABI 4;
 *	Landlock filters by port, not address, and seccomp cannot see the
 *	address a connect() is given, so the host part of that rule is this
 *	process's own: it connects only to the numeric addresses configured,
 *	never to a name or an address from a message), its own uid, a
 *	seccomp allow-list.  A worker's link is taken for IPC_SPAM_LEARN
 *	only; anything else on it closes it.  rspamd's answers are bounded
 *	(size, header fields, time: rspamd-http.h, spam.h) and the header
 *	lines it asks for are checked and folded before the queue gets them.
 */
#include "spam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/io.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/uids.h"
#include "rspamd-http.h"
#include "rspamd-verdict.h"

/* A request head: the fixed fields, an IP, a HELO, a sender and up to
 * IPC_SPAM_MAX_RCPTS recipients, each a field line. */
#define SPAM_MAX_REQUEST_HEAD (IPC_SPAM_MAX_RCPTS * (IPC_MAX_PATH + 16) + 4096)
/* Message bytes read from the memfd and written per turn. */
#define SPAM_SEND_CHUNK (64 * 1024)

struct rspamd_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	bool set;
};

enum job_kind { JOB_CHECK, JOB_LEARN_SPAM, JOB_LEARN_HAM };

struct job {
	struct job *next;
	enum job_kind kind;
	struct ipc *from;   /* who asked; NULL once its link is gone */
	uint64_t id;
	int msg_fd;
	uint64_t msg_len, body_sent;
	int sock;
	bool connected;
	struct ev_io *io;
	struct ev_timer *timer;
	struct buf head;
	size_t head_sent;
	struct buf resp;
};

static struct {
	struct config config;
	struct ev *ev;
	struct rspamd_addr check, learn;
	struct job *jobs;
	unsigned job_count;
} sp;

/* parse_addr reads a numeric "host:port" (no name: nothing is resolved). */
static int parse_addr(const char *text, struct rspamd_addr *a)
{
	char host[64];
	uint16_t port;
	memset(a, 0, sizeof(*a));
	if (text[0] == '\0')
		return 0;
	if (config_parse_listen(text, host, sizeof(host), &port) < 0)
		return -1;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->sa;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		a->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		a->len = sizeof(*v6);
	} else {
		return -1;
	}
	a->set = true;
	return 0;
}

static uint16_t addr_port(const struct rspamd_addr *a)
{
	if (!a->set)
		return 0;
	return ntohs(a->sa.ss_family == AF_INET ? ((const struct sockaddr_in *)&a->sa)->sin_port
						: ((const struct sockaddr_in6 *)&a->sa)->sin6_port);
}

static const char *job_path(const struct job *j)
{
	return j->kind == JOB_CHECK ? "/checkv2" : j->kind == JOB_LEARN_SPAM ? "/learnspam"
									     : "/learnham";
}

static void job_free(struct job *j)
{
	struct job **pp = &sp.jobs;
	while (*pp != j)
		pp = &(*pp)->next;
	*pp = j->next;
	sp.job_count--;
	ev_io_del(&j->io);
	ev_timer_del(&j->timer);
	if (j->sock >= 0)
		close(j->sock);
	if (j->msg_fd >= 0)
		close(j->msg_fd);
	buf_free(&j->head);
	buf_free(&j->resp);
	free(j);
}

/* answer sends the verdict of a check (learning is only logged). */
static void answer(struct ipc *to, uint64_t id, enum ipc_spam_verdict verdict, struct str headers,
		   const char *reply)
{
	struct buf out;
	if (to == NULL)
		return;
	buf_init(&out, IPC_MAX_PAYLOAD);
	ipc_put_u64(&out, verdict);
	ipc_put_str(&out, headers);
	ipc_put_str(&out, str_c(reply));
	if (ipc_send_buf(to, IPC_SPAM_VERDICT, id, &out, -1) < 0)
		log_error("the spam verdict could not be sent to %s", ipc_peer_name(to));
	buf_free(&out);
}

/* job_fail ends a job that got no usable answer from rspamd. */
static void job_fail(struct job *j, const char *why)
{
	log_warn("rspamd %s: %s", job_path(j), why);
	if (j->kind == JOB_CHECK)
		answer(j->from, j->id, IPC_SPAM_UNCHECKED, STR_NULL, why);
	job_free(j);
}

/* job_done reads rspamd's complete answer. */
static void job_done(struct job *j, const struct rspamd_http_reply *reply)
{
	if (j->kind != JOB_CHECK) {
		if (reply->status == 200)
			log_info("rspamd learned a message as %s",
				 j->kind == JOB_LEARN_SPAM ? "spam" : "ham");
		else
			log_warn("rspamd %s answered %u: %.*s", job_path(j), reply->status,
				 (int)(reply->body.len > 200 ? 200 : reply->body.len), reply->body.ptr);
		job_free(j);
		return;
	}
	if (reply->status != 200) {
		job_fail(j, "rspamd answered an error status");
		return;
	}
	struct rspamd_verdict v;
	const char *error;
	rspamd_verdict_init(&v);
	if (rspamd_verdict_read(reply->body.ptr, reply->body.len, &v, &error) < 0) {
		rspamd_verdict_free(&v);
		job_fail(j, error);
		return;
	}
	log_info("rspamd: %s (score %.2f)", v.action, v.score);
	answer(j->from, j->id, v.verdict, buf_str(&v.headers), v.reply);
	rspamd_verdict_free(&v);
	job_free(j);
}

/* job_write sends what it can of the head, then of the message. */
static int job_write(struct job *j)
{
	char chunk[SPAM_SEND_CHUNK];
	while (j->head_sent < j->head.len) {
		ssize_t n = send(j->sock, j->head.data + j->head_sent, j->head.len - j->head_sent,
				 MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		j->head_sent += (size_t)n;
	}
	while (j->body_sent < j->msg_len) {
		size_t want = j->msg_len - j->body_sent < sizeof(chunk)
				      ? (size_t)(j->msg_len - j->body_sent)
				      : sizeof(chunk);
		ssize_t got = pread(j->msg_fd, chunk, want, (off_t)j->body_sent);
		if (got <= 0)
			return -1;
		ssize_t n = send(j->sock, chunk, (size_t)got, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		j->body_sent += (uint64_t)n;
	}
	ev_io_set(j->io, EV_READ);
	return 0;
}

/* job_read takes what rspamd sent and parses it; the job ends (and is
 * freed) once the answer is complete, bad or too long. */
static void job_read(struct job *j)
{
	for (;;) {
		if (buf_reserve(&j->resp, 4096) < 0) {
			job_fail(j, "response too long");
			return;
		}
		ssize_t n = recv(j->sock, j->resp.data + j->resp.len, j->resp.cap - j->resp.len - 1, 0);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			job_fail(j, "reading the response failed");
			return;
		}
		j->resp.len += (size_t)n;
		j->resp.data[j->resp.len] = '\0';
		struct rspamd_http_reply reply;
		const char *error;
		int r = rspamd_http_reply_parse(j->resp.data, j->resp.len, n == 0, &reply, &error);
		if (r < 0) {
			job_fail(j, error);
			return;
		}
		if (r > 0) {
			job_done(j, &reply);
			return;
		}
	}
}

static void job_io(struct ev_io *io, unsigned events, void *ctx)
{
	struct job *j = ctx;
	(void)io;
	if (!j->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(j->sock, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			job_fail(j, "cannot connect to rspamd");
			return;
		}
		j->connected = true;
	}
	if ((events & EV_WRITE) && job_write(j) < 0) {
		job_fail(j, "sending to rspamd failed");
		return;
	}
	if (events & EV_READ)
		job_read(j);
}

static void job_timeout(struct ev_timer *t, void *ctx)
{
	struct job *j = ctx;
	(void)t;
	j->timer = NULL;
	job_fail(j, "rspamd did not answer in time");
}

/* job_start takes over msg_fd (the message) and starts the exchange; on
 * failure the job ends at once (a check answered "unchecked"). */
static void job_start(struct job *j, const struct rspamd_addr *to)
{
	struct stat st;
	if (fstat(j->msg_fd, &st) < 0 || (fcntl(j->msg_fd, F_GET_SEALS) & F_SEAL_WRITE) == 0) {
		job_fail(j, "the message is not a sealed memfd");
		return;
	}
	j->msg_len = (uint64_t)st.st_size;
	j->sock = socket(to->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (j->sock < 0) {
		job_fail(j, "socket() failed");
		return;
	}
	if (connect(j->sock, (const struct sockaddr *)&to->sa, to->len) < 0 &&
	    errno != EINPROGRESS) {
		job_fail(j, "cannot connect to rspamd");
		return;
	}
	j->io = ev_io_add(sp.ev, j->sock, EV_READ | EV_WRITE, job_io, j);
	j->timer = ev_timer_add(sp.ev, SPAM_RSPAMD_TIMEOUT_MS, job_timeout, j);
	if (j->io == NULL || j->timer == NULL)
		job_fail(j, "out of memory");
}

static struct job *job_new(enum job_kind kind, struct ipc *from, uint64_t id, int msg_fd)
{
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		close(msg_fd);
		return NULL;
	}
	j->kind = kind;
	j->from = from;
	j->id = id;
	j->msg_fd = msg_fd;
	j->sock = -1;
	buf_init(&j->head, SPAM_MAX_REQUEST_HEAD);
	buf_init(&j->resp, RSPAMD_HTTP_MAX_RESPONSE + 1);
	j->next = sp.jobs;
	sp.jobs = j;
	sp.job_count++;
	return j;
}

/* check_start reads IPC_SPAM_CHECK; false when it is malformed. */
static bool check_start(struct ipc *from, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	struct rspamd_http_field f[4 + IPC_SPAM_MAX_RCPTS];
	size_t n = 0;
	char qid[32];
	const char *error;

	ipc_reader_init(&r, msg);
	f[n++] = (struct rspamd_http_field){ "IP", ipc_get_str(&r, IPC_LOGIN_MAX_IP) };
	f[n++] = (struct rspamd_http_field){ "Helo", ipc_get_str(&r, IPC_SPAM_MAX_HELO) };
	f[n++] = (struct rspamd_http_field){ "From", ipc_get_str(&r, IPC_MAX_PATH) };
	uint64_t count = ipc_get_u64(&r);
	if (count > IPC_SPAM_MAX_RCPTS)
		return false;
	for (uint64_t i = 0; i < count; i++)
		f[n++] = (struct rspamd_http_field){ "Rcpt", ipc_get_str(&r, IPC_MAX_PATH) };
	if (!ipc_reader_ok(&r))
		return false;
	snprintf(qid, sizeof(qid), "%llx", (unsigned long long)msg->id);
	f[n++] = (struct rspamd_http_field){ "Queue-Id", str_c(qid) };
	/* Empty fields are left out: rspamd reads an empty IP as an error. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (f[i].value.len > 0)
			f[kept++] = f[i];
	struct job *j = job_new(JOB_CHECK, from, msg->id, msg->fd);
	if (j == NULL) {
		answer(from, msg->id, IPC_SPAM_UNCHECKED, STR_NULL, "out of memory");
		return true;
	}
	if (sp.job_count > SPAM_MAX_JOBS) {
		job_fail(j, "too many checks under way");
		return true;
	}
	struct stat st;
	if (fstat(j->msg_fd, &st) < 0 ||
	    rspamd_http_request_head(&j->head, "/checkv2", (size_t)st.st_size, f, kept, &error) <
		    0) {
		job_fail(j, "the envelope cannot be sent");
		return true;
	}
	job_start(j, &sp.check);
	return true;
}

/* learn_start reads IPC_SPAM_LEARN; false when it is malformed. */
static bool learn_start(struct ipc *from, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	const char *error;
	ipc_reader_init(&r, msg);
	uint64_t spam = ipc_get_u64(&r);
	if (!ipc_reader_ok(&r) || spam > 1)
		return false;
	if (!sp.learn.set || sp.job_count >= SPAM_MAX_JOBS) {
		log_warn("not learning a message as %s: %s", spam ? "spam" : "ham",
			 sp.learn.set ? "too many exchanges under way"
				      : "spam.rspamd_controller is not set");
		close(msg->fd);
		return true;
	}
	struct job *j = job_new(spam ? JOB_LEARN_SPAM : JOB_LEARN_HAM, from, msg->id, msg->fd);
	if (j == NULL)
		return true;
	struct stat st;
	if (fstat(j->msg_fd, &st) < 0 ||
	    rspamd_http_request_head(&j->head, job_path(j), (size_t)st.st_size, NULL, 0, &error) < 0) {
		job_fail(j, "the request cannot be made");
		return true;
	}
	job_start(j, &sp.learn);
	return true;
}

static void link_closed(struct ipc *ipc, void *ctx)
{
	(void)ctx;
	for (struct job *j = sp.jobs; j != NULL; j = j->next)
		if (j->from == ipc)
			j->from = NULL;
}

/* queue_handler: the queue asks for checks and learning. */
static void queue_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	bool ok = false;
	(void)ctx;
	if (msg->kind == IPC_SPAM_CHECK)
		ok = check_start(ipc, msg);
	else if (msg->kind == IPC_SPAM_LEARN)
		ok = learn_start(ipc, msg);
	if (!ok) {
		link_closed(ipc, NULL);
		ipc_reject(&ipc, msg);
	}
}

/* worker_handler: a worker may only ask to learn a message. */
static void worker_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ctx;
	if (msg->kind != IPC_SPAM_LEARN || !learn_start(NULL, msg)) {
		link_closed(ipc, NULL);
		ipc_reject(&ipc, msg);
	}
}

static void master_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct ipc_reader r;
	(void)ipc;
	(void)ctx;
	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_PEER) {
		uint64_t role = ipc_get_u64(&r);
		uint64_t index = ipc_get_u64(&r);
		char name[48];
		snprintf(name, sizeof(name), "%s %llu", process_role_name((enum ipc_role)role),
			 (unsigned long long)index);
		ipc_handler_fn *fn = role == IPC_ROLE_QUEUE    ? queue_handler
				     : role == IPC_ROLE_WORKER ? worker_handler
							       : NULL;
		if (fn == NULL || ipc_new(sp.ev, msg->fd, name, fn, link_closed, NULL) == NULL)
			close(msg->fd);
		return;
	}
	log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
	if (msg->fd >= 0)
		close(msg->fd);
}

static void on_term(int signo, void *ctx)
{
	(void)signo;
	(void)ctx;
	ev_stop(sp.ev);
}

/* spam_main: see spam.h. */
int spam_main(void)
{
	if (process_child_init("spam", &sp.config) < 0)
		return 1;
	if (parse_addr(sp.config.spam_rspamd, &sp.check) < 0 || !sp.check.set ||
	    parse_addr(sp.config.spam_rspamd_controller, &sp.learn) < 0) {
		log_error("spam.rspamd and spam.rspamd_controller must be numeric host:port");
		return PROCESS_EXIT_CANNOT_START;
	}
	/* The jail: no files, TCP connect to rspamd's ports only. */
	struct jail jail = { .name = "spam", .path_count = 0, .role = JAIL_ROLE_SPAM,
			     .connect_ports = { addr_port(&sp.check), addr_port(&sp.learn) },
			     .connect_port_count = sp.learn.set ? 2 : 1 };
	if (uids_enter_for(&sp.config, jail.role, 0, &jail.ids) < 0 || jail_enter(&jail) < 0)
		return 1;
	sp.ev = ev_new();
	if (sp.ev == NULL || process_master_link(sp.ev, master_handler, NULL) == NULL)
		return 1;
	ev_signal_add(sp.ev, SIGTERM, on_term, NULL);
	signal(SIGPIPE, SIG_IGN);
	ev_run(sp.ev);
	return 0;
}
