#ifndef RAVELIN_POOL_H
#define RAVELIN_POOL_H
/*
 * pool: memory with one lifetime (a connection, a command, a message).
 * Allocations are never freed one by one; pool_free releases them all.
 * A pool has a hard maximum of bytes it will hand out, so a parser that
 * allocates from a pool cannot be driven into unbounded memory.
 */
#include <stddef.h>

#include "str.h"

struct pool;

/* pool_new returns a pool that hands out at most max bytes, or NULL. */
struct pool *pool_new(size_t max);
/* pool_free releases every allocation and sets *pool to NULL. */
void pool_free(struct pool **pool);
/* pool_wipe zeroes every byte handed out so far (a pool that held a
 * secret, before pool_free); the allocations stay valid.  NULL is ignored. */
void pool_wipe(struct pool *pool);
/* pool_alloc returns zeroed memory aligned for any type, or NULL when the
 * pool's maximum would be passed (or memory is exhausted). */
void *pool_alloc(struct pool *pool, size_t n);
/* pool_strndup copies s and NUL-terminates the copy. */
char *pool_strndup(struct pool *pool, const char *s, size_t n);
/* pool_str copies s into the pool and returns a view of the copy. */
struct str pool_str(struct pool *pool, struct str s);

#endif
