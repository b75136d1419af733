/*
 * NAME
 *	queue - owns the spool; delivers accepted mail to accounts
 * DESCRIPTION
 *	Receives messages from pre-auth processes (each one's link comes from
 *	its spawner; queue-intake.c), writes each durably (fsynced and renamed into spool/q,
 *	one directory fsync for a group) before the pre-auth process may
 *	answer 250, then delivers each recipient through that account's
 *	worker, which master starts on request (at most QUEUE_MAX_WORKERS
 *	at once), retrying with a growing delay while it cannot be had and
 *	noting why in spool/why for `ravelin queue list`.  A message leaves
 *	the spool when every recipient has it.
 *	Answers whether a message fits its recipients' quotas (at RCPT when
 *	SIZE= is declared, and before accepting it) from the figures each
 *	worker sends (queue-quota.c), waiting a little for the figures of
 *	an account not known yet (queue-quota-wait.c); the store refuses
 *	what does not fit.
 *	After a crash, every message in spool/q is delivered again; workers
 *	refuse a delivery key they have seen, so nothing is duplicated.
 *	Acts on `ravelin queue retry|delete` as master passes them on
 *	(queue-control.c); a bounce it queues (queue-bounce.c) is delivered
 *	like any message, from <> to the sending account.
 * SECURITY
 *	Confined by Landlock to DATA/spool, with a seccomp allow-list, and
 *	runs as a uid of its own (uids.h) that owns the spool.  It never
 *	opens an account's store: it hands the account's worker a sealed
 *	memfd with the message alone, never the spool file, whose envelope
 *	names every recipient (Bcc included).  Input from pre-auth processes
 *	is typed messages; a recipient's accounts are believed only under
 *	auth's seal for that address and transaction (queue-rcpt.c, DESIGN
 *	rule 2); addresses are checked for control characters before they
 *	reach the envelope text.
 */
#include "queue.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/uids.h"
#include "lib/log.h"
#include "lib/process.h"
#include "queue-dkim.h"
#include "queue-intake.h"
#include "queue-control.h"
#include "queue-note.h"
#include "queue-private.h"
#include "queue-quota.h"
#include "queue-quota-wait.h"
#include "queue-remote.h"
#include "queue-rcpt.h"
#include "queue-retry.h"
#include "retry.h"
#include "queue-spam.h"
#include "spool.h"

/* Deliveries sent to one worker before it answers. */
#define QUEUE_MAX_INFLIGHT 64
/* A worker link unused for this long is closed, so the worker may exit. */
#define QUEUE_LINK_IDLE_MS 5000
/* Workers the queue holds links to, or has asked master for, at once.  A
 * worker takes about 10 MB (its store's caches, the MIME parser): one
 * message to 200 accounts started 200 of them together (+1.9 GB).  16
 * deliver in parallel more than the disk's fsyncs keep up with, within
 * about 160 MB; the others' deliveries wait for a place. */
#define QUEUE_MAX_WORKERS 16
/* A worker let go (IPC_WORKER_RELEASE) keeps its place until it exits and
 * closes the link; one that has not after this long is cut off.  Its exit
 * (master's answer, the store's last checkpoint and sync) took over 10 s
 * with 16 workers ending at once on a loaded machine, and a place freed
 * before the process ends lets more than QUEUE_MAX_WORKERS live at once:
 * this only guards against a worker that never ends. */
#define QUEUE_RELEASE_GRACE_MS 60000

/* An answer can wait for every worker the queue may ask for at once. */
_Static_assert(QUEUE_QUOTA_WAIT_ACCOUNTS >= QUEUE_MAX_WORKERS, "a wait holds every worker asked");
/* "queue id/account id" (send_delivery) fits IPC_DELIVER. */
_Static_assert(SPOOL_QID_SIZE + 32 <= IPC_DELIVER_MAX_KEY, "a delivery key fits IPC_DELIVER");

struct inflight {
	struct inflight *next;
	uint64_t seq;
	struct qmsg *msg;
	size_t rcpt;
};

struct wlink {
	struct wlink *next;
	uint64_t account;
	struct ipc *ipc;
	bool requested;
	bool wanted;            /* a delivery waits for it (this dispatch) */
	bool released;          /* let go: no deliveries, its place until it exits */
	bool told;              /* its worker sent its quota figures on this link */
	uint64_t released_at;
	uint64_t not_before;    /* its worker backs off after failing at start */
	uint64_t last_used;
	unsigned inflight_count;
	struct inflight *inflight;
};

