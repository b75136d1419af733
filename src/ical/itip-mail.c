/*
 * itip-mail: the mail that carries one iTIP message (RFC 6047): a
 * multipart/alternative with a readable text part and the calendar part,
 * whose Content-Type names the method (RFC 6047 2.4).  See itip.h.
 */
#include "itip.h"

#include <libical/ical.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "lib/date.h"

/* Base64 input per line: 57 octets make the 76 characters RFC 2045 6.8
 * allows on a line. */
#define ITIP_MAIL_B64_CHUNK 57
/* SUMMARY octets in the Subject: long enough for any title people type,
 * short enough that the encoded field stays a few lines. */
#define ITIP_MAIL_MAX_SUMMARY 200
/* Raw octets per RFC 2047 encoded-word: 45 make 60 base64 characters,
 * so "=?utf-8?B?...?=" stays within RFC 2047 2's 75. */
#define ITIP_MAIL_WORD_OCTETS 45

/* base64_lines appends data in base64, CRLF after every 76 characters. */
static int base64_lines(struct buf *out, struct str data)
{
	unsigned char line[80];
	for (size_t at = 0; at < data.len; at += ITIP_MAIL_B64_CHUNK) {
		size_t n = data.len - at < ITIP_MAIL_B64_CHUNK ? data.len - at : ITIP_MAIL_B64_CHUNK;
		int len = EVP_EncodeBlock(line, (const unsigned char *)data.ptr + at, (int)n);
		if (buf_append(out, line, (size_t)len) < 0 || buf_append(out, "\r\n", 2) < 0)
			return -1;
	}
	return 0;
}

/* clean_text copies s into out (size octets at most, not splitting a
 * UTF-8 sequence), each control character a space: a SUMMARY may hold
 * line breaks, a header field may not. */
static void clean_text(char *out, size_t size, const char *s)
{
	size_t n = 0;
	for (; s != NULL && s[n] != '\0' && n + 1 < size; n++)
		out[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? ' ' : s[n];
	/* Back off a cut multi-octet sequence. */
	if (s != NULL && s[n] != '\0')
		while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;
	out[n] = '\0';
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* header_text appends s as header text: as is when ASCII, else as RFC
 * 2047 encoded-words (each whole UTF-8 characters) folded one per line. */
static int header_text(struct buf *out, const char *s)
{
	if (is_ascii(s))
		return buf_printf(out, "%s", s);
	size_t len = strlen(s), at = 0;
	while (at < len) {
		size_t n = len - at < ITIP_MAIL_WORD_OCTETS ? len - at : ITIP_MAIL_WORD_OCTETS;
		while (at + n < len && ((unsigned char)s[at + n] & 0xc0) == 0x80)
			n--;
		unsigned char word[80];
		int w = EVP_EncodeBlock(word, (const unsigned char *)s + at, (int)n);
		if (buf_printf(out, "%s=?utf-8?B?%.*s?=", at == 0 ? "" : "\r\n ", w, word) < 0)
			return -1;
		at += n;
	}
	return 0;
}

/* when_text appends when c starts: "YYYY-MM-DD HH:MM UTC" and, for a
 * time in a zone, that time in the zone; a date for all-day items. */
static int when_text(struct buf *out, icalcomponent *c)
{
	icalproperty *p = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY);
	if (p == NULL)
		return buf_printf(out, "(no start time)");
	struct icaltimetype t = icalproperty_get_datetime_with_component(p, c);
	if (t.is_date)
		return buf_printf(out, "%04d-%02d-%02d (all day)", t.year, t.month, t.day);
	icalparameter *tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
	if (t.zone == NULL && !icaltime_is_utc(t))
		return buf_printf(out, "%04d-%02d-%02d %02d:%02d (local time)", t.year, t.month,
				  t.day, t.hour, t.minute);
	struct icaltimetype u = icaltime_convert_to_zone(t, icaltimezone_get_utc_timezone());
	if (buf_printf(out, "%04d-%02d-%02d %02d:%02d UTC", u.year, u.month, u.day, u.hour,
		       u.minute) < 0)
		return -1;
	if (tzid != NULL && !icaltime_is_utc(t)) {
		char zone[128];
		clean_text(zone, sizeof(zone), icalparameter_get_tzid(tzid));
		return buf_printf(out, " (%04d-%02d-%02d %02d:%02d %s)", t.year, t.month, t.day,
				  t.hour, t.minute, zone);
	}
	return 0;
}

/* reply_word: what an attendee's REPLY says, for the Subject. */
static const char *reply_word(icalcomponent *c)
{
	icalproperty *a = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY);
	icalparameter *p = a == NULL ? NULL
		: icalproperty_get_first_parameter(a, ICAL_PARTSTAT_PARAMETER);
	switch (p == NULL ? ICAL_PARTSTAT_NONE : icalparameter_get_partstat(p)) {
	case ICAL_PARTSTAT_ACCEPTED: return "Accepted";
	case ICAL_PARTSTAT_DECLINED: return "Declined";
	case ICAL_PARTSTAT_TENTATIVE: return "Tentative";
	default: return "Reply";
	}
}

