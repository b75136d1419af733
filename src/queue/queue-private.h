#ifndef RAVELIN_QUEUE_PRIVATE_H
#define RAVELIN_QUEUE_PRIVATE_H
/* queue-private: what the queue's modules share inside the queue process
 * (queue.c owns it all; queue-control.c acts on it). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "spool.h"

/* A path as fronts send it (IPC_QUEUE_BEGIN, IPC_QUEUE_RCPT) and as it
 * goes on to workers (IPC_DELIVER). */
#define QUEUE_MAX_ADDRESS IPC_MAX_PATH

/* RCPT_REMOTE: account 0, a remote recipient, left to remote delivery. */
enum rcpt_state { RCPT_PENDING, RCPT_INFLIGHT, RCPT_DONE, RCPT_WAITING, RCPT_REMOTE };

/* A message in the spool, being delivered. */
struct qmsg {
	struct qmsg *next;
	char qid[SPOOL_QID_SIZE];
	int fd;
	uint64_t offset;
	/* The message alone, what workers get (spool_message_body); made
	 * when a delivery starts, closed when none is under way. */
	int body_fd;
	/* Why each recipient waits (NULL: it does not), noted in the spool
	 * for `ravelin queue list`; made at the first deferral. */
	char **why;
	struct buf text;
	struct spool_envelope env;
	unsigned char *state;      /* enum rcpt_state per recipient */
	size_t remaining;
	unsigned attempts;
	struct ev_timer *retry;
};

/* queue_msgs: the messages in the queue, oldest first (by next). */
struct qmsg *queue_msgs(void);
struct ev *queue_ev(void);
struct spool *queue_spool(void);
const struct config *queue_config(void);
/* queue_dispatch starts what can be delivered, once this loop turn. */
void queue_dispatch(void);
/* queue_msg_remove takes m out of the queue and the spool (with its note
 * and outcome log) and frees it; how is logged.  No delivery of it may be
 * under way (RCPT_INFLIGHT). */
void queue_msg_remove(struct qmsg *m, const char *how);
/* queue_msg_load takes the committed spool message qid into the queue,
 * for delivery. */
void queue_msg_load(const char *qid);
/* queue_worker_warm asks for account's worker ahead of a delivery (its
 * quota figures come with it); false when none can be asked for now. */
bool queue_worker_warm(uint64_t account);
/* queue_rcpt_key: the key auth seals recipients with (queue-rcpt.h), or
 * NULL before master has sent it. */
const unsigned char *queue_rcpt_key(void);
/* queue_wake_workers ends every account's back-off: their workers are
 * asked for again at the next dispatch. */
void queue_wake_workers(void);

#endif
