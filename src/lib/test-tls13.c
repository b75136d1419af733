/*
 * Unit tests for tls13: the RFC 8448 section 3 trace, a live connection
 * whose handshake OpenSSL made and whose server side we then take over (for
 * each suite), key updates, buffer limits and hostile records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "lib/tls13.h"

#define TEST_BUF_MAX (1 << 20)

/* unhex decodes hex digits (spaces ignored) into out; returns the length. */
static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1;
	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		int v = str_hex_digit(*s);
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < max);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

/* buf_hex replaces b's contents with the decoded hex string. */
static void buf_hex(struct buf *b, const char *s)
{
	uint8_t tmp[512];
	buf_reset(b);
	assert_int_equal(buf_append(b, tmp, unhex(s, tmp, sizeof(tmp))), 0);
}

/* RFC 8448 section 3, "Simple 1-RTT Handshake": the application traffic
 * secrets, the keys and IVs derived from them, and the protected records
 * sent after the handshake.  The server's NewSessionTicket took its record
 * number 0, so its application data is record 1 and its alert record 2. */
static const char rfc_c_secret[] =
	"9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5";
static const char rfc_s_secret[] =
	"a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";
static const char rfc_c_iv[] = "5b 78 92 3d ee 08 57 90 33 e5 23 d9";
static const char rfc_s_iv[] = "cf 78 2b 88 dd 83 54 9a ad f1 e9 84";
static const char rfc_c_key[] = "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51";
static const char rfc_s_key[] = "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56";
static const char rfc_s_ticket[] =
	"17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24"
	"0e 6c ff ac 11 6e 95 d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a"
	"01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3 8e fb cf 57 53 ad 8e f1"
	"70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0"
	"9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15"
	"13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77"
	"f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac 87 aa c3"
	"47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74"
	"bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b"
	"3b 6c 67 79 b3 7b f1 59 85 68 4f";
static const char rfc_c_data[] =
	"17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea"
	"42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b"
	"62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";
static const char rfc_s_data[] =
	"17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc"
	"32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8"
	"fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";
static const char rfc_c_alert[] =
	"17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
static const char rfc_s_alert[] =
	"17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

/* assert_buf_hex checks that b holds exactly the bytes of the hex string. */
static void assert_buf_hex(const struct buf *b, const char *s)
{
	uint8_t want[512];
	size_t n = unhex(s, want, sizeof(want));
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

/* rfc_key_check encrypts one block with EVP under the RFC's key and IV and
 * with a tls13 state, proving the state derived that key (the key itself
 * never leaves the cipher context). */
static void rfc_key_check(struct tls13 *t, const char *key_hex, const char *iv_hex, uint64_t seq)
{
	uint8_t key[16], iv[12], want[64], tag[16];
	const uint8_t msg[3] = { 'a', 'b', TLS13_APPLICATION_DATA };
	int n = 0;
	struct buf out;

	assert_int_equal(unhex(key_hex, key, sizeof(key)), 16);
	assert_int_equal(unhex(iv_hex, iv, sizeof(iv)), 12);
	assert_memory_equal(t->write.iv, iv, 12);
	for (int i = 0; i < 8; i++)
		iv[11 - i] ^= (uint8_t)(seq >> (8 * i));
	const uint8_t aad[5] = { 23, 3, 3, 0, 3 + 16 };
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, aad, 5), 1);
	assert_int_equal(EVP_EncryptUpdate(c, want, &n, msg, 3), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, want + n, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(c);
	buf_init(&out, TEST_BUF_MAX);
	assert_int_equal(tls13_write(t, "ab", 2, &out), 0);
	assert_int_equal(out.len, 5 + 3 + 16);
	assert_memory_equal(out.data, aad, 5);
	assert_memory_equal(out.data + 5, want, 3);
	assert_memory_equal(out.data + 8, tag, 16);
	buf_free(&out);
}

/* Keys and IVs from the RFC 8448 secrets, for each direction. */
static void test_rfc8448_keys(void **state)
{
	uint8_t cs[32], ss[32];
	struct tls13 server, client;
	const char *error = NULL;
	(void)state;

	unhex(rfc_c_secret, cs, sizeof(cs));
	unhex(rfc_s_secret, ss, sizeof(ss));
	assert_int_equal(tls13_init(&server, TLS13_AES_128_GCM_SHA256, cs, ss, 32, 0, 7, &error), 0);
	rfc_key_check(&server, rfc_s_key, rfc_s_iv, 7);
	/* The client's view is the same code with the secrets swapped. */
	assert_int_equal(tls13_init(&client, TLS13_AES_128_GCM_SHA256, ss, cs, 32, 0, 0, &error), 0);
	rfc_key_check(&client, rfc_c_key, rfc_c_iv, 0);
	tls13_clear(&server);
	tls13_clear(&client);
}

/* The RFC 8448 records: the client's data and close_notify decrypt, and our
 * data and close_notify come out byte for byte as the RFC's server sent. */
