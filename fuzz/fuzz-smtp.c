/*
 * fuzz-smtp: libFuzzer target for the SMTP dialogue (src/smtp).
 *
 * The first bytes of the input choose the settings (TLS offered/active,
 * small message size and recipient limits, submission mode with AUTH and
 * the sender and header checks), whether callbacks answer from
 * inside themselves or after the input call returned (as the front does),
 * and the sizes in which the rest is fed.  Look-up and spool answers are
 * taken from a cursor running over the input, so the fuzzer controls them
 * too.  Checked on every run: replies are whole CRLF lines starting with a
 * three-digit code, nothing is output after close, message chunks stay
 * bounded, and the caller's buffer never has to grow past one command
 * line plus one feed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "smtp/smtp-session.h"

/* The largest piece fed at once. */
#define FUZZ_MAX_FEED 4096
/* The session never hands out more than this per data_chunk call. */
#define FUZZ_MAX_CHUNK (64 * 1024)

struct fuzz {
	struct smtp_session *s;
	const uint8_t *data;
	size_t size;
	size_t pick;         /* cursor for derived answers */
	bool answer_inside;
	bool pending_rcpt, pending_data, pending_tls, pending_auth;
	bool closed;
	bool in_message;
};

/* next_byte returns the next byte of the answer cursor. */
static uint8_t next_byte(struct fuzz *f)
{
	if (f->size == 0)
		return 0;
	return f->data[f->pick++ % f->size];
}

static void answer_rcpt(struct fuzz *f)
{
	static const uint64_t accounts[] = { 1, 2, 3 };
	uint8_t b = next_byte(f);
	f->pending_rcpt = false;
	smtp_session_rcpt_result(f->s, (enum smtp_rcpt_status)(b % 3), accounts, b % 4);
}

static void answer_data(struct fuzz *f)
{
	uint8_t b = next_byte(f);
	f->pending_data = false;
	smtp_session_data_result(f->s, b % 4 != 0, b % 8 == 1 ? NULL : "Q1");
}

static void answer_tls(struct fuzz *f)
{
	f->pending_tls = false;
	smtp_session_tls_started(f->s);
}

static void answer_auth(struct fuzz *f)
{
	f->pending_auth = false;
	smtp_session_auth_result(f->s, (enum smtp_auth_status)(next_byte(f) % 3));
}

static void cb_auth(void *ctx, struct str user, struct str password)
{
	struct fuzz *f = ctx;
	if (f->pending_auth || (user.len > 0 && user.ptr == NULL) ||
	    (password.len > 0 && password.ptr == NULL))
		abort();
	f->pending_auth = true;
	if (f->answer_inside)
		answer_auth(f);
}

static bool cb_sender_allowed(void *ctx, struct str address)
{
	struct fuzz *f = ctx;
	if (address.len > 0 && address.ptr == NULL)
		abort();
	return next_byte(f) % 4 != 0;
}

static void cb_output(void *ctx, const char *data, size_t len)
{
	struct fuzz *f = ctx;
	if (f->closed || len < 5 || data[len - 2] != '\r' || data[len - 1] != '\n')
		abort();
	/* Every line: three digits, then SP or "-". */
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i - start < 5 || data[i - 1] != '\r')
			abort();
		for (size_t j = start; j < start + 3; j++)
			if (data[j] < '0' || data[j] > '9')
				abort();
		if (data[start + 3] != ' ' && data[start + 3] != '-')
			abort();
		for (size_t j = start; j < i - 1; j++)
			if (data[j] == '\r')
				abort();
		start = i + 1;
	}
}

static void cb_rcpt_lookup(void *ctx, struct str address)
{
	struct fuzz *f = ctx;
	if (address.len > SMTP_MAX_PATH || f->pending_rcpt)
		abort();
	f->pending_rcpt = true;
	if (f->answer_inside)
		answer_rcpt(f);
}

static int cb_data_begin(void *ctx, const struct smtp_transaction *t)
{
	struct fuzz *f = ctx;
	if (t->rcpt_count == 0 || f->in_message)
		abort();
	for (size_t i = 0; i < t->rcpt_count; i++)
		if (t->rcpts[i].address.ptr == NULL)
			abort();
	if (next_byte(f) % 16 == 0)
		return -1;
	f->in_message = true;
	return 0;
}

static int cb_data_chunk(void *ctx, const char *data, size_t len)
{
	struct fuzz *f = ctx;
	if (!f->in_message || len == 0 || len > FUZZ_MAX_CHUNK || data == NULL)
		abort();
	return next_byte(f) % 64 == 0 ? -1 : 0;
}

static void cb_data_end(void *ctx, bool ok)
{
	struct fuzz *f = ctx;
	(void)ok;
	if (!f->in_message || f->pending_data)
		abort();
	f->in_message = false;
	f->pending_data = true;
	if (f->answer_inside)
		answer_data(f);
}

static void cb_starttls(void *ctx)
{
	struct fuzz *f = ctx;
	f->pending_tls = true;
	if (f->answer_inside)
		answer_tls(f);
}

static void cb_close(void *ctx)
{
	struct fuzz *f = ctx;
	if (f->closed)
		abort();
	f->closed = true;
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

/* pump runs the session and answers what it waits for, until it settles. */
static void pump(struct fuzz *f, struct buf *in)
{
	for (;;) {
		smtp_session_input(f->s, in);
		if (f->pending_rcpt)
			answer_rcpt(f);
		else if (f->pending_data)
			answer_data(f);
		else if (f->pending_tls)
			answer_tls(f);
		else if (f->pending_auth)
			answer_auth(f);
		else
			break;
	}
	if (smtp_session_waiting(f->s))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz f;
	struct buf in;

	if (size < 4)
		return 0;
	uint8_t flags = data[0];
	uint8_t feed = data[1];
	struct smtp_settings set = {
		.hostname = "mx.example",
		.max_message_size = 1 + (uint64_t)data[2] * 64,
		.max_recipients = 1 + data[3] % 8,
		.tls_offered = flags & 1,
		.tls_active = flags & 2,
		.submission = flags & 0x40,
		.received_ip = flags & 0x80,
	};
	memset(&f, 0, sizeof(f));
	f.data = data;
	f.size = size;
	f.pick = size / 2;
	f.answer_inside = flags & 4;
	/* Feed sizes: 1, small, or up to FUZZ_MAX_FEED. */
	size_t step = (flags & 0x18) == 0 ? 1 : (flags & 0x18) == 0x08 ? 1 + feed % 16 :
		      1 + (size_t)feed * (FUZZ_MAX_FEED / 256);
	data += 4;
	size -= 4;

	f.s = smtp_session_new(&set, &callbacks, &f, "192.0.2.1", "FUZZ");
	if (f.s == NULL)
		return 0;
	smtp_session_start(f.s);
	buf_init(&in, SMTP_MAX_LINE + FUZZ_MAX_FEED);
	while (size > 0 && !f.closed) {
		size_t n = size < step ? size : step;
		if (buf_append(&in, data, n) < 0)
			abort(); /* the session stopped consuming */
		data += n;
		size -= n;
		pump(&f, &in);
	}
	if (flags & 0x20)
		smtp_session_timeout(f.s);
	buf_free(&in);
	smtp_session_free(&f.s);
	return 0;
}
