/*
 * mta-sts-cache: MTA-STS policies per domain until max_age (see
 * mta-sts-cache.h).  A plain array searched linearly: a relay child is
 * started per destination, not per message, and a few thousand short
 * compares are nothing beside the TLS handshake that follows.
 */
#include "relay/mta-sts-cache.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct mta_sts_cache {
	size_t count, max;
	struct mta_sts_cache_entry *entries;
};

struct mta_sts_cache *mta_sts_cache_new(size_t max_entries)
{
	if (max_entries == 0 || max_entries > MTA_STS_CACHE_MAX_ENTRIES)
		return NULL;
	struct mta_sts_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->entries = calloc(max_entries, sizeof(*c->entries));
	if (c->entries == NULL) {
		free(c);
		return NULL;
	}
	c->max = max_entries;
	return c;
}

void mta_sts_cache_free(struct mta_sts_cache **c)
{
	if (*c == NULL)
		return;
	for (size_t i = 0; i < (*c)->count; i++)
		free((*c)->entries[i].policy);
	free((*c)->entries);
	free(*c);
	*c = NULL;
}

/* find: the index of domain, or -1. */
static long find(const struct mta_sts_cache *c, struct str domain)
{
	if (domain.len > 0 && domain.ptr[domain.len - 1] == '.')
		domain.len--;
	for (size_t i = 0; i < c->count; i++)
		if (str_case_eq(str_c(c->entries[i].domain), domain))
			return (long)i;
	return -1;
}

/* remove_at frees entry i and moves the last entry into its place. */
static void remove_at(struct mta_sts_cache *c, size_t i)
{
	assert(i < c->count);
	free(c->entries[i].policy);
	c->entries[i] = c->entries[--c->count];
	memset(&c->entries[c->count], 0, sizeof(c->entries[c->count]));
}

int mta_sts_cache_put(struct mta_sts_cache *c, struct str domain, const struct mta_sts_id *id,
		      struct str policy, uint32_t max_age, int64_t now)
{
	if (domain.len > 0 && domain.ptr[domain.len - 1] == '.')
		domain.len--;
	if (domain.len == 0 || domain.len > DNS_MAX_NAME || memchr(domain.ptr, '\0', domain.len))
		return -1;
	if (policy.len > MTA_STS_FORMAT_MAX || max_age > MTA_STS_MAX_AGE)
		return -1;
	if (strnlen(id->id, sizeof(id->id)) == sizeof(id->id))
		return -1;
	long at = find(c, domain);
	if (max_age == 0) {
		if (at >= 0)
			remove_at(c, (size_t)at);
		return 0;
	}
	char *text = malloc(policy.len + 1);
	if (text == NULL)
		return -1;
	memcpy(text, policy.ptr, policy.len);
	text[policy.len] = '\0';
	if (at < 0 && c->count == c->max) {
		/* Full: the entry that expires first goes. */
		size_t first = 0;
		for (size_t i = 1; i < c->count; i++)
			if (c->entries[i].expires < c->entries[first].expires)
				first = i;
		remove_at(c, first);
	}
	if (at < 0)
		at = (long)c->count++;
	struct mta_sts_cache_entry *e = &c->entries[at];
	free(e->policy);
	memset(e, 0, sizeof(*e));
	memcpy(e->domain, domain.ptr, domain.len);
	str_lower(e->domain, domain.len);
	e->id = *id;
	e->fetched = now;
	e->expires = now + max_age;
	e->policy = text;
	e->policy_len = policy.len;
	return 0;
}

const struct mta_sts_cache_entry *mta_sts_cache_get(struct mta_sts_cache *c, struct str domain,
						    int64_t now)
{
	long at = find(c, domain);
	if (at < 0)
		return NULL;
	if (c->entries[at].expires <= now) {
		remove_at(c, (size_t)at);
		return NULL;
	}
	return &c->entries[at];
}

void mta_sts_cache_drop(struct mta_sts_cache *c, struct str domain)
{
	long at = find(c, domain);
	if (at >= 0)
		remove_at(c, (size_t)at);
}

size_t mta_sts_cache_count(const struct mta_sts_cache *c)
{
	return c->count;
}

enum mta_sts_plan mta_sts_cache_plan(int txt, const struct mta_sts_id *txt_id,
				     const struct mta_sts_id *cached_id)
{
	if (txt == 1) {
		if (cached_id != NULL && strcmp(cached_id->id, txt_id->id) == 0)
			return MTA_STS_PLAN_CACHED;
		return MTA_STS_PLAN_FETCH;
	}
	/* No record or a failed lookup: a cached policy still holds until
	 * it expires (RFC 8461 5.1). */
	return cached_id != NULL ? MTA_STS_PLAN_CACHED : MTA_STS_PLAN_NONE;
}
