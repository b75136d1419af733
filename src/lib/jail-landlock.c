/* jail-landlock: file, TCP and signal confinement with every right the
 * running kernel knows (see jail.h).
 *
 * The build machine's <linux/landlock.h> may be older than the kernel the
 * program runs on (Debian 12's is 6.1: ABI 2), and an #ifdef on a right
 * would silently drop it even where the kernel enforces it.  So the rights
 * after ABI 1 and the ruleset attribute are defined here, with the values
 * of the kernel's include/uapi/linux/landlock.h, and chosen by the ABI the
 * kernel reports at run time. */
#include "jail-private.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* ABI 2: rename and link across directories (refused outright in ABI 1). */
#define JAIL_LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
/* ABI 3: truncate(2), open(O_TRUNC), ftruncate on what was so opened. */
#define JAIL_LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
/* ABI 5: ioctl(2) on character and block devices opened after the jail. */
#define JAIL_LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
/* ABI 4: bind(2) and connect(2) of TCP sockets. */
#define JAIL_LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define JAIL_LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
/* ABI 4: the rule type naming a TCP port (LANDLOCK_RULE_NET_PORT). */
#define JAIL_LANDLOCK_RULE_NET_PORT 2
/* ABI 6: abstract unix sockets and signals reach only the same domain. */
#define JAIL_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define JAIL_LANDLOCK_SCOPE_SIGNAL (1ULL << 1)

/* The first ABI that knows each of them. */
#define JAIL_LANDLOCK_ABI_REFER 2
#define JAIL_LANDLOCK_ABI_TRUNCATE 3
#define JAIL_LANDLOCK_ABI_NET 4
#define JAIL_LANDLOCK_ABI_IOCTL_DEV 5
#define JAIL_LANDLOCK_ABI_SCOPE 6

#ifdef LANDLOCK_ACCESS_FS_REFER
_Static_assert(LANDLOCK_ACCESS_FS_REFER == JAIL_LANDLOCK_ACCESS_FS_REFER, "uapi value");
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
_Static_assert(LANDLOCK_ACCESS_FS_TRUNCATE == JAIL_LANDLOCK_ACCESS_FS_TRUNCATE, "uapi value");
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
_Static_assert(LANDLOCK_ACCESS_FS_IOCTL_DEV == JAIL_LANDLOCK_ACCESS_FS_IOCTL_DEV, "uapi value");
#endif
#ifdef LANDLOCK_SCOPE_SIGNAL
_Static_assert(LANDLOCK_SCOPE_SIGNAL == JAIL_LANDLOCK_SCOPE_SIGNAL, "uapi value");
#endif

/* The ABI 1 file rights (in every header that has Landlock at all). */
#define JAIL_LANDLOCK_FS_ABI1                                                                 \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                         \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |                         \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                     \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |                         \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                         \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                       \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)
/* What a read-only path grants. */
#define JAIL_LANDLOCK_FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* What no path grants, writable or not: running programs, making device
 * nodes, ioctl on devices. */
#define JAIL_LANDLOCK_FS_NEVER                                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |                          \
	 LANDLOCK_ACCESS_FS_MAKE_BLOCK | JAIL_LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* The kernel's struct landlock_ruleset_attr as of ABI 6; older kernels are
 * given the prefix they know (jail_landlock_attr_size). */
struct jail_landlock_ruleset_attr {
	__u64 handled_access_fs;
	__u64 handled_access_net;
	__u64 scoped;
};

/* jail_landlock_abi asks the kernel; 0 when it has no Landlock (or it is
 * switched off at boot). */
int jail_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

/* handled_fs: the file rights ABI abi knows, all of them denied unless a
 * path grants them. */
static uint64_t handled_fs(int abi)
{
	uint64_t r = JAIL_LANDLOCK_FS_ABI1;
	if (abi >= JAIL_LANDLOCK_ABI_REFER)
		r |= JAIL_LANDLOCK_ACCESS_FS_REFER;
	if (abi >= JAIL_LANDLOCK_ABI_TRUNCATE)
		r |= JAIL_LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= JAIL_LANDLOCK_ABI_IOCTL_DEV)
		r |= JAIL_LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* handled_net: TCP bind and connect where the ABI knows them; no rule
 * grants bind, and connect only to a jail's ports (add_ports: the
 * resolver's DNS server, a relay's port 25 and smarthost, rspamd's two). */
static uint64_t handled_net(int abi)
{
	return abi >= JAIL_LANDLOCK_ABI_NET
		       ? JAIL_LANDLOCK_ACCESS_NET_BIND_TCP | JAIL_LANDLOCK_ACCESS_NET_CONNECT_TCP
		       : 0;
}

/* scoped: signals and abstract unix sockets stay inside the domain (a
 * jailed process and what it forks after). */
