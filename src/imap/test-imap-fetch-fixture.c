/* test-imap-fetch-fixture: see test-imap-fetch-fixture.h. */
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
#include "imap-proto/imap-parser.h"
#include "mail/mime.h"
#include "test-imap-fetch-fixture.h"

/* crlf returns a malloc'd copy of s (n bytes) with every LF made CRLF. */
static char *crlf(const char *s, size_t n, size_t *len_r)
{
	size_t lf = 0;
	for (size_t i = 0; i < n; i++)
		lf += s[i] == '\n' && (i == 0 || s[i - 1] != '\r');
	char *out = malloc(n + lf + 1), *o = out;
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			*o++ = '\r';
		*o++ = s[i];
	}
	*o = '\0';
	*len_r = (size_t)(o - out);
	return out;
}

static const char *keep(struct pool *pool, struct str s)
{
	char *c = pool_strndup(pool, s.ptr != NULL ? s.ptr : "", s.len);
	assert_non_null(c);
	return c;
}

/* message_open parses data (LF made CRLF unless raw) as delivery would
 * and fills the store_message_meta by hand, as store.c does from the parse. */
void message_open(struct message *m, const char *text, size_t n, bool raw)
{
	const struct mime_message *msg;
	const char *error;
	char path[] = "/tmp/test-imap-fetch-XXXXXX";

	memset(m, 0, sizeof(*m));
	if (raw) {
		m->data = malloc(n + 1);
		assert_non_null(m->data);
		memcpy(m->data, text, n + 1);
		m->size = n;
	} else {
		m->data = crlf(text, n, &m->size);
	}
	m->pool = pool_new(16 * 1024 * 1024);
	assert_non_null(m->pool);
	struct mime_parser *p = mime_parser_new(NULL);
	assert_non_null(p);
	assert_int_equal(mime_parser_feed(p, m->data, m->size, &error), 0);
	assert_int_equal(mime_parser_finish(p, &msg, &error), 0);

	struct store_message_meta *meta = &m->meta;
	meta->msg.uid = 4827313;
	meta->msg.flags = STORE_FLAG_SEEN;
	meta->msg.modseq = 12121231000;
	meta->msg.size = msg->size;
	meta->msg.internal_date = TEST_INTERNALDATE;
	struct imap_message_answers answers;
	assert_int_equal(imap_message_answers_write(msg, &answers), 0);
	meta->envelope = keep(m->pool, buf_str(&answers.envelope));
	meta->body = keep(m->pool, buf_str(&answers.body));
	meta->bodystructure = keep(m->pool, buf_str(&answers.bodystructure));
	imap_message_answers_free(&answers);
	meta->part_count = msg->part_count;
	meta->parts = pool_alloc(m->pool, msg->part_count * sizeof(*meta->parts));
	assert_non_null(meta->parts);
	for (size_t i = 0; i < msg->part_count; i++) {
		const struct mime_part *from = &msg->parts[i];
		struct store_part *to = &meta->parts[i];
		to->section = keep(m->pool, from->section);
		to->header_offset = from->header_offset;
		to->header_size = from->header_size;
		to->body_offset = from->body_offset;
		to->body_size = from->body_size;
		to->body_lines = from->body_lines;
		to->content_type = keep(m->pool, from->content_type);
		to->depth = from->depth;
		to->child_count = from->child_count;
		to->is_message = from->is_embedded_message != 0;
	}
	mime_parser_free(&p);

	m->fd = mkstemp(path);
	assert_true(m->fd >= 0);
	unlink(path);
	assert_int_equal(write(m->fd, m->data, m->size), (ssize_t)m->size);
}

/* message_read is the content's read function: the file, as the store's
 * reader gives it. */
int message_read(void *ctx, uint64_t offset, void *buf, size_t len, size_t *read_r,
		 const char **error_r)
{
	const struct message *m = ctx;
	ssize_t r = pread(m->fd, buf, len, (off_t)offset);

	*read_r = r > 0 ? (size_t)r : 0;
	*error_r = "pread failed";
	return r < 0 ? -1 : 0;
}

void message_close(struct message *m)
{
	close(m->fd);
	free(m->data);
	pool_free(&m->pool);
}

/* command_parse parses "FETCH 1 <items>" (or UID FETCH) and its plan;
 * returns imap_fetch_parse's result (error in *error_r). */
