/*
 * itip: the scheduling messages of RFC 5546 as RFC 6638 has a server make
 * and take them, carried by mail (RFC 6047).  See itip.h.
 *
 * libical parses each input whole (bounded by ITIP_MAX_DATA, components
 * counted against ITIP_MAX_COMPONENTS before anything else is read);
 * nothing here does I/O.
 */
#include "itip.h"

#include <libical/ical.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/date.h"

/* ---------- reading ---------- */

/* parse_calendar parses data (a copy, NUL-terminated: libical reads C
 * strings) into a VCALENDAR holding at most ITIP_MAX_COMPONENTS
 * components, each VEVENT or VTODO; NULL with *error_r otherwise. */
static icalcomponent *parse_calendar(struct str data, const char **error_r)
{
	if (data.len == 0 || data.len > ITIP_MAX_DATA || memchr(data.ptr, '\0', data.len) != NULL) {
		*error_r = "calendar data empty, too large or not text";
		return NULL;
	}
	char *copy = malloc(data.len + 1);
	if (copy == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	memcpy(copy, data.ptr, data.len);
	copy[data.len] = '\0';
	icalcomponent *cal = icalparser_parse_string(copy);
	free(copy);
	if (cal == NULL || icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
		if (cal != NULL)
			icalcomponent_free(cal);
		*error_r = "not a VCALENDAR";
		return NULL;
	}
	size_t n = 0, items = 0;
	for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		icalcomponent_kind k = icalcomponent_isa(c);
		n++;
		if (k == ICAL_VEVENT_COMPONENT || k == ICAL_VTODO_COMPONENT)
			items++;
	}
	if (n > ITIP_MAX_COMPONENTS || items == 0) {
		icalcomponent_free(cal);
		*error_r = n > ITIP_MAX_COMPONENTS ? "too many components" : "no VEVENT or VTODO";
		return NULL;
	}
	return cal;
}

static bool is_item(icalcomponent *c)
{
	icalcomponent_kind k = icalcomponent_isa(c);
	return k == ICAL_VEVENT_COMPONENT || k == ICAL_VTODO_COMPONENT;
}

/* first_item: the calendar's first VEVENT or VTODO (parse_calendar made
 * sure there is one). */
static icalcomponent *first_item(icalcomponent *cal)
{
	for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT))
		if (is_item(c))
			return c;
	return NULL;
}

/* bare_address copies the address of a calendar user value ("mailto:a@b",
 * case of the scheme ignored) into out; false for another scheme or one
 * too long. */
static bool bare_address(const char *value, char out[ITIP_MAX_ADDRESS + 1])
{
	out[0] = '\0';
	if (value == NULL || strncasecmp(value, "mailto:", 7) != 0)
		return false;
	struct str a = str_trim(str_c(value + 7));
	if (a.len == 0 || a.len > ITIP_MAX_ADDRESS || str_chr(a, '@') < 0)
		return false;
	memcpy(out, a.ptr, a.len);
	out[a.len] = '\0';
	return true;
}

static bool address_eq(const char *a, const char *b)
{
	return a[0] != '\0' && str_case_eq(str_c(a), str_c(b));
}

static bool is_self(const struct itip_self *self, const char *address)
{
	for (size_t i = 0; i < self->count; i++)
		if (address_eq(address, self->addresses[i]))
			return true;
	return false;
}

/* organizer_of: the bare ORGANIZER address of c, "" if none. */
static void organizer_of(icalcomponent *c, char out[ITIP_MAX_ADDRESS + 1])
{
	icalproperty *p = icalcomponent_get_first_property(c, ICAL_ORGANIZER_PROPERTY);
	out[0] = '\0';
	if (p != NULL)
		bare_address(icalproperty_get_organizer(p), out);
}

/* find_attendee: the ATTENDEE of c whose address is address, or NULL. */
static icalproperty *find_attendee(icalcomponent *c, const char *address)
{
	char a[ITIP_MAX_ADDRESS + 1];
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY))
		if (bare_address(icalproperty_get_attendee(p), a) && address_eq(a, address))
			return p;
	return NULL;
}

/* self_attendee: the first ATTENDEE of c that is one of self's addresses
 * (its address in out), or NULL. */
