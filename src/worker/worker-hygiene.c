/* worker-hygiene: the store's clean-up on idle time (see worker-hygiene.h). */
#include "worker-hygiene.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "store/store.h"

/* Between two steps while work is left: a step holds the account's write
 * lock a few milliseconds, so the loop serves everything else in between
 * and 1,000 expunged files (four steps) go in well under a second. */
#define WORKER_HYGIENE_STEP_MS 20

static struct {
	struct ev *ev;
	struct store *store;
	bool running;
} h;

/* step runs one step and schedules the next while work is left; a failure
 * is logged and waits for the next kick. */
static void step(struct ev_timer *t, void *ctx)
{
	const char *error;
	bool more = false;
	(void)t;
	(void)ctx;

	if (store_gc_step(h.store, (int64_t)time(NULL), &more, &error) != STORE_OK) {
		log_error("store clean-up: %s", error);
		more = false;
	}
	h.running = more && ev_timer_add(h.ev, WORKER_HYGIENE_STEP_MS, step, NULL) != NULL;
}

/* worker_hygiene_init: see worker-hygiene.h. */
void worker_hygiene_init(struct ev *ev, struct store *store)
{
	h.ev = ev;
	h.store = store;
	h.running = false;
}

/* worker_hygiene_kick: see worker-hygiene.h. */
void worker_hygiene_kick(void)
{
	if (h.running || h.store == NULL)
		return;
	h.running = true;
	step(NULL, NULL);
}
