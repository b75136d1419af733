/* auth-queue: fair order of password checks and login penalties (see
 * auth-queue.h).  The tables are small fixed arrays scanned in full: at
 * the rate argon2id allows (tens of checks a second) that costs nothing,
 * and nothing here can grow. */
#include "auth-queue.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipc.h"

/* Prefixes, in bits, of the networks that share one check in flight. */
#define AUTH_NET_V4_BITS 24
#define AUTH_NET_V6_BITS 64
/* IPv6 hosts choose their address inside a /64 (RFC 4941), so one is
 * counted as one client. */
#define AUTH_PENALTY_V6_BITS 64

struct slot {
	bool used;
	bool in_flight;
	bool known_good;
	uint64_t seq;          /* arrival order */
	uint64_t net_turn;     /* when its network was last given a check */
	struct auth_client client;
	void *request;
};

struct known {
	struct auth_key key;
	time_t last;           /* 0: free */
};

struct failure {
	struct auth_key key;
	unsigned count;        /* 0: free */
	time_t last;
};

struct auth_queue {
	struct slot slots[AUTH_QUEUE_MAX];
	size_t waiting, in_flight;
	uint64_t next_seq;
	uint64_t turns;        /* checks given out so far */
	unsigned known_run;    /* known good checks in a row while a stranger waited */
	struct known known[AUTH_KNOWN_GOOD];
	struct failure failures[AUTH_PENALTY_TRACKED];
};

/* key_prefix keeps the first bits of bytes (len of them) and clears the rest. */
static void key_prefix(struct auth_key *k, uint8_t family, const uint8_t *bytes, size_t len,
		       unsigned bits)
{
	assert(len <= sizeof(k->bytes) && bits <= len * 8);
	memset(k, 0, sizeof(*k));
	k->family = family;
	memcpy(k->bytes, bytes, bits / 8);
	if (bits % 8 != 0)
		k->bytes[bits / 8] = bytes[bits / 8] & (uint8_t)(0xff << (8 - bits % 8));
}

void auth_client_from_ip(struct str ip, struct auth_client *client_r)
{
	char text[IPC_LOGIN_MAX_IP + 1];
	uint8_t a[16];
	static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(client_r, 0, sizeof(*client_r));
	if (ip.ptr == NULL || ip.len >= sizeof(text))
		return;
	memcpy(text, ip.ptr, ip.len);
	text[ip.len] = '\0';
	if (inet_pton(AF_INET, text, a) == 1) {
		key_prefix(&client_r->address, AUTH_KEY_IPV4, a, 4, 32);
		key_prefix(&client_r->network, AUTH_KEY_IPV4, a, 4, AUTH_NET_V4_BITS);
		client_r->penalty = client_r->address;
	} else if (inet_pton(AF_INET6, text, a) == 1) {
		if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0) {
			key_prefix(&client_r->address, AUTH_KEY_IPV4, a + 12, 4, 32);
			key_prefix(&client_r->network, AUTH_KEY_IPV4, a + 12, 4, AUTH_NET_V4_BITS);
			client_r->penalty = client_r->address;
			return;
		}
		key_prefix(&client_r->address, AUTH_KEY_IPV6, a, 16, 128);
		key_prefix(&client_r->network, AUTH_KEY_IPV6, a, 16, AUTH_NET_V6_BITS);
		key_prefix(&client_r->penalty, AUTH_KEY_IPV6, a, 16, AUTH_PENALTY_V6_BITS);
	}
}

