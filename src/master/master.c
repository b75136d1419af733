/*
 * NAME
 *	master - the one process that starts privileged
 * DESCRIPTION
 *	Reads the configuration, opens the listening sockets, starts every
 *	other process (fork + exec of this binary with its role: spawners,
 *	auth, keys, queue, and one worker per active account), connects them
 *	with socketpairs (again when a spawner lost a link), restarts the ones
 *	that die (with a growing delay when they die young), and is the only
 *	writer of the log: children's records and their standard error.  A
 *	pre-auth process that logged in shows it auth's ticket: master opens
 *	it once, starts the account's worker if need be and gives the two a
 *	link for the session, and tells the spawner that process now holds a
 *	session.  The queue gets links to workers the same way, by account id.
 * SECURITY
 *	Master parses nothing from the network.  It reads only typed messages
 *	from its children, checked by the ipc layer (and, from pre-auth
 *	processes, bounded: queued answers, session requests, log records),
 *	and decides itself which
 *	account directory a worker is confined to (from the directory's ids,
 *	never from names in a request).  It keeps the privileges it started
 *	with: it must bind ports and start children as other users.  Started
 *	as root, each child drops to a uid of its own (uids.h); master
 *	refuses to start the worker of an account that has no uid.
 * SIGNALS
 *	SIGTERM and SIGINT stop the server.  SIGHUP reloads what can change
 *	without a restart: the log file is reopened (logrotate), log.level
 *	and the TLS certificate and key are read again (a new keys process
 *	replaces the old one, spawners are sent the new certificate;
 *	connections already served keep theirs).  SIGUSR1 is the command
 *	line's: end the sessions of the accounts it names in DATA/control.
 *	SIGUSR2 is logged and ignored.
 */
#include "master.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/conncount.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/ticket.h"
#include "lib/tls.h"
#include "lib/uids.h"
#include "master-stderr.h"

/* Children of all kinds at once (spawners, auth, queue, workers). */
#define MASTER_MAX_CHILDREN 4096
/* A child that dies within this long of its start is restarted with a
 * growing delay, so a crash loop cannot spin the machine. */
#define MASTER_QUICK_DEATH_MS 10000
#define MASTER_MAX_RESTART_DELAY_MS 30000
/* Listening sockets of all services together: each of SMTP, POP3, POP3S,
 * IMAP and IMAPS may have CONFIG_MAX_LISTEN. */
#define MASTER_MAX_LISTENERS (5 * CONFIG_MAX_LISTEN)
/* Links of pre-auth processes at once, all spawners together (each
 * spawner has at most front.max_connections plus its spares). */
#define MASTER_MAX_PREAUTH (64 * 1024)
/* What a pre-auth process that does not read its link may make master
 * hold for it: its answers are a few small messages. */
#define MASTER_PREAUTH_MAX_QUEUED (64 * 1024)
/* Sessions one pre-auth process may ask for: it serves one connection,
 * and only a login auth accepted leads here (a refused one does not). */
#define MASTER_PREAUTH_MAX_OPENS 8
/* Log records of one pre-auth process: a burst, then a trickle. */
#define MASTER_PREAUTH_LOG_BURST 200
#define MASTER_PREAUTH_LOG_PER_SECOND 20
/* How long children get to finish after SIGTERM before SIGKILL. */
#define MASTER_STOP_GRACE_MS 5000
/* Room for the start-up line about uids, or the reason of a refusal. */
#define MASTER_UIDS_LINE 512
/* A child's last error record, kept to say why it could not start. */
#define MASTER_LAST_ERROR 300
/* The first wait before a worker that failed at start is started again;
 * it doubles with each failure up to MASTER_MAX_RESTART_DELAY_MS. */
#define MASTER_WORKER_FIRST_DELAY_MS 1000
/* Accounts whose workers back off at once: past it, the back-off that
 * ends first makes room (an account with a broken folder is rare; a
 * thousand at once is a broken disk, which the log says anyway). */
#define MASTER_MAX_BACKOFFS 1024
/* Room for why a reload kept the old certificate (two paths and a reason). */
#define MASTER_RELOAD_ERROR (2 * CONFIG_MAX_STRING + 256)
/* A reload's old keys process is stopped this long after its successor
 * took over: no handshake waits longer for a signature (TLS_KEY_TIMEOUT_MS
 * is 5000), so the ones it was signing for finish. */
#define MASTER_RELOAD_GRACE_MS 6000

struct child {
	pid_t pid;
	enum ipc_role role;
	unsigned index;           /* spawner number */
	uint64_t account;         /* worker's account id */
	struct ipc *link;
	uint64_t started;
	uint64_t restart_delay;
	bool retiring;            /* a worker that asked to exit, or keys replaced
				   * by a reload: not used, not restarted */
	struct ev_timer *restart_timer;
	struct child_stderr *err;   /* its standard error, logged as its own */
	bool in_use;
	char last_error[MASTER_LAST_ERROR];
};

/* An account whose worker failed at start: none is started before until,
 * and the next failure doubles delay. */
struct worker_backoff {
	uint64_t account;         /* 0: a free entry */
	uint64_t until;
	uint64_t delay;
	char why[MASTER_LAST_ERROR];
};

