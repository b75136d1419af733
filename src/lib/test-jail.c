/* Unit tests for jail: a jailed process opens only what it was given and
 * makes only the system calls its role's table allows.  Each test forks a
 * child that jails itself, tries things, and exits with 0 when every
 * attempt went as it should, or with the number of the first that did not
 * (so a failure names the check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/jail-private.h"
#include "lib/jail.h"
#include "lib/log.h"

/* What run_jailed returns when jail_enter itself failed. */
#define JAILED_ENTER_FAILED 100
/* What run_jailed returns for a child killed by signal s: this plus s. */
#define JAILED_KILLED 128
/* The first Landlock ABI with each right (the kernel's numbering). */
#define ABI_TRUNCATE 3
#define ABI_NET 4
#define ABI_SCOPE 6
/* The length the files made by make_dir_with_file have. */
#define FILE_BYTES 5

/* Every role with a filter, for the checks that hold for all of them. */
static const enum jail_role jailed_roles[] = {
	JAIL_ROLE_SPAWNER, JAIL_ROLE_PREAUTH, JAIL_ROLE_AUTH,
	JAIL_ROLE_QUEUE, JAIL_ROLE_KEYS,    JAIL_ROLE_WORKER,
};
#define ROLE_COUNT (sizeof(jailed_roles) / sizeof(jailed_roles[0]))

/* The two directories each test works in: a is given, b is not. */
static char dir_a[64], dir_b[64];
/* A process outside every jail, for the kill test (teardown ends it). */
static pid_t sibling = -1;

typedef int probe_fn(void *arg);

/* run_jailed forks a child, jails it in role with dir_a (if given: read-
 * write or read-only) and returns what probe returned in it, or
 * JAILED_KILLED + the signal that killed it. */
static int run_jailed(enum jail_role role, int give_a, bool writable, probe_fn *probe, void *arg)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct jail j = { .name = "test", .path_count = give_a ? 1 : 0,
				  .paths = { { dir_a, writable } }, .role = role };
		if (jail_enter(&j) < 0)
			_exit(JAILED_ENTER_FAILED);
		_exit(probe(arg));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return JAILED_KILLED + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* path_in writes dir/name into out (static, one at a time). */
static const char *path_in(const char *dir, const char *name)
{
	static char out[2][128];
	static int which;
	which ^= 1;
	snprintf(out[which], sizeof(out[which]), "%s/%s", dir, name);
	return out[which];
}

/* failed_with: the call returned -1 with errno e. */
static bool failed_with(long rc, int e)
{
	return rc == -1 && errno == e;
}

static void make_dir_with_file(char *dir, size_t size, const char *template)
{
	snprintf(dir, size, "%s", template);
	assert_non_null(mkdtemp(dir));
	FILE *f = fopen(path_in(dir, "existing"), "w");
	assert_non_null(f);
	assert_int_equal(fwrite("hello", 1, FILE_BYTES, f), FILE_BYTES);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	make_dir_with_file(dir_a, sizeof(dir_a), "/tmp/ravelin-jail-a-XXXXXX");
	make_dir_with_file(dir_b, sizeof(dir_b), "/tmp/ravelin-jail-b-XXXXXX");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (sibling > 0) {
		kill(sibling, SIGKILL);
		waitpid(sibling, NULL, 0);
		sibling = -1;
	}
	unlink(path_in(dir_a, "existing"));
	unlink(path_in(dir_a, "new"));
	unlink(path_in(dir_b, "existing"));
	rmdir(dir_a);
	rmdir(dir_b);
	return 0;
}

/* probe_files: 1 = read inside, 2 = create inside, 4 = read outside, as a
 * bit set (and 64 if no_new_privs was not set). */
