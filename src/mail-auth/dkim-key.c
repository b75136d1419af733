/* dkim-key: DKIM public key records (see dkim-key.h). */
#include <string.h>

#include <openssl/err.h>
#include <openssl/decoder.h>
#include <openssl/x509.h>

#include "dkim-key.h"
#include "lib/buf.h"
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

/* decode reads DER of the structure named (SubjectPublicKeyInfo, what
 * every signer publishes, or type-specific: a bare RSAPublicKey as RFC
 * 6376 words it) as an RSA public key that fills all len octets.  The
 * decoder is told the type and structure (left to guess, OpenSSL 3 tries
 * every decoder it has) and kept: making one was most of the cost, so
 * a 2048-bit key record takes tens of microseconds to read, not 700. */
static EVP_PKEY *decode(const uint8_t *der, size_t len, const char *structure)
{
	/* Made once per structure and kept: making one is most of the cost
	 * (OpenSSL 3 builds its chain of decoders each time).  Each use
	 * leaves its key in decoded, taken from there. */
	static OSSL_DECODER_CTX *spki, *bare;
	static EVP_PKEY *decoded_spki, *decoded_bare;
	bool is_spki = strcmp(structure, "SubjectPublicKeyInfo") == 0;
	OSSL_DECODER_CTX **d = is_spki ? &spki : &bare;
	EVP_PKEY **decoded = is_spki ? &decoded_spki : &decoded_bare;
	const unsigned char *p = der;
	size_t left = len;

	if (*d == NULL)
		*d = OSSL_DECODER_CTX_new_for_pkey(decoded, "DER", structure, "RSA",
						   EVP_PKEY_PUBLIC_KEY, NULL, NULL);
	if (*d == NULL)
		return NULL;
	*decoded = NULL;
	int ok = OSSL_DECODER_from_data(*d, &p, &left) == 1 && left == 0;
	EVP_PKEY *pkey = *decoded;
	*decoded = NULL;
	if (!ok) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

static EVP_PKEY *rsa_key(const uint8_t *der, long len)
{
	EVP_PKEY *pkey = decode(der, (size_t)len, "SubjectPublicKeyInfo");
	if (pkey == NULL)
		pkey = decode(der, (size_t)len, "type-specific");
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

int dkim_key_record(EVP_PKEY *key, struct buf *out)
{
	uint8_t der[DKIM_KEY_DER_MAX];
	char b64[DKIM_KEY_DER_MAX * 4 / 3 + 4];
	const char *type = "rsa";
	size_t len = sizeof(der);

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		type = "ed25519";
		if (EVP_PKEY_get_raw_public_key(key, der, &len) != 1)
			return -1;
	} else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
		int n = i2d_PUBKEY(key, NULL);
		unsigned char *p = der;
		if (n <= 0 || (size_t)n > sizeof(der) || i2d_PUBKEY(key, &p) != n)
			return -1;
		len = (size_t)n;
	} else {
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	return buf_printf(out, "v=DKIM1; k=%s; p=%s", type, b64) < 0 ? -1 : 0;
}
