/*
 * smtp-client: the client dialogue of one outbound connection (see
 * smtp-client.h).
 *
 * The machine waits for one reply at a time in a state that says what the
 * reply answers; with PIPELINING the MAIL and RCPT commands leave in one
 * output and their replies are matched in order (RFC 2920 3.1).  Per
 * message it keeps which recipients were accepted and which have their
 * result, so a failure at any point can answer exactly the ones still
 * open.  Memory: one allocation for the client, the reply parser's
 * bounded text and two small buffers (command line, body staging).
 */
#include "smtp-client.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Body bytes are handed to output in pieces of at most this size (plus
 * the dots and line ends added): one write's worth. */
#define CLIENT_BODY_CHUNK (16 * 1024)
/* The staging buffer's bound: a chunk can double at worst (every octet a
 * bare LF becomes CRLF), plus the end of data. */
#define CLIENT_BODY_STAGING (2 * CLIENT_BODY_CHUNK + 8)
/* One answer as kept for recipients: smtp_reply_answer's bound and room
 * for a made-up one. */
#define CLIENT_MAX_ANSWER (RELAY_MAX_ANSWER + 64)

/* MAIL and every RCPT of one message, pipelined. */
#define CLIENT_MAX_FLIGHT ((SMTP_CLIENT_MAX_RCPTS + 1) * SMTP_CLIENT_MAX_COMMAND)

enum client_state {
	ST_GREETING,
	ST_EHLO,
	ST_HELO,
	ST_STARTTLS,
	ST_TLS_WAIT,
	ST_AUTH,
	ST_READY,
	ST_MAIL,     /* MAIL's reply awaited (and with PIPELINING, the RCPTs') */
	ST_RCPT,     /* the reply to RCPT number rcpt_replies awaited */
	ST_DATA,
	ST_BODY,
	ST_DOT,
	ST_RSET,
	ST_QUIT,
	ST_CLOSED,
};

struct smtp_client {
	struct smtp_client_settings set;
	const struct smtp_client_callbacks *cb;
	void *ctx;
	enum client_state state;
	struct smtp_reply_parser parser;
	struct smtp_reply reply;
	struct buf line;           /* one command (or a flight) being made */
	bool batching;             /* send_line adds to the flight */
	struct buf answer;         /* the answer being given to recipients */
	struct buf body;           /* body staging */

	/* What the last EHLO offered. */
	bool ehlo;                 /* EHLO (not HELO) was accepted */
	bool offers_starttls, offers_pipelining, offers_8bitmime, offers_smtputf8;
	bool offers_auth_plain;
	bool offers_size_ext;      /* SIZE offered (RFC 1870) */
	uint64_t offers_size;      /* its limit; 0: none */
	bool tls_active;

	/* The message under way. */
	struct smtp_client_message msg;
	bool in_message;
	bool mail_failed;          /* MAIL was refused: RCPT replies take its answer */
	unsigned mail_code;
	size_t rcpt_replies;       /* RCPT replies seen */
	size_t rcpts_sent;         /* RCPT commands sent (without PIPELINING) */
	size_t accepted;
	bool is_accepted[SMTP_CLIENT_MAX_RCPTS];
	bool reported[SMTP_CLIENT_MAX_RCPTS];
	bool at_line_start, pending_cr;
};

struct smtp_client *smtp_client_new(const struct smtp_client_settings *settings,
				    const struct smtp_client_callbacks *callbacks, void *ctx)
{
	struct smtp_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->set = *settings;
	c->cb = callbacks;
	c->ctx = ctx;
	c->state = ST_GREETING;
	smtp_reply_parser_init(&c->parser);
	buf_init(&c->line, CLIENT_MAX_FLIGHT);
	buf_init(&c->answer, CLIENT_MAX_ANSWER);
	buf_init(&c->body, CLIENT_BODY_STAGING);
	return c;
}

