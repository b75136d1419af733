#ifndef RAVELIN_QUEUE_QUOTA_H
#define RAVELIN_QUEUE_QUOTA_H
/*
 * queue-quota: what the queue knows of accounts' quotas, so that SMTP can
 * refuse a message that would not fit (452 4.2.2 at RCPT when SIZE= says
 * the size, 552 5.2.2 after DATA) instead of accepting it and then failing
 * to store it.  Only an account's worker can read its store, so the
 * figures come from it: when its delivery link opens (IPC_WORKER_QUOTA)
 * and with each delivery's answer (IPC_DELIVER_RESULT).  The cache is a
 * hint: the store refuses a delivery past the quota whatever it says.
 */
#include <stdbool.h>
#include <stdint.h>

/* Accounts remembered: the busiest ones a queue sees in a few minutes.
 * Past it the least recently told is forgotten (its next message is
 * checked only by the store, after acceptance).  24 bytes each. */
#define QUEUE_QUOTA_CACHE 4096

enum queue_quota_fit {
	QUEUE_QUOTA_UNKNOWN = 0, /* no figures for the account (yet) */
	QUEUE_QUOTA_FITS,        /* no quota, or size fits under it */
	QUEUE_QUOTA_OVER,        /* size would pass the quota */
};

/* queue_quota_note records account's limit (0: none) and bytes used. */
void queue_quota_note(uint64_t account, uint64_t limit, uint64_t used);
/* queue_quota_fit says whether size more bytes fit in account's quota. */
enum queue_quota_fit queue_quota_fit(uint64_t account, uint64_t size);
/* queue_quota_forget drops every figure (tests). */
void queue_quota_forget(void);

#endif
