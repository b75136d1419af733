/*
 * fuzz-mta-sts: the MTA-STS policy parser and TXT record parser on any
 * bytes.  Checks that an accepted policy keeps its bounds, survives its
 * own round trip through mta_sts_policy_format, and that mx matching of
 * the input's first line (as a host name) never reads past it; that a
 * refused one leaves a zeroed policy.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "relay/mta-sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mta_sts_policy p, again;
	static char out[MTA_STS_FORMAT_MAX];
	struct str text = str_from((const char *)data, size);
	const char *error = NULL;

	struct mta_sts_id id;
	int t = mta_sts_txt_parse(text, &id, &error);
	assert(t >= -1 && t <= 1);
	if (t == 1)
		assert(strlen(id.id) >= 1 && strlen(id.id) <= MTA_STS_MAX_ID);

	if (mta_sts_policy_parse(text, &p, &error) < 0) {
		assert(error != NULL);
		assert(p.mx_count == 0 && p.mode == MTA_STS_MODE_NONE && p.max_age == 0);
	} else {
		assert(p.max_age <= MTA_STS_MAX_AGE);
		assert(p.mx_count <= MTA_STS_MAX_MX);
		assert(p.mode == MTA_STS_MODE_NONE || p.mx_count > 0);
		for (size_t i = 0; i < p.mx_count; i++)
			assert(p.mx[i].len > 0 && p.mx[i].len <= DNS_MAX_NAME &&
			       strlen(p.mx[i].name) == p.mx[i].len);
		long n = mta_sts_policy_format(&p, out, sizeof(out));
		assert(n > 0);
		assert(mta_sts_policy_parse(str_from(out, (size_t)n), &again, &error) == 0);
		assert(memcmp(&p, &again, sizeof(p)) == 0);
	}
	long nl = str_chr(text, '\n');
	struct str host = nl < 0 ? text : str_from(text.ptr, (size_t)nl);
	(void)mta_sts_mx_matches(&p, host);
	return 0;
}
