/*
 * imap-search-update: kept SEARCH and SORT results (see
 * imap-search-update.h).
 *
 * A result is kept as UIDs in answer order; the client is told sequence
 * numbers (converted through the view when it is told) or UIDs.  The
 * difference of a SEARCH is two ascending sets; for a SORT, removals go
 * from the last position to the first and additions from the first to
 * the last, so that each position holds when the client applies them in
 * turn (RFC 5267 4.3).  A kept SORT is not reordered: its criteria are
 * fields a message never changes.
 */
#include "imap-search-update.h"
#include "imap-session-private.h"

#include <stdlib.h>
#include <string.h>

#include "imap-search-return.h"
#include "lib/log.h"

struct imap_search_update {
	struct imap_search_kept *kept;
	bool uid;
	char tag[IMAP_DEFAULT_MAX_TAG + 1];
};

struct imap_search_updates {
	struct imap_search_update list[IMAP_SEARCH_MAX_UPDATES];
	size_t count;
};

static bool view_is_recent(const void *ctx, uint32_t uid)
{
	return session_is_recent(ctx, uid);
}

void imap_search_update_view(struct imap_session *s, struct imap_search_view *view)
{
	*view = (struct imap_search_view){
		.store = s->store, .mailbox = s->mailbox, .uids = s->uids, .count = s->count,
		.condstore = s->condstore, .utf8 = s->utf8, .saved_uids = &s->saved,
		.saved_count = &s->saved_count, .is_recent = view_is_recent, .recent_ctx = s,
	};
}

bool imap_search_update_room(const struct imap_session *s)
{
	return s->search_updates == NULL || s->search_updates->count < IMAP_SEARCH_MAX_UPDATES;
}

/* find gives the index of the result kept under tag, or -1. */
static long find(const struct imap_search_updates *us, struct str tag)
{
	for (size_t i = 0; us != NULL && i < us->count; i++)
		if (strlen(us->list[i].tag) == tag.len &&
		    memcmp(us->list[i].tag, tag.ptr, tag.len) == 0)
			return (long)i;
	return -1;
}

/* drop ends the i-th kept result. */
static void drop(struct imap_search_updates *us, size_t i)
{
	imap_search_kept_free(&us->list[i].kept);
	us->list[i] = us->list[--us->count];
}

void imap_search_update_add(struct imap_session *s, struct imap_search_kept *kept, bool uid,
			    struct str tag)
{
	if (s->search_updates == NULL &&
	    (s->search_updates = calloc(1, sizeof(*s->search_updates))) == NULL) {
		imap_search_kept_free(&kept);
		return;
	}
	struct imap_search_updates *us = s->search_updates;
	long old = find(us, tag);
	if (old >= 0)
		drop(us, (size_t)old);
	if (us->count == IMAP_SEARCH_MAX_UPDATES) {
		imap_search_kept_free(&kept);
		return;
	}
	struct imap_search_update *u = &us->list[us->count++];
	size_t n = tag.len < sizeof(u->tag) - 1 ? tag.len : sizeof(u->tag) - 1;
	u->kept = kept;
	u->uid = uid;
	memcpy(u->tag, tag.ptr, n);
	u->tag[n] = '\0';
}

int imap_search_update_cancel(struct imap_session *s, struct str tag)
{
	long i = find(s->search_updates, tag);
	if (i < 0)
		return -1;
	drop(s->search_updates, (size_t)i);
	return 0;
}

void imap_search_update_clear(struct imap_session *s)
{
	while (s->search_updates != NULL && s->search_updates->count > 0)
		drop(s->search_updates, s->search_updates->count - 1);
	free(s->search_updates);
	s->search_updates = NULL;
}

/* number_for is what the client calls uid: itself, or its sequence
 * number (0 when it is not in the view). */
static uint32_t number_for(const struct imap_session *s, const struct imap_search_update *u,
			   uint32_t uid)
{
	if (u->uid)
		return uid;
	long i = session_view_find(s, uid);
	return i < 0 ? 0 : (uint32_t)i + 1;
}

