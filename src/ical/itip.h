#ifndef RAVELIN_ITIP_H
#define RAVELIN_ITIP_H
/*
 * itip: calendar scheduling messages (iTIP, RFC 5546) carried by mail
 * (iMIP, RFC 6047), as RFC 6638's implicit scheduling asks of a server.
 * Pure: calendar text in, calendar text and mail text out, over libical.
 * The worker decides when to call it (a saved calendar object, a
 * delivered mail) and does the I/O.
 *
 * Addresses are compared without "mailto:" and ASCII case-insensitively.
 * Every input is bounded by ITIP_MAX_DATA; libical parses it whole.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"

/* The largest calendar text taken or written: the size of a stored
 * calendar object (DAV_MAX_OBJECT_SIZE). */
#define ITIP_MAX_DATA (1024 * 1024)
/* Recipients one change writes to: a meeting with more attendees than
 * this is a mailing list's job.  The ones past it get nothing (logged by
 * the caller through *truncated). */
#define ITIP_MAX_RECIPIENTS 100
/* An address as SMTP carries it (RFC 5321 4.5.3.1.3: a path of 256). */
#define ITIP_MAX_ADDRESS 256
/* Components (VEVENT, VTODO and their overrides) one message may hold:
 * ical.h's ICAL_MAX_COMPONENTS. */
#define ITIP_MAX_COMPONENTS 1000

enum itip_method {
	ITIP_NONE = 0,
	ITIP_REQUEST,
	ITIP_REPLY,
	ITIP_CANCEL,
};

/* The account's own addresses (its primary and the aliases that lead
 * only to it), lower case or not. */
struct itip_self {
	const char *const *addresses;
	size_t count;
};

/* One message to send: method, the bare recipient address and the
 * VCALENDAR text with METHOD (malloc'd, NUL-terminated). */
struct itip_message {
	enum itip_method method;
	char recipient[ITIP_MAX_ADDRESS + 1];
	char *data;
};

/*
 * itip_changes gives the messages a save of a calendar object by its
 * account calls for: old_data is the object before (empty: created),
 * new_data after (empty: deleted).  As organiser (ORGANIZER is one of
 * self's addresses): REQUEST to every attendee but the organiser when the
 * object is new or its scheduling-relevant content changed (times,
 * summary, location, description, recurrence, status, sequence, the
 * attendee list), CANCEL to attendees removed and to all when the object
 * is deleted.  As attendee (ORGANIZER someone else, one ATTENDEE ours):
 * REPLY to the organiser when our PARTSTAT changed, DECLINED when the
 * object is deleted (not for a cancelled one).  ATTENDEEs with
 * SCHEDULE-AGENT other than SERVER get nothing.  Returns 0 and a malloc'd
 * array (free with itip_messages_free; *count may be 0), *truncated set
 * when recipients past ITIP_MAX_RECIPIENTS were left out; -1 with
 * *error_r when the data cannot be read.
 */
int itip_changes(struct str old_data, struct str new_data, const struct itip_self *self,
		 struct itip_message **out, size_t *count, bool *truncated, const char **error_r);
void itip_messages_free(struct itip_message **m, size_t count);

/* What an incoming iTIP object says (of its first component). */
struct itip_info {
	enum itip_method method;
	unsigned component;            /* DAV_COMP_* value: 1 VEVENT, 2 VTODO */
	char uid[256];
	int64_t sequence;
	char organizer[ITIP_MAX_ADDRESS + 1];  /* bare address or "" */
	char attendee[ITIP_MAX_ADDRESS + 1];   /* REPLY: the replying attendee */
	size_t attendee_count;
	char summary[256];
	int64_t first, last;           /* UTC span of the first component (dtstart..dtend;
					 * INT64_MIN unknown, last INT64_MAX if recurring) */
};

/* itip_parse reads an iTIP object (METHOD REQUEST, REPLY or CANCEL; one
 * UID; VEVENT or VTODO): 0 and *info, -1 with *error_r (not iTIP, a method
 * this server does not act on, over a limit). */
int itip_parse(struct str data, struct itip_info *info, const char **error_r);

/* itip_method_name: "REQUEST", "REPLY", "CANCEL" or "". */
const char *itip_method_name(enum itip_method m);

/*
 * itip_apply gives the calendar object resource (no METHOD) an incoming
 * message makes of the stored one (empty: none), for an account self.
 * sender is the message's sender (bare address).  REQUEST and CANCEL are
 * taken only when sender is the ORGANIZER, REPLY only when sender is the
 * replying ATTENDEE and the stored copy's ORGANIZER is ours.  REQUEST: the
 * incoming object, our ATTENDEE's PARTSTAT NEEDS-ACTION unless the stored
 * copy has the same SEQUENCE (then its PARTSTAT is kept); an older SEQUENCE
 * than stored is ignored.  CANCEL: the stored copy with STATUS:CANCELLED.
 * REPLY: the stored copy with that ATTENDEE's PARTSTAT.  Returns 1 and the
 * object in out (reset first), 0 when nothing is to change (*error_r says
 * why: untrusted sender, stale, unknown object), -1 on unreadable data.
 */
int itip_apply(struct str stored, struct str incoming, const struct itip_info *info,
	       const char *sender, const struct itip_self *self, struct buf *out,
	       const char **error_r);

/* The mail that carries one message (RFC 6047). */
struct itip_mail {
	const char *from;          /* the account's address */
	const char *from_name;     /* display name, may be "" */
	const char *to;            /* the recipient */
	const char *message_id;    /* "<...@host>" */
	int64_t now;               /* Date: */
};

/*
 * itip_mail_write appends to out the whole mail carrying ical (an iTIP
 * object, whose METHOD it names): From, To, Subject
 * ("Invitation: ", "Accepted: ", "Declined: ", "Tentative: ", "Cancelled: "
 * and the SUMMARY, RFC 2047-encoded when not ASCII), Date, Message-ID,
 * MIME-Version, multipart/alternative with a text/plain part (summary,
 * when in UTC and in the event's zone, where, organiser) and the
 * text/calendar part with its method, both base64 in 76-character lines.
 * 0, or -1 with *error_r (unreadable data, out full).
 */
int itip_mail_write(const struct itip_mail *m, struct str ical, struct buf *out,
		    const char **error_r);

#endif
