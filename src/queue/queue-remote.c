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
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/io.h"
#include "queue-bounce.h"
#include "queue-dkim.h"
#include "queue-note.h"
#include "queue.h"
#include "retry.h"
#include "spool-state.h"

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
	int64_t first_tried;      /* when remote delivery began (retry.h) */
	bool notice_sent;         /* the delay notice went out */
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
	struct queue_dkim *dkim;
	struct ipc *relay;
	struct rmsg *msgs;
	struct rlink *links;
	uint64_t next_id;
	bool dispatch_scheduled;
	uint64_t open_not_before;
	unsigned char srs_key[SRS_KEY_SIZE];
	bool have_srs_key;
} qr;

void queue_remote_srs_key(const unsigned char key[SRS_KEY_SIZE])
{
	memcpy(qr.srs_key, key, SRS_KEY_SIZE);
	qr.have_srs_key = true;
}

/* envelope_sender is the sender a message goes out with: a logged-in
 * account's as it is; anyone else's (mail forwarded by an alias, never
 * the null sender) rewritten to SRS0 at our hostname, so the far side's
 * SPF looks at us, who send it.  Without the key (or with an address too
 * long to rewrite) it goes as it came. */
static struct str envelope_sender(const struct spool_envelope *env, char *out)
{
	if (env->sender_account != 0 || env->mail_from.len == 0 || !qr.have_srs_key ||
	    srs_encode(qr.srs_key, env->mail_from, str_c(qr.config->hostname), time(NULL),
		       out) < 0)
		return env->mail_from;
	return str_c(out);
}

static void dispatch(void);

