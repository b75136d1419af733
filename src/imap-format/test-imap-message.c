/* Unit tests for imap-message: answers from the part tree and from a
 * message made without the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "imap-format/imap-message.h"
#include "mail/mime.h"

static void assert_buf(const struct buf *b, const char *want)
{
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len);
}

/* parse gives text's parse, which lives until *p is freed. */
static const struct mime_message *parse(struct mime_parser **p, const char *text)
{
	const char *error;
	const struct mime_message *msg;
	*p = mime_parser_new(NULL);
	assert_non_null(*p);
	assert_int_equal(mime_parser_feed(*p, text, strlen(text), &error), 0);
	assert_int_equal(mime_parser_finish(*p, &msg, &error), 0);
	return msg;
}

/* A parsed message: the answers come from its tree. */
static void test_from_tree(void **state)
{
	(void)state;
	struct mime_parser *p;
	const struct mime_message *msg =
		parse(&p, "From: A <a@example.com>\r\nSubject: hi\r\n\r\nbody\r\n");
	assert_non_null(msg->root);
	assert_int_equal(msg->envelope.len, 0);
	struct imap_message_answers a;
	assert_int_equal(imap_message_answers_write(msg, &a), 0);
	assert_buf(&a.envelope, "(NIL \"hi\" ((\"A\" NIL \"a\" \"example.com\")) "
				"((\"A\" NIL \"a\" \"example.com\")) ((\"A\" NIL \"a\" \"example.com\")) "
				"NIL NIL NIL NIL NIL)");
	assert_buf(&a.body, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)");
	assert_buf(&a.bodystructure,
		   "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)");
	imap_message_answers_free(&a);
	mime_parser_free(&p);
}

/* A message made without the parser (kept as one opaque part) has its
 * answers ready-made: they are used as they are. */
static void test_ready_made(void **state)
{
	(void)state;
	struct mime_message msg;
	memset(&msg, 0, sizeof(msg));
	msg.envelope = STR("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	msg.body = STR("(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" 3)");
	msg.bodystructure = msg.body;
	struct imap_message_answers a;
	assert_int_equal(imap_message_answers_write(&msg, &a), 0);
	assert_buf(&a.envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_buf(&a.body, "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" 3)");
	assert_buf(&a.bodystructure, "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" 3)");
	imap_message_answers_free(&a);
}

/* An answer past the message's bound fails (and still frees cleanly). */
static void test_bound(void **state)
{
	(void)state;
	struct mime_parser *p;
	const struct mime_message *msg = parse(&p, "Subject: a subject longer than the bound\r\n\r\n");
	struct mime_message small = *msg;
	small.text_max = 16;
	struct imap_message_answers a;
	assert_int_equal(imap_message_answers_write(&small, &a), -1);
	imap_message_answers_free(&a);
	mime_parser_free(&p);
}

/* The opaque message: one application/octet-stream part of the whole
 * size, no header fields, and answers that say just that. */
static void test_opaque(void **state)
{
	(void)state;
	struct imap_message_opaque o;
	imap_message_opaque(&o, 18446744073709551615ULL);
	assert_int_equal(o.msg.part_count, 1);
	assert_ptr_equal(o.msg.parts, &o.part);
	assert_int_equal(o.part.section.len, 0);
	assert_int_equal(o.part.body_size, 18446744073709551615ULL);
	assert_int_equal(o.msg.size, 18446744073709551615ULL);
	assert_int_equal(o.msg.date, -1);
	assert_null(o.msg.root);
	assert_int_equal(o.msg.subject.len, 0);
	struct imap_message_answers a;
	assert_int_equal(imap_message_answers_write(&o.msg, &a), 0);
	assert_buf(&a.envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_buf(&a.body, "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" "
			    "18446744073709551615)");
	assert_buf(&a.bodystructure, "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" "
				     "18446744073709551615)");
	imap_message_answers_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_tree),
		cmocka_unit_test(test_ready_made),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_opaque),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
