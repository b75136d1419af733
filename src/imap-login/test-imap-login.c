/* Unit tests for the IMAP not-authenticated state (imap-login). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap-proto/imap-capability.h"
#include "imap-login.h"

struct ctx {
	struct buf out;
	struct buf in;                 /* input not consumed yet */
	struct imap_login *login;
	char user[64], pass[64];
	int logins, tls, closes;
	int answer_at_once;            /* 0: later; 1: temporary failure */
};

static void out(void *c, const char *data, size_t len)
{
	assert_int_equal(buf_append(&((struct ctx *)c)->out, data, len), 0);
}

static void on_login(void *c, struct str user, struct str pass)
{
	struct ctx *x = c;
	snprintf(x->user, sizeof(x->user), "%.*s", (int)user.len, user.ptr);
	snprintf(x->pass, sizeof(x->pass), "%.*s", (int)pass.len, pass.ptr);
	x->logins++;
	if (x->answer_at_once)
		imap_login_result(x->login, false, true);
}

static void on_tls(void *c)
{
	((struct ctx *)c)->tls++;
}

static void on_close(void *c)
{
	((struct ctx *)c)->closes++;
}

static const struct imap_login_callbacks callbacks = { out, on_login, on_tls, on_close };

static void start(struct ctx *x, bool tls_offered, bool tls_active)
{
	memset(x, 0, sizeof(*x));
	buf_init(&x->out, 1 << 20);
	buf_init(&x->in, 16u << 20);
	x->login = imap_login_new(&callbacks, x, tls_offered, tls_active);
	assert_non_null(x->login);
	imap_login_start(x->login);
}

static void stop(struct ctx *x)
{
	imap_login_free(&x->login);
	assert_null(x->login);
	buf_free(&x->out);
	buf_free(&x->in);
}

/* send feeds text (after what is left from before) and returns what the
 * machine wrote in answer. */
static const char *send_n(struct ctx *x, const char *text, size_t len)
{
	buf_reset(&x->out);
	assert_int_equal(buf_append(&x->in, text, len), 0);
	imap_login_input(x->login, &x->in);
	return x->out.data != NULL ? x->out.data : "";
}

static const char *send(struct ctx *x, const char *text)
{
	return send_n(x, text, strlen(text));
}

static void test_greeting(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, false);
	assert_string_equal(x.out.data,
			    "* OK [CAPABILITY " IMAP_CAPABILITY_PREAUTH_PLAIN "] Ravelin ready\r\n");
	stop(&x);

	start(&x, true, true);
	assert_string_equal(x.out.data,
			    "* OK [CAPABILITY " IMAP_CAPABILITY_PREAUTH_TLS "] Ravelin ready\r\n");
	stop(&x);

	/* Without a certificate STARTTLS is not offered at all. */
	start(&x, false, false);
	assert_null(strstr(x.out.data, "STARTTLS"));
	assert_non_null(strstr(x.out.data, " LOGINDISABLED]"));
	assert_non_null(strstr(send(&x, "a STARTTLS\r\n"), "a NO "));
	stop(&x);
}

