/* Unit tests for worker-http: the credential binding, the challenge,
 * answers one at a time and in order, 100 Continue, the body limit and
 * the set-up profile, against a stand-in for dav. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "worker/worker-http.h"

#define CREDENTIALS "Basic YWxpY2VAeC5vcmc6cHc="
#define OTHER_CREDENTIALS "Basic Ym9iQHgub3JnOnB3"

/* ---------- the stand-in for dav: echoes method and target ---------- */

static unsigned dav_calls;

void dav_response_init(struct dav_response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 500;
	buf_init(&r->headers, DAV_MAX_RESPONSE_HEADERS);
	buf_init(&r->body, DAV_MAX_RESPONSE);
}

void dav_response_free(struct dav_response *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
}

void dav_handle(const struct dav_env *env, const struct http_request *req, struct dav_response *resp)
{
	dav_calls++;
	resp->status = 207;
	snprintf(resp->content_type, sizeof(resp->content_type), "text/plain");
	buf_printf(&resp->body, "%.*s %.*s as %s (%zu bytes)", (int)req->method_name.len,
		   req->method_name.ptr, (int)req->target.len, req->target.ptr, env->account->name,
		   req->body.len);
}

int autoconfig_mobileconfig(const struct autoconfig_settings *s, struct str email,
			    struct str display_name, struct buf *out)
{
	(void)display_name;
	return buf_printf(out, "<plist>%.*s on %s:%u (%s)</plist>", (int)email.len, email.ptr,
			  s->hostname, s->https_port, s->domain);
}

/* ---------- a session ---------- */

static const char *const addresses[] = { "alice@x.org" };
static const struct dav_account alice = { .id = 1, .name = "alice@x.org", .display_name = "",
					  .addresses = addresses, .address_count = 1 };
static const struct autoconfig_settings autoconfig = { .hostname = "mail.x.org",
						       .https_port = 443 };
static const struct worker_http_env env = { .dav = (struct dav_store *)&dav_calls,
					    .autoconfig = &autoconfig };

struct fixture {
	struct worker_http *h;
	struct buf in, out;
};

static int setup(void **state)
{
	static struct fixture f;
	struct handoff hd = { .protocol = IPC_PROTO_HTTP, .http_auth = true };
	randombytes_buf(hd.http_auth_key, sizeof(hd.http_auth_key));
	crypto_auth_hmacsha256(hd.http_auth_mac, (const unsigned char *)CREDENTIALS,
			       strlen(CREDENTIALS), hd.http_auth_key);
	buf_init(&f.in, 2 * HTTP_MAX_BODY);
	buf_init(&f.out, 2 * HTTP_MAX_BODY);
	f.h = worker_http_new(&env, &hd, &f.out);
	dav_calls = 0;
	*state = &f;
	return f.h == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	worker_http_free(&f->h);
	buf_free(&f->in);
	buf_free(&f->out);
	return 0;
}

/* input feeds text and runs the session with alice known. */
static void input(struct fixture *f, const char *text)
{
	buf_append_str(&f->in, str_c(text));
	worker_http_input(f->h, &alice, &f->in);
}

/* answered: out holds what, taken away (as if sent). */
static bool answered(struct fixture *f, const char *what)
{
	buf_append(&f->out, "", 1);
	bool found = strstr(f->out.data, what) != NULL;
	if (!found)
		print_error("no \"%s\" in:\n%s\n", what, f->out.data);
	buf_reset(&f->out);
	return found;
}

#define REQ(method, target, auth) \
	method " " target " HTTP/1.1\r\nHost: x\r\n" auth "Content-Length: 0\r\n\r\n"
#define AUTH "Authorization: " CREDENTIALS "\r\n"

/* The login's credentials reach dav, as the ticket's account; the
 * connection stays open. */
static void test_same_credentials(void **state)
{
	struct fixture *f = *state;
	input(f, REQ("PROPFIND", "/dav/", AUTH));
	assert_int_equal(dav_calls, 1);
	assert_false(worker_http_closing(f->h));
	assert_true(answered(f, "HTTP/1.1 207 "));
}

/* No Authorization: the Basic challenge, and the connection stays (the
 * client sends the request again with its credentials). */
static void test_no_credentials(void **state)
{
	struct fixture *f = *state;
	input(f, REQ("GET", "/dav/", ""));
	assert_int_equal(dav_calls, 0);
	assert_false(worker_http_closing(f->h));
	buf_append(&f->out, "", 1);
	assert_non_null(strstr(f->out.data, "HTTP/1.1 401 "));
	assert_true(answered(f, WORKER_HTTP_CHALLENGE));
	input(f, REQ("GET", "/dav/", AUTH));
	assert_int_equal(dav_calls, 1);
}

/* Other credentials (another user, or the same with another password):
 * closed unanswered, dav never asked; so are two Authorization fields. */
static void test_other_credentials(void **state)
{
	struct fixture *f = *state;
	input(f, REQ("GET", "/dav/", "Authorization: " OTHER_CREDENTIALS "\r\n"));
	assert_int_equal(dav_calls, 0);
	assert_true(worker_http_closing(f->h));
	assert_int_equal(f->out.len, 0);
}

static void test_two_authorizations(void **state)
{
	struct fixture *f = *state;
	input(f, REQ("GET", "/dav/", AUTH AUTH));
	assert_int_equal(dav_calls, 0);
	assert_true(worker_http_closing(f->h));
	assert_int_equal(f->out.len, 0);
}

