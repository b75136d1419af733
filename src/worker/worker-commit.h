#ifndef RAVELIN_WORKER_COMMIT_H
#define RAVELIN_WORKER_COMMIT_H
/*
 * worker-commit: group commit of the account's store.  The worker's store
 * runs with its syncs deferred (store_sync_defer): the commands of every
 * session served in one turn of the loop commit without waiting for the
 * disk, and their answers are held.  At the turn's end one sync makes all
 * of those commits durable, and only then does the held output go out.
 * One sync is shared by as many sessions as had a command ready, where
 * each used to wait for its own; no answer is sent before its change is
 * durable (an OK lost to a crash would be a promise broken).
 */
#include <stdbool.h>

#include "lib/ev.h"
#include "store/store.h"

/* worker_commit_start defers store's syncs and schedules them on ev;
 * synced(ok) is called after each sync (ok false: the disk refused, the
 * held answers must not go out).  0, or -1 with *error_r (the store
 * then syncs every commit itself, as before). */
int worker_commit_start(struct ev *ev, struct store *store, void (*synced)(bool ok),
			const char **error_r);
/* worker_commit_hold: true when a commit is not durable yet; the sync is
 * then scheduled for the end of this turn of the loop (a timer of 0 ms,
 * which runs after the turn's sockets), and the caller holds its output
 * until synced is called.  False before start and when all is durable. */
bool worker_commit_hold(void);
/* worker_commit_now syncs at once (before the worker exits) and calls
 * synced when something was pending. */
void worker_commit_now(void);

#endif