static void test_rfc8448_records(void **state)
{
	uint8_t cs[32], ss[32], payload[50];
	struct tls13 t, mirror;
	struct buf in, plain, out;
	const char *error = NULL;
	(void)state;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	unhex(rfc_c_secret, cs, sizeof(cs));
	unhex(rfc_s_secret, ss, sizeof(ss));
	buf_init(&in, TEST_BUF_MAX);
	buf_init(&plain, TEST_BUF_MAX);
	buf_init(&out, TEST_BUF_MAX);
	assert_int_equal(tls13_init(&t, TLS13_AES_128_GCM_SHA256, cs, ss, 32, 0, 1, &error), 0);
	buf_hex(&in, rfc_c_data);
	assert_int_equal(tls13_read(&t, &in, &plain, &out, &error), 1);
	assert_int_equal(in.len, 0);
	assert_int_equal(plain.len, sizeof(payload));
	assert_memory_equal(plain.data, payload, sizeof(payload));
	assert_int_equal(out.len, 0);

	assert_int_equal(tls13_write(&t, payload, sizeof(payload), &out), 0);
	assert_buf_hex(&out, rfc_s_data);
	buf_reset(&out);
	buf_hex(&in, rfc_c_alert);
	assert_int_equal(tls13_read(&t, &in, &plain, &out, &error), 0);
	assert_int_equal(t.alert_received, TLS13_ALERT_CLOSE_NOTIFY);
	assert_buf_hex(&out, rfc_s_alert);
	assert_int_equal(tls13_write(&t, "x", 1, &out), -1);
	tls13_clear(&t);

	/* Seen from the client, the server's record 0 is a NewSessionTicket:
	 * a handshake message we never accept after the handshake. */
	assert_int_equal(tls13_init(&mirror, TLS13_AES_128_GCM_SHA256, ss, cs, 32, 0, 0, &error), 0);
	buf_reset(&out);
	buf_hex(&in, rfc_s_ticket);
	assert_int_equal(tls13_read(&mirror, &in, &plain, &out, &error), -1);
	assert_int_equal(mirror.alert_sent, TLS13_ALERT_UNEXPECTED_MESSAGE);
	tls13_clear(&mirror);
	buf_free(&in);
	buf_free(&plain);
	buf_free(&out);
}

/* ---- our server against an OpenSSL client ---- */

struct e2e {
	SSL_CTX *sctx, *cctx;
	SSL *s, *c;
	BIO *s_in, *s_out, *c_in, *c_out;
	uint8_t client_secret[TLS13_MAX_SECRET], server_secret[TLS13_MAX_SECRET];
	size_t client_len, server_len;
};

/* keylog_secret stores the hex secret at the end of line if it has label. */
static void keylog_secret(const char *line, const char *label, uint8_t *secret, size_t *len)
{
	size_t label_len = strlen(label);
	if (strncmp(line, label, label_len) != 0 || line[label_len] != ' ')
		return;
	const char *hex = strrchr(line, ' ') + 1;
	*len = unhex(hex, secret, TLS13_MAX_SECRET);
}

/* keylog captures the two application traffic secrets on the server, as
 * the pre-auth process does before the hand-off. */
static void keylog(const SSL *ssl, const char *line)
{
	struct e2e *e = SSL_get_app_data(ssl);
	keylog_secret(line, "CLIENT_TRAFFIC_SECRET_0", e->client_secret, &e->client_len);
	keylog_secret(line, "SERVER_TRAFFIC_SECRET_0", e->server_secret, &e->server_len);
}

/* self_signed gives the server a fresh P-256 key and certificate. */
static void self_signed(SSL_CTX *ctx)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	assert_non_null(key);
	assert_non_null(cert);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	X509_NAME *name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* mem_bio makes a memory BIO that reports "retry" rather than EOF when empty. */
static BIO *mem_bio(void)
{
	BIO *b = BIO_new(BIO_s_mem());
	assert_non_null(b);
	BIO_set_mem_eof_return(b, -1);
	return b;
}

/* bio_to_buf moves everything pending in b to the end of dst. */
static void bio_to_buf(BIO *b, struct buf *dst)
{
	char tmp[4096];
	int n;
	while ((n = BIO_read(b, tmp, sizeof(tmp))) > 0)
		assert_int_equal(buf_append(dst, tmp, (size_t)n), 0);
}

/* buf_to_bio moves all of src into b. */
static void buf_to_bio(struct buf *src, BIO *b)
{
	if (src->len > 0)
		assert_int_equal(BIO_write(b, src->data, (int)src->len), (int)src->len);
	buf_reset(src);
}

/* pump carries what each side wrote to the other. */
static void pump(struct e2e *e)
{
	struct buf tmp;
	buf_init(&tmp, TEST_BUF_MAX);
	bio_to_buf(e->c_out, &tmp);
	buf_to_bio(&tmp, e->s_in);
	bio_to_buf(e->s_out, &tmp);
	buf_to_bio(&tmp, e->c_in);
	buf_free(&tmp);
}

