/* queue-dkim: DKIM keys and signing in the queue (see queue-dkim.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "lib/dns.h"
#include "lib/io.h"
#include "lib/log.h"
#include "mail-auth/dkim-canon.h"
#include "mail-auth/dkim-header.h"
#include "mail-auth/dkim-sign.h"
#include "queue/queue-dkim.h"

/* Octets read from the message at a time. */
#define QUEUE_DKIM_CHUNK (64 * 1024)
/* The two algorithms we sign with, in the order the fields go out. */
#define QUEUE_DKIM_ALGS 2

struct queue_dkim_domain {
	char name[DNS_MAX_NAME + 1];
	EVP_PKEY *key[QUEUE_DKIM_ALGS];                     /* NULL: none */
	char selector[QUEUE_DKIM_ALGS][DKIM_SELECTOR_MAX + 1];
};

struct queue_dkim {
	size_t count;
	struct queue_dkim_domain *domains;
};

static const char alg_letter[QUEUE_DKIM_ALGS] = { 'r', 'e' };
static const enum dkim_alg alg_of[QUEUE_DKIM_ALGS] = { DKIM_ALG_RSA_SHA256,
						       DKIM_ALG_ED25519_SHA256 };

/* selector_parts splits "r2026ab" into year and suffix; -1 if not ours. */
static int selector_parts(const char *s, unsigned *year, const char **suffix)
{
	size_t len = strlen(s);
	if (len < 6 || len > 5 + QUEUE_DKIM_SUFFIX_MAX || !str_is_alpha((unsigned char)s[0]))
		return -1;
	*year = 0;
	for (int i = 1; i <= 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*year = *year * 10 + (unsigned)(s[i] - '0');
	}
	for (size_t i = 5; i < len; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return -1;
	*suffix = s + 5;
	return 0;
}

int queue_dkim_selector_cmp(const char *a, const char *b)
{
	unsigned ya = 0, yb = 0;
	const char *sa = "", *sb = "";
	int oka = selector_parts(a, &ya, &sa) == 0, okb = selector_parts(b, &yb, &sb) == 0;

	if (!oka || !okb)
		return oka - okb;
	if (ya != yb)
		return ya < yb ? -1 : 1;
	if (strlen(sa) != strlen(sb))
		return strlen(sa) < strlen(sb) ? -1 : 1;
	return strcmp(sa, sb);
}

/* load_key reads one PEM private key; NULL (logged) if it does not load
 * or is not of the algorithm its name says. */
static EVP_PKEY *load_key(const char *path, int alg)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		log_error("dkim: open(%s) failed: %m", path);
		return NULL;
	}
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	int want = alg_of[alg] == DKIM_ALG_RSA_SHA256 ? EVP_PKEY_RSA : EVP_PKEY_ED25519;
	/* One signature now, before the jail: whatever OpenSSL sets up at a
	 * key's first use (algorithm fetches, the random generator's seed)
	 * is done while files can still be opened, and a key that cannot
	 * sign is known at start. */
	uint8_t sig[DKIM_SIG_MAX];
	size_t len;
	if (key != NULL && EVP_PKEY_get_base_id(key) == want &&
	    dkim_sign_data(alg_of[alg], key, STR("start"), sig, &len) < 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	if (key == NULL || EVP_PKEY_get_base_id(key) != want) {
		log_error("dkim: %s is not a %s private key that signs: left out", path,
			  alg_of[alg] == DKIM_ALG_RSA_SHA256 ? "RSA" : "Ed25519");
		EVP_PKEY_free(key);
		ERR_clear_error();
		return NULL;
	}
	return key;
}

/* load_domain fills dom with the newest key of each algorithm in dir. */
static void load_domain(const char *dir, struct queue_dkim_domain *dom)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".pem") != 0 ||
		    len - 4 > DKIM_SELECTOR_MAX)
			continue;
		char sel[DKIM_SELECTOR_MAX + 1];
		memcpy(sel, e->d_name, len - 4);
		sel[len - 4] = '\0';
		unsigned year;
		const char *suffix;
		int alg = 0;
		while (alg < QUEUE_DKIM_ALGS && alg_letter[alg] != sel[0])
			alg++;
		if (alg == QUEUE_DKIM_ALGS || selector_parts(sel, &year, &suffix) < 0 ||
		    (dom->key[alg] != NULL && queue_dkim_selector_cmp(sel, dom->selector[alg]) <= 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		EVP_PKEY *key = load_key(path, alg);
		if (key == NULL)
			continue;
		EVP_PKEY_free(dom->key[alg]);
		dom->key[alg] = key;
		memcpy(dom->selector[alg], sel, len - 3);
	}
	closedir(d);
}

int queue_dkim_load(const char *data_dir, struct queue_dkim **dp)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct dirent *e;
	struct queue_dkim *d = calloc(1, sizeof(*d));

	*dp = d;
	if (d == NULL) {
		log_error("dkim: out of memory");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", data_dir, QUEUE_DKIM_DIR);
	DIR *top = opendir(dir);
	if (top == NULL) {
		if (errno != ENOENT)
			log_error("dkim: opendir(%s) failed: %m", dir);
		return 0;
	}
	while ((e = readdir(top)) != NULL) {
		if (e->d_name[0] == '.' || strlen(e->d_name) > DNS_MAX_NAME)
			continue;
		struct queue_dkim_domain *grown =
			realloc(d->domains, (d->count + 1) * sizeof(*d->domains));
		if (grown == NULL) {
			closedir(top);
			log_error("dkim: out of memory");
			return -1;
		}
		d->domains = grown;
		struct queue_dkim_domain *dom = &d->domains[d->count];
		memset(dom, 0, sizeof(*dom));
		snprintf(dom->name, sizeof(dom->name), "%s", e->d_name);
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		load_domain(sub, dom);
		if (dom->key[0] != NULL || dom->key[1] != NULL)
			d->count++;
	}
	closedir(top);
	return 0;
}

