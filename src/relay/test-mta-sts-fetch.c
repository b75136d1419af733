/* Unit tests for mta-sts-fetch: the request; the response parser fed
 * whole and byte by byte (Content-Length, chunked, to the end), each
 * refusal (status other than 200, Content-Type, framing, every limit one
 * past it); and mta_sts_fetch_run against a TLS server in a child process
 * over a socketpair: a certificate for mta-sts.b.test from a CA file
 * passes, one for another name or from another CA does not, a server that
 * never answers times out. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "relay/mta-sts-fetch.h"

#define POLICY "version: STSv1\r\nmode: enforce\r\nmx: mx.b.test\r\nmax_age: 86400\r\n"

static void test_request(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1024);
	assert_int_equal(mta_sts_fetch_request(&b, STR("b.test")), 0);
	assert_string_equal(b.data, "GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
				    "Host: mta-sts.b.test\r\nUser-Agent: Ravelin\r\n"
				    "Accept: text/plain\r\nConnection: close\r\n\r\n");
	buf_reset(&b);
	assert_int_equal(mta_sts_fetch_request(&b, STR("b.test\r\nX: y")), -1);
	assert_int_equal(mta_sts_fetch_request(&b, STR("")), -1);
	buf_free(&b);
}

/* feed gives the parser resp whole (step 0) or in pieces of step bytes,
 * then the end of the connection if eof; returns its last answer and, on
 * success, checks the body is POLICY. */
static int feed(const char *resp, size_t step, bool eof, const char **error)
{
	struct mta_sts_fetch f;
	mta_sts_fetch_init(&f);
	size_t len = strlen(resp);
	int r = 0;
	*error = NULL;
	for (size_t i = 0; r == 0 && i < len; i += step ? step : len) {
		size_t n = step && len - i > step ? step : len - i;
		r = mta_sts_fetch_feed(&f, resp + i, n, error);
	}
	if (r == 0 && eof)
		r = mta_sts_fetch_eof(&f, error);
	if (r == 1 && !str_eq(mta_sts_fetch_body(&f), STR(POLICY)))
		fail_msg("body '%.*s'", (int)mta_sts_fetch_body(&f).len, mta_sts_fetch_body(&f).ptr);
	if (r < 0 && *error == NULL)
		fail_msg("refused without a reason");
	mta_sts_fetch_free(&f);
	return r;
}

static void feed_all_ways(const char *resp, bool eof, int want)
{
	const char *error;
	for (size_t step = 0; step < 4; step++)
		if (feed(resp, step, eof, &error) != want)
			fail_msg("step %zu: %s (%s)", step, resp, error ? error : "");
}

static void test_parse_ok(void **state)
{
	(void)state;
	char resp[1024];
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Type: text/plain; charset=utf-8\r\n"
		 "Content-Length: %zu\r\n\r\n" POLICY "trailing junk",
		 strlen(POLICY));
	feed_all_ways(resp, false, 1);
	/* LF only, no reason phrase, close-delimited. */
	feed_all_ways("HTTP/1.0 200\ncontent-type:TEXT/PLAIN\n\n" POLICY, true, 1);
	feed_all_ways("HTTP/1.0 200\ncontent-type:TEXT/PLAIN\n\n" POLICY, false, 0);
	/* Chunked, with an extension and a trailer. */
	feed_all_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
		      "10;x=y\r\nversion: STSv1\r\n\r\n"
		      "2E\r\nmode: enforce\r\nmx: mx.b.test\r\nmax_age: 86400\r\n\r\n"
		      "0\r\nX-Trailer: 1\r\n\r\n",
		      false, 1);
}

