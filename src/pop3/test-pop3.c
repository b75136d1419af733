/* Unit tests for the POP3 dialogues: before login and after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pop3/pop3-login.h"
#include "pop3/pop3-session.h"

struct ctx {
	struct buf out;
	struct pop3_login *login;
	char user[64], pass[64];
	int logins, tls, closes;
	uint32_t expunged[8];
	size_t expunged_count;
	size_t sent;          /* output the client has taken */
	char *large;          /* message 99 */
	size_t large_len;
	unsigned reads;
};

static void out(void *c, const char *data, size_t len)
{
	buf_append(&((struct ctx *)c)->out, data, len);
}

static void on_login(void *c, struct str user, struct str pass)
{
	struct ctx *x = c;
	snprintf(x->user, sizeof(x->user), "%.*s", (int)user.len, user.ptr);
	snprintf(x->pass, sizeof(x->pass), "%.*s", (int)pass.len, pass.ptr);
	x->logins++;
}

static void on_tls(void *c)
{
	((struct ctx *)c)->tls++;
}

static void on_close(void *c)
{
	((struct ctx *)c)->closes++;
}

/* The client's reading: output up to x->sent has been taken. */
static size_t unsent(void *c)
{
	struct ctx *x = c;
	return x->out.len - x->sent;
}

/* Message 99 is the large one, else a small one with a dot line. */
static ssize_t read_message(void *c, uint32_t uid, uint64_t offset, char *dst, size_t n)
{
	struct ctx *x = c;
	char small[128];
	const char *text = small;
	size_t len;
	if (uid == 99) {
		text = x->large;
		len = x->large_len;
	} else {
		len = (size_t)snprintf(small, sizeof(small),
				       "Subject: m%u\r\nX: y\r\n\r\n.dot first\r\nline 2\r\nline 3\r\n",
				       uid);
	}
	x->reads++;
	if (offset >= len)
		return 0;
	if (n > len - offset)
		n = len - offset;
	memcpy(dst, text + offset, n);
	return (ssize_t)n;
}

static int expunge(void *c, const uint32_t *uids, size_t n)
{
	struct ctx *x = c;
	memcpy(x->expunged, uids, n * sizeof(*uids));
	x->expunged_count = n;
	return 0;
}

static const struct pop3_login_callbacks login_cb = { out, on_login, on_tls, on_close };
static const struct pop3_callbacks session_cb = { out, unsent, read_message, expunge, on_close };

static const char *say(struct ctx *x, void (*input)(void *, struct buf *), void *target,
		       const char *text)
{
	struct buf in;
	buf_init(&in, 1 << 16);
	buf_reset(&x->out);
	x->sent = 0;
	buf_append(&in, text, strlen(text));
	input(target, &in);
	buf_free(&in);
	return x->out.data ? x->out.data : "";
}

static void login_input(void *t, struct buf *in)
{
	pop3_login_input(t, in);
}

static void session_input(void *t, struct buf *in)
{
	pop3_session_input(t, in);
}

