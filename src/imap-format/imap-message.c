/* imap-message: a message's ENVELOPE, BODY, BODYSTRUCTURE (see imap-message.h). */
#include "imap-message.h"

#include <stdio.h>
#include <string.h>

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

void imap_message_opaque(struct imap_message_opaque *o, uint64_t size)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->body, sizeof(o->body),
		 "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" %llu)",
		 (unsigned long long)size);
	o->part.section = STR("");
	o->part.body_size = size;
	o->part.content_type = STR("application/octet-stream");
	o->msg.parts = &o->part;
	o->msg.part_count = 1;
	o->msg.envelope = STR("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	o->msg.body = str_c(o->body);
	o->msg.bodystructure = str_c(o->body);
	o->msg.date = -1;
	o->msg.size = size;
}
