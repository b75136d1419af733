/*
 * relay-dns: a destination's mail hosts through the resolver (see
 * relay.h): its MX answer put in order by relay-mx, then the A and AAAA
 * records of each host, asked all at once; the addresses keep the hosts'
 * order (each host's IPv4 addresses first, then its IPv6 ones).  With
 * them, for the TLS policy (docs/tls-out.md): each host's TLSA record
 * when the MX answer was DNSSEC-secure, classified by dane_classify, and
 * the domain's MTA-STS TXT record with, when it names a policy, the
 * addresses of mta-sts.<domain>.
 * Null MX (RFC 7505) is a permanent 556 5.1.10 at once; a domain that
 * does not exist a 550 5.1.2; anything else that gives no address a 451
 * with the reason.
 *
 * Built with the resolver's client (lib/dns-client.h); without it every
 * look-up fails for now, and only the smarthost is reached.
 */
#include "relay.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
/* HTTPS, where mta-sts.<domain> serves its policy (RFC 8461 3.3). */
#define RELAY_DNS_HTTPS_PORT 443
/* Questions about the hosts: A, AAAA and TLSA of each. */
#define RELAY_DNS_PER_HOST 3
/* ctx of the questions that are not about one MX host. */
#define RELAY_DNS_CTX_STS_A (RELAY_DNS_PER_HOST * RELAY_MX_MAX_HOSTS)
#define RELAY_DNS_CTX_STS_AAAA (RELAY_DNS_CTX_STS_A + 1)

_Static_assert(2 + RELAY_DNS_PER_HOST * RELAY_MX_MAX_HOSTS + 2 <= DNS_CLIENT_MAX_OUTSTANDING,
	       "the MX and TXT questions, every host's A, AAAA and TLSA and the policy "
	       "host's A and AAAA may be out at once");

static struct {
	struct dns_client *client;
	relay_dns_done_fn *done;
	bool over;                 /* done was called: later answers are dropped */
	char domain[DNS_MAX_NAME + 1];
	char sts_host[DNS_MAX_NAME + 1];
	char hosts[RELAY_MX_MAX_HOSTS][DNS_MAX_NAME + 1];
	size_t host_count;
	bool mx_secure;
	bool mx_in;                /* the MX answer gave hosts */
	size_t waiting;            /* answers not in yet */
	/* Each host's addresses ([h][0]: A, [h][1]: AAAA), in the order its
	 * answers gave them. */
	struct relay_target found[RELAY_MX_MAX_HOSTS][2][RELAY_DNS_MAX_TARGETS];
	size_t found_count[RELAY_MX_MAX_HOSTS][2];
	/* Each host's TLSA answer (secure MX answer only), copied. */
	enum dane_state dane[RELAY_MX_MAX_HOSTS];
	struct dns_answer tlsa[RELAY_MX_MAX_HOSTS];
	bool tlsa_kept[RELAY_MX_MAX_HOSTS];
	struct relay_target targets[RELAY_DNS_MAX_TARGETS];
	size_t target_count;
	struct relay_sts_lookup sts;
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

/* finish calls done once. */
static void finish(const struct relay_target *targets, size_t count, unsigned code)
{
	if (rd.over)
		return;
	rd.over = true;
	rd.done(targets, count, code, rd.why, &rd.sts);
}

/* give_up ends the look-up with no address: why (its reply code first)
 * is logged and becomes every recipient's answer. */
__attribute__((format(printf, 2, 3))) static void give_up(unsigned code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rd.why, sizeof(rd.why), fmt, ap);
	va_end(ap);
	log_warn("%s", rd.why);
	finish(NULL, 0, code);
}

/* all_in: every answer came; the addresses in the hosts' order. */
static void all_in(void)
{
	rd.target_count = 0;
	for (size_t h = 0; h < rd.host_count; h++)
		for (size_t v = 0; v < 2; v++)
			for (size_t i = 0; i < rd.found_count[h][v] &&
					   rd.target_count < RELAY_DNS_MAX_TARGETS;
			     i++) {
				struct relay_target *t = &rd.targets[rd.target_count++];
				*t = rd.found[h][v][i];
				t->dane = rd.dane[h];
				t->tlsa = rd.tlsa_kept[h] ? &rd.tlsa[h] : NULL;
			}
	if (rd.target_count == 0)
		snprintf(rd.why, sizeof(rd.why), "451 4.4.4 no address for any mail host of %s",
			 rd.domain);
	else
		log_info("%s: %zu addresses of %zu mail hosts to try%s", rd.domain, rd.target_count,
			 rd.host_count, rd.mx_secure ? " (MX answer DNSSEC-secure)" : "");
	finish(rd.targets, rd.target_count, 451);
}

