/* queue-spam: asking the spam process about a message before it is
 * committed (see queue-spam.h). */
#include "queue-spam.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"

struct check {
	struct check *next;
	uint64_t id;
	queue_spam_fn *fn;
	void *ctx;
	struct ev_timer *timer;
	/* Made while there was no link (start-up, the spam process
	 * restarting): the request and the message wait for the link. */
	struct buf waiting;
	int waiting_fd;
};

static struct {
	struct ev *ev;
	struct ipc *link;
	struct check *checks;
	uint64_t next_id;
} qs;

/* check_free frees c (unlinked) and what it holds. */
static void check_free(struct check *c)
{
	ev_timer_del(&c->timer);
	buf_free(&c->waiting);
	if (c->waiting_fd >= 0)
		close(c->waiting_fd);
	free(c);
}

/* check_answer unlinks c, calls its function once and frees it. */
static void check_answer(struct check *c, const struct queue_spam_answer *a)
{
	struct check **pp = &qs.checks;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	queue_spam_fn *fn = c->fn;
	void *ctx = c->ctx;
	check_free(c);
	fn(ctx, a);
}

static void check_unchecked(struct check *c, const char *why)
{
	struct queue_spam_answer a = { .verdict = IPC_SPAM_UNCHECKED, .text = str_c(why) };
	log_warn("spam check: %s: the message is unchecked", why);
	check_answer(c, &a);
}

static void check_timeout(struct ev_timer *t, void *ctx)
{
	struct check *c = ctx;
	(void)t;
	c->timer = NULL;
	check_unchecked(c, c->id == 0	       ? "it could not be sent to the spam filter"
			   : c->waiting_fd >= 0 ? "the spam filter is not connected"
						: "the spam filter did not answer in time");
}

/* all_unchecked answers every check waiting on the link that went. */
static void all_unchecked(void)
{
	while (qs.checks != NULL)
		check_unchecked(qs.checks, "the link to the spam filter broke");
}

static void link_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct ipc_reader r;
	(void)ctx;
	if (msg->kind != IPC_SPAM_VERDICT) {
		qs.link = NULL;
		ipc_reject(&ipc, msg);
		all_unchecked();
		return;
	}
	ipc_reader_init(&r, msg);
	struct queue_spam_answer a;
	a.verdict = (enum ipc_spam_verdict)ipc_get_u64(&r);
	a.headers = ipc_get_str(&r, IPC_SPAM_MAX_HEADERS);
	a.text = ipc_get_str(&r, IPC_SPAM_MAX_REPLY);
	if (!ipc_reader_ok(&r) || a.verdict > IPC_SPAM_UNCHECKED) {
		qs.link = NULL;
		ipc_reject(&ipc, msg);
		all_unchecked();
		return;
	}
	for (struct check *c = qs.checks; c != NULL; c = c->next)
		if (c->id == msg->id && c->id != 0) {
			check_answer(c, &a);
			return;
		}
}

static void link_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	qs.link = NULL;
	all_unchecked();
}

/* queue_spam_init: see queue-spam.h. */
void queue_spam_init(struct ev *ev)
{
	qs.ev = ev;
}

/* send_waiting sends the checks made while there was no link. */
static void send_waiting(void)
{
	for (struct check *c = qs.checks, *next; c != NULL; c = next) {
		next = c->next;
		if (c->waiting_fd < 0)
			continue;
		int r = ipc_send_buf(qs.link, IPC_SPAM_CHECK, c->id, &c->waiting, c->waiting_fd);
		buf_free(&c->waiting);
		close(c->waiting_fd);
		c->waiting_fd = -1;
		if (r < 0)
			check_unchecked(c, "it could not be sent to the spam filter");
	}
}

/* queue_spam_link: see queue-spam.h. */
void queue_spam_link(int fd)
{
	if (qs.link != NULL) {
		ipc_close(&qs.link);
		all_unchecked();
	}
	qs.link = ipc_new(qs.ev, fd, "spam", link_message, link_closed, NULL);
	if (qs.link == NULL)
		close(fd);
	else
		send_waiting();
}