static icalproperty *self_attendee(icalcomponent *c, const struct itip_self *self,
				   char out[ITIP_MAX_ADDRESS + 1])
{
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY))
		if (bare_address(icalproperty_get_attendee(p), out) && is_self(self, out))
			return p;
	out[0] = '\0';
	return NULL;
}

static icalparameter_partstat partstat_of(icalproperty *attendee)
{
	icalparameter *p = attendee == NULL ? NULL
		: icalproperty_get_first_parameter(attendee, ICAL_PARTSTAT_PARAMETER);
	/* RFC 5545 3.2.12: absent means NEEDS-ACTION. */
	return p == NULL ? ICAL_PARTSTAT_NEEDSACTION : icalparameter_get_partstat(p);
}

static void set_partstat(icalproperty *attendee, icalparameter_partstat ps)
{
	icalproperty_set_parameter(attendee, icalparameter_new_partstat(ps));
}

/* scheduled_by_server: RFC 6638 7.1, SCHEDULE-AGENT absent or SERVER. */
static bool scheduled_by_server(icalproperty *p)
{
	icalparameter *a = icalproperty_get_first_parameter(p, ICAL_SCHEDULEAGENT_PARAMETER);
	return a == NULL || icalparameter_get_scheduleagent(a) == ICAL_SCHEDULEAGENT_SERVER;
}

/* same_instance: c and d are the same instance (equal RECURRENCE-ID, or
 * both without one: the master). */
static bool same_instance(icalcomponent *c, icalcomponent *d)
{
	bool hc = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY) != NULL;
	bool hd = icalcomponent_get_first_property(d, ICAL_RECURRENCEID_PROPERTY) != NULL;
	if (hc != hd)
		return false;
	return !hc || icaltime_compare(icalcomponent_get_recurrenceid(c),
				       icalcomponent_get_recurrenceid(d)) == 0;
}

/* matching_item: the item of cal that is the same instance as c. */
static icalcomponent *matching_item(icalcomponent *cal, icalcomponent *c)
{
	for (icalcomponent *d = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     d != NULL; d = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT))
		if (is_item(d) && same_instance(c, d))
			return d;
	return NULL;
}

static void copy_text(char *out, size_t size, const char *s)
{
	snprintf(out, size, "%s", s == NULL ? "" : s);
}

static int64_t utc_of(icalcomponent *c, icalproperty_kind kind, int64_t none)
{
	icalproperty *p = icalcomponent_get_first_property(c, kind);
	if (p == NULL)
		return none;
	struct icaltimetype t = icalproperty_get_datetime_with_component(p, c);
	if (icaltime_is_null_time(t))
		return none;
	return (int64_t)icaltime_as_timet_with_zone(t, t.zone != NULL ? t.zone
							  : icaltimezone_get_utc_timezone());
}

const char *itip_method_name(enum itip_method m)
{
	switch (m) {
	case ITIP_REQUEST: return "REQUEST";
	case ITIP_REPLY: return "REPLY";
	case ITIP_CANCEL: return "CANCEL";
	case ITIP_NONE: break;
	}
	return "";
}

static enum itip_method method_of(icalcomponent *cal)
{
	switch (icalcomponent_get_method(cal)) {
	case ICAL_METHOD_REQUEST: return ITIP_REQUEST;
	case ICAL_METHOD_REPLY: return ITIP_REPLY;
	case ICAL_METHOD_CANCEL: return ITIP_CANCEL;
	default: return ITIP_NONE;
	}
}

/* info_fill describes cal (a parsed iTIP object); -1 when it names more
 * than one UID or a method this server does not act on. */
