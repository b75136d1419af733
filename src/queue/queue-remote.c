/*
 * queue-remote: outbound delivery, the queue's side (see queue-remote.h).
 *
 * Every remote recipient of a message in the spool is in one of four
 * states: pending (to be given to a relay), in flight (in a job), waiting
 * (for its retry) or finished.  dispatch, run once per loop turn however
 * often it is asked for, gives pending recipients to idle relay links of
 * their destination, asks for a new link where a destination has fewer
 * than relay.max_per_destination, and closes idle links nobody needs (the
 * child then QUITs).  One job per link at a time: the child takes the
 * next only after IPC_RELAY_DONE.
 *
 * The rule of CONTRACTS 2: a 2xx is made durable (spool_state_done)
 * before the recipient counts as finished or anything else happens.
 */
#include "queue-remote.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "queue-note.h"
#include "spool-state.h"

/* The longest wait between two attempts for a recipient (queue.c has the
 * same for local deliveries).  retry.h's schedule replaces this. */
#define QUEUE_REMOTE_MAX_RETRY_S 3600
/* After the relay spawner refused a child (too many at work), no new one
 * is asked for this long. */
#define QUEUE_REMOTE_REFUSED_PAUSE_MS 5000
/* A destination as sent in IPC_RELAY_OPEN. */
#define QUEUE_REMOTE_SMARTHOST "[smarthost]"

enum rstate { R_LOCAL = 0, R_PENDING, R_INFLIGHT, R_WAITING, R_FINISHED };

struct rmsg {
	struct rmsg *next;
	char qid[SPOOL_QID_SIZE];
	int fd;
	uint64_t offset;
	const struct spool_envelope *env;
	char ***notes;            /* the queue's notes of the message */
	void *ctx;
	unsigned char *st;        /* enum rstate per recipient */
	unsigned attempts;
	struct ev_timer *retry;
};

struct rjob {
	uint64_t id;
	struct rmsg *m;
	size_t count;
	size_t idx[IPC_RELAY_MAX_RCPTS];  /* the message's recipient indexes */
	bool reported[IPC_RELAY_MAX_RCPTS];
};

struct rlink {
	struct rlink *next;
	char dest[IPC_RELAY_MAX_DEST + 1];
	uint64_t open_id;         /* IPC_RELAY_OPEN's id while opening */
	struct ipc *ipc;          /* NULL while opening */
	struct rjob *job;
};

static struct {
	struct ev *ev;
	struct spool *spool;
	const struct config *config;
	queue_remote_done_fn *done;
	struct ipc *relay;
	struct rmsg *msgs;
	struct rlink *links;
	uint64_t next_id;
	bool dispatch_scheduled;
	uint64_t open_not_before;
} qr;

static void dispatch(void);

void queue_remote_init(struct ev *ev, struct spool *spool, const struct config *config,
		       queue_remote_done_fn *done)
{
	qr.ev = ev;
	qr.spool = spool;
	qr.config = config;
	qr.done = done;
}

/* dest_of writes recipient i's destination into out: the smarthost, or
 * the address's domain in lower case; false if it has none. */
static bool dest_of(const struct rmsg *m, size_t i, char out[IPC_RELAY_MAX_DEST + 1])
{
	if (qr.config->relay_smarthost[0] != '\0') {
		snprintf(out, IPC_RELAY_MAX_DEST + 1, "%s", QUEUE_REMOTE_SMARTHOST);
		return true;
	}
	struct str a = m->env->rcpts[i].address;
	size_t at = a.len;
	while (at > 0 && a.ptr[at - 1] != '@')
		at--;
	if (at == 0 || at == a.len || a.len - at > IPC_RELAY_MAX_DEST)
		return false;
	memcpy(out, a.ptr + at, a.len - at);
	out[a.len - at] = '\0';
	str_lower(out, a.len - at);
	return true;
}

static struct rmsg *msg_find(void *ctx)
{
	for (struct rmsg *m = qr.msgs; m != NULL; m = m->next)
		if (m->ctx == ctx)
			return m;
	return NULL;
}

