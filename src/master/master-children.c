/*
 * NAME
 *	master-children - master's children: start, wire, restart
 * DESCRIPTION
 *	Keeps the table of children (spawners, auth, keys, queue, resolver,
 *	workers), starts each as a fork + exec of this binary with its role, the link
 *	and the configuration as its only descriptors, gives a (re)started
 *	child its peers (socketpairs), the listening sockets and its keys,
 *	reads the typed messages children send master, and on a child's exit
 *	restarts it with a growing delay when it dies young (a worker is left
 *	to master-workers.c; one that cannot start stops the server).
 * SECURITY
 *	Each message is checked by the ipc layer and accepted only from the
 *	role that may send it; anything else closes the sender's link.  A
 *	child gets exactly the link and the configuration across its exec,
 *	standard error being a pipe to master, never master's log or terminal.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/process.h"
#include "master-private.h"

/* write_child_stderr logs a line a child wrote to its standard error. */
static void write_child_stderr(const char *name, const char *text, size_t len)
{
	char line[MASTER_STDERR_LINE * 4 + 96];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s (standard error): ", name);
	n += log_escape(line + n, sizeof(line) - n, text, len);
	master_write_log(line, n);
}

/* child_alloc: see master-private.h. */
struct child *child_alloc(void)
{
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++)
		if (!the_master->children[i].in_use) {
			memset(&the_master->children[i], 0, sizeof(the_master->children[i]));
			the_master->children[i].in_use = true;
			return &the_master->children[i];
		}
	return NULL;
}

/* child_by_pid: see master-private.h. */
struct child *child_by_pid(pid_t pid)
{
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++)
		if (the_master->children[i].in_use && the_master->children[i].pid == pid)
			return &the_master->children[i];
	return NULL;
}

/* child_live: see master-private.h. */
struct child *child_live(enum ipc_role role, uint64_t account)
{
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
		struct child *c = &the_master->children[i];
		if (c->in_use && c->pid > 0 && c->role == role && c->link != NULL && !c->retiring &&
		    (role != IPC_ROLE_WORKER || c->account == account))
			return c;
	}
	return NULL;
}

/* child_live_spawner: see master-private.h. */
struct child *child_live_spawner(unsigned index)
{
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
		struct child *c = &the_master->children[i];
		if (c->in_use && c->pid > 0 && c->role == IPC_ROLE_SPAWNER && c->index == index &&
		    c->link != NULL)
			return c;
	}
	return NULL;
}

/* child_name: see master-private.h. */
void child_name(const struct child *c, char *out, size_t size)
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
void child_drop_link(struct child *c, const char *what)
{
	char name[64];
	child_name(c, name, sizeof(name));
	log_error("%s could not be sent %s: closing its link", name, what);
	if (c->link != NULL)
		ipc_close(&c->link);
}

/* child_connect gives a and b the two ends of a new link. */
void child_connect(struct child *a, struct child *b)
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
	/* A worker's index is its account: auth answers a worker's link for
	 * that account only. */
	ipc_put_u64(&pa, b->role);
	ipc_put_u64(&pa, b->role == IPC_ROLE_WORKER ? b->account : b->index);
	ipc_put_u64(&pb, a->role);
	ipc_put_u64(&pb, a->role == IPC_ROLE_WORKER ? a->account : a->index);
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

/* child_spawn: see master-private.h. */
int child_spawn(struct child *c)
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
		execv(c->role == IPC_ROLE_SPAWNER ? m->front_exe : m->exe, argv);
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

/* child_wire gives a (re)started child its peers and, for spawners, the
 * listening sockets. */
