/*
 * imap-search: SEARCH programs into key trees (see imap-search.h).
 *
 * A recursive-descent parser over the argument array: parse_key takes one
 * key and its arguments from a cursor (the top level or a parenthesised
 * group), recursing for NOT, OR and groups with the depth bounded by
 * limits.max_depth and the number of keys by limits.max_keys.
 */
#include "imap-search.h"

#include <string.h>

#include "imap-quote.h"
#include "lib/date.h"

#define ERR_MISSING_KEY "Missing search key"
#define ERR_MISSING_ARG "Missing search key argument"
#define ERR_UNKNOWN_KEY "Unknown search key"
#define ERR_EMPTY_GROUP "Empty search key group"
#define ERR_DEPTH "Search program nested too deeply"
#define ERR_KEYS "Too many search keys"
#define ERR_STRING "Invalid string argument"
#define ERR_KEYWORD "Invalid keyword"
#define ERR_DATE "Invalid date"
#define ERR_NUMBER "Invalid number"
#define ERR_MODSEQ_ENTRY "Invalid MODSEQ entry"
#define ERR_RETURN "Invalid RETURN option"
#define ERR_CHARSET_MISSING "Missing charset"
#define ERR_CHARSET "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"
#define ERR_MEMORY "Out of memory"

/* The largest RFC 9051 number64: 2^63 - 1. */
#define IMAP_SEARCH_NUMBER64_MAX ((uint64_t)INT64_MAX)

/* What follows a key. */
enum key_arg {
	KA_NONE,
	KA_STRING,
	KA_HEADER,
	KA_KEYWORD,
	KA_DATE,
	KA_NUMBER,
	KA_MODSEQ,
	KA_SEQSET,
	KA_NOT,
	KA_OR,
};

static const struct {
	const char *name;
	enum imap_search_type type;
	enum key_arg arg;
} search_keys[] = {
	{ "ALL", IMAP_SEARCH_ALL, KA_NONE },
	{ "ANSWERED", IMAP_SEARCH_ANSWERED, KA_NONE },
	{ "DELETED", IMAP_SEARCH_DELETED, KA_NONE },
	{ "DRAFT", IMAP_SEARCH_DRAFT, KA_NONE },
	{ "FLAGGED", IMAP_SEARCH_FLAGGED, KA_NONE },
	{ "NEW", IMAP_SEARCH_NEW, KA_NONE },
	{ "OLD", IMAP_SEARCH_OLD, KA_NONE },
	{ "RECENT", IMAP_SEARCH_RECENT, KA_NONE },
	{ "SEEN", IMAP_SEARCH_SEEN, KA_NONE },
	{ "UNANSWERED", IMAP_SEARCH_UNANSWERED, KA_NONE },
	{ "UNDELETED", IMAP_SEARCH_UNDELETED, KA_NONE },
	{ "UNDRAFT", IMAP_SEARCH_UNDRAFT, KA_NONE },
	{ "UNFLAGGED", IMAP_SEARCH_UNFLAGGED, KA_NONE },
	{ "UNSEEN", IMAP_SEARCH_UNSEEN, KA_NONE },
	{ "BCC", IMAP_SEARCH_BCC, KA_STRING },
	{ "BODY", IMAP_SEARCH_BODY, KA_STRING },
	{ "CC", IMAP_SEARCH_CC, KA_STRING },
	{ "FROM", IMAP_SEARCH_FROM, KA_STRING },
	{ "SUBJECT", IMAP_SEARCH_SUBJECT, KA_STRING },
	{ "TEXT", IMAP_SEARCH_TEXT, KA_STRING },
	{ "TO", IMAP_SEARCH_TO, KA_STRING },
	{ "HEADER", IMAP_SEARCH_HEADER, KA_HEADER },
	{ "KEYWORD", IMAP_SEARCH_KEYWORD, KA_KEYWORD },
	{ "UNKEYWORD", IMAP_SEARCH_UNKEYWORD, KA_KEYWORD },
	{ "BEFORE", IMAP_SEARCH_BEFORE, KA_DATE },
	{ "ON", IMAP_SEARCH_ON, KA_DATE },
	{ "SINCE", IMAP_SEARCH_SINCE, KA_DATE },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE, KA_DATE },
	{ "SENTON", IMAP_SEARCH_SENTON, KA_DATE },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE, KA_DATE },
	{ "LARGER", IMAP_SEARCH_LARGER, KA_NUMBER },
	{ "SMALLER", IMAP_SEARCH_SMALLER, KA_NUMBER },
	{ "MODSEQ", IMAP_SEARCH_MODSEQ, KA_MODSEQ },
	{ "UID", IMAP_SEARCH_UID, KA_SEQSET },
	{ "NOT", IMAP_SEARCH_NOT, KA_NOT },
	{ "OR", IMAP_SEARCH_OR, KA_OR },
};