/* finish counts recipient i as finished (the queue may free m in done). */
static void finish(struct rmsg *m, size_t i)
{
	m->st[i] = R_FINISHED;
	queue_note_why(qr.spool, m->qid, m->env, m->notes, i, STR_NULL);
	qr.done(m->ctx, i);
}

static void retry_fired(struct ev_timer *t, void *ctx)
{
	struct rmsg *m = ctx;
	(void)t;
	m->retry = NULL;
	for (size_t i = 0; i < m->env->rcpt_count; i++)
		if (m->st[i] == R_WAITING)
			m->st[i] = R_PENDING;
	dispatch();
}

/* retry_delay: queue.retry_delay, doubled per attempt, at most
 * QUEUE_REMOTE_MAX_RETRY_S (retry.h's schedule plugs in here). */
static uint64_t retry_delay(unsigned attempts)
{
	uint64_t delay = qr.config->queue_retry_delay;
	for (unsigned i = 0; i < attempts && delay < QUEUE_REMOTE_MAX_RETRY_S; i++)
		delay *= 2;
	return delay > QUEUE_REMOTE_MAX_RETRY_S ? QUEUE_REMOTE_MAX_RETRY_S : delay;
}

/* defer makes recipient i wait for the message's next retry. */
static void defer(struct rmsg *m, size_t i, struct str answer)
{
	uint64_t delay = retry_delay(m->attempts);
	m->st[i] = R_WAITING;
	queue_note_why(qr.spool, m->qid, m->env, m->notes, i, answer);
	(void)spool_state_deferred(qr.spool, m->qid, i, (int64_t)time(NULL) + (int64_t)delay,
				   answer);
	if (m->retry == NULL) {
		m->attempts++;
		m->retry = ev_timer_add(qr.ev, delay * 1000, retry_fired, m);
	}
}

int queue_remote_add(const char *qid, int fd, uint64_t offset, const struct spool_envelope *env,
		     char ***notes, void *msg_ctx)
{
	struct spool_state state;
	struct rmsg *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -1;
	m->st = calloc(env->rcpt_count ? env->rcpt_count : 1, 1);
	if (m->st == NULL) {
		free(m);
		return -1;
	}
	snprintf(m->qid, sizeof(m->qid), "%s", qid);
	m->fd = fd;
	m->offset = offset;
	m->env = env;
	m->notes = notes;
	m->ctx = msg_ctx;
	m->next = qr.msgs;
	qr.msgs = m;
	if (spool_state_load(qr.spool, qid, &state) < 0)
		memset(&state, 0, sizeof(state));
	/* Pending first, then the finished are counted: done may free the
	 * message, after which m is not touched. */
	size_t finished = 0;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (!queue_remote_is_remote(&env->rcpts[i]))
			continue;
		if (spool_state_rcpt(&state, i) == SPOOL_RCPT_PENDING)
			m->st[i] = R_PENDING;
		else
			finished++;
	}
	bool any_pending = finished == 0;
	for (size_t i = 0; i < env->rcpt_count && !any_pending; i++)
		any_pending = m->st[i] == R_PENDING;
	if (any_pending)
		dispatch();
	for (size_t i = 0, n = env->rcpt_count; finished > 0 && i < n; i++)
		if (queue_remote_is_remote(&env->rcpts[i]) &&
		    spool_state_rcpt(&state, i) != SPOOL_RCPT_PENDING) {
			finished--;
			finish(m, i);
		}
	spool_state_free(&state);
	return 0;
}

void queue_remote_forget(void *msg_ctx)
{
	struct rmsg *m = msg_find(msg_ctx);
	if (m == NULL)
		return;
	for (struct rlink *l = qr.links; l != NULL; l = l->next)
		if (l->job != NULL && l->job->m == m)
			l->job->m = NULL; /* its results find no message */
	struct rmsg **pp = &qr.msgs;
	while (*pp != m)
		pp = &(*pp)->next;
	*pp = m->next;
	if (m->retry != NULL)
		ev_timer_del(&m->retry);
	spool_state_remove(qr.spool, m->qid);
	free(m->st);
	free(m);
}

/* outgoing_fd makes the message as it goes out: a sealed memfd of the
 * message alone (no envelope), and its size. */
