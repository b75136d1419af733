/* front-checks: SPF, DKIM results and DMARC for SMTP in, driven over the
 * resolver link by replay (see front-checks.h). */
#include "front-checks.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "mail/address.h"
#include "mail/mail-decode.h"
#include "mail-auth/auth-results.h"
#include "mail-auth/dkim-verify.h"
#include "mail-auth/dmarc.h"
#include "mail-auth/dns-cache.h"
#include "mail-auth/spf.h"

/* The From: field's value parsed for its addresses: a From: field is a
 * line or a few; 16 KB of pool is far more than an honest one needs. */
#define FRONT_CHECKS_FROM_POOL (16 * 1024)
/* Addresses looked at in one From: field. */
#define FRONT_CHECKS_FROM_ADDRESSES 32
/* "dkim=" result words as kept ("temperror" is the longest). */
#define FRONT_CHECKS_RESULT_WORD 16

/* One DKIM result as kept: copies, cut to what the field writes. */
struct checks_dkim {
	char result[FRONT_CHECKS_RESULT_WORD];
	char d[DNS_MAX_NAME + 1];
	char s[DNS_MAX_NAME + 1];
	char b[AUTH_RESULTS_B_PREFIX + 1];
};

struct front_checks {
	struct front_checks_config config;
	struct front_checks_dns dns;
	char hostname[256];
	struct dns_cache *cache;
	/* the one question out, and what to do when the cache is full */
	bool asking;
	struct dns_need asked;
	bool cache_full;
	/* re-entry guard: an answer may come before ask returns */
	bool running, rerun;
	/* SPF, from MAIL FROM on */
	bool spf_started, spf_done;
	struct spf_params spf_params;
	char sender[FRONT_CHECKS_MAX_SENDER + 16];
	char helo[FRONT_CHECKS_MAX_SENDER + 1];
	char spf_domain[FRONT_CHECKS_MAX_SENDER + 1];
	bool null_sender;
	struct spf_outcome spf;
	/* DMARC and the verdict, at the end of DATA */
	bool data_started, dmarc_done, finished, in_data_call;
	char from_domain[DNS_MAX_NAME + 1];
	struct checks_dkim dkim[FRONT_CHECKS_MAX_DKIM];
	size_t dkim_count;
	/* our own DKIM verification (front_checks_data with no results):
	 * made when the header block is complete, fed the body as it comes */
	struct dkim_verify *dkim_v;
	bool dkim_body, dkim_own, dkim_done;
	struct dmarc_outcome dmarc;
	unsigned pct_roll;         /* drawn once per message, for DMARC pct */
	enum front_checks_verdict verdict;
	char reply[DNS_MAX_NAME + 80];
	struct buf header;
	/* the message's header block, held back while it comes in */
	struct buf held;
	size_t held_scanned;
	bool held_done;
	front_checks_done_fn *done;
	void *done_ctx;
};

static bool flag(uint64_t v)
{
	return v != 0;
}

struct front_checks_config front_checks_config_from(const struct config *config)
{
	return (struct front_checks_config){
		.spf = flag(config->checks_spf),
		.dkim = flag(config->checks_dkim),
		.dmarc = flag(config->checks_dmarc),
		.dmarc_reject = flag(config->checks_dmarc_reject),
		.dmarc_quarantine = flag(config->checks_dmarc_quarantine),
	};
}

#if __has_include("lib/dns-client.h")
#include "lib/dns-client.h"

static int resolver_ask(void *resolver, enum dns_type type, struct str name,
			front_checks_answer_fn *fn, void *ctx)
{
	return dns_client_ask(resolver, type, name, fn, ctx);
}

static void resolver_cancel(void *resolver, void *ctx)
{
	dns_client_cancel_all(resolver, ctx);
}

struct front_checks_dns front_checks_dns_client(struct dns_client *client)
{
	return (struct front_checks_dns){ resolver_ask, resolver_cancel, client };
}
#endif

struct front_checks *front_checks_new(const struct front_checks_config *config,
				      const char *hostname, const struct front_checks_dns *dns)
{
	struct front_checks *fc = calloc(1, sizeof(*fc));
	if (fc == NULL)
		return NULL;
	fc->config = *config;
	fc->dns = *dns;
	snprintf(fc->hostname, sizeof(fc->hostname), "%s", hostname);
	fc->cache = dns_cache_new();
	buf_init(&fc->header, AUTH_RESULTS_MAX);
	buf_init(&fc->held, FRONT_CHECKS_MAX_HEADER);
	if (fc->cache == NULL) {
		free(fc);
		return NULL;
	}
	return fc;
}