/* text_part appends the readable part's text. */
static int text_part(struct buf *out, icalcomponent *c, const struct itip_mail *m,
		     enum itip_method method, const char *summary)
{
	char text[512];
	struct buf t;
	buf_init(&t, 8192);
	int r = buf_printf(&t, "%s\r\n\r\nTitle: %s\r\nWhen: ",
			   method == ITIP_REQUEST ? "You are invited to an event."
			   : method == ITIP_CANCEL ? "This event is cancelled."
			   : "An attendee answered your invitation.", summary);
	r |= when_text(&t, c);
	clean_text(text, sizeof(text), icalcomponent_get_location(c));
	if (text[0] != '\0')
		r |= buf_printf(&t, "\r\nWhere: %s", text);
	icalproperty *o = icalcomponent_get_first_property(c, ICAL_ORGANIZER_PROPERTY);
	if (o != NULL) {
		icalparameter *cn = icalproperty_get_first_parameter(o, ICAL_CN_PARAMETER);
		char name[256];
		clean_text(name, sizeof(name), cn == NULL ? "" : icalparameter_get_cn(cn));
		clean_text(text, sizeof(text), icalproperty_get_organizer(o));
		const char *addr = strncasecmp(text, "mailto:", 7) == 0 ? text + 7 : text;
		r |= name[0] != '\0' ? buf_printf(&t, "\r\nOrganiser: %s <%s>", name, addr)
				     : buf_printf(&t, "\r\nOrganiser: %s", addr);
	}
	if (method == ITIP_REPLY)
		r |= buf_printf(&t, "\r\nAnswer: %s from %s", reply_word(c), m->from);
	r |= buf_printf(&t, "\r\n");
	if (r == 0)
		r = base64_lines(out, buf_str(&t));
	buf_free(&t);
	return r;
}

int itip_mail_write(const struct itip_mail *m, struct str ical, struct buf *out,
		    const char **error_r)
{
	struct itip_info info;
	if (itip_parse(ical, &info, error_r) < 0)
		return -1;
	/* itip_parse read it; libical reads it once more for the texts. */
	char *copy = strndup(ical.ptr, ical.len);
	icalcomponent *cal = copy == NULL ? NULL : icalparser_parse_string(copy);
	free(copy);
	if (cal == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	icalcomponent *c = icalcomponent_get_first_real_component(cal);
	char summary[ITIP_MAIL_MAX_SUMMARY + 1], name[256], date[64];
	clean_text(summary, sizeof(summary), icalcomponent_get_summary(c));
	if (summary[0] == '\0')
		snprintf(summary, sizeof(summary), "(untitled)");
	clean_text(name, sizeof(name), m->from_name);
	date_rfc5322(m->now, date, sizeof(date));
	const char *subject = info.method == ITIP_REQUEST ? "Invitation"
		: info.method == ITIP_CANCEL ? "Cancelled" : reply_word(c);
	/* The boundary cannot occur in base64 text ('=' and '_' together). */
	const char *boundary = "=_ravelin_itip_=";
	int r = 0;
	if (name[0] != '\0') {
		r |= buf_printf(out, "From: ");
		r |= header_text(out, name);
		r |= buf_printf(out, " <%s>\r\n", m->from);
	} else {
		r |= buf_printf(out, "From: <%s>\r\n", m->from);
	}
	r |= buf_printf(out, "To: <%s>\r\nSubject: %s: ", m->to, subject);
	r |= header_text(out, summary);
	r |= buf_printf(out, "\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
			"Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
			"--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n",
			date, m->message_id, boundary, boundary);
	r |= text_part(out, c, m, info.method, summary);
	r |= buf_printf(out, "--%s\r\nContent-Type: text/calendar; charset=utf-8; method=%s\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n", boundary,
			itip_method_name(info.method));
	r |= base64_lines(out, ical);
	r |= buf_printf(out, "--%s--\r\n", boundary);
	icalcomponent_free(cal);
	if (r != 0) {
		*error_r = "the mail does not fit";
		return -1;
	}
	return 0;
}
