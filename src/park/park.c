/*
 * NAME
 *	park - holds the clients of parked IMAP sessions (see park.h)
 * DESCRIPTION
 *	Master gives it a session (IPC_PARK, the account in the message id,
 *	the state and the client's socket); it watches the socket and gives
 *	the session back (IPC_UNPARK, same fields) when the client writes,
 *	when master says the account changed (IPC_PARK_WAKE), or after
 *	PARK_HOLD_MS; it says IPC_PARK_GONE when a client leaves (master
 *	counts each account's parked sessions).  Nothing else reaches it.
 * SECURITY
 *	It holds the TLS keys of every parked session, so it takes no input
 *	from the network at all: it never reads a client's socket (FIONREAD
 *	tells it whether a readable socket holds bytes or its end), and its
 *	one link is to master.  Jailed: no file, no network, seccomp's
 *	smallest table, a uid of its own.  Each state is wiped when it leaves.
 */
#include "park.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/uids.h"

struct parked {
	struct parked *next, **prev;
	uint64_t account;
	int fd;
	struct ev_io *io;
	uint64_t since;
	size_t len;
	unsigned char *state;   /* IPC_PARK's payload as it came */
};

static struct {
	struct config config;
	struct ev *ev;
	struct ipc *master;
	struct parked *list;
	unsigned count;
	unsigned max;           /* PARK_MAX_SESSIONS, or fewer if descriptors are */
} pk;

/* parked_free wipes and frees p, closing the client's socket. */
static void parked_free(struct parked *p)
{
	*p->prev = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	pk.count--;
	ev_io_del(&p->io);
	if (p->fd >= 0)
		close(p->fd);
	sodium_memzero(p->state, p->len);
	free(p->state);
	free(p);
}

/* unpark gives p back to master for its account's worker, then frees it. */
static void unpark(struct parked *p)
{
	if (pk.master == NULL ||
	    ipc_send(pk.master, IPC_UNPARK, p->account, p->state, p->len, p->fd) < 0)
		log_error("a parked session of account %llu could not be given back: closed",
			  (unsigned long long)p->account);
	parked_free(p);
}

/* client_ready: the client wrote, or its socket shows its end. */
static void client_ready(struct ev_io *io, unsigned events, void *ctx)
{
	struct parked *p = ctx;
	int n = 0;
	(void)io;
	(void)events;
	if (ioctl(p->fd, FIONREAD, &n) < 0 || n <= 0) {
		log_debug("a parked client of account %llu left",
			  (unsigned long long)p->account);
		/* Master counts the account's sessions: one fewer. */
		if (ipc_send(pk.master, IPC_PARK_GONE, p->account, NULL, 0, -1) < 0)
			log_error("master was not told a parked client of account %llu left",
				  (unsigned long long)p->account);
		parked_free(p);
		return;
	}
	unpark(p);
}

/* park_take holds the session master gives (msg->fd is ours); past
 * pk.max, or without memory, it goes straight back. */
static void park_take(const struct ipc_msg *msg)
{
	struct parked *p = pk.count < pk.max ? calloc(1, sizeof(*p)) : NULL;
	if (p != NULL)
		p->state = malloc(msg->len);
	if (p == NULL || p->state == NULL) {
		/* Full: straight back to the worker, which keeps it. */
		log_warn("%u sessions parked already: one given back", pk.count);
		free(p);
		if (ipc_send(pk.master, IPC_UNPARK, msg->id, msg->payload, msg->len, msg->fd) < 0)
			log_error("a session could be neither parked nor given back: closed");
		close(msg->fd);
		return;
	}
	memcpy(p->state, msg->payload, msg->len);
	p->len = msg->len;
	p->account = msg->id;
	p->fd = msg->fd;
	p->since = ev_now(pk.ev);
	p->next = pk.list;
	if (p->next != NULL)
		p->next->prev = &p->next;
	p->prev = &pk.list;
	pk.list = p;
	pk.count++;
	p->io = ev_io_add(pk.ev, p->fd, EV_READ, client_ready, p);
	if (p->io == NULL)
		unpark(p);
}

/* park_wake gives back every session of account. */
static void park_wake(uint64_t account)
{
	for (struct parked *p = pk.list, *next; p != NULL; p = next) {
		next = p->next;
		if (p->account == account)
			unpark(p);
	}
}

/* sweep gives back the sessions parked PARK_HOLD_MS ago or more (their
 * worker's autologout then applies) and comes again in PARK_SWEEP_MS. */
static void sweep(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	uint64_t now = ev_now(pk.ev);
	for (struct parked *p = pk.list, *next; p != NULL; p = next) {
		next = p->next;
		if (now - p->since >= PARK_HOLD_MS)
			unpark(p);
	}
	ev_timer_add(pk.ev, PARK_SWEEP_MS, sweep, NULL);
}

/* master_handler takes master's messages, the only ones park gets: a
 * session to hold, or an account whose sessions go back. */
static void master_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ctx;
	(void)ipc;
	switch (msg->kind) {
	case IPC_PARK:
		if (msg->id != 0) {
			park_take(msg);
			return;
		}
		break;
	case IPC_PARK_WAKE:
		park_wake(msg->id);
		return;
	default:
		break;
	}
	log_error("master sent a %s message park does not take: ignored",
		  ipc_kind_name(msg->kind));
	if (msg->fd >= 0)
		close(msg->fd);
}

/* on_term (SIGTERM, the server stops): the parked clients are closed. */
static void on_term(int signo, void *ctx)
{
	(void)signo;
	(void)ctx;
	ev_stop(pk.ev);
}

int park_main(void)
{
	if (process_child_init("park", &pk.config) < 0)
		return 1;
	if (sodium_init() < 0)
		return 1;
	/* A descriptor passed past the limit would be lost with its message
	 * (and the link with it): park holds at most what the limit leaves. */
	struct rlimit nofile;
	pk.max = PARK_MAX_SESSIONS;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < PARK_MAX_SESSIONS + PARK_FD_SPARE)
		pk.max = nofile.rlim_cur > PARK_FD_SPARE ? (unsigned)(nofile.rlim_cur - PARK_FD_SPARE) : 0;
	/* The jail: no files, no network; the sockets it is given only. */
	struct jail jail = { .name = "park", .path_count = 0, .role = JAIL_ROLE_PARK };
	if (uids_enter_for(&pk.config, jail.role, 0, &jail.ids) < 0 || jail_enter(&jail) < 0)
		return 1;
	pk.ev = ev_new();
	if (pk.ev == NULL)
		return 1;
	pk.master = process_master_link(pk.ev, master_handler, NULL);
	if (pk.master == NULL)
		return 1;
	ev_signal_add(pk.ev, SIGTERM, on_term, NULL);
	signal(SIGPIPE, SIG_IGN);
	ev_timer_add(pk.ev, PARK_SWEEP_MS, sweep, NULL);
	ev_run(pk.ev);
	while (pk.list != NULL)
		parked_free(pk.list);
	return 0;
}