/* cancel takes back the question out, if any. */
static void cancel(struct front_checks *fc)
{
	if (fc->asking && fc->dns.cancel != NULL && fc->dns.resolver != NULL)
		fc->dns.cancel(fc->dns.resolver, fc);
	fc->asking = false;
}

void front_checks_free(struct front_checks **fc)
{
	if (*fc == NULL)
		return;
	cancel(*fc);
	dkim_verify_free(&(*fc)->dkim_v);
	dns_cache_free(&(*fc)->cache);
	buf_free(&(*fc)->header);
	buf_free(&(*fc)->held);
	free(*fc);
	*fc = NULL;
}

static void run(struct front_checks *fc);

/* answered: the resolver's answer to the question out. */
static void answered(const struct dns_answer *a, void *ctx)
{
	struct front_checks *fc = ctx;
	static const struct dns_answer failed = { .status = DNS_TEMPFAIL };

	if (!fc->asking)
		return;
	fc->asking = false;
	/* An answer the cache refuses (too big, cache full) counts as a DNS
	 * failure; when even that cannot be kept, the checks end in temperror. */
	if (dns_cache_put(fc->cache, fc->asked.type, str_c(fc->asked.name), a) < 0 &&
	    dns_cache_put(fc->cache, fc->asked.type, str_c(fc->asked.name), &failed) < 0)
		fc->cache_full = true;
	run(fc);
}

/* ask sends the question an evaluator needs; no resolver or a link that
 * refuses it is an answer of DNS failure. */
static void ask(struct front_checks *fc, const struct dns_need *need)
{
	static const struct dns_answer failed = { .status = DNS_TEMPFAIL };

	fc->asked = *need;
	fc->asking = true;
	if (fc->dns.ask != NULL && fc->dns.resolver != NULL &&
	    fc->dns.ask(fc->dns.resolver, need->type, str_c(need->name), answered, fc) == 0)
		return;
	answered(&failed, fc);
}

/* from_domain finds the domain of the one author in the From: field
 * (RFC 7489 6.6.1): false when there is no From:, more than one, or
 * authors of different domains. */
static bool from_domain(struct str headers, char *out, size_t size)
{
	struct str name, field;
	size_t pos = 0;
	unsigned froms = 0;
	bool ok = false;

	for (unsigned n = 0; n < AUTH_RESULTS_MAX_FIELDS &&
			     auth_results_field_next(headers, &pos, &name, &field); n++)
		if (str_case_eq(name, STR("From")))
			froms++;
	if (froms != 1)
		return false;
	struct buf value;
	buf_init(&value, FRONT_CHECKS_FROM_POOL);
	struct pool *pool = pool_new(FRONT_CHECKS_FROM_POOL);
	struct address *head = NULL, *tail = NULL;
	unsigned budget = FRONT_CHECKS_FROM_ADDRESSES;
	struct str domain = STR_NULL;
	if (pool != NULL && mail_header_field(headers, "From", &value) &&
	    address_list_parse(pool, buf_str(&value), &head, &tail, &budget) == 0) {
		ok = true;
		for (const struct address *a = head; a != NULL && ok; a = a->next) {
			if (a->domain.ptr == NULL || str_eq(a->domain, STR("MISSING_DOMAIN")))
				continue;   /* group start / end */
			if (domain.ptr == NULL)
				domain = a->domain;
			else if (!str_case_eq(domain, a->domain))
				ok = false;
		}
		ok = ok && domain.len > 0 && domain.len < size;
	}
	if (ok) {
		memcpy(out, domain.ptr, domain.len);
		out[domain.len] = '\0';
	}
	pool_free(&pool);
	buf_free(&value);
	return ok;
}

/* verdict_decide applies the DMARC outcome and the configuration. */
static void verdict_decide(struct front_checks *fc)
{
	fc->verdict = FRONT_CHECKS_ACCEPT;
	if (!fc->config.dmarc || fc->dmarc.result != DMARC_RESULT_FAIL)
		return;
	if (fc->dmarc.policy == DMARC_POLICY_REJECT && fc->config.dmarc_reject) {
		fc->verdict = FRONT_CHECKS_REJECT;
		snprintf(fc->reply, sizeof(fc->reply),
			 "550 5.7.1 Message refused by the DMARC policy of %s",
			 fc->dmarc.policy_domain);
	} else if (fc->dmarc.policy != DMARC_POLICY_NONE && fc->config.dmarc_quarantine) {
		/* quarantine, or reject when refusing is turned off */
		fc->verdict = FRONT_CHECKS_JUNK;
	}
}

