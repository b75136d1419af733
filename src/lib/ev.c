/* ev: epoll event loop with timers and signals (see ev.h). */
#include "ev.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Events taken from the kernel per epoll_wait. */
#define EV_BATCH 128
/* Signals handled through one signalfd. */
#define EV_MAX_SIGNALS 8

struct ev_io {
	struct ev *ev;
	int fd;
	unsigned events;
	bool dead;
	ev_io_fn *fn;
	void *ctx;
	struct ev_io *next_dead;
};

struct ev_timer {
	uint64_t when;
	uint64_t seq;      /* equal deadlines fire in order of creation */
	size_t index;      /* position in the heap */
	ev_timer_fn *fn;
	void *ctx;
};

struct ev {
	int epfd;
	bool stop;
	uint64_t now;
	uint64_t seq;
	uint64_t io_calls; /* io callbacks made (ev_io_calls) */
	struct ev_timer **heap;
	size_t heap_len, heap_cap;
	struct ev_io *dead;
	int sigfd;
	struct ev_io *sigio;
	sigset_t sigmask;
	struct {
		int signo;
		ev_signal_fn *fn;
		void *ctx;
	} signals[EV_MAX_SIGNALS];
	unsigned signal_count;
};

uint64_t ev_io_calls(struct ev *ev)
{
	return ev->io_calls;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct ev *ev_new(void)
{
	struct ev *ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		return NULL;
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0) {
		free(ev);
		return NULL;
	}
	ev->sigfd = -1;
	sigemptyset(&ev->sigmask);
	ev->now = monotonic_ms();
	return ev;
}

static void reap_dead(struct ev *ev)
{
	while (ev->dead != NULL) {
		struct ev_io *io = ev->dead;
		ev->dead = io->next_dead;
		free(io);
	}
}

void ev_free(struct ev **evp)
{
	struct ev *ev = *evp;
	if (ev == NULL)
		return;
	if (ev->sigio != NULL)
		ev_io_del(&ev->sigio);
	reap_dead(ev);
	for (size_t i = 0; i < ev->heap_len; i++)
		free(ev->heap[i]);
	free(ev->heap);
	if (ev->sigfd >= 0)
		close(ev->sigfd);
	close(ev->epfd);
	free(ev);
	*evp = NULL;
}

uint64_t ev_now(struct ev *ev)
{
	return ev->now;
}

void ev_stop(struct ev *ev)
{
	ev->stop = true;
}

static uint32_t to_epoll(unsigned events)
{
	return ((events & EV_READ) ? EPOLLIN : 0) | ((events & EV_WRITE) ? EPOLLOUT : 0);
}

struct ev_io *ev_io_add(struct ev *ev, int fd, unsigned events, ev_io_fn *fn, void *ctx)
{
	struct ev_io *io = calloc(1, sizeof(*io));
	if (io == NULL)
		return NULL;
	io->ev = ev;
	io->fd = fd;
	io->events = events;
	io->fn = fn;
	io->ctx = ctx;
	struct epoll_event e = { .events = to_epoll(events), .data.ptr = io };
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		log_error("epoll_ctl(add %d) failed: %m", fd);
		free(io);
		return NULL;
	}
	return io;
}

void ev_io_set(struct ev_io *io, unsigned events)
{
	if (io->events == events)
		return;
	io->events = events;
	struct epoll_event e = { .events = to_epoll(events), .data.ptr = io };
	if (epoll_ctl(io->ev->epfd, EPOLL_CTL_MOD, io->fd, &e) < 0)
		log_error("epoll_ctl(mod %d) failed: %m", io->fd);
}

