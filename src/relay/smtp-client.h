#ifndef RAVELIN_SMTP_CLIENT_H
#define RAVELIN_SMTP_CLIENT_H
/*
 * smtp-client: the RFC 5321 client dialogue as a push-based state machine
 * with no I/O of its own (the mirror of smtp/smtp-session.h).  The relay
 * feeds it what the server sent and sends what it outputs; the TLS
 * handshake and the message's bytes are asked for through callbacks.
 *
 * One connection: greeting, EHLO (HELO when EHLO is refused), STARTTLS
 * when offered and the caller can do TLS (or when required: then a server
 * without it ends the attempt), AUTH PLAIN when credentials are given,
 * then any number of messages, then QUIT.  Per message: MAIL and every
 * RCPT in one flight when the server offers PIPELINING (one at a time
 * otherwise), DATA, the body dot-stuffed as the caller pushes it, the
 * final reply; RSET after a transaction that did not reach its end.
 *
 * Results: every recipient of a message given to smtp_client_send gets
 * exactly one rcpt_result, then message_done is called.  A connection that
 * fails mid-message (garbage from the server, a timeout or an end the
 * caller reports with smtp_client_fail) gives the recipients not answered
 * yet a made-up 4xx saying why.  Failures that need no server (a message
 * too big for its SIZE, one needing SMTPUTF8 it does not offer) are
 * answered locally with a 5xx and cost nothing on the wire.
 *
 * Security properties the caller relies on:
 *  - Replies go through smtp-reply's bounded parser; garbage ends the
 *    connection.
 *  - After STARTTLS's 220, every byte that followed it in the same input
 *    is discarded (reply injection before the handshake).
 *  - Credentials are sent only under TLS.
 *  - The body goes out with CRLF line ends only (a bare CR or LF in it
 *    becomes CRLF), so no byte of a message can end its DATA early.
 *
 * Callbacks must not free the client.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "smtp-reply.h"

/* A command line we send is at most this long: "RCPT TO:<" a 256-octet
 * path ">" and our parameters (RFC 5321 4.5.3.1.4 allows 512 with the
 * extensions' room). */
#define SMTP_CLIENT_MAX_COMMAND 1024
/* Recipients of one message (IPC_RELAY_MAX_RCPTS is the same): RFC 5321
 * 4.5.3.1.8 says a server must take at least 100. */
#define SMTP_CLIENT_MAX_RCPTS 100

struct smtp_client_settings {
	const char *helo_name;   /* our name in EHLO/HELO */
	bool tls_possible;       /* the caller can do a TLS handshake */
	bool tls_required;       /* no TLS, no mail (smarthost; later MTA-STS,
				  * DANE): a server without STARTTLS is a 4xx */
	const char *auth_plain;  /* base64 of the SASL PLAIN message, or NULL */
};

/* One message.  The strings stay valid until message_done. */
struct smtp_client_message {
	struct str sender;       /* reverse-path without <>; empty for <> */
	const struct str *rcpts;
	size_t rcpt_count;       /* 1..SMTP_CLIENT_MAX_RCPTS */
	uint64_t size;           /* octets of the body as given */
	bool body_8bit;          /* BODY=8BITMIME (when offered) */
	bool smtputf8;           /* needs SMTPUTF8 */
};

struct smtp_client_callbacks {
	/* Bytes to send to the server. */
	void (*output)(void *ctx, const char *data, size_t len);
	/* "220" to STARTTLS came: do the handshake, then call
	 * smtp_client_tls_started (or smtp_client_fail). */
	void (*starttls)(void *ctx);
	/* The connection can take a message (smtp_client_send) or a QUIT;
	 * called once after the opening and once after each message_done. */
	void (*ready)(void *ctx);
	/* 354 came: push the body with smtp_client_body, then
	 * smtp_client_body_end. */
	void (*body_wanted)(void *ctx);
	/* The outcome for recipient index of the current message: the reply
	 * code and the answer as one line (smtp_reply_answer's form). */
	void (*rcpt_result)(void *ctx, size_t index, unsigned code, struct str answer);
	/* Every recipient of the current message has its result. */
	void (*message_done)(void *ctx);
	/* The connection is over: after QUIT (code 221 or what came), or a
	 * failure (code 4xx/5xx, why: one line for the log).  Nothing else is
	 * called afterwards. */
	void (*closed)(void *ctx, unsigned code, struct str why);
};

struct smtp_client;

/* smtp_client_new makes the dialogue of one connection; settings are
 * copied, their strings must outlive the client. */
struct smtp_client *smtp_client_new(const struct smtp_client_settings *settings,
				    const struct smtp_client_callbacks *callbacks, void *ctx);
void smtp_client_free(struct smtp_client **c);
/* smtp_client_input takes what the server sent from in (in must be able to
 * hold RELAY_MAX_REPLY_LINE octets) and acts on every whole reply. */
void smtp_client_input(struct smtp_client *c, struct buf *in);
/* smtp_client_tls_started: the handshake is done; EHLO again. */
void smtp_client_tls_started(struct smtp_client *c);
/* smtp_client_send starts a message; only after ready.  Returns 0, or -1
 * if the client is not ready or msg is out of bounds. */
int smtp_client_send(struct smtp_client *c, const struct smtp_client_message *msg);
/* smtp_client_body sends body bytes (after body_wanted), dot-stuffed. */
void smtp_client_body(struct smtp_client *c, const char *data, size_t len);
/* smtp_client_body_end ends the body ("." line) and awaits the answer. */
void smtp_client_body_end(struct smtp_client *c);
/* smtp_client_quit says QUIT (only when ready); closed follows. */
void smtp_client_quit(struct smtp_client *c);
/* smtp_client_fail ends the connection now for a reason the caller saw
 * (timeout, end of the stream, TLS failure): code is the made-up reply
 * (4xx), why is one line; recipients waiting get it, then closed. */
void smtp_client_fail(struct smtp_client *c, unsigned code, const char *why);
/* What the server offered in its last EHLO reply (for logs and tests). */
bool smtp_client_tls_active(const struct smtp_client *c);
bool smtp_client_offers_pipelining(const struct smtp_client *c);

#endif
