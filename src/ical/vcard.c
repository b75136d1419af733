/*
 * vcard: see vcard.h.  One walker reads a card: it checks the text (UTF-8,
 * no control characters), unfolds each content line into a buffer bounded
 * by VCARD_MAX_LINE, splits it into group, name, parameters and value,
 * keeps BEGIN:VCARD ... END:VCARD in order and hands each property between
 * them to a callback: the validator counts what must be there, the query
 * matcher marks which tests some instance met.
 */
#include "ical/vcard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "lib/buf.h"

struct vcard_param {
	struct str name;
	struct str value;   /* as written: may hold several values, quoted */
};

struct vcard_line {
	struct str group, name, value;   /* value still escaped */
	struct vcard_param params[VCARD_MAX_PARAMS];
	size_t param_count;
};

/* A property of the card (not BEGIN/END): 0 to go on, -1 to stop (error). */
typedef int vcard_line_fn(void *ctx, const struct vcard_line *l, const char **error_r);

/* text_valid: UTF-8, no control characters but TAB, CR and LF (CR only
 * before LF, checked by the reader), no noncharacters U+FFFE/U+FFFF. */
static bool text_valid(struct str s)
{
	size_t pos = 0;

	while (pos < s.len) {
		utf8proc_int32_t c;
		utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s.ptr + pos,
						      (utf8proc_ssize_t)(s.len - pos), &c);
		if (n <= 0)
			return false;
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0xFFFE || c == 0xFFFF)
			return false;
		pos += (size_t)n;
	}
	return true;
}

/* next_line unfolds the next content line of data from *pos into line:
 * 1 (buf_str(line) is it), 0 at the end, -1 with *error_r. */
static int next_line(struct str data, size_t *pos, struct buf *line, const char **error_r)
{
	buf_reset(line);
	if (*pos >= data.len)
		return 0;
	for (;;) {
		size_t start = *pos, end = start;
		while (end < data.len && data.ptr[end] != '\r' && data.ptr[end] != '\n')
			end++;
		if (buf_append(line, data.ptr + start, end - start) < 0) {
			*error_r = "vcard: content line too long";
			return -1;
		}
		if (end < data.len && data.ptr[end] == '\r') {
			if (end + 1 >= data.len || data.ptr[end + 1] != '\n') {
				*error_r = "vcard: CR without LF";
				return -1;
			}
			end++;
		}
		*pos = end < data.len ? end + 1 : end;
		/* A line break and one space or tab continue the line. */
		if (*pos < data.len && (data.ptr[*pos] == ' ' || data.ptr[*pos] == '\t') &&
		    end < data.len) {
			(*pos)++;
			continue;
		}
		return 1;
	}
}

/* name_char: the octets of a group, property or parameter name (RFC 6350
 * 3.3: ALPHA, DIGIT, "-"; "_" too, which some writers use). */
static bool name_char(char c)
{
	return str_is_alpha((unsigned char)c) || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* take_name reads a name at *i of s: its length (0: none). */
static struct str take_name(struct str s, size_t *i)
{
	size_t start = *i;
	while (*i < s.len && name_char(s.ptr[*i]))
		(*i)++;
	return str_sub(s, start, *i - start);
}

/* take_param_value reads a parameter's value list at *i up to the ';' or
 * ':' that ends it outside quotes.  0, or -1 (unterminated quote, a quote
 * inside a plain value, a control character). */
static int take_param_value(struct str s, size_t *i, struct str *value)
{
	size_t start = *i;
	bool quoted = false;

	for (; *i < s.len; (*i)++) {
		char c = s.ptr[*i];
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && (c == ';' || c == ':'))
			break;
	}
	if (quoted || *i >= s.len)
		return -1;
	*value = str_sub(s, start, *i - start);
	return 0;
}

/* parse_line splits one unfolded content line.  0, or -1 with *error_r. */
static int parse_line(struct str s, struct vcard_line *l, const char **error_r)
{
	size_t i = 0;

	memset(l, 0, sizeof(*l));
	l->name = take_name(s, &i);
	if (i < s.len && s.ptr[i] == '.') {
		i++;
		l->group = l->name;
		l->name = take_name(s, &i);
	}
	if (l->name.len == 0) {
		*error_r = "vcard: content line without a name";
		return -1;
	}
	while (i < s.len && s.ptr[i] == ';') {
		i++;
		if (l->param_count == VCARD_MAX_PARAMS) {
			*error_r = "vcard: too many parameters on a line";
			return -1;
		}
		struct vcard_param *p = &l->params[l->param_count++];
		p->name = take_name(s, &i);
		if (p->name.len == 0) {
			*error_r = "vcard: parameter without a name";
			return -1;
		}
		if (i < s.len && s.ptr[i] == '=') {
			i++;
			if (take_param_value(s, &i, &p->value) < 0) {
				*error_r = "vcard: bad parameter value";
				return -1;
			}
		} else {
			/* 3.0 cards still carry 2.1's bare types (TEL;CELL:). */
			p->value = p->name;
			p->name = STR("TYPE");
		}
	}
	if (i >= s.len || s.ptr[i] != ':') {
		*error_r = "vcard: content line without ':'";
		return -1;
	}
	l->value = str_sub(s, i + 1, s.len - i - 1);
	return 0;
}

