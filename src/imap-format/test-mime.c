/* Unit tests for mime: IMAP answers, offsets, chunking, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-format/imap-message.h"
#include "mail/mime.h"

/* crlf returns a malloc'd copy of s with every LF made CRLF. */
static char *crlf(const char *s)
{
	size_t n = strlen(s), lf = 0;
	for (size_t i = 0; i < n; i++)
		lf += s[i] == '\n';
	char *out = malloc(n + lf + 1), *o = out;
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			*o++ = '\r';
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* The messages handed out, each with the IMAP answers written from its
 * part tree: the parser is checked through what IMAP stores.  Freed after
 * the last test. */
struct answered {
	struct answered *next;
	struct mime_message msg;
	struct imap_message_answers answers;
};
static struct answered *answered;

/* answer gives a copy of msg whose envelope, body and bodystructure are
 * the answers IMAP writes for it (NULL stays NULL). */
static const struct mime_message *answer(const struct mime_message *msg)
{
	if (msg == NULL)
		return NULL;
	struct answered *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	a->next = answered;
	answered = a;
	assert_int_equal(imap_message_answers_write(msg, &a->answers), 0);
	a->msg = *msg;
	a->msg.envelope = buf_str(&a->answers.envelope);
	a->msg.body = buf_str(&a->answers.body);
	a->msg.bodystructure = buf_str(&a->answers.bodystructure);
	return &a->msg;
}

static int free_answered(void **state)
{
	(void)state;
	while (answered != NULL) {
		struct answered *next = answered->next;
		imap_message_answers_free(&answered->answers);
		free(answered);
		answered = next;
	}
	return 0;
}

/* parse feeds data in pieces of chunk bytes (0: all at once). */
static const struct mime_message *parse(struct mime_parser **p, const char *data, size_t len,
					size_t chunk, const struct mime_limits *limits,
					const char **error_r)
{
	const struct mime_message *msg = NULL;
	*p = mime_parser_new(limits);
	assert_non_null(*p);
	if (chunk == 0)
		chunk = len;
	for (size_t at = 0; at < len; at += chunk) {
		size_t n = len - at < chunk ? len - at : chunk;
		if (mime_parser_feed(*p, data + at, n, error_r) < 0)
			return NULL;
	}
	if (mime_parser_finish(*p, &msg, error_r) < 0)
		return NULL;
	return answer(msg);
}

static const struct mime_message *parse_ok(struct mime_parser **p, const char *data)
{
	const char *error = NULL;
	const struct mime_message *msg = parse(p, data, strlen(data), 0, NULL, &error);
	if (msg == NULL)
		fail_msg("parse failed: %s", error);
	return msg;
}

static void assert_str(struct str got, const char *want)
{
	if (got.len != strlen(want) || memcmp(got.ptr, want, got.len) != 0)
		fail_msg("got  [%.*s]\nwant [%s]", (int)got.len, got.ptr, want);
}

static bool same_str(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* assert_same_message checks two results are identical in every field. */
static void assert_same_message(const struct mime_message *a, const struct mime_message *b)
{
	assert_true(same_str(a->envelope, b->envelope));
	assert_true(same_str(a->body, b->body));
	assert_true(same_str(a->bodystructure, b->bodystructure));
	assert_true(same_str(a->subject, b->subject));
	assert_true(same_str(a->from, b->from));
	assert_true(same_str(a->to, b->to));
	assert_true(same_str(a->cc, b->cc));
	assert_true(same_str(a->message_id, b->message_id));
	assert_true(same_str(a->in_reply_to, b->in_reply_to));
	assert_true(same_str(a->references, b->references));
	assert_int_equal(a->date, b->date);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->lines, b->lines);
	assert_int_equal(a->part_count, b->part_count);
	for (size_t i = 0; i < a->part_count; i++) {
		const struct mime_part *x = &a->parts[i], *y = &b->parts[i];
		assert_true(same_str(x->section, y->section));
		assert_true(same_str(x->content_type, y->content_type));
		assert_int_equal(x->header_offset, y->header_offset);
		assert_int_equal(x->header_size, y->header_size);
		assert_int_equal(x->body_offset, y->body_offset);
		assert_int_equal(x->body_size, y->body_size);
		assert_int_equal(x->body_lines, y->body_lines);
		assert_int_equal(x->depth, y->depth);
		assert_int_equal(x->child_count, y->child_count);
		assert_int_equal(x->is_embedded_message, y->is_embedded_message);
	}
}

/* assert_part_sane checks invariants every result must keep. */
static void assert_parts_sane(const struct mime_message *m, const char *data)
{
	for (size_t i = 0; i < m->part_count; i++) {
		const struct mime_part *pt = &m->parts[i];
		assert_true(pt->header_offset + pt->header_size == pt->body_offset);
		assert_true(pt->body_offset + pt->body_size <= m->size);
		uint64_t lf = 0;
		for (uint64_t k = 0; k < pt->body_size; k++)
			lf += data[pt->body_offset + k] == '\n';
		assert_int_equal(lf, pt->body_lines);
	}
	assert_int_equal(m->parts[0].header_offset, 0);
	assert_int_equal(m->parts[0].body_offset + m->parts[0].body_size, m->size);
}

/* check_chunkings parses data all at once, byte by byte, in a few chunk
 * sizes and split in two at every position, and wants one result. */
static void check_chunkings(const char *data, size_t len)
{
	struct mime_parser *whole_p, *p;
	const char *error = NULL;
	const struct mime_message *whole = parse(&whole_p, data, len, 0, NULL, &error);

	assert_non_null(whole);
	assert_int_equal(whole->size, len);
	assert_parts_sane(whole, data);
	static const size_t chunks[] = { 1, 2, 3, 7, 64 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		const struct mime_message *m = parse(&p, data, len, chunks[i], NULL, &error);
		assert_non_null(m);
		assert_same_message(whole, m);
		mime_parser_free(&p);
	}
	for (size_t split = 1; split < len; split++) {
		const struct mime_message *m = NULL;
		p = mime_parser_new(NULL);
		assert_int_equal(mime_parser_feed(p, data, split, &error), 0);
		assert_int_equal(mime_parser_feed(p, data + split, len - split, &error), 0);
		assert_int_equal(mime_parser_finish(p, &m, &error), 0);
		m = answer(m);
		assert_same_message(whole, m);
		mime_parser_free(&p);
	}
	mime_parser_free(&whole_p);
}

/* Dovecot's own test vectors (src/lib-imap/test-imap-bodystructure.c),
 * with CRLF line ends so that its sizes (counted with CRLF) are ours. */
static const struct {
	const char *message, *body, *bodystructure;
} dovecot_tests[] = {
	{ "From: user@domain.org\nDate: Sat, 24 Mar 2017 23:00:00 +0200\nMime-Version: 1.0\n"
	  "Content-Type: text/plain; charset=us-ascii\n\nbody\n",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)" },
	{ "From: user@domain.org\nDate: Sat, 24 Mar 2017 23:00:00 +0200\nMime-Version: 1.0\n"
	  "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nbody\n\n",
	  "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 8 2)",
	  "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 8 2 NIL NIL NIL NIL)" },
	{ "From: user@domain.org\nDate: Sat, 24 Mar 2007 23:00:00 +0200\nMime-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"foo\n bar\"\n\n--foo bar\n"
	  "Content-Type: text/x-myown; charset=us-ascii\n\nhello\n\n--foo bar--\n\n",
	  "((\"text\" \"x-myown\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1) \"mixed\")",
	  "((\"text\" \"x-myown\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 NIL NIL NIL NIL) "
	  "\"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)" },
	{ "From: user@domain.org\nDate: Sat, 24 Mar 2017 23:00:00 +0200\nMime-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"foo bar\"\n\n--foo bar\n"
	  "Content-Type: text/plain; charset=us-ascii\nContent-ID: <A.frop.example.com>\n"
	  "Content-Description: Container message\n\nSee attached...\n\n--foo bar\n"
	  "Content-Type: message/rfc822\nContent-ID: <B.frop.example.com>\n"
	  "Content-Description: Forwarded\n\nFrom: user@domain.org\n"
	  "Date: Sat, 24 Mar 2017 23:00:00 +0200\nMime-Version: 1.0\n"
	  "Content-Type: text/plain; charset=us-ascii\n\nbody\n\n--foo bar--\n",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") \"<A.frop.example.com>\" \"Container message\" "
	  "\"7bit\" 17 1)(\"message\" \"rfc822\" NIL \"<B.frop.example.com>\" \"Forwarded\" \"7bit\" 133 "
	  "(\"Sat, 24 Mar 2017 23:00:00 +0200\" NIL ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL "
	  "\"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) NIL NIL NIL NIL NIL) "
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1) 6) \"mixed\")",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") \"<A.frop.example.com>\" \"Container message\" "
	  "\"7bit\" 17 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL \"<B.frop.example.com>\" "
	  "\"Forwarded\" \"7bit\" 133 (\"Sat, 24 Mar 2017 23:00:00 +0200\" NIL ((NIL NIL \"user\" "
	  "\"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) "
	  "NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 "
	  "NIL NIL NIL NIL) 6 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)" },
	{ "From: user@domain.org\nDate: Sat, 24 Mar 2007 23:00:00 +0200\nMime-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=\"foo\n bar\"\n\nRoot MIME prologue\n\n--foo bar\n"
	  "Content-Type: text/x-myown; charset=us-ascii; foo=\"quoted\\\"string\"\n"
	  "Content-ID: <foo@example.com>\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
	  "Content-Disposition: inline; foo=bar\nContent-Description: hellodescription\n"
	  "Content-Language: en, fi, se\nContent-Location: http://example.com/test.txt\n\nhello\n\n"
	  "--foo bar\nContent-Type: message/rfc822\n\nFrom: sub@domain.org\n"
	  "To: sub-to1@domain.org, sub-to2@domain.org\nDate: Sun, 12 Aug 2012 12:34:56 +0300\n"
	  "Subject: submsg\nContent-Type: multipart/alternative; boundary=\"sub1\"\n\n"
	  "Sub MIME prologue\n--sub1\nContent-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n"
	  "<p>Hello world</p>\n\n--sub1\nContent-Type: text/plain\n"
	  "Content-Transfer-Encoding: ?invalid\n\nHello another world\n\n--sub1--\n"
	  "Sub MIME epilogue\n\n--foo bar--\nRoot MIME epilogue\n",
	  "((\"text\" \"x-myown\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") "
	  "\"<foo@example.com>\" \"hellodescription\" \"7bit\" 7 1)(\"message\" \"rfc822\" NIL NIL NIL "
	  "\"7bit\" 412 (\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" "
	  "\"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) "
	  "((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) "
	  "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"8bit\" 20 1)(\"text\" \"plain\" "
	  "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 1) \"alternative\") 21) \"mixed\")",
	  "((\"text\" \"x-myown\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") "
	  "\"<foo@example.com>\" \"hellodescription\" \"7bit\" 7 1 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" "
	  "(\"inline\" (\"foo\" \"bar\")) (\"en\" \"fi\" \"se\") \"http://example.com/test.txt\")"
	  "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 412 (\"Sun, 12 Aug 2012 12:34:56 +0300\" "
	  "\"submsg\" ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL "
	  "\"sub\" \"domain.org\")) ((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" "
	  "\"domain.org\")) NIL NIL NIL NIL) ((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL "
	  "\"8bit\" 20 1 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	  "21 1 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"sub1\") NIL NIL NIL) 21 NIL NIL NIL "
	  "NIL) \"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)" },
	{ "Content-Type: multipart/mixed; boundary=\"foo\"\n\n",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
	  "\"mixed\" (\"boundary\" \"foo\") NIL NIL NIL)" },
};

