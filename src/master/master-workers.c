/*
 * NAME
 *	master-workers - the account workers master starts
 * DESCRIPTION
 *	Starts the worker of an account when a session or the queue needs it
 *	(one per account) with a link to auth (its account's addresses),
 *	gives the queue links to it by account id, keeps
 *	the back-off of a worker that fails at start (its first wait
 *	MASTER_WORKER_FIRST_DELAY_MS, doubling, the queue told how long and
 *	why), and ends an account's workers on the command line's SIGUSR1.
 * SECURITY
 *	Which account directory a worker is confined to comes from the
 *	account id (a ticket's, or the queue's), never from a name in a
 *	request; an account without a uid of its own gets no worker when
 *	master runs as root (uids.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/uids.h"
#include "master-private.h"

/* The first wait before a worker that failed at start is started again;
 * it doubles with each failure up to MASTER_MAX_RESTART_DELAY_MS. */
#define MASTER_WORKER_FIRST_DELAY_MS 1000
/* Accounts whose workers back off at once: past it, the back-off that
 * ends first makes room (an account with a broken folder is rare; a
 * thousand at once is a broken disk, which the log says anyway). */
#define MASTER_MAX_BACKOFFS 1024

/* An account whose worker failed at start: none is started before until,
 * and the next failure doubles delay. */
struct worker_backoff {
	uint64_t account;         /* 0: a free entry */
	uint64_t until;
	uint64_t delay;
	char why[MASTER_LAST_ERROR];
};

/* Cleared when its worker ran; MASTER_MAX_BACKOFFS at most. */
static struct worker_backoff backoffs[MASTER_MAX_BACKOFFS];

/* worker_backoff finds the back-off of account's worker (it failed at
 * start), or NULL; with make, a new or reused entry instead of NULL. */
static struct worker_backoff *worker_backoff(uint64_t account, bool make)
{
	struct worker_backoff *room = NULL;
	for (size_t i = 0; i < MASTER_MAX_BACKOFFS; i++) {
		struct worker_backoff *b = &backoffs[i];
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
struct child *worker_for(uint64_t account)
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
	struct child *w = child_live(IPC_ROLE_WORKER, account);
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
	struct child *spam = child_live(IPC_ROLE_SPAM, 0);
	if (spam != NULL)
		child_connect(w, spam);
	/* Its account's addresses come from auth over this link (auth takes
	 * the account from master, never from the worker). */
	struct child *auth = child_live(IPC_ROLE_AUTH, 0);
	if (auth != NULL)
		child_connect(w, auth);
	/* And it submits the mail it writes (scheduling) to the queue. */
	struct child *queue = child_live(IPC_ROLE_QUEUE, 0);
	if (queue != NULL)
		child_connect(w, queue);
	/* Sessions an earlier worker parked come to this one: it knows
	 * nothing of them, and must tell them what it changes. */
	park_wake_account(account);
	return w;
}

bool worker_imap_full(const struct child *w)
{
	/* Given but not yet taken: on their way, so counted as held; and
	 * the account's sessions parked (a session parked is counted there
	 * before its worker reports it gone).  The sum may be one high for
	 * as long as a report of a session's end is on its way, never for
	 * longer. */
	return w->imap_held + (w->imap_given - w->imap_taken) + park_count(w->account) >=
	       IPC_ACCOUNT_MAX_IMAP_SESSIONS;
}

void worker_imap_report(struct child *w, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	uint64_t taken = ipc_get_u64(&r), held = ipc_get_u64(&r);
	if (!ipc_reader_ok(&r))
		return;
	/* A worker cannot have taken more than it was given; believing one
	 * that says so would let its account past the limit. */
	w->imap_taken = taken < w->imap_given ? taken : w->imap_given;
	w->imap_held = held;
}

/* worker_link_all gives every running worker a new link to auth (or the
 * queue), which is back after a restart (the old links died with it). */
void worker_link_all(struct child *auth)
{
	struct master *m = the_master;
	for (size_t i = 0; i < MASTER_MAX_CHILDREN; i++) {
		struct child *c = &m->children[i];
		if (c->in_use && c->pid > 0 && c->link != NULL && c->role == IPC_ROLE_WORKER)
			child_connect(c, auth);
	}
}

/* worker_start gives the queue (requester) one end of a new link to the
 * worker of account; or, while that worker is backing off after failing
 * at start, tells it how long to wait and why. */
void worker_start(struct child *requester, uint64_t account)
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

/* worker_exited ends c, a worker whose process is gone (its link closed):
 * one that died young and unclean backs off (worker_for starts none for
 * its account until the back-off passes); one that ran is started again
 * when its account is next needed.  name and how say who and how, for
 * the log. */
void worker_exited(struct child *c, const char *name, const char *how, int status)
{
	struct master *m = the_master;
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
}

/* Where the command line leaves its requests (src/cli/cli.h says the
 * same): DATA/control/end-sessions-<account id>, then SIGUSR1. */
#define MASTER_CONTROL_DIR "control"
#define MASTER_END_SESSIONS_PREFIX "end-sessions-"

/* worker_end_sessions (SIGUSR1): the command line deleted an account or
 * changed its password; its worker, and with it every open session of
 * the account, is ended (IMAP sessions get a BYE).  The next login starts
 * a new worker, with the new password. */
void worker_end_sessions(int signo, void *ctx)
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


/* ---------- parked sessions, counted per account ---------- */

/* The accounts' parked sessions: passed to park (IPC_PARK) and not yet
 * back (IPC_UNPARK) nor gone (IPC_PARK_GONE).  An open-addressing table;
 * an entry come down to 0 stays until the table is next rebuilt. */
struct parked_count {
	uint64_t account;        /* 0: a free slot */
	uint64_t n;
};
/* Slots at first; rebuilt when half are taken, twice the size if over a
 * quarter hold sessions, so at most 4 slots per account with sessions
 * parked (PARK_MAX_SESSIONS of them at most: 4 MiB). */
#define MASTER_PARKED_FIRST_SLOTS 256

static struct {
	struct parked_count *slots;
	size_t size, used;
} parked;

/* parked_slot is account's slot, or the free one where it would go. */
static struct parked_count *parked_slot(uint64_t account)
{
	size_t mask = parked.size - 1;
	size_t i = (size_t)((account * 0x9E3779B97F4A7C15ull) >> 32) & mask;
	while (parked.slots[i].account != account && parked.slots[i].account != 0)
		i = (i + 1) & mask;
	return &parked.slots[i];
}

/* parked_rebuild makes room for one more account (dropping those at 0);
 * -1 without memory, the table as it was. */
static int parked_rebuild(void)
{
	size_t live = 0;
	for (size_t i = 0; i < parked.size; i++)
		live += parked.slots[i].n > 0;
	size_t size = parked.size == 0 ? MASTER_PARKED_FIRST_SLOTS
		      : live * 4 > parked.size ? parked.size * 2 : parked.size;
	struct parked_count *old = parked.slots;
	size_t old_size = parked.size;
	parked.slots = calloc(size, sizeof(*parked.slots));
	if (parked.slots == NULL) {
		parked.slots = old;
		return -1;
	}
	parked.size = size;
	parked.used = 0;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].n > 0) {
			*parked_slot(old[i].account) = old[i];
			parked.used++;
		}
	free(old);
	return 0;
}

