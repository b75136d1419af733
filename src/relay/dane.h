#ifndef RAVELIN_DANE_H
#define RAVELIN_DANE_H
/*
 * dane: DANE for SMTP (RFC 7672) on top of OpenSSL's DANE support, and
 * the certificate check of one outbound TLS connection.
 *
 * What a TLSA answer means for one MX host (RFC 7672 2.2):
 *  - DANE applies only when the MX answer that named the host was
 *    DNSSEC-secure (otherwise the host name itself may be forged) and the
 *    TLSA answer is secure too;
 *  - usable records are DANE-TA(2) and DANE-EE(3) (RFC 7672 3.1.1:
 *    PKIX-TA(0) and PKIX-EE(1) are unusable in SMTP) with selector 0 or 1
 *    and matching type 0, 1 or 2, whose data has the length the matching
 *    type says;
 *  - a secure RRset with none usable means TLS is still mandatory but not
 *    authenticated (as Postfix's "encrypt" level);
 *  - a failed or bogus TLSA lookup on a secure path means this MX host must
 *    not be used.
 *
 * The SSL setup does not fail the handshake on a bad certificate
 * (SSL_VERIFY_NONE): the relay reads dane_ssl_verified() after the
 * handshake and gives the result to tls_policy_decide(), which says what
 * happens and with which words; nothing is sent before that.
 */
#include <stdbool.h>

#include <openssl/ssl.h>

#include "lib/dns.h"
#include "lib/str.h"

enum dane_state {
	DANE_NONE = 0,  /* DANE does not apply (no secure TLSA, or insecure MX) */
	DANE_USABLE,    /* TLS and a TLSA match are mandatory */
	DANE_UNUSABLE,  /* secure TLSA, none usable: TLS mandatory, unauthenticated */
	DANE_FAILED,    /* TLSA lookup failed or bogus: do not use this MX host */
};

/* How the server's certificate is checked on one connection. */
enum dane_auth {
	DANE_AUTH_NONE = 0, /* accept any certificate (opportunistic TLS) */
	DANE_AUTH_PKIX,     /* chain to the trust store, name = the MX host (MTA-STS) */
	DANE_AUTH_DANE,     /* a usable TLSA record must match */
};

/* dane_record_usable: one TLSA record as RFC 7672 3.1 allows it. */
bool dane_record_usable(const struct dns_record *r);

/* dane_classify: what the TLSA answer for an MX host means, given whether
 * the MX answer naming that host was secure (true also when there was no
 * MX and the host is the domain itself, if that lookup was secure).
 * tlsa may be NULL when it was not asked. */
enum dane_state dane_classify(bool mx_secure, const struct dns_answer *tlsa);

/* dane_ctx_enable makes ctx (a client context) able to do DANE
 * (SSL_CTX_dane_enable).  Returns 0, or -1 with *error_r. */
int dane_ctx_enable(SSL_CTX *ctx, const char **error_r);

/* dane_client_ctx_new makes the client context for outbound TLS: TLS 1.2
 * or later, DANE enabled, and the trust store for PKIX checks (MTA-STS)
 * read now from ca_file (PEM; NULL or "" for the system's bundle,
 * $SSL_CERT_FILE or OpenSSL's default file), so that it works in a
 * process that may open no file afterwards (OpenSSL's default
 * directory lookup would open files at each verification).  Peer
 * verification is left to each SSL (dane_ssl_prepare).  NULL with
 * *error_r. */
SSL_CTX *dane_client_ctx_new(const char *ca_file, const char **error_r);

/* dane_ssl_prepare sets up ssl, not yet connected, for the MX host mx_host:
 * SNI mx_host always; with DANE_AUTH_DANE, SSL_dane_enable with mx_host as
 * base domain and every usable record of tlsa added (ctx must have had
 * dane_ctx_enable), DANE-EE matches without name checks (RFC 7672 3.1.1);
 * with DANE_AUTH_PKIX the certificate must name mx_host (no partial
 * wildcards) and chain to ctx's trust store.  Returns 0, or -1 with
 * *error_r (DANE_AUTH_DANE with no usable record is an error). */
int dane_ssl_prepare(SSL *ssl, struct str mx_host, enum dane_auth auth,
		     const struct dns_answer *tlsa, const char **error_r);

/* dane_ssl_verified, after a completed handshake on an SSL set up by
 * dane_ssl_prepare: whether the certificate passed the check asked for.
 * DANE: a TLSA record matched (SSL_get0_dane_authority) and OpenSSL's
 * verification succeeded; PKIX: verification succeeded (chain and name);
 * NONE: true. */
bool dane_ssl_verified(SSL *ssl, enum dane_auth auth);

#endif
