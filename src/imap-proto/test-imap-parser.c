/* Unit tests for imap-parser: real client commands, literals, sections,
 * chunking equivalence, every limit at and past it, errors and resync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
/* From <sanitizer/allocator_interface.h>, which gcc does not install. */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#include "imap-parser.h"
#include "lib/buf.h"

/* Large enough for every transcript the tests make. */
#define TRANSCRIPT_MAX (1024u * 1024)

/* heap_in_use is the number of heap bytes allocated right now. */
static size_t heap_in_use(void)
{
#ifdef TEST_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

/* How the test answers literal announcements. */
struct policy {
	uint64_t accept_max;   /* accept literals up to this size, refuse others */
};

static const struct policy accept_all = { UINT64_MAX };

static void print_args(struct buf *out, const struct imap_arg *args, size_t count);

/* print_section writes a section item back from its parsed fields. */
static void print_section(struct buf *out, const struct imap_section *s)
{
	static const char *const atts[] = { "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
					    "BINARY.SIZE" };
	static const char *const texts[] = { "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
					     "TEXT", "MIME" };
	buf_printf(out, "%s[", atts[s->att]);
	for (size_t i = 0; i < s->part_count; i++)
		buf_printf(out, "%s%u", i > 0 ? "." : "", (unsigned)s->parts[i]);
	if (s->text != IMAP_SECTION_WHOLE)
		buf_printf(out, "%s%s", s->part_count > 0 ? "." : "", texts[s->text]);
	if (s->field_count > 0) {
		buf_printf(out, " (");
		for (size_t i = 0; i < s->field_count; i++)
			buf_printf(out, "%s%.*s", i > 0 ? " " : "", (int)s->fields[i].len,
				   s->fields[i].ptr);
		buf_printf(out, ")");
	}
	buf_printf(out, "]");
	if (s->partial)
		buf_printf(out, "<%llu.%llu>", (unsigned long long)s->partial_offset,
			   (unsigned long long)s->partial_length);
}

/* print_arg writes one argument in a test notation: atoms bare, strings
 * quoted, literals {n}bytes (~{n} for literal8, {n+} non-synchronising). */
static void print_arg(struct buf *out, const struct imap_arg *a)
{
	switch (a->type) {
	case IMAP_ARG_ATOM:
		buf_append_str(out, a->text);
		break;
	case IMAP_ARG_NIL:
		buf_printf(out, "NIL");
		break;
	case IMAP_ARG_STRING:
		buf_printf(out, "\"%.*s\"", (int)a->text.len, a->text.ptr);
		break;
	case IMAP_ARG_LITERAL:
		buf_printf(out, "%s{%zu%s}", a->literal8 ? "~" : "", a->text.len,
			   a->literal_nonsync ? "+" : "");
		for (size_t i = 0; i < a->text.len; i++) {
			if (a->text.ptr[i] == '\0')
				buf_printf(out, "<NUL>");
			else
				buf_putc(out, a->text.ptr[i]);
		}
		break;
	case IMAP_ARG_LIST:
		buf_putc(out, '(');
		print_args(out, a->list, a->list_count);
		buf_putc(out, ')');
		break;
	case IMAP_ARG_SECTION:
		print_section(out, a->section);
		break;
	}
}

static void print_args(struct buf *out, const struct imap_arg *args, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_putc(out, ' ');
		print_arg(out, &args[i]);
	}
}

/* record_event appends one line describing the event r to out. */
static void record_event(struct imap_parser *p, int r, struct buf *out)
{
	switch (r) {
	case IMAP_PARSE_COMMAND: {
		const struct imap_command *cmd = imap_parser_command(p);
		buf_printf(out, "CMD %.*s %.*s", (int)cmd->tag.len, cmd->tag.ptr, (int)cmd->name.len,
			   cmd->name.ptr);
		if (cmd->arg_count > 0)
			buf_putc(out, ' ');
		print_args(out, cmd->args, cmd->arg_count);
		buf_putc(out, '\n');
		break;
	}
	case IMAP_PARSE_LITERAL: {
		const struct imap_literal *l = imap_parser_literal(p);
		buf_printf(out, "LIT %llu %s%s tag=%.*s name=%.*s idx=%zu depth=%u\n",
			   (unsigned long long)l->size, l->sync ? "sync" : "nonsync",
			   l->binary ? " binary" : "", (int)l->tag.len, l->tag.ptr, (int)l->name.len,
			   l->name.ptr, l->arg_index, l->depth);
		break;
	}
	case IMAP_PARSE_LINE: {
		struct str line = imap_parser_line(p);
		buf_printf(out, "LINE %.*s\n", (int)line.len, line.ptr);
		break;
	}
	case IMAP_PARSE_ERROR: {
		struct str tag;
		bool fatal;
		const char *text = imap_parser_error(p, &tag, &fatal);
		buf_printf(out, "ERR %.*s %s%s\n", tag.len > 0 ? (int)tag.len : 1,
			   tag.len > 0 ? tag.ptr : "*", text, fatal ? " FATAL" : "");
		break;
	}
	default:
		fail_msg("unexpected event %d", r);
	}
}

/*
 * run feeds in to p in pieces of at most chunk bytes, answering literal
 * announcements by policy, and writes every event to out.  A piece the
 * parser did not finish is fed again from where it stopped.
 */
