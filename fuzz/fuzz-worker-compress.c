/*
 * fuzz-worker-compress: the client's deflate stream as the worker reads it
 * after COMPRESS DEFLATE.  The first octet chooses how the stream is cut
 * and how much room each inflate step gets; the rest is the stream.
 * Checks that no step writes past the room it was given, that input is
 * only ever consumed, and that what our own deflate side makes of any
 * text inflates back to that text.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "worker/worker-compress.h"

/* The session's input buffer in the worker (SESSION_MAX_INPUT and a read). */
#define FUZZ_INPUT_MAX (80 * 1024)

static void inflate_all(const uint8_t *data, size_t size, size_t cut, size_t room)
{
	const char *error;
	struct compress *c = compress_new(&error);
	assert(c != NULL);
	struct buf raw, plain;
	buf_init(&raw, FUZZ_INPUT_MAX);
	buf_init(&plain, FUZZ_INPUT_MAX);
	for (size_t at = 0; at < size;) {
		size_t n = size - at < cut ? size - at : cut;
		if (buf_append(&raw, data + at, n) < 0)
			break;
		at += n;
		for (;;) {
			size_t before_raw = raw.len, before_plain = plain.len;
			int r = compress_inflate(c, &raw, &plain, room, &error);
			assert(raw.len <= before_raw && plain.len >= before_plain);
			assert(plain.len - before_plain <= room &&
			       plain.len - before_plain <= COMPRESS_INFLATE_STEP);
			if (r < 0)
				goto done;
			if (plain.len == before_plain)
				break;
			buf_reset(&plain);  /* the session consumed it */
		}
	}
done:
	assert(compress_memory(c) <= COMPRESS_MAX_MEMORY);
	compress_free(&c);
	buf_free(&raw);
	buf_free(&plain);
}

/* round_trip: our deflate of data, inflated by a second pair, is data. */
static void round_trip(const uint8_t *data, size_t size)
{
	const char *error;
	struct compress *ours = compress_new(&error), *theirs = compress_new(&error);
	assert(ours != NULL && theirs != NULL);
	struct buf text, wire, back;
	buf_init(&text, size + 1);
	buf_init(&wire, 97);  /* small: flushes cross calls */
	buf_init(&back, size + COMPRESS_INFLATE_STEP + 1);
	assert(buf_append(&text, data, size) == 0);
	while (text.len > 0 || compress_flush_pending(ours)) {
		assert(compress_deflate(ours, &text, &wire) == 0);
		while (wire.len > 0)
			assert(compress_inflate(theirs, &wire, &back, back.max - back.len - 1,
						&error) == 0);
	}
	assert(back.len == size && memcmp(back.data, data, size) == 0);
	compress_free(&ours);
	compress_free(&theirs);
	buf_free(&text);
	buf_free(&wire);
	buf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = 1 + (data[0] & 0x0f) * 97;
	size_t room = 1 + (size_t)(data[0] >> 4) * 1301;
	inflate_all(data + 1, size - 1, cut, room);
	round_trip(data + 1, size - 1);
	return 0;
}
