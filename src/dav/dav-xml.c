/*
 * dav-xml: expat into a bounded tree (see dav-xml.h).  Expat runs in
 * namespace mode, so every name arrives as "uri<SEP>local" and prefixes
 * never reach the tree.
 */
#include "dav-xml.h"

#include <expat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/pool.h"

/* Separator between namespace URI and local name in expat's names: a byte
 * that cannot occur in a name or URI. */
#define NS_SEP '\x01'
/* The pool holds the nodes, names and text: at most this much per request
 * (a 4 MiB body's text plus DAV_XML_MAX_NODES nodes with their names). */
#define DAV_XML_POOL_MAX (16 * 1024 * 1024)

struct dav_xml_doc {
	struct pool *pool;
	struct dav_xml_node *root;
};

struct parse_state {
	XML_Parser parser;
	struct dav_xml_doc *doc;
	struct dav_xml_node *cur;                  /* innermost open element */
	struct dav_xml_node *last_child[DAV_XML_MAX_DEPTH + 1];
	struct buf text[DAV_XML_MAX_DEPTH + 1];    /* text of each open element */
	size_t depth;
	size_t nodes;
	const char *error;
};

/* stop ends the parse with a reason of ours (the first one wins). */
static void stop(struct parse_state *st, const char *error)
{
	if (st->error == NULL)
		st->error = error;
	XML_StopParser(st->parser, XML_FALSE);
}

/* split_name copies expat's "uri<SEP>local" (or "local") into ns and name. */
static int split_name(struct parse_state *st, const char *full, struct str *ns, struct str *name)
{
	const char *sep = strchr(full, NS_SEP);
	struct str n = sep ? str_c(sep + 1) : str_c(full);
	struct str u = sep ? str_from(full, (size_t)(sep - full)) : STR("");
	*ns = pool_str(st->doc->pool, u);
	*name = pool_str(st->doc->pool, n);
	if ((u.len > 0 && ns->ptr == NULL) || name->ptr == NULL)
		return -1;
	return 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *el, const XML_Char **atts)
{
	struct parse_state *st = ud;
	if (st->depth >= DAV_XML_MAX_DEPTH) {
		stop(st, "XML nested too deep");
		return;
	}
	if (st->nodes >= DAV_XML_MAX_NODES) {
		stop(st, "XML has too many elements");
		return;
	}
	size_t nattrs = 0;
	while (atts[nattrs * 2] != NULL)
		nattrs++;
	if (nattrs > DAV_XML_MAX_ATTRS) {
		stop(st, "XML element has too many attributes");
		return;
	}
	struct dav_xml_node *n = pool_alloc(st->doc->pool, sizeof(*n));
	if (n == NULL || split_name(st, el, &n->ns, &n->name) < 0) {
		stop(st, "XML request too large");
		return;
	}
	if (nattrs > 0) {
		n->attrs = pool_alloc(st->doc->pool, nattrs * sizeof(*n->attrs));
		if (n->attrs == NULL) {
			stop(st, "XML request too large");
			return;
		}
		for (size_t i = 0; i < nattrs; i++) {
			struct dav_xml_attr *a = &n->attrs[i];
			a->value = pool_str(st->doc->pool, str_c(atts[i * 2 + 1]));
			if (split_name(st, atts[i * 2], &a->ns, &a->name) < 0 || a->value.ptr == NULL) {
				stop(st, "XML request too large");
				return;
			}
		}
		n->attr_count = nattrs;
	}
	st->nodes++;
	n->parent = st->cur;
	if (st->cur == NULL) {
		st->doc->root = n;
	} else {
		if (st->last_child[st->depth - 1] == NULL)
			st->cur->children = n;
		else
			st->last_child[st->depth - 1]->next = n;
		st->last_child[st->depth - 1] = n;
		st->cur->child_count++;
	}
	st->last_child[st->depth] = NULL;
	buf_reset(&st->text[st->depth]);
	st->depth++;
	st->cur = n;
}

