/* http-parser: HTTP/1.1 request heads and whole requests (see http-parser.h). */
#include "http-parser.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The largest Content-Length taken as a number at all (2^63 - 1): beyond
 * it, other parsers overflow, so the request is refused as malformed. */
#define HTTP_MAX_CONTENT_LENGTH ((uint64_t)INT64_MAX)

static const struct {
	const char *name;
	enum http_method method;
} methods[] = {
	{ "GET", HTTP_M_GET },		 { "HEAD", HTTP_M_HEAD },	{ "POST", HTTP_M_POST },
	{ "PUT", HTTP_M_PUT },		 { "DELETE", HTTP_M_DELETE },	{ "OPTIONS", HTTP_M_OPTIONS },
	{ "PROPFIND", HTTP_M_PROPFIND }, { "PROPPATCH", HTTP_M_PROPPATCH }, { "MKCOL", HTTP_M_MKCOL },
	{ "MKCALENDAR", HTTP_M_MKCALENDAR }, { "COPY", HTTP_M_COPY },	{ "MOVE", HTTP_M_MOVE },
	{ "REPORT", HTTP_M_REPORT },	 { "LOCK", HTTP_M_LOCK },	{ "UNLOCK", HTTP_M_UNLOCK },
};

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || str_is_alpha(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(struct str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_tchar((unsigned char)s.ptr[i]))
			return false;
	return true;
}

static int refuse(int status, const char *error, int *status_r, const char **error_r)
{
	*status_r = status;
	*error_r = error;
	return -1;
}

enum line_result { LINE_OK = 1, LINE_MORE = 0, LINE_BARE = -1, LINE_LONG = -2 };

/*
 * next_line finds the CRLF-terminated line starting at pos: LINE_OK with
 * *line (CRLF excluded) and *next past the CRLF; LINE_MORE when no line
 * end yet and the line could still fit in max octets; LINE_BARE on a CR
 * not before LF or an LF not after CR; LINE_LONG when longer than max.
 */
static enum line_result next_line(struct str in, size_t pos, size_t max, struct str *line,
				  size_t *next)
{
	for (size_t i = pos; i < in.len; i++) {
		if (in.ptr[i] == '\n')
			return LINE_BARE;
		if (in.ptr[i] != '\r')
			continue;
		if (i + 1 == in.len)
			break;
		if (in.ptr[i + 1] != '\n')
			return LINE_BARE;
		if (i - pos > max)
			return LINE_LONG;
		*line = str_from(in.ptr + pos, i - pos);
		*next = i + 2;
		return LINE_OK;
	}
	/* Still no line end: CR (if it is the last byte) not counted. */
	size_t have = in.len - pos;
	if (have > 0 && in.ptr[in.len - 1] == '\r')
		have--;
	return have > max ? LINE_LONG : LINE_MORE;
}

/* line_refusal turns a next_line failure into the refusal: 400 for a
 * bare CR or LF, long_status for a line over its limit. */
static int line_refusal(enum line_result lr, int long_status, const char *long_error,
			int *status_r, const char **error_r)
{
	assert(lr == LINE_BARE || lr == LINE_LONG);
	if (lr == LINE_BARE)
		return refuse(400, "bare CR or LF", status_r, error_r);
	return refuse(long_status, long_error, status_r, error_r);
}

static int parse_version(struct str v, unsigned *version, int *status_r, const char **error_r)
{
	if (v.len != 8 || memcmp(v.ptr, "HTTP/", 5) != 0 || v.ptr[6] != '.' ||
	    v.ptr[5] < '0' || v.ptr[5] > '9' || v.ptr[7] < '0' || v.ptr[7] > '9')
		return refuse(400, "malformed HTTP version", status_r, error_r);
	if (v.ptr[5] != '1' || (v.ptr[7] != '0' && v.ptr[7] != '1'))
		return refuse(505, "HTTP version not supported", status_r, error_r);
	*version = v.ptr[7] == '0' ? 10 : 11;
	return 0;
}

