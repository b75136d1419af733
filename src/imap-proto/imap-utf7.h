#ifndef RAVELIN_IMAP_UTF7_H
#define RAVELIN_IMAP_UTF7_H
/*
 * imap-utf7: mailbox names in modified UTF-7 (RFC 3501 5.1.3), which
 * IMAP4rev1 clients use until they ENABLE UTF8=ACCEPT or IMAP4rev2; the
 * store keeps names in UTF-8.
 *
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 */
#include "lib/buf.h"
#include "lib/str.h"

/* imap_utf7_decode appends the UTF-8 form of a modified UTF-7 name.
 * Returns 0, or -1 when the name is not valid modified UTF-7 or out is full. */
int imap_utf7_decode(struct str in, struct buf *out);
/* imap_utf7_encode appends the modified UTF-7 form of a UTF-8 name.
 * Returns 0, or -1 when in is not valid UTF-8 or out is full. */
int imap_utf7_encode(struct str in, struct buf *out);

#endif