static int info_fill(icalcomponent *cal, struct itip_info *info, const char **error_r)
{
	memset(info, 0, sizeof(*info));
	info->method = method_of(cal);
	if (info->method == ITIP_NONE) {
		*error_r = "no METHOD this server acts on (REQUEST, REPLY, CANCEL)";
		return -1;
	}
	icalcomponent *c = first_item(cal);
	const char *uid = icalcomponent_get_uid(c);
	if (uid == NULL || uid[0] == '\0' || strlen(uid) >= sizeof(info->uid)) {
		*error_r = "no UID, or one too long";
		return -1;
	}
	for (icalcomponent *d = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     d != NULL; d = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		if (!is_item(d))
			continue;
		const char *u = icalcomponent_get_uid(d);
		if (u == NULL || strcmp(u, uid) != 0 || icalcomponent_isa(d) != icalcomponent_isa(c)) {
			*error_r = "more than one UID or component type";
			return -1;
		}
	}
	copy_text(info->uid, sizeof(info->uid), uid);
	info->component = icalcomponent_isa(c) == ICAL_VEVENT_COMPONENT ? 1 : 2;
	info->sequence = icalcomponent_get_sequence(c);
	organizer_of(c, info->organizer);
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY))
		if (info->attendee_count++ == 0)
			bare_address(icalproperty_get_attendee(p), info->attendee);
	copy_text(info->summary, sizeof(info->summary), icalcomponent_get_summary(c));
	info->first = utc_of(c, ICAL_DTSTART_PROPERTY, INT64_MIN);
	info->last = utc_of(c, icalcomponent_isa(c) == ICAL_VTODO_COMPONENT ? ICAL_DUE_PROPERTY
				 : ICAL_DTEND_PROPERTY, info->first);
	icalproperty *duration = icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY);
	if (info->last == info->first && duration != NULL && info->first != INT64_MIN) {
		int seconds = icaldurationtype_as_int(icalproperty_get_duration(duration));
		if (seconds > 0)
			info->last = info->first + seconds;
	}
	/* A recurring item's span is open (the instances are not expanded
	 * here), and so is one without a start. */
	if (icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY) != NULL ||
	    icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY) != NULL ||
	    info->first == INT64_MIN)
		info->last = INT64_MAX;
	if (info->method == ITIP_REPLY && info->attendee[0] == '\0') {
		*error_r = "a REPLY without a mailto: ATTENDEE";
		return -1;
	}
	return 0;
}

int itip_parse(struct str data, struct itip_info *info, const char **error_r)
{
	icalcomponent *cal = parse_calendar(data, error_r);
	if (cal == NULL)
		return -1;
	int ret = info_fill(cal, info, error_r);
	icalcomponent_free(cal);
	return ret;
}

/* ---------- writing ---------- */

/* as_text appends cal's text (CRLF lines, as libical folds them) to out. */
static int as_text(icalcomponent *cal, struct buf *out)
{
	char *s = icalcomponent_as_ical_string_r(cal);
	if (s == NULL)
		return -1;
	int ret = buf_append(out, s, strlen(s));
	icalmemory_free_buffer(s);
	return ret;
}

static char *as_string(icalcomponent *cal)
{
	char *s = icalcomponent_as_ical_string_r(cal);
	if (s == NULL)
		return NULL;
	char *copy = strdup(s);
	icalmemory_free_buffer(s);
	return copy;
}

/* strip_private takes out of every item what stays with the sender
 * (RFC 6638 3.2: SCHEDULE-* parameters, and the sender's alarms). */
static void strip_private(icalcomponent *cal)
{
	for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		if (!is_item(c))
			continue;
		icalcomponent *a;
		while ((a = icalcomponent_get_first_component(c, ICAL_VALARM_COMPONENT)) != NULL) {
			icalcomponent_remove_component(c, a);
			icalcomponent_free(a);
		}
		icalproperty_kind kinds[2] = { ICAL_ATTENDEE_PROPERTY, ICAL_ORGANIZER_PROPERTY };
		for (int k = 0; k < 2; k++)
			for (icalproperty *p = icalcomponent_get_first_property(c, kinds[k]); p != NULL;
			     p = icalcomponent_get_next_property(c, kinds[k])) {
				icalproperty_remove_parameter_by_kind(p, ICAL_SCHEDULESTATUS_PARAMETER);
				icalproperty_remove_parameter_by_kind(p, ICAL_SCHEDULEAGENT_PARAMETER);
				icalproperty_remove_parameter_by_kind(p, ICAL_SCHEDULEFORCESEND_PARAMETER);
			}
	}
}

/* fingerprint appends what makes a change worth a new REQUEST: each
 * item's times, texts, recurrence, status, sequence and attendee list
 * (not their answers, which REPLYs already carry). */
