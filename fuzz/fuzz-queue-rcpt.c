/*
 * fuzz-queue-rcpt: the queue's reader of a recipient a pre-auth process
 * sends (IPC_QUEUE_RCPT), and the check of auth's seal on it.  An input
 * whose first bytes happen to make a valid seal is checked to round-trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/log.h"
#include "queue/queue-rcpt.h"

static void quiet(enum log_level level, const char *record, size_t len)
{
	(void)level;
	(void)record;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[TICKET_KEY_SIZE] = { 1, 2, 3 };
	static struct queue_rcpt got;
	struct queue_rcpt_origin origin = { .peer = "preauth 1", .serial = 1, .txn = 0 };

	log_set_sink(quiet);
	if (size > IPC_MAX_PAYLOAD)
		return 0;
	struct ipc_msg msg = { .kind = IPC_QUEUE_RCPT, .payload = data, .len = size, .fd = -1 };
	if (queue_rcpt_read(key, &msg, &origin, 0, &got) < 0)
		return 0;
	/* Accepted: the accounts and address lie within what was sent. */
	if (got.account_count == 0 || got.account_count > IPC_RCPT_MAX_ACCOUNTS ||
	    got.address.len == 0 || got.address.ptr < (const char *)data ||
	    got.address.ptr + got.address.len > (const char *)data + size)
		__builtin_trap();
	return 0;
}
