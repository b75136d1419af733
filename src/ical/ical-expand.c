/*
 * ical-expand: what a calendar-query answers with besides yes or no:
 * CALDAV:expand (RFC 4791 9.6.5), CALDAV:limit-recurrence-set (9.6.6), and
 * free/busy (7.10, and the schedule outbox's VFREEBUSY reply).
 */
#include <stdlib.h>
#include <string.h>

#include "ical-private.h"

static const icalcomponent_kind kinds[] = {
	ICAL_VEVENT_COMPONENT, ICAL_VTODO_COMPONENT, ICAL_VJOURNAL_COMPONENT,
};

static int append_root(icalcomponent *root, struct buf *out, const char **error_r)
{
	char *text = icalcomponent_as_ical_string_r(root);

	if (text == NULL) {
		*error_r = "cannot write the calendar data";
		return -1;
	}
	int ret = buf_append(out, text, strlen(text));
	free(text);
	if (ret < 0)
		*error_r = "answer too large";
	return ret;
}

static icalcomponent *new_root(icalcomponent *from)
{
	icalcomponent *root = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
	icalproperty *prodid = icalcomponent_get_first_property(from, ICAL_PRODID_PROPERTY);

	icalcomponent_add_property(root, icalproperty_new_version("2.0"));
	icalcomponent_add_property(root, prodid != NULL ? icalproperty_new_clone(prodid)
							: icalproperty_new_prodid("-//Ravelin//CalDAV//EN"));
	return root;
}

/* Sets the time property k of c to t (UTC, or a DATE), without TZID. */
static void set_time(icalcomponent *c, icalproperty_kind k, struct icaltimetype t)
{
	icalproperty *p = icalcomponent_get_first_property(c, k);

	if (p == NULL) {
		p = icalproperty_new(k);
		icalcomponent_add_property(c, p);
	}
	icalproperty_set_value(p, t.is_date ? icalvalue_new_date(t) : icalvalue_new_datetime(t));
	icalproperty_remove_parameter_by_kind(p, ICAL_TZID_PARAMETER);
}

static void remove_all(icalcomponent *c, icalproperty_kind k)
{
	icalproperty *p;

	while ((p = icalcomponent_get_first_property(c, k)) != NULL) {
		icalcomponent_remove_property(c, p);
		icalproperty_free(p);
	}
}

struct expand_walk {
	struct ical_obj *o;
	icalcomponent *out;
	struct ical_time_range r;
	/* The instance being walked, without its recurrence set: cloned
	 * once per component, not once per instance (a series with
	 * thousands of RDATEs or EXDATEs otherwise costs their number
	 * squared, and more, to expand). */
	icalcomponent *template_of, *template;
};

/* expand_template is c without RRULE, RDATE and EXDATE, kept in w. */
static icalcomponent *expand_template(struct expand_walk *w, icalcomponent *c)
{
	if (w->template_of == c)
		return w->template;
	if (w->template != NULL)
		icalcomponent_free(w->template);
	w->template = icalcomponent_new_clone(c);
	w->template_of = c;
	remove_all(w->template, ICAL_RRULE_PROPERTY);
	remove_all(w->template, ICAL_RDATE_PROPERTY);
	remove_all(w->template, ICAL_EXDATE_PROPERTY);
	return w->template;
}

static int expand_instance(void *ctx, const struct ical_instance *in)
{
	struct expand_walk *w = ctx;
	icalcomponent *c = in->comp;

	if (!ical_instance_in_range(w->o, in, w->r))
		return 0;
	icalcomponent *copy = icalcomponent_new_clone(expand_template(w, c));
	if (icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY) != NULL)
		set_time(copy, ICAL_DTSTART_PROPERTY, ical_time_from_utc(w->o, in->start, in->is_date));
	if (icalcomponent_get_first_property(c, ICAL_DTEND_PROPERTY) != NULL)
		set_time(copy, ICAL_DTEND_PROPERTY, ical_time_from_utc(w->o, in->end, in->is_date));
	if (icalcomponent_get_first_property(c, ICAL_DUE_PROPERTY) != NULL)
		set_time(copy, ICAL_DUE_PROPERTY, ical_time_from_utc(w->o, in->end, in->is_date));
	if (in->recurring)
		set_time(copy, ICAL_RECURRENCEID_PROPERTY, ical_time_from_utc(w->o, in->rid, in->is_date));
	icalcomponent_add_component(w->out, copy);
	return 0;
}

int ical_expand(struct str data, struct ical_time_range r, struct str tz, struct buf *out, const char **error_r)
{
	struct ical_obj o;

	if (ical_obj_parse(&o, data, tz, error_r) < 0)
		return -1;
	struct expand_walk w = { .o = &o, .out = new_root(o.root), .r = r };
	int ret = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && ret == 0; i++)
		ret = ical_instances_each(&o, kinds[i], NULL, r, expand_instance, &w, error_r);
	if (ret == 0)
		ret = append_root(w.out, out, error_r);
	if (w.template != NULL)
		icalcomponent_free(w.template);
	icalcomponent_free(w.out);
	ical_obj_free(&o);
	return ret < 0 ? -1 : 0;
}

