/* Unit tests for imap-sort: base subjects (RFC 5256 2.1), collation
 * keys, ENVELOPE addresses, sort criteria and the ordering of records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap/imap-sort.h"

/* base: subject must reduce to want, with the reply/forward mark refwd. */
static void base(const char *subject, const char *want, bool refwd)
{
	struct buf out;
	bool got_refwd = !refwd;

	buf_init(&out, 64 * 1024);
	assert_int_equal(imap_sort_base_subject(str_c(subject), &out, &got_refwd), 0);
	if (strcmp(out.data != NULL ? out.data : "", want) != 0 || got_refwd != refwd)
		fail_msg("'%s': got '%s' refwd %d, want '%s' refwd %d", subject,
			 out.data != NULL ? out.data : "", got_refwd, want, refwd);
	buf_free(&out);
}

static void test_base_subject(void **state)
{
	(void)state;
	base("Hello", "Hello", false);
	base("Re: Hello", "Hello", true);
	base("RE: [list] Re: Fwd: hello (fwd)", "hello", true);
	base("re : x", "x", true);
	base("Re[2]: hi", "hi", true);
	base("Re [2] : hi", "hi", true);
	base("Fw: x", "x", true);
	base("FWD:x", "x", true);
	base("Reply: x", "Reply: x", false);
	base("Ref: x", "Ref: x", false);
	base("Re:", "", true);
	base("", "", false);
	base("   ", "", false);
	base("  multiple   spaces\tand\r\n tabs  ", "multiple spaces and tabs", false);
	/* Step 4: a blob goes only when something is left after it. */
	base("[list] hello", "hello", false);
	base("[list]", "[list]", false);
	base("[a] [b]", "[b]", false);
	base("[a][b] c", "c", false);
	base("[list] Re: hello", "hello", true);
	base("Re: [list] ", "[list]", true);
	base("[a[b] c", "[a[b] c", false);
	/* Step 2: trailers, repeatedly. */
	base("hello (fwd) (FWD)", "hello", true);
	base("hello(fwd)", "hello", true);
	base("(fwd)", "", true);
	/* Step 6: the [fwd: ...] wrapper, and round again. */
	base("[fwd: hello]", "hello", true);
	base("[Fwd: Re: hello] (fwd)", "hello", true);
	base("Fwd: [fwd: x]", "x", true);
	base("[fwd: [fwd: x]]", "x", true);
	base("[fwd: x", "[fwd: x", false);
	base("[fwd:]", "", true);
	/* Text is octets: UTF-8 passes through. */
	base("Re: Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e", true);
}

/* key gives the collation key of s (caller frees). */
static char *key(const char *s, size_t len)
{
	struct buf out;
	buf_init(&out, 64 * 1024);
	assert_int_equal(imap_sort_collate_key(str_from(s, len), &out), 0);
	char *r = strndup(out.data != NULL ? out.data : "", out.len);
	buf_free(&out);
	return r;
}

static void same_key(const char *a, const char *b, bool want)
{
	char *ka = key(a, strlen(a)), *kb = key(b, strlen(b));
	if ((strcmp(ka, kb) == 0) != want)
		fail_msg("'%s' and '%s': keys '%s' '%s'", a, b, ka, kb);
	free(ka);
	free(kb);
}

static void test_collate(void **state)
{
	(void)state;
	same_key("hello", "HELLO", true);
	same_key("Hello World", "hELLO wORLD", true);
	same_key("\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", true);  /* été ÉTÉ */
	same_key("e\xcc\x81", "\xc3\xa9", true);                    /* decomposed é */
	same_key("\xc2\xb2", "2", true);                            /* superscript two (NFKD) */
	same_key("a", "b", false);
	same_key("", "", true);
	char *empty = key("", 0), *a = key("a", 1), *ab = key("ab", 2);
	assert_string_equal(empty, "");
	assert_true(strcmp(a, ab) < 0);
	free(empty);
	free(a);
	free(ab);
	/* Invalid UTF-8 becomes U+FFFD (EF BF BD), never an error. */
	char *bad = key("\xff" "a", 2);
	assert_string_equal(bad, "\xef\xbf\xbd" "A");
	free(bad);
	/* Long text: at most IMAP_SORT_KEY_MAX octets of key. */
	char *long_text = malloc(10000);
	memset(long_text, 'x', 10000);
	char *k = key(long_text, 10000);
	assert_int_equal(strlen(k), IMAP_SORT_KEY_MAX);
	free(k);
	free(long_text);
}

/* mailbox: the first address of field in envelope must be want (NULL:
 * the envelope is refused); for DISPLAYFROM/DISPLAYTO its RFC 5957 text. */