static int probe_files(void *arg)
{
	int bits = 0;
	(void)arg;
	int fd = open(path_in(dir_a, "existing"), O_RDONLY);
	if (fd >= 0) {
		bits |= 1;
		close(fd);
	}
	fd = open(path_in(dir_a, "new"), O_WRONLY | O_CREAT, 0600);
	if (fd >= 0) {
		bits |= 2;
		close(fd);
	}
	fd = open(path_in(dir_b, "existing"), O_RDONLY);
	if (fd >= 0) {
		bits |= 4;
		close(fd);
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		bits |= 64;
	return bits;
}

static void test_confinement(void **state)
{
	(void)state;
	if (jail_landlock_abi() == 0) {
		/* Without Landlock only no_new_privs can be checked. */
		assert_int_equal(run_jailed(JAIL_ROLE_WORKER, 1, true, probe_files, NULL), 7);
		skip();
	}
	/* A worker: its own directory, nothing else. */
	assert_int_equal(run_jailed(JAIL_ROLE_WORKER, 1, true, probe_files, NULL), 1 | 2);
	/* Read-only: read, but no new file. */
	assert_int_equal(run_jailed(JAIL_ROLE_WORKER, 1, false, probe_files, NULL), 1);
	/* A pre-auth process: no file at all. */
	assert_int_equal(run_jailed(JAIL_ROLE_PREAUTH, 0, false, probe_files, NULL), 0);
}

/* probe_io_uring: io_uring_setup must not succeed (the filter kills). */
static int probe_io_uring(void *arg)
{
	struct io_uring_params params;
	(void)arg;
	memset(&params, 0, sizeof(params));
	long fd = syscall(SYS_io_uring_setup, 4, &params);
	return fd >= 0 ? 1 : 2;
}

/* The attack: through io_uring a jailed front opened TCP and packet
 * sockets though socket() was denied.  Now no role gets a ring at all. */
static void test_io_uring_fails(void **state)
{
	(void)state;
	for (size_t i = 0; i < ROLE_COUNT; i++)
		assert_int_equal(run_jailed(jailed_roles[i], 1, true, probe_io_uring, NULL),
				 JAILED_KILLED + SIGSYS);
}

/* probe_sockets: no network endpoint of any family can be made. */
static int probe_sockets(void *arg)
{
	static const int kinds[][2] = {
		{ AF_INET, SOCK_STREAM }, { AF_INET6, SOCK_STREAM }, { AF_INET, SOCK_DGRAM },
		{ AF_PACKET, SOCK_RAW },  { AF_NETLINK, SOCK_RAW },  { AF_UNIX, SOCK_STREAM },
	};
	(void)arg;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		errno = 0;
		if (!failed_with(socket(kinds[i][0], kinds[i][1], 0), EPERM))
			return 1 + (int)i;
	}
	return 0;
}

static void test_no_sockets(void **state)
{
	(void)state;
	for (size_t i = 0; i < ROLE_COUNT; i++)
		assert_int_equal(run_jailed(jailed_roles[i], 0, false, probe_sockets, NULL), 0);
}

/* probe_socketpair: 0 if socketpair(AF_UNIX) worked, 1 if it failed with
 * EPERM; and a socketpair of another family never works. */
static int probe_socketpair(void *arg)
{
	int sv[2];
	(void)arg;
	if (socketpair(AF_INET, SOCK_STREAM, 0, sv) == 0)
		return 10;
	errno = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
		/* FIONREAD is one of the few ioctls allowed; FIONBIO is not. */
		int n = -1, on = 1;
		if (ioctl(sv[0], FIONREAD, &n) < 0 || n != 0)
			return 11;
		if (!failed_with(ioctl(sv[0], FIONBIO, &on), EPERM))
			return 12;
		return 0;
	}
	return errno == EPERM ? 1 : 13;
}

static void test_socketpair(void **state)
{
	(void)state;
	/* The spawner makes links for what it forks; a pre-auth process
	 * makes the stream of a session it relays (TLS 1.2). */
	assert_int_equal(run_jailed(JAIL_ROLE_SPAWNER, 0, false, probe_socketpair, NULL), 0);
	assert_int_equal(run_jailed(JAIL_ROLE_PREAUTH, 0, false, probe_socketpair, NULL), 0);
	/* Nobody else does. */
	assert_int_equal(run_jailed(JAIL_ROLE_WORKER, 1, true, probe_socketpair, NULL), 1);
	assert_int_equal(run_jailed(JAIL_ROLE_KEYS, 0, false, probe_socketpair, NULL), 1);
}

/* probe_modify_outside: truncate and chmod of a file outside dir_a fail;
 * ftruncate inside works, on a descriptor opened now or before the jail
 * (passed as *arg). */
