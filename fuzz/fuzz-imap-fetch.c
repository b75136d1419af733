/*
 * fuzz-imap-fetch: libFuzzer target for FETCH items and answers
 * (src/imap/imap-fetch.c).
 *
 * The input is a line of FETCH arguments ("(BODY.PEEK[1.2.MIME]
 * BINARY[3]<0.10>)") and then a message.  The message goes through the
 * MIME parser and its part table is handed over as the store keeps it;
 * the arguments go through the command parser and imap_fetch_parse; the
 * answer is written from the message's bytes.  Checked: an answer is
 * framed "* 1 FETCH (...)\r\n", a failure leaves the output as it was,
 * the answer written in steps (output taken away at each stop) is the
 * same, and nothing reads outside the message (ASan).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-format/imap-message.h"
#include "imap/imap-fetch.h"
#include "imap/imap-flags.h"
#include "imap-proto/imap-parser.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "mail/mime.h"

/* An answer is at most the message and its decoded parts a few times
 * over; inputs are far smaller than this. */
#define FUZZ_MAX_OUT (16u * 1024 * 1024)
/* The plan and the copied part table of one input. */
#define FUZZ_POOL_MAX (16u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A stand-in for imap-flags.c's writer, which needs the store linked. */
int imap_flags_write(struct buf *out, uint32_t flags, uint64_t keywords,
		     const char *const *names, size_t name_count)
{
	(void)keywords;
	(void)names;
	(void)name_count;
	return buf_append_str(out, (flags & STORE_FLAG_SEEN) != 0 ? STR("(\\Seen)") : STR("()"));
}

/* The message's content, as the store's reader gives it. */
struct content {
	const char *data;
	size_t len;
};

static int content_read(void *ctx, uint64_t offset, void *buf, size_t len, size_t *read_r,
			const char **error_r)
{
	const struct content *c = ctx;

	(void)error_r;
	*read_r = 0;
	if (offset < c->len) {
		*read_r = c->len - (size_t)offset < len ? c->len - (size_t)offset : len;
		memcpy(buf, c->data + offset, *read_r);
	}
	return 0;
}

/* check_steps writes the answer again in steps that stop at high octets,
 * taking the output away at each stop, and checks it is whole. */
static void check_steps(const struct imap_fetch_plan *plan, const struct imap_fetch_input *in,
			const struct buf *whole, size_t high)
{
	struct imap_fetch_resume state = { 0 };
	struct buf out, got;
	const char *error;
	int r;

	buf_init(&out, FUZZ_MAX_OUT);
	buf_init(&got, FUZZ_MAX_OUT);
	while ((r = imap_fetch_write_step(plan, in, &out, high, &state, &error)) ==
	       IMAP_FETCH_MORE) {
		if (buf_append(&got, out.data, out.len) < 0)
			abort();
		buf_reset(&out);
	}
	if (r != IMAP_FETCH_OK || buf_append(&got, out.data, out.len) < 0 ||
	    got.len != whole->len - 1 || memcmp(got.data, whole->data + 1, got.len) != 0)
		abort();
	buf_free(&out);
	buf_free(&got);
}

