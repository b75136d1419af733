/*
 * mime: streaming RFC 5322 / MIME parser (see mime.h).
 *
 * The input is cut into lines as it arrives; every decision is taken at
 * the end of a line (or at the end of input), from at most the first
 * MIME_LINE_PREFIX bytes of that line, so the chunking of the input can
 * never change the result.  Body bytes are only counted.  The header block
 * of the part being read is kept (bounded by max_header_bytes) and parsed
 * when it ends; everything else lives in a pool with a hard maximum.
 *
 * Offsets follow RFC 2046 and Dovecot: the line break before a boundary
 * delimiter belongs to the delimiter, unless it is the very line break
 * that began the part (an empty part).  A boundary line ends a header
 * block that has no blank line.  Lines end at LF; a CR before it belongs
 * to the line break.
 */
#include "mime.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "mail-date.h"
#include "mime-header.h"
#include "mime-tree.h"
#include "rfc2047.h"

/* A line is compared with boundaries on its first "--" boundary "--". */
#define MIME_LINE_PREFIX (2 + MIME_MAX_BOUNDARY + 2)
/* Pool bytes allowed per part (node, section, Content-* of an ordinary
 * part need well under 1 KiB) plus a multiple of the header limit for
 * the large values one message may legitimately have (long References,
 * thousands of recipients).  Beyond that the input is hostile. */
#define MIME_POOL_PER_PART 4096
#define MIME_POOL_HEADER_FACTOR 16
#define MIME_POOL_BASE (64 * 1024)
/* Envelope addresses kept per message: a header block of 256 KiB could
 * otherwise list 100,000 "a," entries and cost 100 bytes of pool each. */
#define MIME_MAX_ADDRESSES 10000

struct boundary {
	struct boundary *next; /* the enclosing multipart's boundary */
	struct mime_node *node;
	struct str text;       /* without the leading "--" */
};

struct mime_parser {
	struct mime_limits limits;
	struct pool *pool;
	size_t pool_max;

	struct buf header;      /* the header block being read */
	uint64_t header_bytes;  /* bytes of it seen (the block may be cut) */
	unsigned header_fields;
	bool in_header;         /* cur is reading its header block */

	char line[MIME_LINE_PREFIX + 2]; /* first bytes of the current line */
	size_t line_len;
	bool line_cut;          /* the line is longer than line[] */
	char last_byte;         /* last byte fed, to see a CR before an LF */
	uint64_t line_start;    /* offset where the current line began */
	uint64_t line_start_lines;
	unsigned prev_eol;      /* length of the previous line's break: 0, 1, 2 */
	bool start_child;       /* a delimiter line ended: next line opens a part */

	uint64_t offset;        /* bytes fed */
	uint64_t lines;         /* LFs fed */

	struct mime_node *root;
	struct mime_node *cur;
	struct boundary *boundaries; /* innermost first */
	unsigned part_count;
	unsigned address_budget;

	bool failed;
	bool finished;
	const char *error;
	char error_buf[160];

	struct mime_message msg;
	size_t text_max;          /* msg.text_max */
};

void mime_limits_default(struct mime_limits *limits)
{
	limits->max_header_bytes = MIME_MAX_HEADER_BYTES;
	limits->max_header_count = MIME_MAX_HEADER_COUNT;
	limits->max_depth = MIME_MAX_DEPTH;
	limits->max_parts = MIME_MAX_PARTS;
}

/* fail records the first error; every caller then returns -1. */
static int fail(struct mime_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct mime_parser *p, const char *fmt, ...)
{
	if (!p->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->error_buf, sizeof(p->error_buf), fmt, ap);
		va_end(ap);
		p->error = p->error_buf;
		p->failed = true;
	}
	return -1;
}

static int fail_memory(struct mime_parser *p)
{
	return fail(p, "MIME structure too large for its memory limit (%zu bytes)",
		    p->pool_max);
}