static void test_dovecot_bodystructure(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dovecot_tests) / sizeof(dovecot_tests[0]); i++) {
		struct mime_parser *p;
		char *data = crlf(dovecot_tests[i].message);
		const struct mime_message *m = parse_ok(&p, data);
		assert_str(m->body, dovecot_tests[i].body);
		assert_str(m->bodystructure, dovecot_tests[i].bodystructure);
		mime_parser_free(&p);
		check_chunkings(data, strlen(data));
		free(data);
	}
}

/* Dovecot's ENVELOPE vectors (from imaptest), plus ours. */
static const struct {
	const char *message, *envelope;
} envelope_tests[] = {
	{ "Message-ID: <msg@id>\nIn-Reply-To: <reply@to.id>\nDate: Thu, 15 Feb 2007 01:02:03 +0200\n"
	  "Subject: subject header\nFrom: From Real <fromuser@fromdomain.org>\n"
	  "To: To Real <touser@todomain.org>\nCc: Cc Real <ccuser@ccdomain.org>\n"
	  "Bcc: Bcc Real <bccuser@bccdomain.org>\nSender: Sender Real <senderuser@senderdomain.org>\n"
	  "Reply-To: ReplyTo Real <replytouser@replytodomain.org>\n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" \"subject header\" ((\"From Real\" NIL \"fromuser\" "
	  "\"fromdomain.org\")) ((\"Sender Real\" NIL \"senderuser\" \"senderdomain.org\")) "
	  "((\"ReplyTo Real\" NIL \"replytouser\" \"replytodomain.org\")) ((\"To Real\" NIL \"touser\" "
	  "\"todomain.org\")) ((\"Cc Real\" NIL \"ccuser\" \"ccdomain.org\")) ((\"Bcc Real\" NIL "
	  "\"bccuser\" \"bccdomain.org\")) \"<reply@to.id>\" \"<msg@id>\")" },
	{ "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain\n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((NIL NIL \"user\" \"domain\")) ((NIL NIL \"user\" "
	  "\"domain\")) ((NIL NIL \"user\" \"domain\")) NIL NIL NIL NIL NIL)" },
	{ "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\n"
	  "To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\nCc: group:;, group2: (foo) ;\n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((\"Real Name\" NIL \"user\" \"domain\")) "
	  "((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) "
	  "((NIL NIL \"group\" NIL)(NIL NIL \"g1\" \"d1.org\")(NIL NIL \"g2\" \"d2.org\")(NIL NIL NIL "
	  "NIL)(NIL NIL \"group2\" NIL)(NIL NIL \"g3\" \"d3.org\")(NIL NIL NIL NIL)) ((NIL NIL "
	  "\"group\" NIL)(NIL NIL NIL NIL)(NIL NIL \"group2\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)" },
	{ "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\nSender: \n"
	  "Reply-To: \n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((\"Real Name\" NIL \"user\" \"domain\")) "
	  "((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) NIL NIL "
	  "NIL NIL NIL)" },
	{ "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: <@route:user@domain>\n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((NIL \"@route\" \"user\" \"domain\")) ((NIL "
	  "\"@route\" \"user\" \"domain\")) ((NIL \"@route\" \"user\" \"domain\")) NIL NIL NIL NIL NIL)" },
	/* missing everything */
	{ "X-Foo: bar\n\nbody\n", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" },
	{ "", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" },
	/* folded values are unfolded (a folded Subject is a literal and a
	 * Message-ID folded after the colon keeps a space, as in Dovecot);
	 * RFC 2047 stays raw; quotes make literals */
	{ "Subject: a folded\n\tsubject\nMessage-ID:\n <x@y>\n"
	  "From: =?utf-8?q?J=C3=B6rg?= <j@example.de>, \"Quote \\\"Me\\\"\" <q@example.org>\n\n",
	  "(NIL {16}\r\na folded subject ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"example.de\")({10}\r\n"
	  "Quote \"Me\" NIL \"q\" \"example.org\")) ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"example.de\")"
	  "({10}\r\nQuote \"Me\" NIL \"q\" \"example.org\")) ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" "
	  "\"example.de\")({10}\r\nQuote \"Me\" NIL \"q\" \"example.org\")) NIL NIL NIL NIL \" <x@y>\")" },
	/* 8-bit header text is sent as a literal; missing parts are filled */
	{ "Subject: Gr\xc3\xbc\xc3\x9f""e\nTo: user, Some Name, <>\n\n",
	  "(NIL {7}\r\nGr\xc3\xbc\xc3\x9f""e NIL NIL NIL ((NIL NIL \"user\" \"MISSING_DOMAIN\")"
	  "(\"Some Name\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" "
	  "\"MISSING_DOMAIN\")) NIL NIL NIL NIL)" },
	/* repeated address fields are merged; the last Subject counts */
	{ "From: a@x\nFrom: b@y\nSubject: one\nSubject: two\n\n",
	  "(NIL \"two\" ((NIL NIL \"a\" \"x\")(NIL NIL \"b\" \"y\")) ((NIL NIL \"a\" \"x\")(NIL NIL \"b\" "
	  "\"y\")) ((NIL NIL \"a\" \"x\")(NIL NIL \"b\" \"y\")) NIL NIL NIL NIL NIL)" },
};

static void test_envelope(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(envelope_tests) / sizeof(envelope_tests[0]); i++) {
		struct mime_parser *p;
		char *data = crlf(envelope_tests[i].message);
		const struct mime_message *m = parse_ok(&p, data);
		assert_str(m->envelope, envelope_tests[i].envelope);
		mime_parser_free(&p);
		check_chunkings(data, strlen(data));
		free(data);
	}
}

static const char nested_message[] =
	"From: a@example.org\n"
	"Subject: nested\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=outer\n"
	"\n"
	"preamble\n"
	"--outer\n"
	"Content-Type: multipart/alternative; boundary=inner\n"
	"\n"
	"--inner\n"
	"Content-Type: text/plain\n"
	"\n"
	"plain body\n"
	"--inner\n"
	"Content-Type: text/html\n"
	"\n"
	"<b>html</b>\n"
	"\n"
	"--inner--\n"
	"\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: inside\n"
	"Content-Type: multipart/mixed; boundary=deep\n"
	"\n"
	"--deep\n"
	"\n"
	"deep one\n"
	"--deep\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: innermost\n"
	"\n"
	"leaf\n"
	"--deep--\n"
	"--outer\n"
	"Content-Disposition: attachment; filename=x.bin\n"
	"Content-Type: application/octet-stream\n"
	"\n"
	"AAAA\n"
	"--outer--\n"
	"epilogue\n";

/* find returns the part with section and embedded flag. */
static const struct mime_part *find(const struct mime_message *m, const char *section, int embedded)
{
	for (size_t i = 0; i < m->part_count; i++)
		if (same_str(m->parts[i].section, str_c(section)) &&
		    m->parts[i].is_embedded_message == embedded)
			return &m->parts[i];
	fail_msg("no part %s", section);
	return NULL;
}

static void assert_bytes(const char *data, uint64_t off, uint64_t size, const char *want)
{
	if (size != strlen(want) || memcmp(data + off, want, size) != 0)
		fail_msg("got  [%.*s]\nwant [%s]", (int)size, data + off, want);
}

static void test_offsets(void **state)
{
	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: LF as written; pass 1: CRLF */
		char *data = pass == 0 ? strdup(nested_message) : crlf(nested_message);
		const char *nl = pass == 0 ? "\n" : "\r\n";
		char want[512];
		struct mime_parser *p;
		const struct mime_message *m = parse_ok(&p, data);
		const struct mime_part *pt;

		assert_int_equal(m->part_count, 10);
		assert_parts_sane(m, data);
		pt = find(m, "1.1", 0);
		assert_bytes(data, pt->body_offset, pt->body_size, "plain body");
		assert_int_equal(pt->body_lines, 0);
		snprintf(want, sizeof(want), "Content-Type: text/plain%s%s", nl, nl);
		assert_bytes(data, pt->header_offset, pt->header_size, want);
		pt = find(m, "1.2", 0);
		snprintf(want, sizeof(want), "<b>html</b>%s", nl);
		assert_bytes(data, pt->body_offset, pt->body_size, want);
		assert_int_equal(pt->body_lines, 1);
		pt = find(m, "1", 0);
		snprintf(want, sizeof(want),
			 "--inner%sContent-Type: text/plain%s%splain body%s--inner%s"
			 "Content-Type: text/html%s%s<b>html</b>%s%s--inner--%s",
			 nl, nl, nl, nl, nl, nl, nl, nl, nl, nl);
		assert_bytes(data, pt->body_offset, pt->body_size, want);
		assert_str(pt->content_type, "multipart/alternative");
		assert_int_equal(pt->child_count, 2);
		/* part 2 is message/rfc822; its message shares section "2" */
		pt = find(m, "2", 0);
		assert_str(pt->content_type, "message/rfc822");
		const struct mime_part *msg = find(m, "2", 1);
		assert_int_equal(msg->header_offset, pt->body_offset);
		assert_int_equal(msg->header_size + msg->body_size, pt->body_size);
		snprintf(want, sizeof(want), "Subject: inside%sContent-Type: multipart/mixed; boundary=deep%s%s",
			 nl, nl, nl);
		assert_bytes(data, msg->header_offset, msg->header_size, want); /* 2.HEADER */
		assert_str(msg->content_type, "multipart/mixed");
		pt = find(m, "2.1", 0);
		assert_int_equal(pt->header_size, strlen(nl));
		assert_bytes(data, pt->body_offset, pt->body_size, "deep one");
		/* the message inside part 2.2 is "2.2" too; its body is 2.2.1 */
		msg = find(m, "2.2", 1);
		snprintf(want, sizeof(want), "leaf");
		assert_bytes(data, msg->body_offset, msg->body_size, want);
		pt = find(m, "3", 0);
		assert_bytes(data, pt->body_offset, pt->body_size, "AAAA");
		assert_str(pt->content_type, "application/octet-stream");
		pt = find(m, "", 0);
		assert_int_equal(pt->child_count, 3);
		assert_int_equal(pt->depth, 0);
		assert_int_equal(find(m, "2.2", 1)->depth, 4);
		mime_parser_free(&p);
		check_chunkings(data, strlen(data));
		free(data);
	}
}

