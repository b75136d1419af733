/* jail-seccomp: one system call allow-list per role (see jail.h).
 *
 * Each role's table names every call it may make; everything else fails
 * with EPERM, so a call missing from a table shows up as a logged failure
 * ("open(...) failed: Operation not permitted"), not as a silent death.
 * The calls only an attacker makes (io_uring, ptrace, bpf, mount, module
 * loading, ...) kill the process instead.
 *
 * The tables were made from what each process really calls after its jail
 * shuts, traced over the integration tests with the sanitizers on (ASan
 * and UBSan need sigaltstack, madvise, sched_yield and a few getters).
 *
 * Entries from JAIL_CHECKED on are calls allowed only with certain
 * arguments (socketpair of AF_UNIX only, clone that forks but makes no
 * thread, kill of this process only, ...): see add_checked(). */
#include "jail-private.h"

#include <errno.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <string.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* Pseudo entries: above any system call number of any architecture. */
enum jail_checked {
	JAIL_CHECKED = 0x7f000000,
	JAIL_MEMORY_NO_EXEC = JAIL_CHECKED, /* mmap, mprotect: never PROT_EXEC */
	JAIL_IOCTL_USED,      /* ioctl: FIONREAD, TCGETS (isatty) only */
	JAIL_PRCTL_GETTERS,   /* prctl: reading dumpable, no_new_privs, seccomp; pdeathsig */
	JAIL_KILL_SELF,       /* kill, tgkill: this process only (raise, abort) */
	JAIL_KILL_CHILDREN,   /* kill, tgkill: any one process (Landlock scopes it) */
	JAIL_CLONE_THREAD,    /* clone: a thread (pthread_create), no namespace */
	JAIL_CLONE_FORK,      /* clone: a child process (fork), no thread, no namespace */
	JAIL_SOCKETPAIR_UNIX, /* socketpair: AF_UNIX only */
	JAIL_SOCKET_INET,     /* socket: AF_INET and AF_INET6 only */
	JAIL_CHECKED_END,
};

/* Every jailed process: memory, time, the descriptors it already holds,
 * its event loop and signal descriptor, exit; and what the C library and
 * the sanitizers' runtime call under it. */
#define JAIL_SYSCALLS_BASE                                                                    \
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close),  \
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),           \
	SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(fstat), SCMP_SYS(newfstatat),                \
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),                   \
	SCMP_SYS(epoll_pwait), SCMP_SYS(signalfd4), SCMP_SYS(rt_sigaction),                   \
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigpending),            \
	SCMP_SYS(sigaltstack),                                                                \
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),                 \
	SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(clock_gettime),                      \
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),               \
	SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),            \
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(restart_syscall),    \
	SCMP_SYS(exit), SCMP_SYS(exit_group), JAIL_MEMORY_NO_EXEC, JAIL_IOCTL_USED,           \
	JAIL_PRCTL_GETTERS

/* A SQLite database and its files in the jail's directory (auth, worker). */
#define JAIL_SYSCALLS_SQLITE                                                                  \
	SCMP_SYS(openat), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek),             \
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(unlink),          \
	SCMP_SYS(unlinkat), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(readlink)

/* The spawner: owns the listening sockets, accepts and forks one pre-auth
 * process per connection, and reaps (or kills) them. */
#define JAIL_SYSCALLS_SPAWNER                                                                 \
	SCMP_SYS(accept4), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname), \
	SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(set_robust_list), JAIL_CLONE_FORK,        \
	JAIL_SOCKETPAIR_UNIX, JAIL_KILL_CHILDREN, JAIL_SYSCALLS_SPAWNED

/* What a pre-auth process does between its fork and its own, narrower
 * filter (which cannot be looser: both apply): take its links, close the
 * spawner's descriptors, learn its parent, install the filter. */
#define JAIL_SYSCALLS_SPAWNED                                                                 \
	SCMP_SYS(dup3), SCMP_SYS(close_range), SCMP_SYS(getppid), SCMP_SYS(seccomp),          \
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(getpeername), SCMP_SYS(shutdown)
static const int jail_syscalls_spawner[] = { JAIL_SYSCALLS_BASE, JAIL_SYSCALLS_SPAWNER };

/* A pre-auth process: the one connection it was given, nothing else. */
#define JAIL_SYSCALLS_PREAUTH                                                                 \
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getpeername), SCMP_SYS(shutdown), \
	SCMP_SYS(poll), SCMP_SYS(ppoll), JAIL_SOCKETPAIR_UNIX, JAIL_KILL_SELF
