/*
 * Unit tests for imap-fetch: item parsing and what the plan needs, and the
 * exact bytes of FETCH answers for messages parsed by the MIME parser
 * (nested multiparts, message/rfc822 parts and a message/rfc822 message,
 * HEADER.FIELDS, partials, BINARY of base64 and quoted-printable, NULs,
 * BINARY.SIZE), big parts decoded in chunks, and the error paths.
 *
 * Unless a comment says otherwise, every expected answer is what Dovecot
 * 2.3.19 sent for the same message and item (recorded over IMAP).  Where we
 * differ on purpose the comment says why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "imap-format/imap-message.h"
#include "imap/imap-fetch.h"
#include "imap/imap-flags.h"
#include "imap-proto/imap-parser.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "mail/mail-decode.h"
#include "mail/mime.h"

#include "test-imap-fetch-fixture.h"
#include "test-imap-fetch-messages.h"

/* ---------- parsing ---------- */


static void refused(const char *items, bool uid)
{
	struct command c;
	const char *error = NULL;

	if (command_parse(&c, items, uid, &error) == 0)
		fail_msg("FETCH %s accepted", items);
	assert_non_null(error);
	assert_null(c.plan);
	command_free(&c);
}

static void test_parse_needs(void **state)
{
	struct imap_fetch_needs n;

	(void)state;
	needs_of("FAST", false, &n);
	assert_false(n.meta || n.content || n.sets_seen || n.modseq || n.changedsince);
	needs_of("ALL", false, &n);
	assert_true(n.meta);
	assert_false(n.content || n.sets_seen);
	needs_of("full", false, &n);
	assert_true(n.meta);
	needs_of("(FLAGS UID RFC822.SIZE INTERNALDATE)", false, &n);
	assert_false(n.meta || n.content || n.sets_seen);
	needs_of("BODYSTRUCTURE", false, &n);
	assert_true(n.meta);
	assert_false(n.content);
	/* PEEK and RFC822.HEADER leave \Seen alone. */
	needs_of("(BODY.PEEK[1] BINARY.PEEK[1] BINARY.SIZE[1] RFC822.HEADER)", false, &n);
	assert_true(n.meta && n.content);
	assert_false(n.sets_seen);
	needs_of("BODY[TEXT]", false, &n);
	assert_true(n.sets_seen && n.content && n.meta);
	needs_of("BINARY[1]", false, &n);
	assert_true(n.sets_seen);
	needs_of("RFC822", false, &n);
	assert_true(n.sets_seen && n.content);
	needs_of("(RFC822.TEXT)", false, &n);
	assert_true(n.sets_seen);
	/* BODY[] is read with the message size: no parts needed. */
	needs_of("BODY.PEEK[]<0.100>", false, &n);
	assert_true(n.content);
	assert_false(n.meta);
	needs_of("(MODSEQ)", false, &n);
	assert_true(n.modseq);
	needs_of("(FLAGS) (CHANGEDSINCE 12345)", false, &n);
	assert_true(n.changedsince);
	assert_false(n.vanished || n.modseq);
	assert_int_equal(n.changedsince_modseq, 12345);
	needs_of("(FLAGS) (changedsince 9223372036854775807 vanished)", true, &n);
	assert_true(n.changedsince && n.vanished);
	assert_int_equal(n.changedsince_modseq, INT64_MAX);
	/* UID FETCH with nothing else asked answers UID alone. */
	needs_of("()", true, &n);
}

static void test_parse_errors(void **state)
{
	(void)state;
	refused("ENVELOPES", false);
	refused("(FLAGS BOGUS)", false);
	refused("(FAST)", false);           /* macros stand alone (RFC 9051 6.4.5) */
	refused("(ALL FLAGS)", false);
	refused("((FLAGS))", false);
	refused("\"FLAGS\"", false);
	refused("BINARY", false);           /* needs a section */
	refused("BODY.PEEK", false);
	refused("()", false);               /* nothing to answer */
	refused("FLAGS (CHANGEDSINCE)", false);
	refused("FLAGS (CHANGEDSINCE x)", false);
	refused("FLAGS (CHANGEDSINCE 9223372036854775808)", false);
	refused("FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", false);
	refused("FLAGS (VANISHED VANISHED)", false);
	refused("FLAGS (PARTIAL 1:5)", false);
	refused("FLAGS ()", false);
	refused("FLAGS FLAGS", false);
	refused("FLAGS (VANISHED) (VANISHED)", false);

	/* More items than IMAP_FETCH_MAX_ITEMS. */
	struct buf many;
	buf_init(&many, 64 * 1024);
	buf_putc(&many, '(');
	for (int i = 0; i < 300; i++)
		buf_printf(&many, "%sBODY.PEEK[%d]", i > 0 ? " " : "", i + 1);
	buf_putc(&many, ')');
	refused(many.data, false);
	buf_free(&many);
}

/* ---------- answers ---------- */

