/*
 * dav-report: the REPORT method: calendar-multiget (RFC 4791 7.9),
 * addressbook-multiget (RFC 6352 8.7), the per-object response all the
 * reports share (calendar-data with expand or limit-recurrence-set), and
 * the dispatch of sync-collection (dav-sync.c) and the query reports
 * (dav-query.c).  Every answer is bounded by DAV_MAX_RESPONSE: past it, 507.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav-private.h"
#include "lib/date.h"

/* The calendar data one expanded object may grow to: its instances are
 * bounded by ICAL_MAX_INSTANCES, the whole answer by DAV_MAX_RESPONSE. */
#define DAV_MAX_EXPANDED DAV_MAX_RESPONSE

static int digits(struct str s, size_t from, size_t n, int *out)
{
	uint64_t v;
	if (str_to_u64(str_sub(s, from, n), 9999, &v) < 0 || str_sub(s, from, n).len != n)
		return -1;
	*out = (int)v;
	return 0;
}

int dav_utc_parse(struct str s, int64_t *t)
{
	int y, mo, d, h, mi, se;
	if (s.len != 16 || s.ptr[8] != 'T' || s.ptr[15] != 'Z' || digits(s, 0, 4, &y) < 0 || digits(s, 4, 2, &mo) < 0 ||
	    digits(s, 6, 2, &d) < 0 || digits(s, 9, 2, &h) < 0 || digits(s, 11, 2, &mi) < 0 ||
	    digits(s, 13, 2, &se) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > date_days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
		return -1;
	*t = date_time(y, mo, d, h, mi, se);
	return 0;
}

int dav_time_range_parse(const struct dav_xml_node *n, struct ical_time_range *r)
{
	bool has_start, has_end;
	struct str start = dav_xml_attr(n, "start", &has_start), end = dav_xml_attr(n, "end", &has_end);
	r->start = INT64_MIN;
	r->end = INT64_MAX;
	if ((has_start && dav_utc_parse(start, &r->start) < 0) || (has_end && dav_utc_parse(end, &r->end) < 0))
		return -1;
	return r->end > r->start ? 0 : -1;
}

/* calendar_data: the content of calendar-data for o as el asks it (the
 * whole object, or expanded / limited to a range; the range was checked by
 * dav_prop_check); -1 when the answer is full, 1 when the expansion failed
 * (the element is then left empty). */
static int calendar_data(struct dav_ctx *c, const struct dav_collection *coll, const struct dav_object *o,
			 const struct dav_xml_node *el)
{
	const struct dav_xml_node *expand = dav_xml_child(el, DAV_NS_CALDAV, "expand");
	const struct dav_xml_node *limit = dav_xml_child(el, DAV_NS_CALDAV, "limit-recurrence-set");
	if (expand == NULL && limit == NULL)
		return dav_ms_escape(c, o->data);
	struct ical_time_range r;
	if (dav_time_range_parse(expand ? expand : limit, &r) < 0)
		return 1;
	struct buf out;
	buf_init(&out, DAV_MAX_EXPANDED);
	const char *error = NULL;
	struct str tz = str_c(coll->timezone);
	int ret = expand ? ical_expand(o->data, r, tz, &out, &error)
			 : ical_limit_recurrence(o->data, r, tz, &out, &error);
	ret = ret < 0 ? 1 : dav_ms_escape(c, buf_str(&out));
	buf_free(&out);
	return ret;
}

/* object_prop: one asked property of o: 1 written, 0 o has none, -1 full. */
static int object_prop(struct dav_ctx *c, const struct dav_res *r, const struct dav_xml_node *p, bool write)
{
	bool book = r->coll->kind == DAV_ADDRESSBOOK;
	if ((!book && dav_xml_is(p, DAV_NS_CALDAV, "calendar-data")) ||
	    (book && dav_xml_is(p, DAV_NS_CARDDAV, "address-data"))) {
		if (!write)
			return 1;
		const char *tag = book ? "CR:address-data" : "C:calendar-data";
		if (buf_printf(&c->resp->body, "<%s>", tag) < 0)
			return -1;
		int w = book ? dav_ms_escape(c, r->obj->data) : calendar_data(c, r->coll, r->obj, p);
		if (w < 0)
			return -1;
		return buf_printf(&c->resp->body, "</%s>", tag) < 0 ? -1 : 1;
	}
	return dav_prop_write(c, r, p->ns, p->name, write);
}

int dav_object_response(struct dav_ctx *c, const struct dav_collection *coll, const struct dav_object *o,
			const struct dav_xml_node *prop)
{
	enum dav_home home = coll->kind == DAV_ADDRESSBOOK ? DAV_HOME_ADDRESSBOOKS : DAV_HOME_CALENDARS;
	struct dav_res r = { home, coll, o };
	if (prop != NULL)
		return dav_ms_prop_response(c, &r, prop, object_prop);
	if (dav_ms_response_res(c, &r) < 0 || dav_ms_propstat_begin(c) < 0 ||
	    dav_prop_write(c, &r, STR(DAV_NS_DAV), STR("getetag"), true) < 0 || dav_ms_propstat_end(c, 200) < 0)
		return -1;
	return dav_ms_response_end(c);
}

int dav_prop_check(struct dav_ctx *c, const struct dav_xml_node *prop)
{
	const struct dav_xml_node *cd = dav_xml_child(prop, DAV_NS_CALDAV, "calendar-data");
	for (const struct dav_xml_node *n = cd ? cd->children : NULL; n != NULL; n = n->next) {
		struct ical_time_range r;
		if ((dav_xml_is(n, DAV_NS_CALDAV, "expand") || dav_xml_is(n, DAV_NS_CALDAV, "limit-recurrence-set")) &&
		    dav_time_range_parse(n, &r) < 0) {
			dav_set_status(c, 400);
			return -1;
		}
	}
	return 0;
}

bool dav_report_collection(struct dav_ctx *c, unsigned kinds)
{
	const struct dav_target *t = &c->target;
	if (t->coll_name.len > 0 && !t->coll_exists) {
		dav_set_status(c, 404);
		return false;
	}
	if (!t->coll_exists || t->object_name.len > 0 || !(kinds & (1u << t->coll.kind))) {
		dav_precondition(c, 403, DAV_NS_DAV, "supported-report", STR(""));
		return false;
	}
	return true;
}

/* href_status: <D:response> for an href as the client wrote it, with a status. */
static int href_status(struct dav_ctx *c, struct str href, int status)
{
	if (dav_ms_response_begin(c, href) < 0 || dav_ms_status(c, status) < 0)
		return -1;
	return dav_ms_response_end(c);
}

/* multiget_one answers one <D:href>: its object, or 404 when it names
 * nothing in the target collection. */
static int multiget_one(struct dav_ctx *c, struct str href, const struct dav_xml_node *prop, struct http_path *p)
{
	struct str authority;
	const char *error = NULL;
	struct dav_target t = { 0 };
	if (http_path_parse(href, p, &authority, &error) < 0)
		return href_status(c, href, 404);
	dav_resolve(c, p, &t);
	if (t.home != c->target.home || !str_eq(t.coll_name, c->target.coll_name) || t.object_name.len == 0)
		return href_status(c, href, 404);
	struct dav_object o;
	int g = dav_object_get(c->env->store, c->target.coll.id, t.object_name, true, &o, &error);
	if (g < 0)
		return -2;
	if (g == 0)
		return href_status(c, href, 404);
	int ret = dav_object_response(c, &c->target.coll, &o, prop);
	dav_object_free(&o);
	return ret;
}

static void multiget(struct dav_ctx *c, const struct dav_xml_node *root)
{
	bool book = dav_xml_is(root, DAV_NS_CARDDAV, "addressbook-multiget");
	unsigned kinds = book ? 1u << DAV_ADDRESSBOOK : (1u << DAV_CALENDAR) | (1u << DAV_SCHEDULE_INBOX);
	if (!dav_report_collection(c, kinds))
		return;
	const struct dav_xml_node *prop = dav_xml_child(root, DAV_NS_DAV, "prop");
	if (dav_prop_check(c, prop) < 0)
		return;
	struct http_path *p = malloc(sizeof(*p));
	if (p == NULL) {
		dav_set_status(c, 503);
		return;
	}
	int ret = dav_ms_begin(c);
	for (const struct dav_xml_node *h = root->children; h != NULL && ret == 0; h = h->next)
		if (dav_xml_is(h, DAV_NS_DAV, "href"))
			ret = multiget_one(c, str_trim(h->text), prop, p);
	free(p);
	if (ret == 0)
		ret = dav_ms_end(c);
	if (ret == -2)
		dav_internal_error(c, "multiget", "dav_object_get");
	else if (ret < 0)
		dav_ms_overflow(c);
}

void dav_report(struct dav_ctx *c)
{
	struct dav_xml_doc *doc = NULL;
	if (dav_parse_body(c, &doc) < 0)
		return;
	const struct dav_xml_node *root = doc ? dav_xml_root(doc) : NULL;
	if (root == NULL) {
		dav_set_status(c, 400);
	} else if (dav_xml_is(root, DAV_NS_CALDAV, "calendar-multiget") ||
		   dav_xml_is(root, DAV_NS_CARDDAV, "addressbook-multiget")) {
		multiget(c, root);
	} else if (dav_xml_is(root, DAV_NS_DAV, "sync-collection")) {
		dav_sync_collection(c, root);
	} else if (dav_xml_is(root, DAV_NS_CALDAV, "calendar-query") ||
		   dav_xml_is(root, DAV_NS_CALDAV, "free-busy-query") ||
		   dav_xml_is(root, DAV_NS_CARDDAV, "addressbook-query")) {
		if (dav_query_report(c, root) < 0)
			dav_set_status(c, 500);
	} else {
		dav_precondition(c, 403, DAV_NS_DAV, "supported-report", STR(""));
	}
	dav_xml_free(&doc);
}
