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

#endif
