/* cli-admin: `ravelin domain|account|alias` (the administrator's commands). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/directory.h"
#include "cli.h"
#include "lib/buf.h"
#include "store/store.h"

static struct directory *open_directory(struct cli_options *opts)
{
	struct directory *dir;
	const char *error;

	if (cli_make_data_dirs(opts->config.data) < 0)
		return NULL;
	if (directory_open(opts->config.data, true, &dir, &error) < 0) {
		fprintf(stderr, "ravelin: %s\n", error);
		return NULL;
	}
	if (cli_own_data(&opts->config) < 0) {
		directory_close(&dir);
		return NULL;
	}
	return dir;
}

static int done(struct directory **dir, int r, const char *error)
{
	if (r < 0)
		fprintf(stderr, "ravelin: %s\n", error);
	directory_close(dir);
	return r < 0 ? 1 : 0;
}

static void print_domain(const char *domain, void *ctx)
{
	(void)ctx;
	printf("%s\n", domain);
}

/* domain_add adds domain and, when the administrator names one, the
 * account its postmaster@ goes to (else the domain's first account, see
 * directory_resolve).  The domain is not left behind without it. */
static int domain_add(struct directory *dir, const char *domain, const char *postmaster,
		      const char **error_r)
{
	char alias[DIRECTORY_MAX_ADDRESS + 2];
	const char *ignored;

	if (directory_domain_add(dir, domain, error_r) < 0)
		return -1;
	snprintf(alias, sizeof(alias), "%s@%s", DIRECTORY_POSTMASTER, domain);
	if (postmaster != NULL &&
	    directory_alias_add(dir, alias, (const char *const[]){ postmaster }, 1, error_r) < 0) {
		static char why[DIRECTORY_MAX_ADDRESS + 256];
		snprintf(why, sizeof(why), "--postmaster: %s", *error_r);
		*error_r = why;
		(void)directory_domain_del(dir, domain, &ignored);
		return -1;
	}
	printf("domain %s added; %s goes to %s\n", domain, alias,
	       postmaster != NULL ? postmaster : "its first account");
	return 0;
}

int cli_domain(struct cli_options *opts, int argc, char **argv)
{
	const char *error = "";
	int r;

	if (argc >= 1 && strcmp(argv[0], "dkim") == 0 && opts->postmaster == NULL)
		return cli_domain_dkim(opts, argc, argv);
	if (argc < 1 || argc != (strcmp(argv[0], "list") == 0 ? 1 : 2) ||
	    (opts->postmaster != NULL && strcmp(argv[0], "add") != 0) || opts->rotate ||
	    opts->retire != NULL) {
		fprintf(stderr, "usage: ravelin domain add DOMAIN [--postmaster ADDRESS] | "
				"domain del DOMAIN | domain list\n");
		return 2;
	}
	struct directory *dir = open_directory(opts);
	if (dir == NULL)
		return 1;
	if (strcmp(argv[0], "add") == 0) {
		r = domain_add(dir, argv[1], opts->postmaster, &error);
	} else if (strcmp(argv[0], "del") == 0) {
		r = directory_domain_del(dir, argv[1], &error);
		if (r == 0)
			printf("domain %s removed\n", argv[1]);
	} else if (strcmp(argv[0], "list") == 0) {
		r = directory_domain_list(dir, print_domain, NULL, &error);
	} else {
		fprintf(stderr, "ravelin: unknown domain command '%s'\n", argv[0]);
		directory_close(&dir);
		return 2;
	}
	return done(&dir, r, error);
}

/* read_password gets a password from --password-file, the terminal (asked
 * twice, not echoed) or standard input; the first line, without its end. */
