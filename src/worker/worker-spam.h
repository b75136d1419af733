#ifndef RAVELIN_WORKER_SPAM_H
#define RAVELIN_WORKER_SPAM_H
/* worker-spam: a user's moves into and out of Junk train the spam filter
 * (IPC_SPAM_LEARN over the link master gives the worker to spam). */
#include <stddef.h>
#include <stdint.h>

#include "lib/ev.h"
#include "lib/ipc.h"
#include "store/store.h"

/* Messages of one COPY or MOVE sent to be learnt; a user sorting a
 * thousand messages at once trains on the first ones (rspamd needs far
 * fewer) instead of making the worker copy them all into memory. */
#define WORKER_SPAM_MAX_LEARN 50

/* worker_spam_link takes an IPC_PEER from master: role spam's link (any
 * other role's is closed). */
void worker_spam_link(struct ev *ev, const struct ipc_msg *msg);

/* worker_spam_copied (an imap_session_callbacks.copied): messages now in
 * to with the UIDs given, copied from from ("": appended).  Into Junk (its \Junk special
 * use, or a mailbox named Junk) from elsewhere: learnt as spam; out of it
 * into elsewhere: as ham.  Nothing happens without a spam link. */
void worker_spam_copied(void *ctx, struct store *store, const char *from, const char *to,
			const uint32_t *uids, size_t count);

#endif
