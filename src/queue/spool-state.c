/* spool-state: the per-message outcome log (see spool-state.h). */
#include "spool-state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/io.h"
#include "lib/log.h"

/* Where a compacted log is written before it replaces the old one. */
#define SPOOL_STATE_NEW_SUFFIX ".new"

static const struct spool_state_rcpt state_pending = { SPOOL_STATE_PENDING, 0, 0, NULL };

const struct spool_state_rcpt *spool_state_rcpt(const struct spool_state *st, size_t i)
{
	return i < st->count ? &st->rcpts[i] : &state_pending;
}

void spool_state_free(struct spool_state *st)
{
	for (size_t i = 0; i < st->count; i++)
		free(st->rcpts[i].answer);
	free(st->rcpts);
	memset(st, 0, sizeof(*st));
}

/* state_slot gives recipient i's entry, growing st to hold it; NULL when
 * i is past SPOOL_MAX_RCPTS or memory is short. */
static struct spool_state_rcpt *state_slot(struct spool_state *st, uint64_t i)
{
	if (i >= SPOOL_MAX_RCPTS)
		return NULL;
	if (i >= st->count) {
		void *p = realloc(st->rcpts, ((size_t)i + 1) * sizeof(*st->rcpts));
		if (p == NULL)
			return NULL;
		st->rcpts = p;
		for (size_t j = st->count; j <= i; j++)
			st->rcpts[j] = state_pending;
		st->count = (size_t)i + 1;
	}
	return &st->rcpts[i];
}

/* next_field splits the first space-separated field off *rest. */
static struct str next_field(struct str *rest)
{
	long sp = str_chr(*rest, ' ');
	struct str f = sp < 0 ? *rest : str_sub(*rest, 0, (size_t)sp);
	*rest = sp < 0 ? STR_NULL : str_sub(*rest, (size_t)sp + 1, SIZE_MAX);
	return f;
}

static void set_answer(struct spool_state_rcpt *r, struct str answer)
{
	free(r->answer);
	r->answer = strndup(answer.ptr != NULL ? answer.ptr : "", answer.len);
}

/* fold_line applies one complete line to st; a line that does not parse
 * is ignored (false). */
static bool fold_line(struct spool_state *st, struct str line)
{
	for (size_t i = 0; i < line.len; i++)
		if ((unsigned char)line.ptr[i] < 0x20 || line.ptr[i] == 0x7f)
			return false;
	struct str rest = line;
	struct str word = next_field(&rest);
	uint64_t index, n = 1, next = 0, v;

	if (str_eq(word, STR("notice")) && rest.ptr == NULL) {
		st->notice_sent = true;
		return true;
	}
	if (str_eq(word, STR("begun"))) {
		if (str_to_u64(rest, INT64_MAX, &v) < 0)
			return false;
		if (st->first_tried == 0)
			st->first_tried = (int64_t)v;
		return true;
	}
	bool deferred = str_eq(word, STR("deferred"));
	if (!deferred && !str_eq(word, STR("done")) && !str_eq(word, STR("failed")))
		return false;
	if (str_to_u64(next_field(&rest), SPOOL_MAX_RCPTS - 1, &index) < 0)
		return false;
	if (deferred && (str_to_u64(next_field(&rest), UINT32_MAX, &n) < 0 ||
			 str_to_u64(next_field(&rest), INT64_MAX, &next) < 0))
		return false;
	if (rest.ptr == NULL)
		return false;
	struct spool_state_rcpt *r = state_slot(st, index);
	/* Done and failed are final: a later line changes nothing. */
	if (r == NULL || r->status != SPOOL_STATE_PENDING)
		return r != NULL;
	if (deferred) {
		r->attempts += (unsigned)n;
		r->next = (int64_t)next;
	} else {
		r->status = word.ptr[0] == 'd' ? SPOOL_STATE_DONE : SPOOL_STATE_FAILED;
		r->next = 0;
	}
	set_answer(r, rest);
	return true;
}

