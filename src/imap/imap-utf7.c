/* imap-utf7: modified UTF-7 mailbox names (see imap-utf7.h). */
#include "imap-utf7.h"

#include <stdbool.h>
#include <stdint.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(char c)
{
	for (int i = 0; i < 64; i++)
		if (b64[i] == c)
			return i;
	return -1;
}

/* utf8_next decodes one code point at *i; -1 when invalid. */
static int32_t utf8_next(struct str s, size_t *i)
{
	unsigned char c = (unsigned char)s.ptr[*i];
	int n = c < 0x80 ? 0 : c >= 0xf0 && c < 0xf5 ? 3 : c >= 0xe0 && c < 0xf0 ? 2 :
		c >= 0xc2 && c < 0xe0 ? 1 : -1;
	if (n < 0 || (c >= 0x80 && c < 0xc2))
		return -1;
	int32_t cp = n == 0 ? c : c & (0x3f >> n);
	if (*i + (size_t)n >= s.len)
		return -1;
	for (int k = 1; k <= n; k++) {
		unsigned char d = (unsigned char)s.ptr[*i + (size_t)k];
		if ((d & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (d & 0x3f);
	}
	static const int32_t min[] = { 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
		return -1;
	*i += (size_t)n + 1;
	return cp;
}

static int utf8_put(struct buf *out, uint32_t cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(out, b, n);
}

/* decode_run turns the base64 between "&" and "-" into UTF-8. */
static int decode_run(struct str run, struct buf *out)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0;

	if (run.len == 0)
		return -1;
	for (size_t i = 0; i < run.len; i++) {
		int v = b64_value(run.ptr[i]);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return -1;
			if (utf8_put(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00)) < 0)
				return -1;
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if ((unit >= 0xdc00 && unit <= 0xdfff) || (unit >= 0x20 && unit <= 0x7e) ||
			   unit == 0) {
			/* A lone low surrogate; printable ASCII represents
			 * itself (RFC 3501 5.1.3); no name holds U+0000.
			 * Control characters are encoded, as the encoder does. */
			return -1;
		} else if (utf8_put(out, unit) < 0) {
			return -1;
		}
	}
	/* Leftover bits must be zero padding, fewer than 6. */
	if (high != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
		return -1;
	return 0;
}

int imap_utf7_decode(struct str in, struct buf *out)
{
	for (size_t i = 0; i < in.len;) {
		unsigned char c = (unsigned char)in.ptr[i];
		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c != '&') {
			if (buf_putc(out, (char)c) < 0)
				return -1;
			i++;
			continue;
		}
		size_t end = i + 1;
		while (end < in.len && in.ptr[end] != '-')
			end++;
		if (end == in.len)
			return -1;
		if (end == i + 1) {
			if (buf_putc(out, '&') < 0)
				return -1;
		} else if (decode_run(str_from(in.ptr + i + 1, end - i - 1), out) < 0) {
			return -1;
		}
		i = end + 1;
	}
	return 0;
}

static int encode_unit(struct buf *out, uint32_t unit, uint32_t *bits, int *nbits)
{
	*bits = (*bits << 16) | unit;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		if (buf_putc(out, b64[(*bits >> *nbits) & 0x3f]) < 0)
			return -1;
	}
	return 0;
}

int imap_utf7_encode(struct str in, struct buf *out)
{
	bool open = false;
	uint32_t bits = 0;
	int nbits = 0;

	for (size_t i = 0; i < in.len;) {
		unsigned char c = (unsigned char)in.ptr[i];
		if (c >= 0x20 && c <= 0x7e) {
			if (open) {
				if (nbits > 0 && buf_putc(out, b64[(bits << (6 - nbits)) & 0x3f]) < 0)
					return -1;
				if (buf_putc(out, '-') < 0)
					return -1;
				open = false;
				bits = 0;
				nbits = 0;
			}
			if (buf_append(out, c == '&' ? "&-" : (const char *)&in.ptr[i], c == '&' ? 2 : 1) < 0)
				return -1;
			i++;
			continue;
		}
		int32_t cp = utf8_next(in, &i);
		if (cp <= 0) /* invalid, or U+0000, which no name holds */
			return -1;
		if (!open) {
			if (buf_putc(out, '&') < 0)
				return -1;
			open = true;
		}
		if (cp >= 0x10000) {
			uint32_t v = (uint32_t)cp - 0x10000;
			if (encode_unit(out, 0xd800 + (v >> 10), &bits, &nbits) < 0 ||
			    encode_unit(out, 0xdc00 + (v & 0x3ff), &bits, &nbits) < 0)
				return -1;
		} else if (encode_unit(out, (uint32_t)cp, &bits, &nbits) < 0) {
			return -1;
		}
	}
	if (open) {
		if (nbits > 0 && buf_putc(out, b64[(bits << (6 - nbits)) & 0x3f]) < 0)
			return -1;
		if (buf_putc(out, '-') < 0)
			return -1;
	}
	return 0;
}
