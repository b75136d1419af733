/* worker-submit: the worker speaks to auth and the queue what a
 * submission client's pre-auth process speaks, in order, under auth's
 * seals, one mail at a time; a sender auth does not seal is not sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/ipc.h"
#include "lib/ticket.h"
#include "worker/worker-submit.h"

static struct ev *ev;
static struct buf data;        /* what the queue received */
static char begun_sender[300];
static char rcpt[300];
static uint64_t rcpt_txn = 99, begun_account, ended;
static unsigned lookups;

static void worker_auth(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ctx;
	assert_true(worker_submit_auth_message(ipc, msg));
}

static void stop(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	ev_stop(ev);
}

static void put_mac(struct buf *b, char c)
{
	char mac[TICKET_RCPT_MAC_SIZE];
	memset(mac, c, sizeof(mac));
	ipc_put_str(b, str_from(mac, sizeof(mac)));
}

/* The stand-in for auth: alice may send (not carol); every recipient is
 * sealed, remote (no accounts). */
static void fake_auth(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct buf out;
	struct ipc_reader r;
	(void)ctx;
	buf_init(&out, IPC_MAX_PAYLOAD);
	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_SUBMIT_SENDERS_ASK) {
		ipc_put_u64(&out, 7);
		ipc_put_u64(&out, 2000000000);
		ipc_put_u64(&out, 2);
		ipc_put_str(&out, STR("other@a.test"));
		put_mac(&out, 'O');
		ipc_put_str(&out, STR("Alice@a.test"));
		put_mac(&out, 'A');
		assert_int_equal(ipc_send_buf(ipc, IPC_SUBMIT_SENDERS, msg->id, &out, -1), 0);
	} else {
		assert_int_equal(msg->kind, IPC_RCPT_LOOKUP);
		struct str a = ipc_get_str(&r, IPC_MAX_PATH);
		rcpt_txn = ipc_get_u64(&r);
		snprintf(rcpt, sizeof(rcpt), "%.*s", (int)a.len, a.ptr);
		lookups++;
		ipc_put_u64(&out, IPC_RCPT_OK);
		ipc_put_u64(&out, 0);
		ipc_put_u64(&out, 2000000000);
		put_mac(&out, 'R');
		ipc_put_u64(&out, 0);
		assert_int_equal(ipc_send_buf(ipc, IPC_RCPT_RESULT, msg->id, &out, -1), 0);
	}
	buf_free(&out);
}

/* The stand-in for the queue: keeps what it is given, answers OK. */
static void fake_queue(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct ipc_reader r;
	(void)ctx;
	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_QUEUE_BEGIN) {
		struct str s = ipc_get_str(&r, IPC_MAX_PATH);
		ipc_get_u64(&r);
		begun_account = ipc_get_u64(&r);
		ipc_get_u64(&r);
		struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
		assert_true(ipc_reader_ok(&r));
		assert_int_equal(mac.ptr[0], 'A');
		snprintf(begun_sender, sizeof(begun_sender), "%.*s", (int)s.len, s.ptr);
	} else if (msg->kind == IPC_QUEUE_RCPT) {
		struct str s = ipc_get_str(&r, IPC_MAX_PATH);
		assert_true(str_eq(s, str_c(rcpt)));
		assert_int_equal(ipc_get_u64(&r), 0);
		ipc_get_u64(&r);
		struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
		assert_int_equal(mac.ptr[0], 'R');
	} else if (msg->kind == IPC_QUEUE_DATA) {
		buf_append(&data, msg->payload, msg->len);
	} else {
		assert_int_equal(msg->kind, IPC_QUEUE_END);
		ended++;
		struct buf out;
		buf_init(&out, 256);
		ipc_put_u64(&out, IPC_QUEUE_OK);
		ipc_put_str(&out, STR("qid1"));
		assert_int_equal(ipc_send_buf(ipc, IPC_QUEUE_RESULT, msg->id, &out, -1), 0);
		buf_free(&out);
		ev_timer_add(ev, 50, stop, NULL);
	}
}

static void test_submit(void **state)
{
	int a[2], q[2];
	const char *error;
	(void)state;
	ev = ev_new();
	assert_non_null(ev);
	buf_init(&data, 4 * 1024 * 1024);
	worker_submit_init(ev);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q), 0);
	struct ipc *auth = ipc_new(ev, a[0], "auth", worker_auth, NULL, NULL);
	struct ipc *fa = ipc_new(ev, a[1], "fake auth", fake_auth, NULL, NULL);
	struct ipc *fq = ipc_new(ev, q[1], "fake queue", fake_queue, NULL, NULL);
	assert_non_null(fa);
	assert_non_null(fq);

	/* Mail waits until both links are there. */
	struct buf mail;
	buf_init(&mail, 1024 * 1024);
	buf_printf(&mail, "From: <alice@a.test>\r\nTo: <bob@b.test>\r\n\r\n");
	for (int i = 0; i < 2000; i++)
		buf_printf(&mail, "line %d of a mail longer than one IPC message...........\r\n", i);
	assert_int_equal(worker_submit_send("alice@a.test", "bob@b.test", buf_str(&mail), &error), 0);
	assert_true(worker_submit_busy());
	worker_submit_auth_ready(auth);
	worker_submit_link(q[0]);
	ev_run(ev);
	assert_false(worker_submit_busy());
	/* The sender as auth spelt it, the account auth named, transaction 0. */
	assert_string_equal(begun_sender, "Alice@a.test");
	assert_int_equal(begun_account, 7);
	assert_string_equal(rcpt, "bob@b.test");
	assert_int_equal(rcpt_txn, 0);
	assert_int_equal(ended, 1);
	assert_true(str_eq(buf_str(&data), buf_str(&mail)));

	/* A sender auth does not seal: nothing reaches the queue. */
	assert_int_equal(worker_submit_send("carol@a.test", "bob@b.test", STR("x\r\n"), &error), 0);
	ev_timer_add(ev, 200, stop, NULL);
	ev_run(ev);
	assert_false(worker_submit_busy());
	assert_int_equal(lookups, 1);
	assert_int_equal(ended, 1);
	/* The next mail is transaction 1 (the queue counted the first). */
	buf_reset(&data);
	assert_int_equal(worker_submit_send("alice@a.test", "dave@d.test", STR("y\r\n"), &error), 0);
	ev_run(ev);
	assert_int_equal(rcpt_txn, 1);
	assert_int_equal(ended, 2);
	/* Past WORKER_SUBMIT_MAX_WAITING: refused (nothing runs meanwhile). */
	worker_submit_auth_ready(NULL);
	for (int i = 0; i < WORKER_SUBMIT_MAX_WAITING; i++)
		assert_int_equal(worker_submit_send("alice@a.test", "x@d.test", STR("z\r\n"), &error), 0);
	assert_int_equal(worker_submit_send("alice@a.test", "x@d.test", STR("z\r\n"), &error), -1);
	worker_submit_close();
	assert_false(worker_submit_busy());
	ipc_close(&auth);
	ipc_close(&fa);
	ipc_close(&fq);
	ev_free(&ev);
	buf_free(&mail);
	buf_free(&data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
