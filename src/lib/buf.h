#ifndef RAVELIN_BUF_H
#define RAVELIN_BUF_H
/*
 * buf: a growable byte buffer with a hard maximum.  Every buffer that holds
 * bytes from outside is created with the limit that applies to it; an append
 * past that limit fails (returns -1, errno = ENOBUFS) and leaves the buffer
 * as it was, so callers turn "too big" into a protocol error, never into
 * unbounded memory.  data is always NUL-terminated (not counted in len).
 */
#include <stdarg.h>
#include <stddef.h>

#include "str.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

/* buf_init prepares an empty buffer that may grow to at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* buf_free releases the memory; the buffer may be initialised again. */
void buf_free(struct buf *b);
void buf_reset(struct buf *b);

int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, struct str s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* buf_reserve makes room for n more bytes (for direct writes into data+len). */
int buf_reserve(struct buf *b, size_t n);
/* buf_consume drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

static inline struct str buf_str(const struct buf *b)
{
	return str_from(b->data ? b->data : "", b->len);
}

#endif
