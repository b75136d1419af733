#ifndef RAVELIN_IMAP_ENVELOPE_H
#define RAVELIN_IMAP_ENVELOPE_H
/*
 * imap-envelope: the IMAP ENVELOPE of one message (RFC 3501 section
 * 7.4.2, RFC 9051 section 7.5.2), from raw header values.
 */
#include "lib/buf.h"
#include "mail/mime-tree.h"

/*
 * imap_envelope_write appends "(date subject from sender reply-to to cc
 * bcc in-reply-to message-id)".  Sender and Reply-To default to From;
 * absent values are NIL; Subject and display names are written for
 * humans (whitespace collapsed), as Dovecot does.  env may be NULL (all
 * NIL).  Returns 0, or -1 when out is full.
 */
int imap_envelope_write(struct buf *out, const struct mime_envelope *env);

#endif
