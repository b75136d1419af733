/*
 * Unit tests for smtp-session: the dialogue driven through fake callbacks.
 * A fake answers look-ups either later (as the front does, after the input
 * call returned) or from inside the callback, and records every output,
 * message byte and call, so tests compare whole dialogues.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp-session.h"

/* Big enough for the 10 MB line test's message and any dialogue. */
#define FAKE_MAX (32u * 1024 * 1024)

struct fake {
	struct smtp_session *s;
	struct buf out;
	struct buf msg;          /* every data_chunk, in order */
	size_t chunks;
	size_t max_chunk;
	int begins;
	int ends;
	bool last_end_ok;
	int lookups;
	int starttls_calls;
	int closes;
	bool answer_inside;      /* answer from inside the callbacks */
	bool pending_rcpt;
	bool pending_data;
	bool pending_tls;
	bool data_begin_fails;
	bool data_result_fails;
	bool data_over_quota;    /* answer data_end with 552 5.2.2 */
	int data_chunk_fail_after; /* fail the n-th data_chunk call (1-based) */
	char last_address[300];
	size_t last_rcpt_count;
};

/* lookup_status: addresses starting "unknown" do not exist, "temp" fail. */
static enum smtp_rcpt_status lookup_status(const char *address)
{
	if (strncmp(address, "unknown", 7) == 0)
		return SMTP_RCPT_UNKNOWN;
	if (strncmp(address, "temp", 4) == 0)
		return SMTP_RCPT_TEMPFAIL;
	if (strncmp(address, "relay", 5) == 0)
		return SMTP_RCPT_RELAY_DENIED;
	if (strncmp(address, "loop", 4) == 0)
		return SMTP_RCPT_LOOP;
	if (strncmp(address, "full", 4) == 0)
		return SMTP_RCPT_OVER_QUOTA;
	return SMTP_RCPT_OK;
}

static const uint64_t fake_accounts[] = { 7, 42 };

static void answer_rcpt(struct fake *f)
{
	f->pending_rcpt = false;
	smtp_session_rcpt_result(f->s, lookup_status(f->last_address), fake_accounts, 2);
}

static void answer_data(struct fake *f)
{
	f->pending_data = false;
	if (f->data_over_quota)
		smtp_session_data_over_quota(f->s);
	else
		smtp_session_data_result(f->s, !f->data_result_fails, "Q1");
}

static void answer_tls(struct fake *f)
{
	f->pending_tls = false;
	smtp_session_tls_started(f->s);
}

static void cb_output(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;
	assert_int_equal(buf_append(&f->out, data, len), 0);
}

static void cb_rcpt_lookup(void *ctx, struct str address)
{
	struct fake *f = ctx;
	f->lookups++;
	assert_true(address.len < sizeof(f->last_address));
	memcpy(f->last_address, address.ptr, address.len);
	f->last_address[address.len] = '\0';
	f->pending_rcpt = true;
	if (f->answer_inside)
		answer_rcpt(f);
}

static int cb_data_begin(void *ctx, const struct smtp_transaction *t)
{
	struct fake *f = ctx;
	f->begins++;
	f->last_rcpt_count = t->rcpt_count;
	for (size_t i = 0; i < t->rcpt_count; i++) {
		assert_int_equal(t->rcpts[i].account_count, 2);
		assert_int_equal(t->rcpts[i].accounts[1], 42);
	}
	return f->data_begin_fails ? -1 : 0;
}

static int cb_data_chunk(void *ctx, const char *data, size_t len)
{
	struct fake *f = ctx;
	f->chunks++;
	if (len > f->max_chunk)
		f->max_chunk = len;
	if (f->data_chunk_fail_after > 0 && (int)f->chunks == f->data_chunk_fail_after)
		return -1;
	assert_int_equal(buf_append(&f->msg, data, len), 0);
	return 0;
}

static void cb_data_end(void *ctx, bool ok)
{
	struct fake *f = ctx;
	f->ends++;
	f->last_end_ok = ok;
	f->pending_data = true;
	if (f->answer_inside)
		answer_data(f);
}

static void cb_starttls(void *ctx)
{
	struct fake *f = ctx;
	f->starttls_calls++;
	f->pending_tls = true;
	if (f->answer_inside)
		answer_tls(f);
}

static void cb_close(void *ctx)
{
	struct fake *f = ctx;
	f->closes++;
}

static const struct smtp_callbacks fake_callbacks = {
	.output = cb_output,
	.rcpt_lookup = cb_rcpt_lookup,
	.data_begin = cb_data_begin,
	.data_chunk = cb_data_chunk,
	.data_end = cb_data_end,
	.starttls = cb_starttls,
	.close = cb_close,
};

static struct smtp_settings default_settings(void)
{
	return (struct smtp_settings){
		.hostname = "mx.example",
		.max_message_size = 10000,
		.max_recipients = 5,
		.tls_offered = true,
		.tls_active = false,
	};
}

