/* Unit tests for str. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/str.h"

static void test_eq_and_case(void **state)
{
	(void)state;
	assert_true(str_eq(STR("abc"), str_c("abc")));
	assert_false(str_eq(STR("abc"), STR("abd")));
	assert_true(str_case_eq(STR("MAIL"), STR("mail")));
	assert_true(str_case_prefix(STR("MAIL FROM:<a@b>"), STR("mail from:")));
	assert_false(str_case_prefix(STR("MAI"), STR("mail")));
}

/* ASCII folding: only letters change; ordering folds case, a prefix first. */
static void test_lower_and_cmp(void **state)
{
	(void)state;
	assert_int_equal(str_lower_char('A'), 'a');
	assert_int_equal(str_lower_char('Z'), 'z');
	assert_int_equal(str_lower_char('@'), '@');
	assert_int_equal(str_lower_char('['), '[');
	assert_int_equal(str_lower_char((char)0xc9), (char)0xc9);
	assert_int_equal(str_upper_char('a'), 'A');
	assert_int_equal(str_upper_char('z'), 'Z');
	assert_int_equal(str_upper_char('{'), '{');
	assert_int_equal(str_upper_char('`'), '`');
	assert_true(str_is_alpha('a') && str_is_alpha('Z'));
	assert_false(str_is_alpha('@') || str_is_alpha('[') || str_is_alpha('`') ||
		     str_is_alpha('{') || str_is_alpha('0') || str_is_alpha(-1) ||
		     str_is_alpha(0xc9));
	const char *atext = "azAZ09!#$%&'*+-/=?^_`{|}~";
	for (const char *a = atext; *a != '\0'; a++)
		assert_true(str_is_atext(*a));
	const char *not_atext = "()<>[]:;@\\,.\" \t\r\n\x7f";
	for (const char *a = not_atext; *a != '\0'; a++)
		assert_false(str_is_atext(*a));
	assert_false(str_is_atext(0) || str_is_atext(-1) || str_is_atext(0xc3));
	char text[] = "Hello, WORLD-\xc9@[]";
	str_lower(text, sizeof(text) - 1);
	assert_string_equal(text, "hello, world-\xc9@[]");
	assert_int_equal(str_case_cmp(STR("Charset"), STR("cHARSET")), 0);
	assert_true(str_case_cmp(STR("A"), STR("b")) < 0);
	assert_true(str_case_cmp(STR("b"), STR("A")) > 0);
	assert_true(str_case_cmp(STR("title"), STR("TITLE*")) < 0);
	assert_true(str_case_cmp(STR("title*"), STR("title")) > 0);
	assert_int_equal(str_case_cmp(STR(""), STR("")), 0);
}

static void test_trim_sub_chr(void **state)
{
	(void)state;
	assert_true(str_eq(str_trim(STR(" \t x y\r\n")), STR("x y")));
	assert_true(str_eq(str_trim(STR("   ")), STR("")));
	assert_true(str_eq(str_sub(STR("hello"), 1, 100), STR("ello")));
	assert_true(str_eq(str_sub(STR("hello"), 9, 1), STR("")));
	assert_int_equal(str_chr(STR("a:b"), ':'), 1);
	assert_int_equal(str_chr(STR("ab"), ':'), -1);
}

static void test_to_u64(void **state)
{
	uint64_t v = 0;
	(void)state;
	assert_int_equal(str_to_u64(STR("12345"), 99999, &v), 0);
	assert_int_equal(v, 12345);
	/* One past the maximum is refused. */
	assert_int_equal(str_to_u64(STR("100000"), 99999, &v), -1);
	assert_int_equal(str_to_u64(STR("18446744073709551615"), UINT64_MAX, &v), 0);
	assert_int_equal(str_to_u64(STR("18446744073709551616"), UINT64_MAX, &v), -1);
	assert_int_equal(str_to_u64(STR(""), 10, &v), -1);
	assert_int_equal(str_to_u64(STR("-1"), 10, &v), -1);
	assert_int_equal(str_to_u64(STR(" 1"), 10, &v), -1);
}

/* "%XX" with hex digits of either case, nothing shorter or else. */
static void test_percent_octet(void **state)
{
	(void)state;
	assert_int_equal(str_percent_octet(STR("%41"), 0), 0x41);
	assert_int_equal(str_percent_octet(STR("a%fF"), 1), 0xff);
	assert_int_equal(str_percent_octet(STR("%00"), 0), 0);
	assert_int_equal(str_percent_octet(STR("%4"), 0), -1);
	assert_int_equal(str_percent_octet(STR("%4g"), 0), -1);
	assert_int_equal(str_percent_octet(STR("a41"), 0), -1);
	assert_int_equal(str_percent_octet(STR("%41"), 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eq_and_case),
		cmocka_unit_test(test_lower_and_cmp),
		cmocka_unit_test(test_trim_sub_chr),
		cmocka_unit_test(test_to_u64),
		cmocka_unit_test(test_percent_octet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
