/* mail-date: Date: header to Unix time (see mail-date.h). */
#include "mail-date.h"

#include <stdbool.h>

#include "lib/date.h"
#include "rfc822.h"

struct token {
	struct str s;
	bool digits;
	bool alpha;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* next_token reads a run of digits, a run of letters or one other
 * character, skipping whitespace and comments before it. */
static bool next_token(struct rfc822_lexer *lx, struct token *t)
{
	if (!rfc822_skip_cfws(lx))
		return false;
	const char *start = lx->p;
	if (is_digit(*lx->p)) {
		while (lx->p < lx->end && is_digit(*lx->p))
			lx->p++;
	} else if (str_is_alpha(*lx->p)) {
		while (lx->p < lx->end && str_is_alpha(*lx->p))
			lx->p++;
	} else {
		lx->p++;
	}
	t->s = str_from(start, (size_t)(lx->p - start));
	t->digits = is_digit(*start);
	t->alpha = str_is_alpha(*start);
	return true;
}

/* number returns the value of a digit token of at most max_len digits. */
static int number(const struct token *t, size_t max_len)
{
	uint64_t v = 0;
	if (!t->digits || t->s.len > max_len || str_to_u64(t->s, 99999999, &v) < 0)
		return -1;
	return (int)v;
}

/* month_number maps an English month name (first three letters) to 1-12. */
static int month_number(struct str s)
{
	return s.len < 3 ? -1 : date_month_number(str_from(s.ptr, 3));
}

/* zone_minutes gives the offset of a named zone (RFC 5322 section 4.3);
 * military and unknown zones count as 0 as the RFC advises. */
static int zone_minutes(struct str s)
{
	static const struct {
		const char *name;
		int minutes;
	} zones[] = {
		{ "UT", 0 },	       { "GMT", 0 },	      { "UTC", 0 },	     { "EST", -5 * 60 },
		{ "EDT", -4 * 60 }, { "CST", -6 * 60 }, { "CDT", -5 * 60 }, { "MST", -7 * 60 },
		{ "MDT", -6 * 60 }, { "PST", -8 * 60 }, { "PDT", -7 * 60 },
	};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (str_case_eq(s, str_c(zones[i].name)))
			return zones[i].minutes;
	return 0;
}

int mail_date_parse(struct str value, int64_t *time_r)
{
	int zone;
	return mail_date_parse_zone(value, time_r, &zone);
}

int mail_date_parse_zone(struct str value, int64_t *time_r, int *zone_r)
{
	struct rfc822_lexer lx;
	struct token t;
	int day, month, year, hour, min, sec = 0, zone = 0;

	rfc822_lexer_init(&lx, value);
	if (!next_token(&lx, &t))
		return -1;
	if (t.alpha) {
		/* day-of-week, with an optional comma */
		if (!next_token(&lx, &t))
			return -1;
		if (t.s.len == 1 && t.s.ptr[0] == ',' && !next_token(&lx, &t))
			return -1;
	}
	if ((day = number(&t, 2)) < 1 || day > 31)
		return -1;
	if (!next_token(&lx, &t) || (month = month_number(t.s)) < 0)
		return -1;
	if (!next_token(&lx, &t) || (year = number(&t, 4)) < 0)
		return -1;
	if (t.s.len == 2)
		year += year < 50 ? 2000 : 1900;
	else if (t.s.len == 3)
		year += 1900;
	if (year < 1900)
		return -1;
	if (!next_token(&lx, &t) || (hour = number(&t, 2)) < 0 || hour > 23)
		return -1;
	if (!next_token(&lx, &t) || !(t.s.len == 1 && t.s.ptr[0] == ':'))
		return -1;
	if (!next_token(&lx, &t) || (min = number(&t, 2)) < 0 || min > 59)
		return -1;
	if (next_token(&lx, &t) && t.s.len == 1 && t.s.ptr[0] == ':') {
		if (!next_token(&lx, &t) || (sec = number(&t, 2)) < 0 || sec > 60)
			return -1;
		if (!next_token(&lx, &t))
			t.s = STR_NULL;
	}
	if (t.s.len == 1 && (t.s.ptr[0] == '+' || t.s.ptr[0] == '-')) {
		char sign = t.s.ptr[0];
		int hhmm;
		if (!next_token(&lx, &t) || t.s.len != 4 || (hhmm = number(&t, 4)) < 0 ||
		    hhmm % 100 > 59)
			return -1;
		zone = (hhmm / 100) * 60 + hhmm % 100;
		if (sign == '-')
			zone = -zone;
	} else if (t.alpha) {
		zone = zone_minutes(t.s);
	}
	*time_r = date_time(year, month, day, hour, min, sec) - (int64_t)zone * 60;
	*zone_r = zone;
	return 0;
}
