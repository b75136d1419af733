/* Unit tests for imap-thread: THREAD=REFERENCES (links, dummies, pruning,
 * loops, duplicate IDs, subject gathering, date order) and
 * THREAD=ORDEREDSUBJECT, plus hostile chains that must neither recurse
 * nor take quadratic time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap/imap-thread.h"

/* One message of a test mailbox; seq is its place (from 1), date its
 * sent date. */
struct spec {
	const char *subject;
	const char *message_id;
	const char *in_reply_to;
	const char *references;
	int64_t date;
};

#define THREAD_OUT_MAX (16u * 1024 * 1024)

/* run threads msgs[0..n) (seq i + 1, UID 10 * (i + 1)) and returns the
 * answer text (caller frees). */
static char *run(enum imap_thread_algorithm alg, const struct spec *msgs, size_t n, bool uid)
{
	struct imap_thread *t = imap_thread_new(alg, n);
	struct buf out;

	assert_non_null(t);
	buf_init(&out, THREAD_OUT_MAX);
	for (size_t i = 0; i < n; i++) {
		struct imap_thread_msg m = {
			.uid = (uint32_t)(10 * (i + 1)), .seq = (uint32_t)(i + 1),
			.subject = str_c(msgs[i].subject), .message_id = str_c(msgs[i].message_id),
			.in_reply_to = str_c(msgs[i].in_reply_to),
			.references = str_c(msgs[i].references), .sent_date = msgs[i].date,
		};
		assert_int_equal(imap_thread_add(t, &m), 0);
	}
	assert_int_equal(imap_thread_write(t, uid, &out), 0);
	char *r = strdup(out.data != NULL ? out.data : "");
	buf_free(&out);
	imap_thread_free(&t);
	assert_null(t);
	return r;
}

static void expect(enum imap_thread_algorithm alg, const struct spec *msgs, size_t n,
		   const char *want)
{
	char *got = run(alg, msgs, n, false);
	if (strcmp(got, want) != 0)
		fail_msg("got '%s', want '%s'", got, want);
	free(got);
}

#define REFS(...) expect(IMAP_THREAD_REFERENCES, (const struct spec[]){ __VA_ARGS__ }, \
	sizeof((const struct spec[]){ __VA_ARGS__ }) / sizeof(struct spec), want)
#define ORDERED(...) expect(IMAP_THREAD_ORDEREDSUBJECT, (const struct spec[]){ __VA_ARGS__ }, \
	sizeof((const struct spec[]){ __VA_ARGS__ }) / sizeof(struct spec), want)

static void test_references_links(void **state)
{
	const char *want;
	(void)state;

	want = "(1 2 3)(4)";
	REFS({ "a", "<a@x>", "", "", 1 },
	     { "Re: a", "<b@x>", "", "<a@x>", 2 },
	     { "Re: a", "<c@x>", "<b@x>", "<a@x> <b@x>", 3 },
	     { "other", "<d@x>", "", "", 4 });
	/* Branches: 2 and 3 answer 1, 4 answers 2. */
	want = "(1 (2 4)(3))";
	REFS({ "a", "<a@x>", "", "", 1 },
	     { "Re: a", "<b@x>", "", "<a@x>", 2 },
	     { "Re: a", "<c@x>", "", "<a@x>", 3 },
	     { "Re: a", "<d@x>", "", "<a@x> <b@x>", 4 });
	/* In-Reply-To counts only without References, and only its first ID. */
	want = "(1 2 3)";
	REFS({ "a", "<a@x>", "", "", 1 },
	     { "b", "<b@x>", "<a@x> <zz@x>", "", 2 },
	     { "c", "<c@x>", "<a@x>", "junk <b@x> (comment)", 3 });
	/* Children arriving before their parents. */
	want = "(1 3 2)";
	REFS({ "x", "<a@x>", "", "", 1 },
	     { "y", "<c@x>", "", "<a@x> <b@x>", 3 },
	     { "z", "<b@x>", "", "<a@x>", 2 });
	/* The numbers are UIDs when asked. */
	struct spec uids[] = {
		{ "a", "<a@x>", "", "", 1 }, { "b", "<b@x>", "", "<a@x>", 2 }, { "c", "", "", "", 3 },
	};
	char *got = run(IMAP_THREAD_REFERENCES, uids, 3, true);
	assert_string_equal(got, "(10 20)(30)");
	free(got);
	got = run(IMAP_THREAD_REFERENCES, uids, 0, false);
	assert_string_equal(got, "");
	free(got);
}

