/*
 * front-http: HTTP before login, on the HTTPS port (TLS first) and the
 * plain HTTP port.  This process answers only what needs no account: the
 * calendar and contacts discovery redirects (RFC 6764), the mail set-up
 * documents (Thunderbird autoconfig, Microsoft autodiscover), challenges
 * and refusals.  A request under /dav/ or for /profile.mobileconfig that
 * carries "Authorization: Basic" over TLS is a login: the credentials go
 * to auth as an IMAP LOGIN's do (front-login.c), and on success the
 * connection goes to the account's worker with that whole request still
 * unread, together with a fresh key and the MAC under it of the
 * Authorization value, so the worker serves only requests that carry the
 * same credentials.  Plain HTTP never takes credentials: everything but
 * the set-up documents is redirected to HTTPS.
 * SECURITY
 *	Nothing a request says (Host, X-Forwarded-*, cookies, the path, the
 *	query) chooses an account or a server: only auth's ticket does, and
 *	the redirects name the configured host name.  Before login no body
 *	larger than HTTP_PREAUTH_MAX_BODY is read, and at most
 *	FRONT_HTTP_MAX_REQUESTS requests are answered per connection.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "front.h"
#include "http/autoconfig.h"
#include "http/http-basic.h"
#include "http/http-parser.h"
#include "http/http-path.h"
#include "http/http-response.h"
#include "lib/handoff.h"
#include "lib/log.h"

/* Requests one connection may have answered here before it logs in: a
 * client sets itself up with a handful; more is someone probing. */
#define FRONT_HTTP_MAX_REQUESTS 100
/* Seconds a connection may stay silent before login (a client that opened
 * it for a request sends that request at once). */
#define FRONT_HTTP_IDLE_TIMEOUT 60
/* Seconds a relayed session may stay silent; the worker ends idle
 * keep-alive connections itself well before. */
#define FRONT_HTTP_SESSION_IDLE_TIMEOUT (15 * 60)
/* One answer written here: the set-up documents are a few kilobytes, and
 * a redirect's Location is bounded by the request line. */
#define FRONT_HTTP_MAX_ANSWER (64 * 1024)
/* The longest address a set-up document is asked for. */
#define FRONT_HTTP_MAX_EMAIL AUTOCONFIG_MAX_EMAIL
/* After an answer that ends the connection, what the client still sends
 * is read and dropped for this long (at most this many bytes), so that
 * closing with unread input does not reset the connection before the
 * client has read the answer (RFC 9112 9.6). */
#define FRONT_HTTP_LINGER_MS 2000
#define FRONT_HTTP_LINGER_BYTES (8 * 1024 * 1024)

/* A request that waits for its body must fit in what the front reads
 * ahead (conn_can_read stops at half of FRONT_MAX_INPUT). */
_Static_assert(HTTP_MAX_HEAD + HTTP_PREAUTH_MAX_BODY <= FRONT_MAX_INPUT / 2,
	       "a pre-auth request must fit in the front's input");

/* What a path is, before login. */
enum http_route {
	ROUTE_OTHER,
	ROUTE_WELL_KNOWN,   /* /.well-known/caldav, /.well-known/carddav */
	ROUTE_AUTOCONFIG,   /* Thunderbird's config-v1.1.xml */
	ROUTE_AUTODISCOVER, /* Microsoft's autodiscover.xml */
	ROUTE_ACCOUNT,      /* /dav/..., /profile.mobileconfig: needs a login */
};

/* The connection's HTTP state (the protocol's one pointer in conn). */
struct http_conn {
	unsigned answered;       /* requests answered here */
	size_t scanned;          /* input searched for the head's end */
	size_t need;             /* input the current request needs */
	bool waiting;            /* its login or session is pending */
	bool handed;             /* the session is the worker's */
	bool draining;           /* closing: input is dropped */
	bool head_request;       /* the request answered is a HEAD: no body */
	uint64_t drained;
	struct ev_timer *linger;
	/* The request that carried the credentials. */
	size_t login_len;        /* head and body, when all of it is here */
	bool login_keep_alive;
	unsigned char key[HANDOFF_AUTH_KEY];
	unsigned char mac[HANDOFF_AUTH_MAC];
};

