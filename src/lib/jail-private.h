#ifndef RAVELIN_JAIL_PRIVATE_H
#define RAVELIN_JAIL_PRIVATE_H
/* The parts of jail_enter, one file each; only jail.c calls them. */
#include <stddef.h>

#include "jail.h"

/* jail_landlock_enter confines files, TCP and signals with every right the
 * kernel's ABI (abi >= 1) knows, and writes what it restricted (and what it
 * could not) into summary for the log.  Returns 0 or -1 (logged). */
int jail_landlock_enter(const struct jail *jail, int abi, char *summary, size_t size);
/* jail_landlock_describe writes, for ABI abi (0: none), what Landlock
 * restricts there: "landlock ABI 6: files, truncate, ioctl, tcp, signals
 * scoped". */
void jail_landlock_describe(int abi, char *summary, size_t size);
/* jail_seccomp_enter installs the allow-list of jail->role and returns 1,
 * or 0 for master (no filter), or -1 (logged). */
int jail_seccomp_enter(const struct jail *jail);
/* jail_seccomp_prepare makes role's filter now (in a parent, before it
 * forks the children that will use it); 0 or -1 (logged). */
int jail_seccomp_prepare(enum jail_role role);
/* jail_seccomp_install_prepared installs role's prepared filter, made to
 * name this process where it says "this process": 1, 0 if none was
 * prepared, -1 (logged) if it could not. */
int jail_seccomp_install_prepared(enum jail_role role);

#endif