#define SEARCH_KEY_COUNT (sizeof(search_keys) / sizeof(search_keys[0]))

struct search_parser {
	struct pool *pool;
	struct imap_search_limits limits;
	unsigned keys;
	const char *error;
};

/* A position in an argument array: the program or one group. */
struct arg_cursor {
	const struct imap_arg *args;
	size_t count;
	size_t pos;
};

/* set_error records the first error; returns false for the callers. */
static bool set_error(struct search_parser *sp, const char *text)
{
	if (sp->error == NULL)
		sp->error = text;
	return false;
}

/* next_arg takes the next argument, or records ERR_MISSING_ARG. */
static const struct imap_arg *next_arg(struct search_parser *sp, struct arg_cursor *c)
{
	if (c->pos >= c->count) {
		set_error(sp, ERR_MISSING_ARG);
		return NULL;
	}
	return &c->args[c->pos++];
}

/* next_astring takes the next argument as an astring into *out, or
 * records why it cannot. */
static bool next_astring(struct search_parser *sp, struct arg_cursor *c, struct str *out)
{
	const struct imap_arg *value = next_arg(sp, c);
	if (value == NULL)
		return false;
	if (!imap_arg_get_astring(value, out))
		return set_error(sp, ERR_STRING);
	return true;
}

/* parse_date reads RFC 9051 date (date-text, optionally quoted):
 * 1*2DIGIT "-" Mon "-" 4DIGIT, with the day checked against the month. */
static bool parse_date(const struct imap_arg *arg, struct imap_date *date_r)
{
	struct str s = arg->text;
	size_t i = 0;
	unsigned day = 0, year = 0;
	int month;

	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_STRING)
		return false;
	while (i < s.len && i < 2 && s.ptr[i] >= '0' && s.ptr[i] <= '9')
		day = day * 10 + (unsigned)(s.ptr[i++] - '0');
	if (i == 0 || i >= s.len || s.ptr[i++] != '-')
		return false;
	if (s.len - i < 4)
		return false;
	month = date_month_number(str_from(s.ptr + i, 3));
	if (month < 0 || s.ptr[i + 3] != '-')
		return false;
	i += 4;
	if (s.len - i != 4)
		return false;
	for (; i < s.len; i++) {
		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return false;
		year = year * 10 + (unsigned)(s.ptr[i] - '0');
	}
	if (day == 0 || (int)day > date_days_in_month(year, month))
		return false;
	date_r->year = year;
	date_r->month = (unsigned)month;
	date_r->day = day;
	return true;
}

static bool parse_key(struct search_parser *sp, struct arg_cursor *c, unsigned depth,
		      struct imap_search_key *key);

/* parse_keys reads keys from c until it ends into an AND key (a group or
 * the whole program); at least one key is required. */
static bool parse_keys(struct search_parser *sp, struct arg_cursor *c, unsigned depth,
		       struct imap_search_key *key)
{
	key->type = IMAP_SEARCH_AND;
	if (c->pos >= c->count)
		return set_error(sp, depth == 0 ? ERR_MISSING_KEY : ERR_EMPTY_GROUP);
	/* Each key takes at least one argument: this bounds the count. */
	key->children = pool_alloc(sp->pool, (c->count - c->pos) * sizeof(*key->children));
	if (key->children == NULL)
		return set_error(sp, ERR_MEMORY);
	while (c->pos < c->count) {
		if (!parse_key(sp, c, depth, &key->children[key->child_count]))
			return false;
		key->child_count++;
	}
	return true;
}

