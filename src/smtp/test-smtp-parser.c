/* Unit tests for smtp-parser: verbs, paths, parameters, BDAT, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp-parser.h"
#include "smtp/smtp-session.h"

/* parse_ok parses line, which must succeed, and returns the command. */
static struct smtp_command parse_ok(const char *line)
{
	struct smtp_command cmd;
	const char *error = NULL;
	int r = smtp_parse_command(str_c(line), &cmd, &error);
	if (r != 0)
		fail_msg("'%s' refused: %s", line, error);
	return cmd;
}

/* parse_err parses line, which must fail with a reply starting with want. */
static void parse_err(const char *line, const char *want)
{
	struct smtp_command cmd;
	const char *error = NULL;
	int r = smtp_parse_command(str_c(line), &cmd, &error);
	if (r == 0)
		fail_msg("'%s' accepted", line);
	if (strncmp(error, want, strlen(want)) != 0)
		fail_msg("'%s': got '%s', want '%s'", line, error, want);
}

static void assert_str(struct str s, const char *want)
{
	if (!str_eq(s, str_c(want)))
		fail_msg("got '%.*s', want '%s'", (int)s.len, s.ptr, want);
}

static void test_verbs(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("NOOP").verb, SMTP_VERB_NOOP);
	assert_int_equal(parse_ok("noop hello").verb, SMTP_VERB_NOOP);
	assert_int_equal(parse_ok("rSeT").verb, SMTP_VERB_RSET);
	assert_int_equal(parse_ok("RSET  ").verb, SMTP_VERB_RSET);
	assert_int_equal(parse_ok("DATA\r").verb, SMTP_VERB_DATA);
	assert_int_equal(parse_ok("quit").verb, SMTP_VERB_QUIT);
	assert_int_equal(parse_ok("StartTLS").verb, SMTP_VERB_STARTTLS);
	assert_int_equal(parse_ok("HELP").verb, SMTP_VERB_HELP);
	assert_int_equal(parse_ok("EXPN list").verb, SMTP_VERB_EXPN);
	assert_int_equal(parse_ok("VRFY bob").verb, SMTP_VERB_VRFY);
	parse_err("", "500 5.5.2");
	parse_err("FOO", "500 5.5.2");
	parse_err(" NOOP", "500 5.5.2");
	parse_err("MAILFROM:<a@b>", "500 5.5.2");
	parse_err("DATA x", "501 5.5.4 Syntax: DATA");
	parse_err("RSET x", "501 5.5.4");
	parse_err("QUIT now", "501 5.5.4");
	parse_err("STARTTLS x", "501 5.5.4");
	parse_err("VRFY", "501 5.5.4");
	parse_err("MAIL", "501 5.5.4 Syntax: MAIL");
}

static void test_helo(void **state)
{
	(void)state;
	assert_str(parse_ok("EHLO mail.example.org").domain, "mail.example.org");
	assert_str(parse_ok("helo localhost").domain, "localhost");
	assert_str(parse_ok("EHLO [192.0.2.1]").domain, "[192.0.2.1]");
	assert_str(parse_ok("EHLO [IPv6:2001:db8::1]").domain, "[IPv6:2001:db8::1]");
	assert_str(parse_ok("EHLO [x-tag:abc]").domain, "[x-tag:abc]");
	assert_str(parse_ok("EHLO my_pc.lan").domain, "my_pc.lan");
	assert_str(parse_ok("EHLO a-b.c").domain, "a-b.c");
	parse_err("EHLO", "501 5.5.4 Syntax: EHLO");
	parse_err("HELO", "501 5.5.4 Syntax: HELO");
	parse_err("EHLO two words", "501 5.5.4");
	parse_err("EHLO -a.b", "501");
	parse_err("EHLO a-.b", "501");
	parse_err("EHLO a..b", "501");
	parse_err("EHLO a.b.", "501");
	parse_err("EHLO [300.1.1.1]", "501");
	parse_err("EHLO [1.2.3]", "501");
	parse_err("EHLO [IPv6:zz::1]", "501");
	parse_err("EHLO [1.2.3.4", "501");
	parse_err("EHLO []", "501");
	parse_err("EHLO b\xc3\xa4r.de", "501");
	parse_err("EHLO a\r\nMAIL", "501");

	/* A label is at most 63 octets. */
	char line[400];
	memset(line, 'a', sizeof(line));
	memcpy(line, "EHLO ", 5);
	line[5 + 63] = '\0';
	parse_ok(line);
	line[5 + 63] = 'a';
	line[5 + 64] = '\0';
	parse_err(line, "501");
	/* A domain is at most 255 octets. */
	for (size_t i = 0; i < 300; i++)
		line[5 + i] = i % 2 ? '.' : 'a';
	line[5 + 255] = '\0';
	parse_ok(line);
	line[5 + 255] = '.';
	line[5 + 256] = 'a';
	line[5 + 257] = '\0';
	parse_err(line, "501");
}