void smtp_client_free(struct smtp_client **cp)
{
	struct smtp_client *c = *cp;
	if (c == NULL)
		return;
	smtp_reply_parser_free(&c->parser);
	buf_free(&c->line);
	buf_free(&c->answer);
	buf_free(&c->body);
	free(c);
	*cp = NULL;
}

bool smtp_client_tls_active(const struct smtp_client *c)
{
	return c->tls_active;
}

bool smtp_client_offers_pipelining(const struct smtp_client *c)
{
	return c->offers_pipelining;
}

/* send_line outputs one command (fmt without the CRLF), or while batching
 * adds it to the flight; the command's parts were checked to fit
 * SMTP_CLIENT_MAX_COMMAND (path_ok, the settings' short strings). */
__attribute__((format(printf, 2, 3))) static void send_line(struct smtp_client *c,
							    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vprintf(&c->line, fmt, ap);
	va_end(ap);
	if (r < 0 || buf_append_str(&c->line, STR("\r\n")) < 0)
		assert(!"command over CLIENT_MAX_FLIGHT");
	if (c->batching)
		return;
	c->cb->output(c->ctx, c->line.data, c->line.len);
	buf_reset(&c->line);
}

/* set_answer_reply makes the current reply the answer for recipients. */
static void set_answer_reply(struct smtp_client *c)
{
	buf_reset(&c->answer);
	smtp_reply_answer(&c->reply, &c->answer);
}

/* set_answer_made makes up an answer "code text". */
static void set_answer_made(struct smtp_client *c, unsigned code, const char *text)
{
	buf_reset(&c->answer);
	if (buf_printf(&c->answer, "%u %.*s", code, RELAY_MAX_ANSWER, text) < 0)
		buf_reset(&c->answer);
}

/* report gives recipient i its result unless it has one. */
static void report(struct smtp_client *c, size_t i, unsigned code)
{
	if (c->reported[i])
		return;
	c->reported[i] = true;
	c->cb->rcpt_result(c->ctx, i, code, buf_str(&c->answer));
}

/* report_rest gives every recipient still open the current answer; with
 * accepted_only, only those the server took. */
static void report_rest(struct smtp_client *c, unsigned code, bool accepted_only)
{
	for (size_t i = 0; i < c->msg.rcpt_count; i++)
		if (!accepted_only || c->is_accepted[i])
			report(c, i, code);
}

/* message_end closes the message's books and says so. */
static void message_end(struct smtp_client *c)
{
	c->in_message = false;
	c->cb->message_done(c->ctx);
}

/* become_ready goes to READY and tells the caller. */
static void become_ready(struct smtp_client *c)
{
	c->state = ST_READY;
	c->cb->ready(c->ctx);
}

/* close_with ends the connection: recipients still open get the current
 * answer (code), then closed.  Nothing more is output. */
static void close_with(struct smtp_client *c, unsigned code)
{
	if (c->state == ST_CLOSED)
		return;
	if (c->in_message) {
		report_rest(c, code, false);
		message_end(c);
	}
	c->state = ST_CLOSED;
	c->cb->closed(c->ctx, code, buf_str(&c->answer));
}

/* fail_made ends the connection with a made-up answer. */
static void fail_made(struct smtp_client *c, unsigned code, const char *text)
{
	set_answer_made(c, code, text);
	close_with(c, code);
}

/* fail_reply ends the connection with the server's reply as the answer;
 * a 2xx or 3xx where a refusal was meant is made a 4xx. */
static void fail_reply(struct smtp_client *c)
{
	set_answer_reply(c);
	unsigned code = c->reply.code;
	if (code < 400)
		code = 451;
	close_with(c, code);
}