static void test_offsets_edge_cases(void **state)
{
	struct mime_parser *p;
	const struct mime_message *m;
	(void)state;

	/* empty parts: no header, header only, and a part right at the end */
	const char *empty = "Content-Type: multipart/mixed; boundary=e\r\n\r\n"
			    "--e\r\n--e\r\n\r\n--e\r\nContent-Type: text/plain\r\n--e--\r\n";
	m = parse_ok(&p, empty);
	assert_int_equal(m->part_count, 4);
	assert_int_equal(m->parts[1].header_size, 0);
	assert_int_equal(m->parts[1].body_size, 0);
	assert_int_equal(m->parts[2].header_size, 2);
	assert_int_equal(m->parts[2].body_size, 0);
	/* a header ended by the boundary: its last line break is the delimiter's */
	assert_bytes(empty, m->parts[3].header_offset, m->parts[3].header_size,
		     "Content-Type: text/plain");
	assert_int_equal(m->parts[3].body_size, 0);
	assert_str(m->bodystructure,
		   "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
		   "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
		   "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
		   "\"mixed\" (\"boundary\" \"e\") NIL NIL NIL)");
	mime_parser_free(&p);
	check_chunkings(empty, strlen(empty));

	/* header without body, and no final line break */
	m = parse_ok(&p, "Subject: x\r\nFrom: a@b");
	assert_int_equal(m->parts[0].header_size, 21);
	assert_int_equal(m->parts[0].body_offset, 21);
	assert_int_equal(m->parts[0].body_size, 0);
	mime_parser_free(&p);

	/* missing close delimiter: the last part runs to the end */
	const char *open = "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nlast\r\n";
	m = parse_ok(&p, open);
	assert_bytes(open, m->parts[1].body_offset, m->parts[1].body_size, "last\r\n");
	assert_int_equal(m->parts[1].body_lines, 1);
	mime_parser_free(&p);

	/* the close delimiter without a line break after it */
	const char *tail = "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nx\r\n--z--";
	m = parse_ok(&p, tail);
	assert_int_equal(m->part_count, 2);
	assert_bytes(tail, m->parts[1].body_offset, m->parts[1].body_size, "x");
	mime_parser_free(&p);

	/* nested boundary sharing a prefix with the outer one */
	const char *prefix = "Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n"
			     "Content-Type: multipart/mixed; boundary=abc\r\n\r\n--abc\r\n\r\ninner\r\n"
			     "--abc--\r\n--ab\r\n\r\nsecond\r\n--ab--\r\n";
	m = parse_ok(&p, prefix);
	assert_int_equal(m->part_count, 4);
	assert_bytes(prefix, m->parts[2].body_offset, m->parts[2].body_size, "inner");
	assert_bytes(prefix, m->parts[3].body_offset, m->parts[3].body_size, "second");
	assert_str(m->parts[3].section, "2");
	mime_parser_free(&p);
	check_chunkings(prefix, strlen(prefix));

	/* an outer boundary ends an inner multipart whose close is missing */
	const char *unclosed = "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
			       "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\nin\r\n"
			       "--o\r\n\r\nout\r\n--o--\r\n";
	m = parse_ok(&p, unclosed);
	assert_int_equal(m->part_count, 4);
	assert_str(m->parts[2].section, "1.1");
	assert_bytes(unclosed, m->parts[2].body_offset, m->parts[2].body_size, "in");
	assert_str(m->parts[3].section, "2");
	assert_bytes(unclosed, m->parts[3].body_offset, m->parts[3].body_size, "out");
	mime_parser_free(&p);

	/* multipart/digest parts default to message/rfc822 */
	const char *digest = "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
			     "Subject: one\r\n\r\nbody\r\n--d--\r\n";
	m = parse_ok(&p, digest);
	assert_int_equal(m->part_count, 3);
	assert_str(m->parts[1].content_type, "message/rfc822");
	assert_int_equal(m->parts[2].is_embedded_message, 1);
	assert_str(m->bodystructure,
		   "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 20 (NIL \"one\" NIL NIL NIL NIL NIL NIL "
		   "NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0 NIL NIL "
		   "NIL NIL) 2 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)");
	mime_parser_free(&p);

	/* a top-level message/rfc822: its message is section "1" */
	const char *top = "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n";
	m = parse_ok(&p, top);
	assert_int_equal(m->part_count, 2);
	assert_str(m->parts[1].section, "1");
	assert_int_equal(m->parts[1].is_embedded_message, 1);
	mime_parser_free(&p);

	/* no MIME-Version and no Content-Type: Content-* mean nothing */
	m = parse_ok(&p, "Content-Transfer-Encoding: base64\r\n\r\nx\r\n");
	assert_str(m->body, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)");
	mime_parser_free(&p);
}

