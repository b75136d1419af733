/*
 * queue-quota-wait: questions about quotas waiting for workers' figures
 * (see queue-quota-wait.h).  A plain list: at most QUEUE_QUOTA_WAIT_MAX
 * entries, looked at when a worker tells its figures.
 */
#include "queue-quota-wait.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ev.h"

struct quota_wait {
	struct quota_wait *next;
	struct ev_timer *timer;
	struct ipc *front;
	uint64_t id;
	uint64_t accounts[QUEUE_QUOTA_WAIT_ACCOUNTS];
	size_t account_count;
	queue_quota_wait_fn *fn;
	void *data;
};

static struct quota_wait *waits;
static size_t wait_count;

/* quota_wait_unlink takes w off the list (its timer is left alone). */
static void quota_wait_unlink(struct quota_wait *w)
{
	struct quota_wait **pp = &waits;
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	wait_count--;
}

/* quota_wait_answer: w is off the list; its callback answers, then w goes.
 * The callback may close the front's link (and so drop others). */
static void quota_wait_answer(struct quota_wait *w)
{
	queue_quota_wait_fn *fn = w->fn;
	struct ipc *front = w->front;
	uint64_t id = w->id;
	void *data = w->data;
	free(w);
	fn(front, id, data);
}

static void quota_wait_expired(struct ev_timer *timer, void *ctx)
{
	struct quota_wait *w = ctx;
	(void)timer;
	w->timer = NULL;
	quota_wait_unlink(w);
	quota_wait_answer(w);
}

/* queue_quota_wait_add: see queue-quota-wait.h. */
int queue_quota_wait_add(struct ev *ev, uint64_t ms, struct ipc *front, uint64_t id,
			 const uint64_t *accounts, size_t n, queue_quota_wait_fn *fn, void *data)
{
	if (wait_count >= QUEUE_QUOTA_WAIT_MAX || n == 0)
		return -1;
	struct quota_wait *w = malloc(sizeof(*w));
	if (w == NULL)
		return -1;
	*w = (struct quota_wait){ .next = waits, .front = front, .id = id, .fn = fn, .data = data,
				  .account_count = n < QUEUE_QUOTA_WAIT_ACCOUNTS ?
							   n : QUEUE_QUOTA_WAIT_ACCOUNTS };
	memcpy(w->accounts, accounts, w->account_count * sizeof(*accounts));
	w->timer = ev_timer_add(ev, ms, quota_wait_expired, w);
	if (w->timer == NULL) {
		free(w);
		return -1;
	}
	waits = w;
	wait_count++;
	return 0;
}

/* queue_quota_wait_told: see queue-quota-wait.h.  One answered at a time,
 * from the head again: an answer may change the list. */
void queue_quota_wait_told(uint64_t account)
{
	for (struct quota_wait *w = waits; w != NULL; w = w->next) {
		for (size_t i = 0; i < w->account_count; i++) {
			if (w->accounts[i] != account)
				continue;
			w->accounts[i] = w->accounts[--w->account_count];
			break;
		}
	}
	bool again = true;
	while (again) {
		again = false;
		for (struct quota_wait *w = waits; w != NULL; w = w->next) {
			if (w->account_count > 0)
				continue;
			quota_wait_unlink(w);
			ev_timer_del(&w->timer);
			quota_wait_answer(w);
			again = true;
			break;
		}
	}
}

/* queue_quota_wait_drop: see queue-quota-wait.h. */
void queue_quota_wait_drop(struct ipc *front)
{
	struct quota_wait **pp = &waits;
	while (*pp != NULL) {
		struct quota_wait *w = *pp;
		if (w->front != front) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		wait_count--;
		ev_timer_del(&w->timer);
		free(w->data);
		free(w);
	}
	assert(wait_count <= QUEUE_QUOTA_WAIT_MAX);
}

/* queue_quota_wait_count: see queue-quota-wait.h. */
size_t queue_quota_wait_count(void)
{
	return wait_count;
}
