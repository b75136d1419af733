/* spool: accepted messages on disk until delivered (see spool.h). */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

struct spool {
	int tmp_fd;   /* DATA/spool/tmp */
	int q_fd;     /* DATA/spool/q */
	int why_fd;   /* DATA/spool/why, or -1 (not made yet) */
	uint32_t counter;
};

static int open_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_error("mkdir(%s) failed: %m", path);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		log_error("open(%s) failed: %m", path);
	return fd;
}

int spool_open(const char *data_dir, bool cleanup, struct spool **spool_r)
{
	char path[4096];
	struct spool *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/spool", data_dir);
	int top = open_dir(path);
	if (top < 0) {
		free(s);
		return -1;
	}
	close(top);
	snprintf(path, sizeof(path), "%s/spool/tmp", data_dir);
	s->tmp_fd = open_dir(path);
	snprintf(path, sizeof(path), "%s/spool/q", data_dir);
	s->q_fd = open_dir(path);
	/* Made by its owner, the queue, only: a look (as root, say) must not
	 * leave a folder the queue cannot write. */
	snprintf(path, sizeof(path), "%s/spool/why", data_dir);
	s->why_fd = cleanup ? open_dir(path) : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->tmp_fd < 0 || s->q_fd < 0 || (cleanup && s->why_fd < 0)) {
		spool_close(&s);
		return -1;
	}
	/* A message still in tmp/ was never acknowledged: drop it. */
	int dfd = cleanup ? dup(s->tmp_fd) : -1;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(s->tmp_fd, e->d_name, 0);
	if (d != NULL)
		closedir(d);
	*spool_r = s;
	return 0;
}

void spool_close(struct spool **sp)
{
	struct spool *s = *sp;
	if (s == NULL)
		return;
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	if (s->q_fd >= 0)
		close(s->q_fd);
	if (s->why_fd >= 0)
		close(s->why_fd);
	free(s);
	*sp = NULL;
}

int spool_create(struct spool *s, char qid[SPOOL_QID_SIZE])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* Time-ordered, unique within this spool: seconds, microseconds, pid
	 * bits and a counter; 22 hex characters. */
	snprintf(qid, SPOOL_QID_SIZE, "%09llX%05lX%04X%04X", (unsigned long long)ts.tv_sec,
		 (unsigned long)(ts.tv_nsec / 1000) & 0xfffff, (unsigned)getpid() & 0xffff,
		 s->counter++ & 0xffff);
	int fd = openat(s->tmp_fd, qid, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		log_error("creating spool file %s failed: %m", qid);
	return fd;
}

int spool_envelope_format(struct buf *out, const struct spool_envelope *env)
{
	if (buf_printf(out, "RAVELIN-SPOOL 1\nfrom %.*s\nflags %llu\narrived %lld\n",
		       (int)env->mail_from.len, env->mail_from.ptr,
		       (unsigned long long)env->flags, (long long)env->arrived) < 0)
		return -1;
	if (env->sender_account != 0 &&
	    buf_printf(out, "account %llu\n", (unsigned long long)env->sender_account) < 0)
		return -1;
	for (size_t i = 0; i < env->rcpt_count; i++)
		if (buf_printf(out, "rcpt %llu %.*s\n", (unsigned long long)env->rcpts[i].account,
			       (int)env->rcpts[i].address.len, env->rcpts[i].address.ptr) < 0)
			return -1;
	return buf_putc(out, '\n');
}

int spool_commit_file(struct spool *s, const char *qid, int fd)
{
	if (fdatasync(fd) < 0) {
		log_error("fdatasync(spool %s) failed: %m", qid);
		return -1;
	}
	if (renameat(s->tmp_fd, qid, s->q_fd, qid) < 0) {
		log_error("rename(spool %s) failed: %m", qid);
		return -1;
	}
	return 0;
}

int spool_commit_dir(struct spool *s)
{
	if (fsync(s->q_fd) < 0) {
		log_error("fsync(spool/q) failed: %m");
		return -1;
	}
	return 0;
}

void spool_abort(struct spool *s, const char *qid, int fd)
{
	close(fd);
	unlinkat(s->tmp_fd, qid, 0);
}

void spool_remove(struct spool *s, const char *qid)
{
	/* No fsync: if the unlink is lost in a crash, the deliveries are
	 * repeated and the stores refuse them as duplicates. */
	if (unlinkat(s->q_fd, qid, 0) < 0)
		log_error("unlink(spool %s) failed: %m", qid);
	spool_note_write(s, qid, STR_NULL);
}

int spool_note_write(struct spool *s, const char *qid, struct str text)
{
	if (s->why_fd < 0)
		return -1;
	if (text.len == 0) {
		if (unlinkat(s->why_fd, qid, 0) < 0 && errno != ENOENT)
			log_error("unlink(spool note %s) failed: %m", qid);
		return 0;
	}
	int fd = openat(s->why_fd, qid, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("writing spool note %s failed: %m", qid);
		return -1;
	}
	ssize_t n = write(fd, text.ptr, text.len);
	close(fd);
	return n == (ssize_t)text.len ? 0 : -1;
}

int spool_notes_own(struct spool *s, unsigned uid, unsigned gid)
{
	if (s->why_fd >= 0 && fchown(s->why_fd, (uid_t)uid, (gid_t)gid) < 0) {
		log_error("chown(spool/why) failed: %m");
		return -1;
	}
	return 0;
}

int spool_note_read(struct spool *s, const char *qid, struct buf *out)
{
	char chunk[4096];
	int fd = s->why_fd >= 0 ? openat(s->why_fd, qid, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return -1;
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && out->len < SPOOL_MAX_NOTE)
		buf_append(out, chunk, (size_t)n);
	close(fd);
	return 0;
}

