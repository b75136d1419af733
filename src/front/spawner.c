/*
 * NAME
 *	spawner - accepts connections and gives each one a process of its own
 * DESCRIPTION
 *	Owns the listening sockets master opened.  It accepts, applies the
 *	limits that need no byte from the client (pre-auth processes per
 *	spawner, connections per address across spawners), and gives each
 *	connection to a ready spare: a pre-auth process forked from this one
 *	before the connection arrived, already holding its own links to
 *	master, auth, queue, keys and the resolver.  A spare serves exactly one connection
 *	and exits; a new spare is forked to take its place.  Auth learns each
 *	client's address from the spawner (IPC_PREAUTH_CLIENT), not from the
 *	pre-auth process, and master says which processes hold a session.
 * SECURITY
 *	The spawner never reads a byte from the network: it calls accept()
 *	and, when it must refuse, writes one fixed line.  It holds no private
 *	key, no ticket key, no credentials and no file (a Landlock domain
 *	without file access, and a uid of its own that owns no file), so what
 *	its children inherit from it is only the configuration, the
 *	certificate and a TLS context whose signatures are made by the keys
 *	process.  Under pressure it ends the oldest
 *	connections that have not logged in, so slow clients holding every
 *	place cannot lock out a new one.
 */
#include "spawner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "front.h"
#include "lib/conncount.h"
#include "lib/jail.h"
#include "lib/uids.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/tls.h"

/* Connections accepted per wake-up of one listener (fairness). */
#define SPAWNER_ACCEPT_BATCH 64
/* Ready spares kept: a burst of this many connections is served without
 * waiting for a fork; more are forked as the burst goes on. */
#define SPAWNER_SPARES 4
/* Under pressure (this share of the places taken, in percent), a
 * connection that has not logged in may last only SPAWNER_STRESS_TIMEOUT
 * seconds: slow clients cannot keep every place. */
#define SPAWNER_STRESS_PERCENT 75
#define SPAWNER_STRESS_TIMEOUT 10
/* How often the pressure check runs (ms). */
#define SPAWNER_SWEEP_MS 1000
/* Spawn times kept for the figures logged at exit (the latest ones). */
#define SPAWNER_TIMES 4096
/* With every place taken, connections one address may hold. */
#define SPAWNER_FULL_PER_ADDRESS 2
/* How long after losing a link the spawner asks master for a new one. */
#define SPAWNER_RELINK_MS 1000
/* Listening sockets: every service's, as master's table allows. */
#define SPAWNER_MAX_LISTENERS 64

/* One pre-auth process: a spare until it gets its connection. */
struct child {
	struct child *next, **prev;
	pid_t pid;
	struct ipc *control;          /* our end of its control link */
	uint64_t serial;
	uint64_t started;             /* when it got its connection */
	uint32_t ip_slot;
	bool ip_counted;
	bool busy;                    /* it has its connection */
	bool logged_in;               /* it relays a logged-in session */
	bool ended;                   /* killed by us; waiting for the reap */
};

struct listener {
	int fd;
	enum ipc_service service;
	struct ev_io *io;
};

struct spawner {
	struct ev *ev;
	struct config config;
	unsigned index;
	SSL_CTX *tls;
	struct ipc *master;
	/* Links to the long-lived processes; each spare gets links of its own
	 * to them through these (IPC_PEER with role IPC_ROLE_PREAUTH). */
	struct ipc *auth, *queue, *keys, *resolver;
	struct conncount *conncount;
	struct listener listeners[SPAWNER_MAX_LISTENERS];
	unsigned listener_count;
	struct child *spares, *busy;
	unsigned spare_count, busy_count;
	unsigned ended_count;         /* of busy: killed, not yet reaped */
	uint64_t next_serial;
	struct ev_timer *relink_timer;
	bool stopping;
	/* What making a spare costs (fork, links, bookkeeping), in µs. */
	uint32_t spawn_us[SPAWNER_TIMES];
	uint64_t spawned;
};

static struct spawner sp;

/* A pre-auth process has nothing to say to its spawner: its connection
 * comes this way, and it is watched for its end. */
static void child_control_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct child *c = ctx;
	ipc_reject(&ipc, msg);
	c->control = NULL;
}

