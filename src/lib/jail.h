#ifndef RAVELIN_JAIL_H
#define RAVELIN_JAIL_H
/*
 * jail: confines the calling process for the rest of its life.
 *  1. When ids are given (master started as root; uids.c chooses them):
 *     clear the supplementary groups, set gid and uid (real, effective and
 *     saved, so it cannot be undone) and a umask of 077.
 *  2. no_new_privs: nothing it executes can gain privileges; not dumpable.
 *  3. Landlock (where the kernel has it), with every right the running
 *     kernel knows: file access only beneath the paths listed, read-only or
 *     read-write (an empty list means no file access at all); no TCP bind or
 *     connect; no signals to, and no abstract unix sockets of, processes
 *     outside the jail.  Descriptors opened before stay usable.
 *  4. seccomp: an allow-list of system calls for the role (jail-seccomp.c);
 *     anything else fails with EPERM, and the calls only an attacker makes
 *     (io_uring, ptrace, bpf, mount, ...) kill the process.
 *  5. Resource limits: no core dumps (memory may hold mail or secrets).
 * One info line per process says what the kernel could confine.
 * Returns 0, or -1 with a logged reason (callers treat -1 as fatal).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_MAX_PATHS 4
/* TCP ports a jail may connect to (relay: 25, 443 for MTA-STS policies
 * and the smarthost's). */
#define JAIL_MAX_CONNECT_PORTS 3

/* What the process is; each role has its own system call table. */
enum jail_role {
	JAIL_ROLE_MASTER = 0, /* no system call filter (it forks and execs) */
	JAIL_ROLE_SPAWNER,    /* accepts, forks pre-auth processes */
	JAIL_ROLE_PREAUTH,    /* one connection before login */
	JAIL_ROLE_AUTH,       /* credentials, with a checker thread */
	JAIL_ROLE_QUEUE,      /* the spool */
	JAIL_ROLE_KEYS,       /* signs with the TLS private keys */
	JAIL_ROLE_WORKER,     /* one account's store */
	JAIL_ROLE_RESOLVER,   /* DNS: sockets to the resolver, no file */
	JAIL_ROLE_RELAY,      /* relay spawner: forks one relay child per destination */
	JAIL_ROLE_RELAY_CHILD, /* one outbound SMTP connection */
	JAIL_ROLE_SPAM,       /* asks rspamd over TCP, to its connect_ports only */
	JAIL_ROLE_PARK,       /* holds parked IMAP sessions' sockets, never reads them */
};

struct jail_path {
	const char *path;
	bool writable;
};

/* Whom the process becomes; drop false: it keeps the ids it has. */
struct jail_ids {
	bool drop;
	uid_t uid;
	gid_t gid;
};

struct jail {
	const char *name;                  /* for the log: "spawner 0", "worker 7" */
	struct jail_ids ids;               /* from uids_for() */
	struct jail_path paths[JAIL_MAX_PATHS];
	unsigned path_count;
	enum jail_role role;
	/* TCP connect allowed to these ports only (Landlock ABI 4 and later);
	 * none: no TCP connect at all. */
	unsigned short connect_ports[JAIL_MAX_CONNECT_PORTS];
	unsigned connect_port_count;
};

int jail_enter(const struct jail *jail);
/* jail_narrow is for a process forked from a jailed parent (a pre-auth
 * process from its spawner): it keeps the parent's jail and adds its own
 * role's system call allow-list (a call must pass both).  0 or -1. */
int jail_narrow(const struct jail *jail);
/* jail_prepare builds role's allow-list now, so that the processes forked
 * later install it with jail_narrow at the cost of one system call (the
 * spawner does it for its pre-auth processes).  0 or -1 (logged). */
int jail_prepare(enum jail_role role);
/* jail_landlock_abi returns the kernel's Landlock ABI version, or 0. */
int jail_landlock_abi(void);
/* jail_role_name: "spawner", "worker", ... for the log. */
const char *jail_role_name(enum jail_role role);

#endif
