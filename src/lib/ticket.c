/* ticket: sealed proof of a login (see ticket.h). */
#include "ticket.h"

#include <string.h>

#include <sodium.h>

#define TICKET_VERSION 1
#define TICKET_BODY 32

void ticket_seal(const unsigned char key[TICKET_KEY_SIZE], const struct ticket *t,
		 unsigned char out[TICKET_SIZE])
{
	uint64_t fields[4] = { TICKET_VERSION, t->account, t->expires, 0 };

	randombytes_buf(&fields[3], sizeof(fields[3]));
	memcpy(out, fields, TICKET_BODY);
	crypto_auth_hmacsha256(out + TICKET_BODY, out, TICKET_BODY, key);
}

int ticket_open(const unsigned char key[TICKET_KEY_SIZE], const unsigned char *in, size_t len,
		uint64_t now, struct ticket *t)
{
	uint64_t fields[4];

	if (len != TICKET_SIZE ||
	    crypto_auth_hmacsha256_verify(in + TICKET_BODY, in, TICKET_BODY, key) != 0)
		return -1;
	memcpy(fields, in, TICKET_BODY);
	if (fields[0] != TICKET_VERSION || fields[1] == 0 || fields[2] < now)
		return -1;
	t->account = fields[1];
	t->expires = fields[2];
	t->nonce = fields[3];
	return 0;
}

int ticket_replay_use(struct ticket_replay *r, const struct ticket *t, uint64_t now)
{
	/* A nonce lives in one of the TICKET_REPLAY_PROBES slots after its
	 * hash (nonces are random, so well spread); a slot whose ticket has
	 * expired is free again.  So the window is all a look-up reads. */
	size_t start = (size_t)(t->nonce % TICKET_REPLAY_SLOTS);
	size_t free_slot = TICKET_REPLAY_SLOTS;
	for (size_t i = 0; i < TICKET_REPLAY_PROBES; i++) {
		size_t k = (start + i) % TICKET_REPLAY_SLOTS;
		if (r->seen[k].expires < now) {
			if (free_slot == TICKET_REPLAY_SLOTS)
				free_slot = k;
		} else if (r->seen[k].nonce == t->nonce) {
			return -1;
		}
	}
	if (free_slot == TICKET_REPLAY_SLOTS)
		return -1;
	r->seen[free_slot].nonce = t->nonce;
	r->seen[free_slot].expires = t->expires;
	return 0;
}

/* What a recipient seal's MAC covers, each length before its bytes, after
 * a label that no login ticket starts with. */
void ticket_rcpt_seal(const unsigned char key[TICKET_KEY_SIZE], const struct ticket_rcpt *r,
		      unsigned char mac[TICKET_RCPT_MAC_SIZE])
{
	static const char label[] = "ravelin recipient 1";
	crypto_auth_hmacsha256_state st;
	uint64_t head[5] = { r->serial, r->txn, r->expires, r->address.len, r->account_count };

	crypto_auth_hmacsha256_init(&st, key, TICKET_KEY_SIZE);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, sizeof(label));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)head, sizeof(head));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)r->address.ptr, r->address.len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)r->accounts,
				      r->account_count * sizeof(r->accounts[0]));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

int ticket_rcpt_check(const unsigned char key[TICKET_KEY_SIZE], const struct ticket_rcpt *r,
		      const unsigned char *mac, size_t len, uint64_t now)
{
	unsigned char want[TICKET_RCPT_MAC_SIZE];

	if (len != TICKET_RCPT_MAC_SIZE || r->expires < now)
		return -1;
	ticket_rcpt_seal(key, r, want);
	return sodium_memcmp(want, mac, TICKET_RCPT_MAC_SIZE) == 0 ? 0 : -1;
}