/* A request-target of visible ASCII in origin-form, absolute-form (http or
 * https) or the asterisk-form of OPTIONS (RFC 9112 3.2). */
static bool target_ok(struct str t, enum http_method m)
{
	if (t.len == 0)
		return false;
	for (size_t i = 0; i < t.len; i++)
		if ((unsigned char)t.ptr[i] <= 0x20 || (unsigned char)t.ptr[i] >= 0x7f)
			return false;
	if (t.ptr[0] == '/')
		return true;
	if (str_eq(t, STR("*")))
		return m == HTTP_M_OPTIONS;
	return str_case_prefix(t, STR("http://")) || str_case_prefix(t, STR("https://"));
}

static int parse_request_line(struct str line, struct http_request *req, int *status_r,
			      const char **error_r)
{
	long sp1 = str_chr(line, ' ');
	if (sp1 < 0)
		return refuse(400, "malformed request line", status_r, error_r);
	struct str rest = str_sub(line, (size_t)sp1 + 1, line.len);
	long sp2 = str_chr(rest, ' ');
	if (sp2 < 0)
		return refuse(400, "malformed request line", status_r, error_r);
	req->method_name = str_from(line.ptr, (size_t)sp1);
	req->target = str_from(rest.ptr, (size_t)sp2);
	struct str version = str_sub(rest, (size_t)sp2 + 1, rest.len);
	if (!is_token(req->method_name))
		return refuse(400, "method is not a token", status_r, error_r);
	req->method = HTTP_M_OTHER;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (str_eq(req->method_name, str_c(methods[i].name)))
			req->method = methods[i].method;
	if (!target_ok(req->target, req->method))
		return refuse(400, "malformed request target", status_r, error_r);
	return parse_version(version, &req->version, status_r, error_r);
}

/* field-value: VCHAR, SP, HTAB, obs-text; OWS at both ends dropped. */
static int parse_field(struct str line, struct http_header *h, int *status_r,
		       const char **error_r)
{
	if (line.ptr[0] == ' ' || line.ptr[0] == '\t')
		return refuse(400, "obsolete line folding", status_r, error_r);
	long colon = str_chr(line, ':');
	if (colon < 0)
		return refuse(400, "header field without colon", status_r, error_r);
	h->name = str_from(line.ptr, (size_t)colon);
	if (!is_token(h->name))
		return refuse(400, "malformed header field name", status_r, error_r);
	struct str v = str_sub(line, (size_t)colon + 1, line.len);
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.ptr[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse(400, "control octet in header field", status_r, error_r);
	}
	while (v.len > 0 && (v.ptr[0] == ' ' || v.ptr[0] == '\t'))
		v = str_sub(v, 1, v.len);
	while (v.len > 0 && (v.ptr[v.len - 1] == ' ' || v.ptr[v.len - 1] == '\t'))
		v.len--;
	h->value = v;
	return 0;
}

/* has_list_token: a comma-separated field value names tok (any case). */
static bool has_list_token(struct str v, struct str tok)
{
	while (v.len > 0) {
		long comma = str_chr(v, ',');
		size_t n = comma < 0 ? v.len : (size_t)comma;
		if (str_case_eq(str_trim(str_sub(v, 0, n)), tok))
			return true;
		v = str_sub(v, n + (comma < 0 ? 0 : 1), v.len);
	}
	return false;
}

