#ifndef RAVELIN_STORE_H
#define RAVELIN_STORE_H
/*
 * store: one account's mail (and later calendars and contacts).  This is the
 * whole interface the worker sees; backends sit behind a table of functions
 * (store-sqlite.c is the embedded default: SQLite in WAL mode, synchronous
 * FULL, message files named by content hash; store-mem.c keeps everything
 * in memory, for tests).  No backend types leak out,
 * so a PostgreSQL + object-store backend can stand behind the same calls.
 *
 * Durability: a call that adds or changes data returns 0 only after the data
 * is on disk (files fsynced and renamed, directory fsynced, transaction
 * committed with a full sync).
 *
 * Errors: a call that fails returns -1 and sets *error_r to text for a log
 * ("sqlite: ...", "open(blobs/ab) failed: ...").  The text is static or
 * kept by the store, valid until the next call on that store; for
 * store_create and store_open, until the next of them in the same thread.
 * Nothing here logs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mail/mime.h"

struct store;

enum store_special_use {
	STORE_SPECIAL_NONE = 0,
	STORE_SPECIAL_INBOX,
	STORE_SPECIAL_SENT,
	STORE_SPECIAL_DRAFTS,
	STORE_SPECIAL_TRASH,
	STORE_SPECIAL_JUNK,
	STORE_SPECIAL_ARCHIVE,
};

/* Message flags as a bit set (keywords are kept separately). */
#define STORE_FLAG_SEEN     0x01u
#define STORE_FLAG_ANSWERED 0x02u
#define STORE_FLAG_FLAGGED  0x04u
#define STORE_FLAG_DELETED  0x08u
#define STORE_FLAG_DRAFT    0x10u
/* Never stored: an IMAP session marks the messages that are \Recent for it
 * (store_mailbox_claim_recent) with this bit in its own copies. */
#define STORE_FLAG_RECENT   0x20u

struct store_mailbox {
	int64_t id;
	char *name;                       /* UTF-8, '/' separates levels */
	enum store_special_use special_use;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint64_t messages;
	uint64_t unseen;
	uint64_t bytes;                   /* sum of message sizes */
	uint64_t recent;                  /* not yet claimed (store_mailbox_get only) */
	bool subscribed;
};

struct store_message {
	uint32_t uid;
	uint32_t flags;                   /* STORE_FLAG_* */
	uint64_t modseq;
	uint64_t size;
	int64_t internal_date;            /* Unix time */
	uint64_t keywords;                /* bit i: keyword i (store_keyword_list) */
	char hash[65];                    /* hex SHA-256 of the content, names the file */
};

/*
 * store_preinit does, once per process and before it is confined to one
 * account directory, the setup that reads files elsewhere: it seeds
 * SQLite's random numbers (from /dev/urandom) and loads SHA-256 from
 * OpenSSL (which reads openssl.cnf).  Calling it is optional outside a
 * jail.  Returns 0 or -1 with *error_r.
 */
int store_preinit(const char **error_r);

/*
 * store_create makes a new empty store in dir (which must exist and be
 * empty or hold an earlier store_create's result: it is idempotent), with
 * the mailboxes INBOX, Sent, Drafts, Trash, Junk and Archive and their
 * special-use attributes.  Returns 0 or -1 with *error_r.
 */
int store_create(const char *dir, const char **error_r);
/* store_open opens the store in dir (made by store_create). */
int store_open(const char *dir, struct store **store_r, const char **error_r);
/* store_close releases everything and sets *store to NULL. */
void store_close(struct store **store);

/*
 * store_mailbox_list returns all mailboxes with counts, sorted by name
 * (INBOX first).  Free with store_mailbox_list_free.
 */
int store_mailbox_list(struct store *store, struct store_mailbox **list_r, size_t *count_r,
		       const char **error_r);
void store_mailbox_list_free(struct store_mailbox **list, size_t count);

/*
 * store_deliver adds one message to mailbox (by name, e.g. "INBOX").
 * The content is the concatenation of iov[0..iovcnt) (so a Return-Path line
 * can be put in front of a spooled file without copying it); msg is the
 * parse of exactly that content.  delivery_key names this delivery
 * (queue id + recipient): a second call with a key already stored changes
 * nothing, sets *duplicate_r and gives the first delivery's UID, so a
 * delivery repeated after a crash never duplicates a message.
 * Returns 0 once the message is durable, STORE_OVER_QUOTA (nothing
 * stored) when it would pass the account's quota (a duplicate never
 * does), or -1 with *error_r.  It is a batch of one (below), so it fails
 * while a batch is open.
 */
