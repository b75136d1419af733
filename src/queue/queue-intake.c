/*
 * queue-intake: the transactions pre-auth processes (and workers, for
 * submission) bring to the queue over their links: MAIL, RCPT under
 * auth's seal, the message written to the spool as it comes, the quota
 * and spam answers, and the group commit that makes a batch of messages
 * durable (fsynced files, one directory fsync) before each is answered
 * 250.  A committed message goes on to delivery (queue_msg_load).
 */
#include "queue-intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/io.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "queue-private.h"
#include "queue-quota.h"
#include "queue-quota-wait.h"
#include "queue-rcpt.h"
#include "queue-spam.h"
#include "spool.h"

/* Slack over smtp.max_message_size for the Received: line a front adds. */
#define QUEUE_SIZE_SLACK (64 * 1024)
/* Messages made durable by one directory fsync (group commit). */
#define QUEUE_MAX_GROUP_COMMIT 256

_Static_assert(SPOOL_QID_SIZE - 1 <= IPC_QUEUE_MAX_ID, "a queue id fits IPC_QUEUE_RESULT");

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

/* The transactions under way, and those waiting for the group commit. */
static struct {
	struct txn *txns;
	struct txn *commits[QUEUE_MAX_GROUP_COMMIT];
	size_t commit_count;
} in;

static void txn_reply(struct ipc *front, uint64_t id, enum ipc_queue_status status,
		      const char *qid);

static struct txn *txn_find(struct ipc *front, uint64_t id)
{
	for (struct txn *t = in.txns; t != NULL; t = t->next)
		if (t->front == front && t->id == id)
			return t;
	return NULL;
}

static void txn_free(struct txn *t, bool abort_file)
{
	struct txn **pp = &in.txns;
	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
	if (abort_file && t->fd >= 0)
		spool_abort(queue_spool(), t->qid, t->fd);
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
	if ((account != 0 && queue_rcpt_key() == NULL) ||
	    queue_rcpt_sender(queue_rcpt_key(), from, account, expires, mac, &t->origin,
			      (uint64_t)time(NULL)) < 0)
		t->failed = true;
	snprintf(t->client_ip, sizeof(t->client_ip), "%.*s", (int)ip.len, ip.ptr);
	snprintf(t->helo, sizeof(t->helo), "%.*s", (int)helo.len, helo.ptr);
	buf_init(&t->mail_from, QUEUE_MAX_ADDRESS);
	buf_append_str(&t->mail_from, from);
	buf_init(&t->prepend, SPOOL_MAX_PREPEND);
	t->fd = spool_create(queue_spool(), t->qid);
	if (t->fd < 0)
		t->failed = true;
	t->next = in.txns;
	in.txns = t;
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
	if (queue_rcpt_key() == NULL) {
		log_error("no recipient key from master yet: message from %s not accepted",
			  ipc_peer_name(front));
		t->failed = true;
		return;
	}
	if (queue_rcpt_read(queue_rcpt_key(), msg, &t->origin, (uint64_t)time(NULL), &rc) < 0) {
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
		queue_worker_warm(account);
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
	if (fit == QUEUE_QUOTA_UNKNOWN && queue_worker_warm(account) && *n < QUEUE_QUOTA_WAIT_ACCOUNTS)
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
	if (queue_rcpt_key() == NULL ||
	    queue_rcpt_read(queue_rcpt_key(), &rcpt, &origin, (uint64_t)time(NULL), &rc) < 0) {
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
	if (fits || queue_quota_wait_add(queue_ev(), QUEUE_QUOTA_WAIT_MS, front, msg->id, awaited, n,
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
	if (t->bytes > queue_config()->smtp_max_message_size + QUEUE_SIZE_SLACK) {
		log_error("front sent more than the size limit for %s; refusing it", t->qid);
		t->failed = true;
		return;
	}
	if (io_write_all(t->fd, (const char *)msg->payload, msg->len) < 0) {
		log_error("writing spool file %s failed: %m", t->qid);
		t->failed = true;
	}
}



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
	size_t n = in.commit_count;
	(void)timer;
	(void)ctx;

	memcpy(group, in.commits, n * sizeof(group[0]));
	in.commit_count = 0;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		struct txn *t = group[i];
		ok[i] = true;
		if ((t->prepend.len > 0 || t->junk) &&
		    spool_post_write(t->fd, buf_str(&t->prepend), t->junk) < 0) {
			log_error("%s: the added header lines could not be written: %m", t->qid);
			ok[i] = false;
		}
		ok[i] = ok[i] && spool_commit_file(queue_spool(), t->qid, t->fd) == 0;
		any |= ok[i];
	}
	if (any && spool_commit_dir(queue_spool()) < 0)
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
			queue_msg_load(qid);
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
	if (queue_config()->spam_rspamd[0] != '\0' && !t->spam_checked && t->sender_account == 0) {
		txn_spam_ask(t);
		return;
	}
	if (in.commit_count == QUEUE_MAX_GROUP_COMMIT) {
		txn_free(t, true);
		txn_reply(front, id, IPC_QUEUE_FAILED, "");
		return;
	}
	t->committing = true;
	if (in.commit_count == 0)
		ev_timer_add(queue_ev(), 0, commit_group, NULL);
	in.commits[in.commit_count++] = t;
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
		queue_spam_outcome(a, queue_config()->spam_fail_closed != 0, &lines, &junk, &text);
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
	if (fits || queue_quota_wait_add(queue_ev(), QUEUE_QUOTA_WAIT_MS, front, msg->id, awaited, n,
					 txn_finish, NULL) < 0)
		txn_finish(front, msg->id, NULL);
}

static void front_closed(struct ipc *front, void *ctx)
{
	free(ctx);
	queue_quota_wait_drop(front);
	struct txn *t = in.txns;
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

void queue_intake_link_new(int fd, uint64_t serial, void *ctx)
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
	if (ipc_new(queue_ev(), fd, name, front_handler, front_closed, link) == NULL) {
		free(link);
		close(fd);
	}
}
