/*
 * Unit tests for the submission mode of smtp-session (AUTH, the sender
 * and From: checks, the fields added) and for smtp-submit's parsers.  The
 * fake answers every callback from inside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "smtp/smtp-session.h"
#include "smtp/smtp-submit.h"

struct fake {
	struct smtp_session *s;
	struct buf out;
	struct buf msg;
	int auths;
	char user[64], password[64];
	enum smtp_auth_status answer;
	int ends;
	bool last_end_ok;
};

static void cb_output(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;
	assert_int_equal(buf_append(&f->out, data, len), 0);
}

static void cb_rcpt_lookup(void *ctx, struct str address)
{
	struct fake *f = ctx;
	static const uint64_t none[1];
	(void)address;
	/* Remote recipients come with no accounts after a login. */
	smtp_session_rcpt_result(f->s, SMTP_RCPT_OK, none, 0);
}

static int cb_data_begin(void *ctx, const struct smtp_transaction *t)
{
	(void)ctx;
	(void)t;
	return 0;
}

static int cb_data_chunk(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;
	assert_int_equal(buf_append(&f->msg, data, len), 0);
	return 0;
}

static void cb_data_end(void *ctx, bool ok)
{
	struct fake *f = ctx;
	f->ends++;
	f->last_end_ok = ok;
	smtp_session_data_result(f->s, ok, "Q1");
}

static void cb_starttls(void *ctx)
{
	struct fake *f = ctx;
	smtp_session_tls_started(f->s);
}

static void cb_close(void *ctx)
{
	(void)ctx;
}

static void cb_auth(void *ctx, struct str user, struct str password)
{
	struct fake *f = ctx;
	f->auths++;
	snprintf(f->user, sizeof(f->user), "%.*s", (int)user.len, user.ptr);
	snprintf(f->password, sizeof(f->password), "%.*s", (int)password.len, password.ptr);
	smtp_session_auth_result(f->s, f->answer);
}

/* The account owns alice@ and sales@, nothing else. */
static bool cb_sender_allowed(void *ctx, struct str address)
{
	(void)ctx;
	return str_case_eq(address, STR("alice@example.org")) ||
	       str_case_eq(address, STR("sales@example.org"));
}

static const struct smtp_callbacks callbacks = {
	.output = cb_output,
	.rcpt_lookup = cb_rcpt_lookup,
	.data_begin = cb_data_begin,
	.data_chunk = cb_data_chunk,
	.data_end = cb_data_end,
	.starttls = cb_starttls,
	.close = cb_close,
	.auth = cb_auth,
	.sender_allowed = cb_sender_allowed,
};

static struct fake *fake_new(bool tls, bool received_ip)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct smtp_settings set = { .hostname = "mx.test", .tls_offered = true,
				     .tls_active = tls, .submission = true,
				     .received_ip = received_ip };
	buf_init(&f->out, 1024 * 1024);
	buf_init(&f->msg, 1024 * 1024);
	f->s = smtp_session_new(&set, &callbacks, f, "192.0.2.7", "S1");
	smtp_session_start(f->s);
	buf_reset(&f->out);
	return f;
}

static void fake_free(struct fake *f)
{
	smtp_session_free(&f->s);
	buf_free(&f->out);
	buf_free(&f->msg);
	free(f);
}

/* say feeds one chunk of client input and returns what came out. */
static const char *say(struct fake *f, const char *text)
{
	struct buf in;
	buf_init(&in, 1024 * 1024);
	assert_int_equal(buf_append(&in, text, strlen(text)), 0);
	buf_reset(&f->out);
	smtp_session_input(f->s, &in);
	buf_free(&in);
	assert_int_equal(buf_putc(&f->out, '\0'), 0);
	f->out.len--;
	return f->out.data;
}

/* "\0alice@example.org\0secret" */
#define PLAIN_ALICE "AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA=="

