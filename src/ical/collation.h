#ifndef RAVELIN_COLLATION_H
#define RAVELIN_COLLATION_H
/*
 * collation: the text matching of CalDAV and CardDAV queries (RFC 4790
 * collations named by RFC 4791 7.5 and RFC 6352 8.3): i;ascii-casemap,
 * i;unicode-casemap (RFC 5051) and i;octet, each with the four match types
 * of RFC 6352 10.5.4 (CalDAV's text-match is "contains").
 */
#include <stdbool.h>

#include "lib/str.h"

enum collation { COLLATION_ASCII_CASEMAP, COLLATION_UNICODE_CASEMAP, COLLATION_OCTET };
enum match_type { MATCH_EQUALS, MATCH_CONTAINS, MATCH_STARTS_WITH, MATCH_ENDS_WITH };

/* collation_from_name: "i;ascii-casemap", "i;unicode-casemap" or "i;octet"
 * (exactly, as RFC 4790 names are compared octet by octet): 0 with *c, -1
 * unsupported (the caller answers supported-collation). */
int collation_from_name(struct str name, enum collation *c); /* "i;ascii-casemap" "i;unicode-casemap" "i;octet"; -1 unsupported */
/* collation_match: whether value matches text under c and m.  An empty text
 * matches every value for contains/starts-with/ends-with.  For
 * i;unicode-casemap a value or text that is not valid UTF-8 is compared
 * with i;ascii-casemap instead.  Out of memory: false. */
bool collation_match(enum collation c, enum match_type m, struct str value, struct str text);
/* collation_match_type_from_name: "equals", "contains", "starts-with",
 * "ends-with": 0 with *m, -1 unknown. */
int collation_match_type_from_name(struct str name, enum match_type *m);

#endif
