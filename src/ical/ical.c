/*
 * ical: parsing one calendar object under limits, reading its times in the
 * zones it defines, refusing recurrence rules that libical could spend
 * minutes on, and the validation of a calendar object resource (RFC 4791
 * 4.1) with the span dav-store prefilters on.
 */
#include <stdlib.h>
#include <string.h>

#include "ical-private.h"

/* Days ical_rrule_check looks at for a day a rule can fall on: 29 years
 * hold every combination of weekday, month day and leap year within a
 * century (the 28-year solar cycle). */
#define ICAL_RRULE_SCAN_PERIODS 29
/* A rule by the minute or hour steps one minute/hour at a time inside one
 * libical call: its days may be at most this far apart (7 days is 10080
 * minutes, about 15 ms). */
#define ICAL_SUBDAILY_MAX_GAP_MINUTELY 7
#define ICAL_SUBDAILY_MAX_GAP_HOURLY 62

static bool counted(struct str data, size_t *components, size_t *lines, size_t *rules)
{
	*components = *lines = *rules = 0;
	for (size_t i = 0; i < data.len; i++) {
		if (data.ptr[i] == '\0')
			return false;
		if (i == 0 || data.ptr[i - 1] == '\n') {
			(*lines)++;
			if (data.len - i >= 6 && strncasecmp(data.ptr + i, "BEGIN:", 6) == 0)
				(*components)++;
			if (data.len - i >= 5 && strncasecmp(data.ptr + i, "RRULE", 5) == 0)
				(*rules)++;
		}
	}
	return true;
}

static bool has_error_property(icalcomponent *c, size_t depth)
{
	if (depth > 8)
		return true;
	if (icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY) != NULL)
		return true;
	for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s != NULL;
	     s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
		if (has_error_property(s, depth + 1))
			return true;
	}
	return false;
}

static int parse_one(struct str data, icalcomponent **out, const char **error_r)
{
	size_t comps, lines, rules;

	*out = NULL;
	if (data.len > ICAL_MAX_SIZE) {
		*error_r = "calendar data too large";
		return -1;
	}
	if (!counted(data, &comps, &lines, &rules)) {
		*error_r = "NUL in calendar data";
		return -1;
	}
	if (comps > ICAL_MAX_COMPONENTS) {
		*error_r = "too many components (ICAL_MAX_COMPONENTS)";
		return -1;
	}
	if (lines > ICAL_MAX_PROPERTIES) {
		*error_r = "too many lines (ICAL_MAX_PROPERTIES)";
		return -1;
	}
	if (rules > ICAL_MAX_RULES) {
		*error_r = "too many RRULEs (ICAL_MAX_RULES)";
		return -1;
	}
	char *copy = malloc(data.len + 1);
	if (copy == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	memcpy(copy, data.ptr, data.len);
	copy[data.len] = '\0';
	icalerror_set_errors_are_fatal(0);
	icalcomponent *c = icalparser_parse_string(copy);
	free(copy);
	if (c == NULL) {
		*error_r = "not iCalendar data";
		return -1;
	}
	if (icalcomponent_isa(c) != ICAL_VCALENDAR_COMPONENT) {
		icalcomponent_free(c);
		*error_r = "not exactly one VCALENDAR";
		return -1;
	}
	if (has_error_property(c, 0)) {
		icalcomponent_free(c);
		*error_r = "malformed iCalendar data";
		return -1;
	}
	*out = c;
	return 0;
}

/* Every RRULE of the object, time zone rules included, passes
 * ical_rrule_check; a zone's rules must be yearly (libical expands them
 * itself, unbounded by our limits). */
static int check_rules(icalcomponent *c, bool in_zone, const char **error_r)
{
	icalproperty *dp = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY);
	struct icaltimetype start = dp != NULL ? icalproperty_get_dtstart(dp) : icaltime_null_time();

	/* The property iterator is the component's own: nothing below may
	 * walk c's properties while this loop does. */
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_RRULE_PROPERTY)) {
		struct icalrecurrencetype r = icalproperty_get_rrule(p);
		if (in_zone && r.freq != ICAL_YEARLY_RECURRENCE) {
			*error_r = "a time zone rule that is not yearly";
			return -1;
		}
		if (icaltime_is_null_time(start) || ical_rrule_check(r, start, error_r) < 0) {
			if (icaltime_is_null_time(start))
				*error_r = "RRULE without DTSTART";
			return -1;
		}
	}
	for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s != NULL;
	     s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
		bool zone = in_zone || icalcomponent_isa(s) == ICAL_VTIMEZONE_COMPONENT;
		if (check_rules(s, zone, error_r) < 0)
			return -1;
	}
	return 0;
}

