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
 * FILES
 *	master.c: start, main loop, signals, stop, the log file;
 *	master-children.c: spawn, wire, restart, exit handling;
 *	master-workers.c: account workers (start, back-off, SIGUSR1);
 *	master-preauth.c: pre-auth links (logs, tickets to sessions);
 *	master-reload.c: SIGHUP (log file, log level, TLS certificate).
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
 *	line's: end the sessions of the accounts it names in DATA/control,
 *	and pass the queue the requests of `ravelin queue retry|delete`.
 *	SIGUSR2 is logged and ignored.
 */
#include "master.h"

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

#include "lib/conncount.h"
#include "lib/io.h"
#include "lib/process.h"
#include "lib/uids.h"
#include "master-private.h"

/* How long children get to finish after SIGTERM before SIGKILL. */
#define MASTER_STOP_GRACE_MS 5000

/* The one master of this process (master_main's). */
struct master *the_master;

/* master_write_log: see master-private.h. */
void master_write_log(const char *record, size_t len)
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

/* master_srs_key reads DATA/srs.key, made (random, mode 0600, master's
 * only) at the first start: SRS addresses made before a restart must
 * still be taken back after it.  0, or -1 logged. */
static int master_srs_key(const char *data_dir, unsigned char key[SRS_KEY_SIZE])
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/srs.key", data_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 && (getrandom(key, SRS_KEY_SIZE, 0) != SRS_KEY_SIZE ||
				io_write_all(fd, key, SRS_KEY_SIZE) < 0 || fsync(fd) < 0 ||
				lseek(fd, 0, SEEK_SET) != 0)) {
			log_error("making %s failed: %m", path);
			close(fd);
			unlink(path);
			return -1;
		}
	}
	if (fd < 0 || read(fd, key, SRS_KEY_SIZE) != SRS_KEY_SIZE) {
		log_error("reading %s failed (a key of %d bytes): %m", path, SRS_KEY_SIZE);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void master_log_sink(enum log_level level, const char *record, size_t len)
{
	(void)level;
	master_write_log(record, len);
}

/*
 * master_write_child_log writes a record a child sent.  Its bytes are the
 * child's: control characters are escaped (no forged lines), and a record
 * that does not start with the sender's own name is marked as its.
 */
void master_write_child_log(const char *name, struct str text)
{
	char line[LOG_MAX_RECORD * 4 + 64];
	size_t n = 0, name_len = strlen(name);

	if (text.len <= name_len || memcmp(text.ptr, name, name_len) != 0 ||
	    text.ptr[name_len] != '[')
		n = (size_t)snprintf(line, sizeof(line), "(from %s) ", name);
	n += log_escape(line + n, sizeof(line) - n, text.ptr, text.len);
	master_write_log(line, n);
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

/* master_stop: see master-private.h. */
void master_stop(int signo, void *ctx)
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

/* master_open_log (re)opens DATA/log/ravelin.log: after logrotate moved it, the
 * records go to a new file.  On failure the old one (if any) is kept. */
void master_open_log(struct master *m)
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

/* master_config_fd: see master-private.h. */
int master_config_fd(const struct config *config)
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

/* master_front_exe chooses what the spawners run: ravelin-front, the
 * front's slim executable, from the folder of m->exe (a fork of it copies
 * far fewer mappings per connection); m->exe itself when it is not there,
 * with a warning (the front then works, at a higher cost per connection). */
static void master_front_exe(struct master *m)
{
	const char *slash = strrchr(m->exe, '/');
	int dir = slash == NULL ? 0 : (int)(slash - m->exe);
	int n = snprintf(m->front_exe, sizeof(m->front_exe), "%.*s/ravelin-front", dir, m->exe);
	if (n > 0 && (size_t)n < sizeof(m->front_exe) && access(m->front_exe, X_OK) == 0)
		return;
	log_warn("%s is missing: the spawners run %s (dearer per connection)", m->front_exe,
		 m->exe);
	snprintf(m->front_exe, sizeof(m->front_exe), "%s", m->exe);
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
	master_open_log(&m);
	log_set_sink(master_log_sink);

	ssize_t n = readlink("/proc/self/exe", m.exe, sizeof(m.exe) - 1);
	if (n <= 0) {
		log_error("readlink(/proc/self/exe) failed: %m");
		return 1;
	}
	m.exe[n] = '\0';
	master_front_exe(&m);
	if (getrandom(m.ticket_key, sizeof(m.ticket_key), 0) != (ssize_t)sizeof(m.ticket_key) ||
	    getrandom(m.rcpt_key, sizeof(m.rcpt_key), 0) != (ssize_t)sizeof(m.rcpt_key)) {
		log_error("getrandom() failed: %m");
		return 1;
	}
	if (master_srs_key(config->data, m.srs_key) < 0)
		return 1;
	char uids_line[MASTER_UIDS_LINE];
	/* Once, at start (cli_serve has checked the ids with uids_check): which separations by uid this start could make. */
	uids_describe(config, uids_line, sizeof(uids_line));
	log_msg(uids_mode(config) == UIDS_NAMED_USER ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "%s",
		uids_line);
	m.config_fd = master_config_fd(config);
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
		{ &config->listen_submission, IPC_SERVICE_SUBMISSION },
		{ &config->listen_submissions, IPC_SERVICE_SUBMISSIONS },
		{ &config->listen_https, IPC_SERVICE_HTTPS },
		{ &config->listen_http, IPC_SERVICE_HTTP },
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
	ev_signal_add(m.ev, SIGTERM, master_stop, &m);
	ev_signal_add(m.ev, SIGINT, master_stop, &m);
	ev_signal_add(m.ev, SIGHUP, reload_on_sighup, &m);
	ev_signal_add(m.ev, SIGUSR1, worker_end_sessions, &m);
	ev_signal_add(m.ev, SIGUSR1, reload_queue_control, &m);
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
	struct child *auth = child_start(IPC_ROLE_AUTH, 0);
	struct child *queue = child_start(IPC_ROLE_QUEUE, 0);
	struct child *keys = child_start(IPC_ROLE_KEYS, 0);
	struct child *resolver = child_start(IPC_ROLE_RESOLVER, 0);
	if (auth == NULL || queue == NULL || keys == NULL || resolver == NULL)
		return 1;
	/* Wired to the queue by child_wire(queue), to workers as they start. */
	if (config->spam_rspamd[0] != '\0' && child_start(IPC_ROLE_SPAM, 0) == NULL)
		return 1;
	child_wire(auth);
	child_wire(queue);
	/* Without it sessions stay in their workers (master hands each back). */
	if (child_start(IPC_ROLE_PARK, 0) == NULL)
		log_error("the parking process could not start: IMAP sessions are not parked");
	struct child *relay = child_start(IPC_ROLE_RELAY, 0);
	if (relay == NULL)
		return 1;
	child_wire(relay);
	for (unsigned i = 0; i < m.spawner_count; i++) {
		struct child *f = child_start(IPC_ROLE_SPAWNER, i);
		if (f == NULL)
			return 1;
		child_wire(f);
	}
	log_info("ravelin started: %u spawners (one process per connection), data in %s",
		 m.spawner_count, config->data);
	int r = ev_run(m.ev);
	log_info("stopped");
	return r == 0 && !m.start_failed ? 0 : 1;
}