static bool is_clean(struct str s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f)
			return false;
	return true;
}

/* parse_envelope reads the text form back; every line is checked. */
static int parse_envelope(struct str text, struct spool_envelope *env, size_t *consumed_r)
{
	struct str rest = text;
	size_t cap = 0;
	unsigned lineno = 0;

	memset(env, 0, sizeof(*env));
	for (;;) {
		long nl = str_chr(rest, '\n');
		if (nl < 0)
			return -1;
		struct str line = str_sub(rest, 0, (size_t)nl);
		rest = str_sub(rest, (size_t)nl + 1, SIZE_MAX);
		lineno++;
		if (lineno == 1) {
			if (!str_eq(line, STR("RAVELIN-SPOOL 1")))
				return -1;
			continue;
		}
		if (line.len == 0)
			break;
		if (!is_clean(line))
			return -1;
		uint64_t v;
		if (str_case_prefix(line, STR("from "))) {
			env->mail_from = str_sub(line, 5, SIZE_MAX);
		} else if (str_case_prefix(line, STR("flags "))) {
			if (str_to_u64(str_sub(line, 6, SIZE_MAX), UINT32_MAX, &v) < 0)
				return -1;
			env->flags = v;
		} else if (str_case_prefix(line, STR("arrived "))) {
			if (str_to_u64(str_sub(line, 8, SIZE_MAX), INT64_MAX, &v) < 0)
				return -1;
			env->arrived = (int64_t)v;
		} else if (str_case_prefix(line, STR("account "))) {
			if (str_to_u64(str_sub(line, 8, SIZE_MAX), INT64_MAX, &v) < 0)
				return -1;
			env->sender_account = v;
		} else if (str_case_prefix(line, STR("rcpt "))) {
			struct str r = str_sub(line, 5, SIZE_MAX);
			long sp = str_chr(r, ' ');
			if (sp <= 0 || str_to_u64(str_sub(r, 0, (size_t)sp), INT64_MAX, &v) < 0)
				return -1;
			if (env->rcpt_count == SPOOL_MAX_RCPTS)
				return -1;
			if (env->rcpt_count == cap) {
				cap = cap ? cap * 2 : 8;
				void *p = realloc(env->rcpts, cap * sizeof(*env->rcpts));
				if (p == NULL)
					return -1;
				env->rcpts = p;
			}
			env->rcpts[env->rcpt_count].account = v;
			env->rcpts[env->rcpt_count].address = str_sub(r, (size_t)sp + 1, SIZE_MAX);
			env->rcpt_count++;
		} else {
			return -1;
		}
	}
	*consumed_r = text.len - rest.len;
	return 0;
}

int spool_open_message(struct spool *s, const char *qid, struct buf *text,
		       struct spool_envelope *env, uint64_t *offset_r)
{
	char chunk[16384];
	/* Freed on every failure, also one found before the parser ran. */
	memset(env, 0, sizeof(*env));
	int fd = openat(s->q_fd, qid, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("open(spool %s) failed: %m", qid);
		return -1;
	}
	buf_init(text, SPOOL_MAX_ENVELOPE);
	for (;;) {
		ssize_t n = pread(fd, chunk, sizeof(chunk), (off_t)text->len);
		if (n <= 0 || buf_append(text, chunk, (size_t)n) < 0)
			break;
		/* The envelope ends at the first empty line. */
		if (strstr(text->data, "\n\n") != NULL)
			break;
	}
	size_t consumed;
	if (text->data == NULL || strstr(text->data, "\n\n") == NULL ||
	    parse_envelope(buf_str(text), env, &consumed) < 0) {
		log_error("spool file %s has a damaged envelope; left in place", qid);
		spool_envelope_free(env);
		buf_free(text);
		close(fd);
		return -1;
	}
	*offset_r = consumed;
	return fd;
}

int spool_message_body(int fd, uint64_t offset)
{
	char chunk[65536];
	int body = memfd_create("ravelin-message", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (body < 0) {
		log_error("memfd_create() failed: %m");
		return -1;
	}
	for (;;) {
		ssize_t n = pread(fd, chunk, sizeof(chunk), (off_t)offset);
		if (n == 0)
			break;
		if (n < 0)
			goto failed;
		offset += (uint64_t)n;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(body, chunk + done, (size_t)(n - done));
			if (w < 0)
				goto failed;
			done += w;
		}
	}
	/* Sealed: no worker can change what the next one reads. */
	if (fcntl(body, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		goto failed;
	return body;
failed:
	log_error("copying a message out of the spool failed: %m");
	close(body);
	return -1;
}

static int cmp_qid(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int spool_list(struct spool *s, void (*fn)(const char *qid, void *ctx), void *ctx)
{
	int dfd = dup(s->q_fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	char (*qids)[SPOOL_QID_SIZE] = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		log_error("reading spool/q failed: %m");
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= SPOOL_QID_SIZE)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			void *p = realloc(qids, cap * sizeof(*qids));
			if (p == NULL)
				break;
			qids = p;
		}
		snprintf(qids[n++], SPOOL_QID_SIZE, "%s", e->d_name);
	}
	closedir(d);
	/* Queue ids sort by the time they were made: oldest mail first. */
	if (n > 0)
		qsort(qids, n, sizeof(*qids), cmp_qid);
	for (size_t i = 0; i < n; i++)
		fn(qids[i], ctx);
	free(qids);
	return 0;
}

void spool_envelope_free(struct spool_envelope *env)
{
	free(env->rcpts);
	env->rcpts = NULL;
	env->rcpt_count = 0;
}
