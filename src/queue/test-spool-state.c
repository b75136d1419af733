/* Unit tests for spool-state: the outcome log, folded; cut and damaged
 * lines; compaction at the file bound; removal with the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue/spool-state.h"

#define QID "0000000000000000000001"

struct fixture {
	char dir[64];
	struct spool *s;
	char path[160];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ravelin-state-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(spool_open(f->dir, true, &f->s), 0);
	snprintf(f->path, sizeof(f->path), "%s/spool/q/%s", f->dir, QID);
	/* The message the logs are about (its content does not matter here):
	 * a log without one is dropped when the spool is opened. */
	close(open(f->path, O_WRONLY | O_CREAT, 0600));
	snprintf(f->path, sizeof(f->path), "%s/spool/state/%s", f->dir, QID);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	spool_close(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* append_raw writes text at the end of the log, as a crash may leave it. */
static void append_raw(const char *path, const char *text)
{
	FILE *fp = fopen(path, "a");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_fold(void **state)
{
	struct fixture *f = *state;
	struct spool_state st;

	/* No log: every recipient pending, nothing tried. */
	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_int_equal(st.first_tried, 0);
	assert_int_equal(spool_state_rcpt(&st, 5)->status, SPOOL_STATE_PENDING);
	spool_state_free(&st);

	assert_int_equal(spool_state_deferred(f->s, QID, 1, 1700000300, STR("451 4.7.1 later")), 0);
	assert_int_equal(spool_state_deferred(f->s, QID, 1, 1700000900, STR("451 4.7.1 again")), 0);
	assert_int_equal(spool_state_done(f->s, QID, 0, STR("250 2.0.0 ok")), 0);
	assert_int_equal(spool_state_failed(f->s, QID, 2, STR("550 5.1.1 no such user")), 0);
	/* Final is final: a later deferral of a done recipient changes nothing. */
	assert_int_equal(spool_state_deferred(f->s, QID, 0, 1, STR("451 late")), 0);
	assert_int_equal(spool_state_notice_sent(f->s, QID), 0);

	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_true(st.first_tried > 0);
	assert_true(st.notice_sent);
	assert_int_equal(st.count, 3);
	assert_int_equal(st.rcpts[0].status, SPOOL_STATE_DONE);
	assert_string_equal(st.rcpts[0].answer, "250 2.0.0 ok");
	assert_int_equal(st.rcpts[1].status, SPOOL_STATE_PENDING);
	assert_int_equal(st.rcpts[1].attempts, 2);
	assert_int_equal(st.rcpts[1].next, 1700000900);
	assert_string_equal(st.rcpts[1].answer, "451 4.7.1 again");
	assert_int_equal(st.rcpts[2].status, SPOOL_STATE_FAILED);
	assert_string_equal(st.rcpts[2].answer, "550 5.1.1 no such user");
	assert_int_equal(spool_state_rcpt(&st, 3)->attempts, 0);
	spool_state_free(&st);

	/* Removing the message removes its log. */
	spool_remove(f->s, QID);
	assert_int_equal(access(f->path, F_OK), -1);
}

/* A crash in the middle of a line leaves it cut: it is ignored, and the
 * next line is not glued to it. */
static void test_cut_line(void **state)
{
	struct fixture *f = *state;
	struct spool_state st;

	assert_int_equal(spool_state_done(f->s, QID, 0, STR("250 ok")), 0);
	/* "done 12 ..." cut after "done 1": must not mark recipient 1 done. */
	append_raw(f->path, "done 1");
	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_int_equal(spool_state_rcpt(&st, 1)->status, SPOOL_STATE_PENDING);
	assert_int_equal(spool_state_rcpt(&st, 0)->status, SPOOL_STATE_DONE);
	spool_state_free(&st);

	assert_int_equal(spool_state_failed(f->s, QID, 3, STR("550 no")), 0);
	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_int_equal(spool_state_rcpt(&st, 1)->status, SPOOL_STATE_PENDING);
	assert_int_equal(spool_state_rcpt(&st, 3)->status, SPOOL_STATE_FAILED);
	assert_int_equal(spool_state_rcpt(&st, 0)->status, SPOOL_STATE_DONE);
	spool_state_free(&st);
}

/* A crash between two lines: the log holds what was written before it,
 * and the queue goes on appending after a restart. */
static void test_crash_between_lines(void **state)
{
	struct fixture *f = *state;
	struct spool_state st;

	assert_int_equal(spool_state_done(f->s, QID, 0, STR("250 ok")), 0);
	/* The process is gone; a new one opens the spool. */
	spool_close(&f->s);
	assert_int_equal(spool_open(f->dir, true, &f->s), 0);
	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_int_equal(spool_state_rcpt(&st, 0)->status, SPOOL_STATE_DONE);
	assert_int_equal(spool_state_rcpt(&st, 1)->status, SPOOL_STATE_PENDING);
	spool_state_free(&st);
	assert_int_equal(spool_state_done(f->s, QID, 1, STR("250 ok too")), 0);
	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_int_equal(spool_state_rcpt(&st, 1)->status, SPOOL_STATE_DONE);
	spool_state_free(&st);
}

/* Damaged lines are ignored, one past SPOOL_STATE_MAX_LINE included; an
 * index one past the envelope's bound is refused; a long answer is cut
 * to SPOOL_STATE_MAX_ANSWER and control characters never reach it. */
static void test_bounds(void **state)
{
	struct fixture *f = *state;
	struct spool_state st;
	char line[SPOOL_STATE_MAX_LINE + 32];
	char answer[SPOOL_STATE_MAX_ANSWER + 2];

	assert_int_equal(spool_state_done(f->s, QID, 0, STR("250 ok")), 0);
	/* Exactly the bound (with its newline outside): read. */
	int n = snprintf(line, sizeof(line), "done 4 ");
	memset(line + n, 'x', SPOOL_STATE_MAX_LINE - (size_t)n);
	line[SPOOL_STATE_MAX_LINE] = '\n';
	line[SPOOL_STATE_MAX_LINE + 1] = '\0';
	append_raw(f->path, line);
	/* One past it: ignored. */
	n = snprintf(line, sizeof(line), "done 5 ");
	memset(line + n, 'x', SPOOL_STATE_MAX_LINE + 1 - (size_t)n);
	line[SPOOL_STATE_MAX_LINE + 1] = '\n';
	line[SPOOL_STATE_MAX_LINE + 2] = '\0';
	append_raw(f->path, line);
	snprintf(line, sizeof(line), "done %u x\nfailed %u x\nbogus 1 x\ndone x y\n"
		 "deferred 6 1 notanumber x\ndone 7\n",
		 SPOOL_MAX_RCPTS, SPOOL_MAX_RCPTS - 1);
	append_raw(f->path, line);
	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_int_equal(spool_state_rcpt(&st, 4)->status, SPOOL_STATE_DONE);
	assert_int_equal(spool_state_rcpt(&st, 5)->status, SPOOL_STATE_PENDING);
	assert_int_equal(spool_state_rcpt(&st, 6)->status, SPOOL_STATE_PENDING);
	assert_int_equal(spool_state_rcpt(&st, 7)->status, SPOOL_STATE_PENDING);
	assert_int_equal(spool_state_rcpt(&st, SPOOL_MAX_RCPTS - 1)->status, SPOOL_STATE_FAILED);
	assert_int_equal(st.count, SPOOL_MAX_RCPTS);
	spool_state_free(&st);

	memset(answer, 'a', sizeof(answer));
	answer[3] = '\n';
	answer[4] = '\r';
	assert_int_equal(spool_state_failed(f->s, QID, 8, str_from(answer, sizeof(answer))), 0);
	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_int_equal(strlen(spool_state_rcpt(&st, 8)->answer), SPOOL_STATE_MAX_ANSWER);
	assert_int_equal(memcmp(spool_state_rcpt(&st, 8)->answer, "aaa??a", 6), 0);
	spool_state_free(&st);
}

/* A log that one more line would take past SPOOL_STATE_MAX_FILE is
 * compacted first: the folded state survives, the file shrinks. */
static void test_file_bound(void **state)
{
	struct fixture *f = *state;
	struct spool_state st;
	struct stat sb;
	char answer[SPOOL_STATE_MAX_ANSWER];

	memset(answer, 'z', sizeof(answer));
	assert_int_equal(spool_state_done(f->s, QID, 0, STR("250 first")), 0);
	unsigned lines = 0;
	do {
		assert_int_equal(spool_state_deferred(f->s, QID, 1 + lines % 3, 1700000000 + lines,
						      str_from(answer, sizeof(answer))), 0);
		lines++;
		assert_int_equal(stat(f->path, &sb), 0);
	} while (sb.st_size + SPOOL_STATE_MAX_LINE <= SPOOL_STATE_MAX_FILE);
	off_t before = sb.st_size;
	/* Up to the bound and one past it. */
	while (sb.st_size <= before) {
		assert_int_equal(spool_state_deferred(f->s, QID, 1, 1800000000,
						      str_from(answer, sizeof(answer))), 0);
		lines++;
		assert_int_equal(stat(f->path, &sb), 0);
		assert_true(sb.st_size <= SPOOL_STATE_MAX_FILE);
		if (sb.st_size < before)
			break;
		before = sb.st_size;
	}
	assert_true(sb.st_size < SPOOL_STATE_MAX_FILE / 2);
	assert_int_equal(spool_state_load(f->s, QID, &st), 0);
	assert_int_equal(spool_state_rcpt(&st, 0)->status, SPOOL_STATE_DONE);
	assert_string_equal(spool_state_rcpt(&st, 0)->answer, "250 first");
	unsigned total = 0;
	for (size_t i = 1; i <= 3; i++)
		total += spool_state_rcpt(&st, i)->attempts;
	assert_int_equal(total, lines);
	assert_int_equal(spool_state_rcpt(&st, 1)->next, 1800000000);
	spool_state_free(&st);
}

/* A log whose message is gone is dropped when the queue opens the
 * spool; one whose message is there stays. */
static void test_orphan_dropped(void **state)
{
	struct fixture *f = *state;
	char qid[SPOOL_QID_SIZE], kept[256];
	struct spool_envelope env = { .mail_from = STR("a@b.test") };

	int fd = spool_create(f->s, qid);
	assert_true(fd >= 0);
	struct buf text;
	buf_init(&text, 4096);
	assert_int_equal(spool_envelope_format(&text, &env), 0);
	assert_int_equal(write(fd, text.data, text.len), (ssize_t)text.len);
	buf_free(&text);
	assert_int_equal(spool_commit_file(f->s, qid, fd), 0);
	close(fd);
	assert_int_equal(spool_state_done(f->s, qid, 0, STR("250 ok")), 0);
	assert_int_equal(spool_state_done(f->s, QID, 0, STR("250 ok")), 0);
	spool_remove(f->s, QID);
	assert_int_equal(spool_state_done(f->s, QID, 0, STR("250 ok")), 0);
	snprintf(kept, sizeof(kept), "%s/spool/state/%s", f->dir, qid);
	spool_close(&f->s);
	assert_int_equal(spool_open(f->dir, true, &f->s), 0);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(access(kept, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_between_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_dropped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
