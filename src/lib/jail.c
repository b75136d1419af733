/* jail: drop privileges, no_new_privs, Landlock, seccomp (see jail.h);
 * Landlock is in jail-landlock.c, the system call tables in
 * jail-seccomp.c. */
#include "jail.h"

#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
	};
	if ((size_t)role >= sizeof(names) / sizeof(names[0]) || names[role] == NULL)
		return "?";
	return names[role];
}

/* drop_user switches for good to jail->user's uid, gid and groups; 0 or -1
 * (logged), and -1 too if root could be regained afterwards. */
static int drop_user(const struct jail *jail)
{
	struct passwd *pw = getpwnam(jail->user);
	if (pw == NULL) {
		log_error("%s: no user '%s' to run as", jail->name, jail->user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		log_error("%s: dropping to user %s failed: %m", jail->name, jail->user);
		return -1;
	}
	if (setuid(0) == 0) {
		log_error("%s: could regain root after dropping it", jail->name);
		return -1;
	}
	return 0;
}

/* jail_enter: see jail.h.  The order matters: the user is dropped while
 * getpwnam can still read /etc, Landlock needs no_new_privs, and seccomp
 * comes last so that the calls the steps before make need no entry. */
int jail_enter(const struct jail *jail)
{
	struct rlimit no_core = { 0, 0 };
	char landlock[JAIL_SUMMARY_MAX];

	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		log_warn("%s: setrlimit(RLIMIT_CORE) failed: %m", jail->name);
	if (geteuid() == 0 && jail->user != NULL && jail->user[0] != '\0' && drop_user(jail) < 0)
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
