/* Unit tests for imap-seqset: parsing, limits, "$", normalisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap-seqset.h"

/* Room for the printed form of any set the tests make. */
#define PRINT_MAX (256u * 1024)

/* printed parses text (which must succeed), optionally normalises it with
 * star (star_given), and compares the printed set with want. */
static void check(const char *text, bool normalize, uint32_t star, const char *want)
{
	struct pool *pool = pool_new(1024 * 1024);
	struct imap_seqset set;
	const char *error = NULL;
	struct buf out;

	if (imap_seqset_parse(pool, str_c(text), 0, &set, &error) < 0)
		fail_msg("'%s' refused: %s", text, error);
	if (normalize)
		imap_seqset_normalize(&set, star);
	buf_init(&out, PRINT_MAX);
	assert_int_equal(imap_seqset_print(&set, &out), 0);
	if (strcmp(out.data != NULL ? out.data : "", want) != 0)
		fail_msg("'%s': got '%s', want '%s'", text, out.data, want);
	buf_free(&out);
	pool_free(&pool);
}

/* check_bad: text must be refused with the error want. */
static void check_bad(const char *text, size_t max, const char *want)
{
	struct pool *pool = pool_new(1024 * 1024);
	struct imap_seqset set;
	const char *error = NULL;

	if (imap_seqset_parse(pool, str_c(text), max, &set, &error) == 0)
		fail_msg("'%.40s' accepted", text);
	assert_string_equal(error, want);
	pool_free(&pool);
}

static void test_parse(void **state)
{
	(void)state;
	check("1", false, 0, "1");
	check("1,3:5,7:*", false, 0, "1,3:5,7:*");
	check("*", false, 0, "*");
	check("*:4", false, 0, "*:4");
	check("5:1", false, 0, "5:1");
	check("4294967295", false, 0, "4294967295");
	check("$", false, 0, "$");
	check("1:2,$", false, 0, "$,1:2");
	check("3:3", false, 0, "3");
	static const char *const bad[] = {
		"", "0", "01", "1:", ":1", ",", "1,", ",1", "1,,2", "4294967296", "a", "1:2:3",
		"1-2", " 1", "1 ", "$$", "**", "1:0", "-1", "1.5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad(bad[i], 0, "Invalid sequence set");
}

static void test_limit(void **state)
{
	(void)state;
	struct buf text;
	buf_init(&text, 1024 * 1024);
	for (int i = 0; i < IMAP_SEQSET_MAX_RANGES; i++)
		buf_printf(&text, "%s%d", i > 0 ? "," : "", 2 * i + 1);
	struct pool *pool = pool_new(1024 * 1024);
	struct imap_seqset set;
	const char *error;
	assert_int_equal(imap_seqset_parse(pool, buf_str(&text), 0, &set, &error), 0);
	assert_int_equal(set.count, IMAP_SEQSET_MAX_RANGES);
	imap_seqset_normalize(&set, 100000);
	assert_int_equal(set.count, IMAP_SEQSET_MAX_RANGES);
	assert_true(imap_seqset_contains(&set, 19999));
	assert_false(imap_seqset_contains(&set, 20000));
	buf_printf(&text, ",1");
	check_bad(text.data, 0, "Too many ranges in sequence set");
	check_bad("1,2,3", 2, "Too many ranges in sequence set");
	assert_int_equal(imap_seqset_parse(pool, str_c("1,2"), 2, &set, &error), 0);
	pool_free(&pool);
	buf_free(&text);
}

static void test_normalize(void **state)
{
	(void)state;
	check("5:1,3,*,10:12", true, 20, "1:5,10:12,20");
	check("1:2,3:4,6", true, 10, "1:4,6");
	check("1:*", true, 7, "1:7");
	check("9:*", true, 7, "7:9");
	check("*", true, 0, "");
	check("1:*", true, 0, "1");
	check("4294967295,1:4294967294", true, 5, "1:4294967295");
	check("4294967295,4294967295", true, 5, "4294967295");
	check("$,3,1", true, 5, "$,1,3");
	check("7,6,5,4,3,2,1", true, 0, "1:7");

	struct pool *pool = pool_new(65536);
	struct imap_seqset set;
	const char *error;
	assert_int_equal(imap_seqset_parse(pool, str_c("2:4,8,10:*"), 0, &set, &error), 0);
	imap_seqset_normalize(&set, 12);
	assert_int_equal(imap_seqset_count(&set), 3 + 1 + 3);
	assert_false(imap_seqset_contains(&set, 1));
	assert_true(imap_seqset_contains(&set, 2));
	assert_true(imap_seqset_contains(&set, 4));
	assert_false(imap_seqset_contains(&set, 5));
	assert_true(imap_seqset_contains(&set, 8));
	assert_true(imap_seqset_contains(&set, 12));
	assert_false(imap_seqset_contains(&set, 13));
	assert_int_equal(imap_seqset_parse(pool, str_c("1:4294967295"), 0, &set, &error), 0);
	imap_seqset_normalize(&set, 1);
	assert_int_equal(imap_seqset_count(&set), 4294967295u);
	pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