static int fingerprint(icalcomponent *cal, struct buf *out)
{
	static const icalproperty_kind kinds[] = {
		ICAL_RECURRENCEID_PROPERTY, ICAL_DTSTART_PROPERTY, ICAL_DTEND_PROPERTY,
		ICAL_DUE_PROPERTY, ICAL_DURATION_PROPERTY, ICAL_SUMMARY_PROPERTY,
		ICAL_LOCATION_PROPERTY, ICAL_DESCRIPTION_PROPERTY, ICAL_RRULE_PROPERTY,
		ICAL_RDATE_PROPERTY, ICAL_EXDATE_PROPERTY, ICAL_STATUS_PROPERTY,
		ICAL_SEQUENCE_PROPERTY,
	};
	for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		if (!is_item(c))
			continue;
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			for (icalproperty *p = icalcomponent_get_first_property(c, kinds[k]); p != NULL;
			     p = icalcomponent_get_next_property(c, kinds[k])) {
				char *s = icalproperty_as_ical_string_r(p);
				if (s == NULL)
					return -1;
				int r = buf_printf(out, "%s", s);
				icalmemory_free_buffer(s);
				if (r < 0)
					return -1;
			}
		for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY);
		     p != NULL; p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY))
			if (buf_printf(out, "A:%s\n", icalproperty_get_attendee(p)) < 0)
				return -1;
		if (buf_putc(out, '\f') < 0)
			return -1;
	}
	return 0;
}

struct outbox {
	struct itip_message *list;
	size_t count;
	bool truncated;
};

/* outbox_add queues text (cal's) for recipient, once per recipient and
 * method; -1 out of memory. */
static int outbox_add(struct outbox *o, enum itip_method method, const char *recipient,
		      icalcomponent *cal)
{
	for (size_t i = 0; i < o->count; i++)
		if (o->list[i].method == method && address_eq(o->list[i].recipient, recipient))
			return 0;
	if (o->count == ITIP_MAX_RECIPIENTS) {
		o->truncated = true;
		return 0;
	}
	if (o->list == NULL) {
		o->list = calloc(ITIP_MAX_RECIPIENTS, sizeof(*o->list));
		if (o->list == NULL)
			return -1;
	}
	struct itip_message *m = &o->list[o->count];
	m->data = as_string(cal);
	if (m->data == NULL)
		return -1;
	m->method = method;
	copy_text(m->recipient, sizeof(m->recipient), recipient);
	o->count++;
	return 0;
}

/* attendees_to: every attendee of cal's items (scheduled by the server,
 * not one of self's addresses, not the organiser) that keep() accepts
 * gets cal as method. */
static int attendees_to(struct outbox *o, enum itip_method method, icalcomponent *cal,
			icalcomponent *msg, const struct itip_self *self, const char *organizer,
			icalcomponent *other)
{
	char a[ITIP_MAX_ADDRESS + 1];
	for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		if (!is_item(c))
			continue;
		/* Found before the loop: libical has one property iterator per
		 * component, and matching_item reads c's RECURRENCE-ID. */
		icalcomponent *oc = other == NULL ? NULL : matching_item(other, c);
		for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY);
		     p != NULL; p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY)) {
			if (!bare_address(icalproperty_get_attendee(p), a) || is_self(self, a) ||
			    address_eq(a, organizer) || !scheduled_by_server(p))
				continue;
			/* other: only attendees it no longer has (the removed ones). */
			if (oc != NULL && find_attendee(oc, a) != NULL)
				continue;
			if (outbox_add(o, method, a, msg) < 0)
				return -1;
		}
	}
	return 0;
}

/* message_of: a copy of cal as an iTIP message of method. */
static icalcomponent *message_of(icalcomponent *cal, enum itip_method method)
{
	icalcomponent *m = icalcomponent_new_clone(cal);
	if (m == NULL)
		return NULL;
	icalcomponent_set_method(m, method == ITIP_REQUEST ? ICAL_METHOD_REQUEST
				 : method == ITIP_REPLY ? ICAL_METHOD_REPLY : ICAL_METHOD_CANCEL);
	strip_private(m);
	return m;
}

/* cancel_of: old as a CANCEL: each item STATUS:CANCELLED, SEQUENCE at
 * least sequence. */
