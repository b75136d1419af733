/*
 * Unit tests of collation: the names, the four match types under each
 * collation, RFC 5051's titlecase + NFKD, and invalid UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ical/collation.h"

static bool match(enum collation c, enum match_type m, const char *value, const char *text)
{
	return collation_match(c, m, str_c(value), str_c(text));
}

static void test_names(void **state)
{
	(void)state;
	enum collation c;
	enum match_type m;

	assert_int_equal(collation_from_name(STR("i;ascii-casemap"), &c), 0);
	assert_int_equal(c, COLLATION_ASCII_CASEMAP);
	assert_int_equal(collation_from_name(STR("i;unicode-casemap"), &c), 0);
	assert_int_equal(c, COLLATION_UNICODE_CASEMAP);
	assert_int_equal(collation_from_name(STR("i;octet"), &c), 0);
	assert_int_equal(c, COLLATION_OCTET);
	assert_int_equal(collation_from_name(STR("I;OCTET"), &c), -1);
	assert_int_equal(collation_from_name(STR("i;basic"), &c), -1);
	assert_int_equal(collation_from_name(STR(""), &c), -1);
	assert_int_equal(collation_match_type_from_name(STR("starts-with"), &m), 0);
	assert_int_equal(m, MATCH_STARTS_WITH);
	assert_int_equal(collation_match_type_from_name(STR("ends-with"), &m), 0);
	assert_int_equal(m, MATCH_ENDS_WITH);
	assert_int_equal(collation_match_type_from_name(STR("equals"), &m), 0);
	assert_int_equal(collation_match_type_from_name(STR("contains"), &m), 0);
	assert_int_equal(m, MATCH_CONTAINS);
	assert_int_equal(collation_match_type_from_name(STR("Contains"), &m), -1);
}

static void test_ascii(void **state)
{
	(void)state;
	enum collation a = COLLATION_ASCII_CASEMAP;

	assert_true(match(a, MATCH_EQUALS, "Alice Example", "alice EXAMPLE"));
	assert_false(match(a, MATCH_EQUALS, "Alice Example", "alice"));
	assert_true(match(a, MATCH_CONTAINS, "Alice Example", "CE EX"));
	assert_true(match(a, MATCH_STARTS_WITH, "Alice Example", "ALI"));
	assert_false(match(a, MATCH_STARTS_WITH, "Alice Example", "lice"));
	assert_true(match(a, MATCH_ENDS_WITH, "Alice Example", "PLE"));
	assert_false(match(a, MATCH_ENDS_WITH, "Alice Example", "Alice"));
	assert_false(match(a, MATCH_CONTAINS, "Al", "Alice"));
	/* Only ASCII letters fold. */
	assert_false(match(a, MATCH_EQUALS, "\xc3\xa9", "\xc3\x89"));
	/* The empty text. */
	assert_true(match(a, MATCH_CONTAINS, "x", ""));
	assert_true(match(a, MATCH_STARTS_WITH, "", ""));
	assert_true(match(a, MATCH_EQUALS, "", ""));
	assert_false(match(a, MATCH_EQUALS, "x", ""));
}

static void test_octet(void **state)
{
	(void)state;
	enum collation o = COLLATION_OCTET;

	assert_false(match(o, MATCH_EQUALS, "Alice", "alice"));
	assert_true(match(o, MATCH_EQUALS, "Alice", "Alice"));
	assert_true(match(o, MATCH_CONTAINS, "Alice", "lic"));
	assert_false(match(o, MATCH_CONTAINS, "Alice", "LIC"));
	/* Octets, NUL included. */
	assert_true(collation_match(o, MATCH_ENDS_WITH, str_from("a\0b", 3), str_from("\0b", 2)));
}

static void test_unicode(void **state)
{
	(void)state;
	enum collation u = COLLATION_UNICODE_CASEMAP;

	/* é (U+00E9) against É (U+00C9), and against e + U+0301 (NFKD). */
	assert_true(match(u, MATCH_EQUALS, "Ren\xc3\xa9", "REN\xc3\x89"));
	assert_true(match(u, MATCH_EQUALS, "Ren\xc3\xa9", "rene\xcc\x81"));
	assert_false(match(u, MATCH_EQUALS, "Ren\xc3\xa9", "rene"));
	/* Greek: Σ σ ς title-map to Σ. */
	assert_true(match(u, MATCH_EQUALS, "\xce\xa3\xcf\x83\xcf\x82", "\xcf\x83\xcf\x83\xcf\x83"));
	/* Compatibility: the ligature U+FB01 is "fi", fullwidth A is A. */
	assert_true(match(u, MATCH_EQUALS, "\xef\xac\x81nance", "\xef\xac\x81NANCE"));
	/* ... but titlecasing comes before NFKD (RFC 5051 2), so the "fi" it
	 * decomposes to stays lower case and "FIN" is not found. */
	assert_false(match(u, MATCH_CONTAINS, "\xef\xac\x81nance", "FIN"));
	assert_true(match(u, MATCH_STARTS_WITH, "\xef\xbc\xa1lice", "alice"));
	/* Titlecase, not lowercase: U+01C6 (dž) titles to U+01C5, as U+01C4. */
	assert_true(match(u, MATCH_EQUALS, "\xc7\x86", "\xc7\x84"));
	assert_true(match(u, MATCH_ENDS_WITH, "M\xc3\xbcller", "\xc3\x9cLLER"));
	assert_true(match(u, MATCH_CONTAINS, "Ren\xc3\xa9", "e"));   /* decomposed octets */
	assert_false(match(u, MATCH_CONTAINS, "Ren\xc3\xa9", "x"));
	/* Invalid UTF-8 falls back to i;ascii-casemap. */
	assert_true(match(u, MATCH_CONTAINS, "ALICE \xff", "alice"));
	assert_true(match(u, MATCH_EQUALS, "\xff" "a", "\xff" "A"));
	assert_false(match(u, MATCH_EQUALS, "\xff" "a", "\xff" "b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_octet),
		cmocka_unit_test(test_unicode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