static int outgoing_fd(struct rmsg *m, uint64_t *size)
{
	int fd = spool_message_body(m->fd, m->offset);
	/*
	 * DKIM (CONTRACTS 4), the one call site: with src/queue/queue-dkim.h
	 * in the tree, queue_dkim_sign(dkim, fd, &headers) goes here and the
	 * memfd becomes headers + message.
	 */
#if __has_include("queue-dkim.h")
#pragma message("queue-remote.c: plug queue_dkim_sign in at outgoing_fd")
#endif
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (fd >= 0)
		*size = (uint64_t)st.st_size;
	return fd;
}

/* job_send gives link l the pending recipients of m for its destination. */
static void job_send(struct rlink *l, struct rmsg *m)
{
	char dest[IPC_RELAY_MAX_DEST + 1];
	struct rjob *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return;
	for (size_t i = 0; i < m->env->rcpt_count && j->count < IPC_RELAY_MAX_RCPTS; i++)
		if (m->st[i] == R_PENDING && dest_of(m, i, dest) && strcmp(dest, l->dest) == 0)
			j->idx[j->count++] = i;
	uint64_t size = 0;
	int fd = j->count > 0 ? outgoing_fd(m, &size) : -1;
	if (fd < 0) {
		if (j->count > 0)
			log_error("%s: the outgoing copy could not be made; retried later", m->qid);
		for (size_t k = 0; k < j->count; k++)
			defer(m, j->idx[k], STR("451 4.3.0 the outgoing copy could not be made"));
		free(j);
		return;
	}
	j->id = ++qr.next_id;
	j->m = m;
	struct buf b;
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_u64(&b, j->id);
	ipc_put_str(&b, m->env->mail_from);
	ipc_put_u64(&b, m->env->flags & (IPC_QUEUE_8BITMIME | IPC_QUEUE_SMTPUTF8));
	ipc_put_u64(&b, size);
	ipc_put_u64(&b, j->count);
	for (size_t k = 0; k < j->count; k++)
		ipc_put_str(&b, m->env->rcpts[j->idx[k]].address);
	int r = ipc_send_buf(l->ipc, IPC_RELAY_MSG, j->id, &b, fd);
	buf_free(&b);
	close(fd);
	if (r < 0) {
		log_warn("%s: the relay for %s takes no job now; retried later", m->qid, l->dest);
		for (size_t k = 0; k < j->count; k++)
			defer(m, j->idx[k], STR("451 4.3.0 the relay took no job"));
		free(j);
		return;
	}
	for (size_t k = 0; k < j->count; k++)
		m->st[j->idx[k]] = R_INFLIGHT;
	l->job = j;
}

/* job_end: what the job left unreported waits for a retry. */
static void job_end(struct rlink *l, const char *why)
{
	struct rjob *j = l->job;
	l->job = NULL;
	if (j == NULL)
		return;
	for (size_t k = 0; j->m != NULL && k < j->count; k++)
		if (!j->reported[k] && j->m->st[j->idx[k]] == R_INFLIGHT) {
			log_warn("%s: <%.*s>: %s; retried later", j->m->qid,
				 (int)j->m->env->rcpts[j->idx[k]].address.len,
				 j->m->env->rcpts[j->idx[k]].address.ptr, why);
			defer(j->m, j->idx[k], str_c(why));
		}
	free(j);
}

static void link_free(struct rlink *l, const char *why)
{
	struct rlink **pp = &qr.links;
	while (*pp != l)
		pp = &(*pp)->next;
	*pp = l->next;
	job_end(l, why);
	if (l->ipc != NULL)
		ipc_close(&l->ipc);
	free(l);
}

