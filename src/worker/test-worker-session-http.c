/* Unit tests for an HTTP session in the worker as a whole: the session
 * loop and transport (a plain hand-off over a socketpair), worker-http,
 * the real dav on a dav.db of its own, and the account's addresses from
 * a stand-in for auth on a link as master would make it.  A client
 * thread speaks HTTP; the worker's loop runs in the test's thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/ipc.h"
#include "store/dav-store.h"
#include "worker/worker-account.h"
#include "worker/worker-session.h"

#define ACCOUNT 7
#define CREDENTIALS "Basic YWxpY2VAeC5vcmc6cHc="
#define OTHER "Basic Ym9iQHgub3JnOnB3"
#define CAL "/dav/calendars/alice@x.org/calendar/"
#define EVENT "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n" \
	      "UID:e1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T100000Z\r\n" \
	      "DTEND:20260301T110000Z\r\nSUMMARY:Planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

static struct ev *ev;
static bool session_ended;

static void closed(void)
{
	session_ended = true;
	ev_stop(ev);
}

/* auth_thread answers the worker's IPC_ACCOUNT_INFO_ASK as auth does,
 * after a while (the session's first request waits for it). */
static void *auth_thread(void *arg)
{
	int fd = *(int *)arg;
	unsigned char in[256];
	struct ipc_msg msg;
	struct buf out;

	if (ipc_recv_blocking(fd, &msg, in, sizeof(in), 5000) < 0 ||
	    msg.kind != IPC_ACCOUNT_INFO_ASK)
		return NULL;
	usleep(200 * 1000);
	buf_init(&out, IPC_MAX_PAYLOAD);
	ipc_put_u64(&out, ACCOUNT);
	ipc_put_str(&out, STR("alice@x.org"));
	ipc_put_str(&out, STR("Alice"));
	ipc_put_u64(&out, 1);
	ipc_put_str(&out, STR("alice@x.org"));
	ipc_send_blocking(fd, IPC_ACCOUNT_INFO, msg.id, out.data, out.len, -1);
	buf_free(&out);
	return NULL;
}

/* The client's side: what it sends after the hand-off, and all it got. */
struct client {
	int fd;
	const char *send;
	char got[64 * 1024];
	size_t len;
};

static void *client_thread(void *arg)
{
	struct client *c = arg;
	if (c->send[0] != '\0' && write(c->fd, c->send, strlen(c->send)) < 0)
		return NULL;
	ssize_t n;
	while (c->len < sizeof(c->got) - 1 &&
	       (n = read(c->fd, c->got + c->len, sizeof(c->got) - 1 - c->len)) > 0)
		c->len += (size_t)n;
	c->got[c->len] = '\0';
	return NULL;
}

static char tmpdir[64];

/* run_session hands over a plain HTTP session whose login request is
 * first (the pre-auth process leaves it unconsumed), the client sending
 * then, and runs the worker until the session ends. */
static void run_session(struct client *c, const char *first, const char *then)
{
	const char *error;
	int client[2], auth[2];
	pthread_t ct, at;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ravelin-wsh-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	struct dav_store *dav = dav_store_open(tmpdir, &error);
	assert_non_null(dav);
	/* One loop for every test: the worker's auth link outlives a test
	 * (the next one's link replaces it, as after auth restarted). */
	if (ev == NULL)
		ev = ev_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, auth), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, client), 0);
	worker_account_init(ACCOUNT, worker_session_account_known);
	worker_account_link(ev, auth[0]);
	pthread_create(&at, NULL, auth_thread, &auth[1]);

	struct handoff h = { .protocol = IPC_PROTO_HTTP, .mode = HANDOFF_PLAIN,
			     .plain_in = str_c(first), .http_auth = true };
	randombytes_buf(h.http_auth_key, sizeof(h.http_auth_key));
	crypto_auth_hmacsha256(h.http_auth_mac, (const unsigned char *)CREDENTIALS,
			       strlen(CREDENTIALS), h.http_auth_key);
	static const struct autoconfig_settings autoconfig = { .hostname = "mail.x.org",
							       .https_port = 443 };
	static struct worker_session_env env;
	env = (struct worker_session_env){ .ev = ev, .closed = closed,
					   .http = { .dav = dav, .autoconfig = &autoconfig } };
	c->fd = client[1];
	c->send = then;
	session_ended = false;
	pthread_create(&ct, NULL, client_thread, c);
	assert_int_equal(worker_session_open(&env, client[0], &h), 0);
	if (!session_ended)
		ev_run(ev);
	assert_true(session_ended);
	pthread_join(ct, NULL);
	pthread_join(at, NULL);
	close(client[1]);
	close(auth[1]);
	dav_store_close(&dav);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
}

