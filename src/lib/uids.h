#ifndef RAVELIN_UIDS_H
#define RAVELIN_UIDS_H
/*
 * uids: which uid and gid each process runs as (docs/design-notes.md).
 *  - Started as root with `user` empty: every kind of process has a uid of
 *    its own from uid_base (spawner and its pre-auth processes +0, auth
 *    +1, queue +2, keys +3, resolver +4), and account N's worker has
 *    worker.uid_base + N, so the kernel's ordinary permission checks keep
 *    accounts apart even
 *    where Landlock is missing.  Each gid equals its uid; no supplementary
 *    groups.  No /etc/passwd entry is needed.
 *  - Started as root with `user` set: every child runs as that one user
 *    (what Ravelin did before; processes are then not separated by uid).
 *  - Started unprivileged: every process keeps the uid it was started as.
 * Master, the command line (which gives each folder to its process) and
 * every child before its jail ask the same function, with the same sealed
 * configuration, so they cannot disagree.
 */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "jail.h"

enum uids_mode {
	UIDS_UNPRIVILEGED, /* not root: nothing can be changed */
	UIDS_NAMED_USER,   /* root, `user` set: one user for all children */
	UIDS_PER_PROCESS,  /* root, `user` empty: a uid per role and account */
};

/* uids_mode says which of the three applies to this process's config. */
enum uids_mode uids_mode(const struct config *config);
/* uids_for fills ids for a process of role (account: the worker's account
 * id, else ignored); master's own ids are never dropped.  Returns 0, or -1
 * with the reason in err: no such user, or an account id whose uid would
 * pass CONFIG_UID_MAX or land on a role's uid. */
int uids_for(const struct config *config, enum jail_role role, uint64_t account,
	     struct jail_ids *ids, char *err, size_t errsize);
/* uids_enter_for is uids_for for a child about to enter its jail: it logs
 * the reason itself.  0 or -1. */
int uids_enter_for(const struct config *config, enum jail_role role, uint64_t account,
		   struct jail_ids *ids);
/* uids_check refuses a configuration whose role uids do not fit below
 * CONFIG_UID_MAX, whose first worker uid is a role's, or whose ids this
 * user namespace does not map (root in a container); 0 or -1 (err). */
int uids_check(const struct config *config, char *err, size_t errsize);
/* uids_describe writes master's start-up line: which separations by uid
 * are made and which are not (always NUL-terminated). */
void uids_describe(const struct config *config, char *out, size_t size);

#endif
