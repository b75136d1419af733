/* spf: RFC 7208 check_host() by replay over a dns_cache (see spf.h). */
#include "spf.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Returned inside the evaluation when an answer is missing: spf_eval turns
 * it into DNS_EVAL_NEED. */
#define SPF_R_NEED (-1)

enum spf_mech { M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS };

/* One term of a record, as parsed. */
struct spf_term {
	bool modifier;
	char qualifier;           /* '+', '-', '~', '?' */
	enum spf_mech mech;
	struct str name;          /* a modifier's name */
	struct str spec;          /* domain-spec or modifier value; empty: none */
	unsigned cidr4, cidr6;
	uint8_t net[16];          /* ip4 / ip6 network */
};

/* One evaluation: the counters of RFC 7208 4.6.4 span every include. */
struct spf_state {
	const struct dns_cache *cache;
	const struct spf_params *p;
	struct dns_need *need;
	unsigned dns_terms;
	unsigned void_lookups;
	char reason[160];
};

static const struct {
	const char *name;
	enum spf_mech mech;
} mechs[] = {
	{ "all", M_ALL }, { "include", M_INCLUDE }, { "a", M_A }, { "mx", M_MX },
	{ "ptr", M_PTR }, { "ip4", M_IP4 }, { "ip6", M_IP6 }, { "exists", M_EXISTS },
};

const char *spf_result_name(enum spf_result r)
{
	switch (r) {
	case SPF_NONE: return "none";
	case SPF_NEUTRAL: return "neutral";
	case SPF_PASS: return "pass";
	case SPF_FAIL: return "fail";
	case SPF_SOFTFAIL: return "softfail";
	case SPF_TEMPERROR: return "temperror";
	case SPF_PERMERROR: return "permerror";
	}
	return "permerror";
}

int spf_ip_parse(struct str text, struct spf_ip *ip)
{
	char s[64];

	if (text.len == 0 || text.len >= sizeof(s))
		return -1;
	memcpy(s, text.ptr, text.len);
	s[text.len] = '\0';
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->octets) == 1)
		return 0;
	if (inet_pton(AF_INET6, s, ip->octets) != 1)
		return -1;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(ip->octets, mapped, sizeof(mapped)) == 0) {
		memmove(ip->octets, ip->octets + 12, 4);
		memset(ip->octets + 4, 0, 12);
		return 0;
	}
	ip->v6 = true;
	return 0;
}

/* ---- macro expansion (RFC 7208 7) ---- */

/* Output of an expansion, bounded. */
struct spf_out {
	char *p;
	size_t len, max;
	bool full;
};

