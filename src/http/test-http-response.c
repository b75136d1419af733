/* Unit tests for http-response. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http/http-response.h"
#include "lib/date.h"

static void test_reason(void **state)
{
	(void)state;
	static const int dav[] = { 100, 200, 201, 204, 207, 301, 302, 304, 400, 401, 403, 404, 405,
				   409, 411, 412, 413, 414, 415, 422, 431, 500, 501, 502, 503,
				   505, 507 };
	for (size_t i = 0; i < sizeof(dav) / sizeof(dav[0]); i++)
		assert_string_not_equal(http_reason(dav[i]), "Unknown");
	assert_string_equal(http_reason(207), "Multi-Status");
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(299), "Unknown");
}

static void test_date(void **state)
{
	(void)state;
	char d[HTTP_DATE_SIZE];
	http_date(784111777, d);
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date(-5, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date(date_time(2026, 12, 31, 23, 59, 59), d);
	assert_string_equal(d, "Thu, 31 Dec 2026 23:59:59 GMT");
	http_date(INT64_MAX, d);
	assert_string_equal(d, "Fri, 31 Dec 9999 23:59:59 GMT");
}

/* Removes the Date line (it changes with the clock) after checking it. */
static void drop_date(struct buf *b)
{
	char *date = strstr(b->data, "\r\nDate: ");
	assert_non_null(date);
	char *end = strstr(date + 2, "\r\n");
	assert_int_equal(end - (date + 8), HTTP_DATE_SIZE - 1);
	assert_memory_equal(end - 4, " GMT", 4);
	memmove(date, end, strlen(end) + 1);
	b->len = strlen(b->data);
}

static void test_write(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(http_response_write(&b, 207, STR("application/xml; charset=utf-8"),
					     STR("DAV: 1\r\nETag: \"x\"\r\n"), STR("<x/>"), false,
					     true),
			 0);
	drop_date(&b);
	assert_string_equal(b.data, "HTTP/1.1 207 Multi-Status\r\nServer: Ravelin\r\n"
				    "Content-Length: 4\r\n"
				    "Content-Type: application/xml; charset=utf-8\r\n"
				    "DAV: 1\r\nETag: \"x\"\r\n\r\n<x/>");
	buf_reset(&b);
	assert_int_equal(http_response_write(&b, 200, STR(""), STR(""), STR("body"), true, false),
			 0);
	drop_date(&b);
	assert_string_equal(b.data, "HTTP/1.1 200 OK\r\nServer: Ravelin\r\nContent-Length: 4\r\n"
				    "Connection: close\r\n\r\n");
	buf_reset(&b);
	assert_int_equal(http_response_write(&b, 204, STR(""), STR(""), STR(""), false, true), 0);
	drop_date(&b);
	assert_string_equal(b.data, "HTTP/1.1 204 No Content\r\nServer: Ravelin\r\n\r\n");
	buf_reset(&b);
	assert_int_equal(http_response_write(&b, 100, STR(""), STR(""), STR(""), false, true), 0);
	assert_string_equal(b.data, "HTTP/1.1 100 Continue\r\n\r\n");

	/* Full: the buffer is left as it was. */
	struct buf small;
	buf_init(&small, 64);
	assert_int_equal(buf_append_str(&small, STR("kept")), 0);
	assert_int_equal(http_response_write(&small, 200, STR(""), STR(""), STR("body"), false,
					     true),
			 -1);
	assert_string_equal(small.data, "kept");
	buf_free(&small);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