/* encode_check writes IPC_SPAM_CHECK's payload into b; 0 or -1. */
static int encode_check(const struct queue_spam_request *req, struct buf *b)
{
	size_t n = req->rcpt_count < IPC_SPAM_MAX_RCPTS ? req->rcpt_count : IPC_SPAM_MAX_RCPTS;
	int r = ipc_put_str(b, str_sub(req->client_ip, 0, IPC_LOGIN_MAX_IP)) |
		ipc_put_str(b, str_sub(req->helo, 0, IPC_SPAM_MAX_HELO)) |
		ipc_put_str(b, str_sub(req->sender, 0, IPC_MAX_PATH)) | ipc_put_u64(b, n);
	for (size_t i = 0; i < n; i++)
		r |= ipc_put_str(b, str_sub(req->rcpts[i].address, 0, IPC_MAX_PATH));
	return r < 0 ? -1 : 0;
}

/* send_check writes IPC_SPAM_CHECK now, or keeps it in c until the link
 * comes; 0 or -1. */
static int send_check(const struct queue_spam_request *req, struct check *c)
{
	struct buf b;
	buf_init(&b, IPC_MAX_PAYLOAD);
	int r = encode_check(req, &b);
	if (r == 0 && qs.link != NULL) {
		r = ipc_send_buf(qs.link, IPC_SPAM_CHECK, c->id, &b, req->message_fd);
	} else if (r == 0 && (c->waiting_fd = fcntl(req->message_fd, F_DUPFD_CLOEXEC, 0)) >= 0) {
		c->waiting = b;  /* sent by send_waiting */
		return 0;
	} else {
		r = -1;
	}
	buf_free(&b);
	return r;
}

/* queue_spam_check: see queue-spam.h.  Without a link (start-up, the spam
 * process restarting) the check waits for one within its time; when it
 * cannot be sent the answer comes from a timer of 0 ms: never from
 * inside. */
void queue_spam_check(const struct queue_spam_request *req, queue_spam_fn *fn, void *ctx)
{
	struct check *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		struct queue_spam_answer a = { .verdict = IPC_SPAM_UNCHECKED };
		fn(ctx, &a);
		return;
	}
	c->fn = fn;
	c->ctx = ctx;
	c->id = ++qs.next_id;
	c->waiting_fd = -1;
	if (req->message_fd < 0 || send_check(req, c) < 0)
		c->id = 0;
	c->next = qs.checks;
	qs.checks = c;
	c->timer = ev_timer_add(qs.ev, c->id == 0 ? 0 : SPAM_CHECK_TIMEOUT_MS, check_timeout, c);
}

/* queue_spam_cancel: see queue-spam.h. */
void queue_spam_cancel(void *ctx)
{
	for (struct check **pp = &qs.checks; *pp != NULL;) {
		struct check *c = *pp;
		if (c->ctx == ctx) {
			*pp = c->next;
			check_free(c);
		} else {
			pp = &c->next;
		}
	}
}

/* queue_spam_outcome: see queue-spam.h. */
enum ipc_queue_status queue_spam_outcome(const struct queue_spam_answer *a, bool fail_closed,
					 struct buf *lines, bool *junk, struct str *text)
{
	*junk = false;
	*text = a->text;
	switch (a->verdict) {
	case IPC_SPAM_REJECT:
		return IPC_QUEUE_SPAM_REJECTED;
	case IPC_SPAM_TEMPFAIL:
		return IPC_QUEUE_SPAM_DEFERRED;
	case IPC_SPAM_UNCHECKED:
		if (fail_closed) {
			*text = str_c("Spam filter unavailable, try again later");
			return IPC_QUEUE_SPAM_DEFERRED;
		}
		buf_append_str(lines, str_c("X-Spam-Status: unchecked\r\n"));
		return IPC_QUEUE_OK;
	case IPC_SPAM_JUNK:
		*junk = true;
		/* fall through */
	case IPC_SPAM_ACCEPT:
		buf_append_str(lines, a->headers);
		return IPC_QUEUE_OK;
	}
	return IPC_QUEUE_OK;
}
