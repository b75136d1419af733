/* Unit tests for ipc and ev: messages, descriptors, malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/ev.h"
#include "lib/ipc.h"

struct result {
	int got;
	int closed;
	uint64_t value;
	char text[64];
	int fd;
	struct ev *ev;
};

static void handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct result *r = ctx;
	struct ipc_reader rd;
	(void)ipc;
	ipc_reader_init(&rd, msg);
	r->value = ipc_get_u64(&rd);
	struct str s = ipc_get_str(&rd, 64);
	if (ipc_reader_ok(&rd))
		snprintf(r->text, sizeof(r->text), "%.*s", (int)s.len, s.ptr);
	r->fd = msg->fd;
	r->got++;
	ev_stop(r->ev);
}

static void closed(struct ipc *ipc, void *ctx)
{
	struct result *r = ctx;
	(void)ipc;
	r->closed++;
	ev_stop(r->ev);
}

static void timeout(struct ev_timer *t, void *ctx)
{
	(void)t;
	ev_stop(ctx);
}

static void test_message_with_descriptor(void **state)
{
	int sv[2], p[2];
	struct result r = { .fd = -1 };
	struct buf b;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	r.ev = ev_new();
	struct ipc *a = ipc_new(r.ev, sv[0], "a", handler, closed, &r);
	struct ipc *bb = ipc_new(r.ev, sv[1], "b", handler, closed, &r);
	buf_init(&b, 1024);
	ipc_put_u64(&b, 42);
	ipc_put_str(&b, STR("x@example.org"));
	/* RCPT_RESULT takes no descriptor; WORKER_CONN must have one. */
	assert_int_equal(ipc_send(a, IPC_WORKER_CONN, 7, b.data, 8, p[1]), 0);
	ev_timer_add(r.ev, 2000, timeout, r.ev);
	ev_run(r.ev);
	assert_int_equal(r.got, 1);
	assert_true(r.fd >= 0);
	assert_int_equal(write(r.fd, "z", 1), 1);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(r.fd);

	/* A message whose kind forbids a descriptor but carries one is
	 * malformed: the receiving side closes the link. */
	buf_reset(&b);
	ipc_put_u64(&b, 1);
	ipc_put_str(&b, STR("hello"));
	assert_int_equal(ipc_send(a, IPC_RCPT_LOOKUP, 1, b.data + 8, b.len - 8, p[1]), 0);
	ev_run(r.ev);
	assert_int_equal(r.closed, 1);
	(void)bb;
	ipc_close(&a);
	buf_free(&b);
	close(p[0]);
	close(p[1]);
	ev_free(&r.ev);
}

static void test_payload_limit(void **state)
{
	int sv[2];
	static unsigned char big[IPC_MAX_PAYLOAD + 1];
	struct result r = { .fd = -1 };
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	r.ev = ev_new();
	struct ipc *a = ipc_new(r.ev, sv[0], "a", handler, closed, &r);
	/* The largest payload goes; one byte more is refused at the sender. */
	assert_int_equal(ipc_send(a, IPC_QUEUE_DATA, 1, big, IPC_MAX_PAYLOAD, -1), 0);
	assert_int_equal(ipc_send(a, IPC_QUEUE_DATA, 1, big, IPC_MAX_PAYLOAD + 1, -1), -1);
	/* A peer that never reads: past IPC_MAX_QUEUED the send fails. */
	int sent = 0;
	while (ipc_send(a, IPC_QUEUE_DATA, 1, big, IPC_MAX_PAYLOAD, -1) == 0 &&
	       sent < 2 * (IPC_MAX_QUEUED / IPC_MAX_PAYLOAD))
		sent++;
	assert_true(sent < 2 * (IPC_MAX_QUEUED / IPC_MAX_PAYLOAD));
	assert_true(ipc_queued(a) <= IPC_MAX_QUEUED);
	ipc_close(&a);
	close(sv[1]);
	ev_free(&r.ev);
}

/* A peer that writes its last message and exits without reading what it
 * was sent: the kernel reports ECONNRESET on a SOCK_SEQPACKET link before
 * the messages still queued.  They are read first (a child's last log
 * record says why it could not start), then the link closes. */
static void test_last_words_before_a_reset(void **state)
{
	int sv[2];
	struct result r = { .fd = -1 };
	struct buf b;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	r.ev = ev_new();
	struct ipc *a = ipc_new(r.ev, sv[0], "a", handler, closed, &r);
	buf_init(&b, 1024);
	ipc_put_u64(&b, 9);
	ipc_put_str(&b, STR("cannot start"));
	/* a sends to the peer, which never reads it... */
	assert_int_equal(ipc_send(a, IPC_LOG, 0, b.data, b.len, -1), 0);
	/* ...and the peer sends its last words and closes. */
	struct ipc_header h = { .kind = IPC_LOG, .len = (uint32_t)b.len };
	unsigned char out[sizeof(h) + 64];
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), b.data, b.len);
	assert_int_equal(send(sv[1], out, sizeof(h) + b.len, 0), (ssize_t)(sizeof(h) + b.len));
	close(sv[1]);
	ev_timer_add(r.ev, 2000, timeout, r.ev);
	ev_run(r.ev);
	assert_int_equal(r.got, 1);
	assert_string_equal(r.text, "cannot start");
	assert_int_equal(r.value, 9);
	ev_run(r.ev);
	assert_int_equal(r.closed, 1); /* and a is freed with its link */
	buf_free(&b);
	ev_free(&r.ev);
}

