/*
 * fuzz-http-request: the HTTP request reader (src/http/http-parser.c) on
 * any bytes.  The input is read twice, whole and then in pieces whose
 * sizes come from its first byte; both readings must yield the same
 * requests (method, target, body) and end the same way, so no request
 * boundary depends on how the bytes arrived.  Also checked: bodies stay
 * within max_body, fields within HTTP_MAX_HEADERS, views inside memory the
 * reader owns (ASan), and a head http_parse_head accepts parses again the
 * same on its own.
 * fuzz-http-chunked includes this file with FUZZ_HTTP_PREFIX set.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http-parser.h"

#ifndef FUZZ_HTTP_PREFIX
#define FUZZ_HTTP_PREFIX ""
#endif

/* Small enough that the fuzzer reaches the body limit (413). */
#define FUZZ_MAX_BODY 4096
/* Requests remembered per reading. */
#define FUZZ_MAX_REQUESTS 32

struct reading {
	size_t count;
	uint64_t digest[FUZZ_MAX_REQUESTS];
	int end, status;
};

/* FNV-1a over a request's method, target and body. */
static uint64_t digest(const struct http_request *req)
{
	uint64_t h = 1469598103934665603u;
	const struct str parts[] = { req->method_name, req->target, req->body };
	for (size_t p = 0; p < 3; p++)
		for (size_t i = 0; i < parts[p].len; i++)
			h = (h ^ (unsigned char)parts[p].ptr[i]) * 1099511628211u;
	return h ^ (uint64_t)req->method;
}

static void check_request(const struct http_request *req)
{
	assert(req->body.len <= FUZZ_MAX_BODY);
	assert(req->header_count <= HTTP_MAX_HEADERS);
	assert(req->version == 10 || req->version == 11);
	assert(!req->chunked || req->version == 11);
	assert(req->body.len == req->content_length);
	for (size_t i = 0; i < req->header_count; i++)
		assert(req->headers[i].name.len > 0);
}

/* read_all feeds text in pieces (step 0: all at once) and records what
 * comes out; pieces that the reader leaves in the buffer are kept. */
static void read_all(struct str text, unsigned step_seed, struct reading *out)
{
	static const struct http_limits limits = { HTTP_MAX_HEAD, FUZZ_MAX_BODY };
	struct http_reader *r = http_reader_new(&limits);
	assert(r != NULL);
	struct buf in;
	buf_init(&in, text.len + 1);
	*out = (struct reading){ .end = 0 };
	size_t off = 0;
	unsigned seed = step_seed;
	for (;;) {
		if (off < text.len) {
			size_t n = text.len - off;
			if (step_seed != 0) {
				seed = seed * 1103515245u + 12345u;
				size_t step = 1 + (seed >> 16) % 64;
				n = n < step ? n : step;
			}
			int ret = buf_append(&in, text.ptr + off, n);
			assert(ret == 0);
			off += n;
		}
		const struct http_request *req;
		const char *error;
		int status = 0;
		int ret;
		while ((ret = http_reader_feed(r, &in, &req, &status, &error)) == 1) {
			check_request(req);
			if (out->count < FUZZ_MAX_REQUESTS)
				out->digest[out->count] = digest(req);
			out->count++;
		}
		if (ret < 0) {
			assert(status >= 400 && status <= 505 && error != NULL);
			out->end = -1;
			out->status = status;
			break;
		}
		if (off == text.len)
			break;
	}
	buf_free(&in);
	http_reader_free(&r);
}

/* The head alone: the views of an accepted head lie inside the input, and
 * any prefix of it up to the end of the head needs more. */
static void check_head(struct str text)
{
	static struct http_request req;
	static const struct http_limits limits = { HTTP_MAX_HEAD, HTTP_MAX_BODY };
	size_t head_len;
	int status;
	const char *error;
	if (http_parse_head(text, &limits, &req, &head_len, &status, &error) != 1)
		return;
	assert(head_len <= text.len && head_len <= HTTP_MAX_HEAD);
	assert(req.target.ptr >= text.ptr && req.target.ptr + req.target.len <= text.ptr + head_len);
	if (head_len > 0)
		assert(http_parse_head(str_from(text.ptr, head_len - 1), &limits, &req, &head_len,
				       &status, &error) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned seed = data[0] | 1u;
	size_t prefix_len = sizeof(FUZZ_HTTP_PREFIX) - 1;
	char *text = malloc(prefix_len + size);
	assert(text != NULL);
	memcpy(text, FUZZ_HTTP_PREFIX, prefix_len);
	memcpy(text + prefix_len, data + 1, size - 1);
	struct str s = str_from(text, prefix_len + size - 1);
	static struct reading whole, pieces;
	read_all(s, 0, &whole);
	read_all(s, seed, &pieces);
	assert(whole.count == pieces.count && whole.end == pieces.end &&
	       whole.status == pieces.status);
	for (size_t i = 0; i < whole.count && i < FUZZ_MAX_REQUESTS; i++)
		assert(whole.digest[i] == pieces.digest[i]);
	check_head(s);
	free(text);
	return 0;
}