static struct http_conn *http_of(const struct conn *c)
{
	return c->state;
}

static int http_start(struct conn *c)
{
	c->state = calloc(1, sizeof(struct http_conn));
	return c->state == NULL ? -1 : 0;
}

static void http_closed(struct conn *c)
{
	struct http_conn *h = http_of(c);
	if (h == NULL)
		return;
	if (h->linger != NULL)
		ev_timer_del(&h->linger);
	sodium_memzero(h, sizeof(*h));
	free(h);
	c->state = NULL;
}

static void linger_over(struct ev_timer *t, void *ctx)
{
	struct conn *c = ctx;
	(void)t;
	http_of(c)->linger = NULL;
	c->closing = true;
	front_conn_resume(c);
}

/* http_end_after closes the connection once the answer is out: at once if
 * nothing more is expected from the client, else after dropping what it
 * still sends for a while. */
static void http_end_after(struct conn *c, bool unread_input)
{
	struct http_conn *h = http_of(c);
	if (!unread_input || h->draining) {
		c->closing = true;
		return;
	}
	h->draining = true;
	h->linger = ev_timer_add(c->front->ev, FRONT_HTTP_LINGER_MS, linger_over, c);
	if (h->linger == NULL)
		c->closing = true;
}

/* http_answer writes one answer; !keep_alive ends the connection after it
 * (unread_input: the client may still be sending this request). */
static void http_answer(struct conn *c, int status, const char *content_type,
			struct str extra, struct str body, bool head_only, bool keep_alive,
			bool unread_input)
{
	struct http_conn *h = http_of(c);
	struct buf out;

	h->answered++;
	if (h->answered >= FRONT_HTTP_MAX_REQUESTS)
		keep_alive = false;
	buf_init(&out, FRONT_HTTP_MAX_ANSWER);
	if (http_response_write(&out, status, str_c(content_type), extra, body,
				head_only || h->head_request, keep_alive) < 0)
		c->dead = true;
	else
		front_conn_output(c, out.data, out.len);
	buf_free(&out);
	log_debug("%s: %s answered %d", c->ip, ipc_service_name(c->service), status);
	if (!keep_alive)
		http_end_after(c, unread_input);
}

/* http_answer_text answers with a short text of its own. */
static void http_answer_text(struct conn *c, int status, struct str extra, const char *text,
			     bool head_only, bool keep_alive, bool unread_input)
{
	http_answer(c, status, "text/plain; charset=utf-8", extra, str_c(text), head_only,
		    keep_alive, unread_input);
}

static const struct str http_challenge =
	STR("WWW-Authenticate: Basic realm=\"Ravelin\", charset=\"UTF-8\"\r\n");

static void http_refuse_login(struct conn *c, bool keep_alive, bool unread_input)
{
	http_answer_text(c, 401, http_challenge, "Authentication required.\n", false, keep_alive,
			 unread_input);
}

/* segment_is compares one path segment (case matters: paths are ours). */
static bool segment_is(const struct http_path *p, size_t i, const char *name)
{
	return i < p->count && str_eq(p->seg[i], str_c(name));
}

static enum http_route http_route_of(struct str target)
{
	struct http_path p;
	struct str authority;
	const char *error;

	/* The authority of an absolute URI is never looked at. */
	if (http_path_parse(target, &p, &authority, &error) < 0)
		return ROUTE_OTHER;
	if (p.count == 2 && segment_is(&p, 0, ".well-known") &&
	    (segment_is(&p, 1, "caldav") || segment_is(&p, 1, "carddav")))
		return ROUTE_WELL_KNOWN;
	if (!p.trailing_slash &&
	    ((p.count == 4 && segment_is(&p, 0, ".well-known") && segment_is(&p, 1, "autoconfig") &&
	      segment_is(&p, 2, "mail") && segment_is(&p, 3, "config-v1.1.xml")) ||
	     (p.count == 2 && segment_is(&p, 0, "mail") && segment_is(&p, 1, "config-v1.1.xml"))))
		return ROUTE_AUTOCONFIG;
	/* Outlook spells it either way (IIS paths ignore case). */
	if (!p.trailing_slash && p.count == 2 && str_case_eq(p.seg[0], STR("autodiscover")) &&
	    str_case_eq(p.seg[1], STR("autodiscover.xml")))
		return ROUTE_AUTODISCOVER;
	/* The server's root too: a client given only the server's address
	 * asks it for its principal (RFC 6764 6). */
	if (p.count == 0 || (p.count >= 1 && segment_is(&p, 0, "dav")) ||
	    (p.count == 1 && !p.trailing_slash && segment_is(&p, 0, "profile.mobileconfig")))
		return ROUTE_ACCOUNT;
	return ROUTE_OTHER;
}

