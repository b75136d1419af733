/*
 * store-mem: the in-memory store backend.  An account is a set of arrays
 * in this process, found by its directory name (nothing is written
 * there), so it outlives store_close and is seen by the next store_open
 * of the same directory until the process ends.  It answers every call of
 * store.h as the SQLite backend does (the same statuses, texts, UID and
 * MODSEQ rules), which is what lets the tests of the code above the store
 * run against it; it is not for production: nothing is durable.
 *
 * Content is kept once per delivery and shared by copies (a reference
 * count), like the SQLite backend's content files.  A batch (and APPEND,
 * which is all or nothing) works on a copy of the account's state that
 * replaces it at the commit.
 *
 * For tests, store-mem.h adds call counters, a search that fails on
 * purpose, messages hidden from the meta and content calls, and a way to
 * put a message with its pre-parsed answers given verbatim.
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

/* Every account of the process (tests are single-threaded). */
static struct mem_account *accounts;
/* Errors of store_create/store_open, which have no store to keep them. */
static _Thread_local char detached_error[STORE_ERROR_MAX];

/* mem_fail formats an error into the store and returns -1. */
int mem_fail(struct mem_store *s, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	*error_r = s->error;
	return -1;
}

/* mem_status returns a user-level status with its text kept in the store. */
int mem_status(struct mem_store *s, int status, const char **error_r, const char *text)
{
	snprintf(s->error, sizeof(s->error), "%s", text);
	*error_r = s->error;
	return status;
}

int mem_no_memory(struct mem_store *s, const char **error_r)
{
	return mem_fail(s, error_r, "store: out of memory");
}

/* mem_no_batch refuses a call made while a batch is open (see store.h). */
int mem_no_batch(struct mem_store *s, const char **error_r)
{
	return s->in_batch ? mem_fail(s, error_r, "store: a batch is open") : 0;
}

/* ---------- contents and states ---------- */

void mem_content_unref(struct mem_content *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	free(c->data);
	free(c->strings);
	free(c->parts);
	free(c);
}

/* content_strings lays the texts of c (count of them, each as ptrs[i],
 * lens[i]) into one allocation and points *dst[i] at them. */
static int content_strings(struct mem_content *c, const char **dst[], const struct str *src,
			   size_t count)
{
	size_t total = 1;
	for (size_t i = 0; i < count; i++)
		total += src[i].len + 1;
	char *p = malloc(total);
	if (p == NULL)
		return -1;
	c->strings = p;
	for (size_t i = 0; i < count; i++) {
		if (src[i].len > 0)
			memcpy(p, src[i].ptr, src[i].len);
		p[src[i].len] = '\0';
		*dst[i] = p;
		p += src[i].len + 1;
	}
	return 0;
}

/* The fields content_strings fills, in this order. */
#define CONTENT_FIELDS(c)                                                                \
	{ &(c)->envelope, &(c)->body, &(c)->bodystructure, &(c)->subject, &(c)->from,    \
	  &(c)->to, &(c)->cc, &(c)->message_id, &(c)->in_reply_to, &(c)->references,     \
	  &(c)->bcc, &(c)->text_body, &(c)->header }
#define CONTENT_FIELD_COUNT 13

/* content_new keeps the content iov[0..iovcnt) and what msg parsed from it
 * (the parts' texts after the 13 fields).  NULL: out of memory. */
