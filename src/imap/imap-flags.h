#ifndef RAVELIN_IMAP_FLAGS_H
#define RAVELIN_IMAP_FLAGS_H
/*
 * imap-flags: system flags and keywords between IMAP text and the store's
 * bit sets (STORE_FLAG_*, keyword numbers of store_keyword_list).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-proto/imap-parser.h"
#include "lib/buf.h"
#include "store/store.h"

/* "\Seen \Answered \Flagged \Deleted \Draft" and the keywords, as IMAP
 * writes them in FLAGS; the PERMANENTFLAGS list adds "\*". */
#define IMAP_SYSTEM_FLAGS "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

/*
 * imap_flags_write writes "(\Seen $Forwarded ...)" for flags and keywords
 * (bit i named names[i]; bits without a name are skipped).  Returns 0, or
 * -1 when out is full.
 */
int imap_flags_write(struct buf *out, uint32_t flags, uint64_t keywords,
		     const char *const *names, size_t name_count);

/*
 * imap_flags_parse reads a flag list (a LIST argument, or one atom) into a
 * flag bit set and keyword bits, creating keywords in the store's table
 * when create is set (STORE, APPEND) or skipping unknown ones when not.
 * \Recent is ignored.  Returns STORE_OK, IMAP_FLAGS_BAD (syntax: unknown
 * \flag, not an atom; *error_r for BAD) or a store status (STORE_LIMIT:
 * keyword table full).
 */
#define IMAP_FLAGS_BAD (-100)
int imap_flags_parse(struct store *store, const struct imap_arg *arg, bool create,
		     uint32_t *flags_r, uint64_t *keywords_r, const char **error_r);

#endif
