/* Unit tests for dkim-tags and dkim-key: the tag=value grammar, its
 * bounds (each one past), base64 and key records of both types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/buf.h"
#include "mail-auth/dkim-key.h"
#include "mail-auth/dkim-tags.h"

static void test_tags_grammar(void **state)
{
	struct dkim_tags t;
	struct str v;
	const char *error;
	(void)state;

	assert_int_equal(dkim_tags_parse(STR(" v=1;\r\n\ta = rsa-sha256 ; h=from : to;x=;"), &t,
					 &error), 0);
	assert_int_equal(t.count, 4);
	assert_true(dkim_tags_get(&t, "a", &v) && str_eq(v, STR("rsa-sha256")));
	assert_true(dkim_tags_get(&t, "h", &v) && str_eq(v, STR("from : to")));
	assert_true(dkim_tags_get(&t, "x", &v) && v.len == 0);
	assert_false(dkim_tags_get(&t, "A", &v));
	assert_int_equal(dkim_tags_parse(STR(""), &t, &error), 0);
	assert_int_equal(t.count, 0);
	assert_int_equal(dkim_tags_parse(STR("a=1"), &t, &error), 0);
	/* Refused: a tag twice, no '=', empty tags, bad names and bytes. */
	assert_int_equal(dkim_tags_parse(STR("a=1; a=2"), &t, &error), -1);
	assert_string_equal(error, "a tag appears twice");
	assert_int_equal(dkim_tags_parse(STR("a"), &t, &error), -1);
	assert_int_equal(dkim_tags_parse(STR("a=1;;b=2"), &t, &error), -1);
	assert_int_equal(dkim_tags_parse(STR(";"), &t, &error), -1);
	assert_int_equal(dkim_tags_parse(STR("1a=1"), &t, &error), -1);
	assert_int_equal(dkim_tags_parse(STR("a=\x01"), &t, &error), -1);
	assert_int_equal(dkim_tags_parse(STR("a=\xc3\xa9"), &t, &error), -1);
}

/* Each bound at its value passes and one past it is refused. */
static void test_tags_bounds(void **state)
{
	static struct dkim_tags t;
	const char *error;
	struct buf b;
	(void)state;

	buf_init(&b, 1 << 20);
	for (int i = 0; i < DKIM_TAGS_MAX; i++)
		buf_printf(&b, "t%d=1;", i);
	assert_int_equal(dkim_tags_parse(buf_str(&b), &t, &error), 0);
	buf_printf(&b, "t%d=1;", DKIM_TAGS_MAX);
	assert_int_equal(dkim_tags_parse(buf_str(&b), &t, &error), -1);
	assert_string_equal(error, "too many tags");

	buf_reset(&b);
	for (int i = 0; i < DKIM_TAG_NAME_MAX; i++)
		buf_putc(&b, 'n');
	buf_append(&b, "=1", 2);
	assert_int_equal(dkim_tags_parse(buf_str(&b), &t, &error), 0);
	buf_reset(&b);
	for (int i = 0; i < DKIM_TAG_NAME_MAX + 1; i++)
		buf_putc(&b, 'n');
	buf_append(&b, "=1", 2);
	assert_int_equal(dkim_tags_parse(buf_str(&b), &t, &error), -1);

	buf_reset(&b);
	buf_append(&b, "z=", 2);
	for (int i = 0; i < DKIM_TAG_VALUE_MAX; i++)
		buf_putc(&b, 'v');
	assert_int_equal(dkim_tags_parse(buf_str(&b), &t, &error), 0);
	buf_putc(&b, 'v');
	assert_int_equal(dkim_tags_parse(buf_str(&b), &t, &error), -1);
	assert_string_equal(error, "tag value too long");

	buf_reset(&b);
	while (b.len < DKIM_TAGS_TEXT_MAX)
		buf_putc(&b, ' ');
	assert_int_equal(dkim_tags_parse(buf_str(&b), &t, &error), 0);
	buf_putc(&b, ' ');
	assert_int_equal(dkim_tags_parse(buf_str(&b), &t, &error), -1);
	buf_free(&b);
}

