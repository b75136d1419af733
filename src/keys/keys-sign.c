/* keys-sign: the TLS key and handshake-shaped signatures (see keys-sign.h). */
#include "keys-sign.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/tls.h"

/* An EMSA-PKCS1-v1_5 block has at least this many 0xff bytes (RFC 8017
 * 9.2 step 3: PS is at least 8 octets). */
#define KEYS_PKCS1_MIN_PS 8

struct keys_key {
	EVP_PKEY *pkey;
	bool rsa;
	size_t modulus_len;   /* RSA: k, the block size */
	unsigned modulus_bits;
	char type[48];
};

/* The DER prefixes of DigestInfo (RFC 8017 9.2 note 1) for the hashes a
 * TLS 1.2 PKCS#1 v1.5 signature can use; the hash follows. */
static const unsigned char di_sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
					 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
static const unsigned char di_sha224[] = { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60,
					   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					   0x04, 0x05, 0x00, 0x04, 0x1c };
static const unsigned char di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
					   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					   0x01, 0x05, 0x00, 0x04, 0x20 };
static const unsigned char di_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
					   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					   0x02, 0x05, 0x00, 0x04, 0x30 };
static const unsigned char di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
					   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					   0x03, 0x05, 0x00, 0x04, 0x40 };
static const struct {
	const unsigned char *prefix;
	size_t prefix_len, hash_len;
} digest_infos[] = {
	{ di_sha1, sizeof(di_sha1), 20 },       { di_sha224, sizeof(di_sha224), 28 },
	{ di_sha256, sizeof(di_sha256), 32 },   { di_sha384, sizeof(di_sha384), 48 },
	{ di_sha512, sizeof(di_sha512), 64 },
};

/* read_pem reads a whole file of at most KEYS_MAX_PEM bytes into a new
 * buffer (the caller cleanses and frees it).  Returns 0, or -1 with
 * *error_r (static text). */
static int read_pem(const char *path, unsigned char **data_r, size_t *len_r,
		    const char **error_r)
{
	static char error[600];
	struct stat st;

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(error, sizeof(error), "open(%s) failed: %s", path, strerror(errno));
		*error_r = error;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KEYS_MAX_PEM) {
		snprintf(error, sizeof(error), "%s is not a regular file of at most %d bytes",
			 path, KEYS_MAX_PEM);
		close(fd);
		*error_r = error;
		return -1;
	}
	size_t size = (size_t)st.st_size, len = 0;
	unsigned char *data = malloc(size + 1);
	while (data != NULL && len < size) {
		ssize_t n = read(fd, data + len, size - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (data == NULL || len != size) {
		snprintf(error, sizeof(error), "read(%s) failed", path);
		if (data != NULL)
			OPENSSL_clear_free(data, size + 1);
		*error_r = error;
		return -1;
	}
	*data_r = data;
	*len_r = len;
	return 0;
}

/* no_passphrase refuses encrypted keys: nobody is there to type one. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* verify_self_test signs a fixed digest the way a handshake would and
 * checks the signature with the certificate's public key.  Returns 0, or
 * -1 with *error_r. */
static int verify_self_test(const struct keys_key *key, X509 *cert, const char **error_r)
{
	unsigned char digest[32], sig[IPC_KEY_MAX_SIGNATURE], block[IPC_KEY_MAX_INPUT];
	size_t siglen;
	const char *why;
	const unsigned char *input = digest;
	size_t input_len = sizeof(digest);

	memset(digest, 0x5a, sizeof(digest));
	if (key->rsa) {
		/* EMSA-PKCS1-v1_5 over the SHA-256 DigestInfo, built here. */
		size_t t = sizeof(di_sha256) + sizeof(digest);
		memset(block, 0xff, key->modulus_len);
		block[0] = 0x00;
		block[1] = 0x01;
		block[key->modulus_len - t - 1] = 0x00;
		memcpy(block + key->modulus_len - t, di_sha256, sizeof(di_sha256));
		memcpy(block + key->modulus_len - sizeof(digest), digest, sizeof(digest));
		input = block;
		input_len = key->modulus_len;
	}
	if (keys_key_sign(key, key->rsa ? IPC_KEY_OP_RSA_RAW : IPC_KEY_OP_ECDSA, input, input_len,
			  sig, sizeof(sig), &siglen, &why) != IPC_KEY_OK) {
		*error_r = why;
		return -1;
	}
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, X509_get0_pubkey(cert), NULL);
	int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		 (!key->rsa || (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
				EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1)) &&
		 EVP_PKEY_verify(ctx, sig, siglen, digest, sizeof(digest)) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		*error_r = "the key's self-test signature does not verify with the certificate";
		return -1;
	}
	return 0;
}

/* describe fills key's type and sizes; -1 with *error_r if it is neither
 * EC nor RSA, or too big for the IPC bounds. */
