/* sasl-plain: the SASL PLAIN message (see sasl-plain.h). */
#include "sasl-plain.h"

#include <string.h>

#include <sodium.h>

enum sasl_plain_result sasl_plain_decode(struct sasl_plain *out, struct str b64,
					 bool empty_allowed)
{
	out->len = 0;
	out->authzid = out->authcid = out->password = STR("");
	if (b64.len > SASL_PLAIN_MAX_BASE64)
		return SASL_PLAIN_BAD_BASE64;
	if (!(empty_allowed && str_eq(b64, STR("="))) &&
	    sodium_base642bin(out->raw, sizeof(out->raw), b64.ptr, b64.len, NULL, &out->len,
			      NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		/* Decoding may have stopped half way through the password. */
		sasl_plain_wipe(out);
		return SASL_PLAIN_BAD_BASE64;
	}
	const unsigned char *raw = out->raw;
	size_t len = out->len;
	const unsigned char *nul1 = memchr(raw, '\0', len);
	const unsigned char *nul2 =
		nul1 != NULL ? memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - raw)) : NULL;
	if (nul2 == NULL) {
		sasl_plain_wipe(out);
		return SASL_PLAIN_MALFORMED;
	}
	out->authzid = str_from((const char *)raw, (size_t)(nul1 - raw));
	out->authcid = str_from((const char *)nul1 + 1, (size_t)(nul2 - nul1 - 1));
	out->password = str_from((const char *)nul2 + 1, len - (size_t)(nul2 + 1 - raw));
	if (out->authzid.len > 0 && !str_eq(out->authzid, out->authcid)) {
		sasl_plain_wipe(out);
		return SASL_PLAIN_AUTHZID;
	}
	return SASL_PLAIN_OK;
}

void sasl_plain_wipe(struct sasl_plain *plain)
{
	sodium_memzero(plain->raw, sizeof(plain->raw));
	plain->len = 0;
	plain->authzid = plain->authcid = plain->password = STR("");
}
