#ifndef RAVELIN_WORKER_SESSION_H
#define RAVELIN_WORKER_SESSION_H
/*
 * worker-session: an authenticated client session inside the account's
 * worker: IMAP, POP3 or HTTP (worker-http.h) over one transport and one
 * loop.  The descriptor is one end of a byte stream whose other end the
 * front holds (it relays the client's decrypted bytes); the protocol runs
 * here, against this account's store only.
 */
#include <stdint.h>

#include "lib/ev.h"
#include "lib/handoff.h"
#include "store/store.h"
#include "worker-http.h"

struct worker_session_env {
	struct ev *ev;
	struct store *store;
	/* Called when a session ends (the worker counts its connections). */
	void (*closed)(void);
	uint64_t max_message_size;    /* APPEND's limit */
	unsigned max_imap_sessions;   /* IMAP sessions of this account at once */
	struct worker_http_env http;  /* HTTP sessions: the dav-store, set-up */
	/* IMAP sessions in IDLE with nothing pending for park_delay_ms are
	 * parked (0: never): park gets the state (a payload of IPC_PARK, the
	 * caller's to free) and the client's socket (which it passes on and
	 * closes).  0, or -1 if it could not take them (the session stays). */
	uint64_t park_delay_ms;
	/* An HTTP connection silent this long is closed (0:
	 * WORKER_HTTP_IDLE_SECONDS). */
	uint64_t http_idle_seconds;
	int (*park)(const struct buf *state, int fd);
	/* The account changed while sessions of it may be parked. */
	void (*wake)(void);
};

/* worker_session_open starts the session a pre-auth process handed over
 * (h: its protocol, how the client is reached, what it already sent) on
 * fd, which it takes over.  Returns 0, or -1 (fd closed, closed not
 * called). */
int worker_session_open(const struct worker_session_env *env, int fd, const struct handoff *h);
/* worker_session_unpark takes up a parked IMAP session again: state as
 * env->park got it, fd the client's socket (taken over).  It reports what
 * changed meanwhile.  0, or -1 (fd closed, closed not called). */
int worker_session_unpark(const struct worker_session_env *env, int fd, struct str state);
/* worker_session_account_known lets HTTP sessions go on once the
 * account's addresses are known (worker-account.h). */
void worker_session_account_known(void);
/* worker_session_imap_count: the IMAP sessions open now. */
unsigned worker_session_imap_count(void);
/* worker_session_notify_all tells every IMAP session the store changed
 * (after a delivery, or a change made by one of them). */
void worker_session_notify_all(void);
/* worker_session_synced: the store's syncs up to number done
 * (worker-commit.h) have ended; ok: the answers and change notices held
 * for them go out; not ok (sync done failed): the sessions whose answers
 * waited for it are closed without them.  Answers held for later syncs
 * wait on. */
void worker_session_synced(bool ok, uint64_t done);
/* worker_session_shutdown_all says BYE to every IMAP session and sends
 * what it can of it now (the worker is about to exit). */
void worker_session_shutdown_all(void);

#endif