/* write_start writes `* ESEARCH (TAG "t") [UID] what (`. */
static void write_start(struct imap_session *s, const struct imap_search_update *u,
			const char *what)
{
	imap_search_return_write_tag(s->out, str_c(u->tag), u->uid);
	buf_printf(s->out, " %s (", what);
}

/*
 * write_search_set writes what (ADDTO or REMOVEFROM) with position 0 and
 * the numbers of uids[0..n) (ascending), nothing when none is left.
 */
static void write_search_set(struct imap_session *s, const struct imap_search_update *u,
			     const char *what, const uint32_t *uids, size_t n)
{
	uint32_t *nums = malloc((n + 1) * sizeof(*nums));
	size_t k = 0;

	for (size_t i = 0; nums != NULL && i < n; i++)
		if ((nums[k] = number_for(s, u, uids[i])) != 0)
			k++;
	if (k > 0) {
		write_start(s, u, what);
		buf_append(s->out, "0 ", 2);
		imap_search_return_write_set(s->out, nums, k);
		buf_append(s->out, ")\r\n", 3);
	}
	free(nums);
}

/* sorted_copy gives uids[0..n) sorted ascending (malloc'd), or NULL. */
static uint32_t *sorted_copy(const uint32_t *uids, size_t n)
{
	uint32_t *c = malloc((n + 1) * sizeof(*c));
	if (c != NULL && n > 0) {
		memcpy(c, uids, n * sizeof(*c));
		qsort(c, n, sizeof(*c), session_cmp_u32);
	}
	return c;
}

static bool has(const uint32_t *sorted, size_t n, uint32_t uid)
{
	return bsearch(&uid, sorted, n, sizeof(uid), session_cmp_u32) != NULL;
}

/*
 * write_sort_removals tells the removal of the kept messages that are not
 * in keep[0..nkeep) (ascending), last position first, and takes them out
 * of the kept result.
 */
static void write_sort_removals(struct imap_session *s, struct imap_search_update *u,
				const uint32_t *keep, size_t nkeep, bool keep_is_gone)
{
	struct imap_search_kept *k = u->kept;
	bool any = false;

	for (size_t i = k->count; i-- > 0;) {
		if (has(keep, nkeep, k->uids[i]) != keep_is_gone)
			continue;
		uint32_t num = number_for(s, u, k->uids[i]);
		if (num != 0) {
			if (!any)
				write_start(s, u, "REMOVEFROM");
			buf_printf(s->out, "%s%zu %u", any ? " " : "", i + 1, (unsigned)num);
			any = true;
		}
		memmove(&k->uids[i], &k->uids[i + 1], (k->count - i - 1) * sizeof(*k->uids));
		k->count--;
	}
	if (any)
		buf_append(s->out, ")\r\n", 3);
}

void imap_search_update_expunged(struct imap_session *s)
{
	struct imap_search_updates *us = s->search_updates;
	uint32_t *gone = NULL;

	if (us == NULL || us->count == 0 || s->pending_count == 0 ||
	    (gone = sorted_copy(s->pending_expunges, s->pending_count)) == NULL) {
		free(gone);
		return;
	}
	for (size_t i = 0; i < us->count; i++) {
		struct imap_search_update *u = &us->list[i];
		struct imap_search_kept *k = u->kept;
		if (!(k->prog.return_options & IMAP_SEARCH_RETURN_ALL))
			continue; /* MIN/MAX/COUNT: told by the refresh */
		if (k->crit_count > 0) {
			write_sort_removals(s, u, gone, s->pending_count, true);
			continue;
		}
		uint32_t *removed = malloc((k->count + 1) * sizeof(*removed));
		size_t nr = 0, nk = 0;
		if (removed == NULL)
			continue;
		for (size_t j = 0; j < k->count; j++) {
			if (has(gone, s->pending_count, k->uids[j]))
				removed[nr++] = k->uids[j];
			else
				k->uids[nk++] = k->uids[j];
		}
		k->count = nk;
		write_search_set(s, u, "REMOVEFROM", removed, nr);
		free(removed);
	}
	free(gone);
}

