/*
 * Unit tests for worker-commit: with a store of its own (SQLite, in a
 * temporary directory) and a loop, a commit is held until the sync at the
 * end of the loop's turn, one sync serves every commit made in the turn,
 * and nothing is held once all is durable.  An APPEND's message file
 * waits for that sync too: not in place until it, readable all the same,
 * at most BLOB_DEFERRED_MAX of them (the APPEND past them syncs them all),
 * and a row a crash left without its file is removed at the next start.
 * The sync runs beside the loop: a commit made while it is out waits for
 * the next one, a failed sync drops only the answers that waited for it,
 * and one sync is out at a time (STORE_SYNC_OUT_MAX).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <unistd.h>

#include "lib/ev.h"
#include "mail/mime.h"
#include "store/blob.h"
#include "store/store.h"
#include "worker/worker-commit.h"

static unsigned synced_calls;
static bool synced_ok;
static uint64_t synced_done;
static struct ev *loop;

static void synced(bool ok, uint64_t done)
{
	synced_calls++;
	synced_ok = ok;
	synced_done = done;
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

	worker_commit_stop();
	store_close(&store);
	ev_free(&loop);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static const char appended_text[] = "From: a@example.org\r\n"
				    "Subject: appended\r\n"
				    "\r\n"
				    "Body of the appended message.\r\n";

/* append_one APPENDs text to INBOX and returns its UID. */
static uint32_t append_one(struct store *store, const char *text)
{
	struct mime_limits limits;
	const struct mime_message *msg = NULL;
	const char *error = NULL;
	uint32_t uidvalidity = 0, uid = 0;

	mime_limits_default(&limits);
	struct mime_parser *parser = mime_parser_new(&limits);
	assert_non_null(parser);
	size_t len = strlen(text);
	assert_int_equal(mime_parser_feed(parser, text, len, &error), 0);
	assert_int_equal(mime_parser_finish(parser, &msg, &error), 0);
	struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
	struct store_append_msg m = { .iov = &iov, .iovcnt = 1, .msg = msg, .internal_date = 1 };
	assert_int_equal(store_append(store, "INBOX", &m, 1, &uidvalidity, &uid, &error), STORE_OK);
	mime_parser_free(&parser);
	return uid;
}

/* files_in counts the entries of dir/sub that are not dot files. */
static unsigned files_in(const char *dir, const char *sub)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	DIR *d = opendir(path);
	unsigned n = 0;
	if (d == NULL)
		return 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* placed counts the message files in place (blobs/00 .. blobs/ff). */
static unsigned placed(const char *dir)
{
	unsigned n = 0;
	for (unsigned i = 0; i < 256; i++) {
		char sub[16];
		snprintf(sub, sizeof(sub), "blobs/%02x", i);
		n += files_in(dir, sub);
	}
	return n;
}

/* committing_store makes a store in dir (a mkdtemp template), a loop,
 * and starts the group commit on them. */
static struct store *committing_store(char *dir)
{
	struct store *store = NULL;
	const char *error = NULL;

	synced_calls = 0;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_create(dir, &error), 0);
	assert_int_equal(store_open(dir, &store, &error), 0);
	loop = ev_new();
	assert_non_null(loop);
	assert_int_equal(worker_commit_start(loop, store, synced, &error), 0);
	return store;
}

/* committing_store_end stops the group commit, closes the store and the
 * loop and removes dir. */
static void committing_store_end(struct store **store, const char *dir)
{
	char cmd[64];
	worker_commit_stop();
	store_close(store);
	ev_free(&loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* remove_tmp_files removes what waits in dir/blobs/tmp (as a crash
 * before the sync may lose it; a sync then fails at the rename). */
static void remove_tmp_files(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/blobs/tmp", dir);
	DIR *d = opendir(path);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] != '.')
			assert_int_equal(unlinkat(dirfd(d), e->d_name, 0), 0);
	}
	closedir(d);
}

