/* Unit tests for dkim-sign, dkim-verify and dkim-canon: sign then verify
 * with both algorithms, RFC 8463 A.3's message, tampering, revoked keys,
 * l=, canonicalisation, and the bounds on signatures and header fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/rsa.h>

#include "lib/buf.h"
#include "mail-auth/dkim-canon.h"
#include "mail-auth/dkim-sign.h"
#include "mail-auth/dkim-verify.h"

#define NOW 1700000000

static const char message[] =
	"From: Ann <ann@a.test>\r\n"
	"To: bob@b.test\r\n"
	"Subject:  lunch \r\n\t at noon?\r\n"
	"Date: Mon, 1 Jan 2024 12:00:00 +0000\r\n"
	"Message-ID: <1@a.test>\r\n"
	"Received: from x by y\r\n"
	"\r\n"
	"Hello  Bob, \r\n"
	"\r\n"
	"see you.\r\n"
	"\r\n\r\n";

static EVP_PKEY *rsa_key, *ed_key;

static int setup(void **state)
{
	(void)state;
	rsa_key = EVP_RSA_gen(2048);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY_keygen_init(c);
	EVP_PKEY_keygen(c, &ed_key);
	EVP_PKEY_CTX_free(c);
	return rsa_key != NULL && ed_key != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ed_key);
	return 0;
}

/* record writes the TXT record that publishes key's public half. */
static void record(struct buf *out, EVP_PKEY *key)
{
	assert_int_equal(dkim_key_record(key, out), 0);
}

static void put_txt(struct dns_cache *cache, const char *name, enum dns_status status,
		    const char *txt)
{
	struct dns_record r = { .data = str_c(txt) };
	struct dns_answer a = { .status = status, .count = txt != NULL ? 1 : 0, .records = &r };
	assert_int_equal(dns_cache_put(cache, DNS_TYPE_TXT, str_c(name), &a), 0);
}

/* keys_cache: the records of both keys as a.test's r1 and e1. */
static struct dns_cache *keys_cache(void)
{
	struct dns_cache *cache = dns_cache_new();
	struct buf b;
	buf_init(&b, 4096);
	record(&b, rsa_key);
	put_txt(cache, "r1._domainkey.a.test", DNS_OK, b.data);
	buf_reset(&b);
	record(&b, ed_key);
	put_txt(cache, "e1._domainkey.a.test", DNS_OK, b.data);
	buf_free(&b);
	return cache;
}

/* verify runs the verifier over msg (in chunks of step octets) with
 * cache, asserting every key it needs is there. */
static struct dkim_verify *verify(struct str msg, const struct dns_cache *cache, size_t step)
{
	struct dkim_verify *v;
	struct dkim_need need;
	long body = dkim_header_end(msg);
	assert_true(body >= 0);
	assert_int_equal(dkim_verify_new(str_from(msg.ptr, (size_t)body), NOW, &v), 0);
	for (size_t i = (size_t)body; i < msg.len; i += step)
		dkim_verify_body(v, msg.ptr + i, i + step <= msg.len ? step : msg.len - i);
	dkim_verify_body_end(v);
	enum dkim_verify_state s = dkim_verify_run(v, cache, &need);
	if (s != DKIM_VERIFY_DONE)
		fail_msg("needs %s", need.name);
	return v;
}

/* signed_message prepends the signatures of the keys to body. */
static void signed_message(struct buf *out, const char *msg, bool rsa, bool ed)
{
	struct dkim_signer r = { DKIM_ALG_RSA_SHA256, rsa_key, STR("a.test"), STR("r1") };
	struct dkim_signer e = { DKIM_ALG_ED25519_SHA256, ed_key, STR("a.test"), STR("e1") };
	const char *error;
	if (rsa)
		assert_int_equal(dkim_sign_message(&r, str_c(msg), NOW, out, &error), 0);
	if (ed)
		assert_int_equal(dkim_sign_message(&e, str_c(msg), NOW, out, &error), 0);
	buf_printf(out, "%s", msg);
}

