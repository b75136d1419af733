/*
 * store: the public calls of store.h.  Each one checks its arguments (the
 * promises listed in store-private.h) and dispatches to the backend: the
 * SQLite + files one, or the in-memory one (store_backend_use).
 */
#include "store-private.h"

#include "imap-format/imap-message.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The backend for new and opened stores (store_backend_use). */
static const struct store_backend *default_backend = &store_backend_sqlite;

/* Room for a mailbox name rewritten by mailbox_name_check. */
#define NAME_BUF_SIZE (STORE_MAILBOX_NAME_MAX + 1)

/* mailbox_name_check refuses names that are empty, too long or contain
 * control characters, and returns the canonical spelling: IMAP names INBOX
 * case-insensitively, also as the first level of a hierarchy (RFC 9051
 * 5.1: "inbox/sub" is INBOX's child), and the store keeps it as "INBOX".
 * The result is name itself, a constant, or written into buf
 * (NAME_BUF_SIZE bytes). */
static const char *mailbox_name_check(const char *name, char *buf, const char **error_r)
{
	size_t len = strnlen(name, STORE_MAILBOX_NAME_MAX + 1);

	if (len == 0 || len > STORE_MAILBOX_NAME_MAX) {
		*error_r = "store: invalid mailbox name length";
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f) {
			*error_r = "store: control character in mailbox name";
			return NULL;
		}
	}
	if (strcasecmp(name, "INBOX") == 0)
		return "INBOX";
	if (len > 5 && name[5] == '/' && strncasecmp(name, "INBOX", 5) == 0 &&
	    strncmp(name, "INBOX", 5) != 0) {
		memcpy(buf, "INBOX", 5);
		memcpy(buf + 5, name + 5, len - 5 + 1);
		return buf;
	}
	return name;
}

/* message_check verifies that msg describes content of total bytes: the
 * size matches and every part lies inside it, so the offsets stored for
 * FETCH can be trusted later.  Returns 0 or -1 with *error_r. */
static int message_check(const struct mime_message *msg, uint64_t total, const char **error_r)
{
	if (msg->size != total) {
		*error_r = "store: parsed size differs from content size";
		return -1;
	}
	if (msg->part_count > 0 && msg->parts == NULL) {
		*error_r = "store: parts missing";
		return -1;
	}
	for (size_t i = 0; i < msg->part_count; i++) {
		const struct mime_part *p = &msg->parts[i];
		if (p->header_offset > total || p->header_size > total - p->header_offset ||
		    p->body_offset > total || p->body_size > total - p->body_offset) {
			*error_r = "store: part outside the message";
			return -1;
		}
	}
	return 0;
}

/* content_check checks a content vector (the message is the concatenation
 * of iov[0..iovcnt)) and that msg describes exactly that content. */
static int content_check(const struct iovec *iov, int iovcnt, const struct mime_message *msg,
			 const char **error_r)
{
	uint64_t total = 0;

	if (iovcnt < 0 || (iovcnt > 0 && iov == NULL)) {
		*error_r = "store: invalid content vector";
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > UINT64_MAX - total) {
			*error_r = "store: content too large";
			return -1;
		}
		total += iov[i].iov_len;
	}
	return message_check(msg, total, error_r);
}

static int uid_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* uids_sorted gives uids[0..count) ascending and without repeats in a new
 * array (free()), so that a copy or a flags update takes each message
 * once, in UID order. */
static int uids_sorted(const uint32_t *uids, size_t count, uint32_t **sorted_r, size_t *count_r)
{
	uint32_t *v = reallocarray(NULL, count + 1, sizeof(*v));
	size_t n = 0;

	if (v == NULL)
		return -1;
	if (count > 0)
		memcpy(v, uids, count * sizeof(*v));
	qsort(v, count, sizeof(*v), uid_compare);
	for (size_t i = 0; i < count; i++)
		if (n == 0 || v[i] != v[n - 1])
			v[n++] = v[i];
	*sorted_r = v;
	*count_r = n;
	return 0;
}

/* store_backend_use: see store.h. */
int store_backend_use(const char *name)
{
	static const struct store_backend *const backends[] = { &store_backend_sqlite,
								 &store_backend_mem };

	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strcmp(backends[i]->name, name) == 0) {
			default_backend = backends[i];
			return 0;
		}
	}
	return -1;
}

/* store_preinit: see store.h; process-wide, for the default backend. */
int store_preinit(const char **error_r)
{
	assert(error_r != NULL);
	return default_backend->preinit(error_r);
}

