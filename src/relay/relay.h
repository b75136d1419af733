#ifndef RAVELIN_RELAY_H
#define RAVELIN_RELAY_H
/*
 * relay: the outbound SMTP client processes.  relay_main is the relay
 * spawner (`ravelin --role relay`, started by master); relay_child_main is
 * one relay child, forked by it for one destination on the queue's
 * IPC_RELAY_OPEN.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "lib/config.h"
#include "lib/ev.h"
#include "relay/dane.h"
#include "relay/mta-sts.h"

/* Addresses of one host a child may try (the smarthost's, from the
 * spawner's look-up at start). */
#define RELAY_MAX_ADDRS 8
/* The destination that means "the smarthost" (IPC_RELAY_OPEN). */
#define RELAY_SMARTHOST_DEST "[smarthost]"

struct relay_target {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	const char *name;            /* the host's name (TLS SNI), or NULL */
	enum dane_state dane;        /* dane_classify() for the host (MX only) */
	const struct dns_answer *tlsa; /* its secure TLSA answer, or NULL */
};

/* Addresses of mta-sts.<domain> tried for a policy fetch: each one that
 * does not answer costs relay.connect_timeout of a child that sends
 * nothing meanwhile; four is two per address family. */
#define RELAY_STS_MAX_ADDRS 4

/* What DNS said of the destination's MTA-STS policy (RFC 8461 3.1). */
struct relay_sts_lookup {
	bool published;              /* one well-formed v=STSv1 record */
	struct mta_sts_id id;
	/* mta-sts.<domain> on port 443, IPv4 first. */
	struct relay_target addrs[RELAY_STS_MAX_ADDRS];
	size_t addr_count;
};

/* What a child starts with, all of it the spawner's already. */
struct relay_child_setup {
	const struct config *config;
	SSL_CTX *tls;                /* client context, CA roots loaded, DANE on */
	SSL_CTX *sts_tls;            /* MTA-STS policy fetches, or NULL */
	const char *destination;     /* a domain or RELAY_SMARTHOST_DEST */
	const char *host_name;       /* the smarthost's name (TLS name check) */
	const struct relay_target *targets; /* the smarthost's addresses */
	size_t target_count;
	const char *auth_plain;      /* base64 SASL PLAIN for the smarthost, or NULL */
	bool tls_required;
	int queue_fd;                /* the child's end of its link to the queue */
	int resolver_fd;             /* its link to the resolver, or -1 */
};

/* What relay_dns_find found: the addresses to try in order, or why there
 * are none (fail_code 4xx: try later; 5xx: the domain takes no mail), and
 * the domain's MTA-STS record (sts, never NULL). */
typedef void relay_dns_done_fn(const struct relay_target *targets, size_t count,
			       unsigned fail_code, const char *why,
			       const struct relay_sts_lookup *sts);
/* relay_dns_find looks up domain's mail hosts through the resolver link
 * (MX, then A of each; RFC 5321 5.1), with the TLS facts about them: TLSA
 * `_25._tcp.<host>` of each host when the MX answer was DNSSEC-secure
 * (RFC 7672 2.2), TXT `_mta-sts.<domain>` and, when it has a policy id,
 * the addresses of mta-sts.<domain>.  Calls done once, from the loop.
 * Without a resolver client in this build, or with resolver_fd -1, done
 * gets a 451 at once. */
void relay_dns_find(struct ev *ev, int resolver_fd, const char *domain,
		    relay_dns_done_fn *done);

/* relay_tls_fetch_policy fetches domain's MTA-STS policy from the
 * addresses in sts (each connect within connect_timeout_ms, the fetch
 * within MTA_STS_FETCH_TIMEOUT_MS) with ctx, blocking.  0 with *p, or -1
 * (no record, no context, or every address failed: logged); RFC 8461
 * 3.3 then has the sender go on as if the domain had no policy. */
int relay_tls_fetch_policy(SSL_CTX *ctx, const struct relay_sts_lookup *sts, const char *domain,
			   int connect_timeout_ms, struct mta_sts_policy *p);

/* relay_main runs the relay spawner; returns the exit status. */
int relay_main(void);
/* relay_child_main serves one destination until the queue closes the
 * link; never returns. */
void relay_child_main(const struct relay_child_setup *setup) __attribute__((noreturn));

#endif