static void fake_init(struct fake *f, const struct smtp_settings *set)
{
	memset(f, 0, sizeof(*f));
	buf_init(&f->out, FAKE_MAX);
	buf_init(&f->msg, FAKE_MAX);
	f->s = smtp_session_new(set, &fake_callbacks, f, "192.0.2.1", "SID1");
	assert_non_null(f->s);
	smtp_session_start(f->s);
}

static void fake_free(struct fake *f)
{
	smtp_session_free(&f->s);
	assert_null(f->s);
	buf_free(&f->out);
	buf_free(&f->msg);
}

/* pump runs the session over in, answering whatever it waits for, the
 * way the front does: answer, then call smtp_session_input again. */
static void pump(struct fake *f, struct buf *in)
{
	for (int guard = 0; guard < 100000; guard++) {
		smtp_session_input(f->s, in);
		if (f->pending_rcpt)
			answer_rcpt(f);
		else if (f->pending_data)
			answer_data(f);
		else if (f->pending_tls)
			answer_tls(f);
		else
			return;
	}
	fail_msg("session does not settle");
}

/* feed gives the session len bytes at once (and what was left before). */
static void feed_n(struct fake *f, struct buf *in, const char *data, size_t len)
{
	assert_int_equal(buf_append(in, data, len), 0);
	pump(f, in);
}

static void feed(struct fake *f, struct buf *in, const char *text)
{
	feed_n(f, in, text, strlen(text));
}

/* run feeds text as one buffer to a fresh input buffer. */
static void run(struct fake *f, const char *text)
{
	struct buf in;
	buf_init(&in, FAKE_MAX);
	feed(f, &in, text);
	buf_free(&in);
}

/* take_out returns the output so far as a C string and clears it. */
static char *take_out(struct fake *f)
{
	char *s = strndup(f->out.data ? f->out.data : "", f->out.len);
	buf_reset(&f->out);
	return s;
}

/* clear_out forgets the output so far. */
static void clear_out(struct fake *f)
{
	buf_reset(&f->out);
}

static void expect_out(struct fake *f, const char *want)
{
	char *got = take_out(f);
	if (strcmp(got, want) != 0)
		fail_msg("output:\n%s\nwanted:\n%s", got, want);
	free(got);
}

/* body_of returns the message without the Received: header (which ends
 * at the first CRLF not followed by folding white space). */
static struct str body_of(const struct fake *f)
{
	struct str m = buf_str(&f->msg);
	assert_true(str_case_prefix(m, STR("Received: ")));
	for (size_t i = 0; i + 2 < m.len; i++) {
		if (m.ptr[i] == '\r' && m.ptr[i + 1] == '\n' && m.ptr[i + 2] != ' ' &&
		    m.ptr[i + 2] != '\t')
			return str_sub(m, i + 2, m.len);
	}
	if (m.len >= 2 && m.ptr[m.len - 2] == '\r' && m.ptr[m.len - 1] == '\n')
		return STR("");
	fail_msg("no end of Received:");
	return STR_NULL;
}

static void expect_body(const struct fake *f, const char *want)
{
	struct str b = body_of(f);
	if (!str_eq(b, str_c(want)))
		fail_msg("body:\n[%.*s]\nwanted:\n[%s]", (int)b.len, b.ptr, want);
}

#define GREETING "220 mx.example ESMTP Ravelin\r\n"
#define EHLO_REPLY                                                                     \
	"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n"      \
	"250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 STARTTLS\r\n"
#define ENVELOPE "EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\n" \
		 "RCPT TO:<bob@example.org>\r\n"
#define ENVELOPE_REPLY GREETING EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"

static void test_greeting_and_ehlo(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	run(&f, "EHLO client.example\r\nHELO client.example\r\n");
	expect_out(&f, GREETING EHLO_REPLY "250 mx.example\r\n");
	fake_free(&f);

	set.tls_offered = false;
	fake_init(&f, &set);
	run(&f, "ehlo client.example\r\nSTARTTLS\r\n");
	expect_out(&f, GREETING "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
		       "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n"
		       "250 CHUNKING\r\n502 5.5.1 Error: command not implemented\r\n");
	fake_free(&f);

	set.tls_offered = true;
	set.tls_active = true;
	fake_init(&f, &set);
	run(&f, "EHLO client.example\r\nSTARTTLS\r\n");
	expect_out(&f, GREETING "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
		       "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n"
		       "250 CHUNKING\r\n503 5.5.1 Error: TLS already active\r\n");
	fake_free(&f);
}

static void test_full_transaction(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	run(&f, ENVELOPE "DATA\r\nSubject: hi\r\n\r\nHello.\r\n.\r\nQUIT\r\nNOOP\r\n");
	expect_out(&f, ENVELOPE_REPLY "354 End data with <CR><LF>.<CR><LF>\r\n"
		       "250 2.0.0 Ok: queued as Q1\r\n221 2.0.0 Bye\r\n");
	assert_int_equal(f.begins, 1);
	assert_int_equal(f.ends, 1);
	assert_true(f.last_end_ok);
	assert_int_equal(f.closes, 1);
	assert_string_equal(f.last_address, "bob@example.org");
	expect_body(&f, "Subject: hi\r\n\r\nHello.\r\n");

	/* The Received: header, folded, with the one recipient. */
	struct str m = buf_str(&f.msg);
	const char *want = "Received: from client.example ([192.0.2.1])\r\n"
			   "\tby mx.example (Ravelin) with ESMTP id SID1\r\n"
			   "\tfor <bob@example.org>; ";
	assert_true(str_case_prefix(m, str_c(want)));
	fake_free(&f);
}

