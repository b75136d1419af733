/*
 * fuzz-spf-record: an SPF evaluation over answers taken from the input.
 * The first line is the SPF record of fuzz.test; the n-th answer the
 * evaluation asks for is made from line n + 1 (a TXT record, an MX or PTR
 * target, or an address from its first octets; an empty line is NXDOMAIN,
 * "!" a DNS failure, lines run out: NXDOMAIN).  Checks that the
 * evaluation ends within the answers the cache can hold, never asks again
 * for an answer it has, and gives one of the RFC 7208 results.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail-auth/spf.h"

/* next_line cuts the next line off *in. */
static struct str next_line(struct str *in)
{
	long nl = str_chr(*in, '\n');
	size_t n = nl < 0 ? in->len : (size_t)nl;
	struct str line = str_sub(*in, 0, n);
	*in = str_sub(*in, nl < 0 ? in->len : n + 1, in->len);
	return line;
}

static void answer(struct dns_cache *cache, const struct dns_need *need, struct str line)
{
	struct dns_record rec = { .pref = 10, .data = line };
	struct dns_answer a = { .status = DNS_OK, .count = 1, .records = &rec };
	uint8_t addr[16] = { 0 };

	if (line.len == 0)
		a = (struct dns_answer){ .status = DNS_NXDOMAIN };
	else if (line.len == 1 && line.ptr[0] == '!')
		a = (struct dns_answer){ .status = DNS_TEMPFAIL };
	else if (need->type == DNS_TYPE_A || need->type == DNS_TYPE_AAAA) {
		size_t want = need->type == DNS_TYPE_A ? 4 : 16;
		memcpy(addr, line.ptr, line.len < want ? line.len : want);
		rec.data = str_from((const char *)addr, want);
	}
	assert(dns_cache_put(cache, need->type, str_c(need->name), &a) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str in = str_from((const char *)data, size);
	struct str record = next_line(&in);
	static const char *ips[] = { "192.0.2.1", "2001:db8::1" };

	for (size_t k = 0; k < 2; k++) {
		struct dns_cache *cache = dns_cache_new();
		struct spf_params p = { .domain = STR("fuzz.test"), .sender = STR("user@fuzz.test"),
					.helo = STR("helo.test"), .receiver = STR("mx.test") };
		struct dns_record rec = { .data = record };
		struct dns_answer a = { .status = DNS_OK, .count = 1, .records = &rec };
		struct spf_outcome out;
		struct dns_need need;
		struct str rest = in;

		assert(cache != NULL && spf_ip_parse(str_c(ips[k]), &p.ip) == 0);
		if (record.len > DNS_MAX_RDATA)
			record.len = DNS_MAX_RDATA;
		rec.data = record;
		assert(dns_cache_put(cache, DNS_TYPE_TXT, p.domain, &a) == 0);
		while (spf_eval(cache, &p, &out, &need) == DNS_EVAL_NEED) {
			assert(dns_cache_get(cache, need.type, str_c(need.name)) == NULL);
			struct str line = next_line(&rest);
			if (line.len > DNS_MAX_RDATA)
				line.len = DNS_MAX_RDATA;
			answer(cache, &need, line);
		}
		assert(out.result >= SPF_NONE && out.result <= SPF_PERMERROR);
		assert(strlen(out.reason) < sizeof(out.reason));
		dns_cache_free(&cache);
	}
	return 0;
}
