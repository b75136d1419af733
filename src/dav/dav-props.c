/*
 * dav-props: the properties of every resource (RFC 4918 15, RFC 4791 5.2 and
 * 6, RFC 6352 6, RFC 6638 2 and 9, RFC 6578 4, RFC 5397, RFC 4331, RFC 3744
 * 5.4, the calendarserver getctag and Apple's calendar-color/order) and
 * PROPFIND (RFC 4918 9.1) at Depth 0 and 1.
 */
#include <inttypes.h>
#include <stdio.h>

#include "dav-private.h"
#include "http/http-response.h"

enum prop_id {
	P_RESOURCETYPE, P_DISPLAYNAME, P_GETETAG, P_GETCONTENTTYPE, P_GETCONTENTLENGTH,
	P_CURRENT_USER_PRINCIPAL, P_PRINCIPAL_URL, P_PRINCIPAL_COLLECTION_SET, P_OWNER,
	P_SYNC_TOKEN, P_PRIVILEGES, P_REPORTS, P_QUOTA_AVAILABLE, P_QUOTA_USED,
	P_CALENDAR_HOME_SET, P_ADDRESSBOOK_HOME_SET, P_USER_ADDRESS_SET, P_INBOX_URL, P_OUTBOX_URL,
	P_DEFAULT_CALENDAR, P_USER_TYPE, P_COMPONENT_SET, P_CALENDAR_DATA_SET, P_ADDRESS_DATA_SET,
	P_CALENDAR_DESCRIPTION, P_ADDRESSBOOK_DESCRIPTION, P_CALENDAR_TIMEZONE, P_CALENDAR_COLOR,
	P_CALENDAR_ORDER, P_GETCTAG, P_CAL_MAX_SIZE, P_CARD_MAX_SIZE, P_GETLASTMODIFIED,
};