int store_deliver(struct store *store, const char *mailbox, const char *delivery_key,
		  const struct iovec *iov, int iovcnt, const struct mime_message *msg,
		  int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
		  const char **error_r);

/*
 * Group commit: deliveries that arrive together share one transaction and
 * their syncs, so n messages cost n file syncs (which the kernel runs
 * together), one sync per directory touched and one WAL sync, instead of
 * 3n syncs in sequence.
 *
 *   store_batch_begin(store, &error);
 *   for each message: store_batch_deliver(store, ..., &uid[i], &dup[i], &error);
 *   if (store_batch_commit(store, &error) == 0) acknowledge the ones that
 *       returned 0; else report every one of them as failed (try later).
 *
 * store_batch_begin opens a batch (and takes the account's write lock until
 * the commit or abort: keep batches short).  One batch at a time per store;
 * while it is open, every call but store_batch_deliver, store_batch_commit,
 * store_batch_abort and store_close fails (store_deliver included).
 *
 * store_batch_deliver takes the arguments of store_deliver and gives its
 * answers, but nothing it adds is durable, or may be acknowledged, before
 * store_batch_commit returns 0.  A key already stored, before or earlier in
 * the same batch, is a duplicate: nothing is added and *uid_r is the first
 * delivery's UID.  A delivery that would pass the quota (counting what the
 * batch added before it) returns STORE_OVER_QUOTA.  A delivery that fails
 * (-1, e.g. an unknown mailbox, or STORE_OVER_QUOTA)
 * leaves no trace and the rest of the batch intact; the others may go on
 * and be committed.  The UIDs and MODSEQs a batch gives out are the
 * mailbox's next ones in call order, exactly as separate store_deliver
 * calls would have given them.  At most STORE_BATCH_MAX messages are
 * stored per batch: past that the call fails, commit and start another.
 *
 * store_batch_commit makes the whole batch durable and returns 0, or
 * returns -1 with *error_r having kept nothing of the batch (UIDNEXT as
 * before it; its deliveries, duplicates of keys of the batch included,
 * must be reported as failed).  Either way the batch is over.
 *
 * store_batch_abort drops an open batch the same way (a no-op without
 * one); store_close aborts an open batch.
 */
/* Each message in a batch keeps its file open until the commit (where its
 * sync is awaited), so this bounds the descriptors a batch holds; the
 * worker batches at most 256. */
#define STORE_BATCH_MAX 512
int store_batch_begin(struct store *store, const char **error_r);
int store_batch_deliver(struct store *store, const char *mailbox, const char *delivery_key,
			const struct iovec *iov, int iovcnt, const struct mime_message *msg,
			int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
			const char **error_r);
int store_batch_commit(struct store *store, const char **error_r);
void store_batch_abort(struct store *store);

/* store_message_list returns the messages of a mailbox in UID order (an
 * unknown mailbox is an error).  Free *list_r with free(). */
int store_message_list(struct store *store, const char *mailbox, struct store_message **list_r,
		       size_t *count_r, const char **error_r);

/*
 * store_backend_use chooses the backend of the stores this process creates
 * and opens after it (store_preinit, store_create, store_open): "sqlite",
 * the default (store-sqlite.c: a database and content files in the account
 * directory), or "mem" (store-mem.c: everything in this process, found by
 * the directory's name, kept until the process ends; for tests).  Returns
 * 0, or -1 for any other name.
 */
int store_backend_use(const char *name);

/*
 * store_expunge removes the messages uids[0..count) of mailbox (UIDs that
 * are not there are skipped) and records them with a new MODSEQ for
 * QRESYNC.  Durable on return 0.
 */
int store_expunge(struct store *store, const char *mailbox, const uint32_t *uids, size_t count,
		  const char **error_r);

/* ---------------------------------------------------------------------
 * The calls below serve IMAP (and later JMAP).  They return STORE_OK (0)
 * or a negative enum store_status; every failure but STORE_ERROR is a
 * user-level answer (the IMAP session maps it to NO [NONEXISTENT],
 * NO [ALREADYEXISTS], NO [OVERQUOTA], ...) and *error_r then holds a
 * short text fit for the client.  STORE_ERROR is an internal failure, whose
 * *error_r is for the log only.
 */
