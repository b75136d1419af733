#ifndef RAVELIN_WORKER_SCHEDULE_H
#define RAVELIN_WORKER_SCHEDULE_H
/*
 * worker-schedule: the account's side of calendar scheduling (RFC 6638
 * implicit scheduling, every message carried as iMIP mail, RFC 6047).
 *
 * Receiving: a delivered mail's first text/calendar part with a method
 * (REQUEST, CANCEL, REPLY) is applied to the account's calendars once the
 * mail is durable in INBOX: a REQUEST or CANCEL from the event's organiser
 * goes to the schedule inbox and to the default calendar "calendar"
 * (created or updated by UID; our PARTSTAT NEEDS-ACTION), a REPLY from the
 * attendee it names updates that attendee's PARTSTAT in the organiser's
 * copy.  A mail whose From: is not its envelope sender, or whose sender
 * is not the organiser (attendee) the message speaks for, is only filed.
 * Nothing here fails a delivery: problems are logged.
 *
 * Sending: after a calendar object is saved or deleted over DAV
 * (dav_hooks.calendar_changed), the iTIP messages it calls for are written
 * as mail and submitted through the queue (worker-submit.c), local
 * attendees included.  A failure is logged; the save stands.
 */
#include <stdint.h>

#include "ical/itip.h"
#include "lib/str.h"
#include "mail/mime.h"

/* The largest text/calendar part looked at, as it stands in the mail
 * (base64 makes ITIP_MAX_DATA about 4/3 larger, plus line ends). */
#define WORKER_SCHEDULE_MAX_PART (ITIP_MAX_DATA / 3 * 4 + ITIP_MAX_DATA / 38 + 1024)

struct worker_itip;

/* worker_schedule_init gives scheduling the account's calendars (the
 * worker's dav.db, which stays the worker's to close; NULL: it did not
 * open, and mail is only filed). */
struct dav_store;
void worker_schedule_init(struct dav_store *store);

/* worker_schedule_find looks in a delivered message (message: the
 * octets the MIME parser was fed after the first fed_before, parsed: its
 * tree) for the first text/calendar part with a method parameter: a new
 * record (the decoded part and the From: address) for
 * worker_schedule_received, or NULL (none, larger than
 * WORKER_SCHEDULE_MAX_PART, undecodable, no tree). */
struct worker_itip *worker_schedule_find(struct str message, size_t fed_before,
					 const struct mime_message *parsed);

/* worker_schedule_discard frees *it unapplied (the mail was not stored);
 * NULL is fine. */
void worker_schedule_discard(struct worker_itip **it);

/* worker_schedule_received applies *it for a mail from envelope sender
 * sender, now durable, and frees it (*it set to NULL). */
void worker_schedule_received(struct worker_itip **it, const char *sender);

/* worker_schedule_account_known applies, in order, the calendar parts that
 * arrived before auth told the account's addresses (at most
 * WORKER_SCHEDULE_MAX_WAITING are kept); called once it has. */
void worker_schedule_account_known(void);

/* worker_schedule_calendar_changed is dav_hooks.calendar_changed: the
 * messages the change calls for are submitted (ctx unused). */
void worker_schedule_calendar_changed(void *ctx, int64_t collection, struct str name,
				      struct str old_data, struct str new_data);

/* worker_schedule_hooks: the DAV hooks of scheduling, for dav_env. */
struct dav_hooks;
const struct dav_hooks *worker_schedule_hooks(void);

#endif
