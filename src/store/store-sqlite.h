#ifndef RAVELIN_STORE_SQLITE_H
#define RAVELIN_STORE_SQLITE_H
/*
 * What the files of the SQLite backend share (store-sqlite.c says what the
 * backend is; each file's header says what it does):
 *
 *   store-sqlite.c          open, close, create, migrations run, quota
 *   store-sqlite-schema.c   the schema versions and the kept statements
 *   store-sqlite-db.c       running SQL: kept statements, binding, errors,
 *                           transactions
 *   store-sqlite-mailbox.c  mailboxes: list, create, delete, rename, ...
 *   store-sqlite-deliver.c  deliveries in batches (group commit), APPEND
 *   store-sqlite-fts.c      the full-text index: filling, upgrade, search
 *   store-sqlite-message.c  reading messages, expunge, changes
 *   store-sqlite-flags.c    keywords and flag updates
 *   store-sqlite-copy.c     COPY and MOVE
 *   store-sqlite-gc.c       hygiene: unnamed files, old delivery keys, usage
 *   store-sqlite-sync.c     group commit: deferred WAL syncs
 *
 * Nothing here is seen outside src/store.
 */
#include "store-private.h"

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "lib/sql.h"

#include "blob.h"
#include "index-text.h"

/* Wait this long for another connection's write lock before failing: a
 * delivery transaction takes milliseconds, a checkpoint a little more. */
#define STORE_BUSY_TIMEOUT_MS 5000
/* UIDs are 32-bit unsigned and never 0 (RFC 9051 2.3.1.1). */
#define STORE_UID_MAX UINT32_MAX
/* Longest account directory path accepted (the kernel's own limit). */
#define STORE_PATH_MAX PATH_MAX

enum stmt_id {
	STMT_BEGIN,
	STMT_BEGIN_IMMEDIATE,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SAVEPOINT,
	STMT_RELEASE,
	STMT_ROLLBACK_TO,
	STMT_DELIVERY_GET,
	STMT_DELIVERY_INSERT,
	STMT_MAILBOX_GET,
	STMT_MAILBOX_ADVANCE,
	STMT_MAILBOX_LIST,
	STMT_MESSAGE_INSERT,
	STMT_MESSAGE_LIST,
	STMT_MESSAGE_BLOB,
	STMT_PART_INSERT,
	STMT_MESSAGE_RANGE,
	STMT_FTS_INSERT,
	STMT_MESSAGE_FIELDS,
	STMT_FTS_DELETE,
	STMT_FTS_MARK,
	STMT_FTS_UNMARK,
	STMT_FTS_BACKLOG,
	STMT_MESSAGE_CHANGED,
	STMT_EXPUNGED_SINCE,
	STMT_EXPUNGED_ADD,
	STMT_MESSAGE_ROW,
	STMT_COPY_MESSAGE,
	STMT_COPY_PARTS,
	STMT_FTS_ROW,
	STMT_MOVE_MESSAGE,
	STMT_FLAGS_SET,
	STMT_META_MESSAGE,
	STMT_META_PARTS,
	STMT_META_SET,
	STMT_LAST_UIDVALIDITY,
	STMT_HAS_TABLE,
	STMT_SCHEMA_VERSION,
	STMT_JOURNAL_WAL,
	STMT_QUOTA_LIMIT,
	STMT_QUOTA_USED,
	STMT_MAILBOX_INSERT,
	STMT_MAILBOX_UIDVALIDITY,
	STMT_MAILBOX_STATUS,
	STMT_MAILBOX_COUNT,
	STMT_MAILBOX_UNINDEX,
	STMT_MAILBOX_DELETE,
	STMT_MAILBOX_FAMILY,
	STMT_MAILBOX_RENAME,
	STMT_MAILBOX_SUBSCRIBE,
	STMT_SUBSCRIPTION_ADD,
	STMT_SUBSCRIPTION_REMOVE,
	STMT_SUBSCRIPTION_COUNT,
	STMT_SUBSCRIPTION_LIST,
	STMT_MAILBOX_MODSEQ,
	STMT_RECENT_UNCHANGED,
	STMT_RECENT_FIRST,
	STMT_RECENT_SET,
	STMT_MESSAGE_DELETE,
	STMT_KEYWORD_LIST,
	STMT_KEYWORD_ADD,
	STMT_BACKFILL_MESSAGES,
	STMT_BACKFILL_PARTS,
	STMT_SEARCH_MATCH,
	/* STMT_SEARCH_SCAN + field (enum store_text_field), in its order. */
	STMT_SEARCH_SCAN,
	STMT_SEARCH_SCAN_LAST = STMT_SEARCH_SCAN + STORE_TEXT_ANY,
	STMT_VIEW_MAILBOX,
	STMT_VIEW_UIDS,
	STMT_VIEW_FIRST_UNSEEN,
	STMT_HEADER_KEEP,
	STMT_HEADER_FORGET,
	STMT_RANGE_UNSEEN,
	STMT_RANGE_DELETED,
	STMT_HEAD_RANGE,
	STMT_ENVELOPE_RANGE,
	STMT_COUNT
};