enum store_status {
	STORE_OK = 0,
	STORE_ERROR = -1,          /* internal: log it, answer NO [SERVERBUG] */
	STORE_NOT_FOUND = -2,      /* no such mailbox */
	STORE_EXISTS = -3,         /* the target mailbox exists */
	STORE_OVER_QUOTA = -4,     /* the account's quota would be passed */
	STORE_NOT_ALLOWED = -5,    /* e.g. deleting INBOX, renaming into itself */
	STORE_LIMIT = -6,          /* e.g. keyword table full, too many mailboxes */
};

/* Keywords ($Forwarded, $Junk, $label1, ...) are account-wide names with a
 * number 0..STORE_KEYWORDS_MAX-1; a message holds them as a bit set.
 * Clients use about a dozen (Thunderbird's five labels, $Junk/$NotJunk,
 * $Forwarded, $MDNSent, Apple's $MailFlagBit0-2); 64 leaves room while a
 * message's keywords stay one integer. */
#define STORE_KEYWORDS_MAX 64
/* Longest keyword (an IMAP atom). */
#define STORE_KEYWORD_LEN_MAX 128
/* Mailboxes per account: far beyond any folder tree a person keeps. */
#define STORE_MAILBOXES_MAX 10000

/* store_keyword_list gives the account's keyword names, index = bit
 * number.  The array and names belong to the store and stay valid until
 * the next call that may add a keyword (store_keyword_index with create). */
int store_keyword_list(struct store *store, const char *const **names_r, size_t *count_r,
		       const char **error_r);
/* store_keyword_index finds a keyword by name (case-insensitive, RFC 9051
 * 2.3.2) and, with create, adds it: STORE_OK with *index_r, STORE_NOT_FOUND
 * (create false), or STORE_LIMIT when the table is full. */
int store_keyword_index(struct store *store, const char *name, bool create, unsigned *index_r,
			const char **error_r);

/* store_mailbox_get fills *box_r (its name malloc'd: free box_r->name) for
 * one mailbox, with counts.  STORE_NOT_FOUND when there is none. */
int store_mailbox_get(struct store *store, const char *name, struct store_mailbox *box_r,
		      const char **error_r);
/*
 * store_mailbox_claim_recent: IMAP4rev1's \Recent (RFC 3501 2.3.2) goes to
 * the first session that selects a mailbox after a message arrived.  The
 * messages with UIDs in *first_r .. *next_r - 1 are recent for the caller,
 * and for nobody after it.
 */
int store_mailbox_claim_recent(struct store *store, const char *name, uint32_t *first_r,
			       uint32_t *next_r, const char **error_r);
/* store_mailbox_create adds an empty mailbox with a new UIDVALIDITY (one
 * never given before in this account).  Parent levels are not created
 * (IMAP shows them as \NonExistent \HasChildren).  STORE_EXISTS. */
int store_mailbox_create(struct store *store, const char *name, const char **error_r);
/* store_mailbox_delete removes a mailbox and its messages (children stay).
 * INBOX: STORE_NOT_ALLOWED. */
int store_mailbox_delete(struct store *store, const char *name, const char **error_r);
/* store_mailbox_rename renames from to to, and every "from/..." to
 * "to/...".  Renaming INBOX moves all its messages into a new mailbox "to"
 * and leaves INBOX empty (RFC 9051 6.3.6).  The renamed mailboxes keep
 * their UIDVALIDITY and special use.  STORE_NOT_FOUND, STORE_EXISTS (to or
 * one of the renamed children exists), STORE_NOT_ALLOWED (to is inside
 * from, or to is INBOX). */
int store_mailbox_rename(struct store *store, const char *from, const char *to,
			 const char **error_r);
/* store_mailbox_subscribe sets or clears the subscription.  A name that is
 * no mailbox is subscribed all the same (RFC 9051 6.3.7), and a deleted
 * mailbox stays subscribed: store_subscription_list gives such names;
 * STORE_LIMIT past STORE_SUBSCRIPTIONS_MAX of them. */
int store_mailbox_subscribe(struct store *store, const char *name, bool subscribed,
			    const char **error_r);

/* ---------- Subscriptions of names that are no mailbox ---------- */

/* Subscribed names without a mailbox: as many as there may be mailboxes,
 * so a client that subscribes a whole other server's tree still fits. */
#define STORE_SUBSCRIPTIONS_MAX STORE_MAILBOXES_MAX
/* store_subscription_list gives the subscribed names that are no mailbox
 * (sorted by their octets; a name becomes a subscribed mailbox when it is
 * created).  Free with store_subscription_list_free. */
int store_subscription_list(struct store *store, char ***names_r, size_t *count_r,
			    const char **error_r);
/* store_subscription_list_free frees the list and sets *names NULL. */
void store_subscription_list_free(char ***names, size_t count);