/* e2e_start runs a TLS 1.3 handshake in memory with only ciphersuite. */
static void e2e_start(struct e2e *e, const char *ciphersuite)
{
	memset(e, 0, sizeof(*e));
	e->sctx = SSL_CTX_new(TLS_server_method());
	e->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(e->sctx);
	assert_non_null(e->cctx);
	for (int i = 0; i < 2; i++) {
		SSL_CTX *ctx = i == 0 ? e->sctx : e->cctx;
		SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
		assert_int_equal(SSL_CTX_set_ciphersuites(ctx, ciphersuite), 1);
	}
	SSL_CTX_set_num_tickets(e->sctx, 0);
	SSL_CTX_set_keylog_callback(e->sctx, keylog);
	self_signed(e->sctx);
	SSL_CTX_set_verify(e->cctx, SSL_VERIFY_NONE, NULL);
	e->s = SSL_new(e->sctx);
	e->c = SSL_new(e->cctx);
	SSL_set_app_data(e->s, e);
	e->s_in = mem_bio();
	e->s_out = mem_bio();
	e->c_in = mem_bio();
	e->c_out = mem_bio();
	SSL_set_bio(e->s, e->s_in, e->s_out);
	SSL_set_bio(e->c, e->c_in, e->c_out);
	SSL_set_accept_state(e->s);
	SSL_set_connect_state(e->c);
	int done_s = 0, done_c = 0;
	for (int round = 0; round < 20 && !(done_s && done_c); round++) {
		done_c = done_c || SSL_do_handshake(e->c) == 1;
		pump(e);
		done_s = done_s || SSL_do_handshake(e->s) == 1;
		pump(e);
	}
	assert_true(done_s && done_c);
	assert_int_equal(SSL_version(e->s), TLS1_3_VERSION);
}

/* e2e_free releases both OpenSSL ends (the BIOs go with them). */
static void e2e_free(struct e2e *e)
{
	SSL_free(e->s);
	SSL_free(e->c);
	SSL_CTX_free(e->sctx);
	SSL_CTX_free(e->cctx);
}

/* pattern fills p with bytes that depend on the position and a seed. */
static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* ssl_read_exact reads n bytes from ssl (all already in its BIO). */
static void ssl_read_exact(SSL *ssl, uint8_t *dst, size_t n)
{
	size_t got = 0;
	while (got < n) {
		int r = SSL_read(ssl, dst + got, (int)(n - got));
		assert_true(r > 0);
		got += (size_t)r;
	}
}

/* ssl_write_all writes n bytes with one SSL_write (OpenSSL splits it into
 * records of at most 2^14); returns the number of records. */
static uint64_t ssl_write_all(SSL *ssl, const uint8_t *p, size_t n)
{
	assert_int_equal(SSL_write(ssl, p, (int)n), (int)n);
	return (n + TLS13_MAX_PLAINTEXT - 1) / TLS13_MAX_PLAINTEXT;
}

/* e2e_warm_up sends some records each way through OpenSSL so the record
 * numbers are not 0 at the hand-off, and counts them. */
static void e2e_warm_up(struct e2e *e, uint64_t *read_seq, uint64_t *write_seq)
{
	uint8_t data[20000], got[20100];

	pattern(data, sizeof(data), 1);
	*write_seq = ssl_write_all(e->s, data, 100) + ssl_write_all(e->s, data, sizeof(data));
	*read_seq = ssl_write_all(e->c, data, 5) + ssl_write_all(e->c, data, 17000) +
		    ssl_write_all(e->c, data, 1);
	pump(e);
	ssl_read_exact(e->c, got, 100 + sizeof(data));
	ssl_read_exact(e->s, got, 5 + 17000 + 1);
	assert_memory_equal(got + 5, data, 17000);
}

/* e2e_suite takes over the server side of a connection OpenSSL set up with
 * ciphersuite and checks data, KeyUpdate and close_notify both ways. */
