/* auth-results: writing and recognising RFC 8601 Authentication-Results
 * fields (see auth-results.h). */
#include "auth-results.h"

#include <string.h>

/* token_char: a value character written without quotes (RFC 2045 token,
 * and '@' for local-part "@" domain of RFC 8601's pvalue). */
static bool token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>,;:\\\"/[]?= ", c) == NULL;
}

/* put_value writes a pvalue: as it is when it is made of token characters,
 * a quoted-string otherwise; cut to AUTH_RESULTS_MAX_VALUE. */
static int put_value(struct buf *out, struct str v)
{
	bool plain = v.len > 0;
	if (v.len > AUTH_RESULTS_MAX_VALUE)
		v.len = AUTH_RESULTS_MAX_VALUE;
	for (size_t i = 0; i < v.len; i++)
		if (!token_char((unsigned char)v.ptr[i]) && v.ptr[i] != '@')
			plain = false;
	if (plain)
		return buf_append_str(out, v);
	int r = buf_putc(out, '"');
	for (size_t i = 0; r == 0 && i < v.len; i++) {
		unsigned char c = (unsigned char)v.ptr[i];
		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '"' || c == '\\')
			r = buf_putc(out, '\\');
		if (r == 0)
			r = buf_putc(out, (char)c);
	}
	return r == 0 ? buf_putc(out, '"') : -1;
}

static int put_prop(struct buf *out, const char *name, struct str v)
{
	return buf_printf(out, " %s=", name) < 0 || put_value(out, v) < 0 ? -1 : 0;
}

int auth_results_write(struct buf *out, struct str authserv_id, const struct auth_results *r)
{
	size_t start = out->len;
	size_t max = out->max - out->len < AUTH_RESULTS_MAX ? out->max : out->len + AUTH_RESULTS_MAX;
	size_t saved_max = out->max;
	bool any = false;
	int rc = 0;

	out->max = max;
	rc |= buf_append_str(out, STR("Authentication-Results: "));
	rc |= put_value(out, authserv_id);
	if (r->spf_done) {
		rc |= buf_printf(out, ";\r\n\tspf=%s", spf_result_name(r->spf));
		rc |= r->mailfrom.len > 0 ? put_prop(out, "smtp.mailfrom", r->mailfrom)
					  : put_prop(out, "smtp.helo", r->helo);
		any = true;
	}
	if (r->dkim_done && r->dkim_count == 0) {
		rc |= buf_append_str(out, STR(";\r\n\tdkim=none"));
		any = true;
	}
	for (size_t i = 0; r->dkim_done && i < r->dkim_count && i < AUTH_RESULTS_MAX_DKIM; i++) {
		const struct auth_results_dkim *d = &r->dkim[i];
		struct str b = d->b;
		if (b.len > AUTH_RESULTS_B_PREFIX)
			b.len = AUTH_RESULTS_B_PREFIX;
		rc |= buf_printf(out, ";\r\n\tdkim=%s", d->result != NULL ? d->result : "none");
		if (d->d.len > 0)
			rc |= put_prop(out, "header.d", d->d);
		if (d->s.len > 0)
			rc |= put_prop(out, "header.s", d->s);
		if (b.len > 0)
			rc |= put_prop(out, "header.b", b);
		any = true;
	}
	if (r->dmarc_done) {
		rc |= buf_printf(out, ";\r\n\tdmarc=%s", dmarc_result_name(r->dmarc));
		if (r->from_domain.len > 0)
			rc |= put_prop(out, "header.from", r->from_domain);
		any = true;
	}
	if (!any)
		rc |= buf_append_str(out, STR("; none"));
	rc |= buf_append_str(out, STR("\r\n"));
	out->max = saved_max;
	if (rc != 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

/* line_end gives the index after the line that starts at i. */
static size_t line_end(struct str s, size_t i)
{
	long lf = str_chr(str_sub(s, i, s.len), '\n');
	return lf < 0 ? s.len : i + (size_t)lf + 1;
}

bool auth_results_field_next(struct str headers, size_t *pos, struct str *name,
			     struct str *field)
{
	size_t i = *pos;

	while (i < headers.len) {
		size_t next = line_end(headers, i);
		struct str line = str_sub(headers, i, next - i);
		if (line.ptr[0] == '\n' || (line.len >= 2 && line.ptr[0] == '\r' &&
					    line.ptr[1] == '\n'))
			break;   /* the blank line: the header ends */
		if (line.ptr[0] == ' ' || line.ptr[0] == '\t') {
			i = next;   /* a continuation without a field: skipped */
			continue;
		}
		size_t end = next;
		while (end < headers.len && (headers.ptr[end] == ' ' || headers.ptr[end] == '\t'))
			end = line_end(headers, end);
		long colon = str_chr(line, ':');
		*name = str_trim(str_sub(line, 0, colon < 0 ? 0 : (size_t)colon));
		*field = str_sub(headers, i, end - i);
		*pos = end;
		return true;
	}
	*pos = headers.len;
	return false;
}

/* skip_cfws steps over white space, line ends and (nested) comments. */
static size_t skip_cfws(struct str s, size_t i)
{
	unsigned depth = 0;
	for (; i < s.len; i++) {
		char c = s.ptr[i];
		if (depth > 0 && c == '\\') {
			i++;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			break;
		}
	}
	return i;
}

bool auth_results_is_ours(struct str value, struct str authserv_id)
{
	size_t i = skip_cfws(value, 0);
	char id[AUTH_RESULTS_MAX_VALUE];
	size_t n = 0;

	if (i < value.len && value.ptr[i] == '"') {
		for (i++; i < value.len && value.ptr[i] != '"'; i++) {
			if (value.ptr[i] == '\\' && i + 1 < value.len)
				i++;
			if (n == sizeof(id))
				return false;
			id[n++] = value.ptr[i];
		}
	} else {
		for (; i < value.len && token_char((unsigned char)value.ptr[i]); i++) {
			if (n == sizeof(id))
				return false;
			id[n++] = value.ptr[i];
		}
	}
	return n > 0 && str_case_eq(str_from(id, n), authserv_id);
}

/* field_is_ours: an Authentication-Results field naming authserv_id. */
static bool field_is_ours(struct str name, struct str field, struct str authserv_id)
{
	if (!str_case_eq(name, STR("Authentication-Results")))
		return false;
	long colon = str_chr(field, ':');
	return colon >= 0 &&
	       auth_results_is_ours(str_sub(field, (size_t)colon + 1, field.len), authserv_id);
}

bool auth_results_has_ours(struct str headers, struct str authserv_id)
{
	size_t pos = 0;
	struct str name, field;
	for (unsigned n = 0; n < AUTH_RESULTS_MAX_FIELDS &&
			     auth_results_field_next(headers, &pos, &name, &field); n++)
		if (field_is_ours(name, field, authserv_id))
			return true;
	return false;
}

int auth_results_remove_ours(struct str headers, struct str authserv_id, struct buf *out)
{
	size_t pos = 0, copied = 0;
	struct str name, field;
	int removed = 0;

	while (auth_results_field_next(headers, &pos, &name, &field)) {
		if (!field_is_ours(name, field, authserv_id))
			continue;
		size_t at = (size_t)(field.ptr - headers.ptr);
		if (buf_append(out, headers.ptr + copied, at - copied) < 0)
			return -1;
		copied = at + field.len;
		removed++;
	}
	if (buf_append(out, headers.ptr + copied, headers.len - copied) < 0)
		return -1;
	return removed;
}
