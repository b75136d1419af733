/* auth-submit: a submission login's senders and relaying (auth-submit.h). */
#include "auth-submit.h"

#include "lib/ipc.h"

uint64_t auth_submit_rcpt_status(int found, size_t count, uint64_t account, bool *seal_r)
{
	uint64_t status;

	switch (found) {
	case DIRECTORY_RESOLVE_FOUND:
		status = IPC_RCPT_OK;
		break;
	case DIRECTORY_RESOLVE_UNKNOWN:
		status = IPC_RCPT_UNKNOWN;
		break;
	case DIRECTORY_RESOLVE_NOT_LOCAL:
		/* Relaying: for a logged-in submission client only. */
		status = account != 0 ? IPC_RCPT_OK : IPC_RCPT_NOT_LOCAL;
		count = 0;
		break;
	case DIRECTORY_RESOLVE_LOOP:
		status = IPC_RCPT_LOOP;
		break;
	default:
		status = IPC_RCPT_TEMPFAIL;
		break;
	}
	*seal_r = status == IPC_RCPT_OK && (count > 0 || found == DIRECTORY_RESOLVE_NOT_LOCAL);
	return status;
}

int auth_submit_senders(struct directory *dir, const unsigned char key[TICKET_KEY_SIZE],
			uint64_t serial, uint64_t account, uint64_t expires, struct buf *out,
			const char **error_r)
{
	static char list[IPC_SUBMIT_MAX_SENDERS][DIRECTORY_MAX_ADDRESS + 1];
	size_t n;
	unsigned char mac[TICKET_RCPT_MAC_SIZE];

	if (directory_sender_addresses(dir, account, list, IPC_SUBMIT_MAX_SENDERS, &n,
				       error_r) < 0)
		return -1;
	ipc_put_u64(out, account);
	ipc_put_u64(out, expires);
	ipc_put_u64(out, n);
	for (size_t i = 0; i < n; i++) {
		struct ticket_rcpt seal = { .serial = serial, .txn = IPC_SENDER_SEAL_TXN,
					    .expires = expires, .address = str_c(list[i]),
					    .accounts = &account, .account_count = 1 };
		ticket_rcpt_seal(key, &seal, mac);
		ipc_put_str(out, seal.address);
		ipc_put_str(out, str_from((const char *)mac, sizeof(mac)));
	}
	return 0;
}
