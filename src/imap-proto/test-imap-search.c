/* Unit tests for imap-search: every key, canonical printing, dates,
 * CHARSET, RETURN, errors with their exact texts, depth and key limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap-parser.h"
#include "imap-search.h"

/* Room for the printed form of any program the tests make. */
#define PRINT_MAX (1024u * 1024)

/*
 * search parses "t SEARCH <program>\r\n" (with literals accepted) and then
 * the program with limits (NULL: defaults).  Returns the search result and
 * the printed program or the error text in *text_r (caller frees).
 */
static int search(const char *program, const struct imap_search_limits *limits, char **text_r)
{
	struct imap_parser_limits pl = IMAP_PARSER_DEFAULT_LIMITS;
	pl.max_depth = 1000;
	struct imap_parser *p = imap_parser_new(&pl);
	struct buf line;
	size_t used, off = 0;
	int r;

	buf_init(&line, 4 * 1024 * 1024);
	buf_printf(&line, "t SEARCH %s\r\n", program);
	while ((r = imap_parser_feed(p, line.data + off, line.len - off, &used)) ==
	       IMAP_PARSE_LITERAL) {
		off += used;
		assert_int_equal(imap_parser_literal_accept(p), 0);
	}
	if (r != IMAP_PARSE_COMMAND)
		fail_msg("'%s': parser: %s", program, imap_parser_error(p, NULL, NULL));
	const struct imap_command *cmd = imap_parser_command(p);
	struct pool *pool = pool_new(16 * 1024 * 1024);
	struct imap_search_program prog;
	const char *error = NULL;
	r = imap_search_parse(pool, cmd->args, cmd->arg_count, limits, &prog, &error);
	if (r == IMAP_SEARCH_OK) {
		struct buf out;
		buf_init(&out, PRINT_MAX);
		assert_int_equal(imap_search_print(&prog, &out), 0);
		*text_r = strdup(out.data);
		buf_free(&out);
	} else {
		*text_r = strdup(error);
	}
	pool_free(&pool);
	imap_parser_free(&p);
	buf_free(&line);
	return r;
}

/* ok: program must parse and print as want. */
static void ok(const char *program, const char *want)
{
	char *got;
	int r = search(program, NULL, &got);
	if (r != IMAP_SEARCH_OK)
		fail_msg("'%s' refused: %s", program, got);
	if (strcmp(got, want) != 0)
		fail_msg("'%s': got '%s', want '%s'", program, got, want);
	free(got);
}

/* bad: program must give result (BAD or NO) with the text want. */
static void bad(const char *program, int result, const char *want)
{
	char *got;
	int r = search(program, NULL, &got);
	if (r != result)
		fail_msg("'%s': result %d (%s), want %d", program, r, got, result);
	if (strcmp(got, want) != 0)
		fail_msg("'%s': got '%s', want '%s'", program, got, want);
	free(got);
}

static void test_keys(void **state)
{
	(void)state;
	ok("all answered deleted draft flagged new old recent seen",
	   "ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN");
	ok("UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
	   "UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN");
	ok("BCC a CC \"b c\" FROM {3}\r\nd\"e TO NIL SUBJECT \"\" BODY x TEXT y",
	   "BCC \"a\" CC \"b c\" FROM \"d\\\"e\" TO \"NIL\" SUBJECT \"\" BODY \"x\" TEXT \"y\"");
	ok("HEADER Message-ID \"<a@b>\" header X-Spam \"\"",
	   "HEADER \"Message-ID\" \"<a@b>\" HEADER \"X-Spam\" \"\"");
	ok("KEYWORD $Forwarded UNKEYWORD $Junk keyword foo",
	   "KEYWORD $Forwarded UNKEYWORD $Junk KEYWORD foo");
	ok("BEFORE 1-Feb-1994 ON 29-feb-2024 SINCE \"01-JAN-2000\" SENTBEFORE 31-Dec-1999 "
	   "SENTON 1-Mar-2023 SENTSINCE 30-Apr-2021",
	   "BEFORE 1-Feb-1994 ON 29-Feb-2024 SINCE 1-Jan-2000 SENTBEFORE 31-Dec-1999 "
	   "SENTON 1-Mar-2023 SENTSINCE 30-Apr-2021");
	ok("LARGER 1024 SMALLER 0 larger 9223372036854775807",
	   "LARGER 1024 SMALLER 0 LARGER 9223372036854775807");
	ok("UID 1:*,5 1:3 * $ UID $", "UID 1:*,5 1:3 * $ UID $");
	ok("NOT SEEN NOT NOT DELETED", "NOT SEEN NOT NOT DELETED");
	ok("OR SEEN FLAGGED OR (FROM a TO b) NOT (SEEN)",
	   "OR SEEN FLAGGED OR (FROM \"a\" TO \"b\") NOT (SEEN)");
	ok("((ALL))", "((ALL))");
	/* 8-bit and line ends print as literals. */
	ok("SUBJECT \"Gr\xc3\xbc\xc3\x9f\xc3\xa9\" BODY {4}\r\na\r\nb",
	   "SUBJECT {8}\r\nGr\xc3\xbc\xc3\x9f\xc3\xa9 BODY {4}\r\na\r\nb");
}

