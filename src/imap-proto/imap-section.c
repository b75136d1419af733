/*
 * imap-section: the FETCH items that carry a section, BODY[1.2.HEADER.FIELDS
 * (From)]<0.100> and the like (RFC 9051 fetch-att, RFC 3516 BINARY), read
 * from the atom text the command parser gathered (see imap-section.h).
 * Pure: part of imap-proto, linked into the pre-auth process too.
 */
#include "imap-section.h"

#include <string.h>

#include "imap-syntax.h"

/* section_att recognises the FETCH items that take a section. */
static bool section_att(struct str name, enum imap_section_att *att_r)
{
	static const struct {
		const char *name;
		enum imap_section_att att;
	} atts[] = {
		{ "BODY", IMAP_SECTION_ATT_BODY },
		{ "BODY.PEEK", IMAP_SECTION_ATT_BODY_PEEK },
		{ "BINARY", IMAP_SECTION_ATT_BINARY },
		{ "BINARY.PEEK", IMAP_SECTION_ATT_BINARY_PEEK },
		{ "BINARY.SIZE", IMAP_SECTION_ATT_BINARY_SIZE },
	};
	for (size_t i = 0; i < sizeof(atts) / sizeof(atts[0]); i++) {
		if (str_case_eq(name, str_c(atts[i].name))) {
			*att_r = atts[i].att;
			return true;
		}
	}
	return false;
}

/* A cursor over an atom's text while its section is parsed. */
struct cursor {
	const char *p;
	size_t len;
	size_t pos;
};

/* cur_peek returns the octet at the cursor, or -1 at the end. */
static int cur_peek(const struct cursor *c)
{
	return c->pos < c->len ? (unsigned char)c->p[c->pos] : -1;
}

/* cur_take advances past ch and returns true if ch is at the cursor. */
static bool cur_take(struct cursor *c, char ch)
{
	if (cur_peek(c) != (unsigned char)ch)
		return false;
	c->pos++;
	return true;
}

/* cur_take_word advances past word (any case) if it is at the cursor. */
static bool cur_take_word(struct cursor *c, const char *word)
{
	struct str w = str_c(word);
	if (c->len - c->pos < w.len || !str_case_eq(str_from(c->p + c->pos, w.len), w))
		return false;
	c->pos += w.len;
	return true;
}

/* cur_number reads an RFC 9051 number64 (nz: no zero, no leading zero). */
static bool cur_number(struct cursor *c, bool nz, uint64_t *n_r)
{
	size_t start = c->pos;
	while (c->pos < c->len && imap_syntax_is_digit((unsigned char)c->p[c->pos]) &&
	       c->pos - start <= IMAP_MAX_NUMBER_DIGITS)
		c->pos++;
	struct str digits = str_from(c->p + start, c->pos - start);
	if (str_to_u64(digits, IMAP_NUMBER64_MAX, n_r) < 0)
		return false;
	if (nz && (*n_r == 0 || digits.ptr[0] == '0'))
		return false;
	return true;
}

/*
 * cur_header_list reads header-list = "(" header-fld-name *(SP
 * header-fld-name) ")" where a name is an atom or a quoted string, into
 * fields (NULL: only count them).  Returns the count, or -1.
 */
static long cur_header_list(struct pool *pool, struct cursor *c, struct str *fields)
{
	long n = 0;

	if (!cur_take(c, '('))
		return -1;
	for (;;) {
		while (cur_take(c, ' '))
			;
		if (cur_take(c, ')'))
			return n > 0 ? n : -1;
		if (n > 0 && c->p[c->pos - 1] != ' ')
			return -1;
		size_t start = c->pos;
		struct str value;
		if (cur_take(c, '"')) {
			size_t out = 0;
			char *copy = NULL;
			if (fields != NULL && (copy = pool_alloc(pool, c->len - c->pos + 1)) == NULL)
				return -1;
			for (;;) {
				int ch = cur_peek(c);
				if (ch < 0)
					return -1;
				c->pos++;
				if (ch == '"')
					break;
				if (ch == '\\') {
					ch = cur_peek(c);
					if (ch < 0)
						return -1;
					c->pos++;
				}
				if (copy != NULL)
					copy[out] = (char)ch;
				out++;
			}
			value = str_from(copy, out);
		} else {
			while (c->pos < c->len && imap_syntax_is_atom_char((unsigned char)c->p[c->pos]) &&
			       c->p[c->pos] != ']')
				c->pos++;
			if (c->pos == start)
				return -1;
			value = str_from(c->p + start, c->pos - start);
		}
		if (fields != NULL)
			fields[n] = value;
		n++;
	}
}

