#ifndef RAVELIN_MTA_STS_H
#define RAVELIN_MTA_STS_H
/*
 * mta-sts: the two texts of SMTP MTA Strict Transport Security (RFC 8461)
 * as a sender reads them: the `_mta-sts.<domain>` TXT record (3.1: "v=STSv1;
 * id=...") and the policy file served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (3.2: version, mode,
 * mx, max_age).  Both come from the network: the parsers are bounded, do
 * no I/O and no allocation, and a result owns all its bytes (a policy can
 * be copied with memcpy and outlive the text it was read from).
 *
 * What is accepted (RFC 8461 3.1 and 3.2, lenient where the RFC's own
 * examples and common servers are):
 *  - TXT: must begin with "v=STSv1" (case-sensitive, %s in the ABNF);
 *    fields separated by ";" with optional WSP; "id=" 1*32 ALPHA/DIGIT is
 *    required; other "name=value" extensions are skipped.  Records not
 *    beginning with "v=STSv1" are not MTA-STS records at all.
 *  - Policy: lines end in LF or CRLF (the last one may end without);
 *    each is "name:" *WSP value *WSP; names and the keywords STSv1,
 *    enforce, testing, none are ASCII case-insensitive (RFC 5234 quoted
 *    strings); of a repeated field the first counts, except mx; unknown
 *    fields are ignored; empty lines are skipped.  version, mode and
 *    max_age are required, and at least one mx unless mode is none.
 *  - mx: "*." (optional) then a domain (labels of letters, digits, "-"
 *    and "_", no empty label, a final dot dropped); stored lower case.
 *  - max_age: 1 to 10 digits; above MTA_STS_MAX_AGE it is lowered to it
 *    (3.2: "up to 31557600").
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dns.h"
#include "lib/str.h"

/* RFC 8461 3.3: "senders SHOULD impose a limit on the response size ... a
 * maximum of 64 KiB"; a bigger body is a failed fetch, not a policy. */
#define MTA_STS_MAX_POLICY (64 * 1024)
/* mx lines kept per policy.  A sender only looks at the MX hosts DNS gave
 * it, at most DNS_MAX_RECORDS; a policy naming more patterns than that is
 * not one a real domain publishes, and is refused so the policy struct
 * stays a fixed size. */
#define MTA_STS_MAX_MX DNS_MAX_RECORDS
/* RFC 8461 3.2: max_age "up to 31557600" seconds (one year). */
#define MTA_STS_MAX_AGE 31557600u
/* RFC 8461 3.1: the id is 1*32 ALPHA/DIGIT. */
#define MTA_STS_MAX_ID 32

enum mta_sts_mode {
	MTA_STS_MODE_NONE = 0,
	MTA_STS_MODE_TESTING,
	MTA_STS_MODE_ENFORCE,
};

/* One mx pattern: "mx.example.net", or with wildcard "*.example.net"
 * (name then holds "example.net"). */
struct mta_sts_mx {
	char name[DNS_MAX_NAME + 1]; /* lower case, NUL-terminated */
	uint8_t len;
	bool wildcard;
};

struct mta_sts_policy {
	enum mta_sts_mode mode;
	uint32_t max_age;            /* seconds, <= MTA_STS_MAX_AGE */
	size_t mx_count;
	struct mta_sts_mx mx[MTA_STS_MAX_MX];
};

/* The id of a TXT record, NUL-terminated. */
struct mta_sts_id {
	char id[MTA_STS_MAX_ID + 1];
};

/* mta_sts_txt_parse reads one TXT record's joined strings.  Returns 1
 * with *id filled for an MTA-STS record, 0 if txt does not begin with
 * "v=STSv1" (some other TXT record at that name), -1 with *error_r (a
 * static string) if it does but is malformed. */
int mta_sts_txt_parse(struct str txt, struct mta_sts_id *id, const char **error_r);

/* mta_sts_txt_find looks at every record of a TXT answer for
 * _mta-sts.<domain>.  Returns 1 with *id when exactly one record is an
 * MTA-STS record and it is well-formed; 0 when the domain publishes none
 * (no record, NXDOMAIN, NODATA, or none beginning with v=STSv1); -1 with
 * *error_r when the answer is a temporary failure, bogus, or holds a
 * malformed or more than one MTA-STS record (RFC 8461 3.1: "senders MUST
 * assume the domain has no available MTA-STS policy" for those; the
 * caller then uses a cached policy if it has one, as for 0). */
int mta_sts_txt_find(const struct dns_answer *a, struct mta_sts_id *id, const char **error_r);

/* mta_sts_policy_parse reads a policy file (the HTTP body).  Returns 0
 * with *p filled, or -1 with *error_r (a static string) and *p zeroed:
 * longer than MTA_STS_MAX_POLICY, more than MTA_STS_MAX_MX mx lines, a
 * malformed line or value, a required field missing, a version other
 * than STSv1. */
int mta_sts_policy_parse(struct str text, struct mta_sts_policy *p, const char **error_r);

/* mta_sts_mx_matches: whether mx_host (an MX target; any case, a final
 * dot ignored) is named by one of the policy's mx patterns (RFC 8461
 * 4.1: a wildcard stands for exactly the one leftmost label).  A policy of
 * mode none matches nothing. */
bool mta_sts_mx_matches(const struct mta_sts_policy *p, struct str mx_host);

/* mta_sts_mode_name: "none", "testing" or "enforce". */
const char *mta_sts_mode_name(enum mta_sts_mode mode);

/* mta_sts_policy_format writes p back as a policy file (LF lines,
 * canonical order) into out, NUL-terminated; mta_sts_policy_parse of it
 * gives p again.  It is how a policy travels between processes and lives
 * in the cache.  Returns the length, or -1 if size is too small
 * (MTA_STS_FORMAT_MAX is always enough). */
#define MTA_STS_FORMAT_MAX (64 + MTA_STS_MAX_MX * (DNS_MAX_NAME + 8))
long mta_sts_policy_format(const struct mta_sts_policy *p, char *out, size_t size);

#endif