/* store_create: see store.h; creates a store of the default backend. */
int store_create(const char *dir, const char **error_r)
{
	assert(dir != NULL && error_r != NULL);
	return default_backend->create(dir, error_r);
}

/* store_open: see store.h; *store_r is NULL unless 0 is returned. */
int store_open(const char *dir, struct store **store_r, const char **error_r)
{
	assert(dir != NULL && store_r != NULL && error_r != NULL);
	*store_r = NULL;
	if (default_backend->open(dir, store_r, error_r) < 0)
		return -1;
	assert((*store_r)->backend == default_backend);
	return 0;
}

/* store_close: see store.h; safe on NULL. */
void store_close(struct store **store)
{
	if (*store == NULL)
		return;
	(*store)->backend->close(*store);
	*store = NULL;
}

/* store_mailbox_list: see store.h; *list_r is NULL and *count_r 0 on -1. */
int store_mailbox_list(struct store *store, struct store_mailbox **list_r, size_t *count_r,
		       const char **error_r)
{
	assert(store != NULL && list_r != NULL && count_r != NULL && error_r != NULL);
	*list_r = NULL;
	*count_r = 0;
	return store->backend->mailbox_list(store, list_r, count_r, error_r);
}

/* store_mailbox_list_free frees the names and the array, sets *list NULL. */
void store_mailbox_list_free(struct store_mailbox **list, size_t count)
{
	if (*list == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*list)[i].name);
	free(*list);
	*list = NULL;
}

/* deliver_check checks every argument of a delivery (store-private.h lists
 * the promises the backend gets) and gives the mailbox name to use (maybe
 * written into buf, NAME_BUF_SIZE bytes). */
static const char *deliver_check(struct store *store, const char *mailbox,
				 const char *delivery_key, const struct iovec *iov, int iovcnt,
				 const struct mime_message *msg, uint32_t *uid_r,
				 bool *duplicate_r, char *buf, const char **error_r)
{
	assert(store != NULL && mailbox != NULL && delivery_key != NULL && msg != NULL);
	assert(uid_r != NULL && duplicate_r != NULL && error_r != NULL);
	*uid_r = 0;
	*duplicate_r = false;

	const char *name = mailbox_name_check(mailbox, buf, error_r);
	if (name == NULL)
		return NULL;
	size_t key_len = strnlen(delivery_key, STORE_DELIVERY_KEY_MAX + 1);
	if (key_len == 0 || key_len > STORE_DELIVERY_KEY_MAX) {
		*error_r = "store: invalid delivery key length";
		return NULL;
	}
	if (content_check(iov, iovcnt, msg, error_r) < 0)
		return NULL;
	return name;
}

/* store_deliver is a batch of one, so there is one delivery path to trust;
 * a duplicate commits an empty transaction, which syncs nothing. */
int store_deliver(struct store *store, const char *mailbox, const char *delivery_key,
		  const struct iovec *iov, int iovcnt, const struct mime_message *msg,
		  int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
		  const char **error_r)
{
	assert(uid_r != NULL && duplicate_r != NULL);
	*uid_r = 0;
	*duplicate_r = false;
	if (store_batch_begin(store, error_r) < 0)
		return -1;
	int ret = store_batch_deliver(store, mailbox, delivery_key, iov, iovcnt, msg,
				      internal_date, uid_r, duplicate_r, error_r);
	if (ret < 0) {
		store_batch_abort(store);
		return ret == STORE_OVER_QUOTA ? ret : -1;
	}
	if (store_batch_commit(store, error_r) < 0) {
		*uid_r = 0;
		*duplicate_r = false;
		return -1;
	}
	return 0;
}

/* store_batch_begin: see store.h; the backend refuses a second batch. */
int store_batch_begin(struct store *store, const char **error_r)
{
	assert(store != NULL && error_r != NULL);
	return store->backend->batch_begin(store, error_r);
}

/* A message as the backends take it: its parse with IMAP's ENVELOPE, BODY
 * and BODYSTRUCTURE written from the part tree (or its ready-made strings),
 * so that FETCH never re-parses it.  Written here, once, for every backend;
 * the strings live in answers until answered_free. */
struct answered {
	struct mime_message msg;
	struct imap_message_answers answers;
	struct imap_message_opaque opaque; /* msg when msg's answers are past their bound */
};

/* answered_make fills *out from msg: msg with its IMAP answers, or, when an
 * answer is past its bound, the opaque message of msg's size (one part, as
 * for a message the MIME parser refuses), so that no message is refused for
 * its shape.  -1 with *error_r only when memory runs out.  answered_free in
 * every case; *out must not move while out->msg is used. */