static void test_rfc2231(void **state)
{
	struct mime_parser *p;
	(void)state;
	const struct mime_message *m = parse_ok(
		&p, "MIME-Version: 1.0\r\n"
		    "Content-Type: application/octet-stream;\r\n"
		    " title*0*=utf-8''%E2%82%AC%20rates;\r\n"
		    " title*1*=%20for%20;\r\n"
		    " title*2=\"2024\"; name=plain\r\n"
		    "Content-Disposition: attachment;\r\n"
		    " filename*=iso-8859-1'en'caf%E9.txt\r\n"
		    "\r\n"
		    "data\r\n");
	assert_str(m->bodystructure,
		   "(\"application\" \"octet-stream\" (\"name\" \"plain\" \"title\" {18}\r\n"
		   "\xe2\x82\xac rates for 2024) NIL NIL \"7bit\" 6 NIL (\"attachment\" (\"filename\" {9}\r\n"
		   "caf\xc3\xa9.txt)) NIL NIL)");
	mime_parser_free(&p);

	/* a gap in the numbering keeps the pieces apart, as Dovecot does */
	m = parse_ok(&p, "Content-Type: text/plain; a*0=x; a*2=z\r\n\r\n");
	assert_str(m->body, "(\"text\" \"plain\" (\"a*0\" \"x\" \"a*2\" \"z\" \"charset\" "
			    "\"us-ascii\") NIL NIL \"7bit\" 0 0)");
	mime_parser_free(&p);

	/* an unknown charset keeps the raw bytes */
	m = parse_ok(&p, "Content-Type: text/plain; charset*=x-nonesuch''a%41b\r\n\r\n");
	assert_str(m->body, "(\"text\" \"plain\" (\"charset\" \"aAb\") NIL NIL \"7bit\" 0 0)");
	mime_parser_free(&p);
}

