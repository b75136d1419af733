#ifndef RAVELIN_QUEUE_REMOTE_H
#define RAVELIN_QUEUE_REMOTE_H
/*
 * queue-remote: the queue's side of outbound delivery.  Recipients with
 * account 0 in the envelope are remote (CONTRACTS 2); this module groups
 * them by destination (their domain, or every one to the smarthost),
 * asks the relay spawner for relay children (IPC_RELAY_OPEN, at most
 * relay.max_per_destination per destination), hands them jobs
 * (IPC_RELAY_MSG: one message and up to IPC_RELAY_MAX_RCPTS of its
 * recipients there) and records each outcome in the spool's state log:
 * spool_state_done, durable, before anything else is done about that
 * recipient; failed for good on a 5xx; deferred and retried on anything
 * else.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/ev.h"
#include "lib/srs.h"
#include "spool.h"

/* A recipient of msg_ctx is finished (delivered or failed for good); the
 * queue counts it.  May be called from inside queue_remote_add. */
typedef void queue_remote_done_fn(void *msg_ctx, size_t rcpt);

struct queue_dkim;
/* queue_remote_init starts the module; config, spool and dkim (NULL: no
 * signing) outlive it. */
void queue_remote_init(struct ev *ev, struct spool *spool, const struct config *config,
		       struct queue_dkim *dkim, queue_remote_done_fn *done);
/* queue_remote_srs_key takes the SRS key (IPC_SRS_KEY): from then on a
 * forwarded message leaves with its sender rewritten (lib/srs.h). */
void queue_remote_srs_key(const unsigned char key[SRS_KEY_SIZE]);
/* queue_remote_relay_link takes the link to the relay spawner (IPC_PEER
 * from master); a new one replaces the old. */
void queue_remote_relay_link(int fd);
/* queue_remote_is_remote: does the envelope's recipient go out? */
static inline bool queue_remote_is_remote(const struct spool_rcpt *r)
{
	return r->account == 0;
}
/* queue_remote_add takes the remote recipients of a spooled message (fd,
 * offset, env and notes stay valid until queue_remote_forget): those the
 * state log says are finished are reported through done at once, the
 * others are delivered; why one waits goes into the message's notes
 * (queue-note.h, for `ravelin queue list`).  Returns 0, or -1 (out of
 * memory: nothing taken). */
int queue_remote_add(const char *qid, int fd, uint64_t offset, const struct spool_envelope *env,
		     char ***notes, void *msg_ctx);
/* queue_remote_forget drops msg_ctx (the message leaves the spool) and its
 * state log. */
void queue_remote_forget(void *msg_ctx);

#endif