static void mailbox(const char *envelope, enum imap_sort_field field, const char *want)
{
	struct buf out;
	buf_init(&out, 4096);
	bool ok = field == IMAP_SORT_DISPLAYFROM || field == IMAP_SORT_DISPLAYTO
			  ? imap_sort_envelope_display(str_c(envelope), field, &out)
			  : imap_sort_envelope_mailbox(str_c(envelope), field, &out);
	if (want == NULL) {
		if (ok)
			fail_msg("'%s' accepted", envelope);
	} else if (!ok || strcmp(out.data != NULL ? out.data : "", want) != 0) {
		fail_msg("'%s': got %d '%s', want '%s'", envelope, ok, out.data, want);
	}
	buf_free(&out);
}

static void test_envelope(void **state)
{
	(void)state;
	const char *env = "(\"Mon, 1 Jan 2024 10:00:00 +0100\" \"Hi (there)\" "
			  "((\"Alice \\\"A\\\"\" NIL \"alice\" \"example.org\")) "
			  "((\"Alice\" NIL \"alice\" \"example.org\")) "
			  "((\"Alice\" NIL \"alice\" \"example.org\")) "
			  "((NIL NIL \"Bob\" \"example.org\")(\"Carol\" NIL \"carol\" \"x.y\")) "
			  "NIL NIL NIL \"<1@example.org>\")";
	mailbox(env, IMAP_SORT_FROM, "alice");
	mailbox(env, IMAP_SORT_TO, "Bob");
	mailbox(env, IMAP_SORT_CC, "");
	/* Literals, escapes, groups. */
	const char *lit = "(NIL {3}\r\n) ( "
			  "((NIL NIL {6}\r\nal)c\"e \"h\")) NIL NIL "
			  "((NIL NIL \"team\" NIL)(NIL NIL \"x\\\\y\" \"h\")(NIL NIL NIL NIL)) "
			  "((NIL NIL \"cc1\" \"h\")) NIL NIL NIL)";
	mailbox(lit, IMAP_SORT_FROM, "al)c\"e");
	mailbox(lit, IMAP_SORT_TO, "team");
	mailbox(lit, IMAP_SORT_CC, "cc1");
	/* Broken text is refused, never read past its end. */
	mailbox("", IMAP_SORT_FROM, NULL);
	mailbox("(NIL NIL", IMAP_SORT_FROM, NULL);
	mailbox("(NIL NIL ((NIL NIL \"a\"", IMAP_SORT_FROM, NULL);
	mailbox("(NIL NIL {99}\r\nab", IMAP_SORT_FROM, NULL);
	mailbox("(NIL \"x NIL NIL", IMAP_SORT_FROM, NULL);
	mailbox("(NIL NIL ())", IMAP_SORT_FROM, NULL);
}

/* SORT=DISPLAY (RFC 5957): the name, else mailbox@host, else the
 * mailbox alone (a group's name). */
static void test_display(void **state)
{
	(void)state;
	const char *env = "(NIL NIL "
			  "((\"=?iso-8859-1?q?foo_aar?=\" NIL \"e\" \"f.g\")) NIL NIL "
			  "((\"\" NIL \"b\" \"c.d\")(\"Second\" NIL \"s\" \"x\")) "
			  "NIL NIL NIL NIL NIL)";
	mailbox(env, IMAP_SORT_DISPLAYFROM, "=?iso-8859-1?q?foo_aar?=");
	mailbox(env, IMAP_SORT_DISPLAYTO, "b@c.d");
	const char *group = "(NIL NIL ((NIL NIL \"d\" NIL)) NIL NIL "
			    "((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)) "
			    "NIL NIL NIL NIL NIL)";
	mailbox(group, IMAP_SORT_DISPLAYFROM, "d");
	mailbox(group, IMAP_SORT_DISPLAYTO, "team");
	mailbox("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", IMAP_SORT_DISPLAYTO, "");
	mailbox("(NIL NIL ((\"x\" NIL \"a\"", IMAP_SORT_DISPLAYFROM, NULL);
	mailbox("(NIL NIL ((NIL NIL \"a\" \"b\"", IMAP_SORT_DISPLAYFROM, NULL);
}

/* criteria parses a list of atoms separated by spaces. */
static int criteria(const char *words, struct imap_sort_criterion *crit, size_t *count,
		    const char **error)
{
	struct imap_arg items[32];
	size_t n = 0, len = strlen(words);

	for (size_t i = 0; i < len;) {
		size_t end = i;
		while (end < len && words[end] != ' ')
			end++;
		assert_true(n < 32);
		items[n++] = (struct imap_arg){ .type = IMAP_ARG_ATOM,
						.text = str_from(words + i, end - i) };
		i = end + 1;
	}
	struct imap_arg list = { .type = IMAP_ARG_LIST, .list = items, .list_count = n };
	return imap_sort_parse_criteria(&list, crit, count, error);
}