static const struct prop_def {
	const char *ns, *name, *qname;
	enum prop_id id;
	bool allprop;   /* given to allprop (RFC 4918 9.1: the live DAV: properties) */
} props[] = {
	{ DAV_NS_DAV, "resourcetype", "D:resourcetype", P_RESOURCETYPE, true },
	{ DAV_NS_DAV, "displayname", "D:displayname", P_DISPLAYNAME, true },
	{ DAV_NS_DAV, "getetag", "D:getetag", P_GETETAG, true },
	{ DAV_NS_DAV, "getcontenttype", "D:getcontenttype", P_GETCONTENTTYPE, true },
	{ DAV_NS_DAV, "getcontentlength", "D:getcontentlength", P_GETCONTENTLENGTH, true },
	{ DAV_NS_DAV, "getlastmodified", "D:getlastmodified", P_GETLASTMODIFIED, true },
	/* In allprop too: a client sent to /dav/ by a 301 may have lost its
	 * PROPFIND body on the way (RFC 6764's redirect), and an empty
	 * PROPFIND is allprop; discovery then still finds the principal. */
	{ DAV_NS_DAV, "current-user-principal", "D:current-user-principal", P_CURRENT_USER_PRINCIPAL, true },
	{ DAV_NS_DAV, "principal-URL", "D:principal-URL", P_PRINCIPAL_URL, false },
	{ DAV_NS_DAV, "principal-collection-set", "D:principal-collection-set", P_PRINCIPAL_COLLECTION_SET, false },
	{ DAV_NS_DAV, "owner", "D:owner", P_OWNER, false },
	{ DAV_NS_DAV, "sync-token", "D:sync-token", P_SYNC_TOKEN, false },
	{ DAV_NS_DAV, "current-user-privilege-set", "D:current-user-privilege-set", P_PRIVILEGES, false },
	{ DAV_NS_DAV, "supported-report-set", "D:supported-report-set", P_REPORTS, false },
	{ DAV_NS_DAV, "quota-available-bytes", "D:quota-available-bytes", P_QUOTA_AVAILABLE, false },
	{ DAV_NS_DAV, "quota-used-bytes", "D:quota-used-bytes", P_QUOTA_USED, false },
	{ DAV_NS_CALDAV, "calendar-home-set", "C:calendar-home-set", P_CALENDAR_HOME_SET, false },
	{ DAV_NS_CARDDAV, "addressbook-home-set", "CR:addressbook-home-set", P_ADDRESSBOOK_HOME_SET, false },
	{ DAV_NS_CALDAV, "calendar-user-address-set", "C:calendar-user-address-set", P_USER_ADDRESS_SET, false },
	{ DAV_NS_CALDAV, "schedule-inbox-URL", "C:schedule-inbox-URL", P_INBOX_URL, false },
	{ DAV_NS_CALDAV, "schedule-outbox-URL", "C:schedule-outbox-URL", P_OUTBOX_URL, false },
	{ DAV_NS_CALDAV, "schedule-default-calendar-URL", "C:schedule-default-calendar-URL", P_DEFAULT_CALENDAR, false },
	{ DAV_NS_CALDAV, "calendar-user-type", "C:calendar-user-type", P_USER_TYPE, false },
	{ DAV_NS_CALDAV, "supported-calendar-component-set", "C:supported-calendar-component-set", P_COMPONENT_SET, false },
	{ DAV_NS_CALDAV, "supported-calendar-data", "C:supported-calendar-data", P_CALENDAR_DATA_SET, false },
	{ DAV_NS_CARDDAV, "supported-address-data", "CR:supported-address-data", P_ADDRESS_DATA_SET, false },
	{ DAV_NS_CALDAV, "calendar-description", "C:calendar-description", P_CALENDAR_DESCRIPTION, false },
	{ DAV_NS_CARDDAV, "addressbook-description", "CR:addressbook-description", P_ADDRESSBOOK_DESCRIPTION, false },
	{ DAV_NS_CALDAV, "calendar-timezone", "C:calendar-timezone", P_CALENDAR_TIMEZONE, false },
	{ DAV_NS_APPLE, "calendar-color", "A:calendar-color", P_CALENDAR_COLOR, false },
	{ DAV_NS_APPLE, "calendar-order", "A:calendar-order", P_CALENDAR_ORDER, false },
	{ DAV_NS_CS, "getctag", "CS:getctag", P_GETCTAG, false },
	{ DAV_NS_CALDAV, "max-resource-size", "C:max-resource-size", P_CAL_MAX_SIZE, false },
	{ DAV_NS_CARDDAV, "max-resource-size", "CR:max-resource-size", P_CARD_MAX_SIZE, false },
};
#define PROP_COUNT (sizeof(props) / sizeof(props[0]))

static const struct prop_def *prop_find(struct str ns, struct str name)
{
	for (size_t i = 0; i < PROP_COUNT; i++)
		if (str_eq(ns, str_c(props[i].ns)) && str_eq(name, str_c(props[i].name)))
			return &props[i];
	return NULL;
}

bool dav_prop_is_live(struct str ns, struct str name)
{
	return prop_find(ns, name) != NULL || str_eq(ns, STR(DAV_NS_DAV));
}

int dav_ms_href(struct dav_ctx *c, enum dav_home home, struct str coll, struct str obj)
{
	struct buf h;
	buf_init(&h, DAV_MAX_HREF);
	int r = dav_href_append(c, &h, home, coll, obj);
	if (r == 0)
		r = dav_ms_raw(c, "<D:href>");
	if (r == 0)
		r = dav_ms_escape(c, buf_str(&h));
	if (r == 0)
		r = dav_ms_raw(c, "</D:href>");
	buf_free(&h);
	return r;
}

int dav_ms_response_at(struct dav_ctx *c, enum dav_home home, struct str coll, struct str obj)
{
	struct buf h;
	buf_init(&h, DAV_MAX_HREF);
	int r = dav_href_append(c, &h, home, coll, obj);
	if (r == 0)
		r = dav_ms_response_begin(c, buf_str(&h));
	buf_free(&h);
	return r;
}

int dav_ms_response_res(struct dav_ctx *c, const struct dav_res *r)
{
	struct str coll = r->coll ? str_c(r->coll->name) : STR("");
	struct str obj = r->obj ? str_c(r->obj->name) : STR("");
	return dav_ms_response_at(c, r->home, coll, obj);
}

static bool is_collection(const struct dav_res *r)
{
	return r->coll != NULL && r->obj == NULL;
}

