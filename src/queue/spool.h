#ifndef RAVELIN_SPOOL_H
#define RAVELIN_SPOOL_H
/*
 * spool: accepted messages on disk until every recipient has them.
 * One file per message, named by its queue id (ours, never the client's):
 *   DATA/spool/tmp/<qid>   while it is received
 *   DATA/spool/q/<qid>     once accepted (fsynced, renamed, dir fsynced)
 * The file is an envelope in text followed by the message:
 *   RAVELIN-SPOOL 1\n  from <addr>\n  flags <n>\n  arrived <unix>\n
 *   [account <id>\n]  rcpt <account> <addr>\n ...  \n  <message bytes>
 * "account" names the account that sent it (submission), "rcpt 0" is a
 * remote recipient.
 * Delivery progress is not written here: every delivery carries the key
 * "<qid>/<account>" and the account's store refuses a key twice, so a
 * queue restarted after a crash simply delivers everything again.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"

#define SPOOL_QID_SIZE 24
/* An envelope is at most this big when read back (1000 recipients of the
 * longest address fit several times over). */
#define SPOOL_MAX_ENVELOPE (1024 * 1024)
#define SPOOL_MAX_RCPTS 100000

struct spool_rcpt {
	uint64_t account;
	struct str address;
};

struct spool_envelope {
	struct str mail_from;
	uint64_t flags;
	int64_t arrived;
	uint64_t sender_account;  /* the account that submitted it; 0: none */
	struct spool_rcpt *rcpts;
	size_t rcpt_count;
};

struct spool;

/* spool_open prepares DATA/spool (tmp/ and q/).  The queue process opens
 * it as owner (cleanup: removing leftovers in tmp/, which were never
 * acknowledged); `ravelin queue list` opens it just to look. */
int spool_open(const char *data_dir, bool cleanup, struct spool **spool_r);
void spool_close(struct spool **spool);
/* spool_create starts a message file in tmp/; returns its fd, or -1. */
int spool_create(struct spool *spool, char qid[SPOOL_QID_SIZE]);
/* spool_envelope_format appends the envelope text to out. */
int spool_envelope_format(struct buf *out, const struct spool_envelope *env);
/* Making messages durable, in two steps (group commit): spool_commit_file
 * (fdatasync and rename into q/) for each message of a batch, then one
 * spool_commit_dir (fsync q/); no message of the batch is durable before
 * spool_commit_dir returns 0. */
int spool_commit_file(struct spool *spool, const char *qid, int fd);
int spool_commit_dir(struct spool *spool);
/* spool_abort throws a message in tmp/ away. */
void spool_abort(struct spool *spool, const char *qid, int fd);
/* spool_remove deletes a delivered message from q/. */
void spool_remove(struct spool *spool, const char *qid);
/* spool_open_message opens q/<qid> read-only and parses its envelope into
 * env (strings point into *text, which the caller frees); *offset_r is
 * where the message starts. Returns the fd or -1. */
int spool_open_message(struct spool *spool, const char *qid, struct buf *text,
		       struct spool_envelope *env, uint64_t *offset_r);
/* spool_message_body copies the message of an open spool file (from
 * offset, where the envelope ends) into a new sealed memfd and returns it,
 * or -1.  That descriptor is what a worker gets: it holds the message
 * only, so no seek or read on it shows the envelope (the sender and every
 * other recipient, Bcc included), and the seals (no write, shrink or grow)
 * keep one worker from changing what the next one stores. */
int spool_message_body(int fd, uint64_t offset);
/* Why the delivery of a message waits, for `ravelin queue list`: one line
 * per recipient deferred, kept in DATA/spool/why/<qid>.  At most this
 * much is read back. */
#define SPOOL_MAX_NOTE (64 * 1024)
/* spool_note_write replaces qid's note with text (empty: removes it).  Not
 * fsynced: a note lost in a crash is only an explanation missing. */
int spool_note_write(struct spool *spool, const char *qid, struct str text);
/* spool_notes_own gives the notes' folder to the queue's ids (it is made
 * before the queue drops root); 0 or -1 (logged). */
int spool_notes_own(struct spool *spool, unsigned uid, unsigned gid);
/* spool_note_read appends qid's note to out; -1 if it has none. */
int spool_note_read(struct spool *spool, const char *qid, struct buf *out);
/* spool_list calls fn with each qid in q/. */
int spool_list(struct spool *spool, void (*fn)(const char *qid, void *ctx), void *ctx);
/* spool_envelope_free frees env->rcpts. */
void spool_envelope_free(struct spool_envelope *env);

#endif