struct master {
	struct ev *ev;
	const struct config *config;   /* &live */
	struct config live;      /* as started, with what SIGHUP reloaded */
	const char *config_path; /* read again on SIGHUP; NULL: defaults */
	enum log_level level;    /* records below it are not written */
	bool cert_pending;       /* spawners get the certificate when keys is back */
	char exe[PATH_MAX];
	int config_fd;
	int log_fd;
	unsigned spawner_count;
	int conncount_fd;        /* connections per address, shared by spawners */
	int listen_fds[MASTER_MAX_LISTENERS];
	uint64_t listen_services[MASTER_MAX_LISTENERS];
	unsigned listen_count;
	struct child children[MASTER_MAX_CHILDREN];
	struct worker_backoff backoffs[MASTER_MAX_BACKOFFS];
	bool stopping;
	bool start_failed;       /* a child that cannot start stopped us */
	uint64_t stop_deadline;
	/* Made at start, given to auth only: auth seals tickets, master opens. */
	unsigned char ticket_key[TICKET_KEY_SIZE];
	/* Made at start, given to auth (which seals recipient answers) and the
	 * queue (which checks them) only. */
	unsigned char rcpt_key[TICKET_KEY_SIZE];
	/* Tickets already shown: each opens one session. */
	struct ticket_replay replay;
	/* Links of pre-auth processes (the spawners' children). */
	struct preauth *preauths;
	unsigned preauth_count;
};

/* A pre-auth process's link: it logs and shows tickets here. */
struct preauth {
	struct preauth *next, **prev;
	struct ipc *link;
	uint64_t serial;
	char name[40];
	/* Its log records: a bucket, so that one cannot fill the disk. */
	double log_tokens;
	uint64_t log_time;
	uint64_t log_dropped;
	unsigned opens;         /* sessions asked for */
};

static struct master *the_master;

static void master_write_log(const char *record, size_t len)
{
	char line[LOG_MAX_RECORD + 64];
	size_t n = log_format_line(line, sizeof(line), record, len);

	if (write(STDERR_FILENO, line, n) < 0) {
		/* stderr gone: the file below still has it */
	}
	if (the_master != NULL && the_master->log_fd >= 0 && write(the_master->log_fd, line, n) < 0) {
		/* the disk is full: nothing better to do than go on */
	}
}

static void master_log_sink(enum log_level level, const char *record, size_t len)
{
	(void)level;
	master_write_log(record, len);
}

/* write_child_stderr logs a line a child wrote to its standard error. */
static void write_child_stderr(const char *name, const char *text, size_t len)
{
	char line[MASTER_STDERR_LINE * 4 + 96];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s (standard error): ", name);
	n += log_escape(line + n, sizeof(line) - n, text, len);
	master_write_log(line, n);
}

static struct child *child_alloc(void)
{
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++)
		if (!the_master->children[i].in_use) {
			memset(&the_master->children[i], 0, sizeof(the_master->children[i]));
			the_master->children[i].in_use = true;
			return &the_master->children[i];
		}
	return NULL;
}

static struct child *child_by_pid(pid_t pid)
{
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++)
		if (the_master->children[i].in_use && the_master->children[i].pid == pid)
			return &the_master->children[i];
	return NULL;
}

static struct child *live_child(enum ipc_role role, uint64_t account)
{
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
		struct child *c = &the_master->children[i];
		if (c->in_use && c->pid > 0 && c->role == role && c->link != NULL && !c->retiring &&
		    (role != IPC_ROLE_WORKER || c->account == account))
			return c;
	}
	return NULL;
}

static struct child *live_spawner(unsigned index)
{
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
		struct child *c = &the_master->children[i];
		if (c->in_use && c->pid > 0 && c->role == IPC_ROLE_SPAWNER && c->index == index &&
		    c->link != NULL)
			return c;
	}
	return NULL;
}

static void child_name(const struct child *c, char *out, size_t size)
{
	if (c->role == IPC_ROLE_SPAWNER)
		snprintf(out, size, "spawner %u", c->index);
	else if (c->role == IPC_ROLE_WORKER)
		snprintf(out, size, "worker %llu", (unsigned long long)c->account);
	else
		snprintf(out, size, "%s", process_role_name(c->role));
}

/* child_drop_link: a message c needs could not be queued for it (its
 * link is full or broken).  Its link is closed, so the child ends and is
 * restarted (or, a worker, started again when next needed) instead of
 * running without it; logged once, naming what was lost. */
static void child_drop_link(struct child *c, const char *what)
{
	char name[64];
	child_name(c, name, sizeof(name));
	log_error("%s could not be sent %s: closing its link", name, what);
	if (c->link != NULL)
		ipc_close(&c->link);
}

/* connect_peers gives a and b the two ends of a new link. */
static void connect_peers(struct child *a, struct child *b)
{
	int sv[2];
	struct buf pa, pb;
	uint64_t tmp[2];

	if (a->link == NULL || b->link == NULL)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair() failed: %m");
		return;
	}
	buf_init(&pa, sizeof(tmp));
	buf_init(&pb, sizeof(tmp));
	ipc_put_u64(&pa, b->role);
	ipc_put_u64(&pa, b->index);
	ipc_put_u64(&pb, a->role);
	ipc_put_u64(&pb, a->index);
	/* A side that cannot take its end finds the link closed (its peer's
	 * end is closed below) and asks again, as after a restart. */
	if (ipc_send_buf(a->link, IPC_PEER, 0, &pa, sv[0]) < 0 ||
	    ipc_send_buf(b->link, IPC_PEER, 0, &pb, sv[1]) < 0) {
		char an[64], bn[64];
		child_name(a, an, sizeof(an));
		child_name(b, bn, sizeof(bn));
		log_error("the link between %s and %s could not be sent", an, bn);
	}
	buf_free(&pa);
	buf_free(&pb);
	close(sv[0]);
	close(sv[1]);
}

static void child_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx);
static void child_link_closed(struct ipc *ipc, void *ctx);

