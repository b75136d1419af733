/* Unit tests for front-checks: the replay loop over a DNS seam answering
 * from a table (at once or later), the verdicts and their configuration,
 * the Authentication-Results field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "front/front-checks.h"
#include "mail-auth/auth-results.h"
#include "mail-auth/test-zone.h"

/* A resolver that answers from a zone: at once (sync), or when told. */
struct fake {
	struct dns_cache *zone;
	bool sync, refuse;
	bool pending;
	struct dns_need q;
	front_checks_answer_fn *fn;
	void *ctx;
	unsigned asked, cancelled;
};

/* big_answer: for bN.big.test, an SPF record and 63 TXT records of 4 KB
 * (made here: the zone, a dns_cache, holds no more than the checks do). */
static const struct dns_answer *big_answer(const struct dns_need *q)
{
	static char junk[DNS_MAX_RDATA];
	static struct dns_record recs[DNS_MAX_RECORDS];
	static struct dns_answer a = { .status = DNS_OK, .count = DNS_MAX_RECORDS, .records = recs };
	if (q->type != DNS_TYPE_TXT || strlen(q->name) != 11 || q->name[0] != 'b' ||
	    strcmp(q->name + 2, ".big.test") != 0)
		return NULL;
	memset(junk, 'x', sizeof(junk));
	recs[0].data = STR("v=spf1 -all");
	for (size_t j = 1; j < DNS_MAX_RECORDS; j++)
		recs[j].data = str_from(junk, sizeof(junk));
	return &a;
}

static void fake_answer(struct fake *f)
{
	static const struct dns_answer nx = { .status = DNS_NXDOMAIN };
	const struct dns_answer *a = big_answer(&f->q);
	if (a == NULL)
		a = dns_cache_get(f->zone, f->q.type, str_c(f->q.name));
	f->pending = false;
	f->fn(a != NULL ? a : &nx, f->ctx);
}

static int fake_ask(void *resolver, enum dns_type type, struct str name,
		    front_checks_answer_fn *fn, void *ctx)
{
	struct fake *f = resolver;
	if (f->refuse)
		return -1;
	assert_false(f->pending);   /* one question at a time */
	f->asked++;
	dns_need_set(&f->q, type, name);
	f->fn = fn;
	f->ctx = ctx;
	f->pending = true;
	if (f->sync)
		fake_answer(f);
	return 0;
}

static void fake_cancel(void *resolver, void *ctx)
{
	struct fake *f = resolver;
	(void)ctx;
	f->pending = false;
	f->cancelled++;
}

static struct fake fake;
static bool done_called;

static void on_done(void *ctx)
{
	assert_ptr_equal(ctx, &fake);
	done_called = true;
}

static int setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.zone = dns_cache_new();
	zone_add(fake.zone, DNS_TYPE_TXT, "a.test", "v=spf1 ip4:192.0.2.1 -all");
	zone_add(fake.zone, DNS_TYPE_TXT, "_dmarc.a.test", "v=DMARC1; p=reject");
	zone_add(fake.zone, DNS_TYPE_TXT, "q.test", "v=spf1 ip4:192.0.2.1 -all");
	zone_add(fake.zone, DNS_TYPE_TXT, "_dmarc.q.test", "v=DMARC1; p=quarantine");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dns_cache_free(&fake.zone);
	return 0;
}

static const struct front_checks_config all_on = {
	.spf = true, .dkim = true, .dmarc = true, .dmarc_reject = true, .dmarc_quarantine = true,
};

/* message runs one transaction: MAIL FROM, answers before DATA when
 * early, then the end of DATA and the answers still due. */
static struct front_checks *message(const struct front_checks_config *config, const char *ip,
				    const char *mail_from, const char *headers,
				    const struct front_checks_dkim *dkim, size_t dkim_count,
				    bool early)
{
	struct front_checks_dns dns = { fake_ask, fake_cancel, &fake };
	struct front_checks *fc = front_checks_new(config, "mx.b.test", &dns);
	assert_non_null(fc);
	front_checks_mail(fc, ip, STR("client.a.test"), str_c(mail_from));
	for (int i = 0; early && fake.pending && i < 100; i++)
		fake_answer(&fake);
	done_called = false;
	int r = front_checks_data(fc, str_c(headers), dkim, dkim_count, on_done, &fake);
	assert_false(done_called);   /* never from inside the call */
	if (r == 0) {
		for (int i = 0; fake.pending && i < 100; i++)
			fake_answer(&fake);
		assert_true(done_called);
	} else {
		assert_int_equal(r, 1);
		assert_false(fake.pending);
	}
	return fc;
}