static int state_dir(struct spool *s)
{
	int dfd = spool_state_dir(s);
	if (dfd < 0)
		log_error("the spool has no state folder (spool/state)");
	return dfd;
}

int spool_state_load(struct spool *s, const char *qid, struct spool_state *st)
{
	char chunk[4096];
	struct buf line;

	memset(st, 0, sizeof(*st));
	int dfd = spool_state_dir(s);
	int fd = dfd >= 0 ? openat(dfd, qid, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0 && (dfd < 0 || errno == ENOENT))
		return 0;  /* no log: nothing tried yet */
	if (fd < 0) {
		log_error("open(spool state %s) failed: %m", qid);
		return -1;
	}
	buf_init(&line, SPOOL_STATE_MAX_LINE);
	bool too_long = false;
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] != '\n') {
				/* A line past the bound is skipped to its end. */
				too_long |= buf_putc(&line, chunk[i]) < 0;
				continue;
			}
			if (too_long || !fold_line(st, buf_str(&line)))
				log_warn("spool state %s: a damaged line ignored", qid);
			too_long = false;
			buf_reset(&line);
		}
	}
	/* What is left has no newline: a line cut by a crash, ignored. */
	buf_free(&line);
	close(fd);
	if (n < 0) {
		log_error("read(spool state %s) failed: %m", qid);
		spool_state_free(st);
		return -1;
	}
	return 0;
}

/* put_answer appends answer as a log keeps it: at most
 * SPOOL_STATE_MAX_ANSWER bytes, control characters as '?'. */
static void put_answer(struct buf *b, struct str answer)
{
	size_t len = answer.len < SPOOL_STATE_MAX_ANSWER ? answer.len : SPOOL_STATE_MAX_ANSWER;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)answer.ptr[i];
		buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	buf_putc(b, '\n');
}

/* sync_dir makes the folder's entries durable. */
static int sync_dir(int dfd)
{
	if (fsync(dfd) < 0) {
		log_error("fsync(spool/state) failed: %m");
		return -1;
	}
	return 0;
}

/* state_compact rewrites qid's log from its folded state (which also
 * drops a cut last line): a new file, synced, renamed over the old one,
 * the folder synced.  0 or -1 (logged). */
