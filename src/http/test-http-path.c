/* Unit tests for http-path: decoding, refusals, canonical hrefs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/http-path.h"

static struct http_path path;

static int parse(const char *target, struct str *authority)
{
	const char *error = NULL;
	int ret = http_path_parse(str_c(target), &path, authority, &error);
	if (ret < 0)
		assert_non_null(error);
	return ret;
}

static void refused(const char *target)
{
	struct str authority;
	if (parse(target, &authority) != -1)
		fail_msg("accepted: %s", target);
}

static void test_parse(void **state)
{
	(void)state;
	struct str authority;
	assert_int_equal(parse("/dav/principals/a%40b.example/?x=/../", &authority), 0);
	assert_int_equal(authority.len, 0);
	assert_int_equal(path.count, 3);
	assert_true(str_eq(path.seg[0], STR("dav")));
	assert_true(str_eq(path.seg[1], STR("principals")));
	assert_true(str_eq(path.seg[2], STR("a@b.example")));
	assert_true(path.trailing_slash);

	assert_int_equal(parse("/", &authority), 0);
	assert_int_equal(path.count, 0);
	assert_true(path.trailing_slash);

	assert_int_equal(parse("/dav/calendars/a@b/calendar/Caf%C3%A9%20%2b.ics", &authority), 0);
	assert_int_equal(path.count, 5);
	assert_true(str_eq(path.seg[4], STR("Caf\xc3\xa9 +.ics")));
	assert_false(path.trailing_slash);

	assert_int_equal(parse("HTTPS://mail.example:8443/dav/", &authority), 0);
	assert_true(str_eq(authority, STR("mail.example:8443")));
	assert_int_equal(path.count, 1);
	assert_true(path.trailing_slash);
	assert_int_equal(parse("http://mail.example", &authority), 0);
	assert_true(str_eq(authority, STR("mail.example")));
	assert_int_equal(path.count, 0);
	assert_int_equal(parse("http://mail.example?q", &authority), 0);
	assert_int_equal(path.count, 0);
	/* Dots inside a name are just characters. */
	assert_int_equal(parse("/a/...", &authority), 0);
	assert_int_equal(parse("/a/.x/x.", &authority), 0);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"dav/",
		"*",
		"ftp://a/b",
		"http:///b",
		"https://user@a/b",
		"/a/../b",
		"/a/..",
		"/a/./b",
		"/.",
		"/a/%2e%2e/b",
		"/a/%2E%2e",
		"/a/.%2e/b",
		"/a/%2e/b",
		"/a%2fb",
		"/a%2Fb",
		"/a%5cb",
		"/a%5Cb",
		"/a\\b",
		"/a%00b",
		"/a%0ab",
		"/a%7f",
		"/a\x01",
		"//a",
		"/a//b",
		"/a/b//",
		"/a%",
		"/a%2",
		"/a%zz",
		"/a%c3",           /* truncated UTF-8 */
		"/a%c3%28",        /* bad continuation */
		"/a%c0%af",        /* overlong '/' */
		"/a%e0%80%af",     /* overlong, three octets */
		"/a%ed%a0%80",     /* surrogate */
		"/a%f4%90%80%80",  /* past U+10FFFF */
		"/a\xff",
		"/a#frag",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i]);
}

static void test_limits(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 2 * HTTP_MAX_PATH * 3);
	struct str authority;
	/* HTTP_MAX_SEGMENTS segments, then one more. */
	for (int i = 0; i < HTTP_MAX_SEGMENTS; i++)
		assert_int_equal(buf_append_str(&b, STR("/s")), 0);
	assert_int_equal(parse(b.data, &authority), 0);
	assert_int_equal(path.count, HTTP_MAX_SEGMENTS);
	assert_int_equal(buf_append_str(&b, STR("/")), 0);
	assert_int_equal(parse(b.data, &authority), 0); /* a trailing slash is no segment */
	assert_int_equal(buf_append_str(&b, STR("s")), 0);
	refused(b.data);

	/* HTTP_MAX_PATH decoded octets (written encoded), then one more. */
	buf_reset(&b);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(buf_putc(&b, '/'), 0);
		for (int j = 0; j < HTTP_MAX_PATH / 4; j++)
			assert_int_equal(buf_append_str(&b, STR("%41")), 0);
	}
	assert_int_equal(parse(b.data, &authority), 0);
	assert_int_equal(path.seg[3].len, HTTP_MAX_PATH / 4);
	assert_int_equal(buf_putc(&b, 'x'), 0);
	refused(b.data);
	buf_free(&b);
}

static void test_href(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1024);
	struct str segs[] = { STR("dav"), STR("calendars"), STR("a@b.example"),
			      STR("Caf\xc3\xa9 +/?%#.ics") };
	assert_int_equal(http_href_append(&b, segs, 4, false), 0);
	assert_string_equal(b.data, "/dav/calendars/a@b.example/Caf%C3%A9%20%2B%2F%3F%25%23.ics");
	buf_reset(&b);
	assert_int_equal(http_href_append(&b, segs, 2, true), 0);
	assert_string_equal(b.data, "/dav/calendars/");
	buf_reset(&b);
	assert_int_equal(http_href_append(&b, segs, 0, false), 0);
	assert_string_equal(b.data, "/");

	/* Parsing the href gives the segments back (all but the slash one). */
	buf_reset(&b);
	segs[3] = STR("Caf\xc3\xa9 +?%#~.ics");
	assert_int_equal(http_href_append(&b, segs, 4, true), 0);
	struct str authority;
	assert_int_equal(parse(b.data, &authority), 0);
	assert_int_equal(path.count, 4);
	for (size_t i = 0; i < 4; i++)
		assert_true(str_eq(path.seg[i], segs[i]));
	assert_true(path.trailing_slash);

	struct buf small;
	buf_init(&small, 5);
	assert_int_equal(http_href_append(&small, segs, 2, false), -1);
	buf_free(&small);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_href),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
