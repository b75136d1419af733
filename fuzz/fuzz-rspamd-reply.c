/*
 * fuzz-rspamd-reply: what rspamd sends back, read as the spam process
 * reads it: the HTTP/1.1 response (fed whole and then in two parts, as
 * reads may cut it) and, when complete, its body as the /checkv2 JSON
 * verdict.  Whatever is accepted must keep its promises: header lines
 * CRLF-terminated with no bare CR or LF, the reply printable ASCII.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/log.h"
#include "spam/rspamd-http.h"
#include "spam/rspamd-verdict.h"

static void quiet(enum log_level level, const char *record, size_t len)
{
	(void)level;
	(void)record;
	(void)len;
}

static void check_verdict(const struct rspamd_verdict *v)
{
	const char *h = v->headers.data ? v->headers.data : "";
	for (size_t i = 0; i < v->headers.len; i++) {
		if (h[i] == '\r')
			assert(i + 1 < v->headers.len && h[i + 1] == '\n');
		if (h[i] == '\n')
			assert(i > 0 && h[i - 1] == '\r');
	}
	assert(v->headers.len == 0 || (h[v->headers.len - 2] == '\r' && h[v->headers.len - 1] == '\n'));
	for (const char *p = v->reply; *p != '\0'; p++)
		assert(*p >= 32 && *p <= 126);
	assert(v->headers.len <= IPC_SPAM_MAX_HEADERS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rspamd_http_reply reply;
	const char *error;
	const char *text = (const char *)data;

	log_set_sink(quiet);
	int whole = rspamd_http_reply_parse(text, size, true, &reply, &error);
	/* A prefix never gets a verdict the whole would contradict. */
	int part = rspamd_http_reply_parse(text, size / 2, false, &reply, &error);
	assert(part <= 0 || whole == 1 || size > RSPAMD_HTTP_MAX_RESPONSE);
	if (whole == 1) {
		rspamd_http_reply_parse(text, size, true, &reply, &error);
		assert(reply.body.ptr >= text && reply.body.ptr + reply.body.len <= text + size);
	}
	/* The body as JSON: the reply if there was one, else the input. */
	struct rspamd_verdict v;
	rspamd_verdict_init(&v);
	if (whole == 1)
		(void)rspamd_verdict_read(reply.body.ptr, reply.body.len, &v, &error);
	else
		(void)rspamd_verdict_read(text, size, &v, &error);
	check_verdict(&v);
	rspamd_verdict_free(&v);
	return 0;
}
