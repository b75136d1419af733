#ifndef RAVELIN_RFC2047_H
#define RAVELIN_RFC2047_H
/*
 * rfc2047: decoding of MIME encoded words ("=?charset?Q?text?=") in header
 * text to UTF-8, for SEARCH, SORT and display.
 */
#include "lib/buf.h"
#include "lib/str.h"

/*
 * rfc2047_decode appends in to out with every encoded word decoded and
 * converted to UTF-8.  Whitespace between two adjacent encoded words is
 * dropped (RFC 2047 section 6.2); words of one charset are joined before
 * conversion, so a character split across words survives.  Malformed
 * words are kept as written; other text is copied unchanged.  Returns 0,
 * or -1 when out is full or memory ran out.
 */
int rfc2047_decode(struct buf *out, struct str in);

#endif