static void test_simple_items(void **state)
{
	struct message m;
	static const char *const keywords[] = { "$Forwarded", NULL, "$Junk" };

	(void)state;
	OPEN(&m, msg_simple);
	m.keywords = keywords;
	m.keyword_count = 3;
	m.meta.msg.keywords = 0x5;
	m.meta.msg.flags |= STORE_FLAG_FLAGGED;
	EXPECT(&m, "(FLAGS UID)", "* 12 FETCH (FLAGS (\\Seen \\Flagged $Forwarded $Junk) UID 4827313)\r\n");
	/* RFC 9051 6.4.5's example date, in UTC. */
	EXPECT(&m, "INTERNALDATE", "* 12 FETCH (INTERNALDATE \"17-Jul-1996 09:44:25 +0000\")\r\n");
	m.meta.msg.internal_date = 0;
	EXPECT(&m, "INTERNALDATE", "* 12 FETCH (INTERNALDATE \"01-Jan-1970 00:00:00 +0000\")\r\n");
	m.meta.msg.internal_date = TEST_INTERNALDATE;
	EXPECT(&m, "RFC822.SIZE", "* 12 FETCH (RFC822.SIZE 210)\r\n");
	EXPECT(&m, "ENVELOPE",
	       "* 12 FETCH (ENVELOPE (NIL \"Simple\" ((NIL NIL \"a\" \"example.org\")) "
	       "((NIL NIL \"a\" \"example.org\")) ((NIL NIL \"a\" \"example.org\")) NIL NIL NIL "
	       "NIL NIL))\r\n");
	EXPECT(&m, "(BODY BODYSTRUCTURE)",
	       "* 12 FETCH (BODY (\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	       "\"quoted-printable\" 65 3) BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" "
	       "\"utf-8\") NIL NIL \"quoted-printable\" 65 3 NIL NIL NIL NIL))\r\n");
	/* The macros, in RFC 9051's order. */
	m.meta.msg.keywords = 0;
	EXPECT(&m, "FAST",
	       "* 12 FETCH (FLAGS (\\Seen \\Flagged) INTERNALDATE \"17-Jul-1996 09:44:25 +0000\" "
	       "RFC822.SIZE 210)\r\n");
	EXPECT(&m, "ALL",
	       "* 12 FETCH (FLAGS (\\Seen \\Flagged) INTERNALDATE \"17-Jul-1996 09:44:25 +0000\" "
	       "RFC822.SIZE 210 ENVELOPE (NIL \"Simple\" ((NIL NIL \"a\" \"example.org\")) "
	       "((NIL NIL \"a\" \"example.org\")) ((NIL NIL \"a\" \"example.org\")) NIL NIL NIL "
	       "NIL NIL))\r\n");
	EXPECT(&m, "FULL",
	       "* 12 FETCH (FLAGS (\\Seen \\Flagged) INTERNALDATE \"17-Jul-1996 09:44:25 +0000\" "
	       "RFC822.SIZE 210 ENVELOPE (NIL \"Simple\" ((NIL NIL \"a\" \"example.org\")) "
	       "((NIL NIL \"a\" \"example.org\")) ((NIL NIL \"a\" \"example.org\")) NIL NIL NIL "
	       "NIL NIL) BODY (\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	       "\"quoted-printable\" 65 3))\r\n");
	/* An item asked twice is answered once. */
	EXPECT(&m, "(UID FLAGS UID)", "* 12 FETCH (UID 4827313 FLAGS (\\Seen \\Flagged))\r\n");
	/* RFC 7162 3.1.4.1: MODSEQ (value) */
	EXPECT(&m, "(MODSEQ)", "* 12 FETCH (MODSEQ (12121231000))\r\n");
	message_close(&m);
}

static void test_implied_items(void **state)
{
	struct message m;
	struct options o = { 0 };

	(void)state;
	OPEN(&m, msg_simple);
	/* UID FETCH answers UID first (RFC 9051 6.4.9), or where it was asked. */
	o.uid = true;
	EXPECT_OPT(&m, "FLAGS", &o, "* 12 FETCH (UID 4827313 FLAGS (\\Seen))\r\n");
	EXPECT_OPT(&m, "(FLAGS UID)", &o, "* 12 FETCH (FLAGS (\\Seen) UID 4827313)\r\n");
	EXPECT_OPT(&m, "()", &o, "* 12 FETCH (UID 4827313)\r\n");
	/* \Seen just set: FLAGS is added unless asked. */
	o.flags_changed = true;
	EXPECT_OPT(&m, "BODY[1]<0.3>", &o,
		   "* 12 FETCH (UID 4827313 BODY[1]<0> {3}\r\nCaf FLAGS (\\Seen))\r\n");
	EXPECT_OPT(&m, "(FLAGS BODY[1]<0.3>)", &o,
		   "* 12 FETCH (UID 4827313 FLAGS (\\Seen) BODY[1]<0> {3}\r\nCaf)\r\n");
	/* CONDSTORE enabled: MODSEQ on every answer, once. */
	o.flags_changed = false;
	o.condstore = true;
	EXPECT_OPT(&m, "FLAGS", &o, "* 12 FETCH (UID 4827313 FLAGS (\\Seen) MODSEQ (12121231000))\r\n");
	EXPECT_OPT(&m, "(MODSEQ FLAGS)", &o,
		   "* 12 FETCH (UID 4827313 MODSEQ (12121231000) FLAGS (\\Seen))\r\n");
	/* CHANGEDSINCE implies MODSEQ (RFC 7162 3.1.4.1). */
	o = (struct options){ 0 };
	EXPECT_OPT(&m, "(FLAGS) (CHANGEDSINCE 1)", &o,
		   "* 12 FETCH (FLAGS (\\Seen) MODSEQ (12121231000))\r\n");
	message_close(&m);
}