static void run(struct imap_parser *p, const char *in, size_t len, size_t chunk,
		const struct policy *policy, struct buf *out)
{
	size_t off = 0;

	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t used = 0;
		int r = imap_parser_feed(p, in + off, n, &used);
		assert_true(used <= n);
		off += used;
		if (r == IMAP_PARSE_MORE) {
			assert_int_equal(used, n);
			continue;
		}
		record_event(p, r, out);
		if (r == IMAP_PARSE_LITERAL) {
			if (imap_parser_literal(p)->size <= policy->accept_max) {
				assert_int_equal(imap_parser_literal_accept(p), 0);
				if (imap_parser_literal(p)->sync)
					buf_printf(out, "+ OK\n");
			} else if (imap_parser_literal_refuse(p) < 0) {
				buf_printf(out, "REFUSED FATAL\n");
				return;
			} else {
				buf_printf(out, "REFUSED\n");
			}
		}
		if (r == IMAP_PARSE_ERROR) {
			bool fatal;
			imap_parser_error(p, NULL, &fatal);
			if (fatal) {
				size_t again = 99;
				assert_int_equal(imap_parser_feed(p, in + off, len - off, &again),
						 IMAP_PARSE_ERROR);
				assert_int_equal(again, 0);
				return;
			}
		}
	}
}

/* transcript parses in with fresh parser of the given limits in pieces of
 * chunk bytes and returns the events (caller frees). */
static char *transcript_limits(const struct imap_parser_limits *limits, const char *in, size_t len,
			       size_t chunk, const struct policy *policy)
{
	struct imap_parser *p = imap_parser_new(limits);
	struct buf out;

	assert_non_null(p);
	buf_init(&out, TRANSCRIPT_MAX);
	run(p, in, len, chunk, policy, &out);
	imap_parser_free(&p);
	assert_null(p);
	char *s = strdup(out.data != NULL ? out.data : "");
	buf_free(&out);
	return s;
}

/*
 * expect parses in all at once, byte by byte and in pieces of 7 and 4096
 * bytes; all four must give the transcript want.
 */
static void expect_limits(const struct imap_parser_limits *limits, const char *in, size_t len,
			  const struct policy *policy, const char *want)
{
	static const size_t chunks[] = { SIZE_MAX, 1, 7, 4096 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		char *got = transcript_limits(limits, in, len, chunks[i], policy);
		if (strcmp(got, want) != 0)
			fail_msg("chunk %zu: input\n%.*s\ngot\n%s\nwant\n%s", chunks[i],
				 (int)(len > 300 ? 300 : len), in, got, want);
		free(got);
	}
}

static void expect(const char *in, const char *want)
{
	expect_limits(NULL, in, strlen(in), &accept_all, want);
}

/* one_command parses in (one command) and returns its args for a closer
 * look; the parser stays alive in *pp until the caller frees it. */
static const struct imap_command *one_command(struct imap_parser **pp, const char *in)
{
	size_t used, len = strlen(in), off = 0;
	int r;

	*pp = imap_parser_new(NULL);
	assert_non_null(*pp);
	while ((r = imap_parser_feed(*pp, in + off, len - off, &used)) == IMAP_PARSE_LITERAL) {
		off += used;
		assert_int_equal(imap_parser_literal_accept(*pp), 0);
	}
	if (r != IMAP_PARSE_COMMAND)
		fail_msg("'%s': %d %s", in, r, imap_parser_error(*pp, NULL, NULL));
	assert_int_equal(off + used, len);
	return imap_parser_command(*pp);
}

static void assert_str(struct str s, const char *want)
{
	if (!str_eq(s, str_c(want)))
		fail_msg("got '%.*s', want '%s'", (int)s.len, s.ptr, want);
}

static void test_thunderbird_fetch(void **state)
{
	(void)state;
	const char *line = "1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject "
			   "Date Message-ID Priority X-Priority References Newsgroups "
			   "In-Reply-To Content-Type Reply-To)])\r\n";
	struct imap_parser *p;
	const struct imap_command *cmd = one_command(&p, line);

	assert_str(cmd->tag, "1");
	assert_str(cmd->name, "UID FETCH");
	assert_int_equal(cmd->arg_count, 2);
	assert_int_equal(cmd->args[0].type, IMAP_ARG_ATOM);
	assert_str(cmd->args[0].text, "1:*");
	assert_int_equal(cmd->args[1].type, IMAP_ARG_LIST);
	assert_int_equal(cmd->args[1].list_count, 2);
	assert_true(imap_arg_is_atom(&cmd->args[1].list[0], "flags"));
	const struct imap_arg *item = &cmd->args[1].list[1];
	assert_int_equal(item->type, IMAP_ARG_SECTION);
	const struct imap_section *s = item->section;
	assert_int_equal(s->att, IMAP_SECTION_ATT_BODY_PEEK);
	assert_int_equal(s->text, IMAP_SECTION_HEADER_FIELDS);
	assert_int_equal(s->part_count, 0);
	assert_int_equal(s->field_count, 13);
	assert_str(s->fields[0], "From");
	assert_str(s->fields[12], "Reply-To");
	assert_str(s->name, "BODY.PEEK");
	assert_str(s->spec, "HEADER.FIELDS (From To Cc Subject Date Message-ID Priority "
			    "X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)");
	assert_false(s->partial);
	imap_parser_free(&p);

	expect(line, "CMD 1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject "
		     "Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
		     "Content-Type Reply-To)])\n");
}

