/*
 * ical-match: the CALDAV:filter of a calendar-query (RFC 4791 9.7) applied
 * to one object: comp-filter, prop-filter, param-filter, text-match (by
 * collation, substring), is-not-defined and time-range with the rules of
 * RFC 4791 9.9 per component type, over every instance of a recurrence.
 */
#include <stdlib.h>
#include <string.h>

#include "ical-private.h"

static bool name_is(struct str want, const char *have)
{
	return have != NULL && str_case_eq(want, str_c(have));
}

static bool comp_named(icalcomponent *c, struct str name)
{
	return name_is(name, icalcomponent_kind_to_string(icalcomponent_isa(c)));
}

static struct str param_value(icalparameter *par)
{
	const char *s = icalparameter_as_ical_string(par);
	const char *eq = s != NULL ? strchr(s, '=') : NULL;

	if (eq == NULL)
		return STR_NULL;
	struct str v = str_c(eq + 1);
	if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
		v = str_from(v.ptr + 1, v.len - 2);
	return v;
}

static const char *param_name(icalparameter *par)
{
	icalparameter_kind k = icalparameter_isa(par);

	if (k == ICAL_X_PARAMETER || k == ICAL_IANA_PARAMETER)
		return icalparameter_get_xname(par);
	return icalparameter_kind_to_string(k);
}

static bool text_matches(const struct ical_text_match *m, struct str value)
{
	bool hit = collation_match(m->collation, MATCH_CONTAINS, value, m->text);

	return hit != m->negate;
}

static bool param_matches(icalproperty *p, const struct ical_param_filter *f)
{
	for (icalparameter *par = icalproperty_get_first_parameter(p, ICAL_ANY_PARAMETER); par != NULL;
	     par = icalproperty_get_next_parameter(p, ICAL_ANY_PARAMETER)) {
		if (!name_is(f->name, param_name(par)))
			continue;
		if (f->is_not_defined)
			return false;
		return !f->has_text || text_matches(&f->text, param_value(par));
	}
	return f->is_not_defined;
}

static struct str prop_text(icalproperty *p)
{
	icalvalue *v = icalproperty_get_value(p);

	if (v == NULL)
		return STR_NULL;
	if (icalvalue_isa(v) == ICAL_TEXT_VALUE)
		return str_c(icalvalue_get_text(v));
	return str_c(icalproperty_get_value_as_string(p));
}

static bool prop_one_matches(const struct ical_obj *o, icalproperty *p, const struct ical_prop_filter *f)
{
	if (f->has_time_range) {
		struct ical_when w = ical_when_of(o, p);
		if (!w.set || !(f->range.start <= w.utc && f->range.end > w.utc))
			return false;
	}
	if (f->has_text && !text_matches(&f->text, prop_text(p)))
		return false;
	for (size_t i = 0; i < f->param_count; i++) {
		if (!param_matches(p, &f->params[i]))
			return false;
	}
	return true;
}

static bool prop_matches(const struct ical_obj *o, icalcomponent *c, const struct ical_prop_filter *f)
{
	bool any = false;

	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
		if (!name_is(f->name, icalproperty_get_property_name(p)))
			continue;
		any = true;
		if (!f->is_not_defined && prop_one_matches(o, p, f))
			return true;
	}
	return f->is_not_defined ? !any : false;
}

bool ical_instance_in_range(const struct ical_obj *o, const struct ical_instance *in, struct ical_time_range r)
{
	icalcomponent *c = in->comp;
	int64_t s = in->start, e = in->end;

	switch (icalcomponent_isa(c)) {
	case ICAL_VTODO_COMPONENT: {
		bool has_start = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY) != NULL;
		bool has_due = icalcomponent_get_first_property(c, ICAL_DUE_PROPERTY) != NULL;
		bool has_dur = icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY) != NULL;
		if (has_start && has_dur)
			return r.start <= e && (r.end > s || r.end >= e);
		if (has_start && has_due)
			return (r.start < e || r.start <= s) && (r.end > s || r.end >= e);
		if (has_start)
			return r.start <= s && r.end > s;
		if (has_due)
			return r.start < e && r.end >= e;
		struct ical_when done = ical_when_first(o, c, ICAL_COMPLETED_PROPERTY);
		struct ical_when made = ical_when_first(o, c, ICAL_CREATED_PROPERTY);
		if (done.set && made.set)
			return (r.start <= made.utc || r.start <= done.utc) &&
			       (r.end >= made.utc || r.end >= done.utc);
		if (done.set)
			return r.start <= done.utc && r.end >= done.utc;
		if (made.set)
			return r.end > made.utc;
		return true;
	}
	case ICAL_VJOURNAL_COMPONENT:
		if (icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY) == NULL)
			return false;
		if (in->is_date)
			return r.start < s + 86400 && r.end > s;
		return r.start <= s && r.end > s;
	default:
		if (icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY) == NULL)
			return false;
		if (e > s)
			return r.start < e && r.end > s;
		return r.start <= s && r.end > s;
	}
}

