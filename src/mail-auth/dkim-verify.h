#ifndef RAVELIN_DKIM_VERIFY_H
#define RAVELIN_DKIM_VERIFY_H
/*
 * dkim-verify: checks every DKIM-Signature of a message (RFC 6376 6,
 * rsa-sha256 and RFC 8463's ed25519-sha256).  Pure code, no I/O: the
 * header block is given whole, the body streamed, and the keys come by
 * replay (see dns-cache.h): dkim_verify_run either finishes or says which
 * TXT record it needs; the caller asks the resolver, puts the answer in
 * the cache and runs it again.  The body is read once, before any run.
 *
 *	dkim_verify_new(headers, now, &v);
 *	dkim_verify_body(v, chunk, n); ...   dkim_verify_body_end(v);
 *	while (dkim_verify_run(v, cache, &need) == DKIM_VERIFY_NEED)
 *		ask for need.name (TXT), dns_cache_put the answer;
 *	dkim_verify_result(v, i) for i < dkim_verify_count(v);
 */
#include <stddef.h>
#include <stdint.h>

#include "dkim-key.h"
#include "dkim-sign.h"
#include "dns-cache.h"
#include "lib/dns.h"
#include "lib/str.h"

/* Signatures checked per message: each costs a DNS query and a public-
 * key operation, so a message with a hundred must not cost a hundred.
 * Real mail carries one to three (author, list, ESP).  The rest are
 * counted (dkim_verify_ignored) and left unchecked. */
#define DKIM_MAX_SIGNATURES 5

enum dkim_result {
	DKIM_PASS,
	DKIM_FAIL,        /* does not verify: changed in transit or forged */
	DKIM_NEUTRAL,     /* does not verify, but the key says t=y (testing) */
	DKIM_TEMPERROR,   /* the key could not be had now */
	DKIM_PERMERROR,   /* malformed signature, no key, revoked key... */
};

struct dkim_verify_result {
	enum dkim_result result;
	enum dkim_alg alg;
	char domain[DNS_MAX_NAME + 1];        /* d=, empty if it was unusable */
	char selector[DKIM_SELECTOR_MAX + 1]; /* s=, the same */
	const char *reason;                   /* static text; NULL on pass */
};

struct dkim_verify;

/*
 * dkim_verify_new finds the DKIM-Signature fields of headers (a header
 * block, copied) and parses the first DKIM_MAX_SIGNATURES; a signature
 * that does not parse is a permerror result at once.  now is the time
 * against which x= is checked.  0, or -1 for a header block past
 * DKIM_HEADER_MAX_BYTES / DKIM_HEADER_MAX_FIELDS or without memory.
 */
int dkim_verify_new(struct str headers, int64_t now, struct dkim_verify **v_r);
/* dkim_verify_body feeds the next n octets of the body. */
void dkim_verify_body(struct dkim_verify *v, const void *p, size_t n);
/* dkim_verify_body_end ends the body and checks each body hash. */
void dkim_verify_body_end(struct dkim_verify *v);

enum dkim_verify_state {
	DKIM_VERIFY_DONE,
	DKIM_VERIFY_NEED,
};

struct dkim_need {
	enum dns_type type;               /* always DNS_TYPE_TXT */
	char name[DNS_MAX_NAME + 1];      /* <s>._domainkey.<d> */
};

/*
 * dkim_verify_run checks each signature whose key is in cache; if one's
 * is not, returns DKIM_VERIFY_NEED with *need saying which; else
 * DKIM_VERIFY_DONE and every result is final.  Call after
 * dkim_verify_body_end; calling it again after DONE changes nothing.
 */
enum dkim_verify_state dkim_verify_run(struct dkim_verify *v, const struct dns_cache *cache,
				       struct dkim_need *need);

/* Signatures checked (at most DKIM_MAX_SIGNATURES), their results (valid
 * until dkim_verify_free), and signatures past the bound, not checked. */
size_t dkim_verify_count(const struct dkim_verify *v);
const struct dkim_verify_result *dkim_verify_result(const struct dkim_verify *v, size_t i);
size_t dkim_verify_ignored(const struct dkim_verify *v);

/* dkim_result_name is RFC 8601's word for r ("pass", "fail", ...). */
const char *dkim_result_name(enum dkim_result r);

void dkim_verify_free(struct dkim_verify **v);

#endif
