#ifndef RAVELIN_MAIL_DECODE_H
#define RAVELIN_MAIL_DECODE_H
/*
 * mail-decode: a part's Content-Transfer-Encoding undone (RFC 2045 6),
 * and single header fields read out of a raw header block.  Used by FETCH
 * BINARY and by the full-text index.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/str.h"

enum mail_cte {
	MAIL_CTE_7BIT,      /* also absent */
	MAIL_CTE_8BIT,
	MAIL_CTE_BINARY,
	MAIL_CTE_BASE64,
	MAIL_CTE_QP,
	MAIL_CTE_UNKNOWN,   /* x-uuencode and the like */
};

/* mail_cte_parse reads a Content-Transfer-Encoding value (any case, with
 * comments and spaces around); empty is 7bit. */
enum mail_cte mail_cte_parse(struct str value);

/*
 * mail_decode appends the decoded content of in to out.  7bit, 8bit and
 * binary are copied.  Base64 skips characters outside the alphabet and
 * stops at "="; quoted-printable undoes "=XX" and soft line breaks and
 * keeps malformed "=" sequences as they are (lenient, as readers are).
 * Returns 0, or -1 when out is full or cte is MAIL_CTE_UNKNOWN.
 */
int mail_decode(enum mail_cte cte, struct str in, struct buf *out);

/*
 * mail_header_field finds the first field called name (case-insensitive)
 * in a raw header block (as in the message, lines ending in CRLF or LF,
 * possibly with the blank line) and appends its value, unfolded and with
 * the leading and trailing white space removed, to out.  Returns true when
 * found.
 */
bool mail_header_field(struct str header, const char *name, struct buf *out);

/* mail_decode_base64_value gives the value of one character of the base64
 * alphabet (RFC 2045 table 1), or -1 for any other byte. */
int mail_decode_base64_value(unsigned char c);

#endif