static void test_sections_nested(void **state)
{
	struct message m;

	(void)state;
	OPEN(&m, msg_nested);
	EXPECT(&m, "BODY.PEEK[1]", "* 12 FETCH (BODY[1] {10}\r\nHello Bob.)\r\n");
	EXPECT(&m, "BODY.PEEK[1.MIME]",
	       "* 12 FETCH (BODY[1.MIME] {46}\r\n"
	       "Content-Type: text/plain; charset=us-ascii\r\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[2.1]",
	       "* 12 FETCH (BODY[2.1] {54}\r\n"
	       "Caf=C3=A9 au lait, a long line that is broken =\r\n"
	       "here.)\r\n");
	EXPECT(&m, "BODY.PEEK[2.2.MIME]",
	       "* 12 FETCH (BODY[2.2.MIME] {42}\r\n"
	       "Content-Type: text/html; charset=utf-8\r\n"
	       "\r\n"
	       ")\r\n");
	/* message/rfc822: N.HEADER and N.TEXT are the embedded message's. */
	EXPECT(&m, "BODY.PEEK[3.HEADER]",
	       "* 12 FETCH (BODY[3.HEADER] {144}\r\n"
	       "From: Carol <carol@example.org>\r\n"
	       "Subject: Inner\r\n"
	       "Received: from a\r\n"
	       "\tby b\r\n"
	       "MIME-Version: 1.0\r\n"
	       "Content-Type: multipart/mixed; boundary=\"inner\"\r\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[3.TEXT]",
	       "* 12 FETCH (BODY[3.TEXT] {182}\r\n"
	       "--inner\r\n"
	       "Content-Type: text/plain\r\n"
	       "\r\n"
	       "Inner text.\r\n"
	       "--inner\r\n"
	       "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
	       "Content-Transfer-Encoding: base64\r\n"
	       "\r\n"
	       "AAECAwBoZWxsbwD/\r\n"
	       "--inner--\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[3.1]", "* 12 FETCH (BODY[3.1] {11}\r\nInner text.)\r\n");
	EXPECT(&m, "BODY.PEEK[3.2.MIME]",
	       "* 12 FETCH (BODY[3.2.MIME] {94}\r\n"
	       "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
	       "Content-Transfer-Encoding: base64\r\n"
	       "\r\n"
	       ")\r\n");
	/* A leaf part is its own "1". */
	EXPECT(&m, "BODY.PEEK[3.2.1]", "* 12 FETCH (BODY[3.2.1] {16}\r\nAAECAwBoZWxsbwD/)\r\n");
	EXPECT(&m, "BODY.PEEK[1.1]", "* 12 FETCH (BODY[1.1] {10}\r\nHello Bob.)\r\n");
	/* Parts that do not exist are empty strings, not errors. */
	EXPECT(&m, "BODY.PEEK[9]", "* 12 FETCH (BODY[9] {0}\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[1.2]", "* 12 FETCH (BODY[1.2] {0}\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[2.3]", "* 12 FETCH (BODY[2.3] {0}\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[1.1.1]", "* 12 FETCH (BODY[1.1.1] {0}\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[1.HEADER]", "* 12 FETCH (BODY[1.HEADER] {0}\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[2.TEXT]", "* 12 FETCH (BODY[2.TEXT] {0}\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[4294967295]", "* 12 FETCH (BODY[4294967295] {0}\r\n)\r\n");
	/* The whole message and its header and text. */
	size_t header = (size_t)m.meta.parts[0].header_size;
	struct buf want;
	buf_init(&want, 64 * 1024);
	buf_printf(&want, "* 12 FETCH (BODY[] {%zu}\r\n", m.size);
	buf_append(&want, m.data, m.size);
	buf_append_str(&want, STR(")\r\n"));
	expect_opt(&m, "BODY.PEEK[]", &plain, want.data, want.len);
	buf_reset(&want);
	buf_printf(&want, "* 12 FETCH (BODY[HEADER] {%zu}\r\n", header);
	buf_append(&want, m.data, header);
	buf_append_str(&want, STR(")\r\n"));
	expect_opt(&m, "BODY.PEEK[HEADER]", &plain, want.data, want.len);
	buf_reset(&want);
	buf_printf(&want, "* 12 FETCH (BODY[TEXT] {%zu}\r\n", m.size - header);
	buf_append(&want, m.data + header, m.size - header);
	buf_append_str(&want, STR(")\r\n"));
	expect_opt(&m, "BODY.PEEK[TEXT]", &plain, want.data, want.len);
	buf_free(&want);
	message_close(&m);
}

static void test_message_rfc822_body(void **state)
{
	struct message m;

	(void)state;
	OPEN(&m, msg_forward);
	/* [1] is the body, which is a message: its HEADER, TEXT and "1". */
	EXPECT(&m, "BODY.PEEK[1]",
	       "* 12 FETCH (BODY[1] {58}\r\n"
	       "From: b@example.org\r\n"
	       "Subject: Original\r\n"
	       "\r\n"
	       "Original body.\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[1.HEADER]",
	       "* 12 FETCH (BODY[1.HEADER] {42}\r\n"
	       "From: b@example.org\r\n"
	       "Subject: Original\r\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[1.TEXT]", "* 12 FETCH (BODY[1.TEXT] {16}\r\nOriginal body.\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[1.1]", "* 12 FETCH (BODY[1.1] {16}\r\nOriginal body.\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[1.HEADER.FIELDS (SUBJECT)]",
	       "* 12 FETCH (BODY[1.HEADER.FIELDS (SUBJECT)] {21}\r\nSubject: Original\r\n\r\n)\r\n");
	/* Dovecot's choice for MIME of a part that has no MIME header of its
	 * own: the header of what holds it. */
	EXPECT(&m, "BODY.PEEK[1.MIME]",
	       "* 12 FETCH (BODY[1.MIME] {90}\r\n"
	       "From: a@example.org\r\n"
	       "Subject: Forward\r\n"
	       "MIME-Version: 1.0\r\n"
	       "Content-Type: message/rfc822\r\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "RFC822",
	       "* 12 FETCH (RFC822 {148}\r\n"
	       "From: a@example.org\r\n"
	       "Subject: Forward\r\n"
	       "MIME-Version: 1.0\r\n"
	       "Content-Type: message/rfc822\r\n"
	       "\r\n"
	       "From: b@example.org\r\n"
	       "Subject: Original\r\n"
	       "\r\n"
	       "Original body.\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[2]", "* 12 FETCH (BODY[2] {0}\r\n)\r\n");
	message_close(&m);
}