static struct mem_content *content_new(const struct iovec *iov, int iovcnt,
				       const struct mime_message *msg)
{
	struct mem_content *c = calloc(1, sizeof(*c));
	struct index_text text;

	if (c == NULL)
		return NULL;
	c->refs = 1;
	c->size = (size_t)msg->size;
	c->data = malloc(c->size + 1);
	c->parts = calloc(msg->part_count + 1, sizeof(*c->parts));
	size_t n = CONTENT_FIELD_COUNT + 2 * msg->part_count;
	const char ***dst = calloc(n, sizeof(*dst));
	struct str *src = calloc(n, sizeof(*src));
	if (c->data == NULL || c->parts == NULL || dst == NULL || src == NULL) {
		free(dst);
		free(src);
		mem_content_unref(c);
		return NULL;
	}
	size_t at = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(c->data + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	index_text_extract(&text, msg, iov, iovcnt);
	const char **fields[] = CONTENT_FIELDS(c);
	struct str values[] = { msg->envelope,   msg->body,        msg->bodystructure,
				msg->subject,    msg->from,        msg->to,
				msg->cc,         msg->message_id,  msg->in_reply_to,
				msg->references, buf_str(&text.bcc), buf_str(&text.body),
				buf_str(&text.header) };
	for (size_t i = 0; i < CONTENT_FIELD_COUNT; i++) {
		dst[i] = fields[i];
		src[i] = values[i];
	}
	for (size_t i = 0; i < msg->part_count; i++) {
		const struct mime_part *p = &msg->parts[i];
		struct store_part *to = &c->parts[i];
		to->header_offset = p->header_offset;
		to->header_size = p->header_size;
		to->body_offset = p->body_offset;
		to->body_size = p->body_size;
		to->body_lines = p->body_lines;
		to->depth = p->depth;
		to->child_count = p->child_count;
		to->is_message = p->is_embedded_message != 0;
		dst[CONTENT_FIELD_COUNT + 2 * i] = &to->section;
		src[CONTENT_FIELD_COUNT + 2 * i] = p->section;
		dst[CONTENT_FIELD_COUNT + 2 * i + 1] = &to->content_type;
		src[CONTENT_FIELD_COUNT + 2 * i + 1] = p->content_type;
	}
	c->part_count = msg->part_count;
	c->sent_date = msg->date < 0 ? -1 : msg->date;
	c->sent_zone = msg->date < 0 ? 0 : msg->date_zone;
	c->lines = msg->lines;
	int ret = content_strings(c, dst, src, n);
	index_text_free(&text);
	free(dst);
	free(src);
	if (ret < 0) {
		mem_content_unref(c);
		return NULL;
	}
	return c;
}

void mem_mailbox_free(struct mem_mailbox *b)
{
	for (size_t i = 0; i < b->count; i++)
		mem_content_unref(b->msgs[i].content);
	free(b->msgs);
	free(b->expunged);
	free(b->name);
}

static void state_free(struct mem_state *st)
{
	for (size_t i = 0; i < st->box_count; i++)
		mem_mailbox_free(&st->boxes[i]);
	free(st->boxes);
	for (size_t i = 0; i < st->delivery_count; i++)
		free(st->deliveries[i].key);
	free(st->deliveries);
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++)
		free(st->keywords[i]);
	memset(st, 0, sizeof(*st));
}

/* state_copy makes *to a deep copy of from (contents shared).  -1: no
 * memory, *to left empty. */
static int state_copy(struct mem_state *to, const struct mem_state *from)
{
	bool ok = true;

	*to = *from;
	to->boxes = calloc(from->box_count + 1, sizeof(*to->boxes));
	to->deliveries = calloc(from->delivery_count + 1, sizeof(*to->deliveries));
	memset(to->keywords, 0, sizeof(to->keywords));
	to->box_count = to->delivery_count = 0;
	if (to->boxes == NULL || to->deliveries == NULL) {
		state_free(to);
		return -1;
	}
	for (size_t i = 0; i < from->box_count; i++) {
		const struct mem_mailbox *f = &from->boxes[i];
		struct mem_mailbox *b = &to->boxes[to->box_count++];
		*b = *f;
		b->name = strdup(f->name);
		b->msgs = calloc(f->count + 1, sizeof(*b->msgs));
		b->expunged = calloc(f->expunged_count + 1, sizeof(*b->expunged));
		if (b->name == NULL || b->msgs == NULL || b->expunged == NULL) {
			b->count = 0;
			ok = false;
			continue;
		}
		if (f->count > 0)
			memcpy(b->msgs, f->msgs, f->count * sizeof(*b->msgs));
		if (f->expunged_count > 0)
			memcpy(b->expunged, f->expunged, f->expunged_count * sizeof(*b->expunged));
		for (size_t j = 0; j < b->count; j++)
			b->msgs[j].content->refs++;
	}
	for (size_t i = 0; i < from->delivery_count; i++) {
		struct mem_delivery *d = &to->deliveries[to->delivery_count++];
		*d = from->deliveries[i];
		ok = ok && (d->key = strdup(d->key)) != NULL;
	}
	for (size_t i = 0; i < STORE_KEYWORDS_MAX; i++)
		if (from->keywords[i] != NULL)
			ok = ok && (to->keywords[i] = strdup(from->keywords[i])) != NULL;
	if (!ok)
		state_free(to);
	return ok ? 0 : -1;
}

static uint64_t account_bytes(const struct mem_state *st)
{
	uint64_t used = 0;
	for (size_t i = 0; i < st->box_count; i++)
		for (size_t j = 0; j < st->boxes[i].count; j++)
			used += st->boxes[i].msgs[j].m.size;
	return used;
}

/* mem_quota_check refuses adding bytes past the quota (APPEND, COPY and
 * deliveries). */
