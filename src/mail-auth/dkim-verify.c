/* dkim-verify: checks DKIM signatures by replay (see dkim-verify.h). */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dkim-canon.h"
#include "dkim-header.h"
#include "dkim-tags.h"
#include "dkim-verify.h"

/* Room for one signature's signed header fields, canonical. */
#define VERIFY_DATA_MAX (DKIM_HEADER_MAX_BYTES + DKIM_TAGS_TEXT_MAX)

struct dkim_sig {
	struct dkim_verify_result res;
	bool done;                  /* res is final */
	bool body_checked;
	struct str field;           /* the DKIM-Signature field */
	struct str h_list;
	struct str auid_domain;     /* i='s domain, or d= */
	enum dkim_canon header_canon;
	struct dkim_body_hash body;
	uint8_t body_want[DKIM_HASH_LEN];
	uint8_t sig[DKIM_SIG_MAX];
	size_t sig_len;
};

struct dkim_verify {
	char *headers;              /* the copy the views point into */
	struct dkim_header header;
	int64_t now;
	size_t count, ignored;
	struct dkim_sig sig[DKIM_MAX_SIGNATURES];
};

const char *dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_PASS: return "pass";
	case DKIM_FAIL: return "fail";
	case DKIM_NEUTRAL: return "neutral";
	case DKIM_TEMPERROR: return "temperror";
	case DKIM_PERMERROR: return "permerror";
	}
	return "permerror";
}

static void finish(struct dkim_sig *s, enum dkim_result r, const char *reason)
{
	if (s->done)
		return;
	s->res.result = r;
	s->res.reason = reason;
	s->done = true;
	dkim_body_hash_free(&s->body);
}

/* RFC 1035 letters, digits, hyphen, and the underscore selectors and
 * some domains use; a name of anything else is no key's. */
static bool is_dns_name(struct str s, size_t max)
{
	if (s.len == 0 || s.len > max || s.ptr[0] == '.' || s.ptr[s.len - 1] == '.')
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (!str_is_alpha((unsigned char)c) && !(c >= '0' && c <= '9') && c != '-' &&
		    c != '_' && c != '.')
			return false;
		if (c == '.' && s.ptr[i + 1] == '.')
			return false;
	}
	return true;
}

/* is_in_domain: sub is domain or a subdomain of it (ASCII case-blind). */
static bool is_in_domain(struct str sub, struct str domain)
{
	if (sub.len == domain.len)
		return str_case_eq(sub, domain);
	return sub.len > domain.len && sub.ptr[sub.len - domain.len - 1] == '.' &&
	       str_case_eq(str_sub(sub, sub.len - domain.len, domain.len), domain);
}

static bool h_has_from(struct str h)
{
	size_t start = 0;
	while (start <= h.len) {
		size_t end = start;
		while (end < h.len && h.ptr[end] != ':')
			end++;
		if (str_case_eq(str_trim(str_from(h.ptr + start, end - start)), STR("from")))
			return true;
		start = end + 1;
	}
	return false;
}

/* parse_canon reads c= ("header[/body]", each simple by default). */
static int parse_canon(struct str c, enum dkim_canon *header, enum dkim_canon *body)
{
	long slash = str_chr(c, '/');
	struct str parts[2] = { c, STR("simple") };
	if (slash >= 0) {
		parts[0] = str_from(c.ptr, (size_t)slash);
		parts[1] = str_from(c.ptr + slash + 1, c.len - (size_t)slash - 1);
	}
	enum dkim_canon *out[2] = { header, body };
	for (int i = 0; i < 2; i++) {
		if (str_eq(parts[i], STR("simple")))
			*out[i] = DKIM_CANON_SIMPLE;
		else if (str_eq(parts[i], STR("relaxed")))
			*out[i] = DKIM_CANON_RELAXED;
		else
			return -1;
	}
	return 0;
}

/* parse_sig reads one DKIM-Signature field into s (RFC 6376 6.1.1);
 * NULL, or why it is a permerror. */