static void test_header_fields(void **state)
{
	struct message m;

	(void)state;
	OPEN(&m, msg_nested);
	/* Fields exactly as in the message (folding kept), any case, then the
	 * blank line; names echoed upper-cased, quoted as they were sent. */
	EXPECT(&m, "BODY.PEEK[3.HEADER.FIELDS (Subject received)]",
	       "* 12 FETCH (BODY[3.HEADER.FIELDS (SUBJECT RECEIVED)] {43}\r\n"
	       "Subject: Inner\r\n"
	       "Received: from a\r\n"
	       "\tby b\r\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS (\"from\" X-None)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS (\"FROM\" X-NONE)] {35}\r\n"
	       "From: Alice <alice@example.org>\r\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS.NOT (From Subject Date)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS.NOT (FROM SUBJECT DATE)] {131}\r\n"
	       "To: Bob <bob@example.org>\r\n"
	       "Message-ID: <nested@example.org>\r\n"
	       "MIME-Version: 1.0\r\n"
	       "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS (X-None)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS (X-NONE)] {2}\r\n\r\n)\r\n");
	/* A name that needs quoting is quoted even if sent otherwise. */
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS (\"Sub ject\" \"a\\\"b\")]",
	       "* 12 FETCH (BODY[HEADER.FIELDS (\"SUB JECT\" \"A\\\"B\")] {2}\r\n\r\n)\r\n");
	/* Not BODY.PEEK: answered as BODY all the same. */
	EXPECT(&m, "BODY[HEADER.FIELDS (TO)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS (TO)] {29}\r\nTo: Bob <bob@example.org>\r\n\r\n)\r\n");
	/* HEADER.FIELDS of a part that is no message: empty. */
	EXPECT(&m, "BODY.PEEK[1.HEADER.FIELDS (Content-Type)]",
	       "* 12 FETCH (BODY[1.HEADER.FIELDS (CONTENT-TYPE)] {0}\r\n)\r\n");
	message_close(&m);

	/* Obsolete white space before the colon, LF-only lines, a line
	 * without a colon, a field that continues over several lines. */
	static const char odd[] =
		"Subject : spaced\r\n"
		"X-Lf: one\n"
		" two\n"
		"garbage line\r\n"
		"To: x@example.org\r\n"
		"\r\n"
		"body\r\n";
	OPEN_RAW(&m, odd);
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS (subject x-lf)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS (SUBJECT X-LF)] {35}\r\n"
	       "Subject : spaced\r\n"
	       "X-Lf: one\n"
	       " two\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS.NOT (subject x-lf)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS.NOT (SUBJECT X-LF)] {35}\r\n"
	       "garbage line\r\n"
	       "To: x@example.org\r\n"
	       "\r\n"
	       ")\r\n");
	message_close(&m);

	/* Names are matched whole and by every octet: one of the same length
	 * whose first octet differs by the case bit alone ('@' and '`') or
	 * by a letter, one that is longer, are other names. */
	static const char near[] =
		"`Tick: grave\r\n"
		"@Tick: at\r\n"
		"Tock: upper\r\n"
		"tOCK: mixed\r\n"
		"Sock: other\r\n"
		"Tocks: longer\r\n"
		"\r\n"
		"body\r\n";
	OPEN_RAW(&m, near);
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS (@tick tock)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS (@TICK TOCK)] {39}\r\n"
	       "@Tick: at\r\n"
	       "Tock: upper\r\n"
	       "tOCK: mixed\r\n"
	       "\r\n"
	       ")\r\n");
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS.NOT (`TICK TOCKS)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS.NOT (`TICK TOCKS)] {52}\r\n"
	       "@Tick: at\r\n"
	       "Tock: upper\r\n"
	       "tOCK: mixed\r\n"
	       "Sock: other\r\n"
	       "\r\n"
	       ")\r\n");
	message_close(&m);
}


/* With the header copy of the store in the meta, header answers come
 * from it, byte for byte as from the file, and need no file; what lies
 * past it (a nested message's header, the text) still comes from the
 * file. */
static void test_header_copy(void **state)
{
	static const char *const items[] = {
		"BODY.PEEK[HEADER.FIELDS (From Subject received)]",
		"BODY.PEEK[HEADER.FIELDS.NOT (From)]",
		"BODY.PEEK[HEADER]",
		"BODY.PEEK[HEADER]<5.20>",
		"RFC822.HEADER",
		"(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (TO CC MESSAGE-ID)])",
	};
	struct message m;

	(void)state;
	OPEN(&m, msg_nested);
	char *want[sizeof(items) / sizeof(items[0])];
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		want[i] = fetch_text(&m, items[i]);
	/* The copy, and a file that can no longer be read. */
	m.meta.header_copy = m.data;
	m.meta.header_copy_size = (size_t)m.meta.parts[0].header_size;
	int fd = m.fd;
	m.fd = -1;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		char *got = fetch_text(&m, items[i]);
		assert_string_equal(got, want[i]);
		free(got);
		free(want[i]);
	}
	expect_error(&m, "BODY.PEEK[3.HEADER.FIELDS (Subject)]", IMAP_FETCH_ERROR);
	expect_error(&m, "BODY.PEEK[TEXT]", IMAP_FETCH_ERROR);
	/* A copy shorter than the header: the file answers. */
	m.fd = fd;
	m.meta.header_copy_size = 10;
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS (\"from\" X-None)]",
	       "* 12 FETCH (BODY[HEADER.FIELDS (\"FROM\" X-NONE)] {35}\r\n"
	       "From: Alice <alice@example.org>\r\n"
	       "\r\n"
	       ")\r\n");
	message_close(&m);
}


