/* test-imap-url: CATENATE's IMAP URLs (RFC 5092), accepted and refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap-url.h"

static int parse(struct pool *pool, const char *text, struct imap_url *url)
{
	const char *error = NULL;
	int r = imap_url_parse(pool, str_c(text), url, &error);
	assert_true(r == 0 || error != NULL);
	return r;
}

static void test_accepted(void **state)
{
	struct pool *pool = pool_new(1024 * 1024);
	struct imap_url u;
	(void)state;

	assert_int_equal(parse(pool, "/INBOX/;UID=7", &u), 0);
	assert_string_equal(u.mailbox, "INBOX");
	assert_int_equal(u.uid, 7);
	assert_int_equal(u.uidvalidity, 0);
	assert_int_equal(u.section->text, IMAP_SECTION_WHOLE);
	assert_int_equal(u.section->part_count, 0);
	assert_false(u.partial);

	assert_int_equal(parse(pool, "/a%20b%2Fc;uidvalidity=42/;uid=3/;section=header", &u), 0);
	assert_string_equal(u.mailbox, "a b/c");
	assert_int_equal(u.uidvalidity, 42);
	assert_int_equal(u.uid, 3);
	assert_int_equal(u.section->text, IMAP_SECTION_HEADER);

	assert_int_equal(parse(pool, "/Sent/Old/;UID=1/;SECTION=1.2.MIME/;PARTIAL=5.10", &u), 0);
	assert_string_equal(u.mailbox, "Sent/Old");
	assert_int_equal(u.section->part_count, 2);
	assert_int_equal(u.section->text, IMAP_SECTION_MIME);
	assert_true(u.partial);
	assert_int_equal(u.partial_offset, 5);
	assert_int_equal(u.partial_length, 10);

	assert_int_equal(parse(pool, "/INBOX/;UID=2/;PARTIAL=100000", &u), 0);
	assert_true(u.partial);
	assert_int_equal(u.partial_offset, 100000);
	assert_int_equal(u.partial_length, 0);

	assert_int_equal(parse(pool, "/INBOX/;UID=2/;SECTION=HEADER.FIELDS%20(From%20To)", &u), 0);
	assert_int_equal(u.section->text, IMAP_SECTION_HEADER_FIELDS);
	assert_int_equal(u.section->field_count, 2);
	/* UTF-8 names arrive percent-encoded. */
	assert_int_equal(parse(pool, "/%C3%A9t%C3%A9/;UID=1", &u), 0);
	assert_string_equal(u.mailbox, "\xc3\xa9t\xc3\xa9");
	pool_free(&pool);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", "INBOX/;UID=1", "//host/INBOX/;UID=1", "imap://u@host/INBOX/;UID=1",
		"/INBOX", "/INBOX/", "/;UID=1", "/INBOX;UID=1", "/INBOX/;UID=0", "/INBOX/;UID=",
		"/INBOX/;UID=4294967296", "/INBOX/;UID=1x", "/INBOX;UIDVALIDITY=0/;UID=1",
		"/INBOX;UIDVALIDITY=x/;UID=1", "/INBOX/;UID=1/;SECTION=", "/INBOX/;UID=1/;SECTION=0",
		"/INBOX/;UID=1/;SECTION=FOO", "/INBOX/;UID=1/;SECTION=TEXT%3C0.1%3E",
		"/INBOX/;UID=1/;PARTIAL=", "/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1/;PARTIAL=a",
		"/INBOX/;UID=1/;URLAUTH=anonymous", "/INBOX/;UID=1/x", "/IN%00BOX/;UID=1",
		"/IN%0aBOX/;UID=1", "/IN%zzBOX/;UID=1", "/IN%4/;UID=1", "/IN BOX/;UID=1",
		"/IN\"BOX/;UID=1", "/INBOX/;UID=1/;SECTION=1/;SECTION=2",
	};
	struct pool *pool = pool_new(1024 * 1024);
	struct imap_url u;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(pool, bad[i], &u) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	pool_free(&pool);
}

/* IMAP_URL_MAX octets are read; one more is refused unread. */
static void test_limit(void **state)
{
	struct pool *pool = pool_new(1024 * 1024);
	struct imap_url u;
	char *text = malloc(IMAP_URL_MAX + 2);
	(void)state;

	assert_non_null(text);
	const char *tail = "/;UID=1";
	size_t fill = IMAP_URL_MAX - strlen(tail) - 1;
	text[0] = '/';
	memset(text + 1, 'a', fill);
	memcpy(text + 1 + fill, tail, strlen(tail) + 1);
	assert_int_equal(strlen(text), IMAP_URL_MAX);
	assert_int_equal(parse(pool, text, &u), 0);
	assert_int_equal(strlen(u.mailbox), fill);
	text[1 + fill] = 'a';
	memcpy(text + 2 + fill, tail, strlen(tail) + 1);
	assert_int_equal(parse(pool, text, &u), -1);
	free(text);
	pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