static void test_rfc2047_decoded_fields(void **state)
{
	struct mime_parser *p;
	(void)state;
	char *data = crlf("From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>\n"
			  "To: =?iso-8859-1?b?Suly9G1l?= <jerome@example.fr>, plain@example.org\n"
			  "Cc: Team: a@b, c@d;\n"
			  "Subject: =?utf-8?B?w6RwZmVs?= =?utf-8?Q?_und_Birnen?= and\n"
			  " =?iso-8859-1?q?K=E4se?= =?utf-8?Q?=C3?= =?utf-8?Q?=A4?= =?bad?x?y?=\n"
			  "Message-ID:  <id@example.org> \n"
			  "References: <a@x>\n <b@x>\n"
			  "Date: Fri, 21 Nov 1997 09:55:06 -0600\n\nbody\n");
	const struct mime_message *m = parse_ok(&p, data);
	assert_str(m->subject, "\xc3\xa4pfel und Birnen and K\xc3\xa4se\xc3\xa4 =?bad?x?y?=");
	assert_str(m->from, "J\xc3\xb6rg M\xc3\xbcller <joerg@example.de>");
	assert_str(m->to, "J\xc3\xa9r\xc3\xb4me <jerome@example.fr>, plain@example.org");
	assert_str(m->cc, "Team: a@b, c@d;");
	assert_str(m->message_id, "<id@example.org>");
	assert_str(m->references, "<a@x> <b@x>");
	assert_str(m->in_reply_to, "");
	assert_int_equal(m->date, 880127706);
	mime_parser_free(&p);
	free(data);

	/* a word cut by whitespace does not hide a later good one */
	m = parse_ok(&p, "Subject: =?a?q?x=?b?q?y z =?utf-8?q?ok?= =?utf-8?q?unterminated\r\n\r\n");
	assert_str(m->subject, "=?a?q?x=?b?q?y z ok =?utf-8?q?unterminated");
	mime_parser_free(&p);
}

