/* Unit tests for mail-decode: CTE names, base64, quoted-printable, header fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mail/mail-decode.h"

static void assert_buf(const struct buf *b, const char *want, size_t want_len)
{
	if (b->len != want_len || memcmp(b->data ? b->data : "", want, want_len) != 0)
		fail_msg("got  [%.*s] (%zu)\nwant [%.*s] (%zu)", (int)b->len, b->data ? b->data : "",
			 b->len, (int)want_len, want, want_len);
}

/* decoded checks that in decodes to want (a literal, may hold NUL). */
#define DECODED(cte, in, want)                                          \
	do {                                                            \
		struct buf b_;                                          \
		buf_init(&b_, 4096);                                    \
		assert_int_equal(mail_decode((cte), STR(in), &b_), 0);  \
		assert_buf(&b_, (want), sizeof(want) - 1);              \
		buf_free(&b_);                                          \
	} while (0)

static void test_cte_parse(void **state)
{
	(void)state;
	assert_int_equal(mail_cte_parse(STR("")), MAIL_CTE_7BIT);
	assert_int_equal(mail_cte_parse(STR("  \t ")), MAIL_CTE_7BIT);
	assert_int_equal(mail_cte_parse(STR("7bit")), MAIL_CTE_7BIT);
	assert_int_equal(mail_cte_parse(STR("8BIT")), MAIL_CTE_8BIT);
	assert_int_equal(mail_cte_parse(STR("Binary")), MAIL_CTE_BINARY);
	assert_int_equal(mail_cte_parse(STR(" BASE64 ")), MAIL_CTE_BASE64);
	assert_int_equal(mail_cte_parse(STR("(comment) base64 (more)")), MAIL_CTE_BASE64);
	assert_int_equal(mail_cte_parse(STR("\r\n\tQuoted-Printable")), MAIL_CTE_QP);
	assert_int_equal(mail_cte_parse(STR("x-uuencode")), MAIL_CTE_UNKNOWN);
	assert_int_equal(mail_cte_parse(STR("base64x")), MAIL_CTE_UNKNOWN);
	assert_int_equal(mail_cte_parse(STR("\"base64\"")), MAIL_CTE_UNKNOWN);
	assert_int_equal(mail_cte_parse(STR("quoted-printable-and-then-some-more-text")),
			 MAIL_CTE_UNKNOWN);
	/* Only the first token counts, as in Dovecot. */
	assert_int_equal(mail_cte_parse(STR("base64; x=y")), MAIL_CTE_BASE64);
	assert_int_equal(mail_cte_parse(STR("(only a comment)")), MAIL_CTE_7BIT);
}

static void test_copy(void **state)
{
	(void)state;
	DECODED(MAIL_CTE_7BIT, "a=41\r\n", "a=41\r\n");
	DECODED(MAIL_CTE_8BIT, "\xc3\xa9", "\xc3\xa9");
	DECODED(MAIL_CTE_BINARY, "a\0b", "a\0b");
	DECODED(MAIL_CTE_7BIT, "", "");
}

static void test_base64(void **state)
{
	(void)state;
	DECODED(MAIL_CTE_BASE64, "aGVsbG8gd29ybGQ=", "hello world");
	DECODED(MAIL_CTE_BASE64, "aGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n", "hello world");
	DECODED(MAIL_CTE_BASE64, "YQ==", "a");
	DECODED(MAIL_CTE_BASE64, "YWI=", "ab");
	DECODED(MAIL_CTE_BASE64, "YWJj", "abc");
	/* Characters outside the alphabet are skipped. */
	DECODED(MAIL_CTE_BASE64, " Y W\tJ*j !", "abc");
	/* Stops at "=": what follows is not data. */
	DECODED(MAIL_CTE_BASE64, "YQ==YWJj", "a");
	/* Missing padding still gives the bytes the characters carry. */
	DECODED(MAIL_CTE_BASE64, "YQ", "a");
	DECODED(MAIL_CTE_BASE64, "YWI", "ab");
	DECODED(MAIL_CTE_BASE64, "Y", "");
	DECODED(MAIL_CTE_BASE64, "AAEC/w==", "\0\1\2\xff");
	DECODED(MAIL_CTE_BASE64, "+/+/", "\xfb\xff\xbf");
	DECODED(MAIL_CTE_BASE64, "", "");
}

static void test_qp(void **state)
{
	(void)state;
	DECODED(MAIL_CTE_QP, "caf=C3=A9", "caf\xc3\xa9");
	DECODED(MAIL_CTE_QP, "lower =c3=a9", "lower \xc3\xa9");
	/* Soft line breaks, CRLF and bare LF, with transport white space. */
	DECODED(MAIL_CTE_QP, "long=\r\nline", "longline");
	DECODED(MAIL_CTE_QP, "long=\nline", "longline");
	DECODED(MAIL_CTE_QP, "long= \t\r\nline", "longline");
	/* Hard line breaks stay as they are. */
	DECODED(MAIL_CTE_QP, "a\r\nb\nc", "a\r\nb\nc");
	/* Trailing white space on a line was added in transport. */
	DECODED(MAIL_CTE_QP, "a  \r\nb\t\nc ", "a\r\nb\nc");
	DECODED(MAIL_CTE_QP, "a=20\r\n", "a \r\n");
	DECODED(MAIL_CTE_QP, "in the middle  stays", "in the middle  stays");
	/* A final "=" is a soft break whose line end belongs to a boundary. */
	DECODED(MAIL_CTE_QP, "end=", "end");
	DECODED(MAIL_CTE_QP, "end= ", "end");
	/* Malformed sequences are kept. */
	DECODED(MAIL_CTE_QP, "a=g1b", "a=g1b");
	DECODED(MAIL_CTE_QP, "a=4", "a=4");
	DECODED(MAIL_CTE_QP, "1+1=2", "1+1=2");
	DECODED(MAIL_CTE_QP, "x = y", "x = y");
	DECODED(MAIL_CTE_QP, "=00", "\0");
	DECODED(MAIL_CTE_QP, "", "");
}

