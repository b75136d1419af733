/*
 * fuzz-tls13: the TLS 1.3 record layer reading what a client sends, fed
 * in chunks.  The first byte picks the suite and the mode: either the rest
 * is raw ciphertext (almost every record dies at the MAC, which exercises
 * the header checks and partial records), or it describes records that a
 * mirror holding the client's keys encrypts properly, so the fuzzer also
 * reaches padding, alerts, handshake reassembly and KeyUpdate.  Whatever
 * the server reads it echoes back, and the mirror reads that, so the write
 * side and our KeyUpdate answers are followed too.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/tls13.h"

/* Structured mode: an op byte of OP_KEY_UPDATE makes the mirror send a
 * real KeyUpdate (next byte: request one back); OP_BIG a full-size record;
 * any other byte is an inner content type, followed by padding length,
 * content length and the content. */
#define OP_KEY_UPDATE 0xff
#define OP_BIG 0xfe
/* Bound on the ciphertext one input can produce or hold.  (The server's
 * plain buffer is a single record, so it must stop early and resume.) */
#define FUZZ_WIRE_MAX (1 << 20)

static const uint16_t suites[] = {
	TLS13_AES_128_GCM_SHA256,
	TLS13_AES_256_GCM_SHA384,
	TLS13_CHACHA20_POLY1305_SHA256,
};

struct fuzz_state {
	struct tls13 server, client;
	struct buf in, plain, out, client_plain, client_out;
	bool done;
};

/* fuzz_init sets up the server and its mirror with fixed secrets. */
static bool fuzz_init(struct fuzz_state *f, uint16_t suite)
{
	uint8_t cs[TLS13_MAX_SECRET], ss[TLS13_MAX_SECRET];
	size_t len = suite == TLS13_AES_256_GCM_SHA384 ? 48 : 32;
	const char *error;

	memset(cs, 0x11, sizeof(cs));
	memset(ss, 0x22, sizeof(ss));
	buf_init(&f->in, FUZZ_WIRE_MAX);
	buf_init(&f->plain, TLS13_MAX_PLAINTEXT);
	buf_init(&f->out, FUZZ_WIRE_MAX);
	buf_init(&f->client_plain, FUZZ_WIRE_MAX);
	buf_init(&f->client_out, FUZZ_WIRE_MAX);
	f->done = false;
	int a = tls13_init(&f->server, suite, cs, ss, len, 7, 3, &error);
	int b = tls13_init(&f->client, suite, ss, cs, len, 3, 7, &error);
	return a == 0 && b == 0;
}

/* fuzz_free clears both states and frees the buffers. */
static void fuzz_free(struct fuzz_state *f)
{
	tls13_clear(&f->server);
	tls13_clear(&f->client);
	buf_free(&f->in);
	buf_free(&f->plain);
	buf_free(&f->out);
	buf_free(&f->client_plain);
	buf_free(&f->client_out);
}

/* fuzz_server_step lets the server read what it has, echoes the data, and
 * lets the mirror read the server's output. */
static void fuzz_server_step(struct fuzz_state *f)
{
	const char *error;

	for (int round = 0; round < 4 && !f->done; round++) {
		int r = tls13_read(&f->server, &f->in, &f->plain, &f->out, &error);
		if (r <= 0)
			f->done = true;
		if (f->plain.len > 0)
			(void)tls13_write(&f->server, f->plain.data, f->plain.len, &f->out);
		buf_reset(&f->plain);
	}
	(void)tls13_read(&f->client, &f->out, &f->client_plain, &f->client_out, &error);
	buf_reset(&f->out);
	buf_reset(&f->client_plain);
	buf_reset(&f->client_out);
}

/* fuzz_feed gives wire to the server chunk bytes at a time. */
static void fuzz_feed(struct fuzz_state *f, const uint8_t *wire, size_t len, size_t chunk)
{
	for (size_t at = 0; at < len && !f->done; at += chunk) {
		size_t n = len - at < chunk ? len - at : chunk;
		if (buf_append(&f->in, wire + at, n) < 0)
			break;
		fuzz_server_step(f);
	}
	/* What a full plain buffer held back. */
	for (int i = 0; i < 64 && !f->done && f->in.len > 0; i++)
		fuzz_server_step(f);
}

/* fuzz_build turns the op list in data into records the mirror encrypts
 * into wire. */
static void fuzz_build(struct fuzz_state *f, const uint8_t *data, size_t size, struct buf *wire)
{
	static const uint8_t big[TLS13_MAX_PLAINTEXT];
	size_t at = 0;

	while (at < size) {
		uint8_t op = data[at++];
		if (op == OP_KEY_UPDATE) {
			bool request = at < size && (data[at++] & 1);
			(void)tls13_key_update(&f->client, request, wire);
		} else if (op == OP_BIG) {
			(void)tls13_write(&f->client, big, sizeof(big), wire);
		} else {
			if (size - at < 2)
				return;
			size_t padding = data[at], len = data[at + 1];
			at += 2;
			if (len > size - at)
				len = size - at;
			(void)tls13_write_record(&f->client, op, data + at, len, padding, wire);
			at += len;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state f;
	struct buf wire;

	if (size < 2)
		return 0;
	bool structured = data[0] & 1;
	uint16_t suite = suites[(data[0] >> 1) % 3];
	size_t chunk = (size_t)data[1] * 67 + 1;
	if (fuzz_init(&f, suite)) {
		if (structured) {
			buf_init(&wire, FUZZ_WIRE_MAX);
			fuzz_build(&f, data + 2, size - 2, &wire);
			fuzz_feed(&f, (const uint8_t *)wire.data, wire.len, chunk);
			buf_free(&wire);
		} else {
			fuzz_feed(&f, data + 2, size - 2, chunk);
		}
	}
	fuzz_free(&f);
	return 0;
}