static void test_sections(void **state)
{
	(void)state;
	expect("a FETCH 1 (BODY[HEADER.FIELDS (A B)]<0.100> BODY.PEEK[1.2.MIME] BINARY[1]<0.10>)\r\n",
	       "CMD a FETCH 1 (BODY[HEADER.FIELDS (A B)]<0.100> BODY.PEEK[1.2.MIME] "
	       "BINARY[1]<0.10>)\n");
	expect("a fetch 1:3 (body[] Body.Peek[TEXT] body[1.2.3.HEADER] binary.size[2] "
	       "BINARY.PEEK[] BODY[]<0.2048> BODY[HEADER.FIELDS.NOT (Received)] body[1]"
	       " BODY[header.fields (\"X-A\" \"b\\\"c\")])\r\n",
	       "CMD a FETCH 1:3 (BODY[] BODY.PEEK[TEXT] BODY[1.2.3.HEADER] BINARY.SIZE[2] "
	       "BINARY.PEEK[] BODY[]<0.2048> BODY[HEADER.FIELDS.NOT (Received)] BODY[1] "
	       "BODY[HEADER.FIELDS (X-A b\"c)])\n");
	/* The parsed values. */
	struct imap_parser *p;
	const struct imap_command *cmd =
		one_command(&p, "a FETCH 1 (BODY.PEEK[4294967295.1.MIME]<12.34>)\r\n");
	const struct imap_section *s = cmd->args[1].list[0].section;
	assert_int_equal(s->part_count, 2);
	assert_int_equal(s->parts[0], 4294967295u);
	assert_int_equal(s->parts[1], 1);
	assert_int_equal(s->text, IMAP_SECTION_MIME);
	assert_true(s->partial);
	assert_int_equal(s->partial_offset, 12);
	assert_int_equal(s->partial_length, 34);
	assert_str(s->spec, "4294967295.1.MIME");
	assert_str(cmd->args[1].list[0].text, "BODY.PEEK[4294967295.1.MIME]<12.34>");
	imap_parser_free(&p);
	/* Not a FETCH item: stays an atom, brackets and all. */
	expect("a SELECT [Gmail]/Sent\r\n", "CMD a SELECT [Gmail]/Sent\n");
	expect("a LIST \"\" [Gmail]/%\r\n", "CMD a LIST \"\" [Gmail]/%\n");
	/* "[" opens a section only after a FETCH item's name: elsewhere it is
	 * an ATOM-CHAR (imaptest's atoms group), and a space ends the atom. */
	expect("a SELECT a[b\r\n", "CMD a SELECT a[b\n");
	expect("a LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\n",
	       "CMD a LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\n");
	struct imap_parser *pa;
	const struct imap_command *ca = one_command(&pa, "a SELECT X[a b]\r\n");
	assert_int_equal(ca->arg_count, 2);
	assert_str(ca->args[0].text, "X[a");
	assert_str(ca->args[1].text, "b]");
	imap_parser_free(&pa);
	expect("a FETCH 1 BODY.PEEK[HEADER.FIELDS (A B)]\r\n",
	       "CMD a FETCH 1 BODY.PEEK[HEADER.FIELDS (A B)]\n");
	/* Malformed sections. */
	static const char *const bad[] = {
		"BODY[1.]", "BODY[0]", "BODY[01]", "BODY[MIME]", "BODY[1.FOO]", "BINARY[TEXT]",
		"BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]", "BODY[HEADER.FIELDS (A]",
		"BODY[]<1>", "BODY[]<1.0>", "BODY[]<.1>", "BODY[]<1.2", "BODY[]x",
		"BINARY.SIZE[1]<0.1>", "BODY[4294967296]", "BODY[TEXT]<0.1><0.1>",
		"BODY[HEADER.FIELDS (A)(B)]", "BODY[HEADER.FIELDS(A)]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[128];
		snprintf(line, sizeof(line), "a FETCH 1 (%s)\r\nb NOOP\r\n", bad[i]);
		expect(line, "ERR a Invalid section\nCMD b NOOP\n");
	}
	expect("a FETCH 1 BODY[HEADER.FIELDS (A\r\nb NOOP\r\n", "ERR a Missing ']'\nCMD b NOOP\n");
	expect("a FETCH 1 BODY[HEADER.FIELDS ({1}\r\n", "ERR a Literal not allowed in section FATAL\n");
	expect("a FETCH 1 BODY[\x01]\r\nb NOOP\r\n", "ERR a Invalid character in section\nCMD b NOOP\n");
	/* 64 part numbers are taken, 65 are not. */
	struct buf line;
	buf_init(&line, 1024);
	buf_printf(&line, "a FETCH 1 BODY[1");
	for (int i = 1; i < IMAP_MAX_SECTION_PARTS; i++)
		buf_printf(&line, ".1");
	buf_printf(&line, "]\r\n");
	struct imap_parser *q;
	cmd = one_command(&q, line.data);
	assert_int_equal(cmd->args[1].section->part_count, IMAP_MAX_SECTION_PARTS);
	imap_parser_free(&q);
	buf_reset(&line);
	buf_printf(&line, "a FETCH 1 BODY[1");
	for (int i = 0; i < IMAP_MAX_SECTION_PARTS; i++)
		buf_printf(&line, ".1");
	buf_printf(&line, "]\r\n");
	expect(line.data, "ERR a Invalid section\n");
	buf_free(&line);
}