/* parse_children reads n keys that belong to a NOT or OR. */
static bool parse_children(struct search_parser *sp, struct arg_cursor *c, unsigned depth,
			   struct imap_search_key *key, size_t n)
{
	key->children = pool_alloc(sp->pool, n * sizeof(*key->children));
	if (key->children == NULL)
		return set_error(sp, ERR_MEMORY);
	for (size_t i = 0; i < n; i++) {
		if (c->pos >= c->count)
			return set_error(sp, ERR_MISSING_KEY);
		if (!parse_key(sp, c, depth + 1, &key->children[i]))
			return false;
		key->child_count++;
	}
	return true;
}

/*
 * parse_modseq reads what follows MODSEQ (RFC 7162 3.1.5):
 *   [entry-name SP entry-type-req SP] mod-sequence-valzer
 * entry-name is a quoted "/flags/<flag>", entry-type-req priv, shared or
 * all; both are checked and dropped (see imap-search.h).
 */
static bool parse_modseq(struct search_parser *sp, struct arg_cursor *c,
			 struct imap_search_key *key)
{
	const struct imap_arg *value = next_arg(sp, c);
	struct str entry;

	if (value == NULL)
		return false;
	if (imap_arg_get_string(value, &entry)) {
		if (!str_case_prefix(entry, STR("/flags/")) || entry.len == 7)
			return set_error(sp, ERR_MODSEQ_ENTRY);
		if ((value = next_arg(sp, c)) == NULL)
			return false;
		if (!imap_arg_is_atom(value, "priv") && !imap_arg_is_atom(value, "shared") &&
		    !imap_arg_is_atom(value, "all"))
			return set_error(sp, ERR_MODSEQ_ENTRY);
		if ((value = next_arg(sp, c)) == NULL)
			return false;
	}
	if (value->type != IMAP_ARG_ATOM ||
	    str_to_u64(value->text, IMAP_SEARCH_NUMBER64_MAX, &key->number) < 0)
		return set_error(sp, ERR_NUMBER);
	return true;
}

/* parse_seqset_key reads a sequence set argument into key. */
static bool parse_seqset_arg(struct search_parser *sp, const struct imap_arg *arg,
			     struct imap_search_key *key)
{
	const char *error;
	if (arg->type != IMAP_ARG_ATOM)
		return set_error(sp, "Invalid sequence set");
	if (imap_seqset_parse(sp->pool, arg->text, sp->limits.max_ranges, &key->seqset, &error) < 0)
		return set_error(sp, error);
	return true;
}

/* is_seqset_start: a key starting like this is a sequence set. */
static bool is_seqset_start(struct str s)
{
	return s.len > 0 && ((s.ptr[0] >= '0' && s.ptr[0] <= '9') || s.ptr[0] == '*' ||
			     s.ptr[0] == '$');
}

/* parse_key reads one key (with its arguments) at depth into key. */
static bool parse_key(struct search_parser *sp, struct arg_cursor *c, unsigned depth,
		      struct imap_search_key *key)
{
	if (depth >= sp->limits.max_depth)
		return set_error(sp, ERR_DEPTH);
	if (sp->keys >= sp->limits.max_keys)
		return set_error(sp, ERR_KEYS);
	sp->keys++;
	const struct imap_arg *arg = &c->args[c->pos++];

	if (arg->type == IMAP_ARG_LIST) {
		struct arg_cursor group = { arg->list, arg->list_count, 0 };
		return parse_keys(sp, &group, depth + 1, key);
	}
	if (arg->type != IMAP_ARG_ATOM)
		return set_error(sp, ERR_UNKNOWN_KEY);
	if (is_seqset_start(arg->text)) {
		key->type = IMAP_SEARCH_SEQSET;
		return parse_seqset_arg(sp, arg, key);
	}
	size_t k;
	for (k = 0; k < SEARCH_KEY_COUNT; k++)
		if (str_case_eq(arg->text, str_c(search_keys[k].name)))
			break;
	if (k == SEARCH_KEY_COUNT)
		return set_error(sp, ERR_UNKNOWN_KEY);
	key->type = search_keys[k].type;