int command_parse(struct command *c, const char *items, bool uid, const char **error_r)
{
	struct buf line;
	size_t used;

	memset(c, 0, sizeof(*c));
	buf_init(&line, 1024 * 1024);
	assert_int_equal(buf_printf(&line, "A1 %sFETCH 1 %s\r\n", uid ? "UID " : "", items), 0);
	c->parser = imap_parser_new(NULL);
	c->pool = pool_new(1024 * 1024);
	assert_non_null(c->parser);
	assert_non_null(c->pool);
	int r = imap_parser_feed(c->parser, line.data, line.len, &used);
	if (r != IMAP_PARSE_COMMAND)
		fail_msg("command not parsed: %s: %s", line.data,
			 imap_parser_error(c->parser, NULL, NULL));
	buf_free(&line);
	const struct imap_command *cmd = imap_parser_command(c->parser);
	assert_true(cmd->arg_count >= 1);
	return imap_fetch_parse(c->pool, &cmd->args[1], cmd->arg_count - 1, uid, &c->plan,
				error_r);
}

void command_free(struct command *c)
{
	imap_parser_free(&c->parser);
	pool_free(&c->pool);
}

/* run fetches items of m into out; returns imap_fetch_write's result. */
int run(struct message *m, const char *items, const struct options *o, struct buf *out,
	const char **error_r)
{
	struct command c;
	struct imap_fetch_needs needs;

	if (command_parse(&c, items, o->uid, error_r) < 0)
		fail_msg("FETCH %s refused: %s", items, *error_r);
	imap_fetch_plan_needs(c.plan, &needs);
	struct imap_fetch_input in = {
		.seq = 12,
		.msg = &m->meta.msg,
		.meta = needs.meta ? &m->meta : NULL,
		.read = needs.content ? message_read : NULL,
		.read_ctx = m,
		.keywords = m->keywords,
		.keyword_count = m->keyword_count,
		.condstore = o->condstore,
		.flags_changed = o->flags_changed,
	};
	int r = imap_fetch_write(c.plan, &in, out, error_r);
	command_free(&c);
	return r;
}

/* show writes bytes for a failure message, with CR, LF and NUL visible. */
const char *show(const char *p, size_t n, char *to, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < size; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r') {
			to[o++] = '\\';
			to[o++] = 'r';
		} else if (c == '\n') {
			to[o++] = '\\';
			to[o++] = 'n';
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(to + o, size - o, "\\x%02x", c);
		} else {
			to[o++] = (char)c;
		}
	}
	to[o] = '\0';
	return to;
}

/* expect checks that fetching items answers exactly want (n bytes). */
void expect_opt(struct message *m, const char *items, const struct options *o,
		const char *want, size_t n)
{
	static char a[16384], b[16384];
	struct buf out;
	const char *error = NULL;

	buf_init(&out, o->out_max > 0 ? o->out_max : 64 * 1024 * 1024);
	int r = run(m, items, o, &out, &error);
	if (r != IMAP_FETCH_OK)
		fail_msg("FETCH %s failed (%d): %s", items, r, error);
	if (out.len != n || memcmp(out.data, want, n) != 0)
		fail_msg("FETCH %s\ngot  [%s]\nwant [%s]", items, show(out.data, out.len, a, sizeof(a)),
			 show(want, n, b, sizeof(b)));
	buf_free(&out);
}

const struct options plain;

/* expect_error checks that fetching items fails with status and appends nothing. */
void expect_error(struct message *m, const char *items, int status)
{
	struct buf out;
	const char *error = NULL;

	buf_init(&out, 1024 * 1024);
	assert_int_equal(buf_append_str(&out, STR("before")), 0);
	int r = run(m, items, &plain, &out, &error);
	if (r != status)
		fail_msg("FETCH %s: got %d (%s), want %d", items, r, error, status);
	assert_non_null(error);
	assert_int_equal(out.len, 6);
	assert_memory_equal(out.data, "before", 7);
	buf_free(&out);
}

void needs_of(const char *items, bool uid, struct imap_fetch_needs *needs)
{
	struct command c;
	const char *error;

	if (command_parse(&c, items, uid, &error) < 0)
		fail_msg("FETCH %s refused: %s", items, error);
	imap_fetch_plan_needs(c.plan, needs);
	command_free(&c);
}

/* fetch_text fetches items of m into a new string (the test fails unless
 * it succeeds). */
char *fetch_text(struct message *m, const char *items)
{
	struct buf out;
	const char *error = NULL;

	buf_init(&out, 1024 * 1024);
	if (run(m, items, &plain, &out, &error) != IMAP_FETCH_OK)
		fail_msg("FETCH %s failed: %s", items, error);
	char *text = strndup(out.data, out.len);
	assert_non_null(text);
	buf_free(&out);
	return text;
}