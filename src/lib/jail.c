/* jail: drop privileges, no_new_privs, Landlock (see jail.h). */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail-private.h"
#include "log.h"

/* Room for the Landlock part of the start-up line. */
#define JAIL_SUMMARY_MAX 160

/* The calls a confined process never needs: new endpoints, new programs,
 * other processes' memory, kernel interfaces that widen the attack surface. */
static const int denied_syscalls[] = {
	SYS_socket, SYS_connect, SYS_bind, SYS_listen, SYS_execve, SYS_execveat,
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_mount, SYS_umount2,
	SYS_pivot_root, SYS_chroot, SYS_bpf, SYS_perf_event_open, SYS_userfaultfd,
	SYS_keyctl, SYS_add_key, SYS_request_key, SYS_kexec_load, SYS_init_module,
	SYS_finit_module, SYS_delete_module, SYS_unshare, SYS_setns, SYS_personality,
};

#define DENIED_COUNT (sizeof(denied_syscalls) / sizeof(denied_syscalls[0]))

#if defined(__x86_64__)
#define JAIL_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define JAIL_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
/* On x86-64, numbers with this bit are the x32 ABI: a way around a filter
 * written for the 64-bit numbers, so they are denied whole. */
#define JAIL_X32_SYSCALL_BIT 0x40000000u

static int seccomp_enter(const struct jail *jail)
{
#ifndef JAIL_AUDIT_ARCH
	log_warn("%s: no seccomp filter for this architecture", jail->name);
	return 0;
#else
	/* Check the architecture, load the number, refuse x32 numbers, one test
	 * per denied call, allow, deny (EPERM); kill on a foreign architecture. */
	struct sock_filter prog[5 + DENIED_COUNT + 2];
	unsigned n = 0;

	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, arch));
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, JAIL_AUDIT_ARCH, 1, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, nr));
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, JAIL_X32_SYSCALL_BIT,
						 (unsigned char)(DENIED_COUNT + 1), 0);
	for (unsigned i = 0; i < DENIED_COUNT; i++) {
		/* Equal: jump to the deny at the end; else go on. */
		unsigned to_deny = (unsigned)(DENIED_COUNT - i);
		prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							 (unsigned)denied_syscalls[i],
							 (unsigned char)to_deny, 0);
	}
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0) {
		log_error("%s: installing the seccomp filter failed: %m", jail->name);
		return -1;
	}
	return 0;
#endif
}

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
	if (jail->no_new_connections && seccomp_enter(jail) < 0)
		return -1;
	log_info("%s: %s", jail->name, landlock);
	return 0;
}