/* after_tls_choice goes on once TLS is settled: AUTH, or ready. */
static void after_tls_choice(struct smtp_client *c)
{
	if (c->set.auth_plain == NULL) {
		become_ready(c);
		return;
	}
	if (!c->tls_active) {
		fail_made(c, 454, "4.7.0 credentials are sent only under TLS");
		return;
	}
	if (!c->offers_auth_plain) {
		fail_made(c, 454, "4.7.0 the server offers no AUTH PLAIN");
		return;
	}
	c->state = ST_AUTH;
	send_line(c, "AUTH PLAIN %s", c->set.auth_plain);
}

/* keyword_is: the EHLO line's keyword (up to a space or '=') is kw. */
static bool keyword_is(struct str line, const char *kw, struct str *rest)
{
	size_t n = strlen(kw);
	if (line.len < n || !str_case_eq(str_sub(line, 0, n), str_c(kw)))
		return false;
	if (line.len > n && line.ptr[n] != ' ' && line.ptr[n] != '=')
		return false;
	*rest = line.len > n ? str_sub(line, n + 1, line.len - n - 1) : STR("");
	return true;
}

/* has_word: word among the space-separated words of s. */
static bool has_word(struct str s, const char *word)
{
	size_t i = 0;
	while (i < s.len) {
		while (i < s.len && s.ptr[i] == ' ')
			i++;
		size_t start = i;
		while (i < s.len && s.ptr[i] != ' ')
			i++;
		if (i > start && str_case_eq(str_sub(s, start, i - start), str_c(word)))
			return true;
	}
	return false;
}

/* read_ehlo records the extensions of an EHLO reply (RFC 5321 4.1.1.1:
 * one keyword and its parameters per line after the first). */
static void read_ehlo(struct smtp_client *c)
{
	c->offers_starttls = c->offers_pipelining = c->offers_8bitmime = false;
	c->offers_smtputf8 = c->offers_auth_plain = false;
	c->offers_size = 0;
	c->offers_size_ext = false;
	for (size_t i = 1; i < c->reply.line_count; i++) {
		struct str l = c->reply.lines[i], rest;
		if (keyword_is(l, "STARTTLS", &rest))
			c->offers_starttls = true;
		else if (keyword_is(l, "PIPELINING", &rest))
			c->offers_pipelining = true;
		else if (keyword_is(l, "8BITMIME", &rest))
			c->offers_8bitmime = true;
		else if (keyword_is(l, "SMTPUTF8", &rest))
			c->offers_smtputf8 = true;
		else if (keyword_is(l, "AUTH", &rest))
			c->offers_auth_plain = c->offers_auth_plain || has_word(rest, "PLAIN");
		else if (keyword_is(l, "SIZE", &rest)) {
			uint64_t v;
			c->offers_size_ext = true;
			if (str_to_u64(str_trim(rest), UINT64_MAX, &v) == 0)
				c->offers_size = v;
		}
	}
}

/* on_hello handles the reply to EHLO or HELO. */
static void on_hello(struct smtp_client *c)
{
	if (!smtp_reply_is_ok(&c->reply)) {
		/* RFC 5321 4.1.4: a server that does not know EHLO says 5xx;
		 * then HELO, without extensions. */
		if (c->state == ST_EHLO && c->reply.code / 100 == 5) {
			c->state = ST_HELO;
			send_line(c, "HELO %s", c->set.helo_name);
			return;
		}
		fail_reply(c);
		return;
	}
	c->ehlo = c->state == ST_EHLO;
	if (c->ehlo)
		read_ehlo(c);
	else
		c->offers_starttls = c->offers_pipelining = c->offers_8bitmime =
			c->offers_smtputf8 = c->offers_auth_plain = c->offers_size_ext = false;
	if (!c->ehlo)
		c->offers_size = 0;
	if (!c->tls_active && c->offers_starttls && (c->set.tls_possible || c->set.tls_required)) {
		c->state = ST_STARTTLS;
		send_line(c, "STARTTLS");
		return;
	}
	if (!c->tls_active && c->set.tls_required) {
		fail_made(c, 451, "4.7.4 TLS is required, but the server does not offer STARTTLS");
		return;
	}
	after_tls_choice(c);
}