static void test_pre_login(void **state)
{
	(void)state;
	expect("a1 CAPABILITY\r\na2 STARTTLS\r\na3 NOOP\r\na4 LOGOUT\r\n",
	       "CMD a1 CAPABILITY\nCMD a2 STARTTLS\nCMD a3 NOOP\nCMD a4 LOGOUT\n");
	expect("a5 LOGIN alice \"se cr\\\"et\\\\\"\r\n", "CMD a5 LOGIN alice \"se cr\"et\\\"\n");
	expect("a6 AUTHENTICATE PLAIN AGxpY2UAc2VjcmV0\r\n",
	       "CMD a6 AUTHENTICATE PLAIN AGxpY2UAc2VjcmV0\n");
	expect("a7 AUTHENTICATE PLAIN =\r\n", "CMD a7 AUTHENTICATE PLAIN =\n");
	expect("a8 ID (\"name\" \"x\")\r\n", "CMD a8 ID (\"name\" \"x\")\n");
	expect("a9 ID NIL\r\n", "CMD a9 ID NIL\n");
	expect("a10 ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\" \"vendor\" NIL)\r\n",
	       "CMD a10 ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\" \"vendor\" NIL)\n");
	/* A password as a literal, the way clients send one with odd bytes. */
	expect("a11 LOGIN {5}\r\nalice {6+}\r\nsec\"et\r\n",
	       "LIT 5 sync tag=a11 name=LOGIN idx=0 depth=0\n+ OK\n"
	       "LIT 6 nonsync tag=a11 name=LOGIN idx=1 depth=0\n"
	       "CMD a11 LOGIN {5}alice {6+}sec\"et\n");
	/* STARTTLS: the parser stops right after the line, so bytes sent
	 * after it (the injection attack) stay with the caller. */
	struct imap_parser *p = imap_parser_new(NULL);
	const char *in = "a STARTTLS\r\nb LOGIN x y\r\n";
	size_t used;
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_COMMAND);
	assert_int_equal(used, strlen("a STARTTLS\r\n"));
	/* SASL without SASL-IR: the response is a raw line. */
	imap_parser_expect_line(p);
	in = "AGFsaWNlAHNlY3JldA==\r\nc NOOP\r\n";
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_LINE);
	assert_int_equal(used, 22);
	assert_str(imap_parser_line(p), "AGFsaWNlAHNlY3JldA==");
	assert_int_equal(imap_parser_feed(p, in + used, strlen(in) - used, &used), IMAP_PARSE_COMMAND);
	assert_str(imap_parser_command(p)->name, "NOOP");
	/* "*" aborts; a bare LF ends the line too; an empty response. */
	imap_parser_expect_line(p);
	assert_int_equal(imap_parser_feed(p, "*\n", 2, &used), IMAP_PARSE_LINE);
	assert_str(imap_parser_line(p), "*");
	imap_parser_expect_line(p);
	assert_int_equal(imap_parser_feed(p, "\r\n", 2, &used), IMAP_PARSE_LINE);
	assert_str(imap_parser_line(p), "");
	imap_parser_free(&p);
}

static void test_raw_line_limit(void **state)
{
	(void)state;
	struct imap_parser_limits l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_line = 10;
	l.max_tag = 10;
	struct imap_parser *p = imap_parser_new(&l);
	size_t used;
	imap_parser_expect_line(p);
	assert_int_equal(imap_parser_feed(p, "0123456789\r\n", 12, &used), IMAP_PARSE_ERROR);
	assert_string_equal(imap_parser_error(p, NULL, NULL), "Line too long");
	imap_parser_expect_line(p);
	assert_int_equal(imap_parser_feed(p, "012345678\r\n", 11, &used), IMAP_PARSE_LINE);
	assert_str(imap_parser_line(p), "012345678");
	imap_parser_free(&p);
}

static void test_post_login(void **state)
{
	(void)state;
	expect("A003 APPEND saved-messages (\\Seen) {7}\r\nHi\r\nYo!\r\n",
	       "LIT 7 sync tag=A003 name=APPEND idx=2 depth=0\n+ OK\n"
	       "CMD A003 APPEND saved-messages (\\Seen) {7}Hi\r\nYo!\n");
	/* mbsync: LITERAL+ */
	char msg[123 + 1];
	memset(msg, 'm', 123);
	msg[121] = '\r';
	msg[122] = '\n';
	msg[123] = '\0';
	char line[512];
	snprintf(line, sizeof(line), "7 APPEND \"INBOX\" (\\Seen) {123+}\r\n%s\r\n", msg);
	char want[512];
	snprintf(want, sizeof(want),
		 "LIT 123 nonsync tag=7 name=APPEND idx=2 depth=0\n"
		 "CMD 7 APPEND \"INBOX\" (\\Seen) {123+}%s\n", msg);
	expect(line, want);
	/* Apple Mail */
	expect("12 UID SEARCH 1:* NOT DELETED\r\n", "CMD 12 UID SEARCH 1:* NOT DELETED\n");
	expect("a SELECT \"INBOX\" (CONDSTORE)\r\n", "CMD a SELECT \"INBOX\" (CONDSTORE)\n");
	expect("a LIST \"\" \"*\"\r\nb LIST \"\" %\r\nc LSUB \"\" *\r\n",
	       "CMD a LIST \"\" \"*\"\nCMD b LIST \"\" %\nCMD c LSUB \"\" *\n");
	expect("a LIST (SUBSCRIBED) \"\" (\"INBOX\" \"Sent\") RETURN (CHILDREN SPECIAL-USE)\r\n",
	       "CMD a LIST (SUBSCRIBED) \"\" (\"INBOX\" \"Sent\") RETURN (CHILDREN SPECIAL-USE)\n");
	expect("a STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\n",
	       "CMD a STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\n");
	expect("a STORE 1:3,5 +FLAGS.SILENT (\\Deleted \\Seen $Forwarded)\r\n",
	       "CMD a STORE 1:3,5 +FLAGS.SILENT (\\Deleted \\Seen $Forwarded)\n");
	expect("a UID STORE 9 (UNCHANGEDSINCE 12) -FLAGS ()\r\n",
	       "CMD a UID STORE 9 (UNCHANGEDSINCE 12) -FLAGS ()\n");
	expect("a UID MOVE $ \"Trash\"\r\nb UID EXPUNGE 1:5\r\nc IDLE\r\nd ENABLE CONDSTORE "
	       "UTF8=ACCEPT\r\ne UID COPY 4:2 &AMk-t&AOk-\r\n",
	       "CMD a UID MOVE $ \"Trash\"\nCMD b UID EXPUNGE 1:5\nCMD c IDLE\n"
	       "CMD d ENABLE CONDSTORE UTF8=ACCEPT\nCMD e UID COPY 4:2 &AMk-t&AOk-\n");
	static const char lit8[] = "a APPEND Drafts (\\Draft) \"14-Jul-2023 02:44:25 -0700\" "
				   "~{5}\r\na\0b\r\n\r\n";
	expect_limits(NULL, lit8, sizeof(lit8) - 1, &accept_all,
		      "LIT 5 sync binary tag=a name=APPEND idx=3 depth=0\n+ OK\n"
		      "CMD a APPEND Drafts (\\Draft) \"14-Jul-2023 02:44:25 -0700\" "
		      "~{5}a<NUL>b\r\n\n");
	expect("a APPEND INBOX CATENATE (URL \"/INBOX;UID=1\" TEXT {3}\r\nabc)\r\n",
		"LIT 3 sync tag=a name=APPEND idx=2 depth=1\n+ OK\n"
		"CMD a APPEND INBOX CATENATE (URL \"/INBOX;UID=1\" TEXT {3}abc)\n");
	/* MULTIAPPEND, literals back to back; an empty literal. */
	expect("a APPEND X {1+}\r\n1 {0}\r\n\r\n",
	       "LIT 1 nonsync tag=a name=APPEND idx=1 depth=0\n"
	       "LIT 0 sync tag=a name=APPEND idx=2 depth=0\n+ OK\nCMD a APPEND X {1+}1 {0}\n");
	/* UTF-8 in quoted strings (RFC 9051, UTF8=ACCEPT). */
	expect("a SELECT \"Entw\xc3\xbcrfe\"\r\n", "CMD a SELECT \"Entw\xc3\xbcrfe\"\n");
	/* Literal- */
	expect("a LOGIN {3-}\r\nbob x\r\n",
	       "LIT 3 nonsync tag=a name=LOGIN idx=0 depth=0\nCMD a LOGIN {3+}bob x\n");
	/* NIL any case; nested lists; atoms next to parentheses. */
	expect("a X nil (nIl (a (b)) ()) \"NIL\"\r\n", "CMD a X NIL (NIL (a (b)) ()) \"NIL\"\n");
	expect("a X ~ ~a\r\n", "CMD a X ~ ~a\n");
}

