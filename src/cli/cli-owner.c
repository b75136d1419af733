/*
 * cli-owner: when Ravelin is started (or administered) as root, each
 * process must own the folder it writes, since it runs as a uid of its own
 * (src/lib/uids.h): directory/ (auth), spool/ (queue), accounts/<id>/ (that
 * account's worker).  DATA and accounts/ stay master's, open to others for
 * passing through only (o+x, no listing); log/, audit/ and tls/ stay
 * master's alone: only master, and children before they drop root, read
 * them.  With `user` set everything the processes write is that user's, as
 * before.
 *
 * A server started unprivileged runs every process as the user that
 * started it, and DATA is that user's: root's commands then give what they
 * make to DATA's owner, not to the uids a root start would use (the
 * server could open none of it).
 *
 * A folder whose top already has the right owner is not walked: only the
 * names the command line itself may have made in it are looked at, so a
 * large store costs a few stat calls at each start.  A folder whose top has
 * another owner (the first start, or a changed uid_base) is walked once.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lib/str.h"
#include "lib/uids.h"

/* Descriptors nftw may hold open while walking. */
#define OWNER_WALK_FDS 16
/* Room for the reason a process has no ids. */
#define OWNER_ERROR_MAX 256

/* The owner nftw's callback gives each file (nftw passes no context). */
static struct jail_ids walk_owner;

/* own_path gives path (not what a symbolic link points to) to ids unless
 * it has them; 0, also when st says it is already theirs or the file is
 * gone since it was listed (SQLite removes a store's -shm and -wal when a
 * worker closes it), or -1 (printed). */
