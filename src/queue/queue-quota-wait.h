#ifndef RAVELIN_QUEUE_QUOTA_WAIT_H
#define RAVELIN_QUEUE_QUOTA_WAIT_H
/*
 * queue-quota-wait: answers about quotas that wait for a worker's figures.
 * The queue knows an account's quota only once its worker has told it
 * (IPC_WORKER_QUOTA, sent when its delivery link opens).  A question whose
 * answer depends on an account not known yet (at RCPT, IPC_QUEUE_QUOTA;
 * at the end of DATA) is kept here, with a timer, until every account it
 * waits for is told or the time is up; then its callback answers from
 * what the queue knows.  The loop never blocks on it.
 */
#include <stddef.h>
#include <stdint.h>

struct ev;
struct ipc;

/* How long an answer waits for a worker to start and tell its figures: a
 * worker starts in a few hundred milliseconds on a loaded machine; an SMTP
 * client waits minutes for a reply (RFC 5321 4.5.3.2), so two seconds
 * costs it nothing, and a worker slower than that is answered for by the
 * store after acceptance, as before. */
#define QUEUE_QUOTA_WAIT_MS 2000
/* Answers waiting at once.  Each is one SMTP session's pending reply (an
 * honest pre-auth process asks one thing at a time), and the queue starts
 * at most 16 workers at once: 256 is far more than it can answer for
 * within the wait.  Past it a question is answered at once from what is
 * known (the store still has the last word).  About 8 KB each with a
 * question from RCPT (its accounts): 2 MB at most. */
#define QUEUE_QUOTA_WAIT_MAX 256
/* Accounts one answer waits for: those whose worker the queue has asked
 * master for, at most its 16 workers at once. */
#define QUEUE_QUOTA_WAIT_ACCOUNTS 16

/* Called once, when the answer is due: front and id as given to add,
 * data its to free. */
typedef void queue_quota_wait_fn(struct ipc *front, uint64_t id, void *data);

/* queue_quota_wait_add keeps a question from front (message id) waiting
 * up to ms for the figures of accounts[0..n) (n at most
 * QUEUE_QUOTA_WAIT_ACCOUNTS, the rest are not waited for), then calls fn.
 * data is NULL or malloc'd; it is passed to fn, or freed by
 * queue_quota_wait_drop.  Returns 0, or -1 (QUEUE_QUOTA_WAIT_MAX waiting,
 * no memory, no timer): the caller answers now and keeps data. */
int queue_quota_wait_add(struct ev *ev, uint64_t ms, struct ipc *front, uint64_t id,
			 const uint64_t *accounts, size_t n, queue_quota_wait_fn *fn, void *data);
/* queue_quota_wait_told: account's figures came, or will not come (its
 * worker cannot be had, or left): answers every question that waited for
 * it and for nothing else. */
void queue_quota_wait_told(uint64_t account);
/* queue_quota_wait_drop forgets every question from front (its link
 * closed), freeing their data without answering. */
void queue_quota_wait_drop(struct ipc *front);
/* queue_quota_wait_count: questions waiting now. */
size_t queue_quota_wait_count(void);

#endif
