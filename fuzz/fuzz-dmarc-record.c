/*
 * fuzz-dmarc-record: the DMARC record parser on any bytes, then a DMARC
 * evaluation with those bytes as the _dmarc TXT record of the From:
 * domain; checks the parsed values lie in their ranges and the outcome is
 * consistent (a policy only on fail, a record only when one was used).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mail-auth/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str text = str_from((const char *)data, size);
	struct dmarc_record r;
	const char *error = NULL;

	if (dmarc_record_parse(text, &r, &error) == 0) {
		assert(r.pct <= 100);
		assert(r.p <= DMARC_POLICY_REJECT && r.sp <= DMARC_POLICY_REJECT &&
		       r.np <= DMARC_POLICY_REJECT);
		assert(strlen(r.rua) <= DMARC_MAX_URIS && strlen(r.ruf) <= DMARC_MAX_URIS);
	} else {
		assert(error != NULL);
	}
	if (size > DNS_MAX_RDATA)
		return 0;
	struct dns_cache *cache = dns_cache_new();
	struct dns_record rec = { .data = text };
	struct dns_answer a = { .status = DNS_OK, .count = 1, .records = &rec };
	static const struct dns_answer nx = { .status = DNS_NXDOMAIN };
	struct dmarc_dkim dkim = { .pass = true, .d = STR("other.test") };
	struct dmarc_params p = { .from_domain = STR("news.a.test"), .spf = SPF_PASS,
				  .spf_domain = STR("a.test"), .dkim = &dkim, .dkim_count = 1,
				  .pct_roll = size % 100 };
	struct dmarc_outcome out;
	struct dns_need need;
	assert(dns_cache_put(cache, DNS_TYPE_TXT, STR("_dmarc.news.a.test"), &a) == 0);
	for (int i = 0; dmarc_eval(cache, &p, &out, &need) == DNS_EVAL_NEED; i++) {
		assert(i < 2 && need.type == DNS_TYPE_TXT);
		assert(dns_cache_put(cache, need.type, str_c(need.name), &nx) == 0);
	}
	assert(out.result != DMARC_RESULT_FAIL || out.have_record);
	assert(out.result == DMARC_RESULT_FAIL || out.policy == DMARC_POLICY_NONE);
	/* SPF passes aligned (relaxed): a record's only outcomes are pass, or
	 * fail under aspf=s */
	assert(!out.have_record || out.result == DMARC_RESULT_PASS ||
	       out.record.aspf_strict);
	dns_cache_free(&cache);
	return 0;
}
