/*
 * fuzz-http-basic: the Basic credentials decoder on any bytes as an
 * Authorization value, into buffers of a size the first byte picks.  On
 * success both outputs are NUL-terminated within their buffers, free of
 * control octets, and "user:password" is what the base64 decodes to; on
 * refusal both are wiped.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "http/http-basic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	static char user[1024], password[1024];
	size_t max = 1 + (size_t)data[0] * 4; /* 1 to 1021: below and above the limit */
	struct str value = str_from((const char *)data + 1, size - 1);
	const char *error = NULL;
	if (http_basic_decode(value, user, max, password, max, &error) < 0) {
		assert(error != NULL);
		for (size_t i = 0; i < max; i++)
			assert(user[i] == '\0' && password[i] == '\0');
		return 0;
	}
	size_t ulen = strnlen(user, max), plen = strnlen(password, max);
	assert(ulen > 0 && ulen < max && plen < max);
	for (size_t i = 0; i < ulen; i++)
		assert((unsigned char)user[i] >= 0x20 && user[i] != 0x7f && user[i] != ':');
	for (size_t i = 0; i < plen; i++)
		assert((unsigned char)password[i] >= 0x20 && password[i] != 0x7f);
	static unsigned char raw[HTTP_BASIC_MAX_DECODED];
	size_t len;
	struct str b64 = str_trim(str_sub(value, 6, value.len));
	int ret = sodium_base642bin(raw, sizeof(raw), b64.ptr, b64.len, NULL, &len, NULL,
				    sodium_base64_VARIANT_ORIGINAL);
	assert(ret == 0 && len == ulen + 1 + plen);
	assert(memcmp(raw, user, ulen) == 0 && raw[ulen] == ':' &&
	       memcmp(raw + ulen + 1, password, plen) == 0);
	sodium_memzero(user, sizeof(user));
	sodium_memzero(password, sizeof(password));
	return 0;
}
