/*
 * queue-quota: the queue's cache of accounts' quotas (see queue-quota.h).
 * A plain array searched in order: QUEUE_QUOTA_CACHE entries are looked
 * at once per recipient, far less than the message's own fsyncs.
 */
#include "queue-quota.h"

#include <stddef.h>
#include <string.h>

struct quota_entry {
	uint64_t account;
	uint64_t limit;
	uint64_t used;
	uint64_t told;     /* when, in notes made: the oldest goes first */
};

static struct quota_entry entries[QUEUE_QUOTA_CACHE];
static size_t entry_count;
static uint64_t notes;

static struct quota_entry *quota_find(uint64_t account)
{
	for (size_t i = 0; i < entry_count; i++)
		if (entries[i].account == account)
			return &entries[i];
	return NULL;
}

/* queue_quota_note: see queue-quota.h; a full cache forgets the entry
 * told least recently. */
void queue_quota_note(uint64_t account, uint64_t limit, uint64_t used)
{
	struct quota_entry *e = quota_find(account);
	if (e == NULL && entry_count < QUEUE_QUOTA_CACHE) {
		e = &entries[entry_count++];
	} else if (e == NULL) {
		e = &entries[0];
		for (size_t i = 1; i < entry_count; i++)
			if (entries[i].told < e->told)
				e = &entries[i];
	}
	*e = (struct quota_entry){ .account = account, .limit = limit, .used = used,
				   .told = ++notes };
}

/* queue_quota_fit: see queue-quota.h; exactly at the limit still fits,
 * as the store's check has it. */
enum queue_quota_fit queue_quota_fit(uint64_t account, uint64_t size)
{
	const struct quota_entry *e = quota_find(account);
	if (e == NULL)
		return QUEUE_QUOTA_UNKNOWN;
	if (e->limit == 0)
		return QUEUE_QUOTA_FITS;
	if (size > e->limit || e->used > e->limit - size)
		return QUEUE_QUOTA_OVER;
	return QUEUE_QUOTA_FITS;
}

/* queue_quota_forget: see queue-quota.h. */
void queue_quota_forget(void)
{
	memset(entries, 0, sizeof(entries));
	entry_count = 0;
	notes = 0;
}
