/* Unit tests for http-basic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "http/http-basic.h"

static char user[256], password[256];

static int decode(const char *value)
{
	const char *error = NULL;
	int ret = http_basic_decode(str_c(value), user, sizeof(user), password, sizeof(password),
				    &error);
	if (ret < 0) {
		assert_non_null(error);
		assert_string_equal(user, "");
		assert_string_equal(password, "");
	}
	return ret;
}

/* b64 gives "Basic " and the base64 of raw[len] in out. */
static const char *basic(const char *raw, size_t len, char *out, size_t size)
{
	memcpy(out, "Basic ", 6);
	sodium_bin2base64(out + 6, size - 6, (const unsigned char *)raw, len,
			  sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static void test_decode(void **state)
{
	(void)state;
	/* "a@b.example:pa:ss w" */
	assert_int_equal(decode("Basic YUBiLmV4YW1wbGU6cGE6c3Mgdw=="), 0);
	assert_string_equal(user, "a@b.example");
	assert_string_equal(password, "pa:ss w");
	assert_int_equal(decode("basic \t YUBiLmV4YW1wbGU6cGE6c3Mgdw=="), 0);
	assert_int_equal(decode("BASIC YUBiOg=="), 0); /* "a@b:" empty password */
	assert_string_equal(user, "a@b");
	assert_string_equal(password, "");

	char buf[2048];
	assert_int_equal(decode("Bearer YUBiOg=="), -1);
	assert_int_equal(decode("BasicYUBiOg=="), -1);
	assert_int_equal(decode("Basic"), -1);
	assert_int_equal(decode("Basic "), -1);
	assert_int_equal(decode("Basic YUBiOg"), -1);   /* no padding */
	assert_int_equal(decode("Basic YUBi*g=="), -1);
	assert_int_equal(decode(basic("a@b", 3, buf, sizeof(buf))), -1);
	assert_int_equal(decode(basic(":pw", 3, buf, sizeof(buf))), -1);
	assert_int_equal(decode(basic("a\0b:pw", 6, buf, sizeof(buf))), -1);
	assert_int_equal(decode(basic("ab:p\0w", 6, buf, sizeof(buf))), -1);
	assert_int_equal(decode(basic("ab:p\nw", 6, buf, sizeof(buf))), -1);
	assert_int_equal(decode(basic("ab:p\x7fw", 6, buf, sizeof(buf))), -1);
}

/* The output buffers, HTTP_BASIC_MAX_BASE64, one past each. */
static void test_limits(void **state)
{
	(void)state;
	char raw[HTTP_BASIC_MAX_DECODED + 3], value[2048];
	memset(raw, 'u', sizeof(user) - 1);
	raw[sizeof(user) - 1] = ':';
	memset(raw + sizeof(user), 'p', sizeof(password) - 1);
	size_t len = sizeof(user) + sizeof(password) - 1;
	assert_int_equal(decode(basic(raw, len, value, sizeof(value))), 0);
	assert_int_equal(strlen(user), sizeof(user) - 1);
	assert_int_equal(strlen(password), sizeof(password) - 1);
	raw[len] = 'p';
	assert_int_equal(decode(basic(raw, len + 1, value, sizeof(value))), -1);
	memmove(raw + 1, raw, len);
	assert_int_equal(decode(basic(raw, len + 1, value, sizeof(value))), -1);

	/* A credential whose base64 is exactly the limit, then 4 more. */
	static char big_user[HTTP_BASIC_MAX_DECODED], big_password[HTTP_BASIC_MAX_DECODED];
	memset(raw, 'x', HTTP_BASIC_MAX_DECODED);
	raw[1] = ':';
	const char *error;
	basic(raw, HTTP_BASIC_MAX_DECODED, value, sizeof(value));
	assert_int_equal(strlen(value) - 6, HTTP_BASIC_MAX_BASE64);
	assert_int_equal(http_basic_decode(str_c(value), big_user, sizeof(big_user), big_password,
					   sizeof(big_password), &error),
			 0);
	assert_int_equal(strlen(big_password), HTTP_BASIC_MAX_DECODED - 2);
	basic(raw, HTTP_BASIC_MAX_DECODED + 1, value, sizeof(value));
	assert_int_equal(http_basic_decode(str_c(value), big_user, sizeof(big_user), big_password,
					   sizeof(big_password), &error),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
