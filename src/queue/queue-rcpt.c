/* queue-rcpt: a recipient is believed only under auth's seal (see
 * queue-rcpt.h). */
#include "queue-rcpt.h"

#include "lib/log.h"

bool queue_rcpt_address_ok(struct str s)
{
	if (s.len > IPC_MAX_PATH)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

int queue_rcpt_read(const unsigned char key[TICKET_KEY_SIZE], const struct ipc_msg *msg,
		    const struct queue_rcpt_origin *origin, uint64_t now, struct queue_rcpt *out)
{
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	out->address = ipc_get_str(&r, IPC_MAX_PATH);
	uint64_t n = ipc_get_u64(&r);
	if (n > IPC_RCPT_MAX_ACCOUNTS)
		r.bad = true;
	for (uint64_t i = 0; i < n && !r.bad; i++)
		out->accounts[i] = ipc_get_u64(&r);
	out->account_count = r.bad ? 0 : (size_t)n;
	uint64_t expires = ipc_get_u64(&r);
	struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
	/* n == 0 is a remote recipient: taken only under auth's seal too,
	 * which auth gives only to a client logged in over submission. */
	if (!ipc_reader_ok(&r) || out->address.len == 0 ||
	    !queue_rcpt_address_ok(out->address)) {
		log_error("malformed queue-rcpt from %s", origin->peer);
		return -1;
	}
	struct ticket_rcpt seal = { .serial = origin->serial, .txn = origin->txn,
				    .expires = expires, .address = out->address,
				    .accounts = out->accounts, .account_count = out->account_count };
	if (ticket_rcpt_check(key, &seal, (const unsigned char *)mac.ptr, mac.len, now) < 0) {
		log_error("%s named accounts for <%.*s> without auth's seal for them in this "
			  "transaction: recipient refused, message not accepted",
			  origin->peer, (int)out->address.len, out->address.ptr);
		return -1;
	}
	return 0;
}

int queue_rcpt_sender(const unsigned char key[TICKET_KEY_SIZE], struct str sender,
		      uint64_t account, uint64_t expires, struct str mac,
		      const struct queue_rcpt_origin *origin, uint64_t now)
{
	if (account == 0)
		return mac.len == 0 ? 0 : -1;
	struct ticket_rcpt seal = { .serial = origin->serial, .txn = IPC_SENDER_SEAL_TXN,
				    .expires = expires, .address = sender, .accounts = &account,
				    .account_count = 1 };
	if (ticket_rcpt_check(key, &seal, (const unsigned char *)mac.ptr, mac.len, now) < 0) {
		log_error("%s named account %llu as the sender of <%.*s> without auth's seal: "
			  "message not accepted", origin->peer, (unsigned long long)account,
			  (int)sender.len, sender.ptr);
		return -1;
	}
	return 0;
}