static const int jail_syscalls_preauth[] = { JAIL_SYSCALLS_BASE, JAIL_SYSCALLS_PREAUTH };

/* auth: the directory database and a password checker thread. */
static const int jail_syscalls_auth[] = {
	JAIL_SYSCALLS_BASE, JAIL_SYSCALLS_SQLITE,
	SCMP_SYS(eventfd2), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_getaffinity), JAIL_CLONE_THREAD, JAIL_KILL_SELF,
};

/* queue: the spool directory, its files written, fsynced and renamed (a
 * file's post line rewritten in place: pwrite64); a memfd per message
 * being delivered (a worker gets the message only). */
static const int jail_syscalls_queue[] = {
	JAIL_SYSCALLS_BASE,
	SCMP_SYS(openat), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek),
	SCMP_SYS(getdents64),
	SCMP_SYS(renameat), SCMP_SYS(unlinkat), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(memfd_create),
	JAIL_KILL_SELF,
};

/* keys: answers signing requests over its links; no file, no network. */
static const int jail_syscalls_keys[] = {
	JAIL_SYSCALLS_BASE,
	JAIL_KILL_SELF,
};

/* resolver: libunbound's thread sends questions over UDP and TCP sockets
 * of its own (Landlock keeps TCP to one port); no file. */
static const int jail_syscalls_resolver[] = {
	JAIL_SYSCALLS_BASE,
	SCMP_SYS(bind), SCMP_SYS(connect), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(shutdown), SCMP_SYS(pipe2),
	SCMP_SYS(eventfd2), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg),
	JAIL_SOCKET_INET, JAIL_CLONE_THREAD, JAIL_KILL_SELF,
};

/* worker: one account's store (SQLite and the blob tree). */
static const int jail_syscalls_worker[] = {
	JAIL_SYSCALLS_BASE, JAIL_SYSCALLS_SQLITE,
	SCMP_SYS(getdents64), SCMP_SYS(mkdirat), SCMP_SYS(renameat), SCMP_SYS(sync_file_range),
	SCMP_SYS(memfd_create), /* a message for the spam filter to learn */
	SCMP_SYS(shutdown),     /* an HTTP answer ends while the request is dropped */
	/* The store's sync thread (worker-commit.c) and the eventfd it wakes the loop by. */
	SCMP_SYS(eventfd2), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_getaffinity),
	JAIL_CLONE_THREAD,
	JAIL_KILL_SELF,
};

/* spam: TCP connections to rspamd (Landlock holds them to its ports) and
 * the memfds of the messages it is given. */
static const int jail_syscalls_spam[] = {
	JAIL_SYSCALLS_BASE,
	JAIL_SOCKET_INET, SCMP_SYS(connect), SCMP_SYS(getsockopt), SCMP_SYS(pread64),
	JAIL_KILL_SELF,
};

/* park: the parked sessions' sockets it watches (epoll, FIONREAD) and
 * passes on; no file, no network of its own. */
static const int jail_syscalls_park[] = {
	JAIL_SYSCALLS_BASE,
	JAIL_KILL_SELF,
};
/* relay spawner: forks a relay child per destination and reaps it; what
 * its children do must be allowed here too (both filters apply). */
#define JAIL_SYSCALLS_RELAY_CHILD                                                             \
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),      \
	SCMP_SYS(getpeername), SCMP_SYS(getsockname), SCMP_SYS(shutdown), SCMP_SYS(poll),     \
	SCMP_SYS(ppoll), SCMP_SYS(pread64), JAIL_SOCKETPAIR_UNIX
static const int jail_syscalls_relay[] = {
	JAIL_SYSCALLS_BASE, JAIL_SYSCALLS_RELAY_CHILD, SCMP_SYS(wait4), SCMP_SYS(waitid),
	SCMP_SYS(set_robust_list), SCMP_SYS(dup3), SCMP_SYS(close_range), SCMP_SYS(getppid),
	SCMP_SYS(seccomp), JAIL_CLONE_FORK, JAIL_KILL_CHILDREN,
};
/* relay child: its one outbound connection (Landlock keeps connect to
 * the allowed ports), its links, the messages' memfds (pread). */
static const int jail_syscalls_relay_child[] = {
	JAIL_SYSCALLS_BASE, JAIL_SYSCALLS_RELAY_CHILD, JAIL_KILL_SELF,
};

