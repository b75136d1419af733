#ifndef RAVELIN_IMAP_QUOTE_H
#define RAVELIN_IMAP_QUOTE_H
/*
 * imap-quote: writing header text as IMAP strings (RFC 3501 section 4.3)
 * the way Dovecot does, so clients see the same bytes: a quoted string
 * with \" and \\ escapes when that is safe and short, otherwise a literal
 * {n}\r\n...  (for CR, LF, 8-bit bytes or many quoted-specials).
 * Every function returns 0, or -1 when out is full.
 *
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 */
#include "lib/buf.h"
#include "lib/str.h"

/* imap_quote_string writes s as a quoted string or a literal. */
int imap_quote_string(struct buf *out, struct str s);
/* imap_quote_canonical writes s quoted however many escapes that takes,
 * or as a literal only when a quoted string cannot hold it (CR, LF, NUL,
 * 8-bit): one form whatever the text, for canonical printing. */
int imap_quote_canonical(struct buf *out, struct str s);
/* imap_quote_is_atom is true when s can be written as an RFC 9051 atom
 * as it stands: not empty, and no CTL, SP, 8-bit byte, atom-special or "]"
 * (so it is also a valid flag-keyword). */
bool imap_quote_is_atom(struct str s);
/* imap_quote_nstring writes NIL when s.ptr is NULL, else as above. */
int imap_quote_nstring(struct buf *out, struct str s);
/* imap_quote_nstring_nolf is imap_quote_nstring after removing line
 * breaks: CR/LF before whitespace or at the end go, others become SP. */
int imap_quote_nstring_nolf(struct buf *out, struct str s);
/* imap_quote_human writes text meant for people (Subject, display names):
 * whitespace runs become one space, leading/trailing whitespace goes; any
 * such change, a quote, a backslash or 8-bit byte makes it a literal. */
int imap_quote_human(struct buf *out, struct str s);

#endif