static void test_append_file_waits_for_the_sync(void **state)
{
	char dir[] = "/tmp/ravelin-worker-commit-XXXXXX";
	struct store *store = NULL;
	const char *error = NULL;
	char buf[64];
	size_t got = 0;
	uint64_t size = 0;
	(void)state;

	store = committing_store(dir);

	/* Appended: held, its file not in place yet but readable. */
	uint32_t uid = append_one(store, appended_text);
	assert_true(worker_commit_hold());
	assert_int_equal(placed(dir), 0);
	assert_int_equal(files_in(dir, "blobs/tmp"), 1);
	struct store_reader *r = NULL;
	assert_int_equal(store_reader_open(store, "INBOX", uid, &r, &size, &error), STORE_OK);
	assert_int_equal(size, strlen(appended_text));
	assert_int_equal(store_reader_read(r, 0, buf, 4, &got, &error), STORE_OK);
	assert_memory_equal(buf, "From", 4);
	store_reader_close(&r);

	/* The turn's sync: the file is in place, then the answer may go. */
	struct ev_timer *guard = ev_timer_add(loop, 10000, too_long, NULL);
	assert_int_equal(ev_run(loop), 0);
	ev_timer_del(&guard);
	assert_int_equal(synced_calls, 1);
	assert_true(synced_ok);
	assert_false(worker_commit_hold());
	assert_int_equal(placed(dir), 1);
	assert_int_equal(files_in(dir, "blobs/tmp"), 0);

	committing_store_end(&store, dir);
}

/* BLOB_DEFERRED_MAX files wait for the turn's sync; the APPEND one past
 * them commits with a sync of its own, which puts every file in place. */
static void test_one_past_the_files_that_may_wait(void **state)
{
	char dir[] = "/tmp/ravelin-worker-commit-XXXXXX";
	struct store *store;
	char text[160];
	(void)state;

	store = committing_store(dir);

	for (unsigned i = 0; i <= BLOB_DEFERRED_MAX; i++) {
		snprintf(text, sizeof(text),
			 "From: a@example.org\r\nSubject: wait %u\r\n\r\nbody %u\r\n", i, i);
		append_one(store, text);
		if (i + 1 == BLOB_DEFERRED_MAX) {
			assert_int_equal(files_in(dir, "blobs/tmp"), BLOB_DEFERRED_MAX);
			assert_int_equal(placed(dir), 0);
			assert_true(store_sync_pending(store));
		}
	}
	/* The one past them commits with a sync of its own, and that sync
	 * makes the earlier rows durable too: every waiting file went into
	 * place before it. */
	assert_int_equal(files_in(dir, "blobs/tmp"), 0);
	assert_int_equal(placed(dir), BLOB_DEFERRED_MAX + 1);
	/* Nothing is left for the turn's sync: the answers may go. */
	assert_false(store_sync_pending(store));
	assert_false(worker_commit_hold());

	committing_store_end(&store, dir);
}

/* A crash between the commit and the sync, as the disk may keep it: the
 * row durable, its file not.  The next start removes the row. */
static void test_row_without_file_removed_at_start(void **state)
{
	char dir[] = "/tmp/ravelin-worker-commit-XXXXXX";
	struct store *store = NULL;
	struct store_mailbox box;
	const char *error = NULL;
	char path[256];
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_create(dir, &error), 0);
	assert_int_equal(store_open(dir, &store, &error), 0);
	assert_int_equal(store_sync_defer(store, true, &error), 0);
	(void)append_one(store, appended_text); /* durable: synced below */
	assert_int_equal(store_sync(store, &error), 0);
	(void)append_one(store, "Subject: lost\r\n\r\nIts file is lost.\r\n");
	remove_tmp_files(dir);
	store_close(&store); /* the rows reach the database, one file does not */

	assert_int_equal(store_open(dir, &store, &error), 0);
	assert_int_equal(store_mailbox_get(store, "INBOX", &box, &error), STORE_OK);
	free(box.name);
	assert_int_equal(box.messages, 2);
	assert_int_equal(store_sync_defer(store, true, &error), 0);
	assert_int_equal(store_mailbox_get(store, "INBOX", &box, &error), STORE_OK);
	free(box.name);
	assert_int_equal(box.messages, 1);
	struct store_reader *r = NULL;
	uint64_t size = 0;
	assert_int_equal(store_reader_open(store, "INBOX", 1, &r, &size, &error), STORE_OK);
	store_reader_close(&r);
	store_close(&store);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* stop_turn ends ev_run after this turn's timers: a sync the turn
 * started is out, and the loop has not heard of its end. */
