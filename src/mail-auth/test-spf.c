/* Unit tests for spf: RFC 7208's examples (appendix A and 7.4), every
 * mechanism, the limits one past, loops and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mail-auth/spf.h"
#include "mail-auth/test-zone.h"

static struct dns_cache *zone;

/* The zone of RFC 7208 appendix A. */
static int setup(void **state)
{
	(void)state;
	zone = dns_cache_new();
	zone_add(zone, DNS_TYPE_MX, "example.com", "10 mail-a.example.com");
	zone_add(zone, DNS_TYPE_MX, "example.com", "20 mail-b.example.com");
	zone_add(zone, DNS_TYPE_A, "example.com", "192.0.2.10");
	zone_add(zone, DNS_TYPE_A, "example.com", "192.0.2.11");
	zone_add(zone, DNS_TYPE_A, "amy.example.com", "192.0.2.65");
	zone_add(zone, DNS_TYPE_A, "bob.example.com", "192.0.2.66");
	zone_add(zone, DNS_TYPE_A, "mail-a.example.com", "192.0.2.129");
	zone_add(zone, DNS_TYPE_A, "mail-b.example.com", "192.0.2.130");
	zone_add(zone, DNS_TYPE_MX, "example.org", "10 mail-c.example.org");
	zone_add(zone, DNS_TYPE_A, "mail-c.example.org", "192.0.2.140");
	zone_add(zone, DNS_TYPE_PTR, "10.2.0.192.in-addr.arpa", "example.com");
	zone_add(zone, DNS_TYPE_PTR, "11.2.0.192.in-addr.arpa", "example.com");
	zone_add(zone, DNS_TYPE_PTR, "65.2.0.192.in-addr.arpa", "amy.example.com");
	zone_add(zone, DNS_TYPE_PTR, "66.2.0.192.in-addr.arpa", "bob.example.com");
	zone_add(zone, DNS_TYPE_PTR, "129.2.0.192.in-addr.arpa", "mail-a.example.com");
	zone_add(zone, DNS_TYPE_PTR, "130.2.0.192.in-addr.arpa", "mail-b.example.com");
	zone_add(zone, DNS_TYPE_PTR, "140.2.0.192.in-addr.arpa", "mail-c.example.org");
	zone_add(zone, DNS_TYPE_PTR, "4.0.0.10.in-addr.arpa", "bob.example.com");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dns_cache_free(&zone);
	return 0;
}

/* check runs check_host(ip, domain, "user@domain") by replay over the zone,
 * with txt as domain's SPF record (NULL: as the zone has it). */
static enum spf_result check_q(const char *ip, const char *domain, const char *txt,
			       unsigned *queries)
{
	struct dns_cache *cache = dns_cache_new();
	struct spf_params p = { .domain = str_c(domain), .helo = STR("client.test"),
				.receiver = STR("mx.ours.test") };
	struct spf_outcome out;
	struct dns_need need;
	char sender[300];
	unsigned n = 0;

	snprintf(sender, sizeof(sender), "user@%s", domain);
	p.sender = str_c(sender);
	assert_int_equal(spf_ip_parse(str_c(ip), &p.ip), 0);
	if (txt != NULL) {
		struct dns_record rec = { .data = str_c(txt) };
		struct dns_answer a = { .status = DNS_OK, .count = 1, .records = &rec };
		assert_int_equal(dns_cache_put(cache, DNS_TYPE_TXT, str_c(domain), &a), 0);
	}
	while (spf_eval(cache, &p, &out, &need) == DNS_EVAL_NEED) {
		assert_null(dns_cache_get(cache, need.type, str_c(need.name)));
		zone_answer(zone, cache, &need);
		assert_true(++n < 200);
	}
	if (queries != NULL)
		*queries = n;
	dns_cache_free(&cache);
	return out.result;
}

static enum spf_result check(const char *ip, const char *domain, const char *txt)
{
	return check_q(ip, domain, txt, NULL);
}

