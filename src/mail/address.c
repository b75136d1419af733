/* address: RFC 5322 address lists for ENVELOPE (see address.h). */
#include "address.h"

#include "rfc2047.h"
#include "rfc822.h"

struct address_ctx {
	struct pool *pool;
	struct rfc822_lexer lx;
	struct buf word;    /* scratch for the token being read */
	struct buf comment; /* last comment, a display name for "a@b (Name)" */
	struct address **head, **tail;
	unsigned *budget;
	bool failed;
};

/* copy returns a pool copy of the scratch word, or fails the context. */
static struct str copy(struct address_ctx *ctx, struct str s)
{
	struct str c = pool_str(ctx->pool, s);
	if (c.ptr == NULL)
		ctx->failed = true;
	return c;
}

/* add appends one entry (members may be STR_NULL). */
static void add(struct address_ctx *ctx, struct str name, struct str route,
		struct str mailbox, struct str domain)
{
	if (*ctx->budget == 0 || ctx->failed)
		return;
	struct address *a = pool_alloc(ctx->pool, sizeof(*a));
	if (a == NULL) {
		ctx->failed = true;
		return;
	}
	(*ctx->budget)--;
	a->name = name;
	a->route = route;
	a->mailbox = mailbox;
	a->domain = domain;
	if (*ctx->tail != NULL)
		(*ctx->tail)->next = a;
	else
		*ctx->head = a;
	*ctx->tail = a;
}

/* add_mailbox adds a mailbox, filling what is missing as Dovecot does. */
static void add_mailbox(struct address_ctx *ctx, struct str name, struct str route,
			struct str mailbox, struct str domain)
{
	if (mailbox.ptr == NULL)
		mailbox = STR("MISSING_MAILBOX");
	if (domain.ptr == NULL || domain.len == 0)
		domain = STR("MISSING_DOMAIN");
	add(ctx, name, route, mailbox, domain);
}

/* read_local_part reads a quoted string or dot-atom into a pool copy. */
static struct str read_local_part(struct address_ctx *ctx)
{
	buf_reset(&ctx->word);
	bool ok = rfc822_at(&ctx->lx, '"') ? rfc822_parse_quoted_string(&ctx->lx, &ctx->word)
					   : rfc822_parse_dot_atom(&ctx->lx, &ctx->word);
	return ok ? copy(ctx, buf_str(&ctx->word)) : STR_NULL;
}

/* read_domain reads a domain (dot-atom or literal) into a pool copy. */
static struct str read_domain(struct address_ctx *ctx)
{
	buf_reset(&ctx->word);
	return rfc822_parse_domain(&ctx->lx, &ctx->word) ? copy(ctx, buf_str(&ctx->word))
							 : STR_NULL;
}

/* parse_angle_addr reads "<[@route:]local@domain>" after the phrase. */
static void parse_angle_addr(struct address_ctx *ctx, struct str name)
{
	struct rfc822_lexer *lx = &ctx->lx;
	struct str mailbox = STR_NULL, domain = STR_NULL, route = STR_NULL;

	lx->p++; /* '<' */
	rfc822_skip_cfws(lx);
	if (rfc822_at(lx, '@')) {
		/* obs-route "@a,@b:" (RFC 5322 section 4.4), shown as Dovecot does */
		buf_reset(&ctx->word);
		while (rfc822_at(lx, '@')) {
			if (ctx->word.len > 0)
				buf_putc(&ctx->word, ',');
			buf_putc(&ctx->word, '@');
			lx->p++;
			rfc822_skip_cfws(lx);
			rfc822_parse_domain(lx, &ctx->word);
			while (rfc822_at(lx, ',')) {
				lx->p++;
				rfc822_skip_cfws(lx);
			}
		}
		if (rfc822_at(lx, ':')) {
			lx->p++;
			route = copy(ctx, buf_str(&ctx->word));
		} else {
			route = STR("INVALID_ROUTE");
		}
		rfc822_skip_cfws(lx);
	}
	if (!rfc822_at(lx, '>')) {
		mailbox = read_local_part(ctx);
		if (rfc822_at(lx, '@')) {
			lx->p++;
			rfc822_skip_cfws(lx);
			domain = read_domain(ctx);
		}
	}
	/* Skip whatever else is inside the brackets. */
	while (lx->p < lx->end && *lx->p != '>' && *lx->p != ',')
		lx->p++;
	if (rfc822_at(lx, '>'))
		lx->p++;
	rfc822_skip_cfws(lx);
	add_mailbox(ctx, name, route, mailbox, domain);
}