struct range_walk {
	const struct ical_obj *o;
	struct ical_time_range r;
	icalcomponent *alarm;  /* VALARM: its triggers are tested, not the instance */
	bool hit;
};

static bool trigger_hits(const struct range_walk *w, int64_t t, icalcomponent *a)
{
	icalproperty *rep = icalcomponent_get_first_property(a, ICAL_REPEAT_PROPERTY);
	icalproperty *dur = icalcomponent_get_first_property(a, ICAL_DURATION_PROPERTY);
	int repeat = rep != NULL && dur != NULL ? icalproperty_get_repeat(rep) : 0;
	int64_t every = dur != NULL ? icaldurationtype_as_int(icalproperty_get_duration(dur)) : 0;

	/* REPEAT beyond the window's worth is bounded by ICAL_MAX_INSTANCES. */
	if (repeat < 0 || repeat > ICAL_MAX_INSTANCES)
		repeat = ICAL_MAX_INSTANCES;
	for (int i = 0; i <= repeat; i++) {
		int64_t at = t + (int64_t)i * every;
		if (w->r.start <= at && w->r.end > at)
			return true;
	}
	return false;
}

static int range_instance(void *ctx, const struct ical_instance *in)
{
	struct range_walk *w = ctx;

	if (w->alarm == NULL) {
		w->hit = ical_instance_in_range(w->o, in, w->r);
		return w->hit ? 1 : 0;
	}
	icalproperty *tp = icalcomponent_get_first_property(w->alarm, ICAL_TRIGGER_PROPERTY);
	if (tp == NULL)
		return 0;
	struct icaltriggertype tr = icalproperty_get_trigger(tp);
	icalparameter *rel = icalproperty_get_first_parameter(tp, ICAL_RELATED_PARAMETER);
	int64_t base = rel != NULL && icalparameter_get_related(rel) == ICAL_RELATED_END ? in->end : in->start;
	int64_t t = base + icaldurationtype_as_int(tr.duration);
	if (!icaltime_is_null_time(tr.time))
		t = ical_utc_of(w->o, tr.time, NULL);
	w->hit = trigger_hits(w, t, w->alarm);
	return w->hit ? 1 : 0;
}

/* The widest a trigger may sit from its instance, to widen the walk. */
static int64_t alarm_reach(icalcomponent *a)
{
	icalproperty *tp = icalcomponent_get_first_property(a, ICAL_TRIGGER_PROPERTY);
	icalproperty *rep = icalcomponent_get_first_property(a, ICAL_REPEAT_PROPERTY);
	icalproperty *dur = icalcomponent_get_first_property(a, ICAL_DURATION_PROPERTY);
	int64_t reach = 0;

	if (tp != NULL) {
		int64_t d = icaldurationtype_as_int(icalproperty_get_trigger(tp).duration);
		reach = d < 0 ? -d : d;
	}
	if (rep != NULL && dur != NULL) {
		int64_t d = icaldurationtype_as_int(icalproperty_get_duration(dur));
		reach += (d < 0 ? -d : d) * (int64_t)icalproperty_get_repeat(rep);
	}
	return reach;
}

static int64_t widen(int64_t v, int64_t by)
{
	if (by > 0 && v > INT64_MIN + by && v != INT64_MAX)
		return v - by;
	return by > 0 ? INT64_MIN : v;
}

static int comp_in_range(struct ical_obj *o, icalcomponent *c, icalcomponent *parent,
			 struct ical_time_range r, const char **error_r)
{
	struct range_walk w = { .o = o, .r = r };
	icalcomponent_kind k = icalcomponent_isa(c);

	if (k == ICAL_VALARM_COMPONENT) {
		if (parent == NULL || icalcomponent_get_parent(parent) != o->root)
			return 0;
		w.alarm = c;
		int64_t reach = alarm_reach(c) + 86400;
		struct ical_time_range wide = { widen(r.start, reach), r.end };
		wide.end = r.end == INT64_MAX || r.end > INT64_MAX - reach ? INT64_MAX : r.end + reach;
		c = parent;
		k = icalcomponent_isa(parent);
		if (ical_instances_each(o, k, c, wide, range_instance, &w, error_r) < 0)
			return -1;
		return w.hit ? 1 : 0;
	}
	if (icalcomponent_get_parent(c) != o->root || k == ICAL_VTIMEZONE_COMPONENT)
		return 0;
	/* The walk's window is generous; range_instance applies 9.9. */
	struct ical_time_range wide = { widen(r.start, 86400), r.end };
	if (ical_instances_each(o, k, c, wide, range_instance, &w, error_r) < 0)
		return -1;
	return w.hit ? 1 : 0;
}

static int comp_matches(struct ical_obj *o, icalcomponent *c, icalcomponent *parent,
			const struct ical_comp_filter *f, const char **error_r);

