#ifndef RAVELIN_TLS_POLICY_H
#define RAVELIN_TLS_POLICY_H
/*
 * tls-policy: what TLS one delivery attempt to one MX host must have, and
 * whether it may send, from what the relay knows at each step.  Pure: no
 * I/O, no clock, no allocation.
 *
 * Precedence (RFC 8461 2, RFC 7672): DANE for an MX host whose TLSA
 * answer is secure wins over the domain's MTA-STS policy; MTA-STS
 * "enforce" then requires the MX host to be listed in the policy and a
 * certificate that chains to the trust store and names the MX host;
 * "testing" lets every failure through with a note for the log (TLS-RPT
 * would report it); without either, TLS is opportunistic: used when
 * offered, any certificate, and a failed handshake may be retried in
 * clear on a new connection.
 *
 * The relay calls tls_policy_decide at three stages of one connection,
 * filling what it has learnt so far:
 *   TLS_STAGE_MX         before connecting to an MX host;
 *   TLS_STAGE_EHLO       after the EHLO reply (starttls_offered);
 *   TLS_STAGE_HANDSHAKE  after the STARTTLS handshake (handshake_ok,
 *                        verified = dane_ssl_verified(ssl, verdict.auth)).
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"
#include "relay/dane.h"
#include "relay/mta-sts.h"

/* A reason is one line in a log and in a bounce's Diagnostic text: a
 * host name (DNS_MAX_NAME) twice and some words. */
#define TLS_POLICY_MAX_REASON 640

enum tls_stage {
	TLS_STAGE_MX = 0,
	TLS_STAGE_EHLO,
	TLS_STAGE_HANDSHAKE,
};

struct tls_policy_input {
	enum tls_stage stage;
	struct str domain;                  /* the destination (for words only) */
	struct str mx_host;                 /* the MX host of this attempt */
	const struct mta_sts_policy *sts;   /* the domain's policy; NULL: none */
	enum dane_state dane;               /* dane_classify() for mx_host */
	bool starttls_offered;              /* TLS_STAGE_EHLO and after */
	bool handshake_ok;                  /* TLS_STAGE_HANDSHAKE */
	bool verified;                      /* TLS_STAGE_HANDSHAKE: dane_ssl_verified */
};

enum tls_action {
	TLS_SKIP_MX = 0,   /* MX stage: do not use this MX host; try the next */
	TLS_CONNECT,       /* MX stage: connect, with auth and tls_required */
	TLS_STARTTLS,      /* EHLO stage: send STARTTLS, set up with dane_ssl_prepare(auth) */
	TLS_SEND,          /* EHLO or handshake stage: go on with the mail */
	TLS_DEFER,         /* not on this connection: QUIT; a temporary failure */
	TLS_RETRY_PLAIN,   /* handshake failed, TLS optional: a new connection may send in clear */
};

struct tls_verdict {
	enum tls_action action;
	enum dane_auth auth;        /* the certificate check the handshake must pass */
	bool tls_required;          /* no delivery without TLS to this MX host */
	/* TLS_SKIP_MX, TLS_DEFER: why (for the bounce and the log).
	 * TLS_SEND: non-empty when a testing policy was not met (log it). */
	char reason[TLS_POLICY_MAX_REASON];
};

/* tls_policy_decide: the verdict for in (see above).  Always fills *v;
 * a verdict of TLS_SKIP_MX or TLS_DEFER always carries a reason naming the
 * MX host, for instance "MTA-STS policy requires TLS but mx.b.test
 * offered no STARTTLS" or "DANE TLSA mismatch for mx.b.test". */
void tls_policy_decide(const struct tls_policy_input *in, struct tls_verdict *v);

#endif
