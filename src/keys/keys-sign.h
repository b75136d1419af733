#ifndef RAVELIN_KEYS_SIGN_H
#define RAVELIN_KEYS_SIGN_H
/*
 * keys-sign: the TLS private key and the only signatures made with it.
 * A request is signed only if it is shaped like what libssl asks during a
 * handshake (see keys_key_sign); everything else is refused, so that a
 * pre-auth process taken over by an attacker gets a signing service for
 * handshakes at a bounded rate, never an RSA decryption oracle.  No I/O
 * here besides loading the files; the rate buckets are plain arithmetic so
 * the tests can drive them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ipc.h"

/* A PEM key or certificate chain file read whole: an 8192-bit RSA key is
 * about 6.4 KB and a chain of a few certificates some 10 KB, so this
 * leaves ample room while keeping a wrong path (a log, a device) out. */
#define KEYS_MAX_PEM (256 * 1024)

struct keys_key;

/* keys_key_load reads the PEM private key (EC or RSA, unencrypted) and the
 * first certificate of the chain file, checks that they belong together
 * and makes one signature as a self-test (which also readies OpenSSL's
 * random generator before the jail).  The file buffers are wiped.  Returns
 * 0 with *key_r (free with keys_key_free), or -1 with *error_r. */
int keys_key_load(const char *cert_path, const char *key_path, struct keys_key **key_r,
		  const char **error_r);
/* keys_key_free frees the key (OpenSSL clears its private parts) and sets
 * *key NULL. */
void keys_key_free(struct keys_key **key);
/* keys_key_type names the key for the log: "EC P-256", "RSA 2048". */
const char *keys_key_type(const struct keys_key *key);

/* keys_key_sign applies op to input if it is handshake-shaped for this key:
 *   IPC_KEY_OP_ECDSA, EC key: input is a digest of 20, 28, 32, 48 or 64
 *     bytes (SHA-1, SHA-224, SHA-256, SHA-384, SHA-512); out gets the DER
 *     ECDSA signature.
 *   IPC_KEY_OP_RSA_RAW, RSA key: input is exactly the modulus' size and
 *     is either an EMSA-PSS encoding (RFC 8017 9.1: the masked block
 *     unmasks to zeros, 0x01 and a salt as long as the SHA-256, -384 or
 *     -512 hash, ending in 0xbc, top bits clear) or an EMSA-PKCS1-v1_5
 *     encoding (00 01, at least 8 FF, 00, the DigestInfo of a SHA-1, -224,
 *     -256, -384 or -512 hash); out gets input^d mod n.
 * Returns IPC_KEY_OK with *outlen_r set, or IPC_KEY_REFUSED / IPC_KEY_FAILED
 * with *why_r saying why.  size must be at least IPC_KEY_MAX_SIGNATURE. */
enum ipc_key_status keys_key_sign(const struct keys_key *key, uint64_t op,
				  const unsigned char *input, size_t len, unsigned char *out,
				  size_t size, size_t *outlen_r, const char **why_r);

/* A token bucket: burst signatures at once, refilled at per_second. */
struct keys_bucket {
	uint64_t millitokens; /* 1000 per signature */
	uint64_t last_ms;
	unsigned burst;
	unsigned per_second;
};

/* keys_bucket_init fills b to its burst at now_ms. */
void keys_bucket_init(struct keys_bucket *b, unsigned burst, unsigned per_second,
		      uint64_t now_ms);
/* keys_bucket_ready refills b up to now_ms (a monotonic clock) and says
 * whether it holds a whole token. */
bool keys_bucket_ready(struct keys_bucket *b, uint64_t now_ms);
/* keys_bucket_take removes one token (keys_bucket_ready said there is one). */
void keys_bucket_take(struct keys_bucket *b);

#endif
