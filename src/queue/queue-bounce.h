#ifndef RAVELIN_QUEUE_BOUNCE_H
#define RAVELIN_QUEUE_BOUNCE_H
/*
 * queue-bounce: a DSN (bounce.h) about a spooled message queued as a new
 * spool message, written durably like any other (spool_create, then
 * spool_commit_file and spool_commit_dir), with the null sender <> and
 * one recipient: the account that sent the original (the envelope's
 * "account <id>", spool.h), whose worker puts it in INBOX.  The queue
 * cannot look addresses up: an original without a sending account, or
 * with the null sender (a bounce itself), gets no bounce (logged), except
 * one forwarded elsewhere by an alias: its report goes to its sender as a
 * remote recipient ("rcpt 0").
 * The caller hands the new message to the queue (queue_take, queue.h).
 */
#include <stddef.h>

#include "bounce.h"
#include "spool.h"

/* queue_bounce_send queues a DSN of kind action about message qid for
 * rcpts[0..count) (at most BOUNCE_MAX_RCPTS are named).  hostname: ours.
 * Returns 1 with the new message's id in bounce_qid; 0 when no DSN is due
 * (null sender, no sending account unless every recipient named is a
 * remote one, which only forwarding makes: logged, nothing queued); -1
 * when it
 * could not be written (logged; the caller may try again later). */
int queue_bounce_send(struct spool *spool, const char *hostname, const char *qid,
		      enum bounce_action action, const struct bounce_rcpt *rcpts, size_t count,
		      char bounce_qid[SPOOL_QID_SIZE]);
/* queue_bounce_failed: a bounce for recipients indexes[0..count) of qid
 * (indexes into its envelope), each with the last answer its outcome
 * log (spool-state.h) holds.  Returns as queue_bounce_send. */
int queue_bounce_failed(struct spool *spool, const char *hostname, const char *qid,
			const size_t *indexes, size_t count, char bounce_qid[SPOOL_QID_SIZE]);
/* queue_bounce_delayed: a delay notice for those recipients, then the
 * log's "notice" line (durable), so it is sent once.  Returns as
 * queue_bounce_send (0 also marks the notice as done: none is due). */
int queue_bounce_delayed(struct spool *spool, const char *hostname, const char *qid,
			 const size_t *indexes, size_t count, char bounce_qid[SPOOL_QID_SIZE]);

#endif
