/*
 * dav-query: the query REPORTs, calendar-query (RFC 4791 7.8),
 * free-busy-query (7.10) and addressbook-query (RFC 6352 8.6), and the
 * schedule outbox's free/busy POST (RFC 6638 / CalDAV scheduling).  The
 * request's filter is turned into the structures of ical.h / vcard.h;
 * objects are taken from dav-store with the span prefilter, then matched
 * one by one.  An object the iCalendar code gives up on (a limit) gets a
 * response of its own (507 with the reason), never a hang.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav-private.h"
#include "ical/vcard.h"

_Static_assert(ICAL_COMP_VEVENT == DAV_COMP_VEVENT && ICAL_COMP_VTODO == DAV_COMP_VTODO &&
		       ICAL_COMP_VJOURNAL == DAV_COMP_VJOURNAL,
	       "ical and dav-store name component types alike");

/* Objects of one query the iCalendar code may give up on before the whole
 * query stops: each costs at most ICAL_MAX_CPU_NS, so a collection full of
 * bombs costs seconds, not hours. */
#define DAV_QUERY_MAX_LIMITED 8
/* Busy periods of one free/busy answer: a year of ten meetings a day. */
#define DAV_FREEBUSY_MAX_PERIODS 5000
/* Attendees of one outbox free/busy request. */
#define DAV_OUTBOX_MAX_ATTENDEES 100

/* ---- the filter ---- */

struct filter_ctx {
	struct dav_ctx *c;
	const char *precondition; /* set on a refused filter */
};

static void *alloc_n(size_t n, size_t size)
{
	return calloc(n + 1, size);
}

static size_t count_children(const struct dav_xml_node *n, const char *ns, const char *name)
{
	size_t k = 0;

	for (const struct dav_xml_node *ch = n->children; ch != NULL; ch = ch->next)
		k += dav_xml_is(ch, ns, name);
	return k;
}

/* text-match: collation (default i;ascii-casemap for CalDAV), negate-condition. */
static int text_match(struct filter_ctx *f, const struct dav_xml_node *n, struct str *text, enum collation *coll,
		      bool *negate, enum match_type *match, bool card)
{
	bool has;
	struct str name = dav_xml_attr(n, "collation", &has);

	*coll = card ? COLLATION_UNICODE_CASEMAP : COLLATION_ASCII_CASEMAP;
	if (has && collation_from_name(name, coll) < 0) {
		f->precondition = "supported-collation";
		return -1;
	}
	*negate = str_eq(dav_xml_attr(n, "negate-condition", NULL), STR("yes"));
	*text = n->text;
	if (match != NULL) {
		struct str m = dav_xml_attr(n, "match-type", &has);
		*match = MATCH_CONTAINS;
		if (has && collation_match_type_from_name(m, match) < 0) {
			f->precondition = "supported-filter";
			return -1;
		}
	}
	return 0;
}

static int name_of(struct filter_ctx *f, const struct dav_xml_node *n, struct str *name)
{
	bool has;

	*name = dav_xml_attr(n, "name", &has);
	if (!has || name->len == 0) {
		f->precondition = "valid-filter";
		return -1;
	}
	return 0;
}

static int time_range(struct filter_ctx *f, const struct dav_xml_node *n, struct ical_time_range *r)
{
	if (dav_time_range_parse(n, r) < 0) {
		f->precondition = "valid-filter";
		return -1;
	}
	return 0;
}

static int param_filter(struct filter_ctx *f, const struct dav_xml_node *n, struct ical_param_filter *p)
{
	if (name_of(f, n, &p->name) < 0)
		return -1;
	for (const struct dav_xml_node *ch = n->children; ch != NULL; ch = ch->next) {
		if (dav_xml_is(ch, DAV_NS_CALDAV, "is-not-defined")) {
			p->is_not_defined = true;
		} else if (dav_xml_is(ch, DAV_NS_CALDAV, "text-match")) {
			p->has_text = true;
			if (text_match(f, ch, &p->text.text, &p->text.collation, &p->text.negate, NULL, false) < 0)
				return -1;
		}
	}
	return 0;
}

