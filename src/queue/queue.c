/*
 * NAME
 *	queue - owns the spool; delivers accepted mail to accounts
 * DESCRIPTION
 *	Receives messages from pre-auth processes (each one's link comes from
 *	its spawner), writes each durably (fsynced and renamed into spool/q,
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
#include "lib/io.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/uids.h"
#include "lib/log.h"
#include "lib/process.h"
#include "queue-dkim.h"
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
 * closes the link; one that has not after this long is cut off. */
#define QUEUE_RELEASE_GRACE_MS 10000
/* Slack over smtp.max_message_size for the Received: line a front adds. */
#define QUEUE_SIZE_SLACK (64 * 1024)
/* A path as fronts send it (IPC_QUEUE_BEGIN, IPC_QUEUE_RCPT) and as it
 * goes on to workers (IPC_DELIVER). */
#define QUEUE_MAX_ADDRESS IPC_MAX_PATH
/* Messages made durable by one directory fsync (group commit). */
#define QUEUE_MAX_GROUP_COMMIT 256

_Static_assert(SPOOL_QID_SIZE - 1 <= IPC_QUEUE_MAX_ID, "a queue id fits IPC_QUEUE_RESULT");
/* An answer can wait for every worker the queue may ask for at once. */
_Static_assert(QUEUE_QUOTA_WAIT_ACCOUNTS >= QUEUE_MAX_WORKERS, "a wait holds every worker asked");
/* "queue id/account id" (send_delivery) fits IPC_DELIVER. */
_Static_assert(SPOOL_QID_SIZE + 32 <= IPC_DELIVER_MAX_KEY, "a delivery key fits IPC_DELIVER");

/* A pre-auth process's link: who it is (as its spawner said) and how many
 * transactions it began, which auth's recipient seals are bound to. */
struct front_link {
	uint64_t serial;
	uint64_t txns;
};

struct txn {
	struct txn *next;
	struct ipc *front;
	uint64_t id;
	struct queue_rcpt_origin origin;
	int fd;
	char qid[SPOOL_QID_SIZE];
	struct buf mail_from;
	uint64_t flags;
	uint64_t sender_account;  /* under auth's seal (queue_rcpt_sender) */
	struct spool_rcpt *rcpts;
	size_t rcpt_count, rcpt_cap;
	bool header_written;
	bool failed;
	bool committing;       /* in the group commit list; front may be gone */
	bool ending;           /* ended, its answer waits for quota figures */
	bool junk;             /* filed in Junk (a check's verdict) */
	bool spam_checked;     /* the spam filter's verdict is in */
	char client_ip[IPC_LOGIN_MAX_IP + 1]; /* for the spam filter (SMTP in) */
	char helo[IPC_SPAM_MAX_HELO + 1];
	uint64_t bytes;
	struct buf prepend;    /* header lines added on top once it ended */
};

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
	struct txn *txns;
	struct txn *commits[QUEUE_MAX_GROUP_COMMIT];
	size_t commit_count;
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
static bool worker_warm(uint64_t account);
static void txn_reply(struct ipc *front, uint64_t id, enum ipc_queue_status status,
		      const char *qid);

/* --- receiving from fronts ------------------------------------------- */

static struct txn *txn_find(struct ipc *front, uint64_t id)
{
	for (struct txn *t = q.txns; t != NULL; t = t->next)
		if (t->front == front && t->id == id)
			return t;
	return NULL;
}

static void txn_free(struct txn *t, bool abort_file)
{
	struct txn **pp = &q.txns;
	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
	if (abort_file && t->fd >= 0)
		spool_abort(q.spool, t->qid, t->fd);
	else if (t->fd >= 0)
		close(t->fd);
	for (size_t i = 0; i < t->rcpt_count; i++)
		free((void *)t->rcpts[i].address.ptr);
	free(t->rcpts);
	buf_free(&t->mail_from);
	buf_free(&t->prepend);
	queue_spam_cancel(t);
	free(t);
}

/* txn_prepend adds header lines (each ending in CRLF) to go on top of the
 * message once it has ended: a check's Authentication-Results, a spam
 * filter's verdict.  Returns -1 when they would pass SPOOL_MAX_PREPEND
 * (the lines are then left out, and logged). */
