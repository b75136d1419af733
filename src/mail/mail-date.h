#ifndef RAVELIN_MAIL_DATE_H
#define RAVELIN_MAIL_DATE_H
/* mail-date: the Date: header (RFC 5322 section 3.3) as a Unix time. */
#include <stdint.h>

#include "lib/str.h"

/*
 * mail_date_parse parses an RFC 5322 date-time, including the obsolete
 * forms of section 4.3 (two- and three-digit years, named zones, comments
 * and folding anywhere, no day name or seconds).  A missing or unknown
 * zone counts as +0000.  Returns 0 and the time in *time_r, or -1 when the
 * value is not a date.
 */
int mail_date_parse(struct str value, int64_t *time_r);
/* mail_date_parse_zone also gives the zone as written, in minutes east of
 * UTC (IMAP's SENTON compares the date in the sender's own zone). */
int mail_date_parse_zone(struct str value, int64_t *time_r, int *zone_r);

#endif
