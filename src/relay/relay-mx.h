#ifndef RAVELIN_RELAY_MX_H
#define RAVELIN_RELAY_MX_H
/*
 * relay-mx: which hosts to try for a domain, from its MX answer (RFC 5321
 * 5.1): by preference, lowest first, hosts of equal preference in random
 * order (so load spreads as the domain asked); a null MX (RFC 7505: one
 * record, preference 0, target ".") means the domain takes no mail; no MX
 * record means the domain itself is the one host (its A/AAAA).  Pure: the
 * caller asks the resolver and gives the answer.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/dns.h"
#include "lib/str.h"

/* Hosts tried per destination: more is a badly made zone (RFC 5321 5.1
 * asks for a configurable limit; Postfix tries 5 by default). */
#define RELAY_MX_MAX_HOSTS 10

enum relay_mx_result {
	RELAY_MX_HOSTS = 0,   /* hosts[0..count) to try in order */
	RELAY_MX_IMPLICIT,    /* no MX: the domain itself (count 1, hosts[0]) */
	RELAY_MX_NULL,        /* null MX: 556 5.1.10 at once */
	RELAY_MX_TEMPFAIL,    /* the answer is no answer (try later) */
	RELAY_MX_NO_DOMAIN,   /* NXDOMAIN: 550 5.1.2 */
};

/* A random number source (tests give a fixed one). */
typedef uint32_t relay_mx_random_fn(void *ctx);

/*
 * relay_mx_order fills hosts (at most RELAY_MX_MAX_HOSTS; strings point
 * into a or are domain) from an MX answer for domain.  Records with an
 * empty target other than the null MX are skipped.
 */
enum relay_mx_result relay_mx_order(const struct dns_answer *a, struct str domain,
				    struct str hosts[RELAY_MX_MAX_HOSTS], size_t *count,
				    relay_mx_random_fn *random, void *ctx);

#endif