struct queue {
	struct ev *ev;
	struct config config;
	struct ipc *master;
	struct spool *spool;
	struct qmsg *msgs;
	struct qmsg **msgs_tail;  /* oldest first, so mail arrives in order */
	struct wlink *links;
	uint64_t next_seq;
	bool dispatch_scheduled;
	/* From master: auth seals recipients with it (queue-rcpt.h). */
	unsigned char rcpt_key[TICKET_KEY_SIZE];
	bool have_rcpt_key;
	/* DKIM private keys, read before the jail (queue-dkim.h). */
	struct queue_dkim *dkim;
};

static struct queue q;

static void dispatch_all(void);
static void note_why(struct qmsg *m, size_t i, struct str why);

/* --- delivering to workers ------------------------------------------- */

static void load_message(const char *qid, void *ctx)
{
	(void)ctx;
	struct qmsg *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;
	snprintf(m->qid, sizeof(m->qid), "%s", qid);
	m->body_fd = -1;
	m->fd = spool_open_message(q.spool, qid, &m->text, &m->env, &m->offset);
	if (m->fd < 0) {
		free(m);
		return;
	}
	m->state = calloc(m->env.rcpt_count ? m->env.rcpt_count : 1, 1);
	if (m->state == NULL) {
		close(m->fd);
		spool_envelope_free(&m->env);
		buf_free(&m->text);
		free(m);
		return;
	}
	m->remaining = m->env.rcpt_count;
	*q.msgs_tail = m;
	q.msgs_tail = &m->next;
	/* Remote recipients wait for remote delivery; no worker is theirs. */
	for (size_t i = 0; i < m->env.rcpt_count; i++)
		if (m->env.rcpts[i].account == 0) {
			m->state[i] = RCPT_REMOTE;
			note_why(m, i, STR("waiting for remote delivery"));
		}
	dispatch_all();
	for (size_t i = 0; i < m->env.rcpt_count; i++)
		if (queue_remote_is_remote(&m->env.rcpts[i]))
			m->state[i] = RCPT_REMOTE;
	/* Last: recipients it finds done at once may finish (and free) m. */
	if (queue_remote_add(m->qid, m->fd, m->offset, &m->env, &m->why, m) < 0)
		log_error("%s: out of memory: remote recipients wait for a restart", m->qid);
}

static void msg_done(struct qmsg *m)
{
	queue_msg_remove(m, "delivered to all recipients, removed from the spool");
}

void queue_msg_remove(struct qmsg *m, const char *how)
{
	struct qmsg **pp = &q.msgs;
	while (*pp != m)
		pp = &(*pp)->next;
	*pp = m->next;
	if (q.msgs_tail == &m->next)
		q.msgs_tail = pp;
	spool_remove(q.spool, m->qid);
	queue_remote_forget(m);
	log_info("%s: %s", m->qid, how);
	if (m->retry != NULL)
		ev_timer_del(&m->retry);
	close(m->fd);
	if (m->body_fd >= 0)
		close(m->body_fd);
	queue_note_free(&m->why, m->env.rcpt_count);
	spool_envelope_free(&m->env);
	buf_free(&m->text);
	free(m->state);
	free(m);
}

/* remote_done: queue-remote.c finished remote recipient i of ctx. */
static void remote_done(void *ctx, size_t i)
{
	struct qmsg *m = ctx;
	m->state[i] = RCPT_DONE;
	if (--m->remaining == 0)
		msg_done(m);
}

/* note_why: queue_note_why for recipient i of m. */
static void note_why(struct qmsg *m, size_t i, struct str why)
{
	queue_note_why(q.spool, m->qid, &m->env, &m->why, i, why);
}

/* body_release closes the message's copy once no delivery of it is under
 * way or about to start (a retry makes it again). */
static void body_release(struct qmsg *m)
{
	for (size_t i = 0; i < m->env.rcpt_count; i++)
		if (m->state[i] == RCPT_INFLIGHT || m->state[i] == RCPT_PENDING)
			return;
	if (m->body_fd >= 0)
		close(m->body_fd);
	m->body_fd = -1;
}

static struct wlink *link_for(uint64_t account)
{
	for (struct wlink *w = q.links; w != NULL; w = w->next)
		if (w->account == account)
			return w;
	struct wlink *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->account = account;
	w->next = q.links;
	q.links = w;
	return w;
}