static void test_received_variants(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	set.tls_active = true;
	fake_init(&f, &set);
	run(&f, "EHLO [192.0.2.1]\r\nMAIL FROM:<> SMTPUTF8\r\nRCPT TO:<a@example.org>\r\n"
		"RCPT TO:<b@example.org>\r\nDATA\r\nx\r\n.\r\n");
	struct str m = buf_str(&f.msg);
	assert_true(str_case_prefix(m, STR("Received: from [192.0.2.1] ([192.0.2.1])\r\n"
					   "\tby mx.example (Ravelin) with UTF8SMTPS id SID1;\r\n\t")));
	expect_body(&f, "x\r\n");
	fake_free(&f);

	set.tls_active = false;
	fake_init(&f, &set);
	smtp_session_free(&f.s);
	f.s = smtp_session_new(&set, &fake_callbacks, &f, "2001:db8::1", "SID2");
	run(&f, "HELO client\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n");
	m = buf_str(&f.msg);
	assert_true(str_case_prefix(m, STR("Received: from client ([IPv6:2001:db8::1])\r\n"
					   "\tby mx.example (Ravelin) with SMTP id SID2\r\n")));
	fake_free(&f);
}

/* A dialogue exercising most paths, used for the equivalence tests. */
static const char dialogue[] =
	"EHLO client.example\r\n"
	"MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME\r\n"
	"RCPT TO:<bob@example.org>\r\n"
	"RCPT TO:<unknown@example.org>\r\n"
	"RCPT TO:<temp@example.org>\r\n"
	"RCPT TO:<carol@example.org>\r\n"
	"DATA\r\n"
	"..stuffed\r\n.a\r\nbare\nlf\rcr\r\n.\n.\r.x\r\n\r\n.\r\n"
	"NOOP\r\n"
	"MAIL FROM:<>\r\n"
	"RCPT TO:<dave@example.org>\r\n"
	"BDAT 7\r\nab\r\n.\r\n"
	"BDAT 3 LAST\r\nxyz"
	"RSET\r\n"
	"FOO\r\n"
	"VRFY bob\r\n"
	"EXPN list\r\n"
	"HELP\r\n"
	"QUIT\r\n";

static const char dialogue_reply[] =
	ENVELOPE_REPLY
	"550 5.1.1 <unknown@example.org>: Recipient address rejected: User unknown\r\n"
	"451 4.3.0 <temp@example.org>: Temporary lookup failure\r\n"
	"250 2.1.5 Ok\r\n"
	"354 End data with <CR><LF>.<CR><LF>\r\n"
	"250 2.0.0 Ok: queued as Q1\r\n"
	"250 2.0.0 Ok\r\n"
	"250 2.1.0 Ok\r\n"
	"250 2.1.5 Ok\r\n"
	"250 2.0.0 7 octets received\r\n"
	"250 2.0.0 Ok: queued as Q1\r\n"
	"250 2.0.0 Ok\r\n"
	"500 5.5.2 Error: command not recognized\r\n"
	"252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
	"502 5.5.1 Error: EXPN not available\r\n"
	"214 2.0.0 Ravelin ESMTP, see RFC 5321\r\n"
	"221 2.0.0 Bye\r\n";

/* strip_received removes every Received: header from a message dump. */
static char *strip_received(const struct buf *msg)
{
	char *out = calloc(1, msg->len + 1);
	size_t o = 0;
	assert_non_null(out);
	for (size_t i = 0; i < msg->len;) {
		if (msg->len - i >= 10 && memcmp(msg->data + i, "Received: ", 10) == 0) {
			/* skip to the CRLF that is not followed by WSP */
			while (i + 2 < msg->len && !(msg->data[i] == '\r' && msg->data[i + 1] == '\n' &&
						     msg->data[i + 2] != '\t'))
				i++;
			i += 2;
			continue;
		}
		out[o++] = msg->data[i++];
	}
	return out;
}

static void check_dialogue(struct fake *f)
{
	expect_out(f, dialogue_reply);
	char *m = strip_received(&f->msg);
	assert_string_equal(m, ".stuffed\r\na\r\nbare\r\nlf\r\ncr\r\n\r\n.\r\n.x\r\n\r\n"
			       "ab\r\n.\r\nxyz");
	free(m);
	assert_int_equal(f->ends, 2);
	assert_int_equal(f->closes, 1);
	assert_int_equal(f->last_rcpt_count, 1);
}

static void test_pipelining_one_buffer(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	/* Answers given after each input call (the front's way). */
	fake_init(&f, &set);
	run(&f, dialogue);
	check_dialogue(&f);
	fake_free(&f);

	/* Answers given from inside the callbacks. */
	fake_init(&f, &set);
	f.answer_inside = true;
	run(&f, dialogue);
	check_dialogue(&f);
	fake_free(&f);
}

