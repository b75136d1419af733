/*
 * ical-recur: the instances of a component within a window, from DTSTART,
 * RRULE, RDATE, EXDATE and the overrides (RECURRENCE-ID), with every walk
 * bounded: iterator steps (ICAL_MAX_ITERATIONS), instances handed out
 * (ICAL_MAX_INSTANCES) and CPU time (ICAL_MAX_CPU_NS).  Rules are iterated
 * in the wall time of their DTSTART's zone, so daylight saving moves the
 * UTC time, not the local one.
 */
#include <stdlib.h>
#include <string.h>

#include "ical-private.h"

/* How often (in iterator steps) the CPU clock is read: a step costs about
 * a microsecond, so the budget is overshot by well under a millisecond. */
#define ICAL_CPU_CHECK_EVERY 64
/* Room kept around the window when clipping a rule's UNTIL or jumping its
 * iterator forward: two days cover any UTC offset and a day-long instance. */
#define ICAL_WINDOW_MARGIN (2 * 86400LL)

struct walk {
	struct ical_obj *o;
	struct ical_time_range r;
	ical_instance_fn *fn;
	void *ctx;
	const char **error_r;
	int64_t *skip;  /* EXDATEs and overridden recurrence ids, UTC */
	size_t skip_count;
};

static int emit(struct walk *w, struct ical_instance *in)
{
	if (in->start >= w->r.end && !(in->start == in->end && in->start == w->r.end))
		return 0;
	if (in->end < w->r.start)
		return 0;
	if (++w->o->instances > ICAL_MAX_INSTANCES) {
		*w->error_r = "too many instances (ICAL_MAX_INSTANCES)";
		return -1;
	}
	return w->fn(w->ctx, in);
}

static bool skipped(const struct walk *w, int64_t rid)
{
	for (size_t i = 0; i < w->skip_count; i++) {
		if (w->skip[i] == rid)
			return true;
	}
	return false;
}

static int generated(struct walk *w, icalcomponent *m, struct icaltimetype local, int64_t utc, int64_t dur)
{
	struct ical_instance in = {
		.comp = m, .start = utc, .end = ical_add_sat(utc, dur), .rid = utc,
		.rid_local = local, .recurring = true, .is_date = local.is_date != 0,
	};

	if (skipped(w, utc))
		return 0;
	return emit(w, &in);
}

static icaltimezone *zone_or_floating(const struct ical_obj *o, icaltimezone *z)
{
	if (z != NULL)
		return z;
	return o->floating != NULL ? o->floating : icaltimezone_get_utc_timezone();
}

static struct icaltimetype wall(const struct ical_obj *o, int64_t utc, bool is_date, icaltimezone *z)
{
	struct icaltimetype t = icaltime_from_timet_with_zone((time_t)utc, is_date, zone_or_floating(o, z));

	t.zone = NULL;
	return t;
}

static int walk_rule(struct walk *w, icalcomponent *m, struct icalrecurrencetype rule,
		     struct ical_when ds, int64_t dur)
{
	struct ical_obj *o = w->o;
	const int64_t year10k = 253402300799LL;
	int64_t clip = w->r.end == INT64_MAX ? year10k : ical_add_sat(w->r.end, ICAL_WINDOW_MARGIN);

	if (clip > year10k)
		clip = year10k;
	struct icaltimetype start = ds.t;
	start.zone = NULL;
	/* UNTIL in the wall time of DTSTART, clipped to the window's end. */
	if (rule.count == 0) {
		int64_t until = clip;
		if (!icaltime_is_null_time(rule.until)) {
			int64_t u = ical_utc_of(o, rule.until, icaltime_is_utc(rule.until) ? NULL : ds.zone);
			if (rule.until.is_date)
				u = ical_add_sat(u, 86400 - 1);
			if (u < until)
				until = u;
		}
		if (until < ds.utc)
			return 0;
		rule.until = wall(o, until, start.is_date, ds.zone);
	}
	icalrecur_iterator *it = icalrecur_iterator_new(rule, start);
	if (it == NULL)
		return 0;  /* libical found the rule empty */
	int64_t from = ical_add_sat(ical_add_sat(w->r.start, -dur), -ICAL_WINDOW_MARGIN);
	if (rule.count == 0 && w->r.start != INT64_MIN && from > ds.utc)
		icalrecur_iterator_set_start(it, wall(o, from, start.is_date, ds.zone));
	int ret = 0;
	for (size_t steps = 0;; steps++) {
		if (steps >= ICAL_MAX_ITERATIONS) {
			*w->error_r = "recurrence too long (ICAL_MAX_ITERATIONS)";
			ret = -1;
			break;
		}
		if (steps % ICAL_CPU_CHECK_EVERY == 0 && ical_cpu_check(o) < 0) {
			*w->error_r = "recurrence takes too long (ICAL_MAX_CPU_NS)";
			ret = -1;
			break;
		}
		struct icaltimetype t = icalrecur_iterator_next(it);
		if (icaltime_is_null_time(t))
			break;
		if (icaltime_compare(t, start) == 0)
			continue;  /* DTSTART itself is walked by the caller */
		int64_t utc = ical_utc_of(o, t, ds.zone);
		if (utc >= w->r.end)
			break;
		ret = generated(w, m, t, utc, dur);
		if (ret != 0)
			break;
	}
	icalrecur_iterator_free(it);
	return ret;
}

