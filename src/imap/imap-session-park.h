#ifndef RAVELIN_IMAP_SESSION_PARK_H
#define RAVELIN_IMAP_SESSION_PARK_H
/*
 * imap-session-park: an IMAP session in IDLE written down so that its
 * worker may let it go (src/park holds the client meanwhile) and a worker
 * of the same account may take it up again later: the ENABLEd extensions,
 * the IDLE command's tag, the selected mailbox, its UIDVALIDITY, the view
 * (the UIDs, as runs), the MODSEQ known, the keywords announced, the
 * \Recent ranges, the SEARCHRES result and whether COMPRESS is active
 * (the deflate layer's own state is the transport's).  The state comes
 * back through two other processes, so it is read with a bounded parser
 * that checks every field (a fuzz target feeds it), and a restored
 * session checks the mailbox against the store before it answers
 * anything.
 */
#include <stdbool.h>

#include "imap-session.h"
#include "lib/buf.h"
#include "lib/str.h"

/* UIDs a parked view (or SEARCHRES result) may hold: 4 Mi UIDs are 16 MiB
 * once restored, a mailbox far past the 100,000 messages a big one has.
 * A session with more stays in its worker. */
#define IMAP_PARK_MAX_UIDS (4u * 1024 * 1024)
/* The state's format; another is refused (the session is then closed). */
#define IMAP_PARK_VERSION 1

/* imap_session_parkable: the session is in IDLE with nothing half done
 * (no FETCH in steps, no expunge not yet told, nothing buffered by the
 * parser), so that writing it down loses nothing. */
bool imap_session_parkable(const struct imap_session *s);
/* imap_session_compressed: COMPRESS DEFLATE is active (as the session
 * knows it: its transport must have the deflate layer too). */
bool imap_session_compressed(const struct imap_session *s);
/* imap_session_park appends s's state to out (the caller then frees s).
 * 0, or -1 if it does not fit out's maximum (the session is not parked). */
int imap_session_park(const struct imap_session *s, struct buf *out);
/* imap_session_unpark makes a session in IDLE from state (as
 * imap_session_park wrote it) on store, writing to out, and reports what
 * changed since it was parked (EXISTS, EXPUNGE, FETCH FLAGS), or a BYE if
 * its mailbox is gone or has another UIDVALIDITY.  NULL with *error_r if
 * the state is malformed or memory ran out. */
struct imap_session *imap_session_unpark(struct store *store, struct buf *out,
					 const struct imap_session_settings *settings,
					 const struct imap_session_callbacks *callbacks, void *ctx,
					 struct str state, const char **error_r);
/* imap_park_uids_decode reads a run-encoded UID list (as the state holds
 * it) into a new array (*uids_r, the caller's to free), strictly
 * ascending, at most IMAP_PARK_MAX_UIDS.  0, or -1 with *error_r. */
int imap_park_uids_decode(struct str runs, uint32_t **uids_r, size_t *count_r,
			  const char **error_r);
/* imap_park_uids_encode appends uids[0..n) (ascending) to out as runs:
 * varint gap from the previous UID, varint run length. 0, or -1 when out
 * is full. */
int imap_park_uids_encode(struct buf *out, const uint32_t *uids, size_t n);

#endif