static void e2e_suite(const char *ciphersuite, uint16_t suite)
{
	static uint8_t data[40000], got[40000];
	struct e2e e;
	struct tls13 t;
	struct buf in, plain, out;
	uint64_t read_seq, write_seq;
	const char *error = NULL;

	e2e_start(&e, ciphersuite);
	assert_int_equal(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(e.s)), suite);
	e2e_warm_up(&e, &read_seq, &write_seq);
	/* A record the pre-auth process received but did not process. */
	assert_int_equal(SSL_write(e.c, "pending", 7), 7);
	pump(&e);

	buf_init(&in, TEST_BUF_MAX);
	buf_init(&plain, TEST_BUF_MAX);
	buf_init(&out, TEST_BUF_MAX);
	bio_to_buf(e.s_in, &in);
	assert_true(e.client_len == e.server_len && e.client_len > 0);
	assert_int_equal(tls13_init(&t, suite, e.client_secret, e.server_secret, e.client_len,
				    read_seq, write_seq, &error), 0);

	/* client -> us: several records, one write over 16 KB */
	pattern(data, sizeof(data), 2);
	ssl_write_all(e.c, data, 20000);
	ssl_write_all(e.c, data + 20000, 3);
	ssl_write_all(e.c, data + 20003, 9000);
	bio_to_buf(e.c_out, &in);
	assert_int_equal(tls13_read(&t, &in, &plain, &out, &error), 1);
	assert_int_equal(in.len, 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(plain.len, 7 + 29003);
	assert_memory_equal(plain.data, "pending", 7);
	assert_memory_equal(plain.data + 7, data, 29003);
	assert_int_equal(t.read.seq, read_seq + 1 + 2 + 1 + 1);

	/* us -> client */
	pattern(data, sizeof(data), 3);
	assert_int_equal(tls13_write(&t, data, sizeof(data), &out), 0);
	assert_int_equal(t.write.seq, write_seq + 3);
	buf_to_bio(&out, e.c_in);
	ssl_read_exact(e.c, got, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));

	/* The client updates its key and asks us to update ours. */
	assert_int_equal(SSL_key_update(e.c, SSL_KEY_UPDATE_REQUESTED), 1);
	assert_int_equal(SSL_write(e.c, "after update", 12), 12);
	bio_to_buf(e.c_out, &in);
	buf_reset(&plain);
	assert_int_equal(tls13_read(&t, &in, &plain, &out, &error), 1);
	assert_int_equal(plain.len, 12);
	assert_memory_equal(plain.data, "after update", 12);
	assert_int_equal(t.read.seq, 1);
	assert_int_equal(t.write.seq, 0);
	assert_int_equal(out.len, TLS13_CONTROL_RECORD);
	assert_int_equal(tls13_write(&t, "reply", 5, &out), 0);
	buf_to_bio(&out, e.c_in);
	ssl_read_exact(e.c, got, 5);
	assert_memory_equal(got, "reply", 5);

	/* The client closes; we answer with our close_notify. */
	assert_int_equal(SSL_shutdown(e.c), 0);
	bio_to_buf(e.c_out, &in);
	assert_int_equal(tls13_read(&t, &in, &plain, &out, &error), 0);
	buf_to_bio(&out, e.c_in);
	assert_int_equal(SSL_shutdown(e.c), 1);
	assert_int_equal(tls13_read(&t, &in, &plain, &out, &error), 0);

	tls13_clear(&t);
	const uint8_t zero[TLS13_MAX_SECRET] = { 0 };
	assert_memory_equal(t.read.secret, zero, sizeof(zero));
	assert_memory_equal(t.write.secret, zero, sizeof(zero));
	assert_null(t.read.ctx);
	buf_free(&in);
	buf_free(&plain);
	buf_free(&out);
	e2e_free(&e);
}

/* The takeover with each suite OpenSSL offers for TLS 1.3. */
static void test_openssl_aes128(void **state)
{
	(void)state;
	e2e_suite("TLS_AES_128_GCM_SHA256", TLS13_AES_128_GCM_SHA256);
}

static void test_openssl_aes256(void **state)
{
	(void)state;
	e2e_suite("TLS_AES_256_GCM_SHA384", TLS13_AES_256_GCM_SHA384);
}

static void test_openssl_chacha(void **state)
{
	(void)state;
	e2e_suite("TLS_CHACHA20_POLY1305_SHA256", TLS13_CHACHA20_POLY1305_SHA256);
}

/* ---- a server and a mirror that plays the client ---- */

struct pair {
	struct tls13 server, client;
	struct buf in, plain, out;
	const char *error;
};

/* pair_init sets up a server and a client-side mirror (the same code with
 * the secrets swapped) for suite at the given record numbers. */
static void pair_init(struct pair *p, uint16_t suite, uint64_t c2s_seq, uint64_t s2c_seq)
{
	uint8_t cs[TLS13_MAX_SECRET], ss[TLS13_MAX_SECRET];
	size_t len = suite == TLS13_AES_256_GCM_SHA384 ? 48 : 32;

	pattern(cs, sizeof(cs), 11);
	pattern(ss, sizeof(ss), 12);
	assert_int_equal(tls13_init(&p->server, suite, cs, ss, len, c2s_seq, s2c_seq, &p->error), 0);
	assert_int_equal(tls13_init(&p->client, suite, ss, cs, len, s2c_seq, c2s_seq, &p->error), 0);
	buf_init(&p->in, TEST_BUF_MAX);
	buf_init(&p->plain, TEST_BUF_MAX);
	buf_init(&p->out, TEST_BUF_MAX);
	p->error = NULL;
}

/* pair_free clears both states and frees the buffers. */
static void pair_free(struct pair *p)
{
	tls13_clear(&p->server);
	tls13_clear(&p->client);
	buf_free(&p->in);
	buf_free(&p->plain);
	buf_free(&p->out);
}

/* server_read runs the server on everything the client wrote to p->in. */
static int server_read(struct pair *p)
{
	return tls13_read(&p->server, &p->in, &p->plain, &p->out, &p->error);
}

