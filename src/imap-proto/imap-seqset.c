/*
 * imap-seqset: sequence sets as bounded range arrays (see imap-seqset.h).
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 */
#include "imap-seqset.h"

#include <assert.h>
#include <stdlib.h>

#define ERR_SEQSET "Invalid sequence set"
#define ERR_SEQSET_RANGES "Too many ranges in sequence set"

/* parse_seq_number reads nz-number or "*" at text[*pos]. */
static bool parse_seq_number(struct str text, size_t *pos, uint32_t *n_r)
{
	size_t i = *pos;

	if (i < text.len && text.ptr[i] == '*') {
		*pos = i + 1;
		*n_r = IMAP_SEQ_STAR;
		return true;
	}
	if (i >= text.len || text.ptr[i] < '1' || text.ptr[i] > '9')
		return false;
	uint64_t n = 0;
	while (i < text.len && text.ptr[i] >= '0' && text.ptr[i] <= '9') {
		n = n * 10 + (uint64_t)(text.ptr[i] - '0');
		if (n > UINT32_MAX)
			return false;
		i++;
	}
	*pos = i;
	*n_r = (uint32_t)n;
	return true;
}

int imap_seqset_parse(struct pool *pool, struct str text, size_t max_ranges,
		      struct imap_seqset *set_r, const char **error_r)
{
	size_t elements = 1;

	if (max_ranges == 0)
		max_ranges = IMAP_SEQSET_MAX_RANGES;
	set_r->ranges = NULL;
	set_r->count = 0;
	set_r->saved = false;
	*error_r = ERR_SEQSET;
	if (text.len == 0)
		return -1;
	for (size_t i = 0; i < text.len; i++)
		if (text.ptr[i] == ',')
			elements++;
	if (elements > max_ranges) {
		*error_r = ERR_SEQSET_RANGES;
		return -1;
	}
	struct imap_seq_range *ranges = pool_alloc(pool, elements * sizeof(*ranges));
	if (ranges == NULL) {
		*error_r = ERR_SEQSET_RANGES;
		return -1;
	}
	size_t pos = 0, count = 0;
	for (;;) {
		if (pos < text.len && text.ptr[pos] == '$') {
			set_r->saved = true;
			pos++;
		} else {
			struct imap_seq_range r;
			if (!parse_seq_number(text, &pos, &r.first))
				return -1;
			r.last = r.first;
			if (pos < text.len && text.ptr[pos] == ':') {
				pos++;
				if (!parse_seq_number(text, &pos, &r.last))
					return -1;
			}
			assert(count < elements);
			ranges[count++] = r;
		}
		if (pos == text.len)
			break;
		if (text.ptr[pos++] != ',')
			return -1;
	}
	set_r->ranges = ranges;
	set_r->count = count;
	return 0;
}

/* range_cmp orders ranges by their first number (for qsort). */
static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

void imap_seqset_normalize(struct imap_seqset *set, uint32_t star)
{
	size_t out = 0;

	for (size_t i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];
		if (r.first == IMAP_SEQ_STAR)
			r.first = star;
		if (r.last == IMAP_SEQ_STAR)
			r.last = star;
		if (r.first > r.last) {
			uint32_t t = r.first;
			r.first = r.last;
			r.last = t;
		}
		if (r.first == 0)
			r.first = 1;
		if (r.last == 0)
			continue; /* "*" alone in an empty mailbox */
		set->ranges[out++] = r;
	}
	set->count = out;
	if (out == 0)
		return;
	qsort(set->ranges, set->count, sizeof(set->ranges[0]), range_cmp);
	out = 0;
	for (size_t i = 1; i < set->count; i++) {
		struct imap_seq_range *cur = &set->ranges[out];
		struct imap_seq_range next = set->ranges[i];
		if (cur->last == UINT32_MAX || next.first <= cur->last + 1) {
			if (next.last > cur->last)
				cur->last = next.last;
		} else {
			set->ranges[++out] = next;
		}
	}
	set->count = out + 1;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct imap_seq_range *r = &set->ranges[mid];
		if (n < r->first)
			hi = mid;
		else if (n > r->last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	for (size_t i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].last - set->ranges[i].first + 1;
	return n;
}

/* print_number writes a sequence number or "*". */
static int print_number(struct buf *out, uint32_t n)
{
	return n == IMAP_SEQ_STAR ? buf_putc(out, '*') : buf_printf(out, "%u", (unsigned)n);
}

int imap_seqset_print(const struct imap_seqset *set, struct buf *out)
{
	bool first = true;

	if (set->saved) {
		if (buf_putc(out, '$') < 0)
			return -1;
		first = false;
	}
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];
		if (!first && buf_putc(out, ',') < 0)
			return -1;
		first = false;
		if (print_number(out, r->first) < 0)
			return -1;
		if (r->last != r->first && (buf_putc(out, ':') < 0 || print_number(out, r->last) < 0))
			return -1;
	}
	return 0;
}