/* The message framing and connection semantics (RFC 9112 6, 9.3). */
static int parse_semantics(const struct http_limits *l, struct http_request *req,
			   int *status_r, const char **error_r)
{
	bool have_cl = false, have_te = false;
	size_t hosts = 0;
	bool close = false, keep = false;
	for (size_t i = 0; i < req->header_count; i++) {
		struct str name = req->headers[i].name, v = req->headers[i].value;
		if (str_case_eq(name, STR("Content-Length"))) {
			uint64_t n;
			if (str_to_u64(v, HTTP_MAX_CONTENT_LENGTH, &n) != 0)
				return refuse(400, "malformed Content-Length", status_r, error_r);
			if (have_cl && n != req->content_length)
				return refuse(400, "differing Content-Length fields", status_r,
					      error_r);
			have_cl = true;
			req->content_length = n;
		} else if (str_case_eq(name, STR("Transfer-Encoding"))) {
			if (have_te)
				return refuse(400, "more than one Transfer-Encoding", status_r,
					      error_r);
			have_te = true;
			if (!str_case_eq(v, STR("chunked"))) {
				if (has_list_token(v, STR("chunked")))
					return refuse(400, "chunked is not the only coding",
						      status_r, error_r);
				return refuse(501, "transfer coding not implemented", status_r,
					      error_r);
			}
		} else if (str_case_eq(name, STR("Host"))) {
			hosts++;
		} else if (str_case_eq(name, STR("Connection"))) {
			close = close || has_list_token(v, STR("close"));
			keep = keep || has_list_token(v, STR("keep-alive"));
		} else if (str_case_eq(name, STR("Expect"))) {
			req->expect_continue = str_case_eq(v, STR("100-continue"));
		}
	}
	if (have_te && have_cl)
		return refuse(400, "both Content-Length and Transfer-Encoding", status_r, error_r);
	if (have_te && req->version == 10)
		return refuse(400, "Transfer-Encoding in HTTP/1.0", status_r, error_r);
	if (hosts > 1 || (hosts == 0 && req->version == 11))
		return refuse(400, "not exactly one Host", status_r, error_r);
	if (req->content_length > l->max_body)
		return refuse(413, "request body too large", status_r, error_r);
	req->chunked = have_te;
	req->keep_alive = req->version == 11 ? !close : keep && !close;
	return 0;
}

int http_parse_head(struct str in, const struct http_limits *l, struct http_request *req,
		    size_t *head_len, int *status_r, const char **error_r)
{
	*req = (struct http_request){ .body = STR("") };
	size_t pos = 0;
	/* Empty lines before the request line (a client's CRLF after a body). */
	while (in.len - pos >= 2 && in.ptr[pos] == '\r' && in.ptr[pos + 1] == '\n') {
		pos += 2;
		if (pos > l->max_head)
			return refuse(431, "request head too large", status_r, error_r);
	}
	struct str line;
	size_t next;
	enum line_result lr = next_line(in, pos, HTTP_MAX_REQUEST_LINE, &line, &next);
	if (lr != LINE_OK)
		return lr == LINE_MORE ? 0
				       : line_refusal(lr, 414, "request line too long", status_r,
						      error_r);
	if (parse_request_line(line, req, status_r, error_r) < 0)
		return -1;
	pos = next;
	for (;;) {
		if (pos > l->max_head)
			return refuse(431, "request head too large", status_r, error_r);
		lr = next_line(in, pos, l->max_head - pos, &line, &next);
		if (lr != LINE_OK)
			return lr == LINE_MORE ? 0
					       : line_refusal(lr, 431, "request head too large",
							      status_r, error_r);
		pos = next;
		if (line.len == 0)
			break;
		if (req->header_count == HTTP_MAX_HEADERS)
			return refuse(431, "too many header fields", status_r, error_r);
		if (parse_field(line, &req->headers[req->header_count], status_r, error_r) < 0)
			return -1;
		req->header_count++;
	}
	if (pos > l->max_head)
		return refuse(431, "request head too large", status_r, error_r);
	if (parse_semantics(l, req, status_r, error_r) < 0)
		return -1;
	*head_len = pos;
	return 1;
}

const struct str *http_header_get(const struct http_request *req, const char *name)
{
	struct str n = str_c(name);
	for (size_t i = 0; i < req->header_count; i++)
		if (str_case_eq(req->headers[i].name, n))
			return &req->headers[i].value;
	return NULL;
}

