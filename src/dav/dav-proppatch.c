/*
 * dav-proppatch: setting and removing collection properties, for
 * PROPPATCH (RFC 4918 9.2) and for the initial properties of MKCALENDAR
 * (RFC 4791 5.3.1) and extended MKCOL (RFC 5689).  All or nothing: one
 * refused property fails the others with 424.  Only the properties a
 * client edits are writable; there are no dead properties.
 */
#include <stdlib.h>
#include <string.h>

#include "dav-private.h"

/* A calendar-color is "#RRGGBB" or "#RRGGBBAA"; some clients add a name. */
#define DAV_MAX_COLOR 64
/* A calendar-order is a decimal integer of at most this many digits. */
#define DAV_MAX_ORDER_DIGITS 18

enum settable { S_NONE, S_DISPLAYNAME, S_COLOR, S_CAL_DESCRIPTION, S_CARD_DESCRIPTION, S_TIMEZONE, S_ORDER,
	S_COMPONENTS, S_RESOURCETYPE };

static enum settable settable_of(const struct dav_xml_node *p)
{
	if (dav_xml_is(p, DAV_NS_DAV, "displayname"))
		return S_DISPLAYNAME;
	if (dav_xml_is(p, DAV_NS_APPLE, "calendar-color"))
		return S_COLOR;
	if (dav_xml_is(p, DAV_NS_CALDAV, "calendar-description"))
		return S_CAL_DESCRIPTION;
	if (dav_xml_is(p, DAV_NS_CARDDAV, "addressbook-description"))
		return S_CARD_DESCRIPTION;
	if (dav_xml_is(p, DAV_NS_CALDAV, "calendar-timezone"))
		return S_TIMEZONE;
	if (dav_xml_is(p, DAV_NS_APPLE, "calendar-order"))
		return S_ORDER;
	if (dav_xml_is(p, DAV_NS_CALDAV, "supported-calendar-component-set"))
		return S_COMPONENTS;
	if (dav_xml_is(p, DAV_NS_DAV, "resourcetype"))
		return S_RESOURCETYPE;
	return S_NONE;
}

/* next_line: the line of text starting at *pos (without CR LF). */
static struct str next_line(struct str text, size_t *pos)
{
	size_t start = *pos, end = start;
	while (end < text.len && text.ptr[end] != '\n')
		end++;
	*pos = end < text.len ? end + 1 : end;
	size_t len = end - start;
	if (len > 0 && text.ptr[start + len - 1] == '\r')
		len--;
	return str_from(text.ptr + start, len);
}

/* timezone_valid: a VCALENDAR holding one VTIMEZONE and no other component
 * (RFC 4791 5.2.2); a line scan, bounded by the text. */
static bool timezone_valid(struct str text)
{
	size_t pos = 0, tz = 0, lines = 0;
	bool begun = false, ended = false;
	while (pos < text.len) {
		struct str l = next_line(text, &pos);
		if (l.len == 0)
			continue;
		if (ended)
			return false;
		if (lines++ == 0) {
			if (!str_case_eq(l, STR("BEGIN:VCALENDAR")))
				return false;
			begun = true;
		} else if (str_case_eq(l, STR("END:VCALENDAR"))) {
			ended = true;
		} else if (str_case_eq(l, STR("BEGIN:VTIMEZONE"))) {
			tz++;
		} else if (str_case_prefix(l, STR("BEGIN:")) && !str_case_eq(l, STR("BEGIN:STANDARD")) &&
			   !str_case_eq(l, STR("BEGIN:DAYLIGHT"))) {
			return false;
		}
	}
	return begun && ended && tz == 1;
}

