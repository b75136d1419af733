#ifndef RAVELIN_IMAP_SEARCH_UPDATE_H
#define RAVELIN_IMAP_SEARCH_UPDATE_H
/*
 * imap-search-update: the session's SEARCH and SORT results kept up to
 * date (RFC 5267 CONTEXT=SEARCH, CONTEXT=SORT).  A SEARCH or SORT with
 * RETURN (UPDATE) leaves its result here under its tag; when the mailbox
 * changes (session_sync) each result is evaluated again and the
 * difference told as "* ESEARCH (TAG "t") [UID] ADDTO (pos set)" and
 * "REMOVEFROM (pos set)" (position 0 for a SEARCH, the place in the
 * sort order for a SORT), or as new MIN/MAX/COUNT when only those were
 * asked.  CANCELUPDATE, UNSELECT and SELECT end them.
 */
#include <stdbool.h>

#include "imap-search-run.h"
#include "lib/str.h"

/* Results one session keeps up to date at once.  Each is evaluated
 * again on every change of the mailbox, so the count bounds that work; a
 * client keeps one per open message list, and a ninth gets NO
 * [NOUPDATE] (RFC 5267 4.2 lets the server refuse). */
#define IMAP_SEARCH_MAX_UPDATES 8

struct imap_session;

/* imap_search_update_view fills view with the session's selected view. */
void imap_search_update_view(struct imap_session *s, struct imap_search_view *view);
/* imap_search_update_room: may the session keep one more result? */
bool imap_search_update_room(const struct imap_session *s);
/* imap_search_update_add keeps kept (taken) under tag, replacing one of
 * the same tag; with uid the updates are UIDs. */
void imap_search_update_add(struct imap_session *s, struct imap_search_kept *kept, bool uid,
			    struct str tag);
/* imap_search_update_cancel ends the result kept under tag; 0, or -1
 * when none is. */
int imap_search_update_cancel(struct imap_session *s, struct str tag);
/* imap_search_update_expunged tells, before the EXPUNGE responses, which
 * kept messages the pending expunges remove (while their sequence
 * numbers still hold). */
void imap_search_update_expunged(struct imap_session *s);
/*
 * imap_search_update_refresh evaluates every kept result again and tells
 * the difference; a result that fails is dropped with NO [NOUPDATE].
 * changed[0..nchanged) and expunged[0..nexpunged) are what the store
 * reported: a result whose keys read no sequence numbers tries just
 * those messages (a SORT is sorted again only when they enter or leave).
 */
void imap_search_update_refresh(struct imap_session *s, const struct store_message *changed,
				size_t nchanged, const uint32_t *expunged, size_t nexpunged);
/* imap_search_update_clear drops every kept result (no answer). */
void imap_search_update_clear(struct imap_session *s);

#endif