static void XMLCALL on_end(void *ud, const XML_Char *el)
{
	(void)el;
	struct parse_state *st = ud;
	if (st->cur == NULL || st->depth == 0)
		return;
	struct buf *t = &st->text[st->depth - 1];
	st->cur->text = pool_str(st->doc->pool, buf_str(t));
	if (st->cur->text.ptr == NULL) {
		stop(st, "XML request too large");
		return;
	}
	buf_reset(t);
	st->depth--;
	st->cur = st->cur->parent;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct parse_state *st = ud;
	if (st->depth == 0 || len <= 0)
		return;
	if (buf_append(&st->text[st->depth - 1], s, (size_t)len) < 0)
		stop(st, "XML element text too long");
}

/* A DTD of any kind: refused before any of it is read further. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	stop(ud, "XML with a DOCTYPE is not accepted");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
			      int value_length, const XML_Char *base, const XML_Char *sysid,
			      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_length, (void)base;
	(void)sysid, (void)pubid, (void)notation;
	stop(ud, "XML entity declarations are not accepted");
}

int dav_xml_parse(struct str body, struct dav_xml_doc **doc_r, const char **error_r)
{
	*doc_r = NULL;
	if (body.len > (size_t)INT_MAX) {
		*error_r = "XML request too large";
		return -1;
	}
	struct dav_xml_doc *doc = calloc(1, sizeof(*doc));
	if (doc == NULL || (doc->pool = pool_new(DAV_XML_POOL_MAX)) == NULL) {
		free(doc);
		*error_r = "out of memory";
		return -1;
	}
	struct parse_state st = { .doc = doc };
	for (size_t i = 0; i <= DAV_XML_MAX_DEPTH; i++)
		buf_init(&st.text[i], DAV_XML_MAX_TEXT);
	st.parser = XML_ParserCreateNS("UTF-8", NS_SEP);
	int ret = -1;
	if (st.parser == NULL) {
		st.error = "out of memory";
		goto out;
	}
	XML_SetUserData(st.parser, &st);
	XML_SetElementHandler(st.parser, on_start, on_end);
	XML_SetCharacterDataHandler(st.parser, on_text);
	XML_SetStartDoctypeDeclHandler(st.parser, on_doctype);
	XML_SetEntityDeclHandler(st.parser, on_entity);
	XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(st.parser, body.ptr ? body.ptr : "", (int)body.len, XML_TRUE) != XML_STATUS_OK) {
		if (st.error == NULL)
			st.error = "malformed XML";
		goto out;
	}
	if (doc->root == NULL) {
		st.error = "no XML document element";
		goto out;
	}
	ret = 0;
out:
	if (st.parser != NULL)
		XML_ParserFree(st.parser);
	for (size_t i = 0; i <= DAV_XML_MAX_DEPTH; i++)
		buf_free(&st.text[i]);
	if (ret < 0) {
		*error_r = st.error;
		dav_xml_free(&doc);
		return -1;
	}
	*doc_r = doc;
	return 0;
}

const struct dav_xml_node *dav_xml_root(const struct dav_xml_doc *doc)
{
	return doc->root;
}

void dav_xml_free(struct dav_xml_doc **doc)
{
	if (*doc == NULL)
		return;
	pool_free(&(*doc)->pool);
	free(*doc);
	*doc = NULL;
}

bool dav_xml_is(const struct dav_xml_node *n, const char *ns, const char *name)
{
	return n != NULL && str_eq(n->ns, str_c(ns)) && str_eq(n->name, str_c(name));
}

const struct dav_xml_node *dav_xml_child(const struct dav_xml_node *n, const char *ns, const char *name)
{
	for (const struct dav_xml_node *c = n ? n->children : NULL; c != NULL; c = c->next)
		if (dav_xml_is(c, ns, name))
			return c;
	return NULL;
}

struct str dav_xml_attr(const struct dav_xml_node *n, const char *name, bool *found_r)
{
	for (size_t i = 0; i < n->attr_count; i++) {
		if (n->attrs[i].ns.len == 0 && str_eq(n->attrs[i].name, str_c(name))) {
			if (found_r != NULL)
				*found_r = true;
			return n->attrs[i].value;
		}
	}
	if (found_r != NULL)
		*found_r = false;
	return STR("");
}