/* refresh_counts tells new MIN, MAX and COUNT of a result kept for those
 * alone, when one of them changed. */
static void refresh_counts(struct imap_session *s, struct imap_search_update *u,
			   const uint32_t *uids, size_t n)
{
	struct imap_search_kept *k = u->kept;
	bool changed = n != k->count ||
		       (n > 0 && (uids[0] != k->uids[0] || uids[n - 1] != k->uids[n - 1]));
	uint32_t *nums = malloc((n + 1) * sizeof(*nums));

	if (changed && nums != NULL) {
		for (size_t i = 0; i < n; i++)
			nums[i] = number_for(s, u, uids[i]);
		imap_search_return_write(s->out, str_c(u->tag), u->uid, &k->prog, nums, NULL, n,
					 false);
	}
	free(nums);
}

/* refresh_all tells the difference between the kept result and
 * uids[0..n), the result now, in answer order. */
static void refresh_all(struct imap_session *s, struct imap_search_update *u, const uint32_t *uids,
			size_t n)
{
	struct imap_search_kept *k = u->kept;
	uint32_t *now = sorted_copy(uids, n), *before = sorted_copy(k->uids, k->count);
	uint32_t *list = malloc((n + k->count + 1) * sizeof(*list));
	size_t nl = 0;

	if (now == NULL || before == NULL || list == NULL)
		goto out;
	if (k->crit_count > 0) {
		write_sort_removals(s, u, now, n, false);
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			if (has(before, k->count + 0, uids[i]))
				continue;
			if (!any)
				write_start(s, u, "ADDTO");
			buf_printf(s->out, "%s%zu %u", any ? " " : "", i + 1,
				   (unsigned)number_for(s, u, uids[i]));
			any = true;
		}
		if (any)
			buf_append(s->out, ")\r\n", 3);
		goto out;
	}
	for (size_t i = 0; i < k->count; i++)
		if (!has(now, n, k->uids[i]))
			list[nl++] = k->uids[i];
	write_search_set(s, u, "REMOVEFROM", list, nl);
	nl = 0;
	for (size_t i = 0; i < n; i++)
		if (!has(before, k->count, uids[i]))
			list[nl++] = uids[i];
	write_search_set(s, u, "ADDTO", list, nl);
out:
	free(now);
	free(before);
	free(list);
}

/*
 * touched_uids gives the view's messages among changed and expunged,
 * ascending and each once (malloc'd; NULL without memory).
 */
static uint32_t *touched_uids(const struct imap_session *s, const struct store_message *changed,
			      size_t nchanged, const uint32_t *expunged, size_t nexpunged,
			      size_t *count_r)
{
	uint32_t *t = malloc((nchanged + nexpunged + 1) * sizeof(*t));
	size_t n = 0, k = 0;

	*count_r = 0;
	if (t == NULL)
		return NULL;
	for (size_t i = 0; i < nchanged; i++)
		if (session_view_find(s, changed[i].uid) >= 0)
			t[n++] = changed[i].uid;
	for (size_t i = 0; i < nexpunged; i++)
		if (session_view_find(s, expunged[i]) >= 0)
			t[n++] = expunged[i];
	qsort(t, n, sizeof(*t), session_cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || t[k - 1] != t[i])
			t[k++] = t[i];
	*count_r = k;
	return t;
}

/*
 * merge_touched gives the kept SEARCH result (ascending) with the touched
 * messages replaced by hit, those of them that match now (malloc'd, NULL
 * without memory).
 */
