/*
 * cli-dkim: `ravelin domain dkim DOMAIN [--rotate] [--retire SELECTOR]`.
 * Makes a domain's DKIM keys (one RSA-2048, one Ed25519) in
 * DATA/dkim/<domain>/<selector>.pem, 0600 and the queue's (the only
 * process that reads them, at its start), and prints the DNS records to
 * publish: the keys' TXT records, and the SPF, DMARC and MTA-STS records
 * we suggest.  --rotate adds a pair of newer selectors (the queue signs
 * with the newest after its next start; the old ones stay published
 * until --retire removes a selector's key).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth/directory.h"
#include "cli.h"
#include "lib/dns.h"
#include "lib/buf.h"
#include "mail-auth/dkim-key.h"
#include "mail-auth/dkim-sign.h"
#include "queue/queue-dkim.h"

/* RSA keys we make: RFC 8301 3.2 has signers use at least 1024 bits and
 * should use 2048; every verifier must take up to 4096, and a larger key
 * only costs every receiving server more time. */
#define CLI_DKIM_RSA_BITS 2048
/* A TXT record's character-string is at most 255 octets (RFC 1035 3.3). */
#define CLI_DKIM_TXT_STRING 255
/* Selectors kept per algorithm per domain: rotations pile up until
 * retired; this many means the administrator forgot to retire some. */
#define CLI_DKIM_MAX_SELECTORS 64

static const char alg_letters[2] = { 'r', 'e' };

struct selectors {
	size_t count;
	char name[2 * CLI_DKIM_MAX_SELECTORS][DKIM_SELECTOR_MAX + 1];
};

static int by_age(const void *a, const void *b)
{
	const char *x = a, *y = b;
	return x[0] != y[0] ? x[0] - y[0] : queue_dkim_selector_cmp(x, y);
}

/* list_selectors reads the selectors in dir (oldest first per letter). */
static int list_selectors(const char *dir, struct selectors *s)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	s->count = 0;
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 5 || len - 4 > DKIM_SELECTOR_MAX || strcmp(e->d_name + len - 4, ".pem") != 0)
			continue;
		if (s->count == 2 * CLI_DKIM_MAX_SELECTORS) {
			closedir(d);
			fprintf(stderr, "ravelin: %s has more than %d keys: retire some\n", dir,
				2 * CLI_DKIM_MAX_SELECTORS);
			return -1;
		}
		memcpy(s->name[s->count], e->d_name, len - 4);
		s->name[s->count++][len - 4] = '\0';
	}
	closedir(d);
	qsort(s->name, s->count, sizeof(s->name[0]), by_age);
	return 0;
}

/* newest gives the newest selector of letter, or NULL. */
static const char *newest(const struct selectors *s, char letter)
{
	const char *found = NULL;
	for (size_t i = 0; i < s->count; i++)
		if (s->name[i][0] == letter)
			found = s->name[i];
	return found;
}

/* next_selector names the selector after last (NULL: none) for letter:
 * this year's "a", or last's year with the next suffix when last is of
 * this year or later (a -> b ... z -> za, always newer by
 * queue_dkim_selector_cmp).  -1 past QUEUE_DKIM_SUFFIX_MAX. */
static int next_selector(char letter, const char *last, char out[DKIM_SELECTOR_MAX + 1])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(out, DKIM_SELECTOR_MAX + 1, "%c%04da", letter, tm.tm_year + 1900);
	if (last == NULL || queue_dkim_selector_cmp(last, out) < 0)
		return 0;
	size_t len = strlen(last);
	if (len - 5 >= QUEUE_DKIM_SUFFIX_MAX && last[len - 1] == 'z')
		return -1;
	snprintf(out, DKIM_SELECTOR_MAX + 1, "%s", last);
	if (out[len - 1] < 'z') {
		out[len - 1]++;
	} else {
		out[len] = 'a';
		out[len + 1] = '\0';
	}
	return 0;
}

