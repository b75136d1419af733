/*
 * dav-query-stub: stands in for dav-query.c (the query REPORTs and the
 * outbox POST) while that module is not in the tree: both answer 501.
 * meson.build picks this file only when dav-query.c is absent.
 */
#include "dav-private.h"

int dav_query_report(struct dav_ctx *c, const struct dav_xml_node *root)
{
	(void)root;
	dav_set_status(c, 501);
	return 0;
}

int dav_outbox_post(struct dav_ctx *c)
{
	dav_set_status(c, 501);
	return 0;
}
