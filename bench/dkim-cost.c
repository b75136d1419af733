/*
 * dkim-cost: what one DKIM signature and one verification cost, in
 * microseconds, for rsa-sha256 (2048-bit key) and ed25519-sha256, over an
 * 8 KB message (the bench/smtp-in size): the whole job (body hash, header
 * canonicalisation, the public-key operation, the field written or
 * parsed) and the public-key operation alone.  Not a test; built only
 * when asked:
 *
 *	ninja -C build bench/dkim-cost && build/bench/dkim-cost [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rsa.h>

#include "lib/buf.h"
#include "mail-auth/dkim-sign.h"
#include "mail-auth/dkim-verify.h"

/* Message size: as bench/smtp-in's default. */
#define BENCH_MESSAGE_BYTES 8192

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static EVP_PKEY *make_key(int type)
{
	if (type == EVP_PKEY_RSA)
		return EVP_RSA_gen(2048);
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY_keygen_init(c);
	EVP_PKEY_keygen(c, &key);
	EVP_PKEY_CTX_free(c);
	return key;
}

static void make_message(struct buf *m)
{
	buf_printf(m, "Received: from client.example.org by mx.a.test; Mon, 1 Jan 2024 12:00:00 +0000\r\n"
		      "From: Ann Example <ann@a.test>\r\nTo: Bob <bob@b.test>\r\n"
		      "Subject: The quarterly figures, as promised\r\n"
		      "Date: Mon, 1 Jan 2024 12:00:00 +0000\r\nMessage-ID: <bench-1@a.test>\r\n"
		      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
	while (m->len < BENCH_MESSAGE_BYTES)
		buf_printf(m, "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do %zu.\r\n",
			   m->len);
}

static void bench(const char *name, enum dkim_alg alg, EVP_PKEY *key, struct str msg, int n)
{
	struct dkim_signer s = { alg, key, STR("a.test"), STR("sel") };
	struct buf sig, signed_msg, rec;
	const char *error;

	buf_init(&sig, 1 << 16);
	buf_init(&signed_msg, 1 << 20);
	buf_init(&rec, 4096);
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		buf_reset(&sig);
		if (dkim_sign_message(&s, msg, 1700000000, &sig, &error) < 0) {
			fprintf(stderr, "dkim-cost: sign: %s\n", error);
			exit(1);
		}
	}
	double sign_us = (now_us() - t0) / n;

	buf_append_str(&signed_msg, buf_str(&sig));
	buf_append_str(&signed_msg, msg);
	dkim_key_record(key, &rec);
	struct dns_cache *cache = dns_cache_new();
	struct dns_record r = { .data = buf_str(&rec) };
	struct dns_answer a = { .status = DNS_OK, .count = 1, .records = &r };
	dns_cache_put(cache, DNS_TYPE_TXT, STR("sel._domainkey.a.test"), &a);
	long body = dkim_header_end(buf_str(&signed_msg));
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		struct dkim_verify *v;
		struct dkim_need need;
		dkim_verify_new(str_from(signed_msg.data, (size_t)body), 1700000000, &v);
		dkim_verify_body(v, signed_msg.data + body, signed_msg.len - (size_t)body);
		dkim_verify_body_end(v);
		if (dkim_verify_run(v, cache, &need) != DKIM_VERIFY_DONE ||
		    dkim_verify_result(v, 0)->result != DKIM_PASS) {
			fprintf(stderr, "dkim-cost: the signature does not verify\n");
			exit(1);
		}
		dkim_verify_free(&v);
	}
	double verify_us = (now_us() - t0) / n;

	uint8_t raw[DKIM_SIG_MAX];
	size_t len = 0;
	t0 = now_us();
	for (int i = 0; i < n; i++)
		dkim_sign_data(alg, key, msg, raw, &len);
	double op_sign_us = (now_us() - t0) / n;
	t0 = now_us();
	for (int i = 0; i < n; i++)
		if (dkim_verify_data(alg, key, msg, raw, len) != 1)
			exit(1);
	double op_verify_us = (now_us() - t0) / n;

	t0 = now_us();
	for (int i = 0; i < n; i++) {
		struct dkim_key k;
		if (dkim_key_parse(buf_str(&rec), &k, &error) < 0)
			exit(1);
		dkim_key_clear(&k);
	}
	double parse_us = (now_us() - t0) / n;

	printf("%-16s sign %8.1f us  verify %8.1f us  (alone: key sign %8.1f, key verify %8.1f, "
	       "key record parse %8.1f)\n", name, sign_us, verify_us, op_sign_us, op_verify_us,
	       parse_us);
	dns_cache_free(&cache);
	buf_free(&sig);
	buf_free(&signed_msg);
	buf_free(&rec);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 200;
	struct buf m;

	if (n <= 0)
		n = 200;
	buf_init(&m, 1 << 20);
	make_message(&m);
	EVP_PKEY *rsa = make_key(EVP_PKEY_RSA), *ed = make_key(EVP_PKEY_ED25519);
	printf("dkim-cost: %d iterations, %zu-byte message, per message:\n", n, m.len);
	bench("rsa-sha256/2048", DKIM_ALG_RSA_SHA256, rsa, buf_str(&m), n);
	bench("ed25519-sha256", DKIM_ALG_ED25519_SHA256, ed, buf_str(&m), n);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	buf_free(&m);
	return 0;
}
