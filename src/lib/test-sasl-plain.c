/* Unit tests for sasl-plain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "lib/sasl-plain.h"

/* encode returns raw (len bytes, NULs allowed) in base64, malloc'ed. */
static char *encode(const char *raw, size_t len)
{
	size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(size);
	assert_non_null(b64);
	sodium_bin2base64(b64, size, (const unsigned char *)raw, len,
			  sodium_base64_VARIANT_ORIGINAL);
	return b64;
}

static enum sasl_plain_result decode_raw(struct sasl_plain *p, const char *raw, size_t len)
{
	char *b64 = encode(raw, len);
	enum sasl_plain_result r = sasl_plain_decode(p, str_c(b64), false);
	free(b64);
	return r;
}

static void test_plain(void **state)
{
	(void)state;
	struct sasl_plain p;
	assert_int_equal(decode_raw(&p, "\0alice\0secret", 13), SASL_PLAIN_OK);
	assert_true(str_eq(p.authzid, STR("")));
	assert_true(str_eq(p.authcid, STR("alice")));
	assert_true(str_eq(p.password, STR("secret")));
	sasl_plain_wipe(&p);
	assert_int_equal(p.len, 0);
	for (size_t i = 0; i < sizeof(p.raw); i++)
		assert_int_equal(p.raw[i], 0);
}

/* An authzid naming the user itself is taken; another user is refused. */
static void test_authzid(void **state)
{
	(void)state;
	struct sasl_plain p;
	assert_int_equal(decode_raw(&p, "alice\0alice\0pw", 14), SASL_PLAIN_OK);
	assert_true(str_eq(p.authzid, STR("alice")));
	assert_true(str_eq(p.authcid, STR("alice")));
	assert_true(str_eq(p.password, STR("pw")));
	sasl_plain_wipe(&p);
	assert_int_equal(decode_raw(&p, "bob\0alice\0pw", 12), SASL_PLAIN_AUTHZID);
	assert_int_equal(p.len, 0);
	sasl_plain_wipe(&p);
}

/* Empty authcid and password are decoded as empty (auth refuses them). */
static void test_empty_fields(void **state)
{
	(void)state;
	struct sasl_plain p;
	assert_int_equal(decode_raw(&p, "\0\0", 2), SASL_PLAIN_OK);
	assert_int_equal(p.authcid.len, 0);
	assert_int_equal(p.password.len, 0);
	sasl_plain_wipe(&p);
	assert_int_equal(decode_raw(&p, "\0alice\0", 7), SASL_PLAIN_OK);
	assert_true(str_eq(p.authcid, STR("alice")));
	assert_int_equal(p.password.len, 0);
	sasl_plain_wipe(&p);
}

/* Fewer than two NULs is malformed; a third NUL stays in the password. */
static void test_nuls(void **state)
{
	(void)state;
	struct sasl_plain p;
	assert_int_equal(decode_raw(&p, "alice", 5), SASL_PLAIN_MALFORMED);
	sasl_plain_wipe(&p);
	assert_int_equal(decode_raw(&p, "\0alice", 6), SASL_PLAIN_MALFORMED);
	sasl_plain_wipe(&p);
	assert_int_equal(decode_raw(&p, "\0alice\0pw\0x", 11), SASL_PLAIN_OK);
	assert_int_equal(p.password.len, 4);
	assert_memory_equal(p.password.ptr, "pw\0x", 4);
	sasl_plain_wipe(&p);
}

/* "=" is the empty message only where the protocol says so (RFC 4959). */
static void test_empty_message(void **state)
{
	(void)state;
	struct sasl_plain p;
	assert_int_equal(sasl_plain_decode(&p, STR("="), true), SASL_PLAIN_MALFORMED);
	sasl_plain_wipe(&p);
	assert_int_equal(sasl_plain_decode(&p, STR("="), false), SASL_PLAIN_BAD_BASE64);
	sasl_plain_wipe(&p);
	assert_int_equal(sasl_plain_decode(&p, STR(""), false), SASL_PLAIN_MALFORMED);
	sasl_plain_wipe(&p);
}

static void test_bad_base64(void **state)
{
	(void)state;
	struct sasl_plain p;
	const char *bad[] = { "AGFsaWNlAHNlY3JldA", "AGFs!WNlAHNlY3JldA==", "AGFsaWNlAHNlY3JldA===",
			      "AGFsaWNl AHNlY3JldA==", "-_-_" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sasl_plain_decode(&p, str_c(bad[i]), true), SASL_PLAIN_BAD_BASE64);
		assert_int_equal(p.len, 0);
		sasl_plain_wipe(&p);
	}
}

/* SASL_PLAIN_MAX_BASE64 characters are taken; one more is refused. */
static void test_over_long(void **state)
{
	(void)state;
	struct sasl_plain *p = malloc(sizeof(*p));
	assert_non_null(p);
	size_t raw_len = SASL_PLAIN_MAX_DECODED;
	char *raw = calloc(1, raw_len);
	assert_non_null(raw);
	memcpy(raw, "\0alice\0", 7);
	memset(raw + 7, 'x', raw_len - 7);
	char *b64 = encode(raw, raw_len);
	assert_int_equal(strlen(b64), SASL_PLAIN_MAX_BASE64);
	assert_int_equal(sasl_plain_decode(p, str_c(b64), false), SASL_PLAIN_OK);
	assert_int_equal(p->password.len, raw_len - 7);
	sasl_plain_wipe(p);
	/* One past: a character more, or a group more. */
	size_t n = strlen(b64);
	char *past = malloc(n + 5);
	assert_non_null(past);
	memcpy(past, b64, n);
	memcpy(past + n, "AAAA", 5);
	assert_int_equal(sasl_plain_decode(p, str_from(past, n + 1), false),
			 SASL_PLAIN_BAD_BASE64);
	assert_int_equal(sasl_plain_decode(p, str_from(past, n + 4), false),
			 SASL_PLAIN_BAD_BASE64);
	sasl_plain_wipe(p);
	free(past);
	free(b64);
	free(raw);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),        cmocka_unit_test(test_authzid),
		cmocka_unit_test(test_empty_fields), cmocka_unit_test(test_nuls),
		cmocka_unit_test(test_empty_message), cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_over_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
