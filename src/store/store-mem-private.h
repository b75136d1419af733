#ifndef RAVELIN_STORE_MEM_PRIVATE_H
#define RAVELIN_STORE_MEM_PRIVATE_H
/*
 * What the files of the in-memory backend share (store-mem.c says what the
 * backend is):
 *
 *   store-mem.c          accounts, contents, open and close, batches and
 *                        APPEND, quota, the calls of store-mem.h, the table
 *   store-mem-mailbox.c  mailboxes (list, create, delete, rename, ...),
 *                        keywords, COPY and MOVE
 *   store-mem-message.c  messages: lists, meta, content, expunge, flags,
 *                        changes, search
 */
#include "store-mem.h"
#include "store-private.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

/* UIDs are 32-bit unsigned and never 0 (RFC 9051 2.3.1.1). */
#define MEM_UID_MAX UINT32_MAX

/* One message's content and what was read from it, shared by copies. */
struct mem_content {
	unsigned refs;
	char *data;
	size_t size;
	/* The meta strings, in one allocation; parts[i].section and
	 * .content_type point into it too. */
	char *strings;
	const char *envelope, *body, *bodystructure, *subject, *from, *to, *cc;
	const char *message_id, *in_reply_to, *references;
	const char *bcc, *text_body, *header;   /* the index's extra text */
	int64_t sent_date;
	int sent_zone;
	uint64_t lines;
	struct store_part *parts;
	size_t part_count;
};

struct mem_message {
	struct store_message m;
	struct mem_content *content;
	bool hidden;               /* store_mem_hide */
};

struct mem_expunged {
	uint32_t uid;
	uint64_t modseq;
};

struct mem_mailbox {
	char *name;
	enum store_special_use special_use;
	uint32_t uidvalidity;
	uint64_t uidnext;          /* up to MEM_UID_MAX + 1 */
	uint64_t highestmodseq;
	uint64_t first_recent;
	bool subscribed;
	struct mem_message *msgs;  /* UID order */
	size_t count;
	struct mem_expunged *expunged;  /* one per UID, any order */
	size_t expunged_count;
};

struct mem_delivery {
	char *key;
	uint32_t uid;
};

/* An account's state: copied whole for a batch. */
struct mem_state {
	struct mem_mailbox *boxes;
	size_t box_count;
	struct mem_delivery *deliveries;
	size_t delivery_count;
	char *keywords[STORE_KEYWORDS_MAX];
	size_t keyword_count;       /* highest bit in use + 1 */
	int64_t last_uidvalidity;
	uint64_t quota;
};

struct mem_account {
	char *dir;
	struct mem_state state;
	char **kept;               /* subscribed names that are no mailbox, sorted */
	size_t kept_count;
	struct mem_account *next;
};

struct mem_store {
	struct store store; /* first: store.c sees only this */
	struct mem_account *account;
	char error[STORE_ERROR_MAX];
	/* An open batch: the state before it, put back by an abort. */
	bool in_batch;
	struct mem_state before;
	size_t batch_count;
	unsigned calls[STORE_MEM_CALLS];
	char *fail_text, *fail_error;
	char *slow_text;          /* a search for it burns slow_ms of CPU */
	unsigned slow_ms;
};

static inline struct mem_store *mem_store(struct store *store)
{
	assert(store->backend == &store_backend_mem);
	return (struct mem_store *)store;
}

