/* test-zone: a test zone kept in a dns_cache (see test-zone.h). */
#include "test-zone.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

void zone_add(struct dns_cache *zone, enum dns_type type, const char *name, const char *data)
{
	const struct dns_answer *old = dns_cache_get(zone, type, str_c(name));
	size_t count = old != NULL ? old->count : 0;
	struct dns_record *r = calloc(count + 1, sizeof(*r));
	uint8_t addr[16];
	char *end;

	if (count > 0)
		memcpy(r, old->records, count * sizeof(*r));
	struct dns_record *rec = &r[count];
	rec->data = str_c(data);
	if (type == DNS_TYPE_A || type == DNS_TYPE_AAAA) {
		int ok = inet_pton(type == DNS_TYPE_A ? AF_INET : AF_INET6, data, addr);
		if (ok != 1)
			abort();
		rec->data = str_from((const char *)addr, type == DNS_TYPE_A ? 4 : 16);
	} else if (type == DNS_TYPE_MX) {
		rec->pref = (uint16_t)strtoul(data, &end, 10);
		rec->data = str_c(end + 1);
	}
	struct dns_answer a = { .status = DNS_OK, .count = count + 1, .records = r };
	if (dns_cache_put(zone, type, str_c(name), &a) < 0)
		abort();
	free(r);
}

void zone_status(struct dns_cache *zone, enum dns_type type, const char *name,
		 enum dns_status status)
{
	struct dns_answer a = { .status = status };
	if (dns_cache_put(zone, type, str_c(name), &a) < 0)
		abort();
}

void zone_answer(const struct dns_cache *zone, struct dns_cache *cache,
		 const struct dns_need *need)
{
	static const struct dns_answer nx = { .status = DNS_NXDOMAIN };
	const struct dns_answer *a = dns_cache_get(zone, need->type, str_c(need->name));
	if (dns_cache_put(cache, need->type, str_c(need->name), a != NULL ? a : &nx) < 0)
		abort();
}