static bool header_has(const struct front_checks *fc, const char *text)
{
	struct str h = front_checks_header(fc);
	char copy[AUTH_RESULTS_MAX + 1];
	memcpy(copy, h.ptr, h.len);
	copy[h.len] = '\0';
	return strstr(copy, text) != NULL;
}

static const char *from_a = "From: Alice <alice@a.test>\r\nSubject: hi\r\n\r\n";

static void test_pass(void **state)
{
	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		fake.sync = mode == 2;
		struct front_checks *fc = message(&all_on, "192.0.2.1", "alice@a.test", from_a, NULL,
						  0, mode == 1);
		assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_ACCEPT);
		assert_true(header_has(fc, "Authentication-Results: mx.b.test;\r\n"
					   "\tspf=pass smtp.mailfrom=alice@a.test;\r\n"
					   "\tdkim=none;\r\n"
					   "\tdmarc=pass header.from=a.test\r\n"));
		front_checks_free(&fc);
		assert_null(fc);
	}
	fake.sync = false;
}

static void test_forged_reject(void **state)
{
	(void)state;
	struct front_checks *fc = message(&all_on, "198.51.100.9", "alice@a.test", from_a, NULL,
					  0, false);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_REJECT);
	assert_string_equal(front_checks_reply(fc),
			    "550 5.7.1 Message refused by the DMARC policy of a.test");
	assert_true(header_has(fc, "spf=fail") && header_has(fc, "dmarc=fail"));
	front_checks_free(&fc);
	/* checks.dmarc_reject = 0: into Junk instead; and quarantine off too */
	struct front_checks_config c = all_on;
	c.dmarc_reject = false;
	fc = message(&c, "198.51.100.9", "alice@a.test", from_a, NULL, 0, false);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_JUNK);
	front_checks_free(&fc);
	c.dmarc_quarantine = false;
	fc = message(&c, "198.51.100.9", "alice@a.test", from_a, NULL, 0, false);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_ACCEPT);
	front_checks_free(&fc);
	/* checks.dmarc = 0: no DMARC at all */
	c = all_on;
	c.dmarc = false;
	fc = message(&c, "198.51.100.9", "alice@a.test", from_a, NULL, 0, false);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_ACCEPT);
	assert_false(header_has(fc, "dmarc="));
	front_checks_free(&fc);
}

static void test_quarantine(void **state)
{
	(void)state;
	const char *from_q = "Subject: x\r\nfrom: bob@q.test\r\n\r\n";
	struct front_checks *fc = message(&all_on, "198.51.100.9", "bob@q.test", from_q, NULL, 0,
					  true);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_JUNK);
	front_checks_free(&fc);
	struct front_checks_config c = all_on;
	c.dmarc_quarantine = false;
	fc = message(&c, "198.51.100.9", "bob@q.test", from_q, NULL, 0, true);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_ACCEPT);
	front_checks_free(&fc);
}

static void test_dkim_seam(void **state)
{
	(void)state;
	/* an aligned DKIM pass makes a forwarded message (SPF fail) pass DMARC */
	struct front_checks_dkim dkim[2] = {
		{ "fail", STR("a.test"), STR("old"), STR("AAAAAAAAAAAA") },
		{ "pass", STR("a.test"), STR("sel"), STR("dGhpcyBpcyBi") },
	};
	struct front_checks *fc = message(&all_on, "198.51.100.9", "alice@a.test", from_a, dkim, 2,
					  false);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_ACCEPT);
	assert_true(header_has(fc, "dkim=fail header.d=a.test header.s=old header.b=AAAAAAAA;"));
	assert_true(header_has(fc, "dkim=pass header.d=a.test header.s=sel header.b=dGhpcyBp;"));
	assert_true(header_has(fc, "dmarc=pass"));
	front_checks_free(&fc);
	/* checks.dkim = 0: results not taken */
	struct front_checks_config c = all_on;
	c.dkim = false;
	fc = message(&c, "198.51.100.9", "alice@a.test", from_a, dkim, 2, false);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_REJECT);
	assert_false(header_has(fc, "dkim="));
	front_checks_free(&fc);
}