static int answered_make(const struct mime_message *msg, struct answered *out,
			 const char **error_r)
{
	if (imap_message_answers_write(msg, &out->answers) < 0) {
		imap_message_answers_free(&out->answers);
		imap_message_opaque(&out->opaque, msg->size);
		msg = &out->opaque.msg;
		if (imap_message_answers_write(msg, &out->answers) < 0) {
			*error_r = "store: out of memory for the message's structure";
			return -1;
		}
	}
	out->msg = *msg;
	out->msg.envelope = buf_str(&out->answers.envelope);
	out->msg.body = buf_str(&out->answers.body);
	out->msg.bodystructure = buf_str(&out->answers.bodystructure);
	return 0;
}

static void answered_free(struct answered *a)
{
	imap_message_answers_free(&a->answers);
}

/* store_batch_deliver: see store.h; checked like store_deliver. */
int store_batch_deliver(struct store *store, const char *mailbox, const char *delivery_key,
			const struct iovec *iov, int iovcnt, const struct mime_message *msg,
			int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
			const char **error_r)
{
	char buf[NAME_BUF_SIZE];
	const char *name = deliver_check(store, mailbox, delivery_key, iov, iovcnt, msg, uid_r,
					 duplicate_r, buf, error_r);
	if (name == NULL)
		return -1;
	struct answered a;
	int ret = answered_make(msg, &a, error_r);
	if (ret == 0)
		ret = store->backend->batch_deliver(store, name, delivery_key, iov, iovcnt, &a.msg,
						    internal_date, uid_r, duplicate_r, error_r);
	answered_free(&a);
	return ret;
}

/* store_batch_commit: see store.h; the batch is over whatever it returns. */
int store_batch_commit(struct store *store, const char **error_r)
{
	assert(store != NULL && error_r != NULL);
	return store->backend->batch_commit(store, error_r);
}

/* store_batch_abort: see store.h; safe without an open batch. */
void store_batch_abort(struct store *store)
{
	assert(store != NULL);
	store->backend->batch_abort(store);
}

/* store_message_list: see store.h; free the list with free(). */
int store_message_list(struct store *store, const char *mailbox, struct store_message **list_r,
		       size_t *count_r, const char **error_r)
{
	assert(store != NULL && mailbox != NULL && list_r != NULL && count_r != NULL);
	assert(error_r != NULL);
	*list_r = NULL;
	*count_r = 0;
	char buf[NAME_BUF_SIZE];
	const char *name = mailbox_name_check(mailbox, buf, error_r);
	if (name == NULL)
		return -1;
	return store->backend->message_list(store, name, list_r, count_r, error_r);
}

/* store_message_open: see store-private.h; the caller closes the fd. */
int store_message_open(struct store *store, const char *mailbox, uint32_t uid,
		       const char **error_r)
{
	assert(store != NULL && mailbox != NULL && error_r != NULL);
	char buf[NAME_BUF_SIZE];
	const char *name = mailbox_name_check(mailbox, buf, error_r);
	if (name == NULL)
		return -1;
	if (uid == 0) {
		*error_r = "store: UID 0 does not exist";
		return -1;
	}
	return store->backend->message_open(store, name, uid, error_r);
}

/* store_expunge: see store.h. */
int store_expunge(struct store *store, const char *mailbox, const uint32_t *uids, size_t count,
		  const char **error_r)
{
	assert(store != NULL && mailbox != NULL && (uids != NULL || count == 0));
	char buf[NAME_BUF_SIZE];
	const char *name = mailbox_name_check(mailbox, buf, error_r);
	if (name == NULL)
		return -1;
	return store->backend->expunge(store, name, uids, count, error_r);
}

/* ---------- the IMAP calls: names checked, then the backend ---------- */

