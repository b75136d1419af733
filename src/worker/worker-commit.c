/* worker-commit: group commit of the account's store (see worker-commit.h). */
#include "worker-commit.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"

static struct {
	struct ev *ev;
	struct store *store;
	struct ev_timer *timer;   /* the start of a sync at the end of this turn */
	void (*synced)(bool ok, uint64_t done);
	/* Syncs started, ended, and the highest ticket handed out. */
	uint64_t begun, done, issued;
	bool out;                 /* sync number begun is out (store_sync_begin) */
	/* The thread that runs store_sync_run, made at the first sync (a
	 * worker that never writes has none); without it (threaded false,
	 * tried) the loop runs it itself. */
	bool threaded, tried;
	pthread_t thread;
	int wake_fd;              /* eventfd: the thread tells the loop it is done */
	struct ev_io *wake_io;
	/* Under lock: a sync to run (job), its result (finished, ret,
	 * error), and the thread's end (quit). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool job, finished, quit;
	int ret;
	char error[STORE_SYNC_ERROR_MAX];
} wc = { .wake_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void advance(void);
static bool thread_start(void);

/* sync_thread waits for a sync to run, runs it (file descriptors only:
 * the loop keeps SQLite to itself) and wakes the loop. */
static void *sync_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wc.lock);
	for (;;) {
		while (!wc.job && !wc.quit)
			pthread_cond_wait(&wc.cond, &wc.lock);
		if (wc.quit)
			break;
		struct store *store = wc.store;
		pthread_mutex_unlock(&wc.lock);
		char error[STORE_SYNC_ERROR_MAX] = "";
		int ret = store_sync_run(store, error);
		pthread_mutex_lock(&wc.lock);
		wc.job = false;
		wc.finished = true;
		wc.ret = ret;
		memcpy(wc.error, error, sizeof(error));
		pthread_cond_broadcast(&wc.cond);
		uint64_t one = 1;
		(void)!write(wc.wake_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&wc.lock);
	return NULL;
}

/* flight_end: the sync that was out ended (ok, or error): the store
 * finishes it, synced lets its answers go (or closes their sessions),
 * and the next sync starts with what was committed meanwhile. */
static void flight_end(bool ok, const char *error)
{
	const char *end_error;
	if (store_sync_end(wc.store, ok, &end_error) < 0)
		log_error("ending the store's sync failed: %s", end_error);
	wc.out = false;
	wc.done = wc.begun;
	if (!ok)
		log_error("syncing the store failed (the answers waiting for it are dropped): %s",
			  error);
	wc.synced(ok, wc.done);
	advance();
}

/* sync_inline: with nothing out, one sync of everything on the loop
 * (no thread, or the store could not start one); every ticket handed out
 * is then covered, or failed. */
static void sync_inline(void)
{
	const char *error;
	bool ok = store_sync(wc.store, &error) == 0;
	if (!ok)
		log_error("syncing the store failed (the answers waiting for it are dropped): %s",
			  error);
	if (wc.issued > wc.begun)
		wc.begun = wc.issued;
	wc.done = wc.begun;
	wc.synced(ok, wc.done);
}

/* flight_begin starts the sync of everything pending: on the thread, or
 * here without it. */
static void flight_begin(void)
{
	const char *error;
	int r = store_sync_begin(wc.store, &error);
	if (r == 0)
		return;
	if (r < 0) {
		log_error("starting the store's sync failed (syncing on the loop): %s", error);
		sync_inline();
		return;
	}
	wc.out = true;
	wc.begun++;
	if (!wc.tried) {
		wc.tried = true;
		wc.threaded = thread_start();
	}
	if (!wc.threaded) {
		char run_error[STORE_SYNC_ERROR_MAX] = "";
		bool ok = store_sync_run(wc.store, run_error) == 0;
		flight_end(ok, run_error);
		return;
	}
	pthread_mutex_lock(&wc.lock);
	wc.job = true;
	pthread_cond_broadcast(&wc.cond);
	pthread_mutex_unlock(&wc.lock);
}

/* advance: with no sync out, start the next one if anything is pending;
 * with nothing pending, tickets handed out for a sync that never had to
 * start (a sync on the loop, a delivery's, made it durable) are covered. */
static void advance(void)
{
	if (wc.out)
		return;
	if (store_sync_pending(wc.store)) {
		flight_begin();
		return;
	}
	if (wc.issued > wc.done) {
		wc.begun = wc.done = wc.issued;
		wc.synced(true, wc.done);
	}
}