static void test_appendix_a(void **state)
{
	(void)state;
	assert_int_equal(check("192.0.2.99", "example.com", "v=spf1 +all"), SPF_PASS);
	const char *a = "v=spf1 a -all";
	assert_int_equal(check("192.0.2.10", "example.com", a), SPF_PASS);
	assert_int_equal(check("192.0.2.11", "example.com", a), SPF_PASS);
	assert_int_equal(check("192.0.2.65", "example.com", a), SPF_FAIL);
	assert_int_equal(check("192.0.2.10", "example.com", "v=spf1 a:example.org -all"),
			 SPF_FAIL);
	const char *mx = "v=spf1 mx -all";
	assert_int_equal(check("192.0.2.129", "example.com", mx), SPF_PASS);
	assert_int_equal(check("192.0.2.130", "example.com", mx), SPF_PASS);
	assert_int_equal(check("192.0.2.140", "example.com", mx), SPF_FAIL);
	assert_int_equal(check("192.0.2.140", "example.com", "v=spf1 mx:example.org -all"),
			 SPF_PASS);
	const char *both = "v=spf1 mx mx:example.org -all";
	assert_int_equal(check("192.0.2.129", "example.com", both), SPF_PASS);
	assert_int_equal(check("192.0.2.140", "example.com", both), SPF_PASS);
	const char *cidr = "v=spf1 mx/30 mx:example.org/30 -all";
	assert_int_equal(check("192.0.2.131", "example.com", cidr), SPF_PASS);
	assert_int_equal(check("192.0.2.143", "example.com", cidr), SPF_PASS);
	assert_int_equal(check("192.0.2.144", "example.com", cidr), SPF_FAIL);
	const char *ptr = "v=spf1 ptr -all";
	assert_int_equal(check("192.0.2.65", "example.com", ptr), SPF_PASS);
	assert_int_equal(check("192.0.2.140", "example.com", ptr), SPF_FAIL);
	assert_int_equal(check("10.0.0.4", "example.com", ptr), SPF_FAIL);   /* bob has no A 10.0.0.4 */
	const char *net = "v=spf1 ip4:192.0.2.128/28 -all";
	assert_int_equal(check("192.0.2.65", "example.com", net), SPF_FAIL);
	assert_int_equal(check("192.0.2.129", "example.com", net), SPF_PASS);
}

static void test_qualifiers_and_ip6(void **state)
{
	(void)state;
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 ~all"), SPF_SOFTFAIL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 ?all"), SPF_NEUTRAL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 -ALL"), SPF_FAIL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1"), SPF_NEUTRAL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1  ip4:192.0.2.1  -all "), SPF_PASS);
	const char *v6 = "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.0/24 -all";
	assert_int_equal(check("2001:db8::cb01", "q.test", v6), SPF_PASS);
	assert_int_equal(check("2001:db9::1", "q.test", v6), SPF_FAIL);
	/* an IPv4-mapped address is checked as IPv4 */
	assert_int_equal(check("::ffff:192.0.2.7", "q.test", v6), SPF_PASS);
	zone_add(zone, DNS_TYPE_AAAA, "six.test", "2001:db8:1::1");
	assert_int_equal(check("2001:db8:1::1", "q.test", "v=spf1 a:six.test -all"), SPF_PASS);
	assert_int_equal(check("2001:db8:1::ff", "q.test", "v=spf1 a:six.test//120 -all"),
			 SPF_PASS);
	assert_int_equal(check("2001:db8:1::1:0", "q.test", "v=spf1 a:six.test//120 -all"),
			 SPF_FAIL);
}

static void test_record_selection(void **state)
{
	(void)state;
	assert_int_equal(check("192.0.2.1", "nothing.test", NULL), SPF_NONE);
	zone_add(zone, DNS_TYPE_TXT, "two.test", "v=spf1 -all");
	zone_add(zone, DNS_TYPE_TXT, "two.test", "v=spf1 +all");
	assert_int_equal(check("192.0.2.1", "two.test", NULL), SPF_PERMERROR);
	zone_add(zone, DNS_TYPE_TXT, "other.test", "v=spf10 +all");
	zone_add(zone, DNS_TYPE_TXT, "other.test", "google-site-verification=x");
	assert_int_equal(check("192.0.2.1", "other.test", NULL), SPF_NONE);
	zone_status(zone, DNS_TYPE_TXT, "broken.test", DNS_TEMPFAIL);
	assert_int_equal(check("192.0.2.1", "broken.test", NULL), SPF_TEMPERROR);
	assert_int_equal(check("192.0.2.1", "single", "v=spf1 +all"), SPF_NONE);
	/* a syntax error anywhere, even after a match */
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 +all foo:bar"), SPF_PERMERROR);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 ip4:192.0.2.1/33"), SPF_PERMERROR);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 a:q.test/01"), SPF_PERMERROR);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 include:nodot -all"),
			 SPF_PERMERROR);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 -redirect=a.test"), SPF_PERMERROR);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 exp=a.test exp=b.test"),
			 SPF_PERMERROR);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 ?all unknown=%{x}"), SPF_PERMERROR);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 ?all unknown=thing"), SPF_NEUTRAL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 ?all exp=%{c}.q.test"),
			 SPF_PERMERROR);   /* c is for explanation text only */
}

