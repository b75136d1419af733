/*
 * dav-object: calendar object and address object resources: GET/HEAD, PUT
 * (RFC 4791 5.3.2, RFC 6352 6.3.2 with their preconditions), DELETE, and
 * MOVE/COPY between collections of the same home of this account.  The
 * answer to a change is given only after dav-store committed it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav-private.h"
#include "ical/ical.h"
#include "ical/vcard.h"

/* The ETag a client names in If-Match is one of ours (48 octets with its
 * quotes) or "*"; anything longer cannot match. */
#define DAV_MAX_IF_MATCH 48

/* media_type_is: the Content-Type's type/subtype (parameters ignored) is want. */
static bool media_type_is(struct str ct, struct str want)
{
	long semi = str_chr(ct, ';');
	if (semi >= 0)
		ct = str_sub(ct, 0, (size_t)semi);
	return str_case_eq(str_trim(ct), want);
}

/* if_match reads If-Match into out: 1 present, 0 absent, -1 it cannot match
 * any object (a list, or too long). */
static int if_match(const struct dav_ctx *c, char out[DAV_MAX_IF_MATCH])
{
	const struct str *v = http_header_get(c->req, "If-Match");
	if (v == NULL)
		return 0;
	if (v->len == 0 || v->len >= DAV_MAX_IF_MATCH || str_chr(*v, ',') >= 0)
		return -1;
	memcpy(out, v->ptr, v->len);
	out[v->len] = '\0';
	return 1;
}

/* object_target: the answer 404/409 unless the target is an object in an
 * existing calendar or address book; true when it is. */
static bool object_target(struct dav_ctx *c)
{
	const struct dav_target *t = &c->target;
	if (!t->coll_exists) {
		dav_set_status(c, c->req->method == HTTP_M_PUT ? 409 : 404);
		return false;
	}
	if (!dav_name_valid(t->object_name) || t->trailing_slash) {
		dav_set_status(c, 404);
		return false;
	}
	return true;
}

static bool is_calendar_kind(enum dav_kind k)
{
	return k == DAV_CALENDAR || k == DAV_SCHEDULE_INBOX;
}

static void set_etag(struct dav_ctx *c, const char *etag)
{
	dav_header_add(c, "ETag", str_c(etag));
}

void dav_object_get_req(struct dav_ctx *c)
{
	if (!object_target(c))
		return;
	struct dav_object o;
	const char *error = NULL;
	int r = dav_object_get(c->env->store, c->target.coll.id, c->target.object_name, true, &o, &error);
	if (r <= 0) {
		if (r < 0)
			dav_internal_error(c, "dav_object_get", error);
		else
			dav_set_status(c, 404);
		return;
	}
	dav_set_status(c, 200);
	if (buf_append_str(&c->resp->body, o.data) < 0) {
		dav_internal_error(c, "GET", "object larger than an answer");
	} else {
		set_etag(c, o.etag);
		snprintf(c->resp->content_type, sizeof(c->resp->content_type), "%s",
			 is_calendar_kind(c->target.coll.kind) ? "text/calendar; charset=utf-8"
								: "text/vcard; charset=utf-8");
	}
	dav_object_free(&o);
}

/* old_data: the object's data before a change, for the scheduling hook
 * (only when one is set and the collection is a calendar).  *o is zeroed
 * when there is none; free with dav_object_free. */
static bool want_hook(const struct dav_ctx *c, const struct dav_collection *coll)
{
	return c->env->hooks != NULL && c->env->hooks->calendar_changed != NULL && coll->kind == DAV_CALENDAR;
}

static void old_data(struct dav_ctx *c, const struct dav_collection *coll, struct str name, struct dav_object *o)
{
	const char *error = NULL;
	memset(o, 0, sizeof(*o));
	if (want_hook(c, coll) && dav_object_get(c->env->store, coll->id, name, true, o, &error) != 1)
		memset(o, 0, sizeof(*o));
}

static void hook(struct dav_ctx *c, const struct dav_collection *coll, struct str name, struct str old,
		 struct str new_data)
{
	if (want_hook(c, coll))
		c->env->hooks->calendar_changed(c->env->hooks->ctx, coll->id, name, old, new_data);
}

/* validate checks the body for the collection: 0 with the UID, component
 * and span in *p, or -1 with the answer (403 and the precondition) set. */
