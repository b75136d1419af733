/* rfc2231: MIME parameter lists with continuations and charsets (see rfc2231.h). */
#include "rfc2231.h"

#include <stdio.h>
#include <string.h>

#include "charset.h"

struct raw_param {
	struct str key;      /* name without suffix (points into scratch) */
	struct str value;
	unsigned index;
	bool indexed;
	bool extended;
};

struct param_list {
	struct pool *pool;
	struct mime_param *items;
	unsigned count;
	bool failed;
};

/* skip_to_semicolon moves past garbage to the next ';' outside quotes. */
static void skip_to_semicolon(struct rfc822_lexer *lx)
{
	bool quoted = false;

	for (; lx->p < lx->end; lx->p++) {
		if (*lx->p == '\\' && quoted && lx->p + 1 < lx->end)
			lx->p++;
		else if (*lx->p == '"')
			quoted = !quoted;
		else if (*lx->p == ';' && !quoted)
			return;
	}
}

/* read_value reads a quoted string or, leniently, everything up to ';' or
 * whitespace (covers "name=a/b" and "name==?utf-8?b?...?=" from broken
 * mailers). */
static void read_value(struct rfc822_lexer *lx, struct buf *out)
{
	if (rfc822_at(lx, '"')) {
		rfc822_parse_quoted_string(lx, out);
		return;
	}
	const char *start = lx->p;
	while (lx->p < lx->end && *lx->p != ';' && *lx->p != ' ' && *lx->p != '\t' &&
	       *lx->p != '\r' && *lx->p != '\n' && *lx->p != '(')
		lx->p++;
	if (buf_append(out, start, (size_t)(lx->p - start)) < 0)
		lx->failed = true;
	rfc822_skip_cfws(lx);
}

/* split_key interprets the "*n*" suffix of a parameter name. */
static void split_key(struct raw_param *r)
{
	long star = str_chr(r->key, '*');

	r->indexed = false;
	r->extended = false;
	if (star <= 0)
		return;
	struct str rest = str_sub(r->key, (size_t)star + 1, SIZE_MAX);
	uint64_t idx = 0;
	bool extended = rest.len > 0 && rest.ptr[rest.len - 1] == '*';
	if (rest.len == 0) {
		extended = true; /* name*=charset'lang'value */
	} else {
		if (extended)
			rest.len--;
		if (str_to_u64(rest, 9999, &idx) < 0)
			return; /* not RFC 2231: the '*' is part of the name */
		r->indexed = true;
		r->index = (unsigned)idx;
	}
	r->extended = extended;
	r->key.len = (size_t)star;
}

/* percent_decode appends value with %XX sequences decoded. */
static int percent_decode(struct buf *out, struct str v)
{
	for (size_t i = 0; i < v.len; i++) {
		char c = v.ptr[i];
		if (c == '%' && i + 2 < v.len && str_hex_digit(v.ptr[i + 1]) >= 0 &&
		    str_hex_digit(v.ptr[i + 2]) >= 0) {
			c = (char)(str_hex_digit(v.ptr[i + 1]) * 16 + str_hex_digit(v.ptr[i + 2]));
			i += 2;
		}
		if (buf_putc(out, c) < 0)
			return -1;
	}
	return 0;
}

/* split_charset takes "charset'lang'" off an extended value.  Returns
 * false when the quotes are missing (the value is then used as written). */
static bool split_charset(struct str *value, struct str *charset_r)
{
	long q1 = str_chr(*value, '\'');
	if (q1 < 0)
		return false;
	struct str after = str_sub(*value, (size_t)q1 + 1, SIZE_MAX);
	long q2 = str_chr(after, '\'');
	if (q2 < 0)
		return false;
	*charset_r = str_from(value->ptr, (size_t)q1);
	*value = str_sub(after, (size_t)q2 + 1, SIZE_MAX);
	return true;
}

/* list_add appends name=value unless the name is already present. */
static void list_add(struct param_list *list, struct str name, struct str value)
{
	for (unsigned i = 0; i < list->count; i++)
		if (str_case_eq(list->items[i].name, name))
			return;
	struct mime_param *p = &list->items[list->count];
	p->name = pool_str(list->pool, name);
	p->value = pool_str(list->pool, value);
	if (p->name.ptr == NULL || p->value.ptr == NULL)
		list->failed = true;
	else
		list->count++;
}

/* add_decoded decodes an extended value (charset'lang'%XX) and adds it. */
static void add_decoded(struct param_list *list, struct str name, struct str value,
			struct buf *tmp, struct buf *utf8)
{
	struct str charset = STR_NULL;

	buf_reset(tmp);
	buf_reset(utf8);
	if (!split_charset(&value, &charset)) {
		list_add(list, name, value);
		return;
	}
	if (percent_decode(tmp, value) < 0 ||
	    charset_to_utf8(utf8, charset, buf_str(tmp)) < 0) {
		list->failed = true;
		return;
	}
	list_add(list, name, buf_str(utf8));
}

/* merge_continuations joins name*0, name*1... (sorted, starting at r) into
 * one value and adds it; gaps in the numbering add the pieces separately
 * as "name*n", as Dovecot does.  Returns the index after the group. */
