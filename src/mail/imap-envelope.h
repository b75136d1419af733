#ifndef RAVELIN_IMAP_ENVELOPE_H
#define RAVELIN_IMAP_ENVELOPE_H
/*
 * imap-envelope: the IMAP ENVELOPE of one message (RFC 3501 section
 * 7.4.2, RFC 9051 section 7.5.2), from raw header values.
 */
#include "address.h"
#include "lib/buf.h"
#include "lib/str.h"

enum imap_envelope_list {
	IMAP_ENVELOPE_FROM,
	IMAP_ENVELOPE_SENDER,
	IMAP_ENVELOPE_REPLY_TO,
	IMAP_ENVELOPE_TO,
	IMAP_ENVELOPE_CC,
	IMAP_ENVELOPE_BCC,
	IMAP_ENVELOPE_LIST_COUNT
};

/* Raw, unfolded header values; ptr NULL when the header is absent. */
struct imap_envelope {
	struct str date;
	struct str subject;
	struct str in_reply_to;
	struct str message_id;
	struct address *head[IMAP_ENVELOPE_LIST_COUNT];
	struct address *tail[IMAP_ENVELOPE_LIST_COUNT];
};

/*
 * imap_envelope_write appends "(date subject from sender reply-to to cc
 * bcc in-reply-to message-id)".  Sender and Reply-To default to From;
 * absent values are NIL; Subject and display names are written for
 * humans (whitespace collapsed), as Dovecot does.  env may be NULL (all
 * NIL).  Returns 0, or -1 when out is full.
 */
int imap_envelope_write(struct buf *out, const struct imap_envelope *env);

#endif
