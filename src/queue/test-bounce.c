/* Unit tests for bounce: the DSN's fields, both kinds, hostile input kept
 * out of the report's structure, and (when /usr/bin/python3 is there)
 * Python's email package reading it as multipart/report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue/bounce.h"

#define PYTHON "/usr/bin/python3"

static const char original[] =
	"Received: from x\r\nFrom: alice@a.test\r\nTo: bob@b.test\r\nSubject: hello\r\n"
	"Message-ID: <m1@a.test>\r\n\r\nsecret body text\r\n";

static const struct bounce_rcpt rcpts[] = {
	{ STR("bob@b.test"), STR("550 5.1.1 <bob@b.test>: no such user"), STR("mx.b.test") },
	{ STR("carol@c.test"), STR("554 rejected"), STR_NULL },
};

static struct bounce_report report(enum bounce_action action)
{
	return (struct bounce_report){ .action = action, .hostname = "mx.a.test",
				       .to = STR("alice@a.test"), .id = STR("ABC123"),
				       .arrived = 1700000000, .now = 1700003600,
				       .retry_until = 1700432000, .rcpts = rcpts,
				       .rcpt_count = 2, .headers = STR(original) };
}

static void test_status(void **state)
{
	(void)state;
	assert_true(str_eq(bounce_status(STR("550 5.1.1 no"), BOUNCE_FAILED), STR("5.1.1")));
	assert_true(str_eq(bounce_status(STR("5.7.1 no"), BOUNCE_FAILED), STR("5.7.1")));
	assert_true(str_eq(bounce_status(STR("550 no"), BOUNCE_FAILED), STR("5.0.0")));
	/* A code of the wrong class is not the status. */
	assert_true(str_eq(bounce_status(STR("451 5.1.1 x"), BOUNCE_DELAYED), STR("4.0.0")));
	assert_true(str_eq(bounce_status(STR("451 4.7.1 later"), BOUNCE_DELAYED), STR("4.7.1")));
	assert_true(str_eq(bounce_status(STR("550 5.1111.1 x"), BOUNCE_FAILED), STR("5.0.0")));
	assert_true(str_eq(bounce_status(STR(""), BOUNCE_FAILED), STR("5.0.0")));
}