/* client_read lets the mirror read what the server wrote to p->out. */
static int client_read(struct pair *p, struct buf *plain)
{
	struct buf back;
	buf_init(&back, TEST_BUF_MAX);
	int r = tls13_read(&p->client, &p->out, plain, &back, &p->error);
	buf_free(&back);
	return r;
}

/* expect_fatal feeds p->in to the server and checks it fails with alert,
 * that the alert reaches the client, and that the server stays dead. */
static void expect_fatal(struct pair *p, int alert)
{
	struct buf plain;
	buf_init(&plain, TEST_BUF_MAX);
	assert_int_equal(server_read(p), -1);
	assert_non_null(p->error);
	assert_int_equal(p->server.alert_sent, alert);
	assert_int_equal(client_read(p, &plain), -1);
	assert_int_equal(p->client.alert_received, alert);
	assert_int_equal(tls13_read(&p->server, &p->in, &p->plain, &p->out, &p->error), -1);
	assert_int_equal(tls13_write(&p->server, "x", 1, &p->out), -1);
	assert_int_equal(tls13_close_notify(&p->server, &p->out), -1);
	buf_free(&plain);
}

/* fatal_record checks that one record of inner type with content is fatal
 * with alert. */
static void fatal_record(uint8_t type, const char *content_hex, size_t padding, int alert)
{
	uint8_t content[64];
	struct pair p;
	size_t n = unhex(content_hex, content, sizeof(content));

	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	assert_int_equal(tls13_write_record(&p.client, type, content, n, padding, &p.in), 0);
	expect_fatal(&p, alert);
	pair_free(&p);
}

/* fatal_bytes checks that raw bytes as input are fatal with alert. */
static void fatal_bytes(const char *hex, int alert)
{
	struct pair p;
	pair_init(&p, TLS13_CHACHA20_POLY1305_SHA256, 0, 0);
	buf_hex(&p.in, hex);
	expect_fatal(&p, alert);
	pair_free(&p);
}

/* Every inner content type and handshake message we must refuse. */
static void test_hostile_inner(void **state)
{
	(void)state;
	fatal_record(99, "61", 0, TLS13_ALERT_UNEXPECTED_MESSAGE);
	fatal_record(TLS13_CHANGE_CIPHER_SPEC, "01", 0, TLS13_ALERT_UNEXPECTED_MESSAGE);
	/* all zeros: no content type at all */
	fatal_record(0, "", 7, TLS13_ALERT_UNEXPECTED_MESSAGE);
	/* KeyUpdate with bad lengths, a bad request value, trailing bytes */
	fatal_record(TLS13_HANDSHAKE, "18 00 00 02 00 00", 0, TLS13_ALERT_DECODE_ERROR);
	fatal_record(TLS13_HANDSHAKE, "18 00 00 00", 0, TLS13_ALERT_DECODE_ERROR);
	fatal_record(TLS13_HANDSHAKE, "18 01 00 01 00", 0, TLS13_ALERT_DECODE_ERROR);
	fatal_record(TLS13_HANDSHAKE, "18 00 00 01 02", 0, TLS13_ALERT_ILLEGAL_PARAMETER);
	fatal_record(TLS13_HANDSHAKE, "18 00 00 01 00 18 00 00 01 00", 0,
		     TLS13_ALERT_UNEXPECTED_MESSAGE);
	/* NewSessionTicket, ClientHello, Finished, an empty handshake record */
	fatal_record(TLS13_HANDSHAKE, "04 00 00 09 00 00 00 01 00 00 00 00 00", 0,
		     TLS13_ALERT_UNEXPECTED_MESSAGE);
	fatal_record(TLS13_HANDSHAKE, "01 00 00 00", 0, TLS13_ALERT_UNEXPECTED_MESSAGE);
	fatal_record(TLS13_HANDSHAKE, "14 00 00 20", 0, TLS13_ALERT_UNEXPECTED_MESSAGE);
	fatal_record(TLS13_HANDSHAKE, "", 0, TLS13_ALERT_UNEXPECTED_MESSAGE);
	/* an alert record holding other than exactly one alert */
	fatal_record(TLS13_ALERT, "01", 0, TLS13_ALERT_DECODE_ERROR);
	fatal_record(TLS13_ALERT, "01 00 01 00", 0, TLS13_ALERT_DECODE_ERROR);
}