void ev_io_del(struct ev_io **iop)
{
	struct ev_io *io = *iop;
	if (io == NULL)
		return;
	epoll_ctl(io->ev->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	/* Freed after this batch of events, which may still name it. */
	io->dead = true;
	io->next_dead = io->ev->dead;
	io->ev->dead = io;
	*iop = NULL;
}

static bool timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_swap(struct ev *ev, size_t i, size_t j)
{
	struct ev_timer *t = ev->heap[i];
	ev->heap[i] = ev->heap[j];
	ev->heap[j] = t;
	ev->heap[i]->index = i;
	ev->heap[j]->index = j;
}

static void heap_up(struct ev *ev, size_t i)
{
	while (i > 0 && timer_before(ev->heap[i], ev->heap[(i - 1) / 2])) {
		heap_swap(ev, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct ev *ev, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < ev->heap_len && timer_before(ev->heap[l], ev->heap[m]))
			m = l;
		if (r < ev->heap_len && timer_before(ev->heap[r], ev->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(ev, i, m);
		i = m;
	}
}

static void heap_remove(struct ev *ev, size_t i)
{
	assert(i < ev->heap_len);
	ev->heap_len--;
	if (i != ev->heap_len) {
		heap_swap(ev, i, ev->heap_len);
		heap_down(ev, i);
		heap_up(ev, i);
	}
}

struct ev_timer *ev_timer_add(struct ev *ev, uint64_t ms, ev_timer_fn *fn, void *ctx)
{
	if (ev->heap_len == ev->heap_cap) {
		size_t cap = ev->heap_cap ? ev->heap_cap * 2 : 64;
		struct ev_timer **h = realloc(ev->heap, cap * sizeof(*h));
		if (h == NULL)
			return NULL;
		ev->heap = h;
		ev->heap_cap = cap;
	}
	struct ev_timer *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->when = monotonic_ms() + ms;
	t->seq = ev->seq++;
	t->fn = fn;
	t->ctx = ctx;
	t->index = ev->heap_len;
	ev->heap[ev->heap_len++] = t;
	heap_up(ev, t->index);
	return t;
}

/* A timer knows its heap through the one loop a process runs. */
static struct ev *timer_loop;

void ev_timer_del(struct ev_timer **tp)
{
	struct ev_timer *t = *tp;
	if (t == NULL)
		return;
	assert(timer_loop != NULL && timer_loop->heap[t->index] == t);
	heap_remove(timer_loop, t->index);
	free(t);
	*tp = NULL;
}

/* Set once a loop has read SIGTERM (ev_term_asked). */
static bool term_read;

bool ev_term_asked(void)
{
	sigset_t pending;
	if (term_read)
		return true;
	return sigpending(&pending) == 0 && sigismember(&pending, SIGTERM) == 1;
}

static void signal_ready(struct ev_io *io, unsigned events, void *ctx)
{
	struct ev *ev = ctx;
	struct signalfd_siginfo si;
	(void)io;
	(void)events;
	while (read(ev->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM)
			term_read = true;
		for (unsigned i = 0; i < ev->signal_count; i++)
			if (ev->signals[i].signo == (int)si.ssi_signo)
				ev->signals[i].fn((int)si.ssi_signo, ev->signals[i].ctx);
	}
}

int ev_signal_add(struct ev *ev, int signo, ev_signal_fn *fn, void *ctx)
{
	if (ev->signal_count == EV_MAX_SIGNALS)
		return -1;
	sigaddset(&ev->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &ev->sigmask, NULL) < 0)
		return -1;
	int fd = signalfd(ev->sigfd, &ev->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ev->sigfd < 0) {
		ev->sigfd = fd;
		ev->sigio = ev_io_add(ev, fd, EV_READ, signal_ready, ev);
		if (ev->sigio == NULL)
			return -1;
	}
	ev->signals[ev->signal_count].signo = signo;
	ev->signals[ev->signal_count].fn = fn;
	ev->signals[ev->signal_count].ctx = ctx;
	ev->signal_count++;
	return 0;
}

static void run_timers(struct ev *ev)
{
	while (ev->heap_len > 0 && ev->heap[0]->when <= ev->now) {
		struct ev_timer *t = ev->heap[0];
		heap_remove(ev, 0);
		t->fn(t, t->ctx);
		free(t);
	}
}

int ev_run(struct ev *ev)
{
	struct epoll_event events[EV_BATCH];

	timer_loop = ev;
	ev->stop = false;
	while (!ev->stop) {
		int timeout = -1;
		ev->now = monotonic_ms();
		if (ev->heap_len > 0) {
			uint64_t when = ev->heap[0]->when;
			timeout = when <= ev->now ? 0 : (int)(when - ev->now > 60000 ? 60000 : when - ev->now);
		}
		int n = epoll_wait(ev->epfd, events, EV_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait() failed: %m");
			return -1;
		}
		ev->now = monotonic_ms();
		for (int i = 0; i < n; i++) {
			struct ev_io *io = events[i].data.ptr;
			if (io->dead)
				continue;
			unsigned what = 0;
			if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				what |= EV_READ;
			if (events[i].events & (EPOLLOUT | EPOLLERR))
				what |= EV_WRITE;
			ev->io_calls++;
			io->fn(io, what, io->ctx);
		}
		reap_dead(ev);
		run_timers(ev);
		reap_dead(ev);
	}
	return 0;
}