/* meta_from copies the parse into the store's form, as store.c does. */
static bool meta_from(struct pool *pool, const struct mime_message *m,
		      struct store_message_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	meta->msg.uid = 7;
	meta->msg.flags = STORE_FLAG_SEEN;
	meta->msg.modseq = 3;
	meta->msg.size = m->size;
	struct imap_message_answers answers;
	if (imap_message_answers_write(m, &answers) < 0) {
		imap_message_answers_free(&answers);
		return false;
	}
	meta->envelope = pool_strndup(pool, answers.envelope.data, answers.envelope.len);
	meta->body = pool_strndup(pool, answers.body.data, answers.body.len);
	meta->bodystructure = pool_strndup(pool, answers.bodystructure.data,
					   answers.bodystructure.len);
	imap_message_answers_free(&answers);
	meta->parts = pool_alloc(pool, m->part_count * sizeof(*meta->parts) + 1);
	if (meta->envelope == NULL || meta->body == NULL || meta->bodystructure == NULL ||
	    meta->parts == NULL)
		return false;
	meta->part_count = m->part_count;
	for (size_t i = 0; i < m->part_count; i++) {
		const struct mime_part *from = &m->parts[i];
		struct store_part *to = &meta->parts[i];
		to->section = pool_strndup(pool, from->section.ptr, from->section.len);
		to->content_type = pool_strndup(pool, from->content_type.ptr,
						from->content_type.len);
		if (to->section == NULL || to->content_type == NULL)
			return false;
		to->header_offset = from->header_offset;
		to->header_size = from->header_size;
		to->body_offset = from->body_offset;
		to->body_size = from->body_size;
		to->body_lines = from->body_lines;
		to->depth = from->depth;
		to->child_count = from->child_count;
		to->is_message = from->is_embedded_message != 0;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *error;
	const char *lf = memchr(text, '\n', size);
	if (lf == NULL)
		return 0;
	size_t items_len = (size_t)(lf - text);
	const char *msg = lf + 1;
	size_t msg_len = size - items_len - 1;

	struct mime_parser *mp = mime_parser_new(NULL);
	const struct mime_message *m = NULL;
	if (mp == NULL)
		abort();
	if (mime_parser_feed(mp, msg, msg_len, &error) < 0 ||
	    mime_parser_finish(mp, &m, &error) < 0) {
		mime_parser_free(&mp);
		return 0;
	}

	/* "A FETCH 1 " + the items line + CRLF */
	struct buf line;
	buf_init(&line, IMAP_DEFAULT_MAX_LINE);
	struct imap_parser *ip = imap_parser_new(NULL);
	struct pool *pool = pool_new(FUZZ_POOL_MAX);
	struct store_message_meta meta;
	if (ip == NULL || pool == NULL)
		abort();
	size_t used;
	if (buf_append_str(&line, STR("A FETCH 1 ")) == 0 &&
	    buf_append(&line, text, items_len) == 0 && buf_append_str(&line, STR("\r\n")) == 0 &&
	    imap_parser_feed(ip, line.data, line.len, &used) == IMAP_PARSE_COMMAND &&
	    meta_from(pool, m, &meta)) {
		const struct imap_command *cmd = imap_parser_command(ip);
		struct imap_fetch_plan *plan;
		bool uid = (size & 1) != 0;
		if (cmd->arg_count >= 1 &&
		    imap_fetch_parse(pool, &cmd->args[1], cmd->arg_count - 1, uid, &plan,
				     &error) == 0) {
			struct imap_fetch_needs needs;
			imap_fetch_plan_needs(plan, &needs);
			struct content content = { msg, msg_len };
			struct imap_fetch_input in = {
				.seq = 1, .msg = &meta.msg, .meta = needs.meta ? &meta : NULL,
				.read = needs.content ? content_read : NULL, .read_ctx = &content,
				.condstore = (size & 2) != 0, .flags_changed = (size & 4) != 0,
			};
			struct buf out;
			buf_init(&out, FUZZ_MAX_OUT);
			buf_append_str(&out, STR("x"));
			int r = imap_fetch_write(plan, &in, &out, &error);
			if (r == IMAP_FETCH_OK) {
				if (out.len < 1 + 14 || memcmp(out.data, "x* 1 FETCH (", 12) != 0 ||
				    memcmp(out.data + out.len - 3, ")\r\n", 3) != 0)
					abort();
				check_steps(plan, &in, &out, (size >> 3 & 0xfff) + 1);
			} else if (out.len != 1 || error == NULL) {
				abort();
			}
			buf_free(&out);
		}
	}
	buf_free(&line);
	pool_free(&pool);
	imap_parser_free(&ip);
	mime_parser_free(&mp);
	return 0;
}
