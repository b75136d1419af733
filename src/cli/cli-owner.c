/*
 * cli-owner: when Ravelin is started (or administered) as root with a
 * `user` configured, the processes that drop to that user must own the
 * folders they write: directory/ (auth), spool/ (queue), accounts/<id>/
 * (that account's worker).  log/, audit/ and tls/ stay root's: only master
 * and the pre-jail start of a front read them.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Descriptors nftw may hold open while walking. */
#define OWNER_WALK_FDS 16

static uid_t owner_uid;
static gid_t owner_gid;

static int own_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if ((st->st_uid != owner_uid || st->st_gid != owner_gid) &&
	    lchown(path, owner_uid, owner_gid) < 0) {
		fprintf(stderr, "ravelin: chown(%s) failed: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* owner_lookup fills the ids; returns 1 if there is anything to do. */
static int owner_lookup(const struct config *config)
{
	if (geteuid() != 0 || config->user[0] == '\0')
		return 0;
	struct passwd *pw = getpwnam(config->user);
	if (pw == NULL) {
		fprintf(stderr, "ravelin: no user '%s' (the 'user' key)\n", config->user);
		return -1;
	}
	owner_uid = pw->pw_uid;
	owner_gid = pw->pw_gid;
	return 1;
}

int cli_own(const struct config *config, const char *path, bool recursive)
{
	struct stat st;
	int r = owner_lookup(config);

	if (r <= 0)
		return r;
	if (recursive)
		return nftw(path, own_one, OWNER_WALK_FDS, FTW_PHYS) == 0 ? 0 : -1;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return own_one(path, &st, 0, NULL);
}

int cli_own_data(const struct config *config)
{
	static const char *const account_files[] = { "", "/store.db", "/store.db-wal",
						      "/store.db-shm", "/blobs", "/blobs/tmp" };
	char path[PATH_MAX];
	int r = owner_lookup(config);

	if (r <= 0)
		return r;
	snprintf(path, sizeof(path), "%s", config->data);
	if (cli_own(config, path, false) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/directory", config->data);
	if (cli_own(config, path, true) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/spool", config->data);
	if (cli_own(config, path, true) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/accounts", config->data);
	if (cli_own(config, path, false) < 0)
		return -1;
	/* Per account only the top: everything below is made by its worker,
	 * so a large store is not walked at every start. */
	DIR *d = opendir(path);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < sizeof(account_files) / sizeof(account_files[0]); i++) {
			char p[PATH_MAX];
			snprintf(p, sizeof(p), "%s/accounts/%s%s", config->data, e->d_name,
				 account_files[i]);
			if (cli_own(config, p, false) < 0) {
				closedir(d);
				return -1;
			}
		}
	}
	if (d != NULL)
		closedir(d);
	return 0;
}