static icalcomponent *cancel_of(icalcomponent *old, int sequence)
{
	icalcomponent *m = message_of(old, ITIP_CANCEL);
	if (m == NULL)
		return NULL;
	for (icalcomponent *c = icalcomponent_get_first_component(m, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(m, ICAL_ANY_COMPONENT))
		if (is_item(c)) {
			icalcomponent_set_status(c, ICAL_STATUS_CANCELLED);
			if (icalcomponent_get_sequence(c) < sequence)
				icalcomponent_set_sequence(c, sequence);
		}
	return m;
}

/* as_organizer: the REQUESTs and CANCELs of an organiser's save. */
static int as_organizer(icalcomponent *old, icalcomponent *new, const struct itip_self *self,
			const char *organizer, struct outbox *o)
{
	int ret = -1;
	icalcomponent *req = NULL, *cancel = NULL;
	struct buf fa, fb;
	buf_init(&fa, 4 * ITIP_MAX_DATA);
	buf_init(&fb, 4 * ITIP_MAX_DATA);

	if (new == NULL) {
		/* Deleted: everyone is told, with a SEQUENCE past the last one. */
		cancel = cancel_of(old, icalcomponent_get_sequence(first_item(old)) + 1);
		ret = cancel == NULL ? -1
			: attendees_to(o, ITIP_CANCEL, old, cancel, self, organizer, NULL);
		goto out;
	}
	if (old != NULL) {
		cancel = cancel_of(old, icalcomponent_get_sequence(first_item(new)));
		if (cancel == NULL ||
		    attendees_to(o, ITIP_CANCEL, old, cancel, self, organizer, new) < 0)
			goto out;
		if (fingerprint(old, &fa) < 0 || fingerprint(new, &fb) < 0)
			goto out;
		if (str_eq(buf_str(&fa), buf_str(&fb))) {
			ret = 0;  /* nothing an attendee needs to hear about */
			goto out;
		}
	}
	req = message_of(new, ITIP_REQUEST);
	ret = req == NULL ? -1 : attendees_to(o, ITIP_REQUEST, new, req, self, organizer, NULL);
out:
	if (req != NULL)
		icalcomponent_free(req);
	if (cancel != NULL)
		icalcomponent_free(cancel);
	buf_free(&fa);
	buf_free(&fb);
	return ret;
}

/* reply_of: cal as a REPLY from attendee me: each item keeps only its
 * ATTENDEE for me (items where I am not one are dropped). */
static icalcomponent *reply_of(icalcomponent *cal, const char *me, bool declined)
{
	icalcomponent *m = message_of(cal, ITIP_REPLY);
	if (m == NULL)
		return NULL;
	icalcomponent *c = icalcomponent_get_first_component(m, ICAL_ANY_COMPONENT);
	while (c != NULL) {
		icalcomponent *next = icalcomponent_get_next_component(m, ICAL_ANY_COMPONENT);
		if (is_item(c)) {
			icalproperty *p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY);
			bool mine = false;
			while (p != NULL) {
				icalproperty *pn = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY);
				char a[ITIP_MAX_ADDRESS + 1];
				if (bare_address(icalproperty_get_attendee(p), a) && address_eq(a, me)) {
					mine = true;
					if (declined)
						set_partstat(p, ICAL_PARTSTAT_DECLINED);
				} else {
					icalcomponent_remove_property(c, p);
					icalproperty_free(p);
				}
				p = pn;
			}
			if (!mine) {
				icalcomponent_remove_component(m, c);
				icalcomponent_free(c);
			}
		}
		c = next;
	}
	return m;
}

/* as_attendee: a REPLY when my answer changed (or DECLINED for a
 * deletion of an event not cancelled). */
static int as_attendee(icalcomponent *old, icalcomponent *new, const struct itip_self *self,
		       const char *organizer, struct outbox *o)
{
	char me[ITIP_MAX_ADDRESS + 1];
	icalcomponent *cal = new != NULL ? new : old;
	bool changed = false;
	me[0] = '\0';
	for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		if (!is_item(c))
			continue;
		char a[ITIP_MAX_ADDRESS + 1];
		icalproperty *p = self_attendee(c, self, a);
		if (p == NULL)
			continue;
		if (me[0] == '\0')
			copy_text(me, sizeof(me), a);
		if (new == NULL) {
			changed = changed || icalcomponent_get_status(c) != ICAL_STATUS_CANCELLED;
			continue;
		}
		icalcomponent *oc = old == NULL ? NULL : matching_item(old, c);
		icalproperty *op = oc == NULL ? NULL : find_attendee(oc, a);
		if (partstat_of(p) != partstat_of(op) && partstat_of(p) != ICAL_PARTSTAT_NEEDSACTION)
			changed = true;
	}
	if (!changed || me[0] == '\0')
		return 0;
	icalcomponent *reply = reply_of(cal, me, new == NULL);
	if (reply == NULL)
		return -1;
	int ret = first_item(reply) == NULL ? 0 : outbox_add(o, ITIP_REPLY, organizer, reply);
	icalcomponent_free(reply);
	return ret;
}