static void test_partial(void **state)
{
	struct message m;

	(void)state;
	OPEN(&m, msg_nested);
	/* RFC 9051 6.4.5: the answer names the origin only. */
	EXPECT(&m, "BODY.PEEK[]<5.10>", "* 12 FETCH (BODY[]<5> {10}\r\n Alice <al)\r\n");
	EXPECT(&m, "BODY.PEEK[TEXT]<0.20>",
	       "* 12 FETCH (BODY[TEXT]<0> {20}\r\nThis is a multi-part)\r\n");
	EXPECT(&m, "BODY.PEEK[1]<3.100>", "* 12 FETCH (BODY[1]<3> {7}\r\nlo Bob.)\r\n");
	EXPECT(&m, "BODY.PEEK[3]<1000.5>", "* 12 FETCH (BODY[3]<1000> {0}\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[1]<10.1>", "* 12 FETCH (BODY[1]<10> {0}\r\n)\r\n");
	EXPECT(&m, "BODY.PEEK[1]<9.1>", "* 12 FETCH (BODY[1]<9> {1}\r\n.)\r\n");
	EXPECT(&m, "BODY.PEEK[HEADER.FIELDS (Subject)]<2.5>",
	       "* 12 FETCH (BODY[HEADER.FIELDS (SUBJECT)]<2> {5}\r\nbject)\r\n");
	EXPECT(&m, "BODY.PEEK[1]<0.9223372036854775807>", "* 12 FETCH (BODY[1]<0> {10}\r\nHello Bob.)\r\n");
	EXPECT(&m, "BODY.PEEK[1]<9223372036854775807.9223372036854775807>",
	       "* 12 FETCH (BODY[1]<9223372036854775807> {0}\r\n)\r\n");
	EXPECT(&m, "BINARY.PEEK[4]<2.5>", "* 12 FETCH (BINARY[4]<2> {5}\r\nllo w)\r\n");
	/* literal8 only when the window holds a NUL. */
	EXPECT(&m, "BINARY.PEEK[3.2]<4.3>", "* 12 FETCH (BINARY[3.2]<4> ~{3}\r\n\0he)\r\n");
	EXPECT(&m, "BINARY.PEEK[3.2]<5.3>", "* 12 FETCH (BINARY[3.2]<5> {3}\r\nhel)\r\n");
	/* Several partials of one part, in the order asked. */
	EXPECT(&m, "(BODY.PEEK[1]<0.5> BODY.PEEK[1]<6.4>)",
	       "* 12 FETCH (BODY[1]<0> {5}\r\nHello BODY[1]<6> {4}\r\nBob.)\r\n");
	message_close(&m);
}

