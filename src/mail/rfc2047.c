/* rfc2047: encoded-word decoding (see rfc2047.h). */
#include "rfc2047.h"

#include <stdbool.h>

#include "charset.h"
#include "mail-decode.h"

struct encoded_word {
	struct str charset;
	char encoding; /* 'B' or 'Q' */
	struct str text;
	size_t end; /* index just past "?=" */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* parse_word recognises an encoded word starting at in[i] ("=?").  Returns
 * true and fills w, or false when the text there is not one; then *resume
 * is where the next word can begin at the earliest.  An encoded text that
 * runs into whitespace or the end fails for every word starting before
 * that point too, so skipping there keeps decoding linear. */
static bool parse_word(struct str in, size_t i, struct encoded_word *w, size_t *resume)
{
	*resume = i + 1;
	size_t p = i + 2, cs = p;

	while (p < in.len && in.ptr[p] != '?' && !is_space(in.ptr[p]))
		p++;
	if (p == cs || p + 2 >= in.len || in.ptr[p] != '?' || in.ptr[p + 2] != '?')
		return false;
	w->charset = str_from(in.ptr + cs, p - cs);
	char enc = in.ptr[p + 1];
	if (enc == 'b' || enc == 'B')
		w->encoding = 'B';
	else if (enc == 'q' || enc == 'Q')
		w->encoding = 'Q';
	else
		return false;
	p += 3;
	size_t text = p;
	while (p + 1 < in.len && !(in.ptr[p] == '?' && in.ptr[p + 1] == '=')) {
		if (is_space(in.ptr[p])) {
			*resume = p;
			return false;
		}
		p++;
	}
	if (p + 1 >= in.len) {
		*resume = in.len;
		return false;
	}
	w->text = str_from(in.ptr + text, p - text);
	w->end = p + 2;
	return true;
}

/* decode_q appends the bytes of Q-encoded text (RFC 2047 section 4.2). */
static int decode_q(struct buf *out, struct str t)
{
	for (size_t i = 0; i < t.len; i++) {
		char c = t.ptr[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < t.len && str_hex_digit(t.ptr[i + 1]) >= 0 &&
			   str_hex_digit(t.ptr[i + 2]) >= 0) {
			c = (char)(str_hex_digit(t.ptr[i + 1]) * 16 + str_hex_digit(t.ptr[i + 2]));
			i += 2;
		}
		if (buf_putc(out, c) < 0)
			return -1;
	}
	return 0;
}

/* decode_b appends the bytes of base64 text; padding and stray characters
 * are skipped, a trailing partial group is dropped. */
static int decode_b(struct buf *out, struct str t)
{
	unsigned acc = 0, bits = 0;

	for (size_t i = 0; i < t.len; i++) {
		int v = mail_decode_base64_value((unsigned char)t.ptr[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_putc(out, (char)((acc >> bits) & 0xff)) < 0)
				return -1;
		}
	}
	return 0;
}

/* flush converts the pending bytes of one charset and empties them. */
static int flush(struct buf *out, struct str charset, struct buf *pending)
{
	int ret = charset_to_utf8(out, charset, buf_str(pending));
	buf_reset(pending);
	return ret;
}

int rfc2047_decode(struct buf *out, struct str in)
{
	struct buf pending;
	struct str pending_charset = STR_NULL;
	size_t lit_start = 0, i = 0;
	bool last_was_word = false;
	int ret = 0;

	if (in.len == 0)
		return 0;
	/* Decoded bytes are never more than the encoded text. */
	buf_init(&pending, in.len);
	while (i + 1 < in.len && ret == 0) {
		struct encoded_word w;
		size_t resume;
		if (in.ptr[i] != '=' || in.ptr[i + 1] != '?') {
			i++;
			continue;
		}
		if (!parse_word(in, i, &w, &resume)) {
			i = resume;
			continue;
		}
		struct str gap = str_from(in.ptr + lit_start, i - lit_start);
		bool gap_blank = true;
		for (size_t k = 0; k < gap.len; k++)
			if (!is_space(gap.ptr[k]))
				gap_blank = false;
		if (!last_was_word || !gap_blank ||
		    !str_case_eq(pending_charset, w.charset)) {
			if (flush(out, pending_charset, &pending) < 0)
				ret = -1;
			if (!(last_was_word && gap_blank) && buf_append_str(out, gap) < 0)
				ret = -1;
		}
		pending_charset = w.charset;
		if (ret == 0)
			ret = w.encoding == 'B' ? decode_b(&pending, w.text) :
						  decode_q(&pending, w.text);
		i = lit_start = w.end;
		last_was_word = true;
	}
	if (ret == 0 && flush(out, pending_charset, &pending) < 0)
		ret = -1;
	if (ret == 0 && buf_append(out, in.ptr + lit_start, in.len - lit_start) < 0)
		ret = -1;
	buf_free(&pending);
	return ret;
}
