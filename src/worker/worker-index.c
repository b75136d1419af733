/*
 * worker-index: the full-text backlog on the worker's idle time (see
 * worker-index.h).  The schedule is worker_index_next/_turned, pure
 * functions of the time and the store's marks count; the rest arms one
 * timer on the worker's loop and runs store_index_backlog from it.
 */
#include "worker-index.h"

#include <stddef.h>

#include "lib/log.h"

static struct {
	struct ev *ev;
	struct store *store;
	struct ev_timer *timer;
	struct worker_index_state state;
} wi;

void worker_index_state_init(struct worker_index_state *st, uint64_t now, uint64_t marks,
			     uint64_t calls)
{
	*st = (struct worker_index_state){ .marks_seen = marks, .calls_seen = calls,
					   .quiet_since = now, .backlog = true };
}

enum worker_index_step worker_index_next(struct worker_index_state *st, uint64_t now,
					 uint64_t marks, uint64_t calls, uint64_t *wait_ms_r)
{
	*wait_ms_r = 0;
	if (marks != st->marks_seen)
		st->backlog = true;
	if (marks != st->marks_seen || calls != st->calls_seen)
		st->quiet_since = now;
	st->marks_seen = marks;
	st->calls_seen = calls;
	if (!st->backlog)
		return WORKER_INDEX_STOP;
	/* The deferral counts from the backlog's first wait or last quiet turn. */
	if (st->busy_since == 0)
		st->busy_since = now;
	uint64_t quiet = now - st->quiet_since;
	if (quiet >= WORKER_INDEX_QUIET_MS) {
		st->busy_since = now;
		return WORKER_INDEX_RUN;
	}
	/* Work going on: a turn now and then once it has held the backlog
	 * back long enough. */
	if (now - st->busy_since >= WORKER_INDEX_DEFER_MAX_MS &&
	    now - st->last_turn >= WORKER_INDEX_BUSY_EVERY_MS)
		return WORKER_INDEX_RUN;
	*wait_ms_r = WORKER_INDEX_QUIET_MS - quiet;
	return WORKER_INDEX_WAIT;
}

uint64_t worker_index_turned(struct worker_index_state *st, uint64_t now, bool ok, bool more)
{
	st->last_turn = now;
	st->backlog = more || !ok;
	st->failed = !ok;
	if (!st->backlog)
		st->busy_since = 0;
	if (!ok)
		return WORKER_INDEX_RETRY_MS;
	return WORKER_INDEX_GAP_MS;
}

static void index_timer(struct ev_timer *timer, void *ctx);

/* arm asks the schedule what to do now and does it (a turn, a timer, or
 * nothing); it is only called without a timer pending. */
static void arm(void)
{
	uint64_t wait;
	const char *error;
	bool more;

	switch (worker_index_next(&wi.state, ev_now(wi.ev), store_index_marks(wi.store),
				  ev_io_calls(wi.ev), &wait)) {
	case WORKER_INDEX_STOP:
		return;
	case WORKER_INDEX_WAIT:
		break;
	case WORKER_INDEX_RUN: {
		bool ok = store_index_backlog(wi.store, STORE_INDEX_TURN_MAX, &more, &error) ==
			  STORE_OK;
		if (!ok)
			log_warn("indexing the full-text backlog failed (tried again later): %s",
				 error);
		/* ev_now stands still inside a callback: the turn's end is
		 * the next loop's time, near enough. */
		wait = worker_index_turned(&wi.state, ev_now(wi.ev), ok, more);
		if (ok && !more)
			return;
		break;
	}
	}
	wi.timer = ev_timer_add(wi.ev, wait, index_timer, NULL);
}

static void index_timer(struct ev_timer *timer, void *ctx)
{
	(void)timer;
	(void)ctx;
	wi.timer = NULL; /* fired: gone */
	arm();
}

void worker_index_start(struct ev *ev, struct store *store)
{
	wi.ev = ev;
	wi.store = store;
	worker_index_state_init(&wi.state, ev_now(ev), store_index_marks(store), ev_io_calls(ev));
	wi.timer = ev_timer_add(ev, WORKER_INDEX_QUIET_MS, index_timer, NULL);
}

bool worker_index_keeps(const struct worker_index_state *st)
{
	return st->backlog && !st->failed;
}

bool worker_index_busy(void)
{
	return wi.store != NULL && worker_index_keeps(&wi.state);
}

void worker_index_check(void)
{
	if (wi.store != NULL && wi.timer == NULL)
		arm();
}
