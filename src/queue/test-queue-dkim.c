/* Unit tests for queue-dkim: keys loaded from DATA/dkim (the newest of
 * each algorithm), a message signed from its file and verified by
 * dkim-verify, a message of another domain left unsigned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "lib/io.h"
#include "mail-auth/dkim-verify.h"
#include "queue/queue-dkim.h"

static char data[] = "/tmp/test-queue-dkim-XXXXXX";

/* write_key makes a key of type and writes it as data/dkim/<d>/<sel>.pem;
 * returns it (the caller frees). */
static EVP_PKEY *write_key(const char *domain, const char *sel, int type)
{
	char path[512];
	EVP_PKEY *key = NULL;
	if (type == EVP_PKEY_RSA) {
		key = EVP_RSA_gen(2048);
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
		EVP_PKEY_keygen_init(c);
		EVP_PKEY_keygen(c, &key);
		EVP_PKEY_CTX_free(c);
	}
	snprintf(path, sizeof(path), "%s/dkim", data);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/dkim/%s", data, domain);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/dkim/%s/%s.pem", data, domain, sel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	return key;
}

static void put_record(struct dns_cache *cache, const char *name, EVP_PKEY *key)
{
	struct buf txt;
	buf_init(&txt, 4096);
	assert_int_equal(dkim_key_record(key, &txt), 0);
	struct dns_record r = { .data = buf_str(&txt) };
	struct dns_answer a = { .status = DNS_OK, .count = 1, .records = &r };
	assert_int_equal(dns_cache_put(cache, DNS_TYPE_TXT, str_c(name), &a), 0);
	buf_free(&txt);
}

static int message_fd(const char *text)
{
	int fd = memfd_create("msg", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(io_write_all(fd, text, strlen(text)), 0);
	return fd;
}

static void test_selector_order(void **state)
{
	(void)state;
	assert_true(queue_dkim_selector_cmp("r2026a", "r2026b") < 0);
	assert_true(queue_dkim_selector_cmp("r2026z", "r2026za") < 0);
	assert_true(queue_dkim_selector_cmp("r2026zz", "r2027a") < 0);
	assert_true(queue_dkim_selector_cmp("r2027a", "r2026b") > 0);
	assert_int_equal(queue_dkim_selector_cmp("e2026a", "e2026a"), 0);
	assert_true(queue_dkim_selector_cmp("default", "r2026a") < 0);
	assert_true(queue_dkim_selector_cmp("r2026A", "r2026a") < 0);
	/* A suffix of QUEUE_DKIM_SUFFIX_MAX letters is ours, one more is not. */
	char longest[16], past[16];
	snprintf(longest, sizeof(longest), "r2026%.*s", QUEUE_DKIM_SUFFIX_MAX, "zzzzzzzzzzzz");
	snprintf(past, sizeof(past), "r2026%.*s", QUEUE_DKIM_SUFFIX_MAX + 1, "zzzzzzzzzzzz");
	assert_true(queue_dkim_selector_cmp(longest, "r2026a") > 0);
	assert_true(queue_dkim_selector_cmp(past, "r2026a") < 0);
}

static void test_sign_and_verify(void **state)
{
	struct queue_dkim *d;
	struct buf out;
	(void)state;

	assert_non_null(mkdtemp(data));
	/* No folder yet: no domain, nothing signed. */
	assert_int_equal(queue_dkim_load(data, &d), 0);
	assert_int_equal(queue_dkim_domains(d), 0);
	queue_dkim_free(&d);

	EVP_PKEY *old_rsa = write_key("a.test", "r2026a", EVP_PKEY_RSA);
	EVP_PKEY *rsa = write_key("a.test", "r2026b", EVP_PKEY_RSA);
	EVP_PKEY *ed = write_key("a.test", "e2026a", EVP_PKEY_ED25519);
	/* A file of the wrong type for its name is left out. */
	EVP_PKEY *wrong = write_key("a.test", "e2027a", EVP_PKEY_RSA);
	assert_int_equal(queue_dkim_load(data, &d), 0);
	assert_int_equal(queue_dkim_domains(d), 1);

	const char *msg = "From: \"Ann\" <ann@A.test>\r\nTo: bob@b.test\r\nSubject: hi\r\n\r\n"
			  "Hello.\r\n";
	int fd = message_fd(msg);
	buf_init(&out, 1 << 20);
	assert_int_equal(queue_dkim_sign(d, fd, &out), 2);
	assert_non_null(strstr(out.data, "s=r2026b;"));
	assert_non_null(strstr(out.data, "s=e2026a;"));
	assert_non_null(strstr(out.data, "d=a.test;"));

	struct dns_cache *cache = dns_cache_new();
	put_record(cache, "r2026b._domainkey.a.test", rsa);
	put_record(cache, "e2026a._domainkey.a.test", ed);
	struct dkim_verify *v;
	struct dkim_need need;
	const char *body = strstr(msg, "\r\n\r\n") + 4;
	buf_append(&out, msg, (size_t)(body - msg));
	assert_int_equal(dkim_verify_new(buf_str(&out), (int64_t)time(NULL), &v), 0);
	dkim_verify_body(v, body, strlen(body));
	dkim_verify_body_end(v);
	assert_int_equal(dkim_verify_run(v, cache, &need), DKIM_VERIFY_DONE);
	assert_int_equal(dkim_verify_count(v), 2);
	assert_int_equal(dkim_verify_result(v, 0)->result, DKIM_PASS);
	assert_int_equal(dkim_verify_result(v, 1)->result, DKIM_PASS);
	dkim_verify_free(&v);
	dns_cache_free(&cache);
	close(fd);

	/* Another domain's message: nothing appended. */
	buf_reset(&out);
	fd = message_fd("From: x@elsewhere.test\r\n\r\nHi.\r\n");
	assert_int_equal(queue_dkim_sign(d, fd, &out), 0);
	assert_int_equal(out.len, 0);
	close(fd);
	/* A file that cannot be read. */
	assert_int_equal(queue_dkim_sign(d, -1, &out), -1);

	buf_free(&out);
	queue_dkim_free(&d);
	EVP_PKEY_free(old_rsa);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(wrong);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", data);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selector_order),
		cmocka_unit_test(test_sign_and_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
