#ifndef RAVELIN_RETRY_H
#define RAVELIN_RETRY_H
/*
 * retry: when a remote delivery that failed for now is tried again, when
 * it is given up (bounced), and when the sender is told it waits.  From
 * queue.retry_schedule (waits between attempts, the last one repeated),
 * queue.expire and queue.delay_notice (config.h parses and bounds them).
 * One policy per process, set once by retry_configure.
 */
#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"

/* retry_configure takes the policy from config (copied). */
void retry_configure(const struct config *config);
/* retry_next gives when to try again (unix) after attempt number attempt
 * (1: the first) failed for now at now, for a message first tried at
 * first_tried: now plus the schedule's step for that attempt (the last
 * step for every later one), never later than the expiry, so the last
 * try falls on it. */
int64_t retry_next(unsigned attempt, int64_t first_tried, int64_t now);
/* retry_expired: a message first tried at first_tried has waited its
 * queue.expire by now: what still fails for now is bounced. */
bool retry_expired(int64_t first_tried, int64_t now);
/* retry_until: when a message first tried at first_tried expires. */
int64_t retry_until(int64_t first_tried);
/* retry_notice_due: the sender of a message first tried at first_tried
 * and still waiting is due a delay notice by now (never when
 * queue.delay_notice is 0, or once expired: the bounce says it). */
bool retry_notice_due(int64_t first_tried, int64_t now);

#endif