/* result takes IPC_RELAY_RESULT: done durably first, then the rest. */
static void result(struct rlink *l, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	uint64_t job = ipc_get_u64(&r);
	uint64_t index = ipc_get_u64(&r);
	uint64_t code = ipc_get_u64(&r);
	struct str answer = ipc_get_str(&r, IPC_RELAY_MAX_ANSWER);
	struct str host = ipc_get_str(&r, IPC_RELAY_MAX_HOST);
	struct rjob *j = l->job;
	if (!ipc_reader_ok(&r) || j == NULL || j->id != job || index >= j->count ||
	    j->reported[index] || code < 200 || code > 599) {
		log_error("relay for %s: result for no recipient waiting: closing its link", l->dest);
		link_free(l, "the relay answered out of turn");
		return;
	}
	j->reported[index] = true;
	struct rmsg *m = j->m;
	if (m == NULL)
		return;
	size_t i = j->idx[index];
	struct str addr = m->env->rcpts[i].address;
	if (code / 100 == 2) {
		if (spool_state_done(qr.spool, m->qid, i, answer) < 0) {
			/* Delivered, but not durably noted: sent again later
			 * rather than lost. */
			log_error("%s: <%.*s> delivered via %.*s but not noted; retried later",
				  m->qid, (int)addr.len, addr.ptr, (int)host.len, host.ptr);
			defer(m, i, answer);
			return;
		}
		log_info("%s: delivered to <%.*s> via %.*s: %.*s", m->qid, (int)addr.len, addr.ptr,
			 (int)host.len, host.ptr, (int)answer.len, answer.ptr);
		finish(m, i);
	} else if (code / 100 == 5) {
		log_error("%s: delivery to <%.*s> failed for good via %.*s: %.*s", m->qid,
			  (int)addr.len, addr.ptr, (int)host.len, host.ptr, (int)answer.len,
			  answer.ptr);
		if (spool_state_failed(qr.spool, m->qid, i, answer) < 0) {
			defer(m, i, answer);
			return;
		}
		finish(m, i);
	} else {
		log_warn("%s: delivery to <%.*s> failed for now via %.*s: %.*s", m->qid,
			 (int)addr.len, addr.ptr, (int)host.len, host.ptr, (int)answer.len,
			 answer.ptr);
		defer(m, i, answer);
	}
}

static void link_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct rlink *l = ctx;
	(void)ipc;
	if (msg->kind == IPC_RELAY_RESULT) {
		result(l, msg);
		return;
	}
	if (msg->kind == IPC_RELAY_DONE && l->job != NULL && l->job->id == msg->id) {
		job_end(l, "the relay gave no answer");
		dispatch();
		return;
	}
	log_error("unexpected %s message from the relay for %s: closing its link",
		  ipc_kind_name(msg->kind), l->dest);
	if (msg->fd >= 0)
		close(msg->fd);
	link_free(l, "the relay's link was closed");
	dispatch();
}

static void link_closed(struct ipc *ipc, void *ctx)
{
	struct rlink *l = ctx;
	(void)ipc;
	l->ipc = NULL;
	link_free(l, "the relay ended before it answered");
	dispatch();
}

/* ready takes IPC_RELAY_READY: the link of the child for an open. */
static void ready(const struct ipc_msg *msg)
{
	for (struct rlink *l = qr.links; l != NULL; l = l->next) {
		if (l->ipc != NULL || l->open_id != msg->id)
			continue;
		char name[IPC_RELAY_MAX_DEST + 16];
		snprintf(name, sizeof(name), "relay %s", l->dest);
		l->ipc = ipc_new(qr.ev, msg->fd, name, link_message, link_closed, l);
		if (l->ipc == NULL) {
			close(msg->fd);
			link_free(l, "the relay's link could not be taken");
		}
		dispatch();
		return;
	}
	close(msg->fd);
}

static void open_paused(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	dispatch();
}

static void relay_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ctx;
	if (msg->kind == IPC_RELAY_READY && msg->fd >= 0) {
		ready(msg);
		return;
	}
	if (msg->kind == IPC_RELAY_REFUSED) {
		for (struct rlink *l = qr.links; l != NULL; l = l->next)
			if (l->ipc == NULL && l->open_id == msg->id) {
				log_warn("the relay spawner made no relay for %s now", l->dest);
				link_free(l, "no relay");
				break;
			}
		qr.open_not_before = ev_now(qr.ev) + QUEUE_REMOTE_REFUSED_PAUSE_MS;
		ev_timer_add(qr.ev, QUEUE_REMOTE_REFUSED_PAUSE_MS + 1, open_paused, NULL);
		return;
	}
	struct ipc *self = ipc;
	ipc_reject(&self, msg);
	qr.relay = NULL;
}

/* relay_closed: the spawner is gone; opens under way are void (a new
 * spawner's link comes from master). */