/* finish writes the Authentication-Results field and decides. */
static void finish(struct front_checks *fc)
{
	struct auth_results_dkim dkim[FRONT_CHECKS_MAX_DKIM];
	for (size_t i = 0; i < fc->dkim_count; i++)
		dkim[i] = (struct auth_results_dkim){ fc->dkim[i].result, str_c(fc->dkim[i].d),
						      str_c(fc->dkim[i].s), str_c(fc->dkim[i].b) };
	struct auth_results r = {
		.spf_done = fc->config.spf, .spf = fc->spf.result,
		.mailfrom = fc->null_sender ? STR_NULL : str_c(fc->sender),
		.helo = str_c(fc->helo),
		.dkim_done = fc->config.dkim, .dkim = dkim, .dkim_count = fc->dkim_count,
		.dmarc_done = fc->config.dmarc, .dmarc = fc->dmarc.result,
		.from_domain = str_c(fc->from_domain),
	};
	buf_reset(&fc->header);
	if (auth_results_write(&fc->header, str_c(fc->hostname), &r) < 0)
		log_error("Authentication-Results field did not fit: not added");
	verdict_decide(fc);
	if (fc->config.spf || fc->config.dmarc)
		log_info("checks: spf=%s (%s) dmarc=%s policy=%s%s from=%s",
			 spf_result_name(fc->spf.result), fc->spf.reason,
			 dmarc_result_name(fc->dmarc.result), dmarc_policy_name(fc->dmarc.policy),
			 fc->dmarc.sampled_out ? " (pct)" : "", fc->from_domain);
	fc->finished = true;
}

/* copy_cut copies s into a field of size, cut. */
static void copy_cut(char *dst, size_t size, struct str s)
{
	size_t n = s.len < size - 1 ? s.len : size - 1;
	if (n > 0)
		memcpy(dst, s.ptr, n);
	dst[n] = '\0';
	/* a NUL inside would end the copy early: harmless, only shorter */
}

/* dkim_step runs our DKIM verification once it has the body: false
 * while a key is asked for. */
static bool dkim_step(struct front_checks *fc)
{
	struct dkim_need dneed;
	struct dns_need need;

	if (!fc->dkim_own || fc->dkim_done)
		return true;
	if (!fc->cache_full && dkim_verify_run(fc->dkim_v, fc->cache, &dneed) == DKIM_VERIFY_NEED) {
		dns_need_set(&need, dneed.type, str_c(dneed.name));
		ask(fc, &need);
		return false;
	}
	fc->dkim_done = true;
	fc->dkim_count = 0;
	for (size_t i = 0; i < dkim_verify_count(fc->dkim_v) && i < FRONT_CHECKS_MAX_DKIM; i++) {
		const struct dkim_verify_result *r = dkim_verify_result(fc->dkim_v, i);
		struct checks_dkim *k = &fc->dkim[fc->dkim_count++];
		copy_cut(k->result, sizeof(k->result),
			 str_c(fc->cache_full ? "temperror" : dkim_result_name(r->result)));
		copy_cut(k->d, sizeof(k->d), str_c(r->domain));
		copy_cut(k->s, sizeof(k->s), str_c(r->selector));
		k->b[0] = '\0';
	}
	return true;
}

/* step runs the evaluator due, once. */
static void step(struct front_checks *fc)
{
	struct dns_need need;

	if (fc->asking)
		return;
	if (fc->spf_started && !fc->spf_done) {
		if (fc->cache_full) {
			fc->spf.result = SPF_TEMPERROR;
			snprintf(fc->spf.reason, sizeof(fc->spf.reason), "too many DNS answers");
		} else if (spf_eval(fc->cache, &fc->spf_params, &fc->spf, &need) == DNS_EVAL_NEED) {
			ask(fc, &need);
			return;
		}
		fc->spf_done = true;
	}
	if (!fc->data_started || !fc->spf_done || fc->finished)
		return;
	if (!dkim_step(fc))
		return;
	if (!fc->dmarc_done) {
		struct dmarc_dkim dkim[FRONT_CHECKS_MAX_DKIM];
		for (size_t i = 0; i < fc->dkim_count; i++)
			dkim[i] = (struct dmarc_dkim){ strcmp(fc->dkim[i].result, "pass") == 0,
						       str_c(fc->dkim[i].d) };
		struct dmarc_params p = {
			.from_domain = str_c(fc->from_domain), .spf = fc->spf.result,
			.spf_domain = str_c(fc->spf_domain), .dkim = dkim,
			.dkim_count = fc->dkim_count, .pct_roll = fc->pct_roll,
		};
		if (!fc->config.dmarc) {
			fc->dmarc.result = DMARC_RESULT_NONE;
		} else if (fc->cache_full) {
			fc->dmarc.result = DMARC_RESULT_TEMPERROR;
		} else if (dmarc_eval(fc->cache, &p, &fc->dmarc, &need) == DNS_EVAL_NEED) {
			ask(fc, &need);
			return;
		}
		fc->dmarc_done = true;
	}
	finish(fc);
}