/* Calls no role makes and an attacker would: they kill the process. */
static const int jail_syscalls_fatal[] = {
	SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(reboot),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
	SCMP_SYS(fsopen), SCMP_SYS(fsmount), SCMP_SYS(move_mount), SCMP_SYS(open_tree),
	SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(keyctl), SCMP_SYS(add_key),
	SCMP_SYS(request_key), SCMP_SYS(iopl), SCMP_SYS(ioperm), SCMP_SYS(swapon),
	SCMP_SYS(swapoff), SCMP_SYS(acct), SCMP_SYS(open_by_handle_at), SCMP_SYS(kcmp),
	SCMP_SYS(pidfd_getfd), SCMP_SYS(personality),
};

#define JAIL_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* Flags that make a clone enter new namespaces: no role's clone has them. */
#define JAIL_CLONE_NAMESPACES                                                                 \
	((uint64_t)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |             \
		    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET))
/* Flags that make a clone share memory or be traced: a fork has none. */
#define JAIL_CLONE_SHARING ((uint64_t)(CLONE_VM | CLONE_THREAD | CLONE_PTRACE | CLONE_NEWTIME))
/* A positive pid_t (in the 64 bits the kernel is given) has these clear. */
#define JAIL_PID_SIGN_BITS 0xffffffff80000000ull
/* The bits below them. */
#define JAIL_PID_VALUE_BITS 31

static const struct {
	const int *calls;
	size_t count;
} jail_tables[] = {
	[JAIL_ROLE_SPAWNER] = { jail_syscalls_spawner, JAIL_COUNT(jail_syscalls_spawner) },
	[JAIL_ROLE_PREAUTH] = { jail_syscalls_preauth, JAIL_COUNT(jail_syscalls_preauth) },
	[JAIL_ROLE_AUTH] = { jail_syscalls_auth, JAIL_COUNT(jail_syscalls_auth) },
	[JAIL_ROLE_QUEUE] = { jail_syscalls_queue, JAIL_COUNT(jail_syscalls_queue) },
	[JAIL_ROLE_KEYS] = { jail_syscalls_keys, JAIL_COUNT(jail_syscalls_keys) },
	[JAIL_ROLE_WORKER] = { jail_syscalls_worker, JAIL_COUNT(jail_syscalls_worker) },
	[JAIL_ROLE_RESOLVER] = { jail_syscalls_resolver, JAIL_COUNT(jail_syscalls_resolver) },
	[JAIL_ROLE_RELAY] = { jail_syscalls_relay, JAIL_COUNT(jail_syscalls_relay) },
	[JAIL_ROLE_RELAY_CHILD] = { jail_syscalls_relay_child,
				    JAIL_COUNT(jail_syscalls_relay_child) },
	[JAIL_ROLE_SPAM] = { jail_syscalls_spam, JAIL_COUNT(jail_syscalls_spam) },
	[JAIL_ROLE_PARK] = { jail_syscalls_park, JAIL_COUNT(jail_syscalls_park) },
};

/* arg_equal: the comparison "argument index equals value" (every field
 * set, which the SCMP_A<n> macros leave to the compiler). */
static struct scmp_arg_cmp arg_equal(unsigned index, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){ .arg = index, .op = SCMP_CMP_EQ, .datum_a = value,
				      .datum_b = 0 };
}

/* rule adds one conditional allow rule; 0 or a negative errno. */
static int rule(scmp_filter_ctx ctx, int nr, unsigned count, const struct scmp_arg_cmp *args)
{
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, count, args);
}

/* allow_one_pid allows call nr when its first argument is a pid_t from 1
 * up: one rule per position of the highest bit set, since a rule can test
 * an argument only once (sign bits and bits above clear, that bit set).
 * Returns 0 or a negative errno. */
static int allow_one_pid(scmp_filter_ctx ctx, int nr)
{
	int rc = 0;
	for (unsigned bit = 0; rc == 0 && bit < JAIL_PID_VALUE_BITS; bit++) {
		uint64_t top = 1ull << bit;
		uint64_t above = ((1ull << JAIL_PID_VALUE_BITS) - 1) & ~((top << 1) - 1);
		struct scmp_arg_cmp one = SCMP_A0(SCMP_CMP_MASKED_EQ,
						  JAIL_PID_SIGN_BITS | above | top, top);
		rc = rule(ctx, nr, 1, &one);
	}
	return rc;
}

/* add_checked allows one pseudo entry's calls with their argument checks;
 * self is this process's pid, taken when the filter is made.  Returns 0 or
 * a negative errno. */