static void test_pipelining_waits(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	struct buf in;
	(void)state;

	fake_init(&f, &set);
	buf_init(&in, 4096);
	buf_append_str(&in, STR(ENVELOPE "NOOP\r\n"));
	smtp_session_input(f.s, &in);
	/* Stopped at the look-up: the NOOP is still in the buffer. */
	assert_true(smtp_session_waiting(f.s));
	assert_true(str_eq(buf_str(&in), STR("NOOP\r\n")));
	expect_out(&f, GREETING EHLO_REPLY "250 2.1.0 Ok\r\n");
	/* The result replies but consumes nothing by itself. */
	answer_rcpt(&f);
	assert_false(smtp_session_waiting(f.s));
	expect_out(&f, "250 2.1.5 Ok\r\n");
	assert_int_equal(in.len, 6);
	smtp_session_input(f.s, &in);
	expect_out(&f, "250 2.0.0 Ok\r\n");
	assert_int_equal(in.len, 0);
	/* A late or unexpected answer is ignored. */
	smtp_session_rcpt_result(f.s, SMTP_RCPT_OK, NULL, 0);
	smtp_session_data_result(f.s, true, "X");
	smtp_session_tls_started(f.s);
	expect_out(&f, "");
	buf_free(&in);
	fake_free(&f);
}

static void test_byte_by_byte(void **state)
{
	struct fake whole, bytes;
	struct smtp_settings set = default_settings();
	struct buf in;
	(void)state;

	fake_init(&whole, &set);
	run(&whole, dialogue);

	fake_init(&bytes, &set);
	buf_init(&in, 64);
	for (size_t i = 0; i < sizeof(dialogue) - 1; i++)
		feed_n(&bytes, &in, dialogue + i, 1);
	assert_int_equal(in.len, 0);
	buf_free(&in);

	assert_true(str_eq(buf_str(&whole.out), buf_str(&bytes.out)));
	char *a = strip_received(&whole.msg);
	char *b = strip_received(&bytes.msg);
	assert_string_equal(a, b);
	free(a);
	free(b);
	check_dialogue(&bytes);
	fake_free(&whole);
	fake_free(&bytes);
}

static void test_dot_unstuffing(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	run(&f, ENVELOPE "DATA\r\n..a\r\n.b\r\n...\r\n..\r\nx.\r\n.\r\n");
	expect_body(&f, ".a\r\nb\r\n..\r\n.\r\nx.\r\n");
	fake_free(&f);

	/* ".\r\n" right after the 354 ends an empty message. */
	fake_init(&f, &set);
	run(&f, ENVELOPE "DATA\r\n.\r\nNOOP\r\n");
	expect_out(&f, ENVELOPE_REPLY "354 End data with <CR><LF>.<CR><LF>\r\n"
		       "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n");
	expect_body(&f, "");
	fake_free(&f);
}

/* Each of these between "a" and the real end must not end the data, and
 * the smuggled command must stay message content. */
static void test_smuggling(void **state)
{
	static const struct {
		const char *attempt;
		const char *content;
	} cases[] = {
		{ "\n.\n", "\r\n.\r\n" },
		{ "\r.\r", "\r\n.\r\n" },
		{ "\n.\r\n", "\r\n.\r\n" },
		{ "\r\n.\n", "\r\n\r\n" },
		{ "\r.\r\n", "\r\n.\r\n" },
		{ "\r\n.\r", "\r\n\r\n" },
		{ "\n.\r", "\r\n.\r\n" },
		{ "\r\n.\r\r\n", "\r\n\r\n\r\n" },
		{ "\r\r\n.\n", "\r\n\r\n\r\n" },
		{ "\n\r\n.\n", "\r\n\r\n\r\n" },
	};
	struct smtp_settings set = default_settings();
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f;
		char input[512], want[256];
		snprintf(input, sizeof(input),
			 ENVELOPE "DATA\r\na%sMAIL FROM:<evil@example.com>\r\n"
				  "RCPT TO:<victim@example.org>\r\nDATA\r\nb\r\n.\r\nNOOP\r\n",
			 cases[i].attempt);
		snprintf(want, sizeof(want),
			 "a%sMAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.org>\r\n"
			 "DATA\r\nb\r\n",
			 cases[i].content);
		fake_init(&f, &set);
		run(&f, input);
		expect_out(&f, ENVELOPE_REPLY "354 End data with <CR><LF>.<CR><LF>\r\n"
			       "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n");
		assert_int_equal(f.ends, 1);
		assert_int_equal(f.lookups, 1);
		expect_body(&f, want);
		fake_free(&f);
	}
}