/* answered counts one answer in; the last one ends the look-up. */
static void answered(void)
{
	if (--rd.waiting == 0 && rd.mx_in)
		all_in();
}

/* ask asks one question counted in waiting. */
static void ask(enum dns_type type, const char *name, dns_answer_fn *fn, size_t ctx)
{
	rd.waiting++;
	if (dns_client_ask(rd.client, type, str_c(name), fn, (void *)(uintptr_t)ctx) < 0)
		rd.waiting--;
}

/* set_address fills t with one A or AAAA record's address and port. */
static bool set_address(struct relay_target *t, const struct dns_record *r, size_t v,
			unsigned port)
{
	memset(t, 0, sizeof(*t));
	if (r->data.len != (v == 0 ? 4 : 16))
		return false;
	if (v == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, r->data.ptr, 4);
		t->addr_len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, r->data.ptr, 16);
		t->addr_len = sizeof(*sin6);
	}
	return true;
}

/* sts_address_answered takes mta-sts.<domain>'s A or AAAA answer. */
static void sts_address_answered(const struct dns_answer *a, void *ctx)
{
	size_t v = (size_t)(uintptr_t)ctx - RELAY_DNS_CTX_STS_A;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		if (rd.sts.addr_count >= RELAY_STS_MAX_ADDRS)
			break;
		struct relay_target *t = &rd.sts.addrs[rd.sts.addr_count];
		if (set_address(t, &a->records[i], v, RELAY_DNS_HTTPS_PORT)) {
			t->name = rd.sts_host;
			rd.sts.addr_count++;
		}
	}
	answered();
}

/* txt_answered takes _mta-sts.<domain>'s TXT answer: with a policy id,
 * the policy host's addresses are asked too. */
static void txt_answered(const struct dns_answer *a, void *ctx)
{
	const char *err = "";
	(void)ctx;
	int found = mta_sts_txt_find(a, &rd.sts.id, &err);
	if (found < 0)
		log_warn("%s: MTA-STS record unusable: %s", rd.domain, err);
	if (found > 0) {
		rd.sts.published = true;
		snprintf(rd.sts_host, sizeof(rd.sts_host), "mta-sts.%s", rd.domain);
		ask(DNS_TYPE_A, rd.sts_host, sts_address_answered, RELAY_DNS_CTX_STS_A);
		ask(DNS_TYPE_AAAA, rd.sts_host, sts_address_answered, RELAY_DNS_CTX_STS_AAAA);
	}
	answered();
}

/* tlsa_keep copies a TLSA answer for host h (the client's is gone after
 * the callback); false when memory is short. */
static bool tlsa_keep(size_t h, const struct dns_answer *a)
{
	size_t bytes = 0;
	for (size_t i = 0; i < a->count; i++)
		bytes += a->records[i].data.len;
	struct dns_record *records = calloc(a->count + 1, sizeof(*records));
	char *data = malloc(bytes + 1);
	if (records == NULL || data == NULL) {
		free(records);
		free(data);
		return false;
	}
	size_t at = 0;
	for (size_t i = 0; i < a->count; i++) {
		records[i] = a->records[i];
		memcpy(data + at, a->records[i].data.ptr, a->records[i].data.len);
		records[i].data = str_from(data + at, a->records[i].data.len);
		at += a->records[i].data.len;
	}
	rd.tlsa[h] = *a;
	rd.tlsa[h].records = records;
	rd.tlsa_kept[h] = true;
	return true;
}

/* tlsa_answered takes host h's TLSA answer (ctx: h * 3 + 2). */
static void tlsa_answered(const struct dns_answer *a, void *ctx)
{
	size_t h = (size_t)(uintptr_t)ctx / RELAY_DNS_PER_HOST;
	rd.dane[h] = dane_classify(rd.mx_secure, a);
	if (rd.dane[h] != DANE_NONE && a->status == DNS_OK && !tlsa_keep(h, a))
		rd.dane[h] = DANE_FAILED;
	if (rd.dane[h] != DANE_NONE)
		log_info("%s: TLSA of %s: %s", rd.domain, rd.hosts[h],
			 rd.dane[h] == DANE_USABLE	 ? "usable, DANE applies"
			 : rd.dane[h] == DANE_UNUSABLE ? "none usable, TLS required"
						       : "look-up failed, host not used");
	answered();
}

