/* dmarc: RFC 7489 policy discovery and evaluation by replay (see dmarc.h). */
#include "dmarc.h"

#include <libpsl.h>
#include <stdio.h>
#include <string.h>

const char *dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_RESULT_NONE: return "none";
	case DMARC_RESULT_PASS: return "pass";
	case DMARC_RESULT_FAIL: return "fail";
	case DMARC_RESULT_TEMPERROR: return "temperror";
	case DMARC_RESULT_PERMERROR: return "permerror";
	}
	return "permerror";
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE: return "none";
	case DMARC_POLICY_QUARANTINE: return "quarantine";
	case DMARC_POLICY_REJECT: return "reject";
	}
	return "none";
}

static int policy_parse(struct str v, enum dmarc_policy *p)
{
	if (str_case_eq(v, STR("none")))
		*p = DMARC_POLICY_NONE;
	else if (str_case_eq(v, STR("quarantine")))
		*p = DMARC_POLICY_QUARANTINE;
	else if (str_case_eq(v, STR("reject")))
		*p = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

/* copy_cut keeps a URI list, cut to its field. */
static void copy_cut(char *dst, size_t size, struct str v)
{
	size_t n = v.len < size - 1 ? v.len : size - 1;
	memcpy(dst, v.ptr, n);
	dst[n] = '\0';
}

/* next_tag steps *pos to the next "name=value" of a tag list (RFC 7489
 * 6.4), both trimmed.  False at the end. */
static bool next_tag(struct str text, size_t *pos, struct str *tag)
{
	while (*pos < text.len) {
		size_t start = *pos;
		long semi = str_chr(str_sub(text, start, text.len), ';');
		size_t end = semi < 0 ? text.len : start + (size_t)semi;
		*pos = end + 1;
		*tag = str_trim(str_sub(text, start, end - start));
		if (tag->len > 0)
			return true;
	}
	return false;
}

int dmarc_record_parse(struct str text, struct dmarc_record *r, const char **error_r)
{
	size_t pos = 0;
	struct str tag;
	bool first = true, have_p = false, bad_policy = false, have_sp = false, have_np = false;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	while (next_tag(text, &pos, &tag)) {
		long eq = str_chr(tag, '=');
		if (eq < 0) {
			*error_r = "a tag without '='";
			return -1;
		}
		struct str name = str_trim(str_sub(tag, 0, (size_t)eq));
		struct str value = str_trim(str_sub(tag, (size_t)eq + 1, tag.len));
		if (first) {
			if (!str_eq(name, STR("v")) || !str_eq(value, STR("DMARC1"))) {
				*error_r = "not a DMARC1 record";
				return -1;
			}
			first = false;
			continue;
		}
		if (str_case_eq(name, STR("p"))) {
			have_p = policy_parse(value, &r->p) == 0;
			bad_policy |= !have_p;
		} else if (str_case_eq(name, STR("sp"))) {
			have_sp = policy_parse(value, &r->sp) == 0;
			bad_policy |= !have_sp;
		} else if (str_case_eq(name, STR("np"))) {
			have_np = policy_parse(value, &r->np) == 0;
		} else if (str_case_eq(name, STR("adkim"))) {
			r->adkim_strict = str_case_eq(value, STR("s"));
		} else if (str_case_eq(name, STR("aspf"))) {
			r->aspf_strict = str_case_eq(value, STR("s"));
		} else if (str_case_eq(name, STR("pct"))) {
			uint64_t pct;
			if (str_to_u64(value, 100, &pct) == 0)
				r->pct = (unsigned)pct;
		} else if (str_case_eq(name, STR("rua"))) {
			copy_cut(r->rua, sizeof(r->rua), value);
		} else if (str_case_eq(name, STR("ruf"))) {
			copy_cut(r->ruf, sizeof(r->ruf), value);
		}
		/* fo, rf, ri and unknown tags: ignored (RFC 7489 6.3) */
	}
	if (first) {
		*error_r = "not a DMARC1 record";
		return -1;
	}
	if (!have_p || bad_policy) {
		/* RFC 7489 6.6.3: with a reporting URI, act as for p=none. */
		if (strchr(r->rua, ':') == NULL) {
			*error_r = "no valid p= tag";
			return -1;
		}
		r->p = r->sp = r->np = DMARC_POLICY_NONE;
		return 0;
	}
	if (!have_sp)
		r->sp = r->p;
	if (!have_np)
		r->np = r->sp;
	return 0;
}

struct str dmarc_org_domain(struct str domain, char *buf, size_t size)
{
	if (domain.len > 0 && domain.ptr[domain.len - 1] == '.')
		domain.len--;
	if (size == 0)
		return STR_NULL;
	size_t n = domain.len < size - 1 ? domain.len : size - 1;
	memcpy(buf, domain.ptr, n);
	buf[n] = '\0';
	str_lower(buf, n);
	if (memchr(buf, '\0', n) != NULL)
		return str_from(buf, n);
	const psl_ctx_t *psl = psl_builtin();
	const char *reg = psl != NULL ? psl_registrable_domain(psl, buf) : NULL;
	if (reg == NULL)
		return str_from(buf, n);
	return str_c(reg);   /* points into buf */
}

bool dmarc_aligned(struct str a, struct str from, bool strict)
{
	char ba[DNS_MAX_NAME + 1], bf[DNS_MAX_NAME + 1];

	if (a.len > 0 && a.ptr[a.len - 1] == '.')
		a.len--;
	if (from.len > 0 && from.ptr[from.len - 1] == '.')
		from.len--;
	if (a.len == 0 || from.len == 0 || a.len > DNS_MAX_NAME || from.len > DNS_MAX_NAME)
		return false;
	if (str_case_eq(a, from))
		return true;
	return !strict && str_eq(dmarc_org_domain(a, ba, sizeof(ba)),
				 dmarc_org_domain(from, bf, sizeof(bf)));
}

/* Discovery at one name (RFC 7489 6.6.3): 1 record found, 0 none (look at
 * the organizational domain), 2 records there but no policy to use (more
 * than one, or not valid: discovery ends), -1 DNS failure; a missing
 * answer through *needed. */
static int discover_at(const struct dns_cache *cache, struct str domain,
		       struct dmarc_record *r, struct dns_need *need, bool *needed)
{
	char name[DNS_MAX_NAME + 1];
	const char *error;
	const struct str *found = NULL;

	if (domain.len + 7 > DNS_MAX_NAME)
		return 0;
	int n = snprintf(name, sizeof(name), "_dmarc.%.*s", (int)domain.len, domain.ptr);
	const struct dns_answer *a = dns_cache_get(cache, DNS_TYPE_TXT, str_from(name, (size_t)n));
	if (a == NULL) {
		dns_need_set(need, DNS_TYPE_TXT, str_from(name, (size_t)n));
		*needed = true;
		return 0;
	}
	if (a->status == DNS_TEMPFAIL || a->status == DNS_BOGUS)
		return -1;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		struct str txt = str_trim(a->records[i].data);
		if (!str_case_prefix(txt, STR("v=DMARC1")) ||
		    (txt.len > 8 && txt.ptr[8] != ';' && txt.ptr[8] != ' ' && txt.ptr[8] != '\t'))
			continue;   /* not a DMARC record ("v=DMARC10" is none either) */
		if (found != NULL)
			return 2;
		found = &a->records[i].data;
	}
	if (found == NULL)
		return 0;
	return dmarc_record_parse(str_trim(*found), r, &error) == 0 ? 1 : 2;
}

