/* Unit tests for smtp-reply: codes, multi-line replies, enhanced codes,
 * garbage and the limits on lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "relay/smtp-reply.h"

/* feed parses all of input at once; returns what smtp_reply_parse did. */
static int feed(struct smtp_reply_parser *p, struct buf *in, const char *input,
		struct smtp_reply *r, const char **error)
{
	assert_int_equal(buf_append_str(in, str_c(input)), 0);
	return smtp_reply_parse(p, in, r, error);
}

/* parse_one parses input, which must be exactly one reply. */
static void parse_one(const char *input, struct smtp_reply *r)
{
	struct smtp_reply_parser p;
	struct buf in;
	const char *error = NULL;
	smtp_reply_parser_init(&p);
	buf_init(&in, RELAY_MAX_REPLY_LINE * 4);
	int ret = feed(&p, &in, input, r, &error);
	if (ret != 1)
		fail_msg("'%s': %d %s", input, ret, error ? error : "");
	assert_int_equal(in.len, 0);
	buf_free(&in);
	/* r's texts point into the parser: copy what the caller checks. */
	static char keep[RELAY_MAX_REPLY_LINES][RELAY_MAX_REPLY_LINE];
	for (size_t i = 0; i < r->line_count; i++) {
		memcpy(keep[i], r->lines[i].ptr, r->lines[i].len);
		r->lines[i].ptr = keep[i];
	}
	smtp_reply_parser_free(&p);
}

/* parse_bad parses input, which must be refused with an error naming want. */
static void parse_bad(const char *input, const char *want)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	struct buf in;
	const char *error = NULL;
	smtp_reply_parser_init(&p);
	buf_init(&in, RELAY_MAX_REPLY_LINE * 4);
	int ret = feed(&p, &in, input, &r, &error);
	if (ret != -1)
		fail_msg("'%s' not refused (%d)", input, ret);
	if (strstr(error, want) == NULL)
		fail_msg("'%s': '%s', want '%s'", input, error, want);
	buf_free(&in);
	smtp_reply_parser_free(&p);
}

static void assert_text(struct str s, const char *want)
{
	if (!str_eq(s, str_c(want)))
		fail_msg("got '%.*s', want '%s'", (int)s.len, s.ptr, want);
}

static void test_single(void **state)
{
	struct smtp_reply r;
	(void)state;
	parse_one("220 mx.b.test ESMTP\r\n", &r);
	assert_int_equal(r.code, 220);
	assert_int_equal(r.line_count, 1);
	assert_text(r.lines[0], "mx.b.test ESMTP");
	assert_false(r.has_enhanced);
	parse_one("250\r\n", &r);
	assert_int_equal(r.code, 250);
	assert_text(r.lines[0], "");
	parse_one("354 go on\n", &r);
	assert_int_equal(r.code, 354);
	assert_text(r.lines[0], "go on");
	parse_one("599 x\r\n", &r);
	assert_int_equal(r.code, 599);
}

static void test_multiline(void **state)
{
	struct smtp_reply r;
	(void)state;
	parse_one("250-mx.b.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n", &r);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.line_count, 4);
	assert_text(r.lines[0], "mx.b.test");
	assert_text(r.lines[2], "SIZE 1000");
	assert_text(r.lines[3], "8BITMIME");
}

static void test_enhanced(void **state)
{
	struct smtp_reply r;
	(void)state;
	parse_one("550 5.1.1 <x@b.test>: no such user\r\n", &r);
	assert_true(r.has_enhanced);
	assert_int_equal(r.enhanced[0], 5);
	assert_int_equal(r.enhanced[1], 1);
	assert_int_equal(r.enhanced[2], 1);
	parse_one("451-4.7.1 greylisted\r\n451 4.7.1 come back\r\n", &r);
	assert_true(r.has_enhanced);
	assert_int_equal(r.enhanced[1], 7);
	parse_one("250 2.0.0\r\n", &r);
	assert_true(r.has_enhanced);
	parse_one("552 5.3.400 too big\r\n", &r);
	assert_true(r.has_enhanced);
	assert_int_equal(r.enhanced[2], 400);
	/* Class not the reply's, too many digits, no separator: plain text. */
	parse_one("550 4.1.1 mixed\r\n", &r);
	assert_false(r.has_enhanced);
	parse_one("550 5.1.1000 long\r\n", &r);
	assert_false(r.has_enhanced);
	parse_one("550 5.1.1x\r\n", &r);
	assert_false(r.has_enhanced);
	parse_one("550 5.1\r\n", &r);
	assert_false(r.has_enhanced);
	parse_one("354 3.0.0 no such class\r\n", &r);
	assert_false(r.has_enhanced);
}