static void test_include_redirect(void **state)
{
	(void)state;
	zone_add(zone, DNS_TYPE_TXT, "inc.test", "v=spf1 ip4:198.51.100.0/24 -all");
	const char *inc = "v=spf1 include:inc.test ~all";
	assert_int_equal(check("198.51.100.9", "q.test", inc), SPF_PASS);
	/* the included record's fail is a no-match here */
	assert_int_equal(check("192.0.2.1", "q.test", inc), SPF_SOFTFAIL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 include:none.test -all"),
			 SPF_PERMERROR);
	zone_status(zone, DNS_TYPE_TXT, "tmp.test", DNS_TEMPFAIL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 include:tmp.test -all"),
			 SPF_TEMPERROR);
	assert_int_equal(check("198.51.100.9", "q.test", "v=spf1 redirect=inc.test"), SPF_PASS);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 redirect=inc.test"), SPF_FAIL);
	/* redirect is ignored when a mechanism matches, and after all */
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 redirect=inc.test ?all"),
			 SPF_NEUTRAL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 redirect=none.test"),
			 SPF_PERMERROR);
	/* loops end at the lookup limit */
	zone_add(zone, DNS_TYPE_TXT, "loop.test", "v=spf1 include:loop.test -all");
	assert_int_equal(check("192.0.2.1", "loop.test", NULL), SPF_PERMERROR);
	zone_add(zone, DNS_TYPE_TXT, "rloop.test", "v=spf1 redirect=rloop.test");
	assert_int_equal(check("192.0.2.1", "rloop.test", NULL), SPF_PERMERROR);
	zone_add(zone, DNS_TYPE_TXT, "ping.test", "v=spf1 include:pong.test -all");
	zone_add(zone, DNS_TYPE_TXT, "pong.test", "v=spf1 include:ping.test -all");
	assert_int_equal(check("192.0.2.1", "ping.test", NULL), SPF_PERMERROR);
}

/* record_of builds "v=spf1", n terms pre<index>post, then tail. */
static const char *record_of(char *buf, size_t size, unsigned n, const char *pre,
			     const char *post, const char *tail)
{
	size_t len = (size_t)snprintf(buf, size, "v=spf1");
	for (unsigned i = 0; i < n; i++) {
		char t[64];
		snprintf(t, sizeof(t), "%s%u%s", pre, i, post);
		len += (size_t)snprintf(buf + len, size - len, " %s", t);
	}
	snprintf(buf + len, size - len, " %s", tail);
	return buf;
}

static void test_lookup_limit(void **state)
{
	(void)state;
	char buf[2048], name[32];
	unsigned q;

	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "h%d.test", i);
		zone_add(zone, DNS_TYPE_A, name, "203.0.113.1");
	}
	record_of(buf, sizeof(buf), SPF_MAX_DNS_TERMS, "a:h", ".test", "-all");
	assert_int_equal(check_q("192.0.2.1", "q.test", buf, &q), SPF_FAIL);
	assert_int_equal(q, SPF_MAX_DNS_TERMS);
	record_of(buf, sizeof(buf), SPF_MAX_DNS_TERMS + 1, "a:h", ".test", "-all");
	assert_int_equal(check_q("192.0.2.1", "q.test", buf, &q), SPF_PERMERROR);
	assert_int_equal(q, SPF_MAX_DNS_TERMS);
	/* ip4 and all are no lookups */
	record_of(buf, sizeof(buf), SPF_MAX_DNS_TERMS, "a:h", ".test", "ip4:10.0.0.1 -all");
	assert_int_equal(check("192.0.2.1", "q.test", buf), SPF_FAIL);
	/* includes count with the includer */
	zone_add(zone, DNS_TYPE_TXT, "nine.test",
		 record_of(buf, sizeof(buf), SPF_MAX_DNS_TERMS - 1, "a:h", ".test", "-all"));
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 include:nine.test -all"), SPF_FAIL);
	assert_int_equal(check("192.0.2.1", "q.test", "v=spf1 a:h11.test include:nine.test -all"),
			 SPF_PERMERROR);
}