/* send_rcpt sends RCPT number i. */
static void send_rcpt(struct smtp_client *c, size_t i)
{
	struct str a = c->msg.rcpts[i];
	send_line(c, "RCPT TO:<%.*s>", (int)a.len, a.ptr);
}

/* after_rcpts: every RCPT was answered: DATA, or RSET if none was taken. */
static void after_rcpts(struct smtp_client *c)
{
	if (c->accepted == 0) {
		c->state = ST_RSET;
		send_line(c, "RSET");
		return;
	}
	c->state = ST_DATA;
	send_line(c, "DATA");
}

/* on_mail handles MAIL's reply. */
static void on_mail(struct smtp_client *c)
{
	if (smtp_reply_is_ok(&c->reply)) {
		c->state = ST_RCPT;
		if (!c->offers_pipelining)
			send_rcpt(c, c->rcpts_sent++);
		return;
	}
	/* Every recipient gets MAIL's answer; with PIPELINING their RCPT
	 * replies (503 most likely) are still to come and are read past. */
	set_answer_reply(c);
	c->mail_failed = true;
	c->mail_code = c->reply.code;
	if (c->offers_pipelining) {
		c->state = ST_RCPT;
		return;
	}
	report_rest(c, c->mail_code, false);
	after_rcpts(c);
}

/* on_rcpt handles the reply to one RCPT. */
static void on_rcpt(struct smtp_client *c)
{
	size_t i = c->rcpt_replies++;
	if (c->mail_failed) {
		report(c, i, c->mail_code);
	} else if (smtp_reply_is_ok(&c->reply)) {
		c->is_accepted[i] = true;
		c->accepted++;
	} else {
		set_answer_reply(c);
		report(c, i, c->reply.code);
	}
	if (c->rcpt_replies == c->msg.rcpt_count) {
		after_rcpts(c);
		return;
	}
	if (!c->offers_pipelining)
		send_rcpt(c, c->rcpts_sent++);
}

/* on_reply acts on one whole reply in c->reply. */
static void on_reply(struct smtp_client *c)
{
	switch (c->state) {
	case ST_GREETING:
		if (c->reply.code != 220) {
			/* RFC 5321 3.1: a 554 greeting is answered with QUIT. */
			send_line(c, "QUIT");
			fail_reply(c);
			return;
		}
		c->state = ST_EHLO;
		send_line(c, "EHLO %s", c->set.helo_name);
		return;
	case ST_EHLO:
	case ST_HELO:
		on_hello(c);
		return;
	case ST_STARTTLS:
		if (c->reply.code == 220) {
			c->state = ST_TLS_WAIT;
			c->cb->starttls(c->ctx);
			return;
		}
		if (c->set.tls_required) {
			fail_reply(c);
			return;
		}
		after_tls_choice(c);
		return;
	case ST_AUTH:
		if (c->reply.code != 235) {
			fail_reply(c);
			return;
		}
		become_ready(c);
		return;
	case ST_MAIL:
		on_mail(c);
		return;
	case ST_RCPT:
		on_rcpt(c);
		return;
	case ST_DATA:
		if (c->reply.code == 354) {
			c->state = ST_BODY;
			c->at_line_start = true;
			c->pending_cr = false;
			c->cb->body_wanted(c->ctx);
			return;
		}
		set_answer_reply(c);
		report_rest(c, c->reply.code < 400 ? 451 : c->reply.code, true);
		c->state = ST_RSET;
		send_line(c, "RSET");
		return;
	case ST_DOT:
		set_answer_reply(c);
		report_rest(c, c->reply.code < 200 || c->reply.code / 100 == 3 ? 451 : c->reply.code,
			    true);
		message_end(c);
		become_ready(c);
		return;
	case ST_RSET:
		if (!smtp_reply_is_ok(&c->reply)) {
			fail_reply(c);
			return;
		}
		if (c->in_message)
			message_end(c);
		become_ready(c);
		return;
	case ST_QUIT:
		set_answer_reply(c);
		c->state = ST_CLOSED;
		c->cb->closed(c->ctx, c->reply.code, buf_str(&c->answer));
		return;
	case ST_READY:
	case ST_BODY:
	case ST_TLS_WAIT:
	case ST_CLOSED:
		break;
	}
	fail_made(c, 451, "4.5.0 the server sent a reply nobody asked for");
}

