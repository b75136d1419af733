#ifndef RAVELIN_MTA_STS_CACHE_H
#define RAVELIN_MTA_STS_CACHE_H
/*
 * mta-sts-cache: the MTA-STS policies a sender has seen, per destination
 * domain, until their max_age runs out (RFC 8461 5.1).  Pure: the time is
 * given by the caller, nothing is read or written outside the cache.
 *
 * Relay processes are short-lived and hold no files, so the cache lives in
 * a long-lived process (the queue): the policy text travels to the relay
 * child for its destination and a new one comes back after a fetch.  The
 * text is the canonical form of mta_sts_policy_format (bounded by
 * MTA_STS_FORMAT_MAX) and is opaque here: the relay child parses it again
 * with mta_sts_policy_parse, so the process holding the cache never parses
 * network input.
 *
 * How a sender uses it (RFC 8461 3.3, 5.1):
 *  - TXT id equal to the cached id: use the cached policy, no fetch;
 *  - TXT id different, or no entry: fetch; on success put the new policy;
 *    on failure go on with the cached policy, if any (and try again on
 *    the next delivery);
 *  - no TXT record, or a failed lookup: use the cached policy, if any.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"
#include "relay/mta-sts.h"

/* Domains kept.  A miss costs one HTTPS fetch, so the bound only has to
 * cover the domains an organisation mails in a policy's lifetime; an
 * entry is about half a KiB, so this is at most 2 MiB.  When full, the
 * entry that expires first makes room. */
#define MTA_STS_CACHE_MAX_ENTRIES 4096

struct mta_sts_cache_entry {
	char domain[DNS_MAX_NAME + 1]; /* lower case */
	struct mta_sts_id id;
	int64_t fetched;               /* seconds since the epoch */
	int64_t expires;               /* fetched + max_age */
	char *policy;                  /* canonical policy text, NUL-terminated */
	size_t policy_len;
};

struct mta_sts_cache;

/* mta_sts_cache_new makes an empty cache of at most max_entries (1 to
 * MTA_STS_CACHE_MAX_ENTRIES); NULL if out of memory or max_entries is
 * out of range. */
struct mta_sts_cache *mta_sts_cache_new(size_t max_entries);
/* mta_sts_cache_free frees the cache and sets *c to NULL. */
void mta_sts_cache_free(struct mta_sts_cache **c);

/* mta_sts_cache_put keeps policy (text, at most MTA_STS_FORMAT_MAX bytes)
 * with its id for domain from now for max_age seconds (at most
 * MTA_STS_MAX_AGE), replacing what the domain had.  max_age 0 removes the
 * domain.  Returns 0, or -1 (domain, id or text out of bounds, or out of
 * memory; the cache is unchanged). */
int mta_sts_cache_put(struct mta_sts_cache *c, struct str domain, const struct mta_sts_id *id,
		      struct str policy, uint32_t max_age, int64_t now);

/* mta_sts_cache_get: domain's entry if it has not expired at now (the
 * domain in any case), else NULL (an expired entry is dropped).  The
 * entry lives until the next put or drop on the cache. */
const struct mta_sts_cache_entry *mta_sts_cache_get(struct mta_sts_cache *c, struct str domain,
						    int64_t now);

/* mta_sts_cache_drop forgets domain. */
void mta_sts_cache_drop(struct mta_sts_cache *c, struct str domain);

/* mta_sts_cache_count: the entries held (expired ones included until a
 * get or a put finds them). */
size_t mta_sts_cache_count(const struct mta_sts_cache *c);

/* What a relay child does about a domain's policy (RFC 8461 3.3, 5.1). */
enum mta_sts_plan {
	MTA_STS_PLAN_NONE = 0, /* no policy: opportunistic TLS (or DANE) */
	MTA_STS_PLAN_CACHED,   /* use the cached policy as it is */
	MTA_STS_PLAN_FETCH,    /* fetch; if that fails, the cached one if any */
};

/* mta_sts_cache_plan: from txt, what mta_sts_txt_find returned (1 with
 * txt_id, 0 or -1), and the id of the cached unexpired policy (NULL: none
 * cached), what to do. */
enum mta_sts_plan mta_sts_cache_plan(int txt, const struct mta_sts_id *txt_id,
				     const struct mta_sts_id *cached_id);

#endif