static const char *parse_sig(struct dkim_verify *v, struct dkim_sig *s)
{
	struct dkim_tags t;
	struct str value, d, sel;
	const char *error;
	long colon = str_chr(s->field, ':');
	struct str list = str_from(s->field.ptr + colon + 1, s->field.len - (size_t)colon - 1);

	if (dkim_tags_parse(list, &t, &error) < 0)
		return error;
	if (!dkim_tags_get(&t, "v", &value) || !str_eq(value, STR("1")))
		return "v= is not 1";
	if (!dkim_tags_get(&t, "a", &value))
		return "no a=";
	if (str_eq(value, STR("rsa-sha256")))
		s->res.alg = DKIM_ALG_RSA_SHA256;
	else if (str_eq(value, STR("ed25519-sha256")))
		s->res.alg = DKIM_ALG_ED25519_SHA256;
	else
		return "unknown or refused algorithm (RFC 8301: no rsa-sha1)";
	if (!dkim_tags_get(&t, "d", &d) || !dkim_tags_get(&t, "s", &sel))
		return "no d= or s=";
	if (!is_dns_name(d, DNS_MAX_NAME) || !is_dns_name(sel, DKIM_SELECTOR_MAX) ||
	    d.len + sel.len + sizeof("._domainkey.") - 1 > DNS_MAX_NAME)
		return "d= or s= is not a domain name";
	memcpy(s->res.domain, d.ptr, d.len);
	s->res.domain[d.len] = '\0';
	memcpy(s->res.selector, sel.ptr, sel.len);
	s->res.selector[sel.len] = '\0';
	if (!dkim_tags_get(&t, "h", &s->h_list) || !h_has_from(s->h_list))
		return "h= does not sign From";
	if (!dkim_tags_get(&t, "b", &value))
		return "no b=";
	long len = dkim_tags_base64(value, s->sig, sizeof(s->sig));
	if (len <= 0)
		return "b= is not a signature";
	s->sig_len = (size_t)len;
	if (!dkim_tags_get(&t, "bh", &value) ||
	    dkim_tags_base64(value, s->body_want, sizeof(s->body_want)) != DKIM_HASH_LEN)
		return "bh= is not a SHA-256";
	enum dkim_canon body_canon = DKIM_CANON_SIMPLE;
	s->header_canon = DKIM_CANON_SIMPLE;
	if (dkim_tags_get(&t, "c", &value) && parse_canon(value, &s->header_canon, &body_canon) < 0)
		return "unknown c=";
	if (dkim_tags_get(&t, "q", &value) && !str_eq(value, STR("dns/txt")))
		return "unknown q=";
	s->auid_domain = d;
	if (dkim_tags_get(&t, "i", &value)) {
		long at = str_chr(value, '@');
		if (at < 0)
			return "i= has no @";
		s->auid_domain = str_from(value.ptr + at + 1, value.len - (size_t)at - 1);
		if (!is_in_domain(s->auid_domain, d))
			return "i= is not in d=";
	}
	uint64_t limit = DKIM_BODY_NO_LIMIT, expires;
	if (dkim_tags_get(&t, "l", &value) && str_to_u64(value, UINT64_MAX - 1, &limit) < 0)
		return "l= is not a number";
	if (dkim_tags_get(&t, "x", &value)) {
		if (str_to_u64(value, INT64_MAX, &expires) < 0)
			return "x= is not a number";
		if ((int64_t)expires < v->now)
			return "the signature has expired";
	}
	if (dkim_body_hash_init(&s->body, body_canon, limit) < 0)
		return "out of memory";
	return NULL;
}

int dkim_verify_new(struct str headers, int64_t now, struct dkim_verify **v_r)
{
	const char *error;
	/* Cleared up to the signatures, and each signature when it is taken:
	 * all of them (25 KB) cost the pre-auth process, which makes one
	 * verifier per message, page faults for slots a message seldom uses. */
	struct dkim_verify *v = malloc(sizeof(*v));

	*v_r = NULL;
	if (v != NULL)
		memset(v, 0, offsetof(struct dkim_verify, sig));
	if (v == NULL || headers.len > DKIM_HEADER_MAX_BYTES + 2)
		goto fail;
	v->now = now;
	v->headers = malloc(headers.len + 1);
	if (v->headers == NULL)
		goto fail;
	if (headers.len > 0)
		memcpy(v->headers, headers.ptr, headers.len);
	if (dkim_header_split(str_from(v->headers, headers.len), &v->header, &error) < 0)
		goto fail;
	for (size_t i = 0; i < v->header.count; i++) {
		if (!str_case_eq(v->header.fields[i].name, STR("DKIM-Signature")))
			continue;
		if (v->count == DKIM_MAX_SIGNATURES) {
			v->ignored++;
			continue;
		}
		struct dkim_sig *s = &v->sig[v->count++];
		memset(s, 0, offsetof(struct dkim_sig, body));
		memset(&s->body, 0, offsetof(struct dkim_body_hash, chunk));
		s->sig_len = 0;
		s->field = v->header.fields[i].text;
		const char *why = parse_sig(v, s);
		if (why != NULL)
			finish(s, DKIM_PERMERROR, why);
	}
	*v_r = v;
	return 0;
fail:
	dkim_verify_free(&v);
	return -1;
}