int imap_section_parse(struct pool *pool, struct str text, uint64_t max_fields,
		       struct imap_section **section_r)
{
	enum imap_section_att att;
	long open = str_chr(text, '[');

	*section_r = NULL;
	if (open <= 0 || !section_att(str_from(text.ptr, (size_t)open), &att))
		return IMAP_SECTION_PARSE_NONE;
	struct imap_section *s = pool_alloc(pool, sizeof(*s));
	uint32_t parts[IMAP_MAX_SECTION_PARTS];
	if (s == NULL)
		return IMAP_SECTION_PARSE_NO_MEMORY;
	bool binary = att >= IMAP_SECTION_ATT_BINARY;
	s->att = att;
	s->name = str_from(text.ptr, (size_t)open);
	struct cursor c = { text.ptr, text.len, (size_t)open + 1 };

	/* section-part: nz-number *("." nz-number), then "." section-text */
	bool want_text = true;
	while (imap_syntax_is_digit((unsigned char)cur_peek(&c))) {
		uint64_t n;
		if (!cur_number(&c, true, &n) || n > UINT32_MAX)
			return IMAP_SECTION_PARSE_INVALID;
		if (s->part_count == IMAP_MAX_SECTION_PARTS)
			return IMAP_SECTION_PARSE_INVALID;
		parts[s->part_count++] = (uint32_t)n;
		want_text = cur_take(&c, '.');
		if (!want_text)
			break;
	}
	if (want_text && cur_peek(&c) != ']') {
		if (binary)
			return IMAP_SECTION_PARSE_INVALID;
		if (cur_take_word(&c, "HEADER.FIELDS.NOT"))
			s->text = IMAP_SECTION_HEADER_FIELDS_NOT;
		else if (cur_take_word(&c, "HEADER.FIELDS"))
			s->text = IMAP_SECTION_HEADER_FIELDS;
		else if (cur_take_word(&c, "HEADER"))
			s->text = IMAP_SECTION_HEADER;
		else if (cur_take_word(&c, "TEXT"))
			s->text = IMAP_SECTION_TEXT;
		else if (s->part_count > 0 && cur_take_word(&c, "MIME"))
			s->text = IMAP_SECTION_MIME;
		else
			return IMAP_SECTION_PARSE_INVALID;
		if (s->text == IMAP_SECTION_HEADER_FIELDS || s->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
			if (!cur_take(&c, ' '))
				return IMAP_SECTION_PARSE_INVALID;
			struct cursor count = c;
			long n = cur_header_list(pool, &count, NULL);
			if (n < 0)
				return IMAP_SECTION_PARSE_INVALID;
			if ((uint64_t)n > max_fields)
				return IMAP_SECTION_PARSE_TOO_MANY;
			struct str *fields = pool_alloc(pool, (size_t)n * sizeof(*fields));
			if (fields == NULL)
				return IMAP_SECTION_PARSE_NO_MEMORY;
			if (cur_header_list(pool, &c, fields) != n)
				return IMAP_SECTION_PARSE_INVALID;
			s->fields = fields;
			s->field_count = (size_t)n;
		}
	} else if (want_text && s->part_count > 0) {
		return IMAP_SECTION_PARSE_INVALID; /* "1.]" */
	}
	if (!cur_take(&c, ']'))
		return IMAP_SECTION_PARSE_INVALID;
	s->spec = str_from(text.ptr + open + 1, c.pos - (size_t)open - 2);
	if (cur_take(&c, '<')) {
		if (att == IMAP_SECTION_ATT_BINARY_SIZE)
			return IMAP_SECTION_PARSE_INVALID;
		if (!cur_number(&c, false, &s->partial_offset) || !cur_take(&c, '.') ||
		    !cur_number(&c, true, &s->partial_length) || !cur_take(&c, '>'))
			return IMAP_SECTION_PARSE_INVALID;
		s->partial = true;
	}
	if (c.pos != c.len)
		return IMAP_SECTION_PARSE_INVALID;
	if (s->part_count > 0) {
		uint32_t *copy = pool_alloc(pool, s->part_count * sizeof(*copy));
		if (copy == NULL)
			return IMAP_SECTION_PARSE_NO_MEMORY;
		memcpy(copy, parts, s->part_count * sizeof(*copy));
		s->parts = copy;
	}
	*section_r = s;
	return IMAP_SECTION_PARSE_OK;
}

