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
#include "ical/ical.h"
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
/* dav_resolve fills t from p (the request's path or a Destination):
 * t->home DAV_HOME_NONE when the path is not ours, or names another
 * account (404).  Views in t point into p. */
void dav_resolve(const struct dav_ctx *c, const struct http_path *p, struct dav_target *t);
/* dav_load_collection loads t's collection when it names one and it
 * exists (t->coll_exists; freed by the caller with dav_collection_free):
 * 0, or -1 with the answer set (500). */
int dav_load_collection(struct dav_ctx *c, struct dav_target *t);
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

/* A resource a property is asked of. */
struct dav_res {
	enum dav_home home;
	const struct dav_collection *coll;  /* the collection (or the object's); NULL for homes */
	const struct dav_object *obj;       /* NULL unless an object */
};
/*
 * dav_prop_write (dav-props.c): property {ns}name of r.  Returns 1 when r
 * has it (and, with write, its element and value were written to the
 * answer), 0 when r has no such property, -1 when the answer is full.
 */
int dav_prop_write(struct dav_ctx *c, const struct dav_res *r, struct str ns, struct str name, bool write);
/* A property of a resource as dav_prop_write answers it (1, 0, -1). */
typedef int dav_prop_fn(struct dav_ctx *c, const struct dav_res *r, const struct dav_xml_node *p, bool write);
/* dav_ms_prop_response: one whole <D:response> for r answering the
 * <D:prop> element prop: the properties fn has in a 200 propstat, the
 * others in a 404 one.  0, or -1 when the answer is full. */
int dav_ms_prop_response(struct dav_ctx *c, const struct dav_res *r, const struct dav_xml_node *prop,
			 dav_prop_fn *fn);
/* dav_ms_href: <D:href>the href of the resource</D:href>. */
int dav_ms_href(struct dav_ctx *c, enum dav_home home, struct str coll, struct str obj);
/* dav_ms_response_at: <D:response><D:href> of the resource (home, coll,
 * obj as dav_href_append). */
int dav_ms_response_at(struct dav_ctx *c, enum dav_home home, struct str coll, struct str obj);
/* dav_ms_response_res: the same for r. */
int dav_ms_response_res(struct dav_ctx *c, const struct dav_res *r);
/* An account's calendars and contacts may hold this much: 1 GiB is some
 * hundred thousand events, far above what a person makes, and keeps one
 * account from filling the disk through DAV (RFC 4331 quota). */
#define DAV_ACCOUNT_QUOTA ((uint64_t)1024 * 1024 * 1024)
/* An href is a path of at most HTTP_MAX_PATH octets, percent-encoded. */
#define DAV_MAX_HREF (3 * HTTP_MAX_PATH)

/*
 * dav_props_set (dav-proppatch.c) applies the <D:set>/<D:remove> children
 * of root (a propertyupdate, mkcol or mkcalendar) to *coll, all or none
 * (RFC 4918 9.2): 0 with every change made to *coll (its strings then
 * point into root's tree: write it before freeing the tree, do not free
 * them), 1 when one was refused: the propstats answering each property
 * (403, 409, 424 failed-dependency) are written into the answer (the
 * caller wrapped them), -1 the answer is full.  creating: the protected
 * supported-calendar-component-set and resourcetype may be given.
 */
int dav_props_set(struct dav_ctx *c, const struct dav_xml_node *root, struct dav_collection *coll, bool creating);
/* The methods, one module each (dav_handle calls them with the target
 * resolved and, when it names one, the collection loaded). */
void dav_propfind(struct dav_ctx *c);                /* dav-props.c */
void dav_proppatch(struct dav_ctx *c);               /* dav-proppatch.c */
void dav_mkcol(struct dav_ctx *c);                   /* dav-collection.c: MKCOL and MKCALENDAR */
void dav_collection_delete_req(struct dav_ctx *c);   /* dav-collection.c */
void dav_object_get_req(struct dav_ctx *c);          /* dav-object.c: GET and HEAD */
void dav_object_put_req(struct dav_ctx *c);          /* dav-object.c */
void dav_object_delete_req(struct dav_ctx *c);       /* dav-object.c */
void dav_object_move_req(struct dav_ctx *c);         /* dav-move.c: MOVE and COPY */
void dav_report(struct dav_ctx *c);                  /* dav-report.c */
/* dav_internal_error: 500, the reason logged. */
void dav_internal_error(struct dav_ctx *c, const char *what, const char *error);
/* dav_parse_body: the request body as XML; on failure the answer (400) is
 * set and -1 returned.  An empty body gives 0 and *doc NULL. */
int dav_parse_body(struct dav_ctx *c, struct dav_xml_doc **doc);

/* dav_utc_parse reads a CalDAV UTC date-time "YYYYMMDDTHHMMSSZ" (RFC 4791
 * 9.9): 0 with *t (seconds since 1970), -1 otherwise. */
int dav_utc_parse(struct str s, int64_t *t);
/* dav_time_range_parse reads the start and end attributes of n
 * (time-range, expand, limit-recurrence-set; either may be absent: open):
 * 0, or -1 when one is malformed or end is not after start. */
int dav_time_range_parse(const struct dav_xml_node *n, struct ical_time_range *r);
/* dav_prop_check: a REPORT's <D:prop> (may be NULL) asks nothing malformed
 * (a calendar-data expand or limit-recurrence-set range): 0, or -1 with
 * the answer set (400).  Called before the multistatus begins. */
int dav_prop_check(struct dav_ctx *c, const struct dav_xml_node *prop);
/* dav_sync_collection (dav-sync.c): the sync-collection REPORT (RFC 6578). */
void dav_sync_collection(struct dav_ctx *c, const struct dav_xml_node *root);
/* dav_report_collection: the REPORT's target is an existing collection of
 * one of kinds (a mask of 1 << DAV_*); otherwise the answer is set (404,
 * 403) and false returned. */
bool dav_report_collection(struct dav_ctx *c, unsigned kinds);

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
