/* Unit tests for dav-xml: the tree, its limits (one past each), and the
 * refusal of every DTD (billion laughs, XXE). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dav/dav-xml.h"
#include "lib/buf.h"

static int parse(const char *s, struct dav_xml_doc **doc, const char **error)
{
	return dav_xml_parse(str_c(s), doc, error);
}

/* A PROPFIND as Apple Calendar sends it: prefixes resolve to namespaces. */
static void test_tree(void **state)
{
	(void)state;
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	assert_int_equal(parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			       "<A:propfind xmlns:A=\"DAV:\"><A:prop>"
			       "<B:calendar-home-set xmlns:B=\"urn:ietf:params:xml:ns:caldav\"/>"
			       "<A:displayname/><E:calendar-color xmlns:E=\"http://apple.com/ns/ical/\"/>"
			       "</A:prop></A:propfind>", &doc, &error), 0);
	const struct dav_xml_node *root = dav_xml_root(doc);
	assert_true(dav_xml_is(root, DAV_NS_DAV, "propfind"));
	const struct dav_xml_node *prop = dav_xml_child(root, DAV_NS_DAV, "prop");
	assert_non_null(prop);
	assert_int_equal(prop->child_count, 3);
	assert_true(dav_xml_is(prop->children, DAV_NS_CALDAV, "calendar-home-set"));
	assert_true(dav_xml_is(prop->children->next, DAV_NS_DAV, "displayname"));
	assert_true(dav_xml_is(prop->children->next->next, DAV_NS_APPLE, "calendar-color"));
	assert_null(prop->children->next->next->next);
	assert_ptr_equal(prop->children->parent, prop);
	dav_xml_free(&doc);
	assert_null(doc);
}

/* Text (with predefined entities and character references), attributes,
 * an element without namespace. */
static void test_text_and_attrs(void **state)
{
	(void)state;
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	assert_int_equal(parse("<D:x xmlns:D=\"DAV:\"><D:displayname>a &amp; b &#233;<D:i/>c</D:displayname>"
			       "<C:text-match xmlns:C=\"urn:ietf:params:xml:ns:caldav\" collation=\"i;octet\" "
			       "negate-condition=\"yes\">T</C:text-match><plain/></D:x>", &doc, &error), 0);
	const struct dav_xml_node *root = dav_xml_root(doc);
	const struct dav_xml_node *dn = dav_xml_child(root, DAV_NS_DAV, "displayname");
	assert_string_equal(dn->text.ptr, "a & b \xc3\xa9" "c");
	const struct dav_xml_node *tm = dav_xml_child(root, DAV_NS_CALDAV, "text-match");
	bool found = false;
	assert_true(str_eq(dav_xml_attr(tm, "collation", &found), STR("i;octet")));
	assert_true(found);
	assert_true(str_eq(dav_xml_attr(tm, "negate-condition", NULL), STR("yes")));
	assert_int_equal(dav_xml_attr(tm, "match-type", &found).len, 0);
	assert_false(found);
	assert_non_null(dav_xml_child(root, "", "plain"));
	dav_xml_free(&doc);
}

static void nest(struct buf *b, size_t depth)
{
	for (size_t i = 0; i < depth; i++)
		buf_printf(b, "<a>");
	for (size_t i = 0; i < depth; i++)
		buf_printf(b, "</a>");
}

static void test_depth_limit(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 20);
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	nest(&b, DAV_XML_MAX_DEPTH);
	assert_int_equal(dav_xml_parse(buf_str(&b), &doc, &error), 0);
	dav_xml_free(&doc);
	buf_reset(&b);
	nest(&b, DAV_XML_MAX_DEPTH + 1);
	assert_int_equal(dav_xml_parse(buf_str(&b), &doc, &error), -1);
	assert_null(doc);
	assert_string_equal(error, "XML nested too deep");
	buf_free(&b);
}

static void test_node_limit(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 20);
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	buf_printf(&b, "<r>");
	for (size_t i = 0; i < DAV_XML_MAX_NODES - 1; i++)
		buf_printf(&b, "<h/>");
	buf_printf(&b, "</r>");
	assert_int_equal(dav_xml_parse(buf_str(&b), &doc, &error), 0);
	assert_int_equal(dav_xml_root(doc)->child_count, DAV_XML_MAX_NODES - 1);
	dav_xml_free(&doc);
	buf_reset(&b);
	buf_printf(&b, "<r>");
	for (size_t i = 0; i < DAV_XML_MAX_NODES; i++)
		buf_printf(&b, "<h/>");
	buf_printf(&b, "</r>");
	assert_int_equal(dav_xml_parse(buf_str(&b), &doc, &error), -1);
	assert_string_equal(error, "XML has too many elements");
	buf_free(&b);
}