static void stop_turn(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	ev_stop(loop);
}

/* run_until_synced runs the loop until synced is called once more. */
static void run_until_synced(void)
{
	unsigned before = synced_calls;
	struct ev_timer *guard = ev_timer_add(loop, 10000, too_long, NULL);
	assert_int_equal(ev_run(loop), 0);
	ev_timer_del(&guard);
	assert_int_equal(synced_calls, before + 1);
}

/* A command that commits while a sync is out waits for the next sync:
 * the loop keeps serving, and its answer does not go with the first. */
static void test_commit_during_a_sync_waits_for_the_next(void **state)
{
	char dir[] = "/tmp/ravelin-worker-commit-XXXXXX";
	(void)state;

	struct store *store = committing_store(dir);
	append_one(store, appended_text);
	uint64_t first = worker_commit_ticket();
	assert_int_equal(first, 1);
	/* One turn: the sync of the first starts beside the loop. */
	struct ev_timer *stop = ev_timer_add(loop, 0, stop_turn, NULL);
	assert_non_null(stop);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(synced_calls, 0);
	assert_false(worker_commit_covered(first));
	assert_false(store_sync_pending(store)); /* taken by the sync out */

	/* The second arrives during that sync: not taken by it. */
	uint32_t uid = append_one(store, "Subject: second\r\n\r\nDuring the sync.\r\n");
	uint64_t second = worker_commit_ticket();
	assert_int_equal(second, 2);
	assert_true(store_sync_pending(store));
	struct store_reader *r = NULL;
	uint64_t size = 0;
	const char *error = NULL;
	assert_int_equal(store_reader_open(store, "INBOX", uid, &r, &size, &error), STORE_OK);
	store_reader_close(&r);

	/* The first sync ends: the first answer may go, the second waits;
	 * the next sync started at once with the second. */
	run_until_synced();
	assert_true(synced_ok);
	assert_int_equal(synced_done, 1);
	assert_true(worker_commit_covered(first));
	assert_false(worker_commit_covered(second));
	assert_false(store_sync_pending(store));
	assert_int_equal(worker_commit_ticket(), second);

	run_until_synced();
	assert_true(synced_ok);
	assert_int_equal(synced_done, 2);
	assert_true(worker_commit_covered(second));
	assert_false(worker_commit_hold());
	assert_int_equal(placed(dir), 2);
	assert_int_equal(files_in(dir, "blobs/tmp"), 0);

	committing_store_end(&store, dir);
}

/* A sync that fails reports its own number only: the answers that waited
 * for it are dropped, those of commits made during it wait for theirs;
 * its rows are removed (their files are gone), the later ones kept. */
