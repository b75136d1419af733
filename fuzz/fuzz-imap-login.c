/*
 * fuzz-imap-login: libFuzzer target for the whole IMAP pre-login state
 * machine (imap-login.h), as the front drives it.
 *
 * The first two bytes choose whether TLS is offered or on, the sizes in
 * which the rest arrives and how auth, master and the TLS handshake
 * answer (at once, or only once more input has arrived; yes, no, or
 * "try later").  The rest is the client's bytes.  Checked on the way:
 * the machine consumes nothing while it waits for an answer; callbacks
 * come only in states that allow them (credentials only under TLS,
 * STARTTLS only when offered and not yet on, nothing after close); user
 * names and passwords stay within the pre-login limits; every output line
 * is a tagged, untagged or continuation line ending in CRLF and shorter
 * than the longest the machine writes; after each input the output ends
 * at a line's end; the answers it may count as errors stop at
 * IMAP_LOGIN_MAX_ERRORS (plus the last BAD of a fatal error) and the
 * output stays within a fixed multiple of the input.  Unless STARTTLS
 * dropped buffered bytes (which depends on how they arrived), a run in
 * pieces writes exactly what a run all at once writes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-proto/imap-capability.h"
#include "imap-login/imap-login.h"
#include "imap-proto/imap-parser.h"
#include "lib/buf.h"

/* The longest line the machine writes: a tag and the after-login
 * capability list in the tagged OK of a login, with room to spare. */
#define FUZZ_MAX_OUTPUT_LINE (IMAP_DEFAULT_MAX_TAG + sizeof(IMAP_CAPABILITY_AUTH) + 64)
/* Output per input octet: "a CAPABILITY\n" (13 octets) is answered with
 * about 140; 32 per octet leaves room and still catches a loop that
 * answers one command twice. */
#define FUZZ_OUTPUT_PER_INPUT 32u
/* Room for the greeting and the closing BYE. */
#define FUZZ_OUTPUT_SLACK 1024u
/* The transcript of one run; the input is bounded by libFuzzer's
 * -max_len, so this bound is never the one that cuts. */
#define FUZZ_MAX_TRANSCRIPT (64u * 1024 * 1024)

enum answer {
	ANSWER_OK,        /* auth says yes; master has the session */
	ANSWER_NO,        /* wrong password, or master refuses the session */
	ANSWER_TEMPORARY, /* auth cannot check now; master: the account is at its limit */
};

struct fuzz_run {
	struct imap_login *login;
	struct buf out;
	size_t step;      /* piece size; SIZE_MAX: all at once */
	uint8_t policy;   /* how the outside answers, see next_answer */
	bool tls_offered, tls_active;
	bool closed, starttls_called, want_login, want_tls;
	unsigned logins;  /* login callbacks so far */
	size_t consumed;  /* client octets consumed */
};

/* next_answer is the answer to login number n, from the policy bits, so
 * that both runs answer a given login alike. */
static enum answer next_answer(const struct fuzz_run *r, unsigned n)
{
	return (enum answer)(((r->policy >> 2) + n) % 3);
}

/* deferred: answers wait until the next piece of input has arrived. */
static bool deferred(const struct fuzz_run *r)
{
	return (r->policy & 0x40) != 0;
}

static void cb_output(void *ctx, const char *data, size_t len)
{
	struct fuzz_run *r = ctx;
	if (r->closed || len == 0)
		abort();
	if (buf_append(&r->out, data, len) < 0)
		abort();
}

static void cb_login(void *ctx, struct str user, struct str password)
{
	struct fuzz_run *r = ctx;
	if (r->closed || !r->tls_active || r->want_login || r->want_tls)
		abort();
	/* LOGIN takes two literals; PLAIN's decoded message is one line. */
	if (user.len > IMAP_LOGIN_MAX_LINE || password.len > IMAP_LOGIN_MAX_LINE)
		abort();
	r->want_login = true;
}

static void cb_starttls(void *ctx)
{
	struct fuzz_run *r = ctx;
	if (r->closed || r->tls_active || !r->tls_offered || r->want_login)
		abort();
	r->want_tls = true;
	r->starttls_called = true;
}

static void cb_close(void *ctx)
{
	struct fuzz_run *r = ctx;
	if (r->closed)
		abort();
	r->closed = true;
}

static const struct imap_login_callbacks callbacks = {
	.output = cb_output,
	.login = cb_login,
	.starttls = cb_starttls,
	.close = cb_close,
};

/* answer gives the answers the machine waits for. */
static void answer(struct fuzz_run *r)
{
	if (r->want_tls) {
		r->want_tls = false;
		r->tls_active = true;
		imap_login_tls_started(r->login);
	}
	if (r->want_login) {
		enum answer a = next_answer(r, r->logins++);
		r->want_login = false;
		imap_login_result(r->login, a == ANSWER_OK, a == ANSWER_TEMPORARY);
		if (a == ANSWER_OK) {
			if (!imap_login_waiting(r->login))
				abort();
			a = next_answer(r, r->logins + 7);
			if (a == ANSWER_NO || a == ANSWER_TEMPORARY)
				imap_login_session_refused(r->login, a == ANSWER_TEMPORARY);
			else
				imap_login_session_ready(r->login);
		}
	}
	if (imap_login_waiting(r->login))
		abort();
}