/* store-mem.c */
int mem_fail(struct mem_store *s, const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int mem_status(struct mem_store *s, int status, const char **error_r, const char *text);
int mem_no_memory(struct mem_store *s, const char **error_r);
int mem_no_batch(struct mem_store *s, const char **error_r);
void mem_content_unref(struct mem_content *c);
void mem_mailbox_free(struct mem_mailbox *b);
int mem_quota_check(struct mem_store *s, uint64_t adding, const char **error_r);

/* store-mem-mailbox.c */
struct mem_mailbox *mem_mailbox_find(struct mem_store *s, const char *name);
struct mem_mailbox *mem_mailbox_or_status(struct mem_store *s, const char *name, int *ret_r,
					  const char **error_r);
struct mem_mailbox *mem_mailbox_reach(struct mem_store *s, const char *name, int *ret_r,
				      const char **error_r);
struct mem_mailbox *mem_mailbox_add(struct mem_state *st, const char *name,
				    enum store_special_use special_use, bool subscribed);
size_t mem_message_find(const struct mem_mailbox *b, uint32_t uid);
int mem_message_append(struct mem_store *s, struct mem_mailbox *b, struct store_message m,
		       struct mem_content *content, uint64_t modseq, uint32_t *uid_r,
		       const char **error_r);
int mem_message_remove(struct mem_store *s, struct mem_mailbox *b, size_t i, uint64_t modseq,
		       const char **error_r);
int mem_mailbox_list(struct store *store, struct store_mailbox **list_r, size_t *count_r,
		     const char **error_r);
int mem_mailbox_get(struct store *store, const char *name, struct store_mailbox *box_r,
		    const char **error_r);
int mem_mailbox_claim_recent(struct store *store, const char *name, uint32_t *first_r,
			     uint32_t *next_r, const char **error_r);
int mem_mailbox_create(struct store *store, const char *name, const char **error_r);
int mem_mailbox_delete(struct store *store, const char *name, const char **error_r);
int mem_copy_locked(struct mem_store *s, struct mem_mailbox *src, struct mem_mailbox *dst,
		    const uint32_t *uids, size_t count, bool move, uint32_t **src_r,
		    uint32_t **dst_r, size_t *copied_r, const char **error_r);
int mem_mailbox_rename(struct store *store, const char *from, const char *to,
		       const char **error_r);
int mem_subscription_list(struct store *store, char ***names_r, size_t *count_r,
			  const char **error_r);
int mem_mailbox_subscribe(struct store *store, const char *name, bool subscribed,
			  const char **error_r);
int mem_keyword_list(struct store *store, const char *const **names_r, size_t *count_r,
		     const char **error_r);
int mem_keyword_index(struct store *store, const char *name, bool create,
		      unsigned *index_r, const char **error_r);

/* store-mem-message.c */
int mem_message_list(struct store *store, const char *mailbox,
		     struct store_message **list_r, size_t *count_r, const char **error_r);
int mem_message_range(struct store *store, const char *mailbox, uint32_t first,
		      uint32_t last, struct store_message **list_r, size_t *count_r,
		      const char **error_r);
int mem_message_meta(struct store *store, const char *mailbox, uint32_t uid,
		     struct store_message_meta **meta_r, const char **error_r);
void mem_message_meta_free(struct store_message_meta *meta);
int mem_message_open(struct store *store, const char *mailbox, uint32_t uid,
		     const char **error_r);
int mem_reader_open(struct store *store, const char *mailbox, uint32_t uid,
		    struct store_reader **reader_r, const char **error_r);
int mem_reader_read(struct store_reader *reader, uint64_t offset, void *buf, size_t len,
		    size_t *read_r, const char **error_r);
void mem_reader_close(struct store_reader *reader);
int mem_expunge(struct store *store, const char *mailbox, const uint32_t *uids,
		size_t count, const char **error_r);
int mem_flags_update(struct store *store, const char *mailbox, const uint32_t *uids,
		     size_t count, enum store_flags_mode mode, uint32_t flags,
		     uint64_t keywords, uint64_t unchangedsince,
		     struct store_message **changed_r, size_t *changed_count_r,
		     uint32_t **failed_r, size_t *failed_count_r, const char **error_r);
int mem_copy(struct store *store, const char *from, const uint32_t *uids, size_t count,
	     const char *to, bool move, uint32_t *uidvalidity_r, uint32_t **src_r,
	     uint32_t **dst_r, size_t *copied_r, const char **error_r);
int mem_changes(struct store *store, const char *mailbox, uint64_t modseq,
		struct store_message **changed_r, size_t *changed_count_r,
		uint32_t **expunged_r, size_t *expunged_count_r, uint64_t *highestmodseq_r,
		const char **error_r);
int mem_text_search(struct store *store, const char *mailbox,
		    enum store_text_field field, const char *text, uint32_t **uids_r,
		    size_t *count_r, const char **error_r);

#endif