static bool is_calendar(const struct dav_res *r)
{
	return is_collection(r) && r->coll->kind == DAV_CALENDAR;
}

static bool is_addressbook(const struct dav_res *r)
{
	return is_collection(r) && r->coll->kind == DAV_ADDRESSBOOK;
}

static bool is_home(const struct dav_res *r)
{
	return r->coll == NULL && (r->home == DAV_HOME_CALENDARS || r->home == DAV_HOME_ADDRESSBOOKS);
}

/* Whether r has property id (before anything is written). */
static bool has_prop(struct dav_ctx *c, const struct dav_res *r, enum prop_id id)
{
	bool principal = r->home == DAV_HOME_PRINCIPAL;
	switch (id) {
	case P_RESOURCETYPE:
	case P_CURRENT_USER_PRINCIPAL:
	case P_PRINCIPAL_COLLECTION_SET:
	case P_PRIVILEGES:
		return true;
	case P_DISPLAYNAME:
		return principal || (is_collection(r) && r->coll->displayname != NULL);
	case P_GETETAG:
	case P_GETCONTENTTYPE:
	case P_GETCONTENTLENGTH:
		return r->obj != NULL;
	case P_GETLASTMODIFIED:
		return r->obj != NULL && r->obj->modified > 0;
	case P_PRINCIPAL_URL:
	case P_CALENDAR_HOME_SET:
	case P_ADDRESSBOOK_HOME_SET:
	case P_USER_ADDRESS_SET:
	case P_INBOX_URL:
	case P_OUTBOX_URL:
	case P_USER_TYPE:
		return principal;
	case P_DEFAULT_CALENDAR:
		return principal || (is_collection(r) && r->coll->kind == DAV_SCHEDULE_INBOX);
	case P_OWNER:
		return is_collection(r) || is_home(r) || principal;
	case P_SYNC_TOKEN:
	case P_GETCTAG:
	case P_REPORTS:
		return is_collection(r);
	case P_QUOTA_AVAILABLE:
	case P_QUOTA_USED:
		return is_collection(r) || is_home(r);
	case P_COMPONENT_SET:
	case P_CALENDAR_DATA_SET:
	case P_CAL_MAX_SIZE:
		return is_calendar(r);
	case P_ADDRESS_DATA_SET:
	case P_CARD_MAX_SIZE:
		return is_addressbook(r);
	case P_CALENDAR_DESCRIPTION:
		return is_calendar(r) && r->coll->description != NULL;
	case P_ADDRESSBOOK_DESCRIPTION:
		return is_addressbook(r) && r->coll->description != NULL;
	case P_CALENDAR_TIMEZONE:
		return is_calendar(r) && r->coll->timezone != NULL;
	case P_CALENDAR_COLOR:
		return is_calendar(r) && r->coll->color != NULL;
	case P_CALENDAR_ORDER:
		return is_calendar(r) && r->coll->has_order;
	}
	(void)c;
	return false;
}

static int write_resourcetype(struct dav_ctx *c, const struct dav_res *r)
{
	if (r->obj != NULL)
		return 0;
	if (dav_ms_raw(c, "<D:collection/>") < 0)
		return -1;
	if (r->home == DAV_HOME_PRINCIPAL)
		return dav_ms_raw(c, "<D:principal/>");
	if (r->coll == NULL)
		return 0;
	switch (r->coll->kind) {
	case DAV_CALENDAR: return dav_ms_raw(c, "<C:calendar/>");
	case DAV_ADDRESSBOOK: return dav_ms_raw(c, "<CR:addressbook/>");
	case DAV_SCHEDULE_INBOX: return dav_ms_raw(c, "<C:schedule-inbox/>");
	case DAV_SCHEDULE_OUTBOX: return dav_ms_raw(c, "<C:schedule-outbox/>");
	}
	return 0;
}

/* RFC 3744 5.4: the account owns everything it can reach; the schedule
 * collections add the privileges of RFC 6638 6.1. */