static void test_parse_refused(void **state)
{
	(void)state;
	const char *error;
	assert_int_equal(feed("HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n", 0, true, &error), -1);
	assert_string_equal(error, "HTTP status is not 200 (RFC 8461 3.3: no redirects)");
	assert_int_equal(feed("HTTP/1.1 404 Not Found\r\n\r\n", 1, true, &error), -1);
	assert_int_equal(feed("HTTP/1.1 2000 OK\r\n\r\n", 0, true, &error), -1);
	assert_int_equal(feed("SMTP/1.1 200 OK\r\n\r\n", 0, true, &error), -1);
	assert_int_equal(feed("HTTP/1.1 200 OK\r\n\r\n" POLICY, 0, true, &error), -1);
	assert_string_equal(error, "HTTP Content-Type is not text/plain");
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" POLICY, 0, true, &error), -1);
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n",
			      0, true, &error),
			 -1);
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
			      "Content-Length: 6\r\n\r\n",
			      0, true, &error),
			 -1);
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\n",
			      0, true, &error),
			 -1);
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n folded\r\n\r\n", 0, true, &error),
			 -1);
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n" POLICY,
			      0, true, &error),
			 -1);
	assert_string_equal(error, "HTTP response cut short");
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
			      "3\r\nabcd\r\n",
			      0, true, &error),
			 -1);
	assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
			      "zz\r\n",
			      0, true, &error),
			 -1);
}

static void test_parse_limits(void **state)
{
	(void)state;
	const char *error;
	char *resp = malloc(MTA_STS_MAX_POLICY * 2);
	assert_non_null(resp);
	/* Content-Length: the maximum is taken, one more is refused at once. */
	snprintf(resp, 200, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n",
		 MTA_STS_MAX_POLICY);
	struct mta_sts_fetch f;
	mta_sts_fetch_init(&f);
	assert_int_equal(mta_sts_fetch_feed(&f, resp, strlen(resp), &error), 0);
	mta_sts_fetch_free(&f);
	snprintf(resp, 200, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n",
		 MTA_STS_MAX_POLICY + 1);
	assert_int_equal(feed(resp, 0, true, &error), -1);
	assert_string_equal(error, "MTA-STS policy larger than 64 KiB");
	/* A close-delimited body: the maximum passes, one more is refused. */
	int head = snprintf(resp, 200, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
	memset(resp + head, 'x', MTA_STS_MAX_POLICY);
	mta_sts_fetch_init(&f);
	assert_int_equal(mta_sts_fetch_feed(&f, resp, (size_t)head + MTA_STS_MAX_POLICY, &error), 0);
	assert_int_equal(mta_sts_fetch_eof(&f, &error), 1);
	assert_int_equal(mta_sts_fetch_body(&f).len, MTA_STS_MAX_POLICY);
	mta_sts_fetch_free(&f);
	mta_sts_fetch_init(&f);
	assert_int_equal(mta_sts_fetch_feed(&f, resp, (size_t)head + MTA_STS_MAX_POLICY + 1, &error), -1);
	mta_sts_fetch_free(&f);
	/* Chunks adding up to one past the maximum. */
	head = snprintf(resp, 200, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n%x\r\n",
			MTA_STS_MAX_POLICY);
	memset(resp + head, 'x', MTA_STS_MAX_POLICY);
	snprintf(resp + head + MTA_STS_MAX_POLICY, 20, "\r\n1\r\ny\r\n0\r\n\r\n");
	assert_int_equal(feed(resp, 0, true, &error), -1);
	assert_string_equal(error, "MTA-STS policy larger than 64 KiB");
	/* Header fields: the maximum passes, one more is refused. */
	int len = snprintf(resp, 200, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n");
	for (int i = 1; i < MTA_STS_FETCH_MAX_HEADERS; i++)
		len += snprintf(resp + len, 100, "X-%d: y\r\n", i);
	snprintf(resp + len, 200, "\r\n" POLICY);
	assert_int_equal(feed(resp, 0, true, &error), 1);
	len += snprintf(resp + len, 100, "X-more: y\r\n");
	snprintf(resp + len, 200, "\r\n" POLICY);
	assert_int_equal(feed(resp, 0, true, &error), -1);
	assert_string_equal(error, "HTTP response has too many header fields");
	/* A line: the maximum passes, one more is refused. */
	len = snprintf(resp, 200, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX: ");
	memset(resp + len, 'y', MTA_STS_FETCH_MAX_LINE - 3);
	len += MTA_STS_FETCH_MAX_LINE - 3;
	snprintf(resp + len, 200, "\n\r\n" POLICY);
	assert_int_equal(feed(resp, 0, true, &error), 1);
	resp[len] = 'y';
	snprintf(resp + len + 1, 200, "\n\r\n" POLICY);
	assert_int_equal(feed(resp, 0, true, &error), -1);
	assert_string_equal(error, "HTTP response line too long");
	free(resp);
}

/* A CA, and certificates it signs; written to files for the CA store. */
static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca_cert;
static char ca_path[] = "/tmp/test-mta-sts-fetch-XXXXXX";

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *c = X509_new();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), issuer ? 2 : 1);
	X509_gmtime_adj(X509_getm_notBefore(c), -60);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, X509_get_subject_name(issuer ? issuer : c));
	X509_set_pubkey(c, key);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : c, c, NULL, NULL, 0);
	char san[300];
	snprintf(san, sizeof(san), "DNS:%s", cn);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, issuer ? NID_subject_alt_name
								: NID_basic_constraints,
						  issuer ? san : "critical,CA:TRUE");
	X509_add_ext(c, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(c, issuer_key, EVP_sha256());
	return c;
}

