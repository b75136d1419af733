/*
 * cmd-fetch: FETCH and UID FETCH.  The answer is written in steps of
 * FETCH_STEP_MAX messages, so a large FETCH does not hold the loop; a
 * message whose bodies are large is itself written in steps: its answer
 * stops mid-literal once the output passes IMAP_SESSION_OUTPUT_HIGH, and
 * the job keeps its reader and where it stopped until the worker calls
 * again.  Content is read only through the store's reader.
 */
#include "imap-session-private.h"

#include <stdlib.h>
#include <string.h>

#include "imap-proto/imap-seqset.h"
#include "lib/log.h"

/* The message whose answer is being written, kept between steps. */
struct fetch_message {
	bool active;
	uint32_t seq;
	struct store_message msg;
	bool flags_changed;
	struct store_message_meta *meta;
	/* Without a meta (BODY[] alone), what the step read of the message
	 * names its content: the reader is opened from it, with no look-up. */
	struct store_message_meta named;
	struct store_reader *reader;
	/* The reader is opened at the first read the meta's header copy does
	 * not answer (none for a header FETCH): the content a meta names
	 * never changes, so when does not matter. */
	struct imap_session *session;
	bool open_failed;
	struct imap_fetch_resume resume;
};

struct imap_fetch_job {
	struct imap_fetch_plan *plan;
	struct imap_fetch_needs needs;
	uint32_t *uids;
	uint32_t *seqs;
	size_t count, next;
	bool uid;
	bool failed;
	/* The step being answered: uids[next..end), of which the store
	 * holds list[0..list_count) (k: where the search in it stands). */
	bool in_step;
	struct store_message *list;
	size_t list_count, k, end;
	/* Metas read together: metas[i - meta_first] for uids[i], i below
	 * meta_first + meta_count; taken (NULL) as each is answered. */
	struct store_message_meta **metas;
	size_t meta_first, meta_count;
	struct fetch_message cur;
};

/* Metas read from the store at a time.  One read of many costs the
 * store one transaction instead of one each (about half of a header
 * FETCH's time per message); past 32 that saving is nearly all had, and a
 * meta can be large (a message of MIME_MAX_PARTS parts: a few hundred KB),
 * so this bounds what a FETCH holds. */
#define FETCH_METAS_MAX 32
/* Heads read from the store at a time (store_message_head_list).  A head
 * is the message's state and its header copy, at most
 * STORE_HEADER_KEEP_MAX octets and about 2 KB in practice, so a client's
 * 100-message list view is one read (a read transaction costs the worker
 * about as much as answering ten messages); 128 bounds what a step holds
 * at 4 MB.  Envelopes (store_message_envelope_list) are smaller still. */
#define FETCH_HEADS_MAX 128

/* metas_free drops the metas read and not yet answered. */
static void metas_free(struct imap_fetch_job *job)
{
	for (size_t i = 0; job->metas != NULL && i < job->meta_count; i++)
		store_message_meta_free(&job->metas[i]);
	free(job->metas);
	job->metas = NULL;
	job->meta_count = 0;
}

/* metas_load reads the metas of uids[i..] up to the step's end, at most
 * FETCH_METAS_MAX; without them (no memory, a failure) message_start reads
 * each by itself.  A FETCH of state and header fields reads heads
 * (store_message_head_list), one of state and ENVELOPE envelopes
 * (store_message_envelope_list), FETCH_HEADS_MAX at a time: message_start
 * reads the meta of a message without one. */
static void metas_load(struct imap_session *s, struct imap_fetch_job *job, size_t i)
{
	const char *error;
	bool light = job->needs.head || job->needs.envelope;
	size_t max = light ? FETCH_HEADS_MAX : FETCH_METAS_MAX;
	size_t n = job->end - i < max ? job->end - i : max;
	int (*read)(struct store *store, const char *mailbox, const uint32_t *uids, size_t count,
		    struct store_message_meta **metas_r, const char **error_r) =
		job->needs.head ? store_message_head_list
		: job->needs.envelope ? store_message_envelope_list : store_message_meta_list;

	metas_free(job);
	job->metas = calloc(n, sizeof(*job->metas));
	if (job->metas != NULL &&
	    read(s->store, s->mailbox, job->uids + i, n, job->metas, &error) != STORE_OK) {
		free(job->metas);
		job->metas = NULL;
	}
	job->meta_first = i;
	job->meta_count = job->metas != NULL ? n : 0;
}

static void message_release(struct fetch_message *m)
{
	store_reader_close(&m->reader);
	store_message_meta_free(&m->meta);
	memset(m, 0, sizeof(*m));
}

