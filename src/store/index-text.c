/*
 * index-text: what the full-text index holds of a message beyond the
 * parser's decoded fields (see index-text.h).  Each text/... leaf is read
 * from the content in place where it lies in one piece of the iovec,
 * its Content-Transfer-Encoding undone (mail-decode.h) and its charset
 * converted to UTF-8 (charset.h); the body is cut at INDEX_TEXT_BODY_MAX,
 * and only as many encoded bytes are read as can fill what is left.
 */
#include "index-text.h"

#include <assert.h>
#include <string.h>

#include "lib/pool.h"
#include "mail/charset.h"
#include "mail/mail-decode.h"
#include "mail/rfc2047.h"
#include "mail/rfc2231.h"
#include "mail/rfc822.h"

/* A Bcc field kept: hundreds of addresses. */
#define INDEX_TEXT_BCC_MAX (64u * 1024)
/* Content-Type parameters are parsed in a pool this big: a real field
 * needs a few hundred bytes, a hostile one is read as us-ascii. */
#define INDEX_TEXT_PARAM_POOL_MAX (64u * 1024)
/* Longest charset name kept (IANA's longest is 45 characters). */
#define INDEX_TEXT_CHARSET_MAX 64
/* Encoded bytes read per decoded byte wanted: quoted-printable spends at
 * most three ("=XX"), base64 four for three plus line ends. */
#define INDEX_TEXT_ENCODED_RATIO 3
/* UTF-8 bytes per source byte at most: a one-byte charset whose letters
 * are three-byte characters (TIS-620 Thai, box drawing). */
#define INDEX_TEXT_UTF8_RATIO 3

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* content_view gives content bytes [off, off + len): in place when they lie
 * in one piece of the iovec, else copied into scratch (as much as fits). */
static struct str content_view(const struct iovec *iov, int iovcnt, uint64_t off, uint64_t len,
			       struct buf *scratch)
{
	for (int i = 0; i < iovcnt && len > 0; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		uint64_t n = min_u64(iov[i].iov_len - off, len);
		if (n == len && scratch->len == 0)
			return str_from((const char *)iov[i].iov_base + off, (size_t)n);
		if (buf_append(scratch, (const char *)iov[i].iov_base + off, (size_t)n) < 0)
			break;
		len -= n;
		off = 0;
	}
	return buf_str(scratch);
}

/* append_cut appends as much of s as body has room for, never half a
 * UTF-8 character. */
static void append_cut(struct buf *body, struct str s)
{
	size_t n = (size_t)min_u64(s.len, body->max - body->len);
	while (n > 0 && n < s.len && ((unsigned char)s.ptr[n] & 0xc0) == 0x80)
		n--;
	(void)buf_append(body, s.ptr, n);
}

/* type_charset appends the charset parameter of a Content-Type value to
 * name (nothing when there is none, or it is longer than name takes). */
static void type_charset(struct str value, struct buf *name)
{
	struct pool *pool = pool_new(INDEX_TEXT_PARAM_POOL_MAX);
	struct rfc822_lexer lx;
	struct buf token;
	struct mime_param *params;
	unsigned count;

	if (pool == NULL)
		return;
	buf_init(&token, value.len + 1);
	rfc822_lexer_init(&lx, value);
	rfc822_skip_cfws(&lx);
	/* As mime-header.c: "type/subtype" first, then the parameters. */
	if (rfc822_parse_mime_token(&lx, &token) && rfc822_at(&lx, '/')) {
		lx.p++;
		rfc822_skip_cfws(&lx);
		if (rfc822_parse_mime_token(&lx, &token) &&
		    rfc2231_parse_params(pool, &lx, &params, &count) == 0) {
			for (unsigned i = 0; i < count; i++) {
				if (str_case_eq(params[i].name, STR("charset"))) {
					(void)buf_append_str(name, params[i].value);
					break;
				}
			}
		}
	}
	buf_free(&token);
	pool_free(&pool);
}

/* part_encoding reads a part's header: its transfer encoding, and its
 * charset into charset (us-ascii when not given, RFC 2045 5.2). */
static enum mail_cte part_encoding(struct str header, struct buf *charset)
{
	enum mail_cte cte = MAIL_CTE_7BIT;
	struct buf value;

	buf_init(&value, INDEX_TEXT_HEADER_MAX);
	if (mail_header_field(header, "Content-Transfer-Encoding", &value))
		cte = mail_cte_parse(buf_str(&value));
	buf_reset(&value);
	if (mail_header_field(header, "Content-Type", &value))
		type_charset(buf_str(&value), charset);
	if (charset->len == 0)
		(void)buf_append_str(charset, STR("us-ascii"));
	buf_free(&value);
	return cte;
}

/* part_decoded gives the leaf's body with the transfer encoding undone, at
 * most want bytes of it (roughly: an encoded body is read up to
 * INDEX_TEXT_ENCODED_RATIO times that).  The result may point into the
 * content, raw or decoded.  Returns false when it cannot be decoded. */
