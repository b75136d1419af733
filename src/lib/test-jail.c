/* Unit tests for jail: a jailed process opens only what it was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/jail.h"

/* run_jailed forks, jails the child with paths and reports what it could
 * open as a bit set: 1 = inside (read), 2 = inside (create), 4 = outside,
 * 8 = truncate outside. */
static int run_jailed(const char *inside, const char *outside, bool give_inside)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct jail j = { .name = "test", .path_count = give_inside ? 1 : 0,
				  .paths = { { inside, true } }, .no_new_connections = true };
		if (jail_enter(&j) < 0)
			_exit(100);
		int bits = 0;
		char path[256];
		snprintf(path, sizeof(path), "%s/existing", inside);
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			bits |= 1;
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/new", inside);
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		if (fd >= 0) {
			bits |= 2;
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/existing", outside);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			bits |= 4;
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/existing", outside);
		if (truncate(path, 0) == 0)
			bits |= 8;
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(101);
		/* seccomp: no new sockets, no programs; socketpair still works. */
		errno = 0;
		if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM)
			_exit(102);
		char *argv[] = { (char *)"true", NULL };
		errno = 0;
		if (execv("/bin/true", argv) == 0 || errno != EPERM)
			_exit(103);
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			_exit(104);
		_exit(bits);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void make_dir_with_file(char *dir)
{
	char path[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/existing", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static void test_confinement(void **state)
{
	char a[] = "/tmp/ravelin-jail-a-XXXXXX";
	char b[] = "/tmp/ravelin-jail-b-XXXXXX";
	(void)state;
	make_dir_with_file(a);
	make_dir_with_file(b);
	if (jail_landlock_abi() == 0) {
		/* Without Landlock only no_new_privs can be checked. */
		assert_int_equal(run_jailed(a, b, true), 15);
		skip();
	}
	/* Before ABI 3 Landlock cannot refuse truncate(2). */
	int truncate_outside = jail_landlock_abi() < 3 ? 8 : 0;
	/* A worker: its own directory, nothing else. */
	assert_int_equal(run_jailed(a, b, true), 1 | 2 | truncate_outside);
	/* A front: no file at all. */
	assert_int_equal(run_jailed(a, b, false), truncate_outside);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confinement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