/* Records broken outside the encryption, or failing to authenticate. */
static void test_hostile_outer(void **state)
{
	struct pair p;
	(void)state;

	/* wrong outer types: a handshake record, change_cipher_spec, alert */
	fatal_bytes("16 03 03 00 04 18 00 00 01", TLS13_ALERT_UNEXPECTED_MESSAGE);
	fatal_bytes("14 03 03 00 01 01", TLS13_ALERT_UNEXPECTED_MESSAGE);
	fatal_bytes("15 03 03 00 02 02 28", TLS13_ALERT_UNEXPECTED_MESSAGE);
	fatal_bytes("17 03 01 00 20", TLS13_ALERT_DECODE_ERROR);
	/* over 2^14 + 256: refused from the header alone */
	fatal_bytes("17 03 03 41 01", TLS13_ALERT_RECORD_OVERFLOW);
	fatal_bytes("17 03 03 ff ff", TLS13_ALERT_RECORD_OVERFLOW);
	/* too short for a tag and a type */
	fatal_bytes("17 03 03 00 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
		    TLS13_ALERT_BAD_RECORD_MAC);

	/* one flipped bit, in the body or in the tag */
	for (int where = 0; where < 2; where++) {
		pair_init(&p, TLS13_AES_256_GCM_SHA384, 5, 5);
		assert_int_equal(tls13_write(&p.client, "hello world", 11, &p.in), 0);
		p.in.data[where == 0 ? 7 : p.in.len - 1] ^= 0x01;
		expect_fatal(&p, TLS13_ALERT_BAD_RECORD_MAC);
		pair_free(&p);
	}
	/* a record for another record number (a replay or a drop) */
	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	p.client.write.seq = 1;
	assert_int_equal(tls13_write(&p.client, "x", 1, &p.in), 0);
	expect_fatal(&p, TLS13_ALERT_BAD_RECORD_MAC);
	pair_free(&p);

	/* The largest legal records: 2^14 of content, or 2^14 of padding. */
	static uint8_t big[TLS13_MAX_PLAINTEXT];
	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	assert_int_equal(tls13_write_record(&p.client, TLS13_APPLICATION_DATA, big, sizeof(big), 0,
					    &p.in), 0);
	assert_int_equal(server_read(&p), 1);
	assert_int_equal(p.plain.len, sizeof(big));
	assert_int_equal(tls13_write_record(&p.client, TLS13_APPLICATION_DATA, big, sizeof(big), 1,
					    &p.in), -1);
	assert_int_equal(tls13_write_record(&p.client, TLS13_APPLICATION_DATA, "", 0,
					    TLS13_MAX_PLAINTEXT, &p.in), 0);
	assert_int_equal(server_read(&p), 1);
	pair_free(&p);
}

/* An inner plaintext one byte over 2^14 + 1, encrypted with EVP directly
 * (tls13 never makes one), is record_overflow. */
static void test_hostile_overflow(void **state)
{
	static uint8_t rec[TLS13_HEADER_SIZE + TLS13_MAX_PLAINTEXT + 2 + TLS13_TAG_SIZE];
	struct pair p;
	uint8_t nonce[TLS13_IV_SIZE];
	int n = 0;
	(void)state;

	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	size_t inner = TLS13_MAX_PLAINTEXT + 2, length = inner + TLS13_TAG_SIZE;
	rec[0] = 23;
	rec[1] = 3;
	rec[2] = 3;
	rec[3] = (uint8_t)(length >> 8);
	rec[4] = (uint8_t)length;
	rec[5] = TLS13_APPLICATION_DATA;  /* then zeros: type 23 at the front */
	memcpy(nonce, p.client.write.iv, sizeof(nonce));
	EVP_CIPHER_CTX *c = p.client.write.ctx;
	assert_int_equal(EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce), 1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, rec, 5), 1);
	assert_int_equal(EVP_EncryptUpdate(c, rec + 5, &n, rec + 5, (int)inner), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, rec + 5 + inner, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, rec + 5 + inner), 1);
	assert_int_equal(buf_append(&p.in, rec, sizeof(rec)), 0);
	expect_fatal(&p, TLS13_ALERT_RECORD_OVERFLOW);
	pair_free(&p);
}

/* A client's fatal alert ends the connection with no alert back. */
static void test_peer_alert(void **state)
{
	struct pair p;
	const uint8_t alert[2] = { 2, 40 };
	(void)state;

	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	assert_int_equal(tls13_write_record(&p.client, TLS13_ALERT, alert, 2, 0, &p.in), 0);
	assert_int_equal(server_read(&p), -1);
	assert_int_equal(p.server.alert_received, 40);
	assert_int_equal(p.server.alert_sent, -1);
	assert_int_equal(p.out.len, 0);
	pair_free(&p);
}

/* Record numbers never wrap: the last one is refused in both directions. */
static void test_sequence_overflow(void **state)
{
	struct pair p;
	struct buf plain;
	(void)state;

	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	tls13_clear(&p.server);
	uint8_t cs[32], ss[32];
	pattern(cs, sizeof(cs), 11);
	pattern(ss, sizeof(ss), 12);
	assert_int_equal(tls13_init(&p.server, TLS13_AES_128_GCM_SHA256, cs, ss, 32, UINT64_MAX,
				    UINT64_MAX, &p.error), 0);
	assert_int_equal(tls13_write(&p.client, "x", 1, &p.in), 0);
	assert_int_equal(server_read(&p), -1);
	assert_int_equal(p.in.len, 0);
	/* No alert either: it would need the spent write record number. */
	assert_int_equal(p.out.len, 0);
	pair_free(&p);

	/* A write side one short of the end rekeys and goes on at 0. */
	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, UINT64_MAX - 1);
	assert_int_equal(tls13_write(&p.server, "abc", 3, &p.out), 0);
	assert_int_equal(p.server.write.seq, 1);
	buf_init(&plain, TEST_BUF_MAX);
	assert_int_equal(client_read(&p, &plain), 1);
	assert_int_equal(plain.len, 3);
	assert_int_equal(p.client.read.seq, 1);
	buf_free(&plain);
	pair_free(&p);

	/* At the very end the write side cannot even send its KeyUpdate. */
	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, UINT64_MAX);
	assert_int_equal(tls13_write(&p.server, "abc", 3, &p.out), -1);
	assert_true(p.server.dead);
	pair_free(&p);
}

