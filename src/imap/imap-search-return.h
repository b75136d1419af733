#ifndef RAVELIN_IMAP_SEARCH_RETURN_H
#define RAVELIN_IMAP_SEARCH_RETURN_H
/*
 * imap-search-return: the ESEARCH answer (RFC 4731) of SEARCH and of SORT
 * (RFC 5267 ESORT) from a result in answer order: MIN, MAX, ALL, COUNT,
 * PARTIAL (RFC 9394) and MODSEQ (RFC 4731 3.2), and the sequence sets of
 * the CONTEXT=SEARCH updates.  No I/O, no store: numbers in, text out.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-proto/imap-search.h"
#include "lib/buf.h"
#include "lib/str.h"

/*
 * imap_search_return_write_set writes nums[0..n) in their own order as a
 * sequence set, each ascending run of consecutive numbers as a range:
 * "2:4,7" for a SEARCH, "5,3:4,2" for a SORT (whose order a range must
 * not change).  Returns 0, or -1 when out is full.
 */
int imap_search_return_write_set(struct buf *out, const uint32_t *nums, size_t n);

/* imap_search_return_write_tag writes `* ESEARCH (TAG "tag")` and " UID"
 * when uid.  Returns 0, or -1 when out is full. */
int imap_search_return_write_tag(struct buf *out, struct str tag, bool uid);

/*
 * imap_search_return_partial gives the window of a result of n numbers
 * that partial asks for, as indexes [*start_r, *end_r) (empty when the
 * range lies past the result).
 */
void imap_search_return_partial(const struct imap_search_partial *partial, size_t n,
				size_t *start_r, size_t *end_r);

/*
 * imap_search_return_write writes the whole ESEARCH line for prog's
 * RETURN options (SAVE and UPDATE write nothing of their own) over the
 * result nums[0..n) in answer order (ascending for SEARCH, the sort order
 * for SORT, where MIN and MAX are the first and the last).  MIN, MAX and
 * ALL come only when something matched, COUNT and PARTIAL always (an
 * empty window is NIL).  With with_modseq, MODSEQ is the highest of
 * modseqs[] over the numbers returned: MIN and/or MAX alone when only
 * those were asked, the window for PARTIAL, else all (none returned: no
 * MODSEQ).  Returns 0, or -1 when out is full.
 */
int imap_search_return_write(struct buf *out, struct str tag, bool uid,
			     const struct imap_search_program *prog, const uint32_t *nums,
			     const uint64_t *modseqs, size_t n, bool with_modseq);

#endif
