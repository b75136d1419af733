/*
 * bench-store: the store's delivery cost per message, measured on one
 * message file delivered n times in batches (as the worker delivers), and
 * the cost of the full-text indexing deliveries leave for later (the
 * backlog indexed in the worker's turns, store_index_backlog).  Not a test: it prints
 * figures.  Each copy gets its own "X-Bench-Seq:" first line, so every
 * copy is a new file (content is shared by hash otherwise).
 *
 *   ninja -C build src/store/bench-store
 *   build/src/store/bench-store DIR MESSAGE-FILE [N [BATCH]]
 *
 * DIR must be an empty directory on the disk to measure; it keeps the
 * store afterwards.  Wall time includes the syncs; CPU time is this
 * process's alone.  The extraction line times index_text_extract by
 * itself (the text put in the index, without SQLite's part).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index-text.h"
#include "store.h"

/* Longest message file read (the MIME parser's limits still apply). */
#define BENCH_FILE_MAX (64u * 1024 * 1024)
#define BENCH_SEQ_FORMAT "X-Bench-Seq: %08u\r\n"
#define BENCH_SEQ_LEN 23

static double now(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* read_file reads path whole, with BENCH_SEQ_LEN bytes free in front. */
static char *read_file(const char *path, size_t *size_r)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *data = NULL;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > BENCH_FILE_MAX) {
		fprintf(stderr, "bench-store: cannot read %s\n", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	data = malloc((size_t)st.st_size + BENCH_SEQ_LEN + 1);
	if (data != NULL &&
	    read(fd, data + BENCH_SEQ_LEN, (size_t)st.st_size) == (ssize_t)st.st_size) {
		*size_r = (size_t)st.st_size + BENCH_SEQ_LEN;
	} else {
		free(data);
		data = NULL;
	}
	close(fd);
	return data;
}

/* parse runs the MIME parser over the whole content. */
static struct mime_parser *parse(const char *data, size_t size, const struct mime_message **msg_r)
{
	struct mime_limits limits;
	const char *error = "out of memory";

	mime_limits_default(&limits);
	struct mime_parser *p = mime_parser_new(&limits);
	if (p == NULL || mime_parser_feed(p, data, size, &error) < 0 ||
	    mime_parser_finish(p, msg_r, &error) < 0) {
		fprintf(stderr, "bench-store: parse: %s\n", error);
		mime_parser_free(&p);
	}
	return p;
}

/* deliver_all delivers n numbered copies in batches; returns 0 or -1. */
static int deliver_all(struct store *store, char *data, size_t size,
		       const struct mime_message *msg, unsigned n, unsigned batch)
{
	const char *error = NULL;
	struct iovec iov = { data, size };
	char key[32], seq[BENCH_SEQ_LEN + 1];

	for (unsigned i = 0; i < n; i += batch) {
		if (store_batch_begin(store, &error) < 0)
			goto failed;
		for (unsigned k = i; k < n && k < i + batch; k++) {
			uint32_t uid;
			bool dup;
			snprintf(seq, sizeof(seq), BENCH_SEQ_FORMAT, k);
			memcpy(data, seq, BENCH_SEQ_LEN);
			snprintf(key, sizeof(key), "bench %u", k);
			if (store_batch_deliver(store, "INBOX", key, &iov, 1, msg, 1700000000, &uid,
						&dup, &error) < 0)
				goto failed;
		}
		if (store_batch_commit(store, &error) < 0)
			goto failed;
	}
	return 0;
failed:
	fprintf(stderr, "bench-store: delivery: %s\n", error);
	store_batch_abort(store);
	return -1;
}

/* extract_only times index_text_extract alone, n times. */
static double extract_only(const char *data, size_t size, const struct mime_message *msg,
			   unsigned n)
{
	struct iovec iov = { (void *)data, size };
	struct index_text text;
	double t0 = now(CLOCK_PROCESS_CPUTIME_ID);

	for (unsigned i = 0; i < n; i++) {
		index_text_extract(&text, msg, &iov, 1);
		index_text_free(&text);
	}
	return (now(CLOCK_PROCESS_CPUTIME_ID) - t0) / n;
}

/* index_backlog times indexing the n messages delivered, in the worker's
 * turns; returns 0 or -1. */
static int index_backlog(struct store *store, unsigned n)
{
	const char *error = NULL;
	unsigned turns = 0;
	bool more = true;
	double wall = now(CLOCK_MONOTONIC), cpu = now(CLOCK_PROCESS_CPUTIME_ID);

	while (more) {
		if (store_index_backlog(store, STORE_INDEX_TURN_MAX, &more, &error) != STORE_OK) {
			fprintf(stderr, "bench-store: indexing: %s\n", error);
			return -1;
		}
		turns++;
	}
	wall = now(CLOCK_MONOTONIC) - wall;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	printf("indexing the backlog later: %.1f us/message wall, %.1f us/message CPU"
	       " (%u turns, %.1f ms each)\n", wall * 1e6 / n, cpu * 1e6 / n, turns,
	       wall * 1e3 / turns);
	return 0;
}

int main(int argc, char **argv)
{
	const char *error = NULL;
	const struct mime_message *msg;
	struct store *store = NULL;
	size_t size;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: bench-store DIR MESSAGE-FILE [N [BATCH]]\n");
		return 2;
	}
	unsigned n = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 2000;
	unsigned batch = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 64;
	char *data = read_file(argv[2], &size);
	/* Eight digits keep the first line BENCH_SEQ_LEN bytes long. */
	if (data == NULL || n == 0 || n > 99999999 || batch == 0 || batch > STORE_BATCH_MAX)
		return 2;
	char first = data[BENCH_SEQ_LEN];
	snprintf(data, BENCH_SEQ_LEN + 1, BENCH_SEQ_FORMAT, 0u);
	data[BENCH_SEQ_LEN] = first;
	struct mime_parser *parser = parse(data, size, &msg);
	if (parser == NULL)
		return 1;
	if (store_preinit(&error) < 0 || store_create(argv[1], &error) < 0 ||
	    store_open(argv[1], &store, &error) < 0) {
		fprintf(stderr, "bench-store: %s\n", error);
		return 1;
	}
	double wall = now(CLOCK_MONOTONIC), cpu = now(CLOCK_PROCESS_CPUTIME_ID);
	int ret = deliver_all(store, data, size, msg, n, batch);
	wall = now(CLOCK_MONOTONIC) - wall;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	if (ret == 0) {
		printf("%u messages of %zu bytes, batches of %u\n", n, size, batch);
		printf("delivery: %.1f us/message wall, %.1f us/message CPU\n", wall * 1e6 / n,
		       cpu * 1e6 / n);
		printf("index_text_extract alone: %.1f us/message CPU\n",
		       extract_only(data, size, msg, n) * 1e6);
		ret = index_backlog(store, n);
	}
	store_close(&store);
	mime_parser_free(&parser);
	free(data);
	return ret < 0 ? 1 : 0;
}
