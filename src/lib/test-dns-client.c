/* Unit tests for dns-client: one answer per question, whatever happens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/dns-client.h"
#include "lib/dns-msg.h"
#include "lib/ipc.h"

/* A process runs one loop (timers know it through the last one run). */
static struct ev *the_ev;

/* The resolver's end, played by the test. */
struct fake {
	struct ev *ev;
	struct ipc *ipc;
	int questions;
	uint64_t last_id;
	enum dns_type last_type;
	char last_name[DNS_MAX_NAME + 1];
	int reply;                    /* 0: answer A 127.0.0.1; 1: keep silent; 2: garbage */
};

/* What the asker saw. */
struct seen {
	struct ev *ev;
	int calls;
	enum dns_status status;
	size_t count;
	bool stop;                    /* stop the loop on the first call */
};

static void fake_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct fake *f = ctx;
	struct str name;
	(void)ipc;
	assert_int_equal(msg->kind, IPC_DNS_QUERY);
	assert_int_equal(dns_msg_get_query(msg->payload, msg->len, &f->last_type, &name), 0);
	memcpy(f->last_name, name.ptr, name.len);
	f->last_name[name.len] = '\0';
	f->last_id = msg->id;
	f->questions++;
	if (f->reply == 1)
		return;
	if (f->reply == 2) {
		uint64_t junk[3] = { 9, 9, 9 };
		ipc_send(f->ipc, IPC_DNS_ANSWER, msg->id, junk, sizeof(junk), -1);
		return;
	}
	struct dns_record rr = { .data = STR("\x7f\0\0\1") };
	struct dns_answer a = { .status = DNS_OK, .count = 1, .records = &rr };
	struct buf b;
	buf_init(&b, 1024);
	dns_msg_put_answer(&b, &a);
	ipc_send_buf(f->ipc, IPC_DNS_ANSWER, msg->id, &b, -1);
	buf_free(&b);
}

static void fake_closed(struct ipc *ipc, void *ctx)
{
	struct fake *f = ctx;
	(void)ipc;
	f->ipc = NULL;
}

static void answered(const struct dns_answer *a, void *ctx)
{
	struct seen *s = ctx;
	s->calls++;
	s->status = a->status;
	s->count = a->count;
	if (s->stop)
		ev_stop(s->ev);
}

struct runner {
	struct ev *ev;
	struct ev_timer *timer;
};

static void stop_loop(struct ev_timer *t, void *ctx)
{
	struct runner *r = ctx;
	(void)t;
	r->timer = NULL;
	ev_stop(r->ev);
}

/* run turns the loop until it is stopped or ms pass. */
static void run(struct ev *ev, uint64_t ms)
{
	struct runner r = { .ev = ev };
	r.timer = ev_timer_add(ev, ms, stop_loop, &r);
	ev_run(ev);
	ev_timer_del(&r.timer);
}

static struct dns_client *setup(struct ev *ev, struct fake *f)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	f->ev = ev;
	f->ipc = ipc_new(ev, sv[1], "fake resolver", fake_message, fake_closed, f);
	struct dns_client *c = dns_client_new(ev, sv[0]);
	assert_non_null(c);
	return c;
}

static void test_answer(void **state)
{
	struct ev *ev = the_ev;
	struct fake f = { 0 };
	struct dns_client *c = setup(ev, &f);
	struct seen s = { .ev = ev, .stop = true };
	(void)state;

	assert_int_equal(dns_client_ask(c, DNS_TYPE_A, STR("a.test"), answered, &s), 0);
	assert_int_equal(s.calls, 0);
	run(ev, 2000);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, DNS_OK);
	assert_int_equal(s.count, 1);
	assert_string_equal(f.last_name, "a.test");
	assert_int_equal(f.last_type, DNS_TYPE_A);
	dns_client_free(&c);
	ipc_close(&f.ipc);
}

/* No link: TEMPFAIL, but not inside the call. */
static void test_no_link(void **state)
{
	struct ev *ev = the_ev;
	struct dns_client *c = dns_client_new(ev, -1);
	struct seen s = { .ev = ev, .stop = true };
	(void)state;

	assert_false(dns_client_connected(c));
	assert_int_equal(dns_client_ask(c, DNS_TYPE_MX, STR("a.test"), answered, &s), 0);
	assert_int_equal(s.calls, 0);
	run(ev, 2000);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, DNS_TEMPFAIL);
	char longname[DNS_MAX_NAME + 1];
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(dns_client_ask(c, DNS_TYPE_MX, str_from(longname, sizeof(longname)),
					answered, &s), -1);
	dns_client_free(&c);
}

