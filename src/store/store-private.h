#ifndef RAVELIN_STORE_PRIVATE_H
#define RAVELIN_STORE_PRIVATE_H
/*
 * The table every store backend fills in (store-sqlite.c, store-mem.c; a
 * PostgreSQL + object-store backend later).  store.c checks the arguments
 * of the public calls and then dispatches through this table, so a backend
 * may rely on:
 *   - every pointer argument is non-NULL, iovcnt >= 0;
 *   - mailbox names are at most STORE_MAILBOX_NAME_MAX bytes, with INBOX
 *     spelled "INBOX" whatever case the caller used, also as the first
 *     level of a longer name ("inbox/sub" is "INBOX/sub");
 *   - delivery keys are 1..STORE_DELIVERY_KEY_MAX bytes;
 *   - flags to store_flags_update are within STORE_FLAGS_KEPT (APPEND's
 *     are not: the backend masks them); the UIDs given to copy and
 *     flags_update are ascending without repeats;
 *   - msg->size equals the content length and every part lies inside it.
 * A backend embeds struct store as the first member of its own structure,
 * struct store_reader first in its readers, and struct store_meta_head
 * first in what message_meta allocates (store.c sets its free).
 * Lists it returns are allocated with malloc (names too): store.c frees them.
 */
#include "store.h"

/* A mailbox name longer than this is refused (IMAP clients use far less;
 * the bound keeps a hostile name out of the database and the logs). */
#define STORE_MAILBOX_NAME_MAX 1024
/* A delivery key is queue id + recipient: an address is at most 320 bytes. */
#define STORE_DELIVERY_KEY_MAX 512
/* Room for one error message kept by a store. */
#define STORE_ERROR_MAX 512
/* The flags a message keeps (STORE_FLAG_RECENT is a session's own). */
#define STORE_FLAGS_KEPT                                                              \
	(STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DELETED | \
	 STORE_FLAG_DRAFT)

