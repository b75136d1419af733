/*
 * imap-search-return: ESEARCH answers of SEARCH and SORT (see
 * imap-search-return.h).
 */
#include "imap-search-return.h"

int imap_search_return_write_set(struct buf *out, const uint32_t *nums, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && nums[j + 1] == nums[j] + 1)
			j++;
		if (i > 0 && buf_putc(out, ',') < 0)
			return -1;
		if (j == i ? buf_printf(out, "%u", (unsigned)nums[i]) < 0
			   : buf_printf(out, "%u:%u", (unsigned)nums[i], (unsigned)nums[j]) < 0)
			return -1;
		i = j + 1;
	}
	return 0;
}

int imap_search_return_write_tag(struct buf *out, struct str tag, bool uid)
{
	if (buf_printf(out, "* ESEARCH (TAG \"") < 0)
		return -1;
	/* A tag is an atom, so escaping never happens in practice. */
	for (size_t i = 0; i < tag.len; i++) {
		if ((tag.ptr[i] == '"' || tag.ptr[i] == '\\') && buf_putc(out, '\\') < 0)
			return -1;
		if (buf_putc(out, tag.ptr[i]) < 0)
			return -1;
	}
	return buf_printf(out, uid ? "\") UID" : "\")");
}

void imap_search_return_partial(const struct imap_search_partial *partial, size_t n,
				size_t *start_r, size_t *end_r)
{
	uint64_t first = partial->first, last = partial->last;

	*start_r = *end_r = 0;
	if (first > n)
		return;
	if (last > n)
		last = n;
	if (partial->from_end) {
		/* -1 is the last: -first..-last are indexes n-last .. n-first */
		*start_r = (size_t)(n - last);
		*end_r = (size_t)(n - first + 1);
	} else {
		*start_r = (size_t)(first - 1);
		*end_r = (size_t)last;
	}
}

/* max_modseq is the highest of modseqs[start..end). */
static uint64_t max_modseq(const uint64_t *modseqs, size_t start, size_t end, uint64_t modseq)
{
	for (size_t i = start; i < end; i++)
		if (modseqs[i] > modseq)
			modseq = modseqs[i];
	return modseq;
}

int imap_search_return_write(struct buf *out, struct str tag, bool uid,
			     const struct imap_search_program *prog, const uint32_t *nums,
			     const uint64_t *modseqs, size_t n, bool with_modseq)
{
	unsigned opts = prog->return_options;
	bool all = (opts & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) != 0;
	uint64_t modseq = 0;
	size_t start = 0, end = 0;

	if (imap_search_return_write_tag(out, tag, uid) < 0)
		return -1;
	if (n > 0) {
		if ((opts & IMAP_SEARCH_RETURN_MIN) && buf_printf(out, " MIN %u", (unsigned)nums[0]) < 0)
			return -1;
		if ((opts & IMAP_SEARCH_RETURN_MAX) &&
		    buf_printf(out, " MAX %u", (unsigned)nums[n - 1]) < 0)
			return -1;
		if ((opts & IMAP_SEARCH_RETURN_ALL) &&
		    (buf_printf(out, " ALL ") < 0 || imap_search_return_write_set(out, nums, n) < 0))
			return -1;
		if (modseqs != NULL) {
			modseq = max_modseq(modseqs, 0, all ? n : 0, 0);
			if (opts & IMAP_SEARCH_RETURN_MIN)
				modseq = max_modseq(modseqs, 0, 1, modseq);
			if (opts & IMAP_SEARCH_RETURN_MAX)
				modseq = max_modseq(modseqs, n - 1, n, modseq);
		}
	}
	if (opts & IMAP_SEARCH_RETURN_PARTIAL) {
		const struct imap_search_partial *pa = &prog->partial;
		imap_search_return_partial(pa, n, &start, &end);
		if (buf_printf(out, pa->from_end ? " PARTIAL (-%u:-%u " : " PARTIAL (%u:%u ",
			       (unsigned)pa->first, (unsigned)pa->last) < 0)
			return -1;
		if (start == end ? buf_printf(out, "NIL") < 0
				 : imap_search_return_write_set(out, nums + start, end - start) < 0)
			return -1;
		if (buf_putc(out, ')') < 0)
			return -1;
		if (modseqs != NULL)
			modseq = max_modseq(modseqs, start, end, modseq);
	}
	if ((opts & IMAP_SEARCH_RETURN_COUNT) && buf_printf(out, " COUNT %zu", n) < 0)
		return -1;
	if (with_modseq && modseq > 0 && buf_printf(out, " MODSEQ %llu", (unsigned long long)modseq) < 0)
		return -1;
	return buf_printf(out, "\r\n");
}