int itip_changes(struct str old_data, struct str new_data, const struct itip_self *self,
		 struct itip_message **out, size_t *count, bool *truncated, const char **error_r)
{
	icalcomponent *old = NULL, *new = NULL;
	struct outbox o = { 0 };
	int ret = -1;

	*out = NULL;
	*count = 0;
	*truncated = false;
	if ((old_data.len > 0 && (old = parse_calendar(old_data, error_r)) == NULL) ||
	    (new_data.len > 0 && (new = parse_calendar(new_data, error_r)) == NULL))
		goto out;
	if (old == NULL && new == NULL) {
		ret = 0;
		goto out;
	}
	char organizer[ITIP_MAX_ADDRESS + 1];
	organizer_of(first_item(new != NULL ? new : old), organizer);
	if (organizer[0] == '\0') {
		ret = 0;  /* not a scheduling object (RFC 6638 3.1) */
		goto out;
	}
	/* An organiser changed from one save to the next is a new meeting. */
	if (old != NULL && new != NULL) {
		char was[ITIP_MAX_ADDRESS + 1];
		organizer_of(first_item(old), was);
		if (!address_eq(was, organizer)) {
			icalcomponent_free(old);
			old = NULL;
		}
	}
	if (is_self(self, organizer))
		ret = as_organizer(old, new, self, organizer, &o);
	else
		ret = as_attendee(old, new, self, organizer, &o);
	if (ret < 0)
		*error_r = "out of memory";
out:
	if (old != NULL)
		icalcomponent_free(old);
	if (new != NULL)
		icalcomponent_free(new);
	if (ret < 0) {
		itip_messages_free(&o.list, o.count);
		return -1;
	}
	*out = o.list;
	*count = o.count;
	*truncated = o.truncated;
	return 0;
}

void itip_messages_free(struct itip_message **m, size_t count)
{
	if (*m == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*m)[i].data);
	free(*m);
	*m = NULL;
}

/* ---------- applying ---------- */

static void remove_method(icalcomponent *cal)
{
	icalproperty *p;
	while ((p = icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY)) != NULL) {
		icalcomponent_remove_property(cal, p);
		icalproperty_free(p);
	}
}

/* applied ends an apply_*: cal (freed) written to out when changed (1),
 * else 0 with why; -1 when it does not fit. */
static int applied(icalcomponent *cal, bool changed, const char *why, struct buf *out,
		   const char **error_r)
{
	int ret = 0;
	if (!changed) {
		*error_r = why;
	} else {
		buf_reset(out);
		ret = as_text(cal, out) < 0 ? -1 : 1;
		if (ret < 0)
			*error_r = "the object does not fit";
	}
	icalcomponent_free(cal);
	return ret;
}

/* apply_request: the incoming object, my answers reset (or kept from
 * stored when the organiser's SEQUENCE did not move). */
static int apply_request(icalcomponent *stored, icalcomponent *in, const struct itip_self *self,
			 struct buf *out, const char **error_r)
{
	if (stored != NULL &&
	    icalcomponent_get_sequence(first_item(stored)) > icalcomponent_get_sequence(first_item(in))) {
		*error_r = "an older SEQUENCE than the stored copy";
		return 0;
	}
	icalcomponent *cal = icalcomponent_new_clone(in);
	if (cal == NULL)
		return -1;
	remove_method(cal);
	for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		char me[ITIP_MAX_ADDRESS + 1];
		icalproperty *p = is_item(c) ? self_attendee(c, self, me) : NULL;
		if (p == NULL)
			continue;
		icalparameter_partstat ps = ICAL_PARTSTAT_NEEDSACTION;
		icalcomponent *sc = stored == NULL ? NULL : matching_item(stored, c);
		if (sc != NULL && icalcomponent_get_sequence(sc) == icalcomponent_get_sequence(c))
			ps = partstat_of(find_attendee(sc, me));
		set_partstat(p, ps);
	}
	return applied(cal, true, "", out, error_r);
}

