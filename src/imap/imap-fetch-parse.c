/* imap-fetch-parse: the FETCH items and modifiers of a command (see
 * imap-fetch.h). */
#include "imap-fetch-private.h"

#include <string.h>

#include "imap-proto/imap-quote.h"

/* Items in one FETCH.  Clients ask for a dozen at most (Thunderbird sends
 * about ten); every item costs work for every message, so a list of
 * thousands is refused rather than answered a thousand times over. */
#define IMAP_FETCH_MAX_ITEMS 256

static const struct {
	const char *name;
	enum fetch_kind kind;
} simple_items[] = {
	{ "FLAGS", FETCH_FLAGS },
	{ "UID", FETCH_UID },
	{ "INTERNALDATE", FETCH_INTERNALDATE },
	{ "RFC822.SIZE", FETCH_RFC822_SIZE },
	{ "ENVELOPE", FETCH_ENVELOPE },
	{ "BODY", FETCH_BODY },
	{ "BODYSTRUCTURE", FETCH_BODYSTRUCTURE },
	{ "MODSEQ", FETCH_MODSEQ },
	{ "RFC822", FETCH_RFC822 },
	{ "RFC822.HEADER", FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", FETCH_RFC822_TEXT },
};

/* ---------- parsing ---------- */

/* is_atom says whether a header field name can be echoed as an atom. */
static bool is_atom(struct str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

/* field_was_quoted says whether HEADER.FIELDS name number index came as a
 * quoted string in the section text as sent (the parser keeps only its
 * value), so that it is echoed the same way. */
static bool field_was_quoted(struct str spec, size_t index)
{
	long open = str_chr(spec, '(');
	size_t i = open < 0 ? spec.len : (size_t)open + 1;

	for (size_t n = 0; i < spec.len && spec.ptr[i] != ')'; n++) {
		while (i < spec.len && spec.ptr[i] == ' ')
			i++;
		bool quoted = i < spec.len && spec.ptr[i] == '"';
		if (n == index)
			return quoted;
		if (quoted) {
			for (i++; i < spec.len && spec.ptr[i] != '"'; i++)
				if (spec.ptr[i] == '\\')
					i++;
			i++;
		} else {
			while (i < spec.len && spec.ptr[i] != ' ' && spec.ptr[i] != ')')
				i++;
		}
		while (i < spec.len && spec.ptr[i] == ' ')
			i++;
	}
	return false;
}

/* field_answer writes a HEADER.FIELDS name upper-cased, as an atom or, as
 * it was sent or when it must be, as a string. */
static int field_answer(struct buf *b, const struct imap_section *s, size_t index)
{
	struct str name = s->fields[index];
	struct buf upper;

	buf_init(&upper, name.len + 1);
	int r = buf_append_str(&upper, name);
	for (size_t k = 0; r == 0 && k < upper.len; k++)
		if (upper.data[k] >= 'a' && upper.data[k] <= 'z')
			upper.data[k] = (char)(upper.data[k] - 'a' + 'A');
	if (r == 0)
		r = is_atom(name) && !field_was_quoted(s->spec, index) ?
			    buf_append_str(b, buf_str(&upper)) : imap_quote_string(b, buf_str(&upper));
	buf_free(&upper);
	return r;
}

/* section_answer writes the name a section item is answered with: BODY.PEEK
 * answers as BODY and BINARY.PEEK as BINARY (RFC 9051 7.5.2), keywords and
 * field names upper-cased and the partial's origin alone, as Dovecot does. */
static int section_answer(struct buf *b, const struct imap_section *s)
{
	static const char *const texts[] = {
		[IMAP_SECTION_WHOLE] = "",
		[IMAP_SECTION_HEADER] = "HEADER",
		[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
		[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
		[IMAP_SECTION_TEXT] = "TEXT",
		[IMAP_SECTION_MIME] = "MIME",
	};
	const char *att = "BODY";

	if (s->att == IMAP_SECTION_ATT_BINARY_SIZE)
		att = "BINARY.SIZE";
	else if (s->att == IMAP_SECTION_ATT_BINARY || s->att == IMAP_SECTION_ATT_BINARY_PEEK)
		att = "BINARY";
	int r = buf_printf(b, "%s[", att);

	for (size_t i = 0; r == 0 && i < s->part_count; i++)
		r = buf_printf(b, "%s%u", i > 0 ? "." : "", s->parts[i]);
	if (r == 0 && s->text != IMAP_SECTION_WHOLE)
		r = buf_printf(b, "%s%s", s->part_count > 0 ? "." : "", texts[s->text]);
	if (r == 0 && s->field_count > 0) {
		r = buf_append_str(b, STR(" ("));
		for (size_t i = 0; r == 0 && i < s->field_count; i++) {
			if (i > 0)
				r = buf_putc(b, ' ');
			if (r == 0)
				r = field_answer(b, s, i);
		}
		if (r == 0)
			r = buf_putc(b, ')');
	}
	if (r == 0)
		r = buf_putc(b, ']');
	if (r == 0 && s->partial)
		r = buf_printf(b, "<%llu>", (unsigned long long)s->partial_offset);
	return r;
}

/* add_simple adds a simple item unless it is there already. */
static void add_simple(struct imap_fetch_plan *plan, enum fetch_kind kind)
{
	if ((plan->asked & (1u << kind)) != 0)
		return;
	plan->asked |= 1u << kind;
	plan->items[plan->count++] = (struct fetch_item){ .kind = kind };
	switch (kind) {
	case FETCH_ENVELOPE:
	case FETCH_BODY:
	case FETCH_BODYSTRUCTURE:
		plan->needs.meta = true;
		break;
	case FETCH_MODSEQ:
		plan->needs.modseq = true;
		break;
	case FETCH_RFC822:
		plan->needs.content = true;
		plan->needs.sets_seen = true;
		break;
	case FETCH_RFC822_TEXT:
		plan->needs.sets_seen = true;
		/* fall through */
	case FETCH_RFC822_HEADER:
		plan->needs.content = true;
		plan->needs.meta = true;
		break;
	default:
		break;
	}
}

/* add_section adds a BODY[...] / BINARY[...] item unless one with the
 * same answer is there already (BODY[1] and BODY.PEEK[1] answer alike). */
static int add_section(struct pool *pool, struct imap_fetch_plan *plan,
		       const struct imap_section *s, const char **error_r)
{
	struct buf name;

	/* The section came in one command line; quoting its field names at
	 * most doubles them (or adds a literal's "{n}" each). */
	buf_init(&name, 4 * IMAP_DEFAULT_MAX_LINE);
	if (section_answer(&name, s) < 0) {
		buf_free(&name);
		*error_r = "FETCH section too long";
		return -1;
	}
	struct str answer = pool_str(pool, buf_str(&name));
	buf_free(&name);
	if (answer.ptr == NULL) {
		*error_r = "[LIMIT] Out of memory";
		return -1;
	}
	if (s->att == IMAP_SECTION_ATT_BODY || s->att == IMAP_SECTION_ATT_BINARY)
		plan->needs.sets_seen = true;
	plan->needs.content = true;
	/* BODY[] alone is read with the message size; the rest needs parts. */
	if (s->part_count > 0 || s->text != IMAP_SECTION_WHOLE ||
	    s->att >= IMAP_SECTION_ATT_BINARY)
		plan->needs.meta = true;
	for (size_t i = 0; i < plan->count; i++)
		if (plan->items[i].kind == FETCH_SECTION && str_eq(plan->items[i].answer, answer))
			return 0;
	plan->items[plan->count++] = (struct fetch_item){
		.kind = FETCH_SECTION, .section = s, .answer = answer,
	};
	return 0;
}

/* add_item adds one fetch-att (an atom or a section). */
static int add_item(struct pool *pool, struct imap_fetch_plan *plan, const struct imap_arg *arg,
		    const char **error_r)
{
	if (arg->type == IMAP_ARG_SECTION)
		return add_section(pool, plan, arg->section, error_r);
	if (arg->type == IMAP_ARG_ATOM) {
		for (size_t i = 0; i < sizeof(simple_items) / sizeof(simple_items[0]); i++) {
			if (imap_arg_is_atom(arg, simple_items[i].name)) {
				add_simple(plan, simple_items[i].kind);
				return 0;
			}
		}
	}
	*error_r = "Unknown FETCH item";
	return -1;
}

/* add_macro expands ALL, FAST and FULL (RFC 9051 6.4.5); false when arg is
 * none of them. */
static bool add_macro(struct imap_fetch_plan *plan, const struct imap_arg *arg)
{
	bool all = imap_arg_is_atom(arg, "ALL"), full = imap_arg_is_atom(arg, "FULL");

	if (!all && !full && !imap_arg_is_atom(arg, "FAST"))
		return false;
	add_simple(plan, FETCH_FLAGS);
	add_simple(plan, FETCH_INTERNALDATE);
	add_simple(plan, FETCH_RFC822_SIZE);
	if (all || full)
		add_simple(plan, FETCH_ENVELOPE);
	if (full)
		add_simple(plan, FETCH_BODY);
	return true;
}

/* parse_modifiers reads "(CHANGEDSINCE n VANISHED)" (RFC 7162 3.1.4, 3.2.6). */
static int parse_modifiers(struct imap_fetch_plan *plan, const struct imap_arg *arg,
			   const char **error_r)
{
	const struct imap_arg *mods;
	size_t count;

	if (!imap_arg_get_list(arg, &mods, &count) || count == 0) {
		*error_r = "Invalid FETCH modifiers";
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (imap_arg_is_atom(&mods[i], "CHANGEDSINCE") && !plan->needs.changedsince) {
			/* mod-sequence-value: at most 2^63-1 */
			if (i + 1 == count || mods[i + 1].type != IMAP_ARG_ATOM ||
			    str_to_u64(mods[i + 1].text, INT64_MAX,
				       &plan->needs.changedsince_modseq) < 0) {
				*error_r = "Invalid CHANGEDSINCE value";
				return -1;
			}
			plan->needs.changedsince = true;
			i++;
		} else if (imap_arg_is_atom(&mods[i], "VANISHED") && !plan->needs.vanished) {
			plan->needs.vanished = true;
		} else {
			*error_r = "Unknown or repeated FETCH modifier";
			return -1;
		}
	}
	return 0;
}

int imap_fetch_parse(struct pool *pool, const struct imap_arg *args, size_t count, bool uid,
		     struct imap_fetch_plan **plan_r, const char **error_r)
{
	const struct imap_arg *list = args;
	size_t list_count = 1;

	*plan_r = NULL;
	if (count == 0 || count > 2) {
		*error_r = count == 0 ? "FETCH items missing" : "Too many FETCH arguments";
		return -1;
	}
	if (args[0].type == IMAP_ARG_LIST)
		(void)imap_arg_get_list(&args[0], &list, &list_count);
	/* Macros expand to at most five items. */
	if (list_count > IMAP_FETCH_MAX_ITEMS) {
		*error_r = "Too many FETCH items";
		return -1;
	}
	struct imap_fetch_plan *plan = pool_alloc(pool, sizeof(*plan));
	struct fetch_item *items = pool_alloc(pool, (list_count + 5) * sizeof(*items));
	if (plan == NULL || items == NULL) {
		*error_r = "[LIMIT] Out of memory";
		return -1;
	}
	plan->items = items;
	if (args[0].type != IMAP_ARG_LIST && add_macro(plan, &args[0])) {
		/* done */
	} else {
		for (size_t i = 0; i < list_count; i++)
			if (add_item(pool, plan, &list[i], error_r) < 0)
				return -1;
	}
	if (count == 2 && parse_modifiers(plan, &args[1], error_r) < 0)
		return -1;
	plan->uid_first = uid && (plan->asked & (1u << FETCH_UID)) == 0;
	if (plan->count == 0 && !plan->uid_first) {
		*error_r = "FETCH items missing";
		return -1;
	}
	*plan_r = plan;
	return 0;
}

/* item_is_head: does item need of the meta at most the message's own
 * header section (what a head from store_message_head_list holds)? */
static bool item_is_head(const struct fetch_item *item)
{
	const struct imap_section *s = item->section;

	switch (item->kind) {
	case FETCH_ENVELOPE:
	case FETCH_BODY:
	case FETCH_BODYSTRUCTURE:
	case FETCH_RFC822:
	case FETCH_RFC822_TEXT:
		return false;
	case FETCH_SECTION:
		return s->part_count == 0 && s->att < IMAP_SECTION_ATT_BINARY &&
		       (s->text == IMAP_SECTION_HEADER || s->text == IMAP_SECTION_HEADER_FIELDS ||
			s->text == IMAP_SECTION_HEADER_FIELDS_NOT);
	default:
		return true;
	}
}

/* item_is_envelope: is item ENVELOPE or one that reads only the message's
 * state (what store_message_envelope_list gives)? */
static bool item_is_envelope(const struct fetch_item *item)
{
	switch (item->kind) {
	case FETCH_ENVELOPE:
	case FETCH_FLAGS:
	case FETCH_UID:
	case FETCH_INTERNALDATE:
	case FETCH_RFC822_SIZE:
	case FETCH_MODSEQ:
		return true;
	default:
		return false;
	}
}

void imap_fetch_plan_needs(const struct imap_fetch_plan *plan, struct imap_fetch_needs *needs_r)
{
	*needs_r = plan->needs;
	needs_r->head = plan->needs.meta;
	needs_r->envelope = plan->needs.meta;
	for (size_t i = 0; i < plan->count; i++) {
		const struct fetch_item *item = &plan->items[i];
		needs_r->head = needs_r->head && item_is_head(item);
		needs_r->envelope = needs_r->envelope && item_is_envelope(item);
	}
}

