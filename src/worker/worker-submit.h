#ifndef RAVELIN_WORKER_SUBMIT_H
#define RAVELIN_WORKER_SUBMIT_H
/*
 * worker-submit: the worker as a submission client of the queue, for the
 * mail it writes itself (calendar scheduling).  It speaks what a pre-auth
 * process whose client logged in over submission speaks: the account's
 * sender addresses sealed by auth (IPC_SUBMIT_SENDERS_ASK on the link to
 * auth, which answers for the link's account only), each recipient looked
 * up and sealed by auth (IPC_RCPT_LOOKUP), then IPC_QUEUE_BEGIN, _RCPT,
 * _DATA and _END on the link to the queue master made at start, whose
 * serial (IPC_WORKER_SERIAL of the account) both sides know from master.
 * Remote recipients leave through relay as any submitted mail.
 *
 * One mail at a time, in order; a mail the queue does not take is logged
 * and dropped (the calendar change that made it stands).
 */
#include <stdbool.h>

#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/str.h"

/* Mails waiting to be submitted: one save writes to at most
 * ITIP_MAX_RECIPIENTS; a few saves' worth may wait for a slow queue. */
#define WORKER_SUBMIT_MAX_WAITING 1000
/* How long one step (auth's answer, the queue's) may take before the
 * mail is given up and the next one tried. */
#define WORKER_SUBMIT_STEP_MS 30000

/* worker_submit_init readies the loop submissions run on. */
void worker_submit_init(struct ev *ev);

/* worker_submit_link takes fd, the queue link master made (an older one
 * is closed), and goes on with waiting mail. */
void worker_submit_link(int fd);

/* worker_submit_auth_message takes auth's answers to submissions on the
 * account link (IPC_SUBMIT_SENDERS, IPC_RCPT_RESULT): true if msg was one. */
bool worker_submit_auth_message(struct ipc *auth, const struct ipc_msg *msg);

/* worker_submit_auth_ready: the account link to auth is (again) open. */
void worker_submit_auth_ready(struct ipc *auth);

/* worker_submit_send queues mail (the whole message, header and body)
 * from the account's address from to one recipient: 0, or -1 with
 * *error_r (too many waiting, too large, out of memory). */
int worker_submit_send(const char *from, const char *to, struct str mail, const char **error_r);

/* worker_submit_close drops the mail still waiting (logged: the worker
 * is ending) and closes the queue link. */
void worker_submit_close(void);

/* worker_submit_busy: mail is waiting or on its way (the worker stays). */
bool worker_submit_busy(void);

#endif