/* address_answered takes one host's A (ctx: h * 3) or AAAA (h * 3 + 1)
 * answer. */
static void address_answered(const struct dns_answer *a, void *ctx)
{
	size_t h = (size_t)(uintptr_t)ctx / RELAY_DNS_PER_HOST;
	size_t v = (size_t)(uintptr_t)ctx % RELAY_DNS_PER_HOST;
	if (a->status != DNS_OK && a->status != DNS_NODATA)
		log_warn("%s: no %s for mail host %s (status %d)", rd.domain, v == 0 ? "A" : "AAAA",
			 rd.hosts[h], (int)a->status);
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		if (rd.found_count[h][v] >= RELAY_DNS_MAX_TARGETS)
			break;
		struct relay_target *t = &rd.found[h][v][rd.found_count[h][v]];
		if (set_address(t, &a->records[i], v, RELAY_DNS_SMTP_PORT)) {
			t->name = rd.hosts[h];
			rd.found_count[h][v]++;
		}
	}
	answered();
}

static void mx_answered(const struct dns_answer *a, void *ctx)
{
	struct str hosts[RELAY_MX_MAX_HOSTS];
	size_t count;
	(void)ctx;
	switch (relay_mx_order(a, str_c(rd.domain), hosts, &count, random_u32, NULL)) {
	case RELAY_MX_NULL:
		give_up(556, "556 5.1.10 %s accepts no mail (null MX)", rd.domain);
		return;
	case RELAY_MX_NO_DOMAIN:
		give_up(550, "550 5.1.2 the domain %s does not exist", rd.domain);
		return;
	case RELAY_MX_TEMPFAIL:
		give_up(451, "451 4.4.3 the MX look-up of %s failed for now", rd.domain);
		return;
	case RELAY_MX_HOSTS:
	case RELAY_MX_IMPLICIT:
		break;
	}
	rd.mx_secure = a->secure;
	rd.host_count = 0;
	for (size_t i = 0; i < count; i++)
		snprintf(rd.hosts[rd.host_count++], sizeof(rd.hosts[0]), "%.*s", (int)hosts[i].len,
			 hosts[i].ptr);
	/* Every host's A, AAAA and TLSA at once (within
	 * DNS_CLIENT_MAX_OUTSTANDING); each answers later, never inside.
	 * TLSA only under a secure MX answer (RFC 7672 2.2.2). */
	rd.mx_in = true;
	for (size_t h = 0; h < rd.host_count; h++) {
		char tlsa[DNS_MAX_NAME + 16];
		ask(DNS_TYPE_A, rd.hosts[h], address_answered, h * RELAY_DNS_PER_HOST);
		ask(DNS_TYPE_AAAA, rd.hosts[h], address_answered, h * RELAY_DNS_PER_HOST + 1);
		snprintf(tlsa, sizeof(tlsa), "_25._tcp.%s", rd.hosts[h]);
		if (rd.mx_secure && strlen(tlsa) <= DNS_MAX_NAME)
			ask(DNS_TYPE_TLSA, tlsa, tlsa_answered, h * RELAY_DNS_PER_HOST + 2);
	}
	answered();
}

void relay_dns_find(struct ev *ev, int resolver_fd, const char *domain, relay_dns_done_fn *done)
{
	char txt[DNS_MAX_NAME + 16];
	rd.done = done;
	snprintf(rd.domain, sizeof(rd.domain), "%s", domain);
	snprintf(txt, sizeof(txt), "_mta-sts.%s", domain);
	rd.client = resolver_fd >= 0 ? dns_client_new(ev, resolver_fd) : NULL;
	if (rd.client != NULL)
		ask(DNS_TYPE_MX, rd.domain, mx_answered, 0);
	if (rd.waiting == 0) {
		give_up(451, "451 4.4.3 no resolver to look up %s", domain);
		return;
	}
	if (strlen(txt) <= DNS_MAX_NAME)
		ask(DNS_TYPE_TXT, txt, txt_answered, 0);
}

#else

void relay_dns_find(struct ev *ev, int resolver_fd, const char *domain, relay_dns_done_fn *done)
{
	static char why[300];
	static const struct relay_sts_lookup none;
	(void)ev;
	if (resolver_fd >= 0)
		close(resolver_fd);
	snprintf(why, sizeof(why), "451 4.4.3 no resolver to look up %s", domain);
	log_warn("%s", why);
	done(NULL, 0, 451, why, &none);
}

#endif
