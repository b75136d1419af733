/* bounce: RFC 3464 delivery status notifications (see bounce.h). */
#include "bounce.h"

#include <stdio.h>
#include <string.h>

#include "lib/date.h"

/* An address, answer or host name is shown up to this long (an SMTP
 * path is at most 256 octets, a reply line 512, a host name 255): the
 * whole report then stays within BOUNCE_MAX_SIZE. */
#define BOUNCE_MAX_FIELD 1024
_Static_assert(BOUNCE_MAX_HEADERS + BOUNCE_MAX_RCPTS * (6 * BOUNCE_MAX_FIELD + 512) + 8192 <=
		       BOUNCE_MAX_SIZE, "a report fits BOUNCE_MAX_SIZE");

/* A Date:-style time: "Thu, 1 Jan 1970 00:00:00 +0000" and a NUL. */
#define BOUNCE_DATE_SIZE 40

/* put_ascii appends s with every byte outside printable ASCII as '?': the
 * report's fields are header lines (RFC 3464 2.1), and s came from
 * outside. */
static void put_ascii(struct buf *out, struct str s)
{
	for (size_t i = 0; i < s.len && i < BOUNCE_MAX_FIELD; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		buf_putc(out, c < 0x20 || c > 0x7e ? '?' : (char)c);
	}
}

/* is_status is true for an RFC 3463 code "c.sss.ddd" of class cls. */
static bool is_status(struct str s, char cls)
{
	size_t i = 0, dots = 0, digits = 0;
	if (s.len < 5 || s.ptr[0] != cls || s.ptr[1] != '.')
		return false;
	for (i = 2; i < s.len; i++) {
		if (s.ptr[i] == '.' && digits > 0 && dots == 0) {
			dots++;
			digits = 0;
		} else if (s.ptr[i] >= '0' && s.ptr[i] <= '9' && digits < 3) {
			digits++;
		} else {
			return false;
		}
	}
	return dots == 1 && digits > 0;
}

struct str bounce_status(struct str answer, enum bounce_action action)
{
	char cls = action == BOUNCE_FAILED ? '5' : '4';
	struct str rest = answer;
	/* The code is the first word, or the second after a reply code. */
	for (int word = 0; word < 2 && rest.len > 0; word++) {
		long sp = str_chr(rest, ' ');
		struct str w = sp < 0 ? rest : str_sub(rest, 0, (size_t)sp);
		if (is_status(w, cls))
			return w;
		rest = sp < 0 ? STR_NULL : str_sub(rest, (size_t)sp + 1, SIZE_MAX);
	}
	return action == BOUNCE_FAILED ? STR("5.0.0") : STR("4.0.0");
}

struct str bounce_header_block(struct str message)
{
	size_t end = 0;
	struct str rest = message;
	while (rest.len > 0) {
		long nl = str_chr(rest, '\n');
		if (nl < 0)
			break;
		struct str line = str_sub(rest, 0, (size_t)nl);
		if (end + (size_t)nl + 1 > BOUNCE_MAX_HEADERS)
			break;
		end += (size_t)nl + 1;
		if (line.len == 0 || (line.len == 1 && line.ptr[0] == '\r'))
			break;
		rest = str_sub(rest, (size_t)nl + 1, SIZE_MAX);
	}
	return str_sub(message, 0, end);
}

/* put_human writes part 1: what happened, in words. */
static void put_human(struct buf *out, const struct bounce_report *r, const char *until)
{
	bool failed = r->action == BOUNCE_FAILED;
	buf_printf(out, "This is the mail system at %s.\r\n\r\n", r->hostname);
	if (failed)
		buf_printf(out, "Your message could not be delivered to the recipient%s below; "
			   "this is final.\r\n\r\n", r->rcpt_count == 1 ? "" : "s");
	else
		buf_printf(out, "Your message has not been delivered yet to the recipient%s "
			   "below.  It is tried again until %s; you need not send it again.\r\n\r\n",
			   r->rcpt_count == 1 ? "" : "s", until);
	size_t shown = r->rcpt_count < BOUNCE_MAX_RCPTS ? r->rcpt_count : BOUNCE_MAX_RCPTS;
	for (size_t i = 0; i < shown; i++) {
		const struct bounce_rcpt *rc = &r->rcpts[i];
		buf_putc(out, '<');
		put_ascii(out, rc->address);
		buf_printf(out, ">:");
		if (rc->remote_mta.len > 0) {
			buf_printf(out, " host ");
			put_ascii(out, rc->remote_mta);
			buf_printf(out, " said:");
		}
		buf_printf(out, "\r\n    ");
		put_ascii(out, rc->answer.len > 0 ? rc->answer : STR("(no answer)"));
		buf_printf(out, "\r\n\r\n");
	}
	if (shown < r->rcpt_count)
		buf_printf(out, "... and %zu more recipients.\r\n\r\n", r->rcpt_count - shown);
	buf_printf(out, "The headers of your message are attached.\r\n");
}