/* A partial record stays in in until the rest arrives, byte by byte too. */
static void test_partial(void **state)
{
	struct pair p;
	struct buf all;
	(void)state;

	pair_init(&p, TLS13_AES_128_GCM_SHA256, 3, 4);
	buf_init(&all, TEST_BUF_MAX);
	assert_int_equal(tls13_write(&p.client, "first", 5, &all), 0);
	size_t first = all.len;
	assert_int_equal(tls13_write(&p.client, "second", 6, &all), 0);
	assert_int_equal(buf_append(&p.in, all.data, all.len - 3), 0);
	assert_int_equal(server_read(&p), 1);
	assert_int_equal(p.in.len, all.len - 3 - first);
	assert_int_equal(p.plain.len, 5);
	assert_int_equal(buf_append(&p.in, all.data + all.len - 3, 3), 0);
	assert_int_equal(server_read(&p), 1);
	assert_int_equal(p.in.len, 0);
	assert_int_equal(p.plain.len, 11);
	assert_memory_equal(p.plain.data, "firstsecond", 11);

	/* byte by byte, with padding and a zero-length record in between */
	buf_reset(&all);
	buf_reset(&p.plain);
	assert_int_equal(tls13_write_record(&p.client, TLS13_APPLICATION_DATA, "pad", 3, 300, &all), 0);
	assert_int_equal(tls13_write_record(&p.client, TLS13_APPLICATION_DATA, "", 0, 0, &all), 0);
	assert_int_equal(tls13_write(&p.client, "end", 3, &all), 0);
	for (size_t i = 0; i < all.len; i++) {
		assert_int_equal(buf_append(&p.in, all.data + i, 1), 0);
		assert_int_equal(server_read(&p), 1);
	}
	assert_int_equal(p.in.len, 0);
	assert_int_equal(p.plain.len, 6);
	assert_memory_equal(p.plain.data, "padend", 6);
	assert_int_equal(p.out.len, 0);
	buf_free(&all);
	pair_free(&p);
}

/* tls13_read never grows plain past its maximum, and leaves the record
 * that would not fit for the next call. */
static void test_plain_limit(void **state)
{
	static uint8_t data[30000];
	struct pair p;
	(void)state;

	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	buf_free(&p.plain);
	buf_init(&p.plain, TLS13_MAX_PLAINTEXT);
	pattern(data, sizeof(data), 4);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tls13_write(&p.client, data + i * 10000, 10000, &p.in), 0);
	size_t got = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(server_read(&p), 1);
		assert_int_equal(p.plain.len, 10000);
		assert_memory_equal(p.plain.data, data + got, 10000);
		got += p.plain.len;
		buf_reset(&p.plain);
	}
	assert_int_equal(p.in.len, 0);

	/* A plain buffer smaller than one record could only stall: refused. */
	buf_free(&p.plain);
	buf_init(&p.plain, 100);
	assert_int_equal(tls13_write(&p.client, "x", 1, &p.in), 0);
	assert_int_equal(server_read(&p), -1);
	pair_free(&p);
}