static int read_password(struct cli_options *opts, struct buf *pw)
{
	char line[DIRECTORY_MAX_PASSWORD + 2];
	char again[DIRECTORY_MAX_PASSWORD + 2];
	FILE *in = stdin;
	bool tty = false;

	if (opts->password_file != NULL) {
		in = fopen(opts->password_file, "re");
		if (in == NULL) {
			fprintf(stderr, "ravelin: open(%s) failed: %s\n", opts->password_file,
				strerror(errno));
			return -1;
		}
	} else if (isatty(STDIN_FILENO)) {
		tty = true;
	}
	struct termios saved, quiet;
	if (tty) {
		tcgetattr(STDIN_FILENO, &saved);
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fprintf(stderr, "Password: ");
	}
	bool ok = fgets(line, sizeof(line), in) != NULL;
	if (ok && tty) {
		fprintf(stderr, "\nAgain: ");
		ok = fgets(again, sizeof(again), in) != NULL;
		if (ok && strcmp(line, again) != 0) {
			fprintf(stderr, "\nravelin: the passwords differ\n");
			ok = false;
			line[0] = '\0';
		}
		sodium_memzero(again, sizeof(again));
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fprintf(stderr, "\n");
	}
	if (in != stdin)
		fclose(in);
	if (!ok) {
		if (line[0] != '\0')
			fprintf(stderr, "ravelin: no password given\n");
		return -1;
	}
	size_t len = strcspn(line, "\r\n");
	if (len == 0 || len > DIRECTORY_MAX_PASSWORD) {
		fprintf(stderr, "ravelin: the password must be 1 to %d bytes\n",
			DIRECTORY_MAX_PASSWORD);
		sodium_memzero(line, sizeof(line));
		return -1;
	}
	buf_append(pw, line, len);
	sodium_memzero(line, sizeof(line));
	return 0;
}

static void print_account(const struct directory_account *a, void *ctx)
{
	char when[32];
	struct tm tm;
	time_t t = (time_t)a->created;
	(void)ctx;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	printf("%-6llu %-40s created %s\n", (unsigned long long)a->id, a->address, when);
}

