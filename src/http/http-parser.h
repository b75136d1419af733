#ifndef RAVELIN_HTTP_PARSER_H
#define RAVELIN_HTTP_PARSER_H
/*
 * http-parser: HTTP/1.1 requests (RFC 9112), no I/O.  http_parse_head reads
 * the request line and header section at the start of a buffer (the
 * pre-auth process needs no more); http_reader assembles whole requests,
 * bodies de-chunked, for the worker.  Both are strict where leniency lets
 * two parsers disagree on where a request ends (request smuggling): see
 * docs/http.md for each refusal and why.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"

/* Request line octets (CRLF not counted): RFC 9112 3 asks for at least
 * 8000; the longest DAV href we make is far below (HTTP_MAX_PATH). */
#define HTTP_MAX_REQUEST_LINE 8192
/* Header fields per request: DAV clients send about 15; 64 leaves room
 * for proxies and keeps the field table a fixed array. */
#define HTTP_MAX_HEADERS 64
/* Request line + header section: a Basic credential and a few cookies of
 * a reverse proxy fit many times over. */
#define HTTP_MAX_HEAD (32 * 1024)
/* A request body after login: four times the largest calendar or contact
 * object (DAV_MAX_OBJECT_SIZE), for REPORTs naming many hrefs. */
#define HTTP_MAX_BODY (4 * 1024 * 1024)
/* A request body before login: an Autodiscover POST is under 1 KiB. */
#define HTTP_PREAUTH_MAX_BODY (64 * 1024)
/* A chunk-size line with its extensions (RFC 9112 7.1): 16 hex digits and
 * room for an extension nobody sends us; longer is an attack on memory. */
#define HTTP_MAX_CHUNK_LINE 1024
/* The trailer section of a chunked body, skipped: nothing we use is sent
 * there, so it only needs to be bounded (same size as a chunk line * 8). */
#define HTTP_MAX_TRAILER (8 * 1024)

enum http_method {
	HTTP_M_OTHER = 0,
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
	HTTP_M_PROPFIND,
	HTTP_M_PROPPATCH,
	HTTP_M_MKCOL,
	HTTP_M_MKCALENDAR,
	HTTP_M_COPY,
	HTTP_M_MOVE,
	HTTP_M_REPORT,
	HTTP_M_LOCK,
	HTTP_M_UNLOCK,
};

struct http_header {
	struct str name, value; /* value without OWS */
};

struct http_request {
	enum http_method method;
	struct str method_name;
	struct str target; /* as sent (origin-form, absolute-form or "*") */
	unsigned version;  /* 10 or 11 */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t header_count;
	bool chunked;
	uint64_t content_length; /* when !chunked; 0 when no body */
	bool keep_alive, expect_continue;
	struct str body; /* http_reader only: the whole body, de-chunked */
};

struct http_limits {
	size_t max_head, max_body;
};

/*
 * http_parse_head parses the request line and header section at the start
 * of in (empty lines before the request line are skipped, RFC 9112 2.2).
 * 1: complete, *head_len octets (the final empty line included) and req's
 * views point into in; 0: need more; -1: refused with *status_r (400 bad
 * syntax or framing, 413 Content-Length over l->max_body, 414 request line
 * over HTTP_MAX_REQUEST_LINE, 431 over HTTP_MAX_HEADERS fields or
 * l->max_head octets, 501 a transfer coding we do not know, 505 not
 * HTTP/1.0 or 1.1) and a static *error_r.  Strict: exactly one of a valid
 * Content-Length or "Transfer-Encoding: chunked", no obs-fold, no bare CR
 * or LF, no space before ':', token method, one Host in HTTP/1.1.
 */
int http_parse_head(struct str in, const struct http_limits *l, struct http_request *req,
		    size_t *head_len, int *status_r, const char **error_r);

/* http_header_get gives the value of the first field named name (ASCII
 * case-insensitive), or NULL. */
const struct str *http_header_get(const struct http_request *req, const char *name);

/* http_reader assembles whole requests; it holds its own copy of the head
 * and of the body. */
struct http_reader;

/* http_reader_new makes a reader bounded by *l (copied); NULL when out of
 * memory. */
struct http_reader *http_reader_new(const struct http_limits *l);
/* http_reader_free releases r and sets *r to NULL (NULL is fine). */
void http_reader_free(struct http_reader **r);
/*
 * http_reader_feed consumes from in what it takes.  1: a whole request in
 * *req_r (views valid until the next feed); 0: need more; -1: refused
 * (*status_r as http_parse_head, 400 for a bad chunk, 413 a body over
 * max_body, 431 a trailer section over HTTP_MAX_TRAILER; *error_r static);
 * the connection is to be closed after the answer and the reader not fed
 * again.  Whatever follows a request stays in in for the next call.
 */
int http_reader_feed(struct http_reader *r, struct buf *in, const struct http_request **req_r,
		     int *status_r, const char **error_r);
/*
 * http_reader_pending gives the head of the request whose body is being
 * read (to answer Expect: 100-continue once), or NULL when the reader is
 * not between a head and the end of its body.
 */
const struct http_request *http_reader_pending(const struct http_reader *r);

#endif