/* store_message_range gives the messages of mailbox whose UID lies in
 * first..last (inclusive), in UID order, with flags, keywords and MODSEQ.
 * Free *list_r with free().  STORE_NOT_FOUND for an unknown mailbox. */
int store_message_range(struct store *store, const char *mailbox, uint32_t first,
			uint32_t last, struct store_message **list_r, size_t *count_r,
			const char **error_r);

/* What FETCH and SEARCH read about one message beyond struct
 * store_message: the pre-parsed answers, the decoded header fields and the
 * parts, all from one allocation (free with store_message_meta_free). */
struct store_part {
	const char *section;           /* "", "1", "1.2" */
	uint64_t header_offset, header_size;
	uint64_t body_offset, body_size, body_lines;
	const char *content_type;      /* lower-case "type/subtype" */
	unsigned depth, child_count;
	bool is_message;               /* an embedded message's own entry */
};

struct store_message_meta {
	struct store_message msg;
	const char *envelope;          /* IMAP ENVELOPE text, without the word */
	const char *body;              /* IMAP BODY */
	const char *bodystructure;     /* IMAP BODYSTRUCTURE */
	const char *subject, *from, *to, *cc;   /* decoded UTF-8, "" if absent */
	const char *message_id, *in_reply_to, *references;
	int64_t sent_date;             /* Date: header as Unix time, -1 absent */
	int sent_zone;                 /* its zone as written, minutes east of UTC */
	uint64_t lines;
	struct store_part *parts;      /* parts[0] is the whole message */
	size_t part_count;
	/* The header section kept at delivery ("Header copies" below): the
	 * content's first header_copy_size octets, all of parts[0]'s header
	 * and its blank line; NULL and 0 when none is kept. */
	const char *header_copy;
	size_t header_copy_size;
};

int store_message_meta(struct store *store, const char *mailbox, uint32_t uid,
		       struct store_message_meta **meta_r, const char **error_r);
void store_message_meta_free(struct store_message_meta **meta);

/* How store_flags_update changes flags. */
enum store_flags_mode {
	STORE_FLAGS_SET,
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
};

/*
 * store_flags_update changes the flags and keywords of the messages
 * uids[0..count) of mailbox (UIDs not there are skipped).  Every message
 * whose flags or keywords really change gets a new MODSEQ (one new value
 * for the whole call, HIGHESTMODSEQ raised to it); messages left as they
 * were keep theirs.  unchangedsince > 0 (CONDSTORE STORE UNCHANGEDSINCE)
 * leaves alone every message whose MODSEQ is above it and lists its UID in
 * *failed_r.  *changed_r lists the messages that changed, with their new
 * state, in UID order.  Free both lists with free(); either may be
 * empty (NULL, 0).  Durable on STORE_OK.
 */
int store_flags_update(struct store *store, const char *mailbox, const uint32_t *uids,
		       size_t count, enum store_flags_mode mode, uint32_t flags,
		       uint64_t keywords, uint64_t unchangedsince,
		       struct store_message **changed_r, size_t *changed_count_r,
		       uint32_t **failed_r, size_t *failed_count_r, const char **error_r);

/*
 * store_copy copies the messages uids[0..count) of from into to (UIDs not
 * there are skipped) in UID order, with flags, keywords and internal date;
 * the content files are shared, not copied.  With move, the originals are
 * expunged in the same transaction (RFC 6851: atomic).  *src_r and *dst_r
 * (free()) give the source UIDs copied and the UIDs they got, pairwise, for
 * COPYUID; *uidvalidity_r is to's.  STORE_NOT_FOUND (either mailbox),
 * STORE_OVER_QUOTA (a copy passing the quota; nothing is copied).
 * Copying or moving within one mailbox is allowed: the messages get new
 * UIDs (a move records the old ones as expunged), as IMAP's MOVE wants.
 */
int store_copy(struct store *store, const char *from, const uint32_t *uids, size_t count,
	       const char *to, bool move, uint32_t *uidvalidity_r, uint32_t **src_r,
	       uint32_t **dst_r, size_t *copied_r, const char **error_r);

/* One message of an APPEND. */
struct store_append_msg {
	const struct iovec *iov;
	int iovcnt;
	const struct mime_message *msg;   /* the parse of exactly that content */
	uint32_t flags;
	uint64_t keywords;
	int64_t internal_date;
};

