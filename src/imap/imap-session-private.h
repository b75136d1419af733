#ifndef RAVELIN_IMAP_SESSION_PRIVATE_H
#define RAVELIN_IMAP_SESSION_PRIVATE_H
/*
 * The session's state, shared by imap-session.c (the command loop, the
 * selected state: SELECT, FETCH, STORE, COPY, MOVE, EXPUNGE, SEARCH, IDLE
 * and change notification) and imap-mailbox.c (commands on mailboxes:
 * LIST, CREATE, DELETE, RENAME, SUBSCRIBE, STATUS, APPEND, QUOTA).
 */
#include "imap-fetch.h"
#include "imap-proto/imap-parser.h"
#include "imap-session.h"
#include "lib/pool.h"

/* A command's memory (arguments, resolved UID lists); the parser's own
 * pool holds the arguments separately. */
#define IMAP_COMMAND_POOL_MAX (64u * 1024 * 1024)
/* Ranges of UIDs that are \Recent for a session (one per claim; a
 * session that holds a mailbox open for days claims once per delivery
 * burst, and the oldest ranges are forgotten past this). */
#define IMAP_RECENT_RANGES 32
/* Own flag changes remembered so that they are not reported back. */
#define IMAP_OWN_MODSEQS 16

enum imap_command_result {
	CMD_DONE,      /* the tagged answer was written */
	CMD_PENDING,   /* a step-wise command goes on (FETCH) or IDLE waits */
};

struct imap_fetch_job;

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

	bool closed;                   /* close was called */
	bool idling;
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
	size_t keywords_known;         /* keywords the client was told of in FLAGS */
	uint32_t *saved;               /* SEARCHRES "$", UIDs */
	size_t saved_count;
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