bool auth_key_eq(const struct auth_key *a, const struct auth_key *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

struct auth_queue *auth_queue_new(void)
{
	return calloc(1, sizeof(struct auth_queue));
}

void auth_queue_free(struct auth_queue **q)
{
	free(*q);
	*q = NULL;
}

size_t auth_queue_waiting(const struct auth_queue *q)
{
	return q->waiting;
}

size_t auth_queue_in_flight(const struct auth_queue *q)
{
	return q->in_flight;
}

/* known_find gives the known-good entry of key (NULL if none, or expired). */
static struct known *known_find(struct auth_queue *q, const struct auth_key *key, time_t now)
{
	for (size_t i = 0; i < AUTH_KNOWN_GOOD; i++) {
		struct known *k = &q->known[i];
		if (k->last != 0 && now - k->last > AUTH_KNOWN_GOOD_S)
			k->last = 0;
		if (k->last != 0 && auth_key_eq(&k->key, key))
			return k;
	}
	return NULL;
}

/* known_add remembers key as known good now (the oldest entry makes room). */
static void known_add(struct auth_queue *q, const struct auth_key *key, time_t now)
{
	struct known *k = known_find(q, key, now);
	if (k == NULL) {
		k = &q->known[0];
		for (size_t i = 0; i < AUTH_KNOWN_GOOD && k->last != 0; i++)
			if (q->known[i].last < k->last)
				k = &q->known[i];
		k->key = *key;
	}
	/* 0 means free: a clock at the epoch still marks it used. */
	k->last = now != 0 ? now : 1;
}

/* failure_slot finds the failure entry of key; create: or the one to reuse
 * for it (the oldest), emptied. */
static struct failure *failure_slot(struct auth_queue *q, const struct auth_key *key,
				    time_t now, bool create)
{
	struct failure *oldest = &q->failures[0];
	for (size_t i = 0; i < AUTH_PENALTY_TRACKED; i++) {
		struct failure *f = &q->failures[i];
		if (f->count > 0 && now - f->last > AUTH_PENALTY_MEMORY_S)
			f->count = 0;
		if (f->count > 0 && auth_key_eq(&f->key, key))
			return f;
		if (oldest->count > 0 && (f->count == 0 || f->last < oldest->last))
			oldest = f;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->key = *key;
	return oldest;
}

int auth_queue_push(struct auth_queue *q, const struct auth_client *client, void *request,
		    time_t now)
{
	struct slot *free_slot = NULL;
	size_t same_network = 0;
	uint64_t net_turn = 0;

	for (size_t i = 0; i < AUTH_QUEUE_MAX; i++) {
		struct slot *s = &q->slots[i];
		if (!s->used && free_slot == NULL) {
			free_slot = s;
		} else if (s->used && auth_key_eq(&s->client.network, &client->network)) {
			same_network++;
			if (s->net_turn > net_turn)
				net_turn = s->net_turn;
		}
	}
	if (free_slot == NULL)
		return -1;
	bool known_good = known_find(q, &client->penalty, now) != NULL;
	if (!known_good && same_network >= AUTH_QUEUE_MAX_PER_NETWORK)
		return -1;
	*free_slot = (struct slot){ .used = true, .known_good = known_good,
				    .seq = q->next_seq++, .net_turn = net_turn, .client = *client,
				    .request = request };
	q->waiting++;
	return 0;
}

/* busy: has the address or the network of client a check in flight? */
static bool busy(const struct auth_queue *q, const struct auth_client *client)
{
	for (size_t i = 0; i < AUTH_QUEUE_MAX; i++) {
		const struct slot *s = &q->slots[i];
		if (s->used && s->in_flight &&
		    (auth_key_eq(&s->client.address, &client->address) ||
		     auth_key_eq(&s->client.network, &client->network)))
			return true;
	}
	return false;
}

/* better: should a be checked before b (both may start now, both known
 * good or both strangers)?  Known good ones in arrival order; strangers
 * by the network served longest ago (round robin), and within it in
 * arrival order. */
static bool better(const struct slot *a, const struct slot *b)
{
	if (!a->known_good && a->net_turn != b->net_turn)
		return a->net_turn < b->net_turn;
	return a->seq < b->seq;
}

void *auth_queue_next(struct auth_queue *q)
{
	/* The best of the clients known good, and of the strangers. */
	struct slot *known = NULL, *stranger = NULL;

	for (size_t i = 0; i < AUTH_QUEUE_MAX; i++) {
		struct slot *s = &q->slots[i];
		if (!s->used || s->in_flight || busy(q, &s->client))
			continue;
		struct slot **best = s->known_good ? &known : &stranger;
		if (*best == NULL || better(s, *best))
			*best = s;
	}
	struct slot *best = known;
	if (known == NULL || (stranger != NULL && q->known_run >= AUTH_KNOWN_GOOD_RUN))
		best = stranger;
	if (best == NULL)
		return NULL;
	q->known_run = best == known && stranger != NULL ? q->known_run + 1 : 0;
	/* Its network's other requests wait for the other networks' turns. */
	uint64_t turn = ++q->turns;
	for (size_t i = 0; i < AUTH_QUEUE_MAX; i++) {
		struct slot *s = &q->slots[i];
		if (s->used && auth_key_eq(&s->client.network, &best->client.network))
			s->net_turn = turn;
	}
	best->in_flight = true;
	q->waiting--;
	q->in_flight++;
	return best->request;
}

uint64_t auth_queue_done(struct auth_queue *q, void *request, bool ok, time_t now,
			 unsigned *failures_r)
{
	struct slot *s = NULL;
	for (size_t i = 0; i < AUTH_QUEUE_MAX && s == NULL; i++)
		if (q->slots[i].used && q->slots[i].in_flight && q->slots[i].request == request)
			s = &q->slots[i];
	assert(s != NULL);
	struct auth_client client = s->client;
	memset(s, 0, sizeof(*s));
	q->in_flight--;

	if (ok) {
		struct failure *f = failure_slot(q, &client.penalty, now, false);
		if (f != NULL)
			f->count = 0;
		known_add(q, &client.penalty, now);
		/* Its requests waiting meanwhile are a known client's too. */
		for (size_t i = 0; i < AUTH_QUEUE_MAX; i++)
			if (q->slots[i].used && auth_key_eq(&q->slots[i].client.penalty, &client.penalty))
				q->slots[i].known_good = true;
		if (failures_r != NULL)
			*failures_r = 0;
		return 0;
	}
	struct failure *f = failure_slot(q, &client.penalty, now, true);
	f->count++;
	f->last = now;
	uint64_t delay = IPC_LOGIN_FIRST_DELAY_MS;
	for (unsigned i = 1; i < f->count && delay < IPC_LOGIN_MAX_DELAY_MS; i++)
		delay *= 2;
	if (failures_r != NULL)
		*failures_r = f->count;
	return delay > IPC_LOGIN_MAX_DELAY_MS ? IPC_LOGIN_MAX_DELAY_MS : delay;
}