/* The first year a zone's open-ended rules are expanded from.  Outlook
 * starts its observances in 1601: libical would expand four centuries of
 * transitions on every parse (about 0.2 s); nothing we answer needs a UTC
 * offset before 1970. */
#define ICAL_ZONE_FIRST_YEAR 1970

/* Moves the DTSTART of every open-ended (no UNTIL, no COUNT) observance
 * of root's VTIMEZONEs up to ICAL_ZONE_FIRST_YEAR: only times before it
 * (and that one year's first transition date) can read differently. */
static void zone_starts_clamp(icalcomponent *root)
{
	for (icalcomponent *z = icalcomponent_get_first_component(root, ICAL_VTIMEZONE_COMPONENT); z != NULL;
	     z = icalcomponent_get_next_component(root, ICAL_VTIMEZONE_COMPONENT)) {
		for (icalcomponent *ob = icalcomponent_get_first_component(z, ICAL_ANY_COMPONENT); ob != NULL;
		     ob = icalcomponent_get_next_component(z, ICAL_ANY_COMPONENT)) {
			icalproperty *rule = icalcomponent_get_first_property(ob, ICAL_RRULE_PROPERTY);
			icalproperty *start = icalcomponent_get_first_property(ob, ICAL_DTSTART_PROPERTY);
			if (rule == NULL || start == NULL)
				continue;
			struct icalrecurrencetype r = icalproperty_get_rrule(rule);
			struct icaltimetype t = icalproperty_get_dtstart(start);
			if (!icaltime_is_null_time(r.until) || r.count != 0 || t.year >= ICAL_ZONE_FIRST_YEAR)
				continue;
			t.year = ICAL_ZONE_FIRST_YEAR;
			icalproperty_set_dtstart(start, t);
		}
	}
}

/* The largest VTIMEZONE text cached: real zones are a few kilobytes. */
#define ICAL_ZONE_CACHE_TEXT (16 * 1024)

static struct {
	char *text;
	icaltimezone *zone;
} zone_cache[ICAL_ZONE_CACHE];
static size_t zone_cache_count;

/* zone_cached: the cached zone of the same text as vtz, added when there
 * is room; NULL when not cached. */
static icaltimezone *zone_cached(icalcomponent *vtz)
{
	char *text = icalcomponent_as_ical_string_r(vtz);
	icaltimezone *z = NULL;

	if (text == NULL || strlen(text) > ICAL_ZONE_CACHE_TEXT) {
		free(text);
		return NULL;
	}
	for (size_t i = 0; i < zone_cache_count; i++) {
		if (strcmp(zone_cache[i].text, text) == 0) {
			free(text);
			return zone_cache[i].zone;
		}
	}
	if (zone_cache_count < ICAL_ZONE_CACHE && (z = icaltimezone_new()) != NULL) {
		icalcomponent *copy = icalcomponent_new_clone(vtz);
		if (copy == NULL || !icaltimezone_set_component(z, copy)) {
			if (copy != NULL)
				icalcomponent_free(copy);
			icaltimezone_free(z, 1);
			free(text);
			return NULL;
		}
		zone_cache[zone_cache_count].text = text;
		zone_cache[zone_cache_count++].zone = z;
		return z;
	}
	free(text);
	return NULL;
}

