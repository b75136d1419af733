#ifndef RAVELIN_RFC822_H
#define RAVELIN_RFC822_H
/*
 * rfc822: a lexer for structured header values (RFC 5322 section 3.2, RFC
 * 2045 tokens).  It walks a {ptr, len} value and appends the tokens it reads
 * to a caller's buffer; it never allocates.  Output is never longer than
 * twice the input plus a little, so callers size their buffers from the
 * value they parse.  8-bit bytes are accepted as atext (RFC 6532).
 */
#include <stdbool.h>

#include "lib/buf.h"
#include "lib/str.h"

struct rfc822_lexer {
	const char *p;
	const char *end;
	/* Receives the text of the last comment skipped, when not NULL. */
	struct buf *last_comment;
	/* Set when an append to an output buffer failed (no memory). */
	bool failed;
};

/* rfc822_lexer_init starts lexing value (which must outlive the lexer). */
void rfc822_lexer_init(struct rfc822_lexer *lx, struct str value);
/* rfc822_skip_cfws skips whitespace, folding and comments; returns true
 * when input remains. */
bool rfc822_skip_cfws(struct rfc822_lexer *lx);
bool rfc822_at(const struct rfc822_lexer *lx, char c);
/* The parsers below append what they read to out, skip trailing CFWS and
 * return true when they consumed at least one character of their kind. */
bool rfc822_parse_atom(struct rfc822_lexer *lx, struct buf *out);
bool rfc822_parse_dot_atom(struct rfc822_lexer *lx, struct buf *out);
/* rfc822_parse_quoted_string expects '"' and appends the unescaped content. */
bool rfc822_parse_quoted_string(struct rfc822_lexer *lx, struct buf *out);
/* rfc822_parse_mime_token reads an RFC 2045 token (no tspecials). */
bool rfc822_parse_mime_token(struct rfc822_lexer *lx, struct buf *out);
/* rfc822_parse_domain reads a dot-atom or a [domain literal]. */
bool rfc822_parse_domain(struct rfc822_lexer *lx, struct buf *out);
/* rfc822_parse_phrase reads words (atoms, quoted strings, obsolete dots)
 * joined by single spaces, as a display name is shown. */
bool rfc822_parse_phrase(struct rfc822_lexer *lx, struct buf *out);
/* rfc822_is_atext says whether c may appear in an atom. */
bool rfc822_is_atext(unsigned char c);

#endif
