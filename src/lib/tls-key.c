/* tls-key: private-key operations forwarded to the keys process (see
 * tls-key.h). */

/* A key whose EC_KEY_METHOD or RSA_METHOD is not OpenSSL's own is a
 * "foreign" legacy key to OpenSSL 3: libcrypto then calls the method for
 * the private operations instead of a provider, which is how OpenSMTPD's
 * ca.c keeps its key in another process.  Those method APIs are deprecated
 * in 3.0 (the replacement is a whole provider); only this file uses them. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "tls-key.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"

/* The link to keys, and the id of the last request on it. */
static int key_fd = -1;
static uint64_t last_id;
/* Made once per process, never freed: every remote key shares them. */
static EC_KEY_METHOD *ec_method;
static RSA_METHOD *rsa_method;

void tls_key_set_fd(int fd)
{
	key_fd = fd;
}

/* remote_sign sends op and input to keys and waits for the answer; on
 * IPC_KEY_OK it copies the signature (at most size bytes) into out and
 * returns 0 with *outlen set.  Anything else (no link, timeout, refusal,
 * a malformed or mismatched reply) returns -1, logged. */
static int remote_sign(enum ipc_key_op op, const unsigned char *input, size_t len,
		       unsigned char *out, size_t size, size_t *outlen)
{
	unsigned char reply[sizeof(struct ipc_header) + 16 + IPC_KEY_MAX_SIGNATURE];
	struct ipc_msg msg;
	struct ipc_reader r;
	struct buf req;

	if (key_fd < 0 || len > IPC_KEY_MAX_INPUT) {
		log_error("TLS signature: %s", key_fd < 0 ? "no link to keys" : "input too long");
		return -1;
	}
	uint64_t id = ++last_id;
	buf_init(&req, 16 + IPC_KEY_MAX_INPUT);
	int sent = -1;
	if (ipc_put_u64(&req, (uint64_t)op) == 0 &&
	    ipc_put_str(&req, str_from((const char *)input, len)) == 0)
		sent = ipc_send_blocking(key_fd, IPC_KEY_SIGN, id, req.data, req.len, -1);
	buf_free(&req);
	if (sent < 0) {
		log_error("TLS signature: sending to keys failed: %m");
		return -1;
	}
	if (ipc_recv_blocking(key_fd, &msg, reply, sizeof(reply), TLS_KEY_TIMEOUT_MS) < 0) {
		log_error("TLS signature: no answer from keys: %m");
		return -1;
	}
	if (msg.kind != IPC_KEY_SIGNATURE || msg.id != id) {
		/* One request is outstanding at a time, so anything else is a
		 * broken peer; the handshake fails rather than guess. */
		log_error("TLS signature: keys answered %s #%llu to request #%llu",
			  ipc_kind_name(msg.kind), (unsigned long long)msg.id,
			  (unsigned long long)id);
		if (msg.fd >= 0)
			close(msg.fd);
		return -1;
	}
	ipc_reader_init(&r, &msg);
	uint64_t status = ipc_get_u64(&r);
	struct str sig = ipc_get_str(&r, IPC_KEY_MAX_SIGNATURE);
	if (!ipc_reader_ok(&r) || status != IPC_KEY_OK || sig.len > size) {
		const char *what = !ipc_reader_ok(&r) ? "sent a malformed answer to"
				   : status == IPC_KEY_REFUSED ? "refused"
				   : status == IPC_KEY_FAILED ? "could not sign"
				   : "gave an unusable answer to";
		log_error("TLS signature: keys %s the request", what);
		return -1;
	}
	memcpy(out, sig.ptr, sig.len);
	*outlen = sig.len;
	return 0;
}

/* ec_sign is ECDSA_sign for a remote key: the DER signature of dgst from
 * keys, checked to be one DER ECDSA-Sig-Value that fits ECDSA_size. */
static int ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
		   unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	int max = ECDSA_size(eckey);
	size_t len;
	(void)type;
	(void)kinv;
	(void)r;

	*siglen = 0;
	if (dlen < 0 || max <= 0 || remote_sign(IPC_KEY_OP_ECDSA, dgst, (size_t)dlen, sig,
						(size_t)max, &len) < 0)
		return 0;
	const unsigned char *p = sig;
	ECDSA_SIG *parsed = d2i_ECDSA_SIG(NULL, &p, (long)len);
	ECDSA_SIG_free(parsed);
	if (parsed == NULL || p != sig + len) {
		log_error("TLS signature: keys sent a malformed ECDSA signature");
		return 0;
	}
	*siglen = (unsigned int)len;
	return 1;
}

/* ec_sign_setup refuses: a remote key has no local nonce to prepare. */
static int ec_sign_setup(EC_KEY *eckey, BN_CTX *ctx, BIGNUM **kinv, BIGNUM **r)
{
	(void)eckey;
	(void)ctx;
	(void)kinv;
	(void)r;
	return 0;
}