static void test_failed_sync_drops_only_its_answers(void **state)
{
	char dir[] = "/tmp/ravelin-worker-commit-XXXXXX";
	struct store_mailbox box;
	const char *error = NULL;
	(void)state;

	struct store *store = committing_store(dir);
	append_one(store, appended_text);
	uint64_t first = worker_commit_ticket();
	remove_tmp_files(dir); /* its sync cannot put it in place */
	struct ev_timer *stop = ev_timer_add(loop, 0, stop_turn, NULL);
	assert_non_null(stop);
	assert_int_equal(ev_run(loop), 0);
	uint32_t uid = append_one(store, "Subject: second\r\n\r\nDuring the sync.\r\n");
	uint64_t second = worker_commit_ticket();
	assert_int_equal(second, first + 1);

	run_until_synced();
	assert_false(synced_ok);
	assert_int_equal(synced_done, first);
	assert_false(worker_commit_covered(second));

	run_until_synced();
	assert_true(synced_ok);
	assert_int_equal(synced_done, second);
	assert_int_equal(store_mailbox_get(store, "INBOX", &box, &error), STORE_OK);
	free(box.name);
	assert_int_equal(box.messages, 1);
	struct store_reader *r = NULL;
	uint64_t size = 0;
	assert_int_equal(store_reader_open(store, "INBOX", uid, &r, &size, &error), STORE_OK);
	store_reader_close(&r);
	assert_int_equal(placed(dir), 1);

	committing_store_end(&store, dir);
}

/* STORE_SYNC_OUT_MAX syncs may be out; one past them is refused, and
 * the commits made meanwhile go with the next. */
static void test_one_past_the_syncs_out(void **state)
{
	char dir[] = "/tmp/ravelin-worker-commit-XXXXXX";
	struct store *store = NULL;
	const char *error = NULL;
	char sync_error[STORE_SYNC_ERROR_MAX];
	char cmd[64];
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_create(dir, &error), 0);
	assert_int_equal(store_open(dir, &store, &error), 0);
	assert_int_equal(store_sync_defer(store, true, &error), 0);
	assert_int_equal(store_sync_begin(store, &error), 0); /* nothing pending */
	for (unsigned i = 0; i < STORE_SYNC_OUT_MAX; i++) {
		append_one(store, appended_text);
		assert_int_equal(store_sync_begin(store, &error), 1);
	}
	append_one(store, "Subject: later\r\n\r\nOne past.\r\n");
	assert_int_equal(store_sync_begin(store, &error), -1);
	assert_true(store_sync_pending(store));
	assert_int_equal(store_sync_run(store, sync_error), 0);
	assert_int_equal(store_sync_end(store, true, &error), 0);
	assert_int_equal(store_sync_begin(store, &error), 1);
	assert_int_equal(store_sync_run(store, sync_error), 0);
	assert_int_equal(store_sync_end(store, true, &error), 0);
	assert_false(store_sync_pending(store));
	assert_int_equal(placed(dir), 2);
	store_close(&store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* A sync's files are synced BLOB_SYNC_THREADS at a time at most: one
 * past them shares a thread, and every file still goes into place. */
static void test_one_past_the_sync_threads(void **state)
{
	char dir[] = "/tmp/ravelin-worker-commit-XXXXXX";
	char text[160];
	(void)state;

	struct store *store = committing_store(dir);
	for (unsigned i = 0; i <= BLOB_SYNC_THREADS; i++) {
		snprintf(text, sizeof(text), "Subject: thread %u\r\n\r\nbody %u\r\n", i, i);
		append_one(store, text);
	}
	assert_true(worker_commit_hold());
	run_until_synced();
	assert_true(synced_ok);
	assert_int_equal(placed(dir), BLOB_SYNC_THREADS + 1);
	assert_int_equal(files_in(dir, "blobs/tmp"), 0);
	committing_store_end(&store, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commits_held_until_one_sync),
		cmocka_unit_test(test_append_file_waits_for_the_sync),
		cmocka_unit_test(test_one_past_the_files_that_may_wait),
		cmocka_unit_test(test_row_without_file_removed_at_start),
		cmocka_unit_test(test_commit_during_a_sync_waits_for_the_next),
		cmocka_unit_test(test_failed_sync_drops_only_its_answers),
		cmocka_unit_test(test_one_past_the_syncs_out),
		cmocka_unit_test(test_one_past_the_sync_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