static void test_void_limit(void **state)
{
	(void)state;
	char buf[512];
	record_of(buf, sizeof(buf), SPF_MAX_VOID_LOOKUPS, "a:void", ".test", "-all");
	assert_int_equal(check("192.0.2.1", "q.test", buf), SPF_FAIL);
	record_of(buf, sizeof(buf), SPF_MAX_VOID_LOOKUPS + 1, "a:void", ".test", "-all");
	assert_int_equal(check("192.0.2.1", "q.test", buf), SPF_PERMERROR);
	record_of(buf, sizeof(buf), SPF_MAX_VOID_LOOKUPS + 1, "exists:void", ".test", "-all");
	assert_int_equal(check("192.0.2.1", "q.test", buf), SPF_PERMERROR);
	record_of(buf, sizeof(buf), SPF_MAX_VOID_LOOKUPS + 1, "mx:void", ".test", "-all");
	assert_int_equal(check("192.0.2.1", "q.test", buf), SPF_PERMERROR);
}

static void test_mx_ptr_names(void **state)
{
	(void)state;
	char name[32], mx[48];
	for (int i = 0; i <= SPF_MAX_NAMES_PER_TERM; i++) {
		snprintf(name, sizeof(name), "m%d.many.test", i);
		snprintf(mx, sizeof(mx), "%d %s", i, name);
		zone_add(zone, DNS_TYPE_A, name, "203.0.113.50");
		if (i < SPF_MAX_NAMES_PER_TERM)
			zone_add(zone, DNS_TYPE_MX, "ten.test", mx);
		zone_add(zone, DNS_TYPE_MX, "eleven.test", mx);
	}
	assert_int_equal(check("203.0.113.50", "q.test", "v=spf1 mx:ten.test -all"), SPF_PASS);
	assert_int_equal(check("203.0.113.50", "q.test", "v=spf1 mx:eleven.test -all"),
			 SPF_PERMERROR);
	/* only the first 10 PTR names are looked at: the 11th would match */
	for (int i = 0; i < SPF_MAX_NAMES_PER_TERM; i++) {
		snprintf(name, sizeof(name), "p%d.ptr.test", i);
		zone_add(zone, DNS_TYPE_PTR, "50.113.0.203.in-addr.arpa", "p.ptr.test");
	}
	zone_add(zone, DNS_TYPE_PTR, "50.113.0.203.in-addr.arpa", "m0.many.test");
	assert_int_equal(check("203.0.113.50", "q.test", "v=spf1 ptr:many.test -all"), SPF_FAIL);
	zone_add(zone, DNS_TYPE_PTR, "51.113.0.203.in-addr.arpa", "m0.many.test");
	zone_add(zone, DNS_TYPE_A, "m0.many.test", "203.0.113.51");
	assert_int_equal(check("203.0.113.51", "q.test", "v=spf1 ptr:many.test -all"), SPF_PASS);
	/* a PTR failure is a no-match */
	zone_status(zone, DNS_TYPE_PTR, "52.113.0.203.in-addr.arpa", DNS_TEMPFAIL);
	assert_int_equal(check("203.0.113.52", "q.test", "v=spf1 ptr ~all"), SPF_SOFTFAIL);
	/* a target that is no host name is asked for nothing */
	zone_add(zone, DNS_TYPE_MX, "odd.test", "10 a b.test");
	zone_add(zone, DNS_TYPE_MX, "odd.test", "20 nul\001.test");
	assert_int_equal(check("203.0.113.52", "q.test", "v=spf1 mx:odd.test -all"), SPF_FAIL);
	/* an MX host's DNS failure is a temperror */
	zone_add(zone, DNS_TYPE_MX, "tmx.test", "10 bad.tmx.test");
	zone_status(zone, DNS_TYPE_A, "bad.tmx.test", DNS_TEMPFAIL);
	assert_int_equal(check("203.0.113.52", "q.test", "v=spf1 mx:tmx.test -all"), SPF_TEMPERROR);
}

static void test_exists(void **state)
{
	(void)state;
	zone_add(zone, DNS_TYPE_A, "2.0.192.user.bl.test", "127.0.0.2");
	const char *ex = "v=spf1 exists:%{i3r}.%{l}.bl.test -all";
	assert_int_equal(check("192.0.2.1", "q.test", ex), SPF_PASS);
	assert_int_equal(check("192.0.3.1", "q.test", ex), SPF_FAIL);
}

