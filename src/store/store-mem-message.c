/*
 * store-mem-message: the in-memory backend's messages: lists and ranges,
 * the pre-parsed answers, the content (a memory file or a reader),
 * expunge, flag updates, changes since a MODSEQ, and substring search
 * folded as the SQLite backend's index folds.
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
#include "lib/io.h"
#include "index-text.h"

/* What store_message_meta gives: the strings stay the content's, which
 * the meta keeps by a reference (an expunge may drop the message's). */
struct mem_meta {
	struct store_meta_head head; /* first: store.c sees only this */
	struct mem_content *content;
	struct store_part parts[];
};

/* The reader of a message: its content, kept by a reference. */
struct mem_reader {
	struct store_reader reader; /* first: store.c sees only this */
	struct mem_content *content;
};

/* ---------- messages ---------- */

/* messages_copy gives b's messages with UIDs in first..last (and, with
 * above, a MODSEQ above it) in a new array (NULL when none). */
static int messages_copy(struct mem_store *s, const struct mem_mailbox *b, uint32_t first,
			 uint32_t last, bool above, uint64_t modseq, struct store_message **list_r,
			 size_t *count_r, const char **error_r)
{
	struct store_message *list = NULL;
	size_t n = 0;

	for (size_t i = 0; i < b->count; i++) {
		const struct store_message *m = &b->msgs[i].m;
		if (m->uid < first || m->uid > last || (above && m->modseq <= modseq))
			continue;
		if (list == NULL && (list = calloc(b->count, sizeof(*list))) == NULL)
			return mem_no_memory(s, error_r);
		list[n++] = *m;
	}
	*list_r = list;
	*count_r = n;
	return 0;
}

int mem_message_list(struct store *store, const char *mailbox,
			    struct store_message **list_r, size_t *count_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	if (mem_no_batch(s, error_r) < 0)
		return -1;
	struct mem_mailbox *b = mem_mailbox_find(s, mailbox);
	if (b == NULL)
		return mem_fail(s, error_r, "store: no such mailbox: %s", mailbox);
	return messages_copy(s, b, 1, MEM_UID_MAX, false, 0, list_r, count_r, error_r);
}

int mem_message_range(struct store *store, const char *mailbox, uint32_t first,
			     uint32_t last, struct store_message **list_r, size_t *count_r,
			     const char **error_r)
{
	struct mem_store *s = mem_store(store);
	int ret = STORE_OK;

	struct mem_mailbox *b = mem_mailbox_reach(s, mailbox, &ret, error_r);
	if (b == NULL)
		return ret;
	if (messages_copy(s, b, first, last, false, 0, list_r, count_r, error_r) < 0)
		return STORE_ERROR;
	return STORE_OK;
}

/* message_visible finds a message the meta and content calls may see:
 * STORE_OK with *m_r, or STORE_NOT_FOUND / STORE_ERROR with the text the
 * SQLite backend gives. */
static int message_visible(struct mem_store *s, const char *mailbox, uint32_t uid,
			   struct mem_message **m_r, const char **error_r)
{
	int ret = STORE_OK;

	struct mem_mailbox *b = mem_mailbox_reach(s, mailbox, &ret, error_r);
	if (b == NULL)
		return ret;
	size_t at = mem_message_find(b, uid);
	if (at == b->count || b->msgs[at].hidden)
		return mem_status(s, STORE_NOT_FOUND, error_r, "No such message");
	*m_r = &b->msgs[at];
	return STORE_OK;
}

