/*
 * fuzz-pop3: the POP3 dialogues, before login (pop3-login) and after it
 * (pop3-session), fed the input in chunks; callbacks answer at once, the
 * first input byte choosing whether logins succeed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "lib/buf.h"
#include "pop3/pop3-login.h"
#include "pop3/pop3-session.h"

struct fuzz_ctx {
	struct pop3_login *login;
	bool grant;
	bool closed;
	size_t output;
};

static void out(void *ctx, const char *data, size_t len)
{
	struct fuzz_ctx *f = ctx;
	(void)data;
	f->output += len;
}

static void login(void *ctx, struct str user, struct str password)
{
	struct fuzz_ctx *f = ctx;
	(void)user;
	(void)password;
	pop3_login_result(f->login, f->grant, !f->grant);
}

static void starttls(void *ctx)
{
	struct fuzz_ctx *f = ctx;
	pop3_login_tls_started(f->login);
}

static void closed(void *ctx)
{
	struct fuzz_ctx *f = ctx;
	f->closed = true;
}

/* unsent: the fuzzer takes all output at once. */
static size_t unsent(void *ctx)
{
	(void)ctx;
	return 0;
}

/* read_message gives a window of a small message with lines to dot-stuff
 * (message 3 cannot be read). */
static ssize_t read_message(void *ctx, uint32_t uid, uint64_t offset, char *dst, size_t n)
{
	char text[80];
	(void)ctx;
	if (uid == 3)
		return -1;
	int len = snprintf(text, sizeof(text), "Subject: %u\r\n\r\n.dot\r\nbody\r\n.\r\nend",
			   uid);
	if (len < 0 || offset >= (uint64_t)len)
		return 0;
	size_t k = (size_t)len - (size_t)offset < n ? (size_t)len - (size_t)offset : n;
	memcpy(dst, text + offset, k);
	return (ssize_t)k;
}

static int expunge(void *ctx, const uint32_t *uids, size_t n)
{
	(void)ctx;
	(void)uids;
	return n > 2 ? -1 : 0;
}

static const struct pop3_login_callbacks login_cb = { out, login, starttls, closed };
static const struct pop3_callbacks session_cb = { out, unsent, read_message, expunge, closed };

static void feed(const uint8_t *data, size_t size, size_t chunk,
		 void (*input)(void *, struct buf *), void *target, struct fuzz_ctx *f)
{
	struct buf in;
	buf_init(&in, 8192);
	for (size_t at = 0; at < size && !f->closed; at += chunk) {
		size_t n = size - at < chunk ? size - at : chunk;
		if (buf_append(&in, data + at, n) < 0)
			break;
		input(target, &in);
	}
	buf_free(&in);
}

static void login_input(void *target, struct buf *in)
{
	pop3_login_input(target, in);
}

static void session_input(void *target, struct buf *in)
{
	pop3_session_input(target, in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t chunk = (size_t)(data[1] % 64) + 1;
	struct fuzz_ctx f = { .grant = data[0] & 1 };
	f.login = pop3_login_new(&login_cb, &f, true, data[0] & 2);
	pop3_login_start(f.login);
	feed(data + 2, size - 2, chunk, login_input, f.login, &f);
	pop3_login_free(&f.login);

	struct pop3_message msgs[4] = { { 1, 40, false }, { 2, 41, false }, { 3, 42, false },
					{ 9, 0, false } };
	struct fuzz_ctx g = { 0 };
	struct pop3_session *s = pop3_session_new(&session_cb, &g, 77, msgs, data[0] % 5);
	pop3_session_start(s);
	feed(data + 2, size - 2, chunk, session_input, s, &g);
	pop3_session_free(&s);
	return 0;
}
