/*
 * Unit tests of the store's hygiene (store_gc_step, store_usage): the
 * files of expunged messages and deleted mailboxes go, shared ones stay
 * while a message names them, a file reused by a later delivery stays,
 * files a crash left unnamed are swept, old delivery keys are forgotten,
 * and a pass killed (SIGKILL) at random points never leaves a message
 * without its file, while a completed pass leaves no unnamed file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"
#include "store/test-store.h"

/* A fixed "now" for the steps, so key ages are exact. */
#define NOW ((int64_t)1800000000)
/* Messages the crash test starts with, and the rounds it kills. */
#define CRASH_MESSAGES 240
#define CRASH_ROUNDS 24

/* gc_all runs steps until no work is left; returns how many it took. */
static int gc_all(struct store *store, int64_t now)
{
	const char *error = NULL;
	bool more = true;
	int steps = 0;
	while (more) {
		if (store_gc_step(store, now, &more, &error) != STORE_OK)
			fail_msg("store_gc_step: %s", error);
		assert_true(++steps < 100000);
	}
	return steps;
}

static int blob_files(const struct test_dir *d)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/blobs", d->path);
	return count_files(path);
}

/* blob_path names the file of hash in d. */
static void blob_path(const struct test_dir *d, const char *hash, char *path, size_t size)
{
	snprintf(path, size, "%s/blobs/%.2s/%s", d->path, hash, hash);
}

static struct store_usage usage_of(struct store *store)
{
	struct store_usage u;
	const char *error = NULL;
	if (store_usage(store, &u, &error) != STORE_OK)
		fail_msg("store_usage: %s", error);
	return u;
}

/* all_uids lists the UIDs of mailbox into uids (at most max). */
static size_t all_uids(struct store *store, const char *mailbox, uint32_t *uids, size_t max)
{
	struct store_message *list;
	size_t count;
	const char *error = NULL;
	assert_int_equal(store_message_list(store, mailbox, &list, &count, &error), 0);
	assert_true(count <= max);
	for (size_t i = 0; i < count; i++)
		uids[i] = list[i].uid;
	free(list);
	return count;
}

static void expunge_all(struct store *store, const char *mailbox)
{
	uint32_t uids[1024];
	const char *error = NULL;
	size_t n = all_uids(store, mailbox, uids, 1024);
	assert_int_equal(store_expunge(store, mailbox, uids, n, &error), 0);
}

/* Expunged files go; one shared with a copy (and one delivered twice)
 * stays until its last message goes; usage follows. */
static void test_gc_expunge(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	bool dup;

	deliver_text(store, "INBOX", "k1", "Subject: a\r\n\r\na\r\n", &dup);
	deliver_text(store, "INBOX", "k2", "Subject: b\r\n\r\nb\r\n", &dup);
	deliver_text(store, "INBOX", "k3", "Subject: c\r\n\r\nc\r\n", &dup);
	deliver_text(store, "Archive", "k4", "Subject: c\r\n\r\nc\r\n", &dup);
	uint32_t one = 1, *src, *dst, validity;
	size_t copied;
	assert_int_equal(store_copy(store, "INBOX", &one, 1, "Sent", false, &validity, &src, &dst,
				    &copied, &error), 0);
	free(src);
	free(dst);
	assert_int_equal(blob_files(d), 3);
	struct store_usage u = usage_of(store);
	assert_int_equal(u.messages, 5);
	assert_int_equal(u.files, 3);
	assert_true(u.file_bytes > 0 && u.db_bytes > 0);

	expunge_all(store, "INBOX");
	u = usage_of(store);
	assert_int_equal(u.orphans, 3);
	gc_all(store, NOW);
	/* a's file (Sent's copy) and c's (Archive) stay, b's goes. */
	assert_int_equal(blob_files(d), 2);
	u = usage_of(store);
	assert_int_equal(u.orphans, 0);
	assert_int_equal(u.messages, 2);
	assert_int_equal(u.files, 2);
	int fd = store_message_open(store, "Sent", 1, &error);
	assert_true(fd >= 0);
	close(fd);

	expunge_all(store, "Sent");
	expunge_all(store, "Archive");
	gc_all(store, NOW);
	assert_int_equal(blob_files(d), 0);
	u = usage_of(store);
	assert_int_equal(u.files, 0);
	/* The WAL the expunges grew is truncated once the work is done. */
	char wal[4096];
	struct stat st;
	snprintf(wal, sizeof(wal), "%s/store.db-wal", d->path);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_size, 0);
	store_close(&store);
}