static void child_control_closed(struct ipc *ipc, void *ctx)
{
	struct child *c = ctx;
	(void)ipc;
	c->control = NULL;
}

static void child_unlink(struct child *c)
{
	*c->prev = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = NULL;
	c->prev = NULL;
}

static void child_link(struct child **head, struct child *c)
{
	c->next = *head;
	if (*head != NULL)
		(*head)->prev = &c->next;
	*head = c;
	c->prev = head;
}

/* live_count is the connections served now: ended ones wait only for
 * their reap, and do not hold a place. */
static unsigned live_count(void)
{
	return sp.busy_count - sp.ended_count;
}

/* send_peer gives a long-lived process one end of a new pre-auth link. */
static int send_peer(struct ipc *to, uint64_t serial, int fd)
{
	uint64_t payload[2] = { IPC_ROLE_PREAUTH, serial };
	if (to == NULL)
		return -1;
	return ipc_send(to, IPC_PEER, serial, payload, sizeof(payload), fd);
}

static void child_end(struct child *c);

/* spare_make forks one spare; -1 if it could not (logged). */
static int spare_make(void)
{
	int pair[PREAUTH_LINKS][2];
	unsigned made = 0;

	for (; made < PREAUTH_LINKS; made++)
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair[made]) < 0)
			break;
	struct child *c = made == PREAUTH_LINKS ? calloc(1, sizeof(*c)) : NULL;
	if (c == NULL) {
		log_error("making a pre-auth process failed: %m");
		for (unsigned i = 0; i < made; i++) {
			close(pair[i][0]);
			close(pair[i][1]);
		}
		return -1;
	}
	c->serial = ((uint64_t)sp.index << PREAUTH_SERIAL_SHIFT) |
		    (++sp.next_serial & PREAUTH_SERIAL_COUNT);
	/* The child's first allocations would otherwise sort and split the
	 * free chunks scattered over the heap it shares with us, copying a
	 * page for each (about 30 of its 140 page faults here): consolidated
	 * first, once in the parent, and their emptied pages given back. */
	malloc_trim(0);
	pid_t pid = fork();
	if (pid == 0) {
		int mine[PREAUTH_LINKS];
		for (unsigned i = 0; i < PREAUTH_LINKS; i++) {
			close(pair[i][0]);
			mine[i] = pair[i][1];
		}
		preauth_main(&sp.config, sp.tls, c->serial, mine);
		_exit(0);
	}
	for (unsigned i = 0; i < PREAUTH_LINKS; i++)
		close(pair[i][1]);
	if (pid < 0) {
		log_error("fork() of a pre-auth process failed: %m");
		for (unsigned i = 0; i < PREAUTH_LINKS; i++)
			close(pair[i][0]);
		free(c);
		return -1;
	}
	c->pid = pid;
	/* Each long-lived process gets its end; a missing one (restarting)
	 * just leaves the spare without it, and it says so when asked. */
	/* Without its master link a spare could neither log nor open a
	 * session: such a spare is ended below. */
	bool usable = send_peer(sp.master, c->serial, pair[PREAUTH_LINK_MASTER][0]) == 0;
	const struct {
		struct ipc *to;
		unsigned link;
	} peers[] = { { sp.auth, PREAUTH_LINK_AUTH },
		      { sp.queue, PREAUTH_LINK_QUEUE },
		      { sp.keys, PREAUTH_LINK_KEYS },
		      { sp.resolver, PREAUTH_LINK_RESOLVER } };
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		if (peers[i].to != NULL && send_peer(peers[i].to, c->serial, pair[peers[i].link][0]) < 0 &&
		    !ev_term_asked())
			log_warn("%s takes no link now: pre-auth process %llu goes without it",
				 ipc_peer_name(peers[i].to), (unsigned long long)c->serial);
	for (unsigned i = 0; i < PREAUTH_LINK_CONTROL; i++)
		close(pair[i][0]);
	c->control = ipc_new(sp.ev, pair[PREAUTH_LINK_CONTROL][0], "pre-auth", child_control_message,
			     child_control_closed, c);
	if (c->control == NULL)
		close(pair[PREAUTH_LINK_CONTROL][0]);
	child_link(&sp.spares, c);
	sp.spare_count++;
	/* Without its master link or control link a spare could serve nobody;
	 * no new one is made until something else happens (no fork loop). */
	if (!usable || c->control == NULL) {
		child_end(c);
		return -1;
	}
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* spares_make forks spares until `want` are ready, within the process bound. */
static void spares_make(unsigned want)
{
	while (!sp.stopping && !ev_term_asked() && sp.master != NULL && sp.spare_count < want &&
	       sp.spare_count + live_count() < sp.config.front_max_connections + SPAWNER_SPARES) {
		uint64_t start = now_us();
		if (spare_make() < 0)
			return;
		uint64_t took = now_us() - start;
		sp.spawn_us[sp.spawned++ % SPAWNER_TIMES] = took > UINT32_MAX ? UINT32_MAX
									  : (uint32_t)took;
	}
}

