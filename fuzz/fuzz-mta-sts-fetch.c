/*
 * fuzz-mta-sts-fetch: the HTTP response parser of the MTA-STS policy fetch
 * on any bytes, fed whole and in pieces (the first byte says the piece
 * size), then the end of the connection.  Both ways must agree, and a
 * body is never larger than MTA_STS_MAX_POLICY.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "relay/mta-sts-fetch.h"

static int run(const uint8_t *data, size_t size, size_t step, struct mta_sts_fetch *f)
{
	const char *error = NULL;
	int r = 0;
	for (size_t i = 0; r == 0 && i < size; i += step) {
		size_t n = size - i < step ? size - i : step;
		r = mta_sts_fetch_feed(f, data + i, n, &error);
	}
	if (r == 0)
		r = mta_sts_fetch_eof(f, &error);
	assert(r == 1 || (r == -1 && error != NULL));
	assert(mta_sts_fetch_body(f).len <= MTA_STS_MAX_POLICY);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t step = data[0] % 16 + 1;
	data++;
	size--;
	struct mta_sts_fetch whole, pieces;
	mta_sts_fetch_init(&whole);
	mta_sts_fetch_init(&pieces);
	int a = run(data, size, size ? size : 1, &whole);
	int b = run(data, size, step, &pieces);
	assert(a == b);
	if (a == 1) {
		struct str x = mta_sts_fetch_body(&whole), y = mta_sts_fetch_body(&pieces);
		assert(str_eq(x, y));
		struct mta_sts_policy p;
		const char *error;
		(void)mta_sts_policy_parse(x, &p, &error);
	}
	mta_sts_fetch_free(&whole);
	mta_sts_fetch_free(&pieces);
	return 0;
}
