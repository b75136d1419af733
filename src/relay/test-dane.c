/* Unit tests for dane: record usability, the meaning of a TLSA answer, and
 * real handshakes over a socketpair against a self-signed certificate made
 * here: a matching 3 1 1 or 3 0 1 record verifies, a mismatching one does
 * not, and PKIX passes only with the certificate in the store and naming
 * the MX host; the
 * client context reads its trust store at once, or refuses a missing one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "relay/dane.h"

static struct dns_record rec(uint8_t usage, uint8_t selector, uint8_t mtype, const void *data,
			     size_t len)
{
	return (struct dns_record){ .usage = usage, .selector = selector, .mtype = mtype,
				    .data = str_from(data, len) };
}

static void test_usable(void **state)
{
	(void)state;
	unsigned char h[64] = { 0 };
	struct dns_record r = rec(3, 1, 1, h, 32);
	assert_true(dane_record_usable(&r));
	r = rec(2, 0, 2, h, 64);
	assert_true(dane_record_usable(&r));
	r = rec(3, 1, 0, h, 10);
	assert_true(dane_record_usable(&r));
	r = rec(1, 1, 1, h, 32); /* PKIX-EE: unusable in SMTP */
	assert_false(dane_record_usable(&r));
	r = rec(0, 0, 1, h, 32); /* PKIX-TA */
	assert_false(dane_record_usable(&r));
	r = rec(3, 2, 1, h, 32);
	assert_false(dane_record_usable(&r));
	r = rec(3, 1, 3, h, 32);
	assert_false(dane_record_usable(&r));
	r = rec(3, 1, 1, h, 31); /* a SHA-256 one byte short */
	assert_false(dane_record_usable(&r));
	r = rec(3, 1, 2, h, 32);
	assert_false(dane_record_usable(&r));
}

static void test_classify(void **state)
{
	(void)state;
	unsigned char h[32] = { 0 };
	struct dns_record recs[2] = { rec(1, 1, 1, h, 32), rec(3, 1, 1, h, 32) };
	struct dns_answer a = { .status = DNS_OK, .secure = true, .count = 2, .records = recs };
	assert_int_equal(dane_classify(true, &a), DANE_USABLE);
	assert_int_equal(dane_classify(false, &a), DANE_NONE);
	assert_int_equal(dane_classify(true, NULL), DANE_NONE);
	a.count = 1;
	assert_int_equal(dane_classify(true, &a), DANE_UNUSABLE);
	a.secure = false;
	a.count = 2;
	assert_int_equal(dane_classify(true, &a), DANE_NONE);
	a.secure = true;
	a.status = DNS_NODATA;
	a.count = 0;
	assert_int_equal(dane_classify(true, &a), DANE_NONE);
	a.status = DNS_NXDOMAIN;
	assert_int_equal(dane_classify(true, &a), DANE_NONE);
	a.status = DNS_TEMPFAIL;
	a.secure = false;
	assert_int_equal(dane_classify(true, &a), DANE_FAILED);
	assert_int_equal(dane_classify(false, &a), DANE_NONE);
	a.status = DNS_BOGUS;
	assert_int_equal(dane_classify(true, &a), DANE_FAILED);
	assert_int_equal(dane_classify(false, &a), DANE_FAILED);
}

/* The server's key and self-signed certificate, made once. */
static EVP_PKEY *key;
static X509 *cert;  /* CN other.test */
static X509 *named; /* CN mx.b.test */
static char store_path[] = "/tmp/test-dane-XXXXXX";
static unsigned char spki_sha256[32];
static unsigned char cert_sha256[32];

/* self_signed makes a certificate for cn under key, signed by itself. */
static X509 *self_signed(const char *cn)
{
	X509 *c = X509_new();
	if (c == NULL)
		return NULL;
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_gmtime_adj(X509_getm_notBefore(c), -60);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_NAME *name = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, name);
	X509_set_pubkey(c, key);
	if (X509_sign(c, key, EVP_sha256()) == 0) {
		X509_free(c);
		return NULL;
	}
	return c;
}