static void test_auth_only_under_tls(void **state)
{
	(void)state;
	struct fake *f = fake_new(false, false);
	const char *o = say(f, "EHLO laptop.test\r\n");
	assert_non_null(strstr(o, "250-STARTTLS\r\n") ? o : strstr(o, "250 STARTTLS\r\n"));
	assert_null(strstr(o, "AUTH"));
	o = say(f, "AUTH PLAIN " PLAIN_ALICE "\r\n");
	assert_string_equal(o, "530 5.7.0 Must issue a STARTTLS command first\r\n");
	assert_int_equal(f->auths, 0);
	o = say(f, "MAIL FROM:<alice@example.org>\r\n");
	assert_string_equal(o, "530 5.7.0 Authentication required\r\n");
	say(f, "STARTTLS\r\n");
	o = say(f, "EHLO laptop.test\r\n");
	assert_non_null(strstr(o, "250 AUTH PLAIN LOGIN\r\n"));
	assert_null(strstr(o, "STARTTLS"));
	o = say(f, "MAIL FROM:<alice@example.org>\r\n");
	assert_string_equal(o, "530 5.7.0 Authentication required\r\n");
	fake_free(f);
}

static void test_plain_then_message(void **state)
{
	(void)state;
	struct fake *f = fake_new(true, false);
	say(f, "EHLO laptop.test\r\n");
	const char *o = say(f, "AUTH PLAIN " PLAIN_ALICE "\r\n");
	assert_string_equal(o, "235 2.7.0 Authentication successful\r\n");
	assert_string_equal(f->user, "alice@example.org");
	assert_string_equal(f->password, "secret");
	o = say(f, "AUTH PLAIN " PLAIN_ALICE "\r\n");
	assert_string_equal(o, "503 5.5.1 Error: already authenticated\r\n");
	/* No more AUTH offered once logged in. */
	assert_null(strstr(say(f, "EHLO laptop.test\r\n"), "AUTH"));
	o = say(f, "MAIL FROM:<bob@example.org>\r\n");
	assert_string_equal(o, "553 5.7.1 <bob@example.org>: Sender address rejected: not owned "
			       "by user\r\n");
	assert_string_equal(say(f, "MAIL FROM:<>\r\n"),
			    "553 5.7.1 <>: Sender address rejected: not owned by user\r\n");
	o = say(f, "MAIL FROM:<Alice@Example.org>\r\nRCPT TO:<carol@elsewhere.test>\r\nDATA\r\n"
		   "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nbody\r\n.\r\n");
	assert_non_null(strstr(o, "250 2.0.0 Ok: queued as Q1\r\n"));
	struct str m = buf_str(&f->msg);
	assert_true(str_case_prefix(m, STR("Received: from laptop.test (authenticated)\r\n")));
	assert_null(memmem(m.ptr, m.len, "192.0.2.7", 9));
	assert_non_null(memmem(m.ptr, m.len, "with ESMTPSA id S1", 18));
	assert_non_null(memmem(m.ptr, m.len, "\r\nDate: ", 8));
	assert_non_null(memmem(m.ptr, m.len, "@mx.test>\r\nFrom: Alice <alice@example.org>\r\n"
					     "Subject: hi\r\n\r\nbody\r\n", 61));
	assert_non_null(memmem(m.ptr, m.len, "\r\nMessage-ID: <", 15));
	fake_free(f);
}

static void test_client_fields_kept_and_ip_when_asked(void **state)
{
	(void)state;
	struct fake *f = fake_new(true, true);
	say(f, "EHLO laptop.test\r\nAUTH PLAIN " PLAIN_ALICE "\r\n");
	say(f, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
	       "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nmessage-id: <x@y>\r\n"
	       "From: sales@example.org, \"Alice, A.\" <alice@example.org> (me)\r\n\r\nb\r\n.\r\n");
	struct str m = buf_str(&f->msg);
	assert_non_null(memmem(m.ptr, m.len, "([192.0.2.7])", 13));
	/* The client's Date: and Message-ID: are the only ones. */
	assert_null(memmem(m.ptr, m.len, "Message-ID:", 11));
	const char *date = memmem(m.ptr, m.len, "\r\nDate: ", 8);
	assert_ptr_equal(date, memmem(m.ptr, m.len, "\r\nDate: Mon, 7 Dec", 18));
	assert_true(f->last_end_ok);
	fake_free(f);
}

