#ifndef RAVELIN_DAV_XML_H
#define RAVELIN_DAV_XML_H
/*
 * dav-xml: the XML of a WebDAV request body (PROPFIND, PROPPATCH, MKCOL,
 * MKCALENDAR, REPORT) parsed with expat into a small bounded tree.
 *
 * No DTD at all: a DOCTYPE or an entity declaration stops the parse, so
 * neither internal entities (the "billion laughs" expansion) nor external
 * ones (XXE: a SYSTEM entity naming a file or URL) can ever be defined, and
 * a reference to any entity other than the five predefined ones is an
 * error.  The tree is bounded in depth, nodes and text; everything lives in
 * one pool freed with dav_xml_free.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

/* Real clients nest a REPORT filter at most about 8 deep (calendar-query:
 * filter/comp-filter/comp-filter/prop-filter/param-filter/text-match);
 * 32 leaves room and keeps the parser's stack of open elements small. */
#define DAV_XML_MAX_DEPTH 32
/* A multiget of DAV_MAX_OBJECTS hrefs plus its prop list fits with room;
 * a body of more elements than that is not a client's request. */
#define DAV_XML_MAX_NODES 10000
/* The text of one element: the largest is a calendar-timezone VCALENDAR in a
 * PROPPATCH or MKCALENDAR, bounded like an object (DAV_MAX_OBJECT_SIZE). */
#define DAV_XML_MAX_TEXT (1024 * 1024)
/* Attributes of one element: CalDAV uses at most three (text-match's
 * collation, negate-condition, match-type). */
#define DAV_XML_MAX_ATTRS 8

/* Namespaces of the elements a request may hold. */
#define DAV_NS_DAV "DAV:"
#define DAV_NS_CALDAV "urn:ietf:params:xml:ns:caldav"
#define DAV_NS_CARDDAV "urn:ietf:params:xml:ns:carddav"
#define DAV_NS_CS "http://calendarserver.org/ns/"
#define DAV_NS_APPLE "http://apple.com/ns/ical/"

struct dav_xml_attr {
	struct str ns;    /* namespace URI; empty for a plain attribute */
	struct str name;  /* local name */
	struct str value;
};

struct dav_xml_node {
	struct str ns;    /* namespace URI; empty when the element has none */
	struct str name;  /* local name */
	struct str text;  /* character data directly inside (not the children's), NUL-terminated */
	struct dav_xml_attr *attrs;
	size_t attr_count;
	struct dav_xml_node *parent, *children, *next; /* children: first child, in document order */
	size_t child_count;
};

struct dav_xml_doc;

/*
 * dav_xml_parse parses body (a whole request body).  Returns 0 with *doc_r
 * (free with dav_xml_free; the tree holds no pointer into body), or -1 with
 * *error_r (static text) on malformed XML, a DOCTYPE or entity declaration,
 * an encoding expat does not know, or a limit passed.
 */
int dav_xml_parse(struct str body, struct dav_xml_doc **doc_r, const char **error_r);
/* dav_xml_root is the document element (never NULL for a parsed doc). */
const struct dav_xml_node *dav_xml_root(const struct dav_xml_doc *doc);
/* dav_xml_free releases the whole tree and sets *doc to NULL; NULL is fine. */
void dav_xml_free(struct dav_xml_doc **doc);

/* dav_xml_is: n is the element {ns}name. */
bool dav_xml_is(const struct dav_xml_node *n, const char *ns, const char *name);
/* dav_xml_child: the first child {ns}name of n, or NULL. */
const struct dav_xml_node *dav_xml_child(const struct dav_xml_node *n, const char *ns, const char *name);
/* dav_xml_attr: the value of n's attribute without namespace called name;
 * *found_r (may be NULL) says whether it was there (the empty str otherwise). */
struct str dav_xml_attr(const struct dav_xml_node *n, const char *name, bool *found_r);

#endif
