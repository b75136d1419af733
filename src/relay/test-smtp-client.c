/* Unit tests for smtp-client: the dialogue against scripted servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "relay/smtp-client.h"

/* One scripted connection: what the client said, what it reported. */
struct script {
	struct smtp_client *c;
	struct buf sent;     /* the client's output since the last expect_sent */
	struct buf events;   /* callbacks, one per line */
	struct buf in;
	bool send_on_ready;  /* send msg at the first ready */
	bool quit_on_ready;  /* QUIT at the next ready after a message */
	struct smtp_client_message msg;
	const char *body;    /* pushed whole at body_wanted */
};

static void cb_output(void *ctx, const char *data, size_t len)
{
	struct script *s = ctx;
	assert_int_equal(buf_append(&s->sent, data, len), 0);
}

static void cb_starttls(void *ctx)
{
	struct script *s = ctx;
	assert_int_equal(buf_printf(&s->events, "starttls\n"), 0);
}

static void cb_ready(void *ctx)
{
	struct script *s = ctx;
	assert_int_equal(buf_printf(&s->events, "ready\n"), 0);
	if (s->send_on_ready) {
		s->send_on_ready = false;
		assert_int_equal(smtp_client_send(s->c, &s->msg), 0);
	} else if (s->quit_on_ready) {
		smtp_client_quit(s->c);
	}
}

static void cb_body_wanted(void *ctx)
{
	struct script *s = ctx;
	assert_int_equal(buf_printf(&s->events, "body\n"), 0);
	if (s->body != NULL) {
		smtp_client_body(s->c, s->body, strlen(s->body));
		smtp_client_body_end(s->c);
	}
}

static void cb_rcpt_result(void *ctx, size_t index, unsigned code, struct str answer)
{
	struct script *s = ctx;
	assert_int_equal(buf_printf(&s->events, "rcpt %zu %u %.*s\n", index, code,
				    (int)answer.len, answer.ptr), 0);
}

static void cb_message_done(void *ctx)
{
	struct script *s = ctx;
	assert_int_equal(buf_printf(&s->events, "done\n"), 0);
}

static void cb_closed(void *ctx, unsigned code, struct str why)
{
	struct script *s = ctx;
	assert_int_equal(buf_printf(&s->events, "closed %u %.*s\n", code, (int)why.len, why.ptr),
			 0);
}

static const struct smtp_client_callbacks callbacks = {
	.output = cb_output,
	.starttls = cb_starttls,
	.ready = cb_ready,
	.body_wanted = cb_body_wanted,
	.rcpt_result = cb_rcpt_result,
	.message_done = cb_message_done,
	.closed = cb_closed,
};

static const struct str two_rcpts[] = { STR("bob@b.test"), STR("carol@b.test") };

static void script_init(struct script *s, const struct smtp_client_settings *set)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->sent, 1024 * 1024);
	buf_init(&s->events, 64 * 1024);
	buf_init(&s->in, 1024 * 1024);
	s->msg = (struct smtp_client_message){
		.sender = STR("alice@a.test"), .rcpts = two_rcpts, .rcpt_count = 2, .size = 10,
	};
	s->c = smtp_client_new(set, &callbacks, s);
	assert_non_null(s->c);
}

static void script_free(struct script *s)
{
	smtp_client_free(&s->c);
	buf_free(&s->sent);
	buf_free(&s->events);
	buf_free(&s->in);
}

/* server feeds what the server says. */
static void server(struct script *s, const char *text)
{
	assert_int_equal(buf_append_str(&s->in, str_c(text)), 0);
	smtp_client_input(s->c, &s->in);
}

/* expect_sent checks what the client said since the last call. */
static void expect_sent(struct script *s, const char *want)
{
	if (strcmp(s->sent.data ? s->sent.data : "", want) != 0)
		fail_msg("client sent\n'%s'\nwant\n'%s'", s->sent.data, want);
	buf_reset(&s->sent);
}

/* expect_events checks the callbacks made since the last call. */
static void expect_events(struct script *s, const char *want)
{
	if (strcmp(s->events.data ? s->events.data : "", want) != 0)
		fail_msg("events\n'%s'\nwant\n'%s'", s->events.data, want);
	buf_reset(&s->events);
}

