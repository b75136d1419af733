/* Unit tests for auth-queue: client keying, fair order, bounds, penalties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth/auth-queue.h"
#include "lib/ipc.h"

/* A fixed clock: the queue takes the time from its caller. */
#define NOW ((time_t)1700000000)

/* client makes the keys of an address text. */
static struct auth_client client(const char *ip)
{
	struct auth_client c;
	auth_client_from_ip(str_c(ip), &c);
	return c;
}

/* Requests are opaque to the queue: the test's are names. */
struct request {
	const char *name;
	struct auth_client client;
};

/* push queues r from its client; returns what auth_queue_push says. */
static int push(struct auth_queue *q, struct request *r, const char *ip)
{
	r->client = client(ip);
	return auth_queue_push(q, &r->client, r, NOW);
}

/* next_name takes the next request and gives its name ("-" for none). */
static const char *next_name(struct auth_queue *q)
{
	struct request *r = auth_queue_next(q);
	return r != NULL ? r->name : "-";
}

/* IPv4: one address each, one /24 network; IPv6: failures per /64. */
static void test_keys(void **state)
{
	(void)state;
	struct auth_client a = client("192.0.2.1"), b = client("192.0.2.200");
	struct auth_client c = client("192.0.3.1");
	assert_int_equal(a.address.family, AUTH_KEY_IPV4);
	assert_false(auth_key_eq(&a.address, &b.address));
	assert_true(auth_key_eq(&a.network, &b.network));
	assert_false(auth_key_eq(&a.penalty, &b.penalty));
	assert_false(auth_key_eq(&a.network, &c.network));

	struct auth_client d = client("2001:db8:1:2::1"), e = client("2001:db8:1:2:ffff::9");
	struct auth_client f = client("2001:db8:1:3::1");
	assert_int_equal(d.address.family, AUTH_KEY_IPV6);
	assert_false(auth_key_eq(&d.address, &e.address));
	assert_true(auth_key_eq(&d.network, &e.network));
	assert_true(auth_key_eq(&d.penalty, &e.penalty));
	assert_false(auth_key_eq(&d.penalty, &f.penalty));
	assert_false(auth_key_eq(&d.network, &f.network));

	/* An IPv4-mapped IPv6 address is the IPv4 client. */
	struct auth_client m = client("::ffff:192.0.2.1");
	assert_true(auth_key_eq(&m.address, &a.address));
	assert_true(auth_key_eq(&m.penalty, &a.penalty));

	/* Text that is no address: one shared key, never a crash. */
	struct auth_client x = client("not an address"), y = client("");
	assert_int_equal(x.address.family, AUTH_KEY_OTHER);
	assert_true(auth_key_eq(&x.penalty, &y.penalty));
	struct auth_client z;
	auth_client_from_ip(STR_NULL, &z);
	assert_true(auth_key_eq(&z.network, &x.network));
}

/* One check in flight per network: the other network goes meanwhile. */
static void test_one_in_flight_per_network(void **state)
{
	(void)state;
	struct auth_queue *q = auth_queue_new();
	struct request a1 = { .name = "a1" }, a2 = { .name = "a2" };
	struct request b1 = { .name = "b1" }, c1 = { .name = "c1" };
	assert_int_equal(push(q, &a1, "192.0.2.1"), 0);
	assert_int_equal(push(q, &a2, "192.0.2.2"), 0); /* same /24 */
	assert_int_equal(push(q, &b1, "198.51.100.1"), 0);
	assert_int_equal(push(q, &c1, "2001:db8::1"), 0);
	assert_string_equal(next_name(q), "a1");
	assert_string_equal(next_name(q), "b1");
	assert_string_equal(next_name(q), "c1");
	assert_string_equal(next_name(q), "-"); /* a2 waits for a1 */
	assert_int_equal(auth_queue_waiting(q), 1);
	assert_int_equal(auth_queue_in_flight(q), 3);
	auth_queue_done(q, &a1, false, NOW, NULL);
	assert_string_equal(next_name(q), "a2");
	auth_queue_free(&q);
	assert_null(q);
}

/* Networks take turns: a flood from one does not hold back another. */
static void test_round_robin(void **state)
{
	(void)state;
	struct auth_queue *q = auth_queue_new();
	struct request x[4] = { { .name = "x1" }, { .name = "x2" }, { .name = "x3" }, { .name = "x4" } };
	struct request y[2] = { { .name = "y1" }, { .name = "y2" } };
	for (int i = 0; i < 4; i++)
		assert_int_equal(push(q, &x[i], "203.0.113.7"), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(push(q, &y[i], "2001:db8:5::1"), 0);
	/* One checker: each check ends before the next starts. */
	const char *order[] = { "x1", "y1", "x2", "y2", "x3", "x4" };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct request *r = auth_queue_next(q);
		assert_non_null(r);
		assert_string_equal(r->name, order[i]);
		auth_queue_done(q, r, false, NOW, NULL);
	}
	assert_null(auth_queue_next(q));
	auth_queue_free(&q);
}