static bool order_valid(struct str t, int64_t *out)
{
	bool neg = t.len > 0 && t.ptr[0] == '-';
	struct str digits = neg ? str_sub(t, 1, t.len - 1) : t;
	uint64_t v;
	if (digits.len == 0 || digits.len > DAV_MAX_ORDER_DIGITS || str_to_u64(digits, INT64_MAX, &v) < 0)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool color_valid(struct str t)
{
	if (t.len < 2 || t.len > DAV_MAX_COLOR || t.ptr[0] != '#')
		return false;
	for (size_t i = 0; i < t.len; i++)
		if ((unsigned char)t.ptr[i] < 0x20)
			return false;
	return true;
}

/* components_of: the supported-calendar-component-set's comps as a mask,
 * 0 when one is not a calendar object component we store. */
static unsigned components_of(const struct dav_xml_node *p)
{
	unsigned mask = 0;
	for (const struct dav_xml_node *c = p->children; c != NULL; c = c->next) {
		if (!dav_xml_is(c, DAV_NS_CALDAV, "comp"))
			return 0;
		struct str n = dav_xml_attr(c, "name", NULL);
		if (str_case_eq(n, STR("VEVENT")))
			mask |= DAV_COMP_VEVENT;
		else if (str_case_eq(n, STR("VTODO")))
			mask |= DAV_COMP_VTODO;
		else if (str_case_eq(n, STR("VJOURNAL")))
			mask |= DAV_COMP_VJOURNAL;
		else
			return 0;
	}
	return mask;
}

/* resourcetype_fits: what MKCOL asks to make is what the home makes. */
static bool resourcetype_fits(const struct dav_xml_node *p, enum dav_kind kind)
{
	for (const struct dav_xml_node *c = p->children; c != NULL; c = c->next) {
		if (dav_xml_is(c, DAV_NS_DAV, "collection"))
			continue;
		if (dav_xml_is(c, DAV_NS_CALDAV, "calendar") && kind == DAV_CALENDAR)
			continue;
		if (dav_xml_is(c, DAV_NS_CARDDAV, "addressbook") && kind == DAV_ADDRESSBOOK)
			continue;
		return false;
	}
	return true;
}

/* The property text is the element's own text; the strings of *coll then
 * point into the request's tree (NUL-terminated there). */
static char *text_of(const struct dav_xml_node *p)
{
	return (char *)p->text.ptr;
}

/* apply_one: 200 (made in *coll), 403 (not ours to set), 409 (a value we
 * cannot take). */
static int apply_one(struct dav_collection *coll, const struct dav_xml_node *p, bool remove, bool creating)
{
	enum settable s = settable_of(p);
	bool cal = coll->kind == DAV_CALENDAR, book = coll->kind == DAV_ADDRESSBOOK;
	if (coll->kind == 0)
		return 403;
	if (p->text.len > DAV_MAX_PROPERTY)
		return 409;
	switch (s) {
	case S_DISPLAYNAME:
		coll->displayname = remove ? NULL : text_of(p);
		return 200;
	case S_COLOR:
		if (!cal)
			return 403;
		if (!remove && !color_valid(p->text))
			return 409;
		coll->color = remove ? NULL : text_of(p);
		return 200;
	case S_CAL_DESCRIPTION:
	case S_CARD_DESCRIPTION:
		if ((s == S_CAL_DESCRIPTION && !cal) || (s == S_CARD_DESCRIPTION && !book))
			return 403;
		coll->description = remove ? NULL : text_of(p);
		return 200;
	case S_TIMEZONE:
		if (!cal)
			return 403;
		if (!remove && !timezone_valid(p->text))
			return 409;
		coll->timezone = remove ? NULL : text_of(p);
		return 200;
	case S_ORDER:
		if (!cal)
			return 403;
		coll->has_order = !remove;
		if (!remove && !order_valid(str_trim(p->text), &coll->order))
			return 409;
		return 200;
	case S_COMPONENTS:
		if (!creating || !cal || remove)
			return 403;
		coll->components = components_of(p);
		return coll->components != 0 ? 200 : 409;
	case S_RESOURCETYPE:
		return creating && !remove && resourcetype_fits(p, coll->kind) ? 200 : 403;
	case S_NONE:
		break;
	}
	return 403;
}

/* each_prop calls fn for every property element of the set/remove
 * children of root, in document order. */
static size_t count_props(const struct dav_xml_node *root)
{
	size_t n = 0;
	for (const struct dav_xml_node *op = root->children; op != NULL; op = op->next)
		for (const struct dav_xml_node *pr = dav_xml_child(op, DAV_NS_DAV, "prop"); pr != NULL; pr = NULL)
			n += pr->child_count;
	return n;
}

int dav_props_set(struct dav_ctx *c, const struct dav_xml_node *root, struct dav_collection *coll, bool creating)
{
	size_t n = count_props(root), i = 0;
	int *status = calloc(n ? n : 1, sizeof(*status));
	if (status == NULL)
		return -1;
	bool failed = false;
	for (const struct dav_xml_node *op = root->children; op != NULL; op = op->next) {
		bool remove = dav_xml_is(op, DAV_NS_DAV, "remove");
		if (!remove && !dav_xml_is(op, DAV_NS_DAV, "set"))
			continue;
		const struct dav_xml_node *pr = dav_xml_child(op, DAV_NS_DAV, "prop");
		for (const struct dav_xml_node *p = pr ? pr->children : NULL; p != NULL; p = p->next) {
			status[i] = apply_one(coll, p, remove, creating);
			failed |= status[i++] != 200;
		}
	}
	if (!failed) {
		free(status);
		return 0;
	}
	static const int order[] = { 403, 409, 424 };
	int ret = 1;
	for (size_t s = 0; s < sizeof(order) / sizeof(order[0]) && ret == 1; s++) {
		bool any = false;
		i = 0;
		for (const struct dav_xml_node *op = root->children; op != NULL && ret == 1; op = op->next) {
			if (!dav_xml_is(op, DAV_NS_DAV, "remove") && !dav_xml_is(op, DAV_NS_DAV, "set"))
				continue;
			const struct dav_xml_node *pr = dav_xml_child(op, DAV_NS_DAV, "prop");
			for (const struct dav_xml_node *p = pr ? pr->children : NULL; p != NULL; p = p->next, i++) {
				int st = status[i] == 200 ? 424 : status[i];
				if (st != order[s])
					continue;
				if ((!any && dav_ms_propstat_begin(c) < 0) || dav_ms_empty(c, p->ns, p->name) < 0)
					ret = -1;
				any = true;
			}
		}
		if (any && ret == 1 && dav_ms_propstat_end(c, order[s]) < 0)
			ret = -1;
	}
	free(status);
	return ret;
}

void dav_proppatch(struct dav_ctx *c)
{
	const struct dav_target *t = &c->target;
	if (t->coll_name.len > 0 && !t->coll_exists) {
		dav_set_status(c, 404);
		return;
	}
	struct dav_xml_doc *doc = NULL;
	if (dav_parse_body(c, &doc) < 0)
		return;
	const struct dav_xml_node *root = doc ? dav_xml_root(doc) : NULL;
	if (root == NULL || !dav_xml_is(root, DAV_NS_DAV, "propertyupdate")) {
		dav_set_status(c, 400);
		goto out;
	}
	struct dav_collection none = { .kind = 0 };
	/* homes, principals and objects have no property a client sets: every
	 * one is refused (403) through a collection of no kind */
	struct dav_collection u = t->coll_exists && t->object_name.len == 0 ? t->coll : none;
	int r = dav_ms_begin(c);
	if (r == 0)
		r = dav_ms_response_at(c, t->home, t->coll_name, t->object_name);
	if (r == 0)
		r = dav_props_set(c, root, &u, false);
	if (r == 0) {
		const char *error = NULL;
		int up = u.kind == 0 ? 0 : dav_collection_update(c->env->store, &u, &error);
		if (up == DAV_PUT_TOO_BIG) {
			dav_set_status(c, 507);
			goto out;
		}
		if (up != 0) {
			dav_internal_error(c, "dav_collection_update", error);
			goto out;
		}
		/* all stored: every property 200 */
		buf_reset(&c->resp->body);
		r = dav_ms_begin(c);
		if (r == 0)
			r = dav_ms_response_at(c, t->home, t->coll_name, t->object_name);
		if (r == 0)
			r = dav_ms_propstat_begin(c);
		for (const struct dav_xml_node *op = root->children; op != NULL && r == 0; op = op->next) {
			const struct dav_xml_node *pr = dav_xml_child(op, DAV_NS_DAV, "prop");
			for (const struct dav_xml_node *p = pr ? pr->children : NULL; p != NULL && r == 0; p = p->next)
				r = dav_ms_empty(c, p->ns, p->name);
		}
		if (r == 0)
			r = dav_ms_propstat_end(c, 200);
	} else if (r == 1) {
		r = 0;
	}
	if (r == 0)
		r = dav_ms_response_end(c);
	if (r == 0)
		r = dav_ms_end(c);
	if (r < 0)
		dav_ms_overflow(c);
out:
	dav_xml_free(&doc);
}
