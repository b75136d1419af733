#ifndef RAVELIN_DATE_H
#define RAVELIN_DATE_H
/*
 * date: calendar arithmetic in UTC, proleptic Gregorian, without the C
 * library's time zone state: civil dates as days since 1970-01-01, the
 * day of a Unix time, and the English month abbreviations that IMAP's
 * date-text, RFC 5322's Date: and SMTP's Received: share.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* Seconds in a day (Unix time has no leap seconds). */
#define DATE_DAY_SECONDS 86400

/* date_days_from_civil counts days from 1970-01-01 to y-m-d (negative
 * before it), m in 1-12; a day past the month's end carries over as with
 * timegm() (April 31 is May 1).  H. Hinnant's days_from_civil. */
int64_t date_days_from_civil(int64_t y, int m, int d);
/* date_time is the Unix time of y-m-d hh:mm:ss UTC, carrying over like
 * date_days_from_civil (second 60 is the next minute's 0). */
int64_t date_time(int64_t y, int m, int d, int hh, int mm, int ss);
/* date_day_of is the UTC day of Unix time t (days since 1970-01-01,
 * rounded down, so one second before the epoch is day -1). */
int64_t date_day_of(int64_t t);
/* date_days_in_month is the length of month m (1-12) of year y. */
int date_days_in_month(int64_t y, int m);
/* date_month_number maps a three-letter English month abbreviation, in
 * any ASCII case, to 1-12; anything else (longer or shorter too) is -1. */
int date_month_number(struct str s);
/* date_month_name is "Jan".."Dec" for m in 1-12, NULL otherwise. */
const char *date_month_name(int m);
/* date_rfc5322 writes t as an RFC 5322 date-time in UTC ("Thu, 1 Jan 1970
 * 00:00:00 +0000"), NUL-terminated, cut to size; 40 bytes always do. */
void date_rfc5322(int64_t t, char *out, size_t size);

#endif