/* spares_fill keeps SPAWNER_SPARES ready once every long-lived peer is
 * linked.  Until then (start-up, a peer restarting) a spare is made only
 * when a connection needs one: each peer's arrival ends the spares made
 * without its link (spares_renew), and making the pool four times over at
 * start-up cost a spawner about 20 forks. */
static void spares_fill(void)
{
	bool linked = sp.auth != NULL && sp.queue != NULL && sp.keys != NULL && sp.resolver != NULL;
	spares_make(linked ? SPAWNER_SPARES : 0);
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* log_spawn_cost says what making a pre-auth process cost (bench/ reads it). */
static void log_spawn_cost(void)
{
	size_t n = sp.spawned < SPAWNER_TIMES ? (size_t)sp.spawned : SPAWNER_TIMES;
	if (n == 0)
		return;
	qsort(sp.spawn_us, n, sizeof(sp.spawn_us[0]), compare_u32);
	log_info("made %llu pre-auth processes; of the last %zu, each took median %u us, "
		 "p99 %u us, max %u us (fork, links, bookkeeping)",
		 (unsigned long long)sp.spawned, n, sp.spawn_us[n / 2], sp.spawn_us[n * 99 / 100],
		 sp.spawn_us[n - 1]);
}

/* child_end kills a pre-auth process; it holds no place from now on and
 * is forgotten when reaped. */
static void child_end(struct child *c)
{
	if (c->ended)
		return;
	kill(c->pid, SIGKILL);
	c->ended = true;
	sp.ended_count++;
	if (!c->busy) {
		child_unlink(c);
		sp.spare_count--;
		child_link(&sp.busy, c);   /* reaped like the others */
		sp.busy_count++;
	}
}

/* spares_renew ends every spare: they hold links to a process that was
 * restarted, so new ones must be made with links to its successor. */
static void spares_renew(void)
{
	while (sp.spares != NULL)
		child_end(sp.spares);
	spares_fill();
}

static void child_free(struct child *c)
{
	child_unlink(c);
	if (c->busy || c->ended)
		sp.busy_count--;
	else
		sp.spare_count--;
	if (c->ended)
		sp.ended_count--;
	if (c->ip_counted)
		conncount_release(sp.conncount, c->ip_slot);
	ipc_close(&c->control);
	free(c);
}

static struct child *child_by_pid(pid_t pid)
{
	for (struct child *c = sp.busy; c != NULL; c = c->next)
		if (c->pid == pid)
			return c;
	for (struct child *c = sp.spares; c != NULL; c = c->next)
		if (c->pid == pid)
			return c;
	return NULL;
}

static void on_sigchld(int signo, void *ctx)
{
	int status;
	pid_t pid;
	(void)signo;
	(void)ctx;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = child_by_pid(pid);
		if (c == NULL)
			continue;
		if (WIFSIGNALED(status) && !c->ended)
			log_error("pre-auth process %d was killed by signal %d (%s)", (int)pid,
				  WTERMSIG(status), strsignal(WTERMSIG(status)));
		child_free(c);
	}
	if (sp.stopping && sp.busy == NULL && sp.spares == NULL)
		ev_stop(sp.ev);
	spares_fill();
}

/* evict_oldest ends, of the addresses holding the most connections, the
 * one that has waited longest without a login; false if every place
 * holds a logged-in session. */