/* query_email finds emailaddress= in the target's query, percent-decoded
 * into email (NUL-terminated, empty if absent); -1 if it is malformed or
 * not an address autoconfig_email_check takes. */
static int query_email(struct str target, char email[FRONT_HTTP_MAX_EMAIL + 1])
{
	static const struct str key = STR("emailaddress=");
	long q = str_chr(target, '?');
	email[0] = '\0';
	if (q < 0)
		return 0;
	struct str rest = str_sub(target, (size_t)q + 1, target.len);
	while (rest.len > 0) {
		long amp = str_chr(rest, '&');
		struct str param = amp < 0 ? rest : str_sub(rest, 0, (size_t)amp);
		rest = amp < 0 ? STR("") : str_sub(rest, (size_t)amp + 1, rest.len);
		if (!str_case_prefix(param, key))
			continue;
		size_t n = 0;
		for (size_t i = key.len; i < param.len; i++) {
			int ch = (unsigned char)param.ptr[i];
			if (ch == '%') {
				int hi = i + 2 < param.len ? str_hex_digit(param.ptr[i + 1]) : -1;
				int lo = hi >= 0 ? str_hex_digit(param.ptr[i + 2]) : -1;
				if (lo < 0)
					return -1;
				ch = hi * 16 + lo;
				i += 2;
			}
			if (n == FRONT_HTTP_MAX_EMAIL)
				return -1;
			email[n++] = (char)ch;
		}
		email[n] = '\0';
		return autoconfig_email_check(str_from(email, n));
	}
	return 0;
}

static void http_autoconfig(struct conn *c, const struct http_request *req, bool keep_alive)
{
	char email[FRONT_HTTP_MAX_EMAIL + 1];
	struct autoconfig_settings s;
	struct buf doc;

	if (query_email(req->target, email) < 0) {
		http_answer_text(c, 400, STR(""), "No usable emailaddress in the query.\n", false,
				 keep_alive, false);
		return;
	}
	/* Without an address, the document is for this server's own name. */
	autoconfig_settings_from(&c->front->config, email[0] != '\0' ? NULL : c->front->config.hostname,
				 &s);
	buf_init(&doc, FRONT_HTTP_MAX_ANSWER);
	if (autoconfig_thunderbird(&s, str_c(email), &doc) < 0)
		http_answer_text(c, 500, STR(""), "The document could not be made.\n", false,
				 keep_alive, false);
	else
		http_answer(c, 200, "text/xml; charset=utf-8", STR(""), buf_str(&doc),
			    req->method == HTTP_M_HEAD, keep_alive, false);
	buf_free(&doc);
}

static void http_autodiscover(struct conn *c, const struct http_request *req, struct str body,
			      bool keep_alive)
{
	struct autoconfig_settings s;
	struct buf doc;

	autoconfig_settings_from(&c->front->config, c->front->config.hostname, &s);
	buf_init(&doc, FRONT_HTTP_MAX_ANSWER);
	if (autoconfig_autodiscover(&s, body, &doc) < 0)
		http_answer_text(c, 400, STR(""), "Not an autodiscover request.\n", false,
				 keep_alive, false);
	else
		http_answer(c, 200, "text/xml; charset=utf-8", STR(""), buf_str(&doc),
			    req->method == HTTP_M_HEAD, keep_alive, false);
	buf_free(&doc);
}

/* http_redirect_https sends the client to the same path over HTTPS, on
 * the configured name (never the Host the request gave). */
