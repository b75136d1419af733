/*
 * fuzz-srs: srs_decode on any bytes as an address; checks that what it
 * accepts encodes back to an address that decodes to the same sender,
 * and that a refusal leaves nothing behind.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "lib/srs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[SRS_KEY_SIZE] = { 1, 2, 3 };
	static char out[SRS_MAX_ADDRESS + 1], again[SRS_MAX_ADDRESS + 1],
		back[SRS_MAX_ADDRESS + 1];
	struct str in = str_from((const char *)data, size);

	enum srs_result r = srs_decode(key, in, 0, out);
	if (r != SRS_OK) {
		assert(out[0] == '\0');
		return 0;
	}
	assert(strlen(out) < size);
	if (srs_encode(key, str_c(out), STR("a.test"), 0, again) == 0) {
		assert(srs_decode(key, str_c(again), 0, back) == SRS_OK);
		assert(strcmp(back, out) == 0);
	}
	return 0;
}