enum reader_state {
	READ_HEAD,
	READ_LENGTH,     /* Content-Length body */
	READ_CHUNK_SIZE, /* a chunk-size line */
	READ_CHUNK_DATA,
	READ_CHUNK_END,  /* the CRLF after a chunk's data */
	READ_TRAILER,
	READ_DONE, /* a request was handed out; the next feed starts afresh */
	READ_FAILED,
};

struct http_reader {
	struct http_limits limits;
	enum reader_state state;
	struct http_request req;
	struct buf head, body;
	uint64_t chunk_left; /* of the current chunk's data, or of a Content-Length body */
	size_t trailer_len;
};

struct http_reader *http_reader_new(const struct http_limits *l)
{
	struct http_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->limits = *l;
	buf_init(&r->head, l->max_head);
	buf_init(&r->body, l->max_body);
	return r;
}

void http_reader_free(struct http_reader **r)
{
	if (*r == NULL)
		return;
	buf_free(&(*r)->head);
	buf_free(&(*r)->body);
	free(*r);
	*r = NULL;
}

const struct http_request *http_reader_pending(const struct http_reader *r)
{
	if (r->state == READ_HEAD || r->state == READ_DONE || r->state == READ_FAILED)
		return NULL;
	return &r->req;
}

static int reader_refuse(struct http_reader *r, int status, const char *error, int *status_r,
			 const char **error_r)
{
	r->state = READ_FAILED;
	return refuse(status, error, status_r, error_r);
}

/* The head: copied so that req's views outlive the caller's buffer. */
static int read_head(struct http_reader *r, struct buf *in, int *status_r, const char **error_r)
{
	size_t head_len;
	int ret = http_parse_head(buf_str(in), &r->limits, &r->req, &head_len, status_r, error_r);
	if (ret <= 0) {
		if (ret < 0)
			r->state = READ_FAILED;
		return ret;
	}
	buf_reset(&r->head);
	if (buf_append(&r->head, in->data, head_len) < 0)
		return reader_refuse(r, 431, "request head too large", status_r, error_r);
	buf_consume(in, head_len);
	ret = http_parse_head(buf_str(&r->head), &r->limits, &r->req, &head_len, status_r, error_r);
	assert(ret == 1);
	buf_reset(&r->body);
	r->trailer_len = 0;
	r->chunk_left = r->req.content_length;
	r->state = r->req.chunked ? READ_CHUNK_SIZE : READ_LENGTH;
	return 1;
}

/* Moves up to *left octets of in into the body. */
static void take_data(struct http_reader *r, struct buf *in, uint64_t *left)
{
	size_t n = in->len < *left ? in->len : (size_t)*left;
	/* Bounded: the sizes were checked against max_body before. */
	int ret = buf_append(&r->body, in->data, n);
	assert(ret == 0);
	(void)ret;
	buf_consume(in, n);
	*left -= n;
}

/* chunk-size [ chunk-ext ] (RFC 9112 7.1.1): hex digits, then nothing or
 * optional blanks and ';' and extension text without control octets. */
static int read_chunk_size(struct http_reader *r, struct str line, int *status_r,
			   const char **error_r)
{
	uint64_t size = 0;
	size_t i = 0;
	for (; i < line.len && str_hex_digit(line.ptr[i]) >= 0; i++) {
		size = size * 16 + (uint64_t)str_hex_digit(line.ptr[i]);
		if (size > r->limits.max_body - r->body.len)
			return reader_refuse(r, 413, "request body too large", status_r, error_r);
	}
	if (i == 0)
		return reader_refuse(r, 400, "malformed chunk size", status_r, error_r);
	size_t ext = i;
	while (ext < line.len && (line.ptr[ext] == ' ' || line.ptr[ext] == '\t'))
		ext++;
	if (ext < line.len && line.ptr[ext] != ';')
		return reader_refuse(r, 400, "malformed chunk size", status_r, error_r);
	if (ext == line.len && ext != i)
		return reader_refuse(r, 400, "malformed chunk size", status_r, error_r);
	for (; ext < line.len; ext++) {
		unsigned char c = (unsigned char)line.ptr[ext];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return reader_refuse(r, 400, "control octet in chunk extension", status_r,
					     error_r);
	}
	r->chunk_left = size;
	r->state = size == 0 ? READ_TRAILER : READ_CHUNK_DATA;
	return 0;
}

