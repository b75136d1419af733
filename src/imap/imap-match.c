/*
 * imap-match: LIST wildcards (see imap-match.h).
 *
 * The pattern is cut at each '*' into blocks of octets and '%'.  The
 * blocks are found in the name from left to right, each ending as early
 * as it can: the '*' after a block absorbs whatever lies between its
 * earliest end and any later one, so the earliest end never loses a
 * match and nothing is retried.  A block is found by running its states
 * over the name once (state j: the first j elements of the block are
 * matched), so a name of n octets costs n times the block's length.  The
 * first block starts at the name's start unless the pattern starts with
 * '*'; the last block ends at the name's end unless the pattern ends with
 * '*'.
 */
#include "imap-match.h"

#include <string.h>

/* close_percent: a '%' may match nothing, so a state before one is also
 * the state after it. */
static void close_percent(bool *state, const char *block, size_t len)
{
	for (size_t j = 0; j < len; j++)
		if (state[j] && block[j] == '%')
			state[j + 1] = true;
}

/*
 * block_end finds block (len elements) in name from *pos: starting at
 * *pos only if anchored, else anywhere from there; ending as early as
 * possible, or at the name's end only if last.  Moves *pos to the end
 * and returns true, or returns false if the block is not there.
 */
static bool block_end(const char *name, size_t n, size_t *pos, const char *block, size_t len,
		      bool anchored, bool last, char delimiter)
{
	bool a[IMAP_MATCH_MAX_PATTERN + 1], b[IMAP_MATCH_MAX_PATTERN + 1];
	bool *state = a, *next = b;

	memset(state, 0, (len + 1) * sizeof(*state));
	state[0] = true;
	close_percent(state, block, len);
	for (size_t t = *pos;; t++) {
		if (state[len] && (!last || t == n)) {
			*pos = t;
			return true;
		}
		if (t == n)
			return false;
		char c = name[t];
		bool any = false;
		memset(next, 0, (len + 1) * sizeof(*next));
		for (size_t j = 0; j < len; j++) {
			if (!state[j])
				continue;
			if (block[j] == '%')
				next[j] = next[j] || c != delimiter;
			else if (block[j] == c)
				next[j + 1] = true;
		}
		if (!anchored)
			next[0] = true;  /* the '*' before the block skipped c */
		close_percent(next, block, len);
		for (size_t j = 0; j <= len && !any; j++)
			any = next[j];
		if (!any)
			return false;
		bool *swap = state;
		state = next;
		next = swap;
	}
}

bool imap_match(const char *name, const char *pattern, char delimiter)
{
	size_t n = strlen(name), m = strlen(pattern);
	size_t pos = 0, p = 0;
	bool anchored = true;

	if (m > IMAP_MATCH_MAX_PATTERN)
		return false;
	for (;;) {
		while (pattern[p] == '*') {
			anchored = false;
			p++;
		}
		if (p == m)
			return !anchored || pos == n;
		const char *star = strchr(pattern + p, '*');
		size_t len = star != NULL ? (size_t)(star - (pattern + p)) : m - p;
		if (!block_end(name, n, &pos, pattern + p, len, anchored, star == NULL, delimiter))
			return false;
		p += len;
		if (p == m)
			return true;
	}
}
