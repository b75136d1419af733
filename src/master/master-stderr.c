/* master-stderr: children's standard error, logged by master (see master-stderr.h). */
#include "master-stderr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct child_stderr {
	struct ev_io *io;
	/* Lines logged: a bucket, so that a child cannot fill the disk. */
	double tokens;
	uint64_t last_ms;
	uint64_t dropped;
	int fd;
	char name[64];
	void (*write_line)(const char *name, const char *line, size_t len);
	size_t len;
	char line[MASTER_STDERR_LINE];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* emit logs one line if the child's bucket allows (a sanitizer's report
 * of a few dozen lines passes whole). */
static void emit(struct child_stderr *s, const char *line, size_t len)
{
	uint64_t now = now_ms();
	s->tokens += (double)(now - s->last_ms) * MASTER_STDERR_PER_SECOND / 1000.0;
	if (s->tokens > MASTER_STDERR_BURST)
		s->tokens = MASTER_STDERR_BURST;
	s->last_ms = now;
	if (s->tokens < 1) {
		if (s->dropped++ == 0) {
			static const char note[] = "writes too much to its standard error; dropping";
			s->write_line(s->name, note, sizeof(note) - 1);
		}
		return;
	}
	s->tokens -= 1;
	s->write_line(s->name, line, len);
}

/* stderr_read reads once and logs every whole line, and a line too long
 * in pieces; false when there is nothing more to read now. */
static bool stderr_read(struct child_stderr *s)
{
	ssize_t n = read(s->fd, s->line + s->len, sizeof(s->line) - s->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		/* The child has gone: what is left is its last line. */
		if (s->len > 0)
			emit(s, s->line, s->len);
		s->len = 0;
		ev_io_del(&s->io);
		return false;
	}
	s->len += (size_t)n;
	size_t start = 0;
	for (size_t i = 0; i < s->len; i++) {
		if (s->line[i] != '\n')
			continue;
		emit(s, s->line + start, i - start);
		start = i + 1;
	}
	if (start == 0 && s->len == sizeof(s->line)) {
		emit(s, s->line, s->len);
		start = s->len;
	}
	memmove(s->line, s->line + start, s->len - start);
	s->len -= start;
	return true;
}

static void stderr_ready(struct ev_io *io, unsigned events, void *ctx)
{
	(void)io;
	(void)events;
	stderr_read(ctx);
}

struct child_stderr *child_stderr_watch(struct ev *ev, int fd, const char *name,
					void (*write_line)(const char *name, const char *line,
							   size_t len))
{
	struct child_stderr *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->fd = fd;
	s->write_line = write_line;
	s->tokens = MASTER_STDERR_BURST;
	s->last_ms = now_ms();
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->io = ev_io_add(ev, fd, EV_READ, stderr_ready, s);
	if (s->io == NULL) {
		close(fd);
		free(s);
		return NULL;
	}
	return s;
}

void child_stderr_free(struct child_stderr **sp)
{
	struct child_stderr *s = *sp;
	if (s == NULL)
		return;
	*sp = NULL;
	/* A dying child's last words (a sanitizer's report) are kept. */
	for (unsigned i = 0; s->io != NULL && i < 64 && stderr_read(s); i++)
		;
	if (s->len > 0)
		emit(s, s->line, s->len);
	ev_io_del(&s->io);
	close(s->fd);
	free(s);
}
