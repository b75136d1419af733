#ifndef RAVELIN_SPF_H
#define RAVELIN_SPF_H
/*
 * spf: RFC 7208 check_host(), evaluated by replay over a dns_cache (see
 * dns-cache.h): no I/O.  spf_eval runs the whole evaluation from the start
 * each time; the first answer it lacks comes back as a dns_need.
 *
 * Everything of RFC 7208 is done except the "exp" modifier, whose
 * explanation text is only for a rejection message: it is parsed (so a
 * second exp is a permerror) and never fetched.  The "p" macro expands to
 * "unknown" (RFC 7208 7.3 allows it, and validating a name costs lookups).
 * "ptr" asks for PTR records (DNS_TYPE_PTR); a resolver that cannot answer
 * them makes the mechanism not match, as RFC 7208 5.5 says for any error.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns-cache.h"
#include "lib/str.h"

/* RFC 7208 4.6.4: terms that cause DNS queries (include, a, mx, ptr,
 * exists, redirect) per check, all includes counted together. */
#define SPF_MAX_DNS_TERMS 10
/* RFC 7208 4.6.4: lookups answered with no record or NXDOMAIN. */
#define SPF_MAX_VOID_LOOKUPS 2
/* RFC 7208 4.6.4: names one "mx" or "ptr" looks at. */
#define SPF_MAX_NAMES_PER_TERM 10
/* A macro expansion is cut to a domain name (253) at the end, but may be
 * longer on the way (a long sender, URL-encoded); longer than this is a
 * record built to hurt, a permerror. */
#define SPF_MAX_EXPANSION 2048
/* Terms in one record: a TXT record of DNS_MAX_RDATA octets has at most
 * about 2,000 terms of two characters; real records have a dozen. */
#define SPF_MAX_TERMS 256
/* A digit transformer larger than any name's label count (127) means
 * "all parts"; clamping keeps the arithmetic small. */
#define SPF_MAX_MACRO_PARTS 128

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* The connecting client's address. */
struct spf_ip {
	bool v6;
	uint8_t octets[16];   /* 4 used for IPv4 */
};

struct spf_params {
	struct spf_ip ip;
	struct str domain;    /* the domain checked: MAIL FROM's, or HELO's */
	struct str sender;    /* local@domain ("postmaster@helo" for <>) */
	struct str helo;      /* what the client said in HELO/EHLO */
	struct str receiver;  /* our host name (macro "r", exp only) */
	int64_t now;          /* seconds since the epoch (macro "t", exp only) */
};

struct spf_outcome {
	enum spf_result result;
	char reason[160];     /* for the log: which term decided, or what failed */
};

/* spf_ip_parse reads an IPv4 or IPv6 address in text; an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) becomes the IPv4 address it maps.  0 or -1. */
int spf_ip_parse(struct str text, struct spf_ip *ip);

/* spf_eval evaluates check_host(ip, domain, sender) over cache.  Returns
 * DNS_EVAL_DONE with *out filled, or DNS_EVAL_NEED with *need naming the
 * answer to put into the cache before running it again.  Deterministic:
 * the same cache gives the same outcome. */
enum dns_eval spf_eval(const struct dns_cache *cache, const struct spf_params *params,
		       struct spf_outcome *out, struct dns_need *need);

/* spf_result_name gives RFC 7208's word for r ("pass", "softfail"...). */
const char *spf_result_name(enum spf_result r);

/* spf_expand expands the macro-string s (RFC 7208 7) into out, at most
 * outsize - 1 bytes and NUL-terminated, for the current domain `domain`.
 * exp is true for explanation text, where c, r and t are allowed.
 * Returns the length, or -1 for a syntax error or an expansion longer than
 * SPF_MAX_EXPANSION or outsize - 1.  A domain name's expansion is not yet
 * cut to 253 octets: spf_domain_cut does that. */
long spf_expand(struct str s, const struct spf_params *params, struct str domain, bool exp,
		char *out, size_t outsize);

/* spf_domain_cut drops labels on the left until name is at most
 * DNS_MAX_NAME octets (RFC 7208 7.3); drops a final dot too. */
struct str spf_domain_cut(struct str name);

#endif
