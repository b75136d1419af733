/*
 * Stand-ins for src/ical's iCalendar functions, linked by the DAV unit
 * tests only while src/ical does not provide them: enough of a check (the
 * VCALENDAR frame, the UID, the component) for the preconditions dav-core
 * answers.
 */
#include <stdio.h>
#include <string.h>

#include "ical/ical.h"

static int uid_of(struct str data, char uid[256])
{
	const char *u = memmem(data.ptr, data.len, "\nUID:", 5);
	if (u == NULL)
		return -1;
	u += 5;
	size_t n = 0;
	while (u + n < data.ptr + data.len && u[n] != '\r' && u[n] != '\n' && n < 255)
		n++;
	memcpy(uid, u, n);
	uid[n] = '\0';
	return 0;
}

static bool has(struct str data, const char *s)
{
	return memmem(data.ptr, data.len, s, strlen(s)) != NULL;
}

int ical_validate(struct str data, unsigned allowed, struct ical_info *info, const char **precondition_r,
		  const char **error_r)
{
	memset(info, 0, sizeof(*info));
	*error_r = "invalid";
	if (!has(data, "BEGIN:VCALENDAR") || !has(data, "END:VCALENDAR")) {
		*precondition_r = "valid-calendar-data";
		return -1;
	}
	if (uid_of(data, info->uid) < 0 || has(data, "METHOD:")) {
		*precondition_r = "valid-calendar-object-resource";
		return -1;
	}
	info->component = has(data, "BEGIN:VEVENT") ? ICAL_COMP_VEVENT : has(data, "BEGIN:VTODO") ? ICAL_COMP_VTODO : 0;
	if (!(info->component & allowed)) {
		*precondition_r = "supported-calendar-component";
		return -1;
	}
	info->first = INT64_MIN;
	info->last = INT64_MAX;
	return 0;
}

int ical_expand(struct str data, struct ical_time_range r, struct str tz, struct buf *out, const char **error_r)
{
	(void)r, (void)tz, (void)error_r;
	return buf_printf(out, "EXPANDED\r\n%.*s", (int)data.len, data.ptr);
}

int ical_limit_recurrence(struct str data, struct ical_time_range r, struct str tz, struct buf *out,
			  const char **error_r)
{
	(void)r, (void)tz, (void)error_r;
	return buf_printf(out, "LIMITED\r\n%.*s", (int)data.len, data.ptr);
}
