/* dkim-canon: RFC 6376 3.4 canonicalisation (see dkim-canon.h). */
#include <assert.h>
#include <string.h>

#include "dkim-canon.h"
#include "dkim-header.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* canon_simple copies the field, bare LFs made CRLF, and ends it. */
static int canon_simple(struct str field, struct buf *out)
{
	for (size_t i = 0; i < field.len; i++) {
		if (field.ptr[i] == '\n' && (i == 0 || field.ptr[i - 1] != '\r') &&
		    buf_putc(out, '\r') < 0)
			return -1;
		if (buf_putc(out, field.ptr[i]) < 0)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}

/* RFC 6376 3.4.2: name in lower case, unfolded, runs of white space one
 * SP, none at the end of the value or around the colon. */
static int canon_relaxed(struct str field, struct buf *out)
{
	long colon = str_chr(field, ':');
	size_t name_len = colon < 0 ? field.len : (size_t)colon;

	while (name_len > 0 && is_wsp(field.ptr[name_len - 1]))
		name_len--;
	for (size_t i = 0; i < name_len; i++)
		if (buf_putc(out, str_lower_char(field.ptr[i])) < 0)
			return -1;
	if (colon < 0)
		return buf_append(out, "\r\n", 2);
	if (buf_putc(out, ':') < 0)
		return -1;
	bool space = false, started = false;
	for (size_t i = (size_t)colon + 1; i < field.len; i++) {
		char c = field.ptr[i];
		if (c == '\r' || c == '\n')
			continue;
		if (is_wsp(c)) {
			space = started;
			continue;
		}
		if (space && buf_putc(out, ' ') < 0)
			return -1;
		if (buf_putc(out, c) < 0)
			return -1;
		space = false;
		started = true;
	}
	return buf_append(out, "\r\n", 2);
}

int dkim_canon_header(enum dkim_canon c, struct str field, struct buf *out)
{
	return c == DKIM_CANON_SIMPLE ? canon_simple(field, out) : canon_relaxed(field, out);
}

int dkim_body_hash_init(struct dkim_body_hash *h, enum dkim_canon c, uint64_t limit)
{
	memset(h, 0, offsetof(struct dkim_body_hash, chunk));
	h->canon = c;
	h->limit = limit;
	if (crypto_hash_sha256_init(&h->md) != 0)
		return -1;
	h->md_open = true;
	return 0;
}

static void flush(struct dkim_body_hash *h)
{
	if (h->chunk_len > 0)
		crypto_hash_sha256_update(&h->md, h->chunk, h->chunk_len);
	h->chunk_len = 0;
}

/* emit adds canonical octets, those past the limit only to the count. */
static void emit(struct dkim_body_hash *h, const char *p, size_t n)
{
	uint64_t room = h->length < h->limit ? h->limit - h->length : 0;
	size_t take = room < n ? (size_t)room : n;

	h->length += n;
	while (take > 0) {
		size_t k = sizeof(h->chunk) - h->chunk_len;
		if (k > take)
			k = take;
		memcpy(h->chunk + h->chunk_len, p, k);
		h->chunk_len += k;
		p += k;
		take -= k;
		if (h->chunk_len == sizeof(h->chunk))
			flush(h);
	}
}

/* content writes one octet of a line that is not empty. */
static void content(struct dkim_body_hash *h, char c)
{
	if (!h->in_line) {
		for (; h->empty_lines > 0; h->empty_lines--)
			emit(h, "\r\n", 2);
		h->in_line = true;
	}
	if (h->wsp) {
		emit(h, " ", 1);
		h->wsp = false;
	}
	emit(h, &c, 1);
}

static void end_line(struct dkim_body_hash *h)
{
	if (h->in_line)
		emit(h, "\r\n", 2);
	else
		h->empty_lines++;
	h->in_line = false;
	h->wsp = false;
}

void dkim_body_hash_update(struct dkim_body_hash *h, const void *data, size_t n)
{
	const char *p = data;

	assert(h->md_open);
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (h->cr) {
			h->cr = false;
			if (c == '\n') {
				end_line(h);
				continue;
			}
			content(h, '\r');
		}
		if (c == '\r')
			h->cr = true;
		else if (c == '\n')
			end_line(h);
		else if (h->canon == DKIM_CANON_RELAXED && is_wsp(c))
			h->wsp = true;
		else
			content(h, c);
	}
}