/* zones_take fills o->zones from the cache for root's VTIMEZONEs. */
static void zones_take(struct ical_obj *o, icalcomponent *root)
{
	for (icalcomponent *z = icalcomponent_get_first_component(root, ICAL_VTIMEZONE_COMPONENT);
	     z != NULL && o->zone_count < ICAL_OBJ_ZONES;
	     z = icalcomponent_get_next_component(root, ICAL_VTIMEZONE_COMPONENT)) {
		icaltimezone *c = zone_cached(z);
		const char *tzid = c != NULL ? icaltimezone_get_tzid(c) : NULL;
		icaltimezone *own = tzid != NULL ? icalcomponent_get_timezone(root, tzid) : NULL;
		/* Only the VTIMEZONE the object's own look-up would take. */
		if (own != NULL && icaltimezone_get_component(own) == z) {
			o->zones[o->zone_count].tzid = tzid;
			o->zones[o->zone_count++].zone = c;
		}
	}
}

icaltimezone *ical_zone(const struct ical_obj *o, const char *tzid)
{
	for (size_t i = 0; i < o->zone_count; i++) {
		if (strcmp(o->zones[i].tzid, tzid) == 0)
			return o->zones[i].zone;
	}
	return icalcomponent_get_timezone(o->root, tzid);
}

int ical_obj_parse(struct ical_obj *o, struct str data, struct str tz, const char **error_r)
{
	memset(o, 0, sizeof(*o));
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &o->cpu_start);
	if (parse_one(data, &o->root, error_r) < 0)
		return -1;
	if (check_rules(o->root, false, error_r) < 0) {
		ical_obj_free(o);
		return -1;
	}
	zone_starts_clamp(o->root);
	zones_take(o, o->root);
	if (tz.len == 0)
		return 0;
	/* A calendar-timezone we cannot use leaves floating times in UTC. */
	const char *ignored;
	if (parse_one(tz, &o->tz_root, &ignored) < 0 || check_rules(o->tz_root, false, &ignored) < 0) {
		if (o->tz_root != NULL)
			icalcomponent_free(o->tz_root);
		o->tz_root = NULL;
		return 0;
	}
	zone_starts_clamp(o->tz_root);
	icalcomponent *vtz = icalcomponent_get_first_component(o->tz_root, ICAL_VTIMEZONE_COMPONENT);
	icalproperty *id = vtz != NULL ? icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY) : NULL;
	if (id != NULL) {
		icaltimezone *c = zone_cached(vtz);
		o->floating = c != NULL ? c : icalcomponent_get_timezone(o->tz_root, icalproperty_get_tzid(id));
	}
	return 0;
}

void ical_obj_free(struct ical_obj *o)
{
	if (o->root != NULL)
		icalcomponent_free(o->root);
	if (o->tz_root != NULL)
		icalcomponent_free(o->tz_root);
	o->root = o->tz_root = NULL;
}

int ical_cpu_check(const struct ical_obj *o)
{
	struct timespec now;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	long long ns = (long long)(now.tv_sec - o->cpu_start.tv_sec) * 1000000000LL +
		       (now.tv_nsec - o->cpu_start.tv_nsec);
	return ns > ICAL_MAX_CPU_NS ? -1 : 0;
}

int64_t ical_utc_of(const struct ical_obj *o, struct icaltimetype t, icaltimezone *zone)
{
	icaltimezone *utc = icaltimezone_get_utc_timezone();

	if (t.is_date) {
		t.is_date = 0;
		t.hour = t.minute = t.second = 0;
	}
	if (icaltime_is_utc(t))
		zone = utc;
	else if (zone == NULL)
		zone = o->floating != NULL ? o->floating : utc;
	t.zone = NULL;
	return (int64_t)icaltime_as_timet_with_zone(t, zone);
}

struct ical_when ical_when_of(const struct ical_obj *o, icalproperty *prop)
{
	struct ical_when w = { 0 };
	icalvalue *v = icalproperty_get_value(prop);