/* walk reads data as one card, calling fn for each property between
 * BEGIN:VCARD and END:VCARD.  0, or -1 with *error_r. */
static int walk(struct str data, vcard_line_fn *fn, void *ctx, const char **error_r)
{
	struct buf line;
	struct vcard_line l;
	size_t pos = 0, count = 0;
	enum { BEFORE, INSIDE, AFTER } state = BEFORE;
	int ret = 0, rc = 0;

	if (!text_valid(data)) {
		*error_r = "vcard: not UTF-8 text (or control characters)";
		return -1;
	}
	buf_init(&line, VCARD_MAX_LINE);
	while (ret == 0 && (rc = next_line(data, &pos, &line, error_r)) == 1) {
		struct str s = buf_str(&line);
		if (s.len == 0)
			continue;
		if (++count > VCARD_MAX_LINES) {
			*error_r = "vcard: too many content lines";
			ret = -1;
		} else if (state == AFTER) {
			*error_r = "vcard: content after END:VCARD";
			ret = -1;
		} else if (parse_line(s, &l, error_r) < 0) {
			ret = -1;
		} else if (str_case_eq(l.name, STR("BEGIN"))) {
			if (state != BEFORE || !str_case_eq(l.value, STR("VCARD"))) {
				*error_r = "vcard: BEGIN other than one BEGIN:VCARD";
				ret = -1;
			}
			state = INSIDE;
		} else if (state == BEFORE) {
			*error_r = "vcard: does not start with BEGIN:VCARD";
			ret = -1;
		} else if (str_case_eq(l.name, STR("END"))) {
			if (!str_case_eq(l.value, STR("VCARD"))) {
				*error_r = "vcard: END other than END:VCARD";
				ret = -1;
			}
			state = AFTER;
		} else {
			ret = fn(ctx, &l, error_r);
		}
	}
	if (ret == 0 && rc < 0)
		ret = -1;
	if (ret == 0 && state != AFTER) {
		*error_r = "vcard: no END:VCARD";
		ret = -1;
	}
	buf_free(&line);
	return ret;
}

/* What the validator counts. */
struct validation {
	struct vcard_info *info;
	const char *precondition;
	unsigned versions, fns, uids;
};

/* validate_line counts VERSION, FN and UID and keeps the UID. */
static int validate_line(void *ctx, const struct vcard_line *l, const char **error_r)
{
	struct validation *v = ctx;

	if (str_case_eq(l->name, STR("VERSION"))) {
		v->versions++;
		if (str_eq(l->value, STR("3.0"))) {
			v->info->version = 30;
		} else if (str_eq(l->value, STR("4.0"))) {
			v->info->version = 40;
		} else {
			v->precondition = "supported-address-data";
			*error_r = "vcard: only versions 3.0 and 4.0 are supported";
			return -1;
		}
	} else if (str_case_eq(l->name, STR("FN"))) {
		v->fns++;
	} else if (str_case_eq(l->name, STR("UID"))) {
		if (++v->uids > 1 || l->value.len == 0 || l->value.len >= sizeof(v->info->uid)) {
			*error_r = "vcard: UID empty, too long or more than once";
			return -1;
		}
		memcpy(v->info->uid, l->value.ptr, l->value.len);
		v->info->uid[l->value.len] = '\0';
	}
	return 0;
}

/* vcard_validate: see vcard.h.  RFC 2426 also wants N in a 3.0 card; it is
 * not required here, since writers leave it out of an organisation's card
 * and nothing here reads it. */
int vcard_validate(struct str data, struct vcard_info *info, const char **precondition_r,
		   const char **error_r)
{
	struct validation v = { .info = info, .precondition = "valid-address-data" };

	memset(info, 0, sizeof(*info));
	int ret = walk(data, validate_line, &v, error_r);
	if (ret == 0 && v.versions != 1) {
		*error_r = "vcard: VERSION missing or more than once";
		ret = -1;
	} else if (ret == 0 && v.fns == 0) {
		*error_r = "vcard: FN missing";
		ret = -1;
	} else if (ret == 0 && v.uids == 0) {
		*error_r = "vcard: UID missing";
		ret = -1;
	}
	if (ret < 0)
		*precondition_r = v.precondition;
	return ret;
}

/* unescape appends a text value with RFC 6350 3.4's escapes undone (\\ \,
 * \; \n \N; any other backslash stays). */
static int unescape(struct str v, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < v.len; i++) {
		char c = v.ptr[i];
		if (c == '\\' && i + 1 < v.len) {
			char next = v.ptr[i + 1];
			if (next == 'n' || next == 'N')
				c = '\n', i++;
			else if (next == '\\' || next == ',' || next == ';')
				c = next, i++;
		}
		if (buf_putc(out, c) < 0)
			return -1;
	}
	return 0;
}

