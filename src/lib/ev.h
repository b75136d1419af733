#ifndef RAVELIN_EV_H
#define RAVELIN_EV_H
/*
 * ev: the event loop, on epoll (level-triggered), with one-shot timers and
 * signals through signalfd.  Single-threaded: callbacks run one at a time.
 * An io or timer may be removed from inside any callback, including its own.
 */
#include <stdbool.h>
#include <stdint.h>

#define EV_READ  0x1u
#define EV_WRITE 0x2u

struct ev;
struct ev_io;
struct ev_timer;

typedef void ev_io_fn(struct ev_io *io, unsigned events, void *ctx);
typedef void ev_timer_fn(struct ev_timer *timer, void *ctx);
typedef void ev_signal_fn(int signo, void *ctx);

struct ev *ev_new(void);
void ev_free(struct ev **ev);
/* ev_run dispatches until ev_stop; returns 0, or -1 if epoll failed. */
int ev_run(struct ev *ev);
void ev_stop(struct ev *ev);
/* Monotonic milliseconds, refreshed each loop iteration. */
uint64_t ev_now(struct ev *ev);
/* ev_io_calls counts the io callbacks made so far: a loop whose count
 * stands still has had nothing to read or write (timers do not count). */
uint64_t ev_io_calls(struct ev *ev);

/* ev_io_add watches fd for events (EV_READ|EV_WRITE); NULL on failure. */
struct ev_io *ev_io_add(struct ev *ev, int fd, unsigned events, ev_io_fn *fn, void *ctx);
void ev_io_set(struct ev_io *io, unsigned events);
/* ev_io_del stops watching (the fd is not closed) and sets *io to NULL. */
void ev_io_del(struct ev_io **io);

/* ev_timer_add calls fn once after ms milliseconds. */
struct ev_timer *ev_timer_add(struct ev *ev, uint64_t ms, ev_timer_fn *fn, void *ctx);
/* ev_timer_del cancels a timer that has not fired and sets *timer to NULL;
 * a fired timer is gone already: the callback must not delete it. */
void ev_timer_del(struct ev_timer **timer);

/* ev_signal_add blocks signo and calls fn when it arrives. */
int ev_signal_add(struct ev *ev, int signo, ev_signal_fn *fn, void *ctx);
/* ev_term_asked: has SIGTERM reached this process, read by a loop or
 * still waiting for one?  At a stop every process gets it at once, and
 * those that end first close links and refuse sends to the others: a
 * process told to stop need not warn of that. */
bool ev_term_asked(void);

#endif