/* identifiers_aligned: SPF or any DKIM pass, aligned (RFC 7489 4.2). */
static bool identifiers_aligned(const struct dmarc_params *p, const struct dmarc_record *r)
{
	if (p->spf == SPF_PASS && dmarc_aligned(p->spf_domain, p->from_domain, r->aspf_strict))
		return true;
	for (size_t i = 0; i < p->dkim_count && i < DMARC_MAX_DKIM; i++)
		if (p->dkim[i].pass && dmarc_aligned(p->dkim[i].d, p->from_domain, r->adkim_strict))
			return true;
	return false;
}

enum dns_eval dmarc_eval(const struct dns_cache *cache, const struct dmarc_params *params,
			 struct dmarc_outcome *out, struct dns_need *need)
{
	struct str from = params->from_domain;
	char org_buf[DNS_MAX_NAME + 1];
	bool needed = false;
	bool at_org = false;

	memset(out, 0, sizeof(*out));
	if (from.len > 0 && from.ptr[from.len - 1] == '.')
		from.len--;
	bool printable = from.len > 0 && from.len <= DNS_MAX_NAME;
	for (size_t i = 0; printable && i < from.len; i++)
		printable = (unsigned char)from.ptr[i] > 0x20 && (unsigned char)from.ptr[i] < 0x7f;
	if (!printable) {
		/* names are asked as text, an internationalized one as A-labels */
		out->result = DMARC_RESULT_PERMERROR;
		return DNS_EVAL_DONE;
	}
	int r = discover_at(cache, from, &out->record, need, &needed);
	if (needed)
		return DNS_EVAL_NEED;
	struct str org = dmarc_org_domain(from, org_buf, sizeof(org_buf));
	if (r == 0 && !str_case_eq(org, from)) {
		at_org = true;
		r = discover_at(cache, org, &out->record, need, &needed);
		if (needed)
			return DNS_EVAL_NEED;
	}
	if (r < 0) {
		out->result = DMARC_RESULT_TEMPERROR;
		return DNS_EVAL_DONE;
	}
	if (r == 0 || r == 2) {
		out->result = DMARC_RESULT_NONE;
		return DNS_EVAL_DONE;
	}
	out->have_record = true;
	snprintf(out->policy_domain, sizeof(out->policy_domain), "%.*s",
		 (int)(at_org ? org.len : from.len), at_org ? org.ptr : from.ptr);
	if (identifiers_aligned(params, &out->record)) {
		out->result = DMARC_RESULT_PASS;
		return DNS_EVAL_DONE;
	}
	out->result = DMARC_RESULT_FAIL;
	out->policy = at_org ? out->record.sp : out->record.p;
	if (params->pct_roll >= out->record.pct && out->policy != DMARC_POLICY_NONE) {
		/* RFC 7489 6.6.4: not sampled: the next milder policy */
		out->sampled_out = true;
		out->policy = out->policy == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE
								 : DMARC_POLICY_NONE;
	}
	return DNS_EVAL_DONE;
}