static int probe_modify_outside(void *arg)
{
	int before = *(int *)arg;
	const char *other = path_in(dir_b, "existing");
	if (truncate(other, 0) == 0)
		return 1;
	if (chmod(other, 0666) == 0)
		return 2;
	if (syscall(SYS_fchmodat, AT_FDCWD, other, 0666, 0) == 0)
		return 3;
	if (chown(other, 0, 0) == 0)
		return 4;
	int fd = open(path_in(dir_a, "existing"), O_RDWR);
	if (fd < 0 || ftruncate(fd, 1) < 0)
		return 5;
	close(fd);
	if (ftruncate(before, 2) < 0)
		return 6;
	return 0;
}

/* probe_truncate_landlock: under Landlock alone (no system call filter),
 * truncate outside fails with EACCES and inside (O_TRUNC too) works. */
static int probe_truncate_landlock(void *arg)
{
	(void)arg;
	errno = 0;
	if (!failed_with(truncate(path_in(dir_b, "existing"), 0), EACCES))
		return 1;
	if (truncate(path_in(dir_a, "existing"), 3) < 0)
		return 2;
	int fd = open(path_in(dir_a, "existing"), O_WRONLY | O_TRUNC);
	if (fd < 0)
		return 3;
	close(fd);
	return 0;
}

/* The attack: a worker truncated and chmodded another account's files,
 * because the headers lacked the Landlock truncate right and the filter
 * let chmod through. */
static void test_truncate_chmod_outside(void **state)
{
	struct stat was, st;
	(void)state;
	assert_int_equal(stat(path_in(dir_b, "existing"), &was), 0);
	int before = open(path_in(dir_a, "existing"), O_RDWR);
	assert_true(before >= 0);
	assert_int_equal(run_jailed(JAIL_ROLE_WORKER, 1, true, probe_modify_outside, &before), 0);
	assert_int_equal(run_jailed(JAIL_ROLE_AUTH, 1, true, probe_modify_outside, &before), 0);
	close(before);
	assert_int_equal(stat(path_in(dir_b, "existing"), &st), 0);
	assert_int_equal(st.st_size, FILE_BYTES);
	assert_int_equal(st.st_mode, was.st_mode);
	if (jail_landlock_abi() < ABI_TRUNCATE)
		skip();
	/* Landlock's own truncate right, with no system call filter behind it. */
	assert_int_equal(run_jailed(JAIL_ROLE_MASTER, 1, true, probe_truncate_landlock, NULL), 0);
	assert_int_equal(stat(path_in(dir_b, "existing"), &st), 0);
	assert_int_equal(st.st_size, FILE_BYTES);
}

/* probe_tcp_landlock: under Landlock alone, a TCP socket can be made but
 * neither bound nor connected. */
static int probe_tcp_landlock(void *arg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 1;
	errno = 0;
	if (!failed_with(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), EACCES))
		return 2;
	sin.sin_port = htons(1);
	errno = 0;
	if (!failed_with(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), EACCES))
		return 3;
	close(fd);
	return 0;
}

static void test_tcp_landlock(void **state)
{
	(void)state;
	if (jail_landlock_abi() < ABI_NET)
		skip();
	assert_int_equal(run_jailed(JAIL_ROLE_MASTER, 0, false, probe_tcp_landlock, NULL), 0);
}

/* The resolver's probe: two listening ports, the DNS server's and one
 * that is not. */
struct resolver_ports {
	uint16_t allowed, other;
	int abi;                      /* asked before the jail, which refuses the call */
};

/* probe_resolver: the resolver makes Internet sockets only, and connects
 * TCP only to its DNS server's port (where Landlock has TCP rules). */
static int probe_resolver(void *arg)
{
	const struct resolver_ports *p = arg;
	static const int refused[][2] = {
		{ AF_UNIX, SOCK_STREAM }, { AF_PACKET, SOCK_RAW }, { AF_NETLINK, SOCK_RAW },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		errno = 0;
		if (!failed_with(socket(refused[i][0], refused[i][1], 0), EPERM))
			return 1 + (int)i;
	}
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	if (udp < 0)
		return 10;
	close(udp);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(p->allowed),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return 11;
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_port = htons(p->other);
	errno = 0;
	int rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	if (p->abi >= ABI_NET ? !failed_with(rc, EACCES) : rc < 0)
		return 12;
	close(fd);
	return 0;
}