static const struct smtp_client_settings plain = { .helo_name = "mx.a.test" };

#define EHLO_PIPE "250-mx.b.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"

/* A whole message with PIPELINING: MAIL and RCPTs in one output. */
static void test_pipelined(void **state)
{
	struct script s;
	(void)state;
	script_init(&s, &plain);
	s.send_on_ready = true;
	s.quit_on_ready = true;
	s.body = "Subject: x\r\n\r\n.hidden\r\nend\r\n";
	server(&s, "220 mx.b.test ESMTP\r\n");
	expect_sent(&s, "EHLO mx.a.test\r\n");
	server(&s, EHLO_PIPE);
	expect_sent(&s, "MAIL FROM:<alice@a.test> SIZE=10\r\nRCPT TO:<bob@b.test>\r\n"
			"RCPT TO:<carol@b.test>\r\n");
	expect_events(&s, "ready\n");
	assert_true(smtp_client_offers_pipelining(s.c));
	server(&s, "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n");
	expect_sent(&s, "DATA\r\n");
	expect_events(&s, "rcpt 1 550 550 5.1.1 no such user\n");
	server(&s, "354 go\r\n");
	expect_sent(&s, "Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\n");
	server(&s, "250 2.0.0 queued as X\r\n");
	expect_events(&s, "body\nrcpt 0 250 250 2.0.0 queued as X\ndone\nready\n");
	expect_sent(&s, "QUIT\r\n");
	server(&s, "221 bye\r\n");
	expect_events(&s, "closed 221 221 bye\n");
	script_free(&s);
}

/* Without PIPELINING: one command, one reply. HELO when EHLO is 5xx. */
static void test_helo_lockstep(void **state)
{
	struct script s;
	(void)state;
	script_init(&s, &plain);
	s.send_on_ready = true;
	s.body = "no end of line";
	server(&s, "220 old\r\n");
	expect_sent(&s, "EHLO mx.a.test\r\n");
	server(&s, "502 what\r\n");
	expect_sent(&s, "HELO mx.a.test\r\n");
	server(&s, "250 hi\r\n");
	expect_sent(&s, "MAIL FROM:<alice@a.test>\r\n");
	server(&s, "250 ok\r\n");
	expect_sent(&s, "RCPT TO:<bob@b.test>\r\n");
	server(&s, "451 4.7.1 greylisted\r\n");
	expect_sent(&s, "RCPT TO:<carol@b.test>\r\n");
	server(&s, "250 ok\r\n");
	expect_sent(&s, "DATA\r\n");
	server(&s, "354 go\r\n");
	expect_sent(&s, "no end of line\r\n.\r\n");
	server(&s, "250 ok\r\n");
	expect_events(&s, "ready\nrcpt 0 451 451 4.7.1 greylisted\nbody\nrcpt 1 250 250 ok\n"
			  "done\nready\n");
	/* The next message on the same connection. */
	s.msg.rcpt_count = 1;
	s.msg.sender = STR("");
	assert_int_equal(smtp_client_send(s.c, &s.msg), 0);
	expect_sent(&s, "MAIL FROM:<>\r\n");
	server(&s, "550 5.7.1 go away\r\n");
	expect_sent(&s, "RSET\r\n");
	expect_events(&s, "rcpt 0 550 550 5.7.1 go away\n");
	server(&s, "250 ok\r\n");
	expect_events(&s, "done\nready\n");
	script_free(&s);
}

/* MAIL refused under PIPELINING: the RCPT replies are read past and every
 * recipient gets MAIL's answer; no DATA, RSET. */
static void test_mail_refused_pipelined(void **state)
{
	struct script s;
	(void)state;
	script_init(&s, &plain);
	s.send_on_ready = true;
	server(&s, "220 x\r\n" EHLO_PIPE);
	buf_reset(&s.sent);
	server(&s, "452 4.3.1 full\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n");
	expect_sent(&s, "RSET\r\n");
	expect_events(&s, "ready\nrcpt 0 452 452 4.3.1 full\nrcpt 1 452 452 4.3.1 full\n");
	server(&s, "250 ok\r\n");
	expect_events(&s, "done\nready\n");
	script_free(&s);
}