static void sync_timer(struct ev_timer *timer, void *ctx)
{
	(void)timer;
	(void)ctx;
	wc.timer = NULL; /* fired: gone */
	advance();
}

/* take_result: the thread's result if it has finished (true). */
static bool take_result(bool wait, int *ret_r, char error[STORE_SYNC_ERROR_MAX])
{
	pthread_mutex_lock(&wc.lock);
	while (wait && !wc.finished)
		pthread_cond_wait(&wc.cond, &wc.lock);
	bool finished = wc.finished;
	wc.finished = false;
	*ret_r = wc.ret;
	memcpy(error, wc.error, STORE_SYNC_ERROR_MAX);
	pthread_mutex_unlock(&wc.lock);
	uint64_t count;
	(void)!read(wc.wake_fd, &count, sizeof(count)); /* non-blocking */
	return finished;
}

static void sync_woke(struct ev_io *io, unsigned events, void *ctx)
{
	(void)io;
	(void)events;
	(void)ctx;
	int ret;
	char error[STORE_SYNC_ERROR_MAX];
	if (take_result(false, &ret, error) && wc.out)
		flight_end(ret == 0, error);
}

/* thread_start makes the thread (all signals blocked in it: the loop
 * takes them) and the eventfd that wakes the loop; false without them. */
static bool thread_start(void)
{
	sigset_t all, old;
	wc.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wc.wake_fd < 0) {
		log_error("eventfd() failed (the store syncs on the loop): %m");
		return false;
	}
	wc.wake_io = ev_io_add(wc.ev, wc.wake_fd, EV_READ, sync_woke, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	wc.quit = false;
	int rc = wc.wake_io == NULL ? -1 : pthread_create(&wc.thread, NULL, sync_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_error("the store's sync thread could not start (it syncs on the loop)");
		if (wc.wake_io != NULL)
			ev_io_del(&wc.wake_io);
		close(wc.wake_fd);
		wc.wake_fd = -1;
		return false;
	}
	return true;
}

int worker_commit_start(struct ev *ev, struct store *store,
			void (*synced)(bool ok, uint64_t done), const char **error_r)
{
	if (store_sync_defer(store, true, error_r) < 0)
		return -1;
	wc.ev = ev;
	wc.store = store;
	wc.synced = synced;
	wc.begun = wc.done = wc.issued = 0;
	wc.out = false;
	wc.threaded = wc.tried = false;
	return 0;
}

uint64_t worker_commit_ticket(void)
{
	uint64_t ticket;
	if (wc.store == NULL)
		return 0;
	if (store_sync_pending(wc.store)) {
		ticket = wc.begun + 1;
		if (!wc.out && wc.timer == NULL)
			wc.timer = ev_timer_add(wc.ev, 0, sync_timer, NULL);
		if (!wc.out && wc.timer == NULL) {
			/* No timer (out of memory): sync here rather than hold. */
			if (ticket > wc.issued)
				wc.issued = ticket;
			sync_inline();
			return 0;
		}
	} else if (wc.out) {
		ticket = wc.begun;
	} else {
		return 0;
	}
	if (ticket > wc.issued)
		wc.issued = ticket;
	return ticket;
}

bool worker_commit_covered(uint64_t ticket)
{
	return ticket <= wc.done;
}

bool worker_commit_hold(void)
{
	return worker_commit_ticket() != 0;
}

void worker_commit_now(void)
{
	if (wc.store == NULL)
		return;
	if (wc.timer != NULL)
		ev_timer_del(&wc.timer);
	advance();
	while (wc.out) {
		int ret;
		char error[STORE_SYNC_ERROR_MAX];
		(void)take_result(true, &ret, error);
		flight_end(ret == 0, error); /* starts the next if one is pending */
	}
}

void worker_commit_stop(void)
{
	if (wc.store == NULL)
		return;
	worker_commit_now();
	if (wc.threaded) {
		pthread_mutex_lock(&wc.lock);
		wc.quit = true;
		pthread_cond_broadcast(&wc.cond);
		pthread_mutex_unlock(&wc.lock);
		pthread_join(wc.thread, NULL);
		ev_io_del(&wc.wake_io);
		close(wc.wake_fd);
		wc.wake_fd = -1;
		wc.threaded = false;
	}
	wc.tried = false;
	const char *error;
	if (store_sync_defer(wc.store, false, &error) < 0)
		log_error("syncing the store failed: %s", error);
	wc.store = NULL;
}
