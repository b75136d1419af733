#ifndef RAVELIN_VCARD_H
#define RAVELIN_VCARD_H
/*
 * vcard: our own reader of vCard 3.0 (RFC 2426) and 4.0 (RFC 6350) for
 * CardDAV: the checks a stored address object must pass (RFC 6352 5.1,
 * 6.3.2.1) and the addressbook-query filter (RFC 6352 10.5).  The card is
 * read whole from memory (an address object is at most the store's
 * DAV_MAX_OBJECT_SIZE); nothing is written.
 *
 * Accepted: content lines `group.NAME;param=value;param="quoted":value`
 * ended by CRLF or a bare LF (clients send both), folded by a line break
 * and one space or tab; exactly one BEGIN:VCARD ... END:VCARD with nothing
 * but empty lines after it; VERSION 3.0 or 4.0; FN and UID present once.
 * The text must be UTF-8 without control characters but TAB (the card goes
 * into XML answers as it is).  A 3.0 parameter without "=" (TEL;CELL:, as
 * 2.1 wrote them) is read as a TYPE value.
 */
#include <stdbool.h>
#include <stddef.h>

#include "ical/collation.h"
#include "lib/str.h"

/* Content lines in one card: a big contact has a few hundred; the bound
 * keeps a query's work per card in proportion to a real one. */
#define VCARD_MAX_LINES 5000
/* Octets in one unfolded content line: an inline PHOTO (base64) may fill
 * most of a card, and a card is at most 1 MB (DAV_MAX_OBJECT_SIZE). */
#define VCARD_MAX_LINE (1024 * 1024)
/* Parameters on one content line: real cards carry a handful (TYPE,
 * PREF, VALUE, LABEL...); 64 leaves room for any client. */
#define VCARD_MAX_PARAMS 64

struct vcard_info { char uid[256]; unsigned version; /* 30 or 40 */ };
/* vcard_validate checks data as one address object resource: 0 with *info
 * (uid as written, version), or -1 with *precondition_r
 * ("supported-address-data" for a version other than 3.0/4.0,
 * "valid-address-data" otherwise) and *error_r (static text). */
int vcard_validate(struct str data, struct vcard_info *info, const char **precondition_r /* "valid-address-data", "supported-address-data" */, const char **error_r);

struct vcard_text_match { struct str text; enum collation collation; enum match_type match; bool negate; };
struct vcard_param_filter { struct str name; bool is_not_defined; bool has_text; struct vcard_text_match text; };
struct vcard_prop_filter { struct str name; bool is_not_defined; bool all_of; struct vcard_text_match *texts; size_t text_count;
  struct vcard_param_filter *params; size_t param_count; };
struct vcard_filter { bool all_of; struct vcard_prop_filter *props; size_t prop_count; };
/* vcard_match: whether data passes f (RFC 6352 10.5): prop-filters combined
 * by f->all_of (anyof otherwise; none: every card), each satisfied when
 * its property (name without group, any case) is absent for
 * is-not-defined, else present and its text-matches and param-filters,
 * each met by some instance of the property, combined by its all_of (none:
 * present is enough).  Text is matched against the value with its
 * backslash escapes undone; a parameter's values one by one (split at
 * commas unless quoted).  1, 0, or -1 (not a card we read; *error_r). */
int vcard_match(struct str data, const struct vcard_filter *f, const char **error_r); /* 1, 0, -1 */

#endif