/* One step of the body; 1 when the state moved on, 0 need more, -1. */
static int read_body_step(struct http_reader *r, struct buf *in, int *status_r,
			  const char **error_r)
{
	struct str line;
	size_t next;
	enum line_result lr;
	switch (r->state) {
	case READ_LENGTH:
	case READ_CHUNK_DATA:
		take_data(r, in, &r->chunk_left);
		if (r->chunk_left > 0)
			return 0;
		r->state = r->state == READ_LENGTH ? READ_DONE : READ_CHUNK_END;
		return 1;
	case READ_CHUNK_SIZE:
		lr = next_line(buf_str(in), 0, HTTP_MAX_CHUNK_LINE, &line, &next);
		if (lr == LINE_MORE)
			return 0;
		if (lr != LINE_OK) {
			r->state = READ_FAILED;
			return line_refusal(lr, 400, "chunk size line too long", status_r, error_r);
		}
		if (read_chunk_size(r, line, status_r, error_r) < 0)
			return -1;
		buf_consume(in, next);
		return 1;
	case READ_CHUNK_END:
		if (in->len < 2)
			return in->len == 1 && in->data[0] != '\r'
				       ? reader_refuse(r, 400, "chunk data not followed by CRLF",
						       status_r, error_r)
				       : 0;
		if (in->data[0] != '\r' || in->data[1] != '\n')
			return reader_refuse(r, 400, "chunk data not followed by CRLF", status_r,
					     error_r);
		buf_consume(in, 2);
		r->state = READ_CHUNK_SIZE;
		return 1;
	case READ_TRAILER:
		lr = next_line(buf_str(in), 0, HTTP_MAX_TRAILER - r->trailer_len, &line, &next);
		if (lr == LINE_MORE)
			return 0;
		if (lr == LINE_OK && r->trailer_len + next > HTTP_MAX_TRAILER)
			lr = LINE_LONG;
		if (lr != LINE_OK) {
			r->state = READ_FAILED;
			return line_refusal(lr, 431, "trailer section too large", status_r, error_r);
		}
		/* Trailer fields are skipped, but must still be fields. */
		if (line.len > 0) {
			struct http_header h;
			if (parse_field(line, &h, status_r, error_r) < 0) {
				r->state = READ_FAILED;
				return -1;
			}
		}
		r->trailer_len += next;
		buf_consume(in, next);
		if (line.len == 0) {
			r->req.content_length = r->body.len;
			r->state = READ_DONE;
		}
		return 1;
	case READ_HEAD:
	case READ_DONE:
	case READ_FAILED:
		break;
	}
	assert(!"unreachable reader state");
	return -1;
}

int http_reader_feed(struct http_reader *r, struct buf *in, const struct http_request **req_r,
		     int *status_r, const char **error_r)
{
	if (r->state == READ_FAILED)
		return refuse(400, "connection already refused", status_r, error_r);
	if (r->state == READ_DONE)
		r->state = READ_HEAD;
	if (r->state == READ_HEAD) {
		int ret = read_head(r, in, status_r, error_r);
		if (ret <= 0)
			return ret;
	}
	while (r->state != READ_DONE) {
		int ret = read_body_step(r, in, status_r, error_r);
		if (ret <= 0)
			return ret;
	}
	r->req.body = buf_str(&r->body);
	*req_r = &r->req;
	return 1;
}