static void test_binary(void **state)
{
	struct message m;

	(void)state;
	OPEN(&m, msg_nested);
	/* Quoted-printable and base64 leaves, decoded.  Dovecot sends every
	 * decoded part as literal8; RFC 3516 4.2 asks for a plain literal when
	 * the data holds no NUL, and so do we. */
	EXPECT(&m, "BINARY.PEEK[2.1]",
	       "* 12 FETCH (BINARY[2.1] {47}\r\n"
	       "Caf\xc3\xa9 au lait, a long line that is broken here.)\r\n");
	EXPECT(&m, "BINARY.PEEK[4]", "* 12 FETCH (BINARY[4] {11}\r\nhello world)\r\n");
	EXPECT(&m, "BINARY[3.2]", "* 12 FETCH (BINARY[3.2] ~{12}\r\n\0\1\2\3\0hello\0\xff)\r\n");
	EXPECT(&m, "BINARY.PEEK[1]", "* 12 FETCH (BINARY[1] {10}\r\nHello Bob.)\r\n");
	EXPECT(&m, "BINARY.PEEK[9]", "* 12 FETCH (BINARY[9] {0}\r\n)\r\n");
	/* Sizes (Dovecot refuses these whenever another part of the message
	 * has an unknown encoding; only the part asked for matters here). */
	EXPECT(&m, "BINARY.SIZE[2.1]", "* 12 FETCH (BINARY.SIZE[2.1] 47)\r\n");
	EXPECT(&m, "BINARY.SIZE[3.2]", "* 12 FETCH (BINARY.SIZE[3.2] 12)\r\n");
	EXPECT(&m, "(BINARY.SIZE[4] BINARY.SIZE[1] BINARY.SIZE[9])",
	       "* 12 FETCH (BINARY.SIZE[4] 11 BINARY.SIZE[1] 10 BINARY.SIZE[9] 0)\r\n");
	/* A multipart: its leaves decoded, their headers saying so. */
	EXPECT(&m, "BINARY.PEEK[2]",
	       "* 12 FETCH (BINARY[2] {212}\r\n"
	       "--alt\r\n"
	       "Content-Type: text/plain; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: binary\r\n"
	       "\r\n"
	       "Caf\xc3\xa9 au lait, a long line that is broken here.\r\n"
	       "--alt\r\n"
	       "Content-Type: text/html; charset=utf-8\r\n"
	       "\r\n"
	       "<p>Caf&eacute;</p>\r\n"
	       "--alt--\r\n"
	       ")\r\n");
	EXPECT(&m, "BINARY.SIZE[2]", "* 12 FETCH (BINARY.SIZE[2] 212)\r\n");
	EXPECT(&m, "BINARY.PEEK[3]",
	       "* 12 FETCH (BINARY[3] ~{322}\r\n"
	       "From: Carol <carol@example.org>\r\n"
	       "Subject: Inner\r\n"
	       "Received: from a\r\n"
	       "\tby b\r\n"
	       "MIME-Version: 1.0\r\n"
	       "Content-Type: multipart/mixed; boundary=\"inner\"\r\n"
	       "\r\n"
	       "--inner\r\n"
	       "Content-Type: text/plain\r\n"
	       "\r\n"
	       "Inner text.\r\n"
	       "--inner\r\n"
	       "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
	       "Content-Transfer-Encoding: binary\r\n"
	       "\r\n"
	       "\0\1\2\3\0hello\0\xff\r\n"
	       "--inner--\r\n"
	       ")\r\n");
	/* x-uuencode: NO [UNKNOWN-CTE], for the part and what holds it. */
	expect_error(&m, "BINARY.PEEK[5]", IMAP_FETCH_UNKNOWN_CTE);
	expect_error(&m, "BINARY.SIZE[5]", IMAP_FETCH_UNKNOWN_CTE);
	expect_error(&m, "(UID BINARY.PEEK[])", IMAP_FETCH_UNKNOWN_CTE);
	message_close(&m);

	/* A single-part message: BINARY[] keeps the header (saying binary). */
	OPEN(&m, msg_simple);
	EXPECT(&m, "BINARY.PEEK[]",
	       "* 12 FETCH (BINARY[] {188}\r\n"
	       "From: a@example.org\r\n"
	       "Subject: Simple\r\n"
	       "MIME-Version: 1.0\r\n"
	       "Content-Type: text/plain; charset=utf-8\r\n"
	       "Content-Transfer-Encoding: binary\r\n"
	       "\r\n"
	       "Caf\xc3\xa9 line one, soft break; trailing space\r\n"
	       "last line)\r\n");
	EXPECT(&m, "BINARY.SIZE[]", "* 12 FETCH (BINARY.SIZE[] 188)\r\n");
	EXPECT(&m, "BINARY.PEEK[1]",
	       "* 12 FETCH (BINARY[1] {53}\r\n"
	       "Caf\xc3\xa9 line one, soft break; trailing space\r\n"
	       "last line)\r\n");
	EXPECT(&m, "BINARY.PEEK[]<3.7>", "* 12 FETCH (BINARY[]<3> {7}\r\nm: a@ex)\r\n");
	EXPECT(&m, "BINARY.PEEK[]<125.8>", "* 12 FETCH (BINARY[]<125> {8}\r\nbinary\r\n)\r\n");
	message_close(&m);

	/* Not MIME: BODYSTRUCTURE says 7bit, so BINARY does not decode.
	 * (Dovecot decodes it here, against its own BODYSTRUCTURE.) */
	OPEN(&m, msg_not_mime);
	EXPECT(&m, "BINARY.PEEK[1]", "* 12 FETCH (BINARY[1] {10}\r\naGVsbG8=\r\n)\r\n");
	EXPECT(&m, "BINARY.SIZE[1]", "* 12 FETCH (BINARY.SIZE[1] 10)\r\n");
	message_close(&m);
}

static void test_nul(void **state)
{
	struct message m;

	(void)state;
	OPEN(&m, msg_nul);
	/* Text answers cannot hold NUL: it becomes 0x80, as in Dovecot. */
	EXPECT(&m, "BODY.PEEK[1]", "* 12 FETCH (BODY[1] {7}\r\nab\x80" "cd\r\n)\r\n");
	EXPECT(&m, "RFC822.TEXT", "* 12 FETCH (RFC822.TEXT {7}\r\nab\x80" "cd\r\n)\r\n");
	/* BINARY sends it as it is, in a literal8. */
	EXPECT(&m, "BINARY.PEEK[1]", "* 12 FETCH (BINARY[1] ~{7}\r\nab\0cd\r\n)\r\n");
	EXPECT(&m, "BINARY.PEEK[1]<3.2>", "* 12 FETCH (BINARY[1]<3> {2}\r\ncd)\r\n");
	EXPECT(&m, "RFC822.HEADER",
	       "* 12 FETCH (RFC822.HEADER {115}\r\n"
	       "From: a@example.org\r\n"
	       "Subject: nul\r\n"
	       "MIME-Version: 1.0\r\n"
	       "Content-Type: text/plain\r\n"
	       "Content-Transfer-Encoding: 8bit\r\n"
	       "\r\n"
	       ")\r\n");
	message_close(&m);
}

/* ---------- big parts ---------- */

/* base64 encodes n bytes of data in 76-character lines. */
static void base64(struct buf *out, const unsigned char *data, size_t n)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < n)
			v |= data[i + 2];
		char q[4] = { abc[v >> 18 & 63], abc[v >> 12 & 63],
			      i + 1 < n ? abc[v >> 6 & 63] : '=', i + 2 < n ? abc[v & 63] : '=' };
		buf_append(out, q, 4);
		if ((col += 4) == 76) {
			buf_append_str(out, STR("\r\n"));
			col = 0;
		}
	}
	buf_append_str(out, STR("\r\n"));
}