static void test_no_resolver(void **state)
{
	(void)state;
	/* every question refused: temperror, accepted */
	fake.refuse = true;
	struct front_checks *fc = message(&all_on, "198.51.100.9", "alice@a.test", from_a, NULL,
					  0, false);
	fake.refuse = false;
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_ACCEPT);
	assert_true(header_has(fc, "spf=temperror"));
	assert_true(header_has(fc, "dmarc=temperror"));
	front_checks_free(&fc);
	struct front_checks_dns none = { 0 };
	fc = front_checks_new(&all_on, "mx.b.test", &none);
	front_checks_mail(fc, "198.51.100.9", STR("h.test"), STR(""));
	assert_int_equal(front_checks_data(fc, str_c(from_a), NULL, 0, on_done, &fake), 1);
	assert_true(header_has(fc, "spf=temperror smtp.helo=h.test"));
	front_checks_free(&fc);
}

static void test_from_field(void **state)
{
	(void)state;
	/* two From: fields, or authors of two domains: no DMARC domain */
	const char *two = "From: alice@a.test\r\nFrom: eve@evil.test\r\n\r\n";
	struct front_checks *fc = message(&all_on, "198.51.100.9", "alice@a.test", two, NULL, 0,
					  false);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_ACCEPT);
	assert_true(header_has(fc, "dmarc=permerror"));
	front_checks_free(&fc);
	const char *mixed = "From: alice@a.test, eve@evil.test\r\n\r\n";
	fc = message(&all_on, "198.51.100.9", "alice@a.test", mixed, NULL, 0, false);
	assert_true(header_has(fc, "dmarc=permerror"));
	front_checks_free(&fc);
	const char *same = "From: alice@a.test,\r\n bob@A.test\r\n\r\n";
	fc = message(&all_on, "198.51.100.9", "alice@a.test", same, NULL, 0, false);
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_REJECT);
	front_checks_free(&fc);
}

static void test_cancel(void **state)
{
	(void)state;
	/* a new transaction, or free, with a question out takes it back */
	struct front_checks_dns dns = { fake_ask, fake_cancel, &fake };
	struct front_checks *fc = front_checks_new(&all_on, "mx.b.test", &dns);
	unsigned before = fake.cancelled;
	front_checks_mail(fc, "192.0.2.1", STR("h.test"), STR("alice@a.test"));
	assert_true(fake.pending);
	front_checks_mail(fc, "192.0.2.1", STR("h.test"), STR("alice@a.test"));
	assert_int_equal(fake.cancelled, before + 1);
	assert_true(fake.pending);
	front_checks_free(&fc);
	assert_int_equal(fake.cancelled, before + 2);
	assert_false(fake.pending);
}

/* feed gives msg to the checks in pieces of step bytes. */
static void feed(struct front_checks *fc, const char *msg, size_t step, struct buf *out)
{
	size_t len = strlen(msg);
	for (size_t i = 0; i < len; i += step)
		assert_int_equal(front_checks_feed(fc, msg + i, len - i < step ? len - i : step, out),
				 0);
	assert_int_equal(front_checks_feed_end(fc, out), 0);
}

