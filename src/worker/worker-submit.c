/*
 * worker-submit: the worker's mail into the queue, as a submission client
 * (see worker-submit.h).  One mail goes through three steps, each waiting
 * for one answer: the sender's seal from auth, the recipient's seal from
 * auth, the queue's verdict.
 */
#include "worker-submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/ticket.h"

/* The largest mail the worker writes (an iMIP mail: the calendar object
 * twice over in base64 and a text part), far below any message size
 * limit a queue has. */
#define WORKER_SUBMIT_MAX_MAIL (3 * 1024 * 1024)

struct job {
	struct job *next;
	char from[IPC_MAX_PATH + 1];
	char to[IPC_MAX_PATH + 1];
	struct buf mail;
};

enum step { STEP_IDLE, STEP_SENDERS, STEP_RCPT, STEP_QUEUE };

static struct {
	struct ev *ev;
	struct ipc *auth;
	struct ipc *queue;
	uint64_t txns;            /* transactions begun on this queue link */
	uint64_t next_id;
	struct job *head, **tail;
	unsigned waiting;
	enum step step;
	uint64_t id;              /* of the message the step waits on */
	struct ev_timer *timer;
	/* The sender as auth spelt it, with its seal. */
	char sender[IPC_MAX_PATH + 1];
	uint64_t account, sender_expires;
	unsigned char sender_mac[TICKET_RCPT_MAC_SIZE];
} ws;

static void next(void);

void worker_submit_init(struct ev *ev)
{
	ws.ev = ev;
	ws.tail = &ws.head;
}

bool worker_submit_busy(void)
{
	return ws.head != NULL;
}

/* done ends the current mail (logged when it failed) and starts the next. */
static void done(const char *failure)
{
	struct job *j = ws.head;
	ev_timer_del(&ws.timer);
	ws.step = STEP_IDLE;
	if (j == NULL)
		return;
	if (failure != NULL)
		log_warn("scheduling mail from %s to %s not submitted: %s", j->from, j->to, failure);
	else
		log_info("scheduling mail from %s to %s queued", j->from, j->to);
	ws.head = j->next;
	if (ws.head == NULL)
		ws.tail = &ws.head;
	ws.waiting--;
	buf_free(&j->mail);
	free(j);
	next();
}

static void step_timeout(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	ws.timer = NULL;
	done("no answer in time");
}

/* wait_for sets the step and the id its answer carries. */
static void wait_for(enum step step, uint64_t id)
{
	ws.step = step;
	ws.id = id;
	ev_timer_del(&ws.timer);
	ws.timer = ev_timer_add(ws.ev, WORKER_SUBMIT_STEP_MS, step_timeout, NULL);
}

/* next starts the first waiting mail when both links are there. */
static void next(void)
{
	if (ws.step != STEP_IDLE || ws.head == NULL || ws.auth == NULL || ws.queue == NULL)
		return;
	uint64_t id = ++ws.next_id;
	if (ipc_send(ws.auth, IPC_SUBMIT_SENDERS_ASK, id, NULL, 0, -1) < 0) {
		done("auth cannot be asked");
		return;
	}
	wait_for(STEP_SENDERS, id);
}

/* senders finds the mail's sender among the sealed ones auth gave. */
static void senders(const struct ipc_msg *msg)
{
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	uint64_t account = ipc_get_u64(&r);
	uint64_t expires = ipc_get_u64(&r);
	uint64_t count = ipc_get_u64(&r);
	bool found = false;
	for (uint64_t i = 0; i < count && i < IPC_SUBMIT_MAX_SENDERS && !r.bad; i++) {
		struct str a = ipc_get_str(&r, IPC_MAX_PATH);
		struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
		if (!found && !r.bad && mac.len == TICKET_RCPT_MAC_SIZE &&
		    str_case_eq(a, str_c(ws.head->from))) {
			snprintf(ws.sender, sizeof(ws.sender), "%.*s", (int)a.len, a.ptr);
			memcpy(ws.sender_mac, mac.ptr, sizeof(ws.sender_mac));
			found = true;
		}
	}
	if (!ipc_reader_ok(&r) || !found) {
		done(ipc_reader_ok(&r) ? "the sender is not one of the account's" : "auth's senders malformed");
		return;
	}
	ws.account = account;
	ws.sender_expires = expires;
	struct buf out;
	buf_init(&out, IPC_MAX_PAYLOAD);
	ipc_put_str(&out, str_c(ws.head->to));
	ipc_put_u64(&out, ws.txns);   /* the transaction about to begin */
	uint64_t id = ++ws.next_id;
	int sent = ipc_send_buf(ws.auth, IPC_RCPT_LOOKUP, id, &out, -1);
	buf_free(&out);
	if (sent < 0)
		done("auth cannot be asked");
	else
		wait_for(STEP_RCPT, id);
}

/* queue_mail sends the transaction: begin (the sealed sender), the
 * sealed recipient, the mail, the end. */