static int state_compact(struct spool *s, int dfd, const char *qid)
{
	struct spool_state st;
	struct buf out;
	char tmp[SPOOL_QID_SIZE + sizeof(SPOOL_STATE_NEW_SUFFIX)];

	if (spool_state_load(s, qid, &st) < 0)
		return -1;
	buf_init(&out, SPOOL_STATE_MAX_FILE + (size_t)SPOOL_MAX_RCPTS * SPOOL_STATE_MAX_LINE);
	buf_printf(&out, "begun %lld\n", (long long)(st.first_tried ? st.first_tried : time(NULL)));
	for (size_t i = 0; i < st.count; i++) {
		const struct spool_state_rcpt *r = &st.rcpts[i];
		struct str answer = str_c(r->answer);
		if (r->status == SPOOL_STATE_DONE || r->status == SPOOL_STATE_FAILED)
			buf_printf(&out, "%s %zu ", r->status == SPOOL_STATE_DONE ? "done" : "failed", i);
		else if (r->attempts > 0)
			buf_printf(&out, "deferred %zu %u %lld ", i, r->attempts, (long long)r->next);
		else
			continue;
		put_answer(&out, answer);
	}
	if (st.notice_sent)
		buf_printf(&out, "notice\n");
	spool_state_free(&st);
	snprintf(tmp, sizeof(tmp), "%s%s", qid, SPOOL_STATE_NEW_SUFFIX);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int r = fd < 0 ? -1 : io_write_all(fd, out.data, out.len);
	if (r == 0)
		r = fdatasync(fd);
	if (r == 0)
		r = renameat(dfd, tmp, dfd, qid);
	if (fd >= 0)
		close(fd);
	buf_free(&out);
	if (r < 0) {
		log_error("compacting spool state %s failed: %m", qid);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	return sync_dir(dfd);
}

/* ends_cut is true when the file does not end in a newline: a line cut
 * by a crash, which the next append must not be glued to. */
static bool ends_cut(int fd, off_t size)
{
	char last = '\n';
	return size > 0 && (pread(fd, &last, 1, size - 1) != 1 || last != '\n');
}

/*
 * state_append adds one line to qid's log, making the log (with its
 * "begun" line, and the folder synced) when there is none.  durable: the
 * line is fdatasync'd before 0 is returned.  A log that ends in a cut
 * line, or that the line would take past SPOOL_STATE_MAX_FILE, is
 * compacted first; a line that is not durable and still does not fit is
 * dropped (-1).
 */
static int state_append(struct spool *s, const char *qid, struct str line, bool durable)
{
	struct stat sb;
	bool made = false;
	int dfd = state_dir(s);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, qid, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		char begun[40];
		int n = snprintf(begun, sizeof(begun), "begun %lld\n", (long long)time(NULL));
		fd = openat(dfd, qid, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		made = fd >= 0;
		if (made && io_write_all(fd, begun, (size_t)n) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		log_error("open(spool state %s) failed: %m", qid);
		return -1;
	}
	if (fstat(fd, &sb) < 0)
		sb.st_size = 0;
	if (ends_cut(fd, sb.st_size) || (uint64_t)sb.st_size + line.len > SPOOL_STATE_MAX_FILE) {
		close(fd);
		if (state_compact(s, dfd, qid) < 0)
			return -1;
		fd = openat(dfd, qid, O_RDWR | O_APPEND | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) < 0) {
			log_error("open(spool state %s) failed: %m", qid);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if ((uint64_t)sb.st_size + line.len > SPOOL_STATE_MAX_FILE && !durable) {
			log_warn("spool state %s is full: a deferral not logged", qid);
			close(fd);
			return -1;
		}
	}
	int r = io_write_all(fd, line.ptr, line.len);
	if (r == 0 && durable && fdatasync(fd) < 0)
		r = -1;
	if (r < 0)
		log_error("writing spool state %s failed: %m", qid);
	close(fd);
	/* A new file's name must be on disk too; once per message. */
	if (r == 0 && made && sync_dir(dfd) < 0)
		r = -1;
	return r;
}

/* state_event formats and appends one recipient event. */
static int state_event(struct spool *s, const char *qid, const char *word, size_t rcpt,
		       bool durable, int64_t next, struct str answer)
{
	struct buf line;
	buf_init(&line, SPOOL_STATE_MAX_LINE);
	if (next >= 0)
		buf_printf(&line, "%s %zu 1 %lld ", word, rcpt, (long long)next);
	else
		buf_printf(&line, "%s %zu ", word, rcpt);
	put_answer(&line, answer);
	int r = state_append(s, qid, buf_str(&line), durable);
	buf_free(&line);
	return r;
}

int spool_state_done(struct spool *s, const char *qid, size_t rcpt, struct str answer)
{
	return state_event(s, qid, "done", rcpt, true, -1, answer);
}

int spool_state_failed(struct spool *s, const char *qid, size_t rcpt, struct str answer)
{
	return state_event(s, qid, "failed", rcpt, true, -1, answer);
}

int spool_state_deferred(struct spool *s, const char *qid, size_t rcpt, int64_t next,
			 struct str answer)
{
	return state_event(s, qid, "deferred", rcpt, false, next < 0 ? 0 : next, answer);
}

int spool_state_notice_sent(struct spool *s, const char *qid)
{
	return state_append(s, qid, STR("notice\n"), true);
}

void spool_state_remove(struct spool *s, const char *qid)
{
	int dfd = spool_state_dir(s);
	if (dfd >= 0 && unlinkat(dfd, qid, 0) < 0 && errno != ENOENT)
		log_error("unlink(spool state %s) failed: %m", qid);
}
