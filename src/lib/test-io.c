/* Unit tests for io: whole writes and full reads, through a pipe whose
 * capacity forces short writes and a file that ends early. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/io.h"

/* More than a pipe holds (64 KiB by default), so write() comes back short
 * or blocks until the reader has taken some. */
#define BIG (1024 * 1024)

/* drain reads fd to its end and exits 0 when it saw want bytes summing
 * to sum, 1 otherwise (run in a child, so the parent's writes block). */
static void drain(int fd, size_t want, unsigned char sum)
{
	char chunk[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			sum = (unsigned char)(sum - (unsigned char)chunk[i]);
		got += (size_t)n;
	}
	_exit(got == want && sum == 0 ? 0 : 1);
}

static void test_write_all(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	char *data = malloc(BIG);
	assert_non_null(data);
	unsigned char sum = 0;
	for (size_t i = 0; i < BIG; i++) {
		data[i] = (char)(i * 7);
		sum = (unsigned char)(sum + (unsigned char)data[i]);
	}
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[1]);
		drain(p[0], 2 * (size_t)BIG, (unsigned char)(2 * sum));
	}
	close(p[0]);
	struct iovec iov[2] = { { data, BIG / 3 }, { data + BIG / 3, BIG - BIG / 3 } };
	assert_int_equal(io_write_all(p[1], data, BIG), 0);
	assert_int_equal(io_writev_all(p[1], iov, 2), 0);
	assert_int_equal(io_write_all(p[1], data, 0), 0);
	close(p[1]);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(io_write_all(-1, data, 1), -1);
	assert_int_equal(errno, EBADF);
	free(data);
}

static void test_pread_full(void **state)
{
	(void)state;
	char path[] = "/tmp/test-io-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(io_write_all(fd, "0123456789", 10), 0);
	char got[16];
	assert_int_equal(io_pread_full(fd, got, 4, 3), 4);
	assert_memory_equal(got, "3456", 4);
	/* The file ends: fewer bytes than asked, no error. */
	assert_int_equal(io_pread_full(fd, got, 16, 6), 4);
	assert_memory_equal(got, "6789", 4);
	assert_int_equal(io_pread_full(fd, got, 4, 10), 0);
	assert_int_equal(io_pread_full(fd, got, 4, UINT64_MAX - 1), -1);
	assert_int_equal(errno, EOVERFLOW);
	close(fd);
	assert_int_equal(io_pread_full(fd, got, 4, 0), -1);
	assert_int_equal(errno, EBADF);
}

static void test_pwrite_all(void **state)
{
	(void)state;
	char path[] = "/tmp/test-io-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(io_write_all(fd, "0123456789", 10), 0);
	assert_int_equal(io_pwrite_all(fd, "ab", 2, 3), 0);
	/* Past the end: the file grows; the offset of write() is untouched. */
	assert_int_equal(io_pwrite_all(fd, "XY", 2, 10), 0);
	char got[16];
	assert_int_equal(io_pread_full(fd, got, 16, 0), 12);
	assert_memory_equal(got, "012ab56789XY", 12);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 10);
	assert_int_equal(io_pwrite_all(fd, "x", 1, UINT64_MAX - 1), -1);
	assert_int_equal(errno, EOVERFLOW);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_pread_full),
		cmocka_unit_test(test_pwrite_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
