/* Unit tests for http-parser: heads, framing refusals, the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/http-parser.h"

static const struct http_limits limits = { HTTP_MAX_HEAD, HTTP_MAX_BODY };

/* parse gives http_parse_head's result for text, the status when refused. */
static int parse(const char *text, struct http_request *req, int *status)
{
	size_t head_len = 0;
	const char *error = NULL;
	*status = 0;
	int ret = http_parse_head(str_c(text), &limits, req, &head_len, status, &error);
	if (ret < 0)
		assert_non_null(error);
	if (ret == 1)
		assert_int_equal(head_len, strlen(text));
	return ret;
}

/* refused asserts that text is refused with status. */
static void refused(const char *text, int status)
{
	struct http_request *req = malloc(sizeof(*req));
	int got;
	assert_int_equal(parse(text, req, &got), -1);
	assert_int_equal(got, status);
	free(req);
}

static void accepted(const char *text)
{
	struct http_request *req = malloc(sizeof(*req));
	int got;
	assert_int_equal(parse(text, req, &got), 1);
	free(req);
}

static void test_head(void **state)
{
	(void)state;
	static struct http_request req;
	int status;
	const char *text = "PROPFIND /dav/principals/a%40b.example/ HTTP/1.1\r\n"
			   "Host: mail.example\r\n"
			   "Depth:  0 \t\r\n"
			   "content-length: 0\r\n"
			   "\r\n";
	assert_int_equal(parse(text, &req, &status), 1);
	assert_int_equal(req.method, HTTP_M_PROPFIND);
	assert_true(str_eq(req.method_name, STR("PROPFIND")));
	assert_true(str_eq(req.target, STR("/dav/principals/a%40b.example/")));
	assert_int_equal(req.version, 11);
	assert_int_equal(req.header_count, 3);
	assert_true(str_eq(*http_header_get(&req, "depth"), STR("0")));
	assert_true(str_eq(*http_header_get(&req, "HOST"), STR("mail.example")));
	assert_null(http_header_get(&req, "Authorization"));
	assert_false(req.chunked);
	assert_int_equal(req.content_length, 0);
	assert_true(req.keep_alive);
	assert_false(req.expect_continue);

	/* Every proper prefix needs more. */
	size_t len = strlen(text);
	for (size_t i = 0; i < len; i++) {
		size_t head_len;
		const char *error;
		assert_int_equal(http_parse_head(str_from(text, i), &limits, &req, &head_len,
						 &status, &error),
				 0);
	}
	/* Leading empty lines are skipped and counted. */
	accepted("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");

	assert_int_equal(parse("MKCALENDAR /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req,
			       &status),
			 1);
	assert_int_equal(req.method, HTTP_M_MKCALENDAR);
	assert_int_equal(req.version, 10);
	assert_true(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &req, &status), 1);
	assert_false(req.keep_alive);
	assert_int_equal(parse("BREW / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n"
			       "Expect: 100-Continue\r\n\r\n",
			       &req, &status),
			 1);
	assert_int_equal(req.method, HTTP_M_OTHER);
	assert_false(req.keep_alive);
	assert_true(req.expect_continue);
	assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &req, &status), 1);
	assert_int_equal(parse("GET https://a.example/dav/ HTTP/1.1\r\nHost: a\r\n\r\n", &req,
			       &status),
			 1);
	assert_int_equal(parse("PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
			       &req, &status),
			 1);
	assert_true(req.chunked);
	/* The same Content-Length twice is one length (RFC 9110 8.6). */
	assert_int_equal(parse("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
			       "Content-Length: 12\r\n\r\n",
			       &req, &status),
			 1);
	assert_int_equal(req.content_length, 12);
	/* obs-text is allowed in a value. */
	accepted("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n");
}

