/* dns-cache: answers kept for replay (see dns-cache.h). */
#include <stdlib.h>
#include <string.h>

#include "dns-cache.h"

struct dns_cache_entry {
	enum dns_type type;
	char name[DNS_MAX_NAME + 1];
	size_t name_len;
	struct dns_answer answer;
};

struct dns_cache {
	size_t count;
	struct dns_cache_entry entry[DNS_CACHE_MAX_ENTRIES];
};

struct dns_cache *dns_cache_new(void)
{
	return calloc(1, sizeof(struct dns_cache));
}

static void answer_free(struct dns_answer *a)
{
	for (size_t i = 0; i < a->count; i++)
		free((void *)a->records[i].data.ptr);
	free(a->records);
	memset(a, 0, sizeof(*a));
}

void dns_cache_free(struct dns_cache **c)
{
	if (*c == NULL)
		return;
	for (size_t i = 0; i < (*c)->count; i++)
		answer_free(&(*c)->entry[i].answer);
	free(*c);
	*c = NULL;
}

static struct str without_dot(struct str name)
{
	if (name.len > 0 && name.ptr[name.len - 1] == '.')
		name.len--;
	return name;
}

static struct dns_cache_entry *find(const struct dns_cache *c, enum dns_type type,
				    struct str name)
{
	name = without_dot(name);
	for (size_t i = 0; i < c->count; i++) {
		const struct dns_cache_entry *e = &c->entry[i];
		if (e->type == type && str_case_eq(str_from(e->name, e->name_len), name))
			return (struct dns_cache_entry *)e;
	}
	return NULL;
}

const struct dns_answer *dns_cache_get(const struct dns_cache *c, enum dns_type type,
				       struct str name)
{
	const struct dns_cache_entry *e = find(c, type, name);
	return e != NULL ? &e->answer : NULL;
}

int dns_cache_put(struct dns_cache *c, enum dns_type type, struct str name,
		  const struct dns_answer *a)
{
	struct dns_answer copy = { .status = a->status, .secure = a->secure };

	name = without_dot(name);
	if (name.len > DNS_MAX_NAME || a->count > DNS_MAX_RECORDS)
		return -1;
	struct dns_cache_entry *e = find(c, type, name);
	if (e == NULL && c->count == DNS_CACHE_MAX_ENTRIES)
		return -1;
	if (a->count > 0) {
		copy.records = calloc(a->count, sizeof(*copy.records));
		if (copy.records == NULL)
			return -1;
	}
	for (size_t i = 0; i < a->count; i++) {
		struct dns_record *r = &copy.records[i];
		*r = a->records[i];
		char *data = malloc(r->data.len + 1);
		if (data == NULL) {
			answer_free(&copy);
			return -1;
		}
		if (r->data.len > 0)
			memcpy(data, a->records[i].data.ptr, r->data.len);
		data[r->data.len] = '\0';
		r->data.ptr = data;
		copy.count = i + 1;
	}
	copy.count = a->count;
	if (e == NULL) {
		e = &c->entry[c->count++];
		e->type = type;
		memcpy(e->name, name.ptr, name.len);
		e->name[name.len] = '\0';
		e->name_len = name.len;
	} else {
		answer_free(&e->answer);
	}
	e->answer = copy;
	return 0;
}