static void link_free(struct wlink *w)
{
	struct wlink **pp = &q.links;
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	while (w->inflight != NULL) {
		struct inflight *f = w->inflight;
		w->inflight = f->next;
		/* Not answered: deliver again (the key makes it safe). */
		if (f->msg->state[f->rcpt] == RCPT_INFLIGHT)
			f->msg->state[f->rcpt] = RCPT_PENDING;
		free(f);
	}
	if (w->ipc != NULL)
		ipc_close(&w->ipc);
	free(w);
}

static void send_delivery(struct wlink *w, struct qmsg *m, size_t i)
{
	struct inflight *f = calloc(1, sizeof(*f));
	struct buf out;
	char key[SPOOL_QID_SIZE + 32];

	if (f == NULL)
		return;
	if (m->env.mail_from.len > QUEUE_MAX_ADDRESS) {
		/* Only a damaged spool file says so; kept for the admin to see. */
		log_error("%s: envelope sender longer than a path; not delivered for now", m->qid);
		free(f);
		m->state[i] = RCPT_WAITING;
		queue_retry_schedule(m);
		return;
	}
	if (m->body_fd < 0)
		m->body_fd = spool_message_body(m->fd, m->offset, m->env.prepend_len);
	if (m->body_fd < 0) {
		free(f);
		m->state[i] = RCPT_WAITING;
		queue_retry_schedule(m);
		return;
	}
	f->seq = ++q.next_seq;
	f->msg = m;
	f->rcpt = i;
	snprintf(key, sizeof(key), "%s/%llu", m->qid, (unsigned long long)m->env.rcpts[i].account);
	buf_init(&out, 4096);
	ipc_put_str(&out, str_c(key));
	ipc_put_str(&out, m->env.mail_from);
	ipc_put_u64(&out, (uint64_t)m->env.arrived);
	ipc_put_u64(&out, m->env.junk ? IPC_DELIVER_JUNK : 0);
	if (ipc_send_buf(w->ipc, IPC_DELIVER, f->seq, &out, m->body_fd) < 0) {
		/* The worker does not read: deferred, not lost. */
		log_warn("%s: worker %llu takes no delivery now; deferred", m->qid,
			 (unsigned long long)w->account);
		free(f);
		buf_free(&out);
		m->state[i] = RCPT_WAITING;
		queue_retry_schedule(m);
		return;
	}
	buf_free(&out);
	m->state[i] = RCPT_INFLIGHT;
	f->next = w->inflight;
	w->inflight = f;
	w->inflight_count++;
	w->last_used = ev_now(q.ev);
}

/* worker_request_failed: master took no request for a worker (its link
 * is full): the recipient waits for a retry instead of for an answer. */
static void worker_request_failed(struct qmsg *m, size_t i)
{
	log_warn("%s: master takes no worker request now; delivery to account %llu deferred",
		 m->qid, (unsigned long long)m->env.rcpts[i].account);
	m->state[i] = RCPT_WAITING;
	queue_retry_schedule(m);
}

/* Places taken: links open (a released one until its worker exits) or
 * asked for. */
static unsigned workers_held(void)
{
	unsigned n = 0;
	for (struct wlink *w = q.links; w != NULL; w = w->next)
		n += w->ipc != NULL || w->requested;
	return n;
}

/* release_idle lets go of every worker with nothing in flight and nothing
 * waiting, so that accounts waiting for a place get one once it exits. */
static void release_idle(void)
{
	struct wlink *w = q.links;
	while (w != NULL) {
		struct wlink *next = w->next;
		if (w->ipc != NULL && !w->released && !w->wanted && w->inflight_count == 0) {
			w->released = true;
			w->released_at = ev_now(q.ev);
			if (ipc_send(w->ipc, IPC_WORKER_RELEASE, 0, NULL, 0, -1) < 0)
				link_free(w);
		}
		w = next;
	}
}