static int txn_prepend(struct txn *t, struct str header_lines)
{
	if (t->prepend.len + header_lines.len > SPOOL_MAX_PREPEND) {
		log_warn("%s: %zu octets of added header lines left out (over %d)", t->qid,
			 header_lines.len, SPOOL_MAX_PREPEND);
		return -1;
	}
	return buf_append_str(&t->prepend, header_lines);
}

static void txn_begin(struct ipc *front, struct front_link *link, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	/* Counted whatever becomes of it: the pre-auth process counts it
	 * once sent, and asks auth for seals under the next number. */
	uint64_t number = link->txns++;
	ipc_reader_init(&r, msg);
	struct str from = ipc_get_str(&r, QUEUE_MAX_ADDRESS);
	uint64_t flags = ipc_get_u64(&r);
	uint64_t account = ipc_get_u64(&r);
	uint64_t expires = ipc_get_u64(&r);
	struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
	/* The client's address and HELO, from SMTP in (for the spam filter). */
	struct str ip = r.left > 0 ? ipc_get_str(&r, IPC_LOGIN_MAX_IP) : STR("");
	struct str helo = r.left > 0 ? ipc_get_str(&r, IPC_SPAM_MAX_HELO) : STR("");
	if (!ipc_reader_ok(&r) || !queue_rcpt_address_ok(from) ||
	    txn_find(front, msg->id) != NULL) {
		log_error("malformed queue-begin from %s", ipc_peer_name(front));
		return;
	}
	struct txn *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return;
	t->front = front;
	t->id = msg->id;
	t->origin = (struct queue_rcpt_origin){ .peer = ipc_peer_name(front),
						.serial = link->serial, .txn = number };
	t->flags = flags;
	t->sender_account = account;
	/* Without the key nothing sealed can be believed. */
	if ((account != 0 && !q.have_rcpt_key) ||
	    queue_rcpt_sender(q.rcpt_key, from, account, expires, mac, &t->origin,
			      (uint64_t)time(NULL)) < 0)
		t->failed = true;
	snprintf(t->client_ip, sizeof(t->client_ip), "%.*s", (int)ip.len, ip.ptr);
	snprintf(t->helo, sizeof(t->helo), "%.*s", (int)helo.len, helo.ptr);
	buf_init(&t->mail_from, QUEUE_MAX_ADDRESS);
	buf_append_str(&t->mail_from, from);
	buf_init(&t->prepend, SPOOL_MAX_PREPEND);
	t->fd = spool_create(q.spool, t->qid);
	if (t->fd < 0)
		t->failed = true;
	t->next = q.txns;
	q.txns = t;
}

/* txn_rcpt adds a recipient's accounts, believed only under auth's seal
 * for this transaction; a forged or replayed one fails the message. */
static void txn_rcpt(struct ipc *front, const struct ipc_msg *msg)
{
	static struct queue_rcpt rc;
	struct txn *t = txn_find(front, msg->id);

	if (t == NULL || t->header_written) {
		log_error("queue-rcpt from %s outside a transaction", ipc_peer_name(front));
		if (t != NULL)
			t->failed = true;
		return;
	}
	if (!q.have_rcpt_key) {
		log_error("no recipient key from master yet: message from %s not accepted",
			  ipc_peer_name(front));
		t->failed = true;
		return;
	}
	if (queue_rcpt_read(q.rcpt_key, msg, &t->origin, (uint64_t)time(NULL), &rc) < 0) {
		t->failed = true;
		return;
	}
	/* No accounts (sealed so by auth): a remote recipient, "rcpt 0". */
	bool remote = rc.account_count == 0;
	for (size_t i = 0; i < rc.account_count || (remote && i == 0); i++) {
		uint64_t account = remote ? 0 : rc.accounts[i];
		bool seen = false;
		for (size_t j = 0; j < t->rcpt_count; j++)
			seen |= t->rcpts[j].account == account &&
				(!remote || str_case_eq(t->rcpts[j].address, rc.address));
		if (seen)
			continue;
		if (t->rcpt_count == SPOOL_MAX_RCPTS) {
			t->failed = true;
			return;
		}
		if (t->rcpt_count == t->rcpt_cap) {
			size_t cap = t->rcpt_cap ? t->rcpt_cap * 2 : 4;
			void *p = realloc(t->rcpts, cap * sizeof(*t->rcpts));
			if (p == NULL) {
				t->failed = true;
				return;
			}
			t->rcpts = p;
			t->rcpt_cap = cap;
		}
		char *copy = strndup(rc.address.ptr, rc.address.len);
		if (copy == NULL) {
			t->failed = true;
			return;
		}
		t->rcpts[t->rcpt_count].account = account;
		t->rcpts[t->rcpt_count].address = str_from(copy, rc.address.len);
		t->rcpt_count++;
		worker_warm(account);
	}
}

