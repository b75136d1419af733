#ifndef RAVELIN_IMAP_SEARCH_RUN_H
#define RAVELIN_IMAP_SEARCH_RUN_H
/*
 * imap-search-run: SEARCH, SORT and THREAD commands of a selected mailbox,
 * from the arguments to the untagged answer.  Programs are parsed with
 * imap-search.c and evaluated against the session's view of the mailbox
 * with the store: flags, sizes and dates from store_message_range, header
 * fields from store_message_meta, TEXT/BODY/SUBJECT/FROM/TO/CC/BCC from
 * the full-text index (store_text_search), HEADER from the message's
 * header read from its content.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-proto/imap-parser.h"
#include "imap-proto/imap-search.h"
#include "imap-sort.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "store/store.h"

/* The longest string a key may hold (TEXT, BODY, SUBJECT, FROM, TO, CC,
 * BCC, and HEADER's field name and value).  The index looks a string up
 * by its trigrams, so its cost grows with the length: a phrase or a
 * pasted line is far below 1 KiB, while 60,000 octets once took minutes
 * of CPU and a GiB.  A longer string is NO [LIMIT]. */
#define IMAP_SEARCH_MAX_STRING 1024u
/* The CPU time one SEARCH, SORT or THREAD may take.  The account's worker
 * answers its sessions one command at a time, so this is also how long
 * one search may keep the account's other sessions waiting; searching a
 * large mailbox's headers for several keys stays well below it.  Checked
 * between index look-ups and between messages; past it the command ends
 * with NO [LIMIT]. */
#define IMAP_SEARCH_MAX_CPU_MS 5000u
/* The memory a kept program (RETURN (UPDATE)) may hold: a copy of the
 * program's keys and strings.  A filter dialogue's program is a few KiB;
 * a longer one is searched once and answered NO [NOUPDATE]. */
#define IMAP_SEARCH_KEPT_PROGRAM_MAX (256u * 1024)

/* The selected mailbox as the session sees it. */
struct imap_search_view {
	struct store *store;
	const char *mailbox;
	const uint32_t *uids;      /* uids[seq - 1], ascending */
	size_t count;
	bool condstore;            /* CONDSTORE enabled: MODSEQ in answers */
	bool utf8;                 /* IMAP4rev2 or UTF8=ACCEPT: charset UTF-8 implied */
	/* SEARCHRES (RFC 5182): the saved result as UIDs, ascending; "$" in a
	 * program reads it and RETURN (SAVE) replaces it (free() the old). */
	uint32_t **saved_uids;
	size_t *saved_count;
	/* IMAP4rev1 \Recent for RECENT, NEW and OLD (NULL: nothing is recent). */
	bool (*is_recent)(const void *ctx, uint32_t uid);
	const void *recent_ctx;
};

enum imap_run_status {
	IMAP_RUN_OK = 0,
	IMAP_RUN_BAD = -1,         /* *error_r: text for BAD */
	IMAP_RUN_NO = -2,          /* *error_r: text for NO, e.g. "[BADCHARSET (UTF-8 US-ASCII)] ..." */
	IMAP_RUN_ERROR = -3,       /* internal (store) failure; *error_r for the log */
};

/*
 * A result to keep up to date (RFC 5267 CONTEXT=SEARCH, CONTEXT=SORT):
 * what a SEARCH or SORT with RETURN (UPDATE) hands its caller.
 */
struct imap_search_kept {
	struct pool *pool;                 /* owns prog's copy */
	struct imap_search_program prog;
	struct imap_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
	size_t crit_count;                 /* 0: a SEARCH */
	uint32_t *uids;                    /* the result, in answer order (malloc'd) */
	size_t count;
	/* no key reads sequence numbers: whether a message matches depends
	 * on that message alone, so changed messages can be tried alone */
	bool per_message;
};

/* imap_search_kept_free frees *kept (NULL is fine) and sets it to NULL. */
void imap_search_kept_free(struct imap_search_kept **kept);

/*
 * imap_search_kept_rerun evaluates kept's program (and sort) again over
 * view: the UIDs in answer order in *uids_r (malloc'd, the caller frees)
 * and *count_r.  With only (kept->per_message must hold), just the view's
 * messages only[0..only_count) (ascending) are tried and those that match
 * are given, ascending, without sorting.  Returns IMAP_RUN_OK, or another
 * status with *error_r.
 */
int imap_search_kept_rerun(const struct imap_search_kept *kept,
			   const struct imap_search_view *view, const uint32_t *only,
			   size_t only_count, uint32_t **uids_r, size_t *count_r,
			   const char **error_r);

/*
 * imap_search_command runs SEARCH (uid false) or UID SEARCH with the
 * arguments after the name, and appends "* SEARCH ..." (with "(MODSEQ n)"
 * when the program has MODSEQ or condstore asks), or "* ESEARCH (TAG
 * "tag") [UID] MIN .. MAX .. ALL .. PARTIAL (..) COUNT .." when RETURN
 * was given.  With RETURN (UPDATE), *kept_r gets the result to keep (the
 * caller owns it); when it cannot be kept (kept_r NULL, PARTIAL, a
 * program too large) the answer says "* NO [NOUPDATE "tag"]" and *kept_r
 * stays NULL.
 */
int imap_search_command(struct pool *pool, const struct imap_search_view *view,
			const struct imap_arg *args, size_t count, bool uid, struct str tag,
			struct buf *out, struct imap_search_kept **kept_r, const char **error_r);
/* imap_sort_command: SORT (RFC 5256): [RETURN (opts)] (criteria) charset
 * program; "* SORT ...", or with RETURN (RFC 5267 ESORT) the ESEARCH
 * answer in sort order, and UPDATE as for imap_search_command. */
int imap_sort_command(struct pool *pool, const struct imap_search_view *view,
		      const struct imap_arg *args, size_t count, bool uid, struct str tag,
		      struct buf *out, struct imap_search_kept **kept_r, const char **error_r);
/* imap_thread_command: THREAD REFERENCES|ORDEREDSUBJECT charset program;
 * "* THREAD (...)(...)". */
int imap_thread_command(struct pool *pool, const struct imap_search_view *view,
			const struct imap_arg *args, size_t count, bool uid, struct str tag,
			struct buf *out, const char **error_r);

#endif
