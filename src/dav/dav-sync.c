/*
 * dav-sync: the sync-collection REPORT (RFC 6578): the members changed
 * since the client's token (all of them for an empty token), deletions as
 * 404 responses, a DAV:limit honoured with the 507 response of RFC 6578
 * 3.6, and the new token.  Tokens are "urn:ravelin:sync:<collection>:<change>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav-private.h"

/* A collection's changes to report: its objects plus the deletions it
 * remembers; the list is the names and numbers only. */
#define DAV_MAX_SYNC_ITEMS (DAV_MAX_OBJECTS + DAV_MAX_CHANGES_KEPT)

struct change {
	char *name;
	bool deleted;
	uint64_t change;
};

struct change_list {
	struct change *items;
	size_t n;
	bool too_many;
};

static int collect(void *ctx, struct str name, bool deleted, uint64_t change)
{
	struct change_list *l = ctx;
	if (l->n >= DAV_MAX_SYNC_ITEMS) {
		l->too_many = true;
		return 1;
	}
	char *copy = strndup(name.ptr, name.len);
	if (copy == NULL) {
		l->too_many = true;
		return 1;
	}
	l->items[l->n++] = (struct change){ copy, deleted, change };
	return 0;
}

static void changes_free(struct change_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].name);
	free(l->items);
}

/* parse_limit: <D:limit><D:nresults>n</D:nresults></D:limit>: 0 (none:
 * *n SIZE_MAX), -1 malformed. */
static int parse_limit(const struct dav_xml_node *root, size_t *n)
{
	*n = SIZE_MAX;
	const struct dav_xml_node *l = dav_xml_child(root, DAV_NS_DAV, "limit");
	if (l == NULL)
		return 0;
	const struct dav_xml_node *nr = dav_xml_child(l, DAV_NS_DAV, "nresults");
	uint64_t v;
	if (nr == NULL || str_to_u64(str_trim(nr->text), DAV_MAX_SYNC_ITEMS, &v) < 0)
		return -1;
	*n = (size_t)v;
	return 0;
}

/* one_change: the response for one changed name. */
static int one_change(struct dav_ctx *c, const struct change *ch, const struct dav_xml_node *prop)
{
	const struct dav_collection *coll = &c->target.coll;
	if (!ch->deleted) {
		struct dav_object o;
		const char *error = NULL;
		int g = dav_object_get(c->env->store, coll->id, str_c(ch->name), true, &o, &error);
		if (g < 0)
			return -2;
		if (g == 1) {
			int ret = dav_object_response(c, coll, &o, prop);
			dav_object_free(&o);
			return ret;
		}
	}
	int ret = dav_ms_response_at(c, c->target.home, str_c(coll->name), str_c(ch->name));
	if (ret == 0)
		ret = dav_ms_status(c, 404);
	return ret == 0 ? dav_ms_response_end(c) : -1;
}

/* truncated: RFC 6578 3.6, the request-URI answered 507 when the limit cut
 * the list short. */
static int truncated(struct dav_ctx *c)
{
	int ret = dav_ms_response_at(c, c->target.home, c->target.coll_name, STR(""));
	if (ret == 0)
		ret = dav_ms_status(c, 507);
	if (ret == 0)
		ret = dav_ms_raw(c, "<D:error><D:number-of-matches-within-limits/></D:error>");
	return ret == 0 ? dav_ms_response_end(c) : -1;
}

void dav_sync_collection(struct dav_ctx *c, const struct dav_xml_node *root)
{
	unsigned kinds = (1u << DAV_CALENDAR) | (1u << DAV_ADDRESSBOOK) | (1u << DAV_SCHEDULE_INBOX);
	if (!dav_report_collection(c, kinds))
		return;
	const struct dav_collection *coll = &c->target.coll;
	const struct dav_xml_node *tok = dav_xml_child(root, DAV_NS_DAV, "sync-token");
	const struct dav_xml_node *prop = dav_xml_child(root, DAV_NS_DAV, "prop");
	size_t limit;
	if (parse_limit(root, &limit) < 0) {
		dav_set_status(c, 400);
		return;
	}
	if (dav_prop_check(c, prop) < 0)
		return;
	uint64_t since = 0;
	struct str token = tok ? str_trim(tok->text) : STR("");
	int64_t token_coll;
	if (token.len > 0 && (dav_sync_token_parse(token, &token_coll, &since) < 0 || token_coll != coll->id)) {
		dav_precondition(c, 403, DAV_NS_DAV, "valid-sync-token", STR(""));
		return;
	}
	struct change_list l = { calloc(DAV_MAX_SYNC_ITEMS, sizeof(struct change)), 0, false };
	if (l.items == NULL) {
		dav_set_status(c, 503);
		return;
	}
	const char *error = NULL;
	int r = dav_changes_since(c->env->store, coll->id, since, collect, &l, &error);
	if (r == 1) {
		dav_precondition(c, 403, DAV_NS_DAV, "valid-sync-token", STR(""));
		goto out;
	}
	if (r < 0 || l.too_many) {
		dav_internal_error(c, "dav_changes_since", r < 0 ? error : "too many changes");
		goto out;
	}
	/* the token of what is reported: everything, or up to the last given */
	uint64_t upto = coll->sync > since ? coll->sync : since;
	size_t n = l.n;
	if (n > limit) {
		n = limit;
		upto = n > 0 ? l.items[n - 1].change : since;
	}
	int ret = dav_ms_begin(c);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = one_change(c, &l.items[i], prop);
	if (ret == 0 && n < l.n)
		ret = truncated(c);
	char out[DAV_SYNC_TOKEN_MAX];
	dav_sync_token(coll->id, upto, out);
	if (ret == 0 && (dav_ms_raw(c, "<D:sync-token>") < 0 || dav_ms_escape(c, str_c(out)) < 0 ||
			 dav_ms_raw(c, "</D:sync-token>") < 0))
		ret = -1;
	if (ret == 0)
		ret = dav_ms_end(c);
	if (ret == -2)
		dav_internal_error(c, "sync-collection", "dav_object_get");
	else if (ret < 0)
		dav_ms_overflow(c);
out:
	changes_free(&l);
}
