#ifndef RAVELIN_QUEUE_NOTE_H
#define RAVELIN_QUEUE_NOTE_H
/*
 * queue-note: why each recipient of a message waits, as the spool's note
 * for `ravelin queue list` (spool_note_write): one line per recipient
 * deferred, kept in memory as one string per recipient.
 */
#include <stddef.h>

#include "lib/str.h"
#include "spool.h"

/* queue_note_why sets (why.ptr NULL: clears) the reason recipient i of
 * message qid waits in *notes (an array of env->rcpt_count strings, made
 * at the first reason) and rewrites the message's note in the spool. */
void queue_note_why(struct spool *spool, const char *qid, const struct spool_envelope *env,
		    char ***notes, size_t i, struct str why);
/* queue_note_free frees *notes (count strings) and sets it NULL. */
void queue_note_free(char ***notes, size_t count);

#endif