/* The clean-up pass's kept statements (store-sqlite-gc.c) and where its
 * sweep of blobs/ stands. */
enum gc_stmt_id {
	GC_STMT_ORPHAN_ANY,
	GC_STMT_ORPHAN_LIST,
	GC_STMT_ORPHAN_DELETE,
	GC_STMT_BLOB_NAMED,
	GC_STMT_DELIVERY_OLD,
	GC_STMT_DELIVERY_PRUNE,
	GC_STMT_META_GET,
	GC_STMT_USAGE,
	GC_STMT_FREELIST,
	GC_STMT_PAGE_SIZE,
	GC_STMT_COUNT
};
struct sqlite_gc {
	sqlite3_stmt *stmts[GC_STMT_COUNT];
	/* The sweep: the next blobs/xx to read (BLOB_DIRS: all read; past
	 * it: done), files changed since sweep_since only, the names read
	 * and not checked yet. */
	bool sweep_planned;
	bool unclean;            /* a WAL was left when the store was opened */
	bool sweep_forced;       /* a batch failed after renaming its files */
	unsigned sweep_dir;
	int64_t sweep_since, sweep_started;
	char (*names)[BLOB_HASH_SIZE];
	size_t name_count, name_next, name_cap;
	int64_t prune_due;       /* when old delivery keys are looked for next */
	bool removed;            /* rows went since the WAL was last truncated */
};

struct sqlite_store {
	struct store store; /* first: store.c sees only this */
	sqlite3 *db;
	int dir_fd;
	struct blob_store blobs;
	sqlite3_stmt *stmts[STMT_COUNT];
	char error[STORE_ERROR_MAX];
	/* An open batch: one transaction and the files written for it. */
	bool in_batch;
	struct blob_pending *pending;
	size_t pending_count, pending_cap;
	/* The quota read once per batch (quota_read), then counted up by the
	 * batch's own deliveries: no sum over the messages per delivery. */
	bool quota_read;
	uint64_t quota_limit, quota_used;
	/* Messages marked for the full-text index since the store was
	 * opened (store_index_marks). */
	uint64_t index_marks;
	/* Keyword names by bit (NULL: free), loaded on first use. */
	bool keywords_loaded;
	char *keywords[STORE_KEYWORDS_MAX];
	size_t keyword_count;     /* highest bit in use + 1 */
	struct sqlite_gc gc;
	/* Group commit (store-sqlite-sync.c): commits do not wait for the
	 * disk, and unsynced says one since the last sync has not reached it. */
	bool sync_deferred;
	bool unsynced;
	int64_t changes_seen;     /* sqlite3_total_changes64 at the last commit */
	/* The lowest message row committed since the last sync whose file
	 * waits for it too (APPEND), kept in meta as well; 0: none. */
	int64_t unsynced_from;
	/* The sync beside the loop (store_sync_begin): out says one runs,
	 * with the WAL's sync if out_wal, and out_from is its lowest row
	 * naming a file (0: none); uncut_from is the lowest such row since
	 * the begin.  wal_fd: the WAL, opened again for that sync (-1). */
	bool out, out_wal;
	int64_t out_from, uncut_from;
	int wal_fd;
};

