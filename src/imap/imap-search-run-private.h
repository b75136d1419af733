#ifndef RAVELIN_IMAP_SEARCH_RUN_PRIVATE_H
#define RAVELIN_IMAP_SEARCH_RUN_PRIVATE_H
/*
 * What imap-search-run.c (evaluating programs, SEARCH) shares with
 * imap-sort-run.c (SORT, THREAD, rerunning kept results).
 */
#include "imap-search-run.h"

#define ERR_MEMORY "Out of memory"
#define ERR_TOO_LARGE "[LIMIT] Result too large"

/* What a search found: view positions (ascending) and their messages. */
struct search_result {
	struct store_message *list; /* store_message_range's answer (owned) */
	uint32_t *positions;        /* 0-based, in view->uids */
	const struct store_message **msgs;
	size_t count;
	bool has_modseq;
};

/* search_result_free frees what res holds (not res). */
void search_result_free(struct search_result *res);
/* search_store_status maps a store status to an IMAP_RUN_ one. */
int search_store_status(int status);
/*
 * search_run evaluates prog over the view into *res.  Returns
 * IMAP_RUN_OK, or another status with the text in *error_r.
 */
int search_run(struct pool *pool, const struct imap_search_view *view,
	       const struct imap_search_program *prog, struct search_result *res,
	       const char **error_r);
/* search_truncate_out cuts out back to len (a partly written answer). */
void search_truncate_out(struct buf *out, size_t len);
/* search_result_uids gives the found UIDs, ascending (malloc'd), or NULL. */
uint32_t *search_result_uids(const struct imap_search_view *view, const struct search_result *res);
/*
 * search_keep_new makes the kept result of prog (copied) with
 * uids[0..n) in answer order, or writes "* NO [NOUPDATE "tag"]" to out
 * when it cannot be kept (can_keep false, PARTIAL, too large a program,
 * no memory).  Returns the kept result (the caller owns it) or NULL.
 */
struct imap_search_kept *search_keep_new(const struct imap_search_program *prog,
					 const struct imap_sort_criterion *crit, size_t ncrit,
					 const uint32_t *uids, size_t n, bool can_keep,
					 struct str tag, struct buf *out);

#endif
