/*
 * store-mem-mailbox: the in-memory backend's mailboxes (their arrays of
 * messages in UID order, UIDs and MODSEQs given as the SQLite backend
 * gives them), the calls that list, create, delete, rename and subscribe
 * them and claim \Recent, keywords, and COPY and MOVE.
 */
#include "store-mem-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "index-text.h"

/* ---------- mailboxes ---------- */

struct mem_mailbox *mem_mailbox_find(struct mem_store *s, const char *name)
{
	struct mem_state *st = &s->account->state;
	for (size_t i = 0; i < st->box_count; i++)
		if (strcmp(st->boxes[i].name, name) == 0)
			return &st->boxes[i];
	return NULL;
}

/* mem_mailbox_or_status finds a mailbox or gives STORE_NOT_FOUND's text. */
struct mem_mailbox *mem_mailbox_or_status(struct mem_store *s, const char *name, int *ret_r,
					     const char **error_r)
{
	struct mem_mailbox *b = mem_mailbox_find(s, name);
	if (b == NULL)
		*ret_r = mem_status(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	return b;
}

/* mem_mailbox_reach is mem_mailbox_or_status for a call that a batch
 * refuses (STORE_ERROR). */
struct mem_mailbox *mem_mailbox_reach(struct mem_store *s, const char *name, int *ret_r,
				      const char **error_r)
{
	if (mem_no_batch(s, error_r) < 0) {
		*ret_r = STORE_ERROR;
		return NULL;
	}
	return mem_mailbox_or_status(s, name, ret_r, error_r);
}

/* next_uidvalidity: the current time, but always above every earlier one
 * (RFC 9051 2.3.1.1), as the SQLite backend gives it. */
static uint32_t next_uidvalidity(struct mem_state *st)
{
	int64_t now = (int64_t)time(NULL);
	int64_t next = now > st->last_uidvalidity ? now : st->last_uidvalidity + 1;
	if (next <= 0 || next > UINT32_MAX)
		next = 1;
	st->last_uidvalidity = next;
	return (uint32_t)next;
}

/* mem_mailbox_add appends an empty mailbox; NULL: no memory. */
struct mem_mailbox *mem_mailbox_add(struct mem_state *st, const char *name,
				       enum store_special_use special_use, bool subscribed)
{
	struct mem_mailbox *boxes = reallocarray(st->boxes, st->box_count + 1, sizeof(*boxes));
	if (boxes == NULL)
		return NULL;
	st->boxes = boxes;
	struct mem_mailbox *b = &boxes[st->box_count];
	memset(b, 0, sizeof(*b));
	if ((b->name = strdup(name)) == NULL)
		return NULL;
	st->box_count++;
	b->special_use = special_use;
	b->uidvalidity = next_uidvalidity(st);
	b->uidnext = b->highestmodseq = b->first_recent = 1;
	b->subscribed = subscribed;
	return b;
}

/* mem_message_find gives the index of uid in b, or b->count. */
size_t mem_message_find(const struct mem_mailbox *b, uint32_t uid)
{
	size_t lo = 0, hi = b->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->msgs[mid].m.uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->count && b->msgs[lo].m.uid == uid ? lo : b->count;
}

/* mem_message_append adds m as b's message with the next UID (content
 * referenced once more).  -1: no UIDs left or no memory. */
int mem_message_append(struct mem_store *s, struct mem_mailbox *b, struct store_message m,
			  struct mem_content *content, uint64_t modseq, uint32_t *uid_r,
			  const char **error_r)
{
	if (b->uidnext > MEM_UID_MAX)
		return mem_fail(s, error_r, "store: mailbox %s has no UIDs left", b->name);
	struct mem_message *msgs = reallocarray(b->msgs, b->count + 1, sizeof(*msgs));
	if (msgs == NULL)
		return mem_no_memory(s, error_r);
	b->msgs = msgs;
	m.uid = (uint32_t)b->uidnext++;
	m.modseq = modseq;
	msgs[b->count++] = (struct mem_message){ m, content, false };
	content->refs++;
	*uid_r = m.uid;
	return 0;
}

/* expunged_add records uid as expunged from b at modseq (one entry per
 * UID, the latest). */
static int expunged_add(struct mem_store *s, struct mem_mailbox *b, uint32_t uid,
			uint64_t modseq, const char **error_r)
{
	for (size_t i = 0; i < b->expunged_count; i++) {
		if (b->expunged[i].uid == uid) {
			b->expunged[i].modseq = modseq;
			return 0;
		}
	}
	struct mem_expunged *e = reallocarray(b->expunged, b->expunged_count + 1, sizeof(*e));
	if (e == NULL)
		return mem_no_memory(s, error_r);
	b->expunged = e;
	e[b->expunged_count++] = (struct mem_expunged){ uid, modseq };
	return 0;
}

/* mem_message_remove takes message i out of b, recording it as expunged. */
int mem_message_remove(struct mem_store *s, struct mem_mailbox *b, size_t i, uint64_t modseq,
			  const char **error_r)
{
	if (expunged_add(s, b, b->msgs[i].m.uid, modseq, error_r) < 0)
		return -1;
	mem_content_unref(b->msgs[i].content);
	memmove(&b->msgs[i], &b->msgs[i + 1], (b->count - i - 1) * sizeof(*b->msgs));
	b->count--;
	return 0;
}

/* ---------- mailboxes ---------- */

static int box_compare(const void *x, const void *y)
{
	const struct store_mailbox *a = x, *b = y;
	bool ai = strcmp(a->name, "INBOX") == 0, bi = strcmp(b->name, "INBOX") == 0;
	if (ai != bi)
		return ai ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* mailbox_fill gives the public view of b with its counts. */
static int mailbox_fill(struct mem_store *s, const struct mem_mailbox *b,
			struct store_mailbox *out, const char **error_r)
{
	memset(out, 0, sizeof(*out));
	if ((out->name = strdup(b->name)) == NULL)
		return mem_no_memory(s, error_r);
	out->id = (int64_t)(b - s->account->state.boxes) + 1;
	out->special_use = b->special_use;
	out->uidvalidity = b->uidvalidity;
	out->uidnext = (uint32_t)(b->uidnext > MEM_UID_MAX ? 0 : b->uidnext);
	out->highestmodseq = b->highestmodseq;
	out->subscribed = b->subscribed;
	out->messages = b->count;
	for (size_t i = 0; i < b->count; i++) {
		out->unseen += (b->msgs[i].m.flags & STORE_FLAG_SEEN) == 0;
		out->bytes += b->msgs[i].m.size;
		out->recent += b->msgs[i].m.uid >= b->first_recent;
	}
	return 0;
}

int mem_mailbox_list(struct store *store, struct store_mailbox **list_r, size_t *count_r,
			    const char **error_r)
{
	struct mem_store *s = mem_store(store);
	struct mem_state *st = &s->account->state;

	if (mem_no_batch(s, error_r) < 0)
		return -1;
	struct store_mailbox *list = calloc(st->box_count + 1, sizeof(*list));
	if (list == NULL)
		return mem_no_memory(s, error_r);
	for (size_t i = 0; i < st->box_count; i++) {
		if (mailbox_fill(s, &st->boxes[i], &list[i], error_r) < 0) {
			store_mailbox_list_free(&list, i);
			return -1;
		}
		list[i].recent = 0; /* as the SQLite backend's list */
	}
	qsort(list, st->box_count, sizeof(*list), box_compare);
	*list_r = list;
	*count_r = st->box_count;
	return 0;
}

int mem_mailbox_get(struct store *store, const char *name, struct store_mailbox *box_r,
			   const char **error_r)
{
	struct mem_store *s = mem_store(store);
	int ret = STORE_OK;

	if (mem_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	struct mem_mailbox *b = mem_mailbox_find(s, name);
	if (b == NULL) {
		*error_r = "No such mailbox";
		return STORE_NOT_FOUND;
	}
	if (mailbox_fill(s, b, box_r, error_r) < 0)
		ret = STORE_ERROR;
	return ret;
}

int mem_mailbox_claim_recent(struct store *store, const char *name, uint32_t *first_r,
				    uint32_t *next_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	int ret = STORE_OK;

	struct mem_mailbox *b = mem_mailbox_reach(s, name, &ret, error_r);
	if (b == NULL)
		return ret;
	uint64_t next = b->uidnext > UINT32_MAX ? UINT32_MAX : b->uidnext;
	*first_r = (uint32_t)(b->first_recent < b->uidnext ? b->first_recent : next);
	*next_r = (uint32_t)next;
	b->first_recent = b->uidnext;
	return STORE_OK;
}

/* kept_find: where name is (*found_r) or would go in the account's sorted
 * list of subscribed names that are no mailbox. */
static size_t kept_find(const struct mem_account *a, const char *name, bool *found_r)
{
	size_t lo = 0, hi = a->kept_count;
	*found_r = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(a->kept[mid], name);
		if (c == 0) {
			*found_r = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* kept_set keeps name subscribed without a mailbox, or no longer.
 * STORE_OK, STORE_LIMIT or STORE_ERROR (memory). */
static int kept_set(struct mem_store *s, const char *name, bool keep, const char **error_r)
{
	struct mem_account *a = s->account;
	bool found;
	size_t at = kept_find(a, name, &found);
	if (found && !keep) {
		free(a->kept[at]);
		memmove(a->kept + at, a->kept + at + 1, (a->kept_count - at - 1) * sizeof(*a->kept));
		a->kept_count--;
	}
	if (found || !keep)
		return STORE_OK;
	if (a->kept_count >= STORE_SUBSCRIPTIONS_MAX)
		return mem_status(s, STORE_LIMIT, error_r, "Too many subscriptions");
	char **p = reallocarray(a->kept, a->kept_count + 1, sizeof(*p));
	if (p == NULL)
		return mem_no_memory(s, error_r);
	a->kept = p;
	char *copy = strdup(name);
	if (copy == NULL)
		return mem_no_memory(s, error_r);
	memmove(a->kept + at + 1, a->kept + at, (a->kept_count - at) * sizeof(*a->kept));
	a->kept[at] = copy;
	a->kept_count++;
	return STORE_OK;
}

int mem_subscription_list(struct store *store, char ***names_r, size_t *count_r,
			  const char **error_r)
{
	struct mem_store *s = mem_store(store);
	const struct mem_account *a = s->account;
	char **names = calloc(a->kept_count + 1, sizeof(*names));
	if (names == NULL)
		return mem_no_memory(s, error_r);
	for (size_t i = 0; i < a->kept_count; i++) {
		if ((names[i] = strdup(a->kept[i])) == NULL) {
			store_subscription_list_free(&names, i);
			return mem_no_memory(s, error_r);
		}
	}
	*names_r = names;
	*count_r = a->kept_count;
	return STORE_OK;
}

int mem_mailbox_create(struct store *store, const char *name, const char **error_r)
{
	struct mem_store *s = mem_store(store);

	if (mem_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	if (mem_mailbox_find(s, name) != NULL)
		return mem_status(s, STORE_EXISTS, error_r, "Mailbox already exists");
	if (s->account->state.box_count >= STORE_MAILBOXES_MAX)
		return mem_status(s, STORE_LIMIT, error_r, "Too many mailboxes");
	bool kept;
	(void)kept_find(s->account, name, &kept);
	if (mem_mailbox_add(&s->account->state, name, STORE_SPECIAL_NONE, kept) == NULL)
		return mem_no_memory(s, error_r);
	/* A subscribed name becomes a subscribed mailbox. */
	return kept ? kept_set(s, name, false, error_r) : STORE_OK;
}

int mem_mailbox_delete(struct store *store, const char *name, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	struct mem_state *st = &s->account->state;
	int ret = STORE_OK;

	if (strcmp(name, "INBOX") == 0) {
		*error_r = "INBOX cannot be deleted";
		return STORE_NOT_ALLOWED;
	}
	struct mem_mailbox *b = mem_mailbox_reach(s, name, &ret, error_r);
	if (b == NULL)
		return ret;
	/* Its subscription stays (RFC 9051 6.3.9). */
	if (b->subscribed && (ret = kept_set(s, name, true, error_r)) != STORE_OK)
		return ret;
	mem_mailbox_free(b);
	size_t i = (size_t)(b - st->boxes);
	memmove(b, b + 1, (st->box_count - i - 1) * sizeof(*b));
	st->box_count--;
	return STORE_OK;
}

/* mem_copy_locked copies (or moves) the messages uids[0..count) (ascending) of
 * src into dst as the SQLite backend does; *src_r and *dst_r list them
 * (free()).  STORE_OK, STORE_OVER_QUOTA or STORE_ERROR (nothing changed,
 * unless memory ran out half-way). */
int mem_copy_locked(struct mem_store *s, struct mem_mailbox *src, struct mem_mailbox *dst,
		       const uint32_t *uids, size_t count, bool move, uint32_t **src_r,
		       uint32_t **dst_r, size_t *copied_r, const char **error_r)
{
	uint32_t *from = calloc(count + 1, sizeof(*from)), *to = calloc(count + 1, sizeof(*to));
	uint64_t bytes = 0;
	size_t n = 0;

	if (from == NULL || to == NULL) {
		free(from);
		free(to);
		return mem_no_memory(s, error_r);
	}
	for (size_t i = 0; i < count; i++) {
		size_t at = mem_message_find(src, uids[i]);
		if (at < src->count) {
			from[n++] = uids[i];
			bytes += src->msgs[at].m.size;
		}
	}
	int ret = move ? STORE_OK : mem_quota_check(s, bytes, error_r);
	if (ret == STORE_OK && n > 0 && dst->uidnext + n - 1 > MEM_UID_MAX)
		ret = mem_fail(s, error_r, "store: the target mailbox has no UIDs left");
	uint64_t src_modseq = src->highestmodseq + 1;
	uint64_t dst_modseq = src == dst ? src_modseq : dst->highestmodseq + 1;
	for (size_t i = 0; ret == STORE_OK && i < n; i++) {
		size_t at = mem_message_find(src, from[i]);
		struct mem_message m = src->msgs[at];
		/* A move within one mailbox must not see its own new rows. */
		if (mem_message_append(s, dst, m.m, m.content, dst_modseq, &to[i], error_r) < 0 ||
		    (move && mem_message_remove(s, src, mem_message_find(src, from[i]), src_modseq,
					    error_r) < 0))
			ret = STORE_ERROR;
	}
	if (ret != STORE_OK) {
		free(from);
		free(to);
		return ret;
	}
	if (n > 0) {
		dst->highestmodseq = dst_modseq;
		if (move)
			src->highestmodseq = src_modseq;
	}
	*src_r = from;
	*dst_r = to;
	*copied_r = n;
	return STORE_OK;
}

/* rename_inbox moves every INBOX message into a new mailbox to (RFC 9051
 * 6.3.6), INBOX staying with its UIDVALIDITY and UIDNEXT. */
static int rename_inbox(struct mem_store *s, const char *to, const char **error_r)
{
	struct mem_state *st = &s->account->state;
	if (st->box_count >= STORE_MAILBOXES_MAX)
		return mem_status(s, STORE_LIMIT, error_r, "Too many mailboxes");
	if (mem_mailbox_add(st, to, STORE_SPECIAL_NONE, false) == NULL)
		return mem_no_memory(s, error_r);
	struct mem_mailbox *inbox = mem_mailbox_find(s, "INBOX"), *dst = mem_mailbox_find(s, to);
	uint32_t *uids = calloc(inbox->count + 1, sizeof(*uids)), *from = NULL, *moved = NULL;
	size_t n = 0;
	if (uids == NULL)
		return mem_no_memory(s, error_r);
	for (size_t i = 0; i < inbox->count; i++)
		uids[i] = inbox->msgs[i].m.uid;
	int ret = mem_copy_locked(s, inbox, dst, uids, inbox->count, true, &from, &moved, &n,
			      error_r);
	free(uids);
	free(from);
	free(moved);
	return ret;
}

int mem_mailbox_rename(struct store *store, const char *from, const char *to,
			      const char **error_r)
{
	struct mem_store *s = mem_store(store);
	struct mem_state *st = &s->account->state;
	size_t fl = strlen(from), tl = strlen(to);

	if (strcmp(to, "INBOX") == 0 || strcmp(from, to) == 0 ||
	    (strncmp(to, from, fl) == 0 && to[fl] == '/')) {
		*error_r = "Cannot rename a mailbox into itself or onto INBOX";
		return STORE_NOT_ALLOWED;
	}
	if (mem_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	if (mem_mailbox_find(s, from) == NULL)
		return mem_status(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	if (mem_mailbox_find(s, to) != NULL)
		return mem_status(s, STORE_EXISTS, error_r, "Target mailbox exists");
	if (strcmp(from, "INBOX") == 0)
		return rename_inbox(s, to, error_r);
	/* Every new name first: a child's may be taken. */
	char **names = calloc(st->box_count + 1, sizeof(*names));
	int ret = names == NULL ? mem_no_memory(s, error_r) : STORE_OK;
	for (size_t i = 0; ret == STORE_OK && i < st->box_count; i++) {
		const char *name = st->boxes[i].name;
		if (strcmp(name, from) != 0 && (strncmp(name, from, fl) != 0 || name[fl] != '/'))
			continue;
		size_t rest = strlen(name) - fl;
		if ((names[i] = malloc(tl + rest + 1)) == NULL) {
			ret = mem_no_memory(s, error_r);
			break;
		}
		memcpy(names[i], to, tl);
		memcpy(names[i] + tl, name + fl, rest + 1);
		if (mem_mailbox_find(s, names[i]) != NULL)
			ret = mem_status(s, STORE_EXISTS, error_r, "A renamed child mailbox exists");
	}
	for (size_t i = 0; names != NULL && i < st->box_count; i++) {
		if (ret == STORE_OK && names[i] != NULL) {
			free(st->boxes[i].name);
			st->boxes[i].name = names[i];
			/* Renamed onto a subscribed name: it takes the
			 * subscription (as the SQLite trigger does). */
			bool kept;
			(void)kept_find(s->account, names[i], &kept);
			if (kept) {
				st->boxes[i].subscribed = true;
				(void)kept_set(s, names[i], false, error_r);
			}
		} else {
			free(names[i]);
		}
	}
	free(names);
	return ret;
}

int mem_mailbox_subscribe(struct store *store, const char *name, bool subscribed,
				 const char **error_r)
{
	struct mem_store *s = mem_store(store);
	int ret = STORE_OK;

	if (mem_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	struct mem_mailbox *b = mem_mailbox_find(s, name);
	if (b != NULL)
		b->subscribed = subscribed;
	if (b == NULL || !subscribed)
		ret = kept_set(s, name, subscribed, error_r);
	return ret;
}

/* ---------- keywords ---------- */

int mem_keyword_list(struct store *store, const char *const **names_r, size_t *count_r,
			    const char **error_r)
{
	struct mem_store *s = mem_store(store);
	(void)error_r;
	*names_r = (const char *const *)s->account->state.keywords;
	*count_r = s->account->state.keyword_count;
	return STORE_OK;
}

int mem_keyword_index(struct store *store, const char *name, bool create,
			     unsigned *index_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	struct mem_state *st = &s->account->state;
	int free_bit = -1;

	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++) {
		if (st->keywords[i] != NULL && strcasecmp(st->keywords[i], name) == 0) {
			*index_r = (unsigned)i;
			return STORE_OK;
		}
		if (st->keywords[i] == NULL && free_bit < 0)
			free_bit = (int)i;
	}
	if (!create) {
		*error_r = "No such keyword";
		return STORE_NOT_FOUND;
	}
	if (free_bit < 0) {
		*error_r = "Too many keywords in this account";
		return STORE_LIMIT;
	}
	if (mem_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	if ((st->keywords[free_bit] = strdup(name)) == NULL)
		return mem_no_memory(s, error_r);
	if ((size_t)free_bit + 1 > st->keyword_count)
		st->keyword_count = (size_t)free_bit + 1;
	*index_r = (unsigned)free_bit;
	return STORE_OK;
}
