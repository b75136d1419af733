/* imap-message: a message's ENVELOPE, BODY, BODYSTRUCTURE (see imap-message.h). */
#include "imap-message.h"

#include "imap-bodystructure.h"
#include "imap-envelope.h"
#include "mail/mime-tree.h"

int imap_message_answers_write(const struct mime_message *msg, struct imap_message_answers *a)
{
	if (msg->root == NULL) {
		buf_init(&a->envelope, msg->envelope.len + 1);
		buf_init(&a->body, msg->body.len + 1);
		buf_init(&a->bodystructure, msg->bodystructure.len + 1);
		return buf_append_str(&a->envelope, msg->envelope) < 0 ||
				       buf_append_str(&a->body, msg->body) < 0 ||
				       buf_append_str(&a->bodystructure, msg->bodystructure) < 0
			       ? -1
			       : 0;
	}
	buf_init(&a->envelope, msg->text_max);
	buf_init(&a->body, msg->text_max);
	buf_init(&a->bodystructure, msg->text_max);
	return imap_envelope_write(&a->envelope, msg->root->envelope) < 0 ||
			       imap_bodystructure_write(&a->body, msg->root, false) < 0 ||
			       imap_bodystructure_write(&a->bodystructure, msg->root, true) < 0
		       ? -1
		       : 0;
}

void imap_message_answers_free(struct imap_message_answers *a)
{
	buf_free(&a->envelope);
	buf_free(&a->body);
	buf_free(&a->bodystructure);
}