static int children_match(struct ical_obj *o, icalcomponent *c, const struct ical_comp_filter *f,
			  const char **error_r)
{
	for (size_t i = 0; i < f->comp_count; i++) {
		const struct ical_comp_filter *sub = &f->comps[i];
		/* The walks below move c's iterator: take the list first. */
		size_t max = (size_t)icalcomponent_count_components(c, ICAL_ANY_COMPONENT), n = 0;
		icalcomponent **kids = calloc(max + 1, sizeof(*kids));
		if (kids == NULL) {
			*error_r = "out of memory";
			return -1;
		}
		for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT);
		     s != NULL && n < max; s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
			if (comp_named(s, sub->name))
				kids[n++] = s;
		}
		int any = 0;
		for (size_t j = 0; j < n && any == 0 && !sub->is_not_defined; j++)
			any = comp_matches(o, kids[j], c, sub, error_r);
		free(kids);
		if (any < 0)
			return -1;
		if (sub->is_not_defined ? n > 0 : any == 0)
			return 0;
	}
	return 1;
}

static int comp_matches(struct ical_obj *o, icalcomponent *c, icalcomponent *parent,
			const struct ical_comp_filter *f, const char **error_r)
{
	for (size_t i = 0; i < f->prop_count; i++) {
		if (!prop_matches(o, c, &f->props[i]))
			return 0;
	}
	int ret = children_match(o, c, f, error_r);
	if (ret <= 0)
		return ret;
	if (f->has_time_range)
		return comp_in_range(o, c, parent, f->range, error_r);
	return 1;
}

int ical_match(struct str data, const struct ical_comp_filter *f, struct str tz, const char **error_r)
{
	struct ical_obj o;

	if (ical_obj_parse(&o, data, tz, error_r) < 0)
		return -1;
	int ret = 0;
	if (f->is_not_defined)
		ret = 0;
	else if (comp_named(o.root, f->name))
		ret = comp_matches(&o, o.root, NULL, f, error_r);
	ical_obj_free(&o);
	return ret;
}

/* Room for the start of one unfolded content line: enough for
 * "BEGIN:VTIMEZONE" and "RECURRENCE-ID;"; longer lines are cut there. */
#define ICAL_LINE_HEAD 24

/* line_head copies the start of the content line at data[*i] into head,
 * unfolding (CRLF or LF then a space or tab), and moves *i past the line. */
static size_t line_head(struct str data, size_t *i, char head[ICAL_LINE_HEAD])
{
	size_t n = 0, at = *i;

	while (at < data.len) {
		char c = data.ptr[at];
		if (c == '\r' || c == '\n') {
			size_t nl = at + (c == '\r' && at + 1 < data.len && data.ptr[at + 1] == '\n' ? 2 : 1);
			if (nl < data.len && (data.ptr[nl] == ' ' || data.ptr[nl] == '\t')) {
				at = nl + 1;
				continue;
			}
			at = nl;
			break;
		}
		if (n < ICAL_LINE_HEAD)
			head[n++] = c;
		at++;
	}
	*i = at;
	return n;
}

/* single_vevent: data holds one VEVENT and, outside VTIMEZONEs, no line
 * that makes it recur.  Any doubt answers false. */
static bool single_vevent(struct str data)
{
	static const char *const recurs[] = { "RRULE", "RDATE", "RECURRENCE-ID" };
	char head[ICAL_LINE_HEAD];
	size_t i = 0, events = 0;
	bool in_tz = false;

	while (i < data.len) {
		struct str h = { head, line_head(data, &i, head) };
		if (str_case_eq(h, STR("BEGIN:VTIMEZONE")))
			in_tz = true;
		else if (str_case_eq(h, STR("END:VTIMEZONE")))
			in_tz = false;
		if (in_tz)
			continue;
		if (str_case_eq(h, STR("BEGIN:VEVENT")))
			events++;
		for (size_t k = 0; k < sizeof(recurs) / sizeof(recurs[0]); k++) {
			struct str name = str_c(recurs[k]);
			if (str_case_prefix(h, name) && (h.len == name.len || h.ptr[name.len] == ':' ||
							 h.ptr[name.len] == ';'))
				return false;
		}
	}
	return events == 1;
}

int ical_match_span(struct str data, int64_t first, int64_t last, const struct ical_comp_filter *f)
{
	if (f->is_not_defined || f->has_time_range || f->prop_count != 0 || f->comp_count != 1 ||
	    !str_case_eq(f->name, STR("VCALENDAR")))
		return -1;
	const struct ical_comp_filter *ev = &f->comps[0];
	if (ev->is_not_defined || !ev->has_time_range || ev->prop_count != 0 || ev->comp_count != 0 ||
	    !str_case_eq(ev->name, STR("VEVENT")))
		return -1;
	if (first == INT64_MIN || last == INT64_MAX || first <= ev->range.start || last >= ev->range.end)
		return -1;
	return single_vevent(data) ? 1 : -1;
}