static uint32_t *merge_touched(const struct imap_search_kept *k, const uint32_t *touched,
			       size_t nt, const uint32_t *hit, size_t nh, size_t *count_r)
{
	uint32_t *out = malloc((k->count + nh + 1) * sizeof(*out));
	size_t i = 0, j = 0, n = 0;

	while (out != NULL && (i < k->count || j < nh)) {
		if (i < k->count && has(touched, nt, k->uids[i])) {
			i++;
		} else if (j == nh || (i < k->count && k->uids[i] < hit[j])) {
			out[n++] = k->uids[i++];
		} else {
			if (i < k->count && k->uids[i] == hit[j])
				i++;
			out[n++] = hit[j++];
		}
	}
	*count_r = n;
	return out;
}

/* same_members: do the touched messages enter or leave the kept result? */
static bool same_members(const struct imap_search_kept *k, const uint32_t *touched, size_t nt,
			 const uint32_t *hit, size_t nh)
{
	uint32_t *before = sorted_copy(k->uids, k->count);
	bool same = before != NULL;

	for (size_t i = 0; same && i < nt; i++)
		same = has(before, k->count, touched[i]) == has(hit, nh, touched[i]);
	free(before);
	return same;
}

/* rerun gives the result of u now: of the touched messages alone when
 * the program allows (touched NULL: all). */
static int rerun(struct imap_search_update *u, const struct imap_search_view *view,
		 const uint32_t *touched, size_t nt, uint32_t **uids_r, size_t *count_r,
		 const char **error_r)
{
	struct imap_search_kept *k = u->kept;
	uint32_t *hit;
	size_t nh;

	if (!k->per_message || touched == NULL)
		return imap_search_kept_rerun(k, view, NULL, 0, uids_r, count_r, error_r);
	int ret = imap_search_kept_rerun(k, view, touched, nt, &hit, &nh, error_r);
	if (ret != IMAP_RUN_OK)
		return ret;
	if (k->crit_count > 0 && !same_members(k, touched, nt, hit, nh)) {
		free(hit);
		return imap_search_kept_rerun(k, view, NULL, 0, uids_r, count_r, error_r);
	}
	if (k->crit_count > 0) {
		/* the same members: the sort order stands */
		*uids_r = malloc((k->count + 1) * sizeof(**uids_r));
		if (*uids_r != NULL && k->count > 0)
			memcpy(*uids_r, k->uids, k->count * sizeof(**uids_r));
		*count_r = k->count;
	} else {
		*uids_r = merge_touched(k, touched, nt, hit, nh, count_r);
	}
	free(hit);
	if (*uids_r == NULL) {
		*error_r = "Out of memory";
		return IMAP_RUN_ERROR;
	}
	return IMAP_RUN_OK;
}

void imap_search_update_refresh(struct imap_session *s, const struct store_message *changed,
				size_t nchanged, const uint32_t *expunged, size_t nexpunged)
{
	struct imap_search_updates *us = s->search_updates;
	struct imap_search_view view;
	uint32_t *touched;
	size_t nt;

	if (us == NULL || us->count == 0)
		return;
	imap_search_update_view(s, &view);
	touched = touched_uids(s, changed, nchanged, expunged, nexpunged, &nt);
	for (size_t i = 0; i < us->count;) {
		struct imap_search_update *u = &us->list[i];
		uint32_t *uids = NULL;
		size_t n = 0;
		const char *error = "";
		int ret = rerun(u, &view, touched, nt, &uids, &n, &error);
		if (ret != IMAP_RUN_OK) {
			if (ret == IMAP_RUN_ERROR)
				log_error("IMAP: updating a search failed: %s", error);
			session_untagged(s, "NO [NOUPDATE \"%s\"] Search no longer kept up to date",
					 u->tag);
			drop(us, i);
			continue;
		}
		if (u->kept->prog.return_options & IMAP_SEARCH_RETURN_ALL)
			refresh_all(s, u, uids, n);
		else
			refresh_counts(s, u, uids, n);
		free(u->kept->uids);
		u->kept->uids = uids;
		u->kept->count = n;
		i++;
	}
	free(touched);
}
