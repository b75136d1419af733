/*
 * bench-store-gc: what the store's hygiene costs.  Not a test: it prints
 * figures for n messages of about 2 KB (each its own file):
 *   - expunging them all, with the trigger that records their files and
 *     without it (dropped for one round), to see what the trigger adds;
 *   - the clean-up pass that removes their files: time, steps, the longest
 *     step (the write lock is held about that long);
 *   - a sweep of blobs/ with n files all named: complete (first sweep of a
 *     store) and incremental (nothing changed since the last sweep).
 *
 *   ninja -C build src/store/bench-store-gc
 *   build/src/store/bench-store-gc DIR [N]
 *
 * DIR must be an empty directory on the disk to measure.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define BENCH_SEQ_FORMAT "X-Bench-Seq: %08u\r\n"
#define BENCH_SEQ_LEN 23
#define BENCH_BODY 2000
#define BENCH_BATCH 256

static double now(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char bench_dir[4096];
static char data[BENCH_SEQ_LEN + 64 + BENCH_BODY];
static size_t data_len;
static const struct mime_message *msg;

/* sql runs a script on the store's database with a connection of its own. */
static void sql(const char *script)
{
	char path[4200];
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/store.db", bench_dir);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, script, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-store-gc: %s: %s\n", script, sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_close(db);
}

static struct store *open_store(void)
{
	struct store *store;
	const char *error;
	if (store_open(bench_dir, &store, &error) < 0) {
		fprintf(stderr, "bench-store-gc: %s\n", error);
		exit(1);
	}
	return store;
}

/* deliver_n delivers n messages numbered from first, in batches. */
static void deliver_n(struct store *store, unsigned first, unsigned n)
{
	const char *error = NULL;
	struct iovec iov = { data, data_len };
	char key[32], seq[BENCH_SEQ_LEN + 1];

	for (unsigned i = 0; i < n; i += BENCH_BATCH) {
		if (store_batch_begin(store, &error) < 0)
			goto failed;
		for (unsigned k = i; k < n && k < i + BENCH_BATCH; k++) {
			uint32_t uid;
			bool dup;
			snprintf(seq, sizeof(seq), BENCH_SEQ_FORMAT, first + k);
			memcpy(data, seq, BENCH_SEQ_LEN);
			snprintf(key, sizeof(key), "bench %u", first + k);
			if (store_batch_deliver(store, "INBOX", key, &iov, 1, msg, 1700000000, &uid,
						&dup, &error) < 0)
				goto failed;
		}
		if (store_batch_commit(store, &error) < 0)
			goto failed;
	}
	return;
failed:
	fprintf(stderr, "bench-store-gc: delivery: %s\n", error);
	exit(1);
}

/* expunge_inbox expunges every message of INBOX in one call; prints its
 * cost per message. */
static void expunge_inbox(struct store *store, const char *what)
{
	struct store_message *list;
	size_t count;
	const char *error;
	if (store_message_list(store, "INBOX", &list, &count, &error) < 0)
		goto failed;
	uint32_t *uids = malloc(count * sizeof(*uids) + 1);
	for (size_t i = 0; i < count; i++)
		uids[i] = list[i].uid;
	free(list);
	double wall = now(CLOCK_MONOTONIC), cpu = now(CLOCK_PROCESS_CPUTIME_ID);
	if (store_expunge(store, "INBOX", uids, count, &error) < 0)
		goto failed;
	wall = now(CLOCK_MONOTONIC) - wall;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	free(uids);
	printf("expunge %zu %s: %.1f us/message wall, %.1f us/message CPU\n", count, what,
	       wall * 1e6 / (double)count, cpu * 1e6 / (double)count);
	return;
failed:
	fprintf(stderr, "bench-store-gc: expunge: %s\n", error);
	exit(1);
}

