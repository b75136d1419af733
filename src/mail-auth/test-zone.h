#ifndef RAVELIN_TEST_ZONE_H
#define RAVELIN_TEST_ZONE_H
/* test-zone: a DNS zone for the mail-auth unit tests, kept in a dns_cache,
 * and the replay loop that answers an evaluator's needs from it. */
#include "dns-cache.h"

/* zone_add adds one record to the answer for (type, name): A/AAAA from
 * address text, MX as "pref host", TXT and PTR as they are. */
void zone_add(struct dns_cache *zone, enum dns_type type, const char *name, const char *data);
/* zone_status makes the answer for (type, name) a bare status. */
void zone_status(struct dns_cache *zone, enum dns_type type, const char *name,
		 enum dns_status status);
/* zone_answer puts into cache the zone's answer to need (NXDOMAIN when
 * the zone has none). */
void zone_answer(const struct dns_cache *zone, struct dns_cache *cache,
		 const struct dns_need *need);

#endif
