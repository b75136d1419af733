/* uids: the uid and gid of every process (see uids.h). */
#include "uids.h"

#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

/* Room for an error or the start-up line. */
#define UIDS_ERROR_MAX 256
/* Role uids handed out today (spawner, auth, queue, keys, resolver, relay,
 * spam, park). */
#define UIDS_ROLES_IN_USE 8

_Static_assert(CONFIG_UID_MAX < 0x80000000u, "uids stay below 2^31");

/* role_offset is a role's uid above uid_base; -1 for master and workers.
 * A pre-auth process is forked by its spawner and keeps the spawner's uid:
 * its seccomp table forbids kill (but of itself) and ptrace, it is not
 * dumpable, and Landlock (ABI 6) scopes its signals to its own jail, so
 * sharing a uid with its siblings gives it no way to reach them. */
static long role_offset(enum jail_role role)
{
	switch (role) {
	case JAIL_ROLE_SPAWNER:
	case JAIL_ROLE_PREAUTH:
		return 0;
	case JAIL_ROLE_AUTH:
		return 1;
	case JAIL_ROLE_QUEUE:
		return 2;
	case JAIL_ROLE_KEYS:
		return 3;
	case JAIL_ROLE_RESOLVER:
		return 4;
	/* The relay spawner and its children share one: a child's seccomp
	 * table forbids kill and ptrace, and it is not dumpable. */
	case JAIL_ROLE_RELAY:
	case JAIL_ROLE_RELAY_CHILD:
		return 5;
	case JAIL_ROLE_SPAM:
		return 6;
	case JAIL_ROLE_PARK:
		return 7;
	case JAIL_ROLE_MASTER:
	case JAIL_ROLE_WORKER:
		break;
	}
	return -1;
}
_Static_assert(UIDS_ROLES_IN_USE <= CONFIG_ROLE_UIDS,
	       "every role's uid is among those kept for roles");

/* uids_mode: see uids.h. */
enum uids_mode uids_mode(const struct config *config)
{
	if (geteuid() != 0)
		return UIDS_UNPRIVILEGED;
	return config->user[0] != '\0' ? UIDS_NAMED_USER : UIDS_PER_PROCESS;
}

/* worker_uid finds account's worker uid; 0 or -1 (err) when it has none. */
static int worker_uid(const struct config *config, uint64_t account, uid_t *uid, char *err,
		      size_t errsize)
{
	uint64_t base = config->worker_uid_base;

	if (account == 0 || account > CONFIG_UID_MAX - base) {
		snprintf(err, errsize,
			 "account %llu has no uid for its worker: worker.uid_base %llu leaves "
			 "room for account ids 1 to %llu",
			 (unsigned long long)account, (unsigned long long)base,
			 (unsigned long long)(CONFIG_UID_MAX - base));
		return -1;
	}
	uint64_t u = base + account;
	if (u >= config->uid_base && u < config->uid_base + CONFIG_ROLE_UIDS) {
		snprintf(err, errsize,
			 "account %llu has no uid for its worker: %llu is kept for roles "
			 "(uid_base %llu); move worker.uid_base",
			 (unsigned long long)account, (unsigned long long)u,
			 (unsigned long long)config->uid_base);
		return -1;
	}
	*uid = (uid_t)u;
	return 0;
}

/* uids_for: see uids.h.  The ids are looked up while /etc is still open. */
int uids_for(const struct config *config, enum jail_role role, uint64_t account,
	     struct jail_ids *ids, char *err, size_t errsize)
{
	ids->drop = false;
	ids->uid = geteuid();
	ids->gid = getegid();
	if (role == JAIL_ROLE_MASTER)
		return 0;
	switch (uids_mode(config)) {
	case UIDS_UNPRIVILEGED:
		return 0;
	case UIDS_NAMED_USER: {
		struct passwd *pw = getpwnam(config->user);
		if (pw == NULL) {
			snprintf(err, errsize, "no user '%s' (the 'user' key)", config->user);
			return -1;
		}
		ids->uid = pw->pw_uid;
		ids->gid = pw->pw_gid;
		break;
	}
	case UIDS_PER_PROCESS:
		if (role == JAIL_ROLE_WORKER) {
			if (worker_uid(config, account, &ids->uid, err, errsize) < 0)
				return -1;
		} else {
			ids->uid = (uid_t)(config->uid_base + (uint64_t)role_offset(role));
		}
		/* A group of its own: group bits never join two processes. */
		ids->gid = (gid_t)ids->uid;
		break;
	}
	ids->drop = true;
	return 0;
}

