#ifndef RAVELIN_HTTP_RESPONSE_H
#define RAVELIN_HTTP_RESPONSE_H
/*
 * http-response: status lines and response heads (RFC 9110, 9112), no I/O
 * beyond reading the clock for Date.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"

/* An IMF-fixdate and its NUL: "Sun, 06 Nov 1994 08:49:37 GMT". */
#define HTTP_DATE_SIZE 30

/* http_reason is the reason phrase of status (every status the server
 * sends has its own; any other gives "Unknown"); never NULL. */
const char *http_reason(int status);

/* http_date writes Unix time t as an IMF-fixdate (RFC 9110 5.6.7) into
 * out, NUL-terminated (times before 1970 or after 9999 are clamped). */
void http_date(int64_t t, char out[HTTP_DATE_SIZE]);

/*
 * http_response_write appends a response: the status line, Date (now),
 * "Server: Ravelin", Content-Length (body.len; none for 1xx, 204 and
 * 304), Content-Type if content_type is not empty, extra_headers
 * (CRLF-terminated lines, may be empty), "Connection: close" when
 * !keep_alive, the empty line and the body unless head_only.  A 1xx is the
 * status line and the empty line only.  0, or -1 when out is full (out is
 * then as it was).
 */
int http_response_write(struct buf *out, int status, struct str content_type,
			struct str extra_headers, struct str body, bool head_only, bool keep_alive);

#endif
