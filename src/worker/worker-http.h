#ifndef RAVELIN_WORKER_HTTP_H
#define RAVELIN_WORKER_HTTP_H
/*
 * worker-http: the requests of an HTTP session after login (CalDAV,
 * CardDAV, the set-up profile), in the account's worker.  worker-session.c
 * carries the bytes (TLS 1.3 records, plain or relayed); this reads whole
 * requests from them (http_reader: HTTP_MAX_HEAD, HTTP_MAX_BODY) and writes
 * the answers, one at a time and in order (pipelined requests wait in the
 * input until the answer before them has left).
 *
 * The session is bound to the credentials it logged in with: each
 * request's Authorization value must have the MAC the pre-auth process
 * handed over (HMAC-SHA-256 under the hand-off's key).  No Authorization:
 * 401 with the Basic challenge.  Another one (another user, another
 * password): the connection is closed unanswered, and the client logs in
 * afresh on a new one.  The account is the ticket's, never the request's:
 * a path naming another account is dav's 404.
 */
#include <stdbool.h>

#include "dav/dav.h"
#include "http/autoconfig.h"
#include "lib/buf.h"
#include "lib/handoff.h"

/* How long a connection may sit without a byte from the client, between
 * requests or inside one: a calendar client polls every few minutes and
 * opens a new connection for it; nginx keeps an idle one 75 s.  60 s
 * keeps a worker from holding sockets (and a 4 MB body buffer) for
 * clients that went away.  The default of http.idle_timeout (config.c). */
#define WORKER_HTTP_IDLE_SECONDS 60
/* A connection that ends while the client may still be sending (a refused
 * request, a body left unread) is not closed at once: closing a socket
 * with input unread resets it, and the reset can overtake the answer on
 * its way.  Its write side is shut after the answer, and what the client
 * still sends is read and dropped until it stops, for at most this long
 * or this much (RFC 9112 9.6; the pre-auth process does the same). */
#define WORKER_HTTP_LINGER_MS 2000
#define WORKER_HTTP_LINGER_BYTES (8 * 1024 * 1024)

/* The realm of the challenge; pre-auth answers the same one. */
#define WORKER_HTTP_CHALLENGE "WWW-Authenticate: Basic realm=\"Ravelin\", charset=\"UTF-8\"\r\n"

struct worker_http_env {
	struct dav_store *dav;                          /* NULL: 503 (it failed to open) */
	const struct dav_hooks *hooks;                  /* may be NULL */
	const struct autoconfig_settings *autoconfig;   /* domain filled per account */
};

struct worker_http;

/* worker_http_new starts a session whose answers go to out (which the
 * caller sends, and which must outlive it), bound to h's credential MAC
 * (h->http_auth must be set).  NULL when out of memory or unbound. */
struct worker_http *worker_http_new(const struct worker_http_env *env, const struct handoff *h,
				    struct buf *out);
/* worker_http_free releases h (its key wiped) and sets *h to NULL. */
void worker_http_free(struct worker_http **h);
/* worker_http_input takes requests from in and answers them into out,
 * as long as out is empty (one answer at a time) and the session is not
 * closing.  account NULL: not known yet (auth has not answered), nothing
 * is taken; call again once it is. */
void worker_http_input(struct worker_http *h, const struct dav_account *account, struct buf *in);
/* worker_http_blocked: input is waiting for out to be sent (call
 * worker_http_input again once it is). */
bool worker_http_blocked(const struct worker_http *h);
/* worker_http_closing: the connection ends once out is sent (an answer
 * with Connection: close, a refused request, other credentials). */
bool worker_http_closing(const struct worker_http *h);

#endif