static void http_redirect_https(struct conn *c, const struct http_request *req, bool keep_alive,
				bool unread_input)
{
	const struct config *cfg = &c->front->config;
	struct str path = req->target;
	struct buf loc;

	/* An absolute URI's own scheme and authority are dropped. */
	if (path.len == 0 || path.ptr[0] != '/') {
		long scheme = str_chr(path, ':');
		struct str rest = scheme < 0 ? STR("") : str_sub(path, (size_t)scheme + 3, path.len);
		long slash = str_chr(rest, '/');
		path = slash < 0 ? STR("/") : str_sub(rest, (size_t)slash, rest.len);
	}
	for (size_t i = 0; i < path.len; i++)
		if ((unsigned char)path.ptr[i] <= ' ' || (unsigned char)path.ptr[i] >= 0x7f)
			path = STR("/");
	struct autoconfig_settings ours;
	autoconfig_settings_from(cfg, NULL, &ours);
	unsigned port = ours.https_port;
	buf_init(&loc, FRONT_HTTP_MAX_ANSWER / 2);
	int r = buf_printf(&loc, "Location: https://%s", cfg->hostname);
	if (r == 0 && port != 0 && port != 443)
		r = buf_printf(&loc, ":%u", port);
	if (r < 0 || buf_append_str(&loc, path) < 0 || buf_append_str(&loc, STR("\r\n")) < 0)
		http_answer_text(c, 414, STR(""), "Too long to redirect.\n", false, false, true);
	else
		http_answer_text(c, 301, buf_str(&loc), "Use HTTPS.\n", req->method == HTTP_M_HEAD,
				 keep_alive, unread_input);
	buf_free(&loc);
}

/* http_login sends the credentials of req (Authorization: Basic) to auth;
 * the request stays in the input, for the worker. */
static void http_login(struct conn *c, const struct http_request *req, struct str authorization,
		       size_t head_len)
{
	struct http_conn *h = http_of(c);
	/* Room past what auth takes, so that over-long credentials are
	 * refused by front_login_send with a failed login's delay. */
	char user[IPC_LOGIN_MAX_USER + 2];
	char password[IPC_LOGIN_MAX_PASSWORD + 2];
	const char *error;

	if (http_basic_decode(authorization, user, sizeof(user), password, sizeof(password),
			      &error) < 0) {
		log_info("%s: HTTPS login refused: %s", c->ip, error);
		sodium_memzero(password, sizeof(password));
		bool whole = !req->chunked && c->in.len - head_len >= req->content_length;
		http_refuse_login(c, whole && req->keep_alive, !whole);
		if (whole)
			buf_consume(&c->in, head_len + (size_t)req->content_length);
		return;
	}
	/* The connection is bound to these credentials: the worker serves
	 * only requests whose Authorization value gives the same MAC. */
	randombytes_buf(h->key, sizeof(h->key));
	crypto_auth_hmacsha256(h->mac, (const unsigned char *)authorization.ptr, authorization.len,
			       h->key);
	h->login_len = !req->chunked && c->in.len - head_len >= req->content_length
			       ? head_len + (size_t)req->content_length
			       : 0;
	h->login_keep_alive = req->keep_alive;
	h->waiting = true;
	front_login_send(c, str_c(user), str_c(password));
	sodium_memzero(user, sizeof(user));
	sodium_memzero(password, sizeof(password));
}

/* http_body_ready: whether the body of a request answered here is all in
 * the input (false: wait for more, or the request was answered). */
static bool http_body_ready(struct conn *c, const struct http_request *req, size_t head_len)
{
	struct http_conn *h = http_of(c);
	if (req->content_length > HTTP_PREAUTH_MAX_BODY) {
		http_answer_text(c, 413, STR(""), "Too large before login.\n", false, false, true);
		return false;
	}
	h->need = head_len + (size_t)req->content_length;
	return c->in.len >= h->need;
}

/* http_answer_route answers a request that needs no login, its body (if
 * any) all read; keep_alive and unread_input as for http_answer. */