static void test_clients(void **state)
{
	(void)state;
	/* Apple Mail, Thunderbird, mutt, Outlook, K-9 shapes. */
	ok("1:* NOT DELETED", "1:* NOT DELETED");
	ok("UNDELETED UID 1:* SINCE 1-Jan-2024", "UNDELETED UID 1:* SINCE 1-Jan-2024");
	ok("CHARSET UTF-8 OR SUBJECT \"x\" FROM \"x\"", "CHARSET UTF-8 OR SUBJECT \"x\" FROM \"x\"");
	ok("charset us-ascii (OR FROM \"bob\" (OR TO \"bob\" CC \"bob\")) UNDELETED",
	   "CHARSET US-ASCII (OR FROM \"bob\" (OR TO \"bob\" CC \"bob\")) UNDELETED");
	ok("NOT DELETED SEEN UID 100:*", "NOT DELETED SEEN UID 100:*");
	ok("RETURN (MIN MAX COUNT) UNSEEN", "RETURN (MIN MAX COUNT) UNSEEN");
	ok("RETURN () ALL", "RETURN (ALL) ALL");
	ok("RETURN (SAVE) DELETED", "RETURN (SAVE) DELETED");
}

static void test_errors(void **state)
{
	(void)state;
	bad("", IMAP_SEARCH_BAD, "Missing search key");
	bad("FOO", IMAP_SEARCH_BAD, "Unknown search key");
	bad("SAVEDBEFORE 1-Feb-1994", IMAP_SEARCH_BAD, "Unknown search key");
	bad("\"ALL\"", IMAP_SEARCH_BAD, "Unknown search key");
	bad("NIL", IMAP_SEARCH_BAD, "Unknown search key");
	bad("FROM", IMAP_SEARCH_BAD, "Missing search key argument");
	bad("FROM (a)", IMAP_SEARCH_BAD, "Invalid string argument");
	bad("FROM ~{1}\r\na", IMAP_SEARCH_BAD, "Invalid string argument");
	bad("HEADER a", IMAP_SEARCH_BAD, "Missing search key argument");
	bad("NOT", IMAP_SEARCH_BAD, "Missing search key");
	bad("OR SEEN", IMAP_SEARCH_BAD, "Missing search key");
	bad("()", IMAP_SEARCH_BAD, "Empty search key group");
	bad("KEYWORD \\Seen", IMAP_SEARCH_BAD, "Invalid keyword");
	bad("KEYWORD \"x\"", IMAP_SEARCH_BAD, "Invalid keyword");
	bad("KEYWORD a*", IMAP_SEARCH_BAD, "Invalid keyword");
	bad("LARGER x", IMAP_SEARCH_BAD, "Invalid number");
	bad("LARGER -1", IMAP_SEARCH_BAD, "Invalid number");
	bad("LARGER 9223372036854775808", IMAP_SEARCH_BAD, "Invalid number");
	bad("LARGER \"5\"", IMAP_SEARCH_BAD, "Invalid number");
	bad("UID x", IMAP_SEARCH_BAD, "Invalid sequence set");
	bad("UID \"1\"", IMAP_SEARCH_BAD, "Invalid sequence set");
	bad("1:0", IMAP_SEARCH_BAD, "Invalid sequence set");
	bad("*x", IMAP_SEARCH_BAD, "Invalid sequence set");
	bad("RETURN (FOO) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN MIN ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("CHARSET", IMAP_SEARCH_BAD, "Missing charset");
	bad("CHARSET (x) ALL", IMAP_SEARCH_BAD, "Missing charset");
	bad("CHARSET UTF-8", IMAP_SEARCH_BAD, "Missing search key");
	bad("CHARSET ISO-8859-1 SUBJECT x", IMAP_SEARCH_NO,
	    "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	bad("CHARSET \"UTF-16\" ALL", IMAP_SEARCH_NO,
	    "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	bad("ALL CHARSET UTF-8", IMAP_SEARCH_BAD, "Unknown search key");
}

/* MODSEQ (RFC 7162 3.1.5): the number, with the entry name and type
 * checked and dropped. */
static void test_modseq(void **state)
{
	(void)state;
	ok("MODSEQ 720162338", "MODSEQ 720162338");
	ok("modseq 0 SEEN", "MODSEQ 0 SEEN");
	ok("MODSEQ \"/flags/\\\\draft\" all 620162338", "MODSEQ 620162338");
	ok("MODSEQ \"/flags/$Junk\" PRIV 5 NOT MODSEQ {12}\r\n/flags/\\Seen shared 7",
	   "MODSEQ 5 NOT MODSEQ 7");
	ok("OR MODSEQ 9223372036854775807 (MODSEQ 1 UID 1:*)",
	   "OR MODSEQ 9223372036854775807 (MODSEQ 1 UID 1:*)");
	bad("MODSEQ", IMAP_SEARCH_BAD, "Missing search key argument");
	bad("MODSEQ x", IMAP_SEARCH_BAD, "Invalid number");
	bad("MODSEQ -1", IMAP_SEARCH_BAD, "Invalid number");
	bad("MODSEQ 9223372036854775808", IMAP_SEARCH_BAD, "Invalid number");
	bad("MODSEQ \"/flags/\\\\seen\" all", IMAP_SEARCH_BAD, "Missing search key argument");
	bad("MODSEQ \"/flags/\\\\seen\" any 5", IMAP_SEARCH_BAD, "Invalid MODSEQ entry");
	bad("MODSEQ \"/other/x\" all 5", IMAP_SEARCH_BAD, "Invalid MODSEQ entry");
	bad("MODSEQ \"/flags/\" all 5", IMAP_SEARCH_BAD, "Invalid MODSEQ entry");
	bad("MODSEQ \"/flags/x\" \"all\" 5", IMAP_SEARCH_BAD, "Invalid MODSEQ entry");
	bad("MODSEQ \"/flags/x\" all \"5\"", IMAP_SEARCH_BAD, "Invalid number");
}

static void test_dates(void **state)
{
	(void)state;
	ok("ON 1-jan-0000", "ON 1-Jan-0000");
	ok("ON 29-Feb-2000", "ON 29-Feb-2000");
	ok("ON 31-Jan-2024 ON 30-Jun-2024 ON 31-Dec-9999", "ON 31-Jan-2024 ON 30-Jun-2024 ON 31-Dec-9999");
	static const char *const dates[] = {
		"29-Feb-2023", "29-Feb-1900", "30-Feb-2024", "31-Apr-2024", "0-Jan-2024",
		"32-Jan-2024", "001-Jan-2024", "1-Jan-24", "1-Jan-20244", "1-Foo-2024", "1 Jan 2024",
		"1-Jan-2024x", "-Jan-2024", "1-January-2024", "1-Jan-", "1", "\"\"", "{11}\r\n1-Jan-2024",
		"(1-Jan-2024)",
	};
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		char program[64];
		snprintf(program, sizeof(program), "SINCE %s", dates[i]);
		bad(program, IMAP_SEARCH_BAD, "Invalid date");
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct imap_search_limits l = IMAP_SEARCH_DEFAULT_LIMITS;
	char *got;
	struct buf p;
	buf_init(&p, 1024 * 1024);

	/* Depth: max_depth - 1 NOTs are taken, max_depth are not. */
	l.max_depth = 5;
	assert_int_equal(search("NOT NOT NOT NOT ALL", &l, &got), IMAP_SEARCH_OK);
	free(got);
	assert_int_equal(search("NOT NOT NOT NOT NOT ALL", &l, &got), IMAP_SEARCH_BAD);
	assert_string_equal(got, "Search program nested too deeply");
	free(got);
	assert_int_equal(search("((((ALL))))", &l, &got), IMAP_SEARCH_OK);
	free(got);
	assert_int_equal(search("(((((ALL)))))", &l, &got), IMAP_SEARCH_BAD);
	free(got);

	/* The default depth: an OR chain of 255 alternatives. */
	for (int i = 0; i < IMAP_SEARCH_DEFAULT_MAX_DEPTH - 1; i++)
		buf_printf(&p, "OR FROM a%d ", i);
	buf_printf(&p, "ALL");
	assert_int_equal(search(p.data, NULL, &got), IMAP_SEARCH_OK);
	free(got);
	buf_reset(&p);
	for (int i = 0; i < IMAP_SEARCH_DEFAULT_MAX_DEPTH; i++)
		buf_printf(&p, "OR FROM a%d ", i);
	buf_printf(&p, "ALL");
	assert_int_equal(search(p.data, NULL, &got), IMAP_SEARCH_BAD);
	assert_string_equal(got, "Search program nested too deeply");
	free(got);

	/* 5000 NOTs: refused without running out of stack. */
	buf_reset(&p);
	for (int i = 0; i < 5000; i++)
		buf_printf(&p, "NOT ");
	buf_printf(&p, "ALL");
	assert_int_equal(search(p.data, NULL, &got), IMAP_SEARCH_BAD);
	assert_string_equal(got, "Search program nested too deeply");
	free(got);

	/* Keys: at the limit and one past it. */
	buf_reset(&p);
	for (int i = 0; i < IMAP_SEARCH_DEFAULT_MAX_KEYS; i++)
		buf_printf(&p, "%sSEEN", i > 0 ? " " : "");
	assert_int_equal(search(p.data, NULL, &got), IMAP_SEARCH_OK);
	free(got);
	buf_printf(&p, " SEEN");
	assert_int_equal(search(p.data, NULL, &got), IMAP_SEARCH_BAD);
	assert_string_equal(got, "Too many search keys");
	free(got);

	/* Sequence set ranges. */
	l = IMAP_SEARCH_DEFAULT_LIMITS;
	l.max_ranges = 2;
	assert_int_equal(search("UID 1,2", &l, &got), IMAP_SEARCH_OK);
	free(got);
	assert_int_equal(search("UID 1,2,3", &l, &got), IMAP_SEARCH_BAD);
	assert_string_equal(got, "Too many ranges in sequence set");
	free(got);
	buf_free(&p);
}

/* RFC 5267 UPDATE and RFC 9394 PARTIAL: ranges normalised, one of each
 * option, PARTIAL without ALL. */
static void test_return_context(void **state)
{
	(void)state;
	ok("RETURN (UPDATE) SEEN", "RETURN (ALL UPDATE) SEEN");
	ok("RETURN (UPDATE COUNT) SEEN", "RETURN (COUNT UPDATE) SEEN");
	ok("RETURN (PARTIAL 1:100) ALL", "RETURN (PARTIAL 1:100) ALL");
	ok("RETURN (PARTIAL 4:2) ALL", "RETURN (PARTIAL 2:4) ALL");
	ok("RETURN (PARTIAL -1:-100 COUNT) ALL", "RETURN (COUNT PARTIAL -1:-100) ALL");
	ok("RETURN (partial -100:-1) ALL", "RETURN (PARTIAL -1:-100) ALL");
	ok("RETURN (PARTIAL 4294967295:1) ALL", "RETURN (PARTIAL 1:4294967295) ALL");
	bad("RETURN (PARTIAL 1) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL 1:*) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL *:1) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL 0:5) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL -1:5) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL 1:4294967296) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL \"1:2\") ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL 1:2 ALL) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
	bad("RETURN (MIN MIN) ALL", IMAP_SEARCH_BAD, "Invalid RETURN option");
}

/* imap_search_program_copy: the copy lives on after the arguments and
 * the pool they were parsed into are gone. */
static void test_copy(void **state)
{
	(void)state;
	const char *program = "RETURN (UPDATE) OR (SUBJECT \"a b\" UID 1:3,7) "
			      "NOT HEADER X-Y \"z\" KEYWORD $k 2:*";
	struct imap_parser_limits pl = IMAP_PARSER_DEFAULT_LIMITS;
	struct imap_parser *p = imap_parser_new(&pl);
	struct buf line, out1, out2;
	size_t used;

	buf_init(&line, 4096);
	buf_init(&out1, 4096);
	buf_init(&out2, 4096);
	buf_printf(&line, "t SEARCH %s\r\n", program);
	assert_int_equal(imap_parser_feed(p, line.data, line.len, &used), IMAP_PARSE_COMMAND);
	const struct imap_command *cmd = imap_parser_command(p);
	struct pool *pool = pool_new(1024 * 1024), *keep = pool_new(1024 * 1024);
	struct imap_search_program prog, copy;
	const char *error;
	assert_int_equal(imap_search_parse(pool, cmd->args, cmd->arg_count, NULL, &prog, &error),
			 IMAP_SEARCH_OK);
	assert_int_equal(imap_search_print(&prog, &out1), 0);
	assert_int_equal(imap_search_program_copy(keep, &prog, &copy), 0);
	pool_free(&pool);
	imap_parser_free(&p);
	assert_int_equal(imap_search_print(&copy, &out2), 0);
	assert_string_equal(out1.data, out2.data);
	/* a pool too small for the copy */
	struct pool *tiny = pool_new(64);
	assert_int_equal(imap_search_program_copy(tiny, &copy, &prog), -1);
	pool_free(&tiny);
	pool_free(&keep);
	buf_free(&line);
	buf_free(&out1);
	buf_free(&out2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_clients),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_return_context),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_modseq),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
