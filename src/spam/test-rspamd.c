/* Unit tests for rspamd-http (the response parser, the request head) and
 * rspamd-verdict (the JSON answer read into a verdict). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spam/rspamd-http.h"
#include "spam/rspamd-verdict.h"

static int parse(const char *text, bool eof, struct rspamd_http_reply *r)
{
	const char *error = NULL;
	return rspamd_http_reply_parse(text, strlen(text), eof, r, &error);
}

static void test_reply_whole(void **state)
{
	struct rspamd_http_reply r;
	(void)state;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: 5\r\n\r\n{\"a\"}";
	assert_int_equal(parse(ok, false, &r), 1);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 5);
	assert_memory_equal(r.body.ptr, "{\"a\"}", 5);
	/* Byte by byte: more is needed until the last one. */
	for (size_t n = 0; n < strlen(ok); n++) {
		const char *error;
		assert_int_equal(rspamd_http_reply_parse(ok, n, false, &r, &error), 0);
	}
	/* No Content-Length: the body ends with the connection. */
	assert_int_equal(parse("HTTP/1.0 500 Oops\nServer: x\n\nbody", false, &r), 0);
	assert_int_equal(parse("HTTP/1.0 500 Oops\nServer: x\n\nbody", true, &r), 1);
	assert_int_equal(r.status, 500);
	assert_int_equal(r.body.len, 4);
}

static void test_reply_malformed(void **state)
{
	struct rspamd_http_reply r;
	(void)state;
	assert_int_equal(parse("HTTP/2 200 OK\r\n\r\n", false, &r), -1);
	assert_int_equal(parse("HTTP/1.1 20x OK\r\n\r\n", false, &r), -1);
	assert_int_equal(parse("HTTP/1.1 099 OK\r\n\r\n", false, &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", false, &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, &r), -1);
	assert_int_equal(
		parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false, &r),
		-1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, &r),
			 -1);
	/* Cut short. */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", true, &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nServer", true, &r), -1);
}

static void test_reply_limits(void **state)
{
	struct rspamd_http_reply r;
	const char *error;
	(void)state;
	/* RSPAMD_HTTP_MAX_HEADERS fields pass; one more does not. */
	size_t cap = RSPAMD_HTTP_MAX_RESPONSE + 2;
	char *text = malloc(cap);
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(text, cap, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < RSPAMD_HTTP_MAX_HEADERS + extra; i++)
			n += (size_t)snprintf(text + n, cap - n, "X-%d: y\r\n", i);
		n += (size_t)snprintf(text + n, cap - n, "\r\n");
		assert_int_equal(rspamd_http_reply_parse(text, n, true, &r, &error), extra ? -1 : 1);
	}
	/* A line of RSPAMD_HTTP_MAX_LINE passes; one byte more does not. */
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(text, cap, "HTTP/1.1 200 OK\r\nX: ");
		size_t fill = RSPAMD_HTTP_MAX_LINE - 3 + (size_t)extra;
		memset(text + n, 'a', fill);
		n += fill;
		n += (size_t)snprintf(text + n, cap - n, "\r\n\r\n");
		assert_int_equal(rspamd_http_reply_parse(text, n, true, &r, &error), extra ? -1 : 1);
		/* Without its end, the same verdict as soon as it is known. */
		assert_int_equal(rspamd_http_reply_parse(text, 17 + RSPAMD_HTTP_MAX_LINE + extra,
							 false, &r, &error),
				 extra ? -1 : 0);
	}
	/* The whole response: RSPAMD_HTTP_MAX_RESPONSE passes, one more not. */
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(text, cap, "HTTP/1.1 200 OK\r\n\r\n");
		memset(text + n, 'b', RSPAMD_HTTP_MAX_RESPONSE - n + (size_t)extra);
		assert_int_equal(rspamd_http_reply_parse(text, RSPAMD_HTTP_MAX_RESPONSE + (size_t)extra,
							 true, &r, &error),
				 extra ? -1 : 1);
	}
	free(text);
}

static void test_request_head(void **state)
{
	struct buf b;
	const char *error;
	(void)state;
	buf_init(&b, 4096);
	struct rspamd_http_field f[] = { { "IP", str_c("192.0.2.1") },
					 { "Rcpt", str_c("a@b.test") } };
	assert_int_equal(rspamd_http_request_head(&b, "/checkv2", 12, f, 2, &error), 0);
	assert_string_equal(b.data, "POST /checkv2 HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n"
				    "Content-Length: 12\r\nIP: 192.0.2.1\r\nRcpt: a@b.test\r\n\r\n");
	buf_reset(&b);
	struct rspamd_http_field bad[] = { { "Helo", str_c("x\r\nPass: all") } };
	assert_int_equal(rspamd_http_request_head(&b, "/checkv2", 1, bad, 1, &error), -1);
	buf_free(&b);
}

static int verdict(const char *json, struct rspamd_verdict *v)
{
	const char *error;
	rspamd_verdict_init(v);
	return rspamd_verdict_read(json, strlen(json), v, &error);
}

