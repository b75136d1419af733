#ifndef RAVELIN_ICAL_H
#define RAVELIN_ICAL_H
/*
 * ical: iCalendar objects for CalDAV (RFC 4791) over libical.  Validation
 * of a calendar object resource, the calendar-query filter, expansion of
 * recurrences, free/busy.  Pure: no I/O.  Every walk over recurrences is
 * bounded by the limits below (instances, iterator steps, CPU time); going
 * over is an error (-1, *error_r says which limit), never a hang.
 *
 * Time zones come only from the object itself (its VTIMEZONE components)
 * or from tz, the collection's calendar-timezone: the worker's jail has no
 * zoneinfo.  A TZID that names no VTIMEZONE in the object is read as
 * floating (so the collection's zone, else UTC).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "collation.h"
#include "lib/str.h"

/* A calendar client shows a few hundred instances at most; 5000 covers a
 * daily event over 13 years in one answer and bounds the answer's size. */
#define ICAL_MAX_INSTANCES 5000
/* Iterator steps per recurrence, counting those that yield nothing: a rule
 * that never yields (BYMONTH=2;BYMONTHDAY=30) or yields rarely stops here. */
#define ICAL_MAX_ITERATIONS 100000
/* Components in one object: a recurring event with its overrides and time
 * zones stays far below; a thousand keeps the parse tree small. */
#define ICAL_MAX_COMPONENTS 1000
/* An object is at most DAV_MAX_OBJECT_SIZE (max-resource-size). */
#define ICAL_MAX_SIZE (1024 * 1024)
/* Properties in one object (RDATE/EXDATE lines, attendees): thousands of
 * lines are what bombs are made of, a real object has tens. */
#define ICAL_MAX_PROPERTIES 20000
/* RRULE lines in one object, time zones' included: each is checked for
 * rules that never yield by a walk over 29 years of days (about a
 * millisecond); a real object has one per series and two per zone. */
#define ICAL_MAX_RULES 100
/* CPU time one call may spend: ICAL_MAX_ITERATIONS steps cost about 0.1 s,
 * so this bound is what stops an object of many series, or steps slower
 * than they should be; a client waits a second for one object, not minutes. */
#define ICAL_MAX_CPU_NS (1000 * 1000 * 1000LL)

/* The component types of an object (the same values as DAV_COMP_*). */
#define ICAL_COMP_VEVENT 1u
#define ICAL_COMP_VTODO 2u
#define ICAL_COMP_VJOURNAL 4u

struct ical_info {
	char uid[256];
	unsigned component; /* ICAL_COMP_* == DAV_COMP_* */
	int64_t first, last; /* UTC seconds; generous; INT64_MIN / INT64_MAX open */
	bool recurring;
	char organizer[256]; /* the ORGANIZER value ("mailto:...") or "" */
	size_t attendee_count;
};

/* ical_validate checks one calendar object resource (RFC 4791 4.1): one
 * VCALENDAR, VERSION:2.0, no METHOD, components other than VTIMEZONE all of
 * one type and one UID (overrides carry RECURRENCE-ID), that type in
 * allowed (ICAL_COMP_* mask), within ICAL_MAX_COMPONENTS/PROPERTIES.  0 and
 * *info filled; -1 with *precondition_r ("valid-calendar-data",
 * "valid-calendar-object-resource", "supported-calendar-component") and
 * *error_r (static text).  info->first/last never exclude an instance. */
int ical_validate(struct str data, unsigned allowed, struct ical_info *info,
		  const char **precondition_r, const char **error_r);

struct ical_time_range {
	int64_t start, end; /* UTC seconds; INT64_MIN / INT64_MAX open */
};
struct ical_text_match {
	struct str text;
	enum collation collation;
	bool negate;
};
struct ical_param_filter {
	struct str name;
	bool is_not_defined, has_text;
	struct ical_text_match text;
};
struct ical_prop_filter {
	struct str name;
	bool is_not_defined, has_time_range, has_text;
	struct ical_time_range range;
	struct ical_text_match text;
	struct ical_param_filter *params;
	size_t param_count;
};
struct ical_comp_filter {
	struct str name;
	bool is_not_defined, has_time_range;
	struct ical_time_range range;
	struct ical_prop_filter *props;
	size_t prop_count;
	struct ical_comp_filter *comps;
	size_t comp_count;
};

/* ical_match tests data against the CALDAV:filter f (its top comp-filter,
 * normally VCALENDAR).  tz: the collection's calendar-timezone (a VCALENDAR
 * with one VTIMEZONE) for floating times, or empty (UTC).  1 matches, 0 not,
 * -1 unreadable data or a limit (*error_r says which). */
int ical_match(struct str data, const struct ical_comp_filter *f, struct str tz,
	       const char **error_r);

/* ical_match_span decides the common filter "VCALENDAR > VEVENT with a
 * time-range" without parsing: 1 when data (as stored: validated, span
 * first..last from ical_info) is one VEVENT without RRULE, RDATE or
 * RECURRENCE-ID whose span, margin included, lies inside the range, so its
 * one instance overlaps it whatever zone floating times are read in.  -1
 * when it cannot tell: ical_match decides. */
int ical_match_span(struct str data, int64_t first, int64_t last, const struct ical_comp_filter *f);

/* ical_expand appends to out the object with its recurrences expanded
 * within r (CALDAV:expand): one component per instance overlapping r, in
 * UTC, with RECURRENCE-ID, without RRULE/RDATE/EXDATE; VTIMEZONEs dropped.
 * 0, or -1 (*error_r; out may hold a partial text: the caller resets it). */
int ical_expand(struct str data, struct ical_time_range r, struct str tz, struct buf *out,
		const char **error_r);

/* ical_limit_recurrence appends to out the object keeping the master and
 * only the overrides that overlap r (CALDAV:limit-recurrence-set).  0, -1. */
int ical_limit_recurrence(struct str data, struct ical_time_range r, struct str tz,
			  struct buf *out, const char **error_r);

struct ical_busy {
	int64_t start, end;
	unsigned type; /* 0 BUSY, 1 BUSY-TENTATIVE, 2 BUSY-UNAVAILABLE */
};

/* ical_busy_add appends to *list (grown by it alone, doubling; the caller
 * frees it and never changes *n; *n entries)
 * the busy periods of data's VEVENTs within r (clipped to r), skipping
 * TRANSP:TRANSPARENT and STATUS:CANCELLED; at most max entries in all
 * (-1 past it, having added nothing).  0, -1. */
int ical_busy_add(struct str data, struct ical_time_range r, struct str tz,
		  struct ical_busy **list, size_t *n, size_t max, const char **error_r);

/* ical_freebusy_write appends a VCALENDAR with one VFREEBUSY (DTSTAMP,
 * DTSTART/DTEND of r, ORGANIZER / ATTENDEE when not empty) whose FREEBUSY
 * periods are list's (any order), merged per type.  0, -1 (out full). */
int ical_freebusy_write(const struct ical_busy *list, size_t n, struct ical_time_range r,
			struct str organizer, struct str attendee, struct buf *out);

/* ical_freebusy_request reads the iTIP free/busy request a client POSTs to
 * its schedule outbox (METHOD:REQUEST, one VFREEBUSY with DTSTART, DTEND,
 * ORGANIZER and ATTENDEEs): 0 with *r, organizer (the value, "mailto:...")
 * and the attendees' values (*n, at most max; more is -1). */
int ical_freebusy_request(struct str data, struct ical_time_range *r, char organizer[256],
			  char (*attendees)[256], size_t max, size_t *n, const char **error_r);

#endif