static int child_spawn(struct child *c)
{
	struct master *m = the_master;
	int sv[2];
	char name[64], index[24], account[24];
	char *argv[8];
	int argc = 0;

	int err[2];

	child_name(c, name, sizeof(name));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair() failed: %m");
		return -1;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		log_error("pipe2() failed: %m");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	argv[argc++] = (char *)"ravelin";
	argv[argc++] = (char *)"--role";
	argv[argc++] = (char *)process_role_name(c->role);
	if (c->role == IPC_ROLE_SPAWNER) {
		snprintf(index, sizeof(index), "%u", c->index);
		argv[argc++] = (char *)"--index";
		argv[argc++] = index;
	} else if (c->role == IPC_ROLE_WORKER) {
		snprintf(account, sizeof(account), "%llu", (unsigned long long)c->account);
		argv[argc++] = (char *)"--account";
		argv[argc++] = account;
	}
	argv[argc] = NULL;

	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork() for %s failed: %m", name);
		close(sv[0]);
		close(sv[1]);
		close(err[0]);
		close(err[1]);
		return -1;
	}
	if (pid == 0) {
		/* Exactly the link and the configuration cross the exec, with
		 * nothing for input and output and a pipe to master for errors:
		 * no child holds master's log file or terminal. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Move both above the targets first: either may sit on 3 or 4. */
		int link = fcntl(sv[1], F_DUPFD, 10);
		int conf = fcntl(m->config_fd, F_DUPFD, 10);
		int null = open("/dev/null", O_RDWR);
		if (link < 0 || conf < 0 || null < 0 || dup2(null, STDIN_FILENO) < 0 ||
		    dup2(null, STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0 ||
		    dup2(link, PROCESS_FD_MASTER) < 0 || dup2(conf, PROCESS_FD_CONFIG) < 0)
			_exit(127);
		close_range(PROCESS_FD_CONFIG + 1, ~0U, 0);
		execv(m->exe, argv);
		_exit(127);
	}
	close(sv[1]);
	close(err[1]);
	child_stderr_free(&c->err);
	c->err = child_stderr_watch(m->ev, err[0], name, write_child_stderr);
	c->pid = pid;
	c->started = ev_now(m->ev);
	c->link = ipc_new(m->ev, sv[0], name, child_handler, child_link_closed, c);
	if (c->link == NULL) {
		close(sv[0]);
		kill(pid, SIGKILL);
		return -1;
	}
	log_debug("started %s as pid %d", name, (int)pid);
	return 0;
}

/* send_certificate gives a spawner the configured certificate chain, as a
 * descriptor: it may open no file itself. */
static void send_certificate(struct child *spawner)
{
	uint64_t none = 0;
	int fd = open(the_master->config->tls_cert, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("open(%s) failed: %m", the_master->config->tls_cert);
		return;
	}
	if (ipc_send(spawner->link, IPC_TLS_CERT, 0, &none, sizeof(none), fd) < 0)
		log_error("spawner %u: the renewed certificate could not be sent", spawner->index);
	close(fd);
}

/* wire_child gives a (re)started child its peers and, for spawners, the
 * listening sockets. */
static void wire_child(struct child *c)
{
	struct master *m = the_master;

	if (c->role == IPC_ROLE_SPAWNER) {
		uint64_t spawners = m->spawner_count;
		if (ipc_send(c->link, IPC_CONNCOUNT, 0, &spawners, sizeof(spawners),
			     m->conncount_fd) < 0) {
			child_drop_link(c, "the connection table");
			return;
		}
		for (unsigned i = 0; i < m->listen_count; i++)
			if (ipc_send(c->link, IPC_LISTEN, i, &m->listen_services[i],
				     sizeof(m->listen_services[i]), m->listen_fds[i]) < 0) {
				child_drop_link(c, "its listening sockets");
				return;
			}
		static const enum ipc_role peers[] = { IPC_ROLE_AUTH, IPC_ROLE_QUEUE, IPC_ROLE_KEYS };
		for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
			struct child *peer = live_child(peers[i], 0);
			if (peer != NULL)
				connect_peers(c, peer);
		}
	} else if (c->role == IPC_ROLE_AUTH || c->role == IPC_ROLE_QUEUE ||
		   c->role == IPC_ROLE_KEYS) {
		if ((c->role == IPC_ROLE_AUTH &&
		     ipc_send(c->link, IPC_TICKET_KEY, 0, m->ticket_key, TICKET_KEY_SIZE, -1) < 0) ||
		    ((c->role == IPC_ROLE_AUTH || c->role == IPC_ROLE_QUEUE) &&
		     ipc_send(c->link, IPC_RCPT_KEY, 0, m->rcpt_key, TICKET_KEY_SIZE, -1) < 0)) {
			child_drop_link(c, "its keys");
			return;
		}
		/* Keys back on a reloaded key: each spawner gets the new
		 * certificate before the new link, so the spares it makes on
		 * that link have both. */
		bool cert = c->role == IPC_ROLE_KEYS && m->cert_pending;
		for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
			struct child *f = &m->children[i];
			if (f->in_use && f->role == IPC_ROLE_SPAWNER && f->link != NULL) {
				if (cert)
					send_certificate(f);
				connect_peers(f, c);
			}
		}
		if (cert)
			m->cert_pending = false;
	}
}

static void restart_timer_fired(struct ev_timer *t, void *ctx)
{
	struct child *c = ctx;
	(void)t;
	c->restart_timer = NULL;
	if (the_master->stopping)
		return;
	if (child_spawn(c) == 0)
		wire_child(c);
	else
		c->restart_timer = ev_timer_add(the_master->ev, 1000, restart_timer_fired, c);
}

/* worker_backoff finds the back-off of account's worker (it failed at
 * start), or NULL; with make, a new or reused entry instead of NULL. */
static struct worker_backoff *worker_backoff(uint64_t account, bool make)
{
	struct worker_backoff *room = NULL;
	for (size_t i = 0; i < MASTER_MAX_BACKOFFS; i++) {
		struct worker_backoff *b = &the_master->backoffs[i];
		if (b->account == account)
			return b;
		if (room == NULL || b->account == 0 || (room->account != 0 && b->until < room->until))
			room = b;
	}
	if (!make)
		return NULL;
	memset(room, 0, sizeof(*room));
	room->account = account;
	return room;
}

/* worker_for finds or starts the worker of account; NULL if the account
 * has no store (deleted), its worker failed at start and its back-off
 * has not passed, or no process can be started. */
