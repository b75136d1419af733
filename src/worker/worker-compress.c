/* worker-compress: the deflate streams of COMPRESS DEFLATE (see worker-compress.h). */
#include "worker-compress.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include <zlib.h>

struct compress {
	z_stream deflate, inflate;
	bool deflate_ready, inflate_ready;
	bool flushing;                /* a Z_SYNC_FLUSH wants more room */
	size_t allocated;             /* what zlib holds, headers included */
};

/* Each block zlib asks for carries its size in front, so that its
 * release can be counted. */
union alloc_head {
	size_t size;
	max_align_t align;
};

/* zlib_alloc gives zlib memory while the session stays under
 * COMPRESS_MAX_MEMORY; Z_NULL past it (zlib then fails cleanly). */
static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
	struct compress *c = opaque;
	size_t n = (size_t)items * size + sizeof(union alloc_head);
	if (size != 0 && items > (SIZE_MAX - sizeof(union alloc_head)) / size)
		return Z_NULL;
	if (n > COMPRESS_MAX_MEMORY - c->allocated)
		return Z_NULL;
	union alloc_head *h = malloc(n);
	if (h == NULL)
		return Z_NULL;
	h->size = n;
	c->allocated += n;
	return h + 1;
}

static void zlib_free(voidpf opaque, voidpf p)
{
	struct compress *c = opaque;
	if (p == Z_NULL)
		return;
	union alloc_head *h = (union alloc_head *)p - 1;
	assert(c->allocated >= h->size);
	c->allocated -= h->size;
	free(h);
}