static int write_privileges(struct dav_ctx *c, const struct dav_res *r)
{
	static const char *const privs[] = { "D:all", "D:read", "D:write", "D:write-properties",
		"D:write-content", "D:bind", "D:unbind", "D:read-current-user-privilege-set" };
	for (size_t i = 0; i < sizeof(privs) / sizeof(privs[0]); i++)
		if (buf_printf(&c->resp->body, "<D:privilege><%s/></D:privilege>", privs[i]) < 0)
			return -1;
	if (r->coll != NULL && r->obj == NULL && r->coll->kind == DAV_SCHEDULE_INBOX)
		return dav_ms_raw(c, "<D:privilege><C:schedule-deliver/></D:privilege>"
				     "<D:privilege><C:schedule-deliver-invite/></D:privilege>"
				     "<D:privilege><C:schedule-deliver-reply/></D:privilege>");
	if (r->coll != NULL && r->obj == NULL && r->coll->kind == DAV_SCHEDULE_OUTBOX)
		return dav_ms_raw(c, "<D:privilege><C:schedule-send/></D:privilege>"
				     "<D:privilege><C:schedule-send-invite/></D:privilege>"
				     "<D:privilege><C:schedule-send-reply/></D:privilege>"
				     "<D:privilege><C:schedule-send-freebusy/></D:privilege>");
	return 0;
}

static int write_reports(struct dav_ctx *c, const struct dav_res *r)
{
	static const char *const cal[] = { "C:calendar-multiget", "C:calendar-query", "C:free-busy-query",
		"D:sync-collection" };
	static const char *const card[] = { "CR:addressbook-multiget", "CR:addressbook-query", "D:sync-collection" };
	bool book = r->coll->kind == DAV_ADDRESSBOOK;
	const char *const *list = book ? card : cal;
	size_t n = book ? sizeof(card) / sizeof(card[0]) : sizeof(cal) / sizeof(cal[0]);
	for (size_t i = 0; i < n; i++)
		if (buf_printf(&c->resp->body, "<D:supported-report><D:report><%s/></D:report></D:supported-report>",
			       list[i]) < 0)
			return -1;
	return 0;
}

static int write_component_set(struct dav_ctx *c, unsigned comps)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ DAV_COMP_VEVENT, "VEVENT" }, { DAV_COMP_VTODO, "VTODO" }, { DAV_COMP_VJOURNAL, "VJOURNAL" } };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((comps & names[i].bit) && buf_printf(&c->resp->body, "<C:comp name=\"%s\"/>", names[i].name) < 0)
			return -1;
	return 0;
}

static int write_quota(struct dav_ctx *c, bool available)
{
	uint64_t used = 0;
	const char *error = NULL;
	if (dav_usage(c->env->store, &used, &error) < 0)
		used = 0;
	uint64_t v = available ? (used < DAV_ACCOUNT_QUOTA ? DAV_ACCOUNT_QUOTA - used : 0) : used;
	return buf_printf(&c->resp->body, "%" PRIu64, v);
}

static int write_addresses(struct dav_ctx *c)
{
	const struct dav_account *a = c->env->account;
	for (size_t i = 0; i < a->address_count; i++)
		if (dav_ms_raw(c, "<D:href>mailto:") < 0 || dav_ms_escape(c, str_c(a->addresses[i])) < 0 ||
		    dav_ms_raw(c, "</D:href>") < 0)
			return -1;
	if (a->address_count == 0 && (dav_ms_raw(c, "<D:href>mailto:") < 0 ||
				      dav_ms_escape(c, str_c(a->name)) < 0 || dav_ms_raw(c, "</D:href>") < 0))
		return -1;
	return 0;
}