struct store_backend {
	const char *name;
	/* preinit does the process-wide setup that reads files outside the
	 * account directory (see store_preinit). */
	int (*preinit)(const char **error_r);
	int (*create)(const char *dir, const char **error_r);
	int (*open)(const char *dir, struct store **store_r, const char **error_r);
	void (*close)(struct store *store);
	int (*mailbox_list)(struct store *store, struct store_mailbox **list_r, size_t *count_r,
			    const char **error_r);
	/* The batch calls keep the batch's state and check it themselves (a
	 * batch open or not); store.c checks their arguments only. */
	int (*batch_begin)(struct store *store, const char **error_r);
	int (*batch_deliver)(struct store *store, const char *mailbox, const char *delivery_key,
			     const struct iovec *iov, int iovcnt, const struct mime_message *msg,
			     int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
			     const char **error_r);
	int (*batch_commit)(struct store *store, const char **error_r);
	void (*batch_abort)(struct store *store);
	int (*message_list)(struct store *store, const char *mailbox,
			    struct store_message **list_r, size_t *count_r, const char **error_r);
	int (*message_open)(struct store *store, const char *mailbox, uint32_t uid,
			    const char **error_r);
	/* The reader calls (store.h): reader_open fills the reader's size;
	 * read gets 0 < len <= size - offset. */
	int (*reader_open)(struct store *store, const char *mailbox, uint32_t uid,
			   struct store_reader **reader_r, const char **error_r);
	int (*reader_read)(struct store_reader *reader, uint64_t offset, void *buf, size_t len,
			   size_t *read_r, const char **error_r);
	void (*reader_close)(struct store_reader *reader);
	int (*expunge)(struct store *store, const char *mailbox, const uint32_t *uids,
		       size_t count, const char **error_r);
	/* The IMAP calls: the same meaning and statuses as in store.h. */
	int (*keyword_list)(struct store *store, const char *const **names_r, size_t *count_r,
			    const char **error_r);
	int (*keyword_index)(struct store *store, const char *name, bool create,
			     unsigned *index_r, const char **error_r);
	int (*mailbox_get)(struct store *store, const char *name, struct store_mailbox *box_r,
			   const char **error_r);
	int (*mailbox_create)(struct store *store, const char *name, const char **error_r);
	int (*mailbox_claim_recent)(struct store *store, const char *name, uint32_t *first_r,
				    uint32_t *next_r, const char **error_r);
	int (*mailbox_delete)(struct store *store, const char *name, const char **error_r);
	int (*mailbox_rename)(struct store *store, const char *from, const char *to,
			      const char **error_r);
	int (*subscription_list)(struct store *store, char ***names_r, size_t *count_r,
				 const char **error_r);
	int (*mailbox_subscribe)(struct store *store, const char *name, bool subscribed,
				 const char **error_r);
	int (*message_range)(struct store *store, const char *mailbox, uint32_t first,
			     uint32_t last, struct store_message **list_r, size_t *count_r,
			     const char **error_r);
	int (*message_meta)(struct store *store, const char *mailbox, uint32_t uid,
			    struct store_message_meta **meta_r, const char **error_r);
	void (*message_meta_free)(struct store_message_meta *meta);
	int (*flags_update)(struct store *store, const char *mailbox, const uint32_t *uids,
			    size_t count, enum store_flags_mode mode, uint32_t flags,
			    uint64_t keywords, uint64_t unchangedsince,
			    struct store_message **changed_r, size_t *changed_count_r,
			    uint32_t **failed_r, size_t *failed_count_r, const char **error_r);
	int (*copy)(struct store *store, const char *from, const uint32_t *uids, size_t count,
		    const char *to, bool move, uint32_t *uidvalidity_r, uint32_t **src_r,
		    uint32_t **dst_r, size_t *copied_r, const char **error_r);
	int (*append)(struct store *store, const char *mailbox, const struct store_append_msg *msgs,
		      size_t count, uint32_t *uidvalidity_r, uint32_t *uids_r,
		      const char **error_r);
	int (*changes)(struct store *store, const char *mailbox, uint64_t modseq,
		       struct store_message **changed_r, size_t *changed_count_r,
		       uint32_t **expunged_r, size_t *expunged_count_r, uint64_t *highestmodseq_r,
		       const char **error_r);
	int (*text_search)(struct store *store, const char *mailbox, enum store_text_field field,
			   const char *text, uint32_t **uids_r, size_t *count_r,
			   const char **error_r);
	int (*quota_get)(struct store *store, uint64_t *limit_r, uint64_t *used_r,
			 const char **error_r);
	int (*quota_set)(struct store *store, uint64_t limit, const char **error_r);
	void (*release_memory)(struct store *store);
	/* Hygiene (store.h); NULL: the backend keeps nothing to clean (store-mem). */
	int (*gc_step)(struct store *store, int64_t now, bool *more_r, const char **error_r);
	int (*usage)(struct store *store, struct store_usage *usage_r, const char **error_r);
	/* The full-text backlog (store.h); NULL in a backend without one. */
	int (*index_backlog)(struct store *store, size_t max, bool *more_r,
			     const char **error_r);
	uint64_t (*index_marks)(struct store *store);
	int (*text_catch_up)(struct store *store, const char *mailbox, const char **error_r);
	/* Group commit (store.h); NULL: every commit is durable on return
	 * and nothing ever waits for a sync (store-mem). */
	int (*sync_defer)(struct store *store, bool defer, const char **error_r);
	bool (*sync_pending)(struct store *store);
	int (*sync)(struct store *store, const char **error_r);
	/* The sync beside the loop (store.h, store_sync_begin); NULL: none. */
	int (*sync_begin)(struct store *store, const char **error_r);
	int (*sync_run)(struct store *store, char *error);
	int (*sync_end)(struct store *store, bool ok, const char **error_r);
	/* Optional (NULL: store.c filters message_range's answer). */
	int (*message_range_filtered)(struct store *store, const char *mailbox, uint32_t first,
				      uint32_t last, enum store_range_filter filter,
				      struct store_message **list_r, size_t *count_r,
				      const char **error_r);
	/* Optional (NULL: store.c answers from mailbox_get and message_list). */
	int (*mailbox_view)(struct store *store, const char *name, struct store_mailbox *box_r,
			    uint32_t **uids_r, uint32_t *first_unseen_r, const char **error_r);
	/* Optional (NULL: store.c calls message_meta for each). */
	int (*message_meta_list)(struct store *store, const char *mailbox, const uint32_t *uids,
				 size_t count, struct store_message_meta **metas_r,
				 const char **error_r);
	/* Optional (NULL: store.c calls reader_open with the meta's UID). */
	int (*reader_open_meta)(struct store *store, const struct store_message_meta *meta,
				struct store_reader **reader_r, const char **error_r);
	/* Optional (NULL: store_message_head_list gives full metas);
	 * message_head_free frees what it gives. */
	int (*message_head_list)(struct store *store, const char *mailbox, const uint32_t *uids,
				 size_t count, struct store_message_meta **metas_r,
				 const char **error_r);
	void (*message_head_free)(struct store_message_meta *meta);
	/* Optional (NULL: store_message_envelope_list gives full metas);
	 * message_head_free frees what it gives. */
	int (*message_envelope_list)(struct store *store, const char *mailbox,
				     const uint32_t *uids, size_t count,
				     struct store_message_meta **metas_r, const char **error_r);
};

struct store {
	const struct store_backend *backend;
};

struct store_reader {
	const struct store_backend *backend;
	uint64_t size;
	char error[STORE_ERROR_MAX];
};

/* The start of every meta a backend gives: store_message_meta_free calls
 * free, the backend's message_meta_free. */
struct store_meta_head {
	struct store_message_meta meta;
	void (*free)(struct store_message_meta *meta);
};

extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_mem;

/* store_message_open opens a message's content read-only; returns an fd
 * or -1.  Only the store's own tests look at the file: everything else
 * reads content through store_reader_open (store.h). */
int store_message_open(struct store *store, const char *mailbox, uint32_t uid,
		       const char **error_r);

#endif
