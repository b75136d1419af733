#ifndef RAVELIN_POP3_SESSION_H
#define RAVELIN_POP3_SESSION_H
/*
 * pop3-session: the POP3 TRANSACTION and UPDATE states (RFC 1939) after a
 * login, as a state machine with no I/O: the worker feeds it the bytes the
 * client sent and sends what it outputs.  The maildrop is the INBOX as it
 * was at login; deletions are applied at QUIT only (through a callback).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* RFC 2449 4: a command line is at most 255 octets; leave room. */
#define POP3_MAX_LINE 1024
/* Bad commands before the session is closed. */
#define POP3_MAX_ERRORS 20

struct pop3_message {
	uint32_t uid;
	uint64_t size;
	bool deleted;
};

struct pop3_callbacks {
	void (*output)(void *ctx, const char *data, size_t len);
	/* The whole content of message uid into out; 0 or -1. */
	int (*read_message)(void *ctx, uint32_t uid, struct buf *out);
	/* Make the deletions of uids[0..n) durable; 0 or -1. */
	int (*expunge)(void *ctx, const uint32_t *uids, size_t n);
	/* The session is over: flush and close. */
	void (*close)(void *ctx);
};

struct pop3_session;

/* pop3_session_new takes a copy of the maildrop's messages. */
struct pop3_session *pop3_session_new(const struct pop3_callbacks *callbacks, void *ctx,
				      uint32_t uidvalidity, const struct pop3_message *messages,
				      size_t count);
void pop3_session_free(struct pop3_session **session);
/* pop3_session_start outputs the answer to the login ("+OK ..."). */
void pop3_session_start(struct pop3_session *session);
/* pop3_session_input consumes complete lines from in. */
void pop3_session_input(struct pop3_session *session, struct buf *in);

#endif
