#ifndef RAVELIN_POP3_SESSION_H
#define RAVELIN_POP3_SESSION_H
/*
 * pop3-session: the POP3 TRANSACTION and UPDATE states (RFC 1939) after a
 * login, as a state machine with no I/O: the worker feeds it the bytes the
 * client sent and sends what it outputs.  The maildrop is the INBOX as it
 * was at login; deletions are applied at QUIT only (through a callback).
 *
 * RETR and TOP stream the message in windows: while more than
 * POP3_SESSION_OUTPUT_HIGH octets wait to be sent, nothing more is read
 * and no command is taken, and the worker calls pop3_session_input again
 * once the client has taken its output (pop3_session_pending says one is
 * going on).  A client that pipelines RETR without reading holds the
 * session to that bound, whatever the message's size.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/buf.h"

/* RFC 2449 4: a command line is at most 255 octets; leave room. */
#define POP3_MAX_LINE 1024
/* Bad commands before the session is closed. */
#define POP3_MAX_ERRORS 20
/* Output held before RETR/TOP stop reading the message: a few windows,
 * enough to keep a fast client's socket busy between two wake-ups. */
#define POP3_SESSION_OUTPUT_HIGH (256u * 1024)
/* Message octets read and dot-stuffed at a time. */
#define POP3_SESSION_WINDOW (64u * 1024)

struct pop3_message {
	uint32_t uid;
	uint64_t size;
	bool deleted;
};

struct pop3_callbacks {
	void (*output)(void *ctx, const char *data, size_t len);
	/* Octets output and not yet taken by the client. */
	size_t (*unsent)(void *ctx);
	/* Up to n octets of message uid from offset into dst: how many were
	 * read (0 at the end), or -1. */
	ssize_t (*read_message)(void *ctx, uint32_t uid, uint64_t offset, char *dst, size_t n);
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
/* pop3_session_input goes on with a RETR or TOP, then consumes complete
 * lines from in while the output is below POP3_SESSION_OUTPUT_HIGH. */
void pop3_session_input(struct pop3_session *session, struct buf *in);
/* pop3_session_pending: a RETR or TOP is not finished (call
 * pop3_session_input again once the output is sent). */
bool pop3_session_pending(const struct pop3_session *session);

#endif