/* tls13_write is all or nothing when out is short of room. */
static void test_write_limit(void **state)
{
	static uint8_t data[40000];
	struct pair p;
	struct buf small;
	(void)state;

	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	buf_init(&small, 30000);
	errno = 0;
	assert_int_equal(tls13_write(&p.server, data, sizeof(data), &small), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(small.len, 0);
	assert_int_equal(p.server.write.seq, 0);
	assert_int_equal(tls13_write(&p.server, data, 20000, &small), 0);
	assert_int_equal(p.server.write.seq, 2);
	assert_int_equal(small.len, 20000 + 2 * (5 + 1 + 16));
	assert_int_equal(tls13_write(&p.server, data, 0, &small), 0);
	assert_int_equal(small.len, 20000 + 2 * (5 + 1 + 16));
	buf_free(&small);
	pair_free(&p);
}

/* After TLS13_REKEY_RECORDS records we send a KeyUpdate on our own; a
 * KeyUpdate split across records is followed; a request is answered. */
static void test_key_update(void **state)
{
	struct pair p;
	struct buf plain, scratch;
	const uint8_t ku[5] = { 24, 0, 0, 1, 1 };
	(void)state;

	buf_init(&plain, TEST_BUF_MAX);
	buf_init(&scratch, TEST_BUF_MAX);
	pair_init(&p, TLS13_CHACHA20_POLY1305_SHA256, 0, TLS13_REKEY_RECORDS);
	assert_int_equal(tls13_write(&p.server, "abc", 3, &p.out), 0);
	assert_int_equal(p.out.len, TLS13_CONTROL_RECORD + 5 + 3 + 1 + 16);
	assert_int_equal(p.server.write.seq, 1);
	assert_int_equal(client_read(&p, &plain), 1);
	assert_int_equal(plain.len, 3);
	assert_int_equal(p.client.read.seq, 1);
	pair_free(&p);

	/* KeyUpdate(update_requested) in three records, then data under the
	 * client's next key (a second mirror that updated its write key). */
	pair_init(&p, TLS13_AES_256_GCM_SHA384, 9, 9);
	struct tls13 next;
	assert_int_equal(tls13_init(&next, TLS13_AES_256_GCM_SHA384, p.client.read.secret,
				    p.client.write.secret, 48, 9, 9, &p.error), 0);
	assert_int_equal(tls13_key_update(&next, false, &scratch), 0);
	assert_int_equal(tls13_write_record(&p.client, TLS13_HANDSHAKE, ku, 1, 0, &p.in), 0);
	assert_int_equal(tls13_write_record(&p.client, TLS13_HANDSHAKE, ku + 1, 2, 5, &p.in), 0);
	assert_int_equal(tls13_write_record(&p.client, TLS13_HANDSHAKE, ku + 3, 2, 0, &p.in), 0);
	assert_int_equal(tls13_write(&next, "new key", 7, &p.in), 0);
	assert_int_equal(server_read(&p), 1);
	assert_int_equal(p.plain.len, 7);
	assert_memory_equal(p.plain.data, "new key", 7);
	assert_int_equal(p.server.read.seq, 1);
	/* Our answer, then data under our next key, reach the client. */
	assert_int_equal(p.out.len, TLS13_CONTROL_RECORD);
	assert_int_equal(p.server.write.seq, 0);
	assert_int_equal(tls13_write(&p.server, "ok", 2, &p.out), 0);
	assert_int_equal(client_read(&p, &plain), 1);
	assert_int_equal(plain.len, 3 + 2);
	assert_memory_equal(plain.data + 3, "ok", 2);
	tls13_clear(&next);
	pair_free(&p);

	/* A KeyUpdate interleaved with application data is refused. */
	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	assert_int_equal(tls13_write_record(&p.client, TLS13_HANDSHAKE, ku, 2, 0, &p.in), 0);
	assert_int_equal(tls13_write(&p.client, "x", 1, &p.in), 0);
	expect_fatal(&p, TLS13_ALERT_UNEXPECTED_MESSAGE);
	pair_free(&p);

	/* After our close_notify a requested update is followed, not answered. */
	pair_init(&p, TLS13_AES_128_GCM_SHA256, 0, 0);
	assert_int_equal(tls13_close_notify(&p.server, &scratch), 0);
	assert_int_equal(tls13_close_notify(&p.server, &scratch), 0);
	assert_int_equal(tls13_write_record(&p.client, TLS13_HANDSHAKE, ku, 5, 0, &p.in), 0);
	assert_int_equal(server_read(&p), 1);
	assert_int_equal(p.out.len, 0);
	assert_int_equal(p.server.read.seq, 0);
	pair_free(&p);
	buf_free(&plain);
	buf_free(&scratch);
}

/* tls13_init refuses unknown suites and secrets of the wrong length. */
static void test_init_errors(void **state)
{
	struct tls13 t;
	uint8_t s[TLS13_MAX_SECRET] = { 0 };
	const char *error = NULL;
	struct buf b;
	(void)state;

	assert_int_equal(tls13_init(&t, 0x1304, s, s, 32, 0, 0, &error), -1);
	assert_non_null(error);
	tls13_clear(&t);
	assert_int_equal(tls13_init(&t, TLS13_AES_256_GCM_SHA384, s, s, 32, 0, 0, &error), -1);
	tls13_clear(&t);
	assert_int_equal(tls13_init(&t, TLS13_AES_128_GCM_SHA256, s, s, 48, 0, 0, &error), -1);
	/* A cleared state refuses everything. */
	buf_init(&b, TEST_BUF_MAX);
	assert_int_equal(tls13_write(&t, "x", 1, &b), -1);
	assert_int_equal(tls13_read(&t, &b, &b, &b, &error), -1);
	tls13_clear(&t);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8448_keys),
		cmocka_unit_test(test_rfc8448_records),
		cmocka_unit_test(test_openssl_aes128),
		cmocka_unit_test(test_openssl_aes256),
		cmocka_unit_test(test_openssl_chacha),
		cmocka_unit_test(test_hostile_inner),
		cmocka_unit_test(test_hostile_outer),
		cmocka_unit_test(test_hostile_overflow),
		cmocka_unit_test(test_peer_alert),
		cmocka_unit_test(test_sequence_overflow),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_plain_limit),
		cmocka_unit_test(test_write_limit),
		cmocka_unit_test(test_key_update),
		cmocka_unit_test(test_init_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