int mem_quota_check(struct mem_store *s, uint64_t adding, const char **error_r)
{
	const struct mem_state *st = &s->account->state;
	if (st->quota == 0)
		return STORE_OK;
	uint64_t used = account_bytes(st);
	if (adding > st->quota || used > st->quota - adding)
		return mem_status(s, STORE_OVER_QUOTA, error_r, "Quota exceeded");
	return STORE_OK;
}

/* ---------- open, close ---------- */

/* mem_preinit loads SHA-256, which names contents here too. */
static int mem_preinit(const char **error_r)
{
	return blob_preinit(error_r);
}

static struct mem_account *account_find(const char *dir)
{
	for (struct mem_account *a = accounts; a != NULL; a = a->next)
		if (strcmp(a->dir, dir) == 0)
			return a;
	return NULL;
}

/* mem_create makes the account of dir with the default mailboxes (a no-op
 * when it exists). */
static int mem_create(const char *dir, const char **error_r)
{
	static const struct {
		const char *name;
		enum store_special_use special_use;
	} defaults[] = {
		{ "INBOX", STORE_SPECIAL_INBOX },   { "Sent", STORE_SPECIAL_SENT },
		{ "Drafts", STORE_SPECIAL_DRAFTS }, { "Trash", STORE_SPECIAL_TRASH },
		{ "Junk", STORE_SPECIAL_JUNK },     { "Archive", STORE_SPECIAL_ARCHIVE },
	};

	if (account_find(dir) != NULL)
		return 0;
	struct mem_account *a = calloc(1, sizeof(*a));
	bool ok = a != NULL && (a->dir = strdup(dir)) != NULL;
	for (size_t i = 0; ok && i < sizeof(defaults) / sizeof(defaults[0]); i++)
		ok = mem_mailbox_add(&a->state, defaults[i].name, defaults[i].special_use, true) != NULL;
	if (!ok) {
		if (a != NULL) {
			state_free(&a->state);
			free(a->dir);
			free(a);
		}
		*error_r = "store: out of memory";
		return -1;
	}
	a->next = accounts;
	accounts = a;
	return 0;
}

static int mem_open(const char *dir, struct store **store_r, const char **error_r)
{
	struct mem_account *a = account_find(dir);
	if (a == NULL) {
		snprintf(detached_error, sizeof(detached_error), "store: not created: %s", dir);
		*error_r = detached_error;
		return -1;
	}
	struct mem_store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		*error_r = "store: out of memory";
		return -1;
	}
	s->store.backend = &store_backend_mem;
	s->account = a;
	*store_r = &s->store;
	return 0;
}

static void mem_batch_abort(struct store *store);

static void mem_close(struct store *store)
{
	struct mem_store *s = mem_store(store);
	mem_batch_abort(store);
	free(s->fail_text);
	free(s->fail_error);
	free(s->slow_text);
	free(s);
}

/* ---------- batches and deliveries ---------- */

static int mem_batch_begin(struct store *store, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	if (mem_no_batch(s, error_r) < 0)
		return -1;
	if (state_copy(&s->before, &s->account->state) < 0)
		return mem_no_memory(s, error_r);
	s->in_batch = true;
	s->batch_count = 0;
	return 0;
}

/* batch_add adds one message to the open batch: a key already delivered
 * is a duplicate; the rest as the SQLite backend's batch_add. */
static int batch_add(struct mem_store *s, const char *mailbox, const char *key,
		     const struct iovec *iov, int iovcnt, const struct mime_message *msg,
		     int64_t internal_date, uint32_t flags, uint64_t keywords, uint32_t *uid_r,
		     bool *duplicate_r, const char **error_r)
{
	struct mem_state *st = &s->account->state;
	struct store_message m = { 0 };
	const char *error;
	uint64_t size;

	if (!s->in_batch)
		return mem_fail(s, error_r, "store: no batch is open");
	for (size_t i = 0; key != NULL && i < st->delivery_count; i++) {
		if (strcmp(st->deliveries[i].key, key) == 0) {
			*uid_r = st->deliveries[i].uid;
			*duplicate_r = true;
			return 0;
		}
	}
	struct mem_mailbox *b = mem_mailbox_find(s, mailbox);
	if (b == NULL)
		return mem_fail(s, error_r, "store: no such mailbox: %s", mailbox);
	/* A delivery past the quota is refused (APPEND checks its whole set). */
	if (key != NULL) {
		int ret = mem_quota_check(s, msg->size, error_r);
		if (ret != STORE_OK)
			return ret;
	}
	if (s->batch_count == STORE_BATCH_MAX)
		return mem_fail(s, error_r, "store: batch is full (%d messages)", STORE_BATCH_MAX);
	if (blob_hash(iov, iovcnt, m.hash, &size, &error) < 0)
		return mem_fail(s, error_r, "%s", error);
	struct mem_delivery *d = NULL;
	if (key != NULL) {
		d = reallocarray(st->deliveries, st->delivery_count + 1, sizeof(*d));
		if (d == NULL)
			return mem_no_memory(s, error_r);
		st->deliveries = d;
		d = &d[st->delivery_count];
		if ((d->key = strdup(key)) == NULL)
			return mem_no_memory(s, error_r);
	}
	struct mem_content *c = content_new(iov, iovcnt, msg);
	if (c == NULL) {
		if (d != NULL)
			free(d->key);
		return mem_no_memory(s, error_r);
	}
	m.flags = flags;
	m.keywords = keywords;
	m.size = size;
	m.internal_date = internal_date;
	int ret = mem_message_append(s, b, m, c, b->highestmodseq + 1, uid_r, error_r);
	mem_content_unref(c);
	if (ret < 0) {
		if (d != NULL)
			free(d->key);
		return -1;
	}
	b->highestmodseq++;
	if (d != NULL) {
		d->uid = *uid_r;
		st->delivery_count++;
	}
	s->batch_count++;
	return 0;
}

