/*
 * dav-collection: making collections (MKCALENDAR, RFC 4791 5.3.1; MKCOL
 * with a body, RFC 5689) with their initial properties, and deleting them
 * (the schedule inbox and outbox stay: RFC 6638 needs them).
 */
#include <stdio.h>
#include <string.h>

#include "dav-private.h"

/* The components of a calendar made without supported-calendar-component-set. */
#define DAV_DEFAULT_COMPONENTS (DAV_COMP_VEVENT | DAV_COMP_VTODO)

/* mkcol_refused: the propstats of dav_props_set inside the method's
 * response element (RFC 5689 3.2, RFC 4791 5.3.1.2), 403. */
static int mkcol_refused_begin(struct dav_ctx *c, bool calendar)
{
	buf_reset(&c->resp->body);
	return dav_ms_raw(c, calendar ? "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<C:mkcalendar-response "
					 "xmlns:D=\"DAV:\" xmlns:C=\"" DAV_NS_CALDAV "\" xmlns:CR=\"" DAV_NS_CARDDAV
					 "\" xmlns:CS=\"" DAV_NS_CS "\" xmlns:A=\"" DAV_NS_APPLE "\">"
				      : "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:mkcol-response "
					"xmlns:D=\"DAV:\" xmlns:C=\"" DAV_NS_CALDAV "\" xmlns:CR=\"" DAV_NS_CARDDAV
					"\" xmlns:CS=\"" DAV_NS_CS "\" xmlns:A=\"" DAV_NS_APPLE "\">");
}

/* mkcol_kind: what the request makes where: 0 when it may not. */
static enum dav_kind mkcol_kind(const struct dav_ctx *c, const struct dav_xml_node *root)
{
	bool mkcalendar = c->req->method == HTTP_M_MKCALENDAR;
	enum dav_kind home = dav_home_kind(c->target.home);
	if (mkcalendar)
		return home == DAV_CALENDAR && (root == NULL || dav_xml_is(root, DAV_NS_CALDAV, "mkcalendar"))
			       ? DAV_CALENDAR : 0;
	if (root != NULL && !dav_xml_is(root, DAV_NS_DAV, "mkcol"))
		return 0;
	return home;
}

void dav_mkcol(struct dav_ctx *c)
{
	const struct dav_target *t = &c->target;
	if (t->coll_name.len == 0 || t->object_name.len > 0) {
		/* only a collection directly in a home can be made */
		dav_set_status(c, t->object_name.len > 0 && !t->coll_exists ? 409 : 405);
		return;
	}
	if (t->coll_exists) {
		dav_set_status(c, 405);
		return;
	}
	if (!dav_name_valid(t->coll_name)) {
		dav_set_status(c, 403);
		return;
	}
	struct dav_xml_doc *doc = NULL;
	if (dav_parse_body(c, &doc) < 0) {
		dav_set_status(c, 415);   /* a body that is not our XML (RFC 4918 9.3, RFC 5689 3) */
		return;
	}
	const struct dav_xml_node *root = doc ? dav_xml_root(doc) : NULL;
	enum dav_kind kind = mkcol_kind(c, root);
	if (kind == 0) {
		dav_set_status(c, root != NULL ? 400 : 403);
		goto out;
	}
	bool calendar = c->req->method == HTTP_M_MKCALENDAR;
	char name[DAV_MAX_NAME + 1];   /* dav_name_valid: at most DAV_MAX_NAME octets */
	memcpy(name, t->coll_name.ptr, t->coll_name.len);
	name[t->coll_name.len] = '\0';
	struct dav_collection n = { .kind = kind, .name = name,
		.components = kind == DAV_CALENDAR ? DAV_DEFAULT_COMPONENTS : 0 };
	if (root != NULL) {
		int r = mkcol_refused_begin(c, calendar);
		if (r == 0)
			r = dav_props_set(c, root, &n, true);
		if (r != 0) {
			if (r == 1 && dav_ms_raw(c, calendar ? "</C:mkcalendar-response>\n" : "</D:mkcol-response>\n") == 0) {
				c->resp->status = 403;
				snprintf(c->resp->content_type, sizeof(c->resp->content_type),
					 "application/xml; charset=utf-8");
			} else {
				dav_ms_overflow(c);
			}
			goto out;
		}
	}
	int64_t id = 0;
	const char *error = NULL;
	int r = dav_collection_create(c->env->store, &n, &id, &error);
	if (r == 0)
		dav_set_status(c, 201);
	else if (r == 1)
		dav_set_status(c, 405);
	else if (r == DAV_PUT_TOO_MANY || r == DAV_PUT_TOO_BIG)
		dav_set_status(c, 507);
	else
		dav_internal_error(c, "dav_collection_create", error);
out:
	dav_xml_free(&doc);
}

void dav_collection_delete_req(struct dav_ctx *c)
{
	const struct dav_target *t = &c->target;
	if (t->coll_name.len == 0) {
		dav_set_status(c, 403);   /* homes, principals and the root stay */
		return;
	}
	if (!t->coll_exists) {
		dav_set_status(c, 404);
		return;
	}
	if (t->coll.kind == DAV_SCHEDULE_INBOX || t->coll.kind == DAV_SCHEDULE_OUTBOX) {
		dav_set_status(c, 403);
		return;
	}
	const char *error = NULL;
	int r = dav_collection_delete(c->env->store, t->coll.id, &error);
	if (r == 0)
		dav_set_status(c, 204);
	else if (r == 1)
		dav_set_status(c, 404);
	else if (r == DAV_PUT_PRECONDITION)
		dav_set_status(c, 403);
	else
		dav_internal_error(c, "dav_collection_delete", error);
}
