/*
 * imap-catenate: CATENATE's message from TEXT and URL parts (RFC 4469;
 * see imap-catenate.h).  A URL part is answered by the FETCH code itself,
 * as BODY.PEEK[section] of that message, and the octets of the answer's
 * literal are what goes into the message: one meaning for a section,
 * whether FETCH or CATENATE asks.
 */
#include "imap-catenate.h"

#include <stdlib.h>
#include <string.h>

#include "imap-fetch.h"
#include "imap-proto/imap-url.h"
#include "imap-session-private.h"
#include "lib/log.h"

/* What FETCH writes around a literal: "* 1 FETCH (" and the item's name
 * (a HEADER.FIELDS list is bounded by the URL, IMAP_URL_MAX) before it,
 * ")\r\n" after it. */
#define CATENATE_ANSWER_SLACK (4 * IMAP_URL_MAX + 64)
/* The longest URL echoed in a BADURL code; a longer one is cut (the code
 * is for the client's log). */
#define CATENATE_MAX_ECHO 1024

/* badurl refuses a URL part: NO [BADURL url] text.  The URL is echoed
 * only when it is printable and holds no "]" (it stands in a response
 * code); else "/" stands in for it. */
static int badurl(struct imap_session *s, struct str url, const char *text)
{
	bool echo = url.len > 0;
	for (size_t i = 0; i < url.len && echo; i++)
		echo = url.ptr[i] > 0x20 && url.ptr[i] < 0x7f && url.ptr[i] != ']';
	if (!echo)
		url = STR("/");
	int len = url.len > CATENATE_MAX_ECHO ? CATENATE_MAX_ECHO : (int)url.len;
	session_tagged(s, "NO", "[BADURL %.*s] %s", len, url.ptr, text);
	return -1;
}

/* literal_of finds the octets of the one literal in a FETCH answer
 * "* 1 FETCH (NAME {n}\r\n...)\r\n"; false when it is not there. */
static bool literal_of(struct str answer, struct str *data_r)
{
	if (answer.len < 3 || memcmp(answer.ptr + answer.len - 3, ")\r\n", 3) != 0)
		return false;
	for (size_t i = 0; i < answer.len; i++) {
		if (answer.ptr[i] != '{')
			continue;
		uint64_t n = 0;
		size_t k = i + 1;
		while (k < answer.len && answer.ptr[k] >= '0' && answer.ptr[k] <= '9' &&
		       n < UINT32_MAX * (uint64_t)1024)
			n = n * 10 + (uint64_t)(answer.ptr[k++] - '0');
		if (k == i + 1 || k + 3 > answer.len || memcmp(answer.ptr + k, "}\r\n", 3) != 0)
			continue;
		k += 3;
		if (k + n + 3 == answer.len) {
			*data_r = str_from(answer.ptr + k, (size_t)n);
			return true;
		}
	}
	return false;
}

static int reader_read(void *ctx, uint64_t offset, void *buf, size_t len, size_t *read_r,
		       const char **error_r)
{
	return store_reader_read(ctx, offset, buf, len, read_r, error_r) == STORE_OK ? 0 : -1;
}

/* fetch_part writes BODY.PEEK[section] of the message url names into
 * answer.  STORE_OK, STORE_NOT_FOUND (the URL names nothing), IMAP_FETCH_FULL
 * as STORE_LIMIT, or STORE_ERROR with *error_r. */
static int fetch_part(struct imap_session *s, const struct imap_url *url, struct buf *answer,
		      const char **error_r)
{
	struct store_message *list = NULL;
	struct store_message_meta *meta = NULL;
	struct store_reader *reader = NULL;
	struct imap_fetch_plan *plan;
	struct imap_fetch_needs needs;
	size_t count = 0;
	uint64_t size;

	struct imap_arg item = { .type = IMAP_ARG_SECTION, .section = url->section,
				 .text = url->section->name };
	if (imap_fetch_parse(s->pool, &item, 1, false, &plan, error_r) < 0)
		return STORE_ERROR;
	imap_fetch_plan_needs(plan, &needs);
	int ret = store_message_range(s->store, url->mailbox, url->uid, url->uid, &list, &count,
				      error_r);
	if (ret == STORE_OK && count != 1)
		ret = STORE_NOT_FOUND;
	if (ret == STORE_OK && needs.meta)
		ret = store_message_meta(s->store, url->mailbox, url->uid, &meta, error_r);
	if (ret == STORE_OK)
		ret = store_reader_open(s->store, url->mailbox, url->uid, &reader, &size, error_r);
	if (ret == STORE_OK) {
		struct imap_fetch_input in = { .seq = 1, .msg = &list[0], .meta = meta,
					       .read = reader_read, .read_ctx = reader };
		int r = imap_fetch_write(plan, &in, answer, error_r);
		ret = r == IMAP_FETCH_OK ? STORE_OK : r == IMAP_FETCH_FULL ? STORE_LIMIT : STORE_ERROR;
	}
	store_reader_close(&reader);
	store_message_meta_free(&meta);
	free(list);
	return ret;
}

