#ifndef RAVELIN_IMAP_THREAD_H
#define RAVELIN_IMAP_THREAD_H
/*
 * imap-thread: the THREAD algorithms of RFC 5256 section 3, REFERENCES
 * (with dummy messages, pruning, subject gathering and sorting by sent
 * date) and ORDEREDSUBJECT, over plain records: no store, no I/O, so they
 * can be tested and fuzzed alone.  imap-search-run.c feeds it the
 * messages a THREAD command found.
 *
 *   t = imap_thread_new(IMAP_THREAD_REFERENCES, n);
 *   for each message in sequence order: imap_thread_add(t, &msg);
 *   imap_thread_write(t, uid, out);      "(2)(3 6 (4 23)(44 7 96))"
 *   imap_thread_free(&t);
 *
 * A message is copied in as it is added (its IDs, base subject and
 * date), so the caller's strings need only live through the add.
 *
 * Hostile headers: every walk over the tree is iterative (explicit
 * stacks), never recursive; the loop check of REFERENCES step 1 climbs
 * at most IMAP_THREAD_MAX_DEPTH parents; each message brings at most
 * IMAP_THREAD_MAX_REFS references and at most
 * IMAP_THREAD_DUMMIES_PER_MESSAGE dummies on average; IDs are looked up
 * through a hash keyed at random per call (SipHash), so crafted
 * Message-IDs cannot make the table slow.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"

/* References used per message: the last ones of References:, the
 * nearest ancestors.  MUAs trim the header to a dozen or so; 64 ancestors
 * place a reply in any real thread, while a header of thousands of
 * made-up IDs costs no more than 64. */
#define IMAP_THREAD_MAX_REFS 64
/* Longest Message-ID used (angle brackets included).  Real ones are under
 * 100 octets; a longer one counts as no valid ID (RFC 5256: the message
 * gets a unique ID of its own, a reference to it is ignored). */
#define IMAP_THREAD_MAX_ID 250
/* Parents climbed when checking that a new link makes no loop.  A chain
 * deeper than this is refused the link (it stays where it was), so each
 * check costs at most this many steps: a hostile chain of 100,000
 * replies cannot make THREAD quadratic.  No conversation is 1,000 replies
 * deep. */
#define IMAP_THREAD_MAX_DEPTH 1000
/* Dummy messages (referenced but absent) per message, on average over the
 * whole call.  A mailing-list folder has about one per thread; past the
 * budget, references to further unknown IDs are ignored. */
#define IMAP_THREAD_DUMMIES_PER_MESSAGE 4

enum imap_thread_algorithm {
	IMAP_THREAD_REFERENCES,
	IMAP_THREAD_ORDEREDSUBJECT,
};

/* One message, as the caller read it. */
struct imap_thread_msg {
	uint32_t uid;
	uint32_t seq;              /* ascending over the adds: the tie-breaker */
	struct str subject;        /* RFC 2047-decoded Subject: ("" if absent) */
	struct str message_id;     /* header values as written ("" if absent) */
	struct str in_reply_to;
	struct str references;
	int64_t sent_date;         /* Date:, or the internal date when it has none */
};

struct imap_thread;

/* imap_thread_new prepares a threading of at most max_messages messages;
 * NULL when memory is exhausted. */
struct imap_thread *imap_thread_new(enum imap_thread_algorithm algorithm, size_t max_messages);
/* imap_thread_free releases everything and sets *t to NULL. */
void imap_thread_free(struct imap_thread **t);
/*
 * imap_thread_add takes one message; messages come in ascending sequence
 * order (the first of two with the same Message-ID keeps it).  Returns 0,
 * or -1 when memory is exhausted or more than max_messages were added.
 */
int imap_thread_add(struct imap_thread *t, const struct imap_thread_msg *msg);
/*
 * imap_thread_write finishes the algorithm and appends the thread lists
 * (RFC 5256 thread-list, no "* THREAD" before them and no CRLF after) to
 * out, with UIDs (uid) or sequence numbers.  Nothing is appended when no
 * message was added.  Call it once.  Returns 0, or -1 when out is full or
 * memory is exhausted.
 */
int imap_thread_write(struct imap_thread *t, bool uid, struct buf *out);

#endif
