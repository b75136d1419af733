#ifndef RAVELIN_SPOOL_STATE_H
#define RAVELIN_SPOOL_STATE_H
/*
 * spool-state: what became of each recipient of a spooled message, kept
 * beside it as an append-only log, DATA/spool/state/<qid>, one short line
 * per event:
 *   begun <unix>                        the log was made (first attempt)
 *   done <i> <answer>                   recipient i has it (remote 2xx)
 *   failed <i> <answer>                 recipient i refused it for good
 *   deferred <i> <n> <next> <answer>    n attempts failed for now; next
 *                                       try at <next> (unix)
 *   notice                              the delay notice was queued
 * <i> is an index into the envelope's recipient list (spool.h), whatever
 * kind of recipient it is.  done, failed and notice are on disk (file
 * fdatasync'd, and the folder fsynced when the file is new) before their
 * function returns: a recipient marked done is never sent again after a
 * crash.  deferred is not synced: a lost one is an attempt made again.
 * A line cut by a crash (no newline) is ignored, and removed before the
 * next append; a line that does not parse is ignored.
 * Local deliveries do not use it: their idempotency key in the account's
 * store does that work (spool.h).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"
#include "spool.h"

/* The remote server's answer as kept: an SMTP reply line is at most 512
 * octets (RFC 5321 4.5.3.1.5), and so is the relay's (IPC_RELAY_RESULT);
 * a longer one is cut. */
#define SPOOL_STATE_MAX_ANSWER 512
/* A log line: the answer, a keyword, an index and two times (20 digits
 * each) and separators fit with room to spare. */
#define SPOOL_STATE_MAX_LINE 1024
/* A log that would grow past this is compacted first (rewritten from its
 * folded state: one line per recipient).  4 MB holds 35 retries (five
 * days of the default schedule) of 100 recipients with full-length
 * answers, with room to spare; past it, with thousands of recipients
 * deferred, a deferral that does not fit after compaction is not logged
 * (the attempt is made again, its count is lost), while done and failed
 * are always written: each recipient gets one of them at most, so the
 * file stays below this plus one line per recipient. */
#define SPOOL_STATE_MAX_FILE (4 * 1024 * 1024)

enum spool_state_status { SPOOL_STATE_PENDING, SPOOL_STATE_DONE, SPOOL_STATE_FAILED };

struct spool_state_rcpt {
	enum spool_state_status status;
	unsigned attempts;      /* attempts that failed for now */
	int64_t next;           /* next try (unix); 0: none planned */
	char *answer;           /* the last answer, NUL-terminated; NULL: none */
};

struct spool_state {
	int64_t first_tried;    /* when the log was made; 0: no log */
	bool notice_sent;
	size_t count;           /* rcpts[0..count) hold what the log says */
	struct spool_state_rcpt *rcpts;
};

/* spool_state_load folds qid's log into st (freed with spool_state_free);
 * a message without a log gives an empty state (every recipient pending).
 * 0, or -1 (logged) if the log exists but cannot be read. */
int spool_state_load(struct spool *s, const char *qid, struct spool_state *st);
/* spool_state_rcpt gives recipient i's state: a pending one with no
 * attempt for an index the log does not name. */
const struct spool_state_rcpt *spool_state_rcpt(const struct spool_state *st, size_t i);
void spool_state_free(struct spool_state *st);

/* spool_state_done: recipient rcpt has the message.  On disk before it
 * returns 0; -1 (logged) otherwise. */
int spool_state_done(struct spool *s, const char *qid, size_t rcpt, struct str answer);
/* spool_state_failed: recipient rcpt refused it for good (a bounce is
 * due).  On disk before it returns 0; -1 (logged) otherwise. */
int spool_state_failed(struct spool *s, const char *qid, size_t rcpt, struct str answer);
/* spool_state_deferred: an attempt for rcpt failed for now; next is the
 * next try (unix).  Not synced.  0 or -1 (logged). */
int spool_state_deferred(struct spool *s, const char *qid, size_t rcpt, int64_t next,
			 struct str answer);
/* spool_state_notice_sent: the delay notice for qid is queued.  On disk
 * before it returns 0; -1 (logged) otherwise. */
int spool_state_notice_sent(struct spool *s, const char *qid);
/* spool_state_remove deletes qid's log (spool_remove calls it). */
void spool_state_remove(struct spool *s, const char *qid);

#endif