static void test_reader_bounds(void **state)
{
	unsigned char payload[16];
	uint64_t big = 1000;
	(void)state;
	memcpy(payload, &big, 8);
	memcpy(payload + 8, "abcdefgh", 8);
	struct ipc_msg msg = { .payload = payload, .len = sizeof(payload), .fd = -1 };
	struct ipc_reader r;
	ipc_reader_init(&r, &msg);
	/* A string claiming more bytes than are there fails, sticky. */
	struct str s = ipc_get_str(&r, 4096);
	assert_null(s.ptr);
	assert_false(ipc_reader_ok(&r));
	assert_int_equal(ipc_get_u64(&r), 0);
}

/* ipc_recv_blocking: a good message, a timeout, and the kind table's
 * checks (a descriptor where none may come, a message bigger than the
 * caller's buffer) all as the event-driven reader applies them. */
static void test_recv_blocking(void **state)
{
	int sv[2], p[2];
	unsigned char buf[sizeof(struct ipc_header) + 64];
	struct ipc_msg msg;
	uint64_t v = 7;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ipc_send_blocking(sv[0], IPC_SESSION_REFUSED, 9, &v, sizeof(v), -1), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], &msg, buf, sizeof(buf), 1000), 0);
	assert_int_equal(msg.kind, IPC_SESSION_REFUSED);
	assert_int_equal(msg.id, 9);
	assert_int_equal(msg.len, sizeof(v));
	assert_int_equal(msg.fd, -1);
	assert_memory_equal(msg.payload, &v, sizeof(v));

	assert_int_equal(ipc_recv_blocking(sv[1], &msg, buf, sizeof(buf), 50), -1);
	assert_int_equal(errno, ETIMEDOUT);

	assert_int_equal(ipc_send_blocking(sv[0], IPC_SESSION_REFUSED, 1, &v, sizeof(v), p[0]), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], &msg, buf, sizeof(buf), 1000), -1);
	assert_int_equal(errno, EPROTO);

	unsigned char big[128] = { 0 };
	assert_int_equal(ipc_send_blocking(sv[0], IPC_QUEUE_DATA, 1, big, sizeof(big), -1), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], &msg, buf, sizeof(buf), 1000), -1);
	assert_int_equal(errno, EPROTO);

	close(sv[0]);
	assert_int_equal(ipc_recv_blocking(sv[1], &msg, buf, sizeof(buf), 1000), -1);
	assert_int_equal(errno, ECONNRESET);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

/* A login handler that keeps where its payload was, to look after it. */
struct login_seen {
	int got;
	const unsigned char *payload;
	size_t len;
	bool had_password;
	struct ev *ev;
};

static void login_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct login_seen *seen = ctx;
	(void)ipc;
	seen->got++;
	seen->payload = msg->payload;
	seen->len = msg->len;
	seen->had_password = memmem(msg->payload, msg->len, "hunter2", 7) != NULL;
	ev_stop(seen->ev);
}

static void login_closed(struct ipc *ipc, void *ctx)
{
	struct login_seen *seen = ctx;
	(void)ipc;
	seen->got = -1;
	ev_stop(seen->ev);
}

/* put_login writes an IPC_LOGIN payload with fields of the given lengths. */
static void put_login(struct buf *b, size_t user, size_t password)
{
	static char x[IPC_MAX_PAYLOAD];
	memset(x, 'x', sizeof(x));
	memcpy(x, "hunter2", 7);
	buf_reset(b);
	ipc_put_str(b, str_from(x + 7, user));
	ipc_put_str(b, str_from(x, password));
	ipc_put_str(b, str_from(x, IPC_LOGIN_MAX_IP));
}

/* IPC_LOGIN: the largest fields the senders allow fit the kind's bound (one
 * byte more closes the link), and the password is wiped from the reader's
 * buffer once the handler has returned. */
static void test_login_bounds_and_wipe(void **state)
{
	int sv[2];
	struct buf b;
	struct login_seen seen = { 0 };
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	seen.ev = ev_new();
	struct ipc *a = ipc_new(seen.ev, sv[0], "a", login_handler, login_closed, &seen);
	struct ipc *bb = ipc_new(seen.ev, sv[1], "b", login_handler, login_closed, &seen);
	buf_init(&b, IPC_MAX_PAYLOAD);
	put_login(&b, IPC_LOGIN_MAX_USER, IPC_LOGIN_MAX_PASSWORD);
	assert_int_equal(ipc_send_buf(a, IPC_LOGIN, 1, &b, -1), 0);
	ev_run(seen.ev);
	assert_int_equal(seen.got, 1);
	assert_true(seen.had_password);
	for (size_t i = 0; i < seen.len; i++)
		assert_int_equal(seen.payload[i], 0);

	put_login(&b, IPC_LOGIN_MAX_USER, IPC_LOGIN_MAX_PASSWORD + 1);
	assert_int_equal(ipc_send_buf(a, IPC_LOGIN, 2, &b, -1), 0);
	ev_run(seen.ev);
	assert_int_equal(seen.got, -1);
	(void)bb;
	ipc_close(&a);
	buf_free(&b);
	ev_free(&seen.ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_with_descriptor),
		cmocka_unit_test(test_reader_bounds),
		cmocka_unit_test(test_payload_limit),
		cmocka_unit_test(test_recv_blocking),
		cmocka_unit_test(test_last_words_before_a_reset),
		cmocka_unit_test(test_login_bounds_and_wipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