/* big_message makes a multipart with body as part 1 (with the given CTE). */
static void big_message(struct message *m, const char *cte, struct str body)
{
	struct buf text;

	buf_init(&text, 64 * 1024 * 1024);
	buf_printf(&text,
		   "Subject: big\r\nMIME-Version: 1.0\r\n"
		   "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		   "--b\r\nContent-Transfer-Encoding: %s\r\n\r\n", cte);
	buf_append_str(&text, body);
	buf_append_str(&text, STR("\r\n--b--\r\n"));
	message_open(m, text.data, text.len, true);
	buf_free(&text);
}

/* fetch_data fetches items (one literal answer) and returns its data. */
static void fetch_data(struct message *m, const char *items, struct buf *out, struct str *data_r)
{
	const char *error = NULL;

	buf_reset(out);
	int r = run(m, items, &plain, out, &error);
	if (r != IMAP_FETCH_OK)
		fail_msg("FETCH %s failed (%d): %s", items, r, error);
	long open = str_chr(buf_str(out), '{');
	assert_true(open > 0);
	struct str rest = str_sub(buf_str(out), (size_t)open + 1, SIZE_MAX);
	long close = str_chr(rest, '}');
	assert_true(close > 0);
	uint64_t n;
	assert_int_equal(str_to_u64(str_from(rest.ptr, (size_t)close), UINT64_MAX, &n), 0);
	*data_r = str_from(rest.ptr + close + 3, (size_t)n);
	assert_int_equal(out->len, (size_t)(data_r->ptr - out->data) + n + 3);
	assert_memory_equal(data_r->ptr + n, ")\r\n", 3);
}

static void test_big_base64(void **state)
{
	enum { N = 300001 };
	unsigned char *data = malloc(N);
	struct buf enc, out, items;
	struct message m;
	struct str got;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < N; i++)
		data[i] = (unsigned char)((i * 7919u) >> 5);
	buf_init(&enc, 64 * 1024 * 1024);
	base64(&enc, data, N);
	big_message(&m, "base64", buf_str(&enc));
	buf_init(&out, 64 * 1024 * 1024);
	buf_init(&items, 256);

	fetch_data(&m, "BINARY.PEEK[1]", &out, &got);
	assert_int_equal(got.len, N);
	assert_memory_equal(got.ptr, data, N);
	assert_memory_equal(out.data, "* 12 FETCH (BINARY[1] ~{300001}\r\n", 33);
	/* Windows across the chunk borders of the decoder. */
	static const size_t offsets[] = { 0, 1, 49151, 49152, 65535, 65536, 131070, 299999 };
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		buf_reset(&items);
		buf_printf(&items, "BINARY.PEEK[1]<%zu.70000>", offsets[i]);
		fetch_data(&m, items.data, &out, &got);
		size_t want = N - offsets[i] < 70000 ? N - offsets[i] : 70000;
		assert_int_equal(got.len, want);
		assert_memory_equal(got.ptr, data + offsets[i], want);
	}
	EXPECT(&m, "BINARY.SIZE[1]", "* 12 FETCH (BINARY.SIZE[1] 300001)\r\n");

	/* Only what the window needs is read: with the file cut short after
	 * the first chunk, the start still comes, the whole part does not. */
	assert_int_equal(ftruncate(m.fd, (off_t)(m.meta.parts[1].body_offset + 70000)), 0);
	fetch_data(&m, "BINARY.PEEK[1]<0.100>", &out, &got);
	assert_memory_equal(got.ptr, data, 100);
	fetch_data(&m, "BODY.PEEK[1]<0.100>", &out, &got);
	assert_memory_equal(got.ptr, enc.data, 100);
	expect_error(&m, "BINARY.PEEK[1]", IMAP_FETCH_ERROR);
	expect_error(&m, "BODY.PEEK[]", IMAP_FETCH_ERROR);
	expect_error(&m, "BINARY.SIZE[1]", IMAP_FETCH_ERROR);

	message_close(&m);
	buf_free(&items);
	buf_free(&out);
	buf_free(&enc);
	free(data);
}

static void test_big_qp(void **state)
{
	struct buf qp, want, out;
	struct message m;
	struct str got;

	(void)state;
	/* Lines of every length around the chunk size, with soft breaks,
	 * "=XX" and transport padding falling on chunk borders; and one line
	 * of 200 KB with no line end at all. */
	buf_init(&qp, 64 * 1024 * 1024);
	for (size_t i = 0; qp.len < 400 * 1024; i++) {
		for (size_t k = 0; k < i % 97; k++)
			buf_append_str(&qp, k % 3 == 0 ? STR("=C3=A9") : STR("ab "));
		buf_append_str(&qp, i % 5 == 0 ? STR("=\r\n") : i % 5 == 1 ? STR("  \r\n") :
				    i % 5 == 2 ? STR("= \r\n") : STR("\r\n"));
	}
	for (size_t i = 0; i < 200 * 1024 / 8; i++)
		buf_append_str(&qp, STR("x=3D=20  "));
	buf_append_str(&qp, STR("end="));
	buf_init(&want, 64 * 1024 * 1024);
	assert_int_equal(mail_decode(MAIL_CTE_QP, buf_str(&qp), &want), 0);

	big_message(&m, "quoted-printable", buf_str(&qp));
	buf_init(&out, 64 * 1024 * 1024);
	fetch_data(&m, "BINARY.PEEK[1]", &out, &got);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.ptr, want.data, want.len);
	fetch_data(&m, "BINARY.PEEK[1]<65000.140000>", &out, &got);
	assert_int_equal(got.len, 140000);
	assert_memory_equal(got.ptr, want.data + 65000, 140000);

	message_close(&m);
	buf_free(&out);
	buf_free(&want);
	buf_free(&qp);
}

/* ---------- errors ---------- */

