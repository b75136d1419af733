#ifndef RAVELIN_IO_H
#define RAVELIN_IO_H
/*
 * io: blocking file I/O that finishes what it starts.  write(2) and
 * pread(2) may do part of the job (a signal, a pipe's capacity); these
 * resume until all is done, the file ends or an error other than EINTR.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* io_write_all writes the len bytes at p to fd.  Returns 0, or -1 with
 * errno. */
int io_write_all(int fd, const void *p, size_t len);
/* io_writev_all writes every byte of the iovcnt buffers of iov to fd, in
 * order.  Returns 0, or -1 with errno. */
int io_writev_all(int fd, const struct iovec *iov, int iovcnt);
/* io_pread_full reads n bytes of fd from offset off into dst.  Returns the
 * bytes read (fewer than n only where the file ends), or -1 with errno
 * (EOVERFLOW when off + n is past what off_t holds). */
ssize_t io_pread_full(int fd, void *dst, size_t n, uint64_t off);
/* io_pwrite_all writes the len bytes at p to fd at offset off.  Returns
 * 0, or -1 with errno (EOVERFLOW as io_pread_full). */
int io_pwrite_all(int fd, const void *p, size_t len, uint64_t off);

#endif
