#ifndef RAVELIN_MTA_STS_FETCH_H
#define RAVELIN_MTA_STS_FETCH_H
/*
 * mta-sts-fetch: getting a domain's MTA-STS policy file, GET
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 3.3), with
 * our own minimal HTTP/1.1 client.
 *
 * Two layers:
 *  - a push parser of the HTTP response, no I/O: feed it what was read,
 *    it says 1 (complete), 0 (more) or -1 (refused, with the reason).  It
 *    accepts status 200 only (no redirects: RFC 8461 3.3), requires
 *    Content-Type text/plain (parameters allowed), takes a body framed by
 *    Content-Length, chunked transfer coding or the end of the connection,
 *    and bounds every part: the status and header lines, the header count,
 *    the body (MTA_STS_MAX_POLICY);
 *  - a blocking helper for a relay child that has a connected socket to
 *    mta-sts.<domain> port 443: TLS with a certificate that must verify
 *    for mta-sts.<domain> (against relay.ca_file or the system store, put
 *    in the SSL_CTX before the process is jailed), request, response and
 *    policy parse, all within a deadline.
 */
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "relay/mta-sts.h"

/* One status or header line.  Real servers send lines of a few hundred
 * bytes; 8 KiB is what common servers accept from clients. */
#define MTA_STS_FETCH_MAX_LINE 8192
/* Header fields in a response; a web server answering a static file
 * sends about ten, a CDN perhaps thirty. */
#define MTA_STS_FETCH_MAX_HEADERS 64
/* RFC 8461 3.3: senders SHOULD impose a timeout on the fetch; one minute
 * covers a slow server and keeps a relay child from hanging on a tarpit. */
#define MTA_STS_FETCH_TIMEOUT_MS 60000

enum mta_sts_fetch_state {
	MTA_STS_FETCH_STATUS = 0,
	MTA_STS_FETCH_HEADERS,
	MTA_STS_FETCH_BODY,        /* by Content-Length, or to the end */
	MTA_STS_FETCH_CHUNK_SIZE,
	MTA_STS_FETCH_CHUNK_DATA,
	MTA_STS_FETCH_CHUNK_END,   /* the CRLF after a chunk's data */
	MTA_STS_FETCH_TRAILERS,
	MTA_STS_FETCH_DONE,
	MTA_STS_FETCH_FAILED,
};

struct mta_sts_fetch {
	enum mta_sts_fetch_state state;
	struct buf line;           /* the line being read, bounded */
	struct buf body;           /* bounded by MTA_STS_MAX_POLICY */
	size_t headers;
	bool chunked, text_plain, have_length;
	uint64_t left;             /* Content-Length or chunk bytes still to come */
	const char *error;         /* static text, set when FAILED */
};

/* mta_sts_fetch_init prepares f for one response; mta_sts_fetch_free
 * releases it (f may be initialised again). */
void mta_sts_fetch_init(struct mta_sts_fetch *f);
void mta_sts_fetch_free(struct mta_sts_fetch *f);

/* mta_sts_fetch_request appends the GET request for domain's policy to
 * out (Host: mta-sts.<domain>, Connection: close).  Returns 0, or -1 if
 * domain cannot be a host name (empty, too long, a byte that is not a
 * letter, digit, "-", "_" or ".") or out is full. */
int mta_sts_fetch_request(struct buf *out, struct str domain);

/* mta_sts_fetch_feed gives the parser the next n bytes of the response.
 * Returns 1 when the response is complete (bytes after it are ignored), 0
 * when it needs more, -1 with *error_r (static text) when it is refused;
 * after 1 or -1 it answers the same without reading. */
int mta_sts_fetch_feed(struct mta_sts_fetch *f, const void *data, size_t n, const char **error_r);

/* mta_sts_fetch_eof says the connection ended.  Returns 1 if that
 * completes the response (a body without length or chunks), else -1 with
 * *error_r (truncated). */
int mta_sts_fetch_eof(struct mta_sts_fetch *f, const char **error_r);

/* mta_sts_fetch_body: the body of a complete response (else empty). */
struct str mta_sts_fetch_body(const struct mta_sts_fetch *f);

/* mta_sts_fetch_ctx_new makes the client SSL_CTX for policy fetches:
 * dane_client_ctx_new's (TLS 1.2 or later, trust read now from ca_file or
 * the system's bundle) with peer verification on.  Make it before the
 * process is jailed.  NULL with *error_r. */
SSL_CTX *mta_sts_fetch_ctx_new(const char *ca_file, const char **error_r);

/* mta_sts_fetch_run fetches domain's policy over fd, a connected stream
 * socket to mta-sts.<domain> port 443 (left open; the caller closes it),
 * with TLS from ctx: SNI and certificate name mta-sts.<domain>.  Gives up
 * after timeout_ms in all.  Returns 0 with *p filled, or -1 with *error_r
 * (static text or tls_error()'s): TLS or certificate failure, timeout,
 * refused response, malformed policy. */
int mta_sts_fetch_run(SSL_CTX *ctx, int fd, struct str domain, int timeout_ms,
		      struct mta_sts_policy *p, const char **error_r);

#endif
