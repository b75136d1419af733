/* pool: arena allocator with one lifetime and a hard maximum (see pool.h). */
#include "pool.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Blocks of this size amortise malloc for the many small items of a parse. */
#define POOL_BLOCK_SIZE 8192

struct pool_block {
	struct pool_block *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char mem[];
};

struct pool {
	struct pool_block *blocks;
	size_t max;
	size_t used;
};

struct pool *pool_new(size_t max)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (p != NULL)
		p->max = max;
	return p;
}

void pool_free(struct pool **pool)
{
	if (*pool == NULL)
		return;
	struct pool_block *b = (*pool)->blocks;
	while (b != NULL) {
		struct pool_block *next = b->next;
		free(b);
		b = next;
	}
	free(*pool);
	*pool = NULL;
}

void pool_wipe(struct pool *pool)
{
	if (pool == NULL)
		return;
	for (struct pool_block *b = pool->blocks; b != NULL; b = b->next)
		sodium_memzero(b->mem, b->used);
}

void *pool_alloc(struct pool *pool, size_t n)
{
	const size_t align = alignof(max_align_t);
	size_t size = (n + align - 1) & ~(align - 1);

	if (size < n || size > pool->max - pool->used)
		return NULL;
	struct pool_block *b = pool->blocks;
	if (b == NULL || b->size - b->used < size) {
		size_t bsize = size > POOL_BLOCK_SIZE ? size : POOL_BLOCK_SIZE;
		b = malloc(sizeof(*b) + bsize);
		if (b == NULL)
			return NULL;
		b->size = bsize;
		b->used = 0;
		b->next = pool->blocks;
		pool->blocks = b;
	}
	void *m = b->mem + b->used;
	b->used += size;
	pool->used += size;
	memset(m, 0, size);
	return m;
}

char *pool_strndup(struct pool *pool, const char *s, size_t n)
{
	char *d = pool_alloc(pool, n + 1);
	if (d == NULL)
		return NULL;
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

struct str pool_str(struct pool *pool, struct str s)
{
	char *d = pool_strndup(pool, s.ptr, s.len);
	return d == NULL ? STR_NULL : str_from(d, s.len);
}