/*
 * store_append adds msgs[0..count) to mailbox in one transaction (MULTIAPPEND
 * is all or nothing) and gives their UIDs in uids_r[0..count) and the
 * mailbox's UIDVALIDITY.  STORE_NOT_FOUND (IMAP: NO [TRYCREATE]),
 * STORE_OVER_QUOTA.  Durable on STORE_OK.
 */
int store_append(struct store *store, const char *mailbox, const struct store_append_msg *msgs,
		 size_t count, uint32_t *uidvalidity_r, uint32_t *uids_r, const char **error_r);

/*
 * store_changes lists what changed in mailbox after modseq: the messages
 * whose MODSEQ is above it (new ones and changed flags; struct
 * store_message, UID order) and the UIDs expunged after it (ascending).
 * This is how a session learns of other sessions' and deliveries' changes
 * (EXISTS, EXPUNGE, FETCH FLAGS) and how QRESYNC answers VANISHED
 * (EARLIER).  Free both with free().  *highestmodseq_r is the mailbox's now.
 */
int store_changes(struct store *store, const char *mailbox, uint64_t modseq,
		  struct store_message **changed_r, size_t *changed_count_r,
		  uint32_t **expunged_r, size_t *expunged_count_r, uint64_t *highestmodseq_r,
		  const char **error_r);

/* Full-text search (SQLite FTS5), filled after delivery, APPEND and COPY
 * (store_index_backlog below) and before each search. */
enum store_text_field {
	STORE_TEXT_SUBJECT,
	STORE_TEXT_FROM,
	STORE_TEXT_TO,
	STORE_TEXT_CC,
	STORE_TEXT_BCC,
	STORE_TEXT_BODY,     /* the decoded text of the text parts */
	STORE_TEXT_ANY,      /* IMAP TEXT: header and body */
};
/*
 * store_text_search gives the UIDs (ascending, free()) of mailbox's
 * messages whose field contains text as a substring, case-insensitively
 * (IMAP SEARCH semantics), answered from the index.
 */
int store_text_search(struct store *store, const char *mailbox, enum store_text_field field,
		      const char *text, uint32_t **uids_r, size_t *count_r,
		      const char **error_r);
/* store_text_catch_up indexes what of mailbox is still in the backlog, as
 * store_text_search does first: a caller that bounds a search's cost
 * calls it first and leaves the catching up (the account's own deferred
 * work) out of the count. */
int store_text_catch_up(struct store *store, const char *mailbox, const char **error_r);

/*
 * Reading a message's content, the one way to it that names no file and
 * works the same with every backend.
 *
 * store_reader_open finds message uid of mailbox and gives a reader of its
 * content and the content's size in bytes (*size_r, struct store_message's
 * size).  STORE_OK, STORE_NOT_FOUND (no such mailbox or message; *error_r
 * fit for a client) or STORE_ERROR.  The reader sees the content as it was
 * when opened, even if the message is expunged meanwhile; it holds no lock
 * (other calls on the store may come between its reads) and is closed
 * before its store.
 *
 * store_reader_read copies up to len bytes of the content from offset
 * into buf and sets *read_r to how many: fewer than len only at the end of
 * the content (0 at or past it).  Windows may be read at any offset in any
 * order (FETCH BODY[]<partial>, POP3 RETR and TOP).  STORE_OK, or
 * STORE_ERROR with *error_r valid until the next call on the reader.
 *
 * store_reader_close releases the reader and sets *reader to NULL (safe on
 * NULL).
 */
struct store_reader;
int store_reader_open(struct store *store, const char *mailbox, uint32_t uid,
		      struct store_reader **reader_r, uint64_t *size_r, const char **error_r);
int store_reader_read(struct store_reader *reader, uint64_t offset, void *buf, size_t len,
		      size_t *read_r, const char **error_r);
void store_reader_close(struct store_reader **reader);

/* ---------------------------------------------------------------------
 * Opening a mailbox (IMAP SELECT and EXAMINE) at any size.
 *
 * store_mailbox_view fills *box_r as store_mailbox_get does (box_r->name
 * malloc'd: free it; messages, unseen and recent counted, bytes left 0)
 * and gives the mailbox's UIDs ascending in *uids_r (box_r->messages of
 * them; free(), NULL when empty) and in *first_unseen_r the UID of the
 * first message without \Seen (0: none), all as of one moment (one read
 * transaction), without reading the messages' rows: the UIDs come from
 * the (mailbox, UID) index and the unseen ones from an index of their own,
 * so its cost grows with the number of UIDs only (a 100,000-message
 * mailbox in a few milliseconds).  STORE_NOT_FOUND for an unknown mailbox.
 */
