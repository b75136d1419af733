/*
 * fuzz-dkim-key: the DKIM key record parser on any bytes (a TXT record
 * is whatever the DNS gives).  Checks that a key is revoked exactly when
 * it has no OpenSSL key, and that a failure leaves nothing to free.
 */
#include <assert.h>
#include <stdint.h>

#include "mail-auth/dkim-key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key k;
	const char *error;

	if (dkim_key_parse(str_from((const char *)data, size), &k, &error) == 0) {
		assert(k.revoked == (k.pkey == NULL));
		if (k.pkey != NULL && k.alg == DKIM_ALG_RSA_SHA256) {
			int bits = EVP_PKEY_get_bits(k.pkey);
			assert(bits >= DKIM_KEY_RSA_MIN_BITS && bits <= DKIM_KEY_RSA_MAX_BITS);
		}
		dkim_key_clear(&k);
	} else {
		assert(k.pkey == NULL && error != NULL);
	}
	return 0;
}
