/* Unit tests for queue-bounce: a bounce and a delay notice queued as
 * spool messages from <> to the sending account; none for a message from
 * <> or from no account of ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue/queue-bounce.h"
#include "queue/spool-state.h"

static const char message[] = "From: alice@a.test\r\nSubject: hi\r\n\r\nthe body\r\n";

/* spool_message commits a message from from (sent by account) to two
 * recipients, the second remote; its id in qid. */
static void spool_message(struct spool *s, const char *from, uint64_t account,
			  char qid[SPOOL_QID_SIZE])
{
	struct spool_rcpt rcpts[2] = { { 3, STR("carol@a.test") }, { 0, STR("bob@b.test") } };
	struct spool_envelope env = { .mail_from = str_c(from), .arrived = 1700000000,
				      .sender_account = account, .rcpts = rcpts, .rcpt_count = 2 };
	struct buf text;
	int fd = spool_create(s, qid);
	assert_true(fd >= 0);
	buf_init(&text, 1 << 20);
	assert_int_equal(spool_envelope_format(&text, &env), 0);
	buf_append(&text, message, strlen(message));
	assert_int_equal(write(fd, text.data, text.len), (ssize_t)text.len);
	assert_int_equal(spool_commit_file(s, qid, fd), 0);
	assert_int_equal(spool_commit_dir(s), 0);
	close(fd);
	buf_free(&text);
}

static void test_bounces(void **state)
{
	char dir[64] = "/tmp/ravelin-qbounce-XXXXXX", cmd[128];
	char qid[SPOOL_QID_SIZE], bqid[SPOOL_QID_SIZE];
	struct spool *s;
	struct buf text;
	struct spool_envelope env;
	struct spool_state st;
	uint64_t offset;
	size_t remote[] = { 1 };
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(spool_open(dir, true, &s), 0);
	spool_message(s, "alice@a.test", 7, qid);
	assert_int_equal(spool_state_failed(s, qid, 1, STR("550 5.1.1 no such user")), 0);
	assert_int_equal(queue_bounce_failed(s, "mx.a.test", qid, remote, 1, bqid), 1);
	int fd = spool_open_message(s, bqid, &text, &env, &offset);
	assert_true(fd >= 0);
	assert_int_equal(env.mail_from.len, 0);
	assert_int_equal(env.rcpt_count, 1);
	assert_int_equal(env.rcpts[0].account, 7);
	assert_true(str_eq(env.rcpts[0].address, STR("alice@a.test")));
	char body[8192];
	ssize_t n = pread(fd, body, sizeof(body) - 1, (off_t)offset);
	assert_true(n > 0);
	body[n] = '\0';
	assert_non_null(strstr(body, "Final-Recipient: rfc822; bob@b.test\r\nAction: failed\r\n"));
	assert_non_null(strstr(body, "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"));
	assert_non_null(strstr(body, "Subject: hi\r\n"));
	assert_null(strstr(body, "the body"));
	assert_null(strstr(body, "carol"));
	close(fd);
	spool_envelope_free(&env);
	buf_free(&text);

	/* A delay notice is marked sent in the log. */
	assert_int_equal(spool_state_deferred(s, qid, 1, 1700009999, STR("451 4.7.1 later")), 0);
	assert_int_equal(queue_bounce_delayed(s, "mx.a.test", qid, remote, 1, bqid), 1);
	assert_int_equal(spool_state_load(s, qid, &st), 0);
	assert_true(st.notice_sent);
	spool_state_free(&st);

	/* No report about a report, nor to a sender that is not ours about
	 * one of our recipients; about a remote one (forwarded by an alias)
	 * it goes back to that sender, elsewhere. */
	size_t local[] = { 0 };
	spool_message(s, "", 7, qid);
	assert_int_equal(queue_bounce_failed(s, "mx.a.test", qid, remote, 1, bqid), 0);
	spool_message(s, "someone@elsewhere.test", 0, qid);
	assert_int_equal(queue_bounce_failed(s, "mx.a.test", qid, local, 1, bqid), 0);
	assert_int_equal(queue_bounce_failed(s, "mx.a.test", qid, remote, 1, bqid), 1);
	fd = spool_open_message(s, bqid, &text, &env, &offset);
	assert_true(fd >= 0);
	assert_int_equal(env.mail_from.len, 0);
	assert_int_equal(env.rcpt_count, 1);
	assert_int_equal(env.rcpts[0].account, 0);
	assert_true(str_eq(env.rcpts[0].address, STR("someone@elsewhere.test")));
	close(fd);
	spool_envelope_free(&env);
	buf_free(&text);
	/* No message: nothing to report about. */
	assert_int_equal(queue_bounce_failed(s, "mx.a.test", "0000000000000000000000", remote, 1,
					     bqid), -1);
	spool_close(&s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