void child_wire(struct child *c)
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
		static const enum ipc_role peers[] = { IPC_ROLE_AUTH, IPC_ROLE_QUEUE, IPC_ROLE_KEYS,
						       IPC_ROLE_RESOLVER };
		for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
			struct child *peer = child_live(peers[i], 0);
			if (peer != NULL)
				child_connect(c, peer);
		}
	} else if (c->role == IPC_ROLE_AUTH || c->role == IPC_ROLE_QUEUE ||
		   c->role == IPC_ROLE_KEYS || c->role == IPC_ROLE_RESOLVER) {
		if ((c->role == IPC_ROLE_AUTH &&
		     ipc_send(c->link, IPC_TICKET_KEY, 0, m->ticket_key, TICKET_KEY_SIZE, -1) < 0) ||
		    ((c->role == IPC_ROLE_AUTH || c->role == IPC_ROLE_QUEUE) &&
		     (ipc_send(c->link, IPC_RCPT_KEY, 0, m->rcpt_key, TICKET_KEY_SIZE, -1) < 0 ||
		      ipc_send(c->link, IPC_SRS_KEY, 0, m->srs_key, SRS_KEY_SIZE, -1) < 0))) {
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
				child_connect(f, c);
			}
		}
		if (cert)
			m->cert_pending = false;
		struct child *spam = child_live(IPC_ROLE_SPAM, 0);
		if (c->role == IPC_ROLE_QUEUE && spam != NULL)
			child_connect(c, spam);
		if (c->role == IPC_ROLE_AUTH || c->role == IPC_ROLE_QUEUE)
			worker_link_all(c);
	} else if (c->role == IPC_ROLE_SPAM) {
		/* Back after a restart: the queue and every worker get a new
		 * link (a worker only learns over it). */
		for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
			struct child *p = &m->children[i];
			if (p->in_use && p->pid > 0 && p->link != NULL &&
			    (p->role == IPC_ROLE_QUEUE || p->role == IPC_ROLE_WORKER))
				child_connect(p, c);
		}
	}
	/* The relay spawner and its peers, the queue (which opens relay
	 * children on it) and the resolver (which gets the children's links
	 * through it): whichever (re)starts gets the other. */
	static const enum ipc_role relay_pairs[][2] = {
		{ IPC_ROLE_QUEUE, IPC_ROLE_RELAY },
#if __has_include("lib/dns-client.h")
		{ IPC_ROLE_RESOLVER, IPC_ROLE_RELAY },
#endif
	};
	for (size_t i = 0; i < sizeof(relay_pairs) / sizeof(relay_pairs[0]); i++) {
		const enum ipc_role *p = relay_pairs[i];
		struct child *peer = c->role == p[0] ? child_live(p[1], 0)
				     : c->role == p[1] ? child_live(p[0], 0) : NULL;
		if (peer != NULL)
			child_connect(c, peer);
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
		child_wire(c);
	else
		c->restart_timer = ev_timer_add(the_master->ev, 1000, restart_timer_fired, c);
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
		master_write_child_log(name, text);
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
		    (role != IPC_ROLE_AUTH && role != IPC_ROLE_QUEUE && role != IPC_ROLE_KEYS &&
		     role != IPC_ROLE_RESOLVER))
			break;
		struct child *peer = child_live((enum ipc_role)role, 0);
		if (peer != NULL)
			child_connect(c, peer);
		return;
	}
	case IPC_WORKER_REQUEST:
		if (c->role != IPC_ROLE_QUEUE)
			break;
		worker_start(c, ipc_get_u64(&r));
		return;
	case IPC_WORKER_SESSIONS:
		if (c->role != IPC_ROLE_WORKER)
			break;
		worker_imap_report(c, msg);
		return;
	case IPC_PARK:
	case IPC_PARK_WAKE:
		if (c->role != IPC_ROLE_WORKER)
			break;
		park_from_worker(c, msg);
		return;
	case IPC_UNPARK:
		if (c->role != IPC_ROLE_PARK)
			break;
		park_to_worker(msg);
		return;
	case IPC_PARK_GONE:
		if (c->role != IPC_ROLE_PARK)
			break;
		park_gone(msg->id);
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

/* child_exited: see master-private.h. */
void child_exited(struct child *c, int status)
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
	if (c->role == IPC_ROLE_PARK)
		park_exited();  /* its clients' connections ended with it */
	if (c->role == IPC_ROLE_WORKER) {
		worker_exited(c, name, how, status);
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
		master_stop(SIGTERM, m);
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

/* child_start: see master-private.h. */
struct child *child_start(enum ipc_role role, unsigned index)
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

