#ifndef RAVELIN_AUTH_SUBMIT_H
#define RAVELIN_AUTH_SUBMIT_H
/*
 * auth-submit: what auth answers a pre-auth process whose client logged
 * in over submission, beyond the login itself: which addresses the
 * account may send as (sealed, so the queue believes the sender only on
 * auth's word), and that it may send to remote recipients (a recipient
 * sealed with no accounts), which no other pre-auth process ever gets.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/directory.h"
#include "lib/buf.h"
#include "lib/ticket.h"

/*
 * auth_submit_rcpt_status maps directory_resolve's answer (found, with
 * count accounts) to IPC_RCPT_RESULT's status for a pre-auth process
 * whose submission login is account (0: none).  An address not ours is a
 * relay: IPC_RCPT_OK with no accounts when account is not 0, else
 * IPC_RCPT_NOT_LOCAL.  *seal_r says whether the answer gets a seal: only
 * IPC_RCPT_OK ones.
 */
uint64_t auth_submit_rcpt_status(int found, size_t count, uint64_t account, bool *seal_r);

/*
 * auth_submit_senders writes the payload of IPC_SUBMIT_SENDERS for
 * account, logged in on pre-auth process serial, into out: the account,
 * expires, and each address it may send as (directory_sender_addresses,
 * at most IPC_SUBMIT_MAX_SENDERS) with its seal under key (a recipient
 * seal over the address and the account, transaction IPC_SENDER_SEAL_TXN).
 * 0, or -1 (the directory failed: *error_r).
 */
int auth_submit_senders(struct directory *dir, const unsigned char key[TICKET_KEY_SIZE],
			uint64_t serial, uint64_t account, uint64_t expires, struct buf *out,
			const char **error_r);

#endif