static void test_decode_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_append_str(&b, STR("x:")), 0);
	assert_int_equal(mail_decode(MAIL_CTE_BASE64, STR("YWJj"), &b), 0);
	assert_int_equal(mail_decode(MAIL_CTE_QP, STR("=41"), &b), 0);
	assert_buf(&b, "x:abcA", 6);
	buf_free(&b);
}

static void test_decode_errors(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(mail_decode(MAIL_CTE_UNKNOWN, STR("abc"), &b), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_append_str(&b, STR("ab")), 0);
	/* Full: out is left as it was. */
	assert_int_equal(mail_decode(MAIL_CTE_BASE64, STR("YWJj"), &b), -1);
	assert_buf(&b, "ab", 2);
	assert_int_equal(mail_decode(MAIL_CTE_QP, STR("abc"), &b), -1);
	assert_buf(&b, "ab", 2);
	assert_int_equal(mail_decode(MAIL_CTE_7BIT, STR("abc"), &b), -1);
	assert_buf(&b, "ab", 2);
	assert_int_equal(mail_decode(MAIL_CTE_QP, STR("=41=42"), &b), 0);
	assert_buf(&b, "abAB", 4);
	buf_free(&b);
}

/* A decoded part larger than the internal run still arrives whole. */
static void test_decode_large(void **state)
{
	enum { N = 30000 };
	static char in[N / 3 * 4 + 1];
	struct buf b;

	(void)state;
	for (size_t i = 0; i < N / 3; i++)
		memcpy(in + i * 4, "/+/+", 4);
	buf_init(&b, N);
	assert_int_equal(mail_decode(MAIL_CTE_BASE64, str_from(in, N / 3 * 4), &b), 0);
	assert_int_equal(b.len, N);
	for (size_t i = 0; i < N; i += 3)
		assert_memory_equal(b.data + i, "\xff\xef\xfe", 3);
	buf_free(&b);
}

#define FIELD(header, name, want)                                               \
	do {                                                                    \
		struct buf b_;                                                  \
		buf_init(&b_, 4096);                                            \
		assert_true(mail_header_field(STR(header), (name), &b_));       \
		assert_buf(&b_, (want), strlen(want));                          \
		buf_free(&b_);                                                  \
	} while (0)

#define NO_FIELD(header, name)                                                  \
	do {                                                                    \
		struct buf b_;                                                  \
		buf_init(&b_, 4096);                                            \
		assert_false(mail_header_field(STR(header), (name), &b_));      \
		assert_int_equal(b_.len, 0);                                    \
		buf_free(&b_);                                                  \
	} while (0)

static void test_header_field(void **state)
{
	static const char header[] =
		"Received: from a\r\n"
		"\tby b\r\n"
		"Subject:  Hello\r\n"
		" world  \r\n"
		"content-transfer-encoding: base64\r\n"
		"X-Empty:\r\n"
		"Subject: second\r\n"
		"Obsolete  : spaced\r\n"
		"\r\n"
		"Body-Field: not a header\r\n";

	(void)state;
	FIELD(header, "Subject", "Hello world");
	FIELD(header, "SUBJECT", "Hello world");
	FIELD(header, "Received", "from a\tby b");
	FIELD(header, "Content-Transfer-Encoding", "base64");
	FIELD(header, "X-Empty", "");
	FIELD(header, "obsolete", "spaced");
	NO_FIELD(header, "Body-Field");
	NO_FIELD(header, "Subj");
	NO_FIELD(header, "From");
	NO_FIELD("", "From");
	/* LF line ends, no blank line, a value running to the end. */
	FIELD("A: 1\nB: 2\n 3", "B", "2 3");
	FIELD("A: 1\nB: 2\n 3", "A", "1");
	/* A continuation line is not a field of its own. */
	NO_FIELD("A: 1\r\n B: 2\r\n", "B");
	/* A line without a colon is skipped, not the end. */
	FIELD("garbage\r\nC: ok\r\n", "C", "ok");
	/* The value is appended. */
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(buf_append_str(&b, STR("<")), 0);
	assert_true(mail_header_field(STR("A: 1\r\n"), "a", &b));
	assert_buf(&b, "<1", 2);
	/* Full: nothing appended. */
	assert_false(mail_header_field(STR("A: 123456789\r\n"), "a", &b));
	assert_buf(&b, "<1", 2);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cte_parse),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_decode_appends),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_large),
		cmocka_unit_test(test_header_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
