#ifndef RAVELIN_MIME_H
#define RAVELIN_MIME_H
/*
 * mime: a streaming RFC 5322 / MIME parser.  Bytes are pushed in any
 * chunking (byte by byte gives the same result as all at once); nothing is
 * read from files or sockets here.  At the end the parser yields what is
 * stored with the message, so it is never re-parsed:
 *   - the part tree (mime-tree.h), from which src/imap-format writes IMAP's
 *     ENVELOPE, BODY and BODYSTRUCTURE (this library knows no protocol);
 *   - every part with its exact byte offsets (header, body, sizes, lines);
 *   - decoded (UTF-8) header fields for SEARCH, SORT and THREAD.
 * Everything the parser allocates comes from one pool bounded by the limits,
 * so hostile input ends in an error, never in unbounded memory.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

/* Defaults for the limits (a real message past these is pathological). */
#define MIME_MAX_HEADER_BYTES   (256 * 1024) /* one header block, all fields */
#define MIME_MAX_HEADER_COUNT   1000         /* fields in one header block */
#define MIME_MAX_DEPTH          32           /* nesting of multiparts/message parts */
#define MIME_MAX_PARTS          2000         /* parts in the whole message */
#define MIME_MAX_BOUNDARY       200          /* RFC 2046 allows 70; be lenient */

struct mime_limits {
	size_t max_header_bytes;
	unsigned max_header_count;
	unsigned max_depth;
	unsigned max_parts;
};

/* mime_limits_default fills the defaults above. */
void mime_limits_default(struct mime_limits *limits);

/*
 * One part of the tree, in depth-first order.  Offsets are byte offsets in
 * the whole message as fed.  For a message/rfc822 part, the part's own body
 * is the embedded message; its header is part "N" with child sections
 * "N.1"...; IMAP's N.HEADER/N.TEXT address the embedded message's header
 * and body, given by header_offset/body_offset of the embedded message entry
 * (the entry whose section is "N" and is_embedded_message is set).
 */
struct mime_part {
	struct str section;      /* "" for the whole message, "1", "1.2", ... */
	uint64_t header_offset;  /* start of this part's MIME header */
	uint64_t header_size;    /* header bytes including the blank line */
	uint64_t body_offset;    /* start of body */
	uint64_t body_size;      /* body bytes */
	uint64_t body_lines;     /* lines in the body */
	struct str content_type; /* lower-case "type/subtype" */
	unsigned depth;
	unsigned child_count;
	int is_embedded_message; /* message/rfc822 whose body was parsed as a message */
};

struct mime_node;

struct mime_message {
	struct mime_part *parts; /* parts[0] is the whole message (section "") */
	size_t part_count;

	/* The part tree (mime-tree.h), NULL for a message made without the
	 * parser; text_max bounds any text written from it. */
	const struct mime_node *root;
	size_t text_max;
	/* A message made without the parser (kept as one opaque part) carries
	 * its IMAP ENVELOPE, BODY and BODYSTRUCTURE ready-made here; the parser
	 * leaves them empty and src/imap-format writes them from root. */
	struct str envelope;
	struct str body;
	struct str bodystructure;

	/* Decoded (RFC 2047, charset to UTF-8) header values; empty if absent. */
	struct str subject;
	struct str from;          /* display form: "Name <addr>" list */
	struct str to;
	struct str cc;
	struct str message_id;    /* as written, with the angle brackets */
	struct str in_reply_to;
	struct str references;
	int64_t date;             /* Date: as a Unix time, or -1 if absent/bad */
	int date_zone;            /* its zone as written, minutes east of UTC */

	uint64_t size;            /* bytes fed */
	uint64_t lines;           /* lines in the whole message */
};

struct mime_parser;

/* mime_parser_new returns a parser (limits copied), or NULL on no memory. */
struct mime_parser *mime_parser_new(const struct mime_limits *limits);
/*
 * mime_parser_feed pushes the next len bytes.  Returns 0, or -1 when a
 * limit was passed (*error_r says which, in words for a log or a protocol
 * error); after -1 the parser only accepts mime_parser_free.
 */
int mime_parser_feed(struct mime_parser *parser, const char *data, size_t len,
		     const char **error_r);
/*
 * mime_parser_finish ends the input and returns the result, which lives
 * until mime_parser_free.  Malformed structure (missing headers, broken
 * boundaries, bad encodings) is never an error: it is parsed leniently the
 * way common IMAP servers do.  Returns 0, or -1 with *error_r.
 */
int mime_parser_finish(struct mime_parser *parser, const struct mime_message **msg_r,
		       const char **error_r);
void mime_parser_free(struct mime_parser **parser);

#endif