static int setup(void **state)
{
	(void)state;
	ca_key = EVP_EC_gen("P-256");
	leaf_key = EVP_EC_gen("P-256");
	ca_cert = make_cert("Test CA", ca_key, NULL, ca_key);
	int fd = mkstemp(ca_path);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (fp == NULL || PEM_write_X509(fp, ca_cert) != 1)
		return -1;
	fclose(fp);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(ca_path);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}

/* serve runs in the child: a TLS server with cert that reads a request
 * and sends resp (NULL: never answers). */
static void serve(int fd, X509 *cert, const char *resp)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(ctx, cert);
	SSL_CTX_use_PrivateKey(ctx, leaf_key);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (resp == NULL) {
		sleep(5);
		_exit(0);
	}
	if (SSL_accept(ssl) == 1) {
		char req[2048];
		int n = SSL_read(ssl, req, sizeof(req));
		if (n > 0 && memmem(req, (size_t)n, "Host: mta-sts.b.test\r\n", 22) != NULL)
			SSL_write(ssl, resp, (int)strlen(resp));
		SSL_shutdown(ssl);
	}
	_exit(0);
}

/* fetch runs mta_sts_fetch_run against a child serving cert and resp. */
static int fetch(X509 *cert, const char *resp, int timeout_ms, struct mta_sts_policy *p,
		 const char **error)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[1]);
		serve(sv[0], cert, resp);
	}
	close(sv[0]);
	SSL_CTX *ctx = mta_sts_fetch_ctx_new(ca_path, error);
	assert_non_null(ctx);
	int r = mta_sts_fetch_run(ctx, sv[1], STR("b.test"), timeout_ms, p, error);
	SSL_CTX_free(ctx);
	close(sv[1]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return r;
}

static void test_run(void **state)
{
	(void)state;
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" POLICY;
	struct mta_sts_policy p;
	const char *error = NULL;
	X509 *good = make_cert("mta-sts.b.test", leaf_key, ca_cert, ca_key);
	X509 *other = make_cert("mta-sts.c.test", leaf_key, ca_cert, ca_key);
	X509 *self = make_cert("mta-sts.b.test", leaf_key, NULL, leaf_key);

	if (fetch(good, ok, 5000, &p, &error) != 0)
		fail_msg("fetch: %s", error);
	assert_int_equal(p.mode, MTA_STS_MODE_ENFORCE);
	assert_string_equal(p.mx[0].name, "mx.b.test");

	assert_int_equal(fetch(other, ok, 5000, &p, &error), -1);
	assert_non_null(strstr(error, "certificate does not verify"));
	assert_int_equal(fetch(self, ok, 5000, &p, &error), -1);
	assert_non_null(strstr(error, "certificate does not verify"));
	assert_int_equal(fetch(good, "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", 5000, &p, &error), -1);
	assert_string_equal(error, "HTTP status is not 200 (RFC 8461 3.3: no redirects)");
	assert_int_equal(fetch(good, NULL, 300, &p, &error), -1);
	assert_string_equal(error, "MTA-STS fetch timed out");
	assert_int_equal(p.mx_count, 0);

	X509_free(good);
	X509_free(other);
	X509_free(self);
}

int main(void)
{
	/* A server child that gives up closes its end: a write then fails
	 * with EPIPE, as in the relay (which ignores SIGPIPE too). */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_run),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
