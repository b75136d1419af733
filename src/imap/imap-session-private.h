#ifndef RAVELIN_IMAP_SESSION_PRIVATE_H
#define RAVELIN_IMAP_SESSION_PRIVATE_H
/*
 * The session's state, shared by imap-session.c (the command loop,
 * literals, the selected mailbox's view and the untagged updates), the
 * command files cmd-*.c (one command or family each: any-state commands,
 * SELECT, EXPUNGE, FETCH, STORE, COPY/MOVE, SEARCH/SORT/THREAD, IDLE) and
 * imap-mailbox.c (commands on mailboxes: LIST, CREATE, DELETE, RENAME,
 * SUBSCRIBE, STATUS, APPEND, QUOTA).
 */
#include "imap-fetch.h"
#include "imap-proto/imap-parser.h"
#include "imap-session.h"
#include "lib/pool.h"
#include "store/store.h"

/* A command's memory (arguments, resolved UID lists); the parser's own
 * pool holds the arguments separately. */
#define IMAP_COMMAND_POOL_MAX (64u * 1024 * 1024)
/* Ranges of UIDs that are \Recent for a session (one per claim; a
 * session that holds a mailbox open for days claims once per delivery
 * burst, and the oldest ranges are forgotten past this). */
#define IMAP_RECENT_RANGES 32
/* Own flag changes remembered so that they are not reported back. */
#define IMAP_OWN_MODSEQS 16
/* Messages read from the store per FETCH step. */
#define FETCH_STEP_MAX 256
/* A step's UID span may be this many times its message count (so a
 * sparse set does not read the whole mailbox for a few messages). */
#define FETCH_SPAN_FACTOR 4

enum imap_command_result {
	CMD_DONE,      /* the tagged answer was written */
	CMD_PENDING,   /* a step-wise command goes on (FETCH) or IDLE waits */
};

struct imap_fetch_job;
struct imap_search_updates;

struct imap_session {
	struct store *store;
	struct buf *out;
	struct imap_session_settings settings;
	const struct imap_session_callbacks *cb;
	void *ctx;
	struct imap_parser *parser;
	struct pool *pool;             /* the running command's */
	char tag[IMAP_DEFAULT_MAX_TAG + 1];
	unsigned errors;

	/* ENABLEd */
	bool rev2, utf8, condstore, qresync;
	bool compressed;               /* COMPRESS DEFLATE is active */

	bool closed;                   /* close was called */
	bool idling;
	bool idle_input;               /* the client sent bytes during this IDLE */
	bool no_expunge;               /* the running command may not report EXPUNGE */
	struct imap_fetch_job *job;    /* a FETCH going on in steps */

	/* The selected mailbox as this session knows it. */
	bool selected, readonly;
	char *mailbox;
	uint32_t uidvalidity;
	uint32_t *uids;                /* uids[seq - 1] */
	size_t count, cap;
	uint64_t modseq;               /* changes up to this are known */
	uint32_t *pending_expunges;    /* seen, not yet reported */
	size_t pending_count;
	uint64_t own_modseqs[IMAP_OWN_MODSEQS];
	size_t own_count;
	struct {
		uint32_t first, next;
	} recent[IMAP_RECENT_RANGES];      /* UIDs \Recent for this session */
	size_t recent_count;
	size_t keywords_known;         /* keywords told of in FLAGS, plus one; 0: none yet */
	uint32_t *saved;               /* SEARCHRES "$", UIDs */
	size_t saved_count;
	struct imap_search_updates *search_updates; /* CONTEXT=SEARCH (imap-search-update.c) */
};

