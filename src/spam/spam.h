#ifndef RAVELIN_SPAM_H
#define RAVELIN_SPAM_H
/* spam: the process that asks rspamd about messages (see spam.c). */

/* Time one exchange with rspamd may take, connection to last byte of the
 * answer.  rspamd answers a normal message in tens of milliseconds; ten
 * seconds covers a slow DNS list without holding the SMTP client past
 * what it waits for a reply to DATA (RFC 5321 4.5.3.2.6: 10 minutes). */
#define SPAM_RSPAMD_TIMEOUT_MS 10000
/* Exchanges with rspamd under way at once; more are answered "unchecked"
 * at once (the queue then applies spam.fail_closed).  rspamd's own
 * workers handle about as many in parallel. */
#define SPAM_MAX_JOBS 64

/* spam_main runs the process (ravelin --role spam). */
int spam_main(void);

#endif
