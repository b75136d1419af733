#ifndef RAVELIN_IMAP_LOGIN_H
#define RAVELIN_IMAP_LOGIN_H
/*
 * imap-login: the IMAP not-authenticated state (RFC 9051 6.1, 6.2; RFC
 * 3501), all that runs before login, as a state machine with no I/O on top
 * of the command parser (imap-parser.h).  Commands: CAPABILITY, NOOP,
 * LOGOUT, ID (RFC 2971), STARTTLS, LOGIN and AUTHENTICATE PLAIN with or
 * without an initial response (RFC 4959 SASL-IR).  Credentials are taken
 * only under TLS; in clear text LOGINDISABLED is announced and they get
 * "NO [PRIVACYREQUIRED]".
 *
 * A login goes through three answers from outside:
 *   login callback           -> imap_login_result (auth's verdict)
 *   ok                       -> imap_login_session_ready or _refused
 *                               (master's answer to the ticket)
 *   session_ready            writes "tag OK [CAPABILITY ...] Logged in"
 * From the login callback on, the machine consumes no input: bytes the
 * client pipelined after LOGIN stay in the caller's buffer, for the worker
 * once the session is ready, or for this machine again after a refusal.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/str.h"

/* RFC 2971 3.3: ID has at most 30 field-value pairs, a field at most 30
 * octets and a value at most 1024.  A client may send all of it (imaptest
 * does), and must get an answer, not a BAD. */
#define IMAP_ID_MAX_PAIRS 30
#define IMAP_ID_MAX_FIELD 30
#define IMAP_ID_MAX_VALUE 1024
/* Octets of the longest ID line RFC 2971 allows, quoted strings: the tag,
 * " ID (" and ")\r\n", and per pair two quoted strings and two spaces. */
#define IMAP_ID_MAX_LINE \
	(64u + 8u + IMAP_ID_MAX_PAIRS * (IMAP_ID_MAX_FIELD + IMAP_ID_MAX_VALUE + 6u))
/* Command text before login: LOGIN with a 254-octet address and a 1 KiB
 * password, or the base64 of both after AUTHENTICATE PLAIN, is under
 * 2 KiB; the longest is the largest ID RFC 2971 allows (31,872 octets),
 * so 32 KiB less one: the parser reserves its token buffer at this size
 * plus a NUL (it may hold a password), 32 KiB per connection before login,
 * of which a command touches (and wipes) only what its line reached.
 * Longer lines are refused (read to their end without being kept). */
#define IMAP_LOGIN_MAX_LINE (32u * 1024 - 1)
_Static_assert(IMAP_LOGIN_MAX_LINE >= IMAP_ID_MAX_LINE, "the largest ID must fit a line");
/* A literal before login is a user name, a password or an ID value.  A
 * bigger announcement ({4000000000}) is refused before a byte of it is
 * reserved. */
#define IMAP_LOGIN_MAX_LITERAL (8u * 1024)
/* Line text and literals of one command: a full line, or LOGIN with two
 * full literals. */
#define IMAP_LOGIN_MAX_COMMAND (IMAP_LOGIN_MAX_LINE + 2 * IMAP_LOGIN_MAX_LITERAL)
/* Before login only ID takes a list, one level deep; a little room for
 * clients that nest an ID value by mistake, and "((((..." ends at once. */
#define IMAP_LOGIN_MAX_DEPTH 4
/* ID has at most 30 field-value pairs (RFC 2971 3.3): 60 strings. */
#define IMAP_LOGIN_MAX_ARGS 128
/* BAD and NO answers (failed logins included) before the connection is
 * closed: a client that needs more is not a mail client. */
#define IMAP_LOGIN_MAX_ERRORS 10

struct imap_login_callbacks {
	void (*output)(void *ctx, const char *data, size_t len);
	/* Credentials to check; answer with imap_login_result, now or later.
	 * The strs are valid during the call only (and wiped after it). */
	void (*login)(void *ctx, struct str user, struct str password);
	/* The OK to STARTTLS has been written: start TLS once it is sent,
	 * then call imap_login_tls_started. */
	void (*starttls)(void *ctx);
	/* Close once the output is sent. */
	void (*close)(void *ctx);
};

struct imap_login;

/* imap_login_new makes the state for one connection (NULL: no memory).
 * tls_offered: STARTTLS can be done; tls_active: TLS is on already. */
struct imap_login *imap_login_new(const struct imap_login_callbacks *callbacks, void *ctx,
				  bool tls_offered, bool tls_active);
/* imap_login_free releases it and sets *login NULL. */
void imap_login_free(struct imap_login **login);
/* imap_login_start writes the greeting. */
void imap_login_start(struct imap_login *login);
/* imap_login_input consumes commands from in (consumed bytes are wiped:
 * they may hold a password) until it needs more or waits for an answer. */
void imap_login_input(struct imap_login *login, struct buf *in);
/* imap_login_result is the answer to the login callback: ok (the caller
 * now asks for the session), or a refusal, temporary when the check could
 * not be made.  Ignored when no login is waiting. */
void imap_login_result(struct imap_login *login, bool ok, bool temporary);
/* imap_login_session_ready writes the tagged OK of the login; the caller
 * then hands the connection to the worker (imap_login_done is true). */
void imap_login_session_ready(struct imap_login *login);
/* imap_login_session_refused answers the login "NO [UNAVAILABLE]" (or,
 * with limit, "NO [LIMIT]": the account has all the sessions it may) and
 * goes back to the not-authenticated state. */
void imap_login_session_refused(struct imap_login *login, bool limit);
void imap_login_tls_started(struct imap_login *login);
/* imap_login_timeout says goodbye ("* BYE Autologout") and closes. */
void imap_login_timeout(struct imap_login *login);
/* imap_login_waiting is true while an answer from outside (auth, master,
 * TLS) is awaited; no input is consumed then. */
bool imap_login_waiting(const struct imap_login *login);
/* imap_login_done is true once the session is ready. */
bool imap_login_done(const struct imap_login *login);

#endif