static int add_checked(scmp_filter_ctx ctx, int entry, pid_t self)
{
	int rc = 0;

	switch ((enum jail_checked)entry) {
	case JAIL_MEMORY_NO_EXEC: {
		/* No new executable memory: only code mapped before the jail runs. */
		struct scmp_arg_cmp no_exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
		rc = rule(ctx, SCMP_SYS(mmap), 1, &no_exec);
		if (rc == 0)
			rc = rule(ctx, SCMP_SYS(mprotect), 1, &no_exec);
		break;
	}
	case JAIL_IOCTL_USED: {
		static const unsigned long requests[] = { FIONREAD, TCGETS };
		for (size_t i = 0; rc == 0 && i < JAIL_COUNT(requests); i++) {
			struct scmp_arg_cmp req = arg_equal(1, requests[i]);
			rc = rule(ctx, SCMP_SYS(ioctl), 1, &req);
		}
		break;
	}
	case JAIL_PRCTL_GETTERS: {
		/* And the signal at the parent's death: it concerns only the
		 * caller (a pre-auth process ends with its spawner). */
		static const int options[] = { PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP,
					       PR_SET_PDEATHSIG };
		for (size_t i = 0; rc == 0 && i < JAIL_COUNT(options); i++) {
			struct scmp_arg_cmp opt = arg_equal(0, (scmp_datum_t)options[i]);
			rc = rule(ctx, SCMP_SYS(prctl), 1, &opt);
		}
		break;
	}
	case JAIL_KILL_SELF: {
		struct scmp_arg_cmp me = arg_equal(0, (scmp_datum_t)self);
		rc = rule(ctx, SCMP_SYS(kill), 1, &me);
		if (rc == 0)
			rc = rule(ctx, SCMP_SYS(tgkill), 1, &me);
		break;
	}
	case JAIL_KILL_CHILDREN:
		/* One process, never a group (0) or everyone (-1); Landlock's
		 * signal scope keeps it to processes forked inside the jail. */
		rc = allow_one_pid(ctx, SCMP_SYS(kill));
		if (rc == 0)
			rc = allow_one_pid(ctx, SCMP_SYS(tgkill));
		break;
	case JAIL_CLONE_THREAD: {
		struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ,
						     CLONE_THREAD | JAIL_CLONE_NAMESPACES,
						     CLONE_THREAD);
		rc = rule(ctx, SCMP_SYS(clone), 1, &thread);
		break;
	}
	case JAIL_CLONE_FORK: {
		struct scmp_arg_cmp fork = SCMP_A0(SCMP_CMP_MASKED_EQ,
						   JAIL_CLONE_SHARING | JAIL_CLONE_NAMESPACES, 0);
		rc = rule(ctx, SCMP_SYS(clone), 1, &fork);
		break;
	}
	case JAIL_SOCKETPAIR_UNIX: {
		struct scmp_arg_cmp local = arg_equal(0, AF_UNIX);
		rc = rule(ctx, SCMP_SYS(socketpair), 1, &local);
		break;
	}
	case JAIL_SOCKET_INET: {
		static const int families[] = { AF_INET, AF_INET6 };
		for (size_t i = 0; rc == 0 && i < JAIL_COUNT(families); i++) {
			struct scmp_arg_cmp family = arg_equal(0, (scmp_datum_t)families[i]);
			rc = rule(ctx, SCMP_SYS(socket), 1, &family);
		}
		break;
	}
	case JAIL_CHECKED_END:
		rc = -EINVAL;
		break;
	}
	return rc;
}

/* build fills ctx with role's table and the fatal calls; 0 or a negative
 * errno. */
static int build(scmp_filter_ctx ctx, enum jail_role role, pid_t self)
{
	int rc = 0;

	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
	 * the C library fall back to clone, whose flags are checked. */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	for (size_t i = 0; rc == 0 && i < JAIL_COUNT(jail_syscalls_fatal); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, jail_syscalls_fatal[i], 0);
	for (size_t i = 0; rc == 0 && i < jail_tables[role].count; i++) {
		int entry = jail_tables[role].calls[i];
		if (entry >= JAIL_CHECKED)
			rc = add_checked(ctx, entry, self);
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, entry, 0);
	}
	return rc;
}

