/* http-path: request-target paths and canonical hrefs (see http-path.h). */
#include "http-path.h"

#include <string.h>

#include <utf8proc.h>

static int fail(const char *error, const char **error_r)
{
	*error_r = error;
	return -1;
}

/* valid_utf8: the whole of s is UTF-8 without overlong forms or
 * surrogates (utf8proc_iterate refuses both). */
static bool valid_utf8(struct str s)
{
	size_t i = 0;
	while (i < s.len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s.ptr + i,
						      (utf8proc_ssize_t)(s.len - i), &cp);
		if (n <= 0)
			return false;
		i += (size_t)n;
	}
	return true;
}

/* decode_segment percent-decodes raw into p->store at *used and adds it
 * as the next segment. */
static int decode_segment(struct str raw, struct http_path *p, size_t *used,
			  const char **error_r)
{
	if (raw.len == 0)
		return fail("empty path segment", error_r);
	if (p->count == HTTP_MAX_SEGMENTS)
		return fail("too many path segments", error_r);
	char *start = p->store + *used;
	size_t n = 0;
	for (size_t i = 0; i < raw.len; i++) {
		unsigned char c = (unsigned char)raw.ptr[i];
		if (c == '%') {
			int octet = str_percent_octet(raw, i);
			if (octet < 0)
				return fail("malformed percent-encoding", error_r);
			c = (unsigned char)octet;
			i += 2;
			if (c == '/')
				return fail("encoded slash in path", error_r);
		}
		if (c == '\\')
			return fail("backslash in path", error_r);
		if (c < 0x20 || c == 0x7f)
			return fail("control octet in path", error_r);
		if (*used + n >= HTTP_MAX_PATH)
			return fail("path too long", error_r);
		start[n++] = (char)c;
	}
	struct str seg = str_from(start, n);
	if (str_eq(seg, STR(".")) || str_eq(seg, STR("..")))
		return fail("dot segment in path", error_r);
	if (!valid_utf8(seg))
		return fail("path is not UTF-8", error_r);
	p->seg[p->count++] = seg;
	*used += n;
	return 0;
}

/* split_absolute takes "http(s)://authority" off target. */
static int split_absolute(struct str *target, struct str *authority_r, const char **error_r)
{
	size_t skip = str_case_prefix(*target, STR("http://"))	  ? 7
		      : str_case_prefix(*target, STR("https://")) ? 8
								  : 0;
	if (skip == 0)
		return fail("target is neither a path nor an http(s) URI", error_r);
	struct str rest = str_sub(*target, skip, target->len);
	size_t end = 0;
	while (end < rest.len && rest.ptr[end] != '/' && rest.ptr[end] != '?')
		end++;
	*authority_r = str_sub(rest, 0, end);
	if (authority_r->len == 0)
		return fail("empty authority", error_r);
	if (str_chr(*authority_r, '@') >= 0)
		return fail("userinfo in authority", error_r);
	*target = str_sub(rest, end, rest.len);
	if (target->len == 0 || target->ptr[0] == '?')
		*target = STR("/");
	return 0;
}

int http_path_parse(struct str target, struct http_path *p, struct str *authority_r,
		    const char **error_r)
{
	p->count = 0;
	p->trailing_slash = false;
	*authority_r = STR("");
	if (str_chr(target, '#') >= 0)
		return fail("fragment in target", error_r);
	if ((target.len == 0 || target.ptr[0] != '/') &&
	    split_absolute(&target, authority_r, error_r) < 0)
		return -1;
	long query = str_chr(target, '?');
	if (query >= 0)
		target.len = (size_t)query;
	if (target.len == 0 || target.ptr[0] != '/')
		return fail("path does not start with /", error_r);
	size_t used = 0;
	struct str rest = str_sub(target, 1, target.len);
	while (rest.len > 0) {
		long slash = str_chr(rest, '/');
		size_t n = slash < 0 ? rest.len : (size_t)slash;
		if (decode_segment(str_sub(rest, 0, n), p, &used, error_r) < 0)
			return -1;
		if (slash < 0)
			return 0;
		rest = str_sub(rest, n + 1, rest.len);
	}
	p->trailing_slash = true;
	return 0;
}

/* RFC 3986 unreserved, and '@' (hrefs name addresses). */
static bool is_plain(unsigned char c)
{
	return (c >= '0' && c <= '9') || str_is_alpha(c) || c == '-' || c == '.' || c == '_' ||
	       c == '~' || c == '@';
}

int http_href_append(struct buf *out, const struct str *segs, size_t n, bool trailing_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		if (buf_putc(out, '/') < 0)
			return -1;
		for (size_t j = 0; j < segs[i].len; j++) {
			unsigned char c = (unsigned char)segs[i].ptr[j];
			char enc[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (is_plain(c) ? buf_putc(out, (char)c) < 0 : buf_append(out, enc, 3) < 0)
				return -1;
		}
	}
	if ((n == 0 || trailing_slash) && buf_putc(out, '/') < 0)
		return -1;
	return 0;
}