/* A delivery that reuses the file of an expunged message (same content,
 * before the pass ran) keeps it: the pass sees the new row. */
static void test_gc_reused_file(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	static const char text[] = "Subject: again\r\n\r\nthe same\r\n";
	bool dup;

	uint32_t uid = deliver_text(store, "INBOX", "k1", text, &dup);
	assert_int_equal(store_expunge(store, "INBOX", &uid, 1, &error), 0);
	uid = deliver_text(store, "INBOX", "k2", text, &dup);
	gc_all(store, NOW);
	assert_int_equal(blob_files(d), 1);
	int fd = store_message_open(store, "INBOX", uid, &error);
	assert_true(fd >= 0);
	char *content = read_all(fd);
	close(fd);
	assert_string_equal(content, text);
	free(content);
	store_close(&store);
}

/* A deleted mailbox's files go (its rows leave through the cascade). */
static void test_gc_mailbox_delete(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	bool dup;

	assert_int_equal(store_mailbox_create(store, "Old", &error), 0);
	deliver_text(store, "Old", "k1", "Subject: x\r\n\r\nx\r\n", &dup);
	deliver_text(store, "Old", "k2", "Subject: y\r\n\r\ny\r\n", &dup);
	deliver_text(store, "INBOX", "k3", "Subject: z\r\n\r\nz\r\n", &dup);
	assert_int_equal(store_mailbox_delete(store, "Old", &error), 0);
	assert_int_equal(usage_of(store).orphans, 2);
	gc_all(store, NOW);
	assert_int_equal(blob_files(d), 1);
	store_close(&store);
}

/* write_stray leaves a file under a hash name no row has, as a batch
 * killed between its renames and its COMMIT does; mtime 0: now. */
static void write_stray(const struct test_dir *d, const char *hash, time_t mtime)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/blobs/%.2s", d->path, hash);
	mkdir(path, 0700);
	blob_path(d, hash, path, sizeof(path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: stray\r\n\r\nleft\r\n", f);
	fclose(f);
	if (mtime != 0) {
		struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };
		assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	}
}

/* leave_wal leaves the store's WAL behind, as the killed process that
 * left strays does (its connection never closed); the store is closed. */
static void leave_wal(const struct test_dir *d)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/store.db-wal", d->path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

#define STRAY_A "ab00000000000000000000000000000000000000000000000000000000000001"
#define STRAY_B "ab00000000000000000000000000000000000000000000000000000000000002"
#define STRAY_C "cd00000000000000000000000000000000000000000000000000000000000003"

/* What a crash left is swept at the next opening (the killed process left
 * its WAL), once; a clean close since the last sweep sweeps again only a
 * day later; a later sweep looks only at what changed since the last one
 * (less the margin). */