/* A client that logged in recently goes before the waiting others. */
static void test_known_good_first(void **state)
{
	(void)state;
	struct auth_queue *q = auth_queue_new();
	struct request good = { .name = "good" }, g2 = { .name = "g2" };
	assert_int_equal(push(q, &good, "198.51.100.9"), 0);
	assert_ptr_equal(auth_queue_next(q), &good);
	assert_int_equal(auth_queue_done(q, &good, true, NOW, NULL), 0);

	struct request others[5] = { { .name = "o1" }, { .name = "o2" }, { .name = "o3" },
				     { .name = "o4" }, { .name = "o5" } };
	char ip[32];
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "203.0.%d.1", i);
		assert_int_equal(push(q, &others[i], ip), 0);
	}
	assert_int_equal(push(q, &g2, "198.51.100.9"), 0);
	assert_string_equal(next_name(q), "g2");
	assert_string_equal(next_name(q), "o1");
	auth_queue_free(&q);

	/* A day later it is a stranger again. */
	q = auth_queue_new();
	assert_int_equal(push(q, &good, "198.51.100.9"), 0);
	assert_ptr_equal(auth_queue_next(q), &good);
	auth_queue_done(q, &good, true, NOW, NULL);
	good.client = client("198.51.100.9");
	others[0].client = client("203.0.0.1");
	assert_int_equal(auth_queue_push(q, &others[0].client, &others[0], NOW), 0);
	assert_int_equal(
		auth_queue_push(q, &good.client, &good, NOW + AUTH_KNOWN_GOOD_S + 1), 0);
	assert_string_equal(next_name(q), "o1");
	auth_queue_free(&q);
}

/* Requests that waited while their client logged in are known good from
 * then on: the next login of that client must not pass them (a burst of
 * logins from one address, the first check a success). */
static void test_waiting_requests_become_known_good(void **state)
{
	(void)state;
	struct auth_queue *q = auth_queue_new();
	struct request a[8];
	char names[8][8];
	for (int i = 0; i < 8; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i + 1);
		a[i] = (struct request){ .name = names[i] };
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(push(q, &a[i], "127.0.0.1"), 0);
	/* Each success brings a new login of the same client: the waiting
	 * ones still go in arrival order. */
	const char *order[] = { "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8" };
	for (int i = 0; i < 8; i++) {
		struct request *r = auth_queue_next(q);
		assert_non_null(r);
		assert_string_equal(r->name, order[i]);
		auth_queue_done(q, r, true, NOW, NULL);
		if (i + 4 < 8)
			assert_int_equal(push(q, &a[i + 4], "127.0.0.1"), 0);
	}
	assert_null(auth_queue_next(q));
	auth_queue_free(&q);
}

/* Clients known good go first, but not for ever: while a stranger waits,
 * it gets a check after AUTH_KNOWN_GOOD_RUN known good ones. */
static void test_strangers_are_not_starved(void **state)
{
	(void)state;
	struct auth_queue *q = auth_queue_new();
	struct request first = { .name = "first" }, stranger = { .name = "stranger" };
	struct request good[AUTH_KNOWN_GOOD_RUN + 1];
	assert_int_equal(push(q, &first, "198.51.100.9"), 0);
	assert_ptr_equal(auth_queue_next(q), &first);
	auth_queue_done(q, &first, true, NOW, NULL);
	assert_int_equal(push(q, &stranger, "203.0.113.7"), 0);
	for (int i = 0; i <= AUTH_KNOWN_GOOD_RUN; i++) {
		good[i] = (struct request){ .name = "good" };
		assert_int_equal(push(q, &good[i], "198.51.100.9"), 0);
	}
	for (int i = 0; i < AUTH_KNOWN_GOOD_RUN; i++) {
		struct request *r = auth_queue_next(q);
		assert_ptr_equal(r, &good[i]);
		auth_queue_done(q, r, true, NOW, NULL);
	}
	assert_string_equal(next_name(q), "stranger");
	assert_string_equal(next_name(q), "good");
	auth_queue_free(&q);
}