/* run steps until a question is out or everything is done; an answer
 * that comes inside ask is taken up by the loop, not by recursion. */
static void run(struct front_checks *fc)
{
	if (fc->running) {
		fc->rerun = true;
		return;
	}
	fc->running = true;
	do {
		fc->rerun = false;
		step(fc);
	} while (fc->rerun && !fc->asking);
	fc->running = false;
	if (fc->finished && fc->done != NULL && !fc->in_data_call) {
		front_checks_done_fn *done = fc->done;
		fc->done = NULL;
		done(fc->done_ctx);
	}
}

void front_checks_mail(struct front_checks *fc, const char *client_ip, struct str helo,
		       struct str mail_from)
{
	cancel(fc);
	dns_cache_clear(fc->cache);
	fc->cache_full = false;
	fc->spf_done = fc->data_started = fc->dmarc_done = fc->finished = false;
	fc->done = NULL;
	fc->dkim_count = 0;
	dkim_verify_free(&fc->dkim_v);
	fc->dkim_body = fc->dkim_own = fc->dkim_done = false;
	fc->from_domain[0] = '\0';
	memset(&fc->dmarc, 0, sizeof(fc->dmarc));
	memset(&fc->spf, 0, sizeof(fc->spf));
	buf_reset(&fc->header);
	buf_reset(&fc->held);
	fc->held_scanned = 0;
	fc->held_done = false;

	copy_cut(fc->helo, sizeof(fc->helo), helo);
	fc->null_sender = mail_from.len == 0;
	long at = -1;
	for (size_t i = 0; i < mail_from.len; i++)
		if (mail_from.ptr[i] == '@')
			at = (long)i;
	if (at < 0 || (size_t)at + 1 == mail_from.len || mail_from.len > FRONT_CHECKS_MAX_SENDER) {
		/* RFC 7208 2.4: <> (or no domain) checks the HELO identity */
		snprintf(fc->sender, sizeof(fc->sender), "postmaster@%s", fc->helo);
		copy_cut(fc->spf_domain, sizeof(fc->spf_domain), str_c(fc->helo));
		fc->null_sender = true;
	} else {
		copy_cut(fc->sender, sizeof(fc->sender), mail_from);
		copy_cut(fc->spf_domain, sizeof(fc->spf_domain),
			 str_sub(mail_from, (size_t)at + 1, mail_from.len));
	}
	fc->spf_params = (struct spf_params){
		.domain = str_c(fc->spf_domain), .sender = str_c(fc->sender),
		.helo = str_c(fc->helo), .receiver = str_c(fc->hostname), .now = 0,
	};
	fc->spf_started = true;
	fc->spf.result = SPF_NONE;
	if (!fc->config.spf) {
		fc->spf_done = true;
	} else if (spf_ip_parse(str_c(client_ip), &fc->spf_params.ip) < 0 ||
		   fc->spf_domain[0] == '[') {
		/* no address to check, or a HELO address literal: no domain */
		fc->spf_done = true;
		snprintf(fc->spf.reason, sizeof(fc->spf.reason), "nothing to check");
	}
	run(fc);
}