struct mailbox_row {
	int64_t id;
	int64_t uidnext;
	int64_t highestmodseq;
};

/* The messages a COPY or MOVE takes, in UID order: their UIDs in the
 * source and in the target (pairwise, for COPYUID), their rows, their
 * bytes. */
struct copy_set {
	uint32_t *src, *dst;
	int64_t *rows;
	size_t count;
	uint64_t bytes;
};

static inline struct sqlite_store *sqlite_store(struct store *store)
{
	assert(store->backend == &store_backend_sqlite);
	return (struct sqlite_store *)store;
}

/* The SQL of each kept statement (store-sqlite-schema.c). */
extern const char *const sqlite_stmt_sql[STMT_COUNT];

/*
 * The migration hook: entry i takes the schema from version i to i + 1 (SQL
 * first, then an optional function for data).  A schema change appends an
 * entry; store_open applies the missing ones in one transaction.
 */
struct sqlite_migration {
	const char *sql;
	int (*after)(struct sqlite_store *s, const char **error_r);
};
extern const struct sqlite_migration sqlite_migrations[];
/* The schema version this program writes: the number of migrations. */
extern const int64_t sqlite_schema_version;

/* store-sqlite.c */
int quota_check(struct sqlite_store *s, uint64_t adding, const char **error_r);

/* store-sqlite-db.c */
int db_fail(struct sqlite_store *s, const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int db_sql_fail(struct sqlite_store *s, const char *what, const char **error_r);
sqlite3_stmt *db_stmt(struct sqlite_store *s, enum stmt_id id, const char **error_r);
int db_bind_check(struct sqlite_store *s, const struct sql_binder *b, const char **error_r);
int db_step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
		 const char **error_r);
int db_bind_run(struct sqlite_store *s, struct sql_binder *b, const char *what,
		const char **error_r);
int db_run(struct sqlite_store *s, enum stmt_id id, const char **error_r);
void db_rollback(struct sqlite_store *s);
int db_no_batch(struct sqlite_store *s, const char **error_r);
int db_exec(struct sqlite_store *s, const char *sql, const char **error_r);
int db_query_int(struct sqlite_store *s, enum stmt_id id, const char *param, int64_t *value_r,
		 const char **error_r);
int db_meta_set(struct sqlite_store *s, const char *key, int64_t value, const char **error_r);
int db_begin_write(struct sqlite_store *s, const char **error_r);
int db_commit(struct sqlite_store *s, const char **error_r);
int db_status_fail(struct sqlite_store *s, int status, const char **error_r,
		   const char *text);
int db_read_begin(struct sqlite_store *s, const char **error_r);

/* store-sqlite-mailbox.c */
int create_default_mailboxes(struct sqlite_store *s, const char **error_r);
int mailbox_get(struct sqlite_store *s, const char *name, struct mailbox_row *row_r,
		bool *found_r, const char **error_r);
int mailbox_require(struct sqlite_store *s, const char *name, struct mailbox_row *row_r,
		    const char **error_r);
int mailbox_advance(struct sqlite_store *s, int64_t id, int64_t uidnext,
		    uint64_t highestmodseq, const char **error_r);
int sqlite_mailbox_list(struct store *store, struct store_mailbox **list_r,
			size_t *count_r, const char **error_r);
int mailbox_read(struct sqlite_store *s, const char *name, struct mailbox_row *mb,
		 const char **error_r);
int mailbox_write(struct sqlite_store *s, const char *name, struct mailbox_row *mb,
		  const char **error_r);
int sqlite_mailbox_get(struct store *store, const char *name, struct store_mailbox *box_r,
		       const char **error_r);
int sqlite_mailbox_claim_recent(struct store *store, const char *name, uint32_t *first_r,
				uint32_t *next_r, const char **error_r);
int sqlite_mailbox_create(struct store *store, const char *name, const char **error_r);
int sqlite_mailbox_delete(struct store *store, const char *name, const char **error_r);
int sqlite_mailbox_rename(struct store *store, const char *from, const char *to,
			  const char **error_r);
