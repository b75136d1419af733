/*
 * smtp-submit: the pure parts of the submission dialogue (smtp-submit.h).
 */
#include "smtp-submit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

enum smtp_auth_mech smtp_submit_parse_auth(struct str arg, struct str *initial_r)
{
	long sp = str_chr(arg, ' ');
	struct str mech = sp < 0 ? arg : str_sub(arg, 0, (size_t)sp);
	*initial_r = STR_NULL;
	if (sp >= 0) {
		struct str rest = str_trim(str_sub(arg, (size_t)sp + 1, SIZE_MAX));
		if (rest.len > 0)
			*initial_r = rest;
	}
	if (str_case_eq(mech, STR("PLAIN")))
		return SMTP_AUTH_MECH_PLAIN;
	if (str_case_eq(mech, STR("LOGIN")))
		return SMTP_AUTH_MECH_LOGIN;
	return SMTP_AUTH_MECH_UNKNOWN;
}

int smtp_submit_base64(struct str b64, char *out, size_t max, size_t *len_r)
{
	*len_r = 0;
	if (str_eq(b64, STR("=")))
		return 0;
	if (b64.len == 0 || b64.len / 4 * 3 > max + 2)
		return -1;
	if (sodium_base642bin((unsigned char *)out, max, b64.ptr, b64.len, NULL, len_r, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		sodium_memzero(out, max);
		*len_r = 0;
		return -1;
	}
	return 0;
}

void smtp_header_collector_init(struct smtp_header_collector *h)
{
	memset(h, 0, sizeof(*h));
	buf_init(&h->header, SMTP_SUBMIT_MAX_HEADER);
}

void smtp_header_collector_free(struct smtp_header_collector *h)
{
	buf_free(&h->header);
	memset(h, 0, sizeof(*h));
}

size_t smtp_header_collect(struct smtp_header_collector *h, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && !h->done) {
		char c = p[i++];
		if (c == '\n' && h->line_len == 0) {
			h->done = true;
			break;
		}
		if (c == '\n')
			h->line_len = 0;
		else if (c != '\r')
			h->line_len++;
	}
	/* The blank line (its CR, if any, and LF) is not kept. */
	size_t keep = i;
	if (h->done) {
		keep--;
		if (keep > 0 && p[keep - 1] == '\r')
			keep--;
		else if (keep == 0 && h->header.len > 0 && h->header.data[h->header.len - 1] == '\r')
			h->header.len--;
	}
	if (!h->too_big && h->header.len + keep > SMTP_SUBMIT_MAX_HEADER) {
		h->too_big = true;
		buf_free(&h->header);
	}
	if (!h->too_big && keep > 0 && buf_append(&h->header, p, keep) < 0) {
		h->too_big = true;
		buf_free(&h->header);
	}
	return i;
}

/* A From: being read: the current mailbox's parts. */
struct from_reader {
	struct smtp_header_scan *out;
	struct str value;
	size_t bare_start, bare_end; /* the addr-spec outside <>, if any */
	bool bare;
	struct str angle;            /* the addr-spec inside <> */
	bool have_angle;
};

/* from_add takes an address read from From:. */
static void from_add(struct from_reader *r, struct str a)
{
	struct smtp_header_scan *out = r->out;
	/* A source route (RFC 5322 4.4 obs-route) is not an address. */
	if (a.len > 0 && a.ptr[0] == '@') {
		long colon = str_chr(a, ':');
		a = colon < 0 ? STR_NULL : str_sub(a, (size_t)colon + 1, SIZE_MAX);
	}
	a = str_trim(a);
	if (a.len == 0 || str_chr(a, '@') <= 0 || out->from_count == SMTP_SUBMIT_MAX_FROM) {
		out->from_bad = true;
		return;
	}
	for (size_t i = 0; i < a.len; i++)
		if (a.ptr[i] == ' ' || a.ptr[i] == '\t' || a.ptr[i] == '\r' || a.ptr[i] == '\n' ||
		    a.ptr[i] == '(' || a.ptr[i] == '<')
			out->from_bad = true;
	out->from[out->from_count++] = a;
}