static void dispatch_now(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	q.dispatch_scheduled = false;
	unsigned held = workers_held();
	bool short_of_places = false;
	for (struct wlink *w = q.links; w != NULL; w = w->next)
		w->wanted = false;
	for (struct qmsg *m = q.msgs; m != NULL; m = m->next) {
		for (size_t i = 0; i < m->env.rcpt_count; i++) {
			if (m->state[i] != RCPT_PENDING)
				continue;
			struct wlink *w = link_for(m->env.rcpts[i].account);
			if (w == NULL)
				continue;
			w->wanted = true;
			/* A released link takes no more: the account waits for its
			 * worker to exit, then for a new one. */
			if (w->released || w->not_before > ev_now(q.ev))
				continue;
			if (w->ipc == NULL && !w->requested && held >= QUEUE_MAX_WORKERS) {
				short_of_places = true;
				continue;
			}
			if (w->ipc == NULL) {
				if (!w->requested && q.master != NULL) {
					uint64_t account = w->account;
					w->requested = ipc_send(q.master, IPC_WORKER_REQUEST, account,
								&account, sizeof(account), -1) == 0;
					if (w->requested)
						held++;
					else
						worker_request_failed(m, i);
				}
				continue;
			}
			if (w->inflight_count < QUEUE_MAX_INFLIGHT)
				send_delivery(w, m, i);
		}
	}
	if (short_of_places)
		release_idle();
}

/*
 * worker_warm asks master for account's worker when the queue has no
 * quota figures for it, so that they are here (IPC_WORKER_QUOTA) before
 * the message ends; only within QUEUE_MAX_WORKERS, and never for an
 * account whose worker backs off or is being let go.  A link it opens with
 * nothing to deliver is let go like any idle one.  Returns true when the
 * account's figures are on the way: its worker is asked for, or linked
 * and not heard from yet (queue_quota_wait_told says when they come, or
 * will not).
 */
bool queue_worker_warm(uint64_t account)
{
	if (q.master == NULL || account == 0 || queue_quota_fit(account, 0) != QUEUE_QUOTA_UNKNOWN)
		return false;
	for (struct wlink *w = q.links; w != NULL; w = w->next)
		if (w->account == account)
			return !w->released && (w->requested || (w->ipc != NULL && !w->told));
	if (workers_held() >= QUEUE_MAX_WORKERS)
		return false;
	struct wlink *w = link_for(account);
	if (w == NULL)
		return false;
	w->last_used = ev_now(q.ev);
	w->requested = ipc_send(q.master, IPC_WORKER_REQUEST, account, &account,
				sizeof(account), -1) == 0;
	return w->requested;
}

/* dispatch_all runs once per loop turn however often it is asked for. */
static void dispatch_all(void)
{
	if (q.dispatch_scheduled)
		return;
	q.dispatch_scheduled = true;
	ev_timer_add(q.ev, 0, dispatch_now, NULL);
}

void queue_dispatch(void)
{
	dispatch_all();
}

void queue_wake_workers(void)
{
	for (struct wlink *w = q.links; w != NULL; w = w->next)
		w->not_before = 0;
}

struct qmsg *queue_msgs(void)
{
	return q.msgs;
}

struct ev *queue_ev(void)
{
	return q.ev;
}

struct spool *queue_spool(void)
{
	return q.spool;
}

const struct config *queue_config(void)
{
	return &q.config;
}

void queue_msg_load(const char *qid)
{
	load_message(qid, NULL);
}

const unsigned char *queue_rcpt_key(void)
{
	return q.have_rcpt_key ? q.rcpt_key : NULL;
}

void queue_take(const char *qid)
{
	load_message(qid, NULL);
}

static void worker_result(struct wlink *w, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	uint64_t status = ipc_get_u64(&r);
	uint64_t uid = ipc_get_u64(&r);
	struct str text = ipc_get_str(&r, IPC_DELIVER_MAX_TEXT);
	uint64_t limit = ipc_get_u64(&r);
	uint64_t used = ipc_get_u64(&r);
	if (!ipc_reader_ok(&r))
		return;
	queue_quota_note(w->account, limit, used);
	w->told = true;
	queue_quota_wait_told(w->account);
	struct inflight **pp = &w->inflight;
	while (*pp != NULL && (*pp)->seq != msg->id)
		pp = &(*pp)->next;
	struct inflight *f = *pp;
	if (f == NULL)
		return;
	*pp = f->next;
	w->inflight_count--;
	w->last_used = ev_now(q.ev);
	struct qmsg *m = f->msg;
	struct spool_rcpt *rc = &m->env.rcpts[f->rcpt];
	free(f);
	bool done = status == IPC_DELIVER_OK || status == IPC_DELIVER_PERMFAIL;
	if (done) {
		if (status == IPC_DELIVER_OK)
			log_info("%s: delivered to <%.*s> (account %llu, uid %llu)", m->qid,
				 (int)rc->address.len, rc->address.ptr,
				 (unsigned long long)rc->account, (unsigned long long)uid);
		else
			log_error("%s: delivery to <%.*s> failed for good: %.*s", m->qid,
				  (int)rc->address.len, rc->address.ptr, (int)text.len, text.ptr);
		m->state[rc - m->env.rcpts] = RCPT_DONE;
		note_why(m, (size_t)(rc - m->env.rcpts), STR_NULL);
	} else {
		log_warn("%s: delivery to <%.*s> failed for now: %.*s", m->qid, (int)rc->address.len,
			 rc->address.ptr, (int)text.len, text.ptr);
		m->state[rc - m->env.rcpts] = RCPT_WAITING;
		note_why(m, (size_t)(rc - m->env.rcpts), text);
		queue_retry_schedule(m);
	}
	if (done && --m->remaining == 0)
		msg_done(m);
	else
		body_release(m);
	dispatch_all();
}