static bool evict_oldest(void)
{
	struct child *oldest = NULL;
	unsigned most = 0;
	for (struct child *c = sp.busy; c != NULL; c = c->next) {
		if (c->logged_in || c->ended)
			continue;
		unsigned held = c->ip_counted ? conncount_held(sp.conncount, c->ip_slot) : 1;
		if (oldest == NULL || held > most || (held == most && c->started < oldest->started)) {
			oldest = c;
			most = held;
		}
	}
	if (oldest == NULL)
		return false;
	log_info("all %u places taken: ending the oldest connection without a login (pid %d)",
		 live_count(), (int)oldest->pid);
	child_end(oldest);
	return true;
}

static void pressure_sweep(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	uint64_t now = ev_now(sp.ev);
	unsigned places = (unsigned)sp.config.front_max_connections;
	if (live_count() * 100 >= places * SPAWNER_STRESS_PERCENT) {
		unsigned ended = 0;
		for (struct child *c = sp.busy; c != NULL; c = c->next)
			if (!c->logged_in && !c->ended &&
			    now - c->started >= SPAWNER_STRESS_TIMEOUT * 1000) {
				child_end(c);
				ended++;
			}
		if (ended > 0)
			log_info("under pressure (%u of %u places): ended %u connections that did not "
				 "log in within %d s", live_count(), places, ended, SPAWNER_STRESS_TIMEOUT);
	}
	if (!sp.stopping)
		ev_timer_add(sp.ev, SPAWNER_SWEEP_MS, pressure_sweep, NULL);
}

static void refuse(int fd, enum ipc_service service, const char *reply)
{
	/* Nothing readable can be said on an implicit-TLS port. */
	if (!front_service_implicit_tls(service) && reply != NULL &&
	    write(fd, reply, strlen(reply)) < 0) {
		/* best effort: the socket is new, so its buffer has room */
	}
	close(fd);
}

/* tell_auth_client says which address pre-auth process serial serves. */
static void tell_auth_client(uint64_t serial, const char *ip)
{
	struct buf b;
	buf_init(&b, IPC_MAX_PAYLOAD);
	if (sp.auth != NULL && (ipc_put_u64(&b, serial) < 0 || ipc_put_str(&b, str_c(ip)) < 0 ||
				ipc_send_buf(sp.auth, IPC_PREAUTH_CLIENT, serial, &b, -1) < 0))
		log_warn("%s: auth could not be told the client's address", ip);
	buf_free(&b);
}

static void accept_one(struct listener *l, int fd, const struct sockaddr_storage *sa)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const struct front_protocol *proto = front_service_protocol(l->service);

	if (sa->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
	else if (sa->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
	/* The address's own limit first: a client over it must not cost
	 * anyone else a place.  With every place taken, an address may hold
	 * only SPAWNER_FULL_PER_ADDRESS: a flood from a few hundred addresses
	 * is then turned away at accept (no process is made for it), and a
	 * new client still gets in by ending a flooder's connection. */
	uint32_t slot = conncount_slot(ip);
	bool full = live_count() >= sp.config.front_max_connections;
	unsigned limit = (unsigned)sp.config.front_max_connections_per_ip;
	if (full && limit > SPAWNER_FULL_PER_ADDRESS)
		limit = SPAWNER_FULL_PER_ADDRESS;
	if (sp.conncount != NULL && !conncount_acquire(sp.conncount, slot, limit)) {
		if (full)
			log_debug("%s: refused, every place is taken", ip);
		else
			log_warn("%s: refused, too many connections from this address", ip);
		refuse(fd, l->service, full ? proto->busy_reply : proto->per_ip_reply);
		return;
	}
	if (live_count() >= sp.config.front_max_connections && !evict_oldest()) {
		log_warn("%s: refused, %u connections already", ip, sp.busy_count);
		if (sp.conncount != NULL)
			conncount_release(sp.conncount, slot);
		refuse(fd, l->service, proto->busy_reply);
		return;
	}
	uint64_t service = l->service;
	struct child *c;
	/* A spare that cannot take it (its link is gone: it died) is ended,
	 * and the next one is tried. */
	for (unsigned tries = 0;; tries++) {
		if (sp.spares == NULL && tries <= SPAWNER_SPARES)
			spares_make(1);
		c = sp.spares;
		/* auth hears the client's address from here, not from the
		 * pre-auth process, and before the process has the client. */
		if (c != NULL)
			tell_auth_client(c->serial, ip);
		if (c == NULL || (c->control != NULL &&
				  ipc_send(c->control, IPC_PREAUTH_CONN, 0, &service, sizeof(service),
					   fd) == 0))
			break;
		child_end(c);
	}
	if (c == NULL) {
		if (sp.conncount != NULL)
			conncount_release(sp.conncount, slot);
		refuse(fd, l->service, proto->busy_reply);
		return;
	}
	close(fd);
	child_unlink(c);
	sp.spare_count--;
	c->busy = true;
	c->started = ev_now(sp.ev);
	c->ip_slot = slot;
	c->ip_counted = sp.conncount != NULL;
	child_link(&sp.busy, c);
	sp.busy_count++;
}

static void listener_ready(struct ev_io *io, unsigned events, void *ctx)
{
	struct listener *l = ctx;
	(void)io;
	(void)events;
	for (int i = 0; i < SPAWNER_ACCEPT_BATCH; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				log_warn("accept() failed: %m");
			break;
		}
		accept_one(l, fd, &sa);
	}
	spares_fill();
}

