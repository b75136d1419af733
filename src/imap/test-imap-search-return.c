/* Unit tests for imap-search-return: sequence sets in answer order, the
 * PARTIAL window (RFC 9394) at the edges, and whole ESEARCH lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap-search-return.h"

static void test_set(void **state)
{
	(void)state;
	static const uint32_t asc[] = { 1, 2, 3, 5, 7, 8 };
	static const uint32_t sorted[] = { 5, 3, 4, 2, 1 };
	struct buf out;

	buf_init(&out, 4096);
	assert_int_equal(imap_search_return_write_set(&out, asc, 6), 0);
	assert_string_equal(out.data, "1:3,5,7:8");
	buf_reset(&out);
	/* a range never runs downwards: "5:3" would be 3,4,5 */
	assert_int_equal(imap_search_return_write_set(&out, sorted, 5), 0);
	assert_string_equal(out.data, "5,3:4,2,1");
	buf_reset(&out);
	assert_int_equal(imap_search_return_write_set(&out, asc, 0), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	/* a full buffer is an error, not a short answer */
	buf_init(&out, 4);
	assert_int_equal(imap_search_return_write_set(&out, asc, 6), -1);
	buf_free(&out);
}

/* window checks the indexes of partial over n results. */
static void window(uint32_t first, uint32_t last, bool from_end, size_t n, size_t want_start,
		   size_t want_end)
{
	struct imap_search_partial p = { first, last, from_end };
	size_t start, end;

	imap_search_return_partial(&p, n, &start, &end);
	if (start != want_start || end != want_end)
		fail_msg("%s%u:%u of %zu: [%zu, %zu), want [%zu, %zu)", from_end ? "-" : "",
			 first, last, n, start, end, want_start, want_end);
}

static void test_partial(void **state)
{
	(void)state;
	window(1, 1, false, 5, 0, 1);
	window(2, 4, false, 5, 1, 4);
	window(1, 6, false, 5, 0, 5);
	window(5, 5, false, 5, 4, 5);
	window(6, 6, false, 5, 0, 0);
	window(1, UINT32_MAX, false, 5, 0, 5);
	window(UINT32_MAX, UINT32_MAX, false, 5, 0, 0);
	window(1, 1, true, 5, 4, 5);
	window(1, 2, true, 5, 3, 5);
	window(4, 9, true, 5, 0, 2);
	window(5, 5, true, 5, 0, 1);
	window(6, 9, true, 5, 0, 0);
	window(1, UINT32_MAX, true, 5, 0, 5);
	window(1, 1, false, 0, 0, 0);
	window(1, 1, true, 0, 0, 0);
}

/* answer writes the ESEARCH line of opts over nums. */
static char *answer(unsigned opts, struct imap_search_partial partial, const uint32_t *nums,
		    const uint64_t *modseqs, size_t n, bool uid, bool with_modseq)
{
	struct imap_search_program prog = { .has_return = true, .return_options = opts,
					     .partial = partial };
	struct buf out;
	buf_init(&out, 4096);
	assert_int_equal(imap_search_return_write(&out, STR("A1"), uid, &prog, nums, modseqs, n,
						  with_modseq),
			 0);
	char *s = strdup(out.data);
	buf_free(&out);
	return s;
}

static void test_write(void **state)
{
	(void)state;
	static const uint32_t nums[] = { 5, 3, 4, 2, 1 };
	static const uint64_t modseqs[] = { 10, 50, 20, 30, 40 };
	struct imap_search_partial none = { 0, 0, false }, p24 = { 2, 4, false },
				   last2 = { 1, 2, true }, past = { 6, 9, false };
	char *s;

	s = answer(IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX | IMAP_SEARCH_RETURN_ALL |
			   IMAP_SEARCH_RETURN_COUNT,
		   none, nums, NULL, 5, false, false);
	assert_string_equal(s, "* ESEARCH (TAG \"A1\") MIN 5 MAX 1 ALL 5,3:4,2,1 COUNT 5\r\n");
	free(s);
	s = answer(IMAP_SEARCH_RETURN_PARTIAL, p24, nums, NULL, 5, true, false);
	assert_string_equal(s, "* ESEARCH (TAG \"A1\") UID PARTIAL (2:4 3:4,2)\r\n");
	free(s);
	s = answer(IMAP_SEARCH_RETURN_PARTIAL | IMAP_SEARCH_RETURN_COUNT, last2, nums, NULL, 5,
		   false, false);
	assert_string_equal(s, "* ESEARCH (TAG \"A1\") PARTIAL (-1:-2 2,1) COUNT 5\r\n");
	free(s);
	s = answer(IMAP_SEARCH_RETURN_PARTIAL, past, nums, NULL, 5, false, false);
	assert_string_equal(s, "* ESEARCH (TAG \"A1\") PARTIAL (6:9 NIL)\r\n");
	free(s);
	/* nothing found: COUNT 0 and an empty window, no MIN/MAX/ALL/MODSEQ */
	s = answer(IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT, none,
		   nums, modseqs, 0, false, true);
	assert_string_equal(s, "* ESEARCH (TAG \"A1\") COUNT 0\r\n");
	free(s);
	/* MODSEQ of what is returned: MIN alone, the window, all */
	s = answer(IMAP_SEARCH_RETURN_MIN, none, nums, modseqs, 5, false, true);
	assert_string_equal(s, "* ESEARCH (TAG \"A1\") MIN 5 MODSEQ 10\r\n");
	free(s);
	s = answer(IMAP_SEARCH_RETURN_PARTIAL, last2, nums, modseqs, 5, false, true);
	assert_string_equal(s, "* ESEARCH (TAG \"A1\") PARTIAL (-1:-2 2,1) MODSEQ 40\r\n");
	free(s);
	s = answer(IMAP_SEARCH_RETURN_COUNT, none, nums, modseqs, 5, false, true);
	assert_string_equal(s, "* ESEARCH (TAG \"A1\") COUNT 5 MODSEQ 50\r\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
