/* jail: drop privileges, no_new_privs, Landlock, seccomp (see jail.h);
 * Landlock is in jail-landlock.c, the system call tables in
 * jail-seccomp.c. */
#include "jail.h"

#include <grp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail-private.h"
#include "log.h"

/* Room for the Landlock part of the start-up line. */
#define JAIL_SUMMARY_MAX 160

/* jail_role_name: see jail.h; "?" for a value outside the enum. */
const char *jail_role_name(enum jail_role role)
{
	static const char *const names[] = {
		[JAIL_ROLE_MASTER] = "master",
		[JAIL_ROLE_SPAWNER] = "spawner", [JAIL_ROLE_PREAUTH] = "preauth",
		[JAIL_ROLE_AUTH] = "auth", [JAIL_ROLE_QUEUE] = "queue",
		[JAIL_ROLE_KEYS] = "keys", [JAIL_ROLE_WORKER] = "worker",
		[JAIL_ROLE_RESOLVER] = "resolver",
		[JAIL_ROLE_RELAY] = "relay", [JAIL_ROLE_RELAY_CHILD] = "relay-child",
		[JAIL_ROLE_SPAM] = "spam", [JAIL_ROLE_PARK] = "park",
	};
	if ((size_t)role >= sizeof(names) / sizeof(names[0]) || names[role] == NULL)
		return "?";
	return names[role];
}

/* drop_ids switches for good to jail->ids (no supplementary groups); 0 or
 * -1 (logged), and -1 too if root could be regained afterwards. */
static int drop_ids(const struct jail *jail)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	uid_t uid = jail->ids.uid;
	gid_t gid = jail->ids.gid;

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		log_error("%s: dropping to uid %u gid %u failed: %m", jail->name, (unsigned)uid,
			  (unsigned)gid);
		return -1;
	}
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 ||
	    ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid ||
	    sgid != gid || getgroups(0, NULL) != 0) {
		log_error("%s: the ids are not what was set", jail->name);
		return -1;
	}
	if (setuid(0) == 0 || setgid(0) == 0) {
		log_error("%s: could regain root after dropping it", jail->name);
		return -1;
	}
	/* Whatever it makes is its own only, whatever the umask it was started
	 * with. */
	umask(077);
	return 0;
}

/* jail_enter: see jail.h.  The order matters: the user is dropped while
 * nothing is confined yet, Landlock needs no_new_privs, and seccomp
 * comes last so that the calls the steps before make need no entry. */
int jail_enter(const struct jail *jail)
{
	struct rlimit no_core = { 0, 0 };
	char landlock[JAIL_SUMMARY_MAX];

	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		log_warn("%s: setrlimit(RLIMIT_CORE) failed: %m", jail->name);
	if (jail->ids.drop && drop_ids(jail) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("%s: prctl(PR_SET_NO_NEW_PRIVS) failed: %m", jail->name);
		return -1;
	}
	/* A child that can be ptraced or dumped by its own uid leaks its memory. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int abi = jail_landlock_abi();
	if (abi == 0)
		jail_landlock_describe(0, landlock, sizeof(landlock));
	else if (jail_landlock_enter(jail, abi, landlock, sizeof(landlock)) < 0)
		return -1;
	int filtered = jail_seccomp_enter(jail);
	if (filtered < 0)
		return -1;
	/* One line per process; pre-auth processes come one per connection. */
	enum log_level level = jail->role == JAIL_ROLE_PREAUTH ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
	log_msg(level, "jailed as %s: %s; %s", jail_role_name(jail->role), landlock,
		filtered ? "seccomp allow-list" : "no system call filter");
	return 0;
}

int jail_prepare(enum jail_role role)
{
	return jail_seccomp_prepare(role);
}

int jail_narrow(const struct jail *jail)
{
	/* Made by the parent: building a filter costs more than a fork. */
	int r = jail_seccomp_install_prepared(jail->role);
	if (r == 0)
		r = jail_seccomp_enter(jail);
	if (r < 0)
		return -1;
	log_debug("narrowed to the %s allow-list", jail_role_name(jail->role));
	return 0;
}
