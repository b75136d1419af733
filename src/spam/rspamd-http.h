#ifndef RAVELIN_RSPAMD_HTTP_H
#define RAVELIN_RSPAMD_HTTP_H
/*
 * rspamd-http: the HTTP/1.1 that the spam process speaks to rspamd, both
 * ways: the request it writes (POST with the message as its body) and a
 * bounded parser for the response.  No I/O: the caller reads and writes.
 * rspamd is trusted to run the checks, not to be well-formed: a response
 * over any of the limits below is an error (the message is then
 * "unchecked"), never unbounded memory.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/str.h"

/* A whole response, head and body.  rspamd's /checkv2 JSON for a message
 * with a few hundred symbols and their descriptions is some 20 KiB; 256
 * KiB leaves room for milter headers and long messages without letting a
 * confused peer make us buffer a mailbox. */
#define RSPAMD_HTTP_MAX_RESPONSE (256 * 1024)
/* Header fields in a response: rspamd sends about six. */
#define RSPAMD_HTTP_MAX_HEADERS 32
/* One line of the response head (status line or a header field). */
#define RSPAMD_HTTP_MAX_LINE 4096

struct rspamd_http_reply {
	unsigned status;  /* 200, 500, ... */
	struct str body;  /* points into the data given */
};

/*
 * rspamd_http_reply_parse reads the response in data[0..len) (all of what
 * was received so far; eof: the peer closed).  Returns 1 with *reply
 * filled when it is complete (the body by Content-Length, or to eof when
 * there is none), 0 when more is needed, -1 with *error_r when it is
 * malformed or over a limit.  Chunked transfer encoding is refused
 * (rspamd does not use it for these endpoints).
 */
int rspamd_http_reply_parse(const char *data, size_t len, bool eof,
			    struct rspamd_http_reply *reply, const char **error_r);

/* A header field for a request: name and value (value checked by
 * rspamd_http_request_head for control characters). */
struct rspamd_http_field {
	const char *name;
	struct str value;
};

/*
 * rspamd_http_request_head appends to out the head of "POST path" with a
 * Content-Length of body_len, Connection: close, and the fields given.
 * Returns 0, or -1 with *error_r when a value holds a control character
 * (CR or LF would inject fields) or out is full.
 */
int rspamd_http_request_head(struct buf *out, const char *path, size_t body_len,
			     const struct rspamd_http_field *fields, size_t count,
			     const char **error_r);

#endif