static void test_criteria(void **state)
{
	struct imap_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
	size_t count;
	const char *error;

	(void)state;
	assert_int_equal(criteria("reverse ARRIVAL cc Date FROM SIZE REVERSE subject TO", crit,
				  &count, &error), 0);
	assert_int_equal(count, 7);
	assert_int_equal(crit[0].field, IMAP_SORT_ARRIVAL);
	assert_true(crit[0].reverse);
	assert_int_equal(crit[1].field, IMAP_SORT_CC);
	assert_false(crit[1].reverse);
	assert_int_equal(crit[5].field, IMAP_SORT_SUBJECT);
	assert_true(crit[5].reverse);
	assert_int_equal(crit[6].field, IMAP_SORT_TO);
	assert_false(imap_sort_needs_meta(crit, 1));
	assert_true(imap_sort_needs_meta(crit, 2));

	assert_int_equal(criteria("", crit, &count, &error), -1);
	assert_string_equal(error, "Invalid sort criteria");
	assert_int_equal(criteria("FOO", crit, &count, &error), -1);
	assert_string_equal(error, "Unknown sort criterion");
	assert_int_equal(criteria("DATE REVERSE", crit, &count, &error), -1);
	assert_string_equal(error, "REVERSE without a sort criterion");
	assert_int_equal(criteria("REVERSE REVERSE DATE", crit, &count, &error), -1);
	assert_string_equal(error, "REVERSE twice in sort criteria");
	assert_int_equal(criteria("DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
				  "DATE DATE DATE DATE DATE", crit, &count, &error), -1);
	assert_string_equal(error, "Too many sort criteria");
	struct imap_arg atom = { .type = IMAP_ARG_ATOM, .text = STR("DATE") };
	assert_int_equal(imap_sort_parse_criteria(&atom, crit, &count, &error), -1);
}

/* order sorts msgs by the criteria and checks the sequence numbers. */
static void order(struct imap_sort_msg *msgs, size_t n, const char *words, const char *want)
{
	struct imap_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
	struct imap_sort_msg *copy = malloc(n * sizeof(*copy));
	size_t count;
	const char *error;
	char got[256] = "";

	assert_int_equal(criteria(words, crit, &count, &error), 0);
	memcpy(copy, msgs, n * sizeof(*copy));
	imap_sort_msgs(copy, n, crit, count);
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u", i > 0 ? " " : "",
			 (unsigned)copy[i].seq);
	if (strcmp(got, want) != 0)
		fail_msg("(%s): got '%s', want '%s'", words, got, want);
	free(copy);
}

static void test_order(void **state)
{
	(void)state;
	struct imap_sort_msg msgs[] = {
		{ .seq = 1, .arrival = 30, .sent_date = 10, .size = 500, .subject = STR("B"),
		  .from = STR("ZED"), .to = STR(""), .cc = STR("X") },
		{ .seq = 2, .arrival = 10, .sent_date = 30, .size = 100, .subject = STR("A"),
		  .from = STR("AMY"), .to = STR("B"), .cc = STR("") },
		{ .seq = 3, .arrival = 20, .sent_date = 20, .size = 500, .subject = STR("B"),
		  .from = STR("AMY"), .to = STR("A"), .cc = STR("X") },
		{ .seq = 4, .arrival = 20, .sent_date = 10, .size = 100, .subject = STR(""),
		  .from = STR(""), .to = STR("A"), .cc = STR("") },
	};
	order(msgs, 4, "ARRIVAL", "2 3 4 1");
	order(msgs, 4, "REVERSE ARRIVAL", "1 3 4 2");
	order(msgs, 4, "DATE", "1 4 3 2");
	order(msgs, 4, "SIZE", "2 4 1 3");
	/* REVERSE leaves the sequence-number tie-break ascending. */
	order(msgs, 4, "REVERSE SIZE", "1 3 2 4");
	/* The empty string first. */
	order(msgs, 4, "SUBJECT", "4 2 1 3");
	order(msgs, 4, "SUBJECT REVERSE DATE", "4 2 3 1");
	order(msgs, 4, "FROM SIZE", "4 2 3 1");
	order(msgs, 4, "TO", "1 3 4 2");
	order(msgs, 4, "CC REVERSE ARRIVAL", "4 2 1 3");
	order(msgs, 0, "DATE", "");
	assert_true(imap_sort_compare_date(5, 9, 6, 1) < 0);
	assert_true(imap_sort_compare_date(5, 2, 5, 1) > 0);
	assert_int_equal(imap_sort_compare_date(5, 1, 5, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_subject),
		cmocka_unit_test(test_collate),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_display),
		cmocka_unit_test(test_criteria),
		cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