static void test_simple_commands(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, false);
	assert_string_equal(send(&x, "a1 CAPABILITY\r\n"),
			    "* CAPABILITY " IMAP_CAPABILITY_PREAUTH_PLAIN "\r\n"
			    "a1 OK CAPABILITY completed\r\n");
	assert_string_equal(send(&x, "a2 noop\r\n"), "a2 OK NOOP completed\r\n");
	assert_string_equal(send(&x, "a3 ID NIL\r\n"),
			    "* ID (\"name\" \"Ravelin\")\r\na3 OK ID completed\r\n");
	assert_string_equal(send(&x, "a4 ID (\"name\" \"mutt\" \"version\" {3+}\r\n2.2)\r\n"),
			    "* ID (\"name\" \"Ravelin\")\r\na4 OK ID completed\r\n");
	assert_string_equal(send(&x, "a5 ID\r\n"), "a5 BAD ID takes a list or NIL\r\n");
	assert_string_equal(send(&x, "a6 CAPABILITY now\r\n"),
			    "a6 BAD This command takes no arguments\r\n");
	/* Authenticated-state commands (ENABLE among them: RFC 9051 6.3.1
	 * has it valid only after login) are a protocol error now. */
	assert_string_equal(send(&x, "a7 ENABLE UTF8=ACCEPT\r\n"), "a7 BAD Log in first\r\n");
	assert_string_equal(send(&x, "a8 SELECT INBOX\r\n"), "a8 BAD Log in first\r\n");
	assert_string_equal(send(&x, "a9 UID FETCH 1:* FLAGS\r\n"), "a9 BAD Log in first\r\n");
	assert_string_equal(send(&x, "b1 XYZZY\r\n"), "b1 BAD Unknown command\r\n");
	/* A line the parser refuses without a tag is answered untagged. */
	assert_string_equal(send(&x, "+bad\r\n"), "* BAD Invalid tag\r\n");
	assert_int_equal(x.closes, 0);
	assert_string_equal(send(&x, "b2 LOGOUT\r\n"),
			    "* BYE Logging out\r\nb2 OK LOGOUT completed\r\n");
	assert_int_equal(x.closes, 1);
	/* Nothing more is read. */
	assert_string_equal(send(&x, "b3 NOOP\r\n"), "");
	stop(&x);
}

static void test_no_credentials_in_clear(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, false);
	assert_non_null(strstr(send(&x, "a LOGIN alice secret\r\n"), "a NO [PRIVACYREQUIRED] "));
	assert_non_null(strstr(send(&x, "b AUTHENTICATE PLAIN AGEAcHc=\r\n"),
			       "b NO [PRIVACYREQUIRED] "));
	/* A synchronising literal is refused before the password is sent... */
	const char *r = send(&x, "c LOGIN alice {6}\r\n");
	assert_null(strstr(r, "+ OK"));
	assert_non_null(strstr(r, "c NO [PRIVACYREQUIRED] "));
	/* ... and the next line is a new command. */
	assert_string_equal(send(&x, "d NOOP\r\n"), "d OK NOOP completed\r\n");
	/* A non-synchronising one comes anyway: taken, then refused. */
	assert_non_null(strstr(send(&x, "e LOGIN alice {6+}\r\nsecret\r\n"),
			       "e NO [PRIVACYREQUIRED] "));
	assert_int_equal(x.logins, 0);
	assert_int_equal(x.closes, 0);
	stop(&x);
}

static void test_starttls_discards_pipelined_input(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, false);
	assert_string_equal(send(&x, "a STARTTLS\r\nb LOGIN evil evil\r\n"),
			    "a OK Begin TLS negotiation now\r\n");
	assert_int_equal(x.tls, 1);
	assert_int_equal(x.in.len, 0);
	assert_true(imap_login_waiting(x.login));
	imap_login_tls_started(x.login);
	assert_false(imap_login_waiting(x.login));
	assert_int_equal(x.logins, 0);
	const char *r = send(&x, "c CAPABILITY\r\n");
	assert_non_null(strstr(r, "AUTH=PLAIN"));
	assert_null(strstr(r, "LOGINDISABLED"));
	assert_string_equal(send(&x, "d STARTTLS\r\n"), "d BAD TLS is active already\r\n");
	stop(&x);
}

static void test_login_and_pipelined_bytes(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, true);
	const char *r = send(&x, "a LOGIN \"alice@example.org\" {5}\r\n");
	assert_string_equal(r, "+ OK\r\n");
	/* What follows the LOGIN stays for the worker. */
	assert_string_equal(send(&x, "s3\"cr\r\nb SELECT INBOX\r\nc NOOP\r\n"), "");
	assert_int_equal(x.logins, 1);
	assert_string_equal(x.user, "alice@example.org");
	assert_string_equal(x.pass, "s3\"cr");
	assert_true(imap_login_waiting(x.login));
	assert_string_equal(x.in.data, "b SELECT INBOX\r\nc NOOP\r\n");
	imap_login_input(x.login, &x.in);
	assert_int_equal(x.in.len, strlen("b SELECT INBOX\r\nc NOOP\r\n"));
	/* Auth says yes: still nothing is written or read until master has
	 * the session. */
	buf_reset(&x.out);
	imap_login_result(x.login, true, false);
	assert_int_equal(x.out.len, 0);
	assert_true(imap_login_waiting(x.login));
	assert_false(imap_login_done(x.login));
	imap_login_session_ready(x.login);
	assert_string_equal(x.out.data,
			    "a OK [CAPABILITY " IMAP_CAPABILITY_AUTH "] Logged in\r\n");
	assert_true(imap_login_done(x.login));
	assert_false(imap_login_waiting(x.login));
	buf_reset(&x.out);
	imap_login_input(x.login, &x.in);
	assert_int_equal(x.out.len, 0);
	assert_int_equal(x.in.len, strlen("b SELECT INBOX\r\nc NOOP\r\n"));
	stop(&x);
}

