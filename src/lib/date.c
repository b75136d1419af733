/* date: calendar arithmetic in UTC (see date.h). */
#include "date.h"

#include <stdio.h>

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

int64_t date_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t date_time(int64_t y, int m, int d, int hh, int mm, int ss)
{
	return date_days_from_civil(y, m, d) * DATE_DAY_SECONDS + (int64_t)hh * 3600 +
	       (int64_t)mm * 60 + ss;
}

int64_t date_day_of(int64_t t)
{
	return t >= 0 ? t / DATE_DAY_SECONDS
		      : -((-t + DATE_DAY_SECONDS - 1) / DATE_DAY_SECONDS);
}

int date_days_in_month(int64_t y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12)
		return 0;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return days[m - 1] + (m == 2 && leap);
}

int date_month_number(struct str s)
{
	for (int m = 0; m < 12; m++)
		if (str_case_eq(s, str_c(month_names[m])))
			return m + 1;
	return -1;
}

const char *date_month_name(int m)
{
	return m >= 1 && m <= 12 ? month_names[m - 1] : NULL;
}

void date_rfc5322(int64_t t, char *out, size_t size)
{
	static const char *const day_names[7] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	int64_t days = date_day_of(t), secs = t - days * DATE_DAY_SECONDS;
	/* H. Hinnant's civil_from_days, the inverse of date_days_from_civil. */
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
	int64_t y = yoe + era * 400 + (m <= 2);
	int64_t wd = days % 7;

	snprintf(out, size, "%s, %d %s %lld %02d:%02d:%02d +0000", day_names[wd < 0 ? wd + 7 : wd],
		 d, month_names[m - 1], (long long)y, (int)(secs / 3600), (int)(secs / 60 % 60),
		 (int)(secs % 60));
}
