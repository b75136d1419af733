/*
 * fuzz-imap-utf7: libFuzzer target for modified UTF-7 mailbox names
 * (src/imap/imap-utf7.c), both directions.
 *
 * The input is taken as a name in modified UTF-7 and as one in UTF-8.
 * A UTF-7 name that decodes gives UTF-8 that encodes again, and that
 * encoding decodes to the same UTF-8.  A UTF-8 name that encodes gives
 * printable ASCII that decodes back to the very name (the round trip).
 * Each output stays within a fixed multiple of its input, and a full
 * output buffer (its size chosen by the first byte) fails cleanly.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "imap/imap-utf7.h"
#include "lib/buf.h"

/* Encoding: a four-octet UTF-8 character is two UTF-16 units, 32 bits,
 * under six base64 characters, plus "&" and "-" around a run: eight
 * octets per input octet is more than enough.  Decoding only shrinks
 * ASCII and grows base64 (8/3 characters of UTF-16 give at most three
 * octets of UTF-8). */
#define FUZZ_ENCODE_GROWTH 8
#define FUZZ_DECODE_GROWTH 2
/* Room for any output of the names libFuzzer makes. */
#define FUZZ_MAX_OUTPUT (1024u * 1024)

/* printable: every octet is printable US-ASCII. */
static bool printable(struct str s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.ptr[i] < 0x20 || (unsigned char)s.ptr[i] > 0x7e)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b, c, small;

	if (size < 1)
		return 0;
	size_t small_max = data[0];
	struct str in = str_from((const char *)data + 1, size - 1);
	buf_init(&a, FUZZ_MAX_OUTPUT);
	buf_init(&b, FUZZ_MAX_OUTPUT);
	buf_init(&c, FUZZ_MAX_OUTPUT);
	buf_init(&small, small_max);

	/* As modified UTF-7. */
	if (imap_utf7_decode(in, &a) == 0) {
		if (a.len > FUZZ_DECODE_GROWTH * in.len)
			abort();
		if (imap_utf7_encode(buf_str(&a), &b) < 0 || !printable(buf_str(&b)))
			abort();
		if (imap_utf7_decode(buf_str(&b), &c) < 0 || !str_eq(buf_str(&c), buf_str(&a)))
			abort();
	}
	if (imap_utf7_decode(in, &small) == 0 && small.len > small_max)
		abort();

	/* As UTF-8. */
	buf_reset(&a);
	buf_reset(&b);
	buf_reset(&small);
	if (imap_utf7_encode(in, &a) == 0) {
		if (a.len > FUZZ_ENCODE_GROWTH * in.len || !printable(buf_str(&a)))
			abort();
		if (imap_utf7_decode(buf_str(&a), &b) < 0 || !str_eq(buf_str(&b), in))
			abort();
	}
	if (imap_utf7_encode(in, &small) == 0 && small.len > small_max)
		abort();

	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&small);
	return 0;
}