static int make_cert(void **state)
{
	(void)state;
	key = EVP_EC_gen("P-256");
	if (key == NULL)
		return -1;
	cert = self_signed("other.test");
	named = self_signed("mx.b.test");
	if (cert == NULL || named == NULL)
		return -1;
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (len <= 0)
		return -1;
	EVP_Digest(der, (size_t)len, spki_sha256, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	unsigned int n = 0;
	X509_digest(cert, EVP_sha256(), cert_sha256, &n);
	/* Both certificates, as the trust store of the PKIX tests. */
	int fd = mkstemp(store_path);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (fp == NULL || PEM_write_X509(fp, cert) != 1 || PEM_write_X509(fp, named) != 1)
		return -1;
	fclose(fp);
	return 0;
}

static int free_cert(void **state)
{
	(void)state;
	unlink(store_path);
	X509_free(cert);
	X509_free(named);
	EVP_PKEY_free(key);
	return 0;
}

/* handshake_as connects a client SSL prepared for "mx.b.test" with auth
 * and tlsa, trusting ca_file (NULL: the system's), to a server presenting
 * server_cert, over a socketpair, and returns whether the client's check
 * passed (-1: handshake failed). */
static int handshake_as(X509 *server_cert, const char *ca_file, enum dane_auth auth,
			const struct dns_answer *tlsa)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	const char *error = NULL;
	SSL_CTX *cctx = dane_client_ctx_new(ca_file, &error);
	assert_non_null(sctx);
	assert_non_null(cctx);
	assert_int_equal(SSL_CTX_use_certificate(sctx, server_cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sctx, key), 1);
	SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
	SSL_set_fd(s, sv[0]);
	SSL_set_fd(c, sv[1]);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	if (dane_ssl_prepare(c, STR("mx.b.test"), auth, tlsa, &error) < 0)
		fail_msg("dane_ssl_prepare: %s", error);
	/* Both ends in one thread, non-blocking: each step runs until it
	 * wants to read what the other has not written yet. */
	int rc = 0, rs = 0;
	for (int round = 0; round < 20 && (rc != 1 || rs != 1); round++) {
		if (rc != 1) {
			rc = SSL_do_handshake(c);
			if (rc != 1 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
				break;
		}
		if (rs != 1) {
			rs = SSL_do_handshake(s);
			if (rs != 1 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ)
				break;
		}
	}
	int result = rc == 1 ? (dane_ssl_verified(c, auth) ? 1 : 0) : -1;
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	close(sv[0]);
	close(sv[1]);
	return result;
}

static int handshake(enum dane_auth auth, const struct dns_answer *tlsa)
{
	return handshake_as(cert, NULL, auth, tlsa);
}

static void test_handshake_dane(void **state)
{
	(void)state;
	unsigned char wrong[32];
	memcpy(wrong, spki_sha256, 32);
	wrong[0] ^= 1;
	struct dns_record match = rec(3, 1, 1, spki_sha256, 32);
	struct dns_record mismatch = rec(3, 1, 1, wrong, 32);
	struct dns_record cert_match = rec(3, 0, 1, cert_sha256, 32);
	struct dns_record ta_match = rec(2, 0, 1, cert_sha256, 32);
	struct dns_record pkix = rec(1, 1, 1, spki_sha256, 32);
	struct dns_answer a = { .status = DNS_OK, .secure = true, .count = 1, .records = &match };

	assert_int_equal(handshake(DANE_AUTH_DANE, &a), 1);
	a.records = &cert_match;
	assert_int_equal(handshake(DANE_AUTH_DANE, &a), 1);
	a.records = &mismatch;
	assert_int_equal(handshake(DANE_AUTH_DANE, &a), 0);
	/* DANE-TA(2) naming the leaf itself is no anchor: not verified. */
	a.records = &ta_match;
	assert_int_equal(handshake(DANE_AUTH_DANE, &a), 0);
	/* One matching record among others is enough. */
	struct dns_record two[2] = { mismatch, match };
	a.records = two;
	a.count = 2;
	assert_int_equal(handshake(DANE_AUTH_DANE, &a), 1);
	/* No usable record: DANE cannot be set up. */
	a.records = &pkix;
	a.count = 1;
	const char *error = NULL;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	assert_int_equal(dane_ctx_enable(cctx, &error), 0);
	SSL *c = SSL_new(cctx);
	assert_int_equal(dane_ssl_prepare(c, STR("mx.b.test"), DANE_AUTH_DANE, &a, &error), -1);
	assert_string_equal(error, "no usable TLSA record");
	assert_int_equal(dane_ssl_prepare(c, STR(""), DANE_AUTH_NONE, NULL, &error), -1);
	SSL_free(c);
	SSL_CTX_free(cctx);
}

static void test_handshake_other(void **state)
{
	(void)state;
	const char *error = NULL;
	assert_null(dane_client_ctx_new("/nonexistent/ca.pem", &error));
	assert_non_null(error);
	/* The system's bundle is in the store already, before any handshake. */
	SSL_CTX *ctx = dane_client_ctx_new(NULL, &error);
	assert_non_null(ctx);
	assert_true(sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx))) > 0);
	SSL_CTX_free(ctx);
	/* Opportunistic: anything goes. */
	assert_int_equal(handshake(DANE_AUTH_NONE, NULL), 1);
	/* PKIX with the system's store: a self-signed certificate does not chain. */
	assert_int_equal(handshake(DANE_AUTH_PKIX, NULL), 0);
	/* PKIX with a store that holds both: the chain is fine, and only the
	 * certificate naming the MX host passes. */
	assert_int_equal(handshake_as(cert, store_path, DANE_AUTH_PKIX, NULL), 0);
	assert_int_equal(handshake_as(named, store_path, DANE_AUTH_PKIX, NULL), 1);
	assert_int_equal(handshake_as(named, NULL, DANE_AUTH_PKIX, NULL), 0);
	/* Selector 1 names the key: another certificate of it still matches. */
	struct dns_record match = rec(3, 1, 1, spki_sha256, 32);
	struct dns_answer a = { .status = DNS_OK, .secure = true, .count = 1, .records = &match };
	assert_int_equal(handshake_as(named, NULL, DANE_AUTH_DANE, &a), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_handshake_dane),
		cmocka_unit_test(test_handshake_other),
	};
	return cmocka_run_group_tests(tests, make_cert, free_cert);
}