static void test_feed(void **state)
{
	(void)state;
	struct front_checks_dns none = { 0 };
	struct front_checks *fc = front_checks_new(&all_on, "mx.b.test", &none);
	const char *msg = "Received: from x by mx.b.test\r\n"
			  "Authentication-Results: mx.b.test; dmarc=pass\r\n"
			  "From: alice@a.test\r\n"
			  "Authentication-Results: other.test; spf=pass\r\n"
			  "\r\n"
			  "Authentication-Results: mx.b.test; in the body stays\r\n";
	const char *want = "Received: from x by mx.b.test\r\n"
			   "From: alice@a.test\r\n"
			   "Authentication-Results: other.test; spf=pass\r\n"
			   "\r\n"
			   "Authentication-Results: mx.b.test; in the body stays\r\n";
	struct buf out;
	buf_init(&out, 1 << 20);
	for (size_t step = 1; step < 80; step += 13) {
		buf_reset(&out);
		front_checks_mail(fc, "192.0.2.1", STR("h.test"), STR(""));
		feed(fc, msg, step, &out);
		assert_string_equal(out.data, want);
		struct str h = front_checks_headers(fc);
		assert_int_equal(h.len, strstr(want, "\r\n\r\n") + 2 - want + 47);
		assert_int_equal(front_checks_data(fc, h, NULL, 0, on_done, &fake), 1);
		assert_true(header_has(fc, "dmarc=temperror header.from=a.test"));
	}
	/* all header, no body; and no header at all */
	buf_reset(&out);
	front_checks_mail(fc, "192.0.2.1", STR("h.test"), STR(""));
	feed(fc, "Authentication-Results: mx.b.test; x\r\nSubject: s\r\n", 7, &out);
	assert_string_equal(out.data, "Subject: s\r\n");
	buf_reset(&out);
	front_checks_mail(fc, "192.0.2.1", STR("h.test"), STR(""));
	feed(fc, "\r\nbody\r\n", 3, &out);
	assert_string_equal(out.data, "\r\nbody\r\n");
	assert_int_equal(front_checks_headers(fc).len, 0);
	buf_reset(&out);
	front_checks_mail(fc, "192.0.2.1", STR("h.test"), STR(""));
	assert_int_equal(front_checks_feed_end(fc, &out), 0);
	assert_int_equal(out.len, 0);
	/* a header block one past the bound goes on unfiltered, all of it */
	static char big[FRONT_CHECKS_MAX_HEADER + 200];
	const char *ar = "Authentication-Results: mx.b.test; x\r\n";
	size_t n = 0;
	while (n + 80 < FRONT_CHECKS_MAX_HEADER + 1) {
		memcpy(big + n, ar, strlen(ar));
		n += strlen(ar);
	}
	memset(big + n, 'X', FRONT_CHECKS_MAX_HEADER + 1 - n);
	n = FRONT_CHECKS_MAX_HEADER + 1;
	memcpy(big + n, "\r\n\r\nbody", 8);
	big[n + 8] = '\0';
	buf_reset(&out);
	front_checks_mail(fc, "192.0.2.1", STR("h.test"), STR(""));
	feed(fc, big, 4096, &out);
	assert_int_equal(out.len, n + 8);
	assert_memory_equal(out.data, big, n + 8);
	assert_int_equal(front_checks_headers(fc).len, FRONT_CHECKS_MAX_HEADER);
	buf_free(&out);
	front_checks_free(&fc);
}

static void test_cache_bound(void **state)
{
	(void)state;
	/* includes whose answers are 64 records of 4 KB each: past the
	 * cache's byte bound an answer is kept as a DNS failure: temperror */
	zone_add(fake.zone, DNS_TYPE_TXT, "big.test",
		 "v=spf1 include:b0.big.test include:b1.big.test include:b2.big.test "
		 "include:b3.big.test include:b4.big.test include:b5.big.test -all");
	struct front_checks *fc = message(&all_on, "192.0.2.1", "x@big.test",
					  "From: x@big.test\r\n\r\n", NULL, 0, false);
	assert_true(header_has(fc, "spf=temperror"));
	assert_int_equal(front_checks_verdict(fc), FRONT_CHECKS_ACCEPT);
	front_checks_free(&fc);
	/* four of them fit */
	zone_add(fake.zone, DNS_TYPE_TXT, "four.big.test",
		 "v=spf1 include:b0.big.test include:b1.big.test include:b2.big.test "
		 "include:b3.big.test -all");
	fc = message(&all_on, "192.0.2.1", "x@four.big.test", "From: x@big.test\r\n\r\n", NULL,
		     0, false);
	assert_true(header_has(fc, "spf=fail"));
	front_checks_free(&fc);
}

static void test_config_keys(void **state)
{
	(void)state;
	struct config config;
	char err[256];
	config_defaults(&config, false);
	struct front_checks_config c = front_checks_config_from(&config);
	assert_true(c.spf && c.dkim && c.dmarc && c.dmarc_reject && c.dmarc_quarantine);
	assert_int_equal(config_set(&config, "checks.dmarc_reject", "0", err, sizeof(err)), 0);
	assert_int_equal(config_set(&config, "checks.spf", "0", err, sizeof(err)), 0);
	c = front_checks_config_from(&config);
	assert_false(c.dmarc_reject || c.spf);
	assert_true(c.dmarc_quarantine && c.dkim && c.dmarc);
	/* one past the bound: a flag is 0 or 1 */
	assert_int_equal(config_set(&config, "checks.dmarc", "2", err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_forged_reject),
		cmocka_unit_test(test_quarantine),
		cmocka_unit_test(test_dkim_seam),
		cmocka_unit_test(test_no_resolver),
		cmocka_unit_test(test_from_field),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_feed),
		cmocka_unit_test(test_cache_bound),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