int sqlite_subscription_list(struct store *store, char ***names_r, size_t *count_r,
			     const char **error_r);
int sqlite_mailbox_subscribe(struct store *store, const char *name, bool subscribed,
			     const char **error_r);
int sqlite_mailbox_view(struct store *store, const char *name, struct store_mailbox *box_r,
		       uint32_t **uids_r, uint32_t *first_unseen_r, const char **error_r);

/* store-sqlite-deliver.c */
int batch_usable(struct sqlite_store *s, const char **error_r);
int sqlite_batch_begin(struct store *store, const char **error_r);
int sqlite_batch_deliver(struct store *store, const char *mailbox,
			 const char *delivery_key, const struct iovec *iov, int iovcnt,
			 const struct mime_message *msg, int64_t internal_date,
			 uint32_t *uid_r, bool *duplicate_r, const char **error_r);
void sqlite_batch_abort(struct store *store);
int sqlite_batch_commit(struct store *store, const char **error_r);
int sqlite_append(struct store *store, const char *mailbox,
		  const struct store_append_msg *msgs, size_t count, uint32_t *uidvalidity_r,
		  uint32_t *uids_r, const char **error_r);

/* store-sqlite-fts.c */
int fts_mark(struct sqlite_store *s, int64_t rowid, const char **error_r);
int sqlite_index_backlog(struct store *store, size_t max, bool *more_r, const char **error_r);
uint64_t sqlite_index_marks(struct store *store);
int sqlite_text_catch_up(struct store *store, const char *mailbox, const char **error_r);
int fts_delete(struct sqlite_store *s, int64_t rowid, const char **error_r);
int fts_backfill(struct sqlite_store *s, const char **error_r);
int copy_fts(struct sqlite_store *s, int64_t from, int64_t to_row, const char **error_r);
int sqlite_text_search(struct store *store, const char *mailbox,
		       enum store_text_field field, const char *text, uint32_t **uids_r,
		       size_t *count_r, const char **error_r);

/* store-sqlite-message.c */
int message_rows(struct sqlite_store *s, int64_t mailbox_id, struct store_message **list_r,
		 size_t *count_r, const char **error_r);
int sqlite_message_list(struct store *store, const char *mailbox,
			struct store_message **list_r, size_t *count_r,
			const char **error_r);
int sqlite_expunge(struct store *store, const char *mailbox, const uint32_t *uids,
		   size_t count, const char **error_r);
int sqlite_message_open(struct store *store, const char *mailbox, uint32_t uid,
			const char **error_r);
int sqlite_message_range(struct store *store, const char *mailbox, uint32_t first,
			 uint32_t last, struct store_message **list_r, size_t *count_r,
			 const char **error_r);
int sqlite_message_meta(struct store *store, const char *mailbox, uint32_t uid,
			struct store_message_meta **meta_r, const char **error_r);
void sqlite_message_meta_free(struct store_message_meta *meta);
int sqlite_reader_open(struct store *store, const char *mailbox, uint32_t uid,
		       struct store_reader **reader_r, const char **error_r);
int sqlite_reader_read(struct store_reader *reader, uint64_t offset, void *buf, size_t len,
		       size_t *read_r, const char **error_r);
void sqlite_reader_close(struct store_reader *reader);
int sqlite_message_meta_list(struct store *store, const char *mailbox, const uint32_t *uids,
			     size_t count, struct store_message_meta **metas_r,
			     const char **error_r);
int sqlite_reader_open_meta(struct store *store, const struct store_message_meta *meta,
			    struct store_reader **reader_r, const char **error_r);
int message_row_get(struct sqlite_store *s, sqlite3_stmt *st, int64_t mailbox_id,
		    uint32_t uid, struct store_message *m, int64_t *rowid_r, bool *found_r,
		    const char **error_r);
int uids_collect(struct sqlite_store *s, sqlite3_stmt *st, uint32_t **uids_r,
		 size_t *count_r, const char **error_r);