static int collect_skips(struct walk *w, icalcomponent *m, icalcomponent_kind k)
{
	const char *uid = icalcomponent_get_uid(m);
	size_t n = (size_t)icalcomponent_count_properties(m, ICAL_EXDATE_PROPERTY) + ICAL_MAX_COMPONENTS;

	w->skip = calloc(n, sizeof(*w->skip));
	if (w->skip == NULL) {
		*w->error_r = "out of memory";
		return -1;
	}
	for (icalproperty *p = icalcomponent_get_first_property(m, ICAL_EXDATE_PROPERTY);
	     p != NULL && w->skip_count < n; p = icalcomponent_get_next_property(m, ICAL_EXDATE_PROPERTY)) {
		struct ical_when x = ical_when_of(w->o, p);
		if (x.set)
			w->skip[w->skip_count++] = x.utc;
	}
	for (icalcomponent *c = icalcomponent_get_first_component(w->o->root, k);
	     c != NULL && w->skip_count < n; c = icalcomponent_get_next_component(w->o->root, k)) {
		const char *u = icalcomponent_get_uid(c);
		if (c == m || u == NULL || uid == NULL || strcmp(u, uid) != 0)
			continue;
		struct ical_when rid = ical_when_first(w->o, c, ICAL_RECURRENCEID_PROPERTY);
		if (rid.set)
			w->skip[w->skip_count++] = rid.utc;
	}
	return 0;
}

static int walk_master(struct walk *w, icalcomponent *m, icalcomponent_kind k)
{
	int64_t s, e;

	ical_comp_span(w->o, m, &s, &e);
	struct ical_when ds = ical_when_first(w->o, m, ICAL_DTSTART_PROPERTY);
	bool rules = icalcomponent_get_first_property(m, ICAL_RRULE_PROPERTY) != NULL ||
		     icalcomponent_get_first_property(m, ICAL_RDATE_PROPERTY) != NULL;
	if (!ds.set || !rules) {
		struct ical_instance in = { .comp = m, .start = s, .end = e, .rid = s,
					    .rid_local = ds.t, .is_date = ds.set && ds.t.is_date };
		return emit(w, &in);
	}
	int64_t dur = e - s;
	if (collect_skips(w, m, k) < 0)
		return -1;
	/* fn may read m's properties, which moves m's one property iterator:
	 * take the RDATEs and RRULEs first. */
	size_t max = (size_t)icalcomponent_count_properties(m, ICAL_ANY_PROPERTY), n = 0;
	icalproperty **props = calloc(max + 1, sizeof(*props));
	if (props == NULL) {
		free(w->skip);
		w->skip = NULL;
		*w->error_r = "out of memory";
		return -1;
	}
	for (icalproperty *p = icalcomponent_get_first_property(m, ICAL_ANY_PROPERTY); p != NULL && n < max;
	     p = icalcomponent_get_next_property(m, ICAL_ANY_PROPERTY)) {
		icalproperty_kind pk = icalproperty_isa(p);
		if (pk == ICAL_RDATE_PROPERTY || pk == ICAL_RRULE_PROPERTY)
			props[n++] = p;
	}
	int ret = generated(w, m, ds.t, ds.utc, dur);
	for (size_t i = 0; i < n && ret == 0; i++) {
		icalproperty *p = props[i];
		if (icalproperty_isa(p) == ICAL_RRULE_PROPERTY) {
			ret = walk_rule(w, m, icalproperty_get_rrule(p), ds, dur);
			continue;
		}
		struct icaldatetimeperiodtype dp = icalproperty_get_rdate(p);
		struct ical_when x = ical_when_of(w->o, p);
		int64_t len = dur;
		if (!icaltime_is_null_time(dp.period.start)) {
			icalparameter *tzp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
			const char *tzid = tzp != NULL ? icalparameter_get_tzid(tzp) : NULL;
			x.zone = tzid != NULL ? ical_zone(w->o, tzid) : NULL;
			x.t = dp.period.start;
			x.utc = ical_utc_of(w->o, x.t, x.zone);
			int64_t pe = icaltime_is_null_time(dp.period.end)
					     ? ical_add_sat(x.utc, icaldurationtype_as_int(dp.period.duration))
					     : ical_utc_of(w->o, dp.period.end, x.zone);
			len = pe >= x.utc ? pe - x.utc : 0;
		} else if (!x.set) {
			continue;
		}
		ret = generated(w, m, x.t, x.utc, len);
	}
	free(props);
	free(w->skip);
	w->skip = NULL;
	w->skip_count = 0;
	return ret;
}

static int walk_override(struct walk *w, icalcomponent *c)
{
	struct ical_when rid = ical_when_first(w->o, c, ICAL_RECURRENCEID_PROPERTY);
	struct ical_instance in = { .comp = c, .rid = rid.utc, .rid_local = rid.t, .recurring = true };

	ical_comp_span(w->o, c, &in.start, &in.end);
	struct ical_when ds = ical_when_first(w->o, c, ICAL_DTSTART_PROPERTY);
	in.is_date = ds.set && ds.t.is_date;
	return emit(w, &in);
}

int ical_instances_each(struct ical_obj *o, icalcomponent_kind k, icalcomponent *only,
			struct ical_time_range r, ical_instance_fn *fn, void *ctx, const char **error_r)
{
	struct walk w = { .o = o, .r = r, .fn = fn, .ctx = ctx, .error_r = error_r };
	icalcomponent *list[ICAL_MAX_COMPONENTS];
	size_t n = 0;

	/* The walks below iterate the root themselves: take the list first. */
	for (icalcomponent *c = icalcomponent_get_first_component(o->root, k); c != NULL && n < ICAL_MAX_COMPONENTS;
	     c = icalcomponent_get_next_component(o->root, k)) {
		if (only == NULL || c == only)
			list[n++] = c;
	}
	for (size_t i = 0; i < n; i++) {
		bool is_override = icalcomponent_get_first_property(list[i], ICAL_RECURRENCEID_PROPERTY) != NULL;
		int ret = is_override ? walk_override(&w, list[i]) : walk_master(&w, list[i], k);
		if (ret != 0)
			return ret;
	}
	return 0;
}
