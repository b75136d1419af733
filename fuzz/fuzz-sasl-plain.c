/*
 * fuzz-sasl-plain: the SASL PLAIN decoder on any bytes as the base64
 * message, both with and without "=" as the empty message; checks that
 * the fields it returns lie inside what it decoded and that a refusal
 * leaves nothing behind.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/sasl-plain.h"

static void check(const struct sasl_plain *p, enum sasl_plain_result r)
{
	if (r != SASL_PLAIN_OK) {
		assert(p->len == 0);
		return;
	}
	const char *begin = (const char *)p->raw, *end = begin + p->len;
	assert(p->len <= sizeof(p->raw));
	assert(p->authcid.ptr >= begin && p->authcid.ptr + p->authcid.len <= end);
	assert(p->password.ptr >= begin && p->password.ptr + p->password.len <= end);
	assert(p->authzid.len == 0 || str_eq(p->authzid, p->authcid));
	assert(p->authzid.len + p->authcid.len + p->password.len + 2 == p->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sasl_plain p;
	struct str b64 = str_from((const char *)data, size);
	for (int empty_allowed = 0; empty_allowed < 2; empty_allowed++) {
		enum sasl_plain_result r = sasl_plain_decode(&p, b64, empty_allowed != 0);
		check(&p, r);
		sasl_plain_wipe(&p);
	}
	return 0;
}