/* SIZE and SMTPUTF8 are refused locally, without a word on the wire. */
static void test_local_refusals(void **state)
{
	struct script s;
	(void)state;
	script_init(&s, &plain);
	server(&s, "220 x\r\n" EHLO_PIPE);
	buf_reset(&s.sent);
	expect_events(&s, "ready\n");
	s.msg.size = 1001;
	assert_int_equal(smtp_client_send(s.c, &s.msg), 0);
	expect_sent(&s, "");
	expect_events(&s, "rcpt 0 552 552 5.3.4 message size exceeds the server's limit (SIZE 1000)\n"
			  "rcpt 1 552 552 5.3.4 message size exceeds the server's limit (SIZE 1000)\n"
			  "done\nready\n");
	s.msg.size = 1000;
	s.msg.smtputf8 = true;
	assert_int_equal(smtp_client_send(s.c, &s.msg), 0);
	expect_sent(&s, "");
	expect_events(&s, "rcpt 0 553 553 5.6.7 the message needs SMTPUTF8, which the server lacks\n"
			  "rcpt 1 553 553 5.6.7 the message needs SMTPUTF8, which the server lacks\n"
			  "done\nready\n");
	/* 8BITMIME offered: BODY= given. Bad addresses never reach the wire. */
	s.msg.smtputf8 = false;
	s.msg.body_8bit = true;
	struct str bad[] = { STR("a>b@x") };
	struct smtp_client_message m = s.msg;
	m.rcpts = bad;
	m.rcpt_count = 1;
	assert_int_equal(smtp_client_send(s.c, &m), -1);
	m.rcpt_count = 0;
	assert_int_equal(smtp_client_send(s.c, &m), -1);
	m.rcpt_count = SMTP_CLIENT_MAX_RCPTS + 1;
	assert_int_equal(smtp_client_send(s.c, &m), -1);
	expect_sent(&s, "");
	assert_int_equal(smtp_client_send(s.c, &s.msg), 0);
	expect_sent(&s, "MAIL FROM:<alice@a.test> SIZE=1000 BODY=8BITMIME\r\nRCPT TO:<bob@b.test>\r\n"
			"RCPT TO:<carol@b.test>\r\n");
	/* Not ready while a message is under way. */
	assert_int_equal(smtp_client_send(s.c, &s.msg), -1);
	script_free(&s);
}

/* STARTTLS when offered: bytes after its 220 are thrown away, EHLO again,
 * no second STARTTLS; then AUTH PLAIN under TLS. */
static void test_starttls_auth(void **state)
{
	struct script s;
	struct smtp_client_settings set = {
		.helo_name = "mx.a.test", .tls_possible = true, .auth_plain = "AHUAcA==",
	};
	(void)state;
	script_init(&s, &set);
	server(&s, "220 x\r\n250-x\r\n250-STARTTLS\r\n250 AUTH LOGIN PLAIN\r\n");
	expect_sent(&s, "EHLO mx.a.test\r\nSTARTTLS\r\n");
	server(&s, "220 go ahead\r\n250 injected\r\n");
	expect_events(&s, "starttls\n");
	server(&s, "250 also ignored before the handshake\r\n");
	assert_int_equal(s.in.len, 0);
	expect_events(&s, "");
	smtp_client_tls_started(s.c);
	assert_true(smtp_client_tls_active(s.c));
	expect_sent(&s, "EHLO mx.a.test\r\n");
	server(&s, "250-x\r\n250-STARTTLS\r\n250 AUTH=PLAIN\r\n");
	expect_sent(&s, "AUTH PLAIN AHUAcA==\r\n");
	server(&s, "235 2.7.0 ok\r\n");
	expect_events(&s, "ready\n");
	script_free(&s);
}

/* TLS required and not offered: a 4xx, nothing sent but the QUIT-less end;
 * credentials are never sent in clear. */