static void assert_results(struct dkim_verify *v, enum dkim_result want, size_t count)
{
	assert_int_equal(dkim_verify_count(v), count);
	for (size_t i = 0; i < count; i++) {
		const struct dkim_verify_result *r = dkim_verify_result(v, i);
		if (r->result != want)
			fail_msg("signature %zu: %s (%s), want %s", i, dkim_result_name(r->result),
				 r->reason, dkim_result_name(want));
	}
}

static void test_sign_then_verify(void **state)
{
	struct dns_cache *cache = keys_cache();
	struct buf m;
	(void)state;

	buf_init(&m, 1 << 20);
	signed_message(&m, message, true, true);
	/* Folded to 78 columns, From signed once more than it appears. */
	assert_non_null(strstr(m.data, "h=from:from:to:subject:date:message-id;"));
	assert_null(strstr(m.data, "received"));
	for (const char *line = m.data; line != NULL; line = strstr(line, "\r\n")) {
		line += line == m.data ? 0 : 2;
		const char *end = strstr(line, "\r\n");
		assert_true(end == NULL || end - line <= 78);
	}
	for (size_t step = 1; step <= 4096; step *= 64) {
		struct dkim_verify *v = verify(buf_str(&m), cache, step);
		assert_results(v, DKIM_PASS, 2);
		assert_string_equal(dkim_verify_result(v, 0)->domain, "a.test");
		assert_string_equal(dkim_verify_result(v, 0)->selector, "r1");
		assert_int_equal(dkim_verify_result(v, 0)->alg, DKIM_ALG_RSA_SHA256);
		assert_int_equal(dkim_verify_result(v, 1)->alg, DKIM_ALG_ED25519_SHA256);
		dkim_verify_free(&v);
	}
	/* Relaxed: white space changed in transit, a header refolded, the
	 * body's line ends made LF and its trailing empty lines gone. */
	char *changed = strdup(m.data);
	char *subject = strstr(changed, "Subject:  lunch \r\n\t at");
	assert_non_null(subject);
	memcpy(subject, "subject :lunch\t\r\n   at", strlen("Subject:  lunch \r\n\t at"));
	struct buf lf;
	buf_init(&lf, 1 << 20);
	buf_append(&lf, changed, (size_t)(strstr(changed, "\r\n\r\n") + 4 - changed));
	buf_printf(&lf, "Hello Bob,\n\nsee you.\n");
	struct dkim_verify *v = verify(buf_str(&lf), cache, 7);
	assert_results(v, DKIM_PASS, 2);
	dkim_verify_free(&v);
	buf_free(&lf);
	free(changed);
	buf_free(&m);
	dns_cache_free(&cache);
}

static void test_tampered(void **state)
{
	struct dns_cache *cache = keys_cache();
	struct buf m, t;
	(void)state;

	buf_init(&m, 1 << 20);
	buf_init(&t, 1 << 20);
	signed_message(&m, message, true, true);
	/* A changed body: body hash. */
	buf_printf(&t, "%s", m.data);
	memcpy(strstr(t.data, "see you"), "SEE", 3);
	struct dkim_verify *v = verify(buf_str(&t), cache, 100);
	assert_results(v, DKIM_FAIL, 2);
	assert_string_equal(dkim_verify_result(v, 0)->reason, "body hash does not match");
	dkim_verify_free(&v);
	/* A changed signed header: the signature. */
	buf_reset(&t);
	buf_printf(&t, "%s", m.data);
	memcpy(strstr(t.data, "To: bob"), "To: eve", 7);
	v = verify(buf_str(&t), cache, 100);
	assert_results(v, DKIM_FAIL, 2);
	assert_string_equal(dkim_verify_result(v, 1)->reason, "signature does not verify");
	dkim_verify_free(&v);
	/* A second From added on top: the oversigned From catches it. */
	buf_reset(&t);
	buf_printf(&t, "From: eve@evil.test\r\n%s", m.data);
	v = verify(buf_str(&t), cache, 100);
	assert_results(v, DKIM_FAIL, 2);
	dkim_verify_free(&v);
	/* An unsigned header changed: still a pass. */
	buf_reset(&t);
	buf_printf(&t, "%s", m.data);
	memcpy(strstr(t.data, "Received: from x"), "Received: from z", 16);
	v = verify(buf_str(&t), cache, 100);
	assert_results(v, DKIM_PASS, 2);
	dkim_verify_free(&v);
	buf_free(&t);
	buf_free(&m);
	dns_cache_free(&cache);
}