	const struct imap_arg *value;
	switch (search_keys[k].arg) {
	case KA_NONE:
		return true;
	case KA_STRING:
		return next_astring(sp, c, &key->value);
	case KA_HEADER:
		return next_astring(sp, c, &key->field) && next_astring(sp, c, &key->value);
	case KA_KEYWORD:
		if ((value = next_arg(sp, c)) == NULL)
			return false;
		if (value->type != IMAP_ARG_ATOM || value->text.ptr[0] == '\\' ||
		    str_chr(value->text, '[') >= 0 || str_chr(value->text, ']') >= 0 ||
		    str_chr(value->text, '*') >= 0 || str_chr(value->text, '%') >= 0)
			return set_error(sp, ERR_KEYWORD);
		key->value = value->text;
		return true;
	case KA_DATE:
		if ((value = next_arg(sp, c)) == NULL)
			return false;
		if (!parse_date(value, &key->date))
			return set_error(sp, ERR_DATE);
		return true;
	case KA_NUMBER:
		if ((value = next_arg(sp, c)) == NULL)
			return false;
		if (value->type != IMAP_ARG_ATOM ||
		    str_to_u64(value->text, IMAP_SEARCH_NUMBER64_MAX, &key->number) < 0)
			return set_error(sp, ERR_NUMBER);
		return true;
	case KA_MODSEQ:
		return parse_modseq(sp, c, key);
	case KA_SEQSET:
		if ((value = next_arg(sp, c)) == NULL)
			return false;
		return parse_seqset_arg(sp, value, key);
	case KA_NOT:
		return parse_children(sp, c, depth, key, 1);
	case KA_OR:
		return parse_children(sp, c, depth, key, 2);
	}
	return set_error(sp, ERR_UNKNOWN_KEY);
}

/*
 * parse_partial_number reads one end of a partial range: an nz-number,
 * with a leading "-" when from_end.  Returns false when it is not one.
 */
static bool parse_partial_number(struct str text, bool *from_end_r, uint32_t *n_r)
{
	uint64_t n;

	*from_end_r = text.len > 0 && text.ptr[0] == '-';
	if (*from_end_r)
		text = str_from(text.ptr + 1, text.len - 1);
	if (str_to_u64(text, UINT32_MAX, &n) < 0 || n == 0)
		return false;
	*n_r = (uint32_t)n;
	return true;
}

/* parse_partial reads RFC 9394's partial-range "a:b" or "-a:-b". */
static bool parse_partial(const struct imap_arg *arg, struct imap_search_partial *partial_r)
{
	const char *colon;
	bool end_a, end_b;
	uint32_t a, b;

	if (arg->type != IMAP_ARG_ATOM ||
	    (colon = memchr(arg->text.ptr, ':', arg->text.len)) == NULL)
		return false;
	size_t first_len = (size_t)(colon - arg->text.ptr);
	if (!parse_partial_number(str_from(arg->text.ptr, first_len), &end_a, &a) ||
	    !parse_partial_number(str_from(colon + 1, arg->text.len - first_len - 1), &end_b, &b) ||
	    end_a != end_b)
		return false;
	partial_r->from_end = end_a;
	partial_r->first = a < b ? a : b;
	partial_r->last = a < b ? b : a;
	return true;
}

