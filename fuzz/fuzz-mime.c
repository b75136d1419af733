/*
 * fuzz-mime: libFuzzer target for the MIME parser (src/mail/mime.c) and the
 * IMAP answers written from its part tree (src/imap-format).
 *
 * The input is parsed three ways: all at once, byte by byte, and cut at
 * points derived from the input itself.  The parser promises the same
 * result (or the same error) for any chunking, so any difference aborts.
 * Small limits are used on one extra pass so the limit paths are reached.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-format/imap-message.h"
#include "mail/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	struct mime_parser *parser;
	const struct mime_message *msg;
	const char *error;
};

/* run parses data in pieces whose sizes come from cuts (cycled); a cut
 * of 0 means the rest at once. */
static void run(struct outcome *o, const struct mime_limits *limits, const char *data,
		size_t size, const size_t *cuts, size_t ncuts)
{
	o->parser = mime_parser_new(limits);
	o->msg = NULL;
	o->error = NULL;
	if (o->parser == NULL)
		abort();
	size_t at = 0, k = 0;
	while (at < size) {
		size_t n = ncuts == 0 || cuts[k % ncuts] == 0 ? size - at : cuts[k % ncuts];
		k++;
		if (n > size - at)
			n = size - at;
		if (mime_parser_feed(o->parser, data + at, n, &o->error) < 0)
			return;
		at += n;
	}
	if (mime_parser_finish(o->parser, &o->msg, &o->error) < 0)
		o->msg = NULL;
}

static int same(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* check aborts unless both outcomes are the same in every field. */
static void check(const struct outcome *a, const struct outcome *b)
{
	if ((a->msg == NULL) != (b->msg == NULL))
		abort();
	if (a->msg == NULL) {
		if (strcmp(a->error, b->error) != 0)
			abort();
		return;
	}
	const struct mime_message *x = a->msg, *y = b->msg;
	struct imap_message_answers ax, ay;
	int rx = imap_message_answers_write(x, &ax), ry = imap_message_answers_write(y, &ay);
	bool answers_same = rx == ry && same(buf_str(&ax.envelope), buf_str(&ay.envelope)) &&
			    same(buf_str(&ax.body), buf_str(&ay.body)) &&
			    same(buf_str(&ax.bodystructure), buf_str(&ay.bodystructure));
	imap_message_answers_free(&ax);
	imap_message_answers_free(&ay);
	if (!answers_same || !same(x->subject, y->subject) ||
	    !same(x->from, y->from) || !same(x->to, y->to) || !same(x->cc, y->cc) ||
	    !same(x->message_id, y->message_id) || !same(x->in_reply_to, y->in_reply_to) ||
	    !same(x->references, y->references) || x->date != y->date || x->size != y->size ||
	    x->lines != y->lines || x->part_count != y->part_count)
		abort();
	for (size_t i = 0; i < x->part_count; i++) {
		const struct mime_part *p = &x->parts[i], *q = &y->parts[i];
		if (!same(p->section, q->section) || !same(p->content_type, q->content_type) ||
		    p->header_offset != q->header_offset || p->header_size != q->header_size ||
		    p->body_offset != q->body_offset || p->body_size != q->body_size ||
		    p->body_lines != q->body_lines || p->depth != q->depth ||
		    p->child_count != q->child_count ||
		    p->is_embedded_message != q->is_embedded_message)
			abort();
		/* offsets stay inside the message and add up */
		if (p->header_offset + p->header_size != p->body_offset ||
		    p->body_offset + p->body_size > x->size)
			abort();
	}
}

static void release(struct outcome *o)
{
	mime_parser_free(&o->parser);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct mime_limits limits;
	struct outcome whole, bytes, cut;
	size_t one = 1, cuts[4];

	mime_limits_default(&limits);
	run(&whole, &limits, text, size, NULL, 0);
	run(&bytes, &limits, text, size, &one, 1);
	check(&whole, &bytes);
	/* cut sizes from the first bytes, so the fuzzer steers the cuts */
	for (size_t i = 0; i < 4; i++)
		cuts[i] = size > i ? (size_t)data[i] % 97 + 1 : i + 2;
	run(&cut, &limits, text, size, cuts, 4);
	check(&whole, &cut);
	release(&whole);
	release(&bytes);
	release(&cut);

	/* tight limits: the error paths must agree across chunkings too */
	limits.max_header_bytes = 512;
	limits.max_header_count = 12;
	limits.max_depth = 4;
	limits.max_parts = 12;
	run(&whole, &limits, text, size, NULL, 0);
	run(&bytes, &limits, text, size, &one, 1);
	check(&whole, &bytes);
	release(&whole);
	release(&bytes);
	return 0;
}