/* write_value: the content of property id of r (between its tags). */
static int write_value(struct dav_ctx *c, const struct dav_res *r, enum prop_id id)
{
	const struct dav_collection *coll = r->coll;
	char tmp[DAV_SYNC_TOKEN_MAX];
	switch (id) {
	case P_RESOURCETYPE:
		return write_resourcetype(c, r);
	case P_DISPLAYNAME:
		if (coll != NULL)
			return dav_ms_escape(c, str_c(coll->displayname));
		return dav_ms_escape(c, str_c(c->env->account->display_name && c->env->account->display_name[0]
					      ? c->env->account->display_name : c->env->account->name));
	case P_GETETAG:
		return dav_ms_escape(c, str_c(r->obj->etag));
	case P_GETCONTENTTYPE:
		return dav_ms_raw(c, coll->kind == DAV_ADDRESSBOOK ? "text/vcard; charset=utf-8"
								    : "text/calendar; charset=utf-8");
	case P_GETCONTENTLENGTH:
		return buf_printf(&c->resp->body, "%" PRIu64, r->obj->size);
	case P_GETLASTMODIFIED: {
		char date[HTTP_DATE_SIZE];
		http_date(r->obj->modified, date);
		return dav_ms_raw(c, date);
	}
	case P_CURRENT_USER_PRINCIPAL:
	case P_PRINCIPAL_URL:
	case P_OWNER:
		return dav_ms_href(c, DAV_HOME_PRINCIPAL, STR(""), STR(""));
	case P_PRINCIPAL_COLLECTION_SET:
		return dav_ms_href(c, DAV_HOME_PRINCIPALS, STR(""), STR(""));
	case P_SYNC_TOKEN:
	case P_GETCTAG:
		dav_sync_token(coll->id, coll->sync, tmp);
		return dav_ms_escape(c, str_c(tmp));
	case P_PRIVILEGES:
		return write_privileges(c, r);
	case P_REPORTS:
		return write_reports(c, r);
	case P_QUOTA_AVAILABLE:
	case P_QUOTA_USED:
		return write_quota(c, id == P_QUOTA_AVAILABLE);
	case P_CALENDAR_HOME_SET:
		return dav_ms_href(c, DAV_HOME_CALENDARS, STR(""), STR(""));
	case P_ADDRESSBOOK_HOME_SET:
		return dav_ms_href(c, DAV_HOME_ADDRESSBOOKS, STR(""), STR(""));
	case P_USER_ADDRESS_SET:
		return write_addresses(c);
	case P_INBOX_URL:
		return dav_ms_href(c, DAV_HOME_CALENDARS, STR("inbox"), STR(""));
	case P_OUTBOX_URL:
		return dav_ms_href(c, DAV_HOME_CALENDARS, STR("outbox"), STR(""));
	case P_DEFAULT_CALENDAR:
		return dav_ms_href(c, DAV_HOME_CALENDARS, STR("calendar"), STR(""));
	case P_USER_TYPE:
		return dav_ms_raw(c, "INDIVIDUAL");
	case P_COMPONENT_SET:
		return write_component_set(c, coll->components);
	case P_CALENDAR_DATA_SET:
		return dav_ms_raw(c, "<C:calendar-data content-type=\"text/calendar\" version=\"2.0\"/>");
	case P_ADDRESS_DATA_SET:
		return dav_ms_raw(c, "<CR:address-data-type content-type=\"text/vcard\" version=\"3.0\"/>"
				     "<CR:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>");
	case P_CALENDAR_DESCRIPTION:
	case P_ADDRESSBOOK_DESCRIPTION:
		return dav_ms_escape(c, str_c(coll->description));
	case P_CALENDAR_TIMEZONE:
		return dav_ms_escape(c, str_c(coll->timezone));
	case P_CALENDAR_COLOR:
		return dav_ms_escape(c, str_c(coll->color));
	case P_CALENDAR_ORDER:
		return buf_printf(&c->resp->body, "%" PRId64, coll->order);
	case P_CAL_MAX_SIZE:
	case P_CARD_MAX_SIZE:
		return buf_printf(&c->resp->body, "%d", DAV_MAX_OBJECT_SIZE);
	}
	return 0;
}

static int write_prop(struct dav_ctx *c, const struct dav_res *r, const struct prop_def *d)
{
	if (buf_printf(&c->resp->body, "<%s>", d->qname) < 0 || write_value(c, r, d->id) < 0)
		return -1;
	return buf_printf(&c->resp->body, "</%s>", d->qname);
}

int dav_prop_write(struct dav_ctx *c, const struct dav_res *r, struct str ns, struct str name, bool write)
{
	const struct prop_def *d = prop_find(ns, name);
	if (d == NULL || !has_prop(c, r, d->id))
		return 0;
	if (write && write_prop(c, r, d) < 0)
		return -1;
	return 1;
}