static int prop_filter(struct filter_ctx *f, const struct dav_xml_node *n, struct ical_prop_filter *p)
{
	if (name_of(f, n, &p->name) < 0)
		return -1;
	p->params = alloc_n(count_children(n, DAV_NS_CALDAV, "param-filter"), sizeof(*p->params));
	if (p->params == NULL)
		return -1;
	for (const struct dav_xml_node *ch = n->children; ch != NULL; ch = ch->next) {
		if (dav_xml_is(ch, DAV_NS_CALDAV, "is-not-defined")) {
			p->is_not_defined = true;
		} else if (dav_xml_is(ch, DAV_NS_CALDAV, "time-range")) {
			p->has_time_range = true;
			if (time_range(f, ch, &p->range) < 0)
				return -1;
		} else if (dav_xml_is(ch, DAV_NS_CALDAV, "text-match")) {
			p->has_text = true;
			if (text_match(f, ch, &p->text.text, &p->text.collation, &p->text.negate, NULL, false) < 0)
				return -1;
		} else if (dav_xml_is(ch, DAV_NS_CALDAV, "param-filter")) {
			if (param_filter(f, ch, &p->params[p->param_count++]) < 0)
				return -1;
		}
	}
	return 0;
}

static void comp_filter_free(struct ical_comp_filter *cf)
{
	for (size_t i = 0; cf->props != NULL && i < cf->prop_count; i++)
		free(cf->props[i].params);
	for (size_t i = 0; cf->comps != NULL && i < cf->comp_count; i++)
		comp_filter_free(&cf->comps[i]);
	free(cf->props);
	free(cf->comps);
}