static void out_put(struct spf_out *o, const char *s, size_t n)
{
	if (o->p == NULL)
		return;
	if (n > o->max - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static bool is_delimiter(char c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* sender_split gives the local part and domain of local@domain (the last
 * '@': a quoted local part may hold one). */
static void sender_split(struct str sender, struct str *local, struct str *domain)
{
	long at = -1;
	for (size_t i = 0; i < sender.len; i++)
		if (sender.ptr[i] == '@')
			at = (long)i;
	if (at < 0) {
		*local = STR_NULL;
		*domain = sender;
		return;
	}
	*local = str_from(sender.ptr, (size_t)at);
	*domain = str_from(sender.ptr + at + 1, sender.len - (size_t)at - 1);
}

/* ip_dotted writes the "i" macro's value: dotted quad, or 32 dotted
 * nibbles for IPv6 (RFC 7208 7.3). */
static size_t ip_dotted(const struct spf_ip *ip, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (!ip->v6)
		return (size_t)snprintf(buf, size, "%u.%u.%u.%u", ip->octets[0], ip->octets[1],
					ip->octets[2], ip->octets[3]);
	for (size_t i = 0; i < 16 && n + 4 <= size; i++) {
		buf[n++] = hex[ip->octets[i] >> 4];
		buf[n++] = '.';
		buf[n++] = hex[ip->octets[i] & 15];
		buf[n++] = i < 15 ? '.' : '\0';
	}
	return n - 1;
}

/* macro_value gives letter's value (lower case letter); buf holds the
 * values that are made, not borrowed. */
static struct str macro_value(char letter, const struct spf_params *p, struct str domain,
			      char *buf, size_t size)
{
	struct str local, sdomain;

	sender_split(p->sender, &local, &sdomain);
	switch (letter) {
	case 's': return p->sender;
	case 'l': return local.len > 0 ? local : STR("postmaster");
	case 'o': return sdomain;
	case 'd': return domain;
	case 'i': return str_from(buf, ip_dotted(&p->ip, buf, size));
	case 'p': return STR("unknown");
	case 'v': return p->ip.v6 ? STR("ip6") : STR("in-addr");
	case 'h': return p->helo;
	case 'c':
		if (inet_ntop(p->ip.v6 ? AF_INET6 : AF_INET, p->ip.octets, buf, (socklen_t)size) == NULL)
			return STR("unknown");
		return str_c(buf);
	case 'r': return p->receiver.len > 0 ? p->receiver : STR("unknown");
	case 't': return str_from(buf, (size_t)snprintf(buf, size, "%lld", (long long)p->now));
	}
	return STR_NULL;
}

/* put_encoded writes s, URL-encoded when upper (RFC 7208 7.3: an upper
 * case macro letter; unreserved characters of RFC 3986 stay). */
static void put_encoded(struct spf_out *o, struct str s, bool upper)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (!upper || str_is_alpha(c) || is_digit((char)c) || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			out_put(o, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			out_put(o, e, 3);
		}
	}
}

/* The parts of a value split on the delimiters. */
struct spf_parts {
	uint16_t start[SPF_MAX_EXPANSION + 1];
	uint16_t end[SPF_MAX_EXPANSION + 1];
	size_t count;
};

/* macro_transform writes value split on delims, maybe reversed, its
 * rightmost keep parts (0: all) joined with '.'. */
static void macro_transform(struct spf_out *o, struct str value, const char *delims,
			    size_t ndelims, unsigned keep, bool reverse, bool upper)
{
	static struct spf_parts parts;   /* 8 KB: kept off the stack */
	size_t from = 0;

	parts.count = 0;
	for (size_t i = 0; i <= value.len; i++) {
		bool split = i == value.len;
		if (!split)
			split = ndelims == 0 ? value.ptr[i] == '.'
					     : memchr(delims, value.ptr[i], ndelims) != NULL;
		if (!split)
			continue;
		parts.start[parts.count] = (uint16_t)from;
		parts.end[parts.count] = (uint16_t)i;
		parts.count++;
		from = i + 1;
	}
	size_t n = keep == 0 || keep > parts.count ? parts.count : keep;
	for (size_t k = 0; k < n; k++) {
		/* rightmost n of the (maybe reversed) list, in order */
		size_t idx = reverse ? n - 1 - k : parts.count - n + k;
		if (k > 0)
			out_put(o, ".", 1);
		put_encoded(o, str_sub(value, parts.start[idx], parts.end[idx] - parts.start[idx]),
			    upper);
	}
}

/* macro_walk checks (params NULL) or expands s. */
static int macro_walk(struct str s, const struct spf_params *params, struct str domain,
		      bool exp, struct spf_out *o)
{
	char buf[80];

	for (size_t i = 0; i < s.len;) {
		char c = s.ptr[i];
		if (c != '%') {
			if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e) {
				if (!(exp && c == ' '))
					return -1;
			}
			out_put(o, &s.ptr[i], 1);
			i++;
			continue;
		}
		if (i + 1 >= s.len)
			return -1;
		c = s.ptr[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			out_put(o, c == '%' ? "%" : c == '_' ? " " : "%20", c == '-' ? 3 : 1);
			i += 2;
			continue;
		}
		if (c != '{' || i + 2 >= s.len)
			return -1;
		size_t j = i + 2;
		char letter = str_lower_char(s.ptr[j]);
		bool upper = s.ptr[j] != letter;
		if (strchr(exp ? "slodiphcrtv" : "slodiphv", letter) == NULL || letter == '\0')
			return -1;
		j++;
		unsigned keep = 0;
		bool digits = false;
		while (j < s.len && is_digit(s.ptr[j])) {
			digits = true;
			if (keep < SPF_MAX_MACRO_PARTS)
				keep = keep * 10 + (unsigned)(s.ptr[j] - '0');
			j++;
		}
		if (digits && keep == 0)
			return -1;   /* RFC 7208 7.1: the digit transformer is nonzero */
		bool reverse = false;
		if (j < s.len && (s.ptr[j] == 'r' || s.ptr[j] == 'R')) {
			reverse = true;
			j++;
		}
		size_t dstart = j;
		while (j < s.len && is_delimiter(s.ptr[j]))
			j++;
		if (j >= s.len || s.ptr[j] != '}')
			return -1;
		if (params != NULL) {
			struct str v = macro_value(letter, params, domain, buf, sizeof(buf));
			if (v.len > SPF_MAX_EXPANSION)
				return -1;
			macro_transform(o, v, s.ptr + dstart, j - dstart, keep, reverse, upper);
		}
		i = j + 1;
	}
	return o->full ? -1 : 0;
}

long spf_expand(struct str s, const struct spf_params *params, struct str domain, bool exp,
		char *out, size_t outsize)
{
	struct spf_out o = { .p = out, .max = outsize > 0 ? outsize - 1 : 0 };

	if (o.max > SPF_MAX_EXPANSION)
		o.max = SPF_MAX_EXPANSION;
	if (params == NULL || out == NULL || outsize == 0)
		return -1;
	if (macro_walk(s, params, domain, exp, &o) < 0)
		return -1;
	out[o.len] = '\0';
	return (long)o.len;
}

struct str spf_domain_cut(struct str name)
{
	if (name.len > 0 && name.ptr[name.len - 1] == '.')
		name.len--;
	while (name.len > DNS_MAX_NAME) {
		long dot = str_chr(name, '.');
		if (dot < 0)
			return STR_NULL;
		name = str_sub(name, (size_t)dot + 1, name.len);
	}
	return name;
}

/* ---- record syntax (RFC 7208 4.6, 5, 6) ---- */

static bool is_alnum(char c)
{
	return str_is_alpha((unsigned char)c) || is_digit(c);
}

/* domain_end_ok checks that a domain-spec with no macro at its end ends in
 * "." toplabel ["."] (RFC 7208 7.1). */
static bool domain_end_ok(struct str spec)
{
	if (spec.len > 0 && spec.ptr[spec.len - 1] == '}')
		return true;
	if (spec.len > 0 && spec.ptr[spec.len - 1] == '.')
		spec.len--;
	size_t dot = spec.len;
	while (dot > 0 && spec.ptr[dot - 1] != '.')
		dot--;
	if (dot == 0)
		return false;   /* needs a "." before the top label */
	struct str top = str_sub(spec, dot, spec.len - dot);
	bool alpha = false;
	if (top.len == 0 || !is_alnum(top.ptr[0]) || !is_alnum(top.ptr[top.len - 1]))
		return false;
	for (size_t i = 0; i < top.len; i++) {
		if (str_is_alpha((unsigned char)top.ptr[i]))
			alpha = true;
		else if (!is_digit(top.ptr[i]) && top.ptr[i] != '-')
			return false;
	}
	return alpha || str_chr(top, '-') >= 0;
}

static bool domain_spec_ok(struct str spec)
{
	struct spf_out none = { 0 };
	return spec.len > 0 && macro_walk(spec, NULL, STR_NULL, false, &none) == 0 &&
	       domain_end_ok(spec);
}

/* cidr_take takes "/N" (N <= max, no leading zero) off the end of *s. */
static int cidr_take(struct str *s, const char *slash, unsigned max, unsigned *out)
{
	size_t sl = strlen(slash);
	size_t d = s->len;
	while (d > 0 && is_digit(s->ptr[d - 1]))
		d--;
	if (d == s->len || d < sl || memcmp(s->ptr + d - sl, slash, sl) != 0)
		return 0;
	if (sl == 1 && d >= 2 && s->ptr[d - 2] == '/')
		return 0;   /* "//N" is the IPv6 length, not this one */
	struct str num = str_sub(*s, d, s->len - d);
	uint64_t v;
	if ((num.len > 1 && num.ptr[0] == '0') || str_to_u64(num, max, &v) < 0)
		return -1;
	*out = (unsigned)v;
	s->len = d - sl;
	return 1;
}

/* parse_ip_net reads ip4 / ip6 network text into net. */
static int parse_ip_net(struct str s, bool v6, uint8_t *net)
{
	char buf[64];
	if (s.len == 0 || s.len >= sizeof(buf))
		return -1;
	memcpy(buf, s.ptr, s.len);
	buf[s.len] = '\0';
	return inet_pton(v6 ? AF_INET6 : AF_INET, buf, net) == 1 ? 0 : -1;
}

/* term_parse reads one term (RFC 7208 4.6.1).  0 or -1 (syntax error). */
static int term_parse(struct str t, struct spf_term *term)
{
	memset(term, 0, sizeof(*term));
	term->qualifier = '+';
	term->cidr4 = 32;
	term->cidr6 = 128;
	bool qualified = false;
	if (t.len > 0 && strchr("+-~?", t.ptr[0]) != NULL) {
		qualified = true;
		term->qualifier = t.ptr[0];
		t = str_sub(t, 1, t.len);
	}
	size_t n = 0;
	if (t.len == 0 || !str_is_alpha((unsigned char)t.ptr[0]))
		return -1;
	while (n < t.len && (is_alnum(t.ptr[n]) || t.ptr[n] == '-' || t.ptr[n] == '_' ||
			     t.ptr[n] == '.'))
		n++;
	struct str name = str_sub(t, 0, n);
	struct str rest = str_sub(t, n, t.len);

	if (rest.len > 0 && rest.ptr[0] == '=') {
		if (qualified)
			return -1;
		term->modifier = true;
		term->name = name;
		term->spec = str_sub(rest, 1, rest.len);
		if (str_case_eq(name, STR("redirect")) || str_case_eq(name, STR("exp")))
			return domain_spec_ok(term->spec) ? 0 : -1;
		struct spf_out none = { 0 };
		return macro_walk(term->spec, NULL, STR_NULL, false, &none);
	}
	size_t m;
	for (m = 0; m < sizeof(mechs) / sizeof(mechs[0]); m++)
		if (str_case_eq(name, str_c(mechs[m].name)))
			break;
	if (m == sizeof(mechs) / sizeof(mechs[0]))
		return -1;
	term->mech = mechs[m].mech;
	switch (term->mech) {
	case M_ALL:
		return rest.len == 0 ? 0 : -1;
	case M_INCLUDE:
	case M_EXISTS:
		if (rest.len < 2 || rest.ptr[0] != ':')
			return -1;
		term->spec = str_sub(rest, 1, rest.len);
		return domain_spec_ok(term->spec) ? 0 : -1;
	case M_A:
	case M_MX:
		if (cidr_take(&rest, "//", 128, &term->cidr6) < 0 ||
		    cidr_take(&rest, "/", 32, &term->cidr4) < 0)
			return -1;
		/* fall through */
	case M_PTR:
		if (rest.len == 0)
			return 0;
		if (rest.len < 2 || rest.ptr[0] != ':')
			return -1;
		term->spec = str_sub(rest, 1, rest.len);
		return domain_spec_ok(term->spec) ? 0 : -1;
	case M_IP4:
	case M_IP6: {
		bool v6 = term->mech == M_IP6;
		if (rest.len < 2 || rest.ptr[0] != ':')
			return -1;
		rest = str_sub(rest, 1, rest.len);
		unsigned *cidr = v6 ? &term->cidr6 : &term->cidr4;
		if (cidr_take(&rest, "/", v6 ? 128 : 32, cidr) < 0)
			return -1;
		return parse_ip_net(rest, v6, term->net);
	}
	}
	return -1;
}

/* next_term steps *pos over spaces to the next term of record. */
static bool next_term(struct str record, size_t *pos, struct str *term)
{
	size_t i = *pos;
	while (i < record.len && record.ptr[i] == ' ')
		i++;
	if (i == record.len)
		return false;
	size_t start = i;
	while (i < record.len && record.ptr[i] != ' ')
		i++;
	*term = str_sub(record, start, i - start);
	*pos = i;
	return true;
}

/* record_check parses every term of the terms after "v=spf1": any syntax
 * error anywhere is a permerror (RFC 7208 4.6), as is a second redirect or
 * exp (6).  Gives the redirect modifier's term. */
static int record_check(struct str terms, struct spf_term *redirect, bool *has_redirect)
{
	size_t pos = 0, count = 0;
	struct str t;
	bool has_exp = false;

	*has_redirect = false;
	if (terms.len > 0 && terms.ptr[0] != ' ')
		return -1;
	while (next_term(terms, &pos, &t)) {
		struct spf_term term;
		if (++count > SPF_MAX_TERMS || term_parse(t, &term) < 0)
			return -1;
		if (!term.modifier)
			continue;
		bool *seen = str_case_eq(term.name, STR("redirect")) ? has_redirect
			     : str_case_eq(term.name, STR("exp")) ? &has_exp
								   : NULL;
		if (seen == NULL)
			continue;
		if (*seen)
			return -1;
		*seen = true;
		if (seen == has_redirect)
			*redirect = term;
	}
	for (size_t i = 0; i < terms.len; i++)
		if ((unsigned char)terms.ptr[i] < 0x20 || (unsigned char)terms.ptr[i] > 0x7e)
			return -1;
	return 0;
}

/* ---- evaluation (RFC 7208 4, 5) ---- */

static int fail(struct spf_state *st, int result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct spf_state *st, int result, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	return result;
}

/* lookup gives the cached answer for (type, name), or NULL with *need set. */
static const struct dns_answer *lookup(struct spf_state *st, enum dns_type type,
				       struct str name)
{
	const struct dns_answer *a = dns_cache_get(st->cache, type, name);
	if (a == NULL)
		dns_need_set(st->need, type, name);
	return a;
}

static bool answer_empty(const struct dns_answer *a)
{
	return a->status == DNS_NXDOMAIN || a->status == DNS_NODATA ||
	       (a->status == DNS_OK && a->count == 0);
}

static bool answer_failed(const struct dns_answer *a)
{
	return a->status == DNS_TEMPFAIL || a->status == DNS_BOGUS;
}

/* domain_ok: a multi-label name of labels 1..63 octets (RFC 7208 4.3),
 * of printable ASCII (names are asked as text: an internationalized name
 * is asked in its A-label form or not at all). */
static bool domain_ok(struct str d)
{
	size_t label = 0, labels = 1;
	if (d.len == 0 || d.len > DNS_MAX_NAME)
		return false;
	for (size_t i = 0; i < d.len; i++) {
		if ((unsigned char)d.ptr[i] < 0x21 || (unsigned char)d.ptr[i] > 0x7e)
			return false;
		if (d.ptr[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			labels++;
		} else if (++label > 63) {
			return false;
		}
	}
	return label > 0 && labels > 1;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* addr_match: does one A / AAAA record match the client in cidr bits? */
static bool addr_match(const struct spf_state *st, const struct dns_record *r, unsigned cidr)
{
	size_t want = st->p->ip.v6 ? 16 : 4;
	return r->data.len == want &&
	       prefix_match((const uint8_t *)r->data.ptr, st->p->ip.octets, cidr);
}

/* count_term counts a term that asks DNS (RFC 7208 4.6.4). */
static int count_term(struct spf_state *st)
{
	if (++st->dns_terms > SPF_MAX_DNS_TERMS)
		return fail(st, SPF_PERMERROR, "more than %d DNS lookups", SPF_MAX_DNS_TERMS);
	return 0;
}

static int count_void(struct spf_state *st)
{
	if (++st->void_lookups > SPF_MAX_VOID_LOOKUPS)
		return fail(st, SPF_PERMERROR, "more than %d void lookups", SPF_MAX_VOID_LOOKUPS);
	return 0;
}

/* target expands a term's domain-spec (or gives the current domain). */
static int target(struct spf_state *st, const struct spf_term *t, struct str domain,
		  char *buf, size_t size, struct str *out)
{
	if (t->spec.len == 0) {
		*out = domain;
		return 0;
	}
	long n = spf_expand(t->spec, st->p, domain, false, buf, size);
	if (n < 0)
		return fail(st, SPF_PERMERROR, "macro expansion failed");
	*out = spf_domain_cut(str_from(buf, (size_t)n));
	return 0;
}

/* host_addr_match looks up host's addresses of the client's family and
 * matches them.  1 match, 0 none (or no such name), SPF_R_NEED, or an
 * error result for a DNS failure when strict. */
static int host_addr_match(struct spf_state *st, struct str host, unsigned cidr, bool strict)
{
	if (!domain_ok(host))
		return 0;
	const struct dns_answer *a = lookup(st, st->p->ip.v6 ? DNS_TYPE_AAAA : DNS_TYPE_A, host);
	if (a == NULL)
		return SPF_R_NEED;
	if (answer_failed(a))
		return strict ? fail(st, SPF_TEMPERROR, "DNS failure for %.*s", (int)host.len,
				     host.ptr)
			      : 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++)
		if (addr_match(st, &a->records[i], cidr))
			return 1;
	return 0;
}

/* reverse_name builds the PTR query name of the client's address. */
static struct str reverse_name(const struct spf_ip *ip, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	if (!ip->v6)
		return str_from(buf, (size_t)snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa",
						      ip->octets[3], ip->octets[2], ip->octets[1],
						      ip->octets[0]));
	size_t n = 0;
	for (int i = 15; i >= 0; i--) {
		buf[n++] = hex[ip->octets[i] & 15];
		buf[n++] = '.';
		buf[n++] = hex[ip->octets[i] >> 4];
		buf[n++] = '.';
	}
	memcpy(buf + n, "ip6.arpa", 9);
	return str_from(buf, n + 8);
}

/* is_subdomain: name equals parent or ends in "." parent. */
static bool is_subdomain(struct str name, struct str parent)
{
	if (name.len < parent.len)
		return false;
	struct str tail = str_sub(name, name.len - parent.len, parent.len);
	return str_case_eq(tail, parent) &&
	       (name.len == parent.len || name.ptr[name.len - parent.len - 1] == '.');
}

static int check_host(struct spf_state *st, struct str domain);

/* mech_ptr: RFC 7208 5.5, with the 10-name limit of 4.6.4. */
static int mech_ptr(struct spf_state *st, struct str want)
{
	char rev[80];
	const struct dns_answer *a = lookup(st, DNS_TYPE_PTR, reverse_name(&st->p->ip, rev,
									 sizeof(rev)));
	if (a == NULL)
		return SPF_R_NEED;
	if (answer_empty(a))
		return count_void(st);
	if (answer_failed(a) || a->status != DNS_OK)
		return 0;
	for (size_t i = 0; i < a->count && i < SPF_MAX_NAMES_PER_TERM; i++) {
		struct str name = spf_domain_cut(a->records[i].data);
		if (!is_subdomain(name, want))
			continue;   /* cannot match: no need to validate it */
		int r = host_addr_match(st, name, st->p->ip.v6 ? 128 : 32, false);
		if (r != 0)
			return r;
	}
	return 0;
}

/* mech_mx: RFC 7208 5.4, at most 10 MX names (4.6.4). */
static int mech_mx(struct spf_state *st, struct str host, unsigned cidr)
{
	if (!domain_ok(host))
		return count_void(st);
	const struct dns_answer *a = lookup(st, DNS_TYPE_MX, host);
	if (a == NULL)
		return SPF_R_NEED;
	if (answer_failed(a))
		return fail(st, SPF_TEMPERROR, "DNS failure for MX %.*s", (int)host.len, host.ptr);
	if (answer_empty(a))
		return count_void(st);
	if (a->count > SPF_MAX_NAMES_PER_TERM)
		return fail(st, SPF_PERMERROR, "more than %d MX names for %.*s",
			    SPF_MAX_NAMES_PER_TERM, (int)host.len, host.ptr);
	for (size_t i = 0; i < a->count; i++) {
		int r = host_addr_match(st, spf_domain_cut(a->records[i].data), cidr, true);
		if (r != 0)
			return r;
	}
	return 0;
}

/* mech_match: 1 if term matches, 0 if not, or a result (error, need). */
static int mech_match(struct spf_state *st, const struct spf_term *t, struct str domain)
{
	char buf[SPF_MAX_EXPANSION + 1];
	struct str host;
	int r;

	if (t->mech == M_ALL)
		return 1;
	if (t->mech == M_IP4 || t->mech == M_IP6) {
		bool v6 = t->mech == M_IP6;
		return st->p->ip.v6 == v6 &&
		       prefix_match(t->net, st->p->ip.octets, v6 ? t->cidr6 : t->cidr4);
	}
	if ((r = count_term(st)) != 0 || (r = target(st, t, domain, buf, sizeof(buf), &host)) != 0)
		return r;
	unsigned cidr = st->p->ip.v6 ? t->cidr6 : t->cidr4;
	switch (t->mech) {
	case M_INCLUDE:
		if (!domain_ok(host))
			return fail(st, SPF_PERMERROR, "include of a malformed name");
		r = check_host(st, host);
		if (r == SPF_R_NEED || r == SPF_TEMPERROR || r == SPF_PERMERROR)
			return r;
		if (r == SPF_NONE)
			return fail(st, SPF_PERMERROR, "include:%.*s has no SPF record",
				    (int)host.len, host.ptr);
		return r == SPF_PASS;
	case M_A:
		if (!domain_ok(host))
			return count_void(st);
		r = host_addr_match(st, host, cidr, true);
		if (r == 0 && answer_empty(dns_cache_get(st->cache, st->p->ip.v6 ? DNS_TYPE_AAAA
										  : DNS_TYPE_A,
							 host)))
			return count_void(st);
		return r;
	case M_MX:
		return mech_mx(st, host, cidr);
	case M_PTR:
		return mech_ptr(st, host);
	case M_EXISTS: {
		if (!domain_ok(host))
			return count_void(st);
		const struct dns_answer *a = lookup(st, DNS_TYPE_A, host);
		if (a == NULL)
			return SPF_R_NEED;
		if (answer_failed(a))
			return fail(st, SPF_TEMPERROR, "DNS failure for %.*s", (int)host.len,
				    host.ptr);
		if (answer_empty(a))
			return count_void(st);
		return a->status == DNS_OK;
	}
	default:
		return 0;
	}
}

static enum spf_result qualifier_result(char q)
{
	switch (q) {
	case '-': return SPF_FAIL;
	case '~': return SPF_SOFTFAIL;
	case '?': return SPF_NEUTRAL;
	default: return SPF_PASS;
	}
}

/* record_find picks the one "v=spf1" record of domain (RFC 7208 4.5).
 * 1 found, or a result (none, permerror, temperror, need). */
static int record_find(struct spf_state *st, struct str domain, struct str *record)
{
	const struct dns_answer *a = lookup(st, DNS_TYPE_TXT, domain);
	size_t found = 0;

	if (a == NULL)
		return SPF_R_NEED;
	if (answer_failed(a))
		return fail(st, SPF_TEMPERROR, "DNS failure for %.*s", (int)domain.len, domain.ptr);
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		struct str txt = a->records[i].data;
		if (!str_case_prefix(txt, STR("v=spf1")) || (txt.len > 6 && txt.ptr[6] != ' '))
			continue;
		if (++found > 1)
			return fail(st, SPF_PERMERROR, "more than one SPF record for %.*s",
				    (int)domain.len, domain.ptr);
		*record = str_sub(txt, 6, txt.len);
	}
	if (found == 0)
		return fail(st, SPF_NONE, "no SPF record for %.*s", (int)domain.len, domain.ptr);
	return 1;
}