int mem_message_meta(struct store *store, const char *mailbox, uint32_t uid,
			    struct store_message_meta **meta_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	struct mem_message *mm = NULL;

	s->calls[STORE_MEM_MESSAGE_META]++;
	int ret = message_visible(s, mailbox, uid, &mm, error_r);
	if (ret != STORE_OK)
		return ret;
	const struct mem_content *c = mm->content;
	struct mem_meta *mb = calloc(1, sizeof(*mb) + (c->part_count + 1) * sizeof(*mb->parts));
	if (mb == NULL)
		return mem_no_memory(s, error_r);
	struct store_message_meta *m = &mb->head.meta;
	m->msg = mm->m;
	m->envelope = c->envelope;
	m->body = c->body;
	m->bodystructure = c->bodystructure;
	m->subject = c->subject;
	m->from = c->from;
	m->to = c->to;
	m->cc = c->cc;
	m->message_id = c->message_id;
	m->in_reply_to = c->in_reply_to;
	m->references = c->references;
	m->sent_date = c->sent_date;
	m->sent_zone = c->sent_zone;
	m->lines = c->lines;
	m->parts = mb->parts;
	m->part_count = c->part_count;
	if (c->part_count > 0)
		memcpy(mb->parts, c->parts, c->part_count * sizeof(*c->parts));
	mb->content = mm->content;
	mb->content->refs++;
	*meta_r = m;
	return STORE_OK;
}

void mem_message_meta_free(struct store_message_meta *meta)
{
	struct mem_meta *mb = (struct mem_meta *)meta;
	mem_content_unref(mb->content);
	free(mb);
}

/* mem_message_open gives the content in a memory file (the fd API of
 * store.h; store_reader is the one without descriptors). */
int mem_message_open(struct store *store, const char *mailbox, uint32_t uid,
			    const char **error_r)
{
	struct mem_store *s = mem_store(store);
	struct mem_message *m = NULL;

	s->calls[STORE_MEM_CONTENT_OPEN]++;
	if (message_visible(s, mailbox, uid, &m, error_r) != STORE_OK)
		return mem_fail(s, error_r, "store: no message %s UID %u", mailbox, uid);
	int fd = memfd_create("message", MFD_CLOEXEC);
	if (fd < 0)
		return mem_fail(s, error_r, "memfd_create() failed: %m");
	if (io_write_all(fd, m->content->data, m->content->size) < 0) {
		close(fd);
		return mem_fail(s, error_r, "write(memfd) failed: %m");
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return mem_fail(s, error_r, "lseek(memfd) failed: %m");
	}
	return fd;
}

int mem_reader_open(struct store *store, const char *mailbox, uint32_t uid,
			   struct store_reader **reader_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	struct mem_message *m = NULL;

	s->calls[STORE_MEM_CONTENT_OPEN]++;
	int ret = message_visible(s, mailbox, uid, &m, error_r);
	if (ret != STORE_OK)
		return ret;
	struct mem_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return mem_no_memory(s, error_r);
	r->reader.backend = &store_backend_mem;
	r->reader.size = m->content->size;
	r->content = m->content;
	r->content->refs++;
	*reader_r = &r->reader;
	return STORE_OK;
}

int mem_reader_read(struct store_reader *reader, uint64_t offset, void *buf, size_t len,
			   size_t *read_r, const char **error_r)
{
	struct mem_reader *r = (struct mem_reader *)reader;
	(void)error_r;
	size_t n = 0;
	if (offset < r->content->size) {
		n = r->content->size - (size_t)offset;
		n = n < len ? n : len;
		memcpy(buf, r->content->data + offset, n);
	}
	*read_r = n;
	return STORE_OK;
}

void mem_reader_close(struct store_reader *reader)
{
	struct mem_reader *r = (struct mem_reader *)reader;
	mem_content_unref(r->content);
	free(r);
}

int mem_expunge(struct store *store, const char *mailbox, const uint32_t *uids,
		       size_t count, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	if (mem_no_batch(s, error_r) < 0)
		return -1;
	struct mem_mailbox *b = mem_mailbox_find(s, mailbox);
	if (b == NULL)
		return mem_fail(s, error_r, "store: no such mailbox: %s", mailbox);
	uint64_t modseq = b->highestmodseq + 1;
	for (size_t i = 0; i < count; i++) {
		size_t at = mem_message_find(b, uids[i]);
		if (at < b->count && mem_message_remove(s, b, at, modseq, error_r) < 0)
			return -1;
	}
	b->highestmodseq = modseq;
	return 0;
}