bool imap_search_parse_return(const struct imap_arg *list, struct imap_search_program *prog,
			      const char **error_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} options[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN },
		{ "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "ALL", IMAP_SEARCH_RETURN_ALL },
		{ "COUNT", IMAP_SEARCH_RETURN_COUNT },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE },
		{ "UPDATE", IMAP_SEARCH_RETURN_UPDATE },
		{ "PARTIAL", IMAP_SEARCH_RETURN_PARTIAL },
	};
	const struct imap_arg *items;
	size_t count;

	*error_r = ERR_RETURN;
	if (!imap_arg_get_list(list, &items, &count))
		return false;
	prog->has_return = true;
	for (size_t i = 0; i < count; i++) {
		size_t o;
		for (o = 0; o < sizeof(options) / sizeof(options[0]); o++)
			if (imap_arg_is_atom(&items[i], options[o].name))
				break;
		if (o == sizeof(options) / sizeof(options[0]) ||
		    (prog->return_options & options[o].bit))
			return false;
		prog->return_options |= options[o].bit;
		if (options[o].bit == IMAP_SEARCH_RETURN_PARTIAL &&
		    (++i == count || !parse_partial(&items[i], &prog->partial)))
			return false;
	}
	/* RFC 9394 3: PARTIAL and ALL together make no sense. */
	if ((prog->return_options & IMAP_SEARCH_RETURN_PARTIAL) &&
	    (prog->return_options & IMAP_SEARCH_RETURN_ALL))
		return false;
	/* RFC 4731 3.1: "RETURN ()" means RETURN (ALL); UPDATE alone
	 * first answers the whole result too (RFC 5267 4.2). */
	if ((prog->return_options & ~IMAP_SEARCH_RETURN_UPDATE) == 0)
		prog->return_options |= IMAP_SEARCH_RETURN_ALL;
	*error_r = NULL;
	return true;
}

int imap_search_parse(struct pool *pool, const struct imap_arg *args, size_t count,
		      const struct imap_search_limits *limits,
		      struct imap_search_program *prog_r, const char **error_r)
{
	struct search_parser sp = {
		.pool = pool,
		.limits = limits != NULL ? *limits : IMAP_SEARCH_DEFAULT_LIMITS,
	};
	struct arg_cursor c = { args, count, 0 };

	memset(prog_r, 0, sizeof(*prog_r));
	*error_r = NULL;
	if (c.pos + 1 < c.count && imap_arg_is_atom(&args[c.pos], "RETURN")) {
		if (!imap_search_parse_return(&args[c.pos + 1], prog_r, error_r))
			return IMAP_SEARCH_BAD;
		c.pos += 2;
	}
	if (c.pos < c.count && imap_arg_is_atom(&args[c.pos], "CHARSET")) {
		struct str charset;
		if (c.pos + 1 >= c.count || !imap_arg_get_astring(&args[c.pos + 1], &charset)) {
			*error_r = ERR_CHARSET_MISSING;
			return IMAP_SEARCH_BAD;
		}
		if (str_case_eq(charset, STR("UTF-8"))) {
			prog_r->charset = IMAP_SEARCH_CHARSET_UTF8;
		} else if (str_case_eq(charset, STR("US-ASCII"))) {
			prog_r->charset = IMAP_SEARCH_CHARSET_US_ASCII;
		} else {
			*error_r = ERR_CHARSET;
			return IMAP_SEARCH_NO;
		}
		c.pos += 2;
	}
	if (!parse_keys(&sp, &c, 0, &prog_r->root)) {
		*error_r = sp.error;
		return IMAP_SEARCH_BAD;
	}
	return IMAP_SEARCH_OK;
}

/* key_name is the canonical name of a key type. */
static const char *key_name(enum imap_search_type type)
{
	for (size_t k = 0; k < SEARCH_KEY_COUNT; k++)
		if (search_keys[k].type == type)
			return search_keys[k].name;
	return "?";
}

/* key_arg_of is the argument kind of a key type. */
static enum key_arg key_arg_of(enum imap_search_type type)
{
	for (size_t k = 0; k < SEARCH_KEY_COUNT; k++)
		if (search_keys[k].type == type)
			return search_keys[k].arg;
	return KA_NONE;
}

static int print_key(const struct imap_search_key *key, struct buf *out, bool top);

/* print_children writes the children of key separated by SP. */
static int print_children(const struct imap_search_key *key, struct buf *out)
{
	for (size_t i = 0; i < key->child_count; i++) {
		if (i > 0 && buf_putc(out, ' ') < 0)
			return -1;
		if (print_key(&key->children[i], out, false) < 0)
			return -1;
	}
	return 0;
}

