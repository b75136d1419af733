/*
 * fuzz-dkim-tags: the DKIM tag=value list parser on any bytes, and the
 * same bytes as the tag list of a DKIM-Signature field that the verifier
 * parses, hashes a body for and asks a key for (answered "no such
 * name").  Checks that every view lies inside the input and that bounds
 * hold.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "mail-auth/dkim-tags.h"
#include "mail-auth/dkim-verify.h"

static bool inside(struct str s, const char *begin, size_t len)
{
	return s.len == 0 || (s.ptr >= begin && s.ptr + s.len <= begin + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_tags t;
	static uint8_t decoded[DKIM_TAG_VALUE_MAX];
	const char *error;
	const char *text = (const char *)data;

	if (dkim_tags_parse(str_from(text, size), &t, &error) == 0) {
		assert(t.count <= DKIM_TAGS_MAX);
		for (size_t i = 0; i < t.count; i++) {
			assert(inside(t.tag[i].name, text, size) && inside(t.tag[i].value, text, size));
			assert(t.tag[i].name.len > 0 && t.tag[i].name.len <= DKIM_TAG_NAME_MAX);
			assert(t.tag[i].value.len <= DKIM_TAG_VALUE_MAX);
			long n = dkim_tags_base64(t.tag[i].value, decoded, sizeof(decoded));
			assert(n <= (long)sizeof(decoded));
		}
	} else {
		assert(error != NULL);
	}

	struct buf m;
	buf_init(&m, size + 256);
	buf_append(&m, "DKIM-Signature:", 15);
	buf_append(&m, data, size);
	buf_append(&m, "\r\nFrom: a@a.test\r\n\r\n", 20);
	struct dkim_verify *v;
	if (dkim_verify_new(buf_str(&m), 0, &v) == 0) {
		dkim_verify_body(v, "body \r\n\r\n", 9);
		dkim_verify_body_end(v);
		struct dns_cache *cache = dns_cache_new();
		struct dkim_need need;
		while (cache != NULL && dkim_verify_run(v, cache, &need) == DKIM_VERIFY_NEED) {
			struct dns_answer a = { .status = DNS_NXDOMAIN };
			assert(strlen(need.name) <= DNS_MAX_NAME);
			if (dns_cache_put(cache, need.type, str_c(need.name), &a) < 0)
				break;
		}
		assert(dkim_verify_count(v) <= DKIM_MAX_SIGNATURES);
		for (size_t i = 0; i < dkim_verify_count(v); i++)
			assert(dkim_verify_result(v, i)->result != DKIM_PASS);
		dns_cache_free(&cache);
		dkim_verify_free(&v);
	}
	buf_free(&m);
	return 0;
}