/* A long-lived peer's link: a lost one is re-wired by master (IPC_PEER). */
static void relink(struct ev_timer *t, void *ctx);

static void peer_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ctx;
	/* Nothing comes this way: the link is closed, and its slot cleared. */
	struct ipc **slot = ipc == sp.auth    ? &sp.auth
			    : ipc == sp.queue ? &sp.queue
			    : ipc == sp.keys  ? &sp.keys
					      : &sp.resolver;
	ipc_reject(slot, msg);
	if (sp.relink_timer == NULL && !sp.stopping)
		sp.relink_timer = ev_timer_add(sp.ev, SPAWNER_RELINK_MS, relink, NULL);
}

/* relink asks master again for the links still missing: a link that
 * closed while its process lives must not leave this spawner cut off (a
 * restarted process is wired by master anyway). */
static void relink(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	sp.relink_timer = NULL;
	const struct {
		struct ipc *link;
		enum ipc_role role;
	} peers[] = { { sp.auth, IPC_ROLE_AUTH }, { sp.queue, IPC_ROLE_QUEUE },
		      { sp.keys, IPC_ROLE_KEYS }, { sp.resolver, IPC_ROLE_RESOLVER } };
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		uint64_t role = peers[i].role;
		if (peers[i].link == NULL &&
		    ipc_send(sp.master, IPC_PEER_REQUEST, 0, &role, sizeof(role), -1) < 0)
			log_error("asking master for a %s link failed", process_role_name(peers[i].role));
	}
}

static void peer_closed(struct ipc *ipc, void *ctx)
{
	(void)ctx;
	if (ipc == sp.auth)
		sp.auth = NULL;
	else if (ipc == sp.queue)
		sp.queue = NULL;
	else if (ipc == sp.keys)
		sp.keys = NULL;
	else if (ipc == sp.resolver)
		sp.resolver = NULL;
	/* Not at once: a link that keeps closing must not spin. */
	if (sp.relink_timer == NULL && !sp.stopping)
		sp.relink_timer = ev_timer_add(sp.ev, SPAWNER_RELINK_MS, relink, NULL);
}

static void add_listener(const struct ipc_msg *msg, uint64_t service)
{
	if (sp.listener_count == SPAWNER_MAX_LISTENERS || front_service_protocol(service) == NULL) {
		close(msg->fd);
		return;
	}
	struct listener *l = &sp.listeners[sp.listener_count];
	l->fd = msg->fd;
	l->service = (enum ipc_service)service;
	l->io = ev_io_add(sp.ev, l->fd, EV_READ, listener_ready, l);
	if (l->io == NULL) {
		close(msg->fd);
		return;
	}
	sp.listener_count++;
}

