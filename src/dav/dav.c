/*
 * dav: dav_handle, the entry of the DAV library.  It decodes the request's
 * path (http_path_parse: no "..", no encoded '/', bounded), resolves it in
 * the URL space of docs/dav.md against the ticket's account (a path naming
 * another address is 404: DESIGN rule 2), loads the collection it names and
 * calls the method's module.
 *
 * SECURITY: nothing here opens a file; the store is the account's own, and
 * names from the path are only compared and passed to SQLite as data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav-private.h"
#include "lib/log.h"

/* What OPTIONS and every 405 advertise (no LOCK: see docs/dav.md). */
#define DAV_ALLOW "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, MKCALENDAR, " \
	"COPY, MOVE, REPORT, POST"
#define DAV_CLASSES "1, 3, calendar-access, addressbook, calendar-auto-schedule, extended-mkcol"

void dav_response_init(struct dav_response *r)
{
	r->status = 500;
	buf_init(&r->headers, DAV_MAX_RESPONSE_HEADERS);
	buf_init(&r->body, DAV_MAX_RESPONSE);
	r->content_type[0] = '\0';
}

void dav_response_free(struct dav_response *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
}

void dav_set_status(struct dav_ctx *c, int status)
{
	c->resp->status = status;
	buf_reset(&c->resp->body);
	c->resp->content_type[0] = '\0';
}

void dav_header_add(struct dav_ctx *c, const char *name, struct str value)
{
	/* only our own values go here (ETags, hrefs we made): no CR/LF */
	(void)buf_printf(&c->resp->headers, "%s: %.*s\r\n", name, (int)value.len, value.ptr);
}

void dav_internal_error(struct dav_ctx *c, const char *what, const char *error)
{
	log_error("dav: %s failed: %s", what, error ? error : "?");
	dav_set_status(c, 500);
}

int dav_depth(const struct dav_ctx *c, int dflt)
{
	const struct str *d = http_header_get(c->req, "Depth");
	if (d == NULL)
		return dflt;
	if (str_eq(*d, STR("0")))
		return 0;
	if (str_eq(*d, STR("1")))
		return 1;
	if (str_case_eq(*d, STR("infinity")))
		return DAV_DEPTH_INFINITY;
	return -1;
}

enum dav_kind dav_home_kind(enum dav_home h)
{
	if (h == DAV_HOME_CALENDARS)
		return DAV_CALENDAR;
	if (h == DAV_HOME_ADDRESSBOOKS)
		return DAV_ADDRESSBOOK;
	return 0;
}

int dav_href_append(const struct dav_ctx *c, struct buf *out, enum dav_home home, struct str coll, struct str obj)
{
	struct str segs[5];
	size_t n = 0;
	segs[n++] = STR("dav");
	switch (home) {
	case DAV_HOME_ROOT:
		break;
	case DAV_HOME_PRINCIPALS:
	case DAV_HOME_PRINCIPAL:
		segs[n++] = STR("principals");
		break;
	case DAV_HOME_CALENDARS:
		segs[n++] = STR("calendars");
		break;
	case DAV_HOME_ADDRESSBOOKS:
		segs[n++] = STR("addressbooks");
		break;
	case DAV_HOME_NONE:
		return -1;
	}
	if (home >= DAV_HOME_PRINCIPAL)
		segs[n++] = str_c(c->env->account->name);
	if (coll.len > 0)
		segs[n++] = coll;
	if (coll.len > 0 && obj.len > 0)
		segs[n++] = obj;
	return http_href_append(out, segs, n, obj.len == 0);
}

int dav_parse_body(struct dav_ctx *c, struct dav_xml_doc **doc)
{
	*doc = NULL;
	if (c->req->body.len == 0)
		return 0;
	const char *error = NULL;
	if (dav_xml_parse(c->req->body, doc, &error) < 0) {
		dav_set_status(c, 400);
		(void)buf_printf(&c->resp->body, "%s\n", error);
		snprintf(c->resp->content_type, sizeof(c->resp->content_type), "text/plain; charset=utf-8");
		return -1;
	}
	return 0;
}

/* is_account: seg names the ticket's account (addresses are compared
 * without case: the account's name is stored lower case). */
static bool is_account(const struct dav_ctx *c, struct str seg)
{
	return str_case_eq(seg, str_c(c->env->account->name));
}

void dav_resolve(const struct dav_ctx *c, const struct http_path *p, struct dav_target *t)
{
	t->home = DAV_HOME_NONE;
	t->trailing_slash = p->trailing_slash;
	/* The server's own root is the DAV root too: clients given only the
	 * server's address ask it (RFC 6764 6). */
	if (p->count == 0) {
		t->home = DAV_HOME_ROOT;
		return;
	}
	if (!str_eq(p->seg[0], STR("dav")))
		return;
	if (p->count == 1) {
		t->home = DAV_HOME_ROOT;
		return;
	}
	struct str top = p->seg[1];
	if (str_eq(top, STR("principals"))) {
		if (p->count == 2)
			t->home = DAV_HOME_PRINCIPALS;
		else if (p->count == 3 && is_account(c, p->seg[2]))
			t->home = DAV_HOME_PRINCIPAL;
		return;
	}
	enum dav_home h = str_eq(top, STR("calendars")) ? DAV_HOME_CALENDARS
			  : str_eq(top, STR("addressbooks")) ? DAV_HOME_ADDRESSBOOKS : DAV_HOME_NONE;
	if (h == DAV_HOME_NONE || p->count < 3 || !is_account(c, p->seg[2]))
		return;
	t->home = h;
	if (p->count >= 4)
		t->coll_name = p->seg[3];
	if (p->count >= 5)
		t->object_name = p->seg[4];
	t->deep = p->count > 5;
}

