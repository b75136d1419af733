#ifndef RAVELIN_TICKET_H
#define RAVELIN_TICKET_H
/*
 * ticket: the proof that auth accepted a login.  auth seals (account id,
 * expiry, nonce) with HMAC-SHA-256 under a key that master makes at start
 * and gives to auth only; front carries the sealed ticket to master, which
 * opens it with the same key and only then gives front a session on that
 * account's worker.  Front can neither make nor alter one (DESIGN rule 2:
 * the account a session touches is decided by auth, not by request bytes).
 */
#include <stddef.h>
#include <stdint.h>

#include "str.h"

#define TICKET_KEY_SIZE 32
/* version, account, expiry, nonce (8 bytes each) and the 32-byte MAC */
#define TICKET_SIZE 64
/* A ticket only has to live from the login to the session's start. */
#define TICKET_LIFETIME_SECONDS 30

struct ticket {
	uint64_t account;
	uint64_t expires;  /* Unix time */
	uint64_t nonce;    /* random, set by ticket_seal */
};

/* Tickets shown and not yet expired, so each opens a session once: one
 * login a millisecond for a ticket's whole life fits. */
#define TICKET_REPLAY_SLOTS (32 * 1024)
/* Slots a nonce may take after its hash: a full window refuses. */
#define TICKET_REPLAY_PROBES 64

struct ticket_replay {
	struct {
		uint64_t nonce;
		uint64_t expires;
	} seen[TICKET_REPLAY_SLOTS];
};

/* ticket_replay_use records t's nonce; -1 if it was used before (a replay)
 * or if the table is full of live tickets (refuse: fail closed). */
int ticket_replay_use(struct ticket_replay *r, const struct ticket *t, uint64_t now);

/* ticket_seal writes the sealed ticket for t into out. */
void ticket_seal(const unsigned char key[TICKET_KEY_SIZE], const struct ticket *t,
		 unsigned char out[TICKET_SIZE]);
/* ticket_open checks the MAC (in constant time), the version and the
 * expiry against now; 0 with *t filled, or -1. */
int ticket_open(const unsigned char key[TICKET_KEY_SIZE], const unsigned char *in, size_t len,
		uint64_t now, struct ticket *t);

/*
 * A recipient seal: auth's word that an address delivers to these
 * accounts, for one SMTP transaction of one pre-auth process.  auth makes
 * it when it answers a recipient look-up; the pre-auth process carries it
 * to the queue with the recipient, and the queue checks it with the
 * serial of the link it came on and its own count of that link's
 * transactions, so a pre-auth process can neither name an account auth
 * did not give for that address nor reuse the answer in another message.
 * Sealed under a key of its own (master gives it to auth and queue only),
 * so the queue, holding it, still cannot make login tickets.
 */
#define TICKET_RCPT_MAC_SIZE 32

struct ticket_rcpt {
	uint64_t serial;           /* the pre-auth process that asked */
	uint64_t txn;              /* its transactions begun before this one */
	uint64_t expires;          /* Unix time */
	struct str address;
	const uint64_t *accounts;
	size_t account_count;
};

/* ticket_rcpt_seal writes the MAC of r into mac. */
void ticket_rcpt_seal(const unsigned char key[TICKET_KEY_SIZE], const struct ticket_rcpt *r,
		      unsigned char mac[TICKET_RCPT_MAC_SIZE]);
/* ticket_rcpt_check: 0 if mac (len bytes) is r's under key (compared in
 * constant time) and r has not expired at now; -1 otherwise. */
int ticket_rcpt_check(const unsigned char key[TICKET_KEY_SIZE], const struct ticket_rcpt *r,
		      const unsigned char *mac, size_t len, uint64_t now);

#endif