static struct child *worker_for(uint64_t account)
{
	struct master *m = the_master;
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/accounts/%llu", m->config->data,
		 (unsigned long long)account);
	if (account == 0 || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_warn("no store for account %llu", (unsigned long long)account);
		return NULL;
	}
	struct child *w = live_child(IPC_ROLE_WORKER, account);
	if (w != NULL)
		return w;
	struct worker_backoff *backoff = worker_backoff(account, false);
	if (backoff != NULL && ev_now(m->ev) < backoff->until)
		return NULL;
	/* Checked here so the refusal is logged once per request, by master,
	 * rather than by a worker that starts and exits in a loop. */
	char why[MASTER_UIDS_LINE];
	struct jail_ids ids;
	if (uids_for(m->config, JAIL_ROLE_WORKER, account, &ids, why, sizeof(why)) < 0) {
		log_error("%s: not served", why);
		return NULL;
	}
	w = child_alloc();
	if (w == NULL) {
		log_error("too many processes (%d) to start a worker", MASTER_MAX_CHILDREN);
		return NULL;
	}
	w->role = IPC_ROLE_WORKER;
	w->account = account;
	w->last_error[0] = '\0';
	if (child_spawn(w) < 0) {
		w->in_use = false;
		return NULL;
	}
	return w;
}

/* start_worker gives the queue (requester) one end of a new link to the
 * worker of account; or, while that worker is backing off after failing
 * at start, tells it how long to wait and why. */
static void start_worker(struct child *requester, uint64_t account)
{
	struct worker_backoff *b = worker_backoff(account, false);
	uint64_t now = ev_now(the_master->ev);
	if (b != NULL && now < b->until) {
		struct buf out;
		char why[MASTER_LAST_ERROR + 64];
		snprintf(why, sizeof(why), "the account's worker fails at start: %s",
			 b->why[0] ? b->why : "see the log");
		buf_init(&out, 2 * IPC_U64_SIZE + IPC_STR_SIZE(IPC_DELIVER_MAX_TEXT));
		ipc_put_u64(&out, account);
		ipc_put_u64(&out, b->until - now);
		ipc_put_str(&out, str_sub(str_c(why), 0, IPC_DELIVER_MAX_TEXT));
		if (ipc_send_buf(requester->link, IPC_WORKER_DEFERRED, account, &out, -1) < 0)
			child_drop_link(requester, "the answer to its worker request");
		buf_free(&out);
		return;
	}
	struct child *w = worker_for(account);
	int sv[2];

	if (w == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		if (ipc_send(requester->link, IPC_WORKER_UNAVAILABLE, account, &account,
			     sizeof(account), -1) < 0)
			child_drop_link(requester, "the answer to its worker request");
		return;
	}
	/* A worker that cannot take its end leaves the queue a closed link:
	 * the queue delivers again.  A queue that cannot take its end would
	 * wait for it for ever: it is restarted (and delivers everything in
	 * the spool again, the keys keeping that safe). */
	if (ipc_send(w->link, IPC_WORKER_CONN, account, &account, sizeof(account), sv[0]) < 0)
		child_drop_link(w, "a link to the queue");
	if (ipc_send(requester->link, IPC_WORKER_CONN, account, &account, sizeof(account),
		     sv[1]) < 0)
		child_drop_link(requester, "its link to a worker");
	close(sv[0]);
	close(sv[1]);
}

static void preauth_free(struct preauth *p);

/* session_refuse tells a pre-auth process it gets no session; one whose
 * link cannot take even that (it does not read) is cut off, so that its
 * client is not left waiting for an answer that never comes. */
static void session_refuse(struct preauth *p, uint64_t id, uint64_t why)
{
	if (ipc_send(p->link, IPC_SESSION_REFUSED, id, &why, sizeof(why), -1) == 0)
		return;
	log_error("%s does not read its link: closing it", p->name);
	preauth_free(p);
}

/*
 * open_session: a pre-auth process shows a ticket after a login.  Only a
 * ticket auth sealed, unexpired and never shown before names the account;
 * the pre-auth process then gets one end of a link whose other end goes to
 * that account's worker, and hands the connection over on it.
 */
static void open_session(struct preauth *p, const struct ipc_msg *msg)
{
	struct master *m = the_master;
	struct ipc_reader r;
	struct ticket t;
	uint64_t refused = IPC_SESSION_BAD_TICKET;
	int sv[2];

	ipc_reader_init(&r, msg);
	uint64_t protocol = ipc_get_u64(&r);
	struct str sealed = ipc_get_str(&r, TICKET_SIZE);
	uint64_t now = (uint64_t)time(NULL);
	if (!ipc_reader_ok(&r) || (protocol != IPC_PROTO_POP3 && protocol != IPC_PROTO_IMAP) ||
	    ticket_open(m->ticket_key, (const unsigned char *)sealed.ptr, sealed.len, now, &t) < 0) {
		log_error("%s showed an invalid or expired ticket: no session", p->name);
		session_refuse(p, msg->id, refused);
		return;
	}
	if (ticket_replay_use(&m->replay, &t, now) < 0) {
		log_error("%s showed a ticket that was used before: no session", p->name);
		session_refuse(p, msg->id, refused);
		return;
	}
	struct child *w = worker_for(t.account);
	if (w == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		session_refuse(p, msg->id, IPC_SESSION_NO_WORKER);
		return;
	}
	if (ipc_send(w->link, IPC_SESSION, msg->id, &protocol, sizeof(protocol), sv[0]) < 0 ||
	    ipc_send(p->link, IPC_SESSION_READY, msg->id, &t.account, sizeof(t.account), sv[1]) < 0) {
		log_error("%s: the session could not be passed on", p->name);
		close(sv[0]);
		close(sv[1]);
		session_refuse(p, msg->id, IPC_SESSION_NO_WORKER);
		return;
	}
	close(sv[0]);
	close(sv[1]);
	/* Its spawner spares it when places run out (a relayed session); a
	 * spawner that cannot hear it now merely may end it under pressure. */
	struct child *spawner = live_spawner((unsigned)(p->serial >> PREAUTH_SERIAL_SHIFT));
	uint64_t state[2] = { p->serial, IPC_PREAUTH_LOGGED_IN };
	if (spawner != NULL)
		(void)ipc_send(spawner->link, IPC_PREAUTH_STATE, 0, state, sizeof(state), -1);
}