static void test_leniency(void **state)
{
	(void)state;
	/* Empty lines are skipped; LF alone ends a line; runs of spaces. */
	expect("\r\n\na NOOP\nb  UID   FETCH  1  (FLAGS )  \r\n",
	       "CMD a NOOP\nCMD b UID FETCH 1 (FLAGS)\n");
	expect("a noop\r\n", "CMD a NOOP\n");
	expect("a uid fetch 1 flags\r\n", "CMD a UID FETCH 1 flags\n");
	expect("a X {2}\nab\n", "LIT 2 sync tag=a name=X idx=0 depth=0\n+ OK\nCMD a X {2}ab\n");
	/* Tags may hold "]" and many punctuation marks. */
	expect("A]1.2-3 NOOP\r\n", "CMD A]1.2-3 NOOP\n");
}

/* A malformed line, the error it must give and that the next line works. */
struct bad_case {
	const char *in;
	size_t len;
	const char *want;
};

#define BAD(in, want) { in, sizeof(in) - 1, want }

static void test_malformed(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		BAD("a\r\n", "ERR a Missing command\n"),
		BAD("a \r\n", "ERR a Missing command\n"),
		BAD("a UID\r\n", "ERR a Missing command after UID\n"),
		BAD("a UID \r\n", "ERR a Missing command after UID\n"),
		BAD("a+ NOOP\r\n", "ERR * Invalid tag\n"),
		BAD("a* NOOP\r\n", "ERR * Invalid tag\n"),
		BAD("(a NOOP\r\n", "ERR * Invalid tag\n"),
		BAD(" NOOP\r\n", "ERR * Invalid tag\n"),
		BAD("\xff NOOP\r\n", "ERR * Invalid tag\n"),
		BAD("\r \r\n", "ERR * Expected LF after CR\n"),
		BAD("a NO!OP\r\n", "ERR a Invalid command name\n"),
		BAD("a NOOP\rx\r\n", "ERR a Expected LF after CR\n"),
		BAD("a X \"abc\r\n", "ERR a Unterminated quoted string\n"),
		BAD("a X \"a\\bc\"\r\n", "ERR a Invalid escape in quoted string\n"),
		BAD("a X \"a\0c\"\r\n", "ERR a Invalid character in quoted string\n"),
		BAD("a X \"a\"b\r\n", "ERR a Missing space between arguments\n"),
		BAD("a X (a)(b)\r\n", "ERR a Missing space between arguments\n"),
		BAD("a X {3}x\r\n", "ERR a Literal must be followed by CRLF\n"),
		BAD("a X {}\r\n", "ERR a Invalid literal size\n"),
		BAD("a X {+}\r\n", "ERR a Invalid literal size\n"),
		BAD("a X {1x}\r\n", "ERR a Invalid literal size\n"),
		BAD("a X {1++}\r\n", "ERR a Invalid literal size\n"),
		/* Not a number64, but announced like a literal: fatal. */
		BAD("a X {9223372036854775808}\r\n", "ERR a Invalid literal size FATAL\n"),
		BAD("a X {000000000000000000001}\r\n", "ERR a Invalid literal size FATAL\n"),
		BAD("a X a{1}\r\n", "ERR a Invalid character in atom FATAL\n"),
		BAD("a X a\"b\r\n", "ERR a Invalid character in atom\n"),
		BAD("a X a\\b\r\n", "ERR a Invalid character in atom\n"),
		BAD("a X a(b)\r\n", "ERR a Invalid character in atom\n"),
		BAD("a X \x01\r\n", "ERR a Invalid character\n"),
		BAD("a X \xc3\xa9\r\n", "ERR a Invalid character\n"),
		BAD("a X a)\r\n", "ERR a Unexpected ')'\n"),
		BAD("a X (a\r\n", "ERR a Missing ')'\n"),
		BAD("a X ((a) b\r\n", "ERR a Missing ')'\n"),
		/* A bad line that ends announcing a literal: fatal. */
		BAD("a X ) {5}\r\n", "ERR a Unexpected ')' FATAL\n"),
		BAD("a X ) {5+}\r\n", "ERR a Unexpected ')' FATAL\n"),
		BAD("a X \"abc {12-}\r\n", "ERR a Unterminated quoted string FATAL\n"),
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len;
		char in[256], want[256];
		memcpy(in, cases[i].in, len);
		memcpy(in + len, "b NOOP\r\n", 8);
		bool fatal = strstr(cases[i].want, "FATAL") != NULL;
		snprintf(want, sizeof(want), "%s%s", cases[i].want, fatal ? "" : "CMD b NOOP\n");
		expect_limits(NULL, in, len + 8, &accept_all, want);
	}
}

