#ifndef RAVELIN_IMAP_MATCH_H
#define RAVELIN_IMAP_MATCH_H
/*
 * imap-match: LIST and LSUB patterns (RFC 9051 6.3.9): '*' matches any
 * text, '%' any text without the hierarchy delimiter, every other octet
 * itself.  The time is bounded by the name's length times the longest
 * stretch of the pattern between two '*' (never exponential, whatever the
 * wildcards), and no memory is allocated.
 */
#include <stdbool.h>

/* The longest pattern matched (the reference and the pattern together).
 * The store takes mailbox names of at most 1024 octets, so a pattern of
 * more literal octets matches nothing, and more wildcards than that only
 * add work: a longer pattern is refused with NO [LIMIT]. */
#define IMAP_MATCH_MAX_PATTERN 1024u

/* imap_match is true if name matches pattern (both NUL-terminated, case
 * sensitive; INBOX's case is the caller's).  A pattern longer than
 * IMAP_MATCH_MAX_PATTERN matches nothing. */
bool imap_match(const char *name, const char *pattern, char delimiter);

#endif
