/* dns-cache: bounded copies of DNS answers, for evaluation by replay (see
 * dns-cache.h). */
#include "dns-cache.h"

#include <stdlib.h>
#include <string.h>

struct dns_cache_entry {
	enum dns_type type;
	char name[DNS_MAX_NAME + 1];
	size_t name_len;
	size_t bytes;               /* record data held, counted against the bound */
	struct dns_answer answer;   /* records and their data: one allocation */
};

struct dns_cache {
	struct dns_cache_entry entries[DNS_CACHE_MAX_ENTRIES];
	size_t count;
	size_t bytes;
};

/* name_key drops one final dot: "a.test." and "a.test" are one name. */
static struct str name_key(struct str name)
{
	if (name.len > 0 && name.ptr[name.len - 1] == '.')
		name.len--;
	return name;
}

struct dns_cache *dns_cache_new(void)
{
	return calloc(1, sizeof(struct dns_cache));
}

static void entry_free(struct dns_cache_entry *e)
{
	free(e->answer.records);
	memset(e, 0, sizeof(*e));
}

void dns_cache_clear(struct dns_cache *c)
{
	for (size_t i = 0; i < c->count; i++)
		entry_free(&c->entries[i]);
	c->count = 0;
	c->bytes = 0;
}

void dns_cache_free(struct dns_cache **c)
{
	if (*c == NULL)
		return;
	dns_cache_clear(*c);
	free(*c);
	*c = NULL;
}

static struct dns_cache_entry *entry_find(const struct dns_cache *c, enum dns_type type,
					  struct str name)
{
	name = name_key(name);
	for (size_t i = 0; i < c->count; i++) {
		const struct dns_cache_entry *e = &c->entries[i];
		if (e->type == type && str_case_eq(str_from(e->name, e->name_len), name))
			return (struct dns_cache_entry *)e;
	}
	return NULL;
}

const struct dns_answer *dns_cache_get(const struct dns_cache *c, enum dns_type type,
				       struct str name)
{
	const struct dns_cache_entry *e = entry_find(c, type, name);
	return e != NULL ? &e->answer : NULL;
}

/* answer_copy makes one allocation holding the records and their data. */
static int answer_copy(const struct dns_answer *a, struct dns_answer *out, size_t *bytes)
{
	size_t data = 0;

	if (a->count > DNS_MAX_RECORDS || (a->count > 0 && a->records == NULL))
		return -1;
	for (size_t i = 0; i < a->count; i++) {
		if (a->records[i].data.len > DNS_MAX_RDATA ||
		    (a->records[i].data.len > 0 && a->records[i].data.ptr == NULL))
			return -1;
		data += a->records[i].data.len + 1;
	}
	*out = (struct dns_answer){ .status = a->status, .secure = a->secure, .count = a->count };
	*bytes = data;
	if (a->count == 0)
		return 0;
	struct dns_record *r = malloc(a->count * sizeof(*r) + data);
	if (r == NULL)
		return -1;
	char *p = (char *)(r + a->count);
	for (size_t i = 0; i < a->count; i++) {
		r[i] = a->records[i];
		if (a->records[i].data.len > 0)
			memcpy(p, a->records[i].data.ptr, a->records[i].data.len);
		p[a->records[i].data.len] = '\0';
		r[i].data = str_from(p, a->records[i].data.len);
		p += a->records[i].data.len + 1;
	}
	out->records = r;
	return 0;
}

int dns_cache_put(struct dns_cache *c, enum dns_type type, struct str name,
		  const struct dns_answer *a)
{
	struct dns_answer copy;
	size_t bytes;

	name = name_key(name);
	if (name.len > DNS_MAX_NAME)
		return -1;
	struct dns_cache_entry *e = entry_find(c, type, name);
	size_t held = c->bytes - (e != NULL ? e->bytes : 0);
	if ((e == NULL && c->count == DNS_CACHE_MAX_ENTRIES) || answer_copy(a, &copy, &bytes) < 0)
		return -1;
	if (bytes > DNS_CACHE_MAX_BYTES - held) {
		free(copy.records);
		return -1;
	}
	if (e != NULL)
		entry_free(e);
	else
		e = &c->entries[c->count++];
	e->type = type;
	memcpy(e->name, name.ptr, name.len);
	e->name[name.len] = '\0';
	e->name_len = name.len;
	e->bytes = bytes;
	e->answer = copy;
	c->bytes = held + bytes;
	return 0;
}

size_t dns_cache_count(const struct dns_cache *c)
{
	return c->count;
}

void dns_need_set(struct dns_need *need, enum dns_type type, struct str name)
{
	name = name_key(name);
	if (name.len > DNS_MAX_NAME)
		name.len = DNS_MAX_NAME;
	need->type = type;
	memcpy(need->name, name.ptr, name.len);
	need->name[name.len] = '\0';
}
