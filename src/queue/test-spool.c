/* Unit tests for spool: create, commit, read back, damaged envelopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue/spool.h"

static void count_qid(const char *qid, void *ctx)
{
	(void)qid;
	(*(int *)ctx)++;
}

/* spool_with_message opens a new spool in dir (a mkdtemp template) holding
 * one accepted message, env then message; returns the envelope's length. */
static size_t spool_with_message(char *dir, struct spool **s, char qid[SPOOL_QID_SIZE],
				 const struct spool_envelope *env, const char *message)
{
	struct buf env_text;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(spool_open(dir, true, s), 0);
	int fd = spool_create(*s, qid);
	assert_true(fd >= 0);
	buf_init(&env_text, 1 << 20);
	assert_int_equal(spool_envelope_format(&env_text, env), 0);
	assert_int_equal(write(fd, env_text.data, env_text.len), (ssize_t)env_text.len);
	assert_int_equal(write(fd, message, strlen(message)), (ssize_t)strlen(message));
	assert_int_equal(spool_commit_file(*s, qid, fd), 0);
	assert_int_equal(spool_commit_dir(*s), 0);
	close(fd);
	size_t len = env_text.len;
	buf_free(&env_text);
	return len;
}

static void test_roundtrip(void **state)
{
	char dir[64] = "/tmp/ravelin-spool-XXXXXX";
	struct spool *s;
	char qid[SPOOL_QID_SIZE];
	struct buf text;
	struct spool_envelope env, back;
	uint64_t offset;
	(void)state;

	/* Account 7 sent it (submission); b@ is remote ("rcpt 0"). */
	struct spool_rcpt rcpts[2] = { { 7, STR("a@example.org") }, { 0, STR("b@far.test") } };
	env = (struct spool_envelope){ .mail_from = STR("sender@x.org"), .flags = 3,
				       .arrived = 1700000000, .sender_account = 42,
				       .rcpts = rcpts, .rcpt_count = 2 };
	size_t env_len = spool_with_message(dir, &s, qid, &env, "Subject: x\r\n\r\nbody\r\n");

	int count = 0;
	spool_list(s, count_qid, &count);
	assert_int_equal(count, 1);
	int fd = spool_open_message(s, qid, &text, &back, &offset);
	assert_true(fd >= 0);
	assert_int_equal(back.rcpt_count, 2);
	assert_int_equal(back.rcpts[1].account, 0);
	assert_true(str_eq(back.rcpts[1].address, STR("b@far.test")));
	assert_true(str_eq(back.rcpts[0].address, STR("a@example.org")));
	assert_true(str_eq(back.mail_from, STR("sender@x.org")));
	assert_int_equal(back.arrived, 1700000000);
	assert_int_equal(back.sender_account, 42);
	assert_int_equal(offset, env_len);
	char first[8] = "";
	assert_int_equal(pread(fd, first, 7, (off_t)offset), 7);
	assert_string_equal(first, "Subject");
	close(fd);
	spool_envelope_free(&back);
	buf_free(&text);

	/* A damaged envelope is refused, not half-read. */
	int bad = openat(AT_FDCWD, dir, O_RDONLY);
	close(bad);
	char path[128];
	snprintf(path, sizeof(path), "%s/spool/q/%s", dir, qid);
	FILE *f = fopen(path, "w");
	fputs("RAVELIN-SPOOL 1\nrcpt x a@b\n\nbody", f);
	fclose(f);
	assert_int_equal(spool_open_message(s, qid, &text, &back, &offset), -1);
	/* An empty or cut file is refused before its envelope is parsed;
	 * the envelope the caller passed in (uninitialised, as `queue list`
	 * passes it) is not freed as it was (found by fuzz-spool). */
	static const char *const cut[] = { "", "RAVELIN-SPOOL 1\nfrom a@b\n" };
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		f = fopen(path, "w");
		fputs(cut[i], f);
		fclose(f);
		memset(&back, 0xa5, sizeof(back));
		assert_int_equal(spool_open_message(s, qid, &text, &back, &offset), -1);
	}
	spool_remove(s, qid);
	count = 0;
	spool_list(s, count_qid, &count);
	assert_int_equal(count, 0);
	spool_close(&s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* What a worker is handed holds the message only: read from its start, or
 * sought anywhere, it shows no recipient, Bcc or not; and it cannot be
 * changed for the next worker. */
static void test_message_body(void **state)
{
	char dir[64] = "/tmp/ravelin-spool-XXXXXX";
	struct spool *s;
	char qid[SPOOL_QID_SIZE];
	struct buf text;
	struct spool_envelope env, back;
	uint64_t offset;
	static const char message[] = "To: alice@example.org\r\nSubject: x\r\n\r\nbody\r\n";
	(void)state;

	struct spool_rcpt rcpts[2] = { { 7, STR("alice@example.org") },
				       { 9, STR("hidden-bcc@example.org") } };
	env = (struct spool_envelope){ .mail_from = STR("sender@x.org"), .arrived = 1700000000,
				       .rcpts = rcpts, .rcpt_count = 2 };
	spool_with_message(dir, &s, qid, &env, message);
	int fd = spool_open_message(s, qid, &text, &back, &offset);
	assert_true(fd >= 0);

	int body = spool_message_body(fd, offset, back.prepend_len);
	assert_true(body >= 0);
	char all[4096];
	assert_int_equal(lseek(body, 0, SEEK_SET), 0);
	ssize_t n = read(body, all, sizeof(all) - 1);
	assert_int_equal(n, (ssize_t)sizeof(message) - 1);
	all[n] = '\0';
	assert_string_equal(all, message);
	assert_null(strstr(all, "hidden-bcc"));
	/* Nothing before its start, nothing past its end. */
	assert_int_equal(lseek(body, -1, SEEK_SET), -1);
	assert_int_equal(pread(body, all, sizeof(all), n), 0);
	struct stat st;
	assert_int_equal(fstat(body, &st), 0);
	assert_int_equal(st.st_size, n);
	/* Sealed: no write, no truncation, no growth, no new seals. */
	int seals = fcntl(body, F_GET_SEALS);
	assert_true((seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
		    (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	assert_int_equal(pwrite(body, "X", 1, 0), -1);
	assert_int_equal(ftruncate(body, 0), -1);
	assert_int_equal(fcntl(body, F_ADD_SEALS, 0), -1);
	close(body);
	close(fd);
	spool_envelope_free(&back);
	buf_free(&text);
	spool_close(&s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Header lines added once the message has ended go on top of it, the
 * Junk mark comes back, and more than SPOOL_MAX_PREPEND is refused. */
static void test_post(void **state)
{
	char dir[64] = "/tmp/ravelin-spool-XXXXXX";
	struct spool *s;
	char qid[SPOOL_QID_SIZE];
	struct buf text;
	struct spool_envelope env, back;
	uint64_t offset;
	static const char message[] = "Subject: x\r\n\r\nbody\r\n";
	static const char added[] = "Authentication-Results: mx.test; spf=pass\r\n";
	(void)state;

	struct spool_rcpt rcpts[1] = { { 7, STR("alice@example.org") } };
	env = (struct spool_envelope){ .mail_from = STR("sender@x.org"), .arrived = 1700000000,
				       .rcpts = rcpts, .rcpt_count = 1 };
	spool_with_message(dir, &s, qid, &env, message);
	int fd = spool_open_message(s, qid, &text, &back, &offset);
	assert_true(fd >= 0);
	assert_int_equal(back.prepend_len, 0);
	assert_false(back.junk);
	close(fd);
	spool_envelope_free(&back);
	buf_free(&text);

	/* The queue's own descriptor is read-write; the test reopens it so. */
	char path[128];
	snprintf(path, sizeof(path), "%s/spool/q/%s", dir, qid);
	int rw = open(path, O_RDWR);
	assert_true(rw >= 0);
	char big[SPOOL_MAX_PREPEND + 1];
	memset(big, 'x', sizeof(big));
	assert_int_equal(spool_post_write(rw, (struct str){ big, sizeof(big) }, false), -1);
	assert_int_equal(spool_post_write(rw, STR(added), true), 0);
	close(rw);

	fd = spool_open_message(s, qid, &text, &back, &offset);
	assert_true(fd >= 0);
	assert_int_equal(back.prepend_len, sizeof(added) - 1);
	assert_true(back.junk);
	int body = spool_message_body(fd, offset, back.prepend_len);
	assert_true(body >= 0);
	char all[4096];
	ssize_t n = pread(body, all, sizeof(all) - 1, 0);
	assert_true(n > 0);
	all[n] = '\0';
	char want[256];
	snprintf(want, sizeof(want), "%s%s", added, message);
	assert_string_equal(all, want);
	close(body);
	close(fd);
	spool_envelope_free(&back);
	buf_free(&text);
	spool_close(&s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_message_body),
		cmocka_unit_test(test_post),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