/* The shapes that make two parsers disagree on where a request ends. */
static void test_smuggling(void **state)
{
	(void)state;
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		"Content-Length: 5\r\n\r\n",
		400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0b" "chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400);
	/* 2^63 is one past the largest length taken as a number... */
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551617\r\n\r\n", 400);
	/* ...and 2^63 - 1 is a number, but over max_body. */
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n", 413);
	/* Host: none or two in HTTP/1.1. */
	refused("GET / HTTP/1.1\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

static void test_syntax(void **state)
{
	(void)state;
	refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400);   /* obs-fold */
	refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400);      /* bare CR */
	refused("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400);           /* bare LF */
	refused("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
	struct http_request *req = malloc(sizeof(*req));
	size_t head_len;
	int status;
	const char *error;
	static const char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	assert_int_equal(http_parse_head(str_from(nul, sizeof(nul) - 1), &limits, req, &head_len,
					 &status, &error),
			 -1);
	assert_int_equal(status, 400);
	static const char nul_target[] = "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n";
	assert_int_equal(http_parse_head(str_from(nul_target, sizeof(nul_target) - 1), &limits,
					 req, &head_len, &status, &error),
			 -1);
	free(req);
	refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\nX\x7f: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400);
	refused("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("G\xc3\xa9T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
	refused("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET a HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET /\r\nHost: a\r\n\r\n", 400);
	refused("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET / HTTP/1.11\r\nHost: a\r\n\r\n", 400);
	refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
	refused("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
	refused("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
}

/* A request whose request line is n octets long. */
static char *request_line_of(size_t n)
{
	struct buf b;
	buf_init(&b, HTTP_MAX_HEAD * 2);
	const char *tail = " HTTP/1.1";
	assert_int_equal(buf_append_str(&b, STR("GET /")), 0);
	while (b.len < n - strlen(tail))
		assert_int_equal(buf_putc(&b, 'a'), 0);
	assert_int_equal(buf_printf(&b, "%s\r\nHost: a\r\n\r\n", tail), 0);
	return b.data;
}

/* A request of exactly n octets, padded in one header field. */
static char *request_of(size_t n)
{
	struct buf b;
	buf_init(&b, HTTP_MAX_HEAD * 2);
	assert_int_equal(buf_append_str(&b, STR("GET / HTTP/1.1\r\nHost: a\r\nX: ")), 0);
	while (b.len < n - 4)
		assert_int_equal(buf_putc(&b, 'a'), 0);
	assert_int_equal(buf_append_str(&b, STR("\r\n\r\n")), 0);
	return b.data;
}

static void test_limits(void **state)
{
	(void)state;
	char *text = request_line_of(HTTP_MAX_REQUEST_LINE);
	accepted(text);
	free(text);
	text = request_line_of(HTTP_MAX_REQUEST_LINE + 1);
	refused(text, 414);
	/* Refused before the line ends, too. */
	*strchr(text, '\r') = '\0';
	refused(text, 414);
	free(text);

	text = request_of(HTTP_MAX_HEAD);
	accepted(text);
	free(text);
	text = request_of(HTTP_MAX_HEAD + 1);
	refused(text, 431);
	free(text);
	/* Unfinished, but already past the limit. */
	text = request_of(HTTP_MAX_HEAD + 10);
	text[HTTP_MAX_HEAD + 1] = '\0';
	refused(text, 431);
	free(text);

	struct buf b;
	buf_init(&b, HTTP_MAX_HEAD);
	assert_int_equal(buf_append_str(&b, STR("GET / HTTP/1.1\r\nHost: a\r\n")), 0);
	for (int i = 1; i < HTTP_MAX_HEADERS; i++)
		assert_int_equal(buf_printf(&b, "X-%d: %d\r\n", i, i), 0);
	assert_int_equal(buf_append_str(&b, STR("\r\n")), 0);
	accepted(b.data);
	b.len -= 2;
	assert_int_equal(buf_append_str(&b, STR("X-Last: 1\r\n\r\n")), 0);
	refused(b.data, 431);
	buf_free(&b);

	char cl[128];
	snprintf(cl, sizeof(cl), "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n",
		 HTTP_MAX_BODY);
	accepted(cl);
	snprintf(cl, sizeof(cl), "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n",
		 HTTP_MAX_BODY + 1);
	refused(cl, 413);
}

/* feed gives the reader text in pieces of step octets; the requests it
 * yields are checked by the caller through *req_r after a 1. */
static int feed_all(struct http_reader *r, struct buf *in, const char *text, size_t len,
		    size_t step, const struct http_request **req_r, int *status)
{
	const char *error;
	int ret = 0;
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		assert_int_equal(buf_append(in, text + off, n), 0);
		ret = http_reader_feed(r, in, req_r, status, &error);
		if (ret != 0)
			return ret;
	}
	return ret;
}

static void test_reader(void **state)
{
	(void)state;
	const char *text = "PUT /dav/calendars/a@b/calendar/x.ics HTTP/1.1\r\n"
			   "Host: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
			   "5;name=value\r\nhello\r\n"
			   "7  ;x\r\n, world\r\n"
			   "0\r\nX-Checksum: 1\r\n\r\n"
			   "DELETE /y HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
			   "GET /z HTTP/1.0\r\n\r\n";
	size_t len = strlen(text);
	for (size_t step = 1; step <= len; step = step < 8 ? step + 1 : step * 3) {
		struct http_reader *r = http_reader_new(&limits);
		struct buf in;
		buf_init(&in, HTTP_MAX_HEAD + 1024);
		const struct http_request *req = NULL;
		const char *error;
		int status;
		size_t off = 0;
		int got = 0;
		/* Feed piece by piece; after each piece, drain every request. */
		while (off < len || in.len > 0) {
			if (off < len) {
				size_t n = len - off < step ? len - off : step;
				assert_int_equal(buf_append(&in, text + off, n), 0);
				off += n;
			}
			int ret;
			while ((ret = http_reader_feed(r, &in, &req, &status, &error)) == 1) {
				if (got == 0) {
					assert_int_equal(req->method, HTTP_M_PUT);
					assert_true(req->chunked);
					assert_true(str_eq(req->body, STR("hello, world")));
					assert_int_equal(req->content_length, 12);
				} else if (got == 1) {
					assert_int_equal(req->method, HTTP_M_DELETE);
					assert_true(str_eq(req->body, STR("abc")));
				} else {
					assert_int_equal(req->method, HTTP_M_GET);
					assert_int_equal(req->body.len, 0);
					assert_false(req->keep_alive);
				}
				got++;
			}
			assert_int_equal(ret, 0);
			if (got == 0 && http_reader_pending(r) != NULL)
				assert_true(http_reader_pending(r)->expect_continue);
			if (off == len && ret == 0)
				break;
		}
		assert_int_equal(got, 3);
		assert_null(http_reader_pending(r));
		buf_free(&in);
		http_reader_free(&r);
		assert_null(r);
	}
}

/* reader_result feeds text whole (then byte by byte) to a reader with
 * max_body and gives the result, the same both ways. */
static int reader_result(const char *text, size_t len, size_t max_body, int *status)
{
	struct http_limits l = { HTTP_MAX_HEAD, max_body };
	int results[2];
	for (size_t step = 1, i = 0; i < 2; i++, step = len) {
		struct http_reader *r = http_reader_new(&l);
		struct buf in;
		buf_init(&in, HTTP_MAX_HEAD + 2 * HTTP_MAX_TRAILER);
		const struct http_request *req;
		results[i] = feed_all(r, &in, text, len, step, &req, status);
		buf_free(&in);
		http_reader_free(&r);
	}
	assert_int_equal(results[0], results[1]);
	return results[0];
}

static void test_reader_refusals(void **state)
{
	(void)state;
	const char *head = "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct {
		const char *body;
		int ret, status;
	} cases[] = {
		{ "3\r\nabc\r\n0\r\n\r\n", 1, 0 },
		{ "3\r\nabcd\r\n0\r\n\r\n", -1, 400 }, /* data longer than its size */
		{ "3\r\nabc\n0\r\n\r\n", -1, 400 },
		{ "3\nabc\r\n0\r\n\r\n", -1, 400 },
		{ "\r\nabc\r\n0\r\n\r\n", -1, 400 },
		{ "g\r\nabc\r\n0\r\n\r\n", -1, 400 },
		{ "-3\r\nabc\r\n0\r\n\r\n", -1, 400 },
		{ " 3\r\nabc\r\n0\r\n\r\n", -1, 400 },
		{ "3 \r\nabc\r\n0\r\n\r\n", -1, 400 },
		{ "3;a\x01\r\nabc\r\n0\r\n\r\n", -1, 400 },
		{ "0\r\nBad Trailer: x\r\n\r\n", -1, 400 },
		{ "0\r\nX: a\rb\r\n\r\n", -1, 400 },
		{ "ffffffffffffffffffff\r\n", -1, 413 },
		{ "11\r\n0123456789abcdefg\r\n0\r\n\r\n", -1, 413 }, /* 17 > 16 */
		{ "10\r\n0123456789abcdef\r\n0\r\n\r\n", 1, 0 },
		{ "8\r\n01234567\r\n8\r\n01234567\r\n1\r\nx\r\n", -1, 413 },
	};
	char text[4096];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", head, cases[i].body);
		int status = 0;
		int ret = reader_result(text, strlen(text), 16, &status);
		assert_int_equal(ret, cases[i].ret);
		if (ret < 0)
			assert_int_equal(status, cases[i].status);
	}
	/* Content-Length: max_body is taken, one more is not. */
	int status;
	snprintf(text, sizeof(text), "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\n\r\n%s",
		 "0123456789abcdef");
	assert_int_equal(reader_result(text, strlen(text), 16, &status), 1);
	snprintf(text, sizeof(text), "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n%s",
		 "0123456789abcdefg");
	assert_int_equal(reader_result(text, strlen(text), 16, &status), -1);
	assert_int_equal(status, 413);
}