static void test_starttls_injection(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	struct buf in;
	(void)state;

	fake_init(&f, &set);
	buf_init(&in, 4096);
	buf_append_str(&in, STR("EHLO client.example\r\nSTARTTLS\r\nMAIL FROM:<x@y.z>\r\n"));
	smtp_session_input(f.s, &in);
	/* The MAIL sent in clear is gone, before the handshake. */
	assert_int_equal(in.len, 0);
	assert_int_equal(f.starttls_calls, 1);
	assert_true(smtp_session_waiting(f.s));
	expect_out(&f, GREETING EHLO_REPLY "220 2.0.0 Ready to start TLS\r\n");
	/* Clear text arriving before the handshake finished is dropped too. */
	buf_append_str(&in, STR("RCPT TO:<a@b.c>\r\n"));
	smtp_session_input(f.s, &in);
	assert_int_equal(in.len, 0);
	answer_tls(&f);
	expect_out(&f, "");
	/* HELO/EHLO is forgotten; STARTTLS is no longer offered. */
	feed(&f, &in, "MAIL FROM:<x@y.z>\r\nEHLO client.example\r\nSTARTTLS\r\n"
		      "MAIL FROM:<x@y.z>\r\nRCPT TO:<a@b.c>\r\nDATA\r\nx\r\n.\r\n");
	expect_out(&f, "503 5.5.1 Error: send HELO/EHLO first\r\n"
		       "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
		       "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n"
		       "250 CHUNKING\r\n503 5.5.1 Error: TLS already active\r\n"
		       "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		       "354 End data with <CR><LF>.<CR><LF>\r\n"
		       "250 2.0.0 Ok: queued as Q1\r\n");
	assert_true(str_case_prefix(buf_str(&f.msg),
				    STR("Received: from client.example ([192.0.2.1])\r\n"
					"\tby mx.example (Ravelin) with ESMTPS id SID1\r\n")));
	assert_int_equal(f.starttls_calls, 1);
	buf_free(&in);
	fake_free(&f);

	/* Also when the handshake finishes inside the callback. */
	fake_init(&f, &set);
	f.answer_inside = true;
	run(&f, "EHLO c.example\r\nMAIL FROM:<a@b.c>\r\nSTARTTLS\r\nRCPT TO:<x@y.z>\r\n");
	expect_out(&f, GREETING EHLO_REPLY "250 2.1.0 Ok\r\n220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(f.lookups, 0);
	run(&f, "RCPT TO:<x@y.z>\r\n");
	expect_out(&f, "503 5.5.1 Error: need MAIL command\r\n");
	fake_free(&f);
}

/* line_of builds a command line "NOOP xxx...\r\n" of total octets. */
static char *line_of(size_t total)
{
	char *l = malloc(total + 1);
	assert_non_null(l);
	memset(l, 'x', total);
	memcpy(l, "NOOP ", 5);
	l[total - 2] = '\r';
	l[total - 1] = '\n';
	l[total] = '\0';
	return l;
}

static void test_line_too_long(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	/* SMTP_MAX_LINE octets including CRLF is fine. */
	fake_init(&f, &set);
	char *l = line_of(SMTP_MAX_LINE);
	run(&f, l);
	free(l);
	expect_out(&f, GREETING "250 2.0.0 Ok\r\n");

	/* One more is refused, and the rest of the line up to LF dropped. */
	l = line_of(SMTP_MAX_LINE + 1);
	run(&f, l);
	free(l);
	expect_out(&f, "500 5.5.2 Line too long\r\n");
	run(&f, "NOOP\r\n");
	expect_out(&f, "250 2.0.0 Ok\r\n");

	/* A 1 MB line arriving in pieces is not buffered. */
	struct buf in;
	char piece[1000];
	memset(piece, 'y', sizeof(piece));
	buf_init(&in, 2 * SMTP_MAX_LINE);
	for (int i = 0; i < 1000; i++) {
		feed_n(&f, &in, piece, sizeof(piece));
		assert_true(in.len < SMTP_MAX_LINE);
	}
	feed(&f, &in, "tail\r\nNOOP\r\n");
	assert_int_equal(in.len, 0);
	expect_out(&f, "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
	/* A bare LF ends a command line (lenient). */
	feed(&f, &in, "NOOP\n");
	expect_out(&f, "250 2.0.0 Ok\r\n");
	buf_free(&in);
	fake_free(&f);
}

static void test_size_limits(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	set.max_message_size = 100;
	fake_init(&f, &set);
	run(&f, "EHLO c.example\r\nMAIL FROM:<a@b.c> SIZE=101\r\nMAIL FROM:<a@b.c> SIZE=100\r\n");
	expect_out(&f, GREETING "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 100\r\n"
		       "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n"
		       "250-CHUNKING\r\n250 STARTTLS\r\n"
		       "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
		       "250 2.1.0 Ok\r\n");

	/* Exactly the maximum (content after unstuffing) is accepted. */
	char body[300];
	memset(body, 'a', 98);
	memcpy(body + 98, "\r\n.\r\n", 6);
	run(&f, "RCPT TO:<x@y.z>\r\nDATA\r\n");
	run(&f, body);
	expect_out(&f, "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		       "250 2.0.0 Ok: queued as Q1\r\n");
	assert_true(f.last_end_ok);
	assert_int_equal(body_of(&f).len, 100);

	/* One more is refused after reading to the end. */
	buf_reset(&f.msg);
	memset(body, 'a', 99);
	memcpy(body + 99, "\r\n.\r\n", 6);
	run(&f, "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n");
	run(&f, body);
	run(&f, "NOOP\r\n");
	expect_out(&f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		       "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
		       "250 2.0.0 Ok\r\n");
	assert_false(f.last_end_ok);
	assert_int_equal(f.ends, 2);

	/* The same by BDAT: one chunk over the limit ends the message. */
	run(&f, "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 60\r\n");
	memset(body, 'b', 60);
	struct buf in;
	buf_init(&in, 1000);
	feed_n(&f, &in, body, 60);
	feed(&f, &in, "BDAT 41\r\n");
	feed_n(&f, &in, body, 41);
	feed(&f, &in, "BDAT 1 LAST\r\nxNOOP\r\n");
	expect_out(&f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 60 octets received\r\n"
		       "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
		       "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
	assert_false(f.last_end_ok);
	assert_int_equal(f.ends, 3);
	buf_free(&in);
	fake_free(&f);
}

static void test_ten_megabyte_line(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	const size_t total = 10u * 1024 * 1024;
	const size_t piece = 100000;
	(void)state;

	set.max_message_size = 2 * total;
	fake_init(&f, &set);
	run(&f, ENVELOPE "DATA\r\n");
	clear_out(&f);
	struct buf in;
	char *p = malloc(piece);
	assert_non_null(p);
	memset(p, 'z', piece);
	buf_init(&in, piece);
	for (size_t sent = 0; sent < total; sent += piece) {
		size_t n = total - sent < piece ? total - sent : piece;
		feed_n(&f, &in, p, n);
		assert_int_equal(in.len, 0);
	}
	free(p);
	feed(&f, &in, "\r\n.\r\n");
	expect_out(&f, "250 2.0.0 Ok: queued as Q1\r\n");
	assert_int_equal(body_of(&f).len, total + 2);
	/* Chunks are large and bounded. */
	assert_true(f.max_chunk <= 64 * 1024);
	assert_true(f.chunks <= total / (64 * 1024) + 2);
	buf_free(&in);
	fake_free(&f);
}

static void test_recipient_limit(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	set.max_recipients = 3;
	fake_init(&f, &set);
	run(&f, "EHLO c.example\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<r1@x.y>\r\nRCPT TO:<r2@x.y>\r\n"
		"RCPT TO:<unknown@x.y>\r\nRCPT TO:<r3@x.y>\r\nRCPT TO:<r4@x.y>\r\nDATA\r\n.\r\n");
	expect_out(&f, GREETING "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
		       "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n"
		       "250-CHUNKING\r\n250 STARTTLS\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		       "250 2.1.5 Ok\r\n"
		       "550 5.1.1 <unknown@x.y>: Recipient address rejected: User unknown\r\n"
		       "250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n"
		       "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as Q1\r\n");
	assert_int_equal(f.lookups, 4);
	assert_int_equal(f.last_rcpt_count, 3);
	fake_free(&f);
}

/* Not our domain and aliases that loop are refused for good, each with
 * its own code; the transaction goes on with the others. */
static void test_relay_and_loop_refused(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	run(&f, "HELO c.example\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<relay@else.where>\r\n"
		"RCPT TO:<loop@x.y>\r\nRCPT TO:<r1@x.y>\r\n");
	expect_out(&f, GREETING "250 mx.example\r\n250 2.1.0 Ok\r\n"
		       "554 5.7.1 <relay@else.where>: Relay access denied\r\n"
		       "550 5.4.6 <loop@x.y>: Recipient address rejected: aliases loop\r\n"
		       "250 2.1.5 Ok\r\n");
	fake_free(&f);
}

/* A full mailbox: 452 4.2.2 at RCPT (temporary, not a client error), the
 * declared SIZE kept for the caller to check; 552 5.2.2 after DATA, and
 * the session goes on. */
static void test_over_quota(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	assert_int_equal(smtp_session_declared_size(f.s), 0);
	run(&f, "EHLO c.example\r\nMAIL FROM:<a@b.c> SIZE=1234\r\nRCPT TO:<full@x.y>\r\n"
		"RCPT TO:<r1@x.y>\r\n");
	assert_int_equal(smtp_session_declared_size(f.s), 1234);
	char *got = take_out(&f);
	assert_non_null(strstr(got, "250 2.1.0 Ok\r\n452 4.2.2 <full@x.y>: Mailbox full\r\n"
				    "250 2.1.5 Ok\r\n"));
	free(got);
	f.data_over_quota = true;
	run(&f, "DATA\r\nx\r\n.\r\nMAIL FROM:<a@b.c>\r\n");
	expect_out(&f, "354 End data with <CR><LF>.<CR><LF>\r\n552 5.2.2 Mailbox full\r\n"
		       "250 2.1.0 Ok\r\n");
	assert_int_equal(smtp_session_declared_size(f.s), 0);
	fake_free(&f);
}

static void test_sequence_errors(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	run(&f, "MAIL FROM:<a@b.c>\r\nRCPT TO:<a@b.c>\r\nDATA\r\nEHLO c.example\r\n");
	expect_out(&f, GREETING "503 5.5.1 Error: send HELO/EHLO first\r\n"
		       "503 5.5.1 Error: need MAIL command\r\n"
		       "503 5.5.1 Error: need MAIL command\r\n" EHLO_REPLY);
	run(&f, "MAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nDATA\r\nRCPT TO:<unknown@b.c>\r\n"
		"DATA\r\nRSET\r\nRCPT TO:<a@b.c>\r\n");
	expect_out(&f, "250 2.1.0 Ok\r\n503 5.5.1 Error: nested MAIL command\r\n"
		       "554 5.5.1 Error: no valid recipients\r\n"
		       "550 5.1.1 <unknown@b.c>: Recipient address rejected: User unknown\r\n"
		       "554 5.5.1 Error: no valid recipients\r\n250 2.0.0 Ok\r\n"
		       "503 5.5.1 Error: need MAIL command\r\n");
	/* Syntax errors. */
	run(&f, "MAIL FROM:<a@b.c\r\nMAIL FROM:<a@b.c> FOO=1\r\nRCPT\r\nDATA now\r\n"
		"MAIL FROM:<\xc3\xa4@b.c>\r\n");
	expect_out(&f, "501 5.1.7 Bad sender address syntax\r\n555 5.5.4 Unsupported option\r\n"
		       "501 5.5.4 Syntax: RCPT TO:<address>\r\n501 5.5.4 Syntax: DATA\r\n"
		       "553 5.6.7 Must declare SMTPUTF8 to send unicode address\r\n");
	/* EHLO resets a transaction. */
	run(&f, "MAIL FROM:<a@b.c>\r\nEHLO c.example\r\nRCPT TO:<a@b.c>\r\n");
	expect_out(&f, "250 2.1.0 Ok\r\n" EHLO_REPLY "503 5.5.1 Error: need MAIL command\r\n");
	fake_free(&f);
}

static void test_smtputf8(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	run(&f, "EHLO c.example\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<j\xc3\xbcrgen@b\xc3\xa4r.de>\r\n"
		"RSET\r\nMAIL FROM:<j\xc3\xbcrgen@b\xc3\xa4r.de> SMTPUTF8\r\n"
		"RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.cn>\r\nDATA\r\n"
		"caf\xc3\xa9\r\n.\r\n");
	expect_out(&f, GREETING EHLO_REPLY "250 2.1.0 Ok\r\n"
		       "553 5.6.7 Must declare SMTPUTF8 to send unicode address\r\n"
		       "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		       "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as Q1\r\n");
	assert_true(strstr(f.msg.data, "with UTF8SMTP id") != NULL);
	expect_body(&f, "caf\xc3\xa9\r\n");
	fake_free(&f);
}

static void test_data_failures(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	/* The spool is not available: DATA is refused, the envelope kept. */
	fake_init(&f, &set);
	f.data_begin_fails = true;
	run(&f, ENVELOPE "DATA\r\n");
	expect_out(&f, ENVELOPE_REPLY "451 4.3.0 Error: queue not available, try again later\r\n");
	f.data_begin_fails = false;
	run(&f, "DATA\r\nx\r\n.\r\n");
	expect_out(&f, "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as Q1\r\n");

	/* The message is not made durable. */
	f.data_result_fails = true;
	run(&f, "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n");
	expect_out(&f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		       "451 4.3.0 Error: message not accepted, try again later\r\n"
		       "250 2.0.0 Ok\r\n");
	f.data_result_fails = false;

	/* data_chunk fails: read to the end, data_end(false), 451. */
	f.chunks = 0;
	f.data_chunk_fail_after = 1;
	run(&f, "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n");
	expect_out(&f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		       "451 4.3.0 Error: message not accepted, try again later\r\n"
		       "250 2.0.0 Ok\r\n");
	assert_false(f.last_end_ok);
	fake_free(&f);
}

static void test_bdat(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	/* Chunks are passed on raw: no unstuffing, no end at CRLF.CRLF. */
	fake_init(&f, &set);
	run(&f, ENVELOPE "BDAT 8\r\n..\r\n.\r\n\nBDAT 0\r\nBDAT 2 LAST\r\n\r\rQUIT\r\n");
	expect_out(&f, ENVELOPE_REPLY "250 2.0.0 8 octets received\r\n"
		       "250 2.0.0 0 octets received\r\n250 2.0.0 Ok: queued as Q1\r\n"
		       "221 2.0.0 Bye\r\n");
	expect_body(&f, "..\r\n.\r\n\n\r\r");
	assert_true(f.last_end_ok);
	fake_free(&f);

	/* BDAT 0 LAST alone is an empty message. */
	fake_init(&f, &set);
	run(&f, ENVELOPE "BDAT 0 LAST\r\n");
	expect_out(&f, ENVELOPE_REPLY "250 2.0.0 Ok: queued as Q1\r\n");
	expect_body(&f, "");
	fake_free(&f);

	/* Without MAIL or without recipients the octets are still skipped. */
	fake_init(&f, &set);
	run(&f, "EHLO c.example\r\nBDAT 6\r\nNOOP\r\nBDAT 6 LAST\r\nRSET\r\nNOOP\r\n"
		"MAIL FROM:<a@b.c>\r\nRCPT TO:<unknown@b.c>\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
	expect_out(&f, GREETING EHLO_REPLY "503 5.5.1 Error: need MAIL command\r\n"
		       "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n"
		       "550 5.1.1 <unknown@b.c>: Recipient address rejected: User unknown\r\n"
		       "503 5.5.1 Error: no valid recipients\r\n250 2.0.0 Ok\r\n");
	assert_int_equal(f.begins, 0);
	fake_free(&f);

	/* DATA or RCPT after BDAT; RSET abandons the started message. */
	fake_init(&f, &set);
	run(&f, ENVELOPE "BDAT 3\r\nabcDATA\r\nRCPT TO:<c@d.e>\r\nMAIL FROM:<a@b.c>\r\n"
			 "RSET\r\nBDAT 1 LAST\r\nx");
	expect_out(&f, ENVELOPE_REPLY "250 2.0.0 3 octets received\r\n"
		       "503 5.5.1 Error: DATA after BDAT\r\n503 5.5.1 Error: RCPT after BDAT\r\n"
		       "503 5.5.1 Error: nested MAIL command\r\n250 2.0.0 Ok\r\n"
		       "503 5.5.1 Error: need MAIL command\r\n");
	assert_int_equal(f.ends, 1);
	assert_false(f.last_end_ok);
	fake_free(&f);

	/* The spool refuses the first chunk. */
	fake_init(&f, &set);
	f.data_begin_fails = true;
	run(&f, ENVELOPE "BDAT 3\r\nabcBDAT 1 LAST\r\nxNOOP\r\n");
	expect_out(&f, ENVELOPE_REPLY "451 4.3.0 Error: queue not available, try again later\r\n"
		       "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
	fake_free(&f);

	/* A bad BDAT line cannot be skipped: 501, and the session goes on. */
	fake_init(&f, &set);
	run(&f, ENVELOPE "BDAT x\r\nNOOP\r\n");
	expect_out(&f, ENVELOPE_REPLY "501 5.5.4 Syntax: BDAT count [LAST]\r\n250 2.0.0 Ok\r\n");
	fake_free(&f);

	/* QUIT in the middle of a BDAT message. */
	fake_init(&f, &set);
	f.answer_inside = true;
	run(&f, ENVELOPE "BDAT 3\r\nabcQUIT\r\n");
	expect_out(&f, ENVELOPE_REPLY "250 2.0.0 3 octets received\r\n221 2.0.0 Bye\r\n");
	assert_int_equal(f.ends, 1);
	assert_false(f.last_end_ok);
	assert_int_equal(f.closes, 1);
	fake_free(&f);
}

static void test_error_limit(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	clear_out(&f);
	for (int i = 0; i < SMTP_MAX_ERRORS - 1; i++)
		run(&f, "FOO\r\n");
	assert_int_equal(f.closes, 0);
	run(&f, "NOOP\r\n");
	clear_out(&f);
	struct buf in;
	buf_init(&in, 100);
	feed(&f, &in, "BAR\r\nNOOP\r\n");
	expect_out(&f, "500 5.5.2 Error: command not recognized\r\n"
		       "421 4.7.0 mx.example Too many errors\r\n");
	assert_int_equal(f.closes, 1);
	/* Nothing more is consumed or answered. */
	assert_int_equal(in.len, 6);
	smtp_session_input(f.s, &in);
	smtp_session_timeout(f.s);
	expect_out(&f, "");
	assert_int_equal(f.closes, 1);
	buf_free(&in);
	fake_free(&f);
}

static void test_misc_commands(void **state)
{
	struct fake f;
	struct smtp_settings set = default_settings();
	(void)state;

	fake_init(&f, &set);
	run(&f, "noop\r\nhelp\r\nvrfy x\r\nexpn y\r\nrset\r\nhelo a.b\r\nmail from:<>\r\n"
		"rcpt to:<Postmaster>\r\ndata\r\n.\r\n");
	expect_out(&f, GREETING "250 2.0.0 Ok\r\n214 2.0.0 Ravelin ESMTP, see RFC 5321\r\n"
		       "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
		       "502 5.5.1 Error: EXPN not available\r\n250 2.0.0 Ok\r\n250 mx.example\r\n"
		       "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		       "250 2.0.0 Ok: queued as Q1\r\n");
	assert_string_equal(f.last_address, "Postmaster");
	smtp_session_timeout(f.s);
	expect_out(&f, "421 4.4.2 mx.example Error: timeout exceeded\r\n");
	assert_int_equal(f.closes, 1);
	fake_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_and_ehlo),
		cmocka_unit_test(test_full_transaction),
		cmocka_unit_test(test_received_variants),
		cmocka_unit_test(test_pipelining_one_buffer),
		cmocka_unit_test(test_pipelining_waits),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_dot_unstuffing),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_ten_megabyte_line),
		cmocka_unit_test(test_recipient_limit),
		cmocka_unit_test(test_sequence_errors),
		cmocka_unit_test(test_smtputf8),
		cmocka_unit_test(test_data_failures),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_error_limit),
		cmocka_unit_test(test_misc_commands),
		cmocka_unit_test(test_relay_and_loop_refused),
		cmocka_unit_test(test_over_quota),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
