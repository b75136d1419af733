/*
 * Unit tests for worker-commit: with a store of its own (SQLite, in a
 * temporary directory) and a loop, a commit is held until the sync at the
 * end of the loop's turn, one sync serves every commit made in the turn,
 * and nothing is held once all is durable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/ev.h"
#include "store/store.h"
#include "worker/worker-commit.h"

static unsigned synced_calls;
static bool synced_ok;
static struct ev *loop;

static void synced(bool ok)
{
	synced_calls++;
	synced_ok = ok;
	ev_stop(loop);
}

/* The test gives up if the loop is not stopped by synced in time. */
static void too_long(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	fail_msg("no sync within the turn");
}

static void test_commits_held_until_one_sync(void **state)
{
	char dir[] = "/tmp/ravelin-worker-commit-XXXXXX";
	struct store *store = NULL;
	const char *error = NULL;
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_create(dir, &error), 0);
	assert_int_equal(store_open(dir, &store, &error), 0);
	loop = ev_new();
	assert_non_null(loop);

	/* Before start: nothing is ever held. */
	assert_false(worker_commit_hold());
	assert_int_equal(worker_commit_start(loop, store, synced, &error), 0);
	assert_false(worker_commit_hold());

	/* Two sessions' commits in one turn: both held, one sync. */
	assert_int_equal(store_mailbox_create(store, "One", &error), STORE_OK);
	assert_true(worker_commit_hold());
	assert_int_equal(store_mailbox_create(store, "Two", &error), STORE_OK);
	assert_true(worker_commit_hold());
	struct ev_timer *guard = ev_timer_add(loop, 10000, too_long, NULL);
	assert_int_equal(ev_run(loop), 0);
	ev_timer_del(&guard);
	assert_int_equal(synced_calls, 1);
	assert_true(synced_ok);
	assert_false(store_sync_pending(store));
	assert_false(worker_commit_hold());

	/* worker_commit_now: at once, with the timer dropped. */
	assert_int_equal(store_mailbox_create(store, "Three", &error), STORE_OK);
	assert_true(worker_commit_hold());
	worker_commit_now();
	assert_int_equal(synced_calls, 2);
	assert_false(worker_commit_hold());
	worker_commit_now(); /* nothing pending: no call */
	assert_int_equal(synced_calls, 2);

	store_close(&store);
	ev_free(&loop);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commits_held_until_one_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
