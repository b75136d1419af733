#ifndef RAVELIN_IMAP_SECTION_H
#define RAVELIN_IMAP_SECTION_H
/*
 * imap-section: parsing a FETCH item with a section into struct
 * imap_section (imap-parser.h).  Internal to imap-proto: the command
 * parser calls it on every atom.  Pure: linked into the pre-auth process.
 */
#include <stdint.h>

#include "imap-parser.h"
#include "lib/pool.h"
#include "lib/str.h"

enum imap_section_parse_result {
	IMAP_SECTION_PARSE_OK = 1,         /* *section_r is the parsed item */
	IMAP_SECTION_PARSE_NONE = 0,       /* text is not an item with a section */
	IMAP_SECTION_PARSE_INVALID = -1,   /* it is one, but malformed */
	IMAP_SECTION_PARSE_NO_MEMORY = -2, /* the pool is full */
	IMAP_SECTION_PARSE_TOO_MANY = -3,  /* more header field names than max_fields */
};

/*
 * imap_section_parse reads the atom text as a FETCH item with a section;
 * everything it returns is allocated from pool.  max_fields is how many
 * HEADER.FIELDS names the command may still hold (each counts as one of
 * its arguments); (*section_r)->field_count says how many were taken.
 * Returns an enum imap_section_parse_result.
 */
int imap_section_parse(struct pool *pool, struct str text, uint64_t max_fields,
		       struct imap_section **section_r);

#endif