static void master_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct ipc_reader r;
	(void)ipc;
	(void)ctx;

	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_LISTEN) {
		add_listener(msg, ipc_get_u64(&r));
		return;
	}
	if (msg->kind == IPC_CONNCOUNT) {
		uint64_t spawners = ipc_get_u64(&r);
		if (sp.conncount == NULL)
			sp.conncount = conncount_attach(msg->fd, (unsigned)spawners, sp.index);
		if (sp.conncount == NULL)
			log_error("the shared connection table is not usable: no per-address limit");
		close(msg->fd);
		return;
	}
	if (msg->kind == IPC_TLS_CERT) {
		/* A renewed certificate (SIGHUP): spares made from now on use
		 * it; connections already served keep theirs. */
		const char *error;
		SSL_CTX *tls = tls_server_ctx_remote_fd(msg->fd, &error);
		close(msg->fd);
		if (tls == NULL) {
			log_error("the renewed TLS certificate is not usable: %s", error);
			return;
		}
		SSL_CTX_free(sp.tls);
		sp.tls = tls;
		spares_renew();
		return;
	}
	if (msg->kind == IPC_PREAUTH_STATE) {
		uint64_t serial = ipc_get_u64(&r);
		uint64_t state = ipc_get_u64(&r);
		for (struct child *c = sp.busy; c != NULL; c = c->next)
			if (c->serial == serial && state == IPC_PREAUTH_LOGGED_IN)
				c->logged_in = true;
		return;
	}
	if (msg->kind == IPC_PEER) {
		uint64_t role = ipc_get_u64(&r);
		struct ipc **slot = role == IPC_ROLE_AUTH    ? &sp.auth
				    : role == IPC_ROLE_QUEUE ? &sp.queue
				    : role == IPC_ROLE_KEYS  ? &sp.keys
				    : role == IPC_ROLE_RESOLVER ? &sp.resolver
							     : NULL;
		if (slot == NULL) {
			close(msg->fd);
			return;
		}
		if (*slot != NULL)
			ipc_close(slot);
		*slot = ipc_new(sp.ev, msg->fd, process_role_name((enum ipc_role)role), peer_message,
				peer_closed, NULL);
		if (*slot == NULL)
			close(msg->fd);
		spares_renew();
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
	if (sp.stopping)
		return;
	sp.stopping = true;
	for (unsigned i = 0; i < sp.listener_count; i++)
		ev_io_del(&sp.listeners[i].io);
	while (sp.spares != NULL)
		child_end(sp.spares);   /* a spare has nothing to finish */
	for (struct child *c = sp.busy; c != NULL; c = c->next)
		if (!c->ended)
			kill(c->pid, SIGTERM);
	if (sp.busy == NULL && sp.spares == NULL)
		ev_stop(sp.ev);
}

int spawner_main(unsigned index)
{
	char name[32];
	const char *error;

	snprintf(name, sizeof(name), "spawner %u", index);
	if (process_child_init(name, &sp.config) < 0)
		return 1;
	sp.index = index;
	tzset();
	/* The certificate only: signatures come from the keys process. */
	sp.tls = tls_server_ctx_remote(sp.config.tls_cert, &error);
	if (sp.tls == NULL)
		log_warn("TLS is off: loading %s failed: %s", sp.config.tls_cert, error);

	/* Each pre-auth process adds this table to the spawner's jail. */
	if (jail_prepare(JAIL_ROLE_PREAUTH) < 0)
		return 1;
	/* The jail: no files at all from here on; its children inherit it. */
	struct jail jail = { .name = name, .path_count = 0, .role = JAIL_ROLE_SPAWNER };
	if (uids_enter_for(&sp.config, jail.role, 0, &jail.ids) < 0 || jail_enter(&jail) < 0)
		return 1;

	sp.ev = ev_new();
	if (sp.ev == NULL)
		return 1;
	sp.master = process_master_link(sp.ev, master_message, NULL);
	if (sp.master == NULL)
		return 1;
	ev_signal_add(sp.ev, SIGTERM, on_term, NULL);
	ev_signal_add(sp.ev, SIGCHLD, on_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);
	ev_timer_add(sp.ev, SPAWNER_SWEEP_MS, pressure_sweep, NULL);
	ev_run(sp.ev);
	log_spawn_cost();
	conncount_detach(&sp.conncount);
	return 0;
}