static void test_references_dummies(void **state)
{
	const char *want;
	(void)state;

	/* A missing parent with two children stays as a dummy: "((2)(3))". */
	want = "((1)(2))";
	REFS({ "p", "<b@x>", "", "<gone@x>", 1 },
	     { "q", "<c@x>", "", "<gone@x>", 2 });
	/* One child: the dummy goes, the child is the thread. */
	want = "(1)(2)";
	REFS({ "p", "<b@x>", "", "<gone@x>", 1 },
	     { "q", "<c@x>", "", "", 2 });
	/* Dummies below the top give their children to their parent. */
	want = "(1 (2)(3))";
	REFS({ "a", "<a@x>", "", "", 1 },
	     { "b", "<b@x>", "", "<a@x> <gone@x>", 2 },
	     { "c", "<c@x>", "", "<a@x> <gone@x>", 3 });
	want = "((1)(2))";
	REFS({ "p", "<b@x>", "", "<gone1@x> <gone2@x>", 1 },
	     { "q", "<c@x>", "", "<gone1@x>", 2 });
	/* A dummy sorts by its first child: 3 (date 5) before 1 (date 7). */
	want = "((2)(3))(1)";
	REFS({ "p", "<a@x>", "", "", 7 },
	     { "q", "<b@x>", "", "<gone@x>", 5 },
	     { "r", "<c@x>", "", "<gone@x>", 6 });
	/* A dummy filled by the message that arrives later. */
	want = "(2 1)";
	REFS({ "p", "<b@x>", "", "<a@x>", 1 },
	     { "q", "<a@x>", "", "", 2 });
}

static void test_references_odd_ids(void **state)
{
	const char *want;
	(void)state;

	/* A duplicate Message-ID: only the first message keeps it. */
	want = "(1 3)(2)";
	REFS({ "x", "<a@x>", "", "", 1 },
	     { "y", "<a@x>", "", "", 2 },
	     { "z", "<c@x>", "", "<a@x>", 3 });
	/* Without a valid ID a message is its own thread; IDs are
	 * case-sensitive; IDs need an "@" and no spaces. */
	want = "(1)(2)(3)(4)";
	REFS({ "w", "", "", "", 1 },
	     { "x", "<A@x>", "", "<a@x>", 2 },
	     { "y", "<noat>", "", "<noat>", 3 },
	     { "z", "<a b@x>", "", "<a b@x>", 4 });
	/* Loops are refused: 2 claims to be 1's parent and 1 claims 2. */
	want = "(2 1)";
	REFS({ "x", "<a@x>", "", "<b@x>", 1 },
	     { "y", "<b@x>", "", "<a@x>", 2 });
	/* A message referring to itself. */
	want = "(1)";
	REFS({ "x", "<a@x>", "", "<a@x>", 1 });
	/* References in a loop among themselves. */
	want = "(1 2 3)";
	REFS({ "x", "<a@x>", "", "", 1 },
	     { "y", "<b@x>", "", "<a@x> <b@x> <a@x>", 2 },
	     { "z", "<c@x>", "", "<b@x> <a@x> <b@x>", 3 });
	/* Only the last IMAP_THREAD_MAX_REFS references count. */
	static char refs[IMAP_THREAD_MAX_REFS * 16 + 64];
	size_t len = 0;
	len += (size_t)snprintf(refs + len, sizeof(refs) - len, "<a@x>");
	for (unsigned i = 0; i < IMAP_THREAD_MAX_REFS; i++)
		len += (size_t)snprintf(refs + len, sizeof(refs) - len, " <g%u@x>", i);
	want = "(1)(2)";
	REFS({ "x", "<a@x>", "", "", 1 },
	     { "y", "<b@x>", "", refs, 2 });
}

