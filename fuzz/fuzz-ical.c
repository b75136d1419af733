/*
 * fuzz-ical: ical_validate on any bytes; what it accepts is matched
 * against a fixed time-range filter (outside its span nothing may match;
 * ical_match_span may not disagree), expanded over a year and limited to
 * it, and its busy time taken: each must end (within the limits of
 * ical.h) and leave nothing behind.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "ical/ical.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 2026-01-01T00:00:00Z and a year after. */
	static const struct ical_time_range year = { 1767225600, 1767225600 + 365 * 86400LL };
	struct str in = str_from((const char *)data, size);
	struct ical_info info;
	const char *pre, *error;

	if (ical_validate(in, ICAL_COMP_VEVENT | ICAL_COMP_VTODO | ICAL_COMP_VJOURNAL, &info, &pre, &error) < 0) {
		assert(pre != NULL && error != NULL);
		return 0;
	}
	assert(info.first <= info.last);
	struct ical_comp_filter comp = { .name = STR("VEVENT"), .has_time_range = true, .range = year };
	struct ical_comp_filter top = { .name = STR("VCALENDAR"), .comps = &comp, .comp_count = 1 };
	int m = ical_match(in, &top, STR_NULL, &error);
	assert(m >= -1 && m <= 1);
	/* The span is what dav-store prefilters on: nothing outside it matches;
	 * ical_match_span, when it decides, agrees with ical_match. */
	if (info.last < year.start || info.first > year.end)
		assert(m <= 0);
	int s = ical_match_span(in, info.first, info.last, &top);
	assert(s == -1 || m == -1 || s == m);
	comp.name = STR("VTODO");
	(void)ical_match(in, &top, STR_NULL, &error);
	struct buf out;
	buf_init(&out, 8 * 1024 * 1024);
	(void)ical_expand(in, year, STR_NULL, &out, &error);
	buf_reset(&out);
	(void)ical_limit_recurrence(in, year, STR_NULL, &out, &error);
	struct ical_busy *busy = NULL;
	size_t n = 0;
	if (ical_busy_add(in, year, STR_NULL, &busy, &n, 1000, &error) == 0) {
		buf_reset(&out);
		assert(ical_freebusy_write(busy, n, year, STR_NULL, STR_NULL, &out) == 0);
	}
	free(busy);
	buf_free(&out);
	return 0;
}
