#ifndef RAVELIN_PARK_H
#define RAVELIN_PARK_H
/*
 * park: the parking process.  It holds the clients of IMAP sessions in
 * IDLE whose workers let them go, so that an account whose clients all
 * sit in IDLE needs no worker.  Each parked session is the client's
 * socket and an opaque state (the worker's: TLS 1.3 keys and record
 * numbers, the session's view; src/imap/imap-session-park.h) that park
 * never interprets.  It never reads or writes a client's socket: it
 * watches it, and hands the session back (through master, to the
 * account's worker, started if need be) when the socket becomes readable,
 * when master says the account changed, or when it has been parked
 * PARK_HOLD_MS.  A socket that shows its end (readable with nothing to
 * read) is closed.
 */
#include <stdint.h>

/* Sessions parked at once: 10,000 idle clients over 1,000 accounts is the
 * figure it is built for; room for six times that, within the
 * descriptors a process may hold (master raises its limit for its children). */
#define PARK_MAX_SESSIONS (64 * 1024)
/* Descriptors park keeps for itself (its link, epoll, signalfd, the
 * standard ones, one being received) below its limit. */
#define PARK_FD_SPARE 32
/* A session comes back to its worker after this long parked, so that the
 * worker's autologout (RFC 9051 5.4: 30 minutes) applies to it: a client
 * in IDLE is asked to renew it every 29 minutes (RFC 2177). */
#define PARK_HOLD_MS (29u * 60 * 1000)
/* How often park looks for sessions held PARK_HOLD_MS. */
#define PARK_SWEEP_MS (60u * 1000)

/* park_main runs the parking process (--role park); its exit status. */
int park_main(void);

#endif
