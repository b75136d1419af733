/* mail-decode: transfer decoding and single header fields (see mail-decode.h). */
#include "mail-decode.h"

#include <assert.h>
#include <string.h>

#include "rfc822.h"

/* The longest known encoding name is "quoted-printable" (16); a longer
 * token is unknown whatever it says, so the scratch buffer stops there. */
#define MAIL_CTE_MAX_TOKEN 32

/* Decoded bytes are collected here and appended in runs, so a large part
 * costs one buf_append per run instead of one per byte. */
#define MAIL_DECODE_CHUNK 512

enum mail_cte mail_cte_parse(struct str value)
{
	static const struct {
		const char *name;
		enum mail_cte cte;
	} names[] = {
		{ "7bit", MAIL_CTE_7BIT },
		{ "8bit", MAIL_CTE_8BIT },
		{ "binary", MAIL_CTE_BINARY },
		{ "base64", MAIL_CTE_BASE64 },
		{ "quoted-printable", MAIL_CTE_QP },
	};
	struct rfc822_lexer lx;
	struct buf token;
	enum mail_cte cte = MAIL_CTE_UNKNOWN;

	rfc822_lexer_init(&lx, value);
	if (!rfc822_skip_cfws(&lx))
		return MAIL_CTE_7BIT;
	buf_init(&token, MAIL_CTE_MAX_TOKEN);
	/* As Dovecot: the first token counts, anything after it is ignored. */
	if (rfc822_parse_mime_token(&lx, &token) && !lx.failed) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (str_case_eq(buf_str(&token), str_c(names[i].name)))
				cte = names[i].cte;
	}
	buf_free(&token);
	return cte;
}

/* The output run of one decoding call. */
struct decode_out {
	struct buf *buf;
	char chunk[MAIL_DECODE_CHUNK];
	size_t used;
	bool failed;
};

static void out_flush(struct decode_out *o)
{
	if (o->used > 0 && !o->failed && buf_append(o->buf, o->chunk, o->used) < 0)
		o->failed = true;
	o->used = 0;
}

static void out_byte(struct decode_out *o, char c)
{
	if (o->used == sizeof(o->chunk))
		out_flush(o);
	o->chunk[o->used++] = c;
}

static void out_bytes(struct decode_out *o, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out_byte(o, p[i]);
}

int mail_decode_base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* decode_base64 undoes RFC 2045 6.8.  A final group of 2 or 3 characters
 * (padding missing or cut short) still gives its 1 or 2 bytes; a lone
 * sixth of a byte gives nothing. */
