#ifndef RAVELIN_DKIM_SIGN_H
#define RAVELIN_DKIM_SIGN_H
/*
 * dkim-sign: makes a DKIM-Signature header field (RFC 6376, relaxed/
 * relaxed, rsa-sha256 or ed25519-sha256 of RFC 8463) for a message whose
 * body hash the caller took with dkim_body_hash (relaxed, no limit: a
 * signer never gives l=, which would let anyone append to the body).
 * Pure code: the private key is the caller's, and no I/O.
 */
#include <stdint.h>

#include <openssl/evp.h>

#include "dkim-canon.h"
#include "dkim-header.h"
#include "dkim-key.h"
#include "lib/buf.h"
#include "lib/str.h"

/* Octets of a signature: RSA at DKIM_KEY_RSA_MAX_BITS, Ed25519 is 64. */
#define DKIM_SIG_MAX (DKIM_KEY_RSA_MAX_BITS / 8)
/* Octets of a selector we make or accept: one DNS label. */
#define DKIM_SELECTOR_MAX 63

struct dkim_signer {
	enum dkim_alg alg;
	EVP_PKEY *pkey;        /* the private key, the caller's */
	struct str domain;     /* d= */
	struct str selector;   /* s= */
};

/*
 * dkim_sign appends to out one "DKIM-Signature: ...\r\n" header field,
 * folded, signing the fields of h that the usual set names (From once
 * more than it appears, so none can be added), body_hash (relaxed) and
 * t=now.  0, or -1 with *error_r (static).
 */
int dkim_sign(const struct dkim_signer *s, const struct dkim_header *h,
	      const uint8_t body_hash[DKIM_HASH_LEN], int64_t now, struct buf *out,
	      const char **error_r);

/*
 * dkim_sign_message signs message (header, empty line, body, all in
 * memory) like dkim_sign; for tests and small messages.
 */
int dkim_sign_message(const struct dkim_signer *s, struct str message, int64_t now,
		      struct buf *out, const char **error_r);

/*
 * dkim_sign_data signs data with the algorithm: RSA PKCS#1 v1.5 over its
 * SHA-256, or Ed25519 over the 32 octets of its SHA-256 (RFC 8463 3).
 * Writes the signature to sig (DKIM_SIG_MAX), its length to *len.
 * 0 or -1.  dkim_verify_data checks one: 1 good, 0 not.
 */
int dkim_sign_data(enum dkim_alg alg, EVP_PKEY *pkey, struct str data, uint8_t *sig,
		   size_t *len);
int dkim_verify_data(enum dkim_alg alg, EVP_PKEY *pkey, struct str data, const uint8_t *sig,
		     size_t len);

#endif