/* uids_enter_for: see uids.h. */
int uids_enter_for(const struct config *config, enum jail_role role, uint64_t account,
		   struct jail_ids *ids)
{
	char err[UIDS_ERROR_MAX];

	if (uids_for(config, role, account, ids, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/* id_mapped says whether id exists in this process's user namespace, per
 * map (/proc/self/uid_map or gid_map: "inside outside count" lines).  Root
 * in a container often has only 65536 ids, and setresuid to any other
 * fails.  A map that cannot be read (no user namespaces) maps everything. */
static bool id_mapped(const char *map, uint64_t id)
{
	unsigned long long inside, outside, count;
	bool found = false;
	FILE *f = fopen(map, "re");

	if (f == NULL)
		return true;
	while (!found && fscanf(f, "%llu %llu %llu", &inside, &outside, &count) == 3)
		found = id >= inside && id - inside < count;
	fclose(f);
	return found;
}

/* uids_check: see uids.h.  Only the first worker's uid is checked against
 * the namespace; a later account's worker that cannot drop says so. */
int uids_check(const struct config *config, char *err, size_t errsize)
{
	uid_t first;

	if (uids_mode(config) != UIDS_PER_PROCESS)
		return 0;
	if (config->uid_base + CONFIG_ROLE_UIDS - 1 > CONFIG_UID_MAX) {
		snprintf(err, errsize, "uid_base %llu: the %d role uids pass %u",
			 (unsigned long long)config->uid_base, CONFIG_ROLE_UIDS, CONFIG_UID_MAX);
		return -1;
	}
	if (worker_uid(config, 1, &first, err, errsize) < 0)
		return -1;
	for (uint64_t i = 0; i <= UIDS_ROLES_IN_USE; i++) {
		uint64_t id = i < UIDS_ROLES_IN_USE ? config->uid_base + i : first;
		if (!id_mapped("/proc/self/uid_map", id) || !id_mapped("/proc/self/gid_map", id)) {
			snprintf(err, errsize,
				 "id %llu is not mapped in this user namespace "
				 "(/proc/self/uid_map, gid_map): set uid_base and worker.uid_base "
				 "to ids it has",
				 (unsigned long long)id);
			return -1;
		}
	}
	return 0;
}

/* uids_describe: see uids.h. */
void uids_describe(const struct config *config, char *out, size_t size)
{
	switch (uids_mode(config)) {
	case UIDS_UNPRIVILEGED:
		snprintf(out, size,
			 "running unprivileged as uid %u: processes and accounts are not "
			 "separated by uid (Landlock and seccomp still confine them)",
			 (unsigned)geteuid());
		break;
	case UIDS_NAMED_USER:
		snprintf(out, size,
			 "every child runs as user %s: processes and accounts are not separated "
			 "by uid (Landlock and seccomp still confine them; leave 'user' empty "
			 "for a uid per process and per account)",
			 config->user);
		break;
	case UIDS_PER_PROCESS:
		snprintf(out, size,
			 "children run as uids of their own: spawner %llu, auth %llu, queue "
			 "%llu, keys %llu, resolver %llu, relay %llu, spam %llu, park %llu, "
			 "account N's worker %llu+N",
			 (unsigned long long)config->uid_base,
			 (unsigned long long)config->uid_base + 1,
			 (unsigned long long)config->uid_base + 2,
			 (unsigned long long)config->uid_base + 3,
			 (unsigned long long)config->uid_base + 4,
			 (unsigned long long)config->uid_base + 5,
			 (unsigned long long)config->uid_base + 6,
			 (unsigned long long)config->uid_base + 7,
			 (unsigned long long)config->worker_uid_base);
		break;
	}
}