	if (v == NULL)
		return w;
	icalvalue_kind k = icalvalue_isa(v);
	if (k != ICAL_DATETIME_VALUE && k != ICAL_DATE_VALUE && k != ICAL_DATETIMEDATE_VALUE)
		return w;
	w.t = icalvalue_get_datetime(v);
	if (icaltime_is_null_time(w.t) || !icaltime_is_valid_time(w.t))
		return w;
	icalparameter *tzp = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
	if (icaltime_is_utc(w.t)) {
		w.zone = icaltimezone_get_utc_timezone();
	} else if (tzp != NULL) {
		const char *tzid = icalparameter_get_tzid(tzp);
		/* Only the object's own VTIMEZONEs: no zoneinfo in the jail. */
		if (tzid != NULL)
			w.zone = ical_zone(o, tzid);
	}
	w.t.zone = NULL;
	w.utc = ical_utc_of(o, w.t, w.zone);
	w.set = true;
	return w;
}

struct ical_when ical_when_first(const struct ical_obj *o, icalcomponent *comp, icalproperty_kind k)
{
	icalproperty *p = icalcomponent_get_first_property(comp, k);

	if (p == NULL)
		return (struct ical_when){ 0 };
	return ical_when_of(o, p);
}

struct icaltimetype ical_time_from_utc(const struct ical_obj *o, int64_t t, bool is_date)
{
	icaltimezone *utc = icaltimezone_get_utc_timezone();

	if (!is_date)
		return icaltime_from_timet_with_zone((time_t)t, 0, utc);
	struct icaltimetype d = icaltime_from_timet_with_zone((time_t)t, 1, o->floating != NULL ? o->floating : utc);
	d.zone = NULL;
	return d;
}

void ical_time_write(int64_t t, char out[17])
{
	const int64_t min = -62167219200LL;  /* 0000-01-01 */
	const int64_t max = 253402300799LL;  /* 9999-12-31T23:59:59 */
	struct tm tm;

	if (t < min)
		t = min;
	if (t > max)
		t = max;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int64_t ical_add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

void ical_comp_span(const struct ical_obj *o, icalcomponent *c, int64_t *start, int64_t *end)
{
	struct ical_when s = ical_when_first(o, c, ICAL_DTSTART_PROPERTY);
	struct ical_when e = ical_when_first(o, c, ICAL_DTEND_PROPERTY);
	icalproperty *dur = icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY);
	int64_t len = -1;

	if (icalcomponent_isa(c) == ICAL_VTODO_COMPONENT) {
		struct ical_when due = ical_when_first(o, c, ICAL_DUE_PROPERTY);
		e = due;
		if (!s.set && due.set)
			s = due;
	}
	if (dur != NULL)
		len = icaldurationtype_as_int(icalproperty_get_duration(dur));
	if (!s.set) {
		/* Undated: the rules of its type decide, not the span. */
		*start = INT64_MIN;
		*end = INT64_MAX;
		return;
	}
	*start = s.utc;
	if (e.set && e.utc >= s.utc)
		*end = e.utc;
	else if (len >= 0)
		*end = ical_add_sat(s.utc, len);
	else if (s.t.is_date && icalcomponent_isa(c) != ICAL_VTODO_COMPONENT)
		*end = ical_add_sat(s.utc, 86400);
	else
		*end = s.utc;
}

/* --- recurrence rules libical cannot be trusted with --- */