int dav_load_collection(struct dav_ctx *c, struct dav_target *t)
{
	if (t->coll_name.len == 0)
		return 0;
	const char *error = NULL;
	int r = dav_collection_get(c->env->store, dav_home_kind(t->home), t->coll_name, &t->coll, &error);
	if (r < 0) {
		dav_internal_error(c, "dav_collection_get", error);
		return -1;
	}
	t->coll_exists = r == 1;
	return 0;
}

static void options(struct dav_ctx *c)
{
	dav_set_status(c, 200);
	dav_header_add(c, "DAV", STR(DAV_CLASSES));
	dav_header_add(c, "Allow", STR(DAV_ALLOW));
}

static void not_allowed(struct dav_ctx *c)
{
	dav_set_status(c, 405);
	dav_header_add(c, "Allow", STR(DAV_ALLOW));
}

/* well_known: an authenticated client asking the discovery names gets
 * what the pre-auth process would have said (RFC 6764 5). */
static bool well_known(struct dav_ctx *c)
{
	const struct http_path *p = &c->path;
	if (p->count != 2 || !str_eq(p->seg[0], STR(".well-known")))
		return false;
	if (!str_eq(p->seg[1], STR("caldav")) && !str_eq(p->seg[1], STR("carddav")))
		return false;
	dav_set_status(c, 301);
	dav_header_add(c, "Location", STR("/dav/"));
	return true;
}

/* deep_status: the answer for a path below an object of the account's
 * home: nothing is there (404), and what would make it lacks its parent
 * collection (409: RFC 4918 9.3.1, 9.7.1). */
static int deep_status(const struct dav_ctx *c)
{
	enum http_method m = c->req->method;
	return m == HTTP_M_PUT || m == HTTP_M_MKCOL || m == HTTP_M_MKCALENDAR ? 409 : 404;
}

/* dispatch calls the method's module with the target resolved. */
static void dispatch(struct dav_ctx *c)
{
	const struct dav_target *t = &c->target;
	bool object = t->object_name.len > 0;
	switch (c->req->method) {
	case HTTP_M_OPTIONS:
		options(c);
		return;
	case HTTP_M_PROPFIND:
		dav_propfind(c);
		return;
	case HTTP_M_PROPPATCH:
		dav_proppatch(c);
		return;
	case HTTP_M_MKCOL:
	case HTTP_M_MKCALENDAR:
		dav_mkcol(c);
		return;
	case HTTP_M_REPORT:
		dav_report(c);
		return;
	case HTTP_M_GET:
	case HTTP_M_HEAD:
		if (object)
			dav_object_get_req(c);
		else
			not_allowed(c);
		return;
	case HTTP_M_PUT:
		if (object)
			dav_object_put_req(c);
		else
			not_allowed(c);
		return;
	case HTTP_M_DELETE:
		if (object)
			dav_object_delete_req(c);
		else
			dav_collection_delete_req(c);
		return;
	case HTTP_M_COPY:
	case HTTP_M_MOVE:
		dav_object_move_req(c);
		return;
	case HTTP_M_POST:
		if (!object && t->coll_exists && t->coll.kind == DAV_SCHEDULE_OUTBOX) {
			if (dav_outbox_post(c) < 0)
				dav_set_status(c, 500);
		} else {
			not_allowed(c);
		}
		return;
	case HTTP_M_LOCK:
	case HTTP_M_UNLOCK:
	case HTTP_M_OTHER:
		not_allowed(c);
		return;
	}
	not_allowed(c);
}

void dav_handle(const struct dav_env *env, const struct http_request *req, struct dav_response *resp)
{
	struct dav_ctx *c = calloc(1, sizeof(*c));  /* struct http_path is 4 KiB+: not on the stack */
	if (c == NULL) {
		resp->status = 503;
		return;
	}
	c->env = env;
	c->req = req;
	c->resp = resp;
	buf_reset(&resp->headers);
	buf_reset(&resp->body);
	resp->content_type[0] = '\0';
	struct str authority;
	const char *error = NULL;
	if (req->method == HTTP_M_OPTIONS && str_eq(req->target, STR("*"))) {
		options(c);   /* the server as a whole (RFC 9110 9.3.7) */
	} else if (http_path_parse(req->target, &c->path, &authority, &error) < 0) {
		dav_set_status(c, 400);
	} else if (!well_known(c)) {
		dav_resolve(c, &c->path, &c->target);
		if (c->target.home == DAV_HOME_NONE)
			dav_set_status(c, 404);
		else if (c->target.deep)
			dav_set_status(c, deep_status(c));
		else if (dav_load_collection(c, &c->target) == 0)
			dispatch(c);
	}
	if (c->target.coll_exists)
		dav_collection_free(&c->target.coll);
	free(c);
}