/* park_count: see master-private.h. */
uint64_t park_count(uint64_t account)
{
	if (parked.size == 0)
		return 0;
	return parked_slot(account)->n;
}

/* parked_add counts one more parked session of account. */
static void parked_add(uint64_t account)
{
	if (parked.size == 0 || (parked_slot(account)->account == 0 &&
				 (parked.used + 1) * 2 > parked.size)) {
		if (parked_rebuild() < 0) {
			log_error("out of memory: a parked session of account %llu is not counted",
				  (unsigned long long)account);
			return;
		}
	}
	struct parked_count *c = parked_slot(account);
	if (c->account == 0) {
		c->account = account;
		parked.used++;
	}
	c->n++;
}

/* park_gone: see master-private.h. */
void park_gone(uint64_t account)
{
	if (parked.size == 0)
		return;
	struct parked_count *c = parked_slot(account);
	if (c->n > 0)
		c->n--;
}

/* park_exited: see master-private.h. */
void park_exited(void)
{
	free(parked.slots);
	memset(&parked, 0, sizeof(parked));
}

/* park_from_worker: see master-private.h. */
void park_from_worker(struct child *worker, const struct ipc_msg *msg)
{
	struct child *park = child_live(IPC_ROLE_PARK, 0);
	if (msg->kind == IPC_PARK_WAKE) {
		/* Nothing parked, nothing to wake (park would look through
		 * every session it holds for none). */
		if (park != NULL && park_count(worker->account) > 0)
			(void)ipc_send(park->link, IPC_PARK_WAKE, worker->account, NULL, 0, -1);
		return;
	}
	if (park != NULL &&
	    ipc_send(park->link, msg->kind, worker->account, msg->payload, msg->len, msg->fd) == 0) {
		close(msg->fd);
		parked_add(worker->account);
		/* Parked by a worker on its way out while a newer one serves
		 * the account: the newer one does not know of it, so it does
		 * not wake it; it goes to that one now. */
		if (worker->retiring && child_live(IPC_ROLE_WORKER, worker->account) != NULL)
			park_wake_account(worker->account);
		return;
	}
	if (ipc_send(worker->link, IPC_UNPARK, 0, msg->payload, msg->len, msg->fd) < 0)
		child_drop_link(worker, "a session it parked");
	else
		worker->imap_given++;
	close(msg->fd);
}

/* park_to_worker: see master-private.h. */
void park_to_worker(const struct ipc_msg *msg)
{
	/* Out of park: from here on it counts where it goes (IMAP sessions
	 * given the worker, until the worker says it took it). */
	park_gone(msg->id);
	struct child *w = worker_for(msg->id);
	if (w == NULL || ipc_send(w->link, IPC_UNPARK, 0, msg->payload, msg->len, msg->fd) < 0)
		log_error("a parked session of account %llu has no worker to go to: closed",
			  (unsigned long long)msg->id);
	else
		w->imap_given++;
	close(msg->fd);
}

/* park_wake_account: see master-private.h. */
void park_wake_account(uint64_t account)
{
	struct child *park = child_live(IPC_ROLE_PARK, 0);
	if (park != NULL && park_count(account) > 0)
		(void)ipc_send(park->link, IPC_PARK_WAKE, account, NULL, 0, -1);
}
