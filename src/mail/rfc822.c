/* rfc822: lexer for structured header values (see rfc822.h). */
#include "rfc822.h"

#include <string.h>

void rfc822_lexer_init(struct rfc822_lexer *lx, struct str value)
{
	lx->p = value.len > 0 ? value.ptr : "";
	lx->end = lx->p + value.len;
	lx->last_comment = NULL;
	lx->failed = false;
}

/* put appends n bytes to out, remembering a failure in the lexer. */
static void put(struct rfc822_lexer *lx, struct buf *out, const char *p, size_t n)
{
	if (buf_append(out, p, n) < 0)
		lx->failed = true;
}

bool rfc822_at(const struct rfc822_lexer *lx, char c)
{
	return lx->p < lx->end && *lx->p == c;
}

bool rfc822_is_atext(unsigned char c)
{
	return c >= 0x80 || str_is_atext(c);
}

/* is_mime_token_char says whether c may appear in an RFC 2045 token. */
static bool is_mime_token_char(unsigned char c)
{
	if (c <= ' ' || c == 0x7f)
		return false;
	if (c >= 0x80)
		return true;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* skip_comment consumes a comment starting at '(' (nested, with quoted
 * pairs); its text goes to lx->last_comment when one is set. */
static void skip_comment(struct rfc822_lexer *lx)
{
	unsigned level = 0;

	if (lx->last_comment != NULL)
		buf_reset(lx->last_comment);
	for (; lx->p < lx->end; lx->p++) {
		char c = *lx->p;
		if (c == '\\' && lx->p + 1 < lx->end) {
			lx->p++;
			c = *lx->p;
		} else if (c == '(') {
			if (level++ == 0)
				continue;
		} else if (c == ')') {
			if (--level == 0) {
				lx->p++;
				return;
			}
		} else if (c == '\r' || c == '\n') {
			continue;
		}
		if (lx->last_comment != NULL)
			put(lx, lx->last_comment, &c, 1);
	}
}

bool rfc822_skip_cfws(struct rfc822_lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			lx->p++;
		else if (c == '(')
			skip_comment(lx);
		else
			break;
	}
	return lx->p < lx->end;
}

/* parse_run takes the longest run of bytes in_run accepts (false if it is
 * empty) and the CFWS after it. */
static bool parse_run(struct rfc822_lexer *lx, struct buf *out, bool (*in_run)(unsigned char))
{
	const char *start = lx->p;

	while (lx->p < lx->end && in_run((unsigned char)*lx->p))
		lx->p++;
	if (lx->p == start)
		return false;
	put(lx, out, start, (size_t)(lx->p - start));
	rfc822_skip_cfws(lx);
	return true;
}

bool rfc822_parse_atom(struct rfc822_lexer *lx, struct buf *out)
{
	return parse_run(lx, out, rfc822_is_atext);
}

bool rfc822_parse_dot_atom(struct rfc822_lexer *lx, struct buf *out)
{
	bool any = false;

	/* Lenient: leading, trailing and doubled dots are kept as written. */
	for (;;) {
		if (rfc822_parse_atom(lx, out))
			any = true;
		if (!rfc822_at(lx, '.'))
			return any;
		put(lx, out, ".", 1);
		lx->p++;
		any = true;
		rfc822_skip_cfws(lx);
	}
}

bool rfc822_parse_quoted_string(struct rfc822_lexer *lx, struct buf *out)
{
	if (!rfc822_at(lx, '"'))
		return false;
	lx->p++;
	while (lx->p < lx->end) {
		char c = *lx->p++;
		if (c == '"') {
			rfc822_skip_cfws(lx);
			return true;
		}
		if (c == '\\' && lx->p < lx->end)
			c = *lx->p++;
		else if (c == '\r' || c == '\n')
			continue; /* folding inside the string */
		put(lx, out, &c, 1);
	}
	return true; /* unterminated: take what there is */
}

bool rfc822_parse_mime_token(struct rfc822_lexer *lx, struct buf *out)
{
	return parse_run(lx, out, is_mime_token_char);
}

bool rfc822_parse_domain(struct rfc822_lexer *lx, struct buf *out)
{
	if (!rfc822_at(lx, '['))
		return rfc822_parse_dot_atom(lx, out);
	const char *start = lx->p;
	while (lx->p < lx->end && *lx->p != ']') {
		if (*lx->p == '\\' && lx->p + 1 < lx->end)
			lx->p++;
		lx->p++;
	}
	if (lx->p < lx->end)
		lx->p++;
	put(lx, out, start, (size_t)(lx->p - start));
	rfc822_skip_cfws(lx);
	return true;
}

bool rfc822_parse_phrase(struct rfc822_lexer *lx, struct buf *out)
{
	bool any = false;

	for (;;) {
		size_t before = out->len;
		if (any)
			put(lx, out, " ", 1);
		bool ok;
		if (rfc822_at(lx, '"')) {
			ok = rfc822_parse_quoted_string(lx, out);
		} else {
			/* obs-phrase allows dots in words ("John Q. Public") */
			const char *start = lx->p;
			while (lx->p < lx->end &&
			       (rfc822_is_atext((unsigned char)*lx->p) || *lx->p == '.'))
				lx->p++;
			ok = lx->p > start;
			if (ok) {
				put(lx, out, start, (size_t)(lx->p - start));
				rfc822_skip_cfws(lx);
			}
		}
		if (!ok) {
			out->len = before;
			if (out->data != NULL)
				out->data[out->len] = '\0';
			return any;
		}
		any = true;
	}
}