static void test_mail(void **state)
{
	struct smtp_command c;
	(void)state;

	c = parse_ok("MAIL FROM:<alice@example.org>");
	assert_int_equal(c.verb, SMTP_VERB_MAIL);
	assert_str(c.address, "alice@example.org");
	assert_false(c.null_path);
	assert_false(c.size_given);
	assert_int_equal(c.body, SMTP_BODY_UNSPECIFIED);

	c = parse_ok("mail from:<>");
	assert_true(c.null_path);
	assert_str(c.address, "");

	c = parse_ok("MAIL FROM: <a@b.c>");
	assert_str(c.address, "a@b.c");

	c = parse_ok("MAIL FROM:<@r1.example,@r2.example:user@c.example> SIZE=1000 BODY=8BITMIME");
	assert_str(c.address, "user@c.example");
	assert_true(c.size_given);
	assert_int_equal(c.size, 1000);
	assert_int_equal(c.body, SMTP_BODY_8BITMIME);

	c = parse_ok("MAIL FROM:<\"john doe\\\"x\"@example.org> body=7bit  smtputf8");
	assert_str(c.address, "\"john doe\\\"x\"@example.org");
	assert_int_equal(c.body, SMTP_BODY_7BIT);
	assert_true(c.smtputf8);

	c = parse_ok("MAIL FROM:<a.b+c=d@[192.0.2.7]>");
	assert_str(c.address, "a.b+c=d@[192.0.2.7]");

	c = parse_ok("MAIL FROM:<j\xc3\xbcrgen@b\xc3\xa4r.de> SMTPUTF8");
	assert_true(c.address_utf8);
	assert_true(c.smtputf8);
	c = parse_ok("MAIL FROM:<j\xc3\xbcrgen@example.de>");
	assert_true(c.address_utf8);
	assert_false(c.smtputf8);

	/* SIZE saturates instead of overflowing. */
	c = parse_ok("MAIL FROM:<a@b> SIZE=99999999999999999999");
	assert_int_equal(c.size, UINT64_MAX);

	parse_err("MAIL TO:<a@b>", "501 5.5.4 Syntax: MAIL");
	parse_err("MAIL FROM:a@b", "501 5.5.4 Syntax: MAIL");
	parse_err("MAIL FROM:<a@b", "501 5.1.7");
	parse_err("MAIL FROM:<a@b>x", "501 5.5.4");
	parse_err("MAIL FROM:<a>", "501 5.1.7");
	parse_err("MAIL FROM:<@b>", "501 5.1.7");
	parse_err("MAIL FROM:<a..b@c>", "501 5.1.7");
	parse_err("MAIL FROM:<.a@c>", "501 5.1.7");
	parse_err("MAIL FROM:<a.@c>", "501 5.1.7");
	parse_err("MAIL FROM:<a b@c>", "501 5.1.7");
	parse_err("MAIL FROM:<\"a\x01\"@c>", "501 5.1.7");
	parse_err("MAIL FROM:<\"abc@c>", "501 5.1.7");
	parse_err("MAIL FROM:<a@b@c>", "501 5.1.7");
	parse_err("MAIL FROM:<@r1:>", "501 5.1.7");
	parse_err("MAIL FROM:<@r1,a@b>", "501 5.1.7");
	parse_err("MAIL FROM:<a\xc3@b>", "501 5.1.7");         /* cut UTF-8 */
	parse_err("MAIL FROM:<a\xc0\xaf@b>", "501 5.1.7");     /* overlong */
	parse_err("MAIL FROM:<a\xed\xa0\x80@b>", "501 5.1.7"); /* surrogate */
	parse_err("MAIL FROM:<a@b> SIZE", "501 5.5.4 Bad SIZE");
	parse_err("MAIL FROM:<a@b> SIZE=", "501 5.5.4");
	parse_err("MAIL FROM:<a@b> SIZE=-1", "501 5.5.4 Bad SIZE");
	parse_err("MAIL FROM:<a@b> SIZE=1x", "501 5.5.4 Bad SIZE");
	parse_err("MAIL FROM:<a@b> SIZE=123456789012345678901", "501 5.5.4 Bad SIZE");
	parse_err("MAIL FROM:<a@b> SIZE=1 SIZE=2", "501 5.5.4 Duplicate");
	parse_err("MAIL FROM:<a@b> BODY=BINARYMIME", "555 5.5.4");
	parse_err("MAIL FROM:<a@b> BODY=9BIT", "501 5.5.4 Bad BODY");
	parse_err("MAIL FROM:<a@b> SMTPUTF8=yes", "501 5.5.4");
	parse_err("MAIL FROM:<a@b> AUTH=<>", "555 5.5.4");
	parse_err("MAIL FROM:<a@b> RET=FULL", "555 5.5.4");
	parse_err("MAIL FROM:<a@b> -X", "501 5.5.4");
	parse_err("MAIL FROM:<a@b> X=\x01", "501 5.5.4");
}