/*
 * write_child_log writes a record a child sent.  Its bytes are the
 * child's: control characters are escaped (no forged lines), and a record
 * that does not start with the sender's own name is marked as its.
 */
static void write_child_log(const char *name, struct str text)
{
	char line[LOG_MAX_RECORD * 4 + 64];
	size_t n = 0, name_len = strlen(name);

	if (text.len <= name_len || memcmp(text.ptr, name, name_len) != 0 ||
	    text.ptr[name_len] != '[')
		n = (size_t)snprintf(line, sizeof(line), "(from %s) ", name);
	n += log_escape(line + n, sizeof(line) - n, text.ptr, text.len);
	master_write_log(line, n);
}

/* preauth_may_log: a pre-auth process logs a few records for its one
 * connection; past MASTER_PREAUTH_LOG_BURST, MASTER_PREAUTH_LOG_PER_SECOND. */
static bool preauth_may_log(struct preauth *p)
{
	uint64_t now = ev_now(the_master->ev);
	p->log_tokens += (double)(now - p->log_time) * MASTER_PREAUTH_LOG_PER_SECOND / 1000.0;
	if (p->log_tokens > MASTER_PREAUTH_LOG_BURST)
		p->log_tokens = MASTER_PREAUTH_LOG_BURST;
	p->log_time = now;
	if (p->log_tokens >= 1) {
		p->log_tokens -= 1;
		return true;
	}
	if (p->log_dropped++ == 0)
		log_warn("%s logs too much; its records are dropped for a while", p->name);
	return false;
}

static void preauth_free(struct preauth *p)
{
	if (p->log_dropped > 0)
		log_warn("%s: %llu log records dropped", p->name, (unsigned long long)p->log_dropped);
	*p->prev = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	the_master->preauth_count--;
	ipc_close(&p->link);
	free(p);
}

static void preauth_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct preauth *p = ctx;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_LOG) {
		uint64_t level = ipc_get_u64(&r);
		struct str text = ipc_get_str(&r, LOG_MAX_RECORD);
		/* Below the level (raised by a reload) it costs no token. */
		if (ipc_reader_ok(&r) && level >= the_master->level && preauth_may_log(p))
			write_child_log(p->name, text);
		return;
	}
	if (msg->kind == IPC_SESSION_OPEN && ++p->opens <= MASTER_PREAUTH_MAX_OPENS) {
		open_session(p, msg);
		return;
	}
	(void)ipc;
	ipc_reject(&p->link, msg);
	preauth_free(p);
}

static void preauth_closed(struct ipc *ipc, void *ctx)
{
	struct preauth *p = ctx;
	(void)ipc;
	p->link = NULL;
	preauth_free(p);
}

/* A spawner made a spare: master takes the spare's end of its link. */
static void preauth_add(struct child *spawner, const struct ipc_msg *msg)
{
	struct master *m = the_master;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	uint64_t role = ipc_get_u64(&r);
	uint64_t serial = ipc_get_u64(&r);
	struct preauth *p = NULL;
	if (ipc_reader_ok(&r) && role == IPC_ROLE_PREAUTH && m->preauth_count < MASTER_MAX_PREAUTH)
		p = calloc(1, sizeof(*p));
	if (p == NULL) {
		log_error("spawner %u: no link for a pre-auth process (%u already)", spawner->index,
			  m->preauth_count);
		close(msg->fd);
		return;
	}
	p->serial = serial;
	p->log_tokens = MASTER_PREAUTH_LOG_BURST;
	p->log_time = ev_now(m->ev);
	snprintf(p->name, sizeof(p->name), "preauth %llu", (unsigned long long)serial);
	p->link = ipc_new(m->ev, msg->fd, p->name, preauth_handler, preauth_closed, p);
	if (p->link == NULL) {
		close(msg->fd);
		free(p);
		return;
	}
	ipc_set_max_queued(p->link, MASTER_PREAUTH_MAX_QUEUED);
	p->next = m->preauths;
	if (m->preauths != NULL)
		m->preauths->prev = &p->next;
	m->preauths = p;
	p->prev = &m->preauths;
	m->preauth_count++;
}

/* child_keep_error keeps the reason of a child's last error record (after
 * its "name[pid]: error: "), to say why it could not start. */
static void child_keep_error(struct child *c, struct str text)
{
	static const char mark[] = ": error: ";
	for (size_t i = 0; i + sizeof(mark) - 1 <= text.len; i++)
		if (memcmp(text.ptr + i, mark, sizeof(mark) - 1) == 0) {
			text = str_sub(text, i + sizeof(mark) - 1, text.len);
			break;
		}
	log_escape(c->last_error, sizeof(c->last_error), text.ptr, text.len);
}

