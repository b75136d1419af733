/* worker-commit: group commit of the account's store (see worker-commit.h). */
#include "worker-commit.h"

#include <stddef.h>

#include "lib/log.h"

static struct {
	struct ev *ev;
	struct store *store;
	struct ev_timer *timer;   /* the sync at the end of this turn, or NULL */
	void (*synced)(bool ok);
} wc;

int worker_commit_start(struct ev *ev, struct store *store, void (*synced)(bool ok),
			const char **error_r)
{
	if (store_sync_defer(store, true, error_r) < 0)
		return -1;
	wc.ev = ev;
	wc.store = store;
	wc.synced = synced;
	return 0;
}

/* sync_now: one sync for everything committed so far, then the callback
 * that lets the held answers go (or drops them). */
static void sync_now(void)
{
	const char *error;
	bool ok = store_sync(wc.store, &error) == 0;
	if (!ok)
		log_error("syncing the store failed (the answers waiting for it are dropped): %s",
			  error);
	wc.synced(ok);
}

static void sync_timer(struct ev_timer *timer, void *ctx)
{
	(void)timer;
	(void)ctx;
	wc.timer = NULL; /* fired: gone */
	sync_now();
}

bool worker_commit_hold(void)
{
	if (wc.store == NULL || !store_sync_pending(wc.store))
		return false;
	if (wc.timer == NULL)
		wc.timer = ev_timer_add(wc.ev, 0, sync_timer, NULL);
	if (wc.timer == NULL) {
		/* No timer (out of memory): sync here rather than hold. */
		const char *error;
		if (store_sync(wc.store, &error) == 0)
			return false;
		log_error("syncing the store failed (the answer waits): %s", error);
	}
	return true;
}

void worker_commit_now(void)
{
	if (wc.store == NULL)
		return;
	if (wc.timer != NULL)
		ev_timer_del(&wc.timer);
	if (store_sync_pending(wc.store))
		sync_now();
}