/* url_part appends what the URL names to msg; -1 with the answer written. */
static int url_part(struct imap_session *s, struct str text, struct buf *msg)
{
	struct imap_url url;
	struct store_mailbox box;
	const char *error;

	if (imap_url_parse(s->pool, text, &url, &error) < 0)
		return badurl(s, text, error);
	int ret = store_mailbox_get(s->store, url.mailbox, &box, &error);
	if (ret == STORE_NOT_FOUND)
		return badurl(s, text, "No such mailbox");
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return -1;
	}
	free(box.name);
	if (url.uidvalidity != 0 && url.uidvalidity != box.uidvalidity)
		return badurl(s, text, "UIDVALIDITY has changed");
	struct buf answer;
	buf_init(&answer, s->settings.max_append + CATENATE_ANSWER_SLACK);
	ret = fetch_part(s, &url, &answer, &error);
	struct str data;
	if (ret == STORE_OK && !literal_of(buf_str(&answer), &data)) {
		ret = STORE_ERROR;
		error = "CATENATE: no literal in the FETCH answer";
	}
	if (ret == STORE_OK && url.partial) {
		uint64_t from = url.partial_offset < data.len ? url.partial_offset : data.len;
		uint64_t len = data.len - from;
		if (url.partial_length > 0 && url.partial_length < len)
			len = url.partial_length;
		data = str_from(data.ptr + from, (size_t)len);
	}
	if (ret == STORE_OK && buf_append_str(msg, data) < 0)
		ret = STORE_LIMIT;
	buf_free(&answer);
	if (ret == STORE_NOT_FOUND)
		return badurl(s, text, "No such message");
	if (ret == STORE_LIMIT) {
		session_tagged(s, "NO", "[TOOBIG] The message would be too large");
		return -1;
	}
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return -1;
	}
	return 0;
}

int imap_catenate_build(struct imap_session *s, const struct imap_arg *parts, size_t count,
			uint64_t *budget, char **content_r, size_t *len_r)
{
	struct buf msg;
	uint64_t max = s->settings.max_append < *budget ? s->settings.max_append : *budget;

	if (count == 0 || count % 2 != 0) {
		session_tagged(s, "BAD", "CATENATE takes TEXT and URL parts");
		return -1;
	}
	buf_init(&msg, (size_t)max);
	for (size_t i = 0; i < count; i += 2) {
		const struct imap_arg *value = &parts[i + 1];
		struct str text;
		int r = 0;
		/* A literal8 too: APPEND takes one with BINARY (RFC 3516), and
		 * RFC 4469 5 lets TEXT do the same. */
		if (imap_arg_is_atom(&parts[i], "TEXT") && value->type == IMAP_ARG_LITERAL) {
			if (buf_append_str(&msg, value->text) < 0) {
				session_tagged(s, "NO", "[TOOBIG] The message would be too large");
				r = -1;
			}
		} else if (imap_arg_is_atom(&parts[i], "URL") && value->type != IMAP_ARG_LITERAL &&
			   imap_arg_get_astring(value, &text)) {
			r = url_part(s, text, &msg);
		} else {
			session_tagged(s, "BAD", "CATENATE takes TEXT literals and URL strings");
			r = -1;
		}
		if (r < 0) {
			buf_free(&msg);
			return -1;
		}
	}
	if (msg.len == 0) {
		buf_free(&msg);
		session_tagged(s, "NO", "[CANNOT] An empty message cannot be stored");
		return -1;
	}
	*budget -= msg.len;
	*len_r = msg.len;
	*content_r = msg.data; /* the buffer's memory is the caller's now */
	return 0;
}