static void test_garbage(void **state)
{
	(void)state;
	parse_bad("hello\r\n", "three digits");
	parse_bad("25 ok\r\n", "three digits");
	parse_bad("2500 ok\r\n", "space or '-'");
	parse_bad("199 ok\r\n", "200 to 599");
	parse_bad("600 ok\r\n", "200 to 599");
	parse_bad("2x0 ok\r\n", "three digits");
	parse_bad("250-a\r\n251 b\r\n", "different codes");
	parse_bad("250 a\x01 b\r\n", "control");
	parse_bad("250 a\rb\r\n", "control");
	parse_bad("\r\n", "three digits");
}

/* Byte by byte, several replies in one input, the rest left over. */
static void test_pieces(void **state)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	struct buf in;
	const char *error = NULL;
	const char *input = "250-one\r\n250 two\r\n550 5.1.1 no\r\n45";
	(void)state;
	smtp_reply_parser_init(&p);
	buf_init(&in, RELAY_MAX_REPLY_LINE);
	int got = 0;
	for (size_t i = 0; input[i] != '\0'; i++) {
		assert_int_equal(buf_putc(&in, input[i]), 0);
		int ret;
		while ((ret = smtp_reply_parse(&p, &in, &r, &error)) == 1) {
			got++;
			if (got == 1) {
				assert_int_equal(r.code, 250);
				assert_int_equal(r.line_count, 2);
				assert_text(r.lines[1], "two");
			} else {
				assert_int_equal(r.code, 550);
				assert_true(r.has_enhanced);
			}
		}
		assert_int_equal(ret, 0);
	}
	assert_int_equal(got, 2);
	assert_int_equal(in.len, 2);
	buf_free(&in);
	smtp_reply_parser_free(&p);
}

/* RELAY_MAX_REPLY_LINE octets with the CRLF pass; one more is refused,
 * whether or not its end has arrived. */
static void test_line_limit(void **state)
{
	static char line[RELAY_MAX_REPLY_LINE + 8];
	struct smtp_reply r;
	(void)state;
	memset(line, 'a', sizeof(line));
	memcpy(line, "250 ", 4);
	memcpy(line + RELAY_MAX_REPLY_LINE - 2, "\r\n", 3);
	parse_one(line, &r);
	assert_int_equal(r.lines[0].len, RELAY_MAX_REPLY_LINE - 6);
	memset(line, 'a', sizeof(line));
	memcpy(line, "250 ", 4);
	memcpy(line + RELAY_MAX_REPLY_LINE - 1, "\r\n", 3);
	parse_bad(line, "too long");
	line[RELAY_MAX_REPLY_LINE] = '\0'; /* no end of line yet */
	parse_bad(line, "too long");
}

/* RELAY_MAX_REPLY_LINES lines in one reply pass; one more is refused, and
 * an endless reply is refused as soon as it passes the limit. */
static void test_lines_limit(void **state)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	struct buf in;
	const char *error = NULL;
	(void)state;
	for (int extra = 0; extra <= 1; extra++) {
		smtp_reply_parser_init(&p);
		buf_init(&in, RELAY_MAX_REPLY_LINE);
		int ret = 0;
		for (size_t i = 0; i < RELAY_MAX_REPLY_LINES - 1 + (size_t)extra; i++) {
			assert_int_equal(buf_append_str(&in, STR("250-more and more\r\n")), 0);
			ret = smtp_reply_parse(&p, &in, &r, &error);
			assert_int_equal(ret, 0);
		}
		assert_int_equal(buf_append_str(&in, STR("250 end\r\n")), 0);
		ret = smtp_reply_parse(&p, &in, &r, &error);
		if (extra == 0) {
			assert_int_equal(ret, 1);
			assert_int_equal(r.line_count, RELAY_MAX_REPLY_LINES);
		} else {
			assert_int_equal(ret, -1);
			assert_non_null(strstr(error, "too many lines"));
		}
		buf_free(&in);
		smtp_reply_parser_free(&p);
	}
}

static void test_answer(void **state)
{
	struct smtp_reply r;
	struct buf out;
	(void)state;
	buf_init(&out, 4096);
	parse_one("550-5.1.1 no such\r\n550 5.1.1 user \xc3\xa9\r\n", &r);
	smtp_reply_answer(&r, &out);
	assert_string_equal(out.data, "550 5.1.1 no such 5.1.1 user ??");
	buf_reset(&out);
	static char line[RELAY_MAX_REPLY_LINE];
	memset(line, 'x', sizeof(line));
	memcpy(line, "451 ", 4);
	memcpy(line + RELAY_MAX_REPLY_LINE - 3, "\r\n", 3);
	parse_one(line, &r);
	smtp_reply_answer(&r, &out);
	assert_int_equal(out.len, RELAY_MAX_ANSWER);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_enhanced),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_lines_limit),
		cmocka_unit_test(test_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