/* expand expands s for RFC 7208 7.4's sender, domain and addresses. */
static void expect(const char *ip, const char *s, const char *want)
{
	struct spf_params p = { .sender = STR("strong-bad@email.example.com"),
				.helo = STR("mx.example.org"), .receiver = STR("mx.ours.test"),
				.now = 1234 };
	char out[512];
	assert_int_equal(spf_ip_parse(str_c(ip), &p.ip), 0);
	long n = spf_expand(str_c(s), &p, STR("email.example.com"), true, out, sizeof(out));
	if (want == NULL) {
		assert_int_equal(n, -1);
		return;
	}
	assert_int_equal(n, (long)strlen(want));
	assert_string_equal(out, want);
}

static void test_macro_rfc_examples(void **state)
{
	(void)state;
	const char *v4 = "192.0.2.3";
	expect(v4, "%{s}", "strong-bad@email.example.com");
	expect(v4, "%{o}", "email.example.com");
	expect(v4, "%{d}", "email.example.com");
	expect(v4, "%{d4}", "email.example.com");
	expect(v4, "%{d3}", "email.example.com");
	expect(v4, "%{d2}", "example.com");
	expect(v4, "%{d1}", "com");
	expect(v4, "%{dr}", "com.example.email");
	expect(v4, "%{d2r}", "example.email");
	expect(v4, "%{l}", "strong-bad");
	expect(v4, "%{l-}", "strong.bad");
	expect(v4, "%{lr}", "strong-bad");
	expect(v4, "%{lr-}", "bad.strong");
	expect(v4, "%{l1r-}", "strong");
	expect(v4, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com");
	expect(v4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
	expect(v4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	       "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	expect(v4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	       "3.2.0.192.in-addr.strong.lp._spf.example.com");
	expect(v4, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net");
	expect("2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}",
	       "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

static void test_macro_letters(void **state)
{
	(void)state;
	const char *v4 = "192.0.2.3";
	expect(v4, "%{S}", "strong-bad%40email.example.com");
	expect(v4, "%{h}", "mx.example.org");
	expect(v4, "%{p}", "unknown");
	expect(v4, "%{c}", "192.0.2.3");
	expect("2001:db8::cb01", "%{c}", "2001:db8::cb01");
	expect(v4, "%{r}", "mx.ours.test");
	expect(v4, "%{t}", "1234");
	expect(v4, "%%%_%-", "% %20");
	expect(v4, "%{o+=}", "email.example.com");
	expect(v4, "%{s2@}", NULL);   /* '@' is no delimiter */
	expect(v4, "%{s}x", "strong-bad@email.example.comx");
	expect(v4, "%{d200}", "email.example.com");
	expect(v4, "%{d0}", NULL);
	expect(v4, "%{x}", NULL);
	expect(v4, "%{d", NULL);
	expect(v4, "%", NULL);
	expect(v4, "%a", NULL);
	/* domain-spec context: c, r, t are refused */
	struct spf_params p = { .sender = STR("a@b.test") };
	char out[64];
	assert_int_equal(spf_expand(STR("%{c}"), &p, STR("b.test"), false, out, sizeof(out)), -1);
	assert_int_equal(spf_expand(STR("%{l}"), &p, STR("b.test"), false, out, sizeof(out)), 1);
	/* longer than the output: an error, not a cut */
	assert_int_equal(spf_expand(STR("%{s}%{s}%{s}"), &p, STR("b.test"), false, out, 10), -1);
	/* no local part: postmaster */
	p.sender = STR("b.test");
	assert_int_equal(spf_expand(STR("%{l}"), &p, STR("b.test"), false, out, sizeof(out)), 10);
	assert_string_equal(out, "postmaster");
}

static void test_domain_cut(void **state)
{
	(void)state;
	char name[400];
	memset(name, 'a', sizeof(name));
	for (size_t i = 9; i < 380; i += 10)
		name[i] = '.';
	struct str cut = spf_domain_cut(str_from(name, 380));
	assert_true(cut.len <= DNS_MAX_NAME);
	assert_true(cut.len > DNS_MAX_NAME - 10);
	assert_true(cut.ptr[-1] == '.');
	assert_int_equal(spf_domain_cut(STR("a.test.")).len, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appendix_a),
		cmocka_unit_test(test_qualifiers_and_ip6),
		cmocka_unit_test(test_record_selection),
		cmocka_unit_test(test_include_redirect),
		cmocka_unit_test(test_lookup_limit),
		cmocka_unit_test(test_void_limit),
		cmocka_unit_test(test_mx_ptr_names),
		cmocka_unit_test(test_exists),
		cmocka_unit_test(test_macro_rfc_examples),
		cmocka_unit_test(test_macro_letters),
		cmocka_unit_test(test_domain_cut),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
