/*
 * fuzz-spool: libFuzzer target for the spool envelope reader
 * (src/queue/spool.c), on a real file as the queue reads it back after a
 * restart: the input is written to spool/q/<qid> in a scratch folder and
 * opened with spool_open_message.
 *
 * Checked for an envelope the reader accepts: the message starts just
 * after the first empty line, every string lies within the text read and
 * holds no control character, the recipients stay within
 * SPOOL_MAX_RCPTS; and what spool_envelope_format writes for it is read
 * back (by the same parser, compiled in here) as the same envelope,
 * ending where the written text ends.  A rejected file leaves no
 * descriptor open.
 *
 * spool.c is compiled into this file to reach its parser directly (and
 * spool-state.c, whose log spool_remove removes with the message).
 */
#include "queue/spool.c"
#include "queue/spool-state.c"

#include <stdint.h>

/* The text spool_envelope_format may write for an envelope read from at
 * most SPOOL_MAX_ENVELOPE octets: numbers shrink or keep their length,
 * "from" and "rcpt" lines are rewritten once each. */
#define FUZZ_MAX_FORMATTED (2u * SPOOL_MAX_ENVELOPE)
#define FUZZ_QID "0000000000000000000000"

static void quiet(enum log_level level, const char *record, size_t len)
{
	(void)level;
	(void)record;
	(void)len;
}

static bool clean_within(struct str s, struct str text)
{
	if (s.len == 0)
		return true;
	return s.ptr >= text.ptr && s.ptr + s.len <= text.ptr + text.len && is_clean(s);
}

/* same_envelope compares two envelopes field by field. */
static bool same_envelope(const struct spool_envelope *a, const struct spool_envelope *b)
{
	if (!str_eq(a->mail_from, b->mail_from) || a->flags != b->flags ||
	    a->arrived != b->arrived || a->rcpt_count != b->rcpt_count)
		return false;
	for (size_t i = 0; i < a->rcpt_count; i++)
		if (a->rcpts[i].account != b->rcpts[i].account ||
		    !str_eq(a->rcpts[i].address, b->rcpts[i].address))
			return false;
	return true;
}

static struct spool *spool;
static char scratch[] = "/tmp/fuzz-spool-XXXXXX";

/* teardown removes the scratch spool when the fuzzer exits. */
static void teardown(void)
{
	char path[sizeof(scratch) + 32];
	unlinkat(spool->q_fd, FUZZ_QID, 0);
	spool_close(&spool);
	const char *const dirs[] = { "/spool/q", "/spool/tmp", "/spool/why", "/spool", "" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", scratch, dirs[i]);
		rmdir(path);
	}
}

/* setup makes the scratch spool once per fuzzing process. */
static void setup(void)
{
	log_set_sink(quiet);
	if (mkdtemp(scratch) == NULL || spool_open(scratch, true, &spool) < 0)
		abort();
	atexit(teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf text, again;
	struct spool_envelope env, env2;
	uint64_t offset;

	if (spool == NULL)
		setup();
	int w = openat(spool->q_fd, FUZZ_QID, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w < 0 || (size > 0 && write(w, data, size) != (ssize_t)size))
		abort();
	close(w);
	int fd = spool_open_message(spool, FUZZ_QID, &text, &env, &offset);
	if (fd < 0)
		return 0;
	close(fd);

	struct str t = buf_str(&text);
	const char *end = memmem(t.ptr, t.len, "\n\n", 2);
	if (end == NULL || offset != (uint64_t)(end + 2 - t.ptr) || offset > size)
		abort();
	if (env.rcpt_count > SPOOL_MAX_RCPTS || !clean_within(env.mail_from, t))
		abort();
	for (size_t i = 0; i < env.rcpt_count; i++)
		if (!clean_within(env.rcpts[i].address, t) || env.rcpts[i].account > INT64_MAX)
			abort();

	size_t consumed;
	buf_init(&again, FUZZ_MAX_FORMATTED);
	if (spool_envelope_format(&again, &env) < 0 ||
	    parse_envelope(buf_str(&again), &env2, &consumed) < 0 || consumed != again.len ||
	    !same_envelope(&env, &env2))
		abort();
	spool_envelope_free(&env2);
	buf_free(&again);
	spool_envelope_free(&env);
	buf_free(&text);
	return 0;
}
