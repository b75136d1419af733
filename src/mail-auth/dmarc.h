#ifndef RAVELIN_DMARC_H
#define RAVELIN_DMARC_H
/*
 * dmarc: RFC 7489 record parsing, policy discovery, identifier alignment
 * and the policy to apply, evaluated by replay over a dns_cache (see
 * dns-cache.h): no I/O.  The organizational domain is libpsl's registrable
 * domain over its built-in list (psl_builtin): no file is read.
 *
 * Parsed and kept but not acted on: rua / ruf (no reports are sent yet),
 * fo, rf, ri, and np (RFC 9091: applying it needs to know whether the
 * From: domain exists, one more lookup; sp applies instead).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns-cache.h"
#include "spf.h"
#include "lib/str.h"

/* rua / ruf kept as written, cut to this (RFC 7489 gives no bound; two
 * mailto: URIs with a size limit fit in well under it). */
#define DMARC_MAX_URIS 256
/* DKIM results looked at for alignment; a message with more signatures
 * than the DKIM verifier checks has had the rest ignored there already. */
#define DMARC_MAX_DKIM 16

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_result {
	DMARC_RESULT_NONE,       /* no policy published */
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,  /* the record could not be fetched */
	DMARC_RESULT_PERMERROR,  /* no usable From: domain */
};

struct dmarc_record {
	enum dmarc_policy p, sp, np;
	bool adkim_strict, aspf_strict;
	unsigned pct;                    /* 0..100 */
	char rua[DMARC_MAX_URIS + 1];
	char ruf[DMARC_MAX_URIS + 1];
};

/* One DKIM signature's outcome, as the verifier gives it. */
struct dmarc_dkim {
	bool pass;
	struct str d;                    /* the signing domain (d=) */
};

struct dmarc_params {
	struct str from_domain;          /* RFC 5322 From: domain */
	enum spf_result spf;
	struct str spf_domain;           /* the domain SPF checked (MAIL FROM's, or HELO's) */
	const struct dmarc_dkim *dkim;
	size_t dkim_count;
	unsigned pct_roll;               /* 0..99, drawn by the caller, for pct */
};

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_policy policy;        /* to apply: NONE unless result is FAIL */
	bool sampled_out;                /* pct made the policy one step milder */
	bool have_record;
	struct dmarc_record record;
	char policy_domain[DNS_MAX_NAME + 1];   /* where the record was found */
};

/* dmarc_record_parse reads a DMARC TXT record (RFC 7489 6.3, 6.4).
 * Returns 0, or -1 with *error_r when it is no DMARC record or not a valid
 * one (v=DMARC1 not first, no valid p= and no rua=, a bad tag value). */
int dmarc_record_parse(struct str text, struct dmarc_record *r, const char **error_r);

/* dmarc_org_domain gives the organizational domain of domain (RFC 7489
 * 3.2, libpsl) into buf (NUL-terminated).  A name that is itself a public
 * suffix, or that libpsl refuses, is its own organizational domain. */
struct str dmarc_org_domain(struct str domain, char *buf, size_t size);

/* dmarc_aligned: identifier alignment of a with from (RFC 7489 3.1). */
bool dmarc_aligned(struct str a, struct str from, bool strict);

/* dmarc_eval discovers the policy for params->from_domain (6.6.3) and
 * evaluates it.  DNS_EVAL_DONE with *out filled, or DNS_EVAL_NEED with
 * *need naming the answer to put into cache before running it again. */
enum dns_eval dmarc_eval(const struct dns_cache *cache, const struct dmarc_params *params,
			 struct dmarc_outcome *out, struct dns_need *need);

/* dmarc_result_name / dmarc_policy_name give RFC 7489's words. */
const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
