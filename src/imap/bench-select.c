/*
 * bench-select: how long opening a mailbox (SELECT, and SELECT with
 * CONDSTORE as clients that sync send it) and listing a folder's headers
 * (FETCH of 100 messages' common header fields, as a client's message list
 * asks) and downloading messages (FETCH of 100 bodies, and of one as
 * mbsync asks each) take in an IMAP session over a real store, with no
 * network in the way.  Not a test: it prints figures.  Fill the store first with
 * bench-store (src/store/bench-store DIR MESSAGE-FILE N 512).
 *
 *   ninja -C build src/imap/bench-select
 *   build/src/imap/bench-select DIR [ROUNDS [select|fetch|body]]
 *
 * Each figure is the median and the fastest of ROUNDS runs (default 20)
 * after one untimed run, so it is the warm cost (the store's pages in the
 * kernel's cache and SQLite's).  "select", "fetch" or "body" runs only those
 * (for a profiler).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-session.h"

/* Output a SELECT or a FETCH of 100 headers needs, and more. */
#define BENCH_OUT_MAX (64u * 1024 * 1024)
#define BENCH_ROUNDS_MAX 1000

static double now(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_close(void *ctx)
{
	(void)ctx;
}

static void on_changed(void *ctx)
{
	(void)ctx;
}

static const struct imap_session_callbacks callbacks = {
	.close = on_close,
	.changed = on_changed,
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* run feeds one command line and waits for its tagged answer (the session
 * answers within imap_session_input unless it goes on in steps); returns
 * the wall time in seconds (and the CPU time in *cpu_r), or -1 when the
 * answer is not OK. */
static double run(struct imap_session *session, struct buf *in, struct buf *out,
		  const char *line, double *cpu_r)
{
	buf_reset(out);
	double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	double t0 = now(CLOCK_MONOTONIC);
	buf_append(in, line, strlen(line));
	do
		imap_session_input(session, in);
	while (imap_session_pending(session) && (buf_reset(out), true));
	double t = now(CLOCK_MONOTONIC) - t0;
	*cpu_r = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (strstr(out->data != NULL ? out->data : "", " OK ") == NULL) {
		fprintf(stderr, "bench-select: %s%.300s\n", line, out->data);
		return -1;
	}
	return t;
}

/* measure runs line rounds + 1 times and prints the median and fastest
 * of its wall times and the median of its CPU times (steadier on a busy
 * machine). */
static int measure(struct imap_session *session, struct buf *in, struct buf *out,
		   const char *what, const char *line, unsigned rounds)
{
	double t[BENCH_ROUNDS_MAX], cpu[BENCH_ROUNDS_MAX];
	if (run(session, in, out, line, &cpu[0]) < 0)
		return -1;
	size_t bytes = out->len;
	for (unsigned i = 0; i < rounds; i++)
		if ((t[i] = run(session, in, out, line, &cpu[i])) < 0)
			return -1;
	qsort(t, rounds, sizeof(t[0]), cmp_double);
	qsort(cpu, rounds, sizeof(cpu[0]), cmp_double);
	printf("%-26s wall median %8.3f ms fastest %8.3f ms; CPU median %8.3f ms (%zu bytes)\n",
	       what, t[rounds / 2] * 1e3, t[0] * 1e3, cpu[rounds / 2] * 1e3, bytes);
	return 0;
}

int main(int argc, char **argv)
{
	const char *error = NULL;
	struct store *store = NULL;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: bench-select DIR [ROUNDS [select|fetch|body]]\n");
		return 2;
	}
	unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20;
	bool selects = argc < 4 || strcmp(argv[3], "select") == 0;
	bool fetches = argc < 4 || strcmp(argv[3], "fetch") == 0;
	bool bodies = argc < 4 || strcmp(argv[3], "body") == 0;
	if (rounds == 0 || rounds > BENCH_ROUNDS_MAX)
		return 2;
	if (store_preinit(&error) < 0 || store_open(argv[1], &store, &error) < 0) {
		fprintf(stderr, "bench-select: %s\n", error);
		return 1;
	}
	struct buf in, out;
	buf_init(&in, BENCH_OUT_MAX);
	buf_init(&out, BENCH_OUT_MAX);
	struct imap_session_settings settings = { .max_append = 1 };
	struct imap_session *session = imap_session_new(store, &out, &settings, &callbacks, NULL);
	struct store_mailbox box;
	double cpu;
	int ret = session != NULL && store_mailbox_get(store, "INBOX", &box, &error) == 0 ? 0 : -1;
	if (ret == 0) {
		printf("INBOX: %llu messages\n", (unsigned long long)box.messages);
		free(box.name);
		char fetch[160];
		uint64_t first = box.messages > 100 ? box.messages - 99 : 1;
		snprintf(fetch, sizeof(fetch),
			 "f FETCH %llu:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To Cc"
			 " Subject Date Message-ID)])\r\n", (unsigned long long)first);
		if (selects &&
		    (measure(session, &in, &out, "SELECT INBOX", "s SELECT INBOX\r\n", rounds) < 0 ||
		     measure(session, &in, &out, "EXAMINE INBOX", "e EXAMINE INBOX\r\n", rounds) < 0 ||
		     measure(session, &in, &out, "SELECT INBOX (CONDSTORE)",
			     "c SELECT INBOX (CONDSTORE)\r\n", rounds) < 0))
			ret = -1;
		if (ret == 0 && fetches &&
		    (run(session, &in, &out, "x EXAMINE INBOX\r\n", &cpu) < 0 ||
		     measure(session, &in, &out, "FETCH 100 headers", fetch, rounds) < 0))
			ret = -1;
		/* A full download as mbsync makes it: each message by itself. */
		snprintf(fetch, sizeof(fetch), "b FETCH %llu:* (UID FLAGS BODY.PEEK[])\r\n",
			 (unsigned long long)first);
		if (ret == 0 && bodies &&
		    (run(session, &in, &out, "x EXAMINE INBOX\r\n", &cpu) < 0 ||
		     measure(session, &in, &out, "FETCH 100 bodies", fetch, rounds) < 0 ||
		     measure(session, &in, &out, "FETCH 1 body",
			     "o UID FETCH 1 (UID FLAGS BODY.PEEK[])\r\n", rounds) < 0))
			ret = -1;
	}
	imap_session_free(&session);
	buf_free(&in);
	buf_free(&out);
	store_close(&store);
	return ret < 0 ? 1 : 0;
}
