/*
 * Unit tests for worker-index's schedule: a backlog is indexed only once
 * the loop has had nothing to serve (and nothing new is marked) for
 * WORKER_INDEX_QUIET_MS, turn after turn while more is marked, not at all
 * when nothing is (whatever the loop does), and under work that never
 * pauses once per WORKER_INDEX_BUSY_EVERY_MS after WORKER_INDEX_DEFER_MAX_MS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "worker/worker-index.h"

static void test_start_looks_once(void **state)
{
	struct worker_index_state st;
	uint64_t wait;
	(void)state;

	/* A fresh worker looks for a crash's backlog after the quiet time. */
	worker_index_state_init(&st, 1000, 0, 0);
	assert_int_equal(worker_index_next(&st, 1000, 0, 0, &wait), WORKER_INDEX_WAIT);
	assert_int_equal(wait, WORKER_INDEX_QUIET_MS);
	assert_int_equal(worker_index_next(&st, 1000 + WORKER_INDEX_QUIET_MS, 0, 0, &wait),
			 WORKER_INDEX_RUN);
	/* Nothing was there: no timer until the marks move. */
	worker_index_turned(&st, 1200, true, false);
	assert_int_equal(worker_index_next(&st, 5000, 0, 0, &wait), WORKER_INDEX_STOP);
	assert_int_equal(worker_index_next(&st, 9000, 0, 0, &wait), WORKER_INDEX_STOP);
}

static void test_waits_for_quiet(void **state)
{
	struct worker_index_state st;
	uint64_t wait;
	(void)state;

	worker_index_state_init(&st, 0, 0, 0);
	worker_index_turned(&st, 0, true, false);
	/* A mark: wait for the quiet time, counted from the last mark. */
	assert_int_equal(worker_index_next(&st, 100, 1, 0, &wait), WORKER_INDEX_WAIT);
	assert_int_equal(wait, WORKER_INDEX_QUIET_MS);
	assert_int_equal(worker_index_next(&st, 250, 5, 0, &wait), WORKER_INDEX_WAIT);
	assert_int_equal(wait, WORKER_INDEX_QUIET_MS);
	assert_int_equal(worker_index_next(&st, 250 + WORKER_INDEX_QUIET_MS - 1, 5, 0, &wait),
			 WORKER_INDEX_WAIT);
	assert_int_equal(wait, 1);
	assert_int_equal(worker_index_next(&st, 250 + WORKER_INDEX_QUIET_MS, 5, 0, &wait),
			 WORKER_INDEX_RUN);
	/* More marked: the next turn follows after the gap, while quiet. */
	assert_int_equal(worker_index_turned(&st, 460, true, true), WORKER_INDEX_GAP_MS);
	assert_int_equal(worker_index_next(&st, 461, 5, 0, &wait), WORKER_INDEX_RUN);
	worker_index_turned(&st, 470, true, false);
	assert_int_equal(worker_index_next(&st, 480, 5, 0, &wait), WORKER_INDEX_STOP);
	/* A write between turns puts the quiet time back in front. */
	assert_int_equal(worker_index_next(&st, 500, 6, 0, &wait), WORKER_INDEX_WAIT);
	assert_int_equal(wait, WORKER_INDEX_QUIET_MS);
}

static void test_commands_hold_back(void **state)
{
	struct worker_index_state st;
	uint64_t wait;
	(void)state;

	worker_index_state_init(&st, 0, 0, 0);
	worker_index_turned(&st, 0, true, false);
	/* Commands without a backlog: nothing to do, no timer. */
	assert_int_equal(worker_index_next(&st, 100, 0, 7, &wait), WORKER_INDEX_STOP);
	/* A mark, then commands (reads: no new marks) every 100 ms. */
	assert_int_equal(worker_index_next(&st, 200, 1, 8, &wait), WORKER_INDEX_WAIT);
	for (uint64_t now = 300, calls = 9; now < 3000; now += 100, calls++) {
		assert_int_equal(worker_index_next(&st, now, 1, calls, &wait), WORKER_INDEX_WAIT);
		assert_int_equal(wait, WORKER_INDEX_QUIET_MS);
	}
	assert_int_equal(worker_index_next(&st, 2900 + WORKER_INDEX_QUIET_MS, 1, 35, &wait),
			 WORKER_INDEX_RUN);
	/* A command came while the turn ran: the next turn waits again. */
	worker_index_turned(&st, 3100, true, true);
	assert_int_equal(worker_index_next(&st, 3101, 1, 36, &wait), WORKER_INDEX_WAIT);
	assert_int_equal(wait, WORKER_INDEX_QUIET_MS);
}

