#ifndef RAVELIN_AUTH_QUEUE_H
#define RAVELIN_AUTH_QUEUE_H
/*
 * auth-queue: which password check auth runs next, and how long a refusal
 * waits.  A check (argon2id) costs tens of milliseconds and 64 MiB, so the
 * checkers are few; this decides who gets them:
 *   - at most one check in flight per client address and per network (a
 *     /24 for IPv4, a /64 for IPv6: what one site or one host usually
 *     holds), so a guesser with many connections still gets one checker;
 *   - a client that logged in successfully in the last AUTH_KNOWN_GOOD_S
 *     goes first (its requests already waiting too), so a password
 *     guessing storm does not lock users out; but not for ever: while a
 *     stranger waits it gets a turn after AUTH_KNOWN_GOOD_RUN of them;
 *   - the rest round-robin by network (the oldest request of the network
 *     with the fewest requests ahead of it);
 *   - waiting is bounded (AUTH_QUEUE_MAX, and AUTH_QUEUE_MAX_PER_NETWORK
 *     for clients not known good): past it a login is answered "try later".
 * Failed logins are counted per IPv4 address and per IPv6 /64 (a host
 * picks addresses inside its /64 at will); each one doubles the delay of
 * the next refusal (IPC_LOGIN_FIRST_DELAY_MS to IPC_LOGIN_MAX_DELAY_MS).
 *
 * Pure: no I/O, no clock of its own (the caller passes the time), so the
 * order and the keying are unit-tested (test-auth-queue.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/str.h"

/* Requests waiting or being checked; each holds a password until checked.
 * 256 covers a burst of every user of a big site logging in at once,
 * while a flood is refused at once instead of queueing for minutes. */
#define AUTH_QUEUE_MAX 256
/* Requests one network (not known good) may have waiting or in flight:
 * a busy office behind one address queues, a flood from it cannot take
 * the whole queue. */
#define AUTH_QUEUE_MAX_PER_NETWORK 32
/* Clients remembered as having logged in successfully, and for how long:
 * a day covers the clients of one working day at a big site. */
#define AUTH_KNOWN_GOOD 4096
#define AUTH_KNOWN_GOOD_S (24 * 3600)
/* While a client not known good waits, clients known good get at most
 * this many checks in a row: a busy office logging in all day cannot
 * lock a new client out, and a guessing storm still gets only one check
 * in AUTH_KNOWN_GOOD_RUN + 1 while users wait. */
#define AUTH_KNOWN_GOOD_RUN 3
/* Clients whose failed logins are counted at once (the oldest entry makes
 * room), and how long a failure counts. */
#define AUTH_PENALTY_TRACKED 4096
#define AUTH_PENALTY_MEMORY_S 900

/* A client address reduced to what is compared: IPv4 or IPv6 bytes, with
 * the bits past the prefix cleared.  Unparseable text is one key (family
 * AUTH_KEY_OTHER): such clients share their limits. */
enum auth_key_family { AUTH_KEY_OTHER = 0, AUTH_KEY_IPV4 = 4, AUTH_KEY_IPV6 = 6 };
struct auth_key {
	uint8_t family;
	uint8_t bytes[16];
};

/* How auth tells one login's client apart. */
struct auth_client {
	struct auth_key address; /* the address itself */
	struct auth_key network; /* its /24 or /64: one check in flight */
	struct auth_key penalty; /* failures count here: the address, or its /64 */
};

/* auth_client_from_ip parses the front's text of an address ("192.0.2.1",
 * "2001:db8::1", "::ffff:192.0.2.1" counts as IPv4). */
void auth_client_from_ip(struct str ip, struct auth_client *client_r);
bool auth_key_eq(const struct auth_key *a, const struct auth_key *b);

struct auth_queue;

/* auth_queue_new makes an empty queue (NULL: no memory). */
struct auth_queue *auth_queue_new(void);
/* auth_queue_free releases it (not the requests) and sets *q NULL. */
void auth_queue_free(struct auth_queue **q);
/* auth_queue_push adds request (the caller's, opaque) from client.
 * Returns 0, or -1 when the queue or the client's network is full (answer
 * "try later"; request stays the caller's). */
int auth_queue_push(struct auth_queue *q, const struct auth_client *client, void *request,
		    time_t now);
/* auth_queue_next takes the request to check next and marks it in flight;
 * NULL when none may start (none waiting, or each waiting one's address or
 * network has a check in flight). */
void *auth_queue_next(struct auth_queue *q);
/* auth_queue_done ends the in-flight check of request: ok (a login) makes
 * its client known good and clears its failures; a failure is counted and
 * the delay of the refusal, in ms, returned (0 after ok).  *failures_r
 * (if not NULL) gets the client's failures so far. */
uint64_t auth_queue_done(struct auth_queue *q, void *request, bool ok, time_t now,
			 unsigned *failures_r);
/* Requests waiting, and in flight. */
size_t auth_queue_waiting(const struct auth_queue *q);
size_t auth_queue_in_flight(const struct auth_queue *q);

#endif