int mem_flags_update(struct store *store, const char *mailbox, const uint32_t *uids,
			    size_t count, enum store_flags_mode mode, uint32_t flags,
			    uint64_t keywords, uint64_t unchangedsince,
			    struct store_message **changed_r, size_t *changed_count_r,
			    uint32_t **failed_r, size_t *failed_count_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	int ret = STORE_OK;

	struct mem_mailbox *b = mem_mailbox_reach(s, mailbox, &ret, error_r);
	if (b == NULL)
		return ret;
	struct store_message *changed = calloc(count + 1, sizeof(*changed));
	uint32_t *failed = calloc(count + 1, sizeof(*failed));
	if (changed == NULL || failed == NULL) {
		free(changed);
		free(failed);
		return mem_no_memory(s, error_r);
	}
	uint64_t modseq = b->highestmodseq + 1;
	for (size_t i = 0; i < count; i++) {
		size_t at = mem_message_find(b, uids[i]);
		if (at == b->count)
			continue;
		struct store_message *m = &b->msgs[at].m;
		if (unchangedsince > 0 && m->modseq > unchangedsince) {
			failed[(*failed_count_r)++] = uids[i];
			continue;
		}
		uint32_t f = mode == STORE_FLAGS_SET ? flags
			     : mode == STORE_FLAGS_ADD ? m->flags | flags
						       : m->flags & ~flags;
		uint64_t k = mode == STORE_FLAGS_SET ? keywords
			     : mode == STORE_FLAGS_ADD ? m->keywords | keywords
						       : m->keywords & ~keywords;
		if (f == m->flags && k == m->keywords)
			continue;
		m->flags = f;
		m->keywords = k;
		m->modseq = modseq;
		changed[(*changed_count_r)++] = *m;
	}
	if (*changed_count_r > 0)
		b->highestmodseq = modseq;
	*changed_r = changed;
	*failed_r = failed;
	return STORE_OK;
}

int mem_copy(struct store *store, const char *from, const uint32_t *uids, size_t count,
		    const char *to, bool move, uint32_t *uidvalidity_r, uint32_t **src_r,
		    uint32_t **dst_r, size_t *copied_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);

	if (mem_no_batch(s, error_r) < 0)
		return STORE_ERROR;
	struct mem_mailbox *src = mem_mailbox_find(s, from), *dst = mem_mailbox_find(s, to);
	if (src == NULL || dst == NULL)
		return mem_status(s, STORE_NOT_FOUND, error_r, "No such mailbox");
	int ret = mem_copy_locked(s, src, dst, uids, count, move, src_r, dst_r, copied_r, error_r);
	if (ret == STORE_OK)
		*uidvalidity_r = dst->uidvalidity;
	return ret;
}