/* The chunk-size line and trailer section limits, one past each. */
static void test_reader_line_limits(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, HTTP_MAX_HEAD + 2 * HTTP_MAX_TRAILER);
	int status;
	for (int over = 0; over <= 1; over++) {
		buf_reset(&b);
		assert_int_equal(buf_append_str(&b, STR("PUT /x HTTP/1.1\r\nHost: a\r\n"
							"Transfer-Encoding: chunked\r\n\r\n1;")),
				 0);
		size_t start = b.len - 2;
		while (b.len - start < (size_t)HTTP_MAX_CHUNK_LINE + (size_t)over)
			assert_int_equal(buf_putc(&b, 'e'), 0);
		assert_int_equal(buf_append_str(&b, STR("\r\nx\r\n0\r\n\r\n")), 0);
		int ret = reader_result(b.data, b.len, 16, &status);
		assert_int_equal(ret, over ? -1 : 1);
		if (over)
			assert_int_equal(status, 400);

		/* Trailer: "0\r\n" counts nothing; fields and the final CRLF do. */
		buf_reset(&b);
		assert_int_equal(buf_append_str(&b, STR("PUT /x HTTP/1.1\r\nHost: a\r\n"
							"Transfer-Encoding: chunked\r\n\r\n"
							"0\r\nX: ")),
				 0);
		start = b.len - 3;
		while (b.len - start < (size_t)HTTP_MAX_TRAILER - 4 + (size_t)over)
			assert_int_equal(buf_putc(&b, 'v'), 0);
		assert_int_equal(buf_append_str(&b, STR("\r\n\r\n")), 0);
		ret = reader_result(b.data, b.len, 16, &status);
		assert_int_equal(ret, over ? -1 : 1);
		if (over)
			assert_int_equal(status, 431);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_refusals),
		cmocka_unit_test(test_reader_line_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