static int comp_filter(struct filter_ctx *f, const struct dav_xml_node *n, struct ical_comp_filter *cf)
{
	if (name_of(f, n, &cf->name) < 0)
		return -1;
	cf->props = alloc_n(count_children(n, DAV_NS_CALDAV, "prop-filter"), sizeof(*cf->props));
	cf->comps = alloc_n(count_children(n, DAV_NS_CALDAV, "comp-filter"), sizeof(*cf->comps));
	if (cf->props == NULL || cf->comps == NULL)
		return -1;
	for (const struct dav_xml_node *ch = n->children; ch != NULL; ch = ch->next) {
		int ret = 0;
		if (dav_xml_is(ch, DAV_NS_CALDAV, "is-not-defined")) {
			cf->is_not_defined = true;
		} else if (dav_xml_is(ch, DAV_NS_CALDAV, "time-range")) {
			cf->has_time_range = true;
			ret = time_range(f, ch, &cf->range);
		} else if (dav_xml_is(ch, DAV_NS_CALDAV, "prop-filter")) {
			ret = prop_filter(f, ch, &cf->props[cf->prop_count++]);
		} else if (dav_xml_is(ch, DAV_NS_CALDAV, "comp-filter")) {
			ret = comp_filter(f, ch, &cf->comps[cf->comp_count++]);
		}
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* The span to ask dav-store for: the time-range of the one component
 * filter below VCALENDAR, when it is the only one and asks no alarm
 * (alarms ring outside their event's span); else everything. */
static struct ical_time_range prefilter_span(const struct ical_comp_filter *top)
{
	struct ical_time_range all = { INT64_MIN, INT64_MAX };

	if (top->comp_count != 1 || top->comps[0].is_not_defined || !top->comps[0].has_time_range)
		return all;
	for (size_t i = 0; i < top->comps[0].comp_count; i++) {
		if (str_case_eq(top->comps[0].comps[i].name, STR("VALARM")))
			return all;
	}
	return top->comps[0].range;
}

/* ---- calendar-query ---- */

struct query_walk {
	struct dav_ctx *c;
	const struct dav_xml_node *prop;
	const struct ical_comp_filter *filter;
	struct str tz;
	size_t limited;
	int ret;
};

static int limited_response(struct dav_ctx *c, const struct dav_object *o, const char *error)
{
	struct dav_res r = { .home = DAV_HOME_CALENDARS, .coll = &c->target.coll, .obj = o };

	if (dav_ms_response_res(c, &r) < 0 || dav_ms_status(c, 507) < 0 ||
	    dav_ms_text(c, STR(DAV_NS_DAV), STR("responsedescription"), str_c(error)) < 0)
		return -1;
	return dav_ms_response_end(c);
}

static int query_object(void *ctx, const struct dav_object *o)
{
	struct query_walk *w = ctx;
	const char *error = NULL;

	/* Most objects of a time-range query are decided by their span alone. */
	int m = ical_match_span(o->data, o->first, o->last, w->filter);
	if (m < 0)
		m = ical_match(o->data, w->filter, w->tz, &error);
	if (m < 0) {
		w->ret = limited_response(w->c, o, error != NULL ? error : "calendar data not readable");
		if (++w->limited >= DAV_QUERY_MAX_LIMITED && w->ret == 0)
			w->ret = 1;
	} else if (m > 0) {
		w->ret = dav_object_response(w->c, &w->c->target.coll, o, w->prop);
	}
	return w->ret != 0;
}

static struct str query_timezone(struct dav_ctx *c, const struct dav_xml_node *root)
{
	const struct dav_xml_node *tz = dav_xml_child(root, DAV_NS_CALDAV, "timezone");

	return tz != NULL ? tz->text : str_c(c->target.coll.timezone);
}

static int calendar_query(struct dav_ctx *c, const struct dav_xml_node *root)
{
	if (!dav_report_collection(c, (1u << DAV_CALENDAR) | (1u << DAV_SCHEDULE_INBOX)))
		return 0;
	const struct dav_xml_node *prop = dav_xml_child(root, DAV_NS_DAV, "prop");
	if (dav_prop_check(c, prop) < 0)
		return 0;
	const struct dav_xml_node *fx = dav_xml_child(root, DAV_NS_CALDAV, "filter");
	const struct dav_xml_node *top = fx != NULL ? dav_xml_child(fx, DAV_NS_CALDAV, "comp-filter") : NULL;
	struct filter_ctx f = { .c = c };
	struct ical_comp_filter filter = { 0 };
	int fr = -1;
	if (top == NULL || count_children(fx, DAV_NS_CALDAV, "comp-filter") != 1)
		f.precondition = "valid-filter";
	else
		fr = comp_filter(&f, top, &filter);
	if (fr < 0 && f.precondition == NULL) {
		comp_filter_free(&filter);
		return -1;  /* out of memory */
	}
	if (fr < 0 || !str_case_eq(filter.name, STR("VCALENDAR"))) {
		dav_precondition(c, 403, DAV_NS_CALDAV, f.precondition ? f.precondition : "valid-filter", STR(""));
		comp_filter_free(&filter);
		return 0;
	}
	struct query_walk w = { .c = c, .prop = prop, .filter = &filter, .tz = query_timezone(c, root) };
	struct ical_time_range span = prefilter_span(&filter);
	const char *error = NULL;
	int ret = dav_ms_begin(c);
	if (ret == 0 && dav_object_each(c->env->store, c->target.coll.id, true, span.start, span.end, query_object, &w,
					&error) < 0) {
		comp_filter_free(&filter);
		dav_internal_error(c, "calendar-query", error);
		return 0;
	}
	comp_filter_free(&filter);
	if (ret == 0 && w.ret >= 0)
		ret = dav_ms_end(c);
	if (ret < 0 || w.ret < 0)
		dav_ms_overflow(c);
	return 0;
}

/* ---- free-busy-query ---- */

struct busy_walk {
	struct ical_time_range r;
	struct str tz;
	struct ical_busy *list;
	size_t n;
	size_t limited;
};

static int busy_object(void *ctx, const struct dav_object *o)
{
	struct busy_walk *w = ctx;
	const char *error;

	if (o->component != DAV_COMP_VEVENT)
		return 0;
	/* An object past a limit adds nothing; enough of them end the walk. */
	if (ical_busy_add(o->data, w->r, w->tz, &w->list, &w->n, DAV_FREEBUSY_MAX_PERIODS, &error) < 0)
		return ++w->limited >= DAV_QUERY_MAX_LIMITED;
	return 0;
}

/* busy_of adds the busy time of collection coll within r. */
static int busy_of(struct dav_ctx *c, const struct dav_collection *coll, struct busy_walk *w)
{
	const char *error = NULL;

	w->tz = str_c(coll->timezone);
	if (dav_object_each(c->env->store, coll->id, true, w->r.start, w->r.end, busy_object, w, &error) < 0) {
		dav_internal_error(c, "free-busy", error);
		return -1;
	}
	return 0;
}

static int freebusy_query(struct dav_ctx *c, const struct dav_xml_node *root)
{
	if (!dav_report_collection(c, 1u << DAV_CALENDAR))
		return 0;
	const struct dav_xml_node *tr = dav_xml_child(root, DAV_NS_CALDAV, "time-range");
	struct busy_walk w = { 0 };
	if (tr == NULL || dav_time_range_parse(tr, &w.r) < 0 || w.r.start == INT64_MIN || w.r.end == INT64_MAX) {
		dav_set_status(c, 400);
		return 0;
	}
	if (busy_of(c, &c->target.coll, &w) == 0) {
		buf_reset(&c->resp->body);
		if (ical_freebusy_write(w.list, w.n, w.r, STR_NULL, STR_NULL, &c->resp->body) < 0) {
			dav_set_status(c, 507);
		} else {
			c->resp->status = 200;
			snprintf(c->resp->content_type, sizeof(c->resp->content_type), "text/calendar; charset=utf-8");
		}
	}
	free(w.list);
	return 0;
}

/* ---- addressbook-query ---- */

static void card_filter_free(struct vcard_filter *vf)
{
	for (size_t i = 0; vf->props != NULL && i < vf->prop_count; i++) {
		free(vf->props[i].texts);
		free(vf->props[i].params);
	}
	free(vf->props);
}

static int card_text(struct filter_ctx *f, const struct dav_xml_node *n, struct vcard_text_match *t)
{
	return text_match(f, n, &t->text, &t->collation, &t->negate, &t->match, true);
}

static int card_prop(struct filter_ctx *f, const struct dav_xml_node *n, struct vcard_prop_filter *p)
{
	if (name_of(f, n, &p->name) < 0)
		return -1;
	p->all_of = str_eq(dav_xml_attr(n, "test", NULL), STR("allof"));
	p->texts = alloc_n(count_children(n, DAV_NS_CARDDAV, "text-match"), sizeof(*p->texts));
	p->params = alloc_n(count_children(n, DAV_NS_CARDDAV, "param-filter"), sizeof(*p->params));
	if (p->texts == NULL || p->params == NULL)
		return -1;
	for (const struct dav_xml_node *ch = n->children; ch != NULL; ch = ch->next) {
		if (dav_xml_is(ch, DAV_NS_CARDDAV, "is-not-defined")) {
			p->is_not_defined = true;
		} else if (dav_xml_is(ch, DAV_NS_CARDDAV, "text-match")) {
			if (card_text(f, ch, &p->texts[p->text_count++]) < 0)
				return -1;
		} else if (dav_xml_is(ch, DAV_NS_CARDDAV, "param-filter")) {
			struct vcard_param_filter *pf = &p->params[p->param_count++];
			if (name_of(f, ch, &pf->name) < 0)
				return -1;
			pf->is_not_defined = dav_xml_child(ch, DAV_NS_CARDDAV, "is-not-defined") != NULL;
			const struct dav_xml_node *tm = dav_xml_child(ch, DAV_NS_CARDDAV, "text-match");
			pf->has_text = tm != NULL;
			if (tm != NULL && card_text(f, tm, &pf->text) < 0)
				return -1;
		}
	}
	return 0;
}

struct card_walk {
	struct dav_ctx *c;
	const struct dav_xml_node *prop;
	const struct vcard_filter *filter;
	uint64_t limit, found;
	bool truncated;
	int ret;
};

static int card_object(void *ctx, const struct dav_object *o)
{
	struct card_walk *w = ctx;
	const char *error;

	if (vcard_match(o->data, w->filter, &error) != 1)
		return 0;
	if (w->limit > 0 && w->found >= w->limit) {
		w->truncated = true;
		return 1;
	}
	w->found++;
	w->ret = dav_object_response(w->c, &w->c->target.coll, o, w->prop);
	return w->ret != 0;
}

static int addressbook_query(struct dav_ctx *c, const struct dav_xml_node *root)
{
	if (!dav_report_collection(c, 1u << DAV_ADDRESSBOOK))
		return 0;
	const struct dav_xml_node *prop = dav_xml_child(root, DAV_NS_DAV, "prop");
	const struct dav_xml_node *fx = dav_xml_child(root, DAV_NS_CARDDAV, "filter");
	struct filter_ctx f = { .c = c };
	struct vcard_filter vf = { 0 };
	if (fx != NULL) {
		vf.all_of = str_eq(dav_xml_attr(fx, "test", NULL), STR("allof"));
		vf.props = alloc_n(count_children(fx, DAV_NS_CARDDAV, "prop-filter"), sizeof(*vf.props));
		if (vf.props == NULL)
			return -1;
		for (const struct dav_xml_node *ch = fx->children; ch != NULL; ch = ch->next) {
			if (dav_xml_is(ch, DAV_NS_CARDDAV, "prop-filter") &&
			    card_prop(&f, ch, &vf.props[vf.prop_count++]) < 0) {
				dav_precondition(c, 403, DAV_NS_CARDDAV, f.precondition ? f.precondition : "valid-filter",
						 STR(""));
				card_filter_free(&vf);
				return 0;
			}
		}
	}
	struct card_walk w = { .c = c, .prop = prop, .filter = &vf };
	const struct dav_xml_node *limit = dav_xml_child(root, DAV_NS_CARDDAV, "limit");
	const struct dav_xml_node *nres = limit != NULL ? dav_xml_child(limit, DAV_NS_CARDDAV, "nresults") : NULL;
	if (nres != NULL && (str_to_u64(str_trim(nres->text), DAV_MAX_OBJECTS, &w.limit) < 0 || w.limit == 0)) {
		dav_set_status(c, 400);
		card_filter_free(&vf);
		return 0;
	}
	const char *error = NULL;
	int ret = dav_ms_begin(c);
	if (ret == 0 && dav_object_each(c->env->store, c->target.coll.id, true, INT64_MIN, INT64_MAX, card_object, &w,
					&error) < 0) {
		card_filter_free(&vf);
		dav_internal_error(c, "addressbook-query", error);
		return 0;
	}
	card_filter_free(&vf);
	/* RFC 6352 8.6.1: more matches than the limit: a 507 response for the
	 * collection itself says the answer is cut. */
	if (ret == 0 && w.ret == 0 && w.truncated) {
		struct dav_res r = { .home = DAV_HOME_ADDRESSBOOKS, .coll = &c->target.coll, .obj = NULL };
		ret = dav_ms_response_res(c, &r);
		if (ret == 0)
			ret = dav_ms_status(c, 507);
		if (ret == 0)
			ret = dav_ms_raw(c, "<D:error><D:number-of-matches-within-limits/></D:error>");
		if (ret == 0)
			ret = dav_ms_response_end(c);
	}
	if (ret == 0 && w.ret == 0)
		ret = dav_ms_end(c);
	if (ret < 0 || w.ret < 0)
		dav_ms_overflow(c);
	return 0;
}

int dav_query_report(struct dav_ctx *c, const struct dav_xml_node *root)
{
	if (dav_xml_is(root, DAV_NS_CALDAV, "calendar-query"))
		return calendar_query(c, root);
	if (dav_xml_is(root, DAV_NS_CALDAV, "free-busy-query"))
		return freebusy_query(c, root);
	if (dav_xml_is(root, DAV_NS_CARDDAV, "addressbook-query"))
		return addressbook_query(c, root);
	dav_precondition(c, 403, DAV_NS_DAV, "supported-report", STR(""));
	return 0;
}

/* ---- the schedule outbox ---- */

/* own_address: the mailto: value names one of the account's addresses. */
static bool own_address(const struct dav_account *a, struct str value)
{
	if (!str_case_prefix(value, STR("mailto:")))
		return false;
	struct str addr = str_sub(value, 7, value.len - 7);
	if (str_case_eq(addr, str_c(a->name)))
		return true;
	for (size_t i = 0; i < a->address_count; i++) {
		if (str_case_eq(addr, str_c(a->addresses[i])))
			return true;
	}
	return false;
}

/* The account's busy time within r, over all its calendars. */
static int own_busy(struct dav_ctx *c, struct busy_walk *w)
{
	struct dav_collection *list = NULL;
	size_t n = 0;
	const char *error = NULL;

	if (dav_collection_list(c->env->store, DAV_CALENDAR, &list, &n, &error) < 0) {
		dav_internal_error(c, "outbox", error);
		return -1;
	}
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (list[i].kind == DAV_CALENDAR && (list[i].components & DAV_COMP_VEVENT))
			ret = busy_of(c, &list[i], w);
	}
	dav_collection_list_free(list, n);
	return ret;
}

static int outbox_answer(struct dav_ctx *c, struct str attendee, const char *status, struct str data)
{
	struct buf *b = &c->resp->body;
	int ret = buf_printf(b, "<C:response><C:recipient><D:href>");
	ret |= dav_xml_escape_append(b, attendee);
	ret |= buf_printf(b, "</D:href></C:recipient><C:request-status>%s</C:request-status>", status);
	if (data.len > 0) {
		ret |= buf_printf(b, "<C:calendar-data>");
		ret |= dav_xml_escape_append(b, data);
		ret |= buf_printf(b, "</C:calendar-data>");
	}
	ret |= buf_printf(b, "</C:response>");
	return ret < 0 ? -1 : 0;
}

int dav_outbox_post(struct dav_ctx *c)
{
	char organizer[256];
	char (*attendees)[256] = calloc(DAV_OUTBOX_MAX_ATTENDEES, sizeof(*attendees));
	size_t n = 0;
	struct ical_time_range r;
	const char *error = NULL;

	if (attendees == NULL)
		return -1;
	if (ical_freebusy_request(c->req->body, &r, organizer, attendees, DAV_OUTBOX_MAX_ATTENDEES, &n, &error) < 0) {
		dav_precondition(c, 400, DAV_NS_CALDAV, "valid-calendar-data", STR(""));
		free(attendees);
		return 0;
	}
	if (!own_address(c->env->account, str_c(organizer))) {
		dav_precondition(c, 403, DAV_NS_CALDAV, "organizer-allowed", STR(""));
		free(attendees);
		return 0;
	}
	struct buf fb;
	buf_init(&fb, DAV_MAX_OBJECT_SIZE);
	buf_reset(&c->resp->body);
	int ret = buf_printf(&c->resp->body, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<C:schedule-response "
					     "xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">");
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct str who = str_c(attendees[i]);
		if (!own_address(c->env->account, who)) {
			ret = outbox_answer(c, who, "3.7;Invalid calendar user", STR_NULL);
			continue;
		}
		struct busy_walk w = { .r = r };
		if (own_busy(c, &w) < 0) {
			free(w.list);
			buf_free(&fb);
			free(attendees);
			return 0;
		}
		buf_reset(&fb);
		if (ical_freebusy_write(w.list, w.n, r, str_c(organizer), who, &fb) < 0)
			ret = outbox_answer(c, who, "5.3;No scheduling support for user", STR_NULL);
		else
			ret = outbox_answer(c, who, "2.0;Success", buf_str(&fb));
		free(w.list);
	}
	if (ret == 0)
		ret = buf_printf(&c->resp->body, "</C:schedule-response>");
	buf_free(&fb);
	free(attendees);
	if (ret < 0) {
		buf_reset(&c->resp->body);
		dav_set_status(c, 507);
		return 0;
	}
	c->resp->status = 200;
	snprintf(c->resp->content_type, sizeof(c->resp->content_type), "application/xml; charset=utf-8");
	return 0;
}