/* Pipelined requests: one answer at a time, in order; the second waits
 * in the input until the first has been sent. */
static void test_pipelining(void **state)
{
	struct fixture *f = *state;
	input(f, REQ("GET", "/dav/one", AUTH) REQ("GET", "/dav/two", AUTH));
	assert_int_equal(dav_calls, 1);
	assert_true(worker_http_blocked(f->h));
	assert_true(answered(f, "GET /dav/one as alice@x.org"));
	worker_http_input(f->h, &alice, &f->in);
	assert_int_equal(dav_calls, 2);
	assert_false(worker_http_blocked(f->h));
	assert_true(answered(f, "GET /dav/two as alice@x.org"));
}

/* Until auth has said the account's addresses, nothing is taken. */
static void test_account_unknown(void **state)
{
	struct fixture *f = *state;
	buf_append_str(&f->in, STR(REQ("GET", "/dav/", AUTH)));
	worker_http_input(f->h, NULL, &f->in);
	assert_int_equal(dav_calls, 0);
	assert_int_equal(f->out.len, 0);
	worker_http_input(f->h, &alice, &f->in);
	assert_int_equal(dav_calls, 1);
}

/* Expect: 100-continue is answered once, with the login's credentials
 * only; the answer to the request follows its body. */
static void test_continue(void **state)
{
	struct fixture *f = *state;
	input(f, "PUT /dav/calendars/alice@x.org/calendar/e.ics HTTP/1.1\r\nHost: x\r\n" AUTH
		 "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
	assert_true(answered(f, "HTTP/1.1 100 Continue\r\n\r\n"));
	worker_http_input(f->h, &alice, &f->in);
	assert_int_equal(f->out.len, 0);
	input(f, "hello");
	assert_true(answered(f, "(5 bytes)"));
}

static void test_continue_other_credentials(void **state)
{
	struct fixture *f = *state;
	input(f, "PUT /dav/x HTTP/1.1\r\nHost: x\r\nAuthorization: " OTHER_CREDENTIALS "\r\n"
		 "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
	assert_true(worker_http_closing(f->h));
	assert_int_equal(f->out.len, 0);
}

/* No credentials on a request whose body waits for 100 Continue: the
 * challenge, and the connection ends (the body is not read). */
static void test_continue_no_credentials(void **state)
{
	struct fixture *f = *state;
	input(f, "PUT /dav/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
		 "Content-Length: 5\r\n\r\n");
	assert_true(worker_http_closing(f->h));
	assert_true(answered(f, "HTTP/1.1 401 "));
}

/* HTTP_MAX_BODY is taken; one octet more is 413 and the end of the
 * connection, dav never asked. */
static void test_body_limit(void **state)
{
	struct fixture *f = *state;
	char head[256];
	snprintf(head, sizeof(head), "PUT /dav/x HTTP/1.1\r\nHost: x\r\n" AUTH
		 "Content-Length: %d\r\n\r\n", HTTP_MAX_BODY);
	buf_append_str(&f->in, str_c(head));
	for (size_t i = 0; i < HTTP_MAX_BODY; i++)
		buf_append(&f->in, "a", 1);
	worker_http_input(f->h, &alice, &f->in);
	assert_true(answered(f, "(4194304 bytes)"));
	snprintf(head, sizeof(head), "PUT /dav/x HTTP/1.1\r\nHost: x\r\n" AUTH
		 "Content-Length: %d\r\n\r\n", HTTP_MAX_BODY + 1);
	input(f, head);
	assert_int_equal(dav_calls, 1);
	assert_true(worker_http_closing(f->h));
	buf_append(&f->out, "", 1);
	assert_non_null(strstr(f->out.data, "HTTP/1.1 413 "));
	assert_true(answered(f, "Connection: close\r\n"));
}

/* A request the parser refuses: its status, then the end. */
static void test_bad_request(void **state)
{
	struct fixture *f = *state;
	input(f, "GET /dav/ HTTP/1.1\r\nHost: x\r\n" AUTH "Content-Length: 1\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(dav_calls, 0);
	assert_true(worker_http_closing(f->h));
	assert_true(answered(f, "HTTP/1.1 400 "));
}

/* The set-up profile: the ticket's account, for download; GET and HEAD
 * only; HTTP/1.0 without keep-alive closes after it. */
static void test_profile(void **state)
{
	struct fixture *f = *state;
	input(f, REQ("GET", "/profile.mobileconfig", AUTH));
	assert_int_equal(dav_calls, 0);
	buf_append(&f->out, "", 1);
	assert_non_null(strstr(f->out.data, "Content-Type: application/x-apple-aspen-config\r\n"));
	assert_non_null(strstr(f->out.data, "Content-Disposition: attachment"));
	assert_true(answered(f, "<plist>alice@x.org on mail.x.org:443 (x.org)</plist>"));
	input(f, REQ("POST", "/profile.mobileconfig", AUTH));
	assert_true(answered(f, "HTTP/1.1 405 "));
	input(f, "GET /profile.mobileconfig HTTP/1.0\r\n" AUTH "\r\n");
	assert_true(answered(f, "Connection: close\r\n"));
	assert_true(worker_http_closing(f->h));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_authorizations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue_other_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue_no_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