static int describe(struct keys_key *key, const char **error_r)
{
	char group[32];

	if (EVP_PKEY_is_a(key->pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(key->pkey);
		int size = EVP_PKEY_get_size(key->pkey);
		if (bits <= 0 || size <= 0 || size > IPC_KEY_MAX_INPUT) {
			*error_r = "RSA keys above 8192 bits are not supported";
			return -1;
		}
		key->rsa = true;
		key->modulus_bits = (unsigned)bits;
		key->modulus_len = (size_t)size;
		snprintf(key->type, sizeof(key->type), "RSA %d", bits);
		return 0;
	}
	if (EVP_PKEY_is_a(key->pkey, "EC")) {
		if (EVP_PKEY_get_size(key->pkey) > IPC_KEY_MAX_SIGNATURE ||
		    EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), NULL) != 1) {
			*error_r = "the EC key's curve is not supported";
			return -1;
		}
		snprintf(key->type, sizeof(key->type), "EC %s", group);
		return 0;
	}
	*error_r = "only EC and RSA private keys are supported";
	return -1;
}

int keys_key_load(const char *cert_path, const char *key_path, struct keys_key **key_r,
		  const char **error_r)
{
	unsigned char *pem = NULL;
	size_t len = 0;
	X509 *cert = NULL;
	struct keys_key *key = calloc(1, sizeof(*key));

	if (key == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (read_pem(key_path, &pem, &len, error_r) < 0)
		goto fail;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	key->pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_clear_free(pem, len + 1);
	if (key->pkey == NULL) {
		*error_r = tls_error();
		goto fail;
	}
	if (describe(key, error_r) < 0)
		goto fail;
	if (read_pem(cert_path, &pem, &len, error_r) < 0)
		goto fail;
	bio = BIO_new_mem_buf(pem, (int)len);
	cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(pem);
	if (cert == NULL) {
		*error_r = tls_error();
		goto fail;
	}
	if (X509_check_private_key(cert, key->pkey) != 1) {
		*error_r = "the private key does not belong to the certificate";
		goto fail;
	}
	if (verify_self_test(key, cert, error_r) < 0)
		goto fail;
	X509_free(cert);
	*key_r = key;
	return 0;
fail:
	X509_free(cert);
	keys_key_free(&key);
	return -1;
}

void keys_key_free(struct keys_key **keyp)
{
	struct keys_key *key = *keyp;
	if (key == NULL)
		return;
	*keyp = NULL;
	EVP_PKEY_free(key->pkey);
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
}

const char *keys_key_type(const struct keys_key *key)
{
	return key->type;
}

/* mgf1 fills mask (len bytes) with MGF1(seed) under md (RFC 8017 B.2.1).
 * Returns 0 or -1. */
static int mgf1(unsigned char *mask, size_t len, const unsigned char *seed, size_t seed_len,
		const EVP_MD *md)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int out_len;
	size_t done = 0;
	int ret = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	for (uint32_t counter = 0; ctx != NULL && done < len; counter++) {
		unsigned char c[4] = { (unsigned char)(counter >> 24), (unsigned char)(counter >> 16),
				       (unsigned char)(counter >> 8), (unsigned char)counter };
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, seed, seed_len) != 1 ||
		    EVP_DigestUpdate(ctx, c, sizeof(c)) != 1 ||
		    EVP_DigestFinal_ex(ctx, out, &out_len) != 1) {
			ret = -1;
			break;
		}
		size_t n = out_len < len - done ? out_len : len - done;
		memcpy(mask + done, out, n);
		done += n;
	}
	EVP_MD_CTX_free(ctx);
	return ctx != NULL ? ret : -1;
}

/* pss_shaped says whether block (k bytes, for a modulus of mod_bits) is an
 * EMSA-PSS encoding under md with a salt as long as the hash, as libssl
 * makes for TLS 1.3 and 1.2 (RFC 8017 9.1.2 steps 4 to 10; step 11 needs
 * the message, which keys never sees).  Checking the unmasked structure,
 * not just the 0xbc byte, matters: a pre-auth process could otherwise
 * blind a chosen value until it looks right (1 try in 512) and have keys
 * compute any c^d mod n, i.e. decrypt. */