static void test_login(void **state)
{
	struct ctx x = { 0 };
	(void)state;
	buf_init(&x.out, 1 << 20);
	x.login = pop3_login_new(&login_cb, &x, true, false);
	pop3_login_start(x.login);
	assert_string_equal(x.out.data, "+OK Ravelin POP3 ready\r\n");
	/* No credentials before TLS, and STLS is offered. */
	assert_non_null(strstr(say(&x, login_input, x.login, "CAPA\r\n"), "STLS\r\n"));
	assert_non_null(strstr(say(&x, login_input, x.login, "USER a@b.org\r\n"), "-ERR [AUTH]"));
	/* Commands pipelined behind STLS are thrown away. */
	say(&x, login_input, x.login, "STLS\r\nUSER evil\r\n");
	assert_int_equal(x.tls, 1);
	assert_true(pop3_login_waiting(x.login));
	pop3_login_tls_started(x.login);
	assert_null(strstr(say(&x, login_input, x.login, "CAPA\r\n"), "STLS"));
	say(&x, login_input, x.login, "USER a@b.org\r\nPASS s3cret\r\n");
	assert_int_equal(x.logins, 1);
	assert_string_equal(x.user, "a@b.org");
	assert_string_equal(x.pass, "s3cret");
	pop3_login_result(x.login, false, false);
	assert_non_null(strstr(x.out.data, "-ERR [AUTH] Authentication failed"));
	/* AUTH PLAIN with the response on the next line; acting as another
	 * user is refused. */
	assert_string_equal(say(&x, login_input, x.login, "AUTH PLAIN\r\n"), "+ \r\n");
	say(&x, login_input, x.login, "AGEAcHc=\r\n"); /* "\0a\0pw" */
	assert_int_equal(x.logins, 2);
	assert_string_equal(x.user, "a");
	pop3_login_result(x.login, true, false);
	assert_true(pop3_login_done(x.login));
	pop3_login_free(&x.login);

	x.login = pop3_login_new(&login_cb, &x, false, true);
	assert_non_null(strstr(say(&x, login_input, x.login, "AUTH PLAIN eABhAHB3\r\n"),
			       "another user"));
	/* A line one past the limit closes the dialogue. */
	char line[POP3_LOGIN_MAX_LINE + 3];
	memset(line, 'a', sizeof(line));
	memcpy(line + POP3_LOGIN_MAX_LINE + 1, "\r\n", 2);
	line[sizeof(line) - 1] = '\0';
	line[POP3_LOGIN_MAX_LINE + 1] = '\n';
	assert_non_null(strstr(say(&x, login_input, x.login, line), "-ERR Line too long"));
	assert_int_equal(x.closes, 1);
	pop3_login_free(&x.login);
	buf_free(&x.out);
}

static void test_session(void **state)
{
	struct ctx x = { 0 };
	struct pop3_message msgs[3] = { { 10, 100, false }, { 11, 200, false }, { 12, 300, false } };
	(void)state;
	buf_init(&x.out, 1 << 20);
	struct pop3_session *s = pop3_session_new(&session_cb, &x, 5, msgs, 3);
	pop3_session_start(s);
	assert_string_equal(x.out.data, "+OK Logged in, maildrop has 3 messages (600 octets)\r\n");
	assert_string_equal(say(&x, session_input, s, "STAT\r\n"), "+OK 3 600\r\n");
	assert_string_equal(say(&x, session_input, s, "UIDL 2\r\n"), "+OK 2 5.11\r\n");
	assert_string_equal(say(&x, session_input, s, "LIST\r\n"),
			    "+OK\r\n1 100\r\n2 200\r\n3 300\r\n.\r\n");
	/* RETR dot-stuffs; TOP 1 gives the header and one body line. */
	assert_non_null(strstr(say(&x, session_input, s, "RETR 1\r\n"),
			       "\r\n\r\n..dot first\r\nline 2\r\nline 3\r\n.\r\n"));
	const char *top = say(&x, session_input, s, "TOP 2 1\r\n");
	assert_non_null(strstr(top, "Subject: m11\r\nX: y\r\n\r\n..dot first\r\n.\r\n"));
	assert_null(strstr(top, "line 2"));
	assert_string_equal(say(&x, session_input, s, "DELE 2\r\n"), "+OK Marked to be deleted\r\n");
	assert_non_null(strstr(say(&x, session_input, s, "RETR 2\r\n"), "-ERR"));
	assert_non_null(strstr(say(&x, session_input, s, "RETR 4\r\n"), "-ERR No such message"));
	assert_string_equal(say(&x, session_input, s, "STAT\r\n"), "+OK 2 400\r\n");
	assert_string_equal(say(&x, session_input, s, "RSET\r\n"), "+OK 3 messages\r\n");
	say(&x, session_input, s, "DELE 1\r\nDELE 3\r\nQUIT\r\n");
	assert_int_equal(x.expunged_count, 2);
	assert_int_equal(x.expunged[0], 10);
	assert_int_equal(x.expunged[1], 12);
	assert_int_equal(x.closes, 1);
	pop3_session_free(&s);

	/* Too many errors close the session. */
	s = pop3_session_new(&session_cb, &x, 5, msgs, 3);
	for (int i = 0; i < POP3_MAX_ERRORS; i++)
		say(&x, session_input, s, "BOGUS\r\n");
	assert_int_equal(x.closes, 2);
	pop3_session_free(&s);
	buf_free(&x.out);
}