/* ec_sign_sig is ECDSA_do_sign for a remote key (a new ECDSA_SIG or NULL). */
static ECDSA_SIG *ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
			      const BIGNUM *r, EC_KEY *eckey)
{
	unsigned char der[IPC_KEY_MAX_SIGNATURE];
	unsigned int len;

	if (ECDSA_size(eckey) > (int)sizeof(der) ||
	    ec_sign(0, dgst, dlen, der, &len, kinv, r, eckey) != 1)
		return NULL;
	const unsigned char *p = der;
	return d2i_ECDSA_SIG(NULL, &p, (long)len);
}

/* rsa_priv_enc is the RSA private operation for a remote key.  libcrypto
 * calls it with RSA_PKCS1_PADDING and a DigestInfo (PKCS#1 v1.5
 * signatures, TLS 1.2), which is padded here to 00 01 FF..FF 00
 * DigestInfo, or with RSA_NO_PADDING and a block it has already given
 * EMSA-PSS padding.  Either way keys gets one modulus-sized block and
 * returns block^d mod n.  Returns the signature's length or -1. */
static int rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
			int padding)
{
	unsigned char block[IPC_KEY_MAX_INPUT];
	int k = RSA_size(rsa);
	size_t len;

	if (k <= 0 || k > (int)sizeof(block) || flen < 0)
		return -1;
	if (padding == RSA_PKCS1_PADDING) {
		if (RSA_padding_add_PKCS1_type_1(block, k, from, flen) != 1)
			return -1;
	} else if (padding == RSA_NO_PADDING && flen == k) {
		memcpy(block, from, (size_t)k);
	} else {
		log_error("TLS signature: RSA padding %d is not forwarded to keys", padding);
		return -1;
	}
	if (remote_sign(IPC_KEY_OP_RSA_RAW, block, (size_t)k, to, (size_t)k, &len) < 0 ||
	    len != (size_t)k)
		return -1;
	return k;
}

/* rsa_priv_dec refuses: keys signs and never decrypts, so a pre-auth
 * process cannot use it as an RSA decryption oracle. */
static int rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
			int padding)
{
	(void)flen;
	(void)from;
	(void)to;
	(void)rsa;
	(void)padding;
	return -1;
}

/* make_methods builds the two methods once: OpenSSL's own, with the
 * private operations replaced.  Returns 0 or -1. */
static int make_methods(void)
{
	if (ec_method == NULL) {
		EC_KEY_METHOD *m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
		if (m == NULL)
			return -1;
		EC_KEY_METHOD_set_sign(m, ec_sign, ec_sign_setup, ec_sign_sig);
		ec_method = m;
	}
	if (rsa_method == NULL) {
		RSA_METHOD *m = RSA_meth_dup(RSA_PKCS1_OpenSSL());
		if (m == NULL || RSA_meth_set1_name(m, "ravelin keys process") != 1 ||
		    RSA_meth_set_priv_enc(m, rsa_priv_enc) != 1 ||
		    RSA_meth_set_priv_dec(m, rsa_priv_dec) != 1 ||
		    RSA_meth_set_flags(m, RSA_meth_get_flags(m) | RSA_FLAG_EXT_PKEY) != 1) {
			RSA_meth_free(m);
			return -1;
		}
		rsa_method = m;
	}
	return 0;
}

/* remote_ec wraps a copy of pub's EC key, with the remote method, in a new
 * EVP_PKEY (NULL on failure).  The method must be set before the key is
 * assigned: OpenSSL decides then that the key is foreign. */
static EVP_PKEY *remote_ec(EVP_PKEY *pub)
{
	const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(pub);
	EC_KEY *copy = ec != NULL ? EC_KEY_dup(ec) : NULL;
	EVP_PKEY *key = EVP_PKEY_new();

	if (copy == NULL || key == NULL || EC_KEY_set_method(copy, ec_method) != 1 ||
	    EVP_PKEY_assign_EC_KEY(key, copy) != 1) {
		EC_KEY_free(copy);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* remote_rsa does the same for an RSA key. */
static EVP_PKEY *remote_rsa(EVP_PKEY *pub)
{
	const RSA *rsa = EVP_PKEY_get0_RSA(pub);
	RSA *copy = rsa != NULL ? RSAPublicKey_dup(rsa) : NULL;
	EVP_PKEY *key = EVP_PKEY_new();

	if (copy == NULL || key == NULL || RSA_set_method(copy, rsa_method) != 1 ||
	    EVP_PKEY_assign_RSA(key, copy) != 1) {
		RSA_free(copy);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

EVP_PKEY *tls_key_remote(X509 *cert, const char **error_r)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	EVP_PKEY *key = NULL;

	if (pub == NULL) {
		*error_r = "the certificate's public key cannot be read";
		return NULL;
	}
	if (make_methods() < 0) {
		*error_r = tls_error();
		return NULL;
	}
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_EC:
		key = remote_ec(pub);
		break;
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_size(pub) > IPC_KEY_MAX_INPUT) {
			*error_r = "RSA keys above 8192 bits are not supported";
			return NULL;
		}
		key = remote_rsa(pub);
		break;
	default:
		*error_r = "only EC and RSA certificate keys are supported";
		return NULL;
	}
	if (key == NULL)
		*error_r = tls_error();
	return key;
}