/*
 * quota_awaited adds account to awaited (*n of them, at most
 * QUEUE_QUOTA_WAIT_ACCOUNTS) when its figures are unknown and its worker
 * is on the way to tell them.  Returns true when the account already has
 * room for size: the answer is known, nothing need be waited for.
 */
static bool quota_awaited(uint64_t account, uint64_t size, uint64_t *awaited, size_t *n)
{
	enum queue_quota_fit fit = queue_quota_fit(account, size);
	if (fit == QUEUE_QUOTA_UNKNOWN && worker_warm(account) && *n < QUEUE_QUOTA_WAIT_ACCOUNTS)
		awaited[(*n)++] = account;
	return fit == QUEUE_QUOTA_FITS;
}

/* A question asked at RCPT, kept while it waits (queue-quota-wait.h). */
struct quota_question {
	uint64_t size;
	struct queue_rcpt rcpt;   /* address points into text */
	char text[QUEUE_MAX_ADDRESS];
};

/* quota_answer answers an IPC_QUEUE_QUOTA from the figures known now, and
 * frees the question (a struct quota_question). */
static void quota_answer(struct ipc *front, uint64_t id, void *data)
{
	struct quota_question *qq = data;
	const struct queue_rcpt *rc = &qq->rcpt;
	enum ipc_queue_status status = IPC_QUEUE_OVER_QUOTA;

	for (size_t i = 0; i < rc->account_count; i++)
		if (queue_quota_fit(rc->accounts[i], qq->size) != QUEUE_QUOTA_OVER)
			status = IPC_QUEUE_OK;
	if (status == IPC_QUEUE_OVER_QUOTA)
		log_info("<%.*s>: a message of %llu bytes would pass its quota (%s)",
			 (int)rc->address.len, rc->address.ptr, (unsigned long long)qq->size,
			 ipc_peer_name(front));
	txn_reply(front, id, status, "");
	free(qq);
}

/*
 * quota_ask answers a pre-auth process that asks at RCPT whether a message
 * of the size MAIL FROM declared fits the recipient's quota: the payload
 * is the size, then the recipient as IPC_QUEUE_RCPT has it, sealed for
 * the transaction the link begins next (so a pre-auth process learns
 * nothing of accounts auth did not name to it).  IPC_QUEUE_OVER_QUOTA when
 * no account of the recipient has room, IPC_QUEUE_OK otherwise.  When no
 * account is known to have room and some are not known yet, their workers
 * are started and the answer waits for their figures, at most
 * QUEUE_QUOTA_WAIT_MS (unknown then: OK, the store decides).
 */
static void quota_ask(struct ipc *front, struct front_link *link, const struct ipc_msg *msg)
{
	static struct queue_rcpt rc;
	uint64_t size, awaited[QUEUE_QUOTA_WAIT_ACCOUNTS];
	size_t n = 0;
	bool fits = false;

	memcpy(&size, msg->payload, sizeof(size));
	struct ipc_msg rcpt = *msg;
	rcpt.payload += sizeof(size);
	rcpt.len -= sizeof(size);
	struct queue_rcpt_origin origin = { .peer = ipc_peer_name(front), .serial = link->serial,
					    .txn = link->txns };
	if (!q.have_rcpt_key ||
	    queue_rcpt_read(q.rcpt_key, &rcpt, &origin, (uint64_t)time(NULL), &rc) < 0) {
		txn_reply(front, msg->id, IPC_QUEUE_FAILED, "");
		return;
	}
	struct quota_question *qq = malloc(sizeof(*qq));
	if (qq == NULL) {
		txn_reply(front, msg->id, IPC_QUEUE_OK, "");
		return;
	}
	qq->size = size;
	qq->rcpt = rc;
	memcpy(qq->text, rc.address.ptr, rc.address.len);
	qq->rcpt.address = str_from(qq->text, rc.address.len);
	for (size_t i = 0; i < rc.account_count; i++)
		fits |= quota_awaited(rc.accounts[i], size, awaited, &n);
	if (fits || queue_quota_wait_add(q.ev, QUEUE_QUOTA_WAIT_MS, front, msg->id, awaited, n,
					 quota_answer, qq) < 0)
		quota_answer(front, msg->id, qq);
}