static int any_instance(void *ctx, const struct ical_instance *in)
{
	struct expand_walk *w = ctx;

	return ical_instance_in_range(w->o, in, w->r) ? 1 : 0;
}

int ical_limit_recurrence(struct str data, struct ical_time_range r, struct str tz, struct buf *out,
			  const char **error_r)
{
	struct ical_obj o;

	if (ical_obj_parse(&o, data, tz, error_r) < 0)
		return -1;
	size_t max = (size_t)icalcomponent_count_components(o.root, ICAL_ANY_COMPONENT), n = 0;
	icalcomponent **drop = calloc(max + 1, sizeof(*drop));
	int ret = drop != NULL ? 0 : -1;
	struct expand_walk w = { .o = &o, .r = r };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && ret == 0; i++) {
		icalcomponent **list = calloc(max + 1, sizeof(*list));
		size_t count = 0;
		if (list == NULL) {
			ret = -1;
			break;
		}
		for (icalcomponent *c = icalcomponent_get_first_component(o.root, kinds[i]); c != NULL && count < max;
		     c = icalcomponent_get_next_component(o.root, kinds[i]))
			list[count++] = c;
		for (size_t j = 0; j < count && ret >= 0; j++) {
			if (icalcomponent_get_first_property(list[j], ICAL_RECURRENCEID_PROPERTY) == NULL)
				continue;
			ret = ical_instances_each(&o, kinds[i], list[j], r, any_instance, &w, error_r);
			if (ret == 0)
				drop[n++] = list[j];
		}
		free(list);
		ret = ret < 0 ? -1 : 0;
	}
	for (size_t i = 0; i < n; i++) {
		icalcomponent_remove_component(o.root, drop[i]);
		icalcomponent_free(drop[i]);
	}
	free(drop);
	if (ret == 0)
		ret = append_root(o.root, out, error_r);
	else if (drop == NULL)
		*error_r = "out of memory";
	ical_obj_free(&o);
	return ret;
}

struct busy_walk {
	struct ical_obj *o;
	struct ical_time_range r;
	struct ical_busy **list;
	size_t *n, max;
	const char **error_r;
};

static bool prop_is(icalcomponent *c, icalproperty_kind k, const char *value)
{
	icalproperty *p = icalcomponent_get_first_property(c, k);
	const char *v = p != NULL ? icalproperty_get_value_as_string(p) : NULL;

	return v != NULL && strcasecmp(v, value) == 0;
}

/* The first room of a busy list, in periods. */
#define BUSY_FIRST_ROOM 16

static int busy_instance(void *ctx, const struct ical_instance *in)
{
	struct busy_walk *w = ctx;

	if (in->end <= in->start || !ical_instance_in_range(w->o, in, w->r))
		return 0;
	if (prop_is(in->comp, ICAL_TRANSP_PROPERTY, "TRANSPARENT") ||
	    prop_is(in->comp, ICAL_STATUS_PROPERTY, "CANCELLED"))
		return 0;
	if (*w->n >= w->max) {
		*w->error_r = "too many busy periods";
		return -1;
	}
	/* The list doubles (its room is implied by its length: 16, then the
	 * next power of two), so n periods cost n copies, not n squared. */
	size_t n = *w->n;
	if (n == 0 || (n >= BUSY_FIRST_ROOM && (n & (n - 1)) == 0)) {
		size_t room = n == 0 ? BUSY_FIRST_ROOM : 2 * n;
		struct ical_busy *grown = realloc(*w->list, room * sizeof(**w->list));
		if (grown == NULL) {
			*w->error_r = "out of memory";
			return -1;
		}
		*w->list = grown;
	}
	struct ical_busy *b = &(*w->list)[(*w->n)++];
	b->start = in->start < w->r.start ? w->r.start : in->start;
	b->end = in->end > w->r.end ? w->r.end : in->end;
	b->type = prop_is(in->comp, ICAL_STATUS_PROPERTY, "TENTATIVE") ? 1 : 0;
	return 0;
}

int ical_busy_add(struct str data, struct ical_time_range r, struct str tz, struct ical_busy **list, size_t *n,
		  size_t max, const char **error_r)
{
	struct ical_obj o;

	if (ical_obj_parse(&o, data, tz, error_r) < 0)
		return -1;
	struct busy_walk w = { .o = &o, .r = r, .list = list, .n = n, .max = max, .error_r = error_r };
	size_t before = *n;
	int ret = ical_instances_each(&o, ICAL_VEVENT_COMPONENT, NULL, r, busy_instance, &w, error_r);
	/* An object that fails adds nothing: the periods it added before its
	 * limit would otherwise take the room of the other objects'. */
	if (ret < 0)
		*n = before;
	ical_obj_free(&o);
	return ret < 0 ? -1 : 0;
}

