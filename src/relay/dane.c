/*
 * dane: RFC 7672 TLSA meaning and the OpenSSL setup of one outbound
 * connection's certificate check (see dane.h).
 */
#include "relay/dane.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "lib/tls.h"

bool dane_record_usable(const struct dns_record *r)
{
	if (r->usage != 2 && r->usage != 3)
		return false;
	if (r->selector > 1)
		return false;
	/* RFC 6698 7.4 / 7.2: 0 is the full data, 1 SHA2-256, 2 SHA2-512. */
	switch (r->mtype) {
	case 0:
		return r->data.len > 0;
	case 1:
		return r->data.len == 32;
	case 2:
		return r->data.len == 64;
	default:
		return false;
	}
}

enum dane_state dane_classify(bool mx_secure, const struct dns_answer *tlsa)
{
	if (tlsa == NULL)
		return DANE_NONE;
	if (tlsa->status == DNS_BOGUS)
		return DANE_FAILED;
	if (!mx_secure)
		return DANE_NONE;
	if (tlsa->status == DNS_TEMPFAIL)
		return DANE_FAILED;
	if (tlsa->status != DNS_OK || !tlsa->secure || tlsa->count == 0)
		return DANE_NONE;
	for (size_t i = 0; i < tlsa->count; i++)
		if (dane_record_usable(&tlsa->records[i]))
			return DANE_USABLE;
	return DANE_UNUSABLE;
}

int dane_ctx_enable(SSL_CTX *ctx, const char **error_r)
{
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		*error_r = tls_error();
		return -1;
	}
	return 0;
}

SSL_CTX *dane_client_ctx_new(const char *ca_file, const char **error_r)
{
	if (ca_file == NULL || ca_file[0] == '\0') {
		ca_file = getenv(X509_get_default_cert_file_env());
		if (ca_file == NULL || ca_file[0] == '\0')
			ca_file = X509_get_default_cert_file();
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = tls_error();
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 ||
	    dane_ctx_enable(ctx, error_r) < 0) {
		*error_r = tls_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* host_copy makes the NUL-terminated name OpenSSL wants; -1 if it cannot
 * be one (too long, or a NUL inside). */
static int host_copy(struct str mx_host, char host[DNS_MAX_NAME + 1])
{
	if (mx_host.len == 0 || mx_host.len > DNS_MAX_NAME || memchr(mx_host.ptr, '\0', mx_host.len))
		return -1;
	memcpy(host, mx_host.ptr, mx_host.len);
	host[mx_host.len] = '\0';
	return 0;
}

int dane_ssl_prepare(SSL *ssl, struct str mx_host, enum dane_auth auth,
		     const struct dns_answer *tlsa, const char **error_r)
{
	char host[DNS_MAX_NAME + 1];
	if (host_copy(mx_host, host) < 0) {
		*error_r = "MX host name unusable for TLS";
		return -1;
	}
	if (SSL_set_tlsext_host_name(ssl, host) != 1) {
		*error_r = tls_error();
		return -1;
	}
	/* The verdict is ours, after the handshake (see dane.h). */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (auth == DANE_AUTH_NONE)
		return 0;
	if (auth == DANE_AUTH_PKIX) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, host) != 1) {
			*error_r = tls_error();
			return -1;
		}
		return 0;
	}
	if (SSL_dane_enable(ssl, host) <= 0) {
		*error_r = tls_error();
		return -1;
	}
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	size_t added = 0;
	for (size_t i = 0; tlsa != NULL && i < tlsa->count; i++) {
		const struct dns_record *r = &tlsa->records[i];
		if (!dane_record_usable(r))
			continue;
		/* 0: unusable after all by OpenSSL's rules (a full-data record
		 * that is not a valid certificate or key): skipped, like the
		 * records RFC 7672 makes unusable. */
		int ok = SSL_dane_tlsa_add(ssl, r->usage, r->selector, r->mtype,
					   (const unsigned char *)r->data.ptr, r->data.len);
		if (ok < 0) {
			*error_r = tls_error();
			return -1;
		}
		if (ok > 0)
			added++;
	}
	if (added == 0) {
		*error_r = "no usable TLSA record";
		return -1;
	}
	return 0;
}

bool dane_ssl_verified(SSL *ssl, enum dane_auth auth)
{
	if (auth == DANE_AUTH_NONE)
		return true;
	if (SSL_get0_peer_certificate(ssl) == NULL)
		return false;
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	if (auth == DANE_AUTH_DANE)
		return SSL_get0_dane_authority(ssl, NULL, NULL) >= 0;
	return true;
}
