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

#include "imap-parser.h"
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
 * imap_search_command runs SEARCH (uid false) or UID SEARCH with the
 * arguments after the name, and appends "* SEARCH ..." (with "(MODSEQ n)"
 * when the program has MODSEQ or condstore asks), or "* ESEARCH (TAG
 * "tag") [UID] MIN .. MAX .. ALL .. COUNT .." when RETURN was given.
 */
int imap_search_command(struct pool *pool, const struct imap_search_view *view,
			const struct imap_arg *args, size_t count, bool uid, struct str tag,
			struct buf *out, const char **error_r);
/* imap_sort_command: SORT (RFC 5256): (criteria) charset program; "* SORT ...". */
int imap_sort_command(struct pool *pool, const struct imap_search_view *view,
		      const struct imap_arg *args, size_t count, bool uid, struct str tag,
		      struct buf *out, const char **error_r);
/* imap_thread_command: THREAD REFERENCES|ORDEREDSUBJECT charset program;
 * "* THREAD (...)(...)". */
int imap_thread_command(struct pool *pool, const struct imap_search_view *view,
			const struct imap_arg *args, size_t count, bool uid, struct str tag,
			struct buf *out, const char **error_r);

#endif
