/*
 * fuzz-worker-compress: the client's deflate stream as the worker reads it
 * after COMPRESS DEFLATE.  The first octet chooses how the stream is cut
 * and how much room each inflate step gets; the rest is the stream.
 * Checks that no step writes past the room it was given, that input is
 * only ever consumed, and that what our own deflate side makes of any
 * text inflates back to that text, also when both sides are parked
 * halfway (the windows written down, new streams made from them) and
 * when the parked state itself is what the input says.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "lib/ipc.h"
#include "worker/worker-compress.h"
#include "worker/worker-transport.h"

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

/* send deflates text through ours and inflates it through theirs. */
static void send_through(struct compress *ours, struct compress *theirs, const uint8_t *data,
			 size_t size, struct buf *back)
{
	const char *error;
	struct buf text, wire;
	buf_init(&text, size + 1);
	buf_init(&wire, 97);  /* small: flushes cross calls */
	assert(buf_append(&text, data, size) == 0);
	while (text.len > 0 || compress_flush_pending(ours)) {
		assert(compress_deflate(ours, &text, &wire) == 0);
		while (wire.len > 0)
			assert(compress_inflate(theirs, &wire, back, back->max - back->len - 1,
						&error) == 0);
	}
	buf_free(&text);
	buf_free(&wire);
}

/* round_trip: our deflate of data, inflated by a second pair, is data. */
static void round_trip(const uint8_t *data, size_t size)
{
	const char *error;
	struct compress *ours = compress_new(&error), *theirs = compress_new(&error);
	assert(ours != NULL && theirs != NULL);
	struct buf back;
	buf_init(&back, size + COMPRESS_INFLATE_STEP + 1);
	send_through(ours, theirs, data, size, &back);
	assert(back.len == size && memcmp(back.data, data, size) == 0);
	compress_free(&ours);
	compress_free(&theirs);
	buf_free(&back);
}

/* park_round_trip: the first half sent, both sides parked and made
 * again from their windows, the second half sent: the far side read
 * all of data. */
static void park_round_trip(const uint8_t *data, size_t size)
{
	const char *error;
	struct compress *ours = compress_new(&error), *theirs = compress_new(&error);
	assert(ours != NULL && theirs != NULL);
	struct buf back, sent, received, unused_sent, unused_received;
	buf_init(&back, size + COMPRESS_INFLATE_STEP + 1);
	send_through(ours, theirs, data, size / 2, &back);
	buf_init(&sent, COMPRESS_PARK_SENT_MAX);
	buf_init(&received, COMPRESS_PARK_RECEIVED_MAX);
	buf_init(&unused_sent, COMPRESS_PARK_SENT_MAX);
	buf_init(&unused_received, COMPRESS_PARK_RECEIVED_MAX);
	/* Our side's sending window, and the far side's receiving one. */
	assert(compress_park(ours, &sent, &unused_received) == 0);
	assert(compress_park(theirs, &unused_sent, &received) == 0);
	compress_free(&ours);
	compress_free(&theirs);
	ours = compress_unpark(buf_str(&sent), STR(""), &error);
	theirs = compress_unpark(STR(""), buf_str(&received), &error);
	assert(ours != NULL && theirs != NULL);
	send_through(ours, theirs, data + size / 2, size - size / 2, &back);
	assert(back.len == size && memcmp(back.data, data, size) == 0);
	compress_free(&ours);
	compress_free(&theirs);
	buf_free(&back);
	buf_free(&sent);
	buf_free(&received);
	buf_free(&unused_sent);
	buf_free(&unused_received);
}

/* resume_state: the input as a parked state (two windows), then as the
 * client's stream after it. */
static void resume_state(const uint8_t *data, size_t size)
{
	const char *error;
	struct transport t;
	memset(&t, 0, sizeof(t));
	t.fd = -1;
	if (transport_compress_resume(&t, str_from((const char *)data, size), FUZZ_INPUT_MAX,
				      &error) == 0) {
		struct buf plain;
		buf_init(&plain, FUZZ_INPUT_MAX);
		assert(buf_append(&t.z_in, data, size < FUZZ_INPUT_MAX ? size : FUZZ_INPUT_MAX) == 0);
		while (t.z_in.len > 0 && compress_inflate(t.z, &t.z_in, &plain, FUZZ_INPUT_MAX - 1,
							  &error) == 0 && plain.len > 0)
			buf_reset(&plain);
		buf_free(&plain);
	}
	transport_forget(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = 1 + (data[0] & 0x0f) * 97;
	size_t room = 1 + (size_t)(data[0] >> 4) * 1301;
	inflate_all(data + 1, size - 1, cut, room);
	round_trip(data + 1, size - 1);
	park_round_trip(data + 1, size - 1);
	resume_state(data + 1, size - 1);
	return 0;
}