/* put_status writes part 2, the machine-readable report (RFC 3464 2.2, 2.3). */
static void put_status(struct buf *out, const struct bounce_report *r, const char *arrived,
		       const char *now, const char *until)
{
	bool failed = r->action == BOUNCE_FAILED;
	buf_printf(out, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", r->hostname, arrived);
	size_t shown = r->rcpt_count < BOUNCE_MAX_RCPTS ? r->rcpt_count : BOUNCE_MAX_RCPTS;
	for (size_t i = 0; i < shown; i++) {
		const struct bounce_rcpt *rc = &r->rcpts[i];
		buf_printf(out, "\r\nFinal-Recipient: rfc822; ");
		put_ascii(out, rc->address);
		buf_printf(out, "\r\nAction: %s\r\nStatus: ", failed ? "failed" : "delayed");
		put_ascii(out, bounce_status(rc->answer, r->action));
		if (rc->remote_mta.len > 0) {
			buf_printf(out, "\r\nRemote-MTA: dns; ");
			put_ascii(out, rc->remote_mta);
		}
		if (rc->answer.len > 0) {
			buf_printf(out, "\r\nDiagnostic-Code: smtp; ");
			put_ascii(out, rc->answer);
		}
		buf_printf(out, "\r\nLast-Attempt-Date: %s\r\n", now);
		if (!failed)
			buf_printf(out, "Will-Retry-Until: %s\r\n", until);
	}
}

int bounce_build(const struct bounce_report *r, struct buf *out)
{
	char now[BOUNCE_DATE_SIZE], arrived[BOUNCE_DATE_SIZE], until[BOUNCE_DATE_SIZE];
	char boundary[128];
	bool failed = r->action == BOUNCE_FAILED;
	struct str headers = bounce_header_block(r->headers);

	date_rfc5322(r->now, now, sizeof(now));
	date_rfc5322(r->arrived, arrived, sizeof(arrived));
	date_rfc5322(r->retry_until, until, sizeof(until));
	/* A boundary that the quoted headers do not hold (they came from
	 * outside and could be made to). */
	for (unsigned n = 0;; n++) {
		snprintf(boundary, sizeof(boundary), "=_ravelin-dsn-%.*s-%u", (int)r->id.len,
			 r->id.ptr, n);
		if (memmem(headers.ptr, headers.len, boundary, strlen(boundary)) == NULL)
			break;
	}
	size_t before = out->len;
	buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <", r->hostname);
	put_ascii(out, r->to);
	buf_printf(out, ">\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%.*s.dsn@%s>\r\n"
		   "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
		   "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		   "\tboundary=\"%s\"\r\n\r\n"
		   "This is a delivery status notification (RFC 3464) in MIME format.\r\n\r\n",
		   failed ? "Undelivered Mail Returned to Sender" : "Delayed Mail (still being retried)",
		   now, (int)r->id.len, r->id.ptr, r->hostname, boundary);
	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
		   "Content-Description: Notification\r\n\r\n", boundary);
	put_human(out, r, until);
	buf_printf(out, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n"
		   "Content-Description: Delivery report\r\n\r\n", boundary);
	put_status(out, r, arrived, now, until);
	buf_printf(out, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n"
		   "Content-Description: Headers of the message\r\n\r\n", boundary);
	buf_append_str(out, headers);
	if (headers.len > 0 && headers.ptr[headers.len - 1] != '\n')
		buf_printf(out, "\r\n");
	/* Bounded above (BOUNCE_MAX_SIZE): only an out with a lower limit
	 * fails, and is left as it was. */
	if (buf_printf(out, "\r\n--%s--\r\n", boundary) < 0 || out->len - before > BOUNCE_MAX_SIZE) {
		out->len = before;
		if (out->data != NULL)
			out->data[before] = '\0';
		return -1;
	}
	return 0;
}
