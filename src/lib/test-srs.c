/* Unit tests for srs: round trip, forgery, age, the null sender, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "lib/srs.h"

#define DAY 86400

static unsigned char key[SRS_KEY_SIZE];

static void test_srs_round_trip(void **state)
{
	char enc[SRS_MAX_ADDRESS + 1], dec[SRS_MAX_ADDRESS + 1];
	(void)state;

	assert_int_equal(srs_encode(key, STR("carol@c.test"), STR("a.test"), 100 * DAY, enc), 0);
	assert_true(strncmp(enc, "SRS0=", 5) == 0);
	assert_non_null(strstr(enc, "=c.test=carol@a.test"));
	assert_int_equal(srs_decode(key, str_c(enc), 100 * DAY + 5, dec), SRS_OK);
	assert_string_equal(dec, "carol@c.test");
	/* Other servers may change the case. */
	for (char *p = enc; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	assert_int_equal(srs_decode(key, str_c(enc), 100 * DAY, dec), SRS_OK);
	/* A local part with '=' and '@' in quotes survives. */
	assert_int_equal(srs_encode(key, STR("a=b@c.test"), STR("a.test"), 0, enc), 0);
	assert_int_equal(srs_decode(key, str_c(enc), 0, dec), SRS_OK);
	assert_string_equal(dec, "a=b@c.test");
}

static void test_srs_forged(void **state)
{
	char enc[SRS_MAX_ADDRESS + 1], dec[SRS_MAX_ADDRESS + 1];
	unsigned char other[SRS_KEY_SIZE];
	(void)state;

	randombytes_buf(other, sizeof(other));
	assert_int_equal(srs_encode(key, STR("carol@c.test"), STR("a.test"), 0, enc), 0);
	assert_int_equal(srs_decode(other, str_c(enc), 0, dec), SRS_INVALID);
	/* Another original sender under the same hash. */
	char *d = strstr(enc, "carol");
	d[0] = 'k';
	assert_int_equal(srs_decode(key, str_c(enc), 0, dec), SRS_INVALID);
	assert_string_equal(dec, "");
	static const char *const bad[] = { "SRS0=", "SRS0=@a.test", "SRS0=abcd=aa=c.test@a.test",
					   "SRS0=abcd=a1=c.test=x@a.test", "SRS0=abcdaa=c.test=x@a",
					   "SRS0=abcd=aa==x@a.test", "SRS0=abcd=aa=c.test=@a.test",
					   "SRS0=abcd=aa=c.test=x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(srs_decode(key, str_c(bad[i]), 0, dec), SRS_INVALID);
	assert_int_equal(srs_decode(key, STR("bob@a.test"), 0, dec), SRS_NOT_SRS);
	assert_int_equal(srs_decode(key, STR("SRS1=x@a.test"), 0, dec), SRS_NOT_SRS);
}

/* SRS_MAX_AGE_DAYS old is taken, one day more is not, nor tomorrow's. */
static void test_srs_age(void **state)
{
	char enc[SRS_MAX_ADDRESS + 1], dec[SRS_MAX_ADDRESS + 1];
	(void)state;

	int64_t made = 2000 * (int64_t)DAY + 10;
	assert_int_equal(srs_encode(key, STR("carol@c.test"), STR("a.test"), made, enc), 0);
	assert_int_equal(srs_decode(key, str_c(enc), made + SRS_MAX_AGE_DAYS * DAY, dec), SRS_OK);
	assert_int_equal(srs_decode(key, str_c(enc), made + (SRS_MAX_AGE_DAYS + 1) * DAY, dec),
			 SRS_INVALID);
	assert_int_equal(srs_decode(key, str_c(enc), made - DAY, dec), SRS_INVALID);
}

/* The null sender is never rewritten; a result of SRS_MAX_ADDRESS is
 * made, one octet more is refused. */
static void test_srs_bounds(void **state)
{
	char enc[SRS_MAX_ADDRESS + 1], dec[SRS_MAX_ADDRESS + 1], sender[SRS_MAX_ADDRESS + 2];
	(void)state;

	assert_int_equal(srs_encode(key, STR(""), STR("a.test"), 0, enc), -1);
	assert_int_equal(srs_encode(key, STR("nodomain"), STR("a.test"), 0, enc), -1);
	assert_int_equal(srs_encode(key, STR("x@"), STR("a.test"), 0, enc), -1);
	assert_int_equal(srs_encode(key, STR("x@c=d"), STR("a.test"), 0, enc), -1);
	/* "SRS0=HHHH=TT=" 13 + "c.test=" 7 + local + "@a.test" 7 */
	size_t local = SRS_MAX_ADDRESS - 27;
	memset(sender, 'x', local);
	memcpy(sender + local, "@c.test", 8);
	assert_int_equal(srs_encode(key, str_c(sender), STR("a.test"), 0, enc), 0);
	assert_int_equal(strlen(enc), SRS_MAX_ADDRESS);
	assert_int_equal(srs_decode(key, str_c(enc), 0, dec), SRS_OK);
	memset(sender, 'x', local + 1);
	memcpy(sender + local + 1, "@c.test", 8);
	assert_int_equal(srs_encode(key, str_c(sender), STR("a.test"), 0, enc), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srs_round_trip),
		cmocka_unit_test(test_srs_forged),
		cmocka_unit_test(test_srs_age),
		cmocka_unit_test(test_srs_bounds),
	};
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