static bool part_decoded(const struct mime_part *p, enum mail_cte cte, const struct iovec *iov,
			 int iovcnt, uint64_t want, struct buf *raw, struct buf *decoded,
			 struct str *text_r)
{
	bool encoded = cte == MAIL_CTE_BASE64 || cte == MAIL_CTE_QP;
	uint64_t read = encoded ? want * INDEX_TEXT_ENCODED_RATIO + 64 : want;
	uint64_t len = min_u64(p->body_size, read);

	buf_init(raw, (size_t)len);
	struct str body = content_view(iov, iovcnt, p->body_offset, len, raw);
	if (!encoded) {
		*text_r = body;
		return true;
	}
	buf_init(decoded, body.len);
	if (mail_decode(cte, body, decoded) < 0)
		return false;
	*text_r = str_sub(buf_str(decoded), 0, (size_t)want);
	return true;
}

/* part_text appends the text of leaf p, decoded and in UTF-8, to body. */
static void part_text(const struct mime_part *p, const struct iovec *iov, int iovcnt,
		      struct buf *body)
{
	struct buf header, charset, raw, decoded, utf8;
	struct str text;

	if (body->len > 0 && buf_putc(body, '\n') < 0)
		return;
	size_t room = body->max - body->len;
	buf_init(&header, INDEX_TEXT_HEADER_MAX);
	buf_init(&charset, INDEX_TEXT_CHARSET_MAX);
	buf_init(&raw, 0);
	buf_init(&decoded, 0);
	buf_init(&utf8, room * INDEX_TEXT_UTF8_RATIO + 16);
	struct str head = content_view(iov, iovcnt, p->header_offset,
				       min_u64(p->header_size, INDEX_TEXT_HEADER_MAX), &header);
	enum mail_cte cte = part_encoding(head, &charset);
	if (room > 0 && cte != MAIL_CTE_UNKNOWN &&
	    part_decoded(p, cte, iov, iovcnt, room, &raw, &decoded, &text) &&
	    charset_to_utf8(&utf8, buf_str(&charset), str_sub(text, 0, room)) == 0)
		append_cut(body, buf_str(&utf8));
	buf_free(&header);
	buf_free(&charset);
	buf_free(&raw);
	buf_free(&decoded);
	buf_free(&utf8);
}

/* embedded_header appends the header of a forwarded message (p: the
 * message inside a message/rfc822 part), encoded words decoded, to body:
 * it is part of the outer message's body, which IMAP's BODY and TEXT
 * search (a forwarded message's Subject). */
static void embedded_header(const struct mime_part *p, const struct iovec *iov, int iovcnt,
			    struct buf *body)
{
	struct buf header;

	if (body->len > 0 && buf_putc(body, '\n') < 0)
		return;
	buf_init(&header, INDEX_TEXT_HEADER_MAX);
	struct str head = content_view(iov, iovcnt, p->header_offset,
				       min_u64(p->header_size, INDEX_TEXT_HEADER_MAX), &header);
	struct buf decoded;
	buf_init(&decoded, body->max - body->len);
	if (rfc2047_decode(&decoded, head) == 0)
		append_cut(body, buf_str(&decoded));
	buf_free(&decoded);
	buf_free(&header);
}

/* is_text_leaf says whether a part's own body is text to index: a leaf
 * (not a multipart, not a message/rfc822 part) of type text/..., the
 * body of a forwarded message that is one text part included. */
static bool is_text_leaf(const struct mime_part *p)
{
	return p->child_count == 0 && str_case_prefix(p->content_type, STR("text/"));
}

/* index_text_extract: see index-text.h. */
void index_text_extract(struct index_text *text, const struct mime_message *msg,
			const struct iovec *iov, int iovcnt)
{
	struct buf bcc;

	assert(msg->part_count == 0 || msg->parts != NULL);
	buf_init(&text->header, INDEX_TEXT_HEADER_MAX);
	buf_init(&text->bcc, INDEX_TEXT_BCC_MAX);
	buf_init(&text->body, INDEX_TEXT_BODY_MAX);
	if (msg->part_count == 0)
		return;
	const struct mime_part *top = &msg->parts[0];
	struct str head = content_view(iov, iovcnt, top->header_offset,
				       min_u64(top->header_size, INDEX_TEXT_HEADER_MAX),
				       &text->header);
	if (text->header.len == 0) /* it was in place: the index gets a copy */
		(void)buf_append_str(&text->header, head);
	buf_init(&bcc, INDEX_TEXT_BCC_MAX);
	if (mail_header_field(buf_str(&text->header), "Bcc", &bcc))
		(void)rfc2047_decode(&text->bcc, buf_str(&bcc));
	buf_free(&bcc);
	for (size_t i = 0; i < msg->part_count && text->body.len < text->body.max; i++) {
		if (msg->parts[i].is_embedded_message)
			embedded_header(&msg->parts[i], iov, iovcnt, &text->body);
		if (is_text_leaf(&msg->parts[i]))
			part_text(&msg->parts[i], iov, iovcnt, &text->body);
	}
}

/* index_text_free releases the three buffers. */
void index_text_free(struct index_text *text)
{
	buf_free(&text->header);
	buf_free(&text->bcc);
	buf_free(&text->body);
}