static uint64_t scoped(int abi)
{
	return abi >= JAIL_LANDLOCK_ABI_SCOPE
		       ? JAIL_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | JAIL_LANDLOCK_SCOPE_SIGNAL
		       : 0;
}

/* jail_landlock_attr_size: how much of the attribute ABI abi reads; a
 * kernel refuses fields it does not know unless they are zero, and the
 * size says which it should look at. */
static size_t jail_landlock_attr_size(int abi)
{
	if (abi >= JAIL_LANDLOCK_ABI_SCOPE)
		return sizeof(struct jail_landlock_ruleset_attr);
	if (abi >= JAIL_LANDLOCK_ABI_NET)
		return offsetof(struct jail_landlock_ruleset_attr, scoped);
	return offsetof(struct jail_landlock_ruleset_attr, handled_access_net);
}

/* jail_landlock_describe: see jail-private.h.  The parts an older kernel
 * cannot restrict are named, so an administrator sees the gap. */
void jail_landlock_describe(int abi, char *summary, size_t size)
{
	static const struct {
		int abi;
		const char *what;
	} parts[] = {
		{ 1, "files" },
		{ JAIL_LANDLOCK_ABI_TRUNCATE, "truncate" },
		{ JAIL_LANDLOCK_ABI_IOCTL_DEV, "ioctl" },
		{ JAIL_LANDLOCK_ABI_NET, "tcp" },
		{ JAIL_LANDLOCK_ABI_SCOPE, "signals scoped" },
	};
	size_t n = 0;
	int len;

	if (abi <= 0) {
		snprintf(summary, size, "landlock ABI 0: no file confinement (kernel lacks Landlock)");
		return;
	}
	len = snprintf(summary, size, "landlock ABI %d:", abi);
	n = len < 0 ? 0 : (size_t)len;
	for (int pass = 0; pass < 2; pass++) {
		const char *sep = pass == 0 ? " " : "; not restricted: ";
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && n < size; i++) {
			if ((abi >= parts[i].abi) != (pass == 0))
				continue;
			len = snprintf(summary + n, size - n, "%s%s", sep, parts[i].what);
			n += len < 0 ? 0 : (size_t)len;
			sep = ", ";
		}
	}
}

/* add_path grants one path's rights; 0 or -1 (logged). */
static int add_path(const struct jail *jail, int ruleset, const struct jail_path *p, uint64_t fs)
{
	struct landlock_path_beneath_attr pb = {
		.allowed_access = p->writable ? fs & ~JAIL_LANDLOCK_FS_NEVER : JAIL_LANDLOCK_FS_READ,
	};
	pb.parent_fd = open(p->path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0) {
		log_error("%s: open(%s) failed: %m", jail->name, p->path);
		return -1;
	}
	int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	if (rc < 0)
		log_error("%s: landlock_add_rule(%s) failed: %m", jail->name, p->path);
	close(pb.parent_fd);
	return rc < 0 ? -1 : 0;
}

/* The kernel's struct landlock_net_port_attr (ABI 4). */
struct jail_landlock_net_port_attr {
	__u64 allowed_access;
	__u64 port;
} __attribute__((packed));

/* add_ports allows TCP connect to each of the jail's ports. */
static int add_ports(const struct jail *jail, int ruleset)
{
	for (unsigned i = 0; i < jail->connect_port_count; i++) {
		struct jail_landlock_net_port_attr np = {
			.allowed_access = JAIL_LANDLOCK_ACCESS_NET_CONNECT_TCP,
			.port = jail->connect_ports[i],
		};
		if (syscall(SYS_landlock_add_rule, ruleset, JAIL_LANDLOCK_RULE_NET_PORT, &np, 0) < 0) {
			log_error("%s: landlock_add_rule(port %u) failed: %m", jail->name,
				  (unsigned)np.port);
			return -1;
		}
	}
	return 0;
}

/* jail_landlock_enter: see jail-private.h. */
int jail_landlock_enter(const struct jail *jail, int abi, char *summary, size_t size)
{
	struct jail_landlock_ruleset_attr attr = {
		.handled_access_fs = handled_fs(abi),
		.handled_access_net = handled_net(abi),
		.scoped = scoped(abi),
	};

	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, jail_landlock_attr_size(abi), 0);
	if (rs < 0) {
		log_error("%s: landlock_create_ruleset(ABI %d) failed: %m", jail->name, abi);
		return -1;
	}
	for (unsigned i = 0; i < jail->path_count; i++) {
		if (add_path(jail, rs, &jail->paths[i], attr.handled_access_fs) < 0) {
			close(rs);
			return -1;
		}
	}
	if (attr.handled_access_net != 0 && add_ports(jail, rs) < 0) {
		close(rs);
		return -1;
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0) {
		log_error("%s: landlock_restrict_self() failed: %m", jail->name);
		close(rs);
		return -1;
	}
	close(rs);
	jail_landlock_describe(abi, summary, size);
	return 0;
}