static int txn_write_header(struct txn *t)
{
	struct spool_envelope env = { .mail_from = buf_str(&t->mail_from), .flags = t->flags,
				      .arrived = time(NULL), .sender_account = t->sender_account,
				      .rcpts = t->rcpts,
				      .rcpt_count = t->rcpt_count };
	struct buf text;
	buf_init(&text, SPOOL_MAX_ENVELOPE);
	int r = spool_envelope_format(&text, &env);
	if (r == 0)
		r = io_write_all(t->fd, text.data, text.len);
	buf_free(&text);
	t->header_written = true;
	return r;
}

static void txn_data(struct ipc *front, const struct ipc_msg *msg)
{
	struct txn *t = txn_find(front, msg->id);
	if (t == NULL || t->failed || t->ending)
		return;
	if (!t->header_written && txn_write_header(t) < 0) {
		log_error("writing spool file %s failed: %m", t->qid);
		t->failed = true;
		return;
	}
	t->bytes += msg->len;
	if (t->bytes > q.config.smtp_max_message_size + QUEUE_SIZE_SLACK) {
		log_error("front sent more than the size limit for %s; refusing it", t->qid);
		t->failed = true;
		return;
	}
	if (io_write_all(t->fd, (const char *)msg->payload, msg->len) < 0) {
		log_error("writing spool file %s failed: %m", t->qid);
		t->failed = true;
	}
}



static void load_message(const char *qid, void *ctx);
static void note_why(struct qmsg *m, size_t i, struct str why);

static void txn_reply(struct ipc *front, uint64_t id, enum ipc_queue_status status,
		      const char *qid)
{
	bool ok = status == IPC_QUEUE_OK;
	struct buf out;
	buf_init(&out, 128);
	ipc_put_u64(&out, status);
	/* A spam refusal carries the filter's text where the id would be. */
	ipc_put_str(&out, str_c(ok || status == IPC_QUEUE_SPAM_REJECTED ||
					status == IPC_QUEUE_SPAM_DEFERRED
				? qid
				: ""));
	/* Not lost if it cannot be sent: a durable message is delivered all
	 * the same; the client, with no answer, sends it again (RFC 5321 6.1
	 * accepts the duplicate over the loss). */
	if (ipc_send_buf(front, IPC_QUEUE_RESULT, id, &out, -1) < 0)
		log_error("%s: the answer to %s could not be sent (%s)", qid[0] ? qid : "message",
			  ipc_peer_name(front), ok ? "accepted" : "refused");
	buf_free(&out);
}

/*
 * commit_group makes every message that ended in this turn of the loop
 * durable with one directory fsync, then answers the fronts.  Messages
 * arriving while the fsyncs run form the next group, so under load one
 * fsync of spool/q covers many messages.
 */
static void commit_group(struct ev_timer *timer, void *ctx)
{
	struct txn *group[QUEUE_MAX_GROUP_COMMIT];
	bool ok[QUEUE_MAX_GROUP_COMMIT];
	size_t n = q.commit_count;
	(void)timer;
	(void)ctx;

	memcpy(group, q.commits, n * sizeof(group[0]));
	q.commit_count = 0;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		struct txn *t = group[i];
		ok[i] = true;
		if ((t->prepend.len > 0 || t->junk) &&
		    spool_post_write(t->fd, buf_str(&t->prepend), t->junk) < 0) {
			log_error("%s: the added header lines could not be written: %m", t->qid);
			ok[i] = false;
		}
		ok[i] = ok[i] && spool_commit_file(q.spool, t->qid, t->fd) == 0;
		any |= ok[i];
	}
	if (any && spool_commit_dir(q.spool) < 0)
		memset(ok, 0, sizeof(ok));
	for (size_t i = 0; i < n; i++) {
		struct txn *t = group[i];
		char qid[SPOOL_QID_SIZE];
		memcpy(qid, t->qid, sizeof(qid));
		if (ok[i])
			log_info("%s: accepted from <%.*s>, %llu bytes, %zu recipients", qid,
				 (int)t->mail_from.len, t->mail_from.data ? t->mail_from.data : "",
				 (unsigned long long)t->bytes, t->rcpt_count);
		if (t->front != NULL)
			txn_reply(t->front, t->id, ok[i] ? IPC_QUEUE_OK : IPC_QUEUE_FAILED, qid);
		txn_free(t, !ok[i]);
		if (ok[i])
			load_message(qid, NULL);
	}
}

