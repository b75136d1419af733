/* Unit tests for queue-quota-wait: an answer comes when every account it
 * waits for is told, or when its time is up; a closed link's questions go
 * unanswered with nothing left behind; one question past
 * QUEUE_QUOTA_WAIT_MAX is refused (answered at once by the caller). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/ev.h"
#include "queue/queue-quota-wait.h"

/* One loop for every test: ev_timer_del knows a timer's heap only
 * through the loop that ran last (one loop per process). */
static struct ev *loop;
static bool stop_on_answer;
static uint64_t answered[QUEUE_QUOTA_WAIT_MAX + 1];
static size_t answer_count;

static void answer(struct ipc *front, uint64_t id, void *data)
{
	(void)front;
	free(data);
	answered[answer_count++] = id;
	if (stop_on_answer)
		ev_stop(loop);
}

/* A fake link: only its address is used. */
static int link_a, link_b;
#define FRONT_A ((struct ipc *)(void *)&link_a)
#define FRONT_B ((struct ipc *)(void *)&link_b)

static void test_told(void **state)
{
	(void)state;
	struct ev *ev = loop;
	uint64_t accounts[] = { 1, 2 };
	answer_count = 0;
	assert_int_equal(queue_quota_wait_add(ev, 60000, FRONT_A, 7, accounts, 2, answer,
					      malloc(16)), 0);
	assert_int_equal(queue_quota_wait_add(ev, 60000, FRONT_B, 8, accounts + 1, 1, answer,
					      NULL), 0);
	queue_quota_wait_told(1);
	assert_int_equal(answer_count, 0);
	queue_quota_wait_told(3);
	assert_int_equal(answer_count, 0);
	queue_quota_wait_told(2);
	assert_int_equal(answer_count, 2);
	assert_int_equal(queue_quota_wait_count(), 0);
	/* Nothing to wait for: refused, the caller answers. */
	assert_int_equal(queue_quota_wait_add(ev, 60000, FRONT_A, 9, accounts, 0, answer, NULL),
			 -1);
}

static void test_timer(void **state)
{
	(void)state;
	uint64_t account = 5;
	answer_count = 0;
	assert_int_equal(queue_quota_wait_add(loop, 10, FRONT_A, 11, &account, 1, answer,
					      malloc(16)), 0);
	stop_on_answer = true;
	ev_run(loop);
	stop_on_answer = false;
	assert_int_equal(answer_count, 1);
	assert_int_equal(answered[0], 11);
	assert_int_equal(queue_quota_wait_count(), 0);
	/* Told after the time is up: nothing more. */
	queue_quota_wait_told(5);
	assert_int_equal(answer_count, 1);
}

static void test_drop_and_bound(void **state)
{
	(void)state;
	struct ev *ev = loop;
	uint64_t account = 4;
	answer_count = 0;
	for (uint64_t i = 0; i < QUEUE_QUOTA_WAIT_MAX; i++)
		assert_int_equal(queue_quota_wait_add(ev, 60000, i % 2 ? FRONT_A : FRONT_B, i,
						      &account, 1, answer, malloc(16)), 0);
	/* One past the bound. */
	assert_int_equal(queue_quota_wait_add(ev, 60000, FRONT_A, 999, &account, 1, answer,
					      NULL), -1);
	/* A closed link: its questions go, freed (the sanitizer checks),
	 * unanswered; the others still wait. */
	queue_quota_wait_drop(FRONT_A);
	assert_int_equal(queue_quota_wait_count(), QUEUE_QUOTA_WAIT_MAX / 2);
	assert_int_equal(answer_count, 0);
	queue_quota_wait_told(4);
	assert_int_equal(answer_count, QUEUE_QUOTA_WAIT_MAX / 2);
	for (size_t i = 0; i < answer_count; i++)
		assert_int_equal(answered[i] % 2, 0);
	assert_int_equal(queue_quota_wait_count(), 0);
}

static void stop(struct ev_timer *timer, void *ctx)
{
	(void)timer;
	(void)ctx;
	ev_stop(loop);
}

int main(void)
{
	loop = ev_new();
	ev_timer_add(loop, 0, stop, NULL);
	ev_run(loop);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_told),
		cmocka_unit_test(test_timer),
		cmocka_unit_test(test_drop_and_bound),
	};
	int failed = cmocka_run_group_tests_name("queue-quota-wait", tests, NULL, NULL);
	ev_free(&loop);
	return failed;
}
