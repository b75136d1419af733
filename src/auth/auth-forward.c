/* auth-forward: remote targets and SRS bounces, sealed (auth-forward.h). */
#include "auth-forward.h"

#include <stdio.h>
#include <string.h>

#include "lib/ipc.h"

int auth_forward_resolve(struct directory *dir, const unsigned char key[SRS_KEY_SIZE],
			 bool have_key, const char *hostname, struct str address, int64_t now,
			 uint64_t *ids, size_t max_ids, size_t *count_r,
			 struct directory_forwards *fw, const char **error_r)
{
	static const unsigned char none[SRS_KEY_SIZE];
	char orig[SRS_MAX_ADDRESS + 1];

	enum srs_result s = srs_decode(have_key ? key : none, address, now, orig);
	if (s == SRS_NOT_SRS)
		return directory_resolve_forwards(dir, address, ids, max_ids, count_r, fw, error_r);
	/* Not at our name: somebody else's SRS address, a relay as any. */
	long at = -1;
	for (size_t i = 0; i < address.len; i++)
		if (address.ptr[i] == '@')
			at = (long)i;
	struct str domain = at < 0 ? STR("") : str_sub(address, (size_t)at + 1, address.len);
	int own = directory_resolve(dir, address, ids, max_ids, count_r, error_r);
	*count_r = 0;
	fw->count = 0;
	if (own < 0)
		return -1;
	if (own == DIRECTORY_RESOLVE_NOT_LOCAL && !str_case_eq(domain, str_c(hostname)))
		return DIRECTORY_RESOLVE_NOT_LOCAL;
	if (s != SRS_OK || !have_key)
		return DIRECTORY_RESOLVE_UNKNOWN;
	int r = directory_resolve_forwards(dir, str_c(orig), ids, max_ids, count_r, fw, error_r);
	if (r != DIRECTORY_RESOLVE_NOT_LOCAL)
		return r;
	snprintf(fw->address[0], sizeof(fw->address[0]), "%s", orig);
	fw->count = strlen(orig) < sizeof(fw->address[0]) ? 1 : 0;
	return fw->count == 1 ? DIRECTORY_RESOLVE_FOUND : DIRECTORY_RESOLVE_UNKNOWN;
}

void auth_forward_put(struct buf *out, const unsigned char key[TICKET_KEY_SIZE], bool sealed,
		      uint64_t serial, uint64_t txn, uint64_t expires,
		      const struct directory_forwards *fw)
{
	size_t n = sealed ? fw->count : 0;
	unsigned char mac[TICKET_RCPT_MAC_SIZE];

	ipc_put_u64(out, n);
	for (size_t i = 0; i < n; i++) {
		struct ticket_rcpt seal = { .serial = serial, .txn = txn, .expires = expires,
					    .address = str_c(fw->address[i]) };
		ticket_rcpt_seal(key, &seal, mac);
		ipc_put_str(out, seal.address);
		ipc_put_str(out, str_from((const char *)mac, sizeof(mac)));
	}
}