enum propfind_kind { PF_ALLPROP, PF_PROPNAME, PF_PROP };

/* table_prop: a live property of r, else one of its dead ones (loaded). */
static int table_prop(struct dav_ctx *c, const struct dav_res *r, const struct dav_xml_node *p, bool write)
{
	int has = dav_prop_write(c, r, p->ns, p->name, write);
	if (has != 0)
		return has;
	const struct dav_dead_prop *d = dav_dead_find(r, p->ns, p->name);
	if (d == NULL)
		return 0;
	return write && dav_dead_write(c, d, true) < 0 ? -1 : 1;
}

/* wants_dead: the request may name one of r's dead properties. */
static bool wants_dead(enum propfind_kind kind, const struct dav_xml_node *prop)
{
	if (kind != PF_PROP)
		return true;
	for (const struct dav_xml_node *p = prop->children; p != NULL; p = p->next)
		if (!dav_prop_is_live(p->ns, p->name))
			return true;
	return false;
}

int dav_ms_prop_response(struct dav_ctx *c, const struct dav_res *r, const struct dav_xml_node *prop,
			 dav_prop_fn *fn)
{
	size_t found = 0, missing = 0;
	for (const struct dav_xml_node *p = prop->children; p != NULL; p = p->next) {
		if (fn(c, r, p, false) == 1)
			found++;
		else
			missing++;
	}
	if (dav_ms_response_res(c, r) < 0)
		return -1;
	if (found > 0) {
		if (dav_ms_propstat_begin(c) < 0)
			return -1;
		for (const struct dav_xml_node *p = prop->children; p != NULL; p = p->next)
			if (fn(c, r, p, false) == 1 && fn(c, r, p, true) < 0)
				return -1;
		if (dav_ms_propstat_end(c, 200) < 0)
			return -1;
	}
	if (missing > 0) {
		if (dav_ms_propstat_begin(c) < 0)
			return -1;
		for (const struct dav_xml_node *p = prop->children; p != NULL; p = p->next)
			if (fn(c, r, p, false) != 1 && dav_ms_empty(c, p->ns, p->name) < 0)
				return -1;
		if (dav_ms_propstat_end(c, 404) < 0)
			return -1;
	}
	return dav_ms_response_end(c);
}

/* One <D:response> for r: the asked properties it has in a 200 propstat,
 * the others in a 404 one (RFC 4918 9.1); allprop and propname list what
 * r has. */
static int listed_response(struct dav_ctx *c, const struct dav_res *r, enum propfind_kind kind)
{
	if (dav_ms_response_res(c, r) < 0 || dav_ms_propstat_begin(c) < 0)
		return -1;
	for (size_t i = 0; i < PROP_COUNT; i++) {
		if (!has_prop(c, r, props[i].id) || (kind == PF_ALLPROP && !props[i].allprop))
			continue;
		int w = kind == PF_PROPNAME ? buf_printf(&c->resp->body, "<%s/>", props[i].qname)
					    : write_prop(c, r, &props[i]);
		if (w < 0)
			return -1;
	}
	/* allprop includes the dead properties (RFC 4918 9.1) */
	for (size_t i = 0; i < r->dead_count; i++)
		if (dav_dead_write(c, &r->dead[i], kind == PF_ALLPROP) < 0)
			return -1;
	if (dav_ms_propstat_end(c, 200) < 0)
		return -1;
	return dav_ms_response_end(c);
}

/* propfind_response: -2 when the dead properties could not be read (error
 * in c->store_error). */
static int propfind_response(struct dav_ctx *c, const struct dav_res *res, enum propfind_kind kind,
			     const struct dav_xml_node *prop)
{
	struct dav_res r = *res;
	r.dead = NULL;
	r.dead_count = 0;
	if (wants_dead(kind, prop) && dav_dead_load(c, &r, &c->store_error) < 0)
		return -2;
	int ret = kind == PF_PROP ? dav_ms_prop_response(c, &r, prop, table_prop) : listed_response(c, &r, kind);
	dav_dead_list_free(r.dead, r.dead_count);
	return ret;
}

struct each_ctx {
	struct dav_ctx *c;
	const struct dav_collection *coll;
	enum propfind_kind kind;
	const struct dav_xml_node *prop;
	int ret;
};

