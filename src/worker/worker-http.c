/* worker-http: an HTTP session's requests after login (see worker-http.h). */
#include "worker-http.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/http-parser.h"
#include "http/http-response.h"
#include "lib/log.h"

/* The set-up profile (autoconfig_mobileconfig), for the logged-in user. */
#define WORKER_HTTP_PROFILE "/profile.mobileconfig"
/* The largest profile: a few kilobytes of plist with four payloads. */
#define WORKER_HTTP_MAX_PROFILE (64 * 1024)

_Static_assert(HANDOFF_AUTH_KEY == crypto_auth_hmacsha256_KEYBYTES &&
		       HANDOFF_AUTH_MAC == crypto_auth_hmacsha256_BYTES,
	       "the hand-off carries an HMAC-SHA-256 key and MAC");

struct worker_http {
	const struct worker_http_env *env;
	struct buf *out;
	struct http_reader *reader;
	unsigned char key[HANDOFF_AUTH_KEY];
	unsigned char mac[HANDOFF_AUTH_MAC];
	bool continued;      /* 100 Continue sent for the request being read */
	bool blocked;
	bool closing;
};

/* How a request's credentials compare with the login's. */
enum credentials {
	CREDENTIALS_ABSENT,
	CREDENTIALS_OTHER,
	CREDENTIALS_SAME,
};

struct worker_http *worker_http_new(const struct worker_http_env *env, const struct handoff *hd,
				    struct buf *out)
{
	const struct http_limits limits = { .max_head = HTTP_MAX_HEAD, .max_body = HTTP_MAX_BODY };
	if (!hd->http_auth)
		return NULL;
	struct worker_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->reader = http_reader_new(&limits);
	if (h->reader == NULL) {
		free(h);
		return NULL;
	}
	h->env = env;
	h->out = out;
	memcpy(h->key, hd->http_auth_key, sizeof(h->key));
	memcpy(h->mac, hd->http_auth_mac, sizeof(h->mac));
	return h;
}

void worker_http_free(struct worker_http **hp)
{
	struct worker_http *h = *hp;
	if (h == NULL)
		return;
	*hp = NULL;
	http_reader_free(&h->reader);
	sodium_memzero(h, sizeof(*h));
	free(h);
}

bool worker_http_blocked(const struct worker_http *h)
{
	return h->blocked;
}

bool worker_http_closing(const struct worker_http *h)
{
	return h->closing;
}

/* credentials compares req's Authorization field with the login's by its
 * MAC (the worker never learns the password).  Two fields are another
 * login's: which one a client meant is not guessed. */
static enum credentials credentials(const struct worker_http *h, const struct http_request *req)
{
	const struct str *value = NULL;
	unsigned char mac[HANDOFF_AUTH_MAC];

	for (size_t i = 0; i < req->header_count; i++)
		if (str_case_eq(req->headers[i].name, STR("Authorization"))) {
			if (value != NULL)
				return CREDENTIALS_OTHER;
			value = &req->headers[i].value;
		}
	if (value == NULL)
		return CREDENTIALS_ABSENT;
	crypto_auth_hmacsha256(mac, (const unsigned char *)value->ptr, value->len, h->key);
	return sodium_memcmp(mac, h->mac, sizeof(mac)) == 0 ? CREDENTIALS_SAME : CREDENTIALS_OTHER;
}

/* answer writes one answer; a request that asked to close, or an answer
 * that does not fit, ends the connection after it. */
static void answer(struct worker_http *h, const struct http_request *req, int status,
		   struct str content_type, struct str headers, struct str body)
{
	bool keep_alive = req != NULL && req->keep_alive && !h->closing;
	bool head_only = req != NULL && req->method == HTTP_M_HEAD;
	if (http_response_write(h->out, status, content_type, headers, body, head_only, keep_alive) <
	    0) {
		log_error("HTTP: a %d answer did not fit the output", status);
		keep_alive = false;
	}
	if (!keep_alive)
		h->closing = true;
}

/* answer_text answers with a short plain-text body (errors). */
static void answer_text(struct worker_http *h, const struct http_request *req, int status,
			struct str headers)
{
	const char *reason = http_reason(status);
	answer(h, req, status, STR("text/plain; charset=utf-8"), headers, str_c(reason));
}

/* challenge: a request without credentials after login (a client that
 * forgot them) is asked for them again, as before login. */
static void challenge(struct worker_http *h, const struct http_request *req)
{
	answer_text(h, req, 401, STR(WORKER_HTTP_CHALLENGE));
}

