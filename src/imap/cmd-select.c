/*
 * cmd-select: entering and leaving the selected state: SELECT and
 * EXAMINE (with CONDSTORE and QRESYNC, RFC 7162), CLOSE and UNSELECT.
 */
#include "imap-session-private.h"

#include <stdlib.h>
#include <string.h>

#include "imap-proto/imap-seqset.h"

static void write_qresync_answer(struct imap_session *s, uint64_t since,
				 const struct imap_arg *known)
{
	struct store_message *changed = NULL;
	uint32_t *expunged = NULL;
	size_t nchanged = 0, nexpunged = 0;
	uint64_t highest;
	const char *error;

	if (store_changes(s->store, s->mailbox, since, &changed, &nchanged, &expunged, &nexpunged,
			  &highest, &error) != STORE_OK)
		return;
	struct imap_seqset set = { 0 };
	bool filter = false;
	if (known != NULL && known->type == IMAP_ARG_ATOM &&
	    imap_seqset_parse(s->pool, known->text, 0, &set, &error) == 0 && !set.saved) {
		imap_seqset_normalize(&set, UINT32_MAX);
		filter = true;
	}
	size_t n = 0;
	for (size_t i = 0; i < nexpunged; i++)
		if (!filter || imap_seqset_contains(&set, expunged[i]))
			expunged[n++] = expunged[i];
	session_write_vanished_earlier(s, expunged, n);
	for (size_t i = 0; i < nchanged; i++) {
		long idx = session_view_find(s, changed[i].uid);
		if (idx >= 0)
			session_write_flags_fetch(s, (uint32_t)idx + 1, &changed[i], true);
	}
	free(changed);
	free(expunged);
}

/* select_parameters reads SELECT's optional parameters (CONDSTORE,
 * QRESYNC (...)); *qresync_r is the QRESYNC list or NULL.  Returns 0, or
 * -1 after answering BAD. */
static int select_parameters(struct imap_session *s, const struct imap_command *cmd,
			     const struct imap_arg **qresync_r)
{
	*qresync_r = NULL;
	if (cmd->arg_count < 1 || cmd->arg_count > 2) {
		session_tagged(s, "BAD", "%s takes a mailbox and optional parameters", cmd->name.ptr);
		return -1;
	}
	if (cmd->arg_count == 2) {
		const struct imap_arg *params;
		size_t np;
		if (!imap_arg_get_list(&cmd->args[1], &params, &np)) {
			session_tagged(s, "BAD", "Invalid SELECT parameters");
			return -1;
		}
		for (size_t i = 0; i < np; i++) {
			if (imap_arg_is_atom(&params[i], "CONDSTORE")) {
				s->condstore = true;
			} else if (imap_arg_is_atom(&params[i], "QRESYNC") && i + 1 < np &&
				   params[i + 1].type == IMAP_ARG_LIST) {
				if (!s->qresync) {
					session_tagged(s, "BAD", "QRESYNC is not enabled");
					return -1;
				}
				*qresync_r = &params[++i];
			} else {
				session_tagged(s, "BAD", "Unknown SELECT parameter");
				return -1;
			}
		}
	}
	return 0;
}

/* select_load makes name the selected mailbox and reads its view; box is
 * filled (box->name is the caller's to free), *first_unseen_r is the
 * sequence number of the first message without \Seen (0 if none).  The
 * store gives the UIDs and counts from its indexes (store_mailbox_view),
 * so the cost follows the number of messages, not their rows.
 * Returns 0, or -1 after answering NO. */
static int select_load(struct imap_session *s, const char *name, bool examine,
		       struct store_mailbox *box, uint32_t *first_unseen_r)
{
	uint32_t *uids = NULL, first_unseen_uid = 0;
	const char *error;
	int ret = store_mailbox_view(s->store, name, box, &uids, &first_unseen_uid, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, ret == STORE_NOT_FOUND ? "No such mailbox" : error);
		return -1;
	}
	size_t count = (size_t)box->messages;
	if (session_view_reserve(s, count + 1) < 0 || (s->mailbox = strdup(box->name)) == NULL) {
		free(uids);
		free(box->name);
		session_store_failed(s, STORE_ERROR, "out of memory");
		return -1;
	}
	if (count > 0)
		memcpy(s->uids, uids, count * sizeof(*uids));
	free(uids);
	s->count = count;
	long unseen = first_unseen_uid != 0 ? session_view_find(s, first_unseen_uid) : -1;
	s->selected = true;
	s->readonly = examine;
	s->uidvalidity = box->uidvalidity;
	s->modseq = box->highestmodseq;
	s->pending_count = 0;
	s->own_count = 0;
	s->recent_count = 0;
	if (!examine) {
		session_claim_recent(s);
	} else if (box->recent > 0 && box->recent <= s->count) {
		/* EXAMINE shows what is recent without taking it. */
		s->recent[0].first = s->uids[s->count - box->recent];
		s->recent[0].next = box->uidnext;
		s->recent_count = 1;
	}
	*first_unseen_r = unseen >= 0 ? (uint32_t)unseen + 1 : 0;
	return 0;
}

