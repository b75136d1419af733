#ifndef RAVELIN_DNS_CLIENT_H
#define RAVELIN_DNS_CLIENT_H
/*
 * dns-client: asks the resolver process over one IPC link (IPC_DNS_QUERY,
 * answered by IPC_DNS_ANSWER with the same message id; see dns-msg.h).
 * Used by every process that needs DNS (pre-auth SMTP for the inbound
 * checks, relay); none of them ever opens a socket of its own for it.
 *
 * Every dns_client_ask that returns 0 gets exactly one call of its fn:
 * the resolver's answer, or DNS_TEMPFAIL if the link is gone, the answer
 * is malformed or it does not come within DNS_CLIENT_TIMEOUT_MS.  fn is
 * never called from inside dns_client_ask, so the caller's state is
 * whole when it runs.  The answer (its records' data) is valid only
 * during the call: copy what is kept.
 */
#include "dns.h"
#include "ev.h"
#include "str.h"

/* How long an asker waits for an answer.  The resolver gives up on a
 * query after its own bound (RESOLVER_QUERY_TIMEOUT_MS, 8 s) and answers
 * DNS_TEMPFAIL; this is that plus room for a busy resolver, and short
 * enough for an SMTP client waiting at MAIL FROM (RFC 5321 4.5.3.2 gives
 * it 5 minutes for the whole reply). */
#define DNS_CLIENT_TIMEOUT_MS 10000
/* Queries one client has outstanding; the resolver's own cap per link
 * (RESOLVER_MAX_OUTSTANDING) is the same, so a client never makes the
 * resolver refuse one.  More are answered DNS_TEMPFAIL at once (soon
 * after the call, never inside it). */
#define DNS_CLIENT_MAX_OUTSTANDING 64

struct dns_client;

typedef void dns_answer_fn(const struct dns_answer *a, void *ctx);

/* dns_client_new takes over link_fd (the link to the resolver; -1: none,
 * every ask is answered DNS_TEMPFAIL).  NULL if out of memory (link_fd
 * is then closed). */
struct dns_client *dns_client_new(struct ev *ev, int link_fd);
/* dns_client_free closes the link; queries still waiting get no call. */
void dns_client_free(struct dns_client **c);
/* dns_client_ask asks for name's records of type.  Returns 0 (fn will be
 * called exactly once, with ctx), or -1 if the name is empty or longer
 * than DNS_MAX_NAME, or memory is short (fn is never called). */
int dns_client_ask(struct dns_client *c, enum dns_type type, struct str name,
		   dns_answer_fn *fn, void *ctx);
/* dns_client_cancel_all forgets every query asked with ctx: no more
 * calls for it (a connection that ends while it waits). */
void dns_client_cancel_all(struct dns_client *c, void *ctx);
/* dns_client_connected: is the link to the resolver there? */
bool dns_client_connected(const struct dns_client *c);

#endif