void queue_remote_init(struct ev *ev, struct spool *spool, const struct config *config,
		       struct queue_dkim *dkim, queue_remote_done_fn *done)
{
	qr.dkim = dkim;
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

/* bounce sends the sender a DSN of kind action for recipient i (the
 * queue then delivers it like any message); a failure to write it is
 * logged, the outcome stays as noted. */
static void bounce(struct rmsg *m, size_t i, enum bounce_action action, struct str answer,
		   struct str host)
{
	char bqid[SPOOL_QID_SIZE];
	struct bounce_rcpt br = { .address = m->env->rcpts[i].address, .answer = answer,
				  .remote_mta = host };
	int r = queue_bounce_send(qr.spool, qr.config->hostname, m->qid, action, &br, 1, bqid);
	if (r == 1)
		queue_take(bqid);
	else if (r < 0)
		log_error("%s: the %s notice for <%.*s> could not be queued", m->qid,
			  action == BOUNCE_FAILED ? "failure" : "delay", (int)br.address.len,
			  br.address.ptr);
}

/* fail ends recipient i for good (noted durably first), with a bounce. */
static void fail(struct rmsg *m, size_t i, struct str answer, struct str host)
{
	if (spool_state_failed(qr.spool, m->qid, i, answer) < 0) {
		log_error("%s: a permanent failure could not be noted; tried again later", m->qid);
		m->st[i] = R_WAITING;
		return;
	}
	bounce(m, i, BOUNCE_FAILED, answer, host);
	finish(m, i);
}

/* expire fails every waiting recipient of m for good, with the last
 * answer each had; m may be gone when it returns. */
static void expire(struct rmsg *m)
{
	struct spool_state state;
	size_t n = 0, count = m->env->rcpt_count;
	size_t *idx = calloc(count ? count : 1, sizeof(*idx));
	if (idx == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		if (m->st[i] == R_WAITING)
			idx[n++] = i;
	if (spool_state_load(qr.spool, m->qid, &state) < 0)
		memset(&state, 0, sizeof(state));
	int64_t since = (int64_t)time(NULL) - m->first_tried;
	/* Only the last finish can free m: every other recipient is done. */
	for (size_t k = 0; k < n; k++) {
		const struct spool_state_rcpt *r = spool_state_rcpt(&state, idx[k]);
		char why[SPOOL_STATE_MAX_ANSWER];
		snprintf(why, sizeof(why), "4.4.7 delivery time expired after %lld s; last answer: %s",
			 (long long)since, r != NULL && r->answer != NULL ? r->answer : "none");
		struct str a = m->env->rcpts[idx[k]].address;
		log_error("%s: delivery to <%.*s> given up: %s", m->qid, (int)a.len, a.ptr, why);
		fail(m, idx[k], str_c(why), STR(""));
	}
	spool_state_free(&state);
	free(idx);
}

static void retry_fired(struct ev_timer *t, void *ctx)
{
	struct rmsg *m = ctx;
	(void)t;
	m->retry = NULL;
	if (retry_expired(m->first_tried, (int64_t)time(NULL))) {
		expire(m);
		dispatch();
		return;
	}
	for (size_t i = 0; i < m->env->rcpt_count; i++)
		if (m->st[i] == R_WAITING)
			m->st[i] = R_PENDING;
	dispatch();
}

/* defer makes recipient i wait for the message's next try on the
 * schedule (queue.retry_schedule); past queue.expire it fails, and past
 * queue.delay_notice the sender is told once that it waits. */
static void defer(struct rmsg *m, size_t i, struct str answer, struct str host)
{
	int64_t now = (int64_t)time(NULL);
	(void)host;
	/* Past queue.expire: failed from the retry timer, right away (never
	 * from here, whose callers go on using m). */
	int64_t next = retry_expired(m->first_tried, now) ? now
						      : retry_next(m->attempts, m->first_tried, now);
	m->st[i] = R_WAITING;
	queue_note_why(qr.spool, m->qid, m->env, m->notes, i, answer);
	(void)spool_state_deferred(qr.spool, m->qid, i, next, answer);
	if (!m->notice_sent && retry_notice_due(m->first_tried, now)) {
		m->notice_sent = true;
		char bqid[SPOOL_QID_SIZE];
		int r = queue_bounce_delayed(qr.spool, qr.config->hostname, m->qid, &i, 1, bqid);
		if (r == 1)
			queue_take(bqid);
	}
	if (m->retry == NULL) {
		m->attempts++;
		uint64_t wait = next > now ? (uint64_t)(next - now) * 1000 : 0;
		m->retry = ev_timer_add(qr.ev, wait, retry_fired, m);
	}
}

/* state_pending: no outcome noted for recipient i yet. */
static bool state_pending(const struct spool_state *st, size_t i)
{
	const struct spool_state_rcpt *r = spool_state_rcpt(st, i);
	return r == NULL || r->status == SPOOL_STATE_PENDING;
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
	m->first_tried = state.first_tried != 0 ? state.first_tried : env->arrived;
	m->notice_sent = state.notice_sent;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct spool_state_rcpt *r = spool_state_rcpt(&state, i);
		if (r != NULL && r->attempts > m->attempts)
			m->attempts = r->attempts;
	}
	/* Pending first, then the finished are counted: done may free the
	 * message, after which m is not touched. */
	size_t finished = 0;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (!queue_remote_is_remote(&env->rcpts[i]))
			continue;
		if (state_pending(&state, i))
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
		    !state_pending(&state, i)) {
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
	int fd = spool_message_body(m->fd, m->offset, m->env->prepend_len);
	struct buf sig;
	buf_init(&sig, 8192);
	/* DKIM: one signature per algorithm when the From: domain is ours. */
	if (fd >= 0 && qr.dkim != NULL && queue_dkim_sign(qr.dkim, fd, &sig) > 0) {
		int out = memfd_create("ravelin-outgoing", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		struct stat st0;
		bool ok = out >= 0 && fstat(fd, &st0) == 0 &&
			  io_write_all(out, sig.data, sig.len) == 0;
		char chunk[65536];
		for (uint64_t at = 0; ok && at < (uint64_t)st0.st_size;) {
			ssize_t n = io_pread_full(fd, chunk, sizeof(chunk), at);
			ok = n > 0 && io_write_all(out, chunk, (size_t)n) == 0;
			at += n > 0 ? (uint64_t)n : 0;
		}
		if (ok)
			ok = fcntl(out, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
							 F_SEAL_SEAL) == 0;
		close(fd);
		fd = ok ? out : -1;
		if (!ok && out >= 0)
			close(out);
		if (!ok)
			log_error("%s: the signed message could not be made: %m", m->qid);
	}
	buf_free(&sig);
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
			defer(m, j->idx[k], STR("451 4.3.0 the outgoing copy could not be made"), STR(""));
		free(j);
		return;
	}
	j->id = ++qr.next_id;
	j->m = m;
	struct buf b;
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_u64(&b, j->id);
	static char srs[SRS_MAX_ADDRESS + 1];
	ipc_put_str(&b, envelope_sender(m->env, srs));
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
			defer(m, j->idx[k], STR("451 4.3.0 the relay took no job"), STR(""));
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
			defer(j->m, j->idx[k], str_c(why), STR(""));
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
			defer(m, i, answer, host);
			return;
		}
		log_info("%s: delivered to <%.*s> via %.*s: %.*s", m->qid, (int)addr.len, addr.ptr,
			 (int)host.len, host.ptr, (int)answer.len, answer.ptr);
		finish(m, i);
	} else if (code / 100 == 5) {
		log_error("%s: delivery to <%.*s> failed for good via %.*s: %.*s", m->qid,
			  (int)addr.len, addr.ptr, (int)host.len, host.ptr, (int)answer.len,
			  answer.ptr);
		fail(m, i, answer, host);
	} else {
		log_warn("%s: delivery to <%.*s> failed for now via %.*s: %.*s", m->qid,
			 (int)addr.len, addr.ptr, (int)host.len, host.ptr, (int)answer.len,
			 answer.ptr);
		defer(m, i, answer, host);
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
