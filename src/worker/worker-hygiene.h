#ifndef RAVELIN_WORKER_HYGIENE_H
#define RAVELIN_WORKER_HYGIENE_H
/*
 * worker-hygiene: runs the store's clean-up (store_gc_step) on the
 * worker's idle time.  The idle check calls worker_hygiene_kick once a
 * second; a kick that finds work goes on in steps WORKER_HYGIENE_STEP_MS
 * apart (each a few milliseconds at most), so sessions and deliveries are
 * served between them.  What an expunge leaves is gone within a second or
 * two; what a crash left is swept once after the store is opened.
 */
struct ev;
struct store;

/* worker_hygiene_init remembers the loop and the store (both outlive it). */
void worker_hygiene_init(struct ev *ev, struct store *store);
/* worker_hygiene_kick starts steps unless they run already. */
void worker_hygiene_kick(void);

#endif
