/* Unit tests for queue-spam: a check made before the spam process's link
 * is there (start-up, a restart) waits for it and gets a verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue/queue-spam.h"

struct outcome {
	struct ev *ev;
	int calls;
	enum ipc_spam_verdict verdict;
};

static void answered(void *ctx, const struct queue_spam_answer *a)
{
	struct outcome *o = ctx;
	o->calls++;
	o->verdict = a->verdict;
	ev_stop(o->ev);
}

static void give_up(struct ev_timer *t, void *ctx)
{
	(void)t;
	ev_stop(ctx);
}

static void test_check_waits_for_the_link(void **state)
{
	(void)state;
	struct outcome o = { .ev = ev_new() };
	assert_non_null(o.ev);
	queue_spam_init(o.ev);
	int message = memfd_create("message", MFD_CLOEXEC);
	assert_true(message >= 0);
	assert_int_equal(write(message, "Subject: x\r\n\r\nhi\r\n", 19), 19);
	struct spool_rcpt rcpt = { .address = STR("bob@example.org") };
	struct queue_spam_request req = { .client_ip = STR("192.0.2.1"), .helo = STR("mx.example.net"),
					  .sender = STR("carol@example.net"), .rcpts = &rcpt,
					  .rcpt_count = 1, .message_fd = message };
	queue_spam_check(&req, answered, &o);
	close(message);  /* the caller's: the check keeps its own */
	assert_int_equal(o.calls, 0);

	/* The link comes: the check goes out on it, with the message. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	queue_spam_link(sv[0]);
	unsigned char buf[IPC_MAX_PAYLOAD + 64];
	struct ipc_msg msg;
	assert_int_equal(ipc_recv_blocking(sv[1], &msg, buf, sizeof(buf), 2000), 0);
	assert_int_equal(msg.kind, IPC_SPAM_CHECK);
	assert_true(msg.fd >= 0);
	char text[32] = { 0 };
	assert_int_equal(pread(msg.fd, text, sizeof(text) - 1, 0), 19);
	assert_string_equal(text, "Subject: x\r\n\r\nhi\r\n");
	close(msg.fd);

	/* Its verdict is the answer. */
	struct buf v;
	buf_init(&v, IPC_MAX_PAYLOAD);
	assert_int_equal(ipc_put_u64(&v, IPC_SPAM_REJECT) | ipc_put_str(&v, STR("")) |
				 ipc_put_str(&v, STR("spam")),
			 0);
	assert_int_equal(ipc_send_blocking(sv[1], IPC_SPAM_VERDICT, msg.id, v.data, v.len, -1), 0);
	buf_free(&v);
	ev_timer_add(o.ev, 2000, give_up, o.ev);
	ev_run(o.ev);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.verdict, IPC_SPAM_REJECT);
	close(sv[1]);
	ev_free(&o.ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_waits_for_the_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
