/*
 * mta-sts-fetch: the HTTP/1.1 response parser for a policy fetch and the
 * blocking helper that runs one fetch over TLS (see mta-sts-fetch.h).
 */
#include "relay/mta-sts-fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "lib/tls.h"
#include "relay/dane.h"

/* Room for the request: its fixed words and one host name. */
#define REQUEST_MAX (256 + DNS_MAX_NAME)

void mta_sts_fetch_init(struct mta_sts_fetch *f)
{
	memset(f, 0, sizeof(*f));
	buf_init(&f->line, MTA_STS_FETCH_MAX_LINE);
	buf_init(&f->body, MTA_STS_MAX_POLICY);
}

void mta_sts_fetch_free(struct mta_sts_fetch *f)
{
	buf_free(&f->line);
	buf_free(&f->body);
}

/* host_ok: domain may follow "mta-sts." in a Host header and a
 * certificate name check. */
static bool host_ok(struct str domain)
{
	if (domain.len == 0 || domain.len > DNS_MAX_NAME - 8)
		return false;
	for (size_t i = 0; i < domain.len; i++) {
		char c = domain.ptr[i];
		if (!str_is_alpha((unsigned char)c) && !(c >= '0' && c <= '9') && c != '-' &&
		    c != '_' && c != '.')
			return false;
	}
	return true;
}

int mta_sts_fetch_request(struct buf *out, struct str domain)
{
	if (!host_ok(domain))
		return -1;
	return buf_printf(out,
			  "GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
			  "Host: mta-sts.%.*s\r\n"
			  "User-Agent: Ravelin\r\n"
			  "Accept: text/plain\r\n"
			  "Connection: close\r\n\r\n",
			  (int)domain.len, domain.ptr);
}

static int fail(struct mta_sts_fetch *f, const char *why)
{
	f->state = MTA_STS_FETCH_FAILED;
	f->error = why;
	return -1;
}

static int status_line(struct mta_sts_fetch *f, struct str line)
{
	/* "HTTP/1.x 200 reason" (RFC 9112 4). */
	if (line.len < 12 || !str_case_prefix(line, STR("HTTP/1.")) || line.ptr[7] < '0' ||
	    line.ptr[7] > '9' || line.ptr[8] != ' ' ||
	    (line.len > 12 && line.ptr[12] != ' '))
		return fail(f, "HTTP status line malformed");
	if (!str_eq(str_sub(line, 9, 3), STR("200")))
		return fail(f, "HTTP status is not 200 (RFC 8461 3.3: no redirects)");
	f->state = MTA_STS_FETCH_HEADERS;
	return 0;
}

static int end_of_headers(struct mta_sts_fetch *f)
{
	if (!f->text_plain)
		return fail(f, "HTTP Content-Type is not text/plain");
	if (f->chunked && f->have_length)
		return fail(f, "HTTP response with both Content-Length and chunked");
	if (f->chunked)
		f->state = MTA_STS_FETCH_CHUNK_SIZE;
	else if (f->have_length && f->left == 0)
		f->state = MTA_STS_FETCH_DONE;
	else
		f->state = MTA_STS_FETCH_BODY;
	return 0;
}

static int header_line(struct mta_sts_fetch *f, struct str line)
{
	if (line.len == 0)
		return end_of_headers(f);
	if (++f->headers > MTA_STS_FETCH_MAX_HEADERS)
		return fail(f, "HTTP response has too many header fields");
	if (f->state == MTA_STS_FETCH_TRAILERS)
		return 0;
	long colon = str_chr(line, ':');
	if (colon <= 0)
		return fail(f, "HTTP header field malformed");
	struct str name = str_sub(line, 0, (size_t)colon);
	struct str value = str_trim(str_sub(line, (size_t)colon + 1, line.len));
	for (size_t i = 0; i < name.len; i++)
		if (name.ptr[i] <= ' ' || name.ptr[i] >= 0x7f)
			return fail(f, "HTTP header field name malformed"); /* and obs-fold */
	if (str_case_eq(name, STR("Content-Length"))) {
		uint64_t n;
		if (str_to_u64(value, UINT64_MAX, &n) < 0)
			return fail(f, "HTTP Content-Length malformed");
		if (n > MTA_STS_MAX_POLICY)
			return fail(f, "MTA-STS policy larger than 64 KiB");
		if (f->have_length && n != f->left)
			return fail(f, "HTTP Content-Length given twice");
		f->have_length = true;
		f->left = n;
	} else if (str_case_eq(name, STR("Transfer-Encoding"))) {
		if (!str_case_eq(value, STR("chunked")))
			return fail(f, "HTTP Transfer-Encoding other than chunked");
		f->chunked = true;
	} else if (str_case_eq(name, STR("Content-Type"))) {
		long semi = str_chr(value, ';');
		struct str type = semi < 0 ? value : str_trim(str_sub(value, 0, (size_t)semi));
		f->text_plain = str_case_eq(type, STR("text/plain"));
	}
	return 0;
}