/* jail_seccomp_enter: see jail-private.h. */
int jail_seccomp_enter(const struct jail *jail)
{
	if (jail->role == JAIL_ROLE_MASTER)
		return 0;
	if ((size_t)jail->role >= JAIL_COUNT(jail_tables) || jail_tables[jail->role].calls == NULL) {
		log_error("%s: no system call table for role %d", jail->name, (int)jail->role);
		return -1;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL) {
		log_error("%s: seccomp_init() failed", jail->name);
		return -1;
	}
	int rc = build(ctx, jail->role, getpid());
	/* Every thread, should a library have started one before the jail. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* no_new_privs is set already (jail_enter, or the parent's jail). */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		log_error("%s: installing the seccomp allow-list for %s failed: %m", jail->name,
			  jail_role_name(jail->role));
		return -1;
	}
	return 1;
}

/* A "this process" pid in a filter made before the process exists: it is
 * replaced by the real pid when the filter is installed.  No other
 * constant of any table has this value (numbers of calls, ioctls, flags
 * and address families are all far smaller). */
#define JAIL_SELF_PLACEHOLDER 0x5eccf00du
/* Instructions a prepared filter may have (the largest table is a few
 * hundred). */
#define JAIL_MAX_FILTER 4096
/* Instructions of a prepared filter a child copies onto its stack to put
 * its pid in (the pre-auth table's program is about 130): a frame sized
 * for JAIL_MAX_FILTER reached 32 KB down the stack of every pre-auth
 * process, a page fault per connection.  A longer program is not kept:
 * the child builds its filter itself. */
#define JAIL_MAX_INSTALL 512

/* Filters prepared by a parent for the children it will fork. */
static struct {
	struct sock_filter *prog;
	unsigned short len;
} prepared[JAIL_COUNT(jail_tables)];

/* jail_seccomp_prepare: see jail-private.h. */
int jail_seccomp_prepare(enum jail_role role)
{
	int pipefd[2] = { -1, -1 };
	int rc = -EINVAL;
	scmp_filter_ctx ctx = NULL;
	struct sock_filter *prog = NULL;

	if ((size_t)role >= JAIL_COUNT(jail_tables) || jail_tables[role].calls == NULL)
		return -1;
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	prog = calloc(JAIL_MAX_FILTER, sizeof(*prog));
	if (ctx == NULL || prog == NULL || pipe2(pipefd, O_CLOEXEC) < 0)
		goto out;
	rc = build(ctx, role, (pid_t)JAIL_SELF_PLACEHOLDER);
	if (rc == 0)
		rc = seccomp_export_bpf(ctx, pipefd[1]);
	close(pipefd[1]);
	pipefd[1] = -1;
	size_t got = 0;
	ssize_t n;
	while (rc == 0 && got < JAIL_MAX_FILTER * sizeof(*prog) &&
	       (n = read(pipefd[0], (char *)prog + got, JAIL_MAX_FILTER * sizeof(*prog) - got)) > 0)
		got += (size_t)n;
	if (rc == 0 && (got == 0 || got % sizeof(*prog) != 0 ||
			got == JAIL_MAX_FILTER * sizeof(*prog)))
		rc = -EINVAL;
	if (rc == 0) {
		free(prepared[role].prog);
		prepared[role].prog = NULL;
		prepared[role].len = 0;
		if (got / sizeof(*prog) > JAIL_MAX_INSTALL) {
			log_info("the %s allow-list has %zu instructions: each child builds its own",
				 jail_role_name(role), got / sizeof(*prog));
		} else {
			prepared[role].prog = prog;
			prepared[role].len = (unsigned short)(got / sizeof(*prog));
			prog = NULL;
		}
	}
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	free(prog);
	if (ctx != NULL)
		seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		log_error("preparing the %s allow-list failed: %m", jail_role_name(role));
		return -1;
	}
	return 0;
}

/* jail_seccomp_install_prepared: see jail-private.h. */
int jail_seccomp_install_prepared(enum jail_role role)
{
	if ((size_t)role >= JAIL_COUNT(jail_tables) || prepared[role].prog == NULL)
		return 0;
	unsigned short len = prepared[role].len;
	struct sock_filter prog[JAIL_MAX_INSTALL];
	if (len > JAIL_MAX_INSTALL)
		return 0;
	memcpy(prog, prepared[role].prog, len * sizeof(prog[0]));
	pid_t self = getpid();
	for (unsigned short i = 0; i < len; i++)
		if (prog[i].k == JAIL_SELF_PLACEHOLDER)
			prog[i].k = (uint32_t)self;
	struct sock_fprog fprog = { .len = len, .filter = prog };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0) {
		log_error("installing the prepared %s allow-list failed: %m", jail_role_name(role));
		return -1;
	}
	return 1;
}
