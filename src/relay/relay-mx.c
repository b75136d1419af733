/* relay-mx: the order of a domain's mail hosts (see relay-mx.h). */
#include "relay-mx.h"

#include <stdbool.h>

/* is_root: the target "." (or "", as dns.h gives it without the dot). */
static bool is_root(struct str host)
{
	return host.len == 0 || (host.len == 1 && host.ptr[0] == '.');
}

enum relay_mx_result relay_mx_order(const struct dns_answer *a, struct str domain,
				    struct str hosts[RELAY_MX_MAX_HOSTS], size_t *count,
				    relay_mx_random_fn *random, void *ctx)
{
	*count = 0;
	switch (a->status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		hosts[0] = domain;
		*count = 1;
		return RELAY_MX_IMPLICIT;
	case DNS_NXDOMAIN:
		return RELAY_MX_NO_DOMAIN;
	case DNS_TEMPFAIL:
	case DNS_BOGUS:
	default:
		return RELAY_MX_TEMPFAIL;
	}
	if (a->count == 1 && a->records[0].pref == 0 && is_root(a->records[0].data))
		return RELAY_MX_NULL;
	/* A selection of the lowest preferences, RELAY_MX_MAX_HOSTS at most:
	 * the answer holds at most DNS_MAX_RECORDS, so this is cheap. */
	const struct dns_record *chosen[RELAY_MX_MAX_HOSTS];
	bool taken[DNS_MAX_RECORDS] = { false };
	size_t n = a->count < DNS_MAX_RECORDS ? a->count : DNS_MAX_RECORDS;
	while (*count < RELAY_MX_MAX_HOSTS) {
		/* The lowest preference not taken yet, and how many have it. */
		long best = -1;
		for (size_t i = 0; i < n; i++)
			if (!taken[i] && !is_root(a->records[i].data) &&
			    (best < 0 || a->records[i].pref < a->records[best].pref))
				best = (long)i;
		if (best < 0)
			break;
		uint16_t pref = a->records[best].pref;
		size_t first = *count;
		for (size_t i = 0; i < n && *count < RELAY_MX_MAX_HOSTS; i++)
			if (!taken[i] && !is_root(a->records[i].data) && a->records[i].pref == pref) {
				taken[i] = true;
				chosen[(*count)++] = &a->records[i];
			}
		/* Equal preferences in random order (Fisher-Yates). */
		for (size_t i = *count - 1; i > first; i--) {
			size_t j = first + random(ctx) % (i - first + 1);
			const struct dns_record *t = chosen[i];
			chosen[i] = chosen[j];
			chosen[j] = t;
		}
		/* Any left of this preference past the limit stay untried. */
		for (size_t i = 0; i < n; i++)
			if (a->records[i].pref == pref)
				taken[i] = true;
	}
	for (size_t i = 0; i < *count; i++)
		hosts[i] = chosen[i]->data;
	return *count > 0 ? RELAY_MX_HOSTS : RELAY_MX_TEMPFAIL;
}