static void test_literal_refusal(void **state)
{
	(void)state;
	struct policy small = { 10 };
	/* The caller refuses: a synchronising literal ends the command (the
	 * client sends nothing); a non-synchronising one is fatal. */
	const char *in = "a LOGIN {11}\r\nb NOOP\r\n";
	expect_limits(NULL, in, strlen(in), &small,
		      "LIT 11 sync tag=a name=LOGIN idx=0 depth=0\nREFUSED\nCMD b NOOP\n");
	in = "a LOGIN {11+}\r\nhello world\r\nb NOOP\r\n";
	expect_limits(NULL, in, strlen(in), &small,
		      "LIT 11 nonsync tag=a name=LOGIN idx=0 depth=0\nREFUSED FATAL\n");
	/* After a fatal refusal the parser takes nothing more. */
	struct imap_parser *p = imap_parser_new(NULL);
	size_t used;
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_LITERAL);
	assert_int_equal(imap_parser_feed(p, in + used, 3, &used), IMAP_PARSE_LITERAL);
	assert_int_equal(used, 0);
	assert_int_equal(imap_parser_literal_refuse(p), -1);
	assert_int_equal(imap_parser_feed(p, "b NOOP\r\n", 8, &used), IMAP_PARSE_ERROR);
	assert_int_equal(used, 0);
	bool fatal;
	struct str tag;
	assert_string_equal(imap_parser_error(p, &tag, &fatal), "Literal refused");
	assert_true(fatal);
	assert_str(tag, "a");
	imap_parser_free(&p);
}

static void test_literal_limits(void **state)
{
	(void)state;
	struct imap_parser_limits l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_literal = 10;
	const char *in = "a X {10}\r\n0123456789\r\nb X {11}\r\nc NOOP\r\n";
	expect_limits(&l, in, strlen(in), &accept_all,
		      "LIT 10 sync tag=a name=X idx=0 depth=0\n+ OK\nCMD a X {10}0123456789\n"
		      "ERR b [TOOBIG] Literal too large\nCMD c NOOP\n");
	in = "b X {11+}\r\n01234567890\r\nc NOOP\r\n";
	expect_limits(&l, in, strlen(in), &accept_all, "ERR b [TOOBIG] Literal too large FATAL\n");
	/* max_command: line text and literals together. */
	l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_command = 30;
	l.max_line = 30;
	l.max_tag = 8;
	/* "a X {10}\r\n" is 10, the literal 10, " {0}\r\n" 6, "\r\n" 2: 28 */
	in = "a X {10}\r\n0123456789 {0}\r\n\r\n";
	expect_limits(&l, in, strlen(in), &accept_all,
		      "LIT 10 sync tag=a name=X idx=0 depth=0\n+ OK\n"
		      "LIT 0 sync tag=a name=X idx=1 depth=0\n+ OK\nCMD a X {10}0123456789 {0}\n");
	in = "a X {10}\r\n0123456789 {5}\r\nb NOOP\r\n";
	expect_limits(&l, in, strlen(in), &accept_all,
		      "LIT 10 sync tag=a name=X idx=0 depth=0\n+ OK\n"
		      "ERR a [TOOBIG] Command too large\nCMD b NOOP\n");
	/* 30 exactly, then 31. */
	in = "a X {10}\r\n0123456789 abcdefg\r\nb NOOP\r\n";
	expect_limits(&l, in, strlen(in), &accept_all,
		      "LIT 10 sync tag=a name=X idx=0 depth=0\n+ OK\nCMD a X {10}0123456789 abcdefg\n"
		      "CMD b NOOP\n");
	in = "a X {10}\r\n0123456789 abcdefgh\r\nb NOOP\r\n";
	expect_limits(&l, in, strlen(in), &accept_all,
		      "LIT 10 sync tag=a name=X idx=0 depth=0\n+ OK\n"
		      "ERR a [TOOBIG] Command too large\nCMD b NOOP\n");
	/* NUL: refused in a literal (the rest of it is skipped, not parsed),
	 * allowed in literal8. */
	static const char nul[] = "a X {5}\r\nab\0\r\n b\r\nb NOOP\r\n";
	expect_limits(NULL, nul, sizeof(nul) - 1, &accept_all,
		      "LIT 5 sync tag=a name=X idx=0 depth=0\n+ OK\nERR a NUL in literal\nCMD b NOOP\n");
	static const char nul8[] = "a X ~{3}\r\n\0\0\0\r\n";
	expect_limits(NULL, nul8, sizeof(nul8) - 1, &accept_all,
		      "LIT 3 sync binary tag=a name=X idx=0 depth=0\n+ OK\n"
		      "CMD a X ~{3}<NUL><NUL><NUL>\n");
}