void dkim_verify_body(struct dkim_verify *v, const void *p, size_t n)
{
	for (size_t i = 0; i < v->count; i++)
		if (!v->sig[i].done && !v->sig[i].body_checked)
			dkim_body_hash_update(&v->sig[i].body, p, n);
}

void dkim_verify_body_end(struct dkim_verify *v)
{
	uint8_t got[DKIM_HASH_LEN];

	for (size_t i = 0; i < v->count; i++) {
		struct dkim_sig *s = &v->sig[i];
		if (s->done || s->body_checked)
			continue;
		s->body_checked = true;
		if (dkim_body_hash_final(&s->body, got) < 0)
			finish(s, DKIM_PERMERROR, "l= is past the end of the body");
		else if (memcmp(got, s->body_want, DKIM_HASH_LEN) != 0)
			finish(s, DKIM_FAIL, "body hash does not match");
	}
}

/* check_key verifies s with the key record answer a gave. */
static void check_key(const struct dkim_verify *v, struct dkim_sig *s, const struct dns_answer *a)
{
	struct dkim_key key;
	const char *error = "no key record";

	if (a->status == DNS_TEMPFAIL) {
		finish(s, DKIM_TEMPERROR, "key lookup failed for now");
		return;
	}
	if (a->status == DNS_BOGUS) {
		finish(s, DKIM_PERMERROR, "key record failed DNSSEC validation");
		return;
	}
	/* RFC 6376 3.6.2.2: several records are undefined; the first that
	 * is a key is taken. */
	size_t i = 0;
	for (; a->status == DNS_OK && i < a->count; i++)
		if (dkim_key_parse(a->records[i].data, &key, &error) == 0)
			break;
	if (a->status != DNS_OK || i == a->count) {
		finish(s, DKIM_PERMERROR, error);
		return;
	}
	const char *why = NULL;
	if (key.revoked)
		why = "key revoked";
	else if (key.alg != s->res.alg)
		why = "key type is not the signature's";
	else if (key.strict && !str_case_eq(s->auid_domain, str_c(s->res.domain)))
		why = "key is t=s and i= is a subdomain";
	if (why != NULL) {
		dkim_key_clear(&key);
		finish(s, DKIM_PERMERROR, why);
		return;
	}
	struct buf data;
	buf_init(&data, VERIFY_DATA_MAX);
	if (dkim_canon_signed_headers(s->header_canon, &v->header, s->h_list, s->field, &data,
				      &error) < 0)
		finish(s, DKIM_PERMERROR, error);
	else if (dkim_verify_data(s->res.alg, key.pkey, buf_str(&data), s->sig, s->sig_len) == 1)
		finish(s, DKIM_PASS, NULL);
	else
		finish(s, key.testing ? DKIM_NEUTRAL : DKIM_FAIL,
		       key.testing ? "signature does not verify (key in testing mode)"
				   : "signature does not verify");
	buf_free(&data);
	dkim_key_clear(&key);
}

enum dkim_verify_state dkim_verify_run(struct dkim_verify *v, const struct dns_cache *cache,
				       struct dkim_need *need)
{
	for (size_t i = 0; i < v->count; i++) {
		struct dkim_sig *s = &v->sig[i];
		if (s->done)
			continue;
		assert(s->body_checked);
		snprintf(need->name, sizeof(need->name), "%s._domainkey.%s", s->res.selector,
			 s->res.domain);
		const struct dns_answer *a = dns_cache_get(cache, DNS_TYPE_TXT, str_c(need->name));
		if (a == NULL) {
			need->type = DNS_TYPE_TXT;
			return DKIM_VERIFY_NEED;
		}
		check_key(v, s, a);
	}
	return DKIM_VERIFY_DONE;
}

size_t dkim_verify_count(const struct dkim_verify *v)
{
	return v->count;
}

const struct dkim_verify_result *dkim_verify_result(const struct dkim_verify *v, size_t i)
{
	assert(i < v->count);
	return &v->sig[i].res;
}

size_t dkim_verify_ignored(const struct dkim_verify *v)
{
	return v->ignored;
}

void dkim_verify_free(struct dkim_verify **vp)
{
	struct dkim_verify *v = *vp;
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->count; i++)
		dkim_body_hash_free(&v->sig[i].body);
	dkim_header_free(&v->header);
	free(v->headers);
	free(v);
	*vp = NULL;
}
