/*
 * fuzz-dav-xml: the request-body XML parser on any bytes; checks that a
 * parsed tree keeps its bounds (depth, nodes, text) and its links agree.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "dav/dav-xml.h"

static size_t walk(const struct dav_xml_node *n, size_t depth)
{
	assert(depth <= DAV_XML_MAX_DEPTH);
	assert(n->text.len <= DAV_XML_MAX_TEXT && n->text.ptr != NULL);
	assert(n->text.ptr[n->text.len] == '\0');
	assert(n->attr_count <= DAV_XML_MAX_ATTRS);
	size_t count = 1, children = 0;
	for (const struct dav_xml_node *c = n->children; c != NULL; c = c->next) {
		assert(c->parent == n);
		count += walk(c, depth + 1);
		children++;
	}
	assert(children == n->child_count);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	if (dav_xml_parse(str_from((const char *)data, size), &doc, &error) == 0) {
		assert(walk(dav_xml_root(doc), 1) <= DAV_XML_MAX_NODES);
		dav_xml_free(&doc);
	} else {
		assert(doc == NULL && error != NULL);
	}
	return 0;
}