static void test_verdict_actions(void **state)
{
	struct rspamd_verdict v;
	(void)state;
	assert_int_equal(verdict("{\"action\":\"no action\",\"score\":1.5}", &v), 0);
	assert_int_equal(v.verdict, IPC_SPAM_ACCEPT);
	assert_int_equal(v.headers.len, 0);
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("{\"action\":\"greylist\"}", &v), 0);
	assert_int_equal(v.verdict, IPC_SPAM_TEMPFAIL);
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("{\"action\":\"soft reject\"}", &v), 0);
	assert_int_equal(v.verdict, IPC_SPAM_TEMPFAIL);
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("{\"action\":\"reject\",\"score\":1000,\"messages\":"
				 "{\"smtp_message\":\"Gtube pattern\\r\\nx\"}}",
				 &v),
			 0);
	assert_int_equal(v.verdict, IPC_SPAM_REJECT);
	assert_string_equal(v.reply, "Gtube pattern  x");
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("{\"action\":\"reject\"}", &v), 0);
	assert_string_equal(v.reply, "Spam message rejected");
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("{\"action\":\"rewrite subject\",\"score\":7,\"subject\":\"x\"}",
				 &v),
			 0);
	assert_int_equal(v.verdict, IPC_SPAM_JUNK);
	assert_string_equal(v.headers.data, "X-Spam-Status: Yes, score=7.00\r\n");
	rspamd_verdict_free(&v);
	/* Not JSON, no action, an action nobody knows: unchecked. */
	assert_int_equal(verdict("not json", &v), -1);
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("[1]", &v), -1);
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("{\"score\":1}", &v), -1);
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("{\"action\":\"discard\"}", &v), -1);
	rspamd_verdict_free(&v);
	assert_int_equal(verdict("{\"action\":\"reject\",\"action\":\"no action\"}", &v), -1);
	rspamd_verdict_free(&v);
}

static void test_verdict_headers(void **state)
{
	struct rspamd_verdict v;
	(void)state;
	assert_int_equal(verdict("{\"action\":\"add header\",\"score\":6.5,\"milter\":{"
				 "\"add_headers\":{\"X-Spam\":\"Yes\","
				 "\"X-Bad\\r\\nName\":\"v\",\"Bad:Name\":\"v\","
				 "\"X-Inject\":\"a\\r\\nBcc: x\","
				 "\"X-Obj\":{\"value\":\"o\",\"order\":0},"
				 "\"X-Arr\":[\"1\",{\"value\":\"2\"},3]},"
				 "\"remove_headers\":{\"X-Spam\":1}}}",
				 &v),
			 0);
	assert_int_equal(v.verdict, IPC_SPAM_JUNK);
	assert_string_equal(v.headers.data, "X-Spam-Status: Yes, score=6.50\r\n"
					    "X-Spam: Yes\r\nX-Obj: o\r\nX-Arr: 1\r\nX-Arr: 2\r\n");
	rspamd_verdict_free(&v);

	/* RSPAMD_VERDICT_MAX_FIELDS fields are taken, the next is not. */
	char json[4096];
	size_t n = (size_t)snprintf(json, sizeof(json), "{\"action\":\"add header\",\"milter\":{\"add_headers\":{");
	for (int i = 0; i <= RSPAMD_VERDICT_MAX_FIELDS; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n, "%s\"X-%d\":\"v\"", i ? "," : "", i);
	snprintf(json + n, sizeof(json) - n, "}}}");
	assert_int_equal(verdict(json, &v), 0);
	char last[32];
	snprintf(last, sizeof(last), "X-%d: v\r\n", RSPAMD_VERDICT_MAX_FIELDS - 1);
	assert_non_null(strstr(v.headers.data, last));
	snprintf(last, sizeof(last), "X-%d: v\r\n", RSPAMD_VERDICT_MAX_FIELDS);
	assert_null(strstr(v.headers.data, last));
	rspamd_verdict_free(&v);
}

static void test_fold(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, IPC_SPAM_MAX_HEADERS);
	char value[RSPAMD_VERDICT_MAX_VALUE + 2];
	for (size_t i = 0; i < 200; i++)
		value[i] = i % 10 == 9 ? ' ' : 'w';
	value[200] = '\0';
	assert_int_equal(rspamd_verdict_add_field(&b, "X-Long", value), 0);
	/* Every line within RSPAMD_VERDICT_FOLD, continuation lines begin with
	 * white space, and the words are all there. */
	size_t words = 0;
	for (char *line = b.data, *end; *line != '\0'; line = end + 2) {
		end = strstr(line, "\r\n");
		assert_non_null(end);
		assert_true((size_t)(end - line) <= RSPAMD_VERDICT_FOLD);
		assert_true(line == b.data || *line == '\t');
		for (char *p = line; p < end; p++)
			words += *p == 'w' && (p[1] == ' ' || p + 1 == end);
	}
	assert_int_equal(words, 20);
	buf_reset(&b);
	/* A value of RSPAMD_VERDICT_MAX_VALUE is taken, one byte more is not. */
	memset(value, 'v', sizeof(value));
	value[RSPAMD_VERDICT_MAX_VALUE] = '\0';
	assert_int_equal(rspamd_verdict_add_field(&b, "X-V", value), 0);
	value[RSPAMD_VERDICT_MAX_VALUE] = 'v';
	value[RSPAMD_VERDICT_MAX_VALUE + 1] = '\0';
	assert_int_equal(rspamd_verdict_add_field(&b, "X-V", value), -1);
	assert_int_equal(rspamd_verdict_add_field(&b, "X V", "v"), -1);
	assert_int_equal(rspamd_verdict_add_field(&b, "X-V", "a\nb"), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_whole),    cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_reply_limits),   cmocka_unit_test(test_request_head),
		cmocka_unit_test(test_verdict_actions), cmocka_unit_test(test_verdict_headers),
		cmocka_unit_test(test_fold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
