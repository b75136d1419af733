#ifndef RAVELIN_IMAP_FETCH_H
#define RAVELIN_IMAP_FETCH_H
/*
 * imap-fetch: the FETCH command's items (RFC 9051 6.4.5, RFC 3516 BINARY,
 * RFC 7162 CHANGEDSINCE/VANISHED/MODSEQ) and the writing of one message's
 * "* n FETCH (...)" answer.  The session resolves the sequence set, loads
 * what the plan needs from the store and calls imap_fetch_write per
 * message; no store calls are made here: content comes through the read
 * function it is given (the session's is the store's reader).
 *
 * One message's answer may be written in steps: imap_fetch_write_step
 * stops inside a literal once the output passes a mark, and goes on from
 * there when called again, so a large body is never held whole.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-proto/imap-parser.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "store/store.h"

struct imap_fetch_plan;

/* What the session must load for each message, and the modifiers. */
struct imap_fetch_needs {
	bool meta;            /* store_message_meta (ENVELOPE, BODY*, sections) */
	bool head;            /* meta needed only for the message's own header
			       * (BODY[HEADER], HEADER.FIELDS(.NOT),
			       * RFC822.HEADER): store_message_head_list serves */
	bool envelope;        /* meta needed only for ENVELOPE (and the state):
			       * store_message_envelope_list serves */
	bool content;         /* a reader of the content (BODY[...], BINARY, RFC822*) */
	bool sets_seen;       /* a non-PEEK BODY[...] / RFC822 / RFC822.TEXT: set \Seen */
	bool modseq;          /* MODSEQ item asked for (the session enables CONDSTORE) */
	bool changedsince;    /* (CHANGEDSINCE n) modifier */
	uint64_t changedsince_modseq;
	bool vanished;        /* (VANISHED) modifier, UID FETCH with QRESYNC only */
};

/*
 * imap_fetch_parse reads the arguments after the sequence set: a macro
 * (ALL, FAST, FULL), one item or a list of items, then an optional list of
 * modifiers.  uid: UID FETCH (UID is then always answered).  Allocates from
 * pool.  Returns 0, or -1 with a static text for BAD in *error_r.
 */
int imap_fetch_parse(struct pool *pool, const struct imap_arg *args, size_t count, bool uid,
		     struct imap_fetch_plan **plan_r, const char **error_r);
void imap_fetch_plan_needs(const struct imap_fetch_plan *plan, struct imap_fetch_needs *needs_r);

/* imap_fetch_read_fn copies up to len content bytes from offset into buf
 * and sets *read_r to how many: fewer only at the end of the content.
 * Returns 0, or -1 with a log text in *error_r. */
typedef int imap_fetch_read_fn(void *ctx, uint64_t offset, void *buf, size_t len,
			       size_t *read_r, const char **error_r);

struct imap_fetch_input {
	uint32_t seq;
	const struct store_message *msg;        /* current UID, flags, MODSEQ, size, date */
	const struct store_message_meta *meta;  /* when needs.meta, else NULL */
	imap_fetch_read_fn *read;               /* content when needs.content, else NULL */
	void *read_ctx;
	const char *const *keywords;            /* keyword names, bit i = keywords[i] */
	size_t keyword_count;
	bool condstore;       /* CONDSTORE/QRESYNC enabled: answer MODSEQ always */
	bool flags_changed;   /* \Seen was just set implicitly: answer FLAGS too */
};

enum imap_fetch_status {
	IMAP_FETCH_OK = 0,
	IMAP_FETCH_ERROR = -1,         /* reading the content failed (log) */
	IMAP_FETCH_UNKNOWN_CTE = -2,   /* BINARY of a part it cannot decode */
	IMAP_FETCH_FULL = -3,          /* out is full */
	IMAP_FETCH_MORE = 1,           /* stopped mid-answer: call again */
};

/* Where one message's answer stands between calls of
 * imap_fetch_write_step; all zero before the first. */
struct imap_fetch_resume {
	size_t item;         /* the plan's item being written */
	uint64_t sent;       /* content octets of its literal already written */
	bool started;        /* "* n FETCH (" is written */
	bool literal;        /* the item's "{n}" is written; sent counts after it */
};

/*
 * imap_fetch_batch_end: a step of a FETCH that reads content answers
 * uids[start..end) in order; list (count messages, by UID) is what the
 * store holds of them.  Returns where the step should end so that the
 * content it sends stays near max_octets: after the message that reaches
 * it, and never before start + 1.  A client that does not read then
 * holds the session to max_octets plus one message's answer.
 */
size_t imap_fetch_batch_end(const uint32_t *uids, size_t start, size_t end,
			    const struct store_message *list, size_t count, uint64_t max_octets);

/*
 * imap_fetch_write appends "* seq FETCH (...)\r\n" for one message.  Items
 * come in the order asked for; BODY[...] answers use literals, with the
 * partial <offset> echoed; BINARY[...] decodes base64 and
 * quoted-printable parts (literal8 "~{n}" when the result holds NUL).
 * On an error nothing is appended for this message.
 */
int imap_fetch_write(const struct imap_fetch_plan *plan, const struct imap_fetch_input *in,
		     struct buf *out, const char **error_r);

/*
 * imap_fetch_write_step writes the answer imap_fetch_write does, but
 * returns IMAP_FETCH_MORE, with *state saying where it stopped, once out
 * holds high octets or more in the middle of a literal of known size
 * (BODY[...] and RFC822* of raw bytes, and BINARY[...] of parts that need
 * no decoding).  The next call, with the same plan and input and the
 * content still readable, goes on from there; what was written stays
 * written, as out may have been sent meanwhile.  An error on the first
 * call appends nothing; on a later one the answer is cut short and the
 * connection must be closed.
 */
int imap_fetch_write_step(const struct imap_fetch_plan *plan, const struct imap_fetch_input *in,
			  struct buf *out, size_t high, struct imap_fetch_resume *state,
			  const char **error_r);

#endif