/* The queue and each network's share of it are bounded. */
static void test_bounds(void **state)
{
	(void)state;
	struct auth_queue *q = auth_queue_new();
	static struct request r[AUTH_QUEUE_MAX + 1];
	char ip[32];
	for (int i = 0; i < AUTH_QUEUE_MAX_PER_NETWORK; i++)
		assert_int_equal(push(q, &r[i], "192.0.2.1"), 0);
	assert_int_equal(push(q, &r[AUTH_QUEUE_MAX], "192.0.2.99"), -1);
	/* Other networks still get in, up to the whole queue. */
	for (int i = AUTH_QUEUE_MAX_PER_NETWORK; i < AUTH_QUEUE_MAX; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		assert_int_equal(push(q, &r[i], ip), 0);
	}
	assert_int_equal(push(q, &r[AUTH_QUEUE_MAX], "172.16.0.1"), -1);
	assert_int_equal(auth_queue_waiting(q), AUTH_QUEUE_MAX);
	/* A finished check makes room. */
	struct request *first = auth_queue_next(q);
	auth_queue_done(q, first, false, NOW, NULL);
	assert_int_equal(push(q, &r[AUTH_QUEUE_MAX], "172.16.0.1"), 0);
	auth_queue_free(&q);
}

/* done_after checks one login of ip and returns the refusal's delay. */
static uint64_t done_after(struct auth_queue *q, const char *ip, bool ok, time_t now,
			   unsigned *failures_r)
{
	struct request r = { .name = ip };
	r.client = client(ip);
	assert_int_equal(auth_queue_push(q, &r.client, &r, now), 0);
	assert_ptr_equal(auth_queue_next(q), &r);
	return auth_queue_done(q, &r, ok, now, failures_r);
}

/* Failures double the delay per IPv4 address and per IPv6 /64. */
static void test_penalties(void **state)
{
	(void)state;
	struct auth_queue *q = auth_queue_new();
	unsigned n;
	assert_int_equal(done_after(q, "127.0.0.2", false, NOW, &n), IPC_LOGIN_FIRST_DELAY_MS);
	assert_int_equal(n, 1);
	assert_int_equal(done_after(q, "127.0.0.2", false, NOW, &n),
			 2 * IPC_LOGIN_FIRST_DELAY_MS);
	/* Another address of the same /24 has its own count. */
	assert_int_equal(done_after(q, "127.0.0.3", false, NOW, &n), IPC_LOGIN_FIRST_DELAY_MS);
	assert_int_equal(n, 1);
	/* IPv6: another address of the same /64 is the same client. */
	assert_int_equal(done_after(q, "2001:db8:0:1::1", false, NOW, NULL),
			 IPC_LOGIN_FIRST_DELAY_MS);
	assert_int_equal(done_after(q, "2001:db8:0:1:abcd::2", false, NOW, &n),
			 2 * IPC_LOGIN_FIRST_DELAY_MS);
	assert_int_equal(n, 2);
	assert_int_equal(done_after(q, "2001:db8:0:2::1", false, NOW, NULL),
			 IPC_LOGIN_FIRST_DELAY_MS);
	/* The delay stops growing at the maximum. */
	uint64_t d = 0;
	for (int i = 0; i < 40; i++)
		d = done_after(q, "198.51.100.1", false, NOW, NULL);
	assert_int_equal(d, IPC_LOGIN_MAX_DELAY_MS);
	/* A success clears the count... */
	assert_int_equal(done_after(q, "127.0.0.2", true, NOW, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(done_after(q, "127.0.0.2", false, NOW, NULL), IPC_LOGIN_FIRST_DELAY_MS);
	/* ... and so does time. */
	assert_int_equal(done_after(q, "127.0.0.3", false, NOW + AUTH_PENALTY_MEMORY_S + 1, &n),
			 IPC_LOGIN_FIRST_DELAY_MS);
	assert_int_equal(n, 1);
	auth_queue_free(&q);
}

/* Past AUTH_PENALTY_TRACKED clients the oldest entry makes room. */
static void test_penalty_table_is_bounded(void **state)
{
	(void)state;
	struct auth_queue *q = auth_queue_new();
	char ip[32];
	done_after(q, "192.0.2.1", false, NOW, NULL);
	for (int i = 0; i < AUTH_PENALTY_TRACKED; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
		done_after(q, ip, false, NOW + 1, NULL);
	}
	/* The first client was forgotten: its count starts again. */
	unsigned n;
	done_after(q, "192.0.2.1", false, NOW + 2, &n);
	assert_int_equal(n, 1);
	auth_queue_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_one_in_flight_per_network),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_known_good_first),
		cmocka_unit_test(test_waiting_requests_become_known_good),
		cmocka_unit_test(test_strangers_are_not_starved),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_penalties),
		cmocka_unit_test(test_penalty_table_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
