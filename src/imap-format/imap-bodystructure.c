/* imap-bodystructure: BODY / BODYSTRUCTURE writer (see imap-bodystructure.h). */
#include "imap-bodystructure.h"

#include <inttypes.h>

#include "imap-envelope.h"
#include "imap-proto/imap-quote.h"

/* What a multipart without any part shows, as Dovecot writes it. */
#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)"
#define EMPTY_BODYSTRUCTURE \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"

/* write_params appends a parameter list or NIL; text parts always show a
 * charset (RFC 2045 default us-ascii). */
static int write_params(struct buf *out, const struct mime_param *params, unsigned count,
			bool default_charset)
{
	bool seen_charset = false;
	int ret = 0;

	if (count == 0 && !default_charset)
		return buf_append_str(out, STR("NIL"));
	ret |= buf_putc(out, '(');
	for (unsigned i = 0; i < count; i++) {
		if (i > 0)
			ret |= buf_putc(out, ' ');
		if (str_case_eq(params[i].name, STR("charset")))
			seen_charset = true;
		ret |= imap_quote_string(out, params[i].name);
		ret |= buf_putc(out, ' ');
		ret |= imap_quote_string(out, params[i].value);
	}
	if (default_charset && !seen_charset) {
		if (count > 0)
			ret |= buf_putc(out, ' ');
		ret |= buf_append_str(out, STR("\"charset\" \"us-ascii\""));
	}
	ret |= buf_putc(out, ')');
	return ret < 0 ? -1 : 0;
}

/* write_common appends " disposition language location". */
static int write_common(struct buf *out, const struct mime_content *c)
{
	int ret = buf_putc(out, ' ');

	if (c->disposition.ptr == NULL) {
		ret |= buf_append_str(out, STR("NIL"));
	} else {
		ret |= buf_putc(out, '(');
		ret |= imap_quote_string(out, c->disposition);
		ret |= buf_putc(out, ' ');
		ret |= write_params(out, c->disposition_params, c->disposition_param_count, false);
		ret |= buf_putc(out, ')');
	}
	ret |= buf_putc(out, ' ');
	if (c->language_count == 0) {
		ret |= buf_append_str(out, STR("NIL"));
	} else {
		ret |= buf_putc(out, '(');
		for (unsigned i = 0; i < c->language_count; i++) {
			if (i > 0)
				ret |= buf_putc(out, ' ');
			ret |= imap_quote_string(out, c->languages[i]);
		}
		ret |= buf_putc(out, ')');
	}
	ret |= buf_putc(out, ' ');
	ret |= imap_quote_nstring_nolf(out, c->location);
	return ret < 0 ? -1 : 0;
}

/* write_multipart appends the parts, the subtype and (extended) params,
 * disposition, language and location of a multipart. */
static int write_multipart(struct buf *out, const struct mime_node *node, bool extended)
{
	const struct mime_content *c = &node->content;
	int ret = 0;

	if (node->first_child == NULL)
		ret |= buf_append_str(out, extended ? STR(EMPTY_BODYSTRUCTURE) : STR(EMPTY_BODY));
	for (const struct mime_node *child = node->first_child; child != NULL && ret == 0;
	     child = child->next)
		ret |= imap_bodystructure_write(out, child, extended);
	ret |= buf_putc(out, ' ');
	ret |= imap_quote_string(out, c->subtype);
	if (extended) {
		ret |= buf_putc(out, ' ');
		ret |= write_params(out, c->params, c->param_count, false);
		ret |= write_common(out, c);
	}
	return ret < 0 ? -1 : 0;
}

/* write_single appends a non-multipart part: type, params, id,
 * description, encoding, size, then lines (text), or envelope, structure
 * and lines (message/rfc822), then (extended) MD5 and the common fields. */
static int write_single(struct buf *out, const struct mime_node *node, bool extended)
{
	const struct mime_content *c = &node->content;
	int ret = 0;

	if (node->is_rfc822) {
		ret |= buf_append_str(out, STR("\"message\" \"rfc822\""));
	} else if (c->type.ptr == NULL) {
		ret |= buf_append_str(out, STR("\"text\" \"plain\""));
	} else {
		ret |= imap_quote_string(out, c->type);
		ret |= buf_putc(out, ' ');
		ret |= imap_quote_string(out, c->subtype);
	}
	ret |= buf_putc(out, ' ');
	ret |= write_params(out, c->params, c->param_count, node->is_text);
	ret |= buf_putc(out, ' ');
	ret |= imap_quote_nstring_nolf(out, c->id);
	ret |= buf_putc(out, ' ');
	ret |= imap_quote_nstring_nolf(out, c->description);
	ret |= buf_putc(out, ' ');
	if (c->encoding.ptr != NULL)
		ret |= imap_quote_string(out, c->encoding);
	else
		ret |= buf_append_str(out, STR("\"7bit\""));
	ret |= buf_printf(out, " %" PRIu64, node->body_size);
	if (node->is_text) {
		ret |= buf_printf(out, " %" PRIu64, node->body_lines);
	} else if (node->is_rfc822 && node->first_child != NULL) {
		const struct mime_node *msg = node->first_child;
		ret |= buf_putc(out, ' ');
		ret |= imap_envelope_write(out, msg->envelope);
		ret |= buf_putc(out, ' ');
		ret |= imap_bodystructure_write(out, msg, extended);
		ret |= buf_printf(out, " %" PRIu64, node->body_lines);
	}
	if (extended) {
		ret |= buf_putc(out, ' ');
		ret |= imap_quote_nstring_nolf(out, c->md5);
		ret |= write_common(out, c);
	}
	return ret < 0 ? -1 : 0;
}

int imap_bodystructure_write(struct buf *out, const struct mime_node *node, bool extended)
{
	int ret = buf_putc(out, '(');

	if (ret == 0)
		ret = node->is_multipart ? write_multipart(out, node, extended)
					 : write_single(out, node, extended);
	if (ret == 0)
		ret = buf_putc(out, ')');
	return ret;
}