static bool in_list(const short *list, size_t size, int v, int negative_base)
{
	for (size_t i = 0; i < size && list[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
		if (list[i] == v || (list[i] < 0 && negative_base + 1 + list[i] == v))
			return true;
	}
	return false;
}

static bool list_set(const short *list)
{
	return list[0] != ICAL_RECURRENCE_ARRAY_MAX;
}

static int days_in_month(int y, int m)
{
	return icaltime_days_in_month(m, y);
}

static int days_in_year(int y)
{
	return icaltime_is_leap_year(y) ? 366 : 365;
}

/* Whether day y-m-d can hold an instance of r by the date parts alone. */
static bool day_fits(const struct icalrecurrencetype *r, int y, int m, int d)
{
	int dim = days_in_month(y, m);
	struct icaltimetype t = icaltime_null_time();

	t.year = y;
	t.month = m;
	t.day = d;
	t.is_date = 1;
	int yday = icaltime_day_of_year(t), diy = days_in_year(y);
	if (list_set(r->by_month) && !in_list(r->by_month, ICAL_BY_MONTH_SIZE, m, 0))
		return false;
	if (list_set(r->by_month_day) && !in_list(r->by_month_day, ICAL_BY_MONTHDAY_SIZE, d, dim))
		return false;
	if (list_set(r->by_year_day) && !in_list(r->by_year_day, ICAL_BY_YEARDAY_SIZE, yday, diy))
		return false;
	if (!list_set(r->by_day))
		return true;
	int wday = icaltime_day_of_week(t);
	bool monthly = r->freq == ICAL_MONTHLY_RECURRENCE ||
		       (r->freq == ICAL_YEARLY_RECURRENCE && list_set(r->by_month));
	for (size_t i = 0; i < ICAL_BY_DAY_SIZE && r->by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
		if ((int)icalrecurrencetype_day_day_of_week(r->by_day[i]) != wday)
			continue;
		int pos = icalrecurrencetype_day_position(r->by_day[i]);
		if (pos == 0 || (r->freq != ICAL_MONTHLY_RECURRENCE && r->freq != ICAL_YEARLY_RECURRENCE))
			return true;
		int idx = monthly ? d : yday, len = monthly ? dim : diy;
		if ((pos > 0 && (idx - 1) / 7 + 1 == pos) || (pos < 0 && (len - idx) / 7 + 1 == -pos))
			return true;
	}
	return false;
}

static struct icaltimetype day_add(struct icaltimetype t, int days)
{
	icaltime_adjust(&t, days, 0, 0, 0);
	return t;
}

int ical_rrule_check(struct icalrecurrencetype r, struct icaltimetype dtstart, const char **error_r)
{
	bool date_parts = list_set(r.by_month) || list_set(r.by_month_day) || list_set(r.by_year_day) ||
			  list_set(r.by_day) || list_set(r.by_week_no);
	bool time_parts = list_set(r.by_hour) || list_set(r.by_minute) || list_set(r.by_second);
	bool subdaily = r.freq == ICAL_SECONDLY_RECURRENCE || r.freq == ICAL_MINUTELY_RECURRENCE ||
			r.freq == ICAL_HOURLY_RECURRENCE;
	int interval = r.interval > 0 ? r.interval : 1;

	if (r.freq == ICAL_NO_RECURRENCE) {
		*error_r = "RRULE without FREQ";
		return -1;
	}
	if (r.freq == ICAL_SECONDLY_RECURRENCE && (date_parts || list_set(r.by_hour))) {
		*error_r = "RRULE by the second with BYHOUR or date parts (not supported)";
		return -1;
	}
	if (subdaily && interval > 1 && (date_parts || time_parts)) {
		*error_r = "RRULE by the minute or hour with INTERVAL and BY parts (not supported)";
		return -1;
	}
	if ((subdaily || r.freq == ICAL_DAILY_RECURRENCE) &&
	    (list_set(r.by_week_no) || list_set(r.by_set_pos))) {
		*error_r = "RRULE with BYWEEKNO or BYSETPOS below WEEKLY (not supported)";
		return -1;
	}
	if (!date_parts)
		return 0;
	/* Walk periods (days, weeks, months or years, INTERVAL apart) for a day
	 * that fits: none in 29 years means it never yields, and libical would
	 * search for centuries inside one call. */
	struct icaltimetype day = dtstart;
	day.is_date = 1;
	day.hour = day.minute = day.second = 0;
	day.zone = NULL;
	int step_days = 1, periods = ICAL_RRULE_SCAN_PERIODS * 366;
	if (r.freq == ICAL_DAILY_RECURRENCE)
		step_days = interval;
	int last_fit = 0, max_gap = 0, n = 0;
	bool found = false;
	if (r.freq == ICAL_MONTHLY_RECURRENCE || r.freq == ICAL_YEARLY_RECURRENCE) {
		int months = r.freq == ICAL_MONTHLY_RECURRENCE ? interval : 12 * interval;
		int count = r.freq == ICAL_MONTHLY_RECURRENCE ? ICAL_RRULE_SCAN_PERIODS * 12
							      : ICAL_RRULE_SCAN_PERIODS;
		for (int k = 0; k < count && !found; k++) {
			long mi = (long)(dtstart.month - 1) + (long)k * months;
			int y = dtstart.year + (int)(mi / 12), m = (int)(mi % 12) + 1;
			if (y > 9999)
				break;
			int from_m = r.freq == ICAL_YEARLY_RECURRENCE ? 1 : m;
			int to_m = r.freq == ICAL_YEARLY_RECURRENCE ? 12 : m;
			if (r.freq == ICAL_YEARLY_RECURRENCE)
				y = dtstart.year + k * interval;
			for (int mm = from_m; mm <= to_m && !found; mm++)
				for (int d = 1; d <= days_in_month(y, mm) && !found; d++)
					found = day_fits(&r, y, mm, d);
		}
	} else {
		if (r.freq == ICAL_WEEKLY_RECURRENCE)
			periods = ICAL_RRULE_SCAN_PERIODS * 53 * 7;
		for (n = 0; n < periods; n++) {
			struct icaltimetype t = day_add(day, n * step_days);
			if (r.freq == ICAL_WEEKLY_RECURRENCE && (n / 7) % interval != 0)
				continue;
			if (day_fits(&r, t.year, t.month, t.day)) {
				if (n - last_fit > max_gap)
					max_gap = n - last_fit;
				last_fit = n;
				found = true;
				if (!subdaily)
					break;
			}
			if (subdaily && n - last_fit > ICAL_SUBDAILY_MAX_GAP_HOURLY)
				break;  /* refused below: no need to look further */
		}
	}
	if (!found) {
		*error_r = "RRULE that never occurs";
		return -1;
	}
	if (subdaily && n < periods && n - last_fit > max_gap)
		max_gap = n - last_fit;
	if ((r.freq == ICAL_MINUTELY_RECURRENCE && max_gap > ICAL_SUBDAILY_MAX_GAP_MINUTELY) ||
	    (r.freq == ICAL_HOURLY_RECURRENCE && max_gap > ICAL_SUBDAILY_MAX_GAP_HOURLY)) {
		*error_r = "RRULE by the minute or hour on days too far apart (not supported)";
		return -1;
	}
	return 0;
}

/* --- validation --- */

static unsigned comp_bit(icalcomponent_kind k)
{
	switch (k) {
	case ICAL_VEVENT_COMPONENT:
		return ICAL_COMP_VEVENT;
	case ICAL_VTODO_COMPONENT:
		return ICAL_COMP_VTODO;
	case ICAL_VJOURNAL_COMPONENT:
		return ICAL_COMP_VJOURNAL;
	default:
		return 0;
	}
}

static void copy_text(char *dst, size_t max, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= max)
		n = max - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

struct span_walk {
	int64_t first, last;
};

/* Whether a rule of c repeats without end (neither COUNT nor UNTIL). */
static bool rule_unbounded(icalcomponent *c)
{
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_RRULE_PROPERTY)) {
		struct icalrecurrencetype r = icalproperty_get_rrule(p);
		if (r.count == 0 && icaltime_is_null_time(r.until))
			return true;
	}
	return false;
}