static void test_from_of_another_is_refused(void **state)
{
	(void)state;
	static const char *const froms[] = {
		"From: bob@example.org\r\n",
		"From: alice@example.org, bob@example.org\r\n",
		"From: \"alice@example.org\" <bob@example.org>\r\n",
		"From: Team: alice@example.org,\r\n bob@example.org;\r\n",
		"From: <alice@example.org\r\n",
		"Subject: no From at all\r\n",
	};
	for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
		struct fake *f = fake_new(true, false);
		say(f, "EHLO laptop.test\r\nAUTH PLAIN " PLAIN_ALICE "\r\n");
		char data[512];
		snprintf(data, sizeof(data),
			 "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
			 "%s\r\nbody\r\n.\r\n", froms[i]);
		const char *o = say(f, data);
		assert_non_null(strstr(o, "553 5.7.1 Sender address rejected: From: header not "
					  "owned by user\r\n"));
		assert_int_equal(f->ends, 1);
		assert_false(f->last_end_ok);
		fake_free(f);
	}
}

/* The header section is held up to SMTP_SUBMIT_MAX_HEADER octets: at it
 * the message goes, one past it gets 552. */
static void test_header_limit(void **state)
{
	(void)state;
	for (int extra = 0; extra <= 1; extra++) {
		struct fake *f = fake_new(true, false);
		say(f, "EHLO laptop.test\r\nAUTH PLAIN " PLAIN_ALICE "\r\n");
		say(f, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
		const char *from = "From: alice@example.org\r\n";
		size_t fill = SMTP_SUBMIT_MAX_HEADER - strlen(from) + (size_t)extra;
		char *data = malloc(fill + 64);
		memcpy(data, from, strlen(from));
		char *p = data + strlen(from);
		/* Lines of "X:yyy...\r\n" making up fill octets exactly. */
		size_t left = fill;
		while (left > 0) {
			size_t line = left >= 1005 ? 1000 : left;
			memset(p, 'y', line);
			memcpy(p, "X:", 2);
			p[line - 2] = '\r';
			p[line - 1] = '\n';
			p += line;
			left -= line;
		}
		memcpy(p, "\r\nbody\r\n.\r\n", sizeof("\r\nbody\r\n.\r\n"));
		const char *o = say(f, data);
		if (extra == 0)
			assert_non_null(strstr(o, "250 2.0.0 Ok"));
		else
			assert_non_null(strstr(o, "552 5.3.4 Message header size exceeds limit\r\n"));
		free(data);
		fake_free(f);
	}
}

static void test_login_mechanism_and_failures(void **state)
{
	(void)state;
	struct fake *f = fake_new(true, false);
	say(f, "EHLO laptop.test\r\n");
	assert_string_equal(say(f, "AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
	assert_string_equal(say(f, "*\r\n"), "501 5.0.0 Authentication aborted\r\n");
	assert_string_equal(say(f, "AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
	assert_string_equal(say(f, "%%%\r\n"), "501 5.5.2 Error: cannot decode the response\r\n");
	assert_string_equal(say(f, "AUTH CRAM-MD5\r\n"), "504 5.5.4 Unrecognized authentication type\r\n");
	f->answer = SMTP_AUTH_REFUSED;
	assert_string_equal(say(f, "AUTH LOGIN YWxpY2VAZXhhbXBsZS5vcmc=\r\n"), "334 UGFzc3dvcmQ6\r\n");
	assert_string_equal(say(f, "d3Jvbmc=\r\n"), "535 5.7.8 Error: authentication failed\r\n");
	assert_string_equal(f->user, "alice@example.org");
	assert_string_equal(f->password, "wrong");
	f->answer = SMTP_AUTH_TEMPFAIL;
	assert_string_equal(say(f, "AUTH PLAIN\r\n"), "334 \r\n");
	assert_string_equal(say(f, PLAIN_ALICE "\r\n"), "454 4.7.0 Temporary authentication failure\r\n");
	f->answer = SMTP_AUTH_OK;
	assert_string_equal(say(f, "AUTH LOGIN\r\nYWxpY2VAZXhhbXBsZS5vcmc=\r\nc2VjcmV0\r\n"),
			    "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n");
	assert_string_equal(f->password, "secret");
	fake_free(f);
}

/* A SASL LOGIN name or password decodes to at most SMTP_SUBMIT_MAX_SASL
 * octets: one more is refused as undecodable, never cut. */
static void test_login_field_limit(void **state)
{
	(void)state;
	for (size_t extra = 0; extra <= 1; extra++) {
		struct fake *f = fake_new(true, false);
		say(f, "EHLO laptop.test\r\n");
		size_t len = SMTP_SUBMIT_MAX_SASL + extra;
		char *name = malloc(len);
		memset(name, 'a', len);
		char *line = malloc(len * 2 + 16);
		sodium_bin2base64(line, len * 2, (const unsigned char *)name, len,
				  sodium_base64_VARIANT_ORIGINAL);
		memcpy(line + strlen(line), "\r\n", 3);
		say(f, "AUTH LOGIN\r\n");
		const char *o = say(f, line);
		if (extra == 0)
			assert_string_equal(o, "334 UGFzc3dvcmQ6\r\n");
		else
			assert_string_equal(o, "501 5.5.2 Error: cannot decode the response\r\n");
		free(line);
		free(name);
		fake_free(f);
	}
}

/* Port 25 knows no AUTH. */
static void test_no_auth_outside_submission(void **state)
{
	(void)state;
	struct fake f = { 0 };
	struct smtp_settings set = { .hostname = "mx.test" };
	buf_init(&f.out, 4096);
	f.s = smtp_session_new(&set, &callbacks, &f, "192.0.2.7", "S1");
	say(&f, "EHLO x\r\n");
	assert_string_equal(say(&f, "AUTH PLAIN " PLAIN_ALICE "\r\n"),
			    "500 5.5.2 Error: command not recognized\r\n");
	assert_int_equal(f.auths, 0);
	smtp_session_free(&f.s);
	buf_free(&f.out);
}

static void test_scan_header(void **state)
{
	(void)state;
	struct smtp_header_scan scan;
	smtp_submit_scan_header(STR("Subject: x\r\nFROM: \"Doe, J\" <j@x.test>,\r\n (c) k@y.test (K)"
				    "\r\nDATE: today\r\n"),
				&scan);
	assert_true(scan.has_from && scan.has_date && !scan.has_message_id && !scan.from_bad);
	assert_int_equal(scan.from_count, 2);
	assert_true(str_eq(scan.from[0], STR("j@x.test")));
	assert_true(str_eq(scan.from[1], STR("k@y.test")));
	smtp_submit_scan_header(STR("From: a b@x.test\nMessage-Id: <1@2>\n"), &scan);
	assert_true(scan.from_bad && scan.has_message_id);
	smtp_submit_scan_header(STR("From: \"unterminated <a@x.test>\r\n"), &scan);
	assert_true(scan.from_bad);
	smtp_submit_scan_header(STR("From: <@route:a@x.test>\r\n"), &scan);
	assert_false(scan.from_bad);
	assert_true(str_eq(scan.from[0], STR("a@x.test")));

	/* One past SMTP_SUBMIT_MAX_FROM mailboxes is refused. */
	struct buf b;
	buf_init(&b, 8192);
	buf_append_str(&b, STR("From: a@x.test"));
	for (int i = 1; i < SMTP_SUBMIT_MAX_FROM; i++)
		buf_append_str(&b, STR(", a@x.test"));
	smtp_submit_scan_header(buf_str(&b), &scan);
	assert_false(scan.from_bad);
	buf_append_str(&b, STR(", a@x.test"));
	smtp_submit_scan_header(buf_str(&b), &scan);
	assert_true(scan.from_bad);
	buf_free(&b);

	struct str initial;
	assert_int_equal(smtp_submit_parse_auth(STR("plain ="), &initial), SMTP_AUTH_MECH_PLAIN);
	assert_true(str_eq(initial, STR("=")));
	assert_int_equal(smtp_submit_parse_auth(STR("LOGIN"), &initial), SMTP_AUTH_MECH_LOGIN);
	assert_null(initial.ptr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_only_under_tls),
		cmocka_unit_test(test_plain_then_message),
		cmocka_unit_test(test_client_fields_kept_and_ip_when_asked),
		cmocka_unit_test(test_from_of_another_is_refused),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_login_mechanism_and_failures),
		cmocka_unit_test(test_login_field_limit),
		cmocka_unit_test(test_no_auth_outside_submission),
		cmocka_unit_test(test_scan_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