static int queue_mail(const uint64_t *ids, uint64_t count, uint64_t expires, struct str mac,
		      uint64_t id)
{
	struct job *j = ws.head;
	struct buf b;
	int r = 0;
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_str(&b, str_c(ws.sender));
	ipc_put_u64(&b, 0);
	ipc_put_u64(&b, ws.account);
	ipc_put_u64(&b, ws.sender_expires);
	ipc_put_str(&b, str_from((const char *)ws.sender_mac, sizeof(ws.sender_mac)));
	r |= ipc_send_buf(ws.queue, IPC_QUEUE_BEGIN, id, &b, -1);
	/* The queue counts it whatever becomes of it. */
	ws.txns++;
	buf_reset(&b);
	ipc_put_str(&b, str_c(j->to));
	ipc_put_u64(&b, count);
	for (uint64_t i = 0; i < count; i++)
		ipc_put_u64(&b, ids[i]);
	ipc_put_u64(&b, expires);
	ipc_put_str(&b, mac);
	r |= ipc_send_buf(ws.queue, IPC_QUEUE_RCPT, id, &b, -1);
	for (size_t at = 0; r == 0 && at < j->mail.len; at += IPC_MAX_PAYLOAD) {
		size_t n = j->mail.len - at < IPC_MAX_PAYLOAD ? j->mail.len - at : IPC_MAX_PAYLOAD;
		r |= ipc_send(ws.queue, IPC_QUEUE_DATA, id, j->mail.data + at, n, -1);
	}
	uint64_t verdict = IPC_QUEUE_OK;
	r |= ipc_send(ws.queue, IPC_QUEUE_END, id, &verdict, sizeof(verdict), -1);
	buf_free(&b);
	return r;
}

/* rcpt_result takes auth's seal on the recipient and hands the mail over. */
static void rcpt_result(const struct ipc_msg *msg)
{
	static uint64_t ids[IPC_RCPT_MAX_ACCOUNTS];
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	uint64_t status = ipc_get_u64(&r);
	uint64_t count = ipc_get_u64(&r);
	for (uint64_t i = 0; i < count && i < IPC_RCPT_MAX_ACCOUNTS; i++)
		ids[i] = ipc_get_u64(&r);
	uint64_t expires = ipc_get_u64(&r);
	struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
	/* An alias's remote targets (forwards) are not followed: an
	 * invitation goes to the address the attendee line names. */
	uint64_t forwards = ipc_get_u64(&r);
	for (uint64_t i = 0; i < forwards && i < IPC_RCPT_MAX_FORWARDS && !r.bad; i++) {
		ipc_get_str(&r, IPC_MAX_PATH);
		ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
	}
	if (!ipc_reader_ok(&r) || count > IPC_RCPT_MAX_ACCOUNTS) {
		done("auth's recipient answer malformed");
		return;
	}
	if (status != IPC_RCPT_OK || mac.len != TICKET_RCPT_MAC_SIZE) {
		char why[64];
		snprintf(why, sizeof(why), "auth refused the recipient (status %llu)",
			 (unsigned long long)status);
		done(why);
		return;
	}
	uint64_t id = ++ws.next_id;
	if (queue_mail(ids, count, expires, mac, id) < 0)
		done("the queue cannot be given the mail");
	else
		wait_for(STEP_QUEUE, id);
}

bool worker_submit_auth_message(struct ipc *auth, const struct ipc_msg *msg)
{
	(void)auth;
	if (msg->kind != IPC_SUBMIT_SENDERS && msg->kind != IPC_RCPT_RESULT)
		return false;
	if (msg->kind == IPC_SUBMIT_SENDERS && ws.step == STEP_SENDERS && msg->id == ws.id)
		senders(msg);
	else if (msg->kind == IPC_RCPT_RESULT && ws.step == STEP_RCPT && msg->id == ws.id)
		rcpt_result(msg);
	/* else a late answer to a step given up: dropped */
	return true;
}

void worker_submit_auth_ready(struct ipc *auth)
{
	ws.auth = auth;
	next();
}

static void queue_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ctx;
	if (msg->kind != IPC_QUEUE_RESULT) {
		ws.queue = NULL;
		ipc_reject(&ipc, msg);
		return;
	}
	if (ws.step != STEP_QUEUE || msg->id != ws.id)
		return;
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	uint64_t status = ipc_get_u64(&r);
	ipc_get_str(&r, IPC_QUEUE_MAX_REPLY);   /* the queue id, or why not */
	done(ipc_reader_ok(&r) && status == IPC_QUEUE_OK ? NULL : "the queue refused it");
}

static void queue_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	ws.queue = NULL;
}

void worker_submit_link(int fd)
{
	ipc_close(&ws.queue);
	ws.txns = 0;
	ws.queue = ipc_new(ws.ev, fd, "queue (submission)", queue_message, queue_closed, NULL);
	if (ws.queue == NULL) {
		close(fd);
		return;
	}
	next();
}

int worker_submit_send(const char *from, const char *to, struct str mail, const char **error_r)
{
	if (ws.waiting >= WORKER_SUBMIT_MAX_WAITING) {
		*error_r = "too many mails waiting for the queue";
		return -1;
	}
	if (strlen(from) > IPC_MAX_PATH || strlen(to) > IPC_MAX_PATH ||
	    mail.len > WORKER_SUBMIT_MAX_MAIL) {
		*error_r = "an address or the mail is too long";
		return -1;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	snprintf(j->from, sizeof(j->from), "%s", from);
	snprintf(j->to, sizeof(j->to), "%s", to);
	buf_init(&j->mail, WORKER_SUBMIT_MAX_MAIL);
	if (buf_append_str(&j->mail, mail) < 0) {
		buf_free(&j->mail);
		free(j);
		*error_r = "out of memory";
		return -1;
	}
	*ws.tail = j;
	ws.tail = &j->next;
	ws.waiting++;
	next();
	return 0;
}

void worker_submit_close(void)
{
	if (ws.waiting > 0)
		log_warn("%u scheduling mails not submitted: the worker is ending", ws.waiting);
	ev_timer_del(&ws.timer);
	while (ws.head != NULL) {
		struct job *j = ws.head;
		ws.head = j->next;
		buf_free(&j->mail);
		free(j);
	}
	ws.tail = &ws.head;
	ws.waiting = 0;
	ws.step = STEP_IDLE;
	ipc_close(&ws.queue);
}
