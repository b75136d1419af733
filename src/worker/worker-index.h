#ifndef RAVELIN_WORKER_INDEX_H
#define RAVELIN_WORKER_INDEX_H
/*
 * worker-index: the full-text index's backlog, indexed on the worker's
 * idle time.  Deliveries and APPENDs only mark their messages
 * (store_index_backlog in store.h); once the worker's loop has had no
 * socket to serve (no command, no delivery: ev_io_calls) for
 * WORKER_INDEX_QUIET_MS, this indexes the backlog in turns of
 * STORE_INDEX_TURN_MAX messages, a timer apart, and a command that comes
 * meanwhile puts the quiet time back in front: it waits for one turn at
 * most.  Work that never pauses still lets a turn in every
 * WORKER_INDEX_BUSY_EVERY_MS after WORKER_INDEX_DEFER_MAX_MS, so the
 * backlog a search must catch up with stays bounded.  A backlog a crash
 * left is found when the worker starts.
 */
#include <stdbool.h>
#include <stdint.h>

#include "lib/ev.h"
#include "store/store.h"

/* Nothing to serve for this long and the worker is idle: the commands of
 * a client at work, and the queue's deliveries in a burst, come
 * milliseconds apart, while a person who then searches is seconds away
 * (and the search catches up by itself anyway). */
#define WORKER_INDEX_QUIET_MS 200
/* Between two idle turns: the loop looks at its sockets in between. */
#define WORKER_INDEX_GAP_MS 1
/* Work that goes on this long without a pause no longer holds indexing
 * back entirely (a bulk sync, a steady stream of deliveries) ... */
#define WORKER_INDEX_DEFER_MAX_MS 20000
/* ... it lets one turn in this often (some 30-60 ms of each 250: the work
 * slows by a sixth at most, the backlog grows by what goes past 256 a
 * second). */
#define WORKER_INDEX_BUSY_EVERY_MS 250
/* After a failed turn (a full disk, a lock held long): try again later. */
#define WORKER_INDEX_RETRY_MS 5000

/* The schedule, apart from the loop and the store so it can be tested. */
struct worker_index_state {
	uint64_t marks_seen;  /* store_index_marks when last looked */
	uint64_t calls_seen;  /* ev_io_calls when last looked */
	uint64_t quiet_since; /* when either last moved */
	uint64_t busy_since;  /* when work began to hold a backlog back (0: not) */
	uint64_t last_turn;   /* when the last turn ran */
	bool backlog;         /* something may be marked */
	bool failed;          /* the last turn failed */
};

enum worker_index_step {
	WORKER_INDEX_STOP, /* nothing to index: no timer until marks move */
	WORKER_INDEX_WAIT, /* look again after *wait_ms_r */
	WORKER_INDEX_RUN,  /* run a turn now (then worker_index_turned) */
};

/* worker_index_state_init: a new worker does not know its backlog (a crash
 * may have left one), so it looks once the quiet time has passed. */
void worker_index_state_init(struct worker_index_state *st, uint64_t now, uint64_t marks,
			     uint64_t calls);
/* worker_index_next says what to do at time now (ms) with the store's
 * marks count and the loop's io calls count; *wait_ms_r is set for
 * WORKER_INDEX_WAIT. */
enum worker_index_step worker_index_next(struct worker_index_state *st, uint64_t now,
					 uint64_t marks, uint64_t calls, uint64_t *wait_ms_r);
/* worker_index_turned records a turn that ended at now: ok whether it
 * succeeded, more whether the backlog goes on.  Returns the delay before
 * worker_index_next should be asked again (when more or !ok). */
uint64_t worker_index_turned(struct worker_index_state *st, uint64_t now, bool ok, bool more);
/* worker_index_keeps: a backlog is left that the worker's idle time is
 * getting through (the last turn worked), so the worker should not exit
 * yet.  One that exited with it left its next start, or a search, to do it
 * all at once: after 200,000 messages appended over four accounts, the
 * first SUBJECT search in each caught up with tens of thousands. */
bool worker_index_keeps(const struct worker_index_state *st);
/* worker_index_busy: worker_index_keeps for this worker's store. */
bool worker_index_busy(void);

/* worker_index_start begins watching store's backlog on ev (the store
 * outlives the loop's last callback). */
void worker_index_start(struct ev *ev, struct store *store);
/* worker_index_check looks whether new marks want a timer (the worker's
 * idle check calls it every second; cheap: no database access while
 * nothing is marked). */
void worker_index_check(void);

#endif