/* unquote drops the double quotes around v, if any. */
static struct str unquote(struct str v)
{
	if (v.len > 0 && v.ptr[0] == '"')
		v = str_sub(v, 1, v.len - 1);
	if (v.len > 0 && v.ptr[v.len - 1] == '"')
		v = str_sub(v, 0, v.len - 1);
	return v;
}

/* param_value_matches: whether t matches a parameter's raw value, taken
 * whole (unquoted: LABEL="a, b") or as its comma-separated values
 * (TYPE=work,voice, and 4.0's TYPE="work,voice"). */
static bool param_value_matches(const struct vcard_text_match *t, struct str raw)
{
	if (collation_match(t->collation, t->match, unquote(raw), t->text))
		return true;
	size_t start = 0;
	for (size_t i = 0; i <= raw.len; i++) {
		if (i < raw.len && raw.ptr[i] != ',')
			continue;
		if (collation_match(t->collation, t->match, unquote(str_sub(raw, start, i - start)),
				    t->text))
			return true;
		start = i + 1;
	}
	return false;
}

/* text_met: the text-match t over value. */
static bool text_met(const struct vcard_text_match *t, struct str value)
{
	return collation_match(t->collation, t->match, value, t->text) != t->negate;
}

/* param_met: the param-filter p on one instance of a property. */
static bool param_met(const struct vcard_param_filter *p, const struct vcard_line *l)
{
	bool present = false, matched = false;

	for (size_t i = 0; i < l->param_count; i++) {
		if (!str_case_eq(l->params[i].name, p->name))
			continue;
		present = true;
		matched = matched || (p->has_text && param_value_matches(&p->text, l->params[i].value));
	}
	if (p->is_not_defined)
		return !present;
	if (!present)
		return false;
	return !p->has_text || matched != p->text.negate;
}

/* The matcher's marks: per prop-filter, whether a property of its name was
 * seen, and per text-match then param-filter, whether an instance met it. */
struct matching {
	const struct vcard_filter *f;
	bool *seen;
	bool **met;
	struct buf value;
};

/* match_line marks what this property meets. */
static int match_line(void *ctx, const struct vcard_line *l, const char **error_r)
{
	struct matching *m = ctx;
	bool unescaped = false;

	for (size_t i = 0; i < m->f->prop_count; i++) {
		const struct vcard_prop_filter *p = &m->f->props[i];
		if (!str_case_eq(p->name, l->name))
			continue;
		m->seen[i] = true;
		if (p->is_not_defined)
			continue;
		if (p->text_count > 0 && !unescaped) {
			if (unescape(l->value, &m->value) < 0) {
				*error_r = "vcard: out of memory";
				return -1;
			}
			unescaped = true;
		}
		for (size_t j = 0; j < p->text_count; j++)
			m->met[i][j] = m->met[i][j] || text_met(&p->texts[j], buf_str(&m->value));
		for (size_t k = 0; k < p->param_count; k++)
			m->met[i][p->text_count + k] = m->met[i][p->text_count + k] ||
						       param_met(&p->params[k], l);
	}
	return 0;
}

/* prop_result: the prop-filter's verdict once the card is read. */
static bool prop_result(const struct vcard_prop_filter *p, bool seen, const bool *met)
{
	size_t n = p->text_count + p->param_count;

	if (p->is_not_defined)
		return !seen;
	if (!seen)
		return false;
	if (n == 0)
		return true;
	for (size_t j = 0; j < n; j++)
		if (met[j] != p->all_of)
			return met[j];
	return p->all_of;
}

/* vcard_match: see vcard.h. */
int vcard_match(struct str data, const struct vcard_filter *f, const char **error_r)
{
	struct matching m = { .f = f };
	size_t marks = 0;
	int ret = -1;

	for (size_t i = 0; i < f->prop_count; i++)
		marks += f->props[i].text_count + f->props[i].param_count;
	/* One block: the seen flags, the met pointers, then all met flags. */
	char *block = calloc(1, f->prop_count * (sizeof(bool) + sizeof(bool *)) + marks + 1);
	if (block == NULL) {
		*error_r = "vcard: out of memory";
		return -1;
	}
	m.met = (bool **)block;
	m.seen = (bool *)(block + f->prop_count * sizeof(bool *));
	bool *flags = m.seen + f->prop_count;
	for (size_t i = 0; i < f->prop_count; i++) {
		m.met[i] = flags;
		flags += f->props[i].text_count + f->props[i].param_count;
	}
	buf_init(&m.value, VCARD_MAX_LINE);
	if (walk(data, match_line, &m, error_r) == 0) {
		ret = f->all_of ? 1 : f->prop_count == 0;
		for (size_t i = 0; i < f->prop_count; i++) {
			bool r = prop_result(&f->props[i], m.seen[i], m.met[i]);
			if (r != f->all_of) {
				ret = r;
				break;
			}
		}
	}
	buf_free(&m.value);
	free(block);
	return ret;
}