static int chunk_size_line(struct mta_sts_fetch *f, struct str line)
{
	long semi = str_chr(line, ';'); /* chunk extensions are ignored */
	struct str hex = str_trim(semi < 0 ? line : str_sub(line, 0, (size_t)semi));
	if (hex.len == 0)
		return fail(f, "HTTP chunk size malformed");
	uint64_t n = 0;
	for (size_t i = 0; i < hex.len; i++) {
		int d = str_hex_digit(hex.ptr[i]);
		if (d < 0)
			return fail(f, "HTTP chunk size malformed");
		n = n * 16 + (uint64_t)d;
		if (n > MTA_STS_MAX_POLICY)
			return fail(f, "MTA-STS policy larger than 64 KiB");
	}
	f->left = n;
	f->state = n == 0 ? MTA_STS_FETCH_TRAILERS : MTA_STS_FETCH_CHUNK_DATA;
	return 0;
}

/* one_line handles a complete line (without its LF or CR LF). */
static int one_line(struct mta_sts_fetch *f, struct str line)
{
	switch (f->state) {
	case MTA_STS_FETCH_STATUS:
		return status_line(f, line);
	case MTA_STS_FETCH_HEADERS:
		return header_line(f, line);
	case MTA_STS_FETCH_TRAILERS:
		if (line.len == 0) {
			f->state = MTA_STS_FETCH_DONE;
			return 0;
		}
		return header_line(f, line);
	case MTA_STS_FETCH_CHUNK_SIZE:
		return chunk_size_line(f, line);
	case MTA_STS_FETCH_CHUNK_END:
		if (line.len != 0)
			return fail(f, "HTTP chunk longer than its size");
		f->state = MTA_STS_FETCH_CHUNK_SIZE;
		return 0;
	default:
		return fail(f, "HTTP parser state broken");
	}
}

/* body_bytes takes up to n bytes of body; returns how many it took. */
static size_t body_bytes(struct mta_sts_fetch *f, const char *p, size_t n)
{
	bool counted = f->state == MTA_STS_FETCH_CHUNK_DATA || f->have_length;
	size_t take = counted && n > f->left ? (size_t)f->left : n;
	if (buf_append(&f->body, p, take) < 0) {
		fail(f, "MTA-STS policy larger than 64 KiB");
		return n;
	}
	if (counted) {
		f->left -= take;
		if (f->left == 0)
			f->state = f->state == MTA_STS_FETCH_CHUNK_DATA ? MTA_STS_FETCH_CHUNK_END
									: MTA_STS_FETCH_DONE;
	}
	return take;
}

int mta_sts_fetch_feed(struct mta_sts_fetch *f, const void *data, size_t n, const char **error_r)
{
	const char *p = data;
	size_t i = 0;
	while (i < n && f->state != MTA_STS_FETCH_DONE && f->state != MTA_STS_FETCH_FAILED) {
		if (f->state == MTA_STS_FETCH_BODY || f->state == MTA_STS_FETCH_CHUNK_DATA) {
			i += body_bytes(f, p + i, n - i);
			continue;
		}
		const char *lf = memchr(p + i, '\n', n - i);
		size_t take = lf != NULL ? (size_t)(lf - (p + i)) : n - i;
		if (buf_append(&f->line, p + i, take) < 0) {
			fail(f, "HTTP response line too long");
			break;
		}
		i += take;
		if (lf == NULL)
			break;
		i++;
		struct str line = buf_str(&f->line);
		if (line.len > 0 && line.ptr[line.len - 1] == '\r')
			line.len--;
		int r = one_line(f, line);
		buf_reset(&f->line);
		if (r < 0)
			break;
	}
	if (f->state == MTA_STS_FETCH_FAILED) {
		*error_r = f->error;
		return -1;
	}
	return f->state == MTA_STS_FETCH_DONE ? 1 : 0;
}