static void test_rcpt(void **state)
{
	struct smtp_command c;
	(void)state;

	c = parse_ok("RCPT TO:<bob@example.org>");
	assert_int_equal(c.verb, SMTP_VERB_RCPT);
	assert_str(c.address, "bob@example.org");
	assert_str(parse_ok("rcpt to:<Postmaster>").address, "Postmaster");
	assert_str(parse_ok("RCPT TO:<postmaster@example.org>").address, "postmaster@example.org");
	assert_str(parse_ok("RCPT TO:<@hop:x@y.z>").address, "x@y.z");
	assert_str(parse_ok("RCPT TO:<\"\"@y.z>").address, "\"\"@y.z");
	parse_err("RCPT TO:<>", "501 5.1.3");
	parse_err("RCPT FROM:<a@b>", "501 5.5.4 Syntax: RCPT");
	parse_err("RCPT TO:<a@b> NOTIFY=NEVER", "555 5.5.4");
	parse_err("RCPT TO:<a@b> SMTPUTF8", "555 5.5.4");
	parse_err("RCPT TO:<Postmaster>x", "501 5.5.4");
	parse_err("RCPT TO:<Postmaster> x", "555 5.5.4");
}

/* make_path builds "RCPT TO:<" local "@" domain ">" with the whole path
 * (with <>) exactly path_len octets long. */
static void make_path(char *out, size_t size, size_t path_len)
{
	const char *domain = "@example.org>";
	size_t local = path_len - 1 - strlen(domain);
	size_t n = (size_t)snprintf(out, size, "RCPT TO:<");
	memset(out + n, 'x', local);
	n += local;
	snprintf(out + n, size - n, "%s", domain);
}

static void test_path_limit(void **state)
{
	char line[600];
	(void)state;

	make_path(line, sizeof(line), SMTP_MAX_PATH);
	parse_ok(line);
	make_path(line, sizeof(line), SMTP_MAX_PATH + 1);
	parse_err(line, "501 5.1.3 Address too long");
}

static void test_bdat(void **state)
{
	struct smtp_command c;
	(void)state;

	c = parse_ok("BDAT 100");
	assert_int_equal(c.chunk_size, 100);
	assert_false(c.last);
	c = parse_ok("bdat 0 last");
	assert_int_equal(c.chunk_size, 0);
	assert_true(c.last);
	c = parse_ok("BDAT 18446744073709551615 LAST");
	assert_int_equal(c.chunk_size, UINT64_MAX);
	parse_err("BDAT", "501 5.5.4 Syntax: BDAT");
	parse_err("BDAT x", "501 5.5.4");
	parse_err("BDAT -1", "501 5.5.4");
	parse_err("BDAT 10 FIRST", "501 5.5.4");
	parse_err("BDAT 10 LAST x", "501 5.5.4");
	parse_err("BDAT 18446744073709551616", "501 5.5.4");
}

static void test_utf8_seq(void **state)
{
	(void)state;
	assert_int_equal(smtp_parse_utf8_seq((const unsigned char *)"\xc3\xa4", 2), 2);
	assert_int_equal(smtp_parse_utf8_seq((const unsigned char *)"\xe2\x82\xac", 3), 3);
	assert_int_equal(smtp_parse_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(smtp_parse_utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(smtp_parse_utf8_seq((const unsigned char *)"\xe0\x80\x80", 3), 0);
	assert_int_equal(smtp_parse_utf8_seq((const unsigned char *)"\xc3", 1), 0);
	assert_int_equal(smtp_parse_utf8_seq((const unsigned char *)"a", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_path_limit),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_utf8_seq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
