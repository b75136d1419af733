/*
 * dav-deadprops: dead properties (RFC 4918 4), the properties a client
 * sets on a collection or an object that the server neither computes nor
 * interprets.  A PROPPATCH's value is the property element's content,
 * written back as XML that declares every namespace it uses (its prefixes
 * are ours, its namespaces and names the client's), so it reads the same
 * inside any answer; dav-store keeps it.  Limits: DAV_MAX_DEAD_PROPS per
 * resource, DAV_MAX_DEAD_VALUE per value, DAV_MAX_DEAD_NAME per name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav-private.h"

/* The namespace the xml: prefix is bound to (Namespaces in XML 3): it is
 * never declared, and no other prefix may name it. */
#define XML_NS "http://www.w3.org/XML/1998/namespace"

/* escape_attr escapes an attribute value: also tab and line feed, which a
 * parser would otherwise read back as spaces (XML 1.0 3.3.3). */
static int escape_attr(struct buf *out, struct str v)
{
	size_t from = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.ptr[i] != '\n' && v.ptr[i] != '\t')
			continue;
		if (dav_xml_escape_append(out, str_sub(v, from, i - from)) < 0 ||
		    buf_printf(out, "&#%d;", v.ptr[i]) < 0)
			return -1;
		from = i + 1;
	}
	return dav_xml_escape_append(out, str_sub(v, from, v.len - from));
}

/* write_attrs writes n's attributes, declaring a prefix Ai for each
 * namespaced one (xml: stays xml:). */
static int write_attrs(struct buf *out, const struct dav_xml_node *n)
{
	for (size_t i = 0; i < n->attr_count; i++) {
		const struct dav_xml_attr *a = &n->attrs[i];
		int r;
		if (a->ns.len == 0)
			r = buf_printf(out, " %.*s=\"", (int)a->name.len, a->name.ptr);
		else if (str_eq(a->ns, STR(XML_NS)))
			r = buf_printf(out, " xml:%.*s=\"", (int)a->name.len, a->name.ptr);
		else if ((r = buf_printf(out, " xmlns:A%zu=\"", i)) == 0 && (r = dav_xml_escape_append(out, a->ns)) == 0)
			r = buf_printf(out, "\" A%zu:%.*s=\"", i, (int)a->name.len, a->name.ptr);
		if (r < 0 || escape_attr(out, a->value) < 0 || buf_putc(out, '"') < 0)
			return -1;
	}
	return 0;
}

static int write_content(struct buf *out, const struct dav_xml_node *n, const char *prefix, unsigned depth);

/* write_element writes n; parent_ns/parent_prefix: the namespace the
 * enclosing element of the value was written in and its prefix (NULL: none
 * of ours), reused when n is in the same one. */
static int write_element(struct buf *out, const struct dav_xml_node *n, struct str parent_ns,
			 const char *parent_prefix, unsigned depth)
{
	char prefix[16] = "";
	bool declare = false;
	if (str_eq(n->ns, STR(XML_NS))) {
		snprintf(prefix, sizeof(prefix), "xml");
	} else if (n->ns.len > 0) {
		if (parent_prefix != NULL && str_eq(n->ns, parent_ns)) {
			snprintf(prefix, sizeof(prefix), "%s", parent_prefix);
		} else {
			snprintf(prefix, sizeof(prefix), "V%u", depth);
			declare = true;
		}
	}
	const char *colon = prefix[0] ? ":" : "";
	if (buf_printf(out, "<%s%s%.*s", prefix, colon, (int)n->name.len, n->name.ptr) < 0)
		return -1;
	if (declare && (buf_printf(out, " xmlns:%s=\"", prefix) < 0 || dav_xml_escape_append(out, n->ns) < 0 ||
			buf_putc(out, '"') < 0))
		return -1;
	if (write_attrs(out, n) < 0)
		return -1;
	if (n->children == NULL && n->text.len == 0)
		return buf_printf(out, "/>");
	if (buf_putc(out, '>') < 0 || write_content(out, n, prefix[0] ? prefix : NULL, depth) < 0)
		return -1;
	return buf_printf(out, "</%s%s%.*s>", prefix, colon, (int)n->name.len, n->name.ptr);
}

/* write_content writes n's text and children in document order. */
static int write_content(struct buf *out, const struct dav_xml_node *n, const char *prefix, unsigned depth)
{
	size_t pos = 0;
	for (const struct dav_xml_node *ch = n->children; ch != NULL; ch = ch->next) {
		size_t at = ch->text_pos <= n->text.len ? ch->text_pos : n->text.len;
		if (at > pos && dav_xml_escape_append(out, str_sub(n->text, pos, at - pos)) < 0)
			return -1;
		pos = at > pos ? at : pos;
		if (write_element(out, ch, n->ns, prefix, depth + 1) < 0)
			return -1;
	}
	return dav_xml_escape_append(out, str_sub(n->text, pos, n->text.len - pos));
}

int dav_dead_value(const struct dav_xml_node *p, struct buf *out)
{
	/* the property element itself is written by the answer, in its own
	 * namespace: nothing of the value leans on its prefix */
	return write_content(out, p, NULL, 0);
}

int dav_dead_pending_add(struct dav_dead_pending *d, const struct dav_xml_node *p, bool remove)
{
	if (p->ns.len + p->name.len > DAV_MAX_DEAD_NAME)
		return 507;
	if (d->n == d->max) {
		size_t max = d->max ? d->max * 2 : 8;
		struct dav_dead_change *grown = realloc(d->changes, max * sizeof(*grown));
		if (grown == NULL)
			return 507;
		d->changes = grown;
		d->max = max;
	}
	struct dav_dead_change *ch = &d->changes[d->n];
	memset(ch, 0, sizeof(*ch));
	ch->ns = p->ns;
	ch->name = p->name;
	ch->remove = remove;
	if (!remove) {
		struct buf v;
		buf_init(&v, DAV_MAX_DEAD_VALUE);
		if (dav_dead_value(p, &v) < 0) {
			buf_free(&v);
			return 507;
		}
		char *copy = malloc(v.len + 1);
		if (copy == NULL) {
			buf_free(&v);
			return 507;
		}
		memcpy(copy, v.data, v.len);
		copy[v.len] = '\0';
		ch->value = str_from(copy, v.len);
		buf_free(&v);
	}
	d->n++;
	return 200;
}

void dav_dead_pending_free(struct dav_dead_pending *d)
{
	for (size_t i = 0; i < d->n; i++)
		free((char *)d->changes[i].value.ptr);
	free(d->changes);
	memset(d, 0, sizeof(*d));
}

int dav_dead_load(struct dav_ctx *c, struct dav_res *r, const char **error_r)
{
	if (r->coll == NULL)
		return 0;
	struct str obj = r->obj != NULL ? str_c(r->obj->name) : STR("");
	return dav_dead_list(c->env->store, r->coll->id, obj, &r->dead, &r->dead_count, error_r);
}

const struct dav_dead_prop *dav_dead_find(const struct dav_res *r, struct str ns, struct str name)
{
	for (size_t i = 0; i < r->dead_count; i++)
		if (str_eq(ns, str_c(r->dead[i].ns)) && str_eq(name, str_c(r->dead[i].name)))
			return &r->dead[i];
	return NULL;
}

int dav_dead_write(struct dav_ctx *c, const struct dav_dead_prop *d, bool value)
{
	if (!value)
		return dav_ms_empty(c, str_c(d->ns), str_c(d->name));
	return dav_ms_markup(c, str_c(d->ns), str_c(d->name), str_c(d->value));
}