/* select_announce writes the untagged answers of a SELECT (RFC 9051
 * 6.3.2, RFC 3501 6.3.1 for IMAP4rev1 clients). */
static void select_announce(struct imap_session *s, const struct store_mailbox *box,
			    uint32_t first_unseen)
{
	s->keywords_known = 0;
	session_announce_flags(s, false);
	session_untagged(s, "%zu EXISTS", s->count);
	if (!s->rev2) {
		session_untagged(s, "%zu RECENT", session_recent_in_view(s));
		if (first_unseen != 0)
			session_untagged(s, "OK [UNSEEN %u] First unseen", first_unseen);
	}
	session_announce_permanent(s);
	session_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", box->uidvalidity);
	session_untagged(s, "OK [UIDNEXT %u] Predicted next UID", box->uidnext);
	if (s->condstore)
		session_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
				 (unsigned long long)s->modseq);
	if (s->rev2) {
		buf_append(s->out, "* LIST () \"/\" ", 14);
		session_write_mailbox(s, box->name);
		buf_append(s->out, "\r\n", 2);
	}
}

/* select_qresync answers SELECT's QRESYNC (uidvalidity modseq [known-uids])
 * (RFC 7162 3.2.5).  Returns 0, or -1 after unselecting and answering BAD. */
static int select_qresync(struct imap_session *s, const struct imap_arg *qresync)
{
	const struct imap_arg *q;
	size_t nq;
	uint64_t uv = 0, since = 0;
	imap_arg_get_list(qresync, &q, &nq);
	if (nq < 2 || q[0].type != IMAP_ARG_ATOM || q[1].type != IMAP_ARG_ATOM ||
	    str_to_u64(q[0].text, UINT32_MAX, &uv) < 0 ||
	    str_to_u64(q[1].text, INT64_MAX, &since) < 0) {
		session_unselect(s);
		session_tagged(s, "BAD", "Invalid QRESYNC parameters");
		return -1;
	}
	if (uv == s->uidvalidity)
		write_qresync_answer(s, since, nq >= 3 ? &q[2] : NULL);
	return 0;
}

enum imap_command_result cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	bool examine = strcmp(cmd->name.ptr, "EXAMINE") == 0;
	const struct imap_arg *qresync = NULL;

	if (select_parameters(s, cmd, &qresync) < 0)
		return CMD_DONE;
	const char *name = session_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	if (s->selected) {
		session_unselect(s);
		session_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	struct store_mailbox box;
	uint32_t first_unseen;
	if (select_load(s, name, examine, &box, &first_unseen) < 0)
		return CMD_DONE;
	select_announce(s, &box, first_unseen);
	free(box.name);
	if (qresync != NULL && select_qresync(s, qresync) < 0)
		return CMD_DONE;
	session_tagged(s, "OK", "[%s] %s completed", examine ? "READ-ONLY" : "READ-WRITE",
		       cmd->name.ptr);
	return CMD_DONE;
}

enum imap_command_result cmd_unselect(struct imap_session *s, const struct imap_command *cmd)
{
	bool close = strcmp(cmd->name.ptr, "CLOSE") == 0;
	const char *error;

	if (close && !s->readonly) {
		uint32_t *del = NULL;
		size_t n = 0;
		struct store_message *msgs = calloc(s->count + 1, sizeof(*msgs));
		if (msgs != NULL && session_load_messages(s, s->uids, s->count, msgs, &error) == STORE_OK) {
			del = calloc(s->count + 1, sizeof(*del));
			for (size_t i = 0; del != NULL && i < s->count; i++)
				if (msgs[i].uid != 0 && (msgs[i].flags & STORE_FLAG_DELETED))
					del[n++] = msgs[i].uid;
			if (n > 0 && store_expunge(s->store, s->mailbox, del, n, &error) == STORE_OK)
				session_changed(s);
		}
		free(msgs);
		free(del);
	}
	session_unselect(s);
	session_tagged(s, "OK", "%s completed", cmd->name.ptr);
	return CMD_DONE;
}
