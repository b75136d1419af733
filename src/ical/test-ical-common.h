/* Shared by the ical unit tests: sample objects as real clients write
 * them, and filters built in a line. */
#ifndef RAVELIN_TEST_ICAL_COMMON_H
#define RAVELIN_TEST_ICAL_COMMON_H
#include <libical/ical.h>

#include "ical/ical.h"

#define BERLIN_TZ                                                                     \
	"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"                                  \
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n" \
	"DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"      \
	"END:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n" \
	"TZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" \
	"END:STANDARD\r\nEND:VTIMEZONE\r\n"

/* Thunderbird: weekly on Monday 09:00 Berlin until the end of March, the
 * 12 January instance moved to Tuesday 13 January 14:00, a 15-minute alarm. */
#define TB_WEEKLY                                                                     \
	"BEGIN:VCALENDAR\r\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\n" \
	"VERSION:2.0\r\n" BERLIN_TZ "BEGIN:VEVENT\r\nDTSTAMP:20260101T100000Z\r\n"      \
	"UID:tb-weekly@example.org\r\nSUMMARY:Weekly sync\r\n"                           \
	"ORGANIZER;CN=Ann:mailto:ann@example.org\r\n"                                    \
	"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.org\r\n"            \
	"RRULE:FREQ=WEEKLY;UNTIL=20260331T080000Z;BYDAY=MO\r\n"                          \
	"DTSTART;TZID=Europe/Berlin:20260105T090000\r\n"                                 \
	"DTEND;TZID=Europe/Berlin:20260105T100000\r\n"                                   \
	"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;VALUE=DURATION:-PT15M\r\n"            \
	"DESCRIPTION:Reminder\r\nEND:VALARM\r\nEND:VEVENT\r\n"                           \
	"BEGIN:VEVENT\r\nDTSTAMP:20260101T100000Z\r\nUID:tb-weekly@example.org\r\n"       \
	"RECURRENCE-ID;TZID=Europe/Berlin:20260112T090000\r\nSUMMARY:Weekly sync (moved)\r\n" \
	"DTSTART;TZID=Europe/Berlin:20260113T140000\r\n"                                 \
	"DTEND;TZID=Europe/Berlin:20260113T150000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

#define CAL(body) "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\n" body "END:VCALENDAR\n"

/* t_utc: "YYYYMMDDTHHMMSSZ" as UTC seconds. */
static inline int64_t t_utc(const char *s)
{
	return (int64_t)icaltime_as_timet_with_zone(icaltime_from_string(s), icaltimezone_get_utc_timezone());
}

static inline struct ical_time_range t_range(const char *a, const char *b)
{
	return (struct ical_time_range){ a != NULL ? t_utc(a) : INT64_MIN, b != NULL ? t_utc(b) : INT64_MAX };
}

/* t_match_range: VCALENDAR > comp with a time-range [a, b); -1 keeps the error in *error_r. */
static inline int t_match_range(const char *data, const char *comp, const char *a, const char *b, const char *tz,
				const char **error_r)
{
	struct ical_comp_filter sub = { .name = str_c(comp), .has_time_range = true, .range = t_range(a, b) };
	struct ical_comp_filter top = { .name = STR("VCALENDAR"), .comps = &sub, .comp_count = 1 };

	return ical_match(str_c(data), &top, str_c(tz), error_r);
}

#endif
