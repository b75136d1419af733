/* imap-fetch: one message's FETCH answer (see imap-fetch.h). */
#include "imap-fetch-private.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "imap-flags.h"
#include "mail/mail-decode.h"

/* A header block is read whole for HEADER.FIELDS and for a part's
 * Content-Transfer-Encoding.  The MIME parser refuses blocks over
 * MIME_MAX_HEADER_BYTES at delivery; four times that leaves room for a
 * raised limit while a corrupt part table cannot make us read a whole
 * message into memory. */
#define IMAP_FETCH_MAX_HEADER (4u * MIME_MAX_HEADER_BYTES)
/* BINARY decodes a part this many encoded bytes at a time, so memory stays
 * at a chunk (plus the answer itself) whatever the part's size. */
#define IMAP_FETCH_DECODE_CHUNK (64u * 1024)
/* A literal written in steps is read this many octets at a time: the
 * output passes its mark by at most this much (the session's mark is
 * 256 KiB; a chunk a quarter of it keeps the overshoot small and the
 * reads few). */
#define IMAP_FETCH_STREAM_CHUNK (64u * 1024)

/* ---------- reading the message ---------- */

/* The state of writing one message's answer. */
struct fetch_ctx {
	const struct imap_fetch_input *in;
	struct buf *out;
	const char **error_r;
	struct imap_fetch_resume *state;  /* where the message's answer stands */
	size_t high;                      /* stop a literal once out holds this */
};

static int fail_text(struct fetch_ctx *ctx, int status, const char *text)
{
	*ctx->error_r = text;
	return status;
}

static int fail_full(struct fetch_ctx *ctx)
{
	return fail_text(ctx, IMAP_FETCH_FULL, "The answer does not fit in the output buffer");
}

/* header_copied gives the n bytes of the message at off from the header
 * copy the store kept (store.h, "Header copies"), or NULL when they are
 * not all in it. */
static const char *header_copied(const struct fetch_ctx *ctx, uint64_t off, uint64_t n)
{
	const struct store_message_meta *meta = ctx->in->meta;

	if (meta == NULL || meta->header_copy == NULL || off > meta->header_copy_size ||
	    n > meta->header_copy_size - off)
		return NULL;
	return meta->header_copy + off;
}

/* read_at fills dst with n bytes of the message at offset off: from the
 * header copy when it holds them, else through the reader. */
static int read_at(struct fetch_ctx *ctx, uint64_t off, char *dst, size_t n)
{
	const struct imap_fetch_input *in = ctx->in;
	const char *copied = header_copied(ctx, off, n);

	if (copied != NULL) {
		memcpy(dst, copied, n);
		return IMAP_FETCH_OK;
	}
	while (n > 0) {
		size_t got = 0;
		if (in->read(in->read_ctx, off, dst, n, &got, ctx->error_r) < 0)
			return IMAP_FETCH_ERROR;
		if (got == 0)
			return fail_text(ctx, IMAP_FETCH_ERROR,
					 "Message file shorter than its part table says");
		dst += got;
		n -= got;
		off += got;
	}
	return IMAP_FETCH_OK;
}

/* read_into_buf replaces b's content with n bytes of the message at off. */
static int read_into_buf(struct fetch_ctx *ctx, uint64_t off, uint64_t n, struct buf *b)
{
	buf_reset(b);
	if (n > SIZE_MAX || buf_reserve(b, (size_t)n) < 0)
		return fail_text(ctx, IMAP_FETCH_ERROR, "Header block too large");
	int r = read_at(ctx, off, b->data, (size_t)n);
	if (r != IMAP_FETCH_OK)
		return r;
	b->len = (size_t)n;
	b->data[n] = '\0';
	return IMAP_FETCH_OK;
}