static int busy_cmp(const void *a, const void *b)
{
	const struct ical_busy *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/* A value written on a line of its own: no line break may smuggle in another. */
static bool one_line(struct str s)
{
	for (size_t i = 0; i < s.len; i++) {
		if ((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f)
			return false;
	}
	return s.len > 0;
}

static int write_time_line(struct buf *out, const char *name, int64_t t)
{
	char s[17];

	ical_time_write(t, s);
	return buf_printf(out, "%s:%s\r\n", name, s);
}

int ical_freebusy_write(const struct ical_busy *list, size_t n, struct ical_time_range r, struct str organizer,
			struct str attendee, struct buf *out)
{
	static const char *const types[] = { "BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE" };
	struct ical_busy *sorted = calloc(n + 1, sizeof(*sorted));
	int ret = 0;

	if (sorted == NULL)
		return -1;
	if (n > 0)
		memcpy(sorted, list, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), busy_cmp);
	ret |= buf_printf(out, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Ravelin//CalDAV//EN\r\n%s"
			       "BEGIN:VFREEBUSY\r\n", attendee.len > 0 ? "METHOD:REPLY\r\n" : "");
	ret |= write_time_line(out, "DTSTAMP", (int64_t)time(NULL));
	if (r.start != INT64_MIN)
		ret |= write_time_line(out, "DTSTART", r.start);
	if (r.end != INT64_MAX)
		ret |= write_time_line(out, "DTEND", r.end);
	if (one_line(organizer))
		ret |= buf_printf(out, "ORGANIZER:%.*s\r\n", (int)organizer.len, organizer.ptr);
	if (one_line(attendee))
		ret |= buf_printf(out, "ATTENDEE:%.*s\r\n", (int)attendee.len, attendee.ptr);
	for (size_t i = 0; i < n && ret == 0;) {
		struct ical_busy cur = sorted[i++];
		while (i < n && sorted[i].type == cur.type && sorted[i].start <= cur.end) {
			if (sorted[i].end > cur.end)
				cur.end = sorted[i].end;
			i++;
		}
		char s[17], e[17];
		ical_time_write(cur.start, s);
		ical_time_write(cur.end, e);
		ret |= buf_printf(out, "FREEBUSY;FBTYPE=%s:%s/%s\r\n", types[cur.type < 3 ? cur.type : 0], s, e);
	}
	ret |= buf_printf(out, "END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
	free(sorted);
	return ret < 0 ? -1 : 0;
}

static bool copy_value(char out[256], const char *v)
{
	size_t len = v != NULL ? strlen(v) : 0;

	if (len == 0 || len >= 256)
		return false;
	memcpy(out, v, len + 1);
	return true;
}

int ical_freebusy_request(struct str data, struct ical_time_range *r, char organizer[256],
			  char (*attendees)[256], size_t max, size_t *n, const char **error_r)
{
	struct ical_obj o;

	*n = 0;
	if (ical_obj_parse(&o, data, STR_NULL, error_r) < 0)
		return -1;
	int ret = -1;
	icalproperty *method = icalcomponent_get_first_property(o.root, ICAL_METHOD_PROPERTY);
	icalcomponent *fb = icalcomponent_get_first_component(o.root, ICAL_VFREEBUSY_COMPONENT);
	struct ical_when s = fb != NULL ? ical_when_first(&o, fb, ICAL_DTSTART_PROPERTY) : (struct ical_when){ 0 };
	struct ical_when e = fb != NULL ? ical_when_first(&o, fb, ICAL_DTEND_PROPERTY) : (struct ical_when){ 0 };
	icalproperty *org = fb != NULL ? icalcomponent_get_first_property(fb, ICAL_ORGANIZER_PROPERTY) : NULL;
	if (method == NULL || icalproperty_get_method(method) != ICAL_METHOD_REQUEST || fb == NULL) {
		*error_r = "not a free/busy request";
	} else if (!s.set || !e.set || e.utc <= s.utc) {
		*error_r = "free/busy request without a valid DTSTART and DTEND";
	} else if (org == NULL || !copy_value(organizer, icalproperty_get_organizer(org))) {
		*error_r = "free/busy request without ORGANIZER";
	} else {
		r->start = s.utc;
		r->end = e.utc;
		ret = 0;
		for (icalproperty *p = icalcomponent_get_first_property(fb, ICAL_ATTENDEE_PROPERTY); p != NULL;
		     p = icalcomponent_get_next_property(fb, ICAL_ATTENDEE_PROPERTY)) {
			if (*n >= max) {
				*error_r = "too many attendees in a free/busy request";
				ret = -1;
				break;
			}
			if (copy_value(attendees[*n], icalproperty_get_attendee(p)))
				(*n)++;
		}
		if (ret == 0 && *n == 0) {
			*error_r = "free/busy request without ATTENDEE";
			ret = -1;
		}
	}
	ical_obj_free(&o);
	return ret;
}
