#ifndef RAVELIN_SPOOL_STATE_H
#define RAVELIN_SPOOL_STATE_H
/*
 * spool-state (minimal stand-in): what became of each recipient of a
 * spooled message, as an append-only log per message.  Only what the
 * remote delivery needs: done and failed are durable before the call
 * returns; deferred is not.  Records: "done <i> <answer>", "failed <i>
 * <answer>", "deferred <i> <next> <answer>", one per line.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"
#include "spool.h"

enum spool_rcpt_state {
	SPOOL_RCPT_PENDING = 0,
	SPOOL_RCPT_DONE,
	SPOOL_RCPT_FAILED,
};

struct spool_state_rcpt {
	enum spool_rcpt_state state;
	unsigned attempts;
	int64_t next_try;
};

struct spool_state {
	size_t count;                   /* recipients the log names (highest index + 1) */
	struct spool_state_rcpt *rcpts;
};

/* spool_state_load reads qid's log (none: every recipient pending). 0 or -1. */
int spool_state_load(struct spool *s, const char *qid, struct spool_state *st);
void spool_state_free(struct spool_state *st);
/* spool_state_rcpt gives recipient i's state (pending past the log's end). */
enum spool_rcpt_state spool_state_rcpt(const struct spool_state *st, size_t i);
/* Durable (fdatasync) before they return 0; -1 if not. */
int spool_state_done(struct spool *s, const char *qid, size_t rcpt, struct str answer);
int spool_state_failed(struct spool *s, const char *qid, size_t rcpt, struct str answer);
/* Not fsynced. */
int spool_state_deferred(struct spool *s, const char *qid, size_t rcpt, int64_t next,
			 struct str answer);
/* spool_state_remove deletes qid's log (the message left the spool). */
void spool_state_remove(struct spool *s, const char *qid);

#endif
