#ifndef RAVELIN_ICAL_PRIVATE_H
#define RAVELIN_ICAL_PRIVATE_H
/*
 * ical-private: what the modules of src/ical share: one parsed object with
 * the zones it is read in, times as UTC seconds, and the bounded walk over
 * the instances of a component.  Not for use outside src/ical.
 */
#include <libical/ical.h>
#include <time.h>

#include "ical.h"

/* A margin added around every span: floating times are read in a zone that
 * may change (UTC offsets run from -12 to +14 hours), and a day more covers
 * the end-inclusive rules of RFC 4791 9.9.  ical_match_span relies on it:
 * a span inside a range, margin included, holds its instance there. */
#define ICAL_SPAN_MARGIN (2 * 86400LL)

/* Distinct VTIMEZONEs the process keeps, expanded, for every later parse:
 * libical expands a zone's transitions from ICAL_ZONE_FIRST_YEAR on first
 * use (about a millisecond for a zone with yearly rules), and the objects
 * of one account share a handful of zones.  Entries are never evicted (an
 * object being read may hold any of them); once full, zones are read from
 * each object as before. */
#define ICAL_ZONE_CACHE 32
/* VTIMEZONEs of one object looked up in the zone cache; more are read
 * from the object itself (correct, only slower): clients send one or two. */
#define ICAL_OBJ_ZONES 8

/* One parsed object.  floating: the zone floating times (and TZIDs the
 * object does not define) are read in; NULL is UTC. */
struct ical_obj {
	icalcomponent *root;     /* the VCALENDAR */
	icalcomponent *tz_root;  /* the parsed calendar-timezone, or NULL */
	icaltimezone *floating;
	struct timespec cpu_start;
	/* The object's VTIMEZONEs as zones of the process-wide cache (whose
	 * expanded transitions outlive the object); see ical_zone. */
	struct { const char *tzid; icaltimezone *zone; } zones[ICAL_OBJ_ZONES];
	size_t zone_count;
	size_t instances;        /* handed out in this call, all walks together */
};

/* ical_obj_parse parses data (and tz when not empty) after counting its
 * lines and components against the limits; refuses libical's error
 * properties and recurrence rules ical_rrule_check refuses.  0, -1. */
int ical_obj_parse(struct ical_obj *o, struct str data, struct str tz, const char **error_r);
void ical_obj_free(struct ical_obj *o);

/* A time read from a property: the wall time and the zone it is in (NULL:
 * UTC or floating, see utc), and its UTC seconds. */
struct ical_when {
	struct icaltimetype t;
	icaltimezone *zone;
	int64_t utc;
	bool set;
};
/* ical_when_of reads property prop (a DATE or DATE-TIME value) of comp. */
struct ical_when ical_when_of(const struct ical_obj *o, icalproperty *prop);
/* ical_when_first: the first property of kind k of comp, read as above. */
struct ical_when ical_when_first(const struct ical_obj *o, icalcomponent *comp, icalproperty_kind k);
/* ical_utc_of: t in zone (NULL: floating, read in o->floating; t.is_utc: UTC). */
int64_t ical_utc_of(const struct ical_obj *o, struct icaltimetype t, icaltimezone *zone);
/* ical_zone: the zone tzid names among o's VTIMEZONEs (the cached twin
 * when there is one), or NULL: never the system's zoneinfo. */
icaltimezone *ical_zone(const struct ical_obj *o, const char *tzid);
/* ical_add_sat: a + b, saturating at INT64_MIN / INT64_MAX. */
int64_t ical_add_sat(int64_t a, int64_t b);
/* ical_time_write: "YYYYMMDDTHHMMSSZ" of UTC seconds t (years clamped to 0..9999). */
void ical_time_write(int64_t t, char out[17]);
/* ical_rrule_check refuses a rule libical could spend minutes on inside one
 * step (one that never yields, or by the second/minute/hour over days years
 * apart).  0, -1 with *error_r. */
int ical_rrule_check(struct icalrecurrencetype r, struct icaltimetype dtstart, const char **error_r);
/* ical_cpu_check: -1 once the call has spent ICAL_MAX_CPU_NS of CPU. */
int ical_cpu_check(const struct ical_obj *o);

/* One instance of a recurring (or single) component. */
struct ical_instance {
	icalcomponent *comp;     /* the master or the override that is this instance */
	int64_t start, end;      /* UTC seconds; end == start for a point in time */
	int64_t rid;             /* the recurrence id in UTC (start of the generated instance) */
	struct icaltimetype rid_local; /* the recurrence id as the master's DTSTART writes it */
	bool recurring;          /* the master has RRULE or RDATE, or this is an override */
	bool is_date;
};
/* Nonzero stops the walk; that value is returned. */
typedef int ical_instance_fn(void *ctx, const struct ical_instance *in);
/*
 * ical_instances_each calls fn for every instance of the components of kind
 * k in o that starts before r.end and ends at or after r.start (a generous
 * window: fn tests the exact rule).  Overrides (RECURRENCE-ID) replace the
 * instance they name.  Bounded by ICAL_MAX_ITERATIONS per rule,
 * ICAL_MAX_INSTANCES per call and ICAL_MAX_CPU_NS: -1 with *error_r.
 * only: when not NULL, only this component's instances.
 */
int ical_instances_each(struct ical_obj *o, icalcomponent_kind k, icalcomponent *only,
			struct ical_time_range r, ical_instance_fn *fn, void *ctx, const char **error_r);
/* ical_instance_in_range: RFC 4791 9.9 for one instance, by its type. */
bool ical_instance_in_range(const struct ical_obj *o, const struct ical_instance *in, struct ical_time_range r);
/* ical_time_from_utc: UTC seconds as a UTC DATE-TIME, or (is_date) as the
 * DATE it falls on in the floating zone. */
struct icaltimetype ical_time_from_utc(const struct ical_obj *o, int64_t t, bool is_date);
/* ical_comp_span: the instance extent of one component alone (no
 * recurrence), per its kind's rules: start, end (end >= start). */
void ical_comp_span(const struct ical_obj *o, icalcomponent *c, int64_t *start, int64_t *end);

#endif