/* The resolver goes away while a question waits: TEMPFAIL once. */
static void test_link_lost(void **state)
{
	struct ev *ev = the_ev;
	struct fake f = { .reply = 1 };
	struct dns_client *c = setup(ev, &f);
	struct seen s = { .ev = ev };
	(void)state;

	assert_int_equal(dns_client_ask(c, DNS_TYPE_TXT, STR("a.test"), answered, &s), 0);
	run(ev, 200);
	assert_int_equal(f.questions, 1);
	ipc_close(&f.ipc);
	run(ev, 200);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, DNS_TEMPFAIL);
	assert_false(dns_client_connected(c));
	dns_client_free(&c);
}

/* A malformed answer closes the link: TEMPFAIL. */
static void test_malformed(void **state)
{
	struct ev *ev = the_ev;
	struct fake f = { .reply = 2 };
	struct dns_client *c = setup(ev, &f);
	struct seen s = { .ev = ev, .stop = true };
	(void)state;

	assert_int_equal(dns_client_ask(c, DNS_TYPE_A, STR("a.test"), answered, &s), 0);
	run(ev, 2000);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, DNS_TEMPFAIL);
	assert_false(dns_client_connected(c));
	dns_client_free(&c);
	ipc_close(&f.ipc);
}

/* Cancelled: never called, and the late answer is dropped. */
static void test_cancel(void **state)
{
	struct ev *ev = the_ev;
	struct fake f = { 0 };
	struct dns_client *c = setup(ev, &f);
	struct seen s = { .ev = ev }, other = { .ev = ev };
	(void)state;

	assert_int_equal(dns_client_ask(c, DNS_TYPE_A, STR("a.test"), answered, &s), 0);
	assert_int_equal(dns_client_ask(c, DNS_TYPE_A, STR("b.test"), answered, &other), 0);
	dns_client_cancel_all(c, &s);
	run(ev, 300);
	assert_int_equal(s.calls, 0);
	assert_int_equal(other.calls, 1);
	assert_true(dns_client_connected(c));
	dns_client_free(&c);
	ipc_close(&f.ipc);
}

/* DNS_CLIENT_MAX_OUTSTANDING questions are sent; one more fails at once. */
static void test_outstanding_bound(void **state)
{
	struct ev *ev = the_ev;
	struct fake f = { .reply = 1 };
	struct dns_client *c = setup(ev, &f);
	struct seen s = { .ev = ev }, over = { .ev = ev };
	(void)state;

	for (int i = 0; i < DNS_CLIENT_MAX_OUTSTANDING; i++)
		assert_int_equal(dns_client_ask(c, DNS_TYPE_A, STR("a.test"), answered, &s), 0);
	assert_int_equal(dns_client_ask(c, DNS_TYPE_A, STR("a.test"), answered, &over), 0);
	run(ev, 300);
	assert_int_equal(f.questions, DNS_CLIENT_MAX_OUTSTANDING);
	assert_int_equal(over.calls, 1);
	assert_int_equal(over.status, DNS_TEMPFAIL);
	assert_int_equal(s.calls, 0);
	dns_client_free(&c);
	assert_int_equal(s.calls, 0);
	ipc_close(&f.ipc);
}

/* No answer within DNS_CLIENT_TIMEOUT_MS: TEMPFAIL, then a late answer
 * is dropped. */
static void test_timeout(void **state)
{
	struct ev *ev = the_ev;
	struct fake f = { .reply = 1 };
	struct dns_client *c = setup(ev, &f);
	struct seen s = { .ev = ev, .stop = true };
	(void)state;

	assert_int_equal(dns_client_ask(c, DNS_TYPE_A, STR("a.test"), answered, &s), 0);
	run(ev, DNS_CLIENT_TIMEOUT_MS - 500);
	assert_int_equal(s.calls, 0);
	run(ev, 2000);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, DNS_TEMPFAIL);
	dns_client_free(&c);
	ipc_close(&f.ipc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_no_link),
		cmocka_unit_test(test_link_lost),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_outstanding_bound),
		cmocka_unit_test(test_timeout),
	};
	the_ev = ev_new();
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	ev_free(&the_ev);
	return failed;
}
