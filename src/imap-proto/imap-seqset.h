#ifndef RAVELIN_IMAP_SEQSET_H
#define RAVELIN_IMAP_SEQSET_H
/*
 * imap-seqset: sequence sets (RFC 9051 sequence-set, RFC 5182 "$") as a
 * bounded array of ranges.  No I/O; the array lives in the caller's pool.
 *
 *   1,3:5,7:*   ranges {1,1} {3,5} {7,*}
 *   $           the saved result of the last SEARCH (RFC 5182): no range,
 *               saved is set; the caller substitutes the saved set.
 *
 * Ranges are kept as sent ("5:1" stays {5,1}, "*" is IMAP_SEQ_STAR) until
 * imap_seqset_normalize is given the value "*" stands for.
 *
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/str.h"

/* Ranges in one set.  A client resynchronising a 100,000-message mailbox
 * with scattered flags sends a few thousand ranges; 10000 keeps the
 * array at 80 KB while no real set is refused. */
#define IMAP_SEQSET_MAX_RANGES 10000
/* "*" in a range: 0 is no valid sequence number or UID (nz-number). */
#define IMAP_SEQ_STAR 0

struct imap_seq_range {
	uint32_t first;
	uint32_t last;
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	size_t count;
	bool saved;   /* "$" was part of the set */
};

/*
 * imap_seqset_parse parses text into *set_r with at most max_ranges ranges
 * (0: IMAP_SEQSET_MAX_RANGES), the array allocated from pool.  Numbers
 * are nz-number (1..4294967295, no leading zero).  Returns 0, or -1 with a
 * static text for BAD in *error_r.
 */
int imap_seqset_parse(struct pool *pool, struct str text, size_t max_ranges,
		      struct imap_seqset *set_r, const char **error_r);
/*
 * imap_seqset_normalize replaces "*" by star (the largest number in use;
 * 0 for an empty mailbox, in which case ranges are clamped to start at 1),
 * orders each range, sorts the ranges and merges overlapping and adjacent
 * ones.  saved is left alone.
 */
void imap_seqset_normalize(struct imap_seqset *set, uint32_t star);
/* imap_seqset_contains: is n in a normalised set (binary search)? */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* imap_seqset_count is how many numbers a normalised set holds. */
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* imap_seqset_print writes the set as IMAP text ("$" first when saved);
 * returns 0, or -1 when out is full. */
int imap_seqset_print(const struct imap_seqset *set, struct buf *out);

#endif