int store_mailbox_view(struct store *store, const char *name, struct store_mailbox *box_r,
		       uint32_t **uids_r, uint32_t *first_unseen_r, const char **error_r);

/*
 * store_reader_open_meta is store_reader_open for the message meta (from
 * store_message_meta on mailbox, not yet freed) describes, without finding
 * the message again: FETCH reads a message's pre-parsed answers and then,
 * for header fields or a body section, its content, and the content a
 * message names never changes.  The SQLite backend opens the content the
 * meta names, even if the message was expunged since (as a reader opened
 * then would); one without a way of its own finds the UID again
 * (STORE_NOT_FOUND once expunged).  Same statuses as store_reader_open.
 */
int store_reader_open_meta(struct store *store, const char *mailbox,
			   const struct store_message_meta *meta, struct store_reader **reader_r,
			   uint64_t *size_r, const char **error_r);

/*
 * store_message_meta_list is store_message_meta for uids[0..count) of
 * mailbox at once, in one read transaction (the SQLite backend's cost per
 * message is then its rows, not a transaction each): metas_r[i] (the
 * caller's array of count) is message uids[i]'s meta, or NULL for one that
 * is not there; free each with store_message_meta_free.  On failure none
 * is kept.  The caller bounds count (FETCH: a step, FETCH_STEP_MAX).
 */
int store_message_meta_list(struct store *store, const char *mailbox, const uint32_t *uids,
			    size_t count, struct store_message_meta **metas_r,
			    const char **error_r);

/* store_release_memory gives back the caches an idle store holds (SQLite's
 * page cache); they refill from the kernel's page cache on the next call. */
void store_release_memory(struct store *store);

/* Quota (RFC 9208): the account's STORAGE limit in bytes (0: none) and
 * what is used (sum of message sizes of all mailboxes). */
int store_quota_get(struct store *store, uint64_t *limit_r, uint64_t *used_r,
		    const char **error_r);
int store_quota_set(struct store *store, uint64_t limit, const char **error_r);

/* ---------------------------------------------------------------------
 * Hygiene: what no message needs any more goes, in small steps.
 *
 * store_gc_step does one bounded step of the clean-up (a few milliseconds
 * at most; the worker calls it on idle time) and sets *more_r when work is
 * left for another step.  A step
 *   - removes the files of expunged messages (and of deleted mailboxes)
 *     that no message names any more: files are shared by COPY and by
 *     identical deliveries, so each goes only with the last message
 *     naming it.  The check and the unlink happen under the account's
 *     write lock, which a delivery holds from before it decides to reuse
 *     an existing file until its commit: no file a message (or a delivery
 *     in progress) names is ever removed, whatever is killed when;
 *   - sweeps blobs/ once per store opened, in steps, for files a crash (or
 *     a failed batch) left unnamed: only files changed since the last
 *     completed sweep (less an hour's margin) are looked at;
 *   - forgets delivery keys (store_deliver) older than
 *     STORE_DELIVERY_KEEP_SECONDS at now (Unix time);
 *   - once work is done, truncates the WAL when nobody is using it (a
 *     large expunge grows it by megabytes; SQLite keeps its size).
 * The database file does not shrink: pages freed are reused by new mail.
 * Fails while a batch is open.  STORE_OK or STORE_ERROR.
 *
 * store_usage says what the account takes on disk against what its mail
 * weighs (`ravelin account show`).
 */
struct store_usage {
	uint64_t messages;        /* message rows (a copy counts again) */
	uint64_t live_bytes;      /* their sizes summed: the mail itself */
	uint64_t files;           /* message files on disk (each content once) */
	uint64_t file_bytes;      /* the blocks they take on disk */
	uint64_t db_bytes;        /* store.db */
	uint64_t db_free_bytes;   /* of which pages free for new rows */
	uint64_t wal_bytes;       /* store.db-wal and store.db-shm */
	uint64_t orphans;         /* files waiting for the clean-up to look */
};
/*
 * A repeated delivery (the queue lost the answer to one that was stored)
 * comes at the queue's next attempt: local retries are at most an hour
 * apart (QUEUE_MAX_RETRY_DELAY_S) while the server runs, and nothing stays
 * queued longer than queue.expire, at most CONFIG_MAX_DURATION (30 days).
 * A week more covers a server that was down for that long in between.
 */