static void child_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct child *c = ctx;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	switch (msg->kind) {
	case IPC_LOG: {
		uint64_t level = ipc_get_u64(&r);
		struct str text = ipc_get_str(&r, LOG_MAX_RECORD);
		if (!ipc_reader_ok(&r))
			break;
		if (level >= LOG_LEVEL_ERROR)
			child_keep_error(c, text);
		/* A level raised by a reload applies to children at once. */
		if (level < the_master->level)
			return;
		char name[64];
		child_name(c, name, sizeof(name));
		write_child_log(name, text);
		return;
	}
	case IPC_PEER:
		if (c->role != IPC_ROLE_SPAWNER)
			break;
		preauth_add(c, msg);
		return;
	case IPC_PEER_REQUEST: {
		/* A spawner lost a link: a live process gets wired to it again
		 * (one that is restarting is wired when it is back). */
		uint64_t role = ipc_get_u64(&r);
		if (c->role != IPC_ROLE_SPAWNER ||
		    (role != IPC_ROLE_AUTH && role != IPC_ROLE_QUEUE && role != IPC_ROLE_KEYS))
			break;
		struct child *peer = live_child((enum ipc_role)role, 0);
		if (peer != NULL)
			connect_peers(c, peer);
		return;
	}
	case IPC_WORKER_REQUEST:
		if (c->role != IPC_ROLE_QUEUE)
			break;
		start_worker(c, ipc_get_u64(&r));
		return;
	case IPC_WORKER_IDLE:
		if (c->role != IPC_ROLE_WORKER)
			break;
		/* No new sessions go to it from now on; a new worker starts if
		 * the account is needed before this one is gone. */
		c->retiring = true;
		if (ipc_send(c->link, IPC_WORKER_RETIRE, 0, NULL, 0, -1) < 0)
			child_drop_link(c, "leave to exit");
		return;
	default:
		break;
	}
	char name[64];
	child_name(c, name, sizeof(name));
	log_error("unexpected %s message from %s: closing its link", ipc_kind_name(msg->kind),
		  name);
	if (msg->fd >= 0)
		close(msg->fd);
	c->link = NULL;
	ipc_close(&ipc);
}

static void child_link_closed(struct ipc *ipc, void *ctx)
{
	struct child *c = ctx;
	(void)ipc;
	c->link = NULL;
}

static void on_stop(int signo, void *ctx);

static void child_exited(struct child *c, int status)
{
	struct master *m = the_master;
	char name[64], how[64];

	child_name(c, name, sizeof(name));
	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "stopped");
	if (c->link != NULL)
		ipc_close(&c->link);
	c->pid = 0;
	if (c->role == IPC_ROLE_WORKER) {
		bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		uint64_t lived = ev_now(m->ev) - c->started;
		child_stderr_free(&c->err);
		c->in_use = false;
		struct worker_backoff *b = worker_backoff(c->account, false);
		if (!clean && lived < MASTER_QUICK_DEATH_MS && !m->stopping) {
			/* Failed at start (its folder cannot be opened, say): not
			 * started again at once, nor logged per attempt. */
			b = worker_backoff(c->account, true);
			b->delay = b->delay ? b->delay * 2 : MASTER_WORKER_FIRST_DELAY_MS;
			if (b->delay > MASTER_MAX_RESTART_DELAY_MS)
				b->delay = MASTER_MAX_RESTART_DELAY_MS;
			b->until = ev_now(m->ev) + b->delay;
			snprintf(b->why, sizeof(b->why), "%s", c->last_error);
			log_error("%s %s at start%s%s; not started again for %llu ms", name, how,
				  b->why[0] ? ": " : "", b->why, (unsigned long long)b->delay);
			return;
		}
		/* It ran: the next failure starts a back-off afresh. */
		if (b != NULL)
			b->account = 0;
		if (clean)
			log_debug("%s %s", name, how);
		else
			log_error("%s %s; it starts again when its account is next needed", name,
				  how);
		return;
	}
	if (m->stopping)
		return;
	if (c->retiring) {
		log_info("%s replaced by a reload %s", name, how);
		child_stderr_free(&c->err);
		c->in_use = false;
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == PROCESS_EXIT_CANNOT_START) {
		/* Its data folder cannot be opened (say): restarting it every
		 * half second would change nothing but the log's size. */
		log_error("%s cannot start%s%s: stopping ravelin", name, c->last_error[0] ? ": " : "",
			  c->last_error);
		m->start_failed = true;
		on_stop(SIGTERM, m);
		return;
	}
	uint64_t lived = ev_now(m->ev) - c->started;
	if (lived < MASTER_QUICK_DEATH_MS)
		c->restart_delay = c->restart_delay ? c->restart_delay * 2 : 500;
	else
		c->restart_delay = 500;
	if (c->restart_delay > MASTER_MAX_RESTART_DELAY_MS)
		c->restart_delay = MASTER_MAX_RESTART_DELAY_MS;
	log_error("%s %s; restarting it in %llu ms", name, how,
		  (unsigned long long)c->restart_delay);
	c->restart_timer = ev_timer_add(m->ev, c->restart_delay, restart_timer_fired, c);
}

static void on_sigchld(int signo, void *ctx)
{
	struct master *m = ctx;
	int status;
	pid_t pid;
	(void)signo;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = child_by_pid(pid);
		if (c != NULL)
			child_exited(c, status);
	}
	if (m->stopping) {
		for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++)
			if (m->children[i].in_use && m->children[i].pid > 0)
				return;
		ev_stop(m->ev);
	}
}

static void stop_deadline_fired(struct ev_timer *t, void *ctx)
{
	struct master *m = ctx;
	(void)t;
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++)
		if (m->children[i].in_use && m->children[i].pid > 0)
			kill(m->children[i].pid, SIGKILL);
}

static void on_stop(int signo, void *ctx)
{
	struct master *m = ctx;
	if (m->stopping)
		return;
	m->stopping = true;
	log_info("stopping (signal %d)", signo);
	bool any = false;
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
		struct child *c = &m->children[i];
		if (c->in_use && c->restart_timer != NULL)
			ev_timer_del(&c->restart_timer);
		if (c->in_use && c->pid > 0) {
			kill(c->pid, SIGTERM);
			any = true;
		}
	}
	if (!any)
		ev_stop(m->ev);
	else
		ev_timer_add(m->ev, MASTER_STOP_GRACE_MS, stop_deadline_fired, m);
}

/* open_log (re)opens DATA/log/ravelin.log: after logrotate moved it, the
 * records go to a new file.  On failure the old one (if any) is kept. */