int sqlite_changes(struct store *store, const char *mailbox, uint64_t modseq,
		   struct store_message **changed_r, size_t *changed_count_r,
		   uint32_t **expunged_r, size_t *expunged_count_r, uint64_t *highestmodseq_r,
		   const char **error_r);

/* store-sqlite-flags.c */
void keywords_forget(struct sqlite_store *s);
int sqlite_keyword_list(struct store *store, const char *const **names_r,
			size_t *count_r, const char **error_r);
int sqlite_keyword_index(struct store *store, const char *name, bool create,
			 unsigned *index_r, const char **error_r);
int sqlite_flags_update(struct store *store, const char *mailbox, const uint32_t *uids,
			size_t count, enum store_flags_mode mode, uint32_t flags,
			uint64_t keywords, uint64_t unchangedsince,
			struct store_message **changed_r, size_t *changed_count_r,
			uint32_t **failed_r, size_t *failed_count_r, const char **error_r);

/* store-sqlite-gc.c */
void gc_sweep_again(struct sqlite_store *s);
void gc_close(struct sqlite_store *s);
int sqlite_gc_step(struct store *store, int64_t now, bool *more_r, const char **error_r);
int sqlite_usage(struct store *store, struct store_usage *usage_r, const char **error_r);

/* store-sqlite-header.c: header_keep keeps the header section of a
 * content (hash, iov, its parse msg) in the caller's transaction, unless
 * one is kept already or it is over STORE_HEADER_KEEP_MAX; header_forget
 * deletes the copy of hash (its file is going).  0 or -1 with *error_r. */
int header_keep(struct sqlite_store *s, const char *hash, const struct iovec *iov, int iovcnt,
		const struct mime_message *msg, const char **error_r);
int header_forget(struct sqlite_store *s, const char *hash, const char **error_r);
/* message_columns reads a message's state from the row st stands on:
 * uid, flags, modseq, size, internal_date, blob, keywords (columns 0-6),
 * as the message-listing statements give them. */
void message_columns(sqlite3_stmt *st, struct store_message *m);
/* store-sqlite-header.c: store_message_head_list (store.h) and the
 * freeing of what it gives. */
int sqlite_message_head_list(struct store *store, const char *mailbox, const uint32_t *uids,
			     size_t count, struct store_message_meta **metas_r,
			     const char **error_r);
void sqlite_message_head_free(struct store_message_meta *meta);
/* store-sqlite-header.c: store_message_envelope_list (store.h); what it
 * gives is freed with sqlite_message_head_free. */
int sqlite_message_envelope_list(struct store *store, const char *mailbox, const uint32_t *uids,
				 size_t count, struct store_message_meta **metas_r,
				 const char **error_r);

/* store-sqlite-copy.c */
void copy_set_free(struct copy_set *c);
int copy_locked(struct sqlite_store *s, const struct mailbox_row *src,
		const struct mailbox_row *dst, const uint32_t *uids, size_t count,
		bool move, struct copy_set *c, const char **error_r);
int sqlite_copy(struct store *store, const char *from, const uint32_t *uids, size_t count,
		const char *to, bool move, uint32_t *uidvalidity_r, uint32_t **src_r,
		uint32_t **dst_r, size_t *copied_r, const char **error_r);

int sqlite_message_range_filtered(struct store *store, const char *mailbox, uint32_t first,
				  uint32_t last, enum store_range_filter filter,
				  struct store_message **list_r, size_t *count_r,
				  const char **error_r);
/* Group commit (store-sqlite-sync.c; store.h, store_sync_defer). */
int sqlite_sync_defer(struct store *store, bool defer, const char **error_r);
bool sqlite_sync_pending(struct store *store);
int sqlite_sync_mark(struct sqlite_store *s, int64_t rowid, const char **error_r);
int sqlite_sync(struct store *store, const char **error_r);
int sqlite_sync_begin(struct store *store, const char **error_r);
int sqlite_sync_run(struct store *store, char *error);
int sqlite_sync_end(struct store *store, bool ok, const char **error_r);
void sqlite_sync_close(struct sqlite_store *s);

#endif
