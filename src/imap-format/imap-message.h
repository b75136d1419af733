#ifndef RAVELIN_IMAP_MESSAGE_H
#define RAVELIN_IMAP_MESSAGE_H
/*
 * imap-message: the three answers IMAP gives about a message's structure
 * (ENVELOPE, BODY, BODYSTRUCTURE), written once when the message is stored
 * so that FETCH never re-parses it.
 */
#include "lib/buf.h"
#include "mail/mime.h"

struct imap_message_answers {
	struct buf envelope;      /* without the word ENVELOPE */
	struct buf body;          /* the non-extensible form */
	struct buf bodystructure; /* with extension data */
};

/*
 * imap_message_answers_write writes msg's answers into *a (initialised
 * here): from its part tree, each bounded by msg->text_max, or msg's own
 * ready-made strings when it has no tree.  Returns 0, or -1 when an answer
 * is past its bound.  Whatever the result, the caller ends with
 * imap_message_answers_free.
 */
int imap_message_answers_write(const struct mime_message *msg, struct imap_message_answers *a);

/* imap_message_answers_free frees what imap_message_answers_write wrote. */
void imap_message_answers_free(struct imap_message_answers *a);

/* Room for an opaque message's BODY answer: the longest, with a size of 20
 * digits, is 62 bytes; 128 leaves room to spare. */
#define IMAP_MESSAGE_OPAQUE_BODY_MAX 128

/* A message kept as one opaque part (application/octet-stream): what is
 * stored when the MIME parser refuses a message, or when its structure is
 * past what can be described, so that nothing is refused for its shape. */
struct imap_message_opaque {
	struct mime_message msg;
	struct mime_part part;
	char body[IMAP_MESSAGE_OPAQUE_BODY_MAX];
};

/*
 * imap_message_opaque makes *o the opaque message of size bytes: one part,
 * no header fields, no date, and its ENVELOPE, BODY and BODYSTRUCTURE
 * ready-made.  o->msg points into *o, which must stay where it is while
 * o->msg is used.
 */
void imap_message_opaque(struct imap_message_opaque *o, uint64_t size);

#endif