static int mem_batch_deliver(struct store *store, const char *mailbox, const char *delivery_key,
			     const struct iovec *iov, int iovcnt, const struct mime_message *msg,
			     int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
			     const char **error_r)
{
	return batch_add(mem_store(store), mailbox, delivery_key, iov, iovcnt, msg,
			 internal_date, 0, 0, uid_r, duplicate_r, error_r);
}

/* mem_batch_abort puts the state from before the batch back. */
static void mem_batch_abort(struct store *store)
{
	struct mem_store *s = mem_store(store);
	if (!s->in_batch)
		return;
	state_free(&s->account->state);
	s->account->state = s->before;
	memset(&s->before, 0, sizeof(s->before));
	s->in_batch = false;
}

static int mem_batch_commit(struct store *store, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	if (!s->in_batch)
		return mem_fail(s, error_r, "store: no batch is open");
	state_free(&s->before);
	s->in_batch = false;
	return 0;
}

static int mem_append(struct store *store, const char *mailbox,
		      const struct store_append_msg *msgs, size_t count, uint32_t *uidvalidity_r,
		      uint32_t *uids_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	uint64_t bytes = 0;
	int ret = STORE_OK;

	if (count > STORE_BATCH_MAX)
		return mem_fail(s, error_r, "store: too many messages in one append");
	if (mem_batch_begin(store, error_r) < 0)
		return STORE_ERROR;
	struct mem_mailbox *b = mem_mailbox_or_status(s, mailbox, &ret, error_r);
	for (size_t i = 0; b != NULL && i < count; i++)
		bytes += msgs[i].msg->size;
	if (b != NULL)
		ret = mem_quota_check(s, bytes, error_r);
	*uidvalidity_r = b != NULL ? b->uidvalidity : 0;
	for (size_t i = 0; ret == STORE_OK && i < count; i++) {
		bool dup = false;
		if (batch_add(s, mailbox, NULL, msgs[i].iov, msgs[i].iovcnt, msgs[i].msg,
			      msgs[i].internal_date, msgs[i].flags & STORE_FLAGS_KEPT,
			      msgs[i].keywords, &uids_r[i], &dup, error_r) < 0)
			ret = STORE_ERROR;
	}
	if (ret != STORE_OK) {
		*uidvalidity_r = 0;
		mem_batch_abort(store);
		return ret;
	}
	return mem_batch_commit(store, error_r) < 0 ? STORE_ERROR : STORE_OK;
}

/* ---------- quota, memory ---------- */

