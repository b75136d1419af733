#ifndef RAVELIN_WORKER_COMPRESS_H
#define RAVELIN_WORKER_COMPRESS_H
/*
 * worker-compress: the two deflate streams of an IMAP session after
 * COMPRESS DEFLATE (RFC 4978), with no I/O: bytes in, bytes out, each
 * step bounded by the room its caller gives.  Raw deflate (RFC 1951), no
 * zlib or gzip framing.  worker-transport puts it between the session's
 * plaintext and the record layer (or the plain socket, or the TLS 1.2
 * relay's stream).
 *
 * Our sending side is ours to size: a 4 KiB window and a small hash
 * (COMPRESS_WINDOW_BITS, COMPRESS_MEM_LEVEL) compress IMAP answers within
 * a few percent of zlib's 32 KiB default at an eighth of its memory.  The
 * client's stream may use any window up to 32 KiB, so inflate keeps the
 * full one.  What one session costs is counted (compress_memory) and
 * bounded by COMPRESS_MAX_MEMORY: no allocation past it succeeds.
 *
 * A compression bomb costs nothing more than plain input: inflate writes
 * only into the room the caller gives (at most COMPRESS_INFLATE_STEP per
 * call), so the session's input buffer and the command parser's line and
 * literal limits bound what a small stream can expand to.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/str.h"

/* Our deflate window: 2^12 = 4 KiB (zlib's minimum for raw deflate is
 * 2^9).  IMAP answers repeat within a few lines (FETCH items, addresses,
 * flag lists); 4 KiB measured 10.3x on FETCH ENVELOPE output against
 * 10.9x with 32 KiB, for 32 KiB less memory per session. */
#define COMPRESS_WINDOW_BITS 12
/* zlib's memLevel: hash table and literal buffer sizes, 2^(5+7) hash
 * entries; as much as a 4 KiB window can use (6 gave the same ratio). */
#define COMPRESS_MEM_LEVEL 5
/* zlib's default level: level 1 lost a quarter of the ratio, and a phone
 * on a slow link is who asks for COMPRESS. */
#define COMPRESS_LEVEL 6
/* RFC 4978 4: the client may deflate with any window up to 32 KiB; our
 * inflate must keep that much history. */
#define COMPRESS_INFLATE_WINDOW_BITS 15
/* Plaintext produced by one inflate call, and taken by one deflate call:
 * a session's turn stays short whatever the client's stream expands to. */
#define COMPRESS_INFLATE_STEP (16 * 1024)
#define COMPRESS_DEFLATE_STEP (64 * 1024)
/* Hard ceiling on zlib's memory for one session: the measured need is
 * 77 KiB (test-worker-compress, zlib 1.2.13: deflate with its 4 KiB
 * window about 38 KiB, inflate 7 KiB plus the client's 32 KiB window);
 * the margin covers other zlib builds. */
#define COMPRESS_MAX_MEMORY (128 * 1024)

/* A parked session's deflate layer is its two windows: the last
 * plaintext we sent (as far back as our deflate may point, 4 KiB) and the
 * last the client sent (as far back as its stream may point, 32 KiB). */
#define COMPRESS_PARK_SENT_MAX (1U << COMPRESS_WINDOW_BITS)
#define COMPRESS_PARK_RECEIVED_MAX (1U << COMPRESS_INFLATE_WINDOW_BITS)

struct compress;

/* compress_new makes both streams of one session.  NULL with *error_r
 * (out of memory, or zlib refused the parameters). */
struct compress *compress_new(const char **error_r);
/* compress_free ends both streams and frees them; *c becomes NULL. */
void compress_free(struct compress **c);
/* compress_deflate compresses from the start of plain into out, as much
 * as out's maximum takes (at most COMPRESS_DEFLATE_STEP of plain per
 * call), consuming what it compressed.  When plain is emptied it ends
 * with a sync flush (RFC 4978 4: the client can inflate every byte sent
 * so far); if that flush did not fit, compress_flush_pending is true and
 * the next call (plain may stay empty) finishes it.  0, or -1 (zlib
 * state broken). */
int compress_deflate(struct compress *c, struct buf *plain, struct buf *out);
/* compress_flush_pending: a sync flush waits for room in out. */
bool compress_flush_pending(const struct compress *c);
/* compress_inflate decompresses from the start of raw into plain, at most
 * room octets (and COMPRESS_INFLATE_STEP; room must fit plain's maximum),
 * consuming the input it used.  Input left in raw means plain's room ran
 * out.  0, or -1 with *error_r (corrupt data, or the client ended its
 * stream, which RFC 4978 has no use for). */
int compress_inflate(struct compress *c, struct buf *raw, struct buf *plain, size_t room,
		     const char **error_r);
/* compress_park appends both windows to sent and received, so that
 * compress_unpark can make streams that go on where these stopped: ours
 * ended on a sync flush (a fresh deflate's first block follows it, its
 * distances into the window set as its dictionary, which the client's
 * inflate holds), and the client's stream stopped between blocks on a
 * byte boundary (its sync flush) with every byte inflated.  -1 when that
 * is not so (a flush pending, the client's stream inside a block or off
 * a byte boundary: the session is not parked now), or out of memory. */
int compress_park(struct compress *c, struct buf *sent, struct buf *received);
/* compress_unpark makes both streams with those windows as dictionaries.
 * NULL with *error_r (a window longer than its stream's, out of memory,
 * zlib refused). */
struct compress *compress_unpark(struct str sent, struct str received, const char **error_r);
/* compress_memory is what the two streams hold now (zlib's memory and
 * their own), in octets. */
size_t compress_memory(const struct compress *c);

#endif
