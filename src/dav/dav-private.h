#ifndef RAVELIN_DAV_PRIVATE_H
#define RAVELIN_DAV_PRIVATE_H
/*
 * dav-private: what the modules of src/dav share (routing context, the
 * resolved target, the multistatus writer, the per-object property writer).
 * Not for use outside src/dav.
 */
#include <stdbool.h>
#include <stdint.h>

#include "dav.h"
#include "dav-xml.h"
#include "http/http-path.h"
#include "store/dav-store.h"

/* What the path names, below /dav/. */
enum dav_home {
	DAV_HOME_NONE = 0,         /* nothing we serve: 404 */
	DAV_HOME_ROOT,             /* /dav/ */
	DAV_HOME_PRINCIPALS,       /* /dav/principals/ (the collection of principals) */
	DAV_HOME_PRINCIPAL,        /* /dav/principals/<addr>/ */
	DAV_HOME_CALENDARS,        /* /dav/calendars/<addr>/[coll/[obj]] */
	DAV_HOME_ADDRESSBOOKS,     /* /dav/addressbooks/<addr>/[coll/[obj]] */
};

struct dav_target {
	enum dav_home home;
	struct str coll_name;          /* the collection segment; empty: the home itself */
	struct str object_name;        /* the object segment; empty: a collection or home */
	bool trailing_slash;
	bool coll_exists;              /* coll loaded (coll_name non-empty and found) */
	struct dav_collection coll;    /* owned by the ctx; freed by dav_handle */
};

struct dav_ctx {
	const struct dav_env *env;
	const struct http_request *req;
	struct dav_response *resp;
	struct http_path path;         /* the request's path, decoded */
	struct dav_target target;
};

/* Request helpers (dav.c). */
/* dav_depth: the Depth header as 0, 1 or DAV_DEPTH_INFINITY; absent: dflt;
 * anything else: -1. */
#define DAV_DEPTH_INFINITY 2
int dav_depth(const struct dav_ctx *c, int dflt);
/* dav_home_kind: the dav-store kind of a home (DAV_CALENDAR for calendars,
 * DAV_ADDRESSBOOK for address books), 0 for the others. */
enum dav_kind dav_home_kind(enum dav_home h);
/* dav_set_status: an answer without body. */
void dav_set_status(struct dav_ctx *c, int status);
/* dav_precondition: status with the body <D:error><ns:name/></D:error>
 * (RFC 4918 16); href, when not empty, goes inside the element as a
 * <D:href> (no-uid-conflict). ns is one of the DAV_NS_*. */
void dav_precondition(struct dav_ctx *c, int status, const char *ns, const char *name, struct str href);
/* dav_header_add appends "name: value\r\n" to the answer's headers. */
void dav_header_add(struct dav_ctx *c, const char *name, struct str value);
/* dav_href_append: the canonical href of a resource of this account:
 * home (and coll, and obj when not empty); collections and homes end in '/'. */
int dav_href_append(const struct dav_ctx *c, struct buf *out, enum dav_home home, struct str coll, struct str obj);

/* The multistatus writer (dav-ms.c), writing into c->resp->body, which is
 * bounded by DAV_MAX_RESPONSE.  Every writer returns 0, or -1 when the answer
 * grew past its bound; the caller then stops and calls dav_ms_overflow. */
int dav_ms_begin(struct dav_ctx *c);                 /* XML declaration, <D:multistatus> with the namespaces */
int dav_ms_end(struct dav_ctx *c);                   /* </D:multistatus>; status 207, Content-Type */
void dav_ms_overflow(struct dav_ctx *c);             /* the answer too large: 507, body dropped */
/* <D:response><D:href>href</D:href> */
int dav_ms_response_begin(struct dav_ctx *c, struct str href);
int dav_ms_response_end(struct dav_ctx *c);          /* </D:response> */
int dav_ms_status(struct dav_ctx *c, int status);    /* <D:status>HTTP/1.1 n reason</D:status> */
int dav_ms_propstat_begin(struct dav_ctx *c);        /* <D:propstat><D:prop> */
int dav_ms_propstat_end(struct dav_ctx *c, int status); /* </D:prop><D:status/></D:propstat> */
/* An empty element for a property name: <prefix:name/> (the prefixes of the
 * namespaces dav_ms_begin declares, or an xmlns of its own for others). */
int dav_ms_empty(struct dav_ctx *c, struct str ns, struct str name);
/* <prefix:name>escaped text</prefix:name> */
int dav_ms_text(struct dav_ctx *c, struct str ns, struct str name, struct str text);
/* Raw markup (already well-formed) and escaped character data. */
int dav_ms_raw(struct dav_ctx *c, const char *markup);
int dav_ms_escape(struct dav_ctx *c, struct str text);
/* dav_xml_escape_append: text escaped for element content or an attribute. */
int dav_xml_escape_append(struct buf *out, struct str text);

/*
 * dav_object_response writes one whole <D:response> for object o (its data
 * loaded) of collection coll, answering the <D:prop> element prop of a
 * REPORT: getetag, getcontenttype, getcontentlength, getlastmodified,
 * calendar-data (with comp/expand/limit-recurrence-set), address-data;
 * other properties 404 in their own propstat.  prop NULL: getetag only.
 * Returns 0, -1 when the answer is full.
 */
int dav_object_response(struct dav_ctx *c, const struct dav_collection *coll, const struct dav_object *o,
			const struct dav_xml_node *prop);

/*
 * dav_query_report (dav-query.c) answers a calendar-query, free-busy-query
 * or addressbook-query REPORT (root is the request's document element) on
 * c->target (a collection, or an object for Depth 0) into c->resp: a
 * multistatus through the writer above, or a status / precondition.
 * Returns 0 (the answer is set), -1 on an internal error (dav_handle answers 500).
 */
int dav_query_report(struct dav_ctx *c, const struct dav_xml_node *root);
/*
 * dav_outbox_post (dav-query.c) answers a POST to the schedule outbox (the
 * VFREEBUSY request of RFC 6638 / CalDAV scheduling); c->req->body holds it.
 * Returns 0 (the answer is set), -1 on an internal error.
 */
int dav_outbox_post(struct dav_ctx *c);

#endif