static void test_tls_required(void **state)
{
	struct script s;
	struct smtp_client_settings set = {
		.helo_name = "mx.a.test", .tls_possible = true, .tls_required = true,
	};
	(void)state;
	script_init(&s, &set);
	server(&s, "220 x\r\n250-x\r\n250 PIPELINING\r\n");
	expect_sent(&s, "EHLO mx.a.test\r\n");
	expect_events(&s, "closed 451 451 4.7.4 TLS is required, but the server does not offer "
			  "STARTTLS\n");
	script_free(&s);

	struct smtp_client_settings auth = { .helo_name = "mx.a.test", .auth_plain = "AHUAcA==" };
	script_init(&s, &auth);
	server(&s, "220 x\r\n250-x\r\n250 AUTH PLAIN\r\n");
	expect_sent(&s, "EHLO mx.a.test\r\n");
	expect_events(&s, "closed 454 454 4.7.0 credentials are sent only under TLS\n");
	script_free(&s);
}

/* Garbage, an endless reply and a timeout mid-message: every open
 * recipient gets a made-up 4xx, then closed. */
static void test_failures(void **state)
{
	struct script s;
	(void)state;
	script_init(&s, &plain);
	s.send_on_ready = true;
	server(&s, "220 x\r\n" EHLO_PIPE);
	server(&s, "250 ok\r\n250 ok\r\n");
	buf_reset(&s.events);
	server(&s, "hello there\r\n");
	expect_events(&s, "rcpt 0 451 451 4.5.0 garbage from the server: reply code is not three "
			  "digits from 200 to 599\nrcpt 1 451 451 4.5.0 garbage from the server: reply "
			  "code is not three digits from 200 to 599\ndone\n"
			  "closed 451 451 4.5.0 garbage from the server: reply code is not three "
			  "digits from 200 to 599\n");
	/* Nothing more after closed. */
	server(&s, "250 ok\r\n");
	smtp_client_fail(s.c, 451, "4.4.2 x");
	expect_events(&s, "");
	script_free(&s);

	script_init(&s, &plain);
	server(&s, "220 x\r\n");
	for (int i = 0; i < RELAY_MAX_REPLY_LINES + 1; i++)
		server(&s, "250-endless\r\n");
	expect_events(&s, "closed 451 451 4.5.0 garbage from the server: too many lines in one "
			  "reply\n");
	script_free(&s);

	script_init(&s, &plain);
	s.send_on_ready = true;
	s.body = "x";
	server(&s, "220 x\r\n" EHLO_PIPE "250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n");
	buf_reset(&s.events);
	smtp_client_fail(s.c, 451, "4.4.1 no answer within 300 s");
	expect_events(&s, "rcpt 0 451 451 4.4.1 no answer within 300 s\ndone\n"
			  "closed 451 451 4.4.1 no answer within 300 s\n");
	script_free(&s);

	/* A 554 greeting: QUIT and closed with the server's words. */
	script_init(&s, &plain);
	server(&s, "554 5.7.1 not you\r\n");
	expect_sent(&s, "QUIT\r\n");
	expect_events(&s, "closed 554 554 5.7.1 not you\n");
	script_free(&s);

	/* A reply in the middle of the body, and a reply nobody asked for. */
	script_init(&s, &plain);
	server(&s, "220 x\r\n" EHLO_PIPE "250 unasked\r\n");
	expect_events(&s, "ready\nclosed 451 451 4.5.0 the server sent a reply nobody asked for\n");
	script_free(&s);
}

/* Dot stuffing and line ends across pieces: bare CR and bare LF become
 * CRLF, a CR at a piece's end waits for the next piece. */
static void test_body_pieces(void **state)
{
	struct script s;
	(void)state;
	script_init(&s, &plain);
	s.send_on_ready = true;
	server(&s, "220 x\r\n" EHLO_PIPE "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	buf_reset(&s.sent);
	const char *pieces[] = { ".a\r", "\n.", "b\nc\rd\r", "\r", "\n..\r\n", ".", "\r\n" };
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		smtp_client_body(s.c, pieces[i], strlen(pieces[i]));
	smtp_client_body_end(s.c);
	expect_sent(&s, "..a\r\n..b\r\nc\r\nd\r\n\r\n...\r\n..\r\n.\r\n");
	script_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_helo_lockstep),
		cmocka_unit_test(test_mail_refused_pipelined),
		cmocka_unit_test(test_local_refusals),
		cmocka_unit_test(test_starttls_auth),
		cmocka_unit_test(test_tls_required),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_body_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
