#ifndef RAVELIN_DNS_CACHE_H
#define RAVELIN_DNS_CACHE_H
/*
 * dns-cache: the DNS answers an evaluator (SPF, DMARC, DKIM) has had so
 * far, for evaluation by replay.  An evaluator is pure code: it runs over
 * the cache and either finishes or names the one (type, name) it needs
 * next (struct dns_need); its caller asks the resolver, puts the answer in
 * the cache and runs it again from the start.
 *
 * The cache copies every answer it is given (the resolver's buffers are
 * gone once its callback returns) and is bounded in entries and in bytes:
 * a put past either bound fails, and the caller then ends its check with a
 * temporary error.  Names are compared without ASCII case and without a
 * final dot.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/dns.h"
#include "lib/str.h"

/* Answers held for one message: an SPF evaluation asks at most 1 + 10 x 11
 * names (the record, then 10 DNS terms of which each "mx" or "ptr" asks
 * up to 10 more names, RFC 7208 4.6.4), DMARC 2 and DKIM one per checked
 * signature; 160 leaves room for those and a little more. */
#define DNS_CACHE_MAX_ENTRIES 160
/* Bytes of record data held for one message: enough for the full worst
 * case above with ordinary records (a few hundred bytes each), while a
 * client that makes us fetch 160 answers of 60 KB cannot make a pre-auth
 * process hold 10 MB. */
#define DNS_CACHE_MAX_BYTES (1024 * 1024)

/* What an evaluator needs next. */
struct dns_need {
	enum dns_type type;
	char name[DNS_MAX_NAME + 1];   /* NUL-terminated, no final dot */
};

/* Evaluators return one of these. */
enum dns_eval {
	DNS_EVAL_DONE = 0,   /* the result is final */
	DNS_EVAL_NEED = 1,   /* ask for *need, put the answer, run again */
};

struct dns_cache;

/* dns_cache_new makes an empty cache; NULL when out of memory. */
struct dns_cache *dns_cache_new(void);
/* dns_cache_free releases the cache and every answer in it; sets *c NULL. */
void dns_cache_free(struct dns_cache **c);
/* dns_cache_clear forgets every answer (for the next message). */
void dns_cache_clear(struct dns_cache *c);
/* dns_cache_get returns the answer had for (type, name), or NULL.  The
 * answer stays valid until the cache is cleared or freed. */
const struct dns_answer *dns_cache_get(const struct dns_cache *c, enum dns_type type,
				       struct str name);
/* dns_cache_put copies a (records and their data) as the answer for
 * (type, name), replacing any answer had for it.  Returns 0, or -1 when
 * the name is longer than DNS_MAX_NAME, the answer is not well formed
 * (more than DNS_MAX_RECORDS records, a record longer than DNS_MAX_RDATA)
 * or a bound of the cache would be passed; the cache is then unchanged. */
int dns_cache_put(struct dns_cache *c, enum dns_type type, struct str name,
		  const struct dns_answer *a);
/* dns_cache_count says how many answers the cache holds. */
size_t dns_cache_count(const struct dns_cache *c);

/* dns_need_set fills need with (type, name); name longer than DNS_MAX_NAME
 * is cut (the evaluators never ask for such a name). */
void dns_need_set(struct dns_need *need, enum dns_type type, struct str name);

#endif