/* listen_loopback opens a TCP listener on 127.0.0.1 and gives its port. */
static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void test_resolver_network(void **state)
{
	struct resolver_ports ports;
	(void)state;
	int a = listen_loopback(&ports.allowed);
	int b = listen_loopback(&ports.other);
	ports.abi = jail_landlock_abi();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct jail j = { .name = "test", .role = JAIL_ROLE_RESOLVER,
				  .connect_ports = { ports.allowed },
				  .connect_port_count = 1 };
		if (jail_enter(&j) < 0)
			_exit(JAILED_ENTER_FAILED);
		_exit(probe_resolver(&ports));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(a);
	close(b);
}

/* probe_exec: no role runs a program. */
static int probe_exec(void *arg)
{
	char *argv[] = { (char *)"true", NULL };
	(void)arg;
	errno = 0;
	if (!failed_with(execv("/bin/true", argv), EPERM))
		return 1;
	/* Nor maps new code. */
	errno = 0;
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED || errno != EPERM)
		return 2;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 3;
	if (!failed_with(mprotect(p, 4096, PROT_READ | PROT_EXEC), EPERM))
		return 4;
	munmap(p, 4096);
	return 0;
}

static void test_exec_fails(void **state)
{
	(void)state;
	for (size_t i = 0; i < ROLE_COUNT; i++)
		assert_int_equal(run_jailed(jailed_roles[i], 1, true, probe_exec, NULL), 0);
}

/* probe_kill: the sibling (*arg) cannot be signalled; this process can. */
static int probe_kill(void *arg)
{
	pid_t other = *(pid_t *)arg;
	errno = 0;
	if (!failed_with(kill(other, SIGTERM), EPERM))
		return 1;
	if (kill(getpid(), 0) < 0)
		return 2;
	return 0;
}

/* probe_kill_child: a process forked inside the jail can be signalled. */
static int probe_kill_child(void *arg)
{
	int status;
	(void)arg;
	pid_t child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		for (;;)
			sleep(1);
	}
	if (kill(child, SIGKILL) < 0)
		return 2;
	if (waitpid(child, &status, 0) != child || !WIFSIGNALED(status))
		return 3;
	/* Never a whole group. */
	if (!failed_with(kill(0, 0), EPERM) || !failed_with(kill(-1, 0), EPERM))
		return 4;
	return 0;
}

/* A sibling forked first stands for any process outside the jail (master,
 * another account's worker). */