static int span_instance(void *ctx, const struct ical_instance *in)
{
	struct span_walk *w = ctx;

	if (in->start < w->first)
		w->first = in->start;
	if (in->end > w->last)
		w->last = in->end;
	return 0;
}

/*
 * fill_span: the UTC span every instance of the object lies in, widened by
 * ICAL_SPAN_MARGIN.  A series whose every rule has COUNT or UNTIL is walked
 * to its end (RDATEs, EXDATEs and moved overrides included) under the
 * walk's own caps; an unbounded rule, an undated component or a walk that
 * hits a cap leaves the span open at that end, and at the start too if
 * the series has RDATEs (one may come before DTSTART, and the walk did
 * not reach it).
 */
static void fill_span(struct ical_obj *o, icalcomponent_kind kind, struct ical_info *info)
{
	struct span_walk w = { INT64_MAX, INT64_MIN };
	bool unbounded = false, undated = false, rdates = false;

	for (icalcomponent *c = icalcomponent_get_first_component(o->root, kind); c != NULL;
	     c = icalcomponent_get_next_component(o->root, kind)) {
		bool dated = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY) != NULL ||
			     icalcomponent_get_first_property(c, ICAL_DUE_PROPERTY) != NULL;
		if (!dated)
			undated = true;
		/* VTODO's COMPLETED/CREATED rules reach anywhere: open. */
		if (kind == ICAL_VTODO_COMPONENT &&
		    (icalcomponent_get_first_property(c, ICAL_COMPLETED_PROPERTY) != NULL ||
		     icalcomponent_get_first_property(c, ICAL_CREATED_PROPERTY) != NULL))
			undated = true;
		if (rule_unbounded(c))
			unbounded = true;
		if (icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY) != NULL)
			rdates = true;
		int64_t s, e;
		ical_comp_span(o, c, &s, &e);
		if (dated)
			span_instance(&w, &(struct ical_instance){ .start = s, .end = e });
	}
	if (undated || w.first == INT64_MAX) {
		info->first = INT64_MIN;
		info->last = INT64_MAX;
		return;
	}
	const char *error = NULL;
	struct ical_time_range all = { INT64_MIN, INT64_MAX };
	if (unbounded || ical_instances_each(o, kind, NULL, all, span_instance, &w, &error) != 0) {
		w.last = INT64_MAX;
		if (rdates)
			w.first = INT64_MIN;
	}
	o->instances = 0;
	/* Floating times read in another zone later: the margin covers it. */
	info->first = ical_add_sat(w.first, -ICAL_SPAN_MARGIN);
	info->last = ical_add_sat(w.last, ICAL_SPAN_MARGIN);
}