/* apply_cancel: stored, the cancelled instances (all when the CANCEL
 * names the master) STATUS:CANCELLED. */
static int apply_cancel(icalcomponent *stored, icalcomponent *in, struct buf *out,
			const char **error_r)
{
	icalcomponent *cal = icalcomponent_new_clone(stored);
	bool all = false, any = false;
	if (cal == NULL)
		return -1;
	for (icalcomponent *c = icalcomponent_get_first_component(in, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(in, ICAL_ANY_COMPONENT))
		if (is_item(c) && icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY) == NULL)
			all = true;
	for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		if (!is_item(c))
			continue;
		icalcomponent *ic = matching_item(in, c);
		if (!all && ic == NULL)
			continue;
		icalcomponent_set_status(c, ICAL_STATUS_CANCELLED);
		int seq = icalcomponent_get_sequence(ic != NULL ? ic : first_item(in));
		if (icalcomponent_get_sequence(c) < seq)
			icalcomponent_set_sequence(c, seq);
		any = true;
	}
	return applied(cal, any, "the CANCEL names no stored instance", out, error_r);
}

/* apply_reply: stored with the replying attendee's PARTSTAT of each
 * instance the REPLY names. */
static int apply_reply(icalcomponent *stored, icalcomponent *in, const char *attendee,
		       struct buf *out, const char **error_r)
{
	icalcomponent *cal = icalcomponent_new_clone(stored);
	bool any = false;
	if (cal == NULL)
		return -1;
	for (icalcomponent *c = icalcomponent_get_first_component(in, ICAL_ANY_COMPONENT);
	     c != NULL; c = icalcomponent_get_next_component(in, ICAL_ANY_COMPONENT)) {
		if (!is_item(c))
			continue;
		icalproperty *rp = find_attendee(c, attendee);
		icalcomponent *sc = matching_item(cal, c);
		icalproperty *sp = sc == NULL ? NULL : find_attendee(sc, attendee);
		if (rp == NULL || sp == NULL)
			continue;
		set_partstat(sp, partstat_of(rp));
		any = true;
	}
	return applied(cal, any, "the REPLY's attendee is not in the stored copy", out, error_r);
}

int itip_apply(struct str stored, struct str incoming, const struct itip_info *info,
	       const char *sender, const struct itip_self *self, struct buf *out,
	       const char **error_r)
{
	icalcomponent *in = NULL, *st = NULL;
	int ret = -1;

	*error_r = NULL;
	if ((in = parse_calendar(incoming, error_r)) == NULL)
		return -1;
	if (stored.len > 0 && (st = parse_calendar(stored, error_r)) == NULL)
		goto out;
	ret = 0;
	if (info->method == ITIP_REPLY) {
		char organizer[ITIP_MAX_ADDRESS + 1];
		if (!address_eq(info->attendee, sender) || info->attendee_count != 1)
			*error_r = "the REPLY's ATTENDEE is not its sender";
		else if (st == NULL)
			*error_r = "no stored copy for the REPLY";
		else if (organizer_of(first_item(st), organizer), !is_self(self, organizer))
			*error_r = "the stored copy is not this account's to organise";
		else
			ret = apply_reply(st, in, info->attendee, out, error_r);
		goto out;
	}
	if (!address_eq(info->organizer, sender)) {
		*error_r = "the message's ORGANIZER is not its sender";
		goto out;
	}
	if (st != NULL) {
		char was[ITIP_MAX_ADDRESS + 1];
		organizer_of(first_item(st), was);
		if (!address_eq(was, info->organizer)) {
			*error_r = "the stored copy has another organiser";
			goto out;
		}
	}
	if (info->method == ITIP_REQUEST)
		ret = apply_request(st, in, self, out, error_r);
	else if (st == NULL)
		*error_r = "no stored copy to cancel";
	else
		ret = apply_cancel(st, in, out, error_r);
out:
	if (ret < 0 && *error_r == NULL)
		*error_r = "out of memory";
	if (in != NULL)
		icalcomponent_free(in);
	if (st != NULL)
		icalcomponent_free(st);
	return ret;
}