static void test_kill_other_process(void **state)
{
	int status;
	(void)state;
	sibling = fork();
	assert_true(sibling >= 0);
	if (sibling == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(run_jailed(JAIL_ROLE_WORKER, 1, true, probe_kill, &sibling), 0);
	assert_int_equal(run_jailed(JAIL_ROLE_PREAUTH, 0, false, probe_kill, &sibling), 0);
	assert_int_equal(run_jailed(JAIL_ROLE_SPAWNER, 0, false, probe_kill_child, NULL), 0);
	/* The spawner may kill its children: only Landlock keeps it from others. */
	if (jail_landlock_abi() >= ABI_SCOPE)
		assert_int_equal(run_jailed(JAIL_ROLE_SPAWNER, 0, false, probe_kill, &sibling), 0);
	assert_int_equal(waitpid(sibling, &status, WNOHANG), 0);
}

/* thread_main: what the auth checker thread does, in short. */
static void *thread_main(void *arg)
{
	return arg;
}

/* probe_threads: *arg says whether threads are allowed; fork never is. */
static int probe_threads(void *arg)
{
	bool threads = *(bool *)arg;
	pthread_t t;
	void *out = NULL;
	int rc = pthread_create(&t, NULL, thread_main, &out);
	if (threads && (rc != 0 || pthread_join(t, &out) != 0 || out != &out))
		return 1;
	if (!threads && rc == 0)
		return 2;
	errno = 0;
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	return child < 0 && errno == EPERM ? 0 : 3;
}

static void test_threads_and_fork(void **state)
{
	bool yes = true, no = false;
	(void)state;
	assert_int_equal(run_jailed(JAIL_ROLE_AUTH, 1, true, probe_threads, &yes), 0);
	assert_int_equal(run_jailed(JAIL_ROLE_WORKER, 1, true, probe_threads, &yes), 0); /* its sync thread */
	assert_int_equal(run_jailed(JAIL_ROLE_PREAUTH, 0, false, probe_threads, &no), 0);
}

/* probe_spawned: in a spawner's jail, fork a child that installs the
 * pre-auth table the spawner prepared, and report what the child could do:
 * its own signals yes, its parent's and new sockets no, a socketpair yes,
 * accept (the spawner's) no. */
static int probe_spawned(void *arg)
{
	/* arg non-NULL: the prepared program itself must be installed (it
	 * fits JAIL_MAX_INSTALL), not one the child builds. */
	bool prepared_only = arg != NULL;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return 20;
	if (pid == 0) {
		struct jail j = { .name = "spawned", .role = JAIL_ROLE_PREAUTH };
		int sv[2];
		if (prepared_only ? jail_seccomp_install_prepared(JAIL_ROLE_PREAUTH) != 1
				  : jail_narrow(&j) < 0)
			_exit(21);
		if (kill(getpid(), 0) != 0)
			_exit(22);
		if (!failed_with(kill(parent, 0), EPERM))
			_exit(23);
		if (!failed_with(socket(AF_INET, SOCK_STREAM, 0), EPERM))
			_exit(24);
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			_exit(25);
		if (!failed_with(accept4(sv[0], NULL, NULL, 0), EPERM))
			_exit(26);
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return 27;
	if (WIFSIGNALED(status))
		return 40 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 28;
}

/* A spawner prepares the pre-auth table once; each pre-auth process forked
 * from it installs it (with its own pid where it says "this process"). */
static void check_prepared_preauth_filter(bool prepared_only)
{
	static int yes = 1;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct jail j = { .name = "spawner", .role = JAIL_ROLE_SPAWNER };
		if (jail_prepare(JAIL_ROLE_PREAUTH) < 0 || jail_enter(&j) < 0)
			_exit(JAILED_ENTER_FAILED);
		_exit(probe_spawned(prepared_only ? &yes : NULL));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_prepared_preauth_filter(void **state)
{
	(void)state;
	check_prepared_preauth_filter(false);
}

/* The pre-auth program is short enough to be installed from the copy the
 * spawner made (a bounded frame on the child's stack), and it confines
 * the child as the one it would build. */
static void test_prepared_preauth_filter_installed_as_made(void **state)
{
	(void)state;
	check_prepared_preauth_filter(true);
}

/* A uid no account or user has, for the test of dropping ids. */
#define TEST_UID 2000000099

/* probe_ids: the ids are the ones given, for good, with no groups and a
 * umask that keeps new files private. */
static int probe_ids(void *arg)
{
	(void)arg;
	if (getuid() != TEST_UID || geteuid() != TEST_UID || getgid() != TEST_UID)
		return 1;
	if (getgroups(0, NULL) != 0)
		return 2;
	if (setuid(0) == 0 || setgid(0) == 0)
		return 3;
	if (umask(0) != 077)
		return 4;
	return 0;
}

/* test_drop_ids: as root, a jail with ids runs as exactly those (skipped
 * when not root: there is nothing to drop). */
static void test_drop_ids(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gid_t some = 4;
		setgroups(1, &some);
		/* The role without a system call filter, so that the probe's
		 * setuid(0) is refused by the kernel's ids, not by seccomp. */
		struct jail j = { .name = "test", .role = JAIL_ROLE_MASTER,
				  .ids = { true, TEST_UID, TEST_UID } };
		if (jail_enter(&j) < 0)
			_exit(JAILED_ENTER_FAILED);
		_exit(probe_ids(NULL));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepared_preauth_filter),
		cmocka_unit_test(test_prepared_preauth_filter_installed_as_made),
		cmocka_unit_test_setup_teardown(test_confinement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_uring_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_sockets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socketpair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_chmod_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_landlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_other_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_and_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolver_network, setup, teardown),
	};
	/* One start-up line per jailed child would drown the report. */
	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
