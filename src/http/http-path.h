#ifndef RAVELIN_HTTP_PATH_H
#define RAVELIN_HTTP_PATH_H
/*
 * http-path: the href canonicaliser.  A request target becomes a list of
 * percent-decoded segments, and segments become the one href we write for
 * them, so that every resource has exactly one name and no name can step
 * outside the tree it is looked up in: "." and "..", encoded or not, empty
 * segments, encoded slashes and backslashes, NUL and other control octets
 * and invalid UTF-8 are refused rather than normalised.  No I/O.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/str.h"

/* Segments in a path: the deepest href we serve is
 * /dav/calendars/<addr>/<collection>/<object> (5); 16 leaves room for
 * clients probing deeper without letting a path become a loop's worth. */
#define HTTP_MAX_SEGMENTS 16
/* Decoded path octets: 16 segments of DAV_MAX_NAME (255) fit, and every
 * path that fits the request line (HTTP_MAX_REQUEST_LINE) decodes to no
 * more than this half of it. */
#define HTTP_MAX_PATH 4096

/* seg[] point into store: a struct http_path must not be copied by value
 * while its segments are in use. */
struct http_path {
	size_t count;
	struct str seg[HTTP_MAX_SEGMENTS];
	bool trailing_slash; /* the path ends in '/' ("/" itself too) */
	char store[HTTP_MAX_PATH];
};

/*
 * http_path_parse takes the path of an origin-form target ("/a/b?q") or of
 * an absolute URI ("https://host:8443/a/b"; *authority_r gets "host:8443",
 * and is empty for origin-form), percent-decodes each segment into
 * p->store and drops the query.  0, or -1 with a static *error_r: ".",
 * "..", empty segments, %2F, %5C or '\', %00 or any control octet, a
 * fragment, userinfo in the authority, invalid UTF-8 or percent-encoding,
 * over HTTP_MAX_SEGMENTS or HTTP_MAX_PATH.
 */
int http_path_parse(struct str target, struct http_path *p, struct str *authority_r,
		    const char **error_r);

/*
 * http_href_append appends the canonical href of segs[0..n): "/" and each
 * segment percent-encoded (all but RFC 3986 unreserved characters and
 * '@', hex in upper case), then "/" between them and after the last when
 * trailing_slash (n == 0 gives "/").  0, or -1 when out is full (out then
 * holds a partial href: the caller resets it).
 */
int http_href_append(struct buf *out, const struct str *segs, size_t n, bool trailing_slash);

#endif