/* A 4 MB message with dot lines and line ends across window edges,
 * pipelined RETR and TOP: output stops at the mark until the client
 * reads, and what it reads is the message dot-stuffed, whole. */
static void test_session_streams(void **state)
{
	struct ctx x = { 0 };
	struct pop3_message msgs[1] = { { 99, 0, false } };
	struct buf want, in, got;
	(void)state;

	buf_init(&want, 16u << 20);
	buf_init(&got, 32u << 20);
	buf_init(&x.out, 32u << 20);
	buf_init(&in, 1024);
	x.large = malloc(4u << 20);
	assert_non_null(x.large);
	buf_append_str(&want, str_c("+OK 0 octets\r\n"));
	const char *head = "Subject: large\r\n\r\n";
	memcpy(x.large, head, strlen(head));
	x.large_len = strlen(head);
	buf_append(&want, head, strlen(head));
	for (unsigned i = 0; x.large_len < (4u << 20) - 200; i++) {
		char line[200];
		int n = snprintf(line, sizeof(line), "%sline %u %.*s\r\n", i % 7 == 0 ? "." : "",
				 i, (int)(i % 97), "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
				 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
		memcpy(x.large + x.large_len, line, (size_t)n);
		x.large_len += (size_t)n;
		if (line[0] == '.')
			buf_putc(&want, '.');
		buf_append(&want, line, (size_t)n);
	}
	memcpy(x.large + x.large_len, ".no end", 7);   /* a last line without CRLF */
	x.large_len += 7;
	buf_append_str(&want, str_c("..no end\r\n.\r\n"));

	struct pop3_session *s = pop3_session_new(&session_cb, &x, 5, msgs, 1);
	pop3_session_start(s);
	buf_reset(&x.out);
	buf_append_str(&in, str_c("RETR 1\r\nRETR 1\r\nTOP 1 2\r\nNOOP\r\n"));
	unsigned rounds = 0;
	do {
		pop3_session_input(s, &in);
		/* Never more than the mark and one stuffed window unsent. */
		assert_true(x.out.len - x.sent <= POP3_SESSION_OUTPUT_HIGH + 2 * POP3_SESSION_WINDOW + 8);
		/* The client reads everything. */
		buf_append(&got, x.out.data + x.sent, x.out.len - x.sent);
		x.sent = x.out.len;
		if (x.out.len > (16u << 20)) {
			buf_reset(&x.out);
			x.sent = 0;
		}
		rounds++;
	} while (pop3_session_pending(s) || in.len > 0);
	assert_true(rounds > 16);
	const char *top = "+OK 0 octets\r\nSubject: large\r\n\r\n..line 0 \r\nline 1 a\r\n.\r\n"
			  "+OK\r\n";
	assert_int_equal(got.len, 2 * want.len + strlen(top));
	assert_memory_equal(got.data, want.data, want.len);
	assert_memory_equal(got.data + want.len, want.data, want.len);
	assert_memory_equal(got.data + 2 * want.len, top, strlen(top));
	pop3_session_free(&s);
	free(x.large);
	buf_free(&want);
	buf_free(&got);
	buf_free(&in);
	buf_free(&x.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_session_streams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
