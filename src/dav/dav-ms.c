/*
 * dav-ms: the multistatus writer (RFC 4918 13) and the error bodies of
 * preconditions (RFC 4918 16), into the answer's body, which is bounded by
 * DAV_MAX_RESPONSE: a writer past it returns -1 and the caller answers 507.
 */
#include <stdio.h>
#include <string.h>

#include "dav-private.h"
#include "http/http-response.h"

/* The namespaces every multistatus and error body declares, with their
 * prefixes; other namespaces get an xmlns on the element itself. */
static const struct {
	const char *ns, *prefix;
} known_ns[] = {
	{ DAV_NS_DAV, "D" },
	{ DAV_NS_CALDAV, "C" },
	{ DAV_NS_CARDDAV, "CR" },
	{ DAV_NS_CS, "CS" },
	{ DAV_NS_APPLE, "A" },
};

#define NS_DECLS " xmlns:D=\"DAV:\" xmlns:C=\"" DAV_NS_CALDAV "\" xmlns:CR=\"" DAV_NS_CARDDAV \
	"\" xmlns:CS=\"" DAV_NS_CS "\" xmlns:A=\"" DAV_NS_APPLE "\""

static const char *prefix_of(struct str ns)
{
	for (size_t i = 0; i < sizeof(known_ns) / sizeof(known_ns[0]); i++)
		if (str_eq(ns, str_c(known_ns[i].ns)))
			return known_ns[i].prefix;
	return NULL;
}

int dav_xml_escape_append(struct buf *out, struct str text)
{
	size_t from = 0;
	for (size_t i = 0; i < text.len; i++) {
		const char *rep = NULL;
		switch (text.ptr[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\r': rep = "&#13;"; break;   /* kept through XML's line-end normalisation */
		default: continue;
		}
		if (buf_append(out, text.ptr + from, i - from) < 0 || buf_append_str(out, str_c(rep)) < 0)
			return -1;
		from = i + 1;
	}
	return buf_append(out, text.ptr + from, text.len - from);
}

int dav_ms_raw(struct dav_ctx *c, const char *markup)
{
	return buf_append_str(&c->resp->body, str_c(markup));
}

int dav_ms_escape(struct dav_ctx *c, struct str text)
{
	return dav_xml_escape_append(&c->resp->body, text);
}

int dav_ms_begin(struct dav_ctx *c)
{
	buf_reset(&c->resp->body);
	return dav_ms_raw(c, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus" NS_DECLS ">");
}

int dav_ms_end(struct dav_ctx *c)
{
	if (dav_ms_raw(c, "</D:multistatus>\n") < 0)
		return -1;
	c->resp->status = 207;
	snprintf(c->resp->content_type, sizeof(c->resp->content_type), "application/xml; charset=utf-8");
	return 0;
}

void dav_ms_overflow(struct dav_ctx *c)
{
	buf_reset(&c->resp->body);
	dav_set_status(c, 507);
}

int dav_ms_response_begin(struct dav_ctx *c, struct str href)
{
	if (dav_ms_raw(c, "<D:response><D:href>") < 0 || dav_ms_escape(c, href) < 0)
		return -1;
	return dav_ms_raw(c, "</D:href>");
}

int dav_ms_response_end(struct dav_ctx *c)
{
	return dav_ms_raw(c, "</D:response>");
}

int dav_ms_status(struct dav_ctx *c, int status)
{
	return buf_printf(&c->resp->body, "<D:status>HTTP/1.1 %d %s</D:status>", status, http_reason(status));
}

int dav_ms_propstat_begin(struct dav_ctx *c)
{
	return dav_ms_raw(c, "<D:propstat><D:prop>");
}

int dav_ms_propstat_end(struct dav_ctx *c, int status)
{
	if (dav_ms_raw(c, "</D:prop>") < 0 || dav_ms_status(c, status) < 0)
		return -1;
	return dav_ms_raw(c, "</D:propstat>");
}

/* open_tag writes <p:name or <X:name xmlns:X="ns" (unterminated). */
static int open_tag(struct buf *b, struct str ns, struct str name)
{
	const char *p = prefix_of(ns);
	if (p != NULL)
		return buf_printf(b, "<%s:%.*s", p, (int)name.len, name.ptr);
	if (ns.len == 0)
		return buf_printf(b, "<%.*s xmlns=\"\"", (int)name.len, name.ptr);
	if (buf_printf(b, "<X:%.*s xmlns:X=\"", (int)name.len, name.ptr) < 0 || dav_xml_escape_append(b, ns) < 0)
		return -1;
	return buf_putc(b, '"');
}

static int close_tag(struct buf *b, struct str ns, struct str name)
{
	const char *p = prefix_of(ns);
	if (p != NULL)
		return buf_printf(b, "</%s:%.*s>", p, (int)name.len, name.ptr);
	if (ns.len == 0)
		return buf_printf(b, "</%.*s>", (int)name.len, name.ptr);
	return buf_printf(b, "</X:%.*s>", (int)name.len, name.ptr);
}

int dav_ms_empty(struct dav_ctx *c, struct str ns, struct str name)
{
	if (open_tag(&c->resp->body, ns, name) < 0)
		return -1;
	return dav_ms_raw(c, "/>");
}

int dav_ms_text(struct dav_ctx *c, struct str ns, struct str name, struct str text)
{
	if (open_tag(&c->resp->body, ns, name) < 0 || dav_ms_raw(c, ">") < 0 || dav_ms_escape(c, text) < 0)
		return -1;
	return close_tag(&c->resp->body, ns, name);
}

void dav_precondition(struct dav_ctx *c, int status, const char *ns, const char *name, struct str href)
{
	struct buf *b = &c->resp->body;
	buf_reset(b);
	c->resp->status = status;
	snprintf(c->resp->content_type, sizeof(c->resp->content_type), "application/xml; charset=utf-8");
	int r = buf_printf(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error" NS_DECLS ">");
	if (r == 0)
		r = open_tag(b, str_c(ns), str_c(name));
	if (r == 0 && href.len > 0) {
		r = buf_printf(b, "><D:href>");
		if (r == 0)
			r = dav_xml_escape_append(b, href);
		if (r == 0)
			r = buf_printf(b, "</D:href>");
		if (r == 0)
			r = close_tag(b, str_c(ns), str_c(name));
	} else if (r == 0) {
		r = buf_printf(b, "/>");
	}
	if (r == 0)
		r = buf_printf(b, "</D:error>\n");
	if (r < 0) {   /* cannot happen with a static name; answer without body */
		buf_reset(b);
		c->resp->content_type[0] = '\0';
	}
}