static int validate(struct dav_ctx *c, struct dav_put *p, char uid[256])
{
	const struct dav_collection *coll = &c->target.coll;
	const char *pre = NULL, *error = NULL;
	if (coll->kind == DAV_ADDRESSBOOK) {
		struct vcard_info vi;
		if (vcard_validate(p->data, &vi, &pre, &error) < 0) {
			dav_precondition(c, 403, DAV_NS_CARDDAV, pre ? pre : "valid-address-data", STR(""));
			return -1;
		}
		snprintf(uid, 256, "%s", vi.uid);
		p->component = 0;
		p->first = INT64_MIN;
		p->last = INT64_MAX;
	} else {
		struct ical_info ii;
		if (ical_validate(p->data, coll->components, &ii, &pre, &error) < 0) {
			dav_precondition(c, 403, DAV_NS_CALDAV, pre ? pre : "valid-calendar-data", STR(""));
			return -1;
		}
		snprintf(uid, 256, "%s", ii.uid);
		p->component = ii.component;
		p->first = ii.first;
		p->last = ii.last;
	}
	p->uid = str_c(uid);
	return 0;
}

/* put_checks: the preconditions before the data is looked at. */
static int put_checks(struct dav_ctx *c)
{
	const struct dav_collection *coll = &c->target.coll;
	bool book = coll->kind == DAV_ADDRESSBOOK;
	const char *ns = book ? DAV_NS_CARDDAV : DAV_NS_CALDAV;
	if (coll->kind != DAV_CALENDAR && !book) {
		/* the schedule inbox is filled by delivery, the outbox takes POST */
		dav_set_status(c, 403);
		return -1;
	}
	const struct str *ct = http_header_get(c->req, "Content-Type");
	if (ct != NULL && !media_type_is(*ct, book ? STR("text/vcard") : STR("text/calendar")) &&
	    !(book && media_type_is(*ct, STR("text/x-vcard")))) {
		dav_precondition(c, 403, ns, book ? "supported-address-data" : "supported-calendar-data", STR(""));
		return -1;
	}
	if (c->req->body.len > DAV_MAX_OBJECT_SIZE) {
		dav_precondition(c, 403, ns, "max-resource-size", STR(""));
		return -1;
	}
	uint64_t used = 0;
	const char *error = NULL;
	if (dav_usage(c->env->store, &used, &error) < 0) {
		dav_internal_error(c, "dav_usage", error);
		return -1;
	}
	if (used + c->req->body.len > DAV_ACCOUNT_QUOTA) {
		dav_precondition(c, 507, DAV_NS_DAV, "quota-not-exceeded", STR(""));
		return -1;
	}
	return 0;
}

/* uid_conflict: 403 no-uid-conflict naming the object that has the UID. */
static void uid_conflict(struct dav_ctx *c, const struct dav_collection *coll, const char *other)
{
	struct buf h;
	buf_init(&h, DAV_MAX_HREF);
	(void)dav_href_append(c, &h, c->target.home, str_c(coll->name), str_c(other));
	dav_precondition(c, 403, coll->kind == DAV_ADDRESSBOOK ? DAV_NS_CARDDAV : DAV_NS_CALDAV, "no-uid-conflict",
			 buf_str(&h));
	buf_free(&h);
}

void dav_object_put_req(struct dav_ctx *c)
{
	if (!object_target(c) || put_checks(c) < 0)
		return;
	const struct dav_collection *coll = &c->target.coll;
	struct dav_put p = { .name = c->target.object_name, .data = c->req->body };
	char uid[256], match[DAV_MAX_IF_MATCH];
	int m = if_match(c, match);
	if (m < 0) {
		dav_set_status(c, 412);
		return;
	}
	p.if_match = m == 1 ? match : NULL;
	const struct str *inm = http_header_get(c->req, "If-None-Match");
	p.if_none_match = inm != NULL && str_eq(*inm, STR("*"));
	if (validate(c, &p, uid) < 0)
		return;
	struct dav_object old, out;
	old_data(c, coll, p.name, &old);
	bool created = false;
	const char *error = NULL;
	int r = dav_object_put(c->env->store, coll->id, &p, &out, &created, &error);
	switch (r) {
	case 0:
		dav_set_status(c, created ? 201 : 204);
		set_etag(c, out.etag);
		hook(c, coll, p.name, old.data, p.data);
		dav_object_free(&out);
		break;
	case DAV_PUT_PRECONDITION:
		dav_set_status(c, 412);
		break;
	case DAV_PUT_UID_CONFLICT:
		uid_conflict(c, coll, out.name);
		dav_object_free(&out);
		break;
	case DAV_PUT_TOO_MANY:
		dav_set_status(c, 507);
		break;
	case DAV_PUT_TOO_BIG:
		dav_precondition(c, 403, coll->kind == DAV_ADDRESSBOOK ? DAV_NS_CARDDAV : DAV_NS_CALDAV,
				 "max-resource-size", STR(""));
		break;
	default:
		dav_internal_error(c, "dav_object_put", error);
	}
	dav_object_free(&old);
}