static int own_path(const char *path, const struct stat *st, const struct jail_ids *ids)
{
	if ((st->st_uid != ids->uid || st->st_gid != ids->gid) &&
	    lchown(path, ids->uid, ids->gid) < 0 && errno != ENOENT) {
		fprintf(stderr, "ravelin: chown(%s) failed: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* own_walked is nftw's callback for a folder walked as a whole. */
static int own_walked(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	return own_path(path, st, &walk_owner);
}

/* own_folder gives folder to ids: all of it if whole is set or its top is
 * someone else's, else the names listed (relative to it, NULL-terminated).
 * A folder that does not exist is fine.  0 or -1 (printed). */
static int own_folder(const char *folder, const char *const *names, bool whole,
		      const struct jail_ids *ids)
{
	struct stat st;
	char path[PATH_MAX];

	if (lstat(folder, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (whole || st.st_uid != ids->uid || st.st_gid != ids->gid) {
		walk_owner = *ids;
		return nftw(folder, own_walked, OWNER_WALK_FDS, FTW_PHYS) == 0 ? 0 : -1;
	}
	for (; names != NULL && *names != NULL; names++) {
		snprintf(path, sizeof(path), "%s/%s", folder, *names);
		if (lstat(path, &st) == 0 && own_path(path, &st, ids) < 0)
			return -1;
	}
	return 0;
}

/* unprivileged_server: 1 with ids set to DATA's owner if this command
 * runs as root on the folder of a server started unprivileged (DATA not
 * root's), else 0. */
static int unprivileged_server(const struct config *config, struct jail_ids *ids)
{
	struct stat st;

	if (geteuid() != 0 || stat(config->data, &st) < 0 || st.st_uid == 0)
		return 0;
	ids->uid = st.st_uid;
	ids->gid = st.st_gid;
	ids->drop = true;
	return 1;
}

/* ids_of finds the ids of a process of role; 1 if they are to be given
 * files, 0 if nothing is to change (not root), -1 (printed). */
static int ids_of(const struct config *config, enum jail_role role, uint64_t account,
		  struct jail_ids *ids)
{
	char err[OWNER_ERROR_MAX];

	if (unprivileged_server(config, ids))
		return 1;
	if (uids_for(config, role, account, ids, err, sizeof(err)) < 0) {
		fprintf(stderr, "ravelin: %s\n", err);
		return -1;
	}
	return ids->drop ? 1 : 0;
}

/* own_passage makes a folder every process passes through (DATA,
 * accounts/): master's, and o+x so that uids of their own can pass
 * (nobody but master lists it).  With `user` set it is that user's.
 * 0 or -1 (printed). */
static int own_passage(const struct config *config, const char *path)
{
	struct jail_ids ids;
	struct stat st;
	int r = uids_mode(config) == UIDS_NAMED_USER || unprivileged_server(config, &ids)
			? ids_of(config, JAIL_ROLE_AUTH, 0, &ids)
			: uids_for(config, JAIL_ROLE_MASTER, 0, &ids, NULL, 0);
	if (r < 0)
		return -1;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (own_path(path, &st, &ids) < 0)
		return -1;
	if (uids_mode(config) == UIDS_PER_PROCESS && !unprivileged_server(config, &ids) &&
	    (st.st_mode & S_IXOTH) == 0 &&
	    chmod(path, (st.st_mode & 07777) | S_IXOTH) < 0) {
		fprintf(stderr, "ravelin: chmod(%s) failed: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* own_account gives one account's folder to its worker (whole: walked
 * all through).  0 or -1 (printed). */
static int own_account(const struct config *config, uint64_t account, bool whole)
{
	/* What the command line makes in a store; the rest is the worker's. */
	static const char *const made_here[] = { "store.db", "store.db-wal", "store.db-shm",
						 "blobs", "blobs/tmp", NULL };
	struct jail_ids ids;
	char path[PATH_MAX];
	int r = ids_of(config, JAIL_ROLE_WORKER, account, &ids);

	if (r <= 0)
		return r;
	snprintf(path, sizeof(path), "%s/accounts/%llu", config->data,
		 (unsigned long long)account);
	return own_folder(path, made_here, whole, &ids);
}

int cli_own_account(const struct config *config, uint64_t account)
{
	return own_account(config, account, false);
}

int cli_own_new_account(const struct config *config, uint64_t account)
{
	return own_account(config, account, true);
}

/* own_accounts gives each account's folder to its worker.  An account
 * without a uid is reported and left as it is (master will not serve it);
 * folders set aside by `account del` are not accounts.  0 or -1. */
static int own_accounts(const struct config *config)
{
	char path[PATH_MAX];
	struct dirent *e;
	int r = 0;

	snprintf(path, sizeof(path), "%s/accounts", config->data);
	DIR *d = opendir(path);
	while (d != NULL && r == 0 && (e = readdir(d)) != NULL) {
		uint64_t id;
		if (str_to_u64(str_c(e->d_name), UINT64_MAX, &id) < 0)
			continue;
		struct jail_ids ids;
		char err[OWNER_ERROR_MAX];
		if (uids_mode(config) == UIDS_PER_PROCESS && !unprivileged_server(config, &ids) &&
		    uids_for(config, JAIL_ROLE_WORKER, id, &ids, err, sizeof(err)) < 0) {
			fprintf(stderr, "ravelin: %s: it will not be served\n", err);
			continue;
		}
		r = cli_own_account(config, id);
	}
	if (d != NULL)
		closedir(d);
	return r;
}

int cli_own_dkim(const struct config *config)
{
	struct jail_ids queue;
	struct stat st;
	char path[PATH_MAX];
	int r = ids_of(config, JAIL_ROLE_QUEUE, 0, &queue);

	snprintf(path, sizeof(path), "%s/dkim", config->data);
	if (r <= 0 || lstat(path, &st) < 0)
		return r < 0 ? -1 : 0;
	/* A few files: walked every time, so a key root just made is the
	 * queue's too. */
	walk_owner = queue;
	return nftw(path, own_walked, OWNER_WALK_FDS, FTW_PHYS) == 0 ? 0 : -1;
}

int cli_own_data(const struct config *config)
{
	static const char *const auth_files[] = { "directory.db", "directory.db-wal",
						  "directory.db-shm", NULL };
	static const char *const queue_files[] = { "tmp", "q", NULL };
	struct jail_ids auth, queue;
	char path[PATH_MAX];
	int r = ids_of(config, JAIL_ROLE_AUTH, 0, &auth);

	if (r <= 0)
		return r;
	if (ids_of(config, JAIL_ROLE_QUEUE, 0, &queue) < 0)
		return -1;
	if (own_passage(config, config->data) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/directory", config->data);
	if (own_folder(path, auth_files, false, &auth) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/spool", config->data);
	if (own_folder(path, queue_files, false, &queue) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/accounts", config->data);
	if (own_passage(config, path) < 0 || cli_own_dkim(config) < 0)
		return -1;
	return own_accounts(config);
}
