/*
 * smtp-reply: remote SMTP replies (see smtp-reply.h).
 *
 * Each line is checked as it is taken off the input: code, separator,
 * octets of the text; the texts of one reply are gathered in one buffer
 * bounded by the line and line-count limits, so what a server can make
 * the relay hold is at most RELAY_MAX_REPLY_LINES * RELAY_MAX_REPLY_LINE.
 */
#include "smtp-reply.h"

#include <assert.h>
#include <string.h>

/* The text buffer's bound: every line of the longest reply. */
#define REPLY_MAX_TEXT ((size_t)RELAY_MAX_REPLY_LINES * RELAY_MAX_REPLY_LINE)

void smtp_reply_parser_init(struct smtp_reply_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->text, REPLY_MAX_TEXT);
}

void smtp_reply_parser_free(struct smtp_reply_parser *p)
{
	buf_free(&p->text);
	p->line_count = 0;
}

/* parse_code reads the three digits at the start of line: 200..599, or 0. */
static unsigned parse_code(struct str line)
{
	if (line.len < 3)
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (line.ptr[i] < '0' || line.ptr[i] > '9')
			return 0;
	unsigned code = (unsigned)(line.ptr[0] - '0') * 100 + (unsigned)(line.ptr[1] - '0') * 10 +
			(unsigned)(line.ptr[2] - '0');
	return code >= 200 && code <= 599 ? code : 0;
}

/* text_ok is true if text holds no control octet but HTAB (a NUL or a CR
 * inside a line is not a server talking, and would end up in logs). */
static bool text_ok(struct str text)
{
	for (size_t i = 0; i < text.len; i++) {
		unsigned char c = (unsigned char)text.ptr[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* parse_number reads 1 to 3 digits at *pos of s. */
static bool parse_number(struct str s, size_t *pos, unsigned *out)
{
	size_t start = *pos;
	unsigned v = 0;
	while (*pos < s.len && *pos - start < 3 && s.ptr[*pos] >= '0' && s.ptr[*pos] <= '9')
		v = v * 10 + (unsigned)(s.ptr[(*pos)++] - '0');
	*out = v;
	return *pos > start;
}

/* parse_enhanced reads an RFC 3463 code "c.sss.ddd" followed by a space or
 * the end from the start of text, whose class must be the reply's. */
static void parse_enhanced(struct smtp_reply *r)
{
	struct str t = r->lines[0];
	size_t pos = 0;
	unsigned v[3];

	r->has_enhanced = false;
	for (size_t i = 0; i < 3; i++) {
		if (i > 0 && (pos >= t.len || t.ptr[pos++] != '.'))
			return;
		if (!parse_number(t, &pos, &v[i]))
			return;
	}
	if (pos < t.len && t.ptr[pos] != ' ')
		return;
	/* RFC 3463 2: the class is 2, 4 or 5, and says what the code says. */
	if (v[0] != r->code / 100 || (v[0] != 2 && v[0] != 4 && v[0] != 5))
		return;
	memcpy(r->enhanced, v, sizeof(v));
	r->has_enhanced = true;
}

/* finish fills r from the lines gathered and makes the parser fresh. */
static void finish(struct smtp_reply_parser *p, struct smtp_reply *r)
{
	r->code = p->code;
	r->line_count = p->line_count;
	for (size_t i = 0; i < p->line_count; i++) {
		size_t end = i + 1 < p->line_count ? p->starts[i + 1] : p->text.len;
		r->lines[i] = str_from(p->text.data + p->starts[i], end - p->starts[i]);
	}
	parse_enhanced(r);
	p->line_count = 0;
	p->code = 0;
}

int smtp_reply_parse(struct smtp_reply_parser *p, struct buf *in, struct smtp_reply *r,
		     const char **error_r)
{
	if (p->line_count == 0)
		buf_reset(&p->text);
	for (;;) {
		const char *nl = memchr(in->data, '\n', in->len);
		if (nl == NULL) {
			if (in->len >= RELAY_MAX_REPLY_LINE) {
				*error_r = "reply line too long";
				return -1;
			}
			return 0;
		}
		size_t take = (size_t)(nl - in->data) + 1;
		struct str line = str_from(in->data, take - 1);
		if (line.len > 0 && line.ptr[line.len - 1] == '\r')
			line.len--;
		if (take > RELAY_MAX_REPLY_LINE) {
			*error_r = "reply line too long";
			return -1;
		}
		unsigned code = parse_code(line);
		if (code == 0) {
			*error_r = "reply code is not three digits from 200 to 599";
			return -1;
		}
		if (p->line_count > 0 && code != p->code) {
			*error_r = "reply lines with different codes";
			return -1;
		}
		bool last = line.len == 3 || line.ptr[3] == ' ';
		if (!last && line.ptr[3] != '-') {
			*error_r = "reply code not followed by a space or '-'";
			return -1;
		}
		struct str text = line.len > 4 ? str_sub(line, 4, line.len - 4) : STR("");
		if (!text_ok(text)) {
			*error_r = "control characters in a reply";
			return -1;
		}
		if (p->line_count == RELAY_MAX_REPLY_LINES) {
			*error_r = "too many lines in one reply";
			return -1;
		}
		p->starts[p->line_count++] = p->text.len;
		p->code = code;
		/* Cannot fail: lines * line length is the buffer's bound. */
		if (buf_append_str(&p->text, text) < 0)
			assert(!"reply text over its bound");
		buf_consume(in, take);
		if (last) {
			finish(p, r);
			return 1;
		}
	}
}

void smtp_reply_answer(const struct smtp_reply *r, struct buf *out)
{
	size_t start = out->len;
	if (buf_printf(out, "%u", r->code) < 0)
		return;
	for (size_t i = 0; i < r->line_count; i++) {
		struct str t = r->lines[i];
		if (out->len - start >= RELAY_MAX_ANSWER || buf_putc(out, ' ') < 0)
			return;
		for (size_t j = 0; j < t.len; j++) {
			if (out->len - start >= RELAY_MAX_ANSWER)
				return;
			unsigned char c = (unsigned char)t.ptr[j];
			if (buf_putc(out, c >= 0x20 && c < 0x7f ? (char)c : '?') < 0)
				return;
		}
	}
}