void cmd_fetch_job_free(struct imap_session *s)
{
	if (s->job != NULL) {
		message_release(&s->job->cur);
		metas_free(s->job);
		free(s->job->list);
	}
	free(s->job);
	s->job = NULL;
}

/* FLAGS_CHANGED marks, in a message read for a step, that this step set
 * its \Seen (so the answer includes FLAGS); no store flag uses that bit. */
#define FLAGS_CHANGED 0x80000000u

/* mark_seen sets \Seen on the messages of list[0..count) without it that
 * the step asked for (uids[0..span), ascending: the UID range of a sparse
 * set holds others), replacing them in list by their new state marked
 * FLAGS_CHANGED.  A failure leaves list as it was. */
static void mark_seen(struct imap_session *s, struct store_message *list, size_t count,
		      const uint32_t *uids, size_t span)
{
	const char *error;
	uint32_t *unseen = calloc(span + 1, sizeof(*unseen));
	size_t nu = 0;
	for (size_t i = 0, x = 0; unseen != NULL && i < count; i++) {
		while (x < span && uids[x] < list[i].uid)
			x++;
		if (x < span && uids[x] == list[i].uid && (list[i].flags & STORE_FLAG_SEEN) == 0)
			unseen[nu++] = list[i].uid;
	}
	struct store_message *changed = NULL;
	size_t nchanged = 0;
	uint32_t *failed = NULL;
	size_t nfailed = 0;
	if (nu > 0 && store_flags_update(s->store, s->mailbox, unseen, nu, STORE_FLAGS_ADD,
					 STORE_FLAG_SEEN, 0, 0, &changed, &nchanged, &failed,
					 &nfailed, &error) == STORE_OK) {
		for (size_t i = 0, k = 0; i < count && k < nchanged; i++) {
			if (list[i].uid == changed[k].uid) {
				list[i] = changed[k++];
				list[i].flags |= FLAGS_CHANGED;
			}
		}
		if (nchanged > 0) {
			session_remember_own(s, changed[0].modseq);
			session_changed(s);
		}
	}
	free(changed);
	free(failed);
	free(unseen);
}

/* list_from_heads reads the heads (or envelopes) of the step's messages
 * uids[start..job->end) and, when every one has its own, makes the
 * step's list of their states (the same columns store_message_range
 * reads), so a list view's step is one read of the store.  False when
 * one has none (expunged meanwhile, no header copy) or the read failed:
 * the caller reads the list (what was read stays for message_start). */