/*
 * txn_over_quota is true when the message fits in none of its recipients'
 * quotas as their workers last told them: it is then refused (552 5.2.2)
 * and nothing is kept.  When only some are full it is accepted: those
 * recipients' deliveries are refused by their store and wait in the queue
 * with the reason shown (`ravelin queue list`), retried with the usual
 * growing delay, so room made in time still gets the message.
 */
static bool txn_over_quota(const struct txn *t)
{
	for (size_t i = 0; i < t->rcpt_count; i++)
		if (queue_quota_fit(t->rcpts[i].account, t->bytes) != QUEUE_QUOTA_OVER)
			return false;
	log_info("%s: refused from <%.*s>: %llu bytes do not fit in the quota of any of its %zu "
		 "recipients", t->qid, (int)t->mail_from.len,
		 t->mail_from.data ? t->mail_from.data : "", (unsigned long long)t->bytes,
		 t->rcpt_count);
	return true;
}

static void txn_spam_ask(struct txn *t);

/* txn_finish refuses a complete message that fits no recipient's quota
 * as known now, asks the spam filter when there is one (SMTP in), then
 * puts it in the next group commit. */
static void txn_finish(struct ipc *front, uint64_t id, void *data)
{
	struct txn *t = txn_find(front, id);
	(void)data;
	if (t == NULL)
		return;
	t->ending = false;
	if (txn_over_quota(t)) {
		txn_free(t, true);
		txn_reply(front, id, IPC_QUEUE_OVER_QUOTA, "");
		return;
	}
	/* Mail from a logged-in account (submission) is not the filter's. */
	if (q.config.spam_rspamd[0] != '\0' && !t->spam_checked && t->sender_account == 0) {
		txn_spam_ask(t);
		return;
	}
	if (q.commit_count == QUEUE_MAX_GROUP_COMMIT) {
		txn_free(t, true);
		txn_reply(front, id, IPC_QUEUE_FAILED, "");
		return;
	}
	t->committing = true;
	if (q.commit_count == 0)
		ev_timer_add(q.ev, 0, commit_group, NULL);
	q.commits[q.commit_count++] = t;
}

/* txn_spam_verdict applies the spam filter's verdict (queue-spam.h): the
 * message is refused with its text, or goes on with the header lines and
 * the Junk mark it asks for. */
static void txn_spam_verdict(void *ctx, const struct queue_spam_answer *a)
{
	struct txn *t = ctx;
	struct buf lines;
	bool junk;
	struct str text;
	char reply[IPC_SPAM_MAX_REPLY + 1];

	buf_init(&lines, IPC_SPAM_MAX_HEADERS + 64);
	enum ipc_queue_status st =
		queue_spam_outcome(a, q.config.spam_fail_closed != 0, &lines, &junk, &text);
	t->spam_checked = true;
	t->junk |= junk;
	if (st == IPC_QUEUE_OK && lines.len > 0)
		txn_prepend(t, buf_str(&lines));
	buf_free(&lines);
	if (st == IPC_QUEUE_OK) {
		txn_finish(t->front, t->id, NULL);
		return;
	}
	snprintf(reply, sizeof(reply), "%.*s", (int)text.len, text.ptr);
	log_info("%s: refused from <%.*s> by the spam filter: %s", t->qid, (int)t->mail_from.len,
		 t->mail_from.data ? t->mail_from.data : "", reply);
	struct ipc *front = t->front;
	uint64_t id = t->id;
	txn_free(t, true);
	txn_reply(front, id, st, reply);
}

/* txn_spam_ask sends the message (a sealed copy) to the spam filter; the
 * transaction waits, still "ending", for txn_spam_verdict. */