/* awaits_reply is true in the states that wait for the server. */
static bool awaits_reply(const struct smtp_client *c)
{
	return c->state != ST_READY && c->state != ST_BODY && c->state != ST_TLS_WAIT &&
	       c->state != ST_CLOSED;
}

void smtp_client_input(struct smtp_client *c, struct buf *in)
{
	while (c->state != ST_CLOSED) {
		if (c->state == ST_TLS_WAIT) {
			/* Sent in clear before the handshake: never believed. */
			buf_reset(in);
			return;
		}
		if (in->len == 0)
			return;
		if (!awaits_reply(c)) {
			fail_made(c, 451, "4.5.0 the server sent a reply nobody asked for");
			return;
		}
		const char *error = NULL;
		int r = smtp_reply_parse(&c->parser, in, &c->reply, &error);
		if (r == 0)
			return;
		if (r < 0) {
			char text[128];
			snprintf(text, sizeof(text), "4.5.0 garbage from the server: %s", error);
			fail_made(c, 451, text);
			return;
		}
		bool starttls = c->state == ST_STARTTLS && c->reply.code == 220;
		on_reply(c);
		if (starttls)
			buf_reset(in);
	}
}

void smtp_client_tls_started(struct smtp_client *c)
{
	if (c->state != ST_TLS_WAIT)
		return;
	c->tls_active = true;
	c->state = ST_EHLO;
	send_line(c, "EHLO %s", c->set.helo_name);
}

/* path_ok: an address we may put between < and > on a command line. */
static bool path_ok(struct str a)
{
	if (a.len > 256)
		return false;
	for (size_t i = 0; i < a.len; i++) {
		unsigned char ch = (unsigned char)a.ptr[i];
		if (ch < 0x21 || ch == 0x7f || ch == '<' || ch == '>')
			return false;
	}
	return true;
}

/* refuse_locally answers every recipient with a made-up answer and ends
 * the message without a word to the server. */
static void refuse_locally(struct smtp_client *c, unsigned code, const char *text)
{
	set_answer_made(c, code, text);
	report_rest(c, code, false);
	message_end(c);
	become_ready(c);
}

int smtp_client_send(struct smtp_client *c, const struct smtp_client_message *msg)
{
	if (c->state != ST_READY || msg->rcpt_count == 0 ||
	    msg->rcpt_count > SMTP_CLIENT_MAX_RCPTS || !path_ok(msg->sender))
		return -1;
	for (size_t i = 0; i < msg->rcpt_count; i++)
		if (!path_ok(msg->rcpts[i]))
			return -1;
	c->msg = *msg;
	c->in_message = true;
	c->mail_failed = false;
	c->rcpt_replies = c->rcpts_sent = c->accepted = 0;
	memset(c->is_accepted, 0, sizeof(c->is_accepted));
	memset(c->reported, 0, sizeof(c->reported));

	if (c->offers_size > 0 && msg->size > c->offers_size) {
		char text[128];
		snprintf(text, sizeof(text),
			 "5.3.4 message size exceeds the server's limit (SIZE %" PRIu64 ")",
			 c->offers_size);
		refuse_locally(c, 552, text);
		return 0;
	}
	if (msg->smtputf8 && !c->offers_smtputf8) {
		refuse_locally(c, 553, "5.6.7 the message needs SMTPUTF8, which the server lacks");
		return 0;
	}

	char params[128];
	int n = 0;
	params[0] = '\0';
	if (c->offers_size_ext)
		n += snprintf(params + n, sizeof(params) - (size_t)n, " SIZE=%" PRIu64, msg->size);
	/* An 8-bit body to a server without 8BITMIME goes as it is, as most
	 * MTAs do (RFC 6152 3 would have it converted): bouncing it helps
	 * nobody. */
	if (msg->body_8bit && c->offers_8bitmime)
		n += snprintf(params + n, sizeof(params) - (size_t)n, " BODY=8BITMIME");
	if (msg->smtputf8)
		snprintf(params + n, sizeof(params) - (size_t)n, " SMTPUTF8");

	c->state = ST_MAIL;
	if (!c->offers_pipelining) {
		send_line(c, "MAIL FROM:<%.*s>%s", (int)msg->sender.len, msg->sender.ptr, params);
		return 0;
	}
	/* RFC 2920 3.1: MAIL and the RCPTs in one flight, DATA after. */
	c->batching = true;
	send_line(c, "MAIL FROM:<%.*s>%s", (int)msg->sender.len, msg->sender.ptr, params);
	for (size_t i = 0; i < msg->rcpt_count; i++)
		send_rcpt(c, i);
	c->batching = false;
	c->cb->output(c->ctx, c->line.data, c->line.len);
	buf_reset(&c->line);
	return 0;
}