static bool list_from_heads(struct imap_session *s, struct imap_fetch_job *job, size_t start)
{
	size_t n = job->end - start;

	metas_load(s, job, start);
	if (job->meta_first != start || job->meta_count != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (job->metas[i] == NULL)
			return false;
	struct store_message *list = calloc(n, sizeof(*list));
	if (list == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		list[i] = job->metas[i]->msg;
	job->list = list;
	job->list_count = n;
	return true;
}

/* step_load reads the store's state of the next step's messages and sets
 * \Seen where asked; false when the store failed (the job then ends).  A
 * head or envelope plan that sets no \Seen takes the state from what it
 * reads (list_from_heads), its step at most FETCH_HEADS_MAX messages. */
static bool step_load(struct imap_session *s, struct imap_fetch_job *job)
{
	const char *error = "";
	size_t start = job->next;
	size_t end = start;
	bool seen = job->needs.sets_seen && !s->readonly;
	bool heads = (job->needs.head || job->needs.envelope) && !seen;
	size_t max = heads ? FETCH_HEADS_MAX : FETCH_STEP_MAX;

	while (end < job->count && end - start < max &&
	       (uint64_t)job->uids[end] - job->uids[start] <
		       (uint64_t)(end - start + 1) * FETCH_SPAN_FACTOR + 64)
		end++;
	job->list = NULL;
	job->list_count = 0;
	job->end = end;
	if (!(heads && list_from_heads(s, job, start)) &&
	    store_message_range(s->store, s->mailbox, job->uids[start], job->uids[end - 1],
				&job->list, &job->list_count, &error) != STORE_OK) {
		log_error("IMAP FETCH: %s", error);
		job->failed = true;
		job->next = job->count;
		return false;
	}
	/* Bodies: output waits for the client after about a buffer's worth.
	 * A head plan reads no more than each message's header, whatever its
	 * size: its step is not cut by the message sizes (that made a
	 * 100-message list view of 20 KB messages nine steps, each two read
	 * transactions); cmd_fetch_step stops between messages instead. */
	if (job->needs.content && !job->needs.head)
		end = imap_fetch_batch_end(job->uids, start, end, job->list, job->list_count,
					   IMAP_SESSION_OUTPUT_HIGH);
	/* Non-PEEK body items set \Seen (not in a read-only mailbox), on the
	 * step's messages only. */
	if (seen)
		mark_seen(s, job->list, job->list_count, job->uids + start, end - start);
	job->end = end;
	job->k = 0;
	job->in_step = true;
	return true;
}

/* reader_read reads cur's content, opening the reader from cur's meta
 * (or the content the step's list named) at the first read when it is
 * not open yet. */
static int reader_read(void *ctx, uint64_t offset, void *buf, size_t len, size_t *read_r,
		       const char **error_r)
{
	struct fetch_message *cur = ctx;
	uint64_t size;

	if (cur->reader == NULL &&
	    store_reader_open_meta(cur->session->store, cur->session->mailbox,
				   cur->meta != NULL ? cur->meta : &cur->named, &cur->reader, &size,
				   error_r) != STORE_OK) {
		cur->open_failed = true;
		return -1;
	}
	return store_reader_read(cur->reader, offset, buf, len, read_r, error_r) == STORE_OK
		       ? 0 : -1;
}

/* message_start loads what the plan needs of message i of the job into
 * job->cur; false when it is skipped (expunged, unchanged, unreadable). */
static bool message_start(struct imap_session *s, struct imap_fetch_job *job, size_t i)
{
	struct fetch_message *cur = &job->cur;
	const char *error;
	uint64_t size;

	while (job->k < job->list_count && job->list[job->k].uid < job->uids[i])
		job->k++;
	if (job->k >= job->list_count || job->list[job->k].uid != job->uids[i])
		return false; /* expunged meanwhile */
	struct store_message m = job->list[job->k];
	bool flags_changed = (m.flags & FLAGS_CHANGED) != 0;
	m.flags &= ~FLAGS_CHANGED;
	if (session_is_recent(s, m.uid))
		m.flags |= STORE_FLAG_RECENT;
	if (job->needs.changedsince && m.modseq <= job->needs.changedsince_modseq)
		return false;
	memset(cur, 0, sizeof(*cur));
	cur->seq = job->seqs[i];
	cur->msg = m;
	cur->flags_changed = flags_changed;
	if (job->needs.meta && (i < job->meta_first || i >= job->meta_first + job->meta_count))
		metas_load(s, job, i);
	if (i >= job->meta_first && i < job->meta_first + job->meta_count) {
		cur->meta = job->metas[i - job->meta_first];
		job->metas[i - job->meta_first] = NULL;
	}
	if (job->needs.meta && cur->meta == NULL &&
	    store_message_meta(s->store, s->mailbox, m.uid, &cur->meta, &error) != STORE_OK) {
		log_error("IMAP FETCH: reading message %u failed: %s", m.uid, error);
		job->failed = true;
		return false;
	}
	/* The content is known (the meta's, or the one the step's list
	 * names): no look-up, and it is opened when first read
	 * (reader_read).  A list without it (a backend that gives no hash)
	 * has the message found again. */
	cur->session = s;
	cur->named.msg = m;
	int opened = !job->needs.content || cur->meta != NULL || m.hash[0] != '\0'
			     ? STORE_OK
			     : store_reader_open(s->store, s->mailbox, m.uid, &cur->reader, &size,
						 &error);
	if (opened != STORE_OK) {
		log_error("IMAP FETCH: opening message %u failed: %s", m.uid, error);
		message_release(cur);
		job->failed = true;
		return false;
	}
	cur->active = true;
	return true;
}

/* message_continue writes (more of) job->cur's answer; false when it
 * stopped mid-answer for the output to drain. */
static bool message_continue(struct imap_session *s, struct imap_fetch_job *job)
{
	struct fetch_message *cur = &job->cur;
	const char *const *names = NULL;
	const char *error = "";
	size_t nk = 0;

	/* A keyword another session made since this one last heard must reach
	 * the client in FLAGS before a FETCH shows it (RFC 9051 7.3.5). */
	if (!cur->resume.started)
		session_announce_flags(s, true);
	if (store_keyword_list(s->store, &names, &nk, &error) < 0)
		nk = 0;
	struct imap_fetch_input in = {
		.seq = cur->seq, .msg = &cur->msg, .meta = cur->meta,
		.read = job->needs.content ? reader_read : NULL, .read_ctx = cur,
		.keywords = names, .keyword_count = nk, .condstore = s->condstore,
		.flags_changed = cur->flags_changed,
	};
	bool started = cur->resume.started;
	int ret = imap_fetch_write_step(job->plan, &in, s->out, IMAP_SESSION_OUTPUT_HIGH,
					&cur->resume, &error);
	if (ret == IMAP_FETCH_MORE)
		return false;
	if (ret == IMAP_FETCH_UNKNOWN_CTE || cur->open_failed)
		job->failed = true;
	else if (ret != IMAP_FETCH_OK)
		log_error("IMAP FETCH: message %u: %s", cur->msg.uid, error);
	if (ret != IMAP_FETCH_OK && started) {
		/* Part of a literal is gone to the client: it cannot be ended. */
		log_error("IMAP FETCH: message %u cut short, closing", cur->msg.uid);
		session_close(s);
	}
	message_release(cur);
	return true;
}

/* cmd_fetch_step answers the next messages of the running FETCH, until
 * the step's end or until the output passes IMAP_SESSION_OUTPUT_HIGH
 * between two messages (the step then goes on at the next call, with
 * what it read). */
void cmd_fetch_step(struct imap_session *s)
{
	struct imap_fetch_job *job = s->job;

	if (job->cur.active && !message_continue(s, job))
		return;
	if (!job->in_step && !step_load(s, job))
		return;
	while (job->next < job->end && !s->closed) {
		if (s->out->len >= IMAP_SESSION_OUTPUT_HIGH)
			return;
		size_t i = job->next++;
		if (message_start(s, job, i) && !message_continue(s, job))
			return;
	}
	if (s->closed)
		job->next = job->count;
	metas_free(job);
	free(job->list);
	job->list = NULL;
	job->in_step = false;
}

bool cmd_fetch_mid_message(const struct imap_session *s)
{
	return s->job != NULL && s->job->cur.active;
}

bool cmd_fetch_done(const struct imap_session *s)
{
	return s->job->next >= s->job->count && !s->job->cur.active;
}

void cmd_fetch_finish(struct imap_session *s)
{
	bool failed = s->job->failed;
	cmd_fetch_job_free(s);
	if (failed)
		session_tagged(s, "NO", "Some messages could not be fetched");
	else
		session_tagged(s, "OK", "Fetch completed");
	pool_free(&s->pool);
	s->no_expunge = false;
}

enum imap_command_result cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	bool uid = strcmp(cmd->name.ptr, "UID FETCH") == 0;
	const char *error;

	if (cmd->arg_count < 2) {
		session_tagged(s, "BAD", "FETCH takes a sequence set and items");
		return CMD_DONE;
	}
	struct imap_fetch_job *job = calloc(1, sizeof(*job));
	if (job == NULL) {
		session_tagged(s, "NO", "[LIMIT] Out of memory");
		return CMD_DONE;
	}
	if (imap_fetch_parse(s->pool, &cmd->args[1], cmd->arg_count - 1, uid, &job->plan,
			     &error) < 0) {
		free(job);
		session_tagged(s, "BAD", "%s", error);
		return CMD_DONE;
	}
	imap_fetch_plan_needs(job->plan, &job->needs);
	if (job->needs.vanished && (!uid || !s->qresync || !job->needs.changedsince)) {
		free(job);
		session_tagged(s, "BAD", "VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE");
		return CMD_DONE;
	}
	if (job->needs.modseq || job->needs.changedsince)
		session_condstore_enable(s);
	if (session_resolve_set(s, &cmd->args[0], uid, &job->uids, &job->seqs, &job->count) < 0) {
		free(job);
		return CMD_DONE;
	}
	if (job->needs.vanished) {
		struct store_message *changed = NULL;
		uint32_t *expunged = NULL;
		size_t nc = 0, ne = 0;
		uint64_t highest;
		struct imap_seqset set;
		if (store_changes(s->store, s->mailbox, job->needs.changedsince_modseq, &changed, &nc,
				  &expunged, &ne, &highest, &error) == STORE_OK &&
		    imap_seqset_parse(s->pool, cmd->args[0].text, 0, &set, &error) == 0) {
			imap_seqset_normalize(&set, s->count > 0 ? s->uids[s->count - 1] : 0);
			size_t n = 0;
			for (size_t i = 0; i < ne; i++)
				if (imap_seqset_contains(&set, expunged[i]) ||
				    (s->count > 0 && expunged[i] > s->uids[s->count - 1] &&
				     set.count > 0 && set.ranges[set.count - 1].last >= s->uids[s->count - 1]))
					expunged[n++] = expunged[i];
			session_write_vanished_earlier(s, expunged, n);
		}
		free(changed);
		free(expunged);
	}
	if (job->count == 0) {
		free(job);
		session_tagged(s, "OK", "Fetch completed");
		return CMD_DONE;
	}
	job->uid = uid;
	s->job = job;
	return CMD_PENDING;
}