static void decode_base64(struct str in, struct decode_out *o)
{
	uint32_t group = 0;
	unsigned count = 0;

	for (size_t i = 0; i < in.len; i++) {
		unsigned char c = (unsigned char)in.ptr[i];
		if (c == '=')
			break;
		int v = mail_decode_base64_value(c);
		if (v < 0)
			continue;
		group = group << 6 | (uint32_t)v;
		if (++count == 4) {
			out_byte(o, (char)(group >> 16));
			out_byte(o, (char)(group >> 8));
			out_byte(o, (char)group);
			group = 0;
			count = 0;
		}
	}
	if (count == 2) {
		out_byte(o, (char)(group >> 4));
	} else if (count == 3) {
		out_byte(o, (char)(group >> 10));
		out_byte(o, (char)(group >> 2));
	}
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* line_break_at gives the length of the line break at in[i] (CRLF or LF),
 * or 0 when there is none. */
static size_t line_break_at(struct str in, size_t i)
{
	if (i < in.len && in.ptr[i] == '\n')
		return 1;
	if (i + 1 < in.len && in.ptr[i] == '\r' && in.ptr[i + 1] == '\n')
		return 2;
	return 0;
}

/* decode_qp undoes RFC 2045 6.7.  White space at the end of a line was
 * added in transport (rule 3) and goes.  The end of the input counts as a
 * line end: a part's body stops before the CRLF that belongs to the next
 * boundary, so a final "=" is a soft line break whose break we do not see. */
static void decode_qp(struct str in, struct decode_out *o)
{
	size_t i = 0;

	while (i < in.len) {
		char c = in.ptr[i];
		if (is_wsp(c)) {
			size_t end = i;
			while (end < in.len && is_wsp(in.ptr[end]))
				end++;
			if (end < in.len && line_break_at(in, end) == 0)
				out_bytes(o, in.ptr + i, end - i);
			i = end;
			continue;
		}
		if (c != '=') {
			out_byte(o, c);
			i++;
			continue;
		}
		int hi = i + 1 < in.len ? str_hex_digit(in.ptr[i + 1]) : -1;
		int lo = i + 2 < in.len ? str_hex_digit(in.ptr[i + 2]) : -1;
		if (hi >= 0 && lo >= 0) {
			out_byte(o, (char)(hi << 4 | lo));
			i += 3;
			continue;
		}
		/* A soft line break: "=", perhaps transport white space, then
		 * the line end (or the end of the input). */
		size_t end = i + 1;
		while (end < in.len && is_wsp(in.ptr[end]))
			end++;
		size_t lb = line_break_at(in, end);
		if (lb > 0 || end == in.len) {
			i = end + lb;
			continue;
		}
		/* Malformed: kept as it is, as readers do. */
		out_byte(o, c);
		i++;
	}
}

int mail_decode(enum mail_cte cte, struct str in, struct buf *out)
{
	struct decode_out o = { .buf = out, .used = 0, .failed = false };
	size_t start = out->len;

	switch (cte) {
	case MAIL_CTE_7BIT:
	case MAIL_CTE_8BIT:
	case MAIL_CTE_BINARY:
		return buf_append_str(out, in);
	case MAIL_CTE_BASE64:
		decode_base64(in, &o);
		break;
	case MAIL_CTE_QP:
		decode_qp(in, &o);
		break;
	case MAIL_CTE_UNKNOWN:
	default:
		return -1;
	}
	out_flush(&o);
	if (o.failed) {
		/* Half a decoded part is worse than none: leave out as it was,
		 * like buf_append does. */
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

/* field_name_at says whether the field whose first line (with its line
 * break) starts at header[line] and ends before next is called name;
 * obsolete white space before the colon (RFC 5322 4.5.3) is allowed.
 * *value_r is where the value starts. */
static bool field_name_at(struct str header, size_t line, size_t next, struct str name,
			  size_t *value_r)
{
	struct str first = str_from(header.ptr + line, next - line);
	long colon = str_chr(first, ':');
	if (colon < 0)
		return false;
	struct str field = str_from(first.ptr, (size_t)colon);
	while (field.len > 0 && is_wsp(field.ptr[field.len - 1]))
		field.len--;
	*value_r = line + (size_t)colon + 1;
	return str_case_eq(field, name);
}

/* line_end gives the index after the line break of the line holding i. */
static size_t line_end(struct str header, size_t i)
{
	long lf = str_chr(str_sub(header, i, SIZE_MAX), '\n');
	return lf < 0 ? header.len : i + (size_t)lf + 1;
}

bool mail_header_field(struct str header, const char *name, struct buf *out)
{
	struct str want = str_c(name);
	size_t line = 0;

	assert(name != NULL);
	while (line < header.len && line_break_at(header, line) == 0) {
		size_t next = line_end(header, line);
		size_t value;
		if (is_wsp(header.ptr[line]) || !field_name_at(header, line, next, want, &value)) {
			line = next;
			continue;
		}
		/* The field runs on over continuation lines. */
		size_t end = next;
		while (end < header.len && is_wsp(header.ptr[end]))
			end = line_end(header, end);
		struct decode_out o = { .buf = out, .used = 0, .failed = false };
		size_t start = out->len;
		struct str raw = str_trim(str_from(header.ptr + value, end - value));
		for (size_t i = 0; i < raw.len; i++) {
			size_t lb = line_break_at(raw, i);
			if (lb > 0)
				i += lb - 1;
			else
				out_byte(&o, raw.ptr[i]);
		}
		out_flush(&o);
		if (o.failed) {
			out->len = start;
			if (out->data != NULL)
				out->data[start] = '\0';
			return false;
		}
		return true;
	}
	return false;
}