static void relay_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	qr.relay = NULL;
	struct rlink *l = qr.links;
	while (l != NULL) {
		struct rlink *next = l->next;
		if (l->ipc == NULL)
			link_free(l, "the relay spawner ended");
		l = next;
	}
}

void queue_remote_relay_link(int fd)
{
	if (qr.relay != NULL)
		ipc_close(&qr.relay);
	relay_closed(NULL, NULL);
	qr.relay = ipc_new(qr.ev, fd, "relay", relay_message, relay_closed, NULL);
	if (qr.relay == NULL)
		close(fd);
	dispatch();
}

/* links_of counts dest's links (open or opening); *idle gets one that
 * takes a job now, *opening whether one is being opened. */
static unsigned links_of(const char *dest, struct rlink **idle, bool *opening)
{
	unsigned n = 0;
	*idle = NULL;
	*opening = false;
	for (struct rlink *l = qr.links; l != NULL; l = l->next) {
		if (strcmp(l->dest, dest) != 0)
			continue;
		n++;
		if (l->ipc == NULL)
			*opening = true;
		else if (l->job == NULL && *idle == NULL)
			*idle = l;
	}
	return n;
}

/* open_link asks the relay spawner for a child for dest. */
static void open_link(const char *dest)
{
	struct rlink *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return;
	snprintf(l->dest, sizeof(l->dest), "%s", dest);
	l->open_id = ++qr.next_id;
	struct buf b;
	buf_init(&b, IPC_STR_SIZE(IPC_RELAY_MAX_DEST));
	ipc_put_str(&b, str_c(dest));
	int r = ipc_send_buf(qr.relay, IPC_RELAY_OPEN, l->open_id, &b, -1);
	buf_free(&b);
	if (r < 0) {
		free(l);
		return;
	}
	l->next = qr.links;
	qr.links = l;
}

/* needed: does a pending recipient go to dest? */
static bool needed(const char *dest)
{
	char d[IPC_RELAY_MAX_DEST + 1];
	for (struct rmsg *m = qr.msgs; m != NULL; m = m->next)
		for (size_t i = 0; i < m->env->rcpt_count; i++)
			if (m->st[i] == R_PENDING && dest_of(m, i, d) && strcmp(d, dest) == 0)
				return true;
	return false;
}

static void dispatch_now(struct ev_timer *t, void *ctx)
{
	char dest[IPC_RELAY_MAX_DEST + 1];
	(void)t;
	(void)ctx;
	qr.dispatch_scheduled = false;
	struct rmsg *m = qr.msgs;
	while (m != NULL) {
		struct rmsg *next = m->next;
		for (size_t i = 0; i < m->env->rcpt_count; i++) {
			if (m->st[i] != R_PENDING)
				continue;
			if (!dest_of(m, i, dest)) {
				struct str a = m->env->rcpts[i].address;
				log_error("%s: <%.*s> has no domain to send to: failed for good",
					  m->qid, (int)a.len, a.ptr);
				if (spool_state_failed(qr.spool, m->qid, i,
						       STR("553 5.1.3 no domain in the address")) == 0) {
					dispatch();
					finish(m, i);
					break; /* m may be gone */
				}
				continue;
			}
			struct rlink *idle;
			bool opening;
			unsigned n = links_of(dest, &idle, &opening);
			if (idle != NULL)
				job_send(idle, m);
			else if (!opening && qr.relay != NULL &&
				 n < qr.config->relay_max_per_destination &&
				 ev_now(qr.ev) >= qr.open_not_before)
				open_link(dest);
		}
		m = next;
	}
	/* Idle links nobody needs are closed: their children QUIT. */
	struct rlink *l = qr.links;
	while (l != NULL) {
		struct rlink *next = l->next;
		if (l->ipc != NULL && l->job == NULL && !needed(l->dest))
			link_free(l, "");
		l = next;
	}
}

/* dispatch runs dispatch_now once per loop turn however often asked. */
static void dispatch(void)
{
	if (qr.dispatch_scheduled || qr.ev == NULL)
		return;
	qr.dispatch_scheduled = true;
	ev_timer_add(qr.ev, 0, dispatch_now, NULL);
}