static unsigned merge_continuations(struct param_list *list, struct raw_param *raw,
				    unsigned r, unsigned n, struct buf *tmp,
				    struct buf *utf8)
{
	unsigned end = r, expect = 0;
	bool contiguous = true;

	while (end < n && raw[end].indexed && str_case_eq(raw[end].key, raw[r].key)) {
		if (raw[end].index != expect)
			contiguous = false;
		expect++;
		end++;
	}
	if (!contiguous) {
		char name[64];
		for (unsigned i = r; i < end; i++) {
			/* Names are cut to 40 bytes so "name*n" always fits. */
			int len = snprintf(name, sizeof(name), "%.*s*%u",
					   (int)(raw[i].key.len > 40 ? 40 : raw[i].key.len),
					   raw[i].key.ptr, raw[i].index);
			if (len < 0)
				continue;
			if (raw[i].extended)
				add_decoded(list, str_from(name, (size_t)len), raw[i].value, tmp, utf8);
			else
				list_add(list, str_from(name, (size_t)len), raw[i].value);
		}
		return end;
	}
	struct str charset = STR_NULL;
	buf_reset(tmp);
	buf_reset(utf8);
	for (unsigned i = r; i < end; i++) {
		struct str v = raw[i].value;
		if (!raw[i].extended) {
			if (buf_append_str(tmp, v) < 0)
				list->failed = true;
			continue;
		}
		if (i == r)
			split_charset(&v, &charset);
		if (percent_decode(tmp, v) < 0)
			list->failed = true;
	}
	if (charset_to_utf8(utf8, charset, buf_str(tmp)) < 0)
		list->failed = true;
	list_add(list, raw[r].key, buf_str(utf8));
	return end;
}

int rfc2231_parse_params(struct pool *pool, struct rfc822_lexer *lx,
			 struct mime_param **params_r, unsigned *count_r)
{
	struct raw_param raw[RFC2231_MAX_PARAMS];
	struct param_list list = { .pool = pool };
	struct buf scratch, tmp, utf8;
	size_t input = (size_t)(lx->end - lx->p);
	unsigned n = 0;

	*params_r = NULL;
	*count_r = 0;
	/* Keys and values are copied out of the input: never more than it. */
	buf_init(&scratch, input + 16);
	buf_init(&tmp, input + 16);
	/* Conversion to UTF-8 grows text at most threefold (U+FFFD). */
	buf_init(&utf8, input * 4 + 16);
	if (buf_reserve(&scratch, input + 1) < 0) {
		buf_free(&scratch);
		return -1;
	}
	size_t offsets[RFC2231_MAX_PARAMS][4];
	while (n < RFC2231_MAX_PARAMS && rfc822_skip_cfws(lx)) {
		if (!rfc822_at(lx, ';')) {
			skip_to_semicolon(lx);
			continue;
		}
		lx->p++;
		rfc822_skip_cfws(lx);
		size_t key_start = scratch.len;
		if (!rfc822_parse_mime_token(lx, &scratch) || !rfc822_at(lx, '=')) {
			scratch.len = key_start;
			continue;
		}
		size_t value_start = scratch.len;
		lx->p++;
		rfc822_skip_cfws(lx);
		read_value(lx, &scratch);
		offsets[n][0] = key_start;
		offsets[n][1] = value_start - key_start;
		offsets[n][2] = value_start;
		offsets[n][3] = scratch.len - value_start;
		n++;
	}
	/* The scratch buffer never moved (reserved up front), but take the
	 * pointers only now to be safe. */
	for (unsigned i = 0; i < n; i++) {
		raw[i].key = str_from(scratch.data + offsets[i][0], offsets[i][1]);
		raw[i].value = str_from(scratch.data + offsets[i][2], offsets[i][3]);
		split_key(&raw[i]);
	}
	list.items = n > 0 ? pool_alloc(pool, n * sizeof(*list.items)) : NULL;
	if (n > 0 && list.items == NULL)
		list.failed = true;

	/* Plain and unindexed parameters first, in order of appearance. */
	for (unsigned i = 0; i < n && !list.failed; i++) {
		if (raw[i].indexed)
			continue;
		if (raw[i].extended)
			add_decoded(&list, raw[i].key, raw[i].value, &tmp, &utf8);
		else
			list_add(&list, raw[i].key, raw[i].value);
	}
	/* Then continuations, grouped by name and sorted by index (stable
	 * insertion sort: at most RFC2231_MAX_PARAMS items). */
	struct raw_param idx[RFC2231_MAX_PARAMS];
	unsigned m = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!raw[i].indexed)
			continue;
		unsigned j = m++;
		while (j > 0) {
			struct raw_param *prev = &idx[j - 1];
			int c = str_case_cmp(prev->key, raw[i].key);
			if (c < 0 || (c == 0 && prev->index <= raw[i].index))
				break;
			idx[j] = *prev;
			j--;
		}
		idx[j] = raw[i];
	}
	for (unsigned r = 0; r < m && !list.failed;)
		r = merge_continuations(&list, idx, r, m, &tmp, &utf8);

	bool failed = list.failed || lx->failed;
	buf_free(&scratch);
	buf_free(&tmp);
	buf_free(&utf8);
	if (failed)
		return -1;
	*params_r = list.items;
	*count_r = list.count;
	return 0;
}
