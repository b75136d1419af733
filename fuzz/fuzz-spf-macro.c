/*
 * fuzz-spf-macro: RFC 7208 macro expansion of any bytes, as a domain-spec
 * and as explanation text, for an IPv4 and an IPv6 client; checks that an
 * expansion stays within its buffer and that cutting it to a domain name
 * gives at most 253 octets.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mail-auth/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[SPF_MAX_EXPANSION + 1];
	static const char *ips[] = { "198.51.100.7", "2001:db8::cb01" };
	struct str s = str_from((const char *)data, size);

	for (size_t k = 0; k < 4; k++) {
		struct spf_params p = { .sender = STR("strong-bad@email.example.com"),
					.helo = STR("mx.example.org"), .receiver = STR("mx.test"),
					.now = 1700000000 };
		assert(spf_ip_parse(str_c(ips[k & 1]), &p.ip) == 0);
		size_t outsize = k < 2 ? sizeof(out) : 64;
		long n = spf_expand(s, &p, STR("email.example.com"), k & 2, out, outsize);
		if (n < 0)
			continue;
		assert((size_t)n < outsize && strlen(out) == (size_t)n);
		struct str cut = spf_domain_cut(str_from(out, (size_t)n));
		assert(cut.len <= DNS_MAX_NAME);
	}
	return 0;
}