struct compress *compress_new(const char **error_r)
{
	struct compress *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	c->deflate.zalloc = c->inflate.zalloc = zlib_alloc;
	c->deflate.zfree = c->inflate.zfree = zlib_free;
	c->deflate.opaque = c->inflate.opaque = c;
	/* Negative window bits: raw deflate, as RFC 4978 4 asks. */
	if (deflateInit2(&c->deflate, COMPRESS_LEVEL, Z_DEFLATED, -COMPRESS_WINDOW_BITS,
			 COMPRESS_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		*error_r = "deflate could not start";
		compress_free(&c);
		return NULL;
	}
	c->deflate_ready = true;
	if (inflateInit2(&c->inflate, -COMPRESS_INFLATE_WINDOW_BITS) != Z_OK) {
		*error_r = "inflate could not start";
		compress_free(&c);
		return NULL;
	}
	c->inflate_ready = true;
	return c;
}

void compress_free(struct compress **cp)
{
	struct compress *c = *cp;
	if (c == NULL)
		return;
	if (c->deflate_ready)
		deflateEnd(&c->deflate);
	if (c->inflate_ready)
		inflateEnd(&c->inflate);
	assert(c->allocated == 0);
	free(c);
	*cp = NULL;
}

int compress_deflate(struct compress *c, struct buf *plain, struct buf *out)
{
	if (plain->len == 0 && !c->flushing)
		return 0;
	size_t room = out->max > out->len ? out->max - out->len : 0;
	if (room == 0 || buf_reserve(out, room) < 0)
		return 0;  /* the caller sends what out holds first */
	size_t take = plain->len < COMPRESS_DEFLATE_STEP ? plain->len : COMPRESS_DEFLATE_STEP;
	int flush = take == plain->len ? Z_SYNC_FLUSH : Z_NO_FLUSH;
	if (room > UINT_MAX)
		room = UINT_MAX;
	c->deflate.next_in = (Bytef *)plain->data;
	c->deflate.avail_in = (uInt)take;
	c->deflate.next_out = (Bytef *)out->data + out->len;
	c->deflate.avail_out = (uInt)room;
	int r = deflate(&c->deflate, flush);
	if (r != Z_OK && r != Z_BUF_ERROR)
		return -1;
	buf_consume(plain, take - c->deflate.avail_in);
	out->len += room - c->deflate.avail_out;
	out->data[out->len] = '\0';
	/* zlib: a flush that filled the output must be called again. */
	c->flushing = flush == Z_SYNC_FLUSH && c->deflate.avail_out == 0;
	return 0;
}

bool compress_flush_pending(const struct compress *c)
{
	return c->flushing;
}

int compress_inflate(struct compress *c, struct buf *raw, struct buf *plain, size_t room,
		     const char **error_r)
{
	if (room > COMPRESS_INFLATE_STEP)
		room = COMPRESS_INFLATE_STEP;
	if (raw->len == 0 || room == 0)
		return 0;
	if (buf_reserve(plain, room) < 0) {
		*error_r = "no room for the client's input";
		return -1;
	}
	size_t given = raw->len < UINT_MAX ? raw->len : UINT_MAX;
	c->inflate.next_in = (Bytef *)raw->data;
	c->inflate.avail_in = (uInt)given;
	c->inflate.next_out = (Bytef *)plain->data + plain->len;
	c->inflate.avail_out = (uInt)room;
	int r = inflate(&c->inflate, Z_SYNC_FLUSH);
	buf_consume(raw, given - c->inflate.avail_in);
	plain->len += room - c->inflate.avail_out;
	plain->data[plain->len] = '\0';
	switch (r) {
	case Z_OK:
	case Z_BUF_ERROR:  /* no progress possible: input or room ran out */
		return 0;
	case Z_STREAM_END:
		*error_r = "the client ended its compressed stream";
		return -1;
	case Z_MEM_ERROR:
		*error_r = "out of memory for inflate";
		return -1;
	default:
		*error_r = c->inflate.msg != NULL ? c->inflate.msg : "corrupt compressed data";
		return -1;
	}
}

/* window_room makes room in b for a window of n octets (n at most max):
 * where to copy it, or NULL. */
static Bytef *window_room(struct buf *b, uInt n, size_t max)
{
	if (n > max || buf_reserve(b, (size_t)n) < 0)
		return NULL;
	return (Bytef *)b->data + b->len;
}

/* window_taken counts the n octets copied into b. */
static void window_taken(struct buf *b, uInt n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

int compress_park(struct compress *c, struct buf *sent, struct buf *received)
{
	/* zlib's data_type after inflate: the bits left over in the last
	 * byte, +64 in the last block, +128 between blocks. */
	int at = c->inflate.data_type;
	bool boundary = c->inflate.total_in == 0 ||
			((at & 128) != 0 && (at & 64) == 0 && (at & 63) == 0);
	uInt ours = 0, theirs = 0;
	if (c->flushing || c->deflate.avail_in != 0 || !boundary ||
	    deflateGetDictionary(&c->deflate, Z_NULL, &ours) != Z_OK ||
	    inflateGetDictionary(&c->inflate, Z_NULL, &theirs) != Z_OK)
		return -1;
	Bytef *to_sent = window_room(sent, ours, COMPRESS_PARK_SENT_MAX);
	Bytef *to_received = window_room(received, theirs, COMPRESS_PARK_RECEIVED_MAX);
	if (to_sent == NULL || to_received == NULL ||
	    deflateGetDictionary(&c->deflate, to_sent, &ours) != Z_OK ||
	    inflateGetDictionary(&c->inflate, to_received, &theirs) != Z_OK)
		return -1;
	window_taken(sent, ours);
	window_taken(received, theirs);
	return 0;
}

struct compress *compress_unpark(struct str sent, struct str received, const char **error_r)
{
	if (sent.len > COMPRESS_PARK_SENT_MAX || received.len > COMPRESS_PARK_RECEIVED_MAX) {
		*error_r = "a window longer than its stream's";
		return NULL;
	}
	struct compress *c = compress_new(error_r);
	if (c == NULL)
		return NULL;
	/* Raw streams take a dictionary at any time; an empty one is none. */
	if ((sent.len > 0 && deflateSetDictionary(&c->deflate, (const Bytef *)sent.ptr,
						  (uInt)sent.len) != Z_OK) ||
	    (received.len > 0 && inflateSetDictionary(&c->inflate, (const Bytef *)received.ptr,
						      (uInt)received.len) != Z_OK)) {
		*error_r = "zlib refused a window";
		compress_free(&c);
		return NULL;
	}
	return c;
}

size_t compress_memory(const struct compress *c)
{
	return sizeof(*c) + c->allocated;
}