static EVP_PKEY *make_key(char letter)
{
	if (letter == 'r')
		return EVP_RSA_gen(CLI_DKIM_RSA_BITS);
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (c == NULL || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_keygen(c, &key) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(c);
	return key;
}

/* write_key makes a key and writes it to dir/sel.pem, made 0600 before
 * any byte of the key is in it; 0 or -1 (printed). */
static int write_key(const char *dir, const char *sel)
{
	char path[PATH_MAX];
	EVP_PKEY *key = make_key(sel[0]);

	snprintf(path, sizeof(path), "%s/%s.pem", dir, sel);
	int fd = key != NULL ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok = f != NULL && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	if (f != NULL)
		ok = (fclose(f) == 0) && ok;
	else if (fd >= 0)
		close(fd);
	EVP_PKEY_free(key);
	if (!ok) {
		fprintf(stderr, "ravelin: making the key %s failed: %s\n", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* public_record writes the key record of the key in path to out. */
static int public_record(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *key = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	int r = key != NULL ? dkim_key_record(key, out) : -1;
	EVP_PKEY_free(key);
	if (r < 0)
		fprintf(stderr, "ravelin: %s is not a DKIM private key\n", path);
	return r;
}

/* print_txt prints one TXT record, its text cut into strings of at most
 * CLI_DKIM_TXT_STRING octets. */
static void print_txt(const char *name, const char *text)
{
	size_t len = strlen(text);
	printf("%s. IN TXT", name);
	for (size_t i = 0; i < len || i == 0; i += CLI_DKIM_TXT_STRING) {
		size_t n = len - i < CLI_DKIM_TXT_STRING ? len - i : CLI_DKIM_TXT_STRING;
		printf(" \"%.*s\"", (int)n, text + i);
	}
	printf("\n");
}

static int print_records(const struct cli_options *opts, const char *domain, const char *dir)
{
	struct selectors s;
	char path[PATH_MAX], name[DNS_MAX_NAME + 64], record[2048];
	struct stat st;

	if (list_selectors(dir, &s) < 0)
		return -1;
	printf("; DKIM keys of %s (publish them all; the newest of each kind signs)\n", domain);
	for (size_t i = 0; i < s.count; i++) {
		snprintf(path, sizeof(path), "%s/%s.pem", dir, s.name[i]);
		struct buf rec;
		buf_init(&rec, 4096);
		int r = public_record(path, &rec);
		snprintf(name, sizeof(name), "%s._domainkey.%s", s.name[i], domain);
		if (r == 0)
			print_txt(name, rec.data);
		buf_free(&rec);
		if (r < 0)
			return -1;
	}
	printf("; SPF (RFC 7208): only this domain's MX hosts send its mail\n");
	print_txt(domain, "v=spf1 mx -all");
	printf("; DMARC (RFC 7489)\n");
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	snprintf(record, sizeof(record), "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s", domain);
	print_txt(name, record);
	/* The policy's id changes when the keys folder does: one more
	 * publication is harmless, and printing again gives the same. */
	time_t made = stat(dir, &st) == 0 ? st.st_mtime : time(NULL);
	struct tm tm;
	gmtime_r(&made, &tm);
	printf("; MTA-STS (RFC 8461)\n");
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	snprintf(record, sizeof(record), "v=STSv1; id=%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	print_txt(name, record);
	printf("; and served at https://mta-sts.%s/.well-known/mta-sts.txt:\n"
	       "version: STSv1\n"
	       "mode: testing\n"
	       "mx: %s\n"
	       "max_age: 604800\n", domain, opts->config.hostname);
	return 0;
}

static void domain_seen(const char *domain, void *ctx)
{
	const char **want = ctx;
	if (*want != NULL && strcasecmp(domain, *want) == 0)
		*want = NULL;
}

/* known_domain: 1 if domain is one of ours, 0 if not, -1 (printed). */
static int known_domain(struct cli_options *opts, const char *domain)
{
	struct directory *dir;
	const char *error, *want = domain;

	if (cli_make_data_dirs(opts->config.data) < 0)
		return -1;
	if (directory_open(opts->config.data, false, &dir, &error) < 0) {
		fprintf(stderr, "ravelin: %s\n", error);
		return -1;
	}
	int r = directory_domain_list(dir, domain_seen, &want, &error);
	directory_close(&dir);
	if (r < 0) {
		fprintf(stderr, "ravelin: %s\n", error);
		return -1;
	}
	return want == NULL ? 1 : 0;
}

/* retire removes sel's key; the newest key of an algorithm stays. */
static int retire(const char *dir, const char *sel)
{
	struct selectors s;
	char path[PATH_MAX];

	if (list_selectors(dir, &s) < 0)
		return -1;
	const char *last = newest(&s, sel[0]);
	bool found = false;
	for (size_t i = 0; i < s.count; i++)
		found |= strcmp(s.name[i], sel) == 0;
	if (!found) {
		fprintf(stderr, "ravelin: no DKIM key with selector '%s'\n", sel);
		return -1;
	}
	if (last != NULL && strcmp(last, sel) == 0) {
		fprintf(stderr, "ravelin: %s is the newest key of its kind, which signs: "
				"--rotate first\n", sel);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.pem", dir, sel);
	if (unlink(path) < 0) {
		fprintf(stderr, "ravelin: unlink(%s) failed: %s\n", path, strerror(errno));
		return -1;
	}
	printf("selector %s retired: remove %s._domainkey from DNS once the mail it signed "
	       "has arrived (a few days)\n", sel, sel);
	return 0;
}

int cli_domain_dkim(struct cli_options *opts, int argc, char **argv)
{
	char domain[DNS_MAX_NAME + 1], dir[PATH_MAX];
	struct selectors s;

	if (argc != 2 || (opts->rotate && opts->retire != NULL) || strlen(argv[1]) > DNS_MAX_NAME ||
	    strchr(argv[1], '/') != NULL || argv[1][0] == '.') {
		fprintf(stderr, "usage: ravelin domain dkim DOMAIN [--rotate | --retire SELECTOR]\n");
		return 2;
	}
	snprintf(domain, sizeof(domain), "%s", argv[1]);
	str_lower(domain, strlen(domain));
	int known = known_domain(opts, domain);
	if (known <= 0) {
		if (known == 0)
			fprintf(stderr, "ravelin: no domain %s ('ravelin domain add %s' first)\n",
				domain, domain);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", opts->config.data, QUEUE_DKIM_DIR);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "ravelin: mkdir(%s) failed: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/%s/%s", opts->config.data, QUEUE_DKIM_DIR, domain);
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || list_selectors(dir, &s) < 0) {
		fprintf(stderr, "ravelin: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	int r = 0;
	if (opts->retire != NULL) {
		r = retire(dir, opts->retire);
	} else {
		for (int a = 0; a < 2 && r == 0; a++) {
			const char *last = newest(&s, alg_letters[a]);
			char sel[DKIM_SELECTOR_MAX + 1];
			if (last != NULL && !opts->rotate)
				continue;
			if (next_selector(alg_letters[a], last, sel) < 0) {
				fprintf(stderr, "ravelin: no selector name left this year\n");
				r = -1;
			} else if ((r = write_key(dir, sel)) == 0) {
				printf("made DKIM key %s for %s\n", sel, domain);
			}
		}
	}
	if (cli_own_dkim(&opts->config) < 0 || r < 0)
		return 1;
	if (opts->retire == NULL && print_records(opts, domain, dir) < 0)
		return 1;
	if (opts->rotate)
		printf("; publish the new records, then restart the server to sign with them\n");
	return 0;
}