#define NAME_OR_FAIL(var, mailbox)                                      \
	char var##_buf[NAME_BUF_SIZE];                                  \
	const char *var = mailbox_name_check(mailbox, var##_buf, error_r); \
	if (var == NULL)                                                \
		return STORE_NOT_ALLOWED

/* store_keyword_list: see store.h; *names_r is NULL and *count_r 0 on failure. */
int store_keyword_list(struct store *store, const char *const **names_r, size_t *count_r,
		       const char **error_r)
{
	assert(store != NULL && names_r != NULL && count_r != NULL && error_r != NULL);
	*names_r = NULL;
	*count_r = 0;
	return store->backend->keyword_list(store, names_r, count_r, error_r);
}

/* store_keyword_index: see store.h; an empty or too long name is
 * STORE_NOT_ALLOWED. */
int store_keyword_index(struct store *store, const char *name, bool create, unsigned *index_r,
			const char **error_r)
{
	assert(store != NULL && name != NULL && index_r != NULL && error_r != NULL);
	*index_r = 0;
	size_t len = strnlen(name, STORE_KEYWORD_LEN_MAX + 1);
	if (len == 0 || len > STORE_KEYWORD_LEN_MAX) {
		*error_r = "Invalid keyword";
		return STORE_NOT_ALLOWED;
	}
	return store->backend->keyword_index(store, name, create, index_r, error_r);
}

/* store_mailbox_get: see store.h; box_r->name is NULL on failure. */
int store_mailbox_get(struct store *store, const char *name, struct store_mailbox *box_r,
		      const char **error_r)
{
	assert(store != NULL && name != NULL && box_r != NULL && error_r != NULL);
	memset(box_r, 0, sizeof(*box_r));
	NAME_OR_FAIL(n, name);
	return store->backend->mailbox_get(store, n, box_r, error_r);
}

/* view_from_list is store_mailbox_view for a backend without its own:
 * the whole message list, read after the mailbox (a backend that is not
 * shared between processes cannot change between the two calls). */
static int view_from_list(struct store *store, const char *name, struct store_mailbox *box_r,
			  uint32_t **uids_r, uint32_t *first_unseen_r, const char **error_r)
{
	struct store_message *list = NULL;
	size_t count = 0;
	int ret = store->backend->mailbox_get(store, name, box_r, error_r);
	if (ret != STORE_OK)
		return ret;
	if (store->backend->message_list(store, name, &list, &count, error_r) < 0) {
		free(box_r->name);
		box_r->name = NULL;
		return STORE_ERROR;
	}
	uint32_t *uids = count > 0 ? malloc(count * sizeof(*uids)) : NULL;
	if (count > 0 && uids == NULL) {
		free(list);
		free(box_r->name);
		box_r->name = NULL;
		*error_r = "store: out of memory";
		return STORE_ERROR;
	}
	for (size_t i = 0; i < count; i++) {
		uids[i] = list[i].uid;
		if (*first_unseen_r == 0 && (list[i].flags & STORE_FLAG_SEEN) == 0)
			*first_unseen_r = list[i].uid;
	}
	free(list);
	box_r->messages = count;
	box_r->bytes = 0;
	*uids_r = uids;
	return STORE_OK;
}

/* store_mailbox_view: see store.h; on failure box_r->name and *uids_r are
 * NULL. */
int store_mailbox_view(struct store *store, const char *name, struct store_mailbox *box_r,
		       uint32_t **uids_r, uint32_t *first_unseen_r, const char **error_r)
{
	assert(store != NULL && name != NULL && box_r != NULL && uids_r != NULL);
	assert(first_unseen_r != NULL && error_r != NULL);
	memset(box_r, 0, sizeof(*box_r));
	*uids_r = NULL;
	*first_unseen_r = 0;
	NAME_OR_FAIL(n, name);
	if (store->backend->mailbox_view == NULL)
		return view_from_list(store, n, box_r, uids_r, first_unseen_r, error_r);
	return store->backend->mailbox_view(store, n, box_r, uids_r, first_unseen_r, error_r);
}

int store_mailbox_claim_recent(struct store *store, const char *name, uint32_t *first_r,
			       uint32_t *next_r, const char **error_r)
{
	assert(store != NULL && name != NULL && first_r != NULL && next_r != NULL);
	NAME_OR_FAIL(n, name);
	return store->backend->mailbox_claim_recent(store, n, first_r, next_r, error_r);
}

int store_mailbox_create(struct store *store, const char *name, const char **error_r)
{
	assert(store != NULL && name != NULL && error_r != NULL);
	NAME_OR_FAIL(n, name);
	return store->backend->mailbox_create(store, n, error_r);
}

int store_mailbox_delete(struct store *store, const char *name, const char **error_r)
{
	assert(store != NULL && name != NULL && error_r != NULL);
	NAME_OR_FAIL(n, name);
	return store->backend->mailbox_delete(store, n, error_r);
}

int store_mailbox_rename(struct store *store, const char *from, const char *to,
			 const char **error_r)
{
	assert(store != NULL && from != NULL && to != NULL && error_r != NULL);
	NAME_OR_FAIL(f, from);
	NAME_OR_FAIL(t, to);
	return store->backend->mailbox_rename(store, f, t, error_r);
}

int store_mailbox_subscribe(struct store *store, const char *name, bool subscribed,
			    const char **error_r)
{
	assert(store != NULL && name != NULL && error_r != NULL);
	NAME_OR_FAIL(n, name);
	return store->backend->mailbox_subscribe(store, n, subscribed, error_r);
}

int store_subscription_list(struct store *store, char ***names_r, size_t *count_r,
			    const char **error_r)
{
	assert(store != NULL && names_r != NULL && count_r != NULL && error_r != NULL);
	*names_r = NULL;
	*count_r = 0;
	return store->backend->subscription_list(store, names_r, count_r, error_r);
}

void store_subscription_list_free(char ***names, size_t count)
{
	if (*names == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
}

int store_message_range(struct store *store, const char *mailbox, uint32_t first,
			uint32_t last, struct store_message **list_r, size_t *count_r,
			const char **error_r)
{
	assert(store != NULL && mailbox != NULL && list_r != NULL && count_r != NULL);
	*list_r = NULL;
	*count_r = 0;
	NAME_OR_FAIL(n, mailbox);
	if (first > last)
		return STORE_OK;
	return store->backend->message_range(store, n, first, last, list_r, count_r, error_r);
}

/* store_message_range_filtered: see store.h. */
int store_message_range_filtered(struct store *store, const char *mailbox, uint32_t first,
				 uint32_t last, enum store_range_filter filter,
				 struct store_message **list_r, size_t *count_r,
				 const char **error_r)
{
	assert(store != NULL && mailbox != NULL && list_r != NULL && count_r != NULL);
	if (store->backend->message_range_filtered == NULL) {
		int ret = store_message_range(store, mailbox, first, last, list_r, count_r,
					      error_r);
		size_t n = 0;
		for (size_t i = 0; ret == STORE_OK && i < *count_r; i++) {
			uint32_t f = (*list_r)[i].flags;
			if (filter == STORE_RANGE_UNSEEN ? (f & STORE_FLAG_SEEN) == 0 :
							   (f & STORE_FLAG_DELETED) != 0)
				(*list_r)[n++] = (*list_r)[i];
		}
		*count_r = n;
		return ret;
	}
	*list_r = NULL;
	*count_r = 0;
	NAME_OR_FAIL(n, mailbox);
	if (first > last)
		return STORE_OK;
	return store->backend->message_range_filtered(store, n, first, last, filter, list_r,
						      count_r, error_r);
}

int store_message_meta(struct store *store, const char *mailbox, uint32_t uid,
		       struct store_message_meta **meta_r, const char **error_r)
{
	assert(store != NULL && mailbox != NULL && meta_r != NULL && error_r != NULL);
	*meta_r = NULL;
	NAME_OR_FAIL(n, mailbox);
	int ret = store->backend->message_meta(store, n, uid, meta_r, error_r);
	if (ret == STORE_OK)
		((struct store_meta_head *)*meta_r)->free = store->backend->message_meta_free;
	return ret;
}

typedef int metas_fn(struct store *store, const char *mailbox, const uint32_t *uids,
		     size_t count, struct store_message_meta **metas_r, const char **error_r);

/* metas_of calls a backend's list of metas (fn, or when NULL
 * message_meta for each) and marks those it gives to be freed by
 * free_fn. */
static int metas_of(struct store *store, metas_fn *fn,
		    void (*free_fn)(struct store_message_meta *meta), const char *mailbox,
		    const uint32_t *uids, size_t count, struct store_message_meta **metas_r,
		    const char **error_r)
{
	assert(store != NULL && mailbox != NULL && (uids != NULL || count == 0));
	assert((metas_r != NULL || count == 0) && error_r != NULL);
	for (size_t i = 0; i < count; i++)
		metas_r[i] = NULL;
	NAME_OR_FAIL(n, mailbox);
	int ret = STORE_OK;
	if (fn != NULL) {
		ret = fn(store, n, uids, count, metas_r, error_r);
		for (size_t i = 0; ret == STORE_OK && i < count; i++)
			if (metas_r[i] != NULL)
				((struct store_meta_head *)metas_r[i])->free = free_fn;
		return ret;
	}
	/* A missing message is NULL, a missing mailbox the call's failure. */
	struct store_mailbox box;
	memset(&box, 0, sizeof(box));
	ret = store->backend->mailbox_get(store, n, &box, error_r);
	if (ret != STORE_OK)
		return ret;
	free(box.name);
	for (size_t i = 0; ret == STORE_OK && i < count; i++) {
		ret = store_message_meta(store, n, uids[i], &metas_r[i], error_r);
		if (ret == STORE_NOT_FOUND)
			ret = STORE_OK;
	}
	if (ret != STORE_OK)
		for (size_t i = 0; i < count; i++)
			store_message_meta_free(&metas_r[i]);
	return ret;
}

/* store_message_meta_list: see store.h. */
int store_message_meta_list(struct store *store, const char *mailbox, const uint32_t *uids,
			    size_t count, struct store_message_meta **metas_r,
			    const char **error_r)
{
	assert(store != NULL);
	return metas_of(store, store->backend->message_meta_list,
			store->backend->message_meta_free, mailbox, uids, count, metas_r,
			error_r);
}

/* store_message_head_list: see store.h. */
int store_message_head_list(struct store *store, const char *mailbox, const uint32_t *uids,
			    size_t count, struct store_message_meta **metas_r,
			    const char **error_r)
{
	assert(store != NULL);
	return metas_of(store, store->backend->message_head_list,
			store->backend->message_head_free, mailbox, uids, count, metas_r,
			error_r);
}

/* store_message_envelope_list: see store.h. */
int store_message_envelope_list(struct store *store, const char *mailbox, const uint32_t *uids,
				size_t count, struct store_message_meta **metas_r,
				const char **error_r)
{
	assert(store != NULL);
	return metas_of(store, store->backend->message_envelope_list,
			store->backend->message_head_free, mailbox, uids, count, metas_r,
			error_r);
}

/* store_message_meta_free: the backend that made the meta frees it. */
void store_message_meta_free(struct store_message_meta **meta)
{
	if (meta == NULL || *meta == NULL)
		return;
	((struct store_meta_head *)*meta)->free(*meta);
	*meta = NULL;
}

int store_flags_update(struct store *store, const char *mailbox, const uint32_t *uids,
		       size_t count, enum store_flags_mode mode, uint32_t flags,
		       uint64_t keywords, uint64_t unchangedsince,
		       struct store_message **changed_r, size_t *changed_count_r,
		       uint32_t **failed_r, size_t *failed_count_r, const char **error_r)
{
	assert(store != NULL && mailbox != NULL && (uids != NULL || count == 0));
	assert(changed_r != NULL && failed_r != NULL && error_r != NULL);
	*changed_r = NULL;
	*failed_r = NULL;
	*changed_count_r = *failed_count_r = 0;
	NAME_OR_FAIL(n, mailbox);
	if ((unsigned)mode > STORE_FLAGS_REMOVE) {
		*error_r = "store: invalid flags mode";
		return STORE_ERROR;
	}
	/* \Recent belongs to a session; it is never stored. */
	flags &= STORE_FLAGS_KEPT;
	uint32_t *sorted;
	size_t sorted_count;
	if (uids_sorted(uids, count, &sorted, &sorted_count) < 0) {
		*error_r = "store: out of memory";
		return STORE_ERROR;
	}
	int ret = store->backend->flags_update(store, n, sorted, sorted_count, mode, flags,
					       keywords, unchangedsince, changed_r,
					       changed_count_r, failed_r, failed_count_r, error_r);
	free(sorted);
	return ret;
}

int store_copy(struct store *store, const char *from, const uint32_t *uids, size_t count,
	       const char *to, bool move, uint32_t *uidvalidity_r, uint32_t **src_r,
	       uint32_t **dst_r, size_t *copied_r, const char **error_r)
{
	assert(store != NULL && from != NULL && to != NULL && (uids != NULL || count == 0));
	assert(uidvalidity_r != NULL && src_r != NULL && dst_r != NULL && error_r != NULL);
	*src_r = *dst_r = NULL;
	*copied_r = 0;
	*uidvalidity_r = 0;
	NAME_OR_FAIL(f, from);
	NAME_OR_FAIL(t, to);
	uint32_t *sorted;
	size_t n;
	if (uids_sorted(uids, count, &sorted, &n) < 0) {
		*error_r = "store: out of memory";
		return STORE_ERROR;
	}
	int ret = store->backend->copy(store, f, sorted, n, t, move, uidvalidity_r, src_r, dst_r,
				       copied_r, error_r);
	free(sorted);
	return ret;
}

/* store_append: see store.h; every message is checked as a delivery is,
 * and more than STORE_BATCH_MAX of them is STORE_LIMIT. */
int store_append(struct store *store, const char *mailbox, const struct store_append_msg *msgs,
		 size_t count, uint32_t *uidvalidity_r, uint32_t *uids_r, const char **error_r)
{
	assert(store != NULL && mailbox != NULL && (msgs != NULL || count == 0));
	assert(uidvalidity_r != NULL && (uids_r != NULL || count == 0) && error_r != NULL);
	*uidvalidity_r = 0;
	NAME_OR_FAIL(n, mailbox);
	if (count > STORE_BATCH_MAX) {
		*error_r = "Too many messages in one APPEND";
		return STORE_LIMIT;
	}
	for (size_t i = 0; i < count; i++) {
		if (msgs[i].msg == NULL) {
			*error_r = "store: APPEND without a parse";
			return STORE_ERROR;
		}
		if (content_check(msgs[i].iov, msgs[i].iovcnt, msgs[i].msg, error_r) < 0)
			return STORE_ERROR;
	}
	struct answered *a = calloc(count + 1, sizeof(*a));
	struct store_append_msg *with = calloc(count + 1, sizeof(*with));
	size_t made = 0;
	int ret = STORE_OK;
	if (a == NULL || with == NULL) {
		*error_r = "store: out of memory";
		ret = STORE_ERROR;
	}
	for (; made < count && ret == STORE_OK; made++) {
		with[made] = msgs[made];
		if (answered_make(msgs[made].msg, &a[made], error_r) < 0)
			ret = STORE_ERROR;
		with[made].msg = &a[made].msg;
	}
	if (ret == STORE_OK)
		ret = store->backend->append(store, n, with, count, uidvalidity_r, uids_r, error_r);
	for (size_t i = 0; i < made; i++)
		answered_free(&a[i]);
	free(a);
	free(with);
	return ret;
}

int store_changes(struct store *store, const char *mailbox, uint64_t modseq,
		  struct store_message **changed_r, size_t *changed_count_r,
		  uint32_t **expunged_r, size_t *expunged_count_r, uint64_t *highestmodseq_r,
		  const char **error_r)
{
	assert(store != NULL && mailbox != NULL && highestmodseq_r != NULL && error_r != NULL);
	*changed_r = NULL;
	*expunged_r = NULL;
	*changed_count_r = *expunged_count_r = 0;
	*highestmodseq_r = 0;
	NAME_OR_FAIL(n, mailbox);
	return store->backend->changes(store, n, modseq, changed_r, changed_count_r, expunged_r,
				       expunged_count_r, highestmodseq_r, error_r);
}

int store_text_search(struct store *store, const char *mailbox, enum store_text_field field,
		      const char *text, uint32_t **uids_r, size_t *count_r,
		      const char **error_r)
{
	assert(store != NULL && mailbox != NULL && text != NULL && uids_r != NULL);
	assert(count_r != NULL && error_r != NULL);
	*uids_r = NULL;
	*count_r = 0;
	NAME_OR_FAIL(n, mailbox);
	if ((unsigned)field > STORE_TEXT_ANY) {
		*error_r = "store: invalid search field";
		return STORE_ERROR;
	}
	return store->backend->text_search(store, n, field, text, uids_r, count_r, error_r);
}

int store_text_catch_up(struct store *store, const char *mailbox, const char **error_r)
{
	assert(store != NULL && mailbox != NULL && error_r != NULL);
	if (store->backend->text_catch_up == NULL)
		return STORE_OK;
	NAME_OR_FAIL(n, mailbox);
	return store->backend->text_catch_up(store, n, error_r);
}

int store_index_backlog(struct store *store, size_t max, bool *more_r, const char **error_r)
{
	assert(store != NULL && more_r != NULL && error_r != NULL);
	*more_r = false;
	if (store->backend->index_backlog == NULL || max == 0)
		return STORE_OK;
	if (max > STORE_INDEX_TURN_MAX)
		max = STORE_INDEX_TURN_MAX;
	return store->backend->index_backlog(store, max, more_r, error_r);
}

uint64_t store_index_marks(struct store *store)
{
	assert(store != NULL);
	return store->backend->index_marks == NULL ? 0 : store->backend->index_marks(store);
}

/* store_sync_defer: see store.h. */
int store_sync_defer(struct store *store, bool defer, const char **error_r)
{
	assert(store != NULL && error_r != NULL);
	return store->backend->sync_defer == NULL ? 0 :
						    store->backend->sync_defer(store, defer, error_r);
}

/* store_sync_pending: see store.h. */
bool store_sync_pending(struct store *store)
{
	assert(store != NULL);
	return store->backend->sync_pending != NULL && store->backend->sync_pending(store);
}

/* store_sync: see store.h. */
int store_sync(struct store *store, const char **error_r)
{
	assert(store != NULL && error_r != NULL);
	return store->backend->sync == NULL ? 0 : store->backend->sync(store, error_r);
}

/* store_sync_begin: see store.h. */
int store_sync_begin(struct store *store, const char **error_r)
{
	assert(store != NULL && error_r != NULL);
	return store->backend->sync_begin == NULL ? 0 : store->backend->sync_begin(store, error_r);
}

/* store_sync_run: see store.h. */
int store_sync_run(struct store *store, char error[STORE_SYNC_ERROR_MAX])
{
	assert(store != NULL && store->backend->sync_run != NULL);
	return store->backend->sync_run(store, error);
}

/* store_sync_end: see store.h. */
int store_sync_end(struct store *store, bool ok, const char **error_r)
{
	assert(store != NULL && error_r != NULL && store->backend->sync_end != NULL);
	return store->backend->sync_end(store, ok, error_r);
}

int store_quota_get(struct store *store, uint64_t *limit_r, uint64_t *used_r,
		    const char **error_r)
{
	assert(store != NULL && limit_r != NULL && used_r != NULL && error_r != NULL);
	*limit_r = *used_r = 0;
	return store->backend->quota_get(store, limit_r, used_r, error_r);
}

void store_release_memory(struct store *store)
{
	assert(store != NULL);
	store->backend->release_memory(store);
}

int store_quota_set(struct store *store, uint64_t limit, const char **error_r)
{
	assert(store != NULL && error_r != NULL);
	return store->backend->quota_set(store, limit, error_r);
}

/* store_gc_step: see store.h. */
int store_gc_step(struct store *store, int64_t now, bool *more_r, const char **error_r)
{
	assert(store != NULL && more_r != NULL && error_r != NULL);
	*more_r = false;
	if (store->backend->gc_step == NULL)
		return STORE_OK;
	return store->backend->gc_step(store, now, more_r, error_r);
}

/* store_usage: see store.h; a backend without files has its sizes only. */
int store_usage(struct store *store, struct store_usage *usage_r, const char **error_r)
{
	assert(store != NULL && usage_r != NULL && error_r != NULL);
	memset(usage_r, 0, sizeof(*usage_r));
	if (store->backend->usage != NULL)
		return store->backend->usage(store, usage_r, error_r);
	uint64_t limit;
	return store->backend->quota_get(store, &limit, &usage_r->live_bytes, error_r);
}

/* store_reader_open: see store.h; *reader_r is NULL unless STORE_OK. */
int store_reader_open(struct store *store, const char *mailbox, uint32_t uid,
		      struct store_reader **reader_r, uint64_t *size_r, const char **error_r)
{
	assert(store != NULL && mailbox != NULL && reader_r != NULL && size_r != NULL);
	assert(error_r != NULL);
	*reader_r = NULL;
	*size_r = 0;
	NAME_OR_FAIL(name, mailbox);
	if (uid == 0) {
		*error_r = "No such message";
		return STORE_NOT_FOUND;
	}
	int ret = store->backend->reader_open(store, name, uid, reader_r, error_r);
	if (ret == STORE_OK) {
		assert((*reader_r)->backend == store->backend);
		*size_r = (*reader_r)->size;
	}
	return ret;
}

/* store_reader_open_meta: see store.h. */
int store_reader_open_meta(struct store *store, const char *mailbox,
			   const struct store_message_meta *meta, struct store_reader **reader_r,
			   uint64_t *size_r, const char **error_r)
{
	assert(store != NULL && meta != NULL);
	if (store->backend->reader_open_meta == NULL)
		return store_reader_open(store, mailbox, meta->msg.uid, reader_r, size_r, error_r);
	assert(reader_r != NULL && size_r != NULL && error_r != NULL);
	*reader_r = NULL;
	*size_r = 0;
	int ret = store->backend->reader_open_meta(store, meta, reader_r, error_r);
	if (ret == STORE_OK) {
		assert((*reader_r)->backend == store->backend);
		*size_r = (*reader_r)->size;
	}
	return ret;
}

/* store_reader_read: see store.h; reads past the end give 0 bytes without
 * asking the backend. */
int store_reader_read(struct store_reader *reader, uint64_t offset, void *buf, size_t len,
		      size_t *read_r, const char **error_r)
{
	assert(reader != NULL && (buf != NULL || len == 0) && read_r != NULL && error_r != NULL);
	*read_r = 0;
	if (offset >= reader->size || len == 0)
		return STORE_OK;
	if (len > reader->size - offset)
		len = (size_t)(reader->size - offset);
	return reader->backend->reader_read(reader, offset, buf, len, read_r, error_r);
}

/* store_reader_close: see store.h. */
void store_reader_close(struct store_reader **reader)
{
	if (*reader == NULL)
		return;
	(*reader)->backend->reader_close(*reader);
	*reader = NULL;
}