static int mem_quota_get(struct store *store, uint64_t *limit_r, uint64_t *used_r,
			 const char **error_r)
{
	struct mem_store *s = mem_store(store);
	if (mem_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	*limit_r = s->account->state.quota;
	*used_r = account_bytes(&s->account->state);
	return STORE_OK;
}

static int mem_quota_set(struct store *store, uint64_t limit, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	if (limit > INT64_MAX)
		return mem_fail(s, error_r, "store: quota too large");
	if (mem_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	s->account->state.quota = limit;
	return STORE_OK;
}

static void mem_release_memory(struct store *store)
{
	(void)store;
}

/* ---------- for tests (store-mem.h) ---------- */

unsigned *store_mem_calls(struct store *store, enum store_mem_call call)
{
	assert(call < STORE_MEM_CALLS);
	return &mem_store(store)->calls[call];
}

int store_mem_fail_search(struct store *store, const char *text, const char *error)
{
	struct mem_store *s = mem_store(store);
	free(s->fail_text);
	free(s->fail_error);
	s->fail_text = s->fail_error = NULL;
	if (text == NULL)
		return 0;
	s->fail_text = strdup(text);
	s->fail_error = strdup(error);
	return s->fail_text != NULL && s->fail_error != NULL ? 0 : -1;
}

int store_mem_slow_search(struct store *store, const char *text, unsigned ms)
{
	struct mem_store *s = mem_store(store);
	free(s->slow_text);
	s->slow_text = text != NULL ? strdup(text) : NULL;
	s->slow_ms = ms;
	return text == NULL || s->slow_text != NULL ? 0 : -1;
}

int store_mem_hide(struct store *store, const char *mailbox, uint32_t uid, bool hidden)
{
	struct mem_store *s = mem_store(store);
	struct mem_mailbox *b = mem_mailbox_find(s, mailbox);
	size_t at = b == NULL ? 0 : mem_message_find(b, uid);
	if (b == NULL || at == b->count)
		return -1;
	b->msgs[at].hidden = hidden;
	return 0;
}

int store_mem_put(struct store *store, const char *mailbox, const struct store_mem_message *in)
{
	struct mem_store *s = mem_store(store);
	struct mem_mailbox *b = mem_mailbox_find(s, mailbox);
	struct mem_content *c = calloc(1, sizeof(*c));
	if (b == NULL || c == NULL || in->m.uid < b->uidnext || in->m.uid == 0) {
		free(c);
		return -1;
	}
	c->refs = 1;
	c->size = strlen(in->content);
	c->data = strdup(in->content);
	c->parts = calloc(2, sizeof(*c->parts));
	const char **fields[] = CONTENT_FIELDS(c);
	const char *values[] = { in->envelope,   "",          "",          in->subject,
				 in->from,       in->to,      in->cc,      in->message_id,
				 in->in_reply_to, in->references, in->bcc, in->body,
				 in->content };
	struct str src[CONTENT_FIELD_COUNT];
	for (size_t i = 0; i < CONTENT_FIELD_COUNT; i++)
		src[i] = str_c(values[i]);
	if (c->data == NULL || c->parts == NULL ||
	    content_strings(c, fields, src, CONTENT_FIELD_COUNT) < 0) {
		mem_content_unref(c);
		return -1;
	}
	/* One part, the whole content a header. */
	c->part_count = 1;
	c->parts[0] = (struct store_part){ .section = "", .content_type = "text/plain",
					   .header_size = c->size, .body_offset = c->size };
	c->sent_date = in->sent_date;
	struct mem_message *msgs = reallocarray(b->msgs, b->count + 1, sizeof(*msgs));
	if (msgs == NULL) {
		mem_content_unref(c);
		return -1;
	}
	b->msgs = msgs;
	msgs[b->count++] = (struct mem_message){ in->m, c, false };
	b->uidnext = (uint64_t)in->m.uid + 1;
	if (in->m.modseq > b->highestmodseq)
		b->highestmodseq = in->m.modseq;
	return 0;
}

const struct store_backend store_backend_mem = {
	.name = "mem",
	.preinit = mem_preinit,
	.create = mem_create,
	.open = mem_open,
	.close = mem_close,
	.mailbox_list = mem_mailbox_list,
	.batch_begin = mem_batch_begin,
	.batch_deliver = mem_batch_deliver,
	.batch_commit = mem_batch_commit,
	.batch_abort = mem_batch_abort,
	.message_list = mem_message_list,
	.message_open = mem_message_open,
	.reader_open = mem_reader_open,
	.reader_read = mem_reader_read,
	.reader_close = mem_reader_close,
	.expunge = mem_expunge,
	.keyword_list = mem_keyword_list,
	.keyword_index = mem_keyword_index,
	.mailbox_get = mem_mailbox_get,
	.mailbox_create = mem_mailbox_create,
	.mailbox_claim_recent = mem_mailbox_claim_recent,
	.mailbox_delete = mem_mailbox_delete,
	.mailbox_rename = mem_mailbox_rename,
	.mailbox_subscribe = mem_mailbox_subscribe,
	.subscription_list = mem_subscription_list,
	.message_range = mem_message_range,
	.message_meta = mem_message_meta,
	.message_meta_free = mem_message_meta_free,
	.flags_update = mem_flags_update,
	.copy = mem_copy,
	.append = mem_append,
	.changes = mem_changes,
	.text_search = mem_text_search,
	.quota_get = mem_quota_get,
	.quota_set = mem_quota_set,
	.release_memory = mem_release_memory,
};