static void test_dates(void **state)
{
	static const struct {
		const char *date;
		int64_t t;
	} dates[] = {
		{ "Fri, 21 Nov 1997 09:55:06 -0600", 880127706 },
		{ "21 Nov 97 09:55:06 GMT", 880106106 },
		{ "Thu,\r\n 13\r\n Feb\r\n 1969\r\n 23:32\r\n -0330 (Newfoundland Time)", -27723480 },
		{ "Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", 1057049557 },
		{ "1 Jan 2024 00:00 EST", 1704085200 },
		{ "Sat, 29 Feb 2020 12:00:00 +0000", 1582977600 },
		{ "yesterday", -1 },
		{ "32 Jan 2020 00:00 +0000", -1 },
		{ "1 Foo 2020 00:00 +0000", -1 },
		{ "1 Jan 2020 24:00 +0000", -1 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		struct mime_parser *p;
		char msg[256];
		snprintf(msg, sizeof(msg), "Date: %s\r\n\r\n", dates[i].date);
		const struct mime_message *m = parse_ok(&p, msg);
		if (m->date != dates[i].t)
			fail_msg("%s: got %" PRId64 " want %" PRId64, dates[i].date, m->date, dates[i].t);
		mime_parser_free(&p);
	}
}

/* expect_limit parses data with limits and wants either success or the
 * error text. */
static void expect_limit(const char *data, const struct mime_limits *limits, const char *error)
{
	struct mime_parser *p;
	const char *got = NULL;
	const struct mime_message *m = parse(&p, data, strlen(data), 0, limits, &got);

	if (error == NULL) {
		if (m == NULL)
			fail_msg("unexpected error: %s", got);
	} else {
		assert_null(m);
		assert_non_null(got);
		if (strcmp(got, error) != 0)
			fail_msg("got error [%s] want [%s]", got, error);
	}
	mime_parser_free(&p);
	/* byte by byte fails (or not) the same way */
	m = parse(&p, data, strlen(data), 1, limits, &got);
	assert_true((m == NULL) == (error != NULL));
	mime_parser_free(&p);
}

static void test_limits(void **state)
{
	struct mime_limits l;
	(void)state;

	/* header bytes: the block including its blank line */
	const char *hdr = "Subject: 12345\r\n\r\nbody\r\n"; /* block: 18 bytes */
	mime_limits_default(&l);
	l.max_header_bytes = 18;
	expect_limit(hdr, &l, NULL);
	l.max_header_bytes = 17;
	expect_limit(hdr, &l, "header block too large (limit 17 bytes)");

	/* header fields per block (continuation lines do not count) */
	const char *fields = "A: 1\r\nB: 2\r\n 2b\r\nC: 3\r\n\r\n";
	mime_limits_default(&l);
	l.max_header_count = 3;
	expect_limit(fields, &l, NULL);
	l.max_header_count = 2;
	expect_limit(fields, &l, "too many header fields in one block (limit 2)");

	/* depth: root multipart 0, inner multipart 1, text 2 */
	const char *deep = "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
			   "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n"
			   "--b--\r\n--a--\r\n";
	mime_limits_default(&l);
	l.max_depth = 2;
	expect_limit(deep, &l, NULL);
	l.max_depth = 1;
	expect_limit(deep, &l, "MIME parts nested too deeply (limit 1)");

	/* parts: the root and three parts */
	const char *parts = "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\n1\r\n"
			    "--a\r\n\r\n2\r\n--a\r\n\r\n3\r\n--a--\r\n";
	mime_limits_default(&l);
	l.max_parts = 4;
	expect_limit(parts, &l, NULL);
	l.max_parts = 3;
	expect_limit(parts, &l, "too many MIME parts (limit 3)");

	/* an embedded message counts as a part and a level */
	const char *embedded = "Content-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\ny\r\n";
	mime_limits_default(&l);
	l.max_parts = 1;
	expect_limit(embedded, &l, "too many MIME parts (limit 1)");
	mime_limits_default(&l);
	l.max_depth = 0;
	expect_limit(embedded, &l, "MIME parts nested too deeply (limit 0)");

	/* after an error, feed keeps failing */
	struct mime_parser *p;
	const char *error = NULL;
	mime_limits_default(&l);
	l.max_header_bytes = 4;
	p = mime_parser_new(&l);
	assert_int_equal(mime_parser_feed(p, "Subject: x\r\n", 12, &error), -1);
	assert_int_equal(mime_parser_feed(p, "x", 1, &error), -1);
	assert_string_equal(error, "header block too large (limit 4 bytes)");
	mime_parser_free(&p);
	assert_null(p);
}

static void test_quoting(void **state)
{
	struct mime_parser *p;
	(void)state;
	/* Dovecot escapes up to 4 quoted-specials, then uses a literal */
	const struct mime_message *m = parse_ok(
		&p, "MIME-Version: 1.0\r\nContent-Type: text/plain; a=\"\\\\x\\\"\"; "
		    "b=\"\\\"\\\"\\\"\\\"\\\"\"\r\nContent-Description: tab\there\r\n\r\n");
	assert_str(m->body, "(\"text\" \"plain\" (\"a\" \"\\\\x\\\"\" \"b\" {5}\r\n\"\"\"\"\" \"charset\" "
			    "\"us-ascii\") NIL \"tab\there\" \"7bit\" 0 0)");
	mime_parser_free(&p);
	/* subjects are for humans: whitespace collapsed, empty stays "" */
	m = parse_ok(&p, "Subject:   lots   of\tspace  \r\n\r\n");
	assert_str(m->envelope, "(NIL {13}\r\nlots of space NIL NIL NIL NIL NIL NIL NIL NIL)");
	mime_parser_free(&p);
	m = parse_ok(&p, "Subject: \r\n\r\n");
	assert_str(m->envelope, "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	mime_parser_free(&p);
}

/* Seed-like messages, checked for chunking independence. */
static const char *const chunk_messages[] = {
	"",
	"\n",
	"\r\n",
	"Subject: header only\r\n",
	"From: lf@example.org\nContent-Type: multipart/mixed; boundary=lf\n\n--lf\n\none\ntwo\n--lf--\n",
	"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\nbody\r\n--q--",
	"Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n\r\nfirst\r\n--zz\r\n\r\nsecond",
	"Content-Type: multipart/mixed\r\n\r\n--x\r\ntext\r\n",
	"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nx",
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n--b--\r\n",
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\r\n\r\n--b \t\r\n\r\nx\r\n--b--junk\r\n",
	"Subject: cr\rin\r\n the middle\r\n\r\n\r\r\n",
};

static void test_chunking(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(chunk_messages) / sizeof(chunk_messages[0]); i++)
		check_chunkings(chunk_messages[i], strlen(chunk_messages[i]));
	char *data = crlf(nested_message);
	check_chunkings(data, strlen(data));
	free(data);

	/* a boundary line longer than the compared prefix */
	char big[2048];
	int n = snprintf(big, sizeof(big), "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b");
	memset(big + n, 'x', 600);
	n += 600;
	n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n\r\npart\r\n--b--\r\n");
	check_chunkings(big, (size_t)n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dovecot_bodystructure),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_offsets_edge_cases),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_rfc2047_decoded_fields),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_chunking),
	};
	return cmocka_run_group_tests(tests, NULL, free_answered);
}