void dav_object_delete_req(struct dav_ctx *c)
{
	if (!object_target(c))
		return;
	const struct dav_collection *coll = &c->target.coll;
	char match[DAV_MAX_IF_MATCH];
	int m = if_match(c, match);
	if (m < 0) {
		dav_set_status(c, 412);
		return;
	}
	struct dav_object old;
	old_data(c, coll, c->target.object_name, &old);
	const char *error = NULL;
	int r = dav_object_delete(c->env->store, coll->id, c->target.object_name, m == 1 ? match : NULL, &error);
	if (r == 0) {
		dav_set_status(c, 204);
		hook(c, coll, c->target.object_name, old.data, STR(""));
	} else if (r == 1) {
		dav_set_status(c, 404);
	} else if (r == DAV_PUT_PRECONDITION) {
		dav_set_status(c, 412);
	} else {
		dav_internal_error(c, "dav_object_delete", error);
	}
	dav_object_free(&old);
}

/* destination resolves the Destination header into *t (its collection
 * loaded): 0, or -1 with the answer set.  Another host is 502 (RFC 4918
 * 9.8.5/9.9.4); a path not of an object of this account's same home 403;
 * a missing collection 409. */
static int destination(struct dav_ctx *c, struct http_path *p, struct dav_target *t)
{
	const struct str *d = http_header_get(c->req, "Destination");
	struct str authority;
	const char *error = NULL;
	if (d == NULL || http_path_parse(*d, p, &authority, &error) < 0) {
		dav_set_status(c, 400);
		return -1;
	}
	const struct str *host = http_header_get(c->req, "Host");
	if (authority.len > 0 && (host == NULL || !str_case_eq(authority, *host))) {
		dav_set_status(c, 502);
		return -1;
	}
	dav_resolve(c, p, t);
	if (t->home != c->target.home || t->object_name.len == 0 || !dav_name_valid(t->object_name) ||
	    t->trailing_slash) {
		dav_set_status(c, 403);
		return -1;
	}
	if (dav_load_collection(c, t) < 0)
		return -1;
	if (!t->coll_exists) {
		dav_set_status(c, 409);
		return -1;
	}
	if (t->coll.kind != DAV_CALENDAR && t->coll.kind != DAV_ADDRESSBOOK) {
		dav_set_status(c, 403);
		return -1;
	}
	return 0;
}

static void move_answer(struct dav_ctx *c, int r, bool created, const struct dav_target *to, const char *error)
{
	switch (r) {
	case 0:
		dav_set_status(c, created ? 201 : 204);
		break;
	case 1:
		dav_set_status(c, 404);
		break;
	case DAV_PUT_PRECONDITION:
		dav_set_status(c, 412);
		break;
	case DAV_PUT_UID_CONFLICT:
		dav_precondition(c, 403, to->coll.kind == DAV_ADDRESSBOOK ? DAV_NS_CARDDAV : DAV_NS_CALDAV,
				 "no-uid-conflict", STR(""));
		break;
	case DAV_PUT_TOO_MANY:
		dav_set_status(c, 507);
		break;
	default:
		dav_internal_error(c, "dav_object_move", error);
	}
}

void dav_object_move_req(struct dav_ctx *c)
{
	const struct dav_target *t = &c->target;
	if (t->object_name.len == 0) {
		dav_set_status(c, 403);   /* collections are not moved or copied */
		return;
	}
	if (!object_target(c))
		return;
	bool copy = c->req->method == HTTP_M_COPY;
	const struct str *ow = http_header_get(c->req, "Overwrite");
	if (ow != NULL && !str_case_eq(*ow, STR("T")) && !str_case_eq(*ow, STR("F"))) {
		dav_set_status(c, 400);
		return;
	}
	bool overwrite = ow == NULL || str_case_eq(*ow, STR("T"));
	struct http_path *p = calloc(1, sizeof(*p));
	struct dav_target to = { 0 };
	if (p == NULL) {
		dav_set_status(c, 503);
		return;
	}
	if (destination(c, p, &to) < 0)
		goto out;
	struct dav_object src;
	old_data(c, &t->coll, t->object_name, &src);
	if (src.data.len == 0 && (want_hook(c, &to.coll) || want_hook(c, &t->coll))) {
		const char *e = NULL;
		if (dav_object_get(c->env->store, t->coll.id, t->object_name, true, &src, &e) != 1)
			memset(&src, 0, sizeof(src));
	}
	bool created = false;
	const char *error = NULL;
	int r = dav_object_move(c->env->store, t->coll.id, t->object_name, to.coll.id, to.object_name, overwrite,
				copy, &created, &error);
	move_answer(c, r, created, &to, error);
	if (r == 0) {
		if (!copy)
			hook(c, &t->coll, t->object_name, src.data, STR(""));
		hook(c, &to.coll, to.object_name, STR(""), src.data);
	}
	dav_object_free(&src);
out:
	if (to.coll_exists)
		dav_collection_free(&to.coll);
	free(p);
}