static int refuse(const char **precondition_r, const char *pre, const char **error_r, const char *msg)
{
	*precondition_r = pre;
	*error_r = msg;
	return -1;
}

int ical_validate(struct str data, unsigned allowed, struct ical_info *info,
		  const char **precondition_r, const char **error_r)
{
	struct ical_obj o;
	int64_t *rids = NULL;
	const char *V = "valid-calendar-data", *R = "valid-calendar-object-resource";

	memset(info, 0, sizeof(*info));
	*precondition_r = V;
	if (ical_obj_parse(&o, data, STR_NULL, error_r) < 0)
		return -1;
	icalproperty *ver = icalcomponent_get_first_property(o.root, ICAL_VERSION_PROPERTY);
	const char *vs = ver != NULL ? icalproperty_get_version(ver) : NULL;
	int ret = -1;
	if (vs == NULL || strcmp(vs, "2.0") != 0) {
		refuse(precondition_r, V, error_r, "VERSION is not 2.0");
		goto out;
	}
	if (icalcomponent_get_first_property(o.root, ICAL_METHOD_PROPERTY) != NULL) {
		refuse(precondition_r, R, error_r, "METHOD in a calendar object resource");
		goto out;
	}
	icalcomponent_kind kind = ICAL_NO_COMPONENT;
	const char *uid = NULL;
	icalcomponent *master = NULL, *first = NULL;
	size_t count = 0, rid_count = 0;
	rids = calloc(ICAL_MAX_COMPONENTS + 1, sizeof(*rids));
	if (rids == NULL) {
		refuse(precondition_r, V, error_r, "out of memory");
		goto out;
	}
	for (icalcomponent *c = icalcomponent_get_first_component(o.root, ICAL_ANY_COMPONENT); c != NULL;
	     c = icalcomponent_get_next_component(o.root, ICAL_ANY_COMPONENT)) {
		icalcomponent_kind k = icalcomponent_isa(c);
		if (k == ICAL_VTIMEZONE_COMPONENT) {
			if (icalcomponent_get_first_property(c, ICAL_TZID_PROPERTY) == NULL) {
				refuse(precondition_r, V, error_r, "VTIMEZONE without TZID");
				goto out;
			}
			continue;
		}
		if (comp_bit(k) == 0) {
			refuse(precondition_r, "supported-calendar-component", error_r,
			       "a component other than VEVENT, VTODO or VJOURNAL");
			goto out;
		}
		if (kind != ICAL_NO_COMPONENT && k != kind) {
			refuse(precondition_r, R, error_r, "components of more than one type");
			goto out;
		}
		kind = k;
		const char *u = icalcomponent_get_uid(c);
		if (u == NULL || *u == '\0') {
			refuse(precondition_r, R, error_r, "a component without UID");
			goto out;
		}
		if (uid != NULL && strcmp(u, uid) != 0) {
			refuse(precondition_r, R, error_r, "components with different UIDs");
			goto out;
		}
		uid = u;
		if (icalcomponent_isa(c) == ICAL_VEVENT_COMPONENT &&
		    icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY) == NULL) {
			refuse(precondition_r, V, error_r, "VEVENT without DTSTART");
			goto out;
		}
		if (icalcomponent_get_first_property(c, ICAL_DTEND_PROPERTY) != NULL &&
		    icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY) != NULL) {
			refuse(precondition_r, V, error_r, "both DTEND and DURATION");
			goto out;
		}
		bool is_override = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY) != NULL;
		if (!is_override) {
			if (master != NULL) {
				refuse(precondition_r, R, error_r, "two components without RECURRENCE-ID");
				goto out;
			}
			master = c;
		}
		if (is_override) {
			int64_t rid = ical_when_first(&o, c, ICAL_RECURRENCEID_PROPERTY).utc;
			for (size_t i = 0; i < rid_count; i++) {
				if (rids[i] == rid) {
					refuse(precondition_r, R, error_r, "two overrides of one instance");
					goto out;
				}
			}
			rids[rid_count++] = rid;
		}
		if (first == NULL)
			first = c;
		count++;
	}
	if (kind == ICAL_NO_COMPONENT) {
		refuse(precondition_r, R, error_r, "no VEVENT, VTODO or VJOURNAL");
		goto out;
	}
	if ((comp_bit(kind) & allowed) == 0) {
		refuse(precondition_r, "supported-calendar-component", error_r,
		       "this collection does not take that component type");
		goto out;
	}
	icalcomponent *main = master != NULL ? master : first;
	copy_text(info->uid, sizeof(info->uid), uid);
	info->component = comp_bit(kind);
	info->recurring = master != NULL && (icalcomponent_get_first_property(master, ICAL_RRULE_PROPERTY) != NULL ||
					     icalcomponent_get_first_property(master, ICAL_RDATE_PROPERTY) != NULL);
	icalproperty *org = icalcomponent_get_first_property(main, ICAL_ORGANIZER_PROPERTY);
	copy_text(info->organizer, sizeof(info->organizer), org != NULL ? icalproperty_get_organizer(org) : NULL);
	info->attendee_count = (size_t)icalcomponent_count_properties(main, ICAL_ATTENDEE_PROPERTY);
	fill_span(&o, kind, info);
	ret = 0;
out:
	free(rids);
	ical_obj_free(&o);
	return ret;
}
