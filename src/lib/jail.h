#ifndef RAVELIN_JAIL_H
#define RAVELIN_JAIL_H
/*
 * jail: confines the calling process for the rest of its life.
 *  1. When started as root and a user is named: set groups, gid and uid to
 *     that user (and it cannot be undone: saved ids are dropped too).
 *  2. no_new_privs: nothing it executes can gain privileges.
 *  3. Landlock (where the kernel has it): file access only beneath the
 *     paths listed, read-only or read-write; an empty list means no file
 *     access at all.  Descriptors opened before stay usable.
 *  4. seccomp (when no_new_connections is set): the system calls that make
 *     new network endpoints, run programs or reach into other processes
 *     fail with EPERM (socket, connect, bind, listen, execve, ptrace, ...).
 *     Descriptors passed in (accepted connections, links) still work.
 *  5. Resource limits: no core dumps (memory may hold mail or secrets).
 * Returns 0, or -1 with a logged reason (callers treat -1 as fatal).
 */
#include <stdbool.h>

#define JAIL_MAX_PATHS 4

struct jail_path {
	const char *path;
	bool writable;
};

struct jail {
	const char *name;                  /* for the log: "front", "worker 7" */
	const char *user;                  /* NULL or "": keep the current user */
	struct jail_path paths[JAIL_MAX_PATHS];
	unsigned path_count;
	bool no_new_connections;
};

int jail_enter(const struct jail *jail);
/* jail_landlock_abi returns the kernel's Landlock ABI version, or 0. */
int jail_landlock_abi(void);

#endif