/* print_key writes one key; top is the program's own AND (no parentheses). */
static int print_key(const struct imap_search_key *key, struct buf *out, bool top)
{
	if (key->type == IMAP_SEARCH_AND) {
		if (top)
			return print_children(key, out);
		if (buf_putc(out, '(') < 0 || print_children(key, out) < 0)
			return -1;
		return buf_putc(out, ')');
	}
	if (key->type == IMAP_SEARCH_SEQSET)
		return imap_seqset_print(&key->seqset, out);
	if (buf_printf(out, "%s", key_name(key->type)) < 0)
		return -1;
	switch (key_arg_of(key->type)) {
	case KA_NONE:
		return 0;
	case KA_STRING:
		return buf_putc(out, ' ') < 0 ? -1 : imap_quote_canonical(out, key->value);
	case KA_HEADER:
		if (buf_putc(out, ' ') < 0 || imap_quote_canonical(out, key->field) < 0 ||
		    buf_putc(out, ' ') < 0)
			return -1;
		return imap_quote_canonical(out, key->value);
	case KA_KEYWORD:
		return buf_putc(out, ' ') < 0 ? -1 : buf_append_str(out, key->value);
	case KA_DATE:
		return buf_printf(out, " %u-%s-%04u", key->date.day, date_month_name((int)key->date.month),
				  key->date.year);
	case KA_NUMBER:
	case KA_MODSEQ:
		return buf_printf(out, " %llu", (unsigned long long)key->number);
	case KA_SEQSET:
		return buf_putc(out, ' ') < 0 ? -1 : imap_seqset_print(&key->seqset, out);
	case KA_NOT:
	case KA_OR:
		return buf_putc(out, ' ') < 0 ? -1 : print_children(key, out);
	}
	return -1;
}

int imap_search_print(const struct imap_search_program *prog, struct buf *out)
{
	static const char *const options[] = { "MIN", "MAX", "ALL", "COUNT", "SAVE", "UPDATE",
					       "PARTIAL" };

	if (prog->has_return) {
		if (buf_printf(out, "RETURN (") < 0)
			return -1;
		bool first = true;
		for (unsigned i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
			if (!(prog->return_options & (1u << i)))
				continue;
			if (buf_printf(out, "%s%s", first ? "" : " ", options[i]) < 0)
				return -1;
			first = false;
		}
		const struct imap_search_partial *pa = &prog->partial;
		if ((prog->return_options & IMAP_SEARCH_RETURN_PARTIAL) &&
		    buf_printf(out, pa->from_end ? " -%u:-%u" : " %u:%u", (unsigned)pa->first,
			       (unsigned)pa->last) < 0)
			return -1;
		if (buf_printf(out, ") ") < 0)
			return -1;
	}
	if (prog->charset != IMAP_SEARCH_CHARSET_NONE &&
	    buf_printf(out, "CHARSET %s ",
		       prog->charset == IMAP_SEARCH_CHARSET_UTF8 ? "UTF-8" : "US-ASCII") < 0)
		return -1;
	return print_key(&prog->root, out, true);
}

/* copy_key copies key and what it points to into pool. */
static int copy_key(struct pool *pool, const struct imap_search_key *key,
		    struct imap_search_key *copy)
{
	*copy = *key;
	copy->field = pool_str(pool, key->field);
	copy->value = pool_str(pool, key->value);
	if ((key->field.ptr != NULL && copy->field.ptr == NULL) ||
	    (key->value.ptr != NULL && copy->value.ptr == NULL))
		return -1;
	if (key->seqset.count > 0) {
		size_t n = key->seqset.count * sizeof(*key->seqset.ranges);
		if ((copy->seqset.ranges = pool_alloc(pool, n)) == NULL)
			return -1;
		memcpy(copy->seqset.ranges, key->seqset.ranges, n);
	}
	if (key->child_count > 0) {
		copy->children = pool_alloc(pool, key->child_count * sizeof(*copy->children));
		if (copy->children == NULL)
			return -1;
		for (size_t i = 0; i < key->child_count; i++)
			if (copy_key(pool, &key->children[i], &copy->children[i]) < 0)
				return -1;
	}
	return 0;
}

int imap_search_program_copy(struct pool *pool, const struct imap_search_program *prog,
			     struct imap_search_program *copy_r)
{
	*copy_r = *prog;
	return copy_key(pool, &prog->root, &copy_r->root);
}