static void txn_spam_ask(struct txn *t)
{
	off_t end = lseek(t->fd, 0, SEEK_CUR);
	int body = end < 0 || (uint64_t)end < t->bytes
			   ? -1
			   : spool_message_body(t->fd, (uint64_t)end - t->bytes, 0);
	struct queue_spam_request req = { .client_ip = str_c(t->client_ip),
					  .helo = str_c(t->helo),
					  .sender = buf_str(&t->mail_from),
					  .rcpts = t->rcpts,
					  .rcpt_count = t->rcpt_count,
					  .message_fd = body };
	t->ending = true;
	queue_spam_check(&req, txn_spam_verdict, t);
	if (body >= 0)
		close(body);
}

/*
 * txn_end ends a transaction.  When no recipient is known to have room
 * and some are not known yet, the answer waits for their workers'
 * figures, at most QUEUE_QUOTA_WAIT_MS (queue-quota-wait.h): the first
 * message to an account is checked like the next ones.
 */
static void txn_end(struct ipc *front, const struct ipc_msg *msg)
{
	struct txn *t = txn_find(front, msg->id);
	uint64_t ok_in, awaited[QUEUE_QUOTA_WAIT_ACCOUNTS];
	size_t n = 0;
	bool fits = false;

	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	ok_in = ipc_get_u64(&r);
	/* The front's checks may add a verdict and header lines. */
	uint64_t end_flags = msg->len > IPC_U64_SIZE ? ipc_get_u64(&r) : 0;
	struct str added = msg->len > IPC_U64_SIZE ? ipc_get_str(&r, IPC_QUEUE_MAX_PREPEND)
						    : STR("");
	if (t == NULL || t->committing || t->ending)
		return;
	bool ok = ipc_reader_ok(&r) && ok_in == IPC_QUEUE_OK && !t->failed && t->rcpt_count > 0;
	if (ok) {
		t->junk = (end_flags & IPC_QUEUE_END_JUNK) != 0;
		if (added.len > 0)
			txn_prepend(t, added);
	}
	if (ok && !t->header_written && txn_write_header(t) < 0)
		ok = false;
	if (!ok) {
		txn_free(t, true);
		txn_reply(front, msg->id, IPC_QUEUE_FAILED, "");
		return;
	}
	for (size_t i = 0; i < t->rcpt_count && !fits; i++)
		fits = quota_awaited(t->rcpts[i].account, t->bytes, awaited, &n);
	t->ending = true;
	if (fits || queue_quota_wait_add(q.ev, QUEUE_QUOTA_WAIT_MS, front, msg->id, awaited, n,
					 txn_finish, NULL) < 0)
		txn_finish(front, msg->id, NULL);
}

static void front_closed(struct ipc *front, void *ctx)
{
	free(ctx);
	queue_quota_wait_drop(front);
	struct txn *t = q.txns;
	while (t != NULL) {
		struct txn *next = t->next;
		/* A message being committed is kept: it was complete. */
		if (t->front == front && t->committing)
			t->front = NULL;
		else if (t->front == front)
			txn_free(t, true);
		t = next;
	}
}

static void front_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	switch (msg->kind) {
	case IPC_QUEUE_BEGIN:
		txn_begin(ipc, ctx, msg);
		return;
	case IPC_QUEUE_RCPT:
		txn_rcpt(ipc, msg);
		return;
	case IPC_QUEUE_DATA:
		txn_data(ipc, msg);
		return;
	case IPC_QUEUE_END:
		txn_end(ipc, msg);
		return;
	case IPC_QUEUE_QUOTA:
		quota_ask(ipc, ctx, msg);
		return;
	default:
		break;
	}
	front_closed(ipc, ctx);
	ipc_reject(&ipc, msg);
}

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
static bool worker_warm(uint64_t account)
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

/* A spawner made a pre-auth process: its link brings SMTP transactions. */
static void preauth_link_new(int fd, uint64_t serial, void *ctx)
{
	char name[40];
	(void)ctx;
	preauth_name(serial, name, sizeof(name));
	struct front_link *link = calloc(1, sizeof(*link));
	if (link == NULL) {
		close(fd);
		return;
	}
	link->serial = serial;
	if (ipc_new(q.ev, fd, name, front_handler, front_closed, link) == NULL) {
		free(link);
		close(fd);
	}
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
			preauth_link_new(msg->fd, IPC_WORKER_SERIAL(index), NULL);
			return;
		}
		if (role != IPC_ROLE_SPAWNER ||
		    ipc_spawner_link_new(q.ev, msg->fd, name, preauth_link_new, NULL, NULL) == NULL)
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
