/* queue-retry: local delivery retries (see queue-retry.h). */
#include "queue-retry.h"

static void retry_fired(struct ev_timer *t, void *ctx)
{
	struct qmsg *m = ctx;
	(void)t;
	m->retry = NULL;
	for (size_t i = 0; i < m->env.rcpt_count; i++)
		if (m->state[i] == RCPT_WAITING)
			m->state[i] = RCPT_PENDING;
	queue_dispatch();
}

void queue_retry_schedule(struct qmsg *m)
{
	if (m->retry != NULL)
		return;
	uint64_t delay = queue_config()->queue_retry_delay;
	for (unsigned i = 0; i < m->attempts && delay < QUEUE_MAX_RETRY_DELAY_S; i++)
		delay *= 2;
	if (delay > QUEUE_MAX_RETRY_DELAY_S)
		delay = QUEUE_MAX_RETRY_DELAY_S;
	m->attempts++;
	m->retry = ev_timer_add(queue_ev(), delay * 1000, retry_fired, m);
}

void queue_retry_now(struct qmsg *m)
{
	if (m->retry != NULL)
		ev_timer_del(&m->retry);
	retry_fired(NULL, m);
}