/* insert_at puts p in front of the bytes of out from at on. */
static int insert_at(struct buf *out, size_t at, const char *p, size_t n)
{
	assert(at <= out->len);
	if (buf_reserve(out, n) < 0)
		return -1;
	memmove(out->data + at + n, out->data + at, out->len - at);
	memcpy(out->data + at, p, n);
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

/* ---------- finding sections ---------- */

static bool part_is_multipart(const struct store_part *p)
{
	return p->content_type != NULL && str_case_prefix(str_c(p->content_type), STR("multipart/"));
}

/* part_next_sibling gives the index after part i's subtree. */
static size_t part_next_sibling(const struct store_message_meta *meta, size_t i)
{
	size_t j = i + 1;
	while (j < meta->part_count && meta->parts[j].depth > meta->parts[i].depth)
		j++;
	return j;
}

/* part_embedded gives the message inside message/rfc822 part i (its only
 * child, flagged is_message), or -1 when i is no such part. */
static long part_embedded(const struct store_message_meta *meta, size_t i)
{
	if (i + 1 < meta->part_count && meta->parts[i + 1].is_message &&
	    meta->parts[i + 1].depth == meta->parts[i].depth + 1)
		return (long)(i + 1);
	return -1;
}

/* part_child gives child number num (from 1) of multipart i, or -1. */
static long part_child(const struct store_message_meta *meta, size_t i, uint32_t num)
{
	size_t j = i + 1;
	for (uint32_t k = 1; k < num && j < meta->part_count; k++) {
		if (meta->parts[j].depth != meta->parts[i].depth + 1)
			return -1;
		j = part_next_sibling(meta, j);
	}
	if (j >= meta->part_count || meta->parts[j].depth != meta->parts[i].depth + 1)
		return -1;
	return (long)j;
}

/*
 * part_find resolves part numbers as Dovecot does (RFC 9051 6.4.5): the
 * parts of a multipart are numbered from 1; a part that is not multipart
 * only has a "1", itself; numbers after a message/rfc822 part go on in the
 * message inside it.  Returns the index in meta->parts, or -1 when there is
 * no such part.
 */
static long part_find(const struct store_message_meta *meta, const uint32_t *nums, size_t n)
{
	long i = 0;

	for (size_t k = 0; k < n && i >= 0; k++) {
		bool more = k + 1 < n;
		if (part_is_multipart(&meta->parts[i]))
			i = part_child(meta, (size_t)i, nums[k]);
		else if (nums[k] != 1 || (more && part_embedded(meta, (size_t)i) < 0))
			i = -1;
		if (i >= 0 && more && part_embedded(meta, (size_t)i) >= 0)
			i = part_embedded(meta, (size_t)i);
	}
	return i;
}

/* What a section's answer is made of. */
enum content_kind {
	CONTENT_NONE,     /* no such part: the empty string */
	CONTENT_RAW,      /* bytes of the message as they are */
	CONTENT_FIELDS,   /* some fields of a header block, and a blank line */
	CONTENT_BINARY,   /* BINARY: bytes of the message with every encoded
			   * leaf part in them decoded */
};

struct content {
	enum content_kind kind;
	uint64_t off, len;       /* RAW, BINARY: the bytes; FIELDS: the header block */
	size_t index;            /* BINARY: the part whose subtree holds the leaves */
};

static void content_header(struct content *c, const struct store_part *p)
{
	c->kind = CONTENT_RAW;
	c->off = p->header_offset;
	c->len = p->header_size;
}

static void content_body(struct content *c, const struct store_part *p)
{
	c->kind = CONTENT_RAW;
	c->off = p->body_offset;
	c->len = p->body_size;
}

/* section_content says where section s of the message is. */
static void section_content(const struct imap_fetch_input *in, const struct imap_section *s,
			    struct content *c)
{
	const struct store_message_meta *meta = in->meta;
	bool binary = s->att >= IMAP_SECTION_ATT_BINARY;
	long i = 0;

	memset(c, 0, sizeof(*c));
	if (s->part_count == 0 && s->text == IMAP_SECTION_WHOLE && !binary) {
		c->kind = CONTENT_RAW;
		c->len = in->msg->size;
		return;
	}
	assert(meta != NULL);
	if (meta->part_count == 0)
		return;
	if (s->part_count > 0 && (i = part_find(meta, s->parts, s->part_count)) < 0)
		return;
	const struct store_part *p = &meta->parts[i];
	/* HEADER and TEXT of a numbered part address the message inside a
	 * message/rfc822 part; any other part has none. */
	if (s->part_count > 0 &&
	    (s->text == IMAP_SECTION_HEADER || s->text == IMAP_SECTION_HEADER_FIELDS ||
	     s->text == IMAP_SECTION_HEADER_FIELDS_NOT || s->text == IMAP_SECTION_TEXT)) {
		long e = part_embedded(meta, (size_t)i);
		if (e < 0)
			return;
		p = &meta->parts[e];
	}
	switch (s->text) {
	case IMAP_SECTION_WHOLE:
		if (s->part_count == 0) {
			c->kind = CONTENT_RAW;
			c->len = in->msg->size;
		} else {
			content_body(c, p);
		}
		if (binary) {
			c->kind = CONTENT_BINARY;
			c->index = (size_t)i;
		}
		return;
	case IMAP_SECTION_MIME:
	case IMAP_SECTION_HEADER:
		content_header(c, p);
		return;
	case IMAP_SECTION_TEXT:
		content_body(c, p);
		return;
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		content_header(c, p);
		c->kind = CONTENT_FIELDS;
		return;
	}
}

/* ---------- writing content ---------- */

/* The window of a content that is answered: bytes [from, to) of it. */
struct window {
	uint64_t pos;        /* content bytes passed so far */
	uint64_t from, to;
	size_t data_start;   /* where the answered bytes start in out */
};

static void window_init(struct window *w, const struct imap_section *s, size_t data_start)
{
	w->pos = 0;
	w->from = s != NULL && s->partial ? s->partial_offset : 0;
	w->to = s != NULL && s->partial && s->partial_length <= UINT64_MAX - w->from ?
			w->from + s->partial_length : UINT64_MAX;
	w->data_start = data_start;
}

static bool window_done(const struct window *w)
{
	return w->pos >= w->to;
}

/* window_data passes n content bytes at p, appending those in the window. */
static int window_data(struct fetch_ctx *ctx, struct window *w, const char *p, size_t n)
{
	uint64_t start = w->pos, end = w->pos + n;

	w->pos = end;
	if (end <= w->from || start >= w->to)
		return IMAP_FETCH_OK;
	uint64_t a = start > w->from ? start : w->from;
	uint64_t b = end < w->to ? end : w->to;
	if (buf_append(ctx->out, p + (a - start), (size_t)(b - a)) < 0)
		return fail_full(ctx);
	return IMAP_FETCH_OK;
}

/* window_raw passes n content bytes that are the message's bytes at off,
 * reading only those in the window, straight into out. */
static int window_raw(struct fetch_ctx *ctx, struct window *w, uint64_t off, uint64_t n)
{
	uint64_t start = w->pos, end = w->pos + n;

	w->pos = end;
	if (end <= w->from || start >= w->to)
		return IMAP_FETCH_OK;
	uint64_t a = start > w->from ? start : w->from;
	uint64_t b = end < w->to ? end : w->to;
	if (b - a > SIZE_MAX || buf_reserve(ctx->out, (size_t)(b - a)) < 0)
		return fail_full(ctx);
	int r = read_at(ctx, off + (a - start), ctx->out->data + ctx->out->len, (size_t)(b - a));
	if (r != IMAP_FETCH_OK)
		return r;
	ctx->out->len += (size_t)(b - a);
	ctx->out->data[ctx->out->len] = '\0';
	return IMAP_FETCH_OK;
}

/* field_end gives the index after the field (first line and continuation
 * lines) that starts at block[line]. */
static size_t field_end(struct str block, size_t line)
{
	size_t end = line;
	do {
		long lf = str_chr(str_sub(block, end, SIZE_MAX), '\n');
		end = lf < 0 ? block.len : end + (size_t)lf + 1;
	} while (end < block.len && (block.ptr[end] == ' ' || block.ptr[end] == '\t'));
	return end;
}

/* field_name gives the name of a field (before the colon, trailing white
 * space dropped); false when the line has no colon. */
static bool field_name(struct str field, struct str *name_r)
{
	long colon = str_chr(field, ':');
	if (colon < 0)
		return false;
	*name_r = str_from(field.ptr, (size_t)colon);
	while (name_r->len > 0 &&
	       (name_r->ptr[name_r->len - 1] == ' ' || name_r->ptr[name_r->len - 1] == '\t'))
		name_r->len--;
	return true;
}

static bool is_blank_line(struct str block, size_t line)
{
	return block.ptr[line] == '\n' ||
	       (block.ptr[line] == '\r' && line + 1 < block.len && block.ptr[line + 1] == '\n');
}

/* field_named: is name one of names[0..count), ASCII case-insensitively?
 * A list view asks for about ten names of each of a header's fifteen or
 * so fields, most of which match none: the length and the first octet
 * (equal but for the case bit, which equal letters in any case and
 * equal octets of any kind pass) rule out nearly all before a compare. */
static bool field_named(struct str name, const struct str *names, size_t count)
{
	if (name.len == 0)
		return false;
	for (size_t i = 0; i < count; i++)
		if (names[i].len == name.len && ((names[i].ptr[0] ^ name.ptr[0]) & ~0x20) == 0 &&
		    str_case_eq(name, names[i]))
			return true;
	return false;
}

/* header_fields passes the fields of block named (or, with not, not named)
 * in s->fields, as they are in the message, then the blank line. */
static int header_fields(struct fetch_ctx *ctx, struct window *w, const struct imap_section *s,
			 struct str block)
{
	bool not = s->text == IMAP_SECTION_HEADER_FIELDS_NOT;
	size_t line = 0;

	while (line < block.len && !is_blank_line(block, line)) {
		size_t end = field_end(block, line);
		struct str field = str_from(block.ptr + line, end - line), name;
		bool named = field_name(field, &name) && field_named(name, s->fields, s->field_count);
		if (named != not) {
			int r = window_data(ctx, w, field.ptr, field.len);
			if (r != IMAP_FETCH_OK)
				return r;
		}
		line = end;
	}
	return window_data(ctx, w, "\r\n", 2);
}

/* leaf_header reads the header block of part index into header and its
 * Content-Transfer-Encoding.  A message's own header counts only with
 * MIME-Version or Content-Type, as the MIME parser (and Dovecot) decided
 * for BODYSTRUCTURE, so BINARY agrees with the encoding shown there. */
static int leaf_header(struct fetch_ctx *ctx, size_t index, struct buf *header,
		       enum mail_cte *cte_r)
{
	const struct store_part *p = &ctx->in->meta->parts[index];
	struct buf value;

	*cte_r = MAIL_CTE_7BIT;
	int r = read_into_buf(ctx, p->header_offset, p->header_size, header);
	if (r != IMAP_FETCH_OK)
		return r;
	struct str block = buf_str(header);
	/* A value is never longer than the block it is in. */
	buf_init(&value, block.len + 1);
	bool mime = !(index == 0 || p->is_message) ||
		    mail_header_field(block, "MIME-Version", &value) ||
		    mail_header_field(block, "Content-Type", &value);
	buf_reset(&value);
	if (mime && mail_header_field(block, "Content-Transfer-Encoding", &value))
		*cte_r = mail_cte_parse(buf_str(&value));
	buf_free(&value);
	return IMAP_FETCH_OK;
}

/* header_rewritten passes a decoded leaf's header block with its
 * Content-Transfer-Encoding made "binary", as Dovecot does, so that the
 * header says what the body now is. */
static int header_rewritten(struct fetch_ctx *ctx, struct window *w, struct str block)
{
	static const char cte_binary[] = "Content-Transfer-Encoding: binary\r\n";
	size_t line = 0;
	int r = IMAP_FETCH_OK;

	while (r == IMAP_FETCH_OK && line < block.len && !is_blank_line(block, line)) {
		size_t end = field_end(block, line);
		struct str field = str_from(block.ptr + line, end - line), name;
		if (field_name(field, &name) &&
		    str_case_eq(name, STR("Content-Transfer-Encoding")))
			r = window_data(ctx, w, cte_binary, sizeof(cte_binary) - 1);
		else
			r = window_data(ctx, w, field.ptr, field.len);
		line = end;
	}
	if (r == IMAP_FETCH_OK)
		r = window_data(ctx, w, block.ptr + line, block.len - line);
	return r;
}

static bool is_base64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* decode_cut gives how much of the encoded bytes in (not the last of the
 * part) can be decoded now without splitting an encoded unit.  Base64: up
 * to the end of the last whole group of four.  Quoted-printable: all but
 * a final run of white space, CR, "=" and "=X", whose meaning depends on
 * what follows (a soft line break, transport padding before a line end,
 * an "=XX" cut in two). */
static size_t decode_cut(enum mail_cte cte, struct str in)
{
	size_t cut = 0;

	if (cte == MAIL_CTE_BASE64) {
		size_t count = 0;
		for (size_t i = 0; i < in.len; i++) {
			if (in.ptr[i] == '=')
				return in.len;  /* the end of the data */
			if (is_base64_char((unsigned char)in.ptr[i]) && ++count % 4 == 0)
				cut = i + 1;
		}
		return cut;
	}
	cut = in.len;
	while (cut > 0 && (in.ptr[cut - 1] == ' ' || in.ptr[cut - 1] == '\t' ||
			   in.ptr[cut - 1] == '\r' || in.ptr[cut - 1] == '=' ||
			   (cut >= 2 && in.ptr[cut - 2] == '=')))
		cut--;
	/* Nothing but such a run in a whole buffer: only hostile input looks
	 * like that; decoding it now at worst keeps some white space. */
	return cut > 0 ? cut : in.len;
}

/* decoded passes the decoded body of c (base64 or quoted-printable), a
 * chunk at a time, and stops reading once the window is full.  Memory: the
 * encoded buffer (a chunk and the few bytes a cut carries over) and the
 * decoded piece, never the whole part. */
static int decoded(struct fetch_ctx *ctx, struct window *w, uint64_t off, uint64_t len,
		   enum mail_cte cte)
{
	const size_t enc_max = 2 * IMAP_FETCH_DECODE_CHUNK;
	struct buf enc, dec;
	uint64_t done = 0;
	int r = IMAP_FETCH_OK;

	buf_init(&enc, enc_max);
	buf_init(&dec, enc_max); /* decoding never makes data longer */
	while (r == IMAP_FETCH_OK && !window_done(w) && done < len) {
		uint64_t n = len - done;
		if (n > IMAP_FETCH_DECODE_CHUNK)
			n = IMAP_FETCH_DECODE_CHUNK;
		if (n > enc_max - enc.len)
			n = enc_max - enc.len;  /* >= 1: a cut never keeps all */
		if (buf_reserve(&enc, (size_t)n) < 0) {
			r = fail_text(ctx, IMAP_FETCH_ERROR, "Out of memory");
			break;
		}
		r = read_at(ctx, off + done, enc.data + enc.len, (size_t)n);
		if (r != IMAP_FETCH_OK)
			break;
		enc.len += (size_t)n;
		done += n;
		size_t cut = done == len ? enc.len : decode_cut(cte, buf_str(&enc));
		struct str piece = str_from(enc.data, cut);
		bool end = cte == MAIL_CTE_BASE64 && str_chr(piece, '=') >= 0;
		buf_reset(&dec);
		if (mail_decode(cte, piece, &dec) < 0) {
			r = fail_text(ctx, IMAP_FETCH_ERROR, "Out of memory");
			break;
		}
		buf_consume(&enc, cut);
		if (cte == MAIL_CTE_BASE64) {
			/* Only the alphabet matters in what is carried: < 4 bytes. */
			size_t keep = 0;
			for (size_t i = 0; i < enc.len; i++)
				if (is_base64_char((unsigned char)enc.data[i]))
					enc.data[keep++] = enc.data[i];
			enc.len = keep;
		}
		r = window_data(ctx, w, dec.data, dec.len);
		if (end)
			break;
	}
	buf_free(&enc);
	buf_free(&dec);
	return r;
}

/*
 * binary_content passes c's bytes with every leaf part in them whose body
 * is base64 or quoted-printable decoded (RFC 3516; a single part is the
 * usual case, a multipart or message/rfc822 part is done as Dovecot does:
 * decoded leaves, their headers saying "binary").  Raw stretches between
 * leaves are read only where they meet the window; decoded leaves are
 * decoded in chunks.  A leaf with an encoding we do not know fails the
 * whole answer with IMAP_FETCH_UNKNOWN_CTE (the session answers NO
 * [UNKNOWN-CTE]).
 */
static int binary_content(struct fetch_ctx *ctx, struct window *w, const struct content *c)
{
	const struct store_message_meta *meta = ctx->in->meta;
	uint64_t cursor = c->off, end = c->off + c->len;
	size_t last = part_next_sibling(meta, c->index);
	struct buf header;
	int r = IMAP_FETCH_OK;

	buf_init(&header, IMAP_FETCH_MAX_HEADER);
	for (size_t j = c->index; r == IMAP_FETCH_OK && j < last && !window_done(w); j++) {
		const struct store_part *p = &meta->parts[j];
		enum mail_cte cte;
		if (part_is_multipart(p) || part_embedded(meta, j) >= 0)
			continue;  /* composite: its own encoding is 7bit, 8bit or binary */
		if (p->body_offset < cursor || p->body_offset > end ||
		    p->body_size > end - p->body_offset)
			continue;  /* a broken part table: leave those bytes raw */
		if ((r = leaf_header(ctx, j, &header, &cte)) != IMAP_FETCH_OK)
			break;
		if (cte == MAIL_CTE_UNKNOWN) {
			r = fail_text(ctx, IMAP_FETCH_UNKNOWN_CTE,
				      "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding");
			break;
		}
		if (cte != MAIL_CTE_BASE64 && cte != MAIL_CTE_QP)
			continue;
		/* The leaf's header is in c unless c is the leaf's body. */
		if (p->header_offset >= cursor && p->header_offset <= p->body_offset) {
			r = window_raw(ctx, w, cursor, p->header_offset - cursor);
			if (r == IMAP_FETCH_OK)
				r = header_rewritten(ctx, w, buf_str(&header));
		} else {
			r = window_raw(ctx, w, cursor, p->body_offset - cursor);
		}
		if (r == IMAP_FETCH_OK)
			r = decoded(ctx, w, p->body_offset, p->body_size, cte);
		cursor = p->body_offset + p->body_size;
	}
	if (r == IMAP_FETCH_OK)
		r = window_raw(ctx, w, cursor, end - cursor);
	buf_free(&header);
	return r;
}

/* content_write passes c's bytes (not FIELDS) through the window. */
static int content_write(struct fetch_ctx *ctx, struct window *w, const struct content *c)
{
	if (c->len > UINT64_MAX - c->off)
		return fail_text(ctx, IMAP_FETCH_ERROR, "Part offset out of range");
	switch (c->kind) {
	case CONTENT_NONE:
	case CONTENT_FIELDS:
		return IMAP_FETCH_OK;
	case CONTENT_RAW:
		return window_raw(ctx, w, c->off, c->len);
	case CONTENT_BINARY:
		return binary_content(ctx, w, c);
	}
	return IMAP_FETCH_OK;
}

/* nul_to_0x80 makes every NUL of the n bytes at p 0x80, as Dovecot does
 * (IMAP strings cannot hold NUL); memchr finds the rare NUL faster than a
 * loop over every byte of a large body. */
static void nul_to_0x80(char *p, size_t n)
{
	char *end = p + n;
	while (p < end && (p = memchr(p, '\0', (size_t)(end - p))) != NULL)
		*p++ = (char)0x80;
}

/* ---------- items ---------- */
/* raw_has_nul: do the n message bytes at off hold a NUL? */
static int raw_has_nul(struct fetch_ctx *ctx, uint64_t off, uint64_t n, bool *nul_r)
{
	char chunk[4096];
	int r = IMAP_FETCH_OK;

	*nul_r = false;
	for (uint64_t done = 0; r == IMAP_FETCH_OK && done < n && !*nul_r;) {
		size_t k = n - done < sizeof(chunk) ? (size_t)(n - done) : sizeof(chunk);
		r = read_at(ctx, off + done, chunk, k);
		*nul_r = r == IMAP_FETCH_OK && memchr(chunk, '\0', k) != NULL;
		done += k;
	}
	return r;
}

/* binary_is_raw: is BINARY content c the message's bytes as they are (no
 * leaf in it base64 or quoted-printable, as binary_content decides)? */
static int binary_is_raw(struct fetch_ctx *ctx, const struct content *c, bool *raw_r)
{
	const struct store_message_meta *meta = ctx->in->meta;
	uint64_t end = c->off + c->len;
	size_t last = part_next_sibling(meta, c->index);
	struct buf header;
	int r = IMAP_FETCH_OK;

	*raw_r = true;
	buf_init(&header, IMAP_FETCH_MAX_HEADER);
	for (size_t j = c->index; r == IMAP_FETCH_OK && *raw_r && j < last; j++) {
		const struct store_part *p = &meta->parts[j];
		enum mail_cte cte;
		if (part_is_multipart(p) || part_embedded(meta, j) >= 0)
			continue;
		if (p->body_offset < c->off || p->body_offset > end ||
		    p->body_size > end - p->body_offset)
			continue;
		if ((r = leaf_header(ctx, j, &header, &cte)) != IMAP_FETCH_OK)
			break;
		*raw_r = cte != MAIL_CTE_UNKNOWN && cte != MAIL_CTE_BASE64 && cte != MAIL_CTE_QP;
	}
	buf_free(&header);
	return r;
}

/* literal_raw writes "name {n}\r\n" and n raw bytes of the message (the
 * window of c), a chunk at a time; once out holds ctx->high octets it
 * returns IMAP_FETCH_MORE with ctx->state saying how far it got.  Text
 * answers have NULs made 0x80; binary ones holding NUL are literal8. */
static int literal_raw(struct fetch_ctx *ctx, struct str name, const struct imap_section *s,
		       const struct content *c, bool binary)
{
	struct imap_fetch_resume *st = ctx->state;
	struct buf *out = ctx->out;
	struct window w;
	int r;

	window_init(&w, s, 0);
	uint64_t len = c->kind == CONTENT_RAW ? c->len : 0;
	uint64_t end = len < w.to ? len : w.to;
	uint64_t announced = end > w.from ? end - w.from : 0;
	if (!st->literal) {
		bool nul = false;
		if (binary && (r = raw_has_nul(ctx, c->off + w.from, announced, &nul)) !=
				      IMAP_FETCH_OK)
			return r;
		if (buf_append_str(out, name) < 0 ||
		    buf_printf(out, " %s{%llu}\r\n", nul ? "~" : "",
			       (unsigned long long)announced) < 0)
			return fail_full(ctx);
		st->literal = true;
		st->sent = 0;
	}
	while (st->sent < announced) {
		if (out->len >= ctx->high)
			return IMAP_FETCH_MORE;
		uint64_t n = announced - st->sent;
		if (n > IMAP_FETCH_STREAM_CHUNK)
			n = IMAP_FETCH_STREAM_CHUNK;
		if (buf_reserve(out, (size_t)n) < 0)
			return fail_full(ctx);
		char *data = out->data + out->len;
		if ((r = read_at(ctx, c->off + w.from + st->sent, data, (size_t)n)) != IMAP_FETCH_OK)
			return r;
		if (!binary)
			nul_to_0x80(data, (size_t)n);
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		st->sent += n;
	}
	return IMAP_FETCH_OK;
}


/* write_literal writes "name {n}\r\n" and the content.  Text answers have
 * NULs made 0x80, as Dovecot does (IMAP strings cannot hold NUL); BINARY
 * answers holding NUL are sent as literal8 "~{n}" (RFC 3516 4.2).  Raw
 * bytes (and BINARY of parts needing no decoding) have a size known
 * before they are read and go out in steps (literal_raw); decoded or
 * filtered content gets its "{n}" put in front once it is there. */
static int write_literal(struct fetch_ctx *ctx, struct str name, const struct imap_section *s,
			 const struct content *c, bool binary)
{
	struct buf *out = ctx->out;
	struct window w;
	int r;

	if (c->kind == CONTENT_RAW || c->kind == CONTENT_NONE)
		return literal_raw(ctx, name, s, c, binary);
	if (c->kind == CONTENT_BINARY) {
		bool raw;
		if ((r = binary_is_raw(ctx, c, &raw)) != IMAP_FETCH_OK)
			return r;
		if (raw) {
			struct content plain = *c;
			plain.kind = CONTENT_RAW;
			return literal_raw(ctx, name, s, &plain, binary);
		}
	}
	if (buf_append_str(out, name) < 0 || buf_putc(out, ' ') < 0)
		return fail_full(ctx);
	size_t prefix_at = out->len;
	window_init(&w, s, out->len);
	const char *copied = c->kind == CONTENT_FIELDS ? header_copied(ctx, c->off, c->len) : NULL;
	if (copied != NULL) {
		/* The fields are picked from the copy where it lies. */
		r = header_fields(ctx, &w, s, str_from(copied, (size_t)c->len));
	} else if (c->kind == CONTENT_FIELDS) {
		struct buf block;
		if (c->len > IMAP_FETCH_MAX_HEADER)
			return fail_text(ctx, IMAP_FETCH_ERROR, "Header block too large");
		buf_init(&block, IMAP_FETCH_MAX_HEADER);
		r = read_into_buf(ctx, c->off, c->len, &block);
		if (r == IMAP_FETCH_OK)
			r = header_fields(ctx, &w, s, buf_str(&block));
		buf_free(&block);
	} else {
		r = content_write(ctx, &w, c);
	}
	if (r != IMAP_FETCH_OK)
		return r;
	char *data = out->data + w.data_start;
	size_t n = out->len - w.data_start;
	bool nul = n > 0 && memchr(data, '\0', n) != NULL;
	if (nul && !binary)
		nul_to_0x80(data, n);
	char prefix[40];
	int len = snprintf(prefix, sizeof(prefix), "%s{%zu}\r\n", nul && binary ? "~" : "", n);
	assert(len > 0 && (size_t)len < sizeof(prefix));
	return insert_at(out, prefix_at, prefix, (size_t)len) < 0 ? fail_full(ctx) : IMAP_FETCH_OK;
}

/* binary_size counts the decoded bytes of c (BINARY.SIZE, RFC 3516 4.2). */
static int binary_size(struct fetch_ctx *ctx, const struct content *c, uint64_t *size_r)
{
	struct window w;

	*size_r = 0;
	if (c->kind == CONTENT_NONE)
		return IMAP_FETCH_OK;
	if (c->kind == CONTENT_RAW) {
		*size_r = c->len;
		return IMAP_FETCH_OK;
	}
	/* Through a window that starts after any content: nothing is kept
	 * or read raw, and pos counts the decoded bytes. */
	window_init(&w, NULL, ctx->out->len);
	w.from = w.to = UINT64_MAX;
	int r = content_write(ctx, &w, c);
	*size_r = w.pos;
	return r;
}

static int write_section(struct fetch_ctx *ctx, const struct fetch_item *item)
{
	const struct imap_section *s = item->section;
	struct content c;

	section_content(ctx->in, s, &c);
	if (s->att == IMAP_SECTION_ATT_BINARY_SIZE) {
		uint64_t size;
		int r = binary_size(ctx, &c, &size);
		if (r != IMAP_FETCH_OK)
			return r;
		if (buf_append_str(ctx->out, item->answer) < 0 ||
		    buf_printf(ctx->out, " %llu", (unsigned long long)size) < 0)
			return fail_full(ctx);
		return IMAP_FETCH_OK;
	}
	return write_literal(ctx, item->answer, s, &c, s->att >= IMAP_SECTION_ATT_BINARY);
}

/* write_internaldate writes "17-Jul-1996 02:44:25 +0000" (UTC). */
static int write_internaldate(struct buf *out, int64_t when)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)when;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_mon < 0 || tm.tm_mon > 11 ||
	    tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	return buf_printf(out, "INTERNALDATE \"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
			  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int write_flags(struct fetch_ctx *ctx)
{
	const struct imap_fetch_input *in = ctx->in;

	if (buf_append_str(ctx->out, STR("FLAGS ")) < 0 ||
	    imap_flags_write(ctx->out, in->msg->flags, in->msg->keywords, in->keywords,
			     in->keyword_count) < 0)
		return fail_full(ctx);
	return IMAP_FETCH_OK;
}

/* write_meta writes "NAME text" for a text the store computed at delivery. */
static int write_meta(struct fetch_ctx *ctx, const char *name, const char *text)
{
	if (text == NULL)
		return fail_text(ctx, IMAP_FETCH_ERROR, "Message data not loaded");
	if (buf_printf(ctx->out, "%s %s", name, text) < 0)
		return fail_full(ctx);
	return IMAP_FETCH_OK;
}

static int write_item(struct fetch_ctx *ctx, const struct fetch_item *item)
{
	const struct imap_fetch_input *in = ctx->in;
	const struct store_message_meta *meta = in->meta;
	struct content c = { .kind = CONTENT_RAW };
	int r = 0;

	switch (item->kind) {
	case FETCH_FLAGS:
		return write_flags(ctx);
	case FETCH_UID:
		r = buf_printf(ctx->out, "UID %u", in->msg->uid);
		break;
	case FETCH_INTERNALDATE:
		r = write_internaldate(ctx->out, in->msg->internal_date);
		break;
	case FETCH_RFC822_SIZE:
		r = buf_printf(ctx->out, "RFC822.SIZE %llu", (unsigned long long)in->msg->size);
		break;
	case FETCH_MODSEQ:
		r = buf_printf(ctx->out, "MODSEQ (%llu)", (unsigned long long)in->msg->modseq);
		break;
	case FETCH_ENVELOPE:
		return write_meta(ctx, "ENVELOPE", meta != NULL ? meta->envelope : NULL);
	case FETCH_BODY:
		return write_meta(ctx, "BODY", meta != NULL ? meta->body : NULL);
	case FETCH_BODYSTRUCTURE:
		return write_meta(ctx, "BODYSTRUCTURE", meta != NULL ? meta->bodystructure : NULL);
	case FETCH_RFC822:
		c.len = in->msg->size;
		return write_literal(ctx, STR("RFC822"), NULL, &c, false);
	case FETCH_RFC822_HEADER:
	case FETCH_RFC822_TEXT:
		if (meta == NULL || meta->part_count == 0)
			return fail_text(ctx, IMAP_FETCH_ERROR, "Message parts not loaded");
		if (item->kind == FETCH_RFC822_HEADER)
			content_header(&c, &meta->parts[0]);
		else
			content_body(&c, &meta->parts[0]);
		return write_literal(ctx, item->kind == FETCH_RFC822_HEADER ?
					  STR("RFC822.HEADER") : STR("RFC822.TEXT"),
				     NULL, &c, false);
	case FETCH_SECTION: {
		const struct imap_section *s = item->section;
		/* BODY[] alone is read with the message size (see add_section). */
		bool whole = s->part_count == 0 && s->text == IMAP_SECTION_WHOLE &&
			     s->att < IMAP_SECTION_ATT_BINARY;
		if (!whole && (meta == NULL || meta->part_count == 0))
			return fail_text(ctx, IMAP_FETCH_ERROR, "Message parts not loaded");
		return write_section(ctx, item);
	}
	}
	return r < 0 ? fail_full(ctx) : IMAP_FETCH_OK;
}

size_t imap_fetch_batch_end(const uint32_t *uids, size_t start, size_t end,
			    const struct store_message *list, size_t count, uint64_t max_octets)
{
	uint64_t total = 0;
	size_t k = 0;

	for (size_t i = start; i < end; i++) {
		while (k < count && list[k].uid < uids[i])
			k++;
		if (k < count && list[k].uid == uids[i])
			total += list[k].size;
		if (total >= max_octets)
			return i + 1;
	}
	return end;
}

int imap_fetch_write_step(const struct imap_fetch_plan *plan, const struct imap_fetch_input *in,
			  struct buf *out, size_t high, struct imap_fetch_resume *state,
			  const char **error_r)
{
	struct fetch_ctx ctx = {
		.in = in, .out = out, .error_r = error_r, .state = state, .high = high,
	};
	size_t start = out->len;
	bool fresh = !state->started;
	int r = IMAP_FETCH_OK;

	assert(plan != NULL && in != NULL && in->msg != NULL);
	*error_r = "";
	if (plan->needs.content && in->read == NULL) {
		*error_r = "Message content not opened";
		return IMAP_FETCH_ERROR;
	}
	if (fresh) {
		if (buf_printf(out, "* %u FETCH (", in->seq) < 0 ||
		    (plan->uid_first && buf_printf(out, "UID %u", in->msg->uid) < 0))
			r = fail_full(&ctx);
		state->started = true;
		state->item = 0;
		state->literal = false;
	}
	bool first = !plan->uid_first;
	for (; r == IMAP_FETCH_OK && state->item < plan->count; state->item++) {
		/* A literal that stopped is taken up after its separator. */
		if (!state->literal && (state->item > 0 || !first) && buf_putc(out, ' ') < 0)
			r = fail_full(&ctx);
		if (r == IMAP_FETCH_OK)
			r = write_item(&ctx, &plan->items[state->item]);
		if (r == IMAP_FETCH_MORE)
			return r;
		state->literal = false;
	}
	first = first && plan->count == 0;
	/* \Seen was set by this FETCH: the client learns it here (RFC 9051
	 * 6.4.5); with CONDSTORE every FETCH answer carries MODSEQ (RFC 7162
	 * 3.1.4.1), CHANGEDSINCE included. */
	if (r == IMAP_FETCH_OK && in->flags_changed && (plan->asked & (1u << FETCH_FLAGS)) == 0) {
		if (!first && buf_putc(out, ' ') < 0)
			r = fail_full(&ctx);
		first = false;
		if (r == IMAP_FETCH_OK)
			r = write_flags(&ctx);
	}
	if (r == IMAP_FETCH_OK && (in->condstore || plan->needs.changedsince) &&
	    (plan->asked & (1u << FETCH_MODSEQ)) == 0) {
		if (buf_printf(out, "%sMODSEQ (%llu)", first ? "" : " ",
			       (unsigned long long)in->msg->modseq) < 0)
			r = fail_full(&ctx);
	}
	if (r == IMAP_FETCH_OK && buf_append_str(out, STR(")\r\n")) < 0)
		r = fail_full(&ctx);
	if (r != IMAP_FETCH_OK && fresh) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	return r;
}

int imap_fetch_write(const struct imap_fetch_plan *plan, const struct imap_fetch_input *in,
		     struct buf *out, const char **error_r)
{
	struct imap_fetch_resume state = { 0 };
	int r = imap_fetch_write_step(plan, in, out, SIZE_MAX, &state, error_r);
	assert(r != IMAP_FETCH_MORE);
	return r;
}