static void worker_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct wlink *w = ctx;
	if (msg->kind == IPC_DELIVER_RESULT) {
		worker_result(w, msg);
		return;
	}
	if (msg->kind == IPC_WORKER_QUOTA) {
		uint64_t quota[2];
		memcpy(quota, msg->payload, sizeof(quota));
		queue_quota_note(w->account, quota[0], quota[1]);
		w->told = true;
		queue_quota_wait_told(w->account);
		return;
	}
	log_error("unexpected %s message from %s", ipc_kind_name(msg->kind), ipc_peer_name(ipc));
	if (msg->fd >= 0)
		close(msg->fd);
}

static void worker_closed(struct ipc *ipc, void *ctx)
{
	struct wlink *w = ctx;
	(void)ipc;
	w->ipc = NULL;
	/* Its figures, if they did not come, will not. */
	queue_quota_wait_told(w->account);
	link_free(w);
	dispatch_all();
}

static void worker_unavailable(uint64_t account)
{
	for (struct wlink *w = q.links; w != NULL; w = w->next)
		if (w->account == account)
			w->requested = false;
	queue_quota_wait_told(account);
	struct qmsg *m = q.msgs;
	while (m != NULL) {
		struct qmsg *next = m->next;
		for (size_t i = 0; i < m->env.rcpt_count; i++) {
			if (m->env.rcpts[i].account != account || m->state[i] == RCPT_DONE)
				continue;
			log_error("%s: account %llu of <%.*s> no longer exists; not delivered", m->qid,
				  (unsigned long long)account, (int)m->env.rcpts[i].address.len,
				  m->env.rcpts[i].address.ptr);
			m->state[i] = RCPT_DONE;
			note_why(m, i, STR_NULL);
			m->remaining--;
		}
		if (m->remaining == 0)
			msg_done(m);
		m = next;
	}
}

static void deferred_over(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	dispatch_all();
}

/* worker_deferred: master will not start account's worker for wait_ms (it
 * failed at start).  Its recipients wait that long, with the reason noted
 * for `ravelin queue list` and logged once per wait (not per attempt). */
static void worker_deferred(uint64_t account, uint64_t wait_ms, struct str why)
{
	struct wlink *w = link_for(account);
	if (w == NULL)
		return;
	w->requested = false;
	w->not_before = ev_now(q.ev) + wait_ms;
	queue_quota_wait_told(account);
	log_warn("deliveries to account %llu wait %llu ms: %.*s", (unsigned long long)account,
		 (unsigned long long)wait_ms, (int)why.len, why.ptr);
	for (struct qmsg *m = q.msgs; m != NULL; m = m->next)
		for (size_t i = 0; i < m->env.rcpt_count; i++)
			if (m->env.rcpts[i].account == account && m->state[i] == RCPT_PENDING)
				note_why(m, i, why);
	ev_timer_add(q.ev, wait_ms + 1, deferred_over, NULL);
}

static void idle_sweep(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	struct wlink *w = q.links;
	while (w != NULL) {
		struct wlink *next = w->next;
		if (w->ipc != NULL && w->inflight_count == 0 &&
		    ev_now(q.ev) - (w->released ? w->released_at : w->last_used) >
			    (w->released ? QUEUE_RELEASE_GRACE_MS : QUEUE_LINK_IDLE_MS))
			link_free(w);
		w = next;
	}
	ev_timer_add(q.ev, QUEUE_LINK_IDLE_MS, idle_sweep, NULL);
}

