#ifndef RAVELIN_QUEUE_RCPT_H
#define RAVELIN_QUEUE_RCPT_H
/*
 * queue-rcpt: the queue's check of a recipient a pre-auth process hands it
 * (IPC_QUEUE_RCPT).  The accounts are believed only under auth's seal
 * (lib/ticket.h), made for that address, that pre-auth process and that
 * transaction: a pre-auth process cannot deliver into an account auth did
 * not name for the address (DESIGN rule 2).  A recipient with no accounts
 * is remote; auth seals one only for a client that logged in over
 * submission, so no other pre-auth process can relay.  The sender's
 * account (IPC_QUEUE_BEGIN) is believed likewise only under auth's seal.
 */
#include <stdbool.h>
#include <stdint.h>

#include "lib/ipc.h"
#include "lib/ticket.h"

struct queue_rcpt {
	struct str address;       /* points into the message's payload */
	uint64_t accounts[IPC_RCPT_MAX_ACCOUNTS];
	size_t account_count;
};

/* Where an IPC_QUEUE_RCPT came from: the link's serial (the spawner said
 * it, not the pre-auth process) and the queue's own count of the
 * transactions begun on that link before this one. */
struct queue_rcpt_origin {
	const char *peer;         /* for the log */
	uint64_t serial;
	uint64_t txn;
};

/* queue_rcpt_address_ok: s may go into the envelope text (a path's
 * length at most, no spaces or control characters). */
bool queue_rcpt_address_ok(struct str s);

/* queue_rcpt_read parses msg into *out and checks auth's seal on it under
 * key at time now.  Returns 0, or -1 (malformed, or not sealed by auth for
 * this address, these accounts and this transaction): the refusal is
 * logged, naming the peer and the address. */
int queue_rcpt_read(const unsigned char key[TICKET_KEY_SIZE], const struct ipc_msg *msg,
		    const struct queue_rcpt_origin *origin, uint64_t now, struct queue_rcpt *out);

/* queue_rcpt_sender checks IPC_QUEUE_BEGIN's sender account: 0 (none,
 * with no seal), or auth's sender seal (IPC_SENDER_SEAL_TXN) on sender and
 * account for the origin's pre-auth process.  0, or -1 (logged). */
int queue_rcpt_sender(const unsigned char key[TICKET_KEY_SIZE], struct str sender,
		      uint64_t account, uint64_t expires, struct str mac,
		      const struct queue_rcpt_origin *origin, uint64_t now);

#endif