static void test_login_refused(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, true);
	send(&x, "a LOGIN alice wrong\r\n");
	assert_int_equal(x.logins, 1);
	buf_reset(&x.out);
	imap_login_result(x.login, false, false);
	assert_string_equal(x.out.data, "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
	/* A second answer is ignored. */
	buf_reset(&x.out);
	imap_login_result(x.login, true, false);
	assert_int_equal(x.out.len, 0);
	assert_false(imap_login_waiting(x.login));

	send(&x, "b LOGIN alice right\r\n");
	buf_reset(&x.out);
	imap_login_result(x.login, false, true);
	assert_string_equal(x.out.data, "b NO [UNAVAILABLE] Cannot log in now, try again later\r\n");

	/* The answer may come from inside the callback. */
	x.answer_at_once = 1;
	assert_string_equal(send(&x, "c LOGIN alice right\r\nd NOOP\r\n"),
			    "c NO [UNAVAILABLE] Cannot log in now, try again later\r\n"
			    "d OK NOOP completed\r\n");
	x.answer_at_once = 0;

	/* The session is refused: back to the not-authenticated state, and
	 * the pipelined command is answered there. */
	send(&x, "e LOGIN alice right\r\nf SELECT INBOX\r\n");
	imap_login_result(x.login, true, false);
	buf_reset(&x.out);
	imap_login_session_refused(x.login, false);
	assert_string_equal(x.out.data,
			    "e NO [UNAVAILABLE] Mailbox not available now, try again later\r\n");
	assert_false(imap_login_waiting(x.login));
	assert_string_equal(send(&x, ""), "f BAD Log in first\r\n");
	/* One session too many for the account: NO [LIMIT], never an OK. */
	send(&x, "g LOGIN alice right\r\n");
	imap_login_result(x.login, true, false);
	buf_reset(&x.out);
	imap_login_session_refused(x.login, true);
	assert_string_equal(x.out.data, "g NO [LIMIT] Too many sessions for this account\r\n");
	assert_false(imap_login_waiting(x.login));
	assert_int_equal(x.closes, 0);
	stop(&x);
}

