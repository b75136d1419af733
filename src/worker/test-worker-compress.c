/* Unit tests of worker-compress (the deflate streams) and of the deflate
 * layer in worker-transport, with zlib playing the client. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include "worker-compress.h"
#include "worker-transport.h"

/* A client's deflate stream: what RFC 4978 clients use (32 KiB window). */
static void client_deflate(z_stream *z)
{
	memset(z, 0, sizeof(*z));
	assert_int_equal(deflateInit2(z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
}

/* client_compress deflates text and sync-flushes it into out. */
static void client_compress(z_stream *z, const void *text, size_t len, struct buf *out)
{
	assert_int_equal(buf_reserve(out, out->max - out->len), 0);
	z->next_in = (Bytef *)text;
	z->avail_in = (uInt)len;
	z->next_out = (Bytef *)out->data + out->len;
	z->avail_out = (uInt)(out->cap - out->len - 1);
	assert_int_equal(deflate(z, Z_SYNC_FLUSH), Z_OK);
	assert_int_equal(z->avail_in, 0);
	out->len = out->cap - 1 - z->avail_out;
}

/* client_inflate inflates all of raw (which must end on a sync flush)
 * and appends the text to text. */
static void client_inflate(z_stream *z, struct buf *raw, struct buf *text)
{
	char chunk[4096];
	z->next_in = (Bytef *)raw->data;
	z->avail_in = (uInt)raw->len;
	do {
		z->next_out = (Bytef *)chunk;
		z->avail_out = sizeof(chunk);
		int r = inflate(z, Z_SYNC_FLUSH);
		assert_true(r == Z_OK || r == Z_BUF_ERROR);
		assert_int_equal(buf_append(text, chunk, sizeof(chunk) - z->avail_out), 0);
	} while (z->avail_out == 0);
	assert_int_equal(z->avail_in, 0);
	buf_reset(raw);
}

/* Text like an IMAP answer: repetitive, with some variation. */
static void imap_text(struct buf *b, size_t lines)
{
	for (size_t i = 0; i < lines; i++)
		assert_int_equal(buf_printf(b, "* %zu FETCH (UID %zu FLAGS (\\Seen) RFC822.SIZE %zu)\r\n",
					    i + 1, 1000 + i * 7, (i * 7919) % 100000), 0);
}

static void test_server_to_client(void **state)
{
	(void)state;
	const char *error = NULL;
	struct compress *c = compress_new(&error);
	assert_non_null(c);
	z_stream client = { 0 };
	assert_int_equal(inflateInit2(&client, -15), Z_OK);
	struct buf plain, raw, text, expect;
	buf_init(&plain, 1 << 24);
	buf_init(&raw, 1 << 24);
	buf_init(&text, 1 << 24);
	buf_init(&expect, 1 << 24);
	/* Several bursts: after each, the client has every byte of it. */
	for (size_t burst = 1; burst <= 4; burst++) {
		size_t from = plain.len;
		imap_text(&plain, burst * 2000);
		assert_int_equal(buf_append(&expect, plain.data + from, plain.len - from), 0);
		while (plain.len > 0 || compress_flush_pending(c))
			assert_int_equal(compress_deflate(c, &plain, &raw), 0);
		client_inflate(&client, &raw, &text);
		assert_int_equal(text.len, expect.len);
		assert_memory_equal(text.data, expect.data, expect.len);
	}
	printf("# deflate: %zu octets of answers, memory %zu octets\n", expect.len,
	       compress_memory(c));
	assert_true(compress_memory(c) <= COMPRESS_MAX_MEMORY);
	inflateEnd(&client);
	compress_free(&c);
	assert_null(c);
	buf_free(&plain);
	buf_free(&raw);
	buf_free(&text);
	buf_free(&expect);
}

/* An output buffer smaller than one sync flush: the flush goes on over
 * several calls and the client still gets everything. */
static void test_small_output(void **state)
{
	(void)state;
	const char *error = NULL;
	struct compress *c = compress_new(&error);
	z_stream client = { 0 };
	assert_int_equal(inflateInit2(&client, -15), Z_OK);
	struct buf plain, raw, text, all;
	buf_init(&plain, 1 << 20);
	buf_init(&raw, 7);
	buf_init(&all, 1 << 20);
	buf_init(&text, 1 << 20);
	imap_text(&plain, 500);
	struct buf expect = plain;
	expect.data = strdup(plain.data);
	size_t calls = 0;
	while (plain.len > 0 || compress_flush_pending(c)) {
		assert_int_equal(compress_deflate(c, &plain, &raw), 0);
		assert_true(raw.len <= 7);
		assert_int_equal(buf_append(&all, raw.data, raw.len), 0);
		buf_reset(&raw);
		calls++;
	}
	assert_true(calls > 10);
	client_inflate(&client, &all, &text);
	assert_int_equal(text.len, expect.len);
	assert_memory_equal(text.data, expect.data, expect.len);
	free(expect.data);
	inflateEnd(&client);
	compress_free(&c);
	buf_free(&plain);
	buf_free(&raw);
	buf_free(&all);
	buf_free(&text);
}

/* The client's stream, fed one octet at a time, gives the same text. */
static void test_client_to_server_bytewise(void **state)
{
	(void)state;
	const char *error = NULL;
	struct compress *c = compress_new(&error);
	z_stream client;
	client_deflate(&client);
	struct buf text, raw, one, got;
	buf_init(&text, 1 << 20);
	buf_init(&raw, 1 << 20);
	buf_init(&one, 1);
	buf_init(&got, 1 << 20);
	imap_text(&text, 300);
	client_compress(&client, text.data, text.len, &raw);
	for (size_t i = 0; i < raw.len; i++) {
		assert_int_equal(buf_append(&one, raw.data + i, 1), 0);
		while (one.len > 0)
			assert_int_equal(compress_inflate(c, &one, &got, got.max - got.len, &error), 0);
	}
	assert_int_equal(got.len, text.len);
	assert_memory_equal(got.data, text.data, text.len);
	printf("# deflate and inflate in use: memory %zu octets\n", compress_memory(c));
	assert_true(compress_memory(c) <= COMPRESS_MAX_MEMORY);
	deflateEnd(&client);
	compress_free(&c);
	buf_free(&text);
	buf_free(&raw);
	buf_free(&one);
	buf_free(&got);
}

/* A bomb: 16 MiB of one octet in a few KiB.  Each call writes at most
 * the room given and at most COMPRESS_INFLATE_STEP (one past it is
 * refused), and the rest stays compressed. */
static void test_bomb_is_fed_in_bounded_steps(void **state)
{
	(void)state;
	const char *error = NULL;
	struct compress *c = compress_new(&error);
	z_stream client;
	client_deflate(&client);
	size_t big = 16u << 20;
	char *zeros = calloc(1, big);
	struct buf raw, got;
	buf_init(&raw, 1 << 20);
	buf_init(&got, 2 * COMPRESS_INFLATE_STEP);
	client_compress(&client, zeros, big, &raw);
	assert_true(raw.len < 64 * 1024);
	assert_int_equal(compress_inflate(c, &raw, &got, 100, &error), 0);
	assert_int_equal(got.len, 100);
	buf_reset(&got);
	assert_int_equal(compress_inflate(c, &raw, &got, COMPRESS_INFLATE_STEP + 1, &error), 0);
	assert_int_equal(got.len, COMPRESS_INFLATE_STEP);
	assert_true(raw.len > 0);
	/* No room: nothing is done, nothing is lost. */
	size_t held = raw.len;
	assert_int_equal(compress_inflate(c, &raw, &got, 0, &error), 0);
	assert_int_equal(raw.len, held);
	free(zeros);
	deflateEnd(&client);
	compress_free(&c);
	buf_free(&raw);
	buf_free(&got);
}

static void test_corrupt_and_ended_streams(void **state)
{
	(void)state;
	const char *error = NULL;
	struct compress *c = compress_new(&error);
	struct buf raw, got;
	buf_init(&raw, 1024);
	buf_init(&got, 1024);
	/* 0xff: a final block of the reserved type 3. */
	assert_int_equal(buf_append(&raw, "\xff\xff\xff\xff", 4), 0);
	error = NULL;
	assert_int_equal(compress_inflate(c, &raw, &got, 1024, &error), -1);
	assert_non_null(error);
	compress_free(&c);

	/* A client that finishes its stream (Z_FINISH): RFC 4978 has no end. */
	c = compress_new(&error);
	z_stream client;
	client_deflate(&client);
	buf_reset(&raw);
	assert_int_equal(buf_reserve(&raw, 512), 0);
	client.next_in = (Bytef *)"a NOOP\r\n";
	client.avail_in = 8;
	client.next_out = (Bytef *)raw.data;
	client.avail_out = 512;
	assert_int_equal(deflate(&client, Z_FINISH), Z_STREAM_END);
	raw.len = 512 - client.avail_out;
	buf_reset(&got);
	error = NULL;
	assert_int_equal(compress_inflate(c, &raw, &got, 1024, &error), -1);
	assert_non_null(error);
	deflateEnd(&client);
	compress_free(&c);
	buf_free(&raw);
	buf_free(&got);
}


/* exchange: the client sends `command` (deflated, sync-flushed) and c
 * answers `answer`; both sides must read exactly what the other wrote. */
static void exchange(struct compress *c, z_stream *client_out, z_stream *client_in,
		     const char *command, const char *answer)
{
	const char *error = NULL;
	struct buf raw, got, plain, text;
	buf_init(&raw, 1 << 20);
	buf_init(&got, 1 << 20);
	buf_init(&plain, 1 << 20);
	buf_init(&text, 1 << 20);
	client_compress(client_out, command, strlen(command), &raw);
	while (raw.len > 0)
		assert_int_equal(compress_inflate(c, &raw, &got, got.max - got.len, &error), 0);
	assert_string_equal(got.data, command);
	assert_int_equal(buf_append(&plain, answer, strlen(answer)), 0);
	while (plain.len > 0 || compress_flush_pending(c))
		assert_int_equal(compress_deflate(c, &plain, &raw), 0);
	client_inflate(client_in, &raw, &text);
	assert_string_equal(text.data, answer);
	buf_free(&raw);
	buf_free(&got);
	buf_free(&plain);
	buf_free(&text);
}

/* A parked session's deflate layer: both windows written down, the
 * streams freed, new ones made from the windows, and both clients'
 * streams go on, pointing back into what was said before the park. */
static void test_park_and_resume(void **state)
{
	(void)state;
	const char *error = NULL;
	struct compress *c = compress_new(&error);
	z_stream out, in = { 0 };
	client_deflate(&out);
	assert_int_equal(inflateInit2(&in, -15), Z_OK);
	static const char select[] = "s SELECT \"Archive/2026 with a long name\"\r\n";
	static const char listed[] = "* 3 EXISTS\r\n* OK [UIDVALIDITY 1765000000] UIDs valid\r\n"
				     "s OK [READ-WRITE] SELECT completed\r\n";
	exchange(c, &out, &in, select, listed);
	exchange(c, &out, &in, "i IDLE\r\n", "+ idling\r\n");

	struct buf sent, received;
	buf_init(&sent, COMPRESS_PARK_SENT_MAX);
	buf_init(&received, COMPRESS_PARK_RECEIVED_MAX);
	assert_int_equal(compress_park(c, &sent, &received), 0);
	assert_int_equal(received.len, strlen(select) + strlen("i IDLE\r\n"));
	assert_int_equal(sent.len, strlen(listed) + strlen("+ idling\r\n"));
	compress_free(&c);
	c = compress_unpark(buf_str(&sent), buf_str(&received), &error);
	assert_non_null(c);
	/* The same words again: both deflates point back past the park. */
	exchange(c, &out, &in, "DONE\r\n", "i OK IDLE terminated\r\n");
	size_t before = out.total_out;
	exchange(c, &out, &in, select, listed);
	assert_true(out.total_out - before < strlen(select) / 2);

	/* A client's stream stopped inside a block (no flush) is not parked. */
	struct buf raw, got;
	buf_init(&raw, 1 << 16);
	buf_init(&got, 1 << 16);
	assert_int_equal(buf_reserve(&raw, 1024), 0);
	out.next_in = (Bytef *)"a NOOP\r\n";
	out.avail_in = 9;
	out.next_out = (Bytef *)raw.data;
	out.avail_out = 1024;
	assert_int_equal(deflate(&out, Z_PARTIAL_FLUSH), Z_OK);
	raw.len = 1024 - out.avail_out;
	while (raw.len > 0)
		assert_int_equal(compress_inflate(c, &raw, &got, got.max - got.len, &error), 0);
	assert_string_equal(got.data, "a NOOP\r\n");
	buf_reset(&sent);
	buf_reset(&received);
	assert_int_equal(compress_park(c, &sent, &received), -1);

	/* Windows longer than the streams' are refused. */
	char big[COMPRESS_PARK_RECEIVED_MAX + 1];
	memset(big, 'x', sizeof(big));
	assert_null(compress_unpark(str_from(big, COMPRESS_PARK_SENT_MAX + 1), STR(""), &error));
	assert_null(compress_unpark(STR(""), str_from(big, sizeof(big)), &error));
	struct compress *fresh = compress_unpark(STR(""), STR(""), &error);
	assert_non_null(fresh);
	compress_free(&fresh);

	deflateEnd(&out);
	inflateEnd(&in);
	compress_free(&c);
	buf_free(&sent);
	buf_free(&received);
	buf_free(&raw);
	buf_free(&got);
}

/* read_all reads what the peer end holds (with a short wait). */
static void read_all(int fd, struct buf *into)
{
	char chunk[65536];
	for (;;) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return;
		assert_int_equal(buf_append(into, chunk, (size_t)n), 0);
	}
}

/* The transport: what out held at COMPRESS goes plain, later output
 * deflated; what in held (sent behind the command) and later input is
 * inflated; transport_compressed says so. */
static void test_transport_layer(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct handoff h;
	memset(&h, 0, sizeof(h));
	h.mode = HANDOFF_PLAIN;
	struct transport t;
	const char *error = NULL;
	assert_int_equal(transport_init(&t, sv[0], &h, &error), 0);
	assert_false(transport_compressed(&t));
	assert_int_equal(transport_compress_memory(&t), 0);

	z_stream client;
	client_deflate(&client);
	z_stream client_in = { 0 };
	assert_int_equal(inflateInit2(&client_in, -15), Z_OK);
	struct buf in, out, wire, text;
	buf_init(&in, 80 * 1024);
	buf_init(&out, 1 << 22);
	buf_init(&wire, 1 << 22);
	buf_init(&text, 1 << 22);
	/* The client's next command came with the COMPRESS line. */
	client_compress(&client, "b NOOP\r\n", 8, &in);
	assert_int_equal(buf_append(&out, "* 3 EXISTS\r\na OK DEFLATE active\r\n", 33), 0);
	assert_int_equal(transport_compress_start(&t, &in, &out, &error), 0);
	assert_true(transport_compressed(&t));
	assert_int_equal(in.len, 0);
	assert_int_equal(out.len, 0);
	imap_text(&out, 20000);  /* about 1 MB: more than the socket takes */
	struct buf expect;
	buf_init(&expect, 1 << 22);
	assert_int_equal(buf_append(&expect, out.data, out.len), 0);
	/* Write and read until everything has gone through. */
	size_t rounds = 0;
	while (out.len > 0 || transport_want_write(&t)) {
		assert_int_equal(transport_write(&t, &out), 0);
		read_all(sv[1], &wire);
		assert_true(++rounds < 10000);
	}
	assert_true(wire.len > 33);
	assert_memory_equal(wire.data, "* 3 EXISTS\r\na OK DEFLATE active\r\n", 33);
	buf_consume(&wire, 33);
	client_inflate(&client_in, &wire, &text);
	assert_int_equal(text.len, expect.len);
	assert_memory_equal(text.data, expect.data, expect.len);

	/* Input: what came behind the command, then more from the socket. */
	assert_true(transport_pending(&t));
	assert_int_equal(transport_read(&t, &in, false), 1);
	assert_int_equal(in.len, 8);
	assert_memory_equal(in.data, "b NOOP\r\n", 8);
	buf_reset(&in);
	struct buf more;
	buf_init(&more, 1 << 16);
	client_compress(&client, "c LOGOUT\r\n", 10, &more);
	assert_int_equal(write(sv[1], more.data, more.len), (ssize_t)more.len);
	assert_int_equal(transport_read(&t, &in, true), 1);
	assert_int_equal(in.len, 10);
	assert_memory_equal(in.data, "c LOGOUT\r\n", 10);
	/* Idle again: only zlib's state is held, no buffer. */
	size_t memory = transport_compress_memory(&t);
	printf("# a compressed session's deflate layer, idle after 1 MB out: %zu octets\n",
	       memory);
	assert_int_equal(memory, compress_memory(t.z));
	assert_true(memory <= COMPRESS_MAX_MEMORY);
	/* The end of the stream is the end of the client's input. */
	close(sv[1]);
	buf_reset(&in);
	assert_int_equal(transport_read(&t, &in, true), 0);
	transport_close(&t);
	deflateEnd(&client);
	inflateEnd(&client_in);
	buf_free(&in);
	buf_free(&out);
	buf_free(&wire);
	buf_free(&text);
	buf_free(&expect);
	buf_free(&more);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_to_client),
		cmocka_unit_test(test_small_output),
		cmocka_unit_test(test_client_to_server_bytewise),
		cmocka_unit_test(test_bomb_is_fed_in_bounded_steps),
		cmocka_unit_test(test_corrupt_and_ended_streams),
		cmocka_unit_test(test_transport_layer),
		cmocka_unit_test(test_park_and_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