/* count: occurrences of what in text (answers: their Server line). */
static unsigned count(const char *text, const char *what)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

#define HEAD(method, target, auth) method " " target " HTTP/1.1\r\nHost: x\r\n" auth
#define AUTH "Authorization: " CREDENTIALS "\r\n"

/* The login's request, then pipelined ones on the same connection: a PUT
 * stored, read back, a request without credentials challenged, another
 * account's path 404, and the last (Connection: close) ends it; the
 * first waited for auth's answer. */
static void test_session(void **state)
{
	static struct client c;
	(void)state;
	char put[1024];
	snprintf(put, sizeof(put),
		 HEAD("PUT", CAL "e1.ics", AUTH) "Content-Type: text/calendar\r\n"
						 "Content-Length: %zu\r\n\r\n%s",
		 strlen(EVENT), EVENT);
	strncat(put, HEAD("GET", CAL "e1.ics", AUTH) "Connection: close\r\n\r\n",
		sizeof(put) - strlen(put) - 1);
	run_session(&c, HEAD("OPTIONS", "/dav/", AUTH) "\r\n", put);
	assert_int_equal(count(c.got, "\r\nServer: Ravelin\r\n"), 3);
	assert_non_null(strstr(c.got, "calendar-access"));
	assert_non_null(strstr(c.got, "HTTP/1.1 201 "));
	assert_non_null(strstr(c.got, "SUMMARY:Planning"));
}

static void test_pipelined(void **state)
{
	static struct client c;
	(void)state;
	run_session(&c, HEAD("GET", CAL "none.ics", AUTH) "\r\n",
		    HEAD("PROPFIND", "/dav/", AUTH) "Depth: 0\r\nContent-Length: 0\r\n\r\n"
		    HEAD("GET", CAL, "") "\r\n"
		    HEAD("PROPFIND", "/dav/calendars/bob@x.org/calendar/", AUTH)
		    "Depth: 0\r\nContent-Length: 0\r\n\r\n"
		    HEAD("GET", "/profile.mobileconfig", AUTH) "Connection: close\r\n\r\n");
	const char *p = c.got;
	static const char *const order[] = { "HTTP/1.1 404 ", "HTTP/1.1 207 ", "HTTP/1.1 401 ",
					     "HTTP/1.1 404 ", "HTTP/1.1 200 " };
	for (size_t i = 0; i < 5; i++) {
		p = strstr(p, order[i]);
		assert_non_null(p);
		p++;
	}
	assert_non_null(strstr(c.got, "/dav/principals/alice@x.org/"));
	assert_non_null(strstr(c.got, "application/x-apple-aspen-config"));
	assert_int_equal(count(c.got, "\r\nServer: Ravelin\r\n"), 5);
}

/* Other credentials end the connection unanswered (after what came
 * before them); nothing after them is read. */
static void test_other_credentials(void **state)
{
	static struct client c;
	(void)state;
	run_session(&c, HEAD("OPTIONS", "/dav/", AUTH) "\r\n",
		    HEAD("OPTIONS", "/dav/", "Authorization: " OTHER "\r\n") "\r\n"
		    HEAD("OPTIONS", "/dav/", AUTH) "\r\n");
	assert_int_equal(count(c.got, "\r\nServer: Ravelin\r\n"), 1);
	assert_non_null(strstr(c.got, "HTTP/1.1 200 "));
}

/* A body over HTTP_MAX_BODY: 413 and the end, the body unread. */
static void test_body_limit(void **state)
{
	static struct client c;
	(void)state;
	char head[256];
	snprintf(head, sizeof(head),
		 HEAD("PUT", CAL "big.ics", AUTH) "Content-Length: %d\r\n\r\n", HTTP_MAX_BODY + 1);
	run_session(&c, HEAD("OPTIONS", "/dav/", AUTH) "\r\n", head);
	assert_int_equal(count(c.got, "\r\nServer: Ravelin\r\n"), 2);
	assert_non_null(strstr(c.got, "HTTP/1.1 413 "));
	assert_non_null(strstr(c.got, "Connection: close\r\n"));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_other_credentials),
		cmocka_unit_test(test_body_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
