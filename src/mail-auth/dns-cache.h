#ifndef RAVELIN_DNS_CACHE_H
#define RAVELIN_DNS_CACHE_H
/*
 * dns-cache: the DNS answers an inbound check has had so far, kept for
 * replay.  A check (SPF, DKIM, DMARC) is pure code: it runs over the
 * cache and either finishes or says which (type, name) it needs; the
 * caller asks the resolver, puts the answer here and runs it again.
 * Answers are copied in; names compare without regard to ASCII case and
 * to a final dot.
 */
#include "lib/dns.h"
#include "lib/str.h"

/* Answers one cache holds: every check of one message together asks a
 * few dozen (SPF's limit is 10 lookups plus their MX/A, DKIM five keys). */
#define DNS_CACHE_MAX_ENTRIES 128

struct dns_cache;

struct dns_cache *dns_cache_new(void);
void dns_cache_free(struct dns_cache **c);
/* dns_cache_get gives the answer for (type, name), or NULL if none yet;
 * valid until the cache is freed. */
const struct dns_answer *dns_cache_get(const struct dns_cache *c, enum dns_type type,
				       struct str name);
/* dns_cache_put copies a in for (type, name), replacing one there.  0, or
 * -1 when full (DNS_CACHE_MAX_ENTRIES), name too long or no memory. */
int dns_cache_put(struct dns_cache *c, enum dns_type type, struct str name,
		  const struct dns_answer *a);

#endif