/* check_host: RFC 7208 4, for domain, within st's limits. */
static int check_host(struct spf_state *st, struct str domain)
{
	struct str record, t;
	struct spf_term redirect, term;
	bool has_redirect;
	size_t pos = 0;
	int r;

	if (!domain_ok(domain))
		return fail(st, SPF_NONE, "malformed domain");
	if ((r = record_find(st, domain, &record)) != 1)
		return r;
	if (record_check(record, &redirect, &has_redirect) < 0)
		return fail(st, SPF_PERMERROR, "syntax error in the SPF record of %.*s",
			    (int)domain.len, domain.ptr);
	while (next_term(record, &pos, &t)) {
		term_parse(t, &term);
		if (term.modifier)
			continue;
		r = mech_match(st, &term, domain);
		if (r == 1) {
			fail(st, SPF_NONE, "%.*s matched %.*s", (int)domain.len, domain.ptr,
			     (int)t.len, t.ptr);
			return qualifier_result(term.qualifier);
		}
		if (r != 0)
			return r;
	}
	if (!has_redirect)
		return fail(st, SPF_NEUTRAL, "no term of %.*s matched", (int)domain.len, domain.ptr);
	char buf[SPF_MAX_EXPANSION + 1];
	struct str host;
	if ((r = count_term(st)) != 0 || (r = target(st, &redirect, domain, buf, sizeof(buf),
						     &host)) != 0)
		return r;
	r = check_host(st, host);
	if (r == SPF_NONE)
		return fail(st, SPF_PERMERROR, "redirect=%.*s has no SPF record", (int)host.len,
			    host.ptr);
	return r;
}

enum dns_eval spf_eval(const struct dns_cache *cache, const struct spf_params *params,
		       struct spf_outcome *out, struct dns_need *need)
{
	struct spf_state st = { .cache = cache, .p = params, .need = need };

	int r = check_host(&st, spf_domain_cut(params->domain));
	if (r == SPF_R_NEED)
		return DNS_EVAL_NEED;
	out->result = (enum spf_result)r;
	snprintf(out->reason, sizeof(out->reason), "%s", st.reason);
	return DNS_EVAL_DONE;
}
