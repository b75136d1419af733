/*
 * fuzz-smtp-reply: libFuzzer target for the remote SMTP reply parser
 * (src/relay/smtp-reply).
 *
 * The first byte chooses the sizes in which the rest is fed.  Checked on
 * every run: a reply has a code from 200 to 599, 1 to RELAY_MAX_REPLY_LINES
 * lines each shorter than RELAY_MAX_REPLY_LINE, no CR or LF in a line's
 * text, an enhanced code of the reply's class, an answer line of at most
 * RELAY_MAX_ANSWER printable octets; and the caller's buffer never holds
 * more than one unfinished line plus one feed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/smtp-reply.h"

/* The largest piece fed at once. */
#define FUZZ_MAX_FEED 2048

/* check_reply aborts if r breaks a promise of smtp-reply.h. */
static void check_reply(const struct smtp_reply *r)
{
	struct buf answer;
	if (r->code < 200 || r->code > 599 || r->line_count == 0 ||
	    r->line_count > RELAY_MAX_REPLY_LINES)
		abort();
	for (size_t i = 0; i < r->line_count; i++) {
		struct str t = r->lines[i];
		if (t.len >= RELAY_MAX_REPLY_LINE || memchr(t.ptr, '\n', t.len) != NULL ||
		    memchr(t.ptr, '\r', t.len) != NULL)
			abort();
	}
	if (r->has_enhanced && r->enhanced[0] != r->code / 100)
		abort();
	buf_init(&answer, RELAY_MAX_ANSWER * 2);
	smtp_reply_answer(r, &answer);
	if (answer.len > RELAY_MAX_ANSWER)
		abort();
	for (size_t i = 0; i < answer.len; i++)
		if ((unsigned char)answer.data[i] < 0x20 || (unsigned char)answer.data[i] >= 0x7f)
			abort();
	buf_free(&answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	struct buf in;
	const char *error = NULL;

	if (size < 1)
		return 0;
	size_t step = data[0] < 64 ? 1 : 1 + (size_t)data[0] * (FUZZ_MAX_FEED / 256);
	data++;
	size--;
	smtp_reply_parser_init(&p);
	buf_init(&in, RELAY_MAX_REPLY_LINE + FUZZ_MAX_FEED);
	int ret = 0;
	while (size > 0 && ret >= 0) {
		size_t n = size < step ? size : step;
		if (buf_append(&in, data, n) < 0)
			abort(); /* the parser stopped taking lines */
		data += n;
		size -= n;
		while ((ret = smtp_reply_parse(&p, &in, &r, &error)) == 1)
			check_reply(&r);
		if (ret < 0 && error == NULL)
			abort();
		if (ret == 0 && in.len >= RELAY_MAX_REPLY_LINE)
			abort();
	}
	buf_free(&in);
	smtp_reply_parser_free(&p);
	return 0;
}
