/* queue-control: the administrator's requests (see queue-control.h). */
#include "queue-control.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "queue-bounce.h"
#include "queue-private.h"
#include "queue-retry.h"
#include "queue.h"
#include "spool-state.h"

/* Why the recipients of a deleted message did not get it, in its bounce. */
#define QUEUE_CONTROL_DELETED "5.0.0 deleted from the queue by its administrator"

static struct qmsg *find(struct str qid)
{
	for (struct qmsg *m = queue_msgs(); m != NULL; m = m->next)
		if (str_eq(str_c(m->qid), qid))
			return m;
	return NULL;
}

/* bounce_deleted tells m's sender that its recipients still waiting will
 * not get it (a DSN, queue-bounce.h). */
static void bounce_deleted(struct qmsg *m)
{
	struct spool_state st;
	char bqid[SPOOL_QID_SIZE];
	size_t n = 0;
	struct bounce_rcpt *rcpts = calloc(m->env.rcpt_count ? m->env.rcpt_count : 1,
					   sizeof(*rcpts));

	if (rcpts == NULL || spool_state_load(queue_spool(), m->qid, &st) < 0) {
		free(rcpts);
		log_error("%s: no bounce for its deletion: its state could not be read", m->qid);
		return;
	}
	for (size_t i = 0; i < m->env.rcpt_count && n < BOUNCE_MAX_RCPTS; i++) {
		const struct spool_state_rcpt *r = spool_state_rcpt(&st, i);
		if (m->state[i] == RCPT_DONE || r->status != SPOOL_STATE_PENDING)
			continue;
		rcpts[n].address = m->env.rcpts[i].address;
		rcpts[n++].answer = STR(QUEUE_CONTROL_DELETED);
	}
	if (n > 0 && queue_bounce_send(queue_spool(), queue_config()->hostname, m->qid,
				       BOUNCE_FAILED, rcpts, n, bqid) == 1)
		queue_take(bqid);
	spool_state_free(&st);
	free(rcpts);
}

static void delete_one(struct qmsg *m, bool bounce)
{
	for (size_t i = 0; i < m->env.rcpt_count; i++)
		if (m->state[i] == RCPT_INFLIGHT) {
			log_warn("%s: not deleted: a delivery of it is under way; ask again in a "
				 "moment", m->qid);
			return;
		}
	if (bounce)
		bounce_deleted(m);
	queue_msg_remove(m, bounce ? "deleted by the administrator, its sender told"
				   : "deleted by the administrator");
}

void queue_control(const struct ipc_msg *msg)
{
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	uint64_t op = ipc_get_u64(&r);
	struct str id = ipc_get_str(&r, IPC_QUEUE_MAX_ID);
	bool all = str_eq(id, STR("all"));

	if (!ipc_reader_ok(&r) || op < IPC_QUEUE_CONTROL_RETRY ||
	    op > IPC_QUEUE_CONTROL_DELETE_BOUNCE || (all && op != IPC_QUEUE_CONTROL_RETRY)) {
		log_error("malformed queue-control request from master");
		return;
	}
	if (op == IPC_QUEUE_CONTROL_RETRY && all) {
		unsigned n = 0;
		queue_wake_workers();
		for (struct qmsg *m = queue_msgs(); m != NULL; m = m->next, n++)
			queue_retry_now(m);
		log_info("queue retry: %u messages tried again now", n);
		return;
	}
	struct qmsg *m = find(id);
	if (m == NULL) {
		log_warn("queue %s: no message %.*s in the queue",
			 op == IPC_QUEUE_CONTROL_RETRY ? "retry" : "delete", (int)id.len, id.ptr);
		return;
	}
	if (op == IPC_QUEUE_CONTROL_RETRY) {
		queue_wake_workers();
		queue_retry_now(m);
		log_info("%s: tried again now, as the administrator asked", m->qid);
		return;
	}
	delete_one(m, op == IPC_QUEUE_CONTROL_DELETE_BOUNCE);
}
