#ifndef RAVELIN_WORKER_COMMIT_H
#define RAVELIN_WORKER_COMMIT_H
/*
 * worker-commit: group commit of the account's store.  The worker's store
 * runs with its syncs deferred (store_sync_defer): the commands of every
 * session served in one turn of the loop commit without waiting for the
 * disk, and their answers are held.  At the turn's end the sync of all of
 * those commits starts, beside the loop on a thread of its own
 * (store_sync_begin/run/end): the loop goes on reading, running and
 * committing commands meanwhile, and those wait for the next sync, which
 * starts when this one ends.  An answer goes out only once the sync that
 * covers every commit made before it has ended (an OK lost to a crash
 * would be a promise broken).
 *
 * Syncs are numbered from 1 in the order they start; a ticket is the
 * number of the sync an answer waits for.  Without the thread (it could
 * not be made) the same syncs run on the loop, as before.
 */
#include <stdbool.h>
#include <stdint.h>

#include "lib/ev.h"
#include "store/store.h"

/* worker_commit_start defers store's syncs and schedules them on ev;
 * synced(ok, done) is called on the loop after each sync ends: the
 * answers held for tickets up to done may go out (ok), or must not (not
 * ok: that sync failed; later tickets still wait for theirs).  0, or -1
 * with *error_r (the store then syncs every commit itself, as before). */
int worker_commit_start(struct ev *ev, struct store *store,
			void (*synced)(bool ok, uint64_t done), const char **error_r);
/* worker_commit_ticket: the sync that covers every commit made so far, or
 * 0 when all is durable (and before start).  A sync not started yet is
 * scheduled for the end of this turn of the loop (a timer of 0 ms, which
 * runs after the turn's sockets), or for the end of the one out. */
uint64_t worker_commit_ticket(void);
/* worker_commit_covered: the sync of ticket has ended (synced was called
 * with done >= ticket); true for 0. */
bool worker_commit_covered(uint64_t ticket);
/* worker_commit_hold: worker_commit_ticket() != 0. */
bool worker_commit_hold(void);
/* worker_commit_now waits for the sync that is out and syncs what is
 * pending (before the worker exits); synced is called for each. */
void worker_commit_now(void);
/* worker_commit_stop: worker_commit_now, then the thread ends and the
 * store syncs every commit itself again (worker_commit_start may follow,
 * with another store and loop). */
void worker_commit_stop(void);

#endif
