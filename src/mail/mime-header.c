/* mime-header: header block to Content-* and envelope fields (see mime-header.h). */
#include "mime-header.h"

#include <string.h>

#include "address.h"
#include "rfc822.h"

/* Content-Language lists a few tags; more than this is not a language
 * list but an attack on the output size. */
#define MIME_MAX_LANGUAGES 32

struct header_ctx {
	struct pool *pool;
	struct mime_node *node;
	unsigned *address_budget;
	struct buf value; /* the current field's unfolded value */
	struct buf token; /* scratch for the lexer */
	bool failed;
};

/* keep copies a value into the pool (ptr NULL on failure, remembered). */
static struct str keep(struct header_ctx *ctx, struct str s)
{
	struct str c = pool_str(ctx->pool, s);
	if (c.ptr == NULL)
		ctx->failed = true;
	return c;
}

/* unfold puts a field's value into ctx->value: after the colon and its
 * whitespace, line breaks removed (RFC 5322 section 2.2.3), NUL bytes
 * replaced by U+FFFD as Dovecot does (NUL cannot be sent in IMAP). */
static int unfold(struct buf *out, struct str raw)
{
	size_t i = 0;

	buf_reset(out);
	while (i < raw.len && (raw.ptr[i] == ' ' || raw.ptr[i] == '\t'))
		i++;
	for (; i < raw.len; i++) {
		char c = raw.ptr[i];
		if (c == '\n' || (c == '\r' && i + 1 < raw.len && raw.ptr[i + 1] == '\n'))
			continue;
		if (c == '\r' && i + 1 == raw.len)
			continue;
		int r = c == '\0' ? buf_append_str(out, STR("\xef\xbf\xbd")) : buf_putc(out, c);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* parse_content_type reads "type/subtype; params". */
static void parse_content_type(struct header_ctx *ctx, struct str value)
{
	struct mime_content *c = &ctx->node->content;
	struct rfc822_lexer lx;

	c->seen_content_type = true;
	rfc822_lexer_init(&lx, value);
	rfc822_skip_cfws(&lx);
	buf_reset(&ctx->token);
	if (!rfc822_parse_mime_token(&lx, &ctx->token) || !rfc822_at(&lx, '/'))
		return; /* invalid: RFC 2045 says treat as text/plain */
	size_t slash = ctx->token.len;
	lx.p++;
	rfc822_skip_cfws(&lx);
	if (!rfc822_parse_mime_token(&lx, &ctx->token))
		return;
	struct str both = keep(ctx, buf_str(&ctx->token));
	if (both.ptr == NULL)
		return;
	c->type = str_from(both.ptr, slash);
	c->subtype = str_from(both.ptr + slash, both.len - slash);
	if (rfc2231_parse_params(ctx->pool, &lx, &c->params, &c->param_count) < 0)
		ctx->failed = true;
}

/* parse_disposition reads "token; params" of Content-Disposition. */
static void parse_disposition(struct header_ctx *ctx, struct str value)
{
	struct mime_content *c = &ctx->node->content;
	struct rfc822_lexer lx;

	rfc822_lexer_init(&lx, value);
	rfc822_skip_cfws(&lx);
	buf_reset(&ctx->token);
	if (!rfc822_parse_mime_token(&lx, &ctx->token))
		return;
	c->disposition = keep(ctx, buf_str(&ctx->token));
	if (rfc2231_parse_params(ctx->pool, &lx, &c->disposition_params,
				 &c->disposition_param_count) < 0)
		ctx->failed = true;
}

/* parse_encoding reads the Content-Transfer-Encoding token. */
static void parse_encoding(struct header_ctx *ctx, struct str value)
{
	struct rfc822_lexer lx;

	rfc822_lexer_init(&lx, value);
	rfc822_skip_cfws(&lx);
	buf_reset(&ctx->token);
	/* Dovecot keeps it only when it is a lone token. */
	if (rfc822_parse_mime_token(&lx, &ctx->token) && lx.p == lx.end)
		ctx->node->content.encoding = keep(ctx, buf_str(&ctx->token));
}

/* parse_language reads the comma-separated Content-Language tags. */
static void parse_language(struct header_ctx *ctx, struct str value)
{
	struct mime_content *c = &ctx->node->content;
	struct str tags[MIME_MAX_LANGUAGES];
	struct rfc822_lexer lx;
	unsigned n = 0;

	rfc822_lexer_init(&lx, value);
	rfc822_skip_cfws(&lx);
	while (n < MIME_MAX_LANGUAGES) {
		buf_reset(&ctx->token);
		if (!rfc822_parse_atom(&lx, &ctx->token))
			break;
		tags[n++] = keep(ctx, buf_str(&ctx->token));
		if (!rfc822_at(&lx, ','))
			break;
		lx.p++;
		rfc822_skip_cfws(&lx);
	}
	if (n == 0)
		return;
	c->languages = pool_alloc(ctx->pool, n * sizeof(*tags));
	if (c->languages == NULL) {
		ctx->failed = true;
		return;
	}
	memcpy(c->languages, tags, n * sizeof(*tags));
	c->language_count = n;
}

/* content_field handles one Content-* or MIME-Version field. */
static void content_field(struct header_ctx *ctx, struct str name, struct str value)
{
	struct mime_content *c = &ctx->node->content;

	if (str_case_eq(name, STR("MIME-Version")))
		c->seen_mime_version = true;
	else if (str_case_eq(name, STR("Content-Type")) && !c->seen_content_type)
		parse_content_type(ctx, value);
	else if (str_case_eq(name, STR("Content-Transfer-Encoding")) && c->encoding.ptr == NULL)
		parse_encoding(ctx, value);
	else if (str_case_eq(name, STR("Content-ID")) && c->id.ptr == NULL)
		c->id = keep(ctx, value);
	else if (str_case_eq(name, STR("Content-Description")) && c->description.ptr == NULL)
		c->description = keep(ctx, value);
	else if (str_case_eq(name, STR("Content-MD5")) && c->md5.ptr == NULL)
		c->md5 = keep(ctx, value);
	else if (str_case_eq(name, STR("Content-Location")) && c->location.ptr == NULL)
		c->location = keep(ctx, value);
	else if (str_case_eq(name, STR("Content-Disposition")) && c->disposition.ptr == NULL)
		parse_disposition(ctx, value);
	else if (str_case_eq(name, STR("Content-Language")) && c->languages == NULL)
		parse_language(ctx, value);
}

/* envelope_field handles one field of a message's envelope. */
static void envelope_field(struct header_ctx *ctx, struct str name, struct str value)
{
	static const char *const lists[MIME_ENVELOPE_LIST_COUNT] = {
		[MIME_ENVELOPE_FROM] = "From", [MIME_ENVELOPE_SENDER] = "Sender",
		[MIME_ENVELOPE_REPLY_TO] = "Reply-To", [MIME_ENVELOPE_TO] = "To",
		[MIME_ENVELOPE_CC] = "Cc", [MIME_ENVELOPE_BCC] = "Bcc",
	};
	struct mime_envelope *env = ctx->node->envelope;

	if (str_case_eq(name, STR("Date")))
		env->date = keep(ctx, value);
	else if (str_case_eq(name, STR("Subject")))
		env->subject = keep(ctx, value);
	else if (str_case_eq(name, STR("Message-ID")))
		env->message_id = keep(ctx, value);
	else if (str_case_eq(name, STR("In-Reply-To")))
		env->in_reply_to = keep(ctx, value);
	else if (str_case_eq(name, STR("References")))
		ctx->node->references = keep(ctx, value);
	else {
		for (int i = 0; i < MIME_ENVELOPE_LIST_COUNT; i++) {
			if (!str_case_eq(name, str_c(lists[i])))
				continue;
			if (address_list_parse(ctx->pool, value, &env->head[i], &env->tail[i],
					       ctx->address_budget) < 0)
				ctx->failed = true;
			return;
		}
	}
}

/* field handles one whole field (first line and continuations). */
static void field(struct header_ctx *ctx, struct str raw)
{
	long colon = str_chr(raw, ':');

	if (colon <= 0)
		return; /* no name: not a field, ignored as Dovecot does */
	struct str name = str_from(raw.ptr, (size_t)colon);
	while (name.len > 0 && (name.ptr[name.len - 1] == ' ' || name.ptr[name.len - 1] == '\t'))
		name.len--;
	bool is_content = str_case_prefix(name, STR("Content-")) ||
			  str_case_eq(name, STR("MIME-Version"));
	bool is_envelope = ctx->node->envelope != NULL;
	if (!is_content && !is_envelope)
		return;
	if (unfold(&ctx->value, str_sub(raw, (size_t)colon + 1, SIZE_MAX)) < 0) {
		ctx->failed = true;
		return;
	}
	struct str value = buf_str(&ctx->value);
	if (is_content)
		content_field(ctx, name, value);
	else
		envelope_field(ctx, name, value);
}

int mime_header_parse(struct pool *pool, struct mime_node *node, struct str block,
		      unsigned *address_budget)
{
	struct header_ctx ctx = { .pool = pool, .node = node, .address_budget = address_budget };
	size_t start = 0;

	/* A value grows by at most 3 bytes per NUL (U+FFFD): 3x the block. */
	buf_init(&ctx.value, block.len * 3 + 16);
	buf_init(&ctx.token, block.len * 3 + 16);
	while (start < block.len && !ctx.failed) {
		/* A field ends before a line that does not begin with WSP. */
		size_t end = start;
		for (;;) {
			const char *lf = memchr(block.ptr + end, '\n', block.len - end);
			end = lf == NULL ? block.len : (size_t)(lf - block.ptr) + 1;
			if (end >= block.len || (block.ptr[end] != ' ' && block.ptr[end] != '\t'))
				break;
		}
		struct str raw = str_from(block.ptr + start, end - start);
		while (raw.len > 0 && (raw.ptr[raw.len - 1] == '\n' || raw.ptr[raw.len - 1] == '\r'))
			raw.len--;
		field(&ctx, raw);
		start = end;
	}
	buf_free(&ctx.value);
	buf_free(&ctx.token);
	return ctx.failed ? -1 : 0;
}
