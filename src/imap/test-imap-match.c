/* Unit tests for imap-match (LIST wildcards). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "imap/imap-match.h"

struct example {
	const char *name, *pattern;
	char delimiter;
	bool match;
};

static const struct example examples[] = {
	{ "", "", '/', true },
	{ "a", "", '/', false },
	{ "INBOX", "INBOX", '/', true },
	{ "INBOX", "inbox", '/', false },
	{ "anything/at/all", "*", '/', true },
	{ "", "*", '/', true },
	{ "", "%", '/', true },
	{ "top", "%", '/', true },
	{ "Archive/2024", "Archive/*", '/', true },
	{ "Archive/2024/Q1", "Archive/*", '/', true },
	{ "Archive/2024", "Archive/%", '/', true },
	{ "Archive", "Archive/%", '/', false },
	{ "Archive/", "Archive/%", '/', true },
	{ "abcabd", "*abd", '/', true },
	{ "aXbXc", "a*b*c", '/', true },
	{ "aXbXd", "a*b*c", '/', false },
	{ "abc", "a%%c", '/', true },
	{ "ac", "a%*%c", '/', true },
	{ "a/b/c", "a*%", '/', true },
	{ "xab", "%ab", '/', true },
	{ "aab", "*ab", '/', true },
	{ "ab/ab", "*ab", '/', true },
	{ "a.b", "a%b", '.', false },
	{ "a/b", "a%b", '.', true },
	/* '%' never crosses the delimiter, even where a '*' around it could. */
	{ "top/sub", "%", '/', false },
	{ "top/sub", "t%b", '/', false },
	{ "top/sub", "t%/%b", '/', true },
	{ "top/sub", "t*b", '/', true },
	{ "top/sub", "%/%", '/', true },
	{ "a/b/c", "%/%", '/', false },
	{ "a/b/c", "%/*", '/', true },
	{ "a/b/c", "*/%", '/', true },
	{ "a/b/c", "%b%", '/', false },
	{ "a/b/c", "*b%", '/', false },
	{ "a/b/c", "*b*", '/', true },
	{ "x/abc", "*a%c", '/', true },
	{ "x/ab/c", "*a%c", '/', false },
	{ "a/xc", "*%c", '/', true },
};

static void test_examples(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		const struct example *e = &examples[i];
		if (imap_match(e->name, e->pattern, e->delimiter) != e->match)
			fail_msg("\"%s\" against \"%s\": want %d", e->name, e->pattern, e->match);
	}
}

/* The obvious recursive matcher, exponential but right: the oracle. */
static bool slow_match(const char *name, const char *pat, char delim)
{
	if (*pat == '\0')
		return *name == '\0';
	if (*pat == '*' || *pat == '%') {
		for (const char *t = name;; t++) {
			if (slow_match(t, pat + 1, delim))
				return true;
			if (*t == '\0' || (*pat == '%' && *t == delim))
				return false;
		}
	}
	return *name == *pat && slow_match(name + 1, pat + 1, delim);
}

static void test_against_the_oracle(void **state)
{
	static const char alphabet[] = "ab/*%";
	char name[9], pat[8];
	unsigned seed = 12345;
	(void)state;
	for (int round = 0; round < 200000; round++) {
		seed = seed * 1103515245u + 12345u;
		size_t nl = (seed >> 8) % 9, pl = (seed >> 16) % 8;
		for (size_t i = 0; i < nl; i++) {
			seed = seed * 1103515245u + 12345u;
			name[i] = alphabet[(seed >> 16) % 3];
		}
		name[nl] = '\0';
		for (size_t i = 0; i < pl; i++) {
			seed = seed * 1103515245u + 12345u;
			pat[i] = alphabet[(seed >> 16) % 5];
		}
		pat[pl] = '\0';
		if (imap_match(name, pat, '/') != slow_match(name, pat, '/'))
			fail_msg("name \"%s\" pattern \"%s\": %d", name, pat,
				 imap_match(name, pat, '/'));
	}
}

/* "*a*a*a...b" over long names of a: exponential for a backtracking
 * matcher, quadratic for a table over both; here linear. */
static void test_hostile_pattern_is_fast(void **state)
{
	char pattern[IMAP_MATCH_MAX_PATTERN + 2], name[1025];
	(void)state;
	for (size_t i = 0; i < IMAP_MATCH_MAX_PATTERN - 1; i++)
		pattern[i] = i % 2 == 0 ? '*' : 'a';
	pattern[IMAP_MATCH_MAX_PATTERN - 1] = 'b';
	pattern[IMAP_MATCH_MAX_PATTERN] = '\0';
	memset(name, 'a', 1024);
	name[1024] = '\0';
	clock_t start = clock();
	for (int i = 0; i < 1000; i++)
		assert_false(imap_match(name, pattern, '/'));
	double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
	assert_true(seconds < 2.0);
	name[1023] = 'b';
	assert_true(imap_match(name, pattern, '/'));
	/* One octet past the bound matches nothing. */
	pattern[IMAP_MATCH_MAX_PATTERN] = '*';
	pattern[IMAP_MATCH_MAX_PATTERN + 1] = '\0';
	assert_false(imap_match(name, pattern, '/'));
	assert_false(imap_match("x", pattern, '/'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_against_the_oracle),
		cmocka_unit_test(test_hostile_pattern_is_fast),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