static const char *special_name(enum store_special_use s)
{
	static const char *const names[] = { "", "\\Inbox", "\\Sent", "\\Drafts", "\\Trash",
					     "\\Junk", "\\Archive" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "";
}

/* print_usage says what the account takes on disk against what its mail
 * weighs: the difference is the database's indexes and pre-parsed answers,
 * and whatever the clean-up has not removed yet. */
static void print_usage(struct store *store)
{
	struct store_usage u;
	const char *error;

	if (store_usage(store, &u, &error) != STORE_OK) {
		fprintf(stderr, "ravelin: disk usage: %s\n", error);
		return;
	}
	unsigned long long disk = u.file_bytes + u.db_bytes + u.wal_bytes;
	printf("  disk %llu bytes: %llu message files %llu bytes, database %llu bytes "
	       "(%llu free), WAL %llu bytes\n",
	       disk, (unsigned long long)u.files, (unsigned long long)u.file_bytes,
	       (unsigned long long)u.db_bytes, (unsigned long long)u.db_free_bytes,
	       (unsigned long long)u.wal_bytes);
	printf("  live mail %llu bytes in %llu messages, %llu files waiting for clean-up\n",
	       (unsigned long long)u.live_bytes, (unsigned long long)u.messages,
	       (unsigned long long)u.orphans);
}

static int account_show(struct cli_options *opts, struct directory *dir, const char *address)
{
	struct directory_account a;
	const char *error;
	char path[PATH_MAX];
	struct store *store;
	struct store_mailbox *boxes;
	size_t count;

	if (directory_account_get(dir, address, &a, &error) < 0) {
		fprintf(stderr, "ravelin: %s\n", error);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/accounts/%llu", opts->config.data,
		 (unsigned long long)a.id);
	if (store_open(path, &store, &error) < 0 ||
	    store_mailbox_list(store, &boxes, &count, &error) < 0) {
		fprintf(stderr, "ravelin: store of %s: %s\n", a.address, error);
		return 1;
	}
	printf("%s (account %llu)\n", a.address, (unsigned long long)a.id);
	uint64_t total = 0, bytes = 0;
	for (size_t i = 0; i < count; i++) {
		printf("  %-24s %8llu messages %12llu bytes  %s\n", boxes[i].name,
		       (unsigned long long)boxes[i].messages, (unsigned long long)boxes[i].bytes,
		       special_name(boxes[i].special_use));
		total += boxes[i].messages;
		bytes += boxes[i].bytes;
	}
	printf("  %-24s %8llu messages %12llu bytes\n", "total", (unsigned long long)total,
	       (unsigned long long)bytes);
	uint64_t limit, used;
	if (store_quota_get(store, &limit, &used, &error) == STORE_OK) {
		if (limit > 0)
			printf("  quota %llu bytes, %llu used (%.1f%%)\n", (unsigned long long)limit,
			       (unsigned long long)used, 100.0 * (double)used / (double)limit);
		else
			printf("  quota none, %llu bytes used\n", (unsigned long long)used);
	}
	print_usage(store);
	store_mailbox_list_free(&boxes, count);
	store_close(&store);
	return 0;
}

/* parse_size reads "500M", "2G", "1048576" or "none" (0; 1024-based units). */
static int parse_size(const char *text, uint64_t *size_r)
{
	static const char units[] = "KMGT";
	char *end;

	if (strcasecmp(text, "none") == 0) {
		*size_r = 0;
		return 0;
	}
	/* strtoull alone would take " 5", "+5" and "-5" (as a huge number). */
	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text)
		return -1;
	uint64_t mult = 1;
	if (*end != '\0') {
		const char *u = strchr(units, *end & ~0x20);
		if (u == NULL || (end[1] != '\0' && !((end[1] == 'B' || end[1] == 'b') && end[2] == '\0')))
			return -1;
		for (const char *k = units; k <= u; k++)
			mult *= 1024;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*size_r = v * mult;
	return 0;
}

/* account_quota sets the account's storage quota (RFC 9208 STORAGE). */
static int account_quota(struct cli_options *opts, struct directory *dir, const char *address,
			 const char *size_text)
{
	struct directory_account a;
	const char *error;
	char path[PATH_MAX];
	struct store *store;
	uint64_t size;

	if (parse_size(size_text, &size) < 0) {
		fprintf(stderr, "ravelin: '%s' is not a size (e.g. 500M, 2G, none)\n", size_text);
		return 2;
	}
	/* A quota of nothing would refuse every message: a slip for "none". */
	if (size == 0 && strcasecmp(size_text, "none") != 0) {
		fprintf(stderr, "ravelin: a quota of 0 would refuse all mail; 'none' removes "
				"the quota\n");
		return 2;
	}
	if (directory_account_get(dir, address, &a, &error) < 0) {
		fprintf(stderr, "ravelin: %s\n", error);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/accounts/%llu", opts->config.data,
		 (unsigned long long)a.id);
	if (store_open(path, &store, &error) < 0) {
		fprintf(stderr, "ravelin: store of %s: %s\n", a.address, error);
		return 1;
	}
	int r = store_quota_set(store, size, &error);
	if (r != STORE_OK)
		fprintf(stderr, "ravelin: setting the quota failed: %s\n", error);
	store_close(&store);
	if (r != STORE_OK || cli_own_account(&opts->config, a.id) < 0)
		return 1;
	if (size > 0)
		printf("quota of %s set to %llu bytes\n", a.address, (unsigned long long)size);
	else
		printf("quota of %s removed\n", a.address);
	return 0;
}

static int account_add(struct cli_options *opts, struct directory *dir, const char *address)
{
	struct buf pw;
	uint64_t id;
	const char *error;
	char path[PATH_MAX];

	buf_init(&pw, DIRECTORY_MAX_PASSWORD);
	if (read_password(opts, &pw) < 0)
		return 1;
	int r = directory_account_add(dir, address, buf_str(&pw), &id, &error);
	sodium_memzero(pw.data, pw.len);
	buf_free(&pw);
	if (r < 0) {
		fprintf(stderr, "ravelin: %s\n", error);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/accounts/%llu", opts->config.data, (unsigned long long)id);
	if ((mkdir(path, 0700) < 0 && errno != EEXIST) || store_create(path, &error) < 0) {
		fprintf(stderr, "ravelin: making the store in %s failed: %s\n", path,
			errno ? strerror(errno) : error);
		return 1;
	}
	if (cli_own_new_account(&opts->config, id) < 0)
		return 1;
	printf("account %s added (id %llu)\n", address, (unsigned long long)id);
	return 0;
}

int cli_account(struct cli_options *opts, int argc, char **argv)
{
	const char *error = "";
	int r = 0;

	bool quota = argc == 3 && strcmp(argv[0], "quota") == 0;
	if (argc < 1 ||
	    argc != (strcmp(argv[0], "list") == 0 ? 1 : strcmp(argv[0], "quota") == 0 ? 3 : 2)) {
		fprintf(stderr, "usage: ravelin account add|del|passwd|show ADDRESS | "
				"account quota ADDRESS SIZE | account list\n");
		return 2;
	}
	struct directory *dir = open_directory(opts);
	if (dir == NULL)
		return 1;
	const char *cmd = argv[0];
	if (strcmp(cmd, "add") == 0) {
		r = account_add(opts, dir, argv[1]);
		directory_close(&dir);
		return r;
	}
	if (quota) {
		r = account_quota(opts, dir, argv[1], argv[2]);
		directory_close(&dir);
		return r;
	}
	if (strcmp(cmd, "show") == 0) {
		r = account_show(opts, dir, argv[1]);
		directory_close(&dir);
		return r;
	}
	if (strcmp(cmd, "list") == 0)
		return done(&dir, directory_account_list(dir, print_account, NULL, &error), error);
	if (strcmp(cmd, "passwd") == 0) {
		struct buf pw;
		buf_init(&pw, DIRECTORY_MAX_PASSWORD);
		if (read_password(opts, &pw) < 0) {
			directory_close(&dir);
			return 1;
		}
		r = directory_account_passwd(dir, argv[1], buf_str(&pw), &error);
		sodium_memzero(pw.data, pw.len);
		buf_free(&pw);
		struct directory_account a;
		if (r == 0 && directory_account_get(dir, argv[1], &a, &error) == 0) {
			/* Whoever knew the old password is logged out. */
			printf("password of %s changed\n", argv[1]);
			if (cli_end_sessions(&opts->config, a.id) < 0)
				r = 1;
			directory_close(&dir);
			return r;
		}
		return done(&dir, r, error);
	}
	if (strcmp(cmd, "del") == 0) {
		uint64_t id;
		char from[PATH_MAX], to[PATH_MAX];
		r = directory_account_del(dir, argv[1], &id, &error);
		if (r == 0) {
			/* The mail is set aside, not destroyed: an administrator's
			 * slip should not cost a user their mailbox. */
			snprintf(from, sizeof(from), "%s/accounts/%llu", opts->config.data,
				 (unsigned long long)id);
			snprintf(to, sizeof(to), "%s/accounts/deleted-%llu-%lld", opts->config.data,
				 (unsigned long long)id, (long long)time(NULL));
			if (rename(from, to) < 0 && errno != ENOENT)
				fprintf(stderr, "ravelin: moving %s aside failed: %s\n", from,
					strerror(errno));
			printf("account %s removed; its mail is kept in %s\n", argv[1], to);
			if (cli_end_sessions(&opts->config, id) < 0) {
				directory_close(&dir);
				return 1;
			}
		}
		return done(&dir, r, error);
	}
	fprintf(stderr, "ravelin: unknown account command '%s'\n", cmd);
	directory_close(&dir);
	return 2;
}

static void print_alias(const char *alias, const char *targets, void *ctx)
{
	(void)ctx;
	printf("%-40s -> %s\n", alias, targets);
}

int cli_alias(struct cli_options *opts, int argc, char **argv)
{
	const char *error = "";
	int r;

	if (argc < 1 || (strcmp(argv[0], "add") == 0 && argc < 3) ||
	    (strcmp(argv[0], "del") == 0 && argc != 2) ||
	    (strcmp(argv[0], "list") == 0 && argc != 1)) {
		fprintf(stderr, "usage: ravelin alias add ALIAS TARGET... | alias del ALIAS | "
				"alias list\n");
		return 2;
	}
	struct directory *dir = open_directory(opts);
	if (dir == NULL)
		return 1;
	if (strcmp(argv[0], "add") == 0) {
		r = directory_alias_add(dir, argv[1], (const char *const *)argv + 2,
					(size_t)argc - 2, &error);
		if (r == 0)
			printf("alias %s added\n", argv[1]);
	} else if (strcmp(argv[0], "del") == 0) {
		r = directory_alias_del(dir, argv[1], &error);
		if (r == 0)
			printf("alias %s removed\n", argv[1]);
	} else if (strcmp(argv[0], "list") == 0) {
		r = directory_alias_list(dir, print_alias, NULL, &error);
	} else {
		fprintf(stderr, "ravelin: unknown alias command '%s'\n", argv[0]);
		directory_close(&dir);
		return 2;
	}
	return done(&dir, r, error);
}
