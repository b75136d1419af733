#ifndef RAVELIN_DKIM_KEY_H
#define RAVELIN_DKIM_KEY_H
/*
 * dkim-key: a DKIM public key record (RFC 6376 3.6.1, RFC 8463 for
 * Ed25519) as found in TXT <selector>._domainkey.<domain>, turned into an
 * OpenSSL key.  Pure code; the record is untrusted DNS data.
 */
#include <stdbool.h>

#include <openssl/evp.h>

#include "lib/str.h"

/* Octets of a decoded public key: an RSA key of DKIM_KEY_RSA_MAX_BITS in
 * SubjectPublicKeyInfo DER is a little over a 1/8 of its bits. */
#define DKIM_KEY_DER_MAX 1200
/* RFC 8301 3.2: verifiers must accept 1024 to 4096 bits and may refuse
 * smaller keys (we do: a 512-bit key is broken in hours).  Larger ones
 * only cost us time. */
#define DKIM_KEY_RSA_MIN_BITS 1024
#define DKIM_KEY_RSA_MAX_BITS 4096

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
};

struct dkim_key {
	enum dkim_alg alg;
	EVP_PKEY *pkey;      /* NULL when revoked */
	bool revoked;        /* p= is empty (RFC 6376 3.6.1) */
	bool testing;        /* t=y: the domain is testing DKIM */
	bool strict;         /* t=s: i= must be in d= itself, no subdomain */
};

/*
 * dkim_key_parse reads record (the TXT strings joined) into k: 0, or -1
 * with *error_r (static text) for a record that is not a usable key (bad
 * syntax, v= not DKIM1, unknown k=, h= without sha256, s= without email
 * or *, a key that does not decode or is out of the bounds above).  A
 * revoked key (empty p=) is 0 with k->revoked.  dkim_key_clear frees.
 */
int dkim_key_parse(struct str record, struct dkim_key *k, const char **error_r);
void dkim_key_clear(struct dkim_key *k);

struct buf;
/*
 * dkim_key_record appends to out the key record that publishes the
 * public half of key (an RSA or Ed25519 key, private or public):
 * "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or "v=DKIM1; k=ed25519;
 * p=<the 32 octets>".  0, or -1 for another type, a key past
 * DKIM_KEY_DER_MAX or out full.
 */
int dkim_key_record(EVP_PKEY *key, struct buf *out);

#endif