static void test_references_subjects(void **state)
{
	const char *want;
	(void)state;

	/* A reply without references joins the original by subject. */
	want = "(1 2)";
	REFS({ "Hello", "<a@x>", "", "", 1 },
	     { "Re: hello", "<b@x>", "", "", 2 });
	/* ... also when the reply came first. */
	want = "(2 1)";
	REFS({ "Re: hello", "<b@x>", "", "", 1 },
	     { "hello", "<a@x>", "", "", 2 });
	/* Two originals with one subject share a new dummy. */
	want = "((1)(2))";
	REFS({ "Lunch", "<a@x>", "", "", 1 },
	     { "lunch", "<b@x>", "", "", 2 });
	/* Two replies: also a dummy (neither is the original). */
	want = "((1)(2)(3))";
	REFS({ "Re: Lunch", "<a@x>", "", "", 1 },
	     { "Re: lunch", "<b@x>", "", "", 2 },
	     { "Fwd: lunch", "<c@x>", "", "", 3 });
	/* A thread under a dummy takes the others in. */
	want = "((1)(2)(3))";
	REFS({ "p", "<b@x>", "", "<gone@x>", 1 },
	     { "Re: p", "<c@x>", "", "<gone@x>", 2 },
	     { "P", "<d@x>", "", "", 3 });
	/* Empty subjects are never gathered. */
	want = "(1)(2)";
	REFS({ "", "<a@x>", "", "", 1 },
	     { "Re:", "<b@x>", "", "", 2 });
	/* Gathering keeps whole threads, and siblings end up by date. */
	want = "(1 (3)(2 4))";
	REFS({ "Topic", "<a@x>", "", "", 1 },
	     { "Re: topic", "<b@x>", "", "", 5 },
	     { "Re: topic", "<c@x>", "", "<a@x>", 3 },
	     { "Re: topic", "<d@x>", "", "<b@x>", 6 });
}

static void test_references_dates(void **state)
{
	const char *want;
	(void)state;

	/* Threads by sent date, ties by sequence number. */
	want = "(2)(3)(4)(1)";
	REFS({ "a", "<a@x>", "", "", 300 },
	     { "b", "<b@x>", "", "", 100 },
	     { "c", "<c@x>", "", "", 200 },
	     { "d", "<d@x>", "", "", 200 });
	/* Children by date too. */
	want = "(1 (3)(2))";
	REFS({ "a", "<a@x>", "", "", 1 },
	     { "b", "<b@x>", "", "<a@x>", 9 },
	     { "c", "<c@x>", "", "<a@x>", 5 });
}

static void test_orderedsubject(void **state)
{
	const char *want;
	(void)state;

	want = "(3 5)(1 (2)(4))";
	ORDERED({ "A", "", "", "", 10 },
		{ "Re: A", "", "", "", 20 },
		{ "B", "", "", "", 5 },
		{ "re: a", "", "", "", 30 },
		{ "[list] b", "", "", "", 50 });
	/* The parent is the oldest, children by date; empty subjects group. */
	want = "(2 (1)(3))(4)";
	ORDERED({ "x", "", "", "", 20 },
		{ "X", "", "", "", 10 },
		{ "Fwd: x", "", "", "", 30 },
		{ "", "", "", "", 40 });
	want = "(1)";
	ORDERED({ "x", "", "", "", 1 });
}

/* check_list reads one thread-list at *p (RFC 5256 section 4) and marks
 * its numbers in seen[]; fails on any grammar error or repeat. */
static void check_list(const char **p, bool *seen, size_t n, unsigned depth)
{
	assert_true(depth < 200);
	assert_int_equal(**p, '(');
	(*p)++;
	unsigned numbers = 0, nested = 0;
	bool space = false;
	while (**p >= '1' && **p <= '9') {
		char *end;
		unsigned long v = strtoul(*p, &end, 10);
		assert_true(v >= 1 && v <= n);
		assert_false(seen[v - 1]);
		seen[v - 1] = true;
		numbers++;
		*p = end;
		space = **p == ' ';
		if (!space)
			break;
		(*p)++;
	}
	/* thread-members [SP thread-nested], or thread-nested alone; a nested
	 * part always has two lists or more. */
	assert_true(space == (numbers > 0 && **p == '('));
	while (**p == '(') {
		check_list(p, seen, n, depth + 1);
		nested++;
	}
	assert_true(nested == 0 || nested >= 2);
	assert_true(numbers > 0 || nested >= 2);
	assert_int_equal(**p, ')');
	(*p)++;
}

/* check_answer: the answer is thread-lists holding 1..n once each. */
static void check_answer(const char *text, size_t n)
{
	bool *seen = calloc(n + 1, sizeof(*seen));
	const char *p = text;
	while (*p != '\0')
		check_list(&p, seen, n, 0);
	for (size_t i = 0; i < n; i++)
		if (!seen[i])
			fail_msg("message %zu missing", i + 1);
	free(seen);
}

/* The ID of message i in the hostile tests. */
static void id_of(char *out, size_t size, size_t i)
{
	snprintf(out, size, "<m%zu@x>", i);
}

/* A chain of 20,000 replies, oldest first: each link climbs at most
 * IMAP_THREAD_MAX_DEPTH parents, so the chain is cut into pieces. */