int mem_changes(struct store *store, const char *mailbox, uint64_t modseq,
		       struct store_message **changed_r, size_t *changed_count_r,
		       uint32_t **expunged_r, size_t *expunged_count_r, uint64_t *highestmodseq_r,
		       const char **error_r)
{
	struct mem_store *s = mem_store(store);
	int ret = STORE_OK;

	struct mem_mailbox *b = mem_mailbox_reach(s, mailbox, &ret, error_r);
	if (b == NULL)
		return ret;
	*highestmodseq_r = b->highestmodseq;
	if (modseq >= b->highestmodseq)
		return STORE_OK;
	if (messages_copy(s, b, 1, MEM_UID_MAX, true, modseq, changed_r, changed_count_r,
			  error_r) < 0)
		return STORE_ERROR;
	uint32_t *gone = calloc(b->expunged_count + 1, sizeof(*gone));
	size_t n = 0;
	if (gone == NULL) {
		free(*changed_r);
		*changed_r = NULL;
		*changed_count_r = 0;
		return mem_no_memory(s, error_r);
	}
	for (size_t i = 0; i < b->expunged_count; i++)
		if (b->expunged[i].modseq > modseq)
			gone[n++] = b->expunged[i].uid;
	/* Ascending, as the SQLite backend's ORDER BY uid. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && gone[j - 1] > gone[j]; j--) {
			uint32_t t = gone[j];
			gone[j] = gone[j - 1];
			gone[j - 1] = t;
		}
	if (n == 0) {
		free(gone);
		gone = NULL;
	}
	*expunged_r = gone;
	*expunged_count_r = n;
	return STORE_OK;
}

/* ---------- search ---------- */

/* fold_char gives the next character of *p folded to lower case (ASCII
 * and the Latin-1 letters, the ones FTS5's folding and SQLite's lower()
 * share for the texts people search) as a number, and advances *p. */
static unsigned fold_char(const unsigned char **p, bool latin)
{
	unsigned c = *(*p)++;
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (latin && c == 0xc3 && **p >= 0x80 && **p <= 0x9e && **p != 0x97)
		return 0xc300 | (unsigned)(*(*p)++ + 0x20);
	if (c == 0xc3 && **p >= 0x80 && **p <= 0xbf)
		return 0xc300 | *(*p)++;
	return c;
}

/* text_contains says whether hay holds needle, compared folded. */
static bool text_contains(const char *hay, const char *needle, bool latin)
{
	const unsigned char *h = (const unsigned char *)hay;

	for (;;) {
		const unsigned char *a = h, *b = (const unsigned char *)needle;
		bool match = true;
		while (match && *b != '\0')
			match = *a != '\0' && fold_char(&a, latin) == fold_char(&b, latin);
		if (match)
			return true;
		if (*h == '\0')
			return false;
		fold_char(&h, latin);
	}
}

static size_t utf8_chars(const char *t)
{
	size_t n = 0;
	for (; *t != '\0'; t++)
		n += ((unsigned char)*t & 0xc0) != 0x80;
	return n;
}

int mem_text_search(struct store *store, const char *mailbox,
			   enum store_text_field field, const char *text, uint32_t **uids_r,
			   size_t *count_r, const char **error_r)
{
	struct mem_store *s = mem_store(store);
	int ret = STORE_OK;

	s->calls[STORE_MEM_TEXT_SEARCH]++;
	struct mem_mailbox *b = mem_mailbox_reach(s, mailbox, &ret, error_r);
	if (b == NULL)
		return ret;
	if (s->fail_text != NULL && strcmp(s->fail_text, text) == 0)
		return mem_status(s, STORE_ERROR, error_r, s->fail_error);
	if (s->slow_text != NULL && strcmp(s->slow_text, text) == 0) {
		clock_t start = clock();
		while ((clock() - start) * 1000 / CLOCKS_PER_SEC < (clock_t)s->slow_ms)
			;
	}
	/* Three characters and more: the index's folding; shorter: ASCII. */
	bool latin = utf8_chars(text) >= 3;
	uint32_t *uids = calloc(b->count + 1, sizeof(*uids));
	if (uids == NULL)
		return mem_no_memory(s, error_r);
	size_t n = 0;
	for (size_t i = 0; i < b->count; i++) {
		const struct mem_content *c = b->msgs[i].content;
		const char *fields[] = { c->subject, c->from, c->to,       c->cc,
					 c->bcc,     c->text_body, c->header };
		bool hit = false;
		for (int f = 0; !hit && f <= STORE_TEXT_ANY; f++)
			if (field == STORE_TEXT_ANY || f == (int)field)
				hit = text_contains(fields[f], text, latin);
		if (hit)
			uids[n++] = b->msgs[i].m.uid;
	}
	if (n == 0) {
		free(uids);
		uids = NULL;
	}
	*uids_r = uids;
	*count_r = n;
	return STORE_OK;
}
