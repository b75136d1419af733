#ifndef RAVELIN_SMTP_SESSION_H
#define RAVELIN_SMTP_SESSION_H
/*
 * smtp-session: the RFC 5321 server dialogue as a push-based state machine
 * with no I/O of its own.  The front feeds it the bytes a client sent and
 * sends what it outputs; look-ups and the spool are asked for through
 * callbacks and answered later (asynchronously) through the *_result calls.
 * While an answer is outstanding the session consumes no more input, so
 * pipelined commands wait in the caller's buffer in order.
 *
 * Extensions: PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES,
 * CHUNKING (BDAT), STARTTLS (when the caller offers it), and in submission
 * mode AUTH PLAIN and LOGIN (RFC 4954) under TLS only.  VRFY gives the
 * "disabled" 252 answer; EXPN 502.
 *
 * Security properties the caller relies on:
 *  - DATA ends only at CRLF "." CRLF where the first CRLF is a real CRLF
 *    (not a bare LF or bare CR): the SMTP smuggling attack.  Bare LF and bare
 *    CR inside the data are normalised to CRLF and never end the data.
 *  - After STARTTLS, every byte that followed the STARTTLS line in the
 *    same input is discarded (the STARTTLS command injection attack).
 *  - Limits: command line length (SMTP_MAX_LINE), recipients per message,
 *    message size, errors per session; going over gives a protocol error.
 *
 * Answers and input (PIPELINING): smtp_session_input stops consuming as soon
 * as a callback's answer is owed (rcpt_lookup, data_end, starttls, auth).  The
 * *_result / tls_started calls output the reply but never consume input by
 * themselves; the caller calls smtp_session_input again afterwards to go on
 * with the commands still in its buffer.  An answer may also be given from
 * inside the callback that asked for it.  Answers that are not awaited are
 * ignored.  Callbacks must not free the session or call smtp_session_input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"

/* RFC 5321 4.5.3.1.4 says 512 for a command line; leave room for long
 * ESMTP parameters and SMTPUTF8 addresses while keeping it small. */
#define SMTP_MAX_LINE 4096
/* RFC 5321 4.5.3.1.8 requires at least 100 recipients to be accepted. */
#define SMTP_DEFAULT_MAX_RECIPIENTS 1000
/* A client making this many errors is not a mail client: close. */
#define SMTP_MAX_ERRORS 20
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets. */
#define SMTP_MAX_PATH 256

struct smtp_settings {
	const char *hostname;     /* our name in the greeting and Received: */
	uint64_t max_message_size;
	unsigned max_recipients;
	bool tls_offered;         /* advertise and accept STARTTLS */
	bool tls_active;          /* this session already runs under TLS */
	/* Submission (RFC 6409): AUTH after TLS, MAIL only after it, senders
	 * and From: only the account's, Date: and Message-ID: added. */
	bool submission;
	bool received_ip;         /* submission: name the client's IP in Received: */
};

/* The answer to the auth callback (submission). */
enum smtp_auth_status {
	SMTP_AUTH_OK,             /* 235 */
	SMTP_AUTH_REFUSED,        /* 535 5.7.8 */
	SMTP_AUTH_TEMPFAIL,       /* 454 4.7.0 */
};

enum smtp_rcpt_status {
	SMTP_RCPT_OK,             /* 250 */
	SMTP_RCPT_UNKNOWN,        /* 550 5.1.1 */
	SMTP_RCPT_TEMPFAIL,       /* 451 4.3.0 (look-up not possible now) */
	SMTP_RCPT_RELAY_DENIED,   /* 554 5.7.1 (not our domain, no login) */
	SMTP_RCPT_LOOP,           /* 550 5.4.6 (aliases that loop) */
	SMTP_RCPT_OVER_QUOTA,     /* 452 4.2.2 (the declared SIZE does not fit
				   * the mailbox's quota; RFC 3463 4.2.2) */
};

/* One accepted recipient of the current transaction. */
struct smtp_rcpt {
	struct str address;       /* the forward-path without <> */
	uint64_t *accounts;       /* local account ids it resolves to */
	size_t account_count;
};

struct smtp_transaction {
	struct str mail_from;     /* reverse-path without <>; empty for <> */
	const struct smtp_rcpt *rcpts;
	size_t rcpt_count;
	bool body_8bitmime;
	bool smtputf8;
	uint64_t declared_size;   /* MAIL FROM's SIZE= (RFC 1870); 0: not given */
	struct str helo;          /* the client's HELO/EHLO name (SPF's HELO identity) */
};