static void test_authenticate_plain(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, true);
	/* SASL-IR: "\0a\0pw" */
	send(&x, "a AUTHENTICATE PLAIN AGEAcHc=\r\n");
	assert_int_equal(x.logins, 1);
	assert_string_equal(x.user, "a");
	assert_string_equal(x.pass, "pw");
	imap_login_result(x.login, false, false);

	/* Without an initial response: "+ ", then one line. */
	assert_string_equal(send(&x, "b authenticate plain\r\n"), "+ \r\n");
	assert_string_equal(send(&x, "YQBhAHB3\r\n"), ""); /* "a\0a\0pw" */
	assert_int_equal(x.logins, 2);
	assert_string_equal(x.user, "a");
	imap_login_result(x.login, false, false);

	/* "*" cancels; bad base64 and a bad PLAIN message are BAD. */
	send(&x, "c AUTHENTICATE PLAIN\r\n");
	assert_string_equal(send(&x, "*\r\n"), "c BAD Authentication cancelled\r\n");
	send(&x, "d AUTHENTICATE PLAIN\r\n");
	assert_string_equal(send(&x, "!!!!\r\n"), "d BAD Invalid base64\r\n");
	assert_string_equal(send(&x, "e AUTHENTICATE PLAIN =\r\n"),
			    "e BAD Invalid PLAIN message\r\n");
	assert_string_equal(send(&x, "f AUTHENTICATE PLAIN YWJj\r\n"),
			    "f BAD Invalid PLAIN message\r\n");
	/* Acting as somebody else: "x\0a\0pw". */
	assert_non_null(strstr(send(&x, "g AUTHENTICATE PLAIN eABhAHB3\r\n"),
			       "g NO [AUTHORIZATIONFAILED]"));
	assert_string_equal(send(&x, "h AUTHENTICATE CRAM-MD5\r\n"),
			    "h NO Unsupported authentication mechanism\r\n");
	/* A SASL response longer than a line may be is refused. */
	send(&x, "i AUTHENTICATE PLAIN\r\n");
	char *long_line = malloc(IMAP_LOGIN_MAX_LINE + 10);
	assert_non_null(long_line);
	memset(long_line, 'A', IMAP_LOGIN_MAX_LINE + 8);
	memcpy(long_line + IMAP_LOGIN_MAX_LINE + 8, "\r\n", 2);
	assert_string_equal(send_n(&x, long_line, IMAP_LOGIN_MAX_LINE + 10),
			    "i BAD Line too long\r\n");
	free(long_line);
	assert_int_equal(x.logins, 2);
	assert_string_equal(send(&x, "j NOOP\r\n"), "j OK NOOP completed\r\n");
	stop(&x);
}

/* The largest ID RFC 2971 allows (30 pairs, 30-octet fields, 1024-octet
 * values) is answered; one octet more per value makes the line too long
 * only past IMAP_LOGIN_MAX_LINE. */
static void test_id_largest(void **state)
{
	struct ctx x;
	struct buf line;
	(void)state;

	start(&x, true, true);
	buf_init(&line, IMAP_LOGIN_MAX_LINE * 2);
	buf_printf(&line, "a ID (");
	for (int i = 0; i < IMAP_ID_MAX_PAIRS; i++) {
		buf_printf(&line, "%s\"%c", i > 0 ? " " : "", 'a' + i % 26);
		for (int k = 1; k < IMAP_ID_MAX_FIELD; k++)
			buf_putc(&line, '0' + k % 10);
		buf_printf(&line, "\" \"");
		for (int k = 0; k < IMAP_ID_MAX_VALUE; k++)
			buf_putc(&line, '0' + k % 10);
		buf_putc(&line, '"');
	}
	buf_printf(&line, ")\r\n");
	assert_true(line.len <= IMAP_ID_MAX_LINE);
	assert_string_equal(send_n(&x, line.data, line.len),
			    "* ID (\"name\" \"Ravelin\")\r\na OK ID completed\r\n");
	/* One past the line limit is refused, and the connection goes on. */
	buf_reset(&line);
	buf_printf(&line, "b ID (\"x\" \"");
	while (line.len < IMAP_LOGIN_MAX_LINE)
		buf_putc(&line, 'v');
	buf_printf(&line, "\")\r\n");
	assert_string_equal(send_n(&x, line.data, line.len), "b BAD Command line too long\r\n");
	assert_string_equal(send(&x, "c NOOP\r\n"), "c OK NOOP completed\r\n");
	buf_free(&line);
	stop(&x);
}

