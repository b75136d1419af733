#ifndef RAVELIN_POP3_LOGIN_H
#define RAVELIN_POP3_LOGIN_H
/*
 * pop3-login: the POP3 AUTHORIZATION state (RFC 1939, RFC 2449 CAPA, RFC
 * 2595 STLS, RFC 5034 AUTH PLAIN), all that runs before login, as a state
 * machine with no I/O.  Credentials are taken only under TLS.  When a
 * client has given them, the login callback runs and the session waits for
 * pop3_login_result; after a success it consumes nothing more: the front
 * hands the connection to the account's worker.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/str.h"

/* RFC 2449 4 allows 255 octets for a command, but AUTH PLAIN carries
 * base64 of two user names and a password as long as auth takes (about
 * 2 KiB, asserted in pop3-login.c).  Lines up to 8 KiB are read, so that
 * credentials too long for auth are answered as a failed login, not as a
 * broken line; the bytes wait in the front's input buffer meanwhile. */
#define POP3_LOGIN_MAX_LINE (8u * 1024)
#define POP3_LOGIN_MAX_ERRORS 10

struct pop3_login_callbacks {
	void (*output)(void *ctx, const char *data, size_t len);
	void (*login)(void *ctx, struct str user, struct str password);
	void (*starttls)(void *ctx);
	void (*close)(void *ctx);
};

struct pop3_login;

struct pop3_login *pop3_login_new(const struct pop3_login_callbacks *callbacks, void *ctx,
				  bool tls_offered, bool tls_active);
void pop3_login_free(struct pop3_login **login);
void pop3_login_start(struct pop3_login *login);
void pop3_login_input(struct pop3_login *login, struct buf *in);
/* The answer to the login callback: ok (the worker then greets), or a
 * refusal (temporary: the check could not be made). */
void pop3_login_result(struct pop3_login *login, bool ok, bool temporary);
void pop3_login_tls_started(struct pop3_login *login);
void pop3_login_timeout(struct pop3_login *login);
bool pop3_login_waiting(const struct pop3_login *login);
/* pop3_login_done is true once the login succeeded. */
bool pop3_login_done(const struct pop3_login *login);

#endif