/* input hands the buffered client bytes to the machine and checks what
 * it did with them. */
static void input(struct fuzz_run *r, struct buf *in)
{
	size_t before = in->len;
	bool waiting = imap_login_waiting(r->login);

	imap_login_input(r->login, in);
	if (in->len > before)
		abort();
	if (waiting && in->len != before)
		abort();
	r->consumed += before - in->len;
	if (r->out.len > 0 &&
	    (r->out.len < 2 || memcmp(r->out.data + r->out.len - 2, "\r\n", 2) != 0))
		abort();
	/* Answers are given outside the callbacks, so the machine waits
	 * exactly when a callback has asked and not been answered. */
	if (imap_login_waiting(r->login) != (r->want_login || r->want_tls))
		abort();
}

/* check_output checks the transcript line by line. */
static void check_output(const struct fuzz_run *r)
{
	struct str rest = buf_str(&r->out);
	unsigned errors = 0;

	if (rest.len > FUZZ_OUTPUT_SLACK + FUZZ_OUTPUT_PER_INPUT * r->consumed)
		abort();
	while (rest.len > 0) {
		const char *nl = memchr(rest.ptr, '\n', rest.len);
		if (nl == NULL || nl == rest.ptr || nl[-1] != '\r')
			abort();
		size_t len = (size_t)(nl - rest.ptr) + 1;
		struct str line = str_from(rest.ptr, len - 2);
		rest = str_from(rest.ptr + len, rest.len - len);
		if (len > FUZZ_MAX_OUTPUT_LINE || memchr(line.ptr, '\r', line.len) != NULL)
			abort();
		long sp = str_chr(line, ' ');
		if (sp <= 0)
			abort();
		struct str after = str_from(line.ptr + sp + 1, line.len - (size_t)sp - 1);
		if (str_case_prefix(after, STR("BAD ")) ||
		    (str_case_prefix(after, STR("NO ")) &&
		     !str_case_prefix(after, STR("NO [UNAVAILABLE]"))))
			errors++;
	}
	if (errors > IMAP_LOGIN_MAX_ERRORS + 1)
		abort();
	if (errors >= IMAP_LOGIN_MAX_ERRORS && !r->closed)
		abort();
}

/* run plays one connection and returns whether STARTTLS happened. */
static bool run(struct fuzz_run *r, const uint8_t *data, size_t size)
{
	struct buf in;
	size_t off = 0;

	buf_init(&r->out, FUZZ_MAX_TRANSCRIPT);
	buf_init(&in, size + 1);
	r->login = imap_login_new(&callbacks, r, r->tls_offered, r->tls_active);
	if (r->login == NULL)
		abort();
	imap_login_start(r->login);
	while (off < size && !r->closed && !imap_login_done(r->login)) {
		size_t n = size - off < r->step ? size - off : r->step;
		if (buf_append(&in, data + off, n) < 0)
			abort();
		off += n;
		bool was_waiting = imap_login_waiting(r->login);
		/* Deferred: an answer comes only after the next piece has
		 * arrived, which the machine must leave alone meanwhile. */
		input(r, &in);
		if (deferred(r) && was_waiting) {
			answer(r);
			input(r, &in);
		}
		while (!deferred(r) && !r->closed && imap_login_waiting(r->login)) {
			answer(r);
			input(r, &in);
		}
	}
	while (!r->closed && !imap_login_done(r->login) && imap_login_waiting(r->login)) {
		answer(r);
		input(r, &in);
	}
	if (!r->closed && !imap_login_done(r->login)) {
		imap_login_timeout(r->login);
		if (!r->closed)
			abort();
	}
	check_output(r);
	imap_login_free(&r->login);
	if (r->login != NULL)
		abort();
	buf_free(&in);
	return r->starttls_called;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t flags = data[0];
	struct fuzz_run a = {
		.tls_offered = (flags & 1) != 0,
		.tls_active = (flags & 2) != 0,
		.policy = data[1],
	};
	a.step = (flags & 0x0c) == 0 ? 1 : (flags & 0x0c) == 4 ? 1 + (flags >> 4) :
		 (flags & 0x0c) == 8 ? 1 + (size_t)(flags >> 4) * 97 : SIZE_MAX;
	struct fuzz_run b = a;
	b.step = SIZE_MAX;
	data += 2;
	size -= 2;

	bool tls_a = run(&a, data, size);
	bool tls_b = run(&b, data, size);
	if (!tls_a && !tls_b && !str_eq(buf_str(&a.out), buf_str(&b.out)))
		abort();
	buf_free(&a.out);
	buf_free(&b.out);
	return 0;
}
