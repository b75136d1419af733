#ifndef RAVELIN_QUEUE_SPAM_H
#define RAVELIN_QUEUE_SPAM_H
/*
 * queue-spam: the queue's side of the spam filter.  Before a message is
 * committed, the queue sends it (a sealed memfd) and its envelope to the
 * spam process (IPC_SPAM_CHECK) and waits for IPC_SPAM_VERDICT, at most
 * SPAM_CHECK_TIMEOUT_MS; queue_spam_outcome says what the verdict means
 * for the SMTP answer, the header lines and the Junk mark.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "spool.h"

/* The wait for a verdict: the spam process's own bound on an exchange
 * with rspamd (SPAM_RSPAMD_TIMEOUT_MS, 10 s) and two seconds for it to
 * answer; past it the message is unchecked.  Well within what an SMTP
 * client waits for the reply to DATA (RFC 5321 4.5.3.2.6: 10 minutes). */
#define SPAM_CHECK_TIMEOUT_MS 12000

struct queue_spam_request {
	struct str client_ip, helo, sender;
	const struct spool_rcpt *rcpts;
	size_t rcpt_count;  /* the first IPC_SPAM_MAX_RCPTS are named to rspamd */
	int message_fd;     /* sealed memfd, the caller's */
};

struct queue_spam_answer {
	enum ipc_spam_verdict verdict;
	struct str headers;  /* CRLF-terminated field lines, checked by spam */
	struct str text;     /* the refusal's text (printable ASCII) */
};

/* Called exactly once per check, never from inside queue_spam_check. */
typedef void queue_spam_fn(void *ctx, const struct queue_spam_answer *answer);

/* queue_spam_init: ev is the queue's loop. */
void queue_spam_init(struct ev *ev);
/* queue_spam_link takes the link to spam that master gives (IPC_PEER);
 * checks waiting on an old link are answered unchecked, and checks made
 * while there was none are sent on it. */
void queue_spam_link(int fd);
/* queue_spam_check sends one message to be checked (without a link yet,
 * at start-up or while the spam process restarts, when the link comes);
 * fn gets the answer (IPC_SPAM_UNCHECKED when the link breaks or time
 * runs out). */
void queue_spam_check(const struct queue_spam_request *req, queue_spam_fn *fn, void *ctx);
/* queue_spam_cancel: no answer for ctx will come (its transaction ended). */
void queue_spam_cancel(void *ctx);
/*
 * queue_spam_outcome maps an answer: IPC_QUEUE_OK (deliver, with the
 * header lines appended to lines, to Junk when *junk), or
 * IPC_QUEUE_SPAM_REJECTED / IPC_QUEUE_SPAM_DEFERRED with *text the reply
 * text.  Unchecked: accepted with "X-Spam-Status: unchecked", or deferred
 * when fail_closed.
 */
enum ipc_queue_status queue_spam_outcome(const struct queue_spam_answer *a, bool fail_closed,
					 struct buf *lines, bool *junk, struct str *text);

#endif