static bool pss_shaped(const unsigned char *block, size_t k, unsigned mod_bits,
		       const EVP_MD *md)
{
	unsigned char db[IPC_KEY_MAX_INPUT];
	unsigned em_bits = mod_bits - 1;
	size_t em_len = (em_bits + 7) / 8;
	size_t h_len = (size_t)EVP_MD_get_size(md);
	unsigned zero_bits = 8 * (unsigned)em_len - em_bits;

	/* A modulus of 8n+1 bits leaves a leading zero byte before EM. */
	if (k - em_len == 1 && block[0] != 0x00)
		return false;
	const unsigned char *em = block + (k - em_len);
	if (em_len < 2 * h_len + 2 || em[em_len - 1] != 0xbc ||
	    (em[0] & (0xff00u >> zero_bits) & 0xffu) != 0)
		return false;
	size_t db_len = em_len - h_len - 1;
	if (mgf1(db, db_len, em + db_len, h_len, md) < 0)
		return false;
	for (size_t i = 0; i < db_len; i++)
		db[i] ^= em[i];
	db[0] &= (unsigned char)(0xffu >> zero_bits);
	size_t ps_len = db_len - h_len - 1;
	unsigned char bad = 0;
	for (size_t i = 0; i < ps_len; i++)
		bad |= db[i];
	bool ok = bad == 0 && db[ps_len] == 0x01;
	OPENSSL_cleanse(db, db_len);
	return ok;
}

/* pkcs1_shaped says whether block (k bytes) is 00 01 FF..FF 00 DigestInfo
 * for one of the hashes in digest_infos: fixed bytes except the hash, so
 * blinding cannot produce one. */
static bool pkcs1_shaped(const unsigned char *block, size_t k)
{
	size_t i = 2;

	if (k < 3 + KEYS_PKCS1_MIN_PS || block[0] != 0x00 || block[1] != 0x01)
		return false;
	while (i < k && block[i] == 0xff)
		i++;
	if (i - 2 < KEYS_PKCS1_MIN_PS || i == k || block[i] != 0x00)
		return false;
	const unsigned char *t = block + i + 1;
	size_t t_len = k - i - 1;
	for (size_t d = 0; d < sizeof(digest_infos) / sizeof(digest_infos[0]); d++) {
		if (t_len == digest_infos[d].prefix_len + digest_infos[d].hash_len &&
		    memcmp(t, digest_infos[d].prefix, digest_infos[d].prefix_len) == 0)
			return true;
	}
	return false;
}

/* refusal says why input is not a handshake-shaped op for key, or NULL. */
static const char *refusal(const struct keys_key *key, uint64_t op, const unsigned char *input,
			   size_t len)
{
	if (op == IPC_KEY_OP_ECDSA) {
		if (key->rsa)
			return "ECDSA asked of an RSA key";
		if (len != 20 && len != 28 && len != 32 && len != 48 && len != 64)
			return "ECDSA input is not a digest's length";
		return NULL;
	}
	if (op == IPC_KEY_OP_RSA_RAW) {
		if (!key->rsa)
			return "RSA asked of an EC key";
		if (len != key->modulus_len)
			return "RSA input is not the modulus' size";
		if (pkcs1_shaped(input, len) ||
		    pss_shaped(input, len, key->modulus_bits, EVP_sha256()) ||
		    pss_shaped(input, len, key->modulus_bits, EVP_sha384()) ||
		    pss_shaped(input, len, key->modulus_bits, EVP_sha512()))
			return NULL;
		return "RSA input is neither a PSS nor a PKCS#1 v1.5 signature block";
	}
	return "unknown operation";
}

enum ipc_key_status keys_key_sign(const struct keys_key *key, uint64_t op,
				  const unsigned char *input, size_t len, unsigned char *out,
				  size_t size, size_t *outlen_r, const char **why_r)
{
	const char *why = refusal(key, op, input, len);
	if (why != NULL) {
		*why_r = why;
		return IPC_KEY_REFUSED;
	}
	size_t outlen = size;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	/* No digest is set: the input is a digest (ECDSA) or a whole padded
	 * block (RSA without padding), checked above. */
	int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		 (!key->rsa || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1) &&
		 EVP_PKEY_sign(ctx, out, &outlen, input, len) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		*why_r = tls_error();
		return IPC_KEY_FAILED;
	}
	*outlen_r = outlen;
	return IPC_KEY_OK;
}

void keys_bucket_init(struct keys_bucket *b, unsigned burst, unsigned per_second,
		      uint64_t now_ms)
{
	b->burst = burst;
	b->per_second = per_second;
	b->millitokens = (uint64_t)burst * 1000;
	b->last_ms = now_ms;
}

bool keys_bucket_ready(struct keys_bucket *b, uint64_t now_ms)
{
	uint64_t full = (uint64_t)b->burst * 1000;
	if (now_ms > b->last_ms) {
		/* Capped so that the product cannot overflow; a bucket is full
		 * long before (burst / per_second seconds). */
		uint64_t elapsed = now_ms - b->last_ms;
		if (elapsed > 1000 * 1000)
			elapsed = 1000 * 1000;
		/* ms times signatures per second is thousandths of a signature. */
		b->millitokens += elapsed * b->per_second;
		if (b->millitokens > full)
			b->millitokens = full;
		b->last_ms = now_ms;
	}
	return b->millitokens >= 1000;
}

void keys_bucket_take(struct keys_bucket *b)
{
	assert(b->millitokens >= 1000);
	b->millitokens -= 1000;
}