static void test_gc_sweep(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	char path[4096];
	bool dup;

	deliver_text(store, "INBOX", "k1", "Subject: kept\r\n\r\nkept\r\n", &dup);
	write_stray(d, STRAY_A, 0);
	write_stray(d, STRAY_C, 0);
	/* Another name in blobs/ that is no hash is none of the pass's business. */
	snprintf(path, sizeof(path), "%s/blobs/ab/notes", d->path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	store_close(&store);

	store = new_store(d);
	gc_all(store, time(NULL));
	assert_int_equal(blob_files(d), 2); /* the message's and "notes" */
	assert_true(sql_int(d, "SELECT value FROM meta WHERE key = 'gc_swept_at'") > 0);
	/* Swept once per opening: a stray written now waits for the next. */
	write_stray(d, STRAY_A, 0);
	gc_all(store, time(NULL));
	blob_path(d, STRAY_A, path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	store_close(&store);

	/* Closed cleanly since the last sweep: not swept at the next opening. */
	store = new_store(d);
	gc_all(store, time(NULL));
	assert_int_equal(access(path, F_OK), 0);
	store_close(&store);

	/* After a crash (its WAL left), a stray older than the last sweep
	 * (less the margin) is not looked at again; a new one is. */
	write_stray(d, STRAY_B, 1000000000);
	leave_wal(d);
	store = new_store(d);
	gc_all(store, time(NULL));
	assert_int_equal(access(path, F_OK), -1);
	blob_path(d, STRAY_B, path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	store_close(&store);

	/* Closed cleanly again: a new stray waits a day for its sweep. */
	write_stray(d, STRAY_C, 0);
	blob_path(d, STRAY_C, path, sizeof(path));
	store = new_store(d);
	gc_all(store, time(NULL));
	assert_int_equal(access(path, F_OK), 0);
	store_close(&store);
	store = new_store(d);
	gc_all(store, time(NULL) + 86400);
	assert_int_equal(access(path, F_OK), -1);
	store_close(&store);

	/* A clock gone back before the last sweep sweeps everything. */
	blob_path(d, STRAY_B, path, sizeof(path));
	store = new_store(d);
	gc_all(store, 1000000000);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(blob_files(d), 2);
	store_close(&store);
}

/* Delivery keys older than STORE_DELIVERY_KEEP_SECONDS are forgotten, in
 * steps; younger ones still refuse a repeated delivery. */
static void test_gc_delivery_keys(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	bool dup;

	deliver_text(store, "INBOX", "k1", "Subject: a\r\n\r\na\r\n", &dup);
	/* 1,500 old keys: more than one step's worth. */
	sql_exec(d, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)"
		    " INSERT INTO deliveries (key, message_id, mailbox_id, uid, at)"
		    " SELECT 'old' || i, NULL, 1, i, 1000 FROM n");
	int64_t now = (int64_t)time(NULL);
	assert_true(gc_all(store, now) >= 2);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM deliveries"), 1);
	deliver_text(store, "INBOX", "k1", "Subject: a\r\n\r\na\r\n", &dup);
	assert_true(dup);
	/* Past its keep time (the next look comes within the interval). */
	gc_all(store, now + STORE_DELIVERY_KEEP_SECONDS + 7200);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM deliveries"), 0);
	assert_int_equal(deliver_text(store, "INBOX", "k1", "Subject: a\r\n\r\na\r\n", &dup), 2);
	assert_false(dup);
	store_close(&store);
}

/* check_store: every message of every mailbox has its file, readable. */
static void check_store(const struct test_dir *d)
{
	struct store *store = new_store(d);
	struct store_mailbox *boxes;
	size_t box_count;
	const char *error = NULL;
	char path[4096];

	assert_int_equal(store_mailbox_list(store, &boxes, &box_count, &error), 0);
	for (size_t b = 0; b < box_count; b++) {
		struct store_message *list;
		size_t count;
		assert_int_equal(store_message_list(store, boxes[b].name, &list, &count, &error), 0);
		for (size_t i = 0; i < count; i++) {
			blob_path(d, list[i].hash, path, sizeof(path));
			struct stat st;
			if (stat(path, &st) < 0 || (uint64_t)st.st_size != list[i].size)
				fail_msg("%s UID %u: its file is gone", boxes[b].name, list[i].uid);
		}
		free(list);
	}
	store_mailbox_list_free(&boxes, box_count);
	store_close(&store);
}

/* distinct_files: how many distinct contents the messages name. */
static int distinct_files(const struct test_dir *d)
{
	return (int)sql_int(d, "SELECT count(DISTINCT blob) FROM messages");
}

/* deliver_batch delivers n messages (text "m<first + i>", the same text
 * as an earlier call's gives the same file) in one batch, then copies the
 * INBOX messages whose UID is a multiple of 3 to Archive. */
static void deliver_batch(struct store *store, unsigned first, unsigned n)
{
	const char *error = NULL;
	char text[128], key[32];
	struct iovec iov;
	struct test_msg t;
	uint32_t uid;
	bool dup;

	assert_int_equal(store_batch_begin(store, &error), 0);
	for (unsigned i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "Subject: m%u\r\n\r\nbody %u\r\n", first + i, first + i);
		snprintf(key, sizeof(key), "q%u.%u", first + i, n);
		iov = (struct iovec){ text, strlen(text) };
		test_msg_init(&t, &iov, 1, "m");
		assert_int_equal(store_batch_deliver(store, "INBOX", key, &iov, 1, &t.msg, NOW, &uid,
						     &dup, &error), 0);
	}
	assert_int_equal(store_batch_commit(store, &error), 0);
	uint32_t uids[1024];
	size_t count = all_uids(store, "INBOX", uids, 1024), kept = 0;
	for (size_t i = 0; i < count; i++)
		if (uids[i] % 3 == 0)
			uids[kept++] = uids[i];
	uint32_t *src, *dst, validity;
	size_t copied;
	assert_int_equal(store_copy(store, "INBOX", uids, kept, "Archive", false, &validity, &src,
				    &dst, &copied, &error), 0);
	free(src);
	free(dst);
}

/*
 * The crash test: a child process runs the pass over a store with
 * hundreds of expunged messages (half their files shared with copies) and
 * strays a crash left, and is killed with SIGKILL after a random time.
 * After each kill every message still has its file; between rounds more
 * is expunged and some expunged content delivered again (reusing files).
 * A last pass that completes leaves exactly the files messages name.
 */
/* run_pass_child forks a process that opens the store and runs the pass
 * to its end; returns its pid. */
static pid_t run_pass_child(const struct test_dir *d)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *child = NULL;
		const char *error = NULL;
		bool more = true;
		if (store_open(d->path, &child, &error) != 0)
			_exit(2);
		while (more)
			if (store_gc_step(child, (int64_t)time(NULL), &more, &error) != 0)
				_exit(3);
		store_close(&child);
		_exit(0);
	}
	return pid;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void test_gc_crash(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	char hash[80];
	int killed = 0, completed = 0;
	int64_t pass_us = 0;

	srand((unsigned)getpid());
	deliver_batch(store, 0, CRASH_MESSAGES);
	store_close(&store);
	for (int round = 0; round < CRASH_ROUNDS; round++) {
		store = new_store(d);
		/* Expunge a slice of INBOX and of Archive, leave strays, and
		 * bring back the content of some expunged messages. */
		uint32_t uids[1024];
		size_t n = all_uids(store, "INBOX", uids, 1024);
		size_t take = n < 20 ? n : 20;
		assert_int_equal(store_expunge(store, "INBOX", uids, take, &error), 0);
		n = all_uids(store, "Archive", uids, 1024);
		take = n < 4 ? n : 4;
		assert_int_equal(store_expunge(store, "Archive", uids, take, &error), 0);
		for (int i = 0; i < 3; i++) {
			snprintf(hash, sizeof(hash), "%02x%062x", rand() % 256, round * 8 + i);
			write_stray(d, hash, 0);
		}
		if (round % 4 == 3)
			deliver_batch(store, (unsigned)round * 10, 10);
		store_close(&store);
		leave_wal(d); /* as the batch killed that left the strays */

		/* The first pass runs to its end and gives the time a pass
		 * takes here; the others are killed at a random point of it
		 * (some finish first). */
		int64_t start = now_us();
		pid_t pid = run_pass_child(d);
		if (round > 0) {
			usleep((useconds_t)(rand() % (pass_us + pass_us / 4 + 1)));
			kill(pid, SIGKILL);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (round == 0)
			pass_us = now_us() - start;
		if (WIFSIGNALED(status)) {
			killed++;
		} else {
			assert_int_equal(WEXITSTATUS(status), 0);
			completed++;
		}
		check_store(d);
	}
	/* Rounds cut short and rounds run through, or the test tested little. */
	assert_true(killed > 0);
	store = new_store(d);
	gc_all(store, (int64_t)time(NULL));
	store_close(&store);
	check_store(d);
	assert_int_equal(blob_files(d), distinct_files(d));
	print_message("crash test: %d passes killed, %d completed (a pass: %lld us)\n", killed,
		      completed, (long long)pass_us);
}

/*
 * A pass in another process while this one delivers again the content of
 * the messages just expunged (each delivery reusing the file if it is
 * still there): whatever the interleaving, every message has its file.
 */
static void test_gc_concurrent_reuse(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	char text[128], key[32];
	bool dup;

	for (int round = 0; round < 4; round++) {
		for (unsigned i = 0; i < 60; i++) {
			snprintf(text, sizeof(text), "Subject: r%u\r\n\r\nreused %u\r\n", i, i);
			snprintf(key, sizeof(key), "a%d.%u", round, i);
			deliver_text(store, "INBOX", key, text, &dup);
		}
		expunge_all(store, "INBOX");
		pid_t pid = run_pass_child(d);
		for (unsigned i = 0; i < 60; i++) {
			snprintf(text, sizeof(text), "Subject: r%u\r\n\r\nreused %u\r\n", i, i);
			snprintf(key, sizeof(key), "b%d.%u", round, i);
			deliver_text(store, "Archive", key, text, &dup);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		check_store(d);
		expunge_all(store, "Archive");
	}
	gc_all(store, (int64_t)time(NULL));
	assert_int_equal(blob_files(d), 0);
	store_close(&store);
}

/* test_store_gc_run: see test-store.h. */
int test_store_gc_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gc_expunge, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_gc_reused_file, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_gc_mailbox_delete, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_gc_sweep, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_gc_delivery_keys, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_gc_crash, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_gc_concurrent_reuse, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests_name("store-gc", tests, NULL, NULL);
}