#define STORE_DELIVERY_KEEP_SECONDS ((30 + 7) * 86400)
int store_gc_step(struct store *store, int64_t now, bool *more_r, const char **error_r);
int store_usage(struct store *store, struct store_usage *usage_r, const char **error_r);
/*
 * Full-text indexing off the delivery path.  A delivery, APPEND or COPY
 * stores the message and marks it "to index" in the same transaction; the
 * marks survive a crash.  The account's worker indexes the backlog in
 * turns on its idle time, and store_text_search first indexes what of its
 * mailbox is still marked, so answers stay exact.
 */
/* Messages one turn indexes at most: an 8 KB message costs 0.5-1 ms of
 * CPU (bench-store), so 64 keeps a turn near 30-60 ms between a worker's
 * events, while a turn's commit (one WAL fsync) is shared by many. */
#define STORE_INDEX_TURN_MAX 64
/* Content bytes one turn reads at most (it indexes at least one message):
 * a turn of large text messages stops early; attachments that are not
 * text cost only their mapping. */
#define STORE_INDEX_TURN_BYTES (1024u * 1024)

/*
 * store_index_backlog indexes up to max (at most STORE_INDEX_TURN_MAX)
 * marked messages, oldest first, fewer when their content passes
 * STORE_INDEX_TURN_BYTES, in one transaction, and sets *more_r when more
 * are marked (also after a failure: the marks stay).  Not while a batch
 * is open.  STORE_OK or STORE_ERROR.  A backend without a backlog (the
 * memory store indexes nothing) answers STORE_OK, *more_r false.
 */
int store_index_backlog(struct store *store, size_t max, bool *more_r, const char **error_r);
/*
 * store_index_marks counts the messages this store has marked since it was
 * opened: it moves with every delivery, APPEND and COPY of an unindexed
 * message (those of other connections are not counted), so a worker can
 * tell writes from quiet without asking the database.
 */
uint64_t store_index_marks(struct store *store);

/* ---------------------------------------------------------------------
 * Header copies: FETCH of header fields (BODY[HEADER], HEADER.FIELDS,
 * RFC822.HEADER) and SEARCH HEADER read a message's header section many
 * times over its life, and a list view asks it of a hundred messages at
 * once.  A delivery, APPEND (CATENATE included) keeps a copy of the
 * header section in the database, in the transaction that adds the
 * message, kept with the content (COPY and MOVE share it as they share
 * the file; it goes when the clean-up removes the file).  A message's
 * meta (store_message_meta, store_message_meta_list) carries it as
 * header_copy, and a reader opened from such a meta
 * (store_reader_open_meta) answers reads inside the copy from it and
 * opens the content only for a read past it.
 *
 * Copies are absent for messages stored before they were kept (the
 * reader then reads the file as before), for headers over
 * STORE_HEADER_KEEP_MAX, and in backends that keep none (the memory
 * store): callers fall back to the reader.
 */
/* Real headers are 1-4 KiB; a long Received chain or a large mail
 * system's own fields (DKIM, ARC, anti-spam reports) reach 10-20 KiB.
 * Past 32 KiB a header is rare and the file is read as before, which
 * bounds what a FETCH step's metas hold (FETCH_STEP_MAX of them). */
#define STORE_HEADER_KEEP_MAX (32u * 1024)

/* ---------------------------------------------------------------------
 * Group commit: a process that serves many clients from one store (the
 * worker) lets its commits return without waiting for the disk and makes
 * them durable together, answering each client only after the sync that
 * holds its change.
 *
 * store_sync_defer(store, true) starts that: from then on, every call in
 * this header that is "durable on return" is durable after the next
 * store_sync instead (store_batch_commit excepted: it still syncs before
 * it returns).  store_sync_defer(store, false) syncs what is pending and
 * goes back to a sync per commit.  0, or -1 with *error_r.
 *
 * store_sync_pending: a commit made since the last sync is not durable
 * yet (always false without deferral).  Commits of the full-text index
 * alone (store_index_backlog, a search's catching up) leave it as it was:
 * losing them loses no answer, only work done again.
 *
 * store_sync makes every commit so far durable: 0 (also when nothing was
 * pending), or -1 with *error_r: the disk refused, and what was committed
 * since the last sync may be lost, so nothing that depends on it may be
 * acknowledged.
 *
 * A backend without deferral (store-mem) keeps every commit as it is
 * made: defer succeeds, nothing ever pends, sync does nothing.
 */
int store_sync_defer(struct store *store, bool defer, const char **error_r);
bool store_sync_pending(struct store *store);
int store_sync(struct store *store, const char **error_r);