static void open_log(struct master *m)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/log/ravelin.log", m->config->data);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		log_warn("open(%s) failed: %m; %s", path,
			 m->log_fd >= 0 ? "the old log file is kept" : "logging to stderr only");
		return;
	}
	if (m->log_fd >= 0)
		close(m->log_fd);
	m->log_fd = fd;
}

static int make_config_fd(const struct config *config);
static struct child *start_role(enum ipc_role role, unsigned index);

/* stop_old_keys ends a keys process a reload replaced, once its grace
 * is over (ctx: its pid). */
static void stop_old_keys(struct ev_timer *t, void *ctx)
{
	struct child *c = child_by_pid((pid_t)(intptr_t)ctx);
	(void)t;
	if (c != NULL && c->retiring)
		kill(c->pid, SIGTERM);
}

/* check_tls: 1 if fresh's certificate and key load and match (an empty
 * pair means the first start's self-signed one, kept) and are now
 * m->live's; 0 if not (logged, the old ones kept). */
static int check_tls(struct master *m, const struct config *fresh)
{
	char err[MASTER_RELOAD_ERROR];
	const char *cert = fresh->tls_cert, *key = fresh->tls_key;

	if (cert[0] == '\0' && key[0] == '\0') {
		cert = m->live.tls_cert;
		key = m->live.tls_key;
	}
	if (tls_check_files(cert, key, err, sizeof(err)) < 0) {
		log_error("reload: %s; TLS keeps the certificate it had", err);
		return 0;
	}
	snprintf(m->live.tls_cert, sizeof(m->live.tls_cert), "%s", cert);
	snprintf(m->live.tls_key, sizeof(m->live.tls_key), "%s", key);
	return 1;
}

/* replace_keys starts a keys process on the (new) key before the old one
 * goes: wiring it sends each spawner the certificate, then the new link,
 * so every spare made from then on has both; the old one signs for the
 * handshakes already under way until MASTER_RELOAD_GRACE_MS.  Returns
 * true if the new one runs. */
static bool replace_keys(struct master *m)
{
	struct child *old = live_child(IPC_ROLE_KEYS, 0);
	struct child *keys = start_role(IPC_ROLE_KEYS, 0);

	if (keys == NULL) {
		log_error("reload: a new keys process could not be started; TLS keeps the "
			  "certificate it had");
		return false;
	}
	m->cert_pending = true;
	wire_child(keys);
	if (old != NULL) {
		old->retiring = true;
		ev_timer_add(m->ev, MASTER_RELOAD_GRACE_MS, stop_old_keys,
			     (void *)(intptr_t)old->pid);
	}
	return true;
}

/* on_reload (SIGHUP): the log file reopened, log.level and the TLS
 * certificate and key read again; every other key needs a restart. */
static void on_reload(int signo, void *ctx)
{
	struct master *m = ctx;
	struct config fresh;
	char err[MASTER_RELOAD_ERROR];
	(void)signo;

	if (m->stopping)
		return;
	open_log(m);
	fresh = m->live;
	if (m->config_path != NULL) {
		config_defaults(&fresh, false);
		if (config_load_file(&fresh, m->config_path, err, sizeof(err)) < 0) {
			log_error("reload on SIGHUP: %s; nothing else changed", err);
			return;
		}
	}
	snprintf(m->live.log_level, sizeof(m->live.log_level), "%s", fresh.log_level);
	m->level = (enum log_level)log_level_parse(m->live.log_level);
	log_set_level(m->level);
	bool tls = check_tls(m, &fresh);
	/* Children started from now on read the new values. */
	int fd = make_config_fd(m->config);
	if (fd >= 0) {
		close(m->config_fd);
		m->config_fd = fd;
	}
	if (tls)
		tls = replace_keys(m);
	/* Said whatever the level, so the administrator sees it was done. */
	log_msg(m->level > LOG_LEVEL_INFO ? m->level : LOG_LEVEL_INFO,
		"reloaded on SIGHUP: log file reopened, log level %s, TLS certificate %s%s",
		m->live.log_level, m->live.tls_cert, tls ? " (loaded again)" : " (unchanged)");
}

/* Where the command line leaves its requests (src/cli/cli.h says the
 * same): DATA/control/end-sessions-<account id>, then SIGUSR1. */
#define MASTER_CONTROL_DIR "control"
#define MASTER_END_SESSIONS_PREFIX "end-sessions-"

/* on_end_sessions (SIGUSR1): the command line deleted an account or
 * changed its password; its worker, and with it every open session of
 * the account, is ended (IMAP sessions get a BYE).  The next login starts
 * a new worker, with the new password. */
