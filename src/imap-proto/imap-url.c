/*
 * imap-url: IMAP URLs of RFC 5092 relative to this server (see imap-url.h).
 * Shared (src/imap-proto): pure, no I/O.
 *
 * The mailbox runs from the first "/" to the first ";" (";" is not a bchar,
 * so it cannot be part of an encoded name); after it come ";UIDVALIDITY="
 * or the "/;KEY=value" fields, each value running to the next ";".
 */
#include "imap-url.h"

#include <string.h>

#include "imap-section.h"
#include "imap-syntax.h"
#include "lib/buf.h"

/* is_bchar: RFC 5092 bchar = achar / ":" / "@" / "/", with achar =
 * uchar / "&" / "=" and uchar = unreserved / sub-delims-sh (the
 * percent-encoded octets are handled by the caller). */
static bool is_bchar(unsigned char c)
{
	if (str_is_alpha(c) || imap_syntax_is_digit(c))
		return true;
	return strchr("-._~!$'()*+,&=:@/", c) != NULL && c != '\0';
}

/* decode percent-decodes text into a NUL-terminated string from pool;
 * NULL for a character that is not a bchar, a bad or NUL escape, or a
 * decoded control character. */
static const char *decode(struct pool *pool, struct str text)
{
	char *out = pool_alloc(pool, text.len + 1);
	size_t n = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < text.len; i++) {
		unsigned char c = (unsigned char)text.ptr[i];
		if (c == '%') {
			int octet = str_percent_octet(text, i);
			if (octet < 0)
				return NULL;
			c = (unsigned char)octet;
			if (c < 0x20 || c == 0x7f)
				return NULL;
			i += 2;
		} else if (!is_bchar(c)) {
			return NULL;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

/* number reads a decimal of at most max, 0 allowed only when zero_ok. */
static bool number(struct str text, uint64_t max, bool zero_ok, uint64_t *value_r)
{
	return str_to_u64(text, max, value_r) == 0 && (zero_ok || *value_r > 0);
}

/* take_key: rest starts with key (any case); it is consumed. */
static bool take_key(struct str *rest, const char *key)
{
	struct str k = str_c(key);
	if (!str_case_prefix(*rest, k))
		return false;
	*rest = str_sub(*rest, k.len, rest->len - k.len);
	return true;
}

/* value_end: where the value at the start of rest ends (the next ";",
 * less the "/" in front of it, or the end). */
static size_t value_end(struct str rest)
{
	long semi = str_chr(rest, ';');
	if (semi < 0)
		return rest.len;
	return semi > 0 && rest.ptr[semi - 1] == '/' ? (size_t)semi - 1 : (size_t)semi;
}

/* section reads enc-section as BODY.PEEK[section]. */
static int section(struct pool *pool, struct str enc, struct imap_url *url_r)
{
	const char *spec = enc.ptr == NULL ? "" : decode(pool, enc);
	if (spec == NULL)
		return -1;
	size_t len = strlen(spec);
	char *item = pool_alloc(pool, len + sizeof("BODY.PEEK[]"));
	if (item == NULL)
		return -1;
	memcpy(item, "BODY.PEEK[", 10);
	memcpy(item + 10, spec, len);
	memcpy(item + 10 + len, "]", 2);
	struct imap_section *s = NULL;
	/* A section's own partial ("<0.10>") is not URL syntax. */
	if (strchr(spec, '<') != NULL ||
	    imap_section_parse(pool, str_from(item, len + 11), IMAP_URL_MAX, &s) !=
		    IMAP_SECTION_PARSE_OK)
		return -1;
	url_r->section = s;
	return 0;
}

int imap_url_parse(struct pool *pool, struct str url, struct imap_url *url_r,
		   const char **error_r)
{
	uint64_t v;

	memset(url_r, 0, sizeof(*url_r));
	if (url.len > IMAP_URL_MAX) {
		*error_r = "URL too long";
		return -1;
	}
	if (url.len == 0 || url.ptr[0] != '/' || (url.len > 1 && url.ptr[1] == '/')) {
		*error_r = "Only URLs of this server's own messages (\"/mailbox/;UID=n\")";
		return -1;
	}
	struct str rest = str_sub(url, 1, url.len - 1);
	long semi = str_chr(rest, ';');
	if (semi <= 0) {
		*error_r = "URL names no message";
		return -1;
	}
	struct str box = str_sub(rest, 0, (size_t)semi);
	rest = str_sub(rest, (size_t)semi, rest.len - (size_t)semi);
	if (take_key(&rest, ";UIDVALIDITY=")) {
		long end = str_chr(rest, '/');
		if (end < 0 || !number(str_sub(rest, 0, (size_t)end), UINT32_MAX, false, &v)) {
			*error_r = "Invalid UIDVALIDITY in URL";
			return -1;
		}
		url_r->uidvalidity = (uint32_t)v;
		rest = str_sub(rest, (size_t)end, rest.len - (size_t)end);
	} else if (box.len > 0 && box.ptr[box.len - 1] == '/') {
		box.len--;
		rest = str_sub(url, (size_t)(box.ptr - url.ptr) + box.len, url.len);
	}
	url_r->mailbox = box.len > 0 ? decode(pool, box) : NULL;
	if (url_r->mailbox == NULL) {
		*error_r = "Invalid mailbox in URL";
		return -1;
	}
	if (!take_key(&rest, "/;UID=")) {
		*error_r = "URL names no message";
		return -1;
	}
	size_t end = value_end(rest);
	if (!number(str_sub(rest, 0, end), UINT32_MAX, false, &v)) {
		*error_r = "Invalid UID in URL";
		return -1;
	}
	url_r->uid = (uint32_t)v;
	rest = str_sub(rest, end, rest.len - end);
	struct str enc = STR_NULL;
	if (take_key(&rest, "/;SECTION=")) {
		end = value_end(rest);
		enc = str_sub(rest, 0, end);
		rest = str_sub(rest, end, rest.len - end);
		if (enc.len == 0) {
			*error_r = "Invalid SECTION in URL";
			return -1;
		}
	}
	if (section(pool, enc, url_r) < 0) {
		*error_r = "Invalid SECTION in URL";
		return -1;
	}
	if (take_key(&rest, "/;PARTIAL=")) {
		end = value_end(rest);
		struct str range = str_sub(rest, 0, end);
		rest = str_sub(rest, end, rest.len - end);
		long dot = str_chr(range, '.');
		struct str off = dot < 0 ? range : str_sub(range, 0, (size_t)dot);
		if (!number(off, IMAP_NUMBER64_MAX, true, &url_r->partial_offset) ||
		    (dot >= 0 && !number(str_sub(range, (size_t)dot + 1, range.len), IMAP_NUMBER64_MAX,
					 false, &url_r->partial_length))) {
			*error_r = "Invalid PARTIAL in URL";
			return -1;
		}
		url_r->partial = true;
	}
	if (rest.len > 0) {
		*error_r = str_case_prefix(rest, STR(";URLAUTH=")) ?
				   "URLAUTH is not supported" : "Unexpected text at the end of the URL";
		return -1;
	}
	return 0;
}