static void test_failed(void **state)
{
	struct buf out;
	struct bounce_report r = report(BOUNCE_FAILED);
	(void)state;
	buf_init(&out, BOUNCE_MAX_SIZE);
	assert_int_equal(bounce_build(&r, &out), 0);
	const char *want[] = {
		"From: Mail Delivery System <MAILER-DAEMON@mx.a.test>\r\n",
		"To: <alice@a.test>\r\n",
		"Auto-Submitted: auto-replied\r\n",
		"Message-ID: <ABC123.dsn@mx.a.test>\r\n",
		"Date: Tue, 14 Nov 2023 23:13:20 +0000\r\n",
		"report-type=delivery-status",
		"Reporting-MTA: dns; mx.a.test\r\n",
		"Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n",
		("Final-Recipient: rfc822; bob@b.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
		 "Remote-MTA: dns; mx.b.test\r\n"
		 "Diagnostic-Code: smtp; 550 5.1.1 <bob@b.test>: no such user\r\n"),
		("Final-Recipient: rfc822; carol@c.test\r\nAction: failed\r\nStatus: 5.0.0\r\n"
		 "Diagnostic-Code: smtp; 554 rejected\r\n"),
		"<bob@b.test>: host mx.b.test said:\r\n    550 5.1.1",
		"Content-Type: text/rfc822-headers\r\n",
		"Subject: hello\r\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(out.data, want[i]) == NULL)
			fail_msg("missing: %s\nin:\n%s", want[i], out.data);
	/* The headers only, never the body. */
	assert_null(strstr(out.data, "secret body"));
	assert_null(strstr(out.data, "Will-Retry-Until"));
	buf_free(&out);
}

static void test_delayed(void **state)
{
	struct buf out;
	struct bounce_report r = report(BOUNCE_DELAYED);
	struct bounce_rcpt one = { STR("bob@b.test"), STR("451 4.7.1 try later"), STR_NULL };
	(void)state;
	r.rcpts = &one;
	r.rcpt_count = 1;
	buf_init(&out, BOUNCE_MAX_SIZE);
	assert_int_equal(bounce_build(&r, &out), 0);
	assert_non_null(strstr(out.data, "Subject: Delayed Mail"));
	assert_non_null(strstr(out.data, "Action: delayed\r\nStatus: 4.7.1\r\n"));
	assert_non_null(strstr(out.data, "Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000\r\n"));
	buf_free(&out);
}

/* An answer with line breaks cannot add fields to the report; headers
 * holding the boundary do not end a part early; a buffer without room
 * is left as it was. */
static void test_hostile(void **state)
{
	struct buf out;
	struct bounce_report r = report(BOUNCE_FAILED);
	struct bounce_rcpt evil = { STR("bob@b.test"),
				    STR("550 5.1.1 x\r\nAction: delivered\r\n\r\n--=_ravelin"),
				    STR("mx\r\nX: y") };
	(void)state;
	r.rcpts = &evil;
	r.rcpt_count = 1;
	r.headers = STR("Subject: --=_ravelin-dsn-ABC123-0\r\n\r\nbody");
	buf_init(&out, BOUNCE_MAX_SIZE);
	assert_int_equal(bounce_build(&r, &out), 0);
	assert_null(strstr(out.data, "\r\nAction: delivered"));
	assert_null(strstr(out.data, "\r\nX: y"));
	assert_non_null(strstr(out.data, "boundary=\"=_ravelin-dsn-ABC123-1\""));
	buf_free(&out);
	buf_init(&out, 100);
	buf_append(&out, "kept", 4);
	assert_int_equal(bounce_build(&r, &out), -1);
	assert_int_equal(out.len, 4);
	buf_free(&out);
}

/* The header block: up to the empty line; one past BOUNCE_MAX_HEADERS is
 * cut at the line end before it. */
static void test_header_block(void **state)
{
	(void)state;
	assert_int_equal(bounce_header_block(STR(original)).len, strlen(original) - strlen("secret body text\r\n"));
	/* Lines of 64 bytes: the bound is 1024 of them. */
	_Static_assert(BOUNCE_MAX_HEADERS % 64 == 0, "whole lines fill the bound");
	size_t n = BOUNCE_MAX_HEADERS + 64;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i += 64) {
		memset(big + i, 'x', 64);
		memcpy(big + i, "X-A: ", 5);
		big[i + 62] = '\r';
		big[i + 63] = '\n';
	}
	assert_int_equal(bounce_header_block(str_from(big, BOUNCE_MAX_HEADERS)).len,
			 BOUNCE_MAX_HEADERS);
	/* One line past it: cut before that line. */
	assert_int_equal(bounce_header_block(str_from(big, n)).len, BOUNCE_MAX_HEADERS);
	assert_int_equal(bounce_header_block(str_from(big, n - 1)).len, BOUNCE_MAX_HEADERS);
	free(big);
}

/* Python's email package reads it as multipart/report with the three
 * parts and the fields. */
static void test_python_parses(void **state)
{
	struct buf out;
	struct bounce_report r = report(BOUNCE_FAILED);
	char path[] = "/tmp/ravelin-dsn-XXXXXX", cmd[4096];
	(void)state;
	if (access(PYTHON, X_OK) < 0)
		skip();
	buf_init(&out, BOUNCE_MAX_SIZE);
	assert_int_equal(bounce_build(&r, &out), 0);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
	close(fd);
	snprintf(cmd, sizeof(cmd), PYTHON " -c '"
		 "import email, email.policy, sys\n"
		 "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"), policy=email.policy.default)\n"
		 "assert m.get_content_type() == \"multipart/report\", m.get_content_type()\n"
		 "assert m.get_param(\"report-type\") == \"delivery-status\"\n"
		 "p = m.get_payload()\n"
		 "assert [x.get_content_type() for x in p] == [\"text/plain\", \"message/delivery-status\", \"text/rfc822-headers\"], p\n"
		 "assert \"bob@b.test\" in p[0].get_content() and \"550 5.1.1\" in p[0].get_content()\n"
		 "ds = p[1].get_payload()\n"
		 "assert ds[0][\"Reporting-MTA\"] == \"dns; mx.a.test\", ds[0]\n"
		 "assert ds[1][\"Final-Recipient\"] == \"rfc822; bob@b.test\"\n"
		 "assert ds[1][\"Action\"] == \"failed\" and ds[1][\"Status\"] == \"5.1.1\"\n"
		 "assert ds[1][\"Diagnostic-Code\"].startswith(\"smtp; 550 5.1.1\")\n"
		 "assert ds[2][\"Final-Recipient\"] == \"rfc822; carol@c.test\"\n"
		 "assert m[\"Auto-Submitted\"] == \"auto-replied\"\n"
		 "' %s", path);
	int rc = system(cmd);
	unlink(path);
	buf_free(&out);
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_failed),
		cmocka_unit_test(test_delayed),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_header_block),
		cmocka_unit_test(test_python_parses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