static void master_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct ipc_reader r;
	(void)ctx;
	(void)ipc;
	ipc_reader_init(&r, msg);
	switch (msg->kind) {
	case IPC_PEER: {
		uint64_t role = ipc_get_u64(&r);
		uint64_t index = ipc_get_u64(&r);
		char name[32];
		snprintf(name, sizeof(name), "spawner %llu", (unsigned long long)index);
		if (role == IPC_ROLE_SPAM) {
			queue_spam_link(msg->fd);
			return;
		}
		if (role == IPC_ROLE_RELAY) {
			queue_remote_relay_link(msg->fd);
			return;
		}
		/* A worker submits its own mail (scheduling) as a submission
		 * client would, under auth's seals for its serial; master's
		 * index is the worker's account. */
		if (role == IPC_ROLE_WORKER) {
			queue_intake_link_new(msg->fd, IPC_WORKER_SERIAL(index), NULL);
			return;
		}
		if (role != IPC_ROLE_SPAWNER ||
		    ipc_spawner_link_new(q.ev, msg->fd, name, queue_intake_link_new, NULL, NULL) == NULL)
			close(msg->fd);
		return;
	}
	case IPC_WORKER_CONN: {
		uint64_t account = ipc_get_u64(&r);
		struct wlink *w = link_for(account);
		char name[48];
		snprintf(name, sizeof(name), "worker %llu", (unsigned long long)account);
		if (w == NULL || w->ipc != NULL) {
			close(msg->fd);
			return;
		}
		w->requested = false;
		w->last_used = ev_now(q.ev);
		w->ipc = ipc_new(q.ev, msg->fd, name, worker_handler, worker_closed, w);
		if (w->ipc == NULL)
			close(msg->fd);
		dispatch_all();
		return;
	}
	case IPC_WORKER_UNAVAILABLE:
		worker_unavailable(ipc_get_u64(&r));
		return;
	case IPC_WORKER_DEFERRED: {
		uint64_t account = ipc_get_u64(&r);
		uint64_t wait_ms = ipc_get_u64(&r);
		struct str why = ipc_get_str(&r, IPC_DELIVER_MAX_TEXT);
		if (ipc_reader_ok(&r))
			worker_deferred(account, wait_ms, why);
		return;
	}
	case IPC_QUEUE_CONTROL:
		queue_control(msg);
		return;
	case IPC_RCPT_KEY:
		memcpy(q.rcpt_key, msg->payload, TICKET_KEY_SIZE);
		q.have_rcpt_key = true;
		return;
	case IPC_SRS_KEY:
		queue_remote_srs_key(msg->payload);
		return;
	default:
		log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
		if (msg->fd >= 0)
			close(msg->fd);
	}
}

static void on_term(int signo, void *ctx)
{
	(void)signo;
	(void)ctx;
	ev_stop(q.ev);
}

int queue_main(void)
{
	char dir[PATH_MAX];

	q.msgs_tail = &q.msgs;
	if (process_child_init("queue", &q.config) < 0)
		return 1;
	tzset();
	if (spool_open(q.config.data, true, &q.spool) < 0)
		return PROCESS_EXIT_CANNOT_START;
	/* The jail opens no key file: the keys are read now, once. */
	if (queue_dkim_load(q.config.data, &q.dkim) < 0)
		return 1;
	log_info("dkim: keys for %zu domain(s)", queue_dkim_domains(q.dkim));
	retry_configure(&q.config);
	snprintf(dir, sizeof(dir), "%s/spool", q.config.data);
	struct jail jail = { .name = "queue", .paths = { { dir, true } }, .path_count = 1,
			     .role = JAIL_ROLE_QUEUE };
	if (uids_enter_for(&q.config, jail.role, 0, &jail.ids) < 0 ||
	    (jail.ids.drop && spool_notes_own(q.spool, jail.ids.uid, jail.ids.gid) < 0) ||
	    jail_enter(&jail) < 0)
		return 1;
	q.ev = ev_new();
	if (q.ev == NULL)
		return 1;
	queue_spam_init(q.ev);
	q.master = process_master_link(q.ev, master_handler, NULL);
	if (q.master == NULL)
		return 1;
	ev_signal_add(q.ev, SIGTERM, on_term, NULL);
	signal(SIGPIPE, SIG_IGN);
	queue_remote_init(q.ev, q.spool, &q.config, q.dkim, remote_done);
	/* Whatever was accepted before a stop or crash is delivered now. */
	spool_list(q.spool, load_message, NULL);
	ev_timer_add(q.ev, QUEUE_LINK_IDLE_MS, idle_sweep, NULL);
	ev_run(q.ev);
	return 0;
}
