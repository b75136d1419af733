/* Unit tests for imap-quote: IMAP strings, quoted or literal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap-quote.h"

/* One case: the bytes of s, and how each function writes them (string
 * literals, so their lengths come from sizeof and may hold a NUL). */
struct quote_case {
	struct str s, string, canonical;
};

#define LIT(x) { x, sizeof(x) - 1 }

/* imap_quote_string: quoted up to four escapes, a literal from the fifth
 * (one past the bound); imap_quote_canonical: quoted however many escapes.
 * Both write a literal for bytes a quoted string cannot hold. */
static const struct quote_case cases[] = {
	{ LIT("a b"), LIT("\"a b\""), LIT("\"a b\"") },
	{ LIT(""), LIT("\"\""), LIT("\"\"") },
	{ LIT("\"\\\"\\"), LIT("\"\\\"\\\\\\\"\\\\\""), LIT("\"\\\"\\\\\\\"\\\\\"") },
	{ LIT("\"\\\"\\\""), LIT("{5}\r\n\"\\\"\\\""),
	  LIT("\"\\\"\\\\\\\"\\\\\\\"\"") },
	{ LIT("a\r\nb"), LIT("{4}\r\na\r\nb"), LIT("{4}\r\na\r\nb") },
	{ LIT("a\0b"), LIT("{3}\r\na\0b"), LIT("{3}\r\na\0b") },
	{ LIT("\xc3\xa9"), LIT("{2}\r\n\xc3\xa9"), LIT("{2}\r\n\xc3\xa9") },
};

/* quoted_as checks that quote writes s as want. */
static void quoted_as(int (*quote)(struct buf *, struct str), struct str s, struct str want)
{
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(quote(&b, s), 0);
	assert_int_equal(b.len, want.len);
	assert_memory_equal(b.data, want.ptr, b.len);
	buf_free(&b);
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		quoted_as(imap_quote_string, cases[i].s, cases[i].string);
		quoted_as(imap_quote_canonical, cases[i].s, cases[i].canonical);
	}
}

/* Atoms: every ATOM-CHAR but the wildcards and "]"; one bad byte spoils. */
static void test_is_atom(void **state)
{
	(void)state;
	assert_true(imap_quote_is_atom(STR("X-Spam_Flag.1!#$&'+,-/:;<=>?@[^`|}~")));
	assert_false(imap_quote_is_atom(STR("")));
	const char *bad = "(){%*\"\\] \t\r\n\x7f\x80\xff";
	for (const char *b = bad; *b != '\0'; b++) {
		char word[] = { 'a', *b, 'z' };
		assert_false(imap_quote_is_atom(str_from(word, sizeof(word))));
	}
	assert_false(imap_quote_is_atom(STR("a\0z")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_is_atom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