/*
 * The sync beside the loop (worker-commit.c): the store's sync split in
 * three, so that the disk waits run on another thread while the owner's
 * thread goes on committing (the commits it makes meanwhile pend for the
 * next sync).
 *
 * store_sync_begin (the owner's thread) takes everything pending as one
 * sync: 1 (then store_sync_run, then store_sync_end), 0 (nothing pending:
 * neither), or -1 with *error_r (nothing taken; one sync is out already
 * is refused: STORE_SYNC_OUT_MAX).
 * store_sync_run (any thread, once, while the owner goes on) does the
 * sync's waits: only fdatasync, rename and fsync on descriptors the store
 * opened for it, never SQLite.  0, or -1 with error.
 * store_sync_end (the owner's thread, after store_sync_run returned or
 * instead of it with ok false) finishes: with ok, what was pending at the
 * begin is durable; without, it may be lost (its rows without their
 * files are removed) and nothing that depended on it may be answered.
 * store_sync and store_sync_pending leave a sync that is out alone: its
 * files are its own until its end.
 * A backend without deferral: begin returns 0.
 */
/* One sync out at a time: the next one starts at its end, with all that
 * was committed meanwhile (two out would only split that batch). */
#define STORE_SYNC_OUT_MAX 1
/* Room for a sync's error (a path and a system error). */
#define STORE_SYNC_ERROR_MAX 256
int store_sync_begin(struct store *store, const char **error_r);
int store_sync_run(struct store *store, char error[STORE_SYNC_ERROR_MAX]);
int store_sync_end(struct store *store, bool ok, const char **error_r);

/*
 * store_message_range_filtered is store_message_range (first..last, UID
 * order, free() the list) kept to the messages without \Seen
 * (STORE_RANGE_UNSEEN) or with \Deleted (STORE_RANGE_DELETED): what
 * SEARCH UNSEEN and EXPUNGE ask, without reading every message of the
 * range (SQLite answers the unseen from its index of them).
 */
enum store_range_filter {
	STORE_RANGE_UNSEEN,
	STORE_RANGE_DELETED,
};
int store_message_range_filtered(struct store *store, const char *mailbox, uint32_t first,
				 uint32_t last, enum store_range_filter filter,
				 struct store_message **list_r, size_t *count_r,
				 const char **error_r);

/*
 * Header FETCH without the meta: a message list asks of many messages
 * their state and some fields of their header, which the header copies
 * ("Header copies" above) hold; reading the whole meta (ENVELOPE,
 * BODYSTRUCTURE, the part table) for that costs several times more.
 *
 * store_message_head_list is store_message_meta_list for uids[0..count)
 * (ascending) of mailbox, reading only each message's state and header
 * copy, in one read transaction: metas_r[i] (the caller's array of count)
 * has msg, header_copy and one part, parts[0], the whole message (its
 * header the copy's octets from 0, its body the rest; section "",
 * content_type NULL, body_lines 0); its other fields are NULL or 0.  So
 * it answers exactly what the full meta answers for the message's own
 * header (BODY[HEADER], HEADER.FIELDS(.NOT), RFC822.HEADER) and state,
 * and nothing else.  metas_r[i] is NULL for a message that is not there
 * or has no copy (stored before copies were kept, a header over
 * STORE_HEADER_KEEP_MAX): the caller reads its meta with
 * store_message_meta.  A backend without heads of its own (the memory
 * store) gives full metas, which answer the same.  Free each with
 * store_message_meta_free.  On failure none is kept.
 */
int store_message_head_list(struct store *store, const char *mailbox, const uint32_t *uids,
			    size_t count, struct store_message_meta **metas_r,
			    const char **error_r);

/*
 * Envelopes: a message list's FETCH of state and ENVELOPE (bench/imap's
 * fetch-list, a client's first look at a folder) needs of the meta only
 * the pre-parsed ENVELOPE; the full meta is two statements a message,
 * the part table and the header copy among what it reads.
 *
 * store_message_envelope_list is store_message_meta_list for
 * uids[0..count) (ascending) of mailbox, reading only each message's
 * state and ENVELOPE, in one read transaction over the UID range:
 * metas_r[i] has msg and envelope (NULL when the message has none, as
 * in its full meta); its other fields are NULL or 0, so it answers
 * ENVELOPE and the state items exactly as the full meta does, and
 * nothing else.  metas_r[i] is NULL for a message that is not there.  A
 * backend without envelopes of its own (the memory store) gives full
 * metas.  Free each with store_message_meta_free.  On failure none is
 * kept.
 */
int store_message_envelope_list(struct store *store, const char *mailbox,
				const uint32_t *uids, size_t count,
				struct store_message_meta **metas_r, const char **error_r);

#endif
