/* Unit tests for imap-utf7 (modified UTF-7 mailbox names, RFC 3501 5.1.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-utf7.h"

static void roundtrip(const char *utf8, const char *utf7)
{
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(imap_utf7_encode(str_c(utf8), &b), 0);
	assert_int_equal(b.len, strlen(utf7));
	assert_memory_equal(b.data, utf7, b.len);
	buf_reset(&b);
	assert_int_equal(imap_utf7_decode(str_c(utf7), &b), 0);
	assert_int_equal(b.len, strlen(utf8));
	assert_memory_equal(b.data, utf8, b.len);
	buf_free(&b);
}

static void test_examples(void **state)
{
	(void)state;
	roundtrip("INBOX", "INBOX");
	roundtrip("a&b", "a&-b");
	/* RFC 3501 5.1.3's example: ~peter/mail/台北/日本語 */
	roundtrip("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		  "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	roundtrip("Entw\xc3\xbc" "rfe", "Entw&APw-rfe");
	roundtrip("\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail"); /* a code point past U+FFFF */
	/* Control characters are not printable ASCII: encoded, and decoded
	 * back (a round trip the fuzz target found broken). */
	roundtrip("a\x01" "b\x7f", "a&AAE-b&AH8-");
}

static void test_invalid(void **state)
{
	static const char *const bad7[] = {
		"&", "&U,BTFw", "&AGE-" /* "a" encoded */, "&-&", "a\x80", "&2D0-" /* lone high */,
		"&AAA-" /* U+0000 */,
	};
	/* "\xfa\xa5\x9a": F5..FF lead no UTF-8 sequence (was taken as U+A95A). */
	static const char *const bad8[] = { "\xc3", "\xff", "\xed\xa0\x80", "\xc0\xaf",
					    "\xfa\xa5\x9a", "\xf5\x80\x80\x80" };
	struct buf b;
	(void)state;
	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(bad7) / sizeof(bad7[0]); i++) {
		buf_reset(&b);
		assert_int_equal(imap_utf7_decode(str_c(bad7[i]), &b), -1);
	}
	for (size_t i = 0; i < sizeof(bad8) / sizeof(bad8[0]); i++) {
		buf_reset(&b);
		assert_int_equal(imap_utf7_encode(str_c(bad8[i]), &b), -1);
	}
	/* U+0000 is refused both ways ("&AAA-" above). */
	buf_reset(&b);
	assert_int_equal(imap_utf7_encode(str_from("a\0b", 3), &b), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