static void test_text_limit(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4 << 20);
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	for (int over = 0; over < 2; over++) {
		buf_reset(&b);
		buf_printf(&b, "<r>");
		for (size_t i = 0; i < DAV_XML_MAX_TEXT + (size_t)over; i++)
			buf_putc(&b, 'x');
		buf_printf(&b, "</r>");
		int r = dav_xml_parse(buf_str(&b), &doc, &error);
		if (over) {
			assert_int_equal(r, -1);
			assert_string_equal(error, "XML element text too long");
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(dav_xml_root(doc)->text.len, DAV_XML_MAX_TEXT);
			dav_xml_free(&doc);
		}
	}
	buf_free(&b);
}

static void test_attr_limit(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 16);
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	for (int over = 0; over < 2; over++) {
		buf_reset(&b);
		buf_printf(&b, "<r");
		for (int i = 0; i < DAV_XML_MAX_ATTRS + over; i++)
			buf_printf(&b, " a%d=\"v\"", i);
		buf_printf(&b, "/>");
		assert_int_equal(dav_xml_parse(buf_str(&b), &doc, &error), over ? -1 : 0);
		dav_xml_free(&doc);
	}
	buf_free(&b);
}

/* A long namespace URI declared once and used by many elements is copied
 * into each: the pool's bound stops that (no amplification past it). */
static void test_pool_limit(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4 << 20);
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	buf_printf(&b, "<r xmlns:x=\"urn:");
	for (size_t i = 0; i < 100 * 1000; i++)
		buf_putc(&b, 'u');
	buf_printf(&b, "\">");
	for (size_t i = 0; i < 200; i++)
		buf_printf(&b, "<x:a/>");
	buf_printf(&b, "</r>");
	assert_int_equal(dav_xml_parse(buf_str(&b), &doc, &error), -1);
	assert_string_equal(error, "XML request too large");
	assert_null(doc);
	buf_free(&b);
}

static void test_billion_laughs(void **state)
{
	(void)state;
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	const char *lol = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
			  "<!ENTITY lol \"lol\">\n"
			  "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
			  "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
			  "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
			  "]>\n<D:propfind xmlns:D=\"DAV:\"><D:prop><D:displayname>&lol3;</D:displayname>"
			  "</D:prop></D:propfind>";
	assert_int_equal(parse(lol, &doc, &error), -1);
	assert_null(doc);
	assert_string_equal(error, "XML with a DOCTYPE is not accepted");
}

static void test_xxe(void **state)
{
	(void)state;
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	assert_int_equal(parse("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
			       "<r>&x;</r>", &doc, &error), -1);
	assert_string_equal(error, "XML with a DOCTYPE is not accepted");
	/* a DOCTYPE with an external subset and none internal */
	assert_int_equal(parse("<!DOCTYPE r SYSTEM \"http://example.com/x.dtd\"><r/>", &doc, &error), -1);
	/* without a DTD, an entity reference is simply undefined */
	assert_int_equal(parse("<r>&x;</r>", &doc, &error), -1);
	assert_string_equal(error, "malformed XML");
	assert_null(doc);
}

static void test_malformed(void **state)
{
	(void)state;
	struct dav_xml_doc *doc = NULL;
	const char *error = NULL;
	assert_int_equal(parse("", &doc, &error), -1);
	assert_int_equal(parse("<a><b></a>", &doc, &error), -1);
	assert_int_equal(parse("<a/><b/>", &doc, &error), -1);
	assert_int_equal(parse("<x:a/>", &doc, &error), -1);   /* unbound prefix */
	assert_int_equal(dav_xml_parse(str_from("<a>\0</a>", 8), &doc, &error), -1);
	assert_null(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_text_and_attrs),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_node_limit),
		cmocka_unit_test(test_text_limit),
		cmocka_unit_test(test_attr_limit),
		cmocka_unit_test(test_pool_limit),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_xxe),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