/* from_flush ends one mailbox (at a comma, a group's end or the end). */
static void from_flush(struct from_reader *r)
{
	if (r->have_angle)
		from_add(r, r->angle);
	else if (r->bare)
		from_add(r, str_sub(r->value, r->bare_start, r->bare_end - r->bare_start));
	r->bare = false;
	r->have_angle = false;
}

static void from_mark(struct from_reader *r, size_t i)
{
	if (!r->bare)
		r->bare_start = i;
	r->bare = true;
	r->bare_end = i + 1;
}

/* parse_from reads the mailboxes of one From: value (RFC 5322 3.4):
 * "name <addr>", "addr", groups, comments and quoted strings. */
static void parse_from(struct str v, struct smtp_header_scan *out)
{
	struct from_reader r = { .out = out, .value = v };
	unsigned depth = 0;
	bool quoted = false, in_angle = false;
	size_t angle_start = 0;

	out->has_from = true;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.ptr[i];
		if (quoted) {
			from_mark(&r, i);
			if (c == '\\' && i + 1 < v.len)
				from_mark(&r, ++i);
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (in_angle) {
			if (c == '>') {
				r.angle = str_sub(v, angle_start, i - angle_start);
				r.have_angle = true;
				in_angle = false;
			}
			continue;
		}
		switch (c) {
		case '"':
			quoted = true;
			from_mark(&r, i);
			break;
		case '(':
			depth = 1;
			break;
		case '<':
			in_angle = true;
			angle_start = i + 1;
			break;
		case ':':
			/* A group's name is no address. */
			r.bare = false;
			break;
		case ',':
		case ';':
			from_flush(&r);
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		default:
			from_mark(&r, i);
			break;
		}
	}
	if (quoted || depth > 0 || in_angle)
		out->from_bad = true;
	from_flush(&r);
}

void smtp_submit_scan_header(struct str header, struct smtp_header_scan *out)
{
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	while (pos < header.len) {
		/* The field runs to the first line end not followed by WSP. */
		size_t end = pos;
		for (;;) {
			const char *nl = memchr(header.ptr + end, '\n', header.len - end);
			end = nl == NULL ? header.len : (size_t)(nl - header.ptr) + 1;
			if (end >= header.len || (header.ptr[end] != ' ' && header.ptr[end] != '\t'))
				break;
		}
		struct str field = str_sub(header, pos, end - pos);
		pos = end;
		long colon = str_chr(field, ':');
		if (colon <= 0)
			continue;
		struct str name = str_trim(str_sub(field, 0, (size_t)colon));
		struct str value = str_sub(field, (size_t)colon + 1, SIZE_MAX);
		if (str_case_eq(name, STR("From")))
			parse_from(value, out);
		else if (str_case_eq(name, STR("Date")))
			out->has_date = true;
		else if (str_case_eq(name, STR("Message-ID")))
			out->has_message_id = true;
	}
}

/* smtp_submit_date writes an RFC 5322 date-time in UTC.  UTC, because the front
 * runs confined and localtime() may want to read /etc/localtime. */
void smtp_submit_date(time_t t, char *out, size_t size)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		snprintf(out, size, "Thu, 1 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, size, "%s, %d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int smtp_submit_check_header(struct str header, bool (*allowed)(void *ctx, struct str address),
			     void *ctx, const char *hostname, struct buf *add)
{
	struct smtp_header_scan scan;

	smtp_submit_scan_header(header, &scan);
	bool ok = scan.has_from && !scan.from_bad && scan.from_count > 0;
	for (size_t i = 0; ok && i < scan.from_count; i++)
		ok = allowed(ctx, scan.from[i]);
	if (!ok)
		return -1;
	if (!scan.has_date) {
		char date[64];
		smtp_submit_date(time(NULL), date, sizeof(date));
		buf_printf(add, "Date: %s\r\n", date);
	}
	if (!scan.has_message_id) {
		unsigned char id[16];
		char hex[sizeof(id) * 2 + 1];
		randombytes_buf(id, sizeof(id));
		sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
		buf_printf(add, "Message-ID: <%s@%.200s>\r\n", hex, hostname);
	}
	return 0;
}
