#ifndef RAVELIN_QUEUE_RETRY_H
#define RAVELIN_QUEUE_RETRY_H
/* queue-retry: when the queue tries again the local deliveries that
 * failed for now (queue.retry_delay, doubled per attempt up to
 * QUEUE_MAX_RETRY_DELAY_S), and trying them now on request. */
#include "queue-private.h"

/* The longest wait between two local delivery attempts. */
#define QUEUE_MAX_RETRY_DELAY_S 3600

/* queue_retry_schedule arms m's retry timer, unless it is armed: its
 * waiting recipients are tried again when it fires. */
void queue_retry_schedule(struct qmsg *m);
/* queue_retry_now tries m's waiting recipients again at once (`ravelin
 * queue retry`); the growing delay goes on from where it was. */
void queue_retry_now(struct qmsg *m);

#endif
