/*
 * fuzz-http-path: the href canonicaliser on any bytes as a target.  When
 * a target is accepted, its segments lie in the path's store, none is
 * empty, "." or "..", or holds '/', '\' or a control octet; the canonical
 * href written for them parses back to the same segments, and writing it
 * again gives the same href (one name per resource).
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "http/http-path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_path p, q;
	struct str authority;
	const char *error;
	if (http_path_parse(str_from((const char *)data, size), &p, &authority, &error) < 0)
		return 0;
	assert(p.count <= HTTP_MAX_SEGMENTS);
	for (size_t i = 0; i < p.count; i++) {
		struct str s = p.seg[i];
		assert(s.len > 0 && s.ptr >= p.store && s.ptr + s.len <= p.store + HTTP_MAX_PATH);
		assert(!str_eq(s, STR(".")) && !str_eq(s, STR("..")));
		for (size_t j = 0; j < s.len; j++)
			assert(s.ptr[j] != '/' && s.ptr[j] != '\\' && (unsigned char)s.ptr[j] >= 0x20 &&
			       s.ptr[j] != 0x7f);
	}
	struct buf href, again;
	buf_init(&href, HTTP_MAX_PATH * 3 + HTTP_MAX_SEGMENTS + 1);
	buf_init(&again, HTTP_MAX_PATH * 3 + HTTP_MAX_SEGMENTS + 1);
	int ret = http_href_append(&href, p.seg, p.count, p.trailing_slash);
	assert(ret == 0);
	struct str no_authority;
	ret = http_path_parse(buf_str(&href), &q, &no_authority, &error);
	assert(ret == 0 && no_authority.len == 0);
	assert(q.count == p.count && q.trailing_slash == (p.trailing_slash || p.count == 0));
	for (size_t i = 0; i < p.count; i++)
		assert(str_eq(p.seg[i], q.seg[i]));
	ret = http_href_append(&again, q.seg, q.count, q.trailing_slash);
	assert(ret == 0 && str_eq(buf_str(&href), buf_str(&again)));
	buf_free(&href);
	buf_free(&again);
	return 0;
}
