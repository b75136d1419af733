/* io: blocking file I/O that finishes what it starts (see io.h). */
#include "io.h"

#include <errno.h>
#include <unistd.h>

int io_write_all(int fd, const void *p, size_t len)
{
	const char *at = p;
	while (len > 0) {
		ssize_t n = write(fd, at, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

int io_writev_all(int fd, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		if (io_write_all(fd, iov[i].iov_base, iov[i].iov_len) < 0)
			return -1;
	return 0;
}

ssize_t io_pread_full(int fd, void *dst, size_t n, uint64_t off)
{
	char *at = dst;
	size_t done = 0;
	if (n > INT64_MAX || off > (uint64_t)INT64_MAX - n) {
		errno = EOVERFLOW;
		return -1;
	}
	while (done < n) {
		ssize_t r = pread(fd, at + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int io_pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	const char *at = p;
	if (len > INT64_MAX || off > (uint64_t)INT64_MAX - len) {
		errno = EOVERFLOW;
		return -1;
	}
	while (len > 0) {
		ssize_t n = pwrite(fd, at, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		at += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}