static void test_failure_retries(void **state)
{
	struct worker_index_state st;
	uint64_t wait;
	(void)state;

	worker_index_state_init(&st, 0, 3, 0);
	assert_int_equal(worker_index_next(&st, WORKER_INDEX_QUIET_MS, 3, 0, &wait),
			 WORKER_INDEX_RUN);
	/* The marks stayed: the backlog is still there, tried again later. */
	assert_int_equal(worker_index_turned(&st, WORKER_INDEX_QUIET_MS, false, false),
			 WORKER_INDEX_RETRY_MS);
	assert_int_equal(worker_index_next(&st, 6000, 3, 0, &wait), WORKER_INDEX_RUN);
}

/* A worker stays while its backlog is being indexed, not past a failed
 * turn (which may fail again), and not once the backlog is done. */
static void test_backlog_keeps_the_worker(void **state)
{
	struct worker_index_state st;
	uint64_t wait;
	(void)state;

	worker_index_state_init(&st, 0, 3, 0);
	assert_true(worker_index_keeps(&st)); /* not known yet */
	assert_int_equal(worker_index_next(&st, WORKER_INDEX_QUIET_MS, 3, 0, &wait),
			 WORKER_INDEX_RUN);
	worker_index_turned(&st, WORKER_INDEX_QUIET_MS, true, true);
	assert_true(worker_index_keeps(&st));
	worker_index_turned(&st, WORKER_INDEX_QUIET_MS + 1, false, false);
	assert_false(worker_index_keeps(&st));
	assert_int_equal(worker_index_next(&st, 6000, 3, 0, &wait), WORKER_INDEX_RUN);
	worker_index_turned(&st, 6000, true, false);
	assert_false(worker_index_keeps(&st));
	/* A new mark: kept again until it is indexed. */
	assert_int_equal(worker_index_next(&st, 7000, 4, 0, &wait), WORKER_INDEX_WAIT);
	assert_true(worker_index_keeps(&st));
}

static void test_busy_writes_still_indexed(void **state)
{
	struct worker_index_state st;
	uint64_t wait, marks = 0, turns = 0;
	(void)state;

	worker_index_state_init(&st, 0, 0, 0);
	worker_index_turned(&st, 0, true, false);
	/* A write every 10 ms for 40 s: no quiet time ever. */
	for (uint64_t now = 10; now <= 40000; now += 10) {
		enum worker_index_step step = worker_index_next(&st, now, ++marks, 0, &wait);
		if (now < 10 + WORKER_INDEX_DEFER_MAX_MS)
			assert_int_equal(step, WORKER_INDEX_WAIT);
		if (step == WORKER_INDEX_RUN) {
			turns++;
			worker_index_turned(&st, now, true, true);
		}
	}
	/* One turn per WORKER_INDEX_BUSY_EVERY_MS after the deferral. */
	uint64_t busy = 40000 - 10 - WORKER_INDEX_DEFER_MAX_MS;
	assert_in_range(turns, busy / WORKER_INDEX_BUSY_EVERY_MS,
			busy / WORKER_INDEX_BUSY_EVERY_MS + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_looks_once),
		cmocka_unit_test(test_waits_for_quiet),
		cmocka_unit_test(test_commands_hold_back),
		cmocka_unit_test(test_failure_retries),
		cmocka_unit_test(test_busy_writes_still_indexed),
		cmocka_unit_test(test_backlog_keeps_the_worker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
