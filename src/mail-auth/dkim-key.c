/* dkim-key: DKIM public key records (see dkim-key.h). */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "dkim-key.h"
#include "dkim-tags.h"

/* list_has tells whether the ':'-separated list value names item (ASCII
 * case-insensitive, white space around the items ignored). */
static bool list_has(struct str value, struct str item)
{
	size_t start = 0;
	while (start <= value.len) {
		size_t end = start;
		while (end < value.len && value.ptr[end] != ':')
			end++;
		if (str_case_eq(str_trim(str_from(value.ptr + start, end - start)), item))
			return true;
		start = end + 1;
	}
	return false;
}

/* rsa_key makes an RSA key of SubjectPublicKeyInfo DER (what every signer
 * publishes) or, failing that, of a bare RSAPublicKey (RFC 6376's words). */
static EVP_PKEY *rsa_key(const uint8_t *der, long len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, len);
	if (pkey != NULL && p != der + len) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	if (pkey == NULL) {
		p = der;
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
		if (pkey != NULL && p != der + len) {
			EVP_PKEY_free(pkey);
			return NULL;
		}
	}
	if (pkey != NULL && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

int dkim_key_parse(struct str record, struct dkim_key *k, const char **error_r)
{
	struct dkim_tags t;
	struct str v;

	memset(k, 0, sizeof(*k));
	if (dkim_tags_parse(record, &t, error_r) < 0)
		return -1;
	/* v= is optional, but if there it must be first and DKIM1. */
	if (dkim_tags_get(&t, "v", &v) &&
	    (!str_eq(t.tag[0].name, STR("v")) || !str_eq(v, STR("DKIM1")))) {
		*error_r = "v= is not DKIM1 or not first";
		return -1;
	}
	k->alg = DKIM_ALG_RSA_SHA256;
	if (dkim_tags_get(&t, "k", &v)) {
		if (str_eq(v, STR("ed25519"))) {
			k->alg = DKIM_ALG_ED25519_SHA256;
		} else if (!str_eq(v, STR("rsa"))) {
			*error_r = "unknown key type";
			return -1;
		}
	}
	if (dkim_tags_get(&t, "h", &v) && !list_has(v, STR("sha256"))) {
		*error_r = "the key refuses sha256";
		return -1;
	}
	if (dkim_tags_get(&t, "s", &v) && !list_has(v, STR("email")) && !list_has(v, STR("*"))) {
		*error_r = "the key is not for email";
		return -1;
	}
	if (dkim_tags_get(&t, "t", &v)) {
		k->testing = list_has(v, STR("y"));
		k->strict = list_has(v, STR("s"));
	}
	if (!dkim_tags_get(&t, "p", &v)) {
		*error_r = "the key record has no p=";
		return -1;
	}
	uint8_t der[DKIM_KEY_DER_MAX];
	long len = dkim_tags_base64(v, der, sizeof(der));
	if (len < 0) {
		*error_r = "p= is not base64 or too long";
		return -1;
	}
	if (len == 0) {
		k->revoked = true;
		return 0;
	}
	if (k->alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 4: the 32 octets of the public key, no DER around. */
		if (len == 32)
			k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
	} else {
		k->pkey = rsa_key(der, len);
		int bits = k->pkey != NULL ? EVP_PKEY_get_bits(k->pkey) : 0;
		if (k->pkey != NULL && (bits < DKIM_KEY_RSA_MIN_BITS || bits > DKIM_KEY_RSA_MAX_BITS)) {
			dkim_key_clear(k);
			*error_r = "RSA key size out of bounds";
			return -1;
		}
	}
	if (k->pkey == NULL) {
		ERR_clear_error();
		*error_r = "p= is not a public key of its type";
		return -1;
	}
	return 0;
}

void dkim_key_clear(struct dkim_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}