/* body_flush outputs the staging buffer. */
static void body_flush(struct smtp_client *c)
{
	if (c->body.len > 0)
		c->cb->output(c->ctx, c->body.data, c->body.len);
	buf_reset(&c->body);
}

/* body_put appends one octet; cannot fail (the caller flushes in time). */
static void body_put(struct smtp_client *c, char ch)
{
	if (buf_putc(&c->body, ch) < 0)
		assert(!"body staging over its bound");
}

/* body_line_end puts CRLF and marks the start of a line. */
static void body_line_end(struct smtp_client *c)
{
	body_put(c, '\r');
	body_put(c, '\n');
	c->at_line_start = true;
}

void smtp_client_body(struct smtp_client *c, const char *data, size_t len)
{
	if (c->state != ST_BODY)
		return;
	while (len > 0) {
		size_t n = len < CLIENT_BODY_CHUNK ? len : CLIENT_BODY_CHUNK;
		for (size_t i = 0; i < n; i++) {
			char ch = data[i];
			if (c->pending_cr) {
				c->pending_cr = false;
				body_line_end(c);
				if (ch == '\n')
					continue;
			}
			if (ch == '\r') {
				c->pending_cr = true;
				continue;
			}
			if (ch == '\n') {
				body_line_end(c);
				continue;
			}
			/* RFC 5321 4.5.2: a line starting with "." gets one more. */
			if (c->at_line_start && ch == '.')
				body_put(c, '.');
			c->at_line_start = false;
			body_put(c, ch);
		}
		body_flush(c);
		data += n;
		len -= n;
	}
}

void smtp_client_body_end(struct smtp_client *c)
{
	if (c->state != ST_BODY)
		return;
	if (c->pending_cr) {
		c->pending_cr = false;
		body_line_end(c);
	}
	if (!c->at_line_start)
		body_line_end(c);
	body_put(c, '.');
	body_put(c, '\r');
	body_put(c, '\n');
	body_flush(c);
	c->state = ST_DOT;
}

void smtp_client_quit(struct smtp_client *c)
{
	if (c->state != ST_READY)
		return;
	c->state = ST_QUIT;
	send_line(c, "QUIT");
}

void smtp_client_fail(struct smtp_client *c, unsigned code, const char *why)
{
	if (c->state == ST_CLOSED)
		return;
	if (c->state == ST_QUIT) {
		/* The server closed after QUIT without a word: that is fine. */
		set_answer_made(c, 221, "2.0.0 closed");
		c->state = ST_CLOSED;
		c->cb->closed(c->ctx, 221, buf_str(&c->answer));
		return;
	}
	fail_made(c, code, why);
}