size_t queue_dkim_domains(const struct queue_dkim *d)
{
	return d->count;
}

void queue_dkim_free(struct queue_dkim **dp)
{
	struct queue_dkim *d = *dp;
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->count; i++)
		for (int a = 0; a < QUEUE_DKIM_ALGS; a++)
			EVP_PKEY_free(d->domains[i].key[a]);
	free(d->domains);
	free(d);
	*dp = NULL;
}

/* from_domain finds the domain of the first address of the first From:
 * field (inside <> when there are any), or the empty str. */
static struct str from_domain(const struct dkim_header *h)
{
	for (size_t i = 0; i < h->count; i++) {
		if (!str_case_eq(h->fields[i].name, STR("From")))
			continue;
		struct str v = h->fields[i].text;
		long lt = str_chr(v, '<');
		if (lt >= 0)
			v = str_from(v.ptr + lt + 1, v.len - (size_t)lt - 1);
		long at = str_chr(v, '@');
		if (at < 0)
			return STR_NULL;
		size_t start = (size_t)at + 1, end = start;
		while (end < v.len && v.ptr[end] != '>' && v.ptr[end] != ',' && v.ptr[end] != ' ' &&
		       v.ptr[end] != '\t' && v.ptr[end] != '\r' && v.ptr[end] != '\n' &&
		       v.ptr[end] != ';' && v.ptr[end] != '(')
			end++;
		return str_from(v.ptr + start, end - start);
	}
	return STR_NULL;
}

static struct queue_dkim_domain *find_domain(struct queue_dkim *d, struct str name)
{
	for (size_t i = 0; i < d->count; i++)
		if (str_case_eq(str_c(d->domains[i].name), name))
			return &d->domains[i];
	return NULL;
}

/* read_message reads the header block of msg_fd into head and hashes
 * the body (relaxed) into hash; the body offset in *body, -1 if the
 * header block is past its bound.  0, or -1 on a read error. */
static int read_message(int msg_fd, struct buf *head, long *body, uint8_t hash[DKIM_HASH_LEN])
{
	static char chunk[QUEUE_DKIM_CHUNK];
	struct dkim_body_hash bh;
	uint64_t off = 0;
	ssize_t n;

	*body = -1;
	/* The header block first: read until its end is in head or it is
	 * past the bound. */
	while (head->len <= DKIM_HEADER_MAX_BYTES + 2) {
		if (buf_reserve(head, QUEUE_DKIM_CHUNK) < 0)
			break;
		n = io_pread_full(msg_fd, head->data + head->len, QUEUE_DKIM_CHUNK, off);
		if (n < 0)
			return -1;
		head->len += (size_t)n;
		head->data[head->len] = '\0';
		off += (uint64_t)n;
		if (n < QUEUE_DKIM_CHUNK || memmem(head->data, head->len, "\n\r\n", 3) != NULL ||
		    memmem(head->data, head->len, "\n\n", 2) != NULL)
			break;
	}
	*body = dkim_header_end(buf_str(head));
	if (*body < 0)
		return 0;
	if (dkim_body_hash_init(&bh, DKIM_CANON_RELAXED, DKIM_BODY_NO_LIMIT) < 0)
		return -1;
	dkim_body_hash_update(&bh, head->data + *body, head->len - (size_t)*body);
	while ((n = io_pread_full(msg_fd, chunk, sizeof(chunk), off)) > 0) {
		dkim_body_hash_update(&bh, chunk, (size_t)n);
		off += (uint64_t)n;
	}
	if (n < 0) {
		dkim_body_hash_free(&bh);
		return -1;
	}
	return dkim_body_hash_final(&bh, hash);
}

int queue_dkim_sign(struct queue_dkim *d, int msg_fd, struct buf *headers_out)
{
	struct buf head;
	struct dkim_header h;
	uint8_t hash[DKIM_HASH_LEN];
	const char *error;
	long body;
	int signed_count = 0;

	if (d->count == 0)
		return 0;
	buf_init(&head, DKIM_HEADER_MAX_BYTES + 2 + QUEUE_DKIM_CHUNK);
	if (read_message(msg_fd, &head, &body, hash) < 0) {
		log_error("dkim: reading the message failed: %m");
		buf_free(&head);
		return -1;
	}
	if (body < 0 || dkim_header_split(str_from(head.data, (size_t)body), &h, &error) < 0) {
		buf_free(&head);
		return 0;
	}
	struct queue_dkim_domain *dom = find_domain(d, from_domain(&h));
	for (int a = 0; dom != NULL && a < QUEUE_DKIM_ALGS; a++) {
		if (dom->key[a] == NULL)
			continue;
		struct dkim_signer s = { alg_of[a], dom->key[a], str_c(dom->name),
					 str_c(dom->selector[a]) };
		if (dkim_sign(&s, &h, hash, (int64_t)time(NULL), headers_out, &error) < 0) {
			log_error("dkim: signing for %s with %s failed: %s", dom->name,
				  dom->selector[a], error);
			signed_count = -1;
			break;
		}
		signed_count++;
	}
	dkim_header_free(&h);
	buf_free(&head);
	return signed_count;
}