static void test_huge_literal(void **state)
{
	(void)state;
	/* {4000000000} with the default limits: refused before any octet,
	 * with no allocation, and the next command is read. */
	size_t before = heap_in_use();
	struct imap_parser *p = imap_parser_new(NULL);
	const char *in = "a APPEND INBOX {4000000000}\r\nb NOOP\r\n";
	size_t used;
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_ERROR);
	bool fatal;
	assert_string_equal(imap_parser_error(p, NULL, &fatal), "[TOOBIG] Literal too large");
	assert_false(fatal);
	assert_true(heap_in_use() - before < 64 * 1024);
	assert_int_equal(imap_parser_feed(p, in + used, strlen(in) - used, &used), IMAP_PARSE_COMMAND);
	imap_parser_free(&p);

	/* With limits that allow it the caller is asked first; refusing costs
	 * nothing either. */
	struct imap_parser_limits l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_literal = UINT64_MAX;
	l.max_command = UINT64_MAX;
	before = heap_in_use();
	p = imap_parser_new(&l);
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_LITERAL);
	assert_int_equal(imap_parser_literal(p)->size, 4000000000u);
	assert_true(heap_in_use() - before < 64 * 1024);
	assert_int_equal(imap_parser_literal_refuse(p), 0);
	assert_int_equal(imap_parser_feed(p, in + used, strlen(in) - used, &used), IMAP_PARSE_COMMAND);
	imap_parser_free(&p);
	expect("a X {18446744073709551616}\r\nb NOOP\r\n", "ERR a Invalid literal size FATAL\n");
}

static void test_deep_parens(void **state)
{
	(void)state;
	size_t n = 10000;
	char *in = malloc(n + 32);
	memcpy(in, "a X ", 4);
	memset(in + 4, '(', n);
	memcpy(in + 4 + n, "\r\nb NOOP\r\n", 10);
	size_t before = heap_in_use();
	expect_limits(NULL, in, n + 14, &accept_all, "ERR a Lists nested too deeply\nCMD b NOOP\n");
	assert_true(heap_in_use() - before < 64 * 1024);
	/* 32 deep is fine, 33 is not. */
	for (int extra = 0; extra <= 1; extra++) {
		struct buf line;
		buf_init(&line, 1024);
		buf_printf(&line, "a X ");
		for (int i = 0; i < IMAP_DEFAULT_MAX_DEPTH + extra; i++)
			buf_putc(&line, '(');
		for (int i = 0; i < IMAP_DEFAULT_MAX_DEPTH + extra; i++)
			buf_putc(&line, ')');
		buf_printf(&line, "\r\nb NOOP\r\n");
		char *got = transcript_limits(NULL, line.data, line.len, 1, &accept_all);
		if (extra == 0)
			assert_true(strncmp(got, "CMD a X ((((", 12) == 0);
		else
			assert_string_equal(got, "ERR a Lists nested too deeply\nCMD b NOOP\n");
		free(got);
		buf_free(&line);
	}
	free(in);
}

static void test_long_line(void **state)
{
	(void)state;
	/* A 10 MB line costs no memory: discarded as it arrives. */
	size_t n = 10 * 1024 * 1024;
	char *in = malloc(n + 32);
	memcpy(in, "a X ", 4);
	memset(in + 4, 'x', n);
	memcpy(in + 4 + n, "\r\nb NOOP\r\n", 10);
	size_t before = heap_in_use();
	struct imap_parser *p = imap_parser_new(NULL);
	size_t used, off = 0;
	/* Fed the way a server reads: 16 KiB at a time. */
	int r;
	do {
		size_t piece = n + 14 - off < 16384 ? n + 14 - off : 16384;
		r = imap_parser_feed(p, in + off, piece, &used);
		off += used;
		assert_true(heap_in_use() - before < 256 * 1024);
	} while (r == IMAP_PARSE_MORE);
	assert_int_equal(r, IMAP_PARSE_ERROR);
	assert_int_equal(off, n + 6);
	assert_string_equal(imap_parser_error(p, NULL, NULL), "Command line too long");
	assert_int_equal(imap_parser_feed(p, in + off, 8, &used), IMAP_PARSE_COMMAND);
	imap_parser_free(&p);
	free(in);

	/* max_line counts CRLF; at the limit and one past it. */
	struct imap_parser_limits l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_line = 12;
	l.max_tag = 1;
	expect_limits(&l, "a X 123456\r\nb NOOP\r\n", 20, &accept_all,
		      "CMD a X 123456\nCMD b NOOP\n");
	expect_limits(&l, "a X 1234567\r\nb NOOP\r\n", 21, &accept_all,
		      "ERR a Command line too long\nCMD b NOOP\n");
	/* Literal octets do not count against max_line. */
	expect_limits(&l, "a X {20}\r\n01234567890123456789\r\n", 32, &accept_all,
		      "LIT 20 sync tag=a name=X idx=0 depth=0\n+ OK\n"
		      "CMD a X {20}01234567890123456789\n");
}

static void test_tag_name_limits(void **state)
{
	(void)state;
	char line[256], want[256];
	char tag[IMAP_DEFAULT_MAX_TAG + 2];
	memset(tag, 't', sizeof(tag));
	tag[IMAP_DEFAULT_MAX_TAG] = '\0';
	snprintf(line, sizeof(line), "%s NOOP\r\n", tag);
	snprintf(want, sizeof(want), "CMD %s NOOP\n", tag);
	expect(line, want);
	tag[IMAP_DEFAULT_MAX_TAG] = 't';
	tag[IMAP_DEFAULT_MAX_TAG + 1] = '\0';
	snprintf(line, sizeof(line), "%s NOOP\r\nb NOOP\r\n", tag);
	expect(line, "ERR * Tag too long\nCMD b NOOP\n");

	char name[IMAP_MAX_COMMAND_NAME + 2];
	memset(name, 'N', sizeof(name));
	name[IMAP_MAX_COMMAND_NAME] = '\0';
	snprintf(line, sizeof(line), "a %s\r\n", name);
	snprintf(want, sizeof(want), "CMD a %s\n", name);
	expect(line, want);
	name[IMAP_MAX_COMMAND_NAME] = 'N';
	name[IMAP_MAX_COMMAND_NAME + 1] = '\0';
	snprintf(line, sizeof(line), "a %s\r\nb NOOP\r\n", name);
	expect(line, "ERR a Command name too long\nCMD b NOOP\n");
}