static void test_base64(void **state)
{
	uint8_t out[8];
	(void)state;

	assert_int_equal(dkim_tags_base64(STR("aGVs\r\n bG8="), out, sizeof(out)), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(dkim_tags_base64(STR(""), out, sizeof(out)), 0);
	assert_int_equal(dkim_tags_base64(STR("QQ=="), out, sizeof(out)), 1);
	assert_int_equal(dkim_tags_base64(STR("QQ="), out, sizeof(out)), -1);
	assert_int_equal(dkim_tags_base64(STR("QR=="), out, sizeof(out)), -1);  /* stray bits */
	assert_int_equal(dkim_tags_base64(STR("QQ==QQ=="), out, sizeof(out)), -1);
	assert_int_equal(dkim_tags_base64(STR("QQ!="), out, sizeof(out)), -1);
	/* Exactly max octets, then one past. */
	assert_int_equal(dkim_tags_base64(STR("AAAAAAAAAAA="), out, sizeof(out)), 8);
	assert_int_equal(dkim_tags_base64(STR("AAAAAAAAAAAA"), out, sizeof(out)), -1);
}

/* RFC 8463 A.2's Ed25519 key and an RSA key made here. */
#define ED25519_RECORD "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static void rsa_record_of(struct buf *out, int bits, const char *extra, bool bare)
{
	EVP_PKEY *pkey = EVP_RSA_gen((unsigned)bits);
	unsigned char *der = NULL;
	int len = bare ? i2d_PublicKey(pkey, &der) : i2d_PUBKEY(pkey, &der);
	char b64[4096];
	assert_true(len > 0);
	EVP_EncodeBlock((unsigned char *)b64, der, len);
	buf_printf(out, "v=DKIM1; k=rsa;%s p=%s", extra, b64);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
}

static void rsa_record(struct buf *out, int bits, const char *extra)
{
	rsa_record_of(out, bits, extra, false);
}

static void test_key_records(void **state)
{
	struct dkim_key k;
	const char *error;
	struct buf b;
	(void)state;

	assert_int_equal(dkim_key_parse(STR(ED25519_RECORD), &k, &error), 0);
	assert_int_equal(k.alg, DKIM_ALG_ED25519_SHA256);
	assert_non_null(k.pkey);
	assert_false(k.revoked || k.testing);
	dkim_key_clear(&k);
	assert_int_equal(dkim_key_parse(STR("v=DKIM1; k=rsa; t=y:s; p="), &k, &error), 0);
	assert_true(k.revoked && k.testing && k.strict);
	assert_null(k.pkey);
	/* Refused: v= not first or not DKIM1, unknown k=, h= without sha256,
	 * s= not email, no p=, p= not a key of its type, a 31-octet Ed25519. */
	assert_int_equal(dkim_key_parse(STR("k=ed25519; v=DKIM1; p="), &k, &error), -1);
	assert_int_equal(dkim_key_parse(STR("v=DKIM2; p="), &k, &error), -1);
	assert_int_equal(dkim_key_parse(STR("k=dsa; p="), &k, &error), -1);
	assert_int_equal(dkim_key_parse(STR("h=sha1; p="), &k, &error), -1);
	assert_int_equal(dkim_key_parse(STR("h=sha1:sha256; s=*; p="), &k, &error), 0);
	assert_int_equal(dkim_key_parse(STR("s=tlsrpt; p="), &k, &error), -1);
	assert_int_equal(dkim_key_parse(STR("v=DKIM1; k=rsa"), &k, &error), -1);
	assert_int_equal(dkim_key_parse(STR("k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
					&k, &error), -1);
	assert_int_equal(dkim_key_parse(STR("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcH"),
					&k, &error), -1);

	buf_init(&b, 8192);
	rsa_record(&b, 2048, "");
	assert_int_equal(dkim_key_parse(buf_str(&b), &k, &error), 0);
	assert_int_equal(k.alg, DKIM_ALG_RSA_SHA256);
	assert_int_equal(EVP_PKEY_get_bits(k.pkey), 2048);
	dkim_key_clear(&k);
	/* A bare RSAPublicKey (RFC 6376 3.6.1's words) is taken too. */
	buf_reset(&b);
	rsa_record_of(&b, 2048, "", true);
	assert_int_equal(dkim_key_parse(buf_str(&b), &k, &error), 0);
	assert_int_equal(EVP_PKEY_get_bits(k.pkey), 2048);
	dkim_key_clear(&k);
	/* The decoders are kept between keys: after a refusal, the next key
	 * is decoded whole and is that key. */
	EVP_PKEY *known = EVP_RSA_gen(2048);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dkim_key_parse(STR("k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOC"), &k,
						&error), -1);
		buf_reset(&b);
		assert_int_equal(dkim_key_record(known, &b), 0);
		assert_int_equal(dkim_key_parse(buf_str(&b), &k, &error), 0);
		assert_int_equal(EVP_PKEY_eq(k.pkey, known), 1);
		dkim_key_clear(&k);
	}
	EVP_PKEY_free(known);
	/* An Ed25519 key record of an RSA key is no key. */
	buf_reset(&b);
	rsa_record(&b, 2048, " k=ed25519;");
	assert_int_equal(dkim_key_parse(buf_str(&b), &k, &error), -1);
	/* The smallest RSA key taken, then one bit (one step) too small. */
	buf_reset(&b);
	rsa_record(&b, DKIM_KEY_RSA_MIN_BITS, "");
	assert_int_equal(dkim_key_parse(buf_str(&b), &k, &error), 0);
	dkim_key_clear(&k);
	buf_reset(&b);
	rsa_record(&b, DKIM_KEY_RSA_MIN_BITS - 8, "");
	assert_int_equal(dkim_key_parse(buf_str(&b), &k, &error), -1);
	assert_string_equal(error, "RSA key size out of bounds");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags_grammar),
		cmocka_unit_test(test_tags_bounds),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_key_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
