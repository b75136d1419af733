/* rspamd-http: the request head and the bounded response parser (see
 * rspamd-http.h). */
#include "rspamd-http.h"

#include <string.h>

/* find_line returns the length of the line at p (without its CRLF or LF),
 * or -1 when no line end is within n bytes. */
static long find_line(const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	if (nl == NULL)
		return -1;
	size_t l = (size_t)(nl - p);
	return (long)(l > 0 && p[l - 1] == '\r' ? l - 1 : l);
}

/* status_line parses "HTTP/1.x NNN reason". */
static int status_line(struct str line, unsigned *status)
{
	if (line.len < 12 || memcmp(line.ptr, "HTTP/1.", 7) != 0 ||
	    (line.ptr[7] != '0' && line.ptr[7] != '1') || line.ptr[8] != ' ')
		return -1;
	unsigned v = 0;
	for (size_t i = 9; i < 12; i++) {
		if (line.ptr[i] < '0' || line.ptr[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(line.ptr[i] - '0');
	}
	if (v < 100 || (line.len > 12 && line.ptr[12] != ' '))
		return -1;
	*status = v;
	return 0;
}

/* rspamd_http_reply_parse: see rspamd-http.h. */
int rspamd_http_reply_parse(const char *data, size_t len, bool eof,
			    struct rspamd_http_reply *reply, const char **error_r)
{
	size_t pos = 0, fields = 0;
	bool have_length = false;
	uint64_t length = 0;

	if (len > RSPAMD_HTTP_MAX_RESPONSE) {
		*error_r = "response too long";
		return -1;
	}
	for (;;) {
		long l = find_line(data + pos, len - pos);
		size_t avail = len - pos;
		if (l < 0) {
			if (avail > RSPAMD_HTTP_MAX_LINE) {
				*error_r = "response line too long";
				return -1;
			}
			if (eof) {
				*error_r = "response ends inside its head";
				return -1;
			}
			return 0;
		}
		if ((size_t)l > RSPAMD_HTTP_MAX_LINE) {
			*error_r = "response line too long";
			return -1;
		}
		struct str line = str_from(data + pos, (size_t)l);
		pos = (size_t)(memchr(data + pos, '\n', avail) - (const void *)data) + 1;
		if (fields == 0) {
			if (status_line(line, &reply->status) < 0) {
				*error_r = "malformed status line";
				return -1;
			}
			fields = 1;
			continue;
		}
		if (line.len == 0)
			break;
		if (++fields > RSPAMD_HTTP_MAX_HEADERS + 1) {
			*error_r = "too many header fields";
			return -1;
		}
		long colon = str_chr(line, ':');
		if (colon <= 0) {
			*error_r = "malformed header field";
			return -1;
		}
		struct str name = str_sub(line, 0, (size_t)colon);
		struct str value = str_trim(str_sub(line, (size_t)colon + 1, SIZE_MAX));
		if (str_case_eq(name, str_c("Content-Length"))) {
			if (have_length || str_to_u64(value, RSPAMD_HTTP_MAX_RESPONSE, &length) < 0) {
				*error_r = "bad Content-Length";
				return -1;
			}
			have_length = true;
		} else if (str_case_eq(name, str_c("Transfer-Encoding")) &&
			   !str_case_eq(value, str_c("identity"))) {
			*error_r = "transfer encoding not supported";
			return -1;
		}
	}
	if (have_length) {
		if (len - pos < length) {
			if (eof) {
				*error_r = "response body cut short";
				return -1;
			}
			return 0;
		}
		reply->body = str_from(data + pos, (size_t)length);
		return 1;
	}
	if (!eof)
		return 0;
	reply->body = str_from(data + pos, len - pos);
	return 1;
}

/* value_ok: no control character (a CR or LF would start a new field). */
static bool value_ok(struct str v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.ptr[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* rspamd_http_request_head: see rspamd-http.h. */
int rspamd_http_request_head(struct buf *out, const char *path, size_t body_len,
			     const struct rspamd_http_field *fields, size_t count,
			     const char **error_r)
{
	if (buf_printf(out, "POST %s HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n"
			    "Content-Length: %zu\r\n", path, body_len) < 0)
		goto full;
	for (size_t i = 0; i < count; i++) {
		if (!value_ok(fields[i].value)) {
			*error_r = "control character in a request field";
			return -1;
		}
		if (buf_printf(out, "%s: %.*s\r\n", fields[i].name, (int)fields[i].value.len,
			       fields[i].value.ptr ? fields[i].value.ptr : "") < 0)
			goto full;
	}
	if (buf_append(out, "\r\n", 2) == 0)
		return 0;
full:
	*error_r = "request head too long";
	return -1;
}
