#ifndef RAVELIN_IMAP_SESSION_H
#define RAVELIN_IMAP_SESSION_H
/*
 * imap-session: the authenticated and selected states of IMAP4rev1/rev2
 * (RFC 3501, RFC 9051 and the extensions of IMAP_CAPABILITY_AUTH) for one
 * client of one account, as a state machine without I/O.  The worker feeds
 * it the client's bytes and sends what it appends to the output buffer.
 * The login happened in the front; the session starts authenticated and
 * says nothing first.
 *
 * Several sessions of an account live in the same worker.  When one
 * changes the store, it calls the changed callback; the worker then calls
 * imap_session_notify on every session, and each tells its client what
 * changed (EXISTS, EXPUNGE or VANISHED, FETCH FLAGS) when the protocol
 * allows: at once in IDLE, else with the next command's answer.
 *
 * Long answers (FETCH of many bodies) are produced in steps: input stops
 * being consumed while the output buffer holds more than
 * IMAP_SESSION_OUTPUT_HIGH octets, and the worker calls imap_session_input
 * again once it has sent the output.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/store.h"

/* Output held before the session stops producing more. */
#define IMAP_SESSION_OUTPUT_HIGH (256u * 1024)
/* RFC 9051 5.4: an idle client is logged out after at least 30 minutes. */
#define IMAP_SESSION_AUTOLOGOUT_SECONDS (30u * 60)
/* Bad commands in a row before the session is closed. */
#define IMAP_SESSION_MAX_ERRORS 50

struct imap_session_callbacks {
	/* The session is over: send what is in out and close. */
	void (*close)(void *ctx);
	/* This session changed the store: notify every session of the account. */
	void (*changed)(void *ctx);
	/* count messages were copied or moved from mailbox from (APPEND: "")
	 * to to, where they have the UIDs given (the spam filter learns). */
	void (*copied)(void *ctx, struct store *store, const char *from, const char *to,
		       const uint32_t *uids, size_t count);
	/* COMPRESS DEFLATE (RFC 4978): the tagged OK is the last thing in
	 * out; from here on both directions are deflated.  The callee takes
	 * what out holds (it goes out uncompressed) and what remains of the
	 * input given to imap_session_input (it came compressed), leaving
	 * both empty.  0, or -1 (nothing changed: the session answers NO).
	 * NULL: COMPRESS is refused. */
	int (*compress)(void *ctx);
};

struct imap_session_settings {
	uint64_t max_append;        /* largest message APPEND accepts */
};

struct imap_session;

struct imap_session *imap_session_new(struct store *store, struct buf *out,
				      const struct imap_session_settings *settings,
				      const struct imap_session_callbacks *callbacks, void *ctx);
void imap_session_free(struct imap_session **session);
/* imap_session_input consumes what it can of in (see above). */
void imap_session_input(struct imap_session *session, struct buf *in);
/* imap_session_pending: a long answer is waiting to be continued (call
 * imap_session_input again once the output is sent). */
bool imap_session_pending(const struct imap_session *session);
/* imap_session_notify: the store changed; report it when allowed. */
void imap_session_notify(struct imap_session *session);
/* imap_session_timeout: the client was silent too long (BYE and close). */
void imap_session_timeout(struct imap_session *session);
/* imap_session_shutdown: the server is stopping (BYE and close). */
void imap_session_shutdown(struct imap_session *session);

#endif
