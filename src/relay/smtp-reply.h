#ifndef RAVELIN_SMTP_REPLY_H
#define RAVELIN_SMTP_REPLY_H
/*
 * smtp-reply: the typed parser of a remote SMTP server's replies (RFC 5321
 * 4.2), the one place where the relay reads words a stranger chose.  No
 * I/O: the caller appends what it received to a buffer and calls
 * smtp_reply_parse, which takes whole lines off it.
 *
 * A reply is one or more lines "ddd-text" ending with a line "ddd text"
 * (or bare "ddd"), every line with the same code, the code three digits
 * from 200 to 599.  Lines end in CRLF; a bare LF is taken as the end too
 * (servers in the wild send it, and the line's content is unaffected).
 * Anything else is garbage: the caller ends the attempt with a temporary
 * failure.  Limits, so that an endless or 10 MB reply costs a bounded
 * amount of memory: RELAY_MAX_REPLY_LINE octets per line and
 * RELAY_MAX_REPLY_LINES lines per reply.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/str.h"

/* RFC 5321 4.5.3.1.5 puts a reply line at 512 octets with its CRLF; real
 * servers go past it with long EHLO keywords and URLs in their texts, so
 * twice that, and no more: a longer line is not an SMTP server talking. */
#define RELAY_MAX_REPLY_LINE 1024
/* An EHLO reply is the longest honest one: about twenty extension lines
 * (Postfix sends 10, Exchange 15).  Ten times that is generous. */
#define RELAY_MAX_REPLY_LINES 200
/* What is kept of one reply's text for logs and bounces (the IPC answer
 * field, IPC_RELAY_MAX_ANSWER, is the same). */
#define RELAY_MAX_ANSWER 512

/* One reply.  Its line texts point into the parser and stay valid until
 * the next smtp_reply_parse or smtp_reply_parser_free. */
struct smtp_reply {
	unsigned code;           /* 200..599 */
	bool has_enhanced;       /* the first line began with an RFC 3463 code
				  * of the reply's class */
	unsigned enhanced[3];    /* class, subject, detail */
	size_t line_count;       /* at least 1 */
	struct str lines[RELAY_MAX_REPLY_LINES]; /* the text after "ddd-" / "ddd " */
};

struct smtp_reply_parser {
	struct buf text;         /* the lines of the reply being read */
	size_t starts[RELAY_MAX_REPLY_LINES];
	size_t line_count;
	unsigned code;
};

void smtp_reply_parser_init(struct smtp_reply_parser *p);
void smtp_reply_parser_free(struct smtp_reply_parser *p);

/*
 * smtp_reply_parse takes whole lines off the front of in until a reply is
 * complete.  Returns 1 with *r filled (the parser starts afresh on the next
 * call), 0 if more input is needed (every whole line was taken; what is
 * left is one unfinished line shorter than RELAY_MAX_REPLY_LINE), or -1
 * with *error_r saying why the input is not an SMTP reply; after -1 the
 * parser must not be used again without smtp_reply_parser_init.
 */
int smtp_reply_parse(struct smtp_reply_parser *p, struct buf *in, struct smtp_reply *r,
		     const char **error_r);

/*
 * smtp_reply_answer appends to out the reply as one line for a log or a
 * bounce: "code text" with the lines joined by spaces, octets that are not
 * printable ASCII as '?', cut to RELAY_MAX_ANSWER octets.
 */
void smtp_reply_answer(const struct smtp_reply *r, struct buf *out);

/* smtp_reply_is_ok is true for a 2xx reply. */
static inline bool smtp_reply_is_ok(const struct smtp_reply *r)
{
	return r->code / 100 == 2;
}

#endif