static void http_answer_route(struct conn *c, const struct http_request *req,
			      enum http_route route, struct str body, bool keep_alive,
			      bool unread_input)
{
	bool tls = c->service == IPC_SERVICE_HTTPS;
	bool head_only = req->method == HTTP_M_HEAD;
	bool get = req->method == HTTP_M_GET || head_only;

	if (route == ROUTE_AUTOCONFIG && get)
		http_autoconfig(c, req, keep_alive);
	else if (route == ROUTE_AUTODISCOVER && (get || req->method == HTTP_M_POST))
		http_autodiscover(c, req, body, keep_alive);
	else if (route == ROUTE_AUTOCONFIG || route == ROUTE_AUTODISCOVER)
		http_answer_text(c, 405, STR("Allow: GET, HEAD, POST\r\n"), "Not allowed.\n", head_only,
				 keep_alive, unread_input);
	else if (!tls)
		http_redirect_https(c, req, keep_alive, unread_input);
	else if (route == ROUTE_WELL_KNOWN)
		http_answer_text(c, 301, STR("Location: /dav/\r\n"), "See /dav/.\n", head_only,
				 keep_alive, unread_input);
	else if (route == ROUTE_ACCOUNT)
		http_refuse_login(c, keep_alive, unread_input);
	else
		http_answer_text(c, 404, STR(""), "Not found.\n", head_only, keep_alive, unread_input);
}

/* http_serve answers one request whose head is complete; false when the
 * connection must wait (for its body, a login) or is ending. */
static bool http_serve(struct conn *c, const struct http_request *req, size_t head_len)
{
	struct http_conn *h = http_of(c);
	bool tls = c->service == IPC_SERVICE_HTTPS;
	enum http_route route = http_route_of(req->target);

	h->head_request = req->method == HTTP_M_HEAD;
	const struct str *authorization = http_header_get(req, "Authorization");

	if (tls && route == ROUTE_ACCOUNT && authorization != NULL &&
	    str_case_prefix(*authorization, STR("Basic "))) {
		/* The worker reads the body, whatever its size. */
		http_login(c, req, *authorization, head_len);
		return !h->waiting && !c->closing;
	}
	/* A body is read here only by length, and only a small one: a chunked
	 * one ends the connection after the answer (the set-up documents
	 * need theirs). */
	if (req->chunked) {
		if (route == ROUTE_AUTOCONFIG || route == ROUTE_AUTODISCOVER)
			http_answer_text(c, 411, STR(""), "Content-Length required.\n", false, false,
					 true);
		else
			http_answer_route(c, req, route, STR(""), false, true);
		return false;
	}
	if (!http_body_ready(c, req, head_len))
		return false;
	http_answer_route(c, req, route, str_sub(buf_str(&c->in), head_len, h->need - head_len),
			  req->keep_alive, false);
	buf_consume(&c->in, h->need);
	h->need = 0;
	h->head_request = false;
	h->scanned = 0;
	return !c->closing && !c->dead && !h->draining;
}

/* head_may_be_complete: whether the input holds the end of a head (or is
 * past the limit), so that it is worth parsing; a client sending a byte at
 * a time does not make each byte cost a parse of everything before it. */
static bool head_may_be_complete(struct http_conn *h, struct str in)
{
	if (in.len >= HTTP_MAX_HEAD)
		return true;
	for (size_t i = h->scanned; i < in.len; i++)
		if (in.ptr[i] == '\n' && i > 0 &&
		    (in.ptr[i - 1] == '\n' || (i > 1 && in.ptr[i - 1] == '\r' && in.ptr[i - 2] == '\n')))
			return true;
	h->scanned = in.len;
	return false;
}

static void http_input(struct conn *c)
{
	struct http_conn *h = http_of(c);
	const struct http_limits limits = { .max_head = HTTP_MAX_HEAD, .max_body = HTTP_MAX_BODY };

	if (h != NULL && h->draining) {
		h->drained += c->in.len;
		buf_reset(&c->in);
		if (h->drained > FRONT_HTTP_LINGER_BYTES)
			c->closing = true;
		return;
	}
	while (h != NULL && !h->waiting && !h->handed && !h->draining && !c->closing && !c->dead &&
	       c->in.len > 0 && c->in.len >= h->need && head_may_be_complete(h, buf_str(&c->in))) {
		struct http_request req;
		size_t head_len;
		int status;
		const char *error;
		int r = http_parse_head(buf_str(&c->in), &limits, &req, &head_len, &status, &error);
		if (r == 0) {
			h->scanned = c->in.len;
			return;
		}
		if (r < 0) {
			h->head_request = false;
			log_info("%s: %s request refused (%d): %s", c->ip, ipc_service_name(c->service),
				 status, error);
			http_answer_text(c, status, STR(""), http_reason(status), false, false, true);
			buf_reset(&c->in);
			return;
		}
		if (!http_serve(c, &req, head_len))
			return;
	}
}