static void test_errors(void **state)
{
	struct message m;
	struct options o = { 0 };
	struct command c;
	const char *error;
	struct buf out;

	(void)state;
	OPEN(&m, msg_nested);
	/* Out of room: nothing of this message is left in out. */
	buf_init(&out, 100);
	assert_int_equal(buf_append_str(&out, STR("* 11 FETCH (UID 1)\r\n")), 0);
	assert_int_equal(run(&m, "BODY.PEEK[]", &o, &out, &error), IMAP_FETCH_FULL);
	assert_int_equal(out.len, 20);
	assert_int_equal(run(&m, "ENVELOPE", &o, &out, &error), IMAP_FETCH_FULL);
	assert_int_equal(run(&m, "BINARY.PEEK[2]", &o, &out, &error), IMAP_FETCH_FULL);
	assert_int_equal(run(&m, "BODY.PEEK[HEADER.FIELDS.NOT (X)]", &o, &out, &error),
			 IMAP_FETCH_FULL);
	assert_int_equal(out.len, 20);
	assert_memory_equal(out.data, "* 11 FETCH (UID 1)\r\n", 21);
	assert_int_equal(run(&m, "BODY.PEEK[1]", &o, &out, &error), IMAP_FETCH_OK);
	buf_free(&out);

	/* The session forgot the content or the parts. */
	buf_init(&out, 1024);
	assert_int_equal(command_parse(&c, "BODY.PEEK[1]", false, &error), 0);
	struct imap_fetch_input in = { .seq = 1, .msg = &m.meta.msg, .meta = &m.meta };
	assert_int_equal(imap_fetch_write(c.plan, &in, &out, &error), IMAP_FETCH_ERROR);
	in.read = message_read;
	in.read_ctx = &m;
	in.meta = NULL;
	assert_int_equal(imap_fetch_write(c.plan, &in, &out, &error), IMAP_FETCH_ERROR);
	assert_int_equal(out.len, 0);
	command_free(&c);
	buf_free(&out);

	/* A part table pointing past the file is an error, not a short answer. */
	m.meta.parts[1].body_size = 100000;
	expect_error(&m, "BODY.PEEK[1]", IMAP_FETCH_ERROR);
	m.meta.parts[1].header_size = 10u * MIME_MAX_HEADER_BYTES;
	expect_error(&m, "BINARY.PEEK[1]", IMAP_FETCH_ERROR);
	message_close(&m);
}

/* ---------- in steps ---------- */

/* in_steps writes items of m with imap_fetch_write_step, taking out's
 * bytes away whenever it stops as a client reading them would, and checks
 * they are what one imap_fetch_write gives; returns how many stops. */
static size_t in_steps(struct message *m, const char *items, size_t high)
{
	struct command c;
	struct buf whole, out, got;
	const char *error;
	size_t stops = 0;

	assert_int_equal(command_parse(&c, items, false, &error), 0);
	struct imap_fetch_input in = {
		.seq = 3, .msg = &m->meta.msg, .meta = &m->meta,
		.read = message_read, .read_ctx = m,
	};
	buf_init(&whole, 64 * 1024 * 1024);
	buf_init(&out, 64 * 1024 * 1024);
	buf_init(&got, 64 * 1024 * 1024);
	assert_int_equal(imap_fetch_write(c.plan, &in, &whole, &error), IMAP_FETCH_OK);
	struct imap_fetch_resume state = { 0 };
	int r;
	while ((r = imap_fetch_write_step(c.plan, &in, &out, high, &state, &error)) ==
	       IMAP_FETCH_MORE) {
		/* A stop holds out to the mark plus one chunk of content. */
		assert_true(out.len < high + 64 * 1024 + 256);
		assert_int_equal(buf_append(&got, out.data, out.len), 0);
		buf_reset(&out);
		stops++;
	}
	assert_int_equal(r, IMAP_FETCH_OK);
	assert_int_equal(buf_append(&got, out.data, out.len), 0);
	assert_int_equal(got.len, whole.len);
	assert_memory_equal(got.data, whole.data, whole.len);
	buf_free(&whole);
	buf_free(&out);
	buf_free(&got);
	command_free(&c);
	return stops;
}

static void test_steps(void **state)
{
	struct message m;
	struct buf body;

	(void)state;
	/* A large 8bit part: BODY[], RFC822 and BINARY[] stop and go on. */
	buf_init(&body, 4 * 1024 * 1024);
	for (size_t i = 0; body.len < 3 * 1024 * 1024; i++)
		buf_printf(&body, "line %zu of the big part\r\n", i);
	big_message(&m, "8bit", buf_str(&body));
	assert_true(in_steps(&m, "(UID BODY[] RFC822 BINARY[] FLAGS)", 256 * 1024) > 30);
	assert_true(in_steps(&m, "(BODY.PEEK[1]<1000.2000000> BINARY.PEEK[1] RFC822.SIZE)",
			     100 * 1024) > 20);
	/* A mark already passed stops before each literal's content. */
	assert_true(in_steps(&m, "(BODY[TEXT] RFC822.HEADER)", 1) > 2);
	message_close(&m);
	buf_free(&body);
	/* Decoded parts are still written whole; NULs as in one go. */
	OPEN(&m, msg_nul);
	in_steps(&m, "(BINARY.PEEK[1] BODY.PEEK[1] BINARY[])", 1);
	message_close(&m);
	OPEN(&m, msg_nested);
	in_steps(&m, "(BODY[] BINARY[2] BODY[3.HEADER] BINARY[1])", 16);
	message_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_needs),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_simple_items),
		cmocka_unit_test(test_implied_items),
		cmocka_unit_test(test_sections_nested),
		cmocka_unit_test(test_message_rfc822_body),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_header_copy),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_big_base64),
		cmocka_unit_test(test_big_qp),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