int front_checks_data(struct front_checks *fc, struct str headers,
		      const struct front_checks_dkim *dkim, size_t dkim_count,
		      front_checks_done_fn *done, void *ctx)
{
	if (!fc->spf_started) {
		fc->spf_started = fc->spf_done = true;
		fc->spf.result = SPF_NONE;
	}
	fc->dkim_count = 0;
	/* No results given: ours, from the verifier fed while it came. */
	if (dkim == NULL && fc->config.dkim && fc->dkim_v != NULL) {
		dkim_verify_body_end(fc->dkim_v);
		fc->dkim_own = true;
	}
	for (size_t i = 0; fc->config.dkim && i < dkim_count && i < FRONT_CHECKS_MAX_DKIM; i++) {
		struct checks_dkim *k = &fc->dkim[fc->dkim_count++];
		copy_cut(k->result, sizeof(k->result), str_c(dkim[i].result));
		copy_cut(k->d, sizeof(k->d), dkim[i].d);
		copy_cut(k->s, sizeof(k->s), dkim[i].s);
		copy_cut(k->b, sizeof(k->b), dkim[i].b);
	}
	if (!from_domain(headers, fc->from_domain, sizeof(fc->from_domain)))
		fc->from_domain[0] = '\0';
	fc->pct_roll = randombytes_uniform(100);
	fc->data_started = true;
	fc->done = done;
	fc->done_ctx = ctx;
	fc->in_data_call = true;
	run(fc);
	fc->in_data_call = false;
	if (!fc->finished)
		return 0;
	fc->done = NULL;
	return 1;
}

/* held_end finds the end of the header block in what is held: the index
 * after the last field's line end, or -1 while it is not complete. */
static long held_end(struct front_checks *fc)
{
	const char *p = fc->held.data;
	size_t i = fc->held_scanned;
	if (fc->held.len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 0;   /* no header at all */
	for (; i + 3 < fc->held.len; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			return (long)i + 2;
	fc->held_scanned = i;   /* bytes fed one by one are not scanned again */
	return -1;
}

/* dkim_feed gives the verifier the body: what follows the blank line. */
static void dkim_feed(struct front_checks *fc, const char *data, size_t len)
{
	if (fc->dkim_v == NULL)
		return;
	if (!fc->dkim_body) {
		/* the first bytes after the header block are its blank line */
		if (len >= 2 && data[0] == '\r' && data[1] == '\n') {
			data += 2;
			len -= 2;
		}
		fc->dkim_body = true;
	}
	if (len > 0)
		dkim_verify_body(fc->dkim_v, data, len);
}

/* held_pass passes on the header block (filtered) and what follows it. */
static int held_pass(struct front_checks *fc, size_t end, bool filter, struct buf *out)
{
	struct str header = str_from(fc->held.data, end);
	struct str rest = str_sub(buf_str(&fc->held), end, fc->held.len);
	fc->held_done = true;
	/* The header block is whole: DKIM starts (a block past its bounds
	 * gets no verifier, and no dkim= result). */
	if (fc->config.dkim && dkim_verify_new(header, (int64_t)time(NULL), &fc->dkim_v) < 0)
		fc->dkim_v = NULL;
	dkim_feed(fc, rest.ptr, rest.len);
	if (filter ? auth_results_remove_ours(header, str_c(fc->hostname), out) < 0
		   : buf_append_str(out, header) < 0)
		return -1;
	if (buf_append_str(out, rest) < 0)
		return -1;
	fc->held.len = end;   /* the header block stays, for DMARC */
	if (fc->held.data != NULL)
		fc->held.data[end] = '\0';
	return 0;
}

int front_checks_feed(struct front_checks *fc, const char *data, size_t len, struct buf *out)
{
	if (fc->held_done) {
		dkim_feed(fc, data, len);
		return buf_append(out, data, len);
	}
	size_t room = fc->held.max - fc->held.len;
	size_t take = len < room ? len : room;
	if (buf_append(&fc->held, data, take) < 0)
		return -1;
	long end = held_end(fc);
	if (end >= 0) {
		if (held_pass(fc, (size_t)end, true, out) < 0)
			return -1;
	} else if (fc->held.len == fc->held.max) {
		log_warn("header block longer than %d bytes: passed on unfiltered",
			 FRONT_CHECKS_MAX_HEADER);
		if (held_pass(fc, fc->held.len, false, out) < 0)
			return -1;
	} else {
		return 0;
	}
	dkim_feed(fc, data + take, len - take);
	return buf_append(out, data + take, len - take);
}

int front_checks_feed_end(struct front_checks *fc, struct buf *out)
{
	if (fc->held_done)
		return 0;
	return held_pass(fc, fc->held.len, true, out);
}

struct str front_checks_headers(const struct front_checks *fc)
{
	return buf_str(&fc->held);
}

enum front_checks_verdict front_checks_verdict(const struct front_checks *fc)
{
	return fc->verdict;
}

struct str front_checks_header(const struct front_checks *fc)
{
	return buf_str(&fc->header);
}

const char *front_checks_reply(const struct front_checks *fc)
{
	return fc->reply;
}