/* parse_mailbox reads name-addr or addr-spec (RFC 5322 section 3.4). */
static void parse_mailbox(struct address_ctx *ctx)
{
	struct rfc822_lexer *lx = &ctx->lx;
	const char *start = lx->p;

	buf_reset(&ctx->word);
	rfc822_parse_phrase(lx, &ctx->word);
	if (rfc822_at(lx, '<')) {
		struct str name = ctx->word.len > 0 ? copy(ctx, buf_str(&ctx->word)) : STR_NULL;
		parse_angle_addr(ctx, name);
		return;
	}

	/* addr-spec, with a trailing comment as display name */
	lx->p = start;
	buf_reset(&ctx->comment);
	lx->last_comment = &ctx->comment;
	struct str mailbox = read_local_part(ctx), domain = STR_NULL, name = STR_NULL;
	bool has_at = rfc822_at(lx, '@');
	if (has_at) {
		lx->p++;
		rfc822_skip_cfws(lx);
		domain = read_domain(ctx);
	}
	lx->last_comment = NULL;
	if (ctx->comment.len > 0)
		name = copy(ctx, buf_str(&ctx->comment));
	if (!has_at && mailbox.ptr != NULL && name.ptr == NULL) {
		/* "user" alone is a mailbox; "Some Name" is a display name */
		buf_reset(&ctx->word);
		buf_append_str(&ctx->word, mailbox);
		buf_putc(&ctx->word, ' ');
		size_t before = ctx->word.len;
		if (rfc822_parse_phrase(lx, &ctx->word) && ctx->word.len > before) {
			name = copy(ctx, buf_str(&ctx->word));
			mailbox = STR_NULL;
		}
	}
	if (mailbox.ptr == NULL && domain.ptr == NULL && name.ptr == NULL && lx->p == start)
		return; /* nothing here; the caller skips the garbage */
	add_mailbox(ctx, name, STR_NULL, mailbox, domain);
}

/* parse_address reads a group or a mailbox. */
static void parse_address(struct address_ctx *ctx)
{
	struct rfc822_lexer *lx = &ctx->lx;
	const char *start = lx->p;

	buf_reset(&ctx->word);
	if (rfc822_parse_phrase(lx, &ctx->word) && rfc822_at(lx, ':')) {
		struct str group = copy(ctx, buf_str(&ctx->word));
		lx->p++;
		rfc822_skip_cfws(lx);
		add(ctx, STR_NULL, STR_NULL, group, STR_NULL);
		while (lx->p < lx->end && !rfc822_at(lx, ';') && !ctx->failed) {
			const char *before = lx->p;
			if (rfc822_at(lx, ','))
				lx->p++;
			else
				parse_mailbox(ctx);
			if (lx->p == before)
				lx->p++; /* garbage: make progress */
			rfc822_skip_cfws(lx);
		}
		if (rfc822_at(lx, ';'))
			lx->p++;
		rfc822_skip_cfws(lx);
		add(ctx, STR_NULL, STR_NULL, STR_NULL, STR_NULL);
		return;
	}
	lx->p = start;
	parse_mailbox(ctx);
}

int address_list_parse(struct pool *pool, struct str value, struct address **head,
		       struct address **tail, unsigned *budget)
{
	struct address_ctx ctx = { .pool = pool, .head = head, .tail = tail, .budget = budget };

	rfc822_lexer_init(&ctx.lx, value);
	/* Scratch holds one token of value (phrases add single spaces). */
	buf_init(&ctx.word, value.len * 2 + 16);
	buf_init(&ctx.comment, value.len + 16);
	rfc822_skip_cfws(&ctx.lx);
	while (ctx.lx.p < ctx.lx.end && !ctx.failed && *budget > 0) {
		const char *before = ctx.lx.p;
		if (!rfc822_at(&ctx.lx, ','))
			parse_address(&ctx);
		/* Skip to the next address past anything unparsable. */
		while (ctx.lx.p < ctx.lx.end && *ctx.lx.p != ',' && ctx.lx.p == before)
			ctx.lx.p++;
		if (rfc822_at(&ctx.lx, ','))
			ctx.lx.p++;
		rfc822_skip_cfws(&ctx.lx);
	}
	bool failed = ctx.failed || ctx.lx.failed;
	buf_free(&ctx.word);
	buf_free(&ctx.comment);
	return failed ? -1 : 0;
}

int address_list_append_display(struct buf *out, const struct address *list)
{
	bool need_sep = false;
	int ret = 0;

	for (const struct address *a = list; a != NULL && ret == 0; a = a->next) {
		if (a->domain.ptr == NULL && a->mailbox.ptr == NULL) {
			ret = buf_putc(out, ';'); /* group end */
			need_sep = true;
			continue;
		}
		if (need_sep)
			ret |= buf_append_str(out, STR(", "));
		if (a->domain.ptr == NULL) {
			ret |= rfc2047_decode(out, a->mailbox);
			ret |= buf_append_str(out, STR(": "));
			need_sep = false;
			continue;
		}
		if (a->name.ptr != NULL) {
			ret |= rfc2047_decode(out, a->name);
			ret |= buf_append_str(out, STR(" <"));
		}
		ret |= buf_append_str(out, a->mailbox);
		ret |= buf_putc(out, '@');
		ret |= buf_append_str(out, a->domain);
		if (a->name.ptr != NULL)
			ret |= buf_putc(out, '>');
		need_sep = true;
	}
	return ret < 0 ? -1 : 0;
}