int dkim_body_hash_final(struct dkim_body_hash *h, uint8_t out[DKIM_HASH_LEN])
{
	if (h->cr)
		content(h, '\r');
	h->cr = false;
	/* RFC 6376 3.4.3 and 3.4.4: a last line without its end gets one;
	 * an empty body is one CRLF when simple, nothing when relaxed. */
	if (h->in_line)
		end_line(h);
	if (h->length == 0 && h->canon == DKIM_CANON_SIMPLE)
		emit(h, "\r\n", 2);
	flush(h);
	_Static_assert(DKIM_HASH_LEN == crypto_hash_sha256_BYTES, "the body hash is SHA-256");
	int r = crypto_hash_sha256_final(&h->md, out) == 0 ? 0 : -1;
	if (h->limit != DKIM_BODY_NO_LIMIT && h->length < h->limit)
		r = -1;
	dkim_body_hash_free(h);
	return r;
}

void dkim_body_hash_free(struct dkim_body_hash *h)
{
	h->md_open = false;
}

/* without_b gives sig_field cut around its b= value: the part before
 * the value and the part after it (RFC 6376 3.5: the value and the white
 * space around it count as empty).  -1 if there is no b= tag. */
static int without_b(struct str sig_field, struct str *before, struct str *after)
{
	long colon = str_chr(sig_field, ':');
	size_t i = colon < 0 ? 0 : (size_t)colon + 1;

	/* A tag starts after the colon or a ';', folding white space first. */
	while (i < sig_field.len) {
		size_t j = i;
		while (j < sig_field.len && (is_wsp(sig_field.ptr[j]) || sig_field.ptr[j] == '\r' ||
					     sig_field.ptr[j] == '\n'))
			j++;
		size_t name = j;
		while (j < sig_field.len && sig_field.ptr[j] != '=' && sig_field.ptr[j] != ';' &&
		       !is_wsp(sig_field.ptr[j]) && sig_field.ptr[j] != '\r' && sig_field.ptr[j] != '\n')
			j++;
		bool is_b = j - name == 1 && sig_field.ptr[name] == 'b';
		while (j < sig_field.len && sig_field.ptr[j] != '=' && sig_field.ptr[j] != ';')
			j++;
		size_t end = j;
		while (end < sig_field.len && sig_field.ptr[end] != ';')
			end++;
		if (is_b && j < sig_field.len && sig_field.ptr[j] == '=') {
			*before = str_from(sig_field.ptr, j + 1);
			*after = str_from(sig_field.ptr + end, sig_field.len - end);
			return 0;
		}
		i = end + 1;
	}
	return -1;
}

int dkim_canon_signed_headers(enum dkim_canon c, const struct dkim_header *h, struct str h_list,
			      struct str sig_field, struct buf *out, const char **error_r)
{
	bool used[DKIM_HEADER_MAX_FIELDS] = { false };
	size_t names = 0, start = 0;

	assert(h->count <= DKIM_HEADER_MAX_FIELDS);
	while (start <= h_list.len) {
		size_t end = start;
		while (end < h_list.len && h_list.ptr[end] != ':')
			end++;
		struct str name = str_trim(str_from(h_list.ptr + start, end - start));
		start = end + 1;
		if (++names > DKIM_H_MAX_NAMES) {
			*error_r = "h= names too many fields";
			return -1;
		}
		for (size_t k = h->count; k-- > 0;) {
			if (used[k] || !str_case_eq(h->fields[k].name, name))
				continue;
			used[k] = true;
			if (dkim_canon_header(c, h->fields[k].text, out) < 0)
				goto full;
			break;
		}
	}
	struct str before, after;
	if (without_b(sig_field, &before, &after) < 0) {
		*error_r = "the signature has no b=";
		return -1;
	}
	/* Canonicalised as one field: joined, then cut where b= was. */
	struct buf joined;
	buf_init(&joined, sig_field.len);
	int r = buf_append_str(&joined, before) < 0 || buf_append_str(&joined, after) < 0 ||
			dkim_canon_header(c, buf_str(&joined), out) < 0
		? -1 : 0;
	buf_free(&joined);
	if (r < 0)
		goto full;
	out->len -= 2;
	out->data[out->len] = '\0';
	return 0;
full:
	*error_r = "signed header fields too big";
	return -1;
}
