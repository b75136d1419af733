/* dns-client: asks the resolver process over its link (see dns-client.h). */
#include "dns-client.h"

#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "dns-msg.h"
#include "ipc.h"
#include "log.h"

/* One question waiting for its answer. */
struct dns_query {
	struct dns_query *next, **prev;
	struct dns_client *client;
	uint64_t id;                  /* the message id of the question */
	enum dns_type type;
	dns_answer_fn *fn;
	void *ctx;
	struct ev_timer *timer;       /* the timeout, or the soon failure */
};

struct dns_client {
	struct ev *ev;
	struct ipc *ipc;              /* NULL once the link is gone */
	struct dns_query *queries;
	unsigned outstanding;
	uint64_t next_id;
};

/* query_unlink takes q off its client's list and stops its timer. */
static void query_unlink(struct dns_query *q)
{
	*q->prev = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->client->outstanding--;
	ev_timer_del(&q->timer);
}

/* query_finish gives q its one answer and frees it. */
static void query_finish(struct dns_query *q, const struct dns_answer *a)
{
	query_unlink(q);
	dns_answer_fn *fn = q->fn;
	void *ctx = q->ctx;
	free(q);
	fn(a, ctx);
}

/* query_tempfail answers q DNS_TEMPFAIL. */
static void query_tempfail(struct dns_query *q)
{
	struct dns_msg_answer none;
	dns_msg_answer_status(&none, DNS_TEMPFAIL);
	query_finish(q, &none.answer);
}

/* query_timer: the answer did not come in time (or q was to fail at once,
 * after the asker's call returned). */
static void query_timer(struct ev_timer *t, void *ctx)
{
	struct dns_query *q = ctx;
	(void)t;
	q->timer = NULL;
	query_tempfail(q);
}

/* fail_all answers every waiting query DNS_TEMPFAIL: the link is gone.
 * Each is off the list before its call, so a call may ask or cancel. */
static void fail_all(struct dns_client *c)
{
	while (c->queries != NULL)
		query_tempfail(c->queries);
}

static void link_closed(struct ipc *ipc, void *ctx)
{
	struct dns_client *c = ctx;
	(void)ipc;
	c->ipc = NULL;
	/* A process made while the resolver restarts has its link closed
	 * from the start: worth a line only if questions were lost. */
	if (c->queries != NULL)
		log_warn("the link to the resolver is gone: %u DNS questions fail",
			 c->outstanding);
	fail_all(c);
}

/* link_message takes one answer.  An answer to a question no longer
 * waiting (timed out, cancelled) is dropped; anything malformed closes
 * the link (the resolver is not trusted blindly either). */
static void link_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct dns_client *c = ctx;
	struct dns_query *q = c->queries;

	if (msg->kind != IPC_DNS_ANSWER) {
		ipc_reject(&c->ipc, msg);
		fail_all(c);
		return;
	}
	while (q != NULL && q->id != msg->id)
		q = q->next;
	if (q == NULL)
		return;
	struct dns_msg_answer a;
	if (dns_msg_get_answer(msg->payload, msg->len, q->type, &a) < 0) {
		ipc_reject(&c->ipc, msg);
		fail_all(c);
		return;
	}
	(void)ipc;
	query_finish(q, &a.answer);
}

struct dns_client *dns_client_new(struct ev *ev, int link_fd)
{
	struct dns_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		if (link_fd >= 0)
			close(link_fd);
		return NULL;
	}
	c->ev = ev;
	if (link_fd >= 0)
		c->ipc = ipc_new(ev, link_fd, "resolver", link_message, link_closed, c);
	return c;
}

void dns_client_free(struct dns_client **cp)
{
	struct dns_client *c = *cp;
	if (c == NULL)
		return;
	*cp = NULL;
	while (c->queries != NULL) {
		struct dns_query *q = c->queries;
		query_unlink(q);
		free(q);
	}
	ipc_close(&c->ipc);
	free(c);
}

bool dns_client_connected(const struct dns_client *c)
{
	return c != NULL && c->ipc != NULL;
}

int dns_client_ask(struct dns_client *c, enum dns_type type, struct str name,
		   dns_answer_fn *fn, void *ctx)
{
	struct buf b;

	if (name.len == 0 || name.len > DNS_MAX_NAME)
		return -1;
	struct dns_query *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -1;
	q->client = c;
	q->id = ++c->next_id;
	q->type = type;
	q->fn = fn;
	q->ctx = ctx;
	buf_init(&b, IPC_U64_SIZE + IPC_STR_SIZE(DNS_MAX_NAME));
	bool sent = c->ipc != NULL && c->outstanding < DNS_CLIENT_MAX_OUTSTANDING &&
		    dns_msg_put_query(&b, type, name) == 0 &&
		    ipc_send_buf(c->ipc, IPC_DNS_QUERY, q->id, &b, -1) == 0;
	buf_free(&b);
	/* Unsent, it fails on the next turn of the loop, not inside this call. */
	q->timer = ev_timer_add(c->ev, sent ? DNS_CLIENT_TIMEOUT_MS : 0, query_timer, q);
	if (q->timer == NULL) {
		free(q);
		return -1;
	}
	q->next = c->queries;
	if (c->queries != NULL)
		c->queries->prev = &q->next;
	q->prev = &c->queries;
	c->queries = q;
	c->outstanding++;
	return 0;
}

void dns_client_cancel_all(struct dns_client *c, void *ctx)
{
	struct dns_query *q = c != NULL ? c->queries : NULL;
	while (q != NULL) {
		struct dns_query *next = q->next;
		if (q->ctx == ctx) {
			query_unlink(q);
			free(q);
		}
		q = next;
	}
}