/* gc_all runs the pass to its end; prints time, steps, longest step. */
static void gc_all(struct store *store, const char *what, int64_t at)
{
	const char *error;
	bool more = true;
	unsigned steps = 0;
	double longest = 0;
	double wall = now(CLOCK_MONOTONIC), cpu = now(CLOCK_PROCESS_CPUTIME_ID);
	while (more) {
		double t = now(CLOCK_MONOTONIC);
		if (store_gc_step(store, at, &more, &error) != STORE_OK) {
			fprintf(stderr, "bench-store-gc: %s\n", error);
			exit(1);
		}
		t = now(CLOCK_MONOTONIC) - t;
		longest = t > longest ? t : longest;
		steps++;
	}
	wall = now(CLOCK_MONOTONIC) - wall;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	printf("%s: %.1f ms wall, %.1f ms CPU, %u steps, longest step %.2f ms\n", what,
	       wall * 1e3, cpu * 1e3, steps, longest * 1e3);
}

/* age sets the mtime of every file and directory below blobs/ to when. */
static time_t age_to;
static int age_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	struct timespec times[2] = { { age_to, 0 }, { age_to, 0 } };
	utimensat(AT_FDCWD, path, times, 0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *error = NULL;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench-store-gc DIR [N]\n");
		return 2;
	}
	unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 10000;
	if (n == 0 || n > 9999999)
		return 2;
	snprintf(bench_dir, sizeof(bench_dir), "%s", argv[1]);
	int len = snprintf(data, sizeof(data), BENCH_SEQ_FORMAT "Subject: bench\r\n\r\n", 0u);
	memset(data + len, 'x', BENCH_BODY);
	for (size_t i = (size_t)len + 70; i < (size_t)len + BENCH_BODY; i += 72) {
		data[i] = '\r';
		data[i + 1] = '\n';
	}
	data_len = (size_t)len + BENCH_BODY;
	struct mime_limits limits;
	mime_limits_default(&limits);
	struct mime_parser *p = mime_parser_new(&limits);
	if (p == NULL || mime_parser_feed(p, data, data_len, &error) < 0 ||
	    mime_parser_finish(p, &msg, &error) < 0 || store_preinit(&error) < 0 ||
	    store_create(bench_dir, &error) < 0) {
		fprintf(stderr, "bench-store-gc: %s\n", error);
		return 1;
	}
	struct store *store = open_store();
	printf("%u messages of %zu bytes\n", n, data_len);
	deliver_n(store, 0, n);
	gc_all(store, "first sweep, n files named", (int64_t)time(NULL));
	expunge_inbox(store, "with the trigger");
	gc_all(store, "clean-up of n expunged", (int64_t)time(NULL));

	store_close(&store);
	sql("DROP TRIGGER messages_orphan");
	store = open_store();
	deliver_n(store, n, n);
	expunge_inbox(store, "without the trigger");
	store_close(&store);
	sql("CREATE TRIGGER messages_orphan AFTER DELETE ON messages BEGIN"
	    " INSERT OR IGNORE INTO blob_orphans (blob) SELECT OLD.blob WHERE length(OLD.blob) = 64;"
	    " END;");
	store = open_store();
	deliver_n(store, 2 * n, n);
	expunge_inbox(store, "with the trigger again");
	/* The round without the trigger left files for the sweep. */
	gc_all(store, "clean-up and sweep of n + n", (int64_t)time(NULL));
	store_close(&store);

	store = open_store();
	deliver_n(store, 3 * n, n);
	store_close(&store);
	sql("DELETE FROM meta WHERE key = 'gc_swept_at'");
	store = open_store();
	gc_all(store, "complete sweep, n files named", (int64_t)time(NULL));
	store_close(&store);
	/* Everything a day old, the last sweep an hour ago: nothing to read. */
	char blobs[4200], script[128];
	snprintf(blobs, sizeof(blobs), "%s/blobs", bench_dir);
	age_to = time(NULL) - 86400;
	nftw(blobs, age_one, 16, FTW_PHYS);
	snprintf(script, sizeof(script), "UPDATE meta SET value = %lld WHERE key = 'gc_swept_at'",
		 (long long)time(NULL) - 3600);
	sql(script);
	store = open_store();
	gc_all(store, "incremental sweep, nothing changed", (int64_t)time(NULL));
	store_close(&store);
	mime_parser_free(&p);
	return 0;
}