struct smtp_callbacks {
	/* Bytes to send to the client. */
	void (*output)(void *ctx, const char *data, size_t len);
	/* Resolve a recipient; answer with smtp_session_rcpt_result.  address
	 * stays valid until the transaction ends. */
	void (*rcpt_lookup)(void *ctx, struct str address);
	/* A message starts; return 0, or -1 if it cannot be taken now (451). */
	int (*data_begin)(void *ctx, const struct smtp_transaction *t);
	/* Message bytes in order (Received: first, then content with dot
	 * stuffing removed and line ends as CRLF); return 0 or -1. */
	int (*data_chunk)(void *ctx, const char *data, size_t len);
	/* All bytes given; make it durable and answer with
	 * smtp_session_data_result.  ok is false when the message was refused
	 * (too big, aborted): the callee drops what it got and must still answer.
	 * A session that closes mid-message (timeout, too many errors, free)
	 * does not call data_end: the caller drops the partial message. */
	void (*data_end)(void *ctx, bool ok);
	/* "220 Ready to start TLS" was output: start the handshake and call
	 * smtp_session_tls_started once it is done. */
	void (*starttls)(void *ctx);
	/* The session is over (QUIT, too many errors, fatal): flush and close. */
	void (*close)(void *ctx);
	/* Submission: check a login; answer with smtp_session_auth_result.
	 * user and password are wiped once it returns: copy what is kept. */
	void (*auth)(void *ctx, struct str user, struct str password);
	/* Submission: may the logged-in account send as address (MAIL FROM,
	 * each From: mailbox)?  Answered at once, from what auth said. */
	bool (*sender_allowed)(void *ctx, struct str address);
};

struct smtp_session;

/* smtp_session_new makes a session for one connection; settings are copied
 * (hostname must outlive the session).  remote_ip is text. */
struct smtp_session *smtp_session_new(const struct smtp_settings *settings,
				      const struct smtp_callbacks *callbacks, void *ctx,
				      const char *remote_ip, const char *session_id);
void smtp_session_free(struct smtp_session **session);
/* smtp_session_start outputs the 220 greeting. */
void smtp_session_start(struct smtp_session *session);
/*
 * smtp_session_input consumes as much of in as it can (bytes it consumed
 * are removed from in) and stops early while waiting for a callback's
 * answer or after the session closed.  Call it again after each answer.
 * While the TLS handshake is awaited, every byte given is discarded (it was
 * sent in clear before the handshake).  in must be able to hold
 * SMTP_MAX_LINE octets: a command line is at most that, line end included.
 */
void smtp_session_input(struct smtp_session *session, struct buf *in);
void smtp_session_rcpt_result(struct smtp_session *session, enum smtp_rcpt_status status,
			      const uint64_t *accounts, size_t account_count);
/* ok: the message is durable (250, with queue_id in the text); else 451. */
void smtp_session_data_result(struct smtp_session *session, bool ok, const char *queue_id);
/* The message does not fit any recipient's quota: 552 5.2.2 (RFC 1870
 * 6.2: over a mailbox's limit after DATA); nothing was kept.  Answers as
 * smtp_session_data_result(false) would when the message was refused
 * already (too big, aborted). */
void smtp_session_data_over_quota(struct smtp_session *session);
/* The message is refused by a check (DMARC p=reject, say): reply, a
 * whole "5xx x.y.z text" line without its CRLF, is the answer to DATA;
 * nothing was kept. */
void smtp_session_data_refused(struct smtp_session *session, const char *reply);
/* The SIZE= of the transaction under way (0: none declared, or no
 * transaction): what a recipient's quota is checked against at RCPT. */
uint64_t smtp_session_declared_size(const struct smtp_session *session);
/* The login asked by the auth callback: 235, 535 or 454. */
void smtp_session_auth_result(struct smtp_session *session, enum smtp_auth_status status);
/* TLS is up: forget HELO/EHLO and any transaction (RFC 3207 4.2). */
void smtp_session_tls_started(struct smtp_session *session);
/* The idle or total time ran out: outputs 421 4.4.2 and calls close. */
void smtp_session_timeout(struct smtp_session *session);
/* smtp_session_waiting is true while an answer to a callback is awaited. */
bool smtp_session_waiting(const struct smtp_session *session);

#endif