static void on_end_sessions(int signo, void *ctx)
{
	struct master *m = ctx;
	char path[PATH_MAX];
	struct dirent *e;
	const size_t prefix = strlen(MASTER_END_SESSIONS_PREFIX);
	(void)signo;

	snprintf(path, sizeof(path), "%s/%s", m->config->data, MASTER_CONTROL_DIR);
	DIR *d = opendir(path);
	if (d == NULL) {
		log_warn("signal %d without a request in %s: ignored", signo, path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		uint64_t account;
		if (strncmp(e->d_name, MASTER_END_SESSIONS_PREFIX, prefix) != 0 ||
		    str_to_u64(str_c(e->d_name + prefix), UINT64_MAX, &account) < 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			log_error("unlink(%s/%s) failed: %m", path, e->d_name);
		unsigned ended = 0;
		for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
			struct child *c = &m->children[i];
			if (c->in_use && c->pid > 0 && c->role == IPC_ROLE_WORKER &&
			    c->account == account) {
				c->retiring = true;
				kill(c->pid, SIGTERM);
				ended++;
			}
		}
		log_info("account %llu was deleted or its password changed: %s",
			 (unsigned long long)account,
			 ended > 0 ? "its sessions are ended" : "it had no open sessions");
	}
	closedir(d);
}

/* on_unused logs a signal Ravelin has no use for, instead of dying of it. */
static void on_unused(int signo, void *ctx)
{
	(void)ctx;
	log_warn("signal %d (%s) ignored: SIGHUP reloads, SIGTERM stops", signo,
		 strsignal(signo));
}

static int open_listener(const char *addr)
{
	char host[80];
	uint16_t port;
	char service[8];
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai;

	if (config_parse_listen(addr, host, sizeof(host), &port) < 0)
		return -1;
	snprintf(service, sizeof(service), "%u", port);
	int e = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, service, &hints, &ai);
	if (e != 0) {
		log_error("listen address %s: %s (use a numeric address)", addr, gai_strerror(e));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		log_error("listening on %s failed: %m", addr);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int make_config_fd(const struct config *config)
{
	char text[64 * 1024];
	long len = config_dump(config, text, sizeof(text));
	int fd = memfd_create("ravelin-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (len < 0 || fd < 0 || write(fd, text, (size_t)len) != len) {
		log_error("writing the configuration for children failed: %m");
		return -1;
	}
	/* Children may read it but nobody may change it. */
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

static struct child *start_role(enum ipc_role role, unsigned index)
{
	struct child *c = child_alloc();
	if (c == NULL)
		return NULL;
	c->role = role;
	c->index = index;
	if (child_spawn(c) < 0) {
		c->in_use = false;
		return NULL;
	}
	return c;
}

int master_main(const struct config *start_config, const char *config_path)
{
	static struct master m;

	the_master = &m;
	m.live = *start_config;
	m.config = &m.live;
	m.config_path = config_path;
	const struct config *config = m.config;
	m.log_fd = -1;
	log_init("master");
	m.level = (enum log_level)log_level_parse(config->log_level);
	log_set_level(m.level);
	open_log(&m);
	log_set_sink(master_log_sink);

	ssize_t n = readlink("/proc/self/exe", m.exe, sizeof(m.exe) - 1);
	if (n <= 0) {
		log_error("readlink(/proc/self/exe) failed: %m");
		return 1;
	}
	m.exe[n] = '\0';
	if (getrandom(m.ticket_key, sizeof(m.ticket_key), 0) != (ssize_t)sizeof(m.ticket_key) ||
	    getrandom(m.rcpt_key, sizeof(m.rcpt_key), 0) != (ssize_t)sizeof(m.rcpt_key)) {
		log_error("getrandom() failed: %m");
		return 1;
	}
	char uids_line[MASTER_UIDS_LINE];
	/* Once, at start (cli_serve has checked the ids with uids_check): which separations by uid this start could make. */
	uids_describe(config, uids_line, sizeof(uids_line));
	log_msg(uids_mode(config) == UIDS_NAMED_USER ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "%s",
		uids_line);
	m.config_fd = make_config_fd(config);
	if (m.config_fd < 0)
		return 1;
	const struct {
		const struct config_listen *list;
		enum ipc_service service;
	} services[] = {
		{ &config->listen_smtp, IPC_SERVICE_SMTP },
		{ &config->listen_pop3, IPC_SERVICE_POP3 },
		{ &config->listen_pop3s, IPC_SERVICE_POP3S },
		{ &config->listen_imap, IPC_SERVICE_IMAP },
		{ &config->listen_imaps, IPC_SERVICE_IMAPS },
	};
	_Static_assert(sizeof(services) / sizeof(services[0]) * CONFIG_MAX_LISTEN <=
			       MASTER_MAX_LISTENERS,
		       "every service's listeners fit in listen_fds");
	for (size_t s = 0; s < sizeof(services) / sizeof(services[0]); s++) {
		for (unsigned i = 0; i < services[s].list->count; i++) {
			int fd = open_listener(services[s].list->addr[i]);
			if (fd < 0)
				return 1;
			m.listen_fds[m.listen_count] = fd;
			m.listen_services[m.listen_count++] = services[s].service;
			log_info("%s listening on %s", ipc_service_name(services[s].service),
				 services[s].list->addr[i]);
		}
	}
	m.ev = ev_new();
	if (m.ev == NULL)
		return 1;
	ev_signal_add(m.ev, SIGCHLD, on_sigchld, &m);
	ev_signal_add(m.ev, SIGTERM, on_stop, &m);
	ev_signal_add(m.ev, SIGINT, on_stop, &m);
	ev_signal_add(m.ev, SIGHUP, on_reload, &m);
	ev_signal_add(m.ev, SIGUSR1, on_end_sessions, &m);
	ev_signal_add(m.ev, SIGUSR2, on_unused, &m);
	signal(SIGPIPE, SIG_IGN);

	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	m.spawner_count = config->front_processes ? (unsigned)config->front_processes
						  : (unsigned)(cores > 0 ? cores : 1);
	if (m.spawner_count > CONNCOUNT_MAX_FRONTS)
		m.spawner_count = CONNCOUNT_MAX_FRONTS;
	m.conncount_fd = conncount_create(m.spawner_count);
	if (m.conncount_fd < 0) {
		log_error("making the shared connection table failed: %m");
		return 1;
	}
	struct child *auth = start_role(IPC_ROLE_AUTH, 0);
	struct child *queue = start_role(IPC_ROLE_QUEUE, 0);
	struct child *keys = start_role(IPC_ROLE_KEYS, 0);
	if (auth == NULL || queue == NULL || keys == NULL)
		return 1;
	wire_child(auth);
	wire_child(queue);
	for (unsigned i = 0; i < m.spawner_count; i++) {
		struct child *f = start_role(IPC_ROLE_SPAWNER, i);
		if (f == NULL)
			return 1;
		wire_child(f);
	}
	log_info("ravelin started: %u spawners (one process per connection), data in %s",
		 m.spawner_count, config->data);
	int r = ev_run(m.ev);
	log_info("stopped");
	return r == 0 && !m.start_failed ? 0 : 1;
}
