/* imap-envelope: IMAP ENVELOPE writer (see imap-envelope.h). */
#include "imap-envelope.h"

#include "imap-proto/imap-quote.h"

/* write_addresses appends an address list, or NIL when it is empty. */
static int write_addresses(struct buf *out, const struct address *a)
{
	int ret = 0;

	if (a == NULL)
		return buf_append_str(out, STR("NIL"));
	ret |= buf_putc(out, '(');
	for (; a != NULL && ret == 0; a = a->next) {
		ret |= buf_putc(out, '(');
		if (a->name.ptr == NULL)
			ret |= buf_append_str(out, STR("NIL"));
		else
			ret |= imap_quote_human(out, a->name);
		ret |= buf_putc(out, ' ');
		ret |= imap_quote_nstring(out, a->route);
		ret |= buf_putc(out, ' ');
		ret |= imap_quote_nstring(out, a->mailbox);
		ret |= buf_putc(out, ' ');
		ret |= imap_quote_nstring(out, a->domain);
		ret |= buf_putc(out, ')');
	}
	ret |= buf_putc(out, ')');
	return ret < 0 ? -1 : 0;
}

int imap_envelope_write(struct buf *out, const struct mime_envelope *env)
{
	static const struct mime_envelope empty;
	int ret = 0;

	if (env == NULL)
		env = &empty;
	ret |= buf_putc(out, '(');
	ret |= imap_quote_nstring_nolf(out, env->date);
	ret |= buf_putc(out, ' ');
	if (env->subject.ptr == NULL)
		ret |= buf_append_str(out, STR("NIL"));
	else
		ret |= imap_quote_human(out, env->subject);
	const struct address *from = env->head[MIME_ENVELOPE_FROM];
	for (int i = 0; i < MIME_ENVELOPE_LIST_COUNT; i++) {
		const struct address *list = env->head[i];
		if (list == NULL && (i == MIME_ENVELOPE_SENDER || i == MIME_ENVELOPE_REPLY_TO))
			list = from;
		ret |= buf_putc(out, ' ');
		ret |= write_addresses(out, list);
	}
	ret |= buf_putc(out, ' ');
	ret |= imap_quote_nstring_nolf(out, env->in_reply_to);
	ret |= buf_putc(out, ' ');
	ret |= imap_quote_nstring_nolf(out, env->message_id);
	ret |= buf_putc(out, ')');
	return ret < 0 ? -1 : 0;
}