static void test_limits(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, true);
	/* A huge synchronising literal: refused unasked, nothing reserved,
	 * and the connection goes on. */
	const char *r = send(&x, "a LOGIN alice {4000000000}\r\n");
	assert_non_null(strstr(r, "a BAD [TOOBIG]"));
	assert_null(strstr(r, "+ OK"));
	assert_int_equal(x.closes, 0);
	assert_string_equal(send(&x, "b NOOP\r\n"), "b OK NOOP completed\r\n");
	/* One more than allowed. */
	char text[64];
	snprintf(text, sizeof(text), "c LOGIN alice {%u}\r\n", IMAP_LOGIN_MAX_LITERAL + 1);
	assert_non_null(strstr(send(&x, text), "c BAD [TOOBIG]"));
	/* A 10 MB line costs no memory: refused at its end. */
	size_t big = 10u << 20;
	char *line = malloc(big);
	assert_non_null(line);
	memcpy(line, "d LOGIN ", 8);
	memset(line + 8, 'x', big - 10);
	memcpy(line + big - 2, "\r\n", 2);
	for (size_t at = 0; at < big; at += 65536) {
		size_t n = big - at < 65536 ? big - at : 65536;
		r = send_n(&x, line + at, n);
	}
	free(line);
	assert_string_equal(r, "d BAD Command line too long\r\n");
	/* Deep nesting ends at the limit. */
	char deep[10016];
	memcpy(deep, "e ID ", 5);
	memset(deep + 5, '(', 10000);
	memcpy(deep + 10005, "\r\n", 3);
	assert_string_equal(send(&x, deep), "e BAD Lists nested too deeply\r\n");
	assert_int_equal(x.closes, 0);
	assert_string_equal(send(&x, "f NOOP\r\n"), "f OK NOOP completed\r\n");
	/* A huge non-synchronising literal: its octets will come anyway, so
	 * the stream cannot be followed: BAD, BYE and close. */
	r = send(&x, "g LOGIN alice {4000000000+}\r\nxxxxxxxx");
	assert_non_null(strstr(r, "g BAD [TOOBIG]"));
	assert_non_null(strstr(r, "* BYE "));
	assert_int_equal(x.closes, 1);
	assert_int_equal(x.logins, 0);
	stop(&x);
}

static void test_too_many_errors(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, false);
	for (int i = 1; i < IMAP_LOGIN_MAX_ERRORS; i++)
		assert_string_equal(send(&x, "a FOO\r\n"), "a BAD Unknown command\r\n");
	assert_int_equal(x.closes, 0);
	assert_string_equal(send(&x, "a FOO\r\nb NOOP\r\n"),
			    "a BAD Unknown command\r\n* BYE Too many invalid commands\r\n");
	assert_int_equal(x.closes, 1);
	stop(&x);
}

static void test_timeout(void **state)
{
	struct ctx x;
	(void)state;

	start(&x, true, false);
	send(&x, "a NOO");
	buf_reset(&x.out);
	imap_login_timeout(x.login);
	assert_string_equal(x.out.data, "* BYE Autologout; idle for too long\r\n");
	assert_int_equal(x.closes, 1);
	buf_reset(&x.out);
	imap_login_timeout(x.login);
	assert_int_equal(x.out.len, 0);
	stop(&x);
}

/* The same input in one piece and byte by byte gives the same answers. */
static void test_byte_by_byte(void **state)
{
	static const char script[] =
		"a CAPABILITY\r\nb ID (\"name\" {4}\r\nmutt)\r\nc FOO bar\r\n"
		"d AUTHENTICATE PLAIN\r\n*\r\ne LOGIN {5}\r\nalice {2+}\r\npw\r\nf NOOP\r\n";
	struct ctx whole, bytes;
	(void)state;

	start(&whole, true, true);
	start(&bytes, true, true);
	send(&whole, script);
	struct buf all;
	buf_init(&all, 1 << 20);
	for (size_t i = 0; i < sizeof(script) - 1; i++) {
		send_n(&bytes, script + i, 1);
		buf_append(&all, bytes.out.data, bytes.out.len);
	}
	assert_string_equal(all.data, whole.out.data);
	assert_int_equal(whole.logins, 1);
	assert_int_equal(bytes.logins, 1);
	assert_string_equal(bytes.user, "alice");
	assert_string_equal(bytes.pass, "pw");
	assert_string_equal(bytes.in.data, whole.in.data); /* "f NOOP\r\n" stays */
	assert_string_equal(whole.in.data, "f NOOP\r\n");
	buf_free(&all);
	stop(&whole);
	stop(&bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_simple_commands),
		cmocka_unit_test(test_no_credentials_in_clear),
		cmocka_unit_test(test_starttls_discards_pipelined_input),
		cmocka_unit_test(test_login_and_pipelined_bytes),
		cmocka_unit_test(test_login_refused),
		cmocka_unit_test(test_authenticate_plain),
		cmocka_unit_test(test_id_largest),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_byte_by_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