static int each_object(void *ctx, const struct dav_object *o)
{
	struct each_ctx *e = ctx;
	struct dav_res r = { .home = e->c->target.home, .coll = e->coll, .obj = o };
	e->ret = propfind_response(e->c, &r, e->kind, e->prop);
	return e->ret < 0;
}

/* children: the Depth 1 members of the target. */
static int children(struct dav_ctx *c, enum propfind_kind kind, const struct dav_xml_node *prop)
{
	const struct dav_target *t = &c->target;
	const char *error = NULL;
	if (t->home == DAV_HOME_PRINCIPALS) {
		struct dav_res r = { .home = DAV_HOME_PRINCIPAL, .coll = NULL, .obj = NULL };
		return propfind_response(c, &r, kind, prop);
	}
	if ((t->home == DAV_HOME_CALENDARS || t->home == DAV_HOME_ADDRESSBOOKS) && t->coll_name.len == 0) {
		struct dav_collection *list = NULL;
		size_t n = 0;
		if (dav_collection_list(c->env->store, dav_home_kind(t->home), &list, &n, &error) < 0)
			return -2;
		int ret = 0;
		for (size_t i = 0; i < n && ret == 0; i++) {
			struct dav_res r = { .home = t->home, .coll = &list[i], .obj = NULL };
			ret = propfind_response(c, &r, kind, prop);
		}
		dav_collection_list_free(list, n);
		return ret;
	}
	if (t->coll_exists && t->object_name.len == 0) {
		struct each_ctx e = { c, &t->coll, kind, prop, 0 };
		if (dav_object_each(c->env->store, t->coll.id, false, INT64_MIN, INT64_MAX, each_object, &e, &error) < 0)
			return -2;
		return e.ret;
	}
	return 0;
}

void dav_propfind(struct dav_ctx *c)
{
	const struct dav_target *t = &c->target;
	int depth = dav_depth(c, 0);
	if (depth < 0) {
		dav_set_status(c, 400);
		return;
	}
	if (depth == DAV_DEPTH_INFINITY) {
		dav_precondition(c, 403, DAV_NS_DAV, "propfind-finite-depth", STR(""));
		return;
	}
	if (t->coll_name.len > 0 && !t->coll_exists) {
		dav_set_status(c, 404);
		return;
	}
	struct dav_xml_doc *doc = NULL;
	if (dav_parse_body(c, &doc) < 0)
		return;
	enum propfind_kind kind = PF_ALLPROP;
	const struct dav_xml_node *prop = NULL;
	if (doc != NULL) {
		const struct dav_xml_node *root = dav_xml_root(doc);
		if (!dav_xml_is(root, DAV_NS_DAV, "propfind")) {
			dav_set_status(c, 400);
			goto out;
		}
		if ((prop = dav_xml_child(root, DAV_NS_DAV, "prop")) != NULL)
			kind = PF_PROP;
		else if (dav_xml_child(root, DAV_NS_DAV, "propname") != NULL)
			kind = PF_PROPNAME;
	}
	struct dav_object obj = { 0 };
	struct dav_res r = { .home = t->home, .coll = t->coll_exists ? &t->coll : NULL, .obj = NULL };
	const char *error = NULL;
	if (t->object_name.len > 0) {
		int g = dav_object_get(c->env->store, t->coll.id, t->object_name, false, &obj, &error);
		if (g <= 0) {
			if (g < 0)
				dav_internal_error(c, "dav_object_get", error);
			else
				dav_set_status(c, 404);
			goto out;
		}
		r.obj = &obj;
	}
	int ret = dav_ms_begin(c);
	if (ret == 0)
		ret = propfind_response(c, &r, kind, prop);
	if (ret == 0 && depth == 1)
		ret = children(c, kind, prop);
	if (ret == 0)
		ret = dav_ms_end(c);
	if (ret == -2)
		dav_internal_error(c, "PROPFIND listing", error ? error : c->store_error);
	else if (ret < 0)
		dav_ms_overflow(c);
	if (r.obj != NULL)
		dav_object_free(&obj);
out:
	dav_xml_free(&doc);
}