static void test_hostile_chain(void **state)
{
	enum { N = 20000 };
	struct spec *msgs = calloc(N, sizeof(*msgs));
	char (*ids)[32] = calloc(N + 1, sizeof(*ids));
	(void)state;

	for (size_t i = 0; i < N; i++) {
		id_of(ids[i], sizeof(ids[i]), i);
		msgs[i] = (struct spec){ "", ids[i], "", i > 0 ? ids[i - 1] : "", (int64_t)i };
	}
	char *got = run(IMAP_THREAD_REFERENCES, msgs, N, false);
	check_answer(got, N);
	assert_true(strncmp(got, "(1 2 3 4 5 ", 11) == 0);
	free(got);

	/* Newest first (every message answers the next one): the tree grows
	 * 20,000 deep, and pruning, sorting and writing walk it without
	 * recursion. */
	id_of(ids[N], sizeof(ids[N]), N);
	for (size_t i = 0; i < N; i++)
		msgs[i] = (struct spec){ "", ids[i], "", ids[i + 1], (int64_t)i };
	got = run(IMAP_THREAD_REFERENCES, msgs, N, false);
	check_answer(got, N);
	assert_true(strncmp(got, "(20000 19999 19998 ", 19) == 0);
	free(got);

	/* A wide fan: every message answers message 1. */
	for (size_t i = 0; i < N; i++)
		msgs[i] = (struct spec){ "s", ids[i], "", i > 0 ? ids[0] : "", (int64_t)i };
	got = run(IMAP_THREAD_REFERENCES, msgs, N, false);
	check_answer(got, N);
	assert_true(strncmp(got, "(1 (2)(3)(4)", 12) == 0);
	free(got);
	got = run(IMAP_THREAD_ORDEREDSUBJECT, msgs, N, false);
	check_answer(got, N);
	free(got);
	free(ids);
	free(msgs);
}

/* Many references to IDs that do not exist: the dummies stay within
 * their budget and every message is still answered. */
static void test_hostile_dummies(void **state)
{
	enum { N = 300 };
	struct spec *msgs = calloc(N, sizeof(*msgs));
	char (*refs)[IMAP_THREAD_MAX_REFS * 24] = calloc(N, sizeof(*refs));
	(void)state;

	for (size_t i = 0; i < N; i++) {
		size_t len = 0;
		for (size_t k = 0; k < IMAP_THREAD_MAX_REFS + 5; k++)
			len += (size_t)snprintf(refs[i] + len, sizeof(refs[i]) - len, "<%zu.%zu@x>",
						i, k);
		msgs[i] = (struct spec){ "", "", "", refs[i], 1 };
	}
	char *got = run(IMAP_THREAD_REFERENCES, msgs, N, false);
	check_answer(got, N);
	free(got);
	free(refs);
	free(msgs);
}

static void test_limits(void **state)
{
	(void)state;
	struct imap_thread *t = imap_thread_new(IMAP_THREAD_REFERENCES, 1);
	struct imap_thread_msg m = { .uid = 1, .seq = 1, .subject = STR("a"),
				     .message_id = STR("<a@x>"), .sent_date = -1 };
	struct buf out;

	assert_int_equal(imap_thread_add(t, &m), 0);
	m.seq = 2;
	assert_int_equal(imap_thread_add(t, &m), -1);
	buf_init(&out, 3);
	assert_int_equal(imap_thread_write(t, false, &out), 0);
	assert_string_equal(out.data, "(1)");
	buf_free(&out);
	imap_thread_free(&t);

	/* An answer that does not fit is an error, not a cut answer. */
	t = imap_thread_new(IMAP_THREAD_ORDEREDSUBJECT, 2);
	assert_int_equal(imap_thread_add(t, &m), 0);
	buf_init(&out, 4);
	m.seq = 3;
	m.message_id = STR("<b@x>");
	assert_int_equal(imap_thread_add(t, &m), 0);
	assert_int_equal(imap_thread_write(t, false, &out), -1);
	buf_free(&out);
	imap_thread_free(&t);
	imap_thread_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_references_links),
		cmocka_unit_test(test_references_dummies),
		cmocka_unit_test(test_references_odd_ids),
		cmocka_unit_test(test_references_subjects),
		cmocka_unit_test(test_references_dates),
		cmocka_unit_test(test_orderedsubject),
		cmocka_unit_test(test_hostile_chain),
		cmocka_unit_test(test_hostile_dummies),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