/* saturating arithmetic for the pool budget */
static size_t add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t mul_sat(size_t a, size_t b)
{
	return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

/* new_node allocates a part below parent (NULL for the root), checking
 * the part and depth limits.  Returns NULL after fail(). */
static struct mime_node *new_node(struct mime_parser *p, struct mime_node *parent,
				  uint64_t header_offset, bool is_message)
{
	if (parent != NULL) {
		if (p->part_count >= p->limits.max_parts) {
			fail(p, "too many MIME parts (limit %u)", p->limits.max_parts);
			return NULL;
		}
		if (parent->depth >= p->limits.max_depth) {
			fail(p, "MIME parts nested too deeply (limit %u)", p->limits.max_depth);
			return NULL;
		}
	}
	struct mime_node *n = pool_alloc(p->pool, sizeof(*n));
	if (n == NULL || (is_message && (n->envelope = pool_alloc(p->pool, sizeof(*n->envelope))) == NULL)) {
		fail_memory(p);
		return NULL;
	}
	n->is_message = is_message;
	n->header_offset = header_offset;
	n->body_offset = header_offset;
	if (parent != NULL) {
		n->parent = parent;
		n->depth = parent->depth + 1;
		if (parent->last_child != NULL)
			parent->last_child->next = n;
		else
			parent->first_child = n;
		parent->last_child = n;
		parent->child_count++;
	}
	p->part_count++;
	return n;
}

/* begin_header makes n the part whose header block is read next. */
static void begin_header(struct mime_parser *p, struct mime_node *n)
{
	p->cur = n;
	p->in_header = true;
	p->header_bytes = 0;
	p->header_fields = 0;
	buf_reset(&p->header);
}

/* push_boundary registers the boundary of multipart n (cut to the
 * longest boundary compared, MIME_MAX_BOUNDARY). */
static int push_boundary(struct mime_parser *p, struct mime_node *n, struct str text)
{
	struct boundary *b = pool_alloc(p->pool, sizeof(*b));

	if (text.len > MIME_MAX_BOUNDARY)
		text.len = MIME_MAX_BOUNDARY;
	if (b == NULL || (b->text = pool_str(p->pool, text)).ptr == NULL)
		return fail_memory(p);
	b->node = n;
	b->next = p->boundaries;
	p->boundaries = b;
	return 0;
}

/* is compares s with a lower-case literal, ignoring ASCII case. */
static bool is(struct str s, const char *lower)
{
	return str_case_eq(s, str_c(lower));
}

/*
 * header_done parses n's header block (block) and decides what its body
 * is.  body_open says whether the body follows (blank line seen); when
 * false the part ended with its header (boundary or end of input), and an
 * embedded message is still created, empty, so BODYSTRUCTURE has one.
 */
static int header_done(struct mime_parser *p, struct mime_node *n, struct str block,
		       bool body_open)
{
	struct mime_content *c = &n->content;

	if (mime_header_parse(p->pool, n, block, &p->address_budget) < 0)
		return fail_memory(p);
	bool parent_multipart = n->parent != NULL && n->parent->is_multipart;
	if (!c->seen_mime_version && !c->seen_content_type && !parent_multipart) {
		/* Not MIME: Content-* fields mean nothing (Dovecot forgets them). */
		memset(c, 0, sizeof(*c));
	}
	if (c->type.ptr != NULL) {
		if (is(c->type, "multipart"))
			n->is_multipart = true;
		else if (is(c->type, "message") && is(c->subtype, "rfc822"))
			n->is_rfc822 = true;
		else if (is(c->type, "text"))
			n->is_text = true;
	} else if (parent_multipart && is(n->parent->content.subtype, "digest")) {
		n->is_rfc822 = true; /* RFC 2046 section 5.1.5 */
	} else {
		n->is_text = true;
	}

	if (n->is_multipart && body_open) {
		for (unsigned i = 0; i < c->param_count; i++)
			if (is(c->params[i].name, "boundary") && c->params[i].value.len > 0)
				return push_boundary(p, n, c->params[i].value);
	}
	if (n->is_rfc822) {
		struct mime_node *msg = new_node(p, n, n->body_offset, true);
		if (msg == NULL)
			return -1;
		msg->body_lines_start = n->body_lines_start;
		if (body_open) {
			begin_header(p, msg);
			return 0;
		}
		return header_done(p, msg, STR(""), false);
	}
	return 0;
}

/* close_cur ends the current part at end (end_lines LFs before it) and
 * makes its parent current. */
static int close_cur(struct mime_parser *p, uint64_t end, uint64_t end_lines)
{
	struct mime_node *n = p->cur;

	if (p->in_header) {
		assert(end >= n->header_offset && end - n->header_offset <= p->header.len);
		n->header_size = end - n->header_offset;
		n->body_offset = end;
		n->body_lines_start = end_lines;
		p->in_header = false;
		if (header_done(p, n, str_from(p->header.data, (size_t)n->header_size), false) < 0)
			return -1;
		/* an embedded message may have been opened and closed below n */
	}
	assert(end >= n->body_offset && end_lines >= n->body_lines_start);
	n->body_size = end - n->body_offset;
	n->body_lines = end_lines - n->body_lines_start;
	p->cur = n->parent;
	return 0;
}

/* match_boundary finds the boundary a line begins with, the way Dovecot
 * does: innermost first, the longest prefix wins, an exact match at once. */
static struct boundary *match_boundary(struct mime_parser *p, size_t clen, bool *closing_r)
{
	const char *data = p->line + 2;
	struct boundary *best = NULL;

	if (p->boundaries == NULL || clen < 2 || p->line[0] != '-' || p->line[1] != '-')
		return NULL;
	size_t len = clen - 2;
	bool trailing_dashes = !p->line_cut && len > 2 && data[len - 1] == '-' && data[len - 2] == '-';
	for (struct boundary *b = p->boundaries; b != NULL; b = b->next) {
		if (b->text.len > len || memcmp(b->text.ptr, data, b->text.len) != 0 ||
		    (best != NULL && best->text.len >= b->text.len))
			continue;
		best = b;
		if (b->text.len == len || (trailing_dashes && b->text.len + 2 == len))
			break;
	}
	if (best != NULL)
		*closing_r = len >= best->text.len + 2 && data[best->text.len] == '-' &&
			     data[best->text.len + 1] == '-';
	return best;
}

/* on_boundary handles a delimiter line of b's multipart: parts inside it
 * end before the line (and its preceding line break), inner boundaries
 * are forgotten, and unless it is the close delimiter a new part begins
 * after the line. */
static int on_boundary(struct mime_parser *p, struct boundary *b, bool closing, unsigned eol)
{
	uint64_t at = p->line_start;

	if (p->cur != b->node) {
		uint64_t region = p->in_header ? p->cur->header_offset : p->cur->body_offset;
		bool strip = at > region && p->prev_eol > 0;
		uint64_t end = strip ? at - p->prev_eol : at;
		uint64_t end_lines = strip ? p->line_start_lines - 1 : p->line_start_lines;
		while (p->cur != b->node) {
			assert(p->cur != NULL);
			if (close_cur(p, end, end_lines) < 0)
				return -1;
		}
	}
	p->boundaries = closing ? b->next : b;
	p->in_header = false;
	p->start_child = !closing && eol > 0;
	return 0;
}

/* line_end acts on a complete line (eol: length of its break, 0 at the
 * end of input). */
static int line_end(struct mime_parser *p, unsigned eol)
{
	size_t clen = p->line_len;
	bool closing = false;

	if (!p->line_cut)
		clen = clen >= eol ? clen - eol : 0;
	struct boundary *b = match_boundary(p, clen, &closing);
	if (b != NULL) {
		if (on_boundary(p, b, closing, eol) < 0)
			return -1;
	} else if (p->in_header && !p->line_cut && clen == 0 && eol > 0) {
		/* the blank line: the header ends, the body begins */
		struct mime_node *n = p->cur;
		size_t block = p->header.len - (size_t)(p->offset - p->line_start);
		n->header_size = p->offset - n->header_offset;
		n->body_offset = p->offset;
		n->body_lines_start = p->lines;
		p->in_header = false;
		if (header_done(p, n, str_from(p->header.data, block), true) < 0)
			return -1;
		if (!p->in_header)
			buf_reset(&p->header);
	} else if (p->in_header && p->line_len > 0 && p->line[0] != ' ' && p->line[0] != '\t') {
		if (++p->header_fields > p->limits.max_header_count)
			return fail(p, "too many header fields in one block (limit %u)",
				    p->limits.max_header_count);
	}

	p->prev_eol = eol;
	p->line_start = p->offset;
	p->line_start_lines = p->lines;
	p->line_len = 0;
	p->line_cut = false;
	if (p->start_child) {
		p->start_child = false;
		struct mime_node *n = new_node(p, p->cur, p->offset, false);
		if (n == NULL)
			return -1;
		begin_header(p, n);
	}
	return 0;
}

/* consume takes n bytes of one line; ends_line when the last is its LF. */
static int consume(struct mime_parser *p, const char *data, size_t n, bool ends_line)
{
	size_t room = sizeof(p->line) - p->line_len;
	size_t keep = n < room ? n : room;

	memcpy(p->line + p->line_len, data, keep);
	p->line_len += keep;
	if (keep < n)
		p->line_cut = true;
	if (p->in_header) {
		p->header_bytes += n;
		if (p->header_bytes > p->limits.max_header_bytes)
			return fail(p, "header block too large (limit %zu bytes)",
				    p->limits.max_header_bytes);
		if (buf_append(&p->header, data, n) < 0)
			return fail(p, "out of memory for a header block");
	}
	unsigned eol = 0;
	if (ends_line) {
		char before = n >= 2 ? data[n - 2] : p->last_byte;
		bool line_has_before = p->offset + n - p->line_start >= 2;
		eol = before == '\r' && line_has_before ? 2 : 1;
	}
	p->offset += n;
	p->last_byte = data[n - 1];
	if (!ends_line)
		return 0;
	p->lines++;
	return line_end(p, eol);
}

struct mime_parser *mime_parser_new(const struct mime_limits *limits)
{
	struct mime_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (limits != NULL)
		p->limits = *limits;
	else
		mime_limits_default(&p->limits);
	p->pool_max = add_sat(add_sat(MIME_POOL_BASE,
				      mul_sat(p->limits.max_parts, MIME_POOL_PER_PART)),
			      mul_sat(p->limits.max_header_bytes, MIME_POOL_HEADER_FACTOR));
	p->pool = pool_new(p->pool_max);
	if (p->pool == NULL) {
		free(p);
		return NULL;
	}
	buf_init(&p->header, add_sat(p->limits.max_header_bytes, 1));
	/* Text written about the message (display lists here, IMAP's
	 * ENVELOPE and BODYSTRUCTURE in src/imap-format) is at most a few
	 * times what the pool holds. */
	p->text_max = add_sat(mul_sat(p->pool_max, 4), 65536);
	p->address_budget = MIME_MAX_ADDRESSES;
	p->root = new_node(p, NULL, 0, true);
	if (p->root == NULL) {
		mime_parser_free(&p);
		return NULL;
	}
	begin_header(p, p->root);
	return p;
}

int mime_parser_feed(struct mime_parser *parser, const char *data, size_t len,
		     const char **error_r)
{
	assert(!parser->finished);
	while (len > 0 && !parser->failed) {
		const char *lf = memchr(data, '\n', len);
		size_t n = lf != NULL ? (size_t)(lf - data) + 1 : len;
		if (consume(parser, data, n, lf != NULL) < 0)
			break;
		data += n;
		len -= n;
	}
	if (parser->failed) {
		*error_r = parser->error;
		return -1;
	}
	return 0;
}

/* lower_type returns "type/subtype" in lower case for mime_part. */
static struct str lower_type(struct mime_parser *p, const struct mime_node *n)
{
	const struct mime_content *c = &n->content;
	char *s;
	size_t len;

	if (c->type.ptr == NULL) {
		struct str def = n->is_rfc822 ? STR("message/rfc822") : STR("text/plain");
		return pool_str(p->pool, def);
	}
	len = c->type.len + 1 + c->subtype.len;
	s = pool_alloc(p->pool, len + 1);
	if (s == NULL)
		return STR_NULL;
	memcpy(s, c->type.ptr, c->type.len);
	s[c->type.len] = '/';
	memcpy(s + c->type.len + 1, c->subtype.ptr, c->subtype.len);
	str_lower(s, len);
	return str_from(s, len);
}

/* flatten writes n and its subtree into parts[] in depth-first order,
 * naming sections as IMAP does (RFC 3501 section 6.4.5): parts of a
 * multipart are numbered; the message inside a message/rfc822 part shares
 * that part's number, or gets ".1" when the rfc822 part is itself a
 * message body rather than a numbered part. */
static int flatten(struct mime_parser *p, const struct mime_node *n, struct str section,
		   size_t *index)
{
	struct mime_part *part = &p->msg.parts[(*index)++];

	part->section = section;
	part->header_offset = n->header_offset;
	part->header_size = n->header_size;
	part->body_offset = n->body_offset;
	part->body_size = n->body_size;
	part->body_lines = n->body_lines;
	part->content_type = lower_type(p, n);
	part->depth = n->depth;
	part->child_count = n->child_count;
	part->is_embedded_message = n->is_message && n->parent != NULL;
	if (part->content_type.ptr == NULL)
		return fail_memory(p);

	unsigned number = 0;
	for (const struct mime_node *child = n->first_child; child != NULL; child = child->next) {
		char name[24];
		struct str child_section = section;
		if (n->is_multipart || n->is_message) {
			/* numbered part, or the ".1" body of a message */
			number = n->is_multipart ? number + 1 : 1;
			int len = snprintf(name, sizeof(name), "%u", number);
			if (len < 0)
				return fail_memory(p);
			char *s = pool_alloc(p->pool, section.len + 1 + (size_t)len + 1);
			if (s == NULL)
				return fail_memory(p);
			size_t at = 0;
			if (section.len > 0) {
				memcpy(s, section.ptr, section.len);
				s[section.len] = '.';
				at = section.len + 1;
			}
			memcpy(s + at, name, (size_t)len);
			child_section = str_from(s, at + (size_t)len);
		}
		if (flatten(p, child, child_section, index) < 0)
			return -1;
	}
	return 0;
}

/* keep_buf copies a temporary buffer's text into the pool. */
static int keep_buf(struct mime_parser *p, struct buf *b, struct str *out)
{
	*out = pool_str(p->pool, buf_str(b));
	return out->ptr == NULL ? fail_memory(p) : 0;
}

/* results fills p->msg from the finished tree. */
static int results(struct mime_parser *p)
{
	struct mime_message *m = &p->msg;
	const struct mime_envelope *env = p->root->envelope;
	size_t index = 0;

	m->size = p->offset;
	m->lines = p->lines;
	m->part_count = p->part_count;
	m->parts = pool_alloc(p->pool, p->part_count * sizeof(*m->parts));
	if (m->parts == NULL)
		return fail_memory(p);
	if (flatten(p, p->root, pool_str(p->pool, STR("")), &index) < 0)
		return -1;
	assert(index == p->part_count);

	m->root = p->root;
	m->text_max = p->text_max;

	struct buf tmp;
	int ret = 0;
	/* Display lists add "@MISSING_DOMAIN, " and the like to short input:
	 * bound them like the other answers, by what the pool holds. */
	buf_init(&tmp, p->text_max);
	struct {
		struct str *field;
		const struct address *list;
	} lists[] = {
		{ &m->from, env->head[MIME_ENVELOPE_FROM] },
		{ &m->to, env->head[MIME_ENVELOPE_TO] },
		{ &m->cc, env->head[MIME_ENVELOPE_CC] },
	};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]) && ret == 0; i++) {
		buf_reset(&tmp);
		if (address_list_append_display(&tmp, lists[i].list) < 0)
			ret = fail_memory(p);
		else
			ret = keep_buf(p, &tmp, lists[i].field);
	}
	buf_reset(&tmp);
	if (ret == 0 && rfc2047_decode(&tmp, env->subject) < 0)
		ret = fail_memory(p);
	if (ret == 0)
		ret = keep_buf(p, &tmp, &m->subject);
	buf_free(&tmp);
	m->message_id = str_trim(env->message_id);
	m->in_reply_to = str_trim(env->in_reply_to);
	m->references = str_trim(p->root->references);
	if (m->message_id.ptr == NULL)
		m->message_id = STR("");
	if (m->in_reply_to.ptr == NULL)
		m->in_reply_to = STR("");
	if (m->references.ptr == NULL)
		m->references = STR("");
	m->date = -1;
	m->date_zone = 0;
	if (env->date.ptr != NULL && mail_date_parse_zone(env->date, &m->date, &m->date_zone) < 0) {
		m->date = -1;
		m->date_zone = 0;
	}
	return ret;
}

int mime_parser_finish(struct mime_parser *parser, const struct mime_message **msg_r,
		       const char **error_r)
{
	struct mime_parser *p = parser;

	assert(!p->finished);
	p->finished = true;
	if (!p->failed && p->offset > p->line_start)
		line_end(p, 0); /* the last line has no line break */
	while (!p->failed && p->cur != NULL)
		close_cur(p, p->offset, p->lines);
	if (!p->failed)
		results(p);
	if (p->failed) {
		*error_r = p->error;
		return -1;
	}
	*msg_r = &p->msg;
	return 0;
}

void mime_parser_free(struct mime_parser **parser)
{
	struct mime_parser *p = *parser;

	if (p == NULL)
		return;
	pool_free(&p->pool);
	buf_free(&p->header);
	free(p);
	*parser = NULL;
}