/* Writing answers. */
void session_tagged(struct imap_session *s, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void session_untagged(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* session_store_failed answers a store status: NO with the response code
 * that fits, or NO [SERVERBUG] after logging an internal error. */
void session_store_failed(struct imap_session *s, int status, const char *error);
/* session_mailbox_arg reads a mailbox name argument as UTF-8 (modified
 * UTF-7 decoded for IMAP4rev1 clients), from the command pool; NULL and a
 * BAD written when it is not a valid name. */
const char *session_mailbox_arg(struct imap_session *s, const struct imap_arg *arg);
/* session_decode_name gives a mailbox name or LIST pattern as UTF-8 (from
 * the command pool; NULL without memory).  *invalid_r is set for ASCII that
 * is not valid modified UTF-7, whose raw text is then returned. */
const char *session_decode_name(struct imap_session *s, struct str name, bool *invalid_r);
/* session_write_mailbox writes a name as the client expects it. */
int session_write_mailbox(struct imap_session *s, const char *name);
/* session_changed: this session changed the store. */
void session_changed(struct imap_session *s);
/* session_sync reports the changes since the session's view (allowing
 * EXPUNGE when expunge is set). */
void session_sync(struct imap_session *s, bool expunge);
/* session_is_recent: is uid \Recent for this session (IMAP4rev1)? */
bool session_is_recent(const struct imap_session *s, uint32_t uid);
/* session_unselect leaves the selected state without expunging. */
void session_unselect(struct imap_session *s);
/* session_close ends the session (once): the caller's close callback. */
void session_close(struct imap_session *s);

/* The selected mailbox's view: s->uids ascending, uids[seq - 1]. */
/* session_view_find gives the index of uid in the view, or -1. */
long session_view_find(const struct imap_session *s, uint32_t uid);
/* session_view_lower_bound gives the index of the first UID >= uid. */
size_t session_view_lower_bound(const struct imap_session *s, uint32_t uid);
/* session_view_reserve makes room for n UIDs; 0, or -1 without memory. */
int session_view_reserve(struct imap_session *s, size_t n);
/* session_claim_recent takes the \Recent of the messages nobody has seen
 * yet (not in a read-only mailbox). */
void session_claim_recent(struct imap_session *s);
/* session_recent_in_view counts the view's messages \Recent for s. */
size_t session_recent_in_view(const struct imap_session *s);
/* session_remember_own notes a change this session made, so that the next
 * sync does not report it back. */
void session_remember_own(struct imap_session *s, uint64_t modseq);
/* session_write_uid_set writes uids[0..n) (ascending) as "1,3:5"; 0, or
 * -1 when out is full. */
int session_write_uid_set(struct buf *out, const uint32_t *uids, size_t n);
/* session_cmp_u32 orders uint32_t for qsort and bsearch. */
int session_cmp_u32(const void *a, const void *b);
/* session_add_pending notes an expunge to report; 0, or -1 without memory. */
int session_add_pending(struct imap_session *s, uint32_t uid);
/* session_write_vanished_earlier writes "* VANISHED (EARLIER) set" for
 * uids[0..n) (sorted here), nothing when n is 0 (RFC 7162 3.2.10). */
void session_write_vanished_earlier(struct imap_session *s, uint32_t *uids, size_t n);
/* session_report_expunges tells the client of the pending expunges
 * (EXPUNGE, or VANISHED with QRESYNC) and drops them from the view. */
void session_report_expunges(struct imap_session *s);
/* session_write_flags_fetch writes "* seq FETCH (FLAGS ...)" for m, with
 * its UID when with_uid and its MODSEQ with CONDSTORE. */
void session_write_flags_fetch(struct imap_session *s, uint32_t seq,
			       const struct store_message *m, bool with_uid);
/* session_announce_permanent writes the PERMANENTFLAGS response. */
void session_announce_permanent(struct imap_session *s);
/* session_announce_flags writes FLAGS (and with permanent, PERMANENTFLAGS)
 * when the account has keywords the client has not been told of. */
void session_announce_flags(struct imap_session *s, bool permanent);
/* session_resolve_set turns a sequence set (UIDs when uid) into the view's
 * messages, ascending, from the command pool (seqs_r may be NULL).
 * Returns 0, or -1 after answering BAD or NO. */
int session_resolve_set(struct imap_session *s, const struct imap_arg *arg, bool uid,
			uint32_t **uids_r, uint32_t **seqs_r, size_t *count_r);
/* session_load_messages reads the current state of uids[0..n) (ascending)
 * from the store; msgs_r[i].uid is 0 for a message no longer there.
 * Returns STORE_OK or a store status with *error_r. */
int session_load_messages(struct imap_session *s, const uint32_t *uids, size_t n,
			  struct store_message *msgs_r, const char **error_r);
/* session_condstore_enable turns CONDSTORE on, telling a selected mailbox's
 * HIGHESTMODSEQ the first time (RFC 7162 3.1). */
void session_condstore_enable(struct imap_session *s);

/* The commands: each answers cmd (tagged) and returns CMD_DONE, or
 * CMD_PENDING when it goes on after returning (FETCH in steps, IDLE). */
/* cmd-any.c: the commands of any state (RFC 9051 6.1, ID, ENABLE). */
enum imap_command_result cmd_capability(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_noop(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_logout(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_id(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_enable(struct imap_session *s, const struct imap_command *cmd);
/* cmd-compress.c: COMPRESS DEFLATE (RFC 4978), through the compress
 * callback. */
enum imap_command_result cmd_compress(struct imap_session *s, const struct imap_command *cmd);
/* cmd-select.c: SELECT, EXAMINE, CLOSE, UNSELECT. */
enum imap_command_result cmd_select(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_unselect(struct imap_session *s, const struct imap_command *cmd);
/* cmd-expunge.c: EXPUNGE, UID EXPUNGE. */
enum imap_command_result cmd_expunge(struct imap_session *s, const struct imap_command *cmd);
/* cmd-fetch.c: FETCH, UID FETCH; the answer is written a step at a time. */
enum imap_command_result cmd_fetch(struct imap_session *s, const struct imap_command *cmd);
/* cmd_fetch_step answers the next messages of the running FETCH. */
void cmd_fetch_step(struct imap_session *s);
/* cmd_fetch_done: has the running FETCH answered every message? */
bool cmd_fetch_done(const struct imap_session *s);
/* cmd_fetch_finish ends the running FETCH with its tagged answer. */
void cmd_fetch_finish(struct imap_session *s);
/* cmd_fetch_mid_message: the running FETCH has written part of a
 * message's answer (nothing else may be written until it is done). */
bool cmd_fetch_mid_message(const struct imap_session *s);
/* cmd_fetch_job_free drops the running FETCH (if any) without answering. */
void cmd_fetch_job_free(struct imap_session *s);
/* cmd-store.c: STORE, UID STORE. */
enum imap_command_result cmd_store(struct imap_session *s, const struct imap_command *cmd);
/* cmd-copy.c: COPY, MOVE and their UID forms. */
enum imap_command_result cmd_copy(struct imap_session *s, const struct imap_command *cmd);
/* cmd-search.c: SEARCH, SORT, THREAD and their UID forms. */
enum imap_command_result cmd_search(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_cancelupdate(struct imap_session *s, const struct imap_command *cmd);
/* cmd-idle.c: IDLE; cmd_idle_line takes the line that ends it. */
enum imap_command_result cmd_idle(struct imap_session *s, const struct imap_command *cmd);
void cmd_idle_line(struct imap_session *s, struct str line);

/* imap-mailbox.c */
enum imap_command_result cmd_list(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_lsub(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_create(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_delete(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_rename(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_subscribe(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_status(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_append(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_namespace(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_getquota(struct imap_session *s, const struct imap_command *cmd);
enum imap_command_result cmd_setquota(struct imap_session *s, const struct imap_command *cmd);

#endif