static void http_tls_started(struct conn *c)
{
	(void)c;   /* no STARTTLS in HTTP */
}

/* A client in the middle of a request hears why it is cut off; an idle
 * keep-alive connection just ends (RFC 9112 9.5). */
static void http_timeout(struct conn *c)
{
	struct http_conn *h = http_of(c);
	if (h != NULL && !h->waiting && !h->handed && !h->draining && c->in.len > 0) {
		h->head_request = false;
		http_answer_text(c, 408, STR(""), "Request timeout.\n", false, false, false);
	}
}

static bool http_waiting(struct conn *c)
{
	/* From the login on nothing is read: the rest is the worker's. */
	struct http_conn *h = http_of(c);
	return h != NULL && (h->waiting || h->handed);
}

static void http_login_answer(struct conn *c, bool ok, bool temporary)
{
	struct http_conn *h = http_of(c);
	if (h == NULL || ok)
		return;   /* logged in: the session is asked for next */
	h->waiting = false;
	sodium_memzero(h->key, sizeof(h->key));
	sodium_memzero(h->mac, sizeof(h->mac));
	if (temporary) {
		http_answer_text(c, 503, STR("Retry-After: 30\r\n"), "Try again later.\n", false,
				 false, h->login_len == 0);
		return;
	}
	/* A request whose body is not all here ends the connection: its
	 * body is never read before a login. */
	bool whole = h->login_len > 0;
	http_refuse_login(c, whole && h->login_keep_alive, !whole);
	if (whole) {
		buf_consume(&c->in, h->login_len);
		h->scanned = 0;
	}
}

static void http_session_ready(struct conn *c)
{
	struct http_conn *h = http_of(c);
	h->waiting = false;
	h->handed = true;
}

static void http_session_refused(struct conn *c)
{
	struct http_conn *h = http_of(c);
	h->waiting = false;
	http_answer_text(c, 503, STR("Retry-After: 30\r\n"), "Try again later.\n", false, false,
			 h->login_len == 0);
}

/* The worker checks each request's credentials against these. */
static void http_handoff_fill(struct conn *c, struct handoff *hand)
{
	struct http_conn *h = http_of(c);
	hand->http_auth = true;
	memcpy(hand->http_auth_key, h->key, sizeof(h->key));
	memcpy(hand->http_auth_mac, h->mac, sizeof(h->mac));
}

static uint64_t http_idle_timeout(const struct conn *c)
{
	return c->relaying ? FRONT_HTTP_SESSION_IDLE_TIMEOUT : FRONT_HTTP_IDLE_TIMEOUT;
}

static uint64_t http_total_timeout(const struct conn *c)
{
	(void)c;
	return FRONT_SESSION_TIMEOUT;
}

/* The answer of a connection refused at accept (plain HTTP only). */
#define FRONT_HTTP_BUSY                                                                  \
	"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\nContent-Length: 0\r\n" \
	"Connection: close\r\n\r\n"

/* One protocol for both ports: plain HTTP never reaches the login (see
 * http_serve), and nothing is written at accept on the HTTPS port, where
 * TLS comes first (the spawner's refuse()). */
const struct front_protocol front_http_protocol = {
	.start = http_start,
	.input = http_input,
	.tls_started = http_tls_started,
	.timeout = http_timeout,
	.closed = http_closed,
	.waiting = http_waiting,
	.idle_timeout = http_idle_timeout,
	.session_timeout = http_total_timeout,
	.busy_reply = FRONT_HTTP_BUSY,
	.per_ip_reply = FRONT_HTTP_BUSY,
	.session_protocol = IPC_PROTO_HTTP,
	.login_result = http_login_answer,
	.session_ready = http_session_ready,
	.session_refused = http_session_refused,
	.handoff_fill = http_handoff_fill,
};
