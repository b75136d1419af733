/*
 * spool-state (minimal stand-in): see spool-state.h.  The log of message
 * qid is DATA/spool/why/<qid>.state (the queue runs in DATA, and why/ is
 * the spool folder the queue's uid owns); an answer's line ends and
 * control octets are made spaces, so a record is always one line.
 */
#include "spool-state.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/log.h"

/* A log is read back up to this size: a record per attempt per
 * recipient, a few hundred octets each. */
#define SPOOL_STATE_MAX (4 * 1024 * 1024)
/* Recipients a log may name (SPOOL_MAX_RCPTS). */
#define SPOOL_STATE_MAX_RCPTS SPOOL_MAX_RCPTS

/* state_path names qid's log. */
static void state_path(char *out, size_t size, const char *qid)
{
	snprintf(out, size, "spool/why/%s.state", qid);
}

/* append writes one record; durable: fdatasync before returning. */
static int append(const char *qid, const char *kind, size_t rcpt, int64_t next,
		  struct str answer, bool durable)
{
	char path[128];
	struct buf line;
	state_path(path, sizeof(path), qid);
	buf_init(&line, 1024);
	buf_printf(&line, "%s %zu %" PRId64 " ", kind, rcpt, next);
	for (size_t i = 0; i < answer.len && i < 512; i++) {
		char c = answer.ptr[i];
		buf_putc(&line, (unsigned char)c < 0x20 ? ' ' : c);
	}
	buf_putc(&line, '\n');
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int r = fd < 0 ? -1 : io_write_all(fd, line.data, line.len);
	if (r == 0 && durable && fdatasync(fd) < 0)
		r = -1;
	if (r < 0)
		log_error("writing %s failed: %m", path);
	if (fd >= 0)
		close(fd);
	buf_free(&line);
	return r;
}

int spool_state_done(struct spool *s, const char *qid, size_t rcpt, struct str answer)
{
	(void)s;
	return append(qid, "done", rcpt, 0, answer, true);
}

int spool_state_failed(struct spool *s, const char *qid, size_t rcpt, struct str answer)
{
	(void)s;
	return append(qid, "failed", rcpt, 0, answer, true);
}

int spool_state_deferred(struct spool *s, const char *qid, size_t rcpt, int64_t next,
			 struct str answer)
{
	(void)s;
	return append(qid, "deferred", rcpt, next, answer, false);
}

void spool_state_remove(struct spool *s, const char *qid)
{
	char path[128];
	(void)s;
	state_path(path, sizeof(path), qid);
	unlink(path);
}

enum spool_rcpt_state spool_state_rcpt(const struct spool_state *st, size_t i)
{
	return i < st->count ? st->rcpts[i].state : SPOOL_RCPT_PENDING;
}

void spool_state_free(struct spool_state *st)
{
	free(st->rcpts);
	st->rcpts = NULL;
	st->count = 0;
}

/* note takes one record into st. */
static void note(struct spool_state *st, const char *kind, size_t rcpt, int64_t next)
{
	if (rcpt >= SPOOL_STATE_MAX_RCPTS)
		return;
	if (rcpt >= st->count) {
		struct spool_state_rcpt *r = realloc(st->rcpts, (rcpt + 1) * sizeof(*r));
		if (r == NULL)
			return;
		memset(r + st->count, 0, (rcpt + 1 - st->count) * sizeof(*r));
		st->rcpts = r;
		st->count = rcpt + 1;
	}
	struct spool_state_rcpt *r = &st->rcpts[rcpt];
	if (r->state != SPOOL_RCPT_PENDING)
		return; /* done and failed are final */
	if (strcmp(kind, "done") == 0)
		r->state = SPOOL_RCPT_DONE;
	else if (strcmp(kind, "failed") == 0)
		r->state = SPOOL_RCPT_FAILED;
	else if (strcmp(kind, "deferred") == 0) {
		r->attempts++;
		r->next_try = next;
	}
}

int spool_state_load(struct spool *s, const char *qid, struct spool_state *st)
{
	char path[128];
	(void)s;
	memset(st, 0, sizeof(*st));
	state_path(path, sizeof(path), qid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	char line[1024];
	size_t total = 0;
	while (fgets(line, sizeof(line), f) != NULL && total < SPOOL_STATE_MAX) {
		char kind[16];
		unsigned long long rcpt;
		long long next;
		total += strlen(line);
		if (sscanf(line, "%15s %llu %lld", kind, &rcpt, &next) == 3)
			note(st, kind, (size_t)rcpt, next);
	}
	fclose(f);
	return 0;
}
