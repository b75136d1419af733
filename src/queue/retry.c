/* retry: the remote retry policy (see retry.h). */
#include "retry.h"

#include <assert.h>

static struct {
	bool configured;
	struct config_schedule schedule;
	uint64_t expire;
	uint64_t delay_notice;
} retry;

void retry_configure(const struct config *config)
{
	assert(config->queue_retry_schedule.count > 0);
	retry.schedule = config->queue_retry_schedule;
	retry.expire = config->queue_expire;
	retry.delay_notice = config->queue_delay_notice;
	retry.configured = true;
}

/* retry_policy_ready: before retry_configure, the embedded defaults. */
static void retry_policy_ready(void)
{
	struct config defaults;
	if (retry.configured)
		return;
	config_defaults(&defaults, false);
	retry_configure(&defaults);
}

int64_t retry_next(unsigned attempt, int64_t first_tried, int64_t now)
{
	retry_policy_ready();
	unsigned step = attempt == 0 ? 0 : attempt - 1;
	if (step >= retry.schedule.count)
		step = retry.schedule.count - 1;
	int64_t next = now + (int64_t)retry.schedule.step[step];
	int64_t end = retry_until(first_tried);
	if (next > end)
		next = end > now ? end : now;
	return next;
}

bool retry_expired(int64_t first_tried, int64_t now)
{
	return now >= retry_until(first_tried);
}

int64_t retry_until(int64_t first_tried)
{
	retry_policy_ready();
	return first_tried + (int64_t)retry.expire;
}

bool retry_notice_due(int64_t first_tried, int64_t now)
{
	retry_policy_ready();
	return retry.delay_notice != 0 && now - first_tried >= (int64_t)retry.delay_notice &&
	       !retry_expired(first_tried, now);
}