int mta_sts_fetch_eof(struct mta_sts_fetch *f, const char **error_r)
{
	if (f->state == MTA_STS_FETCH_BODY && !f->have_length)
		f->state = MTA_STS_FETCH_DONE;
	if (f->state == MTA_STS_FETCH_DONE)
		return 1;
	if (f->state != MTA_STS_FETCH_FAILED)
		fail(f, "HTTP response cut short");
	*error_r = f->error;
	return -1;
}

struct str mta_sts_fetch_body(const struct mta_sts_fetch *f)
{
	return f->state == MTA_STS_FETCH_DONE ? buf_str(&f->body) : STR("");
}

SSL_CTX *mta_sts_fetch_ctx_new(const char *ca_file, const char **error_r)
{
	SSL_CTX *ctx = dane_client_ctx_new(ca_file, error_r);
	if (ctx != NULL)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_ssl waits for what the last SSL call (result r) wants, until
 * deadline.  0 to call again, -1 with *error_r. */
static int wait_ssl(SSL *ssl, int fd, int r, int64_t deadline, const char **error_r)
{
	int err = SSL_get_error(ssl, r);
	short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
	if (events == 0) {
		*error_r = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN
				   ? "MTA-STS fetch: connection closed"
				   : tls_error();
		return -1;
	}
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			*error_r = "MTA-STS fetch timed out";
			return -1;
		}
		struct pollfd pfd = { .fd = fd, .events = events };
		int n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			*error_r = "MTA-STS fetch: poll failed";
			return -1;
		}
	}
}

/* exchange: handshake, request, response, over ssl; the body is in f. */
static int exchange(SSL *ssl, int fd, struct str request, struct mta_sts_fetch *f,
		    int64_t deadline, const char **error_r)
{
	static char verify_error[160];
	int r;
	while ((r = SSL_connect(ssl)) != 1) {
		long v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK) {
			snprintf(verify_error, sizeof(verify_error),
				 "MTA-STS fetch: certificate does not verify: %s",
				 X509_verify_cert_error_string(v));
			*error_r = verify_error;
			return -1;
		}
		if (wait_ssl(ssl, fd, r, deadline, error_r) < 0)
			return -1;
	}
	size_t sent = 0;
	while (sent < request.len) {
		r = SSL_write(ssl, request.ptr + sent, (int)(request.len - sent));
		if (r > 0)
			sent += (size_t)r;
		else if (wait_ssl(ssl, fd, r, deadline, error_r) < 0)
			return -1;
	}
	char chunk[4096];
	for (;;) {
		r = SSL_read(ssl, chunk, sizeof(chunk));
		if (r > 0) {
			int done = mta_sts_fetch_feed(f, chunk, (size_t)r, error_r);
			if (done != 0)
				return done > 0 ? 0 : -1;
			continue;
		}
		int err = SSL_get_error(ssl, r);
		/* A server that closes without close_notify ends the body too:
		 * a truncation is caught by the framing or the policy parse. */
		if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
			return mta_sts_fetch_eof(f, error_r) > 0 ? 0 : -1;
		if (wait_ssl(ssl, fd, r, deadline, error_r) < 0)
			return -1;
	}
}

int mta_sts_fetch_run(SSL_CTX *ctx, int fd, struct str domain, int timeout_ms,
		      struct mta_sts_policy *p, const char **error_r)
{
	int64_t deadline = now_ms() + timeout_ms;
	char host[DNS_MAX_NAME + 1];
	/* Errors left by earlier TLS work must not be read as this fetch's. */
	ERR_clear_error();
	struct buf request;
	buf_init(&request, REQUEST_MAX);
	memset(p, 0, sizeof(*p));
	if (mta_sts_fetch_request(&request, domain) < 0) {
		buf_free(&request);
		*error_r = "MTA-STS fetch: domain unusable as a host name";
		return -1;
	}
	snprintf(host, sizeof(host), "mta-sts.%.*s", (int)domain.len, domain.ptr);

	int flags = fcntl(fd, F_GETFL);
	SSL *ssl = SSL_new(ctx);
	int r = -1;
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		*error_r = "MTA-STS fetch: fcntl failed";
	} else if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
		   SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1) {
		*error_r = tls_error();
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		struct mta_sts_fetch f;
		mta_sts_fetch_init(&f);
		r = exchange(ssl, fd, buf_str(&request), &f, deadline, error_r);
		if (r == 0)
			r = mta_sts_policy_parse(mta_sts_fetch_body(&f), p, error_r);
		mta_sts_fetch_free(&f);
		SSL_shutdown(ssl); /* one try, not waited for: the socket is the caller's */
		ERR_clear_error();
	}
	SSL_free(ssl);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags);
	buf_free(&request);
	return r;
}
