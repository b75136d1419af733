/*
 * relay-dns: a destination's mail hosts through the resolver (see
 * relay.h): its MX answer put in order by relay-mx, then the A and AAAA
 * records of each host, asked all at once; the addresses keep the hosts'
 * order (each host's IPv4 addresses first, then its IPv6 ones).
 * Null MX (RFC 7505) is a permanent 556 5.1.10 at once; a domain that
 * does not exist a 550 5.1.2; anything else that gives no address a 451
 * with the reason.
 *
 * Built with the resolver's client (lib/dns-client.h); without it every
 * look-up fails for now, and only the smarthost is reached.
 */
#include "relay.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

#if __has_include("lib/dns-client.h")

#include <netinet/in.h>

#include "lib/dns-client.h"
#include "relay-mx.h"

/* Addresses tried for one destination: a few per host. */
#define RELAY_DNS_MAX_TARGETS 20
/* SMTP's port (RFC 5321 4.5.4.2 wants MX hosts on it). */
#define RELAY_DNS_SMTP_PORT 25

_Static_assert(1 + 2 * RELAY_MX_MAX_HOSTS <= DNS_CLIENT_MAX_OUTSTANDING,
	       "the MX question and every host's A and AAAA are asked at once");

static struct {
	struct dns_client *client;
	relay_dns_done_fn *done;
	char domain[DNS_MAX_NAME + 1];
	char hosts[RELAY_MX_MAX_HOSTS][DNS_MAX_NAME + 1];
	size_t host_count;
	size_t waiting;            /* A and AAAA answers not in yet */
	/* Each host's addresses ([h][0]: A, [h][1]: AAAA), in the order its
	 * answers gave them. */
	struct relay_target found[RELAY_MX_MAX_HOSTS][2][RELAY_DNS_MAX_TARGETS];
	size_t found_count[RELAY_MX_MAX_HOSTS][2];
	struct relay_target targets[RELAY_DNS_MAX_TARGETS];
	size_t target_count;
	char why[256];
} rd;

/* random_u32 shuffles MX hosts of equal preference. */
static uint32_t random_u32(void *ctx)
{
	uint32_t v = 0;
	(void)ctx;
	arc4random_buf(&v, sizeof(v));
	return v;
}

/* all_in: every A answer came; the addresses in the hosts' order. */
static void all_in(void)
{
	rd.target_count = 0;
	for (size_t h = 0; h < rd.host_count; h++)
		for (size_t v = 0; v < 2; v++)
			for (size_t i = 0; i < rd.found_count[h][v] &&
					   rd.target_count < RELAY_DNS_MAX_TARGETS;
			     i++)
				rd.targets[rd.target_count++] = rd.found[h][v][i];
	if (rd.target_count == 0)
		snprintf(rd.why, sizeof(rd.why), "451 4.4.4 no address for any mail host of %s",
			 rd.domain);
	else
		log_info("%s: %zu addresses of %zu mail hosts to try", rd.domain, rd.target_count,
			 rd.host_count);
	rd.done(rd.targets, rd.target_count, 451, rd.why);
}

/* address_answered takes one host's A (ctx: host * 2) or AAAA (host * 2
 * + 1) answer. */
static void address_answered(const struct dns_answer *a, void *ctx)
{
	size_t h = (size_t)(uintptr_t)ctx / 2, v = (size_t)(uintptr_t)ctx % 2;
	size_t octets = v == 0 ? 4 : 16;
	if (a->status != DNS_OK && a->status != DNS_NODATA)
		log_warn("%s: no %s for mail host %s (status %d)", rd.domain, v == 0 ? "A" : "AAAA",
			 rd.hosts[h], (int)a->status);
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		if (a->records[i].data.len != octets || rd.found_count[h][v] >= RELAY_DNS_MAX_TARGETS)
			continue;
		struct relay_target *t = &rd.found[h][v][rd.found_count[h][v]++];
		memset(t, 0, sizeof(*t));
		if (v == 0) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(RELAY_DNS_SMTP_PORT);
			memcpy(&sin->sin_addr, a->records[i].data.ptr, 4);
			t->addr_len = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(RELAY_DNS_SMTP_PORT);
			memcpy(&sin6->sin6_addr, a->records[i].data.ptr, 16);
			t->addr_len = sizeof(*sin6);
		}
		t->name = rd.hosts[h];
	}
	if (--rd.waiting == 0)
		all_in();
}

static void mx_answered(const struct dns_answer *a, void *ctx)
{
	struct str hosts[RELAY_MX_MAX_HOSTS];
	size_t count;
	(void)ctx;
	switch (relay_mx_order(a, str_c(rd.domain), hosts, &count, random_u32, NULL)) {
	case RELAY_MX_NULL:
		snprintf(rd.why, sizeof(rd.why), "556 5.1.10 %s accepts no mail (null MX)",
			 rd.domain);
		log_warn("%s", rd.why);
		rd.done(NULL, 0, 556, rd.why);
		return;
	case RELAY_MX_NO_DOMAIN:
		snprintf(rd.why, sizeof(rd.why), "550 5.1.2 the domain %s does not exist",
			 rd.domain);
		log_warn("%s", rd.why);
		rd.done(NULL, 0, 550, rd.why);
		return;
	case RELAY_MX_TEMPFAIL:
		snprintf(rd.why, sizeof(rd.why), "451 4.4.3 the MX look-up of %s failed for now",
			 rd.domain);
		log_warn("%s", rd.why);
		rd.done(NULL, 0, 451, rd.why);
		return;
	case RELAY_MX_HOSTS:
	case RELAY_MX_IMPLICIT:
		break;
	}
	rd.host_count = 0;
	for (size_t i = 0; i < count; i++)
		snprintf(rd.hosts[rd.host_count++], sizeof(rd.hosts[0]), "%.*s", (int)hosts[i].len,
			 hosts[i].ptr);
	/* Every host's A and AAAA at once (2 * RELAY_MX_MAX_HOSTS, within
	 * DNS_CLIENT_MAX_OUTSTANDING); each answers later, never inside. */
	rd.waiting = 2 * rd.host_count;
	for (size_t k = 0; k < 2 * rd.host_count; k++)
		if (dns_client_ask(rd.client, k % 2 == 0 ? DNS_TYPE_A : DNS_TYPE_AAAA,
				   str_c(rd.hosts[k / 2]), address_answered, (void *)(uintptr_t)k) < 0 &&
		    --rd.waiting == 0)
			all_in();
}

void relay_dns_find(struct ev *ev, int resolver_fd, const char *domain, relay_dns_done_fn *done)
{
	rd.done = done;
	snprintf(rd.domain, sizeof(rd.domain), "%s", domain);
	rd.client = resolver_fd >= 0 ? dns_client_new(ev, resolver_fd) : NULL;
	if (rd.client == NULL || dns_client_ask(rd.client, DNS_TYPE_MX, str_c(rd.domain),
						mx_answered, NULL) < 0) {
		snprintf(rd.why, sizeof(rd.why), "451 4.4.3 no resolver to look up %s", domain);
		log_warn("%s", rd.why);
		done(NULL, 0, 451, rd.why);
	}
}

#else

void relay_dns_find(struct ev *ev, int resolver_fd, const char *domain, relay_dns_done_fn *done)
{
	static char why[300];
	(void)ev;
	if (resolver_fd >= 0)
		close(resolver_fd);
	snprintf(why, sizeof(why), "451 4.4.3 no resolver to look up %s", domain);
	log_warn("%s", why);
	done(NULL, 0, 451, why);
}

#endif