/* The keys come by replay: first the need, then a TXT answer. */
static void test_replay_and_key_answers(void **state)
{
	struct dns_cache *cache = dns_cache_new();
	struct dkim_verify *v;
	struct dkim_need need;
	struct buf m, rec;
	(void)state;

	buf_init(&m, 1 << 20);
	buf_init(&rec, 4096);
	signed_message(&m, message, true, true);
	long body = dkim_header_end(buf_str(&m));
	assert_int_equal(dkim_verify_new(str_from(m.data, (size_t)body), NOW, &v), 0);
	dkim_verify_body(v, m.data + body, m.len - (size_t)body);
	dkim_verify_body_end(v);
	assert_int_equal(dkim_verify_run(v, cache, &need), DKIM_VERIFY_NEED);
	assert_int_equal(need.type, DNS_TYPE_TXT);
	assert_string_equal(need.name, "r1._domainkey.a.test");
	/* Revoked RSA key (empty p=): permerror. */
	put_txt(cache, "R1._domainkey.a.test.", DNS_OK, "v=DKIM1; p=");
	assert_int_equal(dkim_verify_run(v, cache, &need), DKIM_VERIFY_NEED);
	assert_string_equal(need.name, "e1._domainkey.a.test");
	put_txt(cache, "e1._domainkey.a.test", DNS_TEMPFAIL, NULL);
	assert_int_equal(dkim_verify_run(v, cache, &need), DKIM_VERIFY_DONE);
	assert_int_equal(dkim_verify_result(v, 0)->result, DKIM_PERMERROR);
	assert_string_equal(dkim_verify_result(v, 0)->reason, "key revoked");
	assert_int_equal(dkim_verify_result(v, 1)->result, DKIM_TEMPERROR);
	assert_int_equal(dkim_verify_run(v, cache, &need), DKIM_VERIFY_DONE);
	dkim_verify_free(&v);

	/* No key, a key of the wrong type, a testing key that fails. */
	dns_cache_free(&cache);
	cache = dns_cache_new();
	put_txt(cache, "r1._domainkey.a.test", DNS_NXDOMAIN, NULL);
	record(&rec, rsa_key);
	put_txt(cache, "e1._domainkey.a.test", DNS_OK, rec.data);
	v = verify(buf_str(&m), cache, 4096);
	assert_int_equal(dkim_verify_result(v, 0)->result, DKIM_PERMERROR);
	assert_int_equal(dkim_verify_result(v, 1)->result, DKIM_PERMERROR);
	assert_string_equal(dkim_verify_result(v, 1)->reason, "key type is not the signature's");
	dkim_verify_free(&v);
	dns_cache_free(&cache);
	cache = dns_cache_new();
	buf_reset(&rec);
	EVP_PKEY *other = EVP_RSA_gen(1024);
	record(&rec, other);
	buf_printf(&rec, "; t=y");
	put_txt(cache, "r1._domainkey.a.test", DNS_OK, rec.data);
	put_txt(cache, "e1._domainkey.a.test", DNS_OK, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	v = verify(buf_str(&m), cache, 4096);
	assert_int_equal(dkim_verify_result(v, 0)->result, DKIM_NEUTRAL);
	assert_int_equal(dkim_verify_result(v, 1)->result, DKIM_FAIL);
	dkim_verify_free(&v);
	EVP_PKEY_free(other);
	dns_cache_free(&cache);
	buf_free(&rec);
	buf_free(&m);
}

/* RFC 8463 A.3: the message football.example.com signed with both
 * algorithms, verified with the keys of A.2. */
static void test_rfc8463(void **state)
{
	static const char rfc8463[] =
		"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
		" d=football.example.com; i=@football.example.com;\r\n"
		" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
		" subject : date : message-id : from : subject : date;\r\n"
		" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
		" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
		" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
		"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
		" d=football.example.com; i=@football.example.com;\r\n"
		" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
		" date : message-id : from : subject : date;\r\n"
		" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
		" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
		" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
		" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
		"From: Joe SixPack <joe@football.example.com>\r\n"
		"To: Suzie Q <suzie@shopping.example.net>\r\n"
		"Subject: Is dinner ready?\r\n"
		"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
		"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
		"\r\n"
		"Hi.\r\n"
		"\r\n"
		"We lost the game.  Are you hungry yet?\r\n"
		"\r\n"
		"Joe.\r\n";
	struct dns_cache *cache = dns_cache_new();
	(void)state;

	put_txt(cache, "brisbane._domainkey.football.example.com", DNS_OK,
		"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	put_txt(cache, "test._domainkey.football.example.com", DNS_OK,
		"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
		"iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
		"DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
		"Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
	struct dkim_verify *v = verify(STR(rfc8463), cache, 5);
	assert_results(v, DKIM_PASS, 2);
	assert_string_equal(dkim_verify_result(v, 0)->selector, "brisbane");
	assert_int_equal(dkim_verify_result(v, 0)->alg, DKIM_ALG_ED25519_SHA256);
	dkim_verify_free(&v);
	dns_cache_free(&cache);
}

/* l=: the signed part of the body passes with more appended; an l=
 * past the body is a permerror.  A signature with l= is made here by
 * hand (our signer never gives one). */
static void test_body_length(void **state)
{
	struct dns_cache *cache = keys_cache();
	struct dkim_body_hash bh;
	uint8_t hash[DKIM_HASH_LEN];
	const char *error;
	struct buf data, m;
	(void)state;

	const char *body = "Signed part.\r\n";
	assert_int_equal(dkim_body_hash_init(&bh, DKIM_CANON_RELAXED, DKIM_BODY_NO_LIMIT), 0);
	dkim_body_hash_update(&bh, body, strlen(body));
	assert_int_equal(dkim_body_hash_final(&bh, hash), 0);
	char b64[64];
	EVP_EncodeBlock((unsigned char *)b64, hash, sizeof(hash));
	for (int past = 0; past < 2; past++) {
		char field[512];
		snprintf(field, sizeof(field),
			 "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=a.test; "
			 "s=e1; l=%zu; h=from; bh=%s; b=", strlen(body) + (size_t)past, b64);
		struct dkim_header h;
		const char *hdr = "From: ann@a.test\r\n";
		assert_int_equal(dkim_header_split(str_c(hdr), &h, &error), 0);
		buf_init(&data, 4096);
		assert_int_equal(dkim_canon_signed_headers(DKIM_CANON_RELAXED, &h, STR("from"),
							   str_c(field), &data, &error), 0);
		uint8_t sig[DKIM_SIG_MAX];
		size_t len;
		assert_int_equal(dkim_sign_data(DKIM_ALG_ED25519_SHA256, ed_key, buf_str(&data),
						sig, &len), 0);
		EVP_EncodeBlock((unsigned char *)b64 + 0, hash, sizeof(hash));
		char sig64[128];
		EVP_EncodeBlock((unsigned char *)sig64, sig, (int)len);
		buf_init(&m, 8192);
		buf_printf(&m, "%s%s\r\n%s\r\n%s%s", field, sig64, hdr, body,
			   past ? "" : "Appended by a list.\r\n");
		struct dkim_verify *v = verify(buf_str(&m), cache, 3);
		if (past == 0) {
			assert_results(v, DKIM_PASS, 1);
		} else {
			assert_results(v, DKIM_PERMERROR, 1);
			assert_string_equal(dkim_verify_result(v, 0)->reason,
					    "l= is past the end of the body");
		}
		dkim_verify_free(&v);
		buf_free(&m);
		buf_free(&data);
		dkim_header_free(&h);
	}
	dns_cache_free(&cache);
}

/* Body canonicalisation of RFC 6376 3.4.3-3.4.5's cases. */
static void body_hash_is(enum dkim_canon c, const char *body, const char *canonical)
{
	struct dkim_body_hash bh;
	uint8_t got[DKIM_HASH_LEN], want[DKIM_HASH_LEN];
	assert_int_equal(dkim_body_hash_init(&bh, c, DKIM_BODY_NO_LIMIT), 0);
	for (const char *p = body; *p != '\0'; p++)
		dkim_body_hash_update(&bh, p, 1);
	assert_int_equal(dkim_body_hash_final(&bh, got), 0);
	EVP_Digest(canonical, strlen(canonical), want, NULL, EVP_sha256(), NULL);
	assert_memory_equal(got, want, DKIM_HASH_LEN);
}

static void test_canon(void **state)
{
	struct buf out;
	(void)state;

	/* RFC 6376 3.4.5's example. */
	buf_init(&out, 1024);
	dkim_canon_header(DKIM_CANON_RELAXED, STR("A: X"), &out);
	dkim_canon_header(DKIM_CANON_RELAXED, STR("B : Y\t\r\n\tZ  "), &out);
	assert_string_equal(out.data, "a:X\r\nb:Y Z\r\n");
	buf_reset(&out);
	dkim_canon_header(DKIM_CANON_SIMPLE, STR("B : Y\t\n\tZ  "), &out);
	assert_string_equal(out.data, "B : Y\t\r\n\tZ  \r\n");
	buf_free(&out);
	body_hash_is(DKIM_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
	body_hash_is(DKIM_CANON_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
	body_hash_is(DKIM_CANON_SIMPLE, "", "\r\n");
	body_hash_is(DKIM_CANON_SIMPLE, "\r\n\r\n", "\r\n");
	body_hash_is(DKIM_CANON_RELAXED, "", "");
	body_hash_is(DKIM_CANON_RELAXED, " \r\n\t\r\n", "");
	body_hash_is(DKIM_CANON_RELAXED, "no end", "no end\r\n");
	body_hash_is(DKIM_CANON_SIMPLE, "a\rb\r", "a\rb\r\r\n");
}

/* DKIM_MAX_SIGNATURES are checked, one more is counted, not checked;
 * malformed signatures are permerrors, not failures of the message. */
static void test_signature_bounds(void **state)
{
	struct dns_cache *cache = keys_cache();
	struct buf m, one;
	(void)state;

	buf_init(&m, 1 << 20);
	buf_init(&one, 1 << 20);
	signed_message(&one, message, false, true);
	const char *rest = strstr(one.data, "From: Ann");
	struct str sig = str_from(one.data, (size_t)(rest - one.data));
	for (int i = 0; i < DKIM_MAX_SIGNATURES; i++)
		buf_append_str(&m, sig);
	buf_printf(&m, "%s", rest);
	struct dkim_verify *v = verify(buf_str(&m), cache, 4096);
	assert_results(v, DKIM_PASS, DKIM_MAX_SIGNATURES);
	assert_int_equal(dkim_verify_ignored(v), 0);
	dkim_verify_free(&v);
	buf_reset(&m);
	for (int i = 0; i < DKIM_MAX_SIGNATURES + 1; i++)
		buf_append_str(&m, sig);
	buf_printf(&m, "%s", rest);
	v = verify(buf_str(&m), cache, 4096);
	assert_results(v, DKIM_PASS, DKIM_MAX_SIGNATURES);
	assert_int_equal(dkim_verify_ignored(v), 1);
	dkim_verify_free(&v);

	static const char *const bad[] = {
		"v=2; a=rsa-sha256; d=a.test; s=r1; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha1; d=a.test; s=r1; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=a..test; s=r1; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=a.test; s=r1; h=to; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=a.test; s=r1; h=from; i=x@b.test; b=AAAA;"
		" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"v=1; a=rsa-sha256; d=a.test; s=r1; h=from; x=1; b=AAAA;"
		" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"v=1; a=rsa-sha256; d=a.test; s=r1; h=from; c=odd; b=AAAA;"
		" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"v=1; v=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&m);
		buf_printf(&m, "DKIM-Signature: %s\r\nFrom: a@a.test\r\n\r\nbody\r\n", bad[i]);
		v = verify(buf_str(&m), cache, 4096);
		assert_results(v, DKIM_PERMERROR, 1);
		dkim_verify_free(&v);
	}
	buf_free(&one);
	buf_free(&m);
	dns_cache_free(&cache);
}

/* A header block at DKIM_HEADER_MAX_FIELDS fields is taken, one more
 * refused; the same for DKIM_H_MAX_NAMES names in h=. */
static void test_header_bounds(void **state)
{
	struct dkim_header h;
	const char *error;
	struct buf b, out;
	(void)state;

	buf_init(&b, 1 << 20);
	for (int i = 0; i < DKIM_HEADER_MAX_FIELDS; i++)
		buf_printf(&b, "X-%d: y\r\n", i);
	assert_int_equal(dkim_header_split(buf_str(&b), &h, &error), 0);
	assert_int_equal(h.count, DKIM_HEADER_MAX_FIELDS);
	dkim_header_free(&h);
	buf_printf(&b, "X-last: y\r\n");
	assert_int_equal(dkim_header_split(buf_str(&b), &h, &error), -1);
	struct dkim_verify *v;
	assert_int_equal(dkim_verify_new(buf_str(&b), NOW, &v), -1);

	buf_reset(&b);
	buf_printf(&b, "From: a@a.test\r\n");
	assert_int_equal(dkim_header_split(buf_str(&b), &h, &error), 0);
	buf_init(&out, 1 << 20);
	buf_reset(&b);
	for (int i = 0; i < DKIM_H_MAX_NAMES; i++)
		buf_printf(&b, "%sfrom", i > 0 ? ":" : "");
	assert_int_equal(dkim_canon_signed_headers(DKIM_CANON_RELAXED, &h, buf_str(&b),
						   STR("DKIM-Signature: b=x"), &out, &error), 0);
	buf_printf(&b, ":from");
	assert_int_equal(dkim_canon_signed_headers(DKIM_CANON_RELAXED, &h, buf_str(&b),
						   STR("DKIM-Signature: b=x"), &out, &error), -1);
	assert_string_equal(error, "h= names too many fields");
	dkim_header_free(&h);

	/* The header block's size: DKIM_HEADER_MAX_BYTES, then one more. */
	buf_reset(&b);
	buf_printf(&b, "X: ");
	while (b.len < DKIM_HEADER_MAX_BYTES - 2)
		buf_putc(&b, 'y');
	buf_printf(&b, "\r\n\r\nbody");
	assert_true(dkim_header_end(buf_str(&b)) > 0);
	buf_reset(&b);
	buf_printf(&b, "X: ");
	while (b.len < DKIM_HEADER_MAX_BYTES - 1)
		buf_putc(&b, 'y');
	buf_printf(&b, "\r\n\r\nbody");
	assert_int_equal(dkim_header_end(buf_str(&b)), -1);
	buf_free(&out);
	buf_free(&b);
}

/* Messages signed by Debian's OpenDKIM 2.11 (`opendkim -t` with
 * SignatureAlgorithm rsa-sha256 or ed25519-sha256 and Canonicalization
 * relaxed/relaxed or simple/simple), and the keys' records as
 * opendkim-genkey printed them: another implementation's signatures
 * verify here. */
static const char opendkim_rsa_record[] =
		"v=DKIM1; h=sha256; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQ"
		"EA4IgjaYT7qAOg80X30UrLEXikdlwnjj96cIoWAyHTs9Sx7Ozq10hN4FlJmDN/0TJj1Lxp"
		"gisW2XByiSRjStg/BOKCNwPUv4tvJFvKxqicBzacaPHXa6mc55pV925Yt1KWoTUK2J2+K0"
		"ykwhUGUx2SqXZ0kkiBcHCM2Et4u9t3+Jpx7ieHKPA0G2xA3zLBx96lg5S7/J0DxTe4UDSO"
		"1Eu0Xl1wrybauar+hfkJ6zVR8+ZRlrTclkcWJguYBo2BhtYUVUl6bKuHR0ZHimREzNsRc/"
		"9WtFTVzmOde8VRUKFaU46by7z+rMfMllPFOyeH1M2mnjhAbJAVAZhTozMVXhG7hwIDAQAB";
static const char opendkim_ed25519_record[] = "v=DKIM1; k=ed25519; p=+WrusS32oHVvuauMiMxiuneTZfC6avqaQtEWPDGVE6Y=";
static const char opendkim_signatures[] =
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=a.test; s=od;\r\n"
	"\tt=1796588020; bh=ek17aHM/nJ1MFO4g2iPn4Pc8KH7y3mfqfYhCP7EKAnw=;\r\n"
	"\th=From:To:Subject:Date;\r\n"
	"\tb=VQ6fFYaSkDHsLlQRPXRvcVNPp8j+8askMAgu5P2Hxb9TlknEma7rLMf3W6Zvcivt+\r\n"
	"\t jQQXwygkqhXXtsy6W5afXnrmfZr3eIqNlmrN929TPL03v1rrNQkijxjSHbosEnystB\r\n"
	"\t PRkMiSET8jsn7hSxvzRc5UZtm6A2cUB2/nw2VL2eKL6VmN8+LSzfbEgpQ4qLByT2kQ\r\n"
	"\t pgk9+MHDnFx9K7LlP7HnriUJMNlp4J6JblqOTQJSi6CmEzIT9GDj2OpyiKQKCcEIRH\r\n"
	"\t TXwyexsBX6lfuBpmpr+LEYGVRffcCdtZW8VY0SIs71oaIdqUInmRYGZGt1uJSveoNv\r\n"
	"\t RnG+2x4nrimjQ==\r\n"
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=a.test; s=od;\r\n"
	"\tt=1796588015; bh=OpbFY2eP3/3nVUJcvtvV/XY4HJ0L/xlv3jKtqFYOId8=;\r\n"
	"\th=From:To:Subject:Date;\r\n"
	"\tb=WGzd0M+eG0J5vrEO2Rcf4PbNMefz4wkvlHfkIsVz6sSi7JUIYwEYbdNPtltSsfa4S\r\n"
	"\t MZGxgcMgttZACfyFq8ZggLPJUW1ZkIFkDJKCbpZYFDsp1OXoVDkITQQJ1wKA56kOHo\r\n"
	"\t G++u19HaZ0HUmNgZKfhi5z5BHyCWLdwOUYkpMzRe4ACY7YS2KNjLUBlth17wlN5ZC/\r\n"
	"\t 6E/kyXExz9MTBO3hrS+NeYzRQygVMO5YKgaj4gJsNGocBQTg3pVhZn0FyS33lFabSp\r\n"
	"\t WgBGqWYVMeJB2zaUgUTXXY01K2XZucp1SDHDkEzSCLhqxqLnuR5audzUAZ6nasdJwi\r\n"
	"\t ui5Iz+n/KFi8g==\r\n"
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=a.test; s=oe;\r\n"
	"\tt=1796588020; bh=ek17aHM/nJ1MFO4g2iPn4Pc8KH7y3mfqfYhCP7EKAnw=;\r\n"
	"\th=From:To:Subject:Date;\r\n"
	"\tb=5qNv/Yp55Bx1yOjSk4TFVONLutnjvrbQQQQNq9nkcEkGnGk8IdVZdoyEEC+0Tib3I\r\n"
	"\t 4nEnJQcoMXw/I/L8twGCw==\r\n";
static const char opendkim_message[] =
	"From: Ann <ann@a.test>\r\n"
	"To: bob@b.test\r\n"
	"Subject: signed by opendkim\r\n"
	"Date: Sun, 6 Dec 2026 20:00:00 +0000\r\n"
	"Message-ID: <od-1@a.test>\r\n"
	"\r\n"
	"Hello  Bob,\r\n"
	"\r\n"
	"this was signed by OpenDKIM.  \r\n"
	"\r\n";

static void test_opendkim(void **state)
{
	struct dns_cache *cache = dns_cache_new();
	struct buf m;
	(void)state;

	put_txt(cache, "od._domainkey.a.test", DNS_OK, opendkim_rsa_record);
	put_txt(cache, "oe._domainkey.a.test", DNS_OK, opendkim_ed25519_record);
	buf_init(&m, 1 << 16);
	buf_printf(&m, "%s%s", opendkim_signatures, opendkim_message);
	struct dkim_verify *v = verify(buf_str(&m), cache, 10);
	assert_results(v, DKIM_PASS, 3);
	dkim_verify_free(&v);
	/* The body changed: all three fail. */
	memcpy(strstr(m.data, "OpenDKIM"), "OpenDKIX", 8);
	v = verify(buf_str(&m), cache, 10);
	assert_results(v, DKIM_FAIL, 3);
	dkim_verify_free(&v);
	buf_free(&m);
	dns_cache_free(&cache);
}

/* Debian's OpenDKIM verifies our signatures, each algorithm on its own
 * (its test mode reports one signature per message); skipped where it is
 * not installed. */
#define OPENDKIM "/usr/sbin/opendkim"

static void opendkim_verifies(const char *dir, const char *msg, bool rsa)
{
	char path[600], cmd[1400], line[1024];
	struct buf m;
	FILE *f;

	buf_init(&m, 1 << 20);
	signed_message(&m, msg, rsa, !rsa);
	snprintf(path, sizeof(path), "%s/m.eml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(m.data, 1, m.len, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), OPENDKIM " -x %s/v.conf -t %s 2>&1", dir, path);
	f = popen(cmd, "r");
	assert_non_null(f);
	bool ok = false;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, rsa ? "s=r1, d=a.test" : "s=e1, d=a.test") != NULL &&
		    strstr(line, "succeeded") != NULL)
			ok = true;
		else
			print_message("opendkim: %s", line);
	}
	assert_int_equal(pclose(f), 0);
	assert_true(ok);
	buf_free(&m);
}

static void test_opendkim_verifies_ours(void **state)
{
	char dir[] = "/tmp/test-dkim-opendkim-XXXXXX", path[600];
	struct buf rec;
	FILE *f;
	(void)state;

	if (access(OPENDKIM, X_OK) != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	buf_init(&rec, 8192);
	buf_printf(&rec, "r1._domainkey.a.test ");
	record(&rec, rsa_key);
	buf_printf(&rec, "\ne1._domainkey.a.test ");
	record(&rec, ed_key);
	buf_printf(&rec, "\n");
	snprintf(path, sizeof(path), "%s/keys.txt", dir);
	f = fopen(path, "w");
	fwrite(rec.data, 1, rec.len, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/v.conf", dir);
	f = fopen(path, "w");
	fprintf(f, "Mode v\nTestPublicKeys %s/keys.txt\nSyslog no\n", dir);
	fclose(f);
	opendkim_verifies(dir, message, true);
	opendkim_verifies(dir, message, false);
	opendkim_verifies(dir, opendkim_message, true);
	buf_free(&rec);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_then_verify),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_replay_and_key_answers),
		cmocka_unit_test(test_rfc8463),
		cmocka_unit_test(test_opendkim),
		cmocka_unit_test(test_opendkim_verifies_ours),
		cmocka_unit_test(test_body_length),
		cmocka_unit_test(test_canon),
		cmocka_unit_test(test_signature_bounds),
		cmocka_unit_test(test_header_bounds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