/* is_profile: the target is the set-up profile's path (any query). */
static bool is_profile(struct str target)
{
	struct str path = STR(WORKER_HTTP_PROFILE);
	return target.len >= path.len && memcmp(target.ptr, path.ptr, path.len) == 0 &&
	       (target.len == path.len || target.ptr[path.len] == '?');
}

/* domain_of: what follows the last '@' of an address. */
static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return at != NULL ? at + 1 : address;
}

/* profile answers GET /profile.mobileconfig: the account's Apple
 * configuration profile (IMAP, SMTP, CalDAV, CardDAV; no password). */
static void profile(struct worker_http *h, const struct dav_account *account,
		    const struct http_request *req)
{
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD) {
		answer_text(h, req, 405, STR("Allow: GET, HEAD\r\n"));
		return;
	}
	struct autoconfig_settings s = *h->env->autoconfig;
	s.domain = domain_of(account->name);
	struct buf body;
	buf_init(&body, WORKER_HTTP_MAX_PROFILE);
	if (autoconfig_mobileconfig(&s, str_c(account->name), str_c(account->display_name),
				    &body) < 0) {
		log_error("HTTP: the set-up profile of %s could not be made", account->name);
		answer_text(h, req, 500, STR(""));
	} else {
		answer(h, req, 200, STR("application/x-apple-aspen-config"),
		       STR("Content-Disposition: attachment; filename=\"ravelin.mobileconfig\"\r\n"),
		       str_from(body.data, body.len));
	}
	buf_free(&body);
}

/* dav answers everything else through dav_handle, against the account's
 * dav-store only. */
static void dav(struct worker_http *h, const struct dav_account *account,
		const struct http_request *req)
{
	if (h->env->dav == NULL) {
		answer_text(h, req, 503, STR(""));
		return;
	}
	struct dav_env env = { .store = h->env->dav, .account = account, .hooks = h->env->hooks };
	struct dav_response resp;
	dav_response_init(&resp);
	dav_handle(&env, req, &resp);
	answer(h, req, resp.status, str_c(resp.content_type),
	       str_from(resp.headers.data, resp.headers.len),
	       str_from(resp.body.data, resp.body.len));
	log_debug("HTTP: %.*s -> %d", (int)req->method_name.len, req->method_name.ptr,
		  resp.status);
	dav_response_free(&resp);
}

/* admit: req has the login's credentials.  Otherwise it is challenged
 * (none; when its body is still to come, the connection ends after the
 * challenge, the body unread) or the connection is closed unanswered
 * (others). */
static bool admit(struct worker_http *h, const struct http_request *req, bool body_to_come)
{
	switch (credentials(h, req)) {
	case CREDENTIALS_SAME:
		return true;
	case CREDENTIALS_ABSENT:
		challenge(h, body_to_come ? NULL : req);
		return false;
	case CREDENTIALS_OTHER:
		log_warn("HTTP: a request with other credentials than the login's: connection "
			 "closed");
		h->closing = true;
		return false;
	}
	return false;
}

/* request answers one whole request. */
static void request(struct worker_http *h, const struct dav_account *account,
		    const struct http_request *req)
{
	if (!admit(h, req, false))
		return;
	if (is_profile(req->target))
		profile(h, account, req);
	else
		dav(h, account, req);
}

/* expect_continue: the head of a request whose body has not come yet
 * asked for 100 Continue; the client is invited to send the body only
 * with the login's credentials (others close now, none get the
 * challenge before the body is sent for nothing). */
static void expect_continue(struct worker_http *h)
{
	const struct http_request *req = http_reader_pending(h->reader);
	if (req == NULL || !req->expect_continue || h->continued)
		return;
	h->continued = true;
	if (admit(h, req, true) &&
	    http_response_write(h->out, 100, STR(""), STR(""), STR(""), false, true) < 0)
		h->closing = true;
}

void worker_http_input(struct worker_http *h, const struct dav_account *account, struct buf *in)
{
	h->blocked = false;
	while (!h->closing && account != NULL) {
		if (h->out->len > 0) {
			h->blocked = in->len > 0;
			return;
		}
		const struct http_request *req;
		const char *error;
		int status;
		int r = http_reader_feed(h->reader, in, &req, &status, &error);
		if (r < 0) {
			log_info("HTTP: request refused (%d): %s", status, error);
			h->closing = true;
			answer_text(h, NULL, status, STR(""));
			return;
		}
		if (r == 0) {
			expect_continue(h);
			return;
		}
		h->continued = false;
		request(h, account, req);
	}
}