static void test_arg_limit(void **state)
{
	(void)state;
	struct imap_parser_limits l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_args = 5;
	/* Lists and their items count, at every level. */
	const char *in = "a X (b (c)) d\r\n";
	expect_limits(&l, in, strlen(in), &accept_all, "CMD a X (b (c)) d\n");
	in = "a X (b (c)) d e\r\nb NOOP\r\n";
	expect_limits(&l, in, strlen(in), &accept_all, "ERR a Too many arguments\nCMD b NOOP\n");
	in = "a X (b (c)) d {1}\r\nb NOOP\r\n";
	expect_limits(&l, in, strlen(in), &accept_all, "ERR a Too many arguments\nCMD b NOOP\n");
	in = "a X (b (c)) {1+}\r\nx\r\n";
	expect_limits(&l, in, strlen(in), &accept_all,
		      "LIT 1 nonsync tag=a name=X idx=1 depth=0\nCMD a X (b (c)) {1+}x\n");
	/* Header field names count too. */
	in = "a FETCH 1 BODY[HEADER.FIELDS (A B C)]\r\n";
	expect_limits(&l, in, strlen(in), &accept_all, "CMD a FETCH 1 BODY[HEADER.FIELDS (A B C)]\n");
	in = "a FETCH 1 BODY[HEADER.FIELDS (A B C D)]\r\n";
	expect_limits(&l, in, strlen(in), &accept_all, "ERR a Too many arguments\n");
	/* The default: 10000 atoms in a line are taken, 10001 are not. */
	size_t n = IMAP_DEFAULT_MAX_ARGS;
	char *big = malloc(2 * (n + 1) + 64);
	size_t len = 0;
	len += (size_t)snprintf(big, 16, "a X");
	for (size_t i = 0; i < n; i++) {
		big[len++] = ' ';
		big[len++] = 'x';
	}
	memcpy(big + len, "\r\n", 2);
	struct imap_parser *p = imap_parser_new(NULL);
	size_t used;
	assert_int_equal(imap_parser_feed(p, big, len + 2, &used), IMAP_PARSE_COMMAND);
	assert_int_equal(imap_parser_command(p)->arg_count, n);
	memcpy(big + len, " x\r\n", 4);
	assert_int_equal(imap_parser_feed(p, big, len + 4, &used), IMAP_PARSE_ERROR);
	assert_string_equal(imap_parser_error(p, NULL, NULL), "Too many arguments");
	imap_parser_free(&p);
	free(big);
}

static void test_bad_limits(void **state)
{
	(void)state;
	struct imap_parser_limits l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_depth = 0;
	assert_null(imap_parser_new(&l));
	l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_line = l.max_command + 1;
	assert_null(imap_parser_new(&l));
	l = IMAP_PARSER_DEFAULT_LIMITS;
	l.max_tag = l.max_line + 1;
	assert_null(imap_parser_new(&l));
}

/* A mixed session transcript: every chunking must agree. */
static void test_chunking(void **state)
{
	(void)state;
	const char *in =
		"1 CAPABILITY\r\n"
		"2 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n"
		"3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n"
		"4 X ) {5+}\r\n";
	expect(in, "CMD 1 CAPABILITY\n"
		   "LIT 5 sync tag=2 name=LOGIN idx=0 depth=0\n+ OK\n"
		   "LIT 6 nonsync tag=2 name=LOGIN idx=1 depth=0\n"
		   "CMD 2 LOGIN {5}alice {6+}secret\n"
		   "CMD 3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\n"
		   "ERR 4 Unexpected ')' FATAL\n");
	/* Every split point of a command with every kind of argument. */
	const char *cmd = "t1 UID X a \"q\\\"\" {2}\r\nxy ~{1+}\r\nz (NIL \\S) "
			  "BINARY[1]<0.1> [G]/S\r\n";
	size_t len = strlen(cmd);
	char *whole = transcript_limits(NULL, cmd, len, SIZE_MAX, &accept_all);
	assert_string_equal(whole, "LIT 2 sync tag=t1 name=UID X idx=2 depth=0\n+ OK\n"
				   "LIT 1 nonsync binary tag=t1 name=UID X idx=3 depth=0\n"
				   "CMD t1 UID X a \"q\"\" {2}xy ~{1+}z (NIL \\S) "
				   "BINARY[1]<0.1> [G]/S\n");
	for (size_t split = 1; split < len; split++) {
		struct imap_parser *p = imap_parser_new(NULL);
		struct buf out;
		buf_init(&out, TRANSCRIPT_MAX);
		run(p, cmd, split, SIZE_MAX, &accept_all, &out);
		run(p, cmd + split, len - split, SIZE_MAX, &accept_all, &out);
		assert_string_equal(out.data, whole);
		buf_free(&out);
		imap_parser_free(&p);
	}
	free(whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thunderbird_fetch),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_pre_login),
		cmocka_unit_test(test_raw_line_limit),
		cmocka_unit_test(test_post_login),
		cmocka_unit_test(test_leniency),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_literal_refusal),
		cmocka_unit_test(test_literal_limits),
		cmocka_unit_test(test_huge_literal),
		cmocka_unit_test(test_deep_parens),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_tag_name_limits),
		cmocka_unit_test(test_arg_limit),
		cmocka_unit_test(test_bad_limits),
		cmocka_unit_test(test_chunking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
