/* imap-flags: flags and keywords between IMAP text and the store (see imap-flags.h). */
#include "imap-flags.h"

#include <string.h>

#include "imap-proto/imap-quote.h"

static const struct {
	const char *name;
	uint32_t bit;
} system_flags[] = {
	{ "\\Seen", STORE_FLAG_SEEN },       { "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED }, { "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Draft", STORE_FLAG_DRAFT },
};

int imap_flags_write(struct buf *out, uint32_t flags, uint64_t keywords,
		     const char *const *names, size_t name_count)
{
	bool first = true;

	if (buf_putc(out, '(') < 0)
		return -1;
	for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
		if ((flags & system_flags[i].bit) == 0)
			continue;
		if (buf_printf(out, "%s%s", first ? "" : " ", system_flags[i].name) < 0)
			return -1;
		first = false;
	}
	if (flags & STORE_FLAG_RECENT) {
		if (buf_printf(out, "%s\\Recent", first ? "" : " ") < 0)
			return -1;
		first = false;
	}
	for (size_t i = 0; i < name_count && i < 64; i++) {
		if ((keywords & (UINT64_C(1) << i)) == 0 || names[i] == NULL)
			continue;
		if (buf_printf(out, "%s%s", first ? "" : " ", names[i]) < 0)
			return -1;
		first = false;
	}
	return buf_putc(out, ')');
}

/* keyword_valid: an IMAP atom without the atom-specials and "]" (flag-keyword). */
static bool keyword_valid(struct str s)
{
	return s.len <= STORE_KEYWORD_LEN_MAX && imap_quote_is_atom(s);
}

static int flag_one(struct store *store, const struct imap_arg *arg, bool create,
		    uint32_t *flags, uint64_t *keywords, const char **error_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL) {
		*error_r = "Flags must be atoms";
		return IMAP_FLAGS_BAD;
	}
	struct str s = arg->text;
	if (s.len > 0 && s.ptr[0] == '\\') {
		for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++)
			if (str_case_eq(s, str_c(system_flags[i].name))) {
				*flags |= system_flags[i].bit;
				return STORE_OK;
			}
		if (str_case_eq(s, STR("\\Recent")))
			return STORE_OK;
		*error_r = "Unknown system flag";
		return IMAP_FLAGS_BAD;
	}
	if (!keyword_valid(s)) {
		*error_r = "Invalid keyword";
		return IMAP_FLAGS_BAD;
	}
	unsigned index;
	int ret = store_keyword_index(store, s.ptr, create, &index, error_r);
	if (ret == STORE_NOT_FOUND && !create)
		return STORE_OK;
	if (ret != STORE_OK)
		return ret;
	*keywords |= UINT64_C(1) << index;
	return STORE_OK;
}

int imap_flags_parse(struct store *store, const struct imap_arg *arg, bool create,
		     uint32_t *flags_r, uint64_t *keywords_r, const char **error_r)
{
	const struct imap_arg *items = arg;
	size_t count = 1;

	*flags_r = 0;
	*keywords_r = 0;
	if (arg->type == IMAP_ARG_LIST && !imap_arg_get_list(arg, &items, &count))
		return IMAP_FLAGS_BAD;
	for (size_t i = 0; i < count; i++) {
		int ret = flag_one(store, &items[i], create, flags_r, keywords_r, error_r);
		if (ret != STORE_OK)
			return ret;
	}
	return STORE_OK;
}
