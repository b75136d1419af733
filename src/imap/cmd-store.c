/*
 * cmd-store: STORE and UID STORE (with UNCHANGEDSINCE, RFC 7162).
 */
#include "imap-session-private.h"

#include <stdlib.h>
#include <string.h>

#include "imap-flags.h"

/* What a STORE asks, from its arguments. */
struct store_request {
	bool uid;
	bool silent;                 /* FLAGS.SILENT */
	bool conditional;            /* UNCHANGEDSINCE given */
	uint64_t unchangedsince;
	enum store_flags_mode mode;
	const struct imap_arg *flags; /* the flag list */
};

/* parse_request reads "set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT] flags".
 * Returns 0, or -1 after answering BAD. */
static int parse_request(struct imap_session *s, const struct imap_command *cmd,
			 struct store_request *req)
{
	const struct imap_arg *args = cmd->args;
	size_t argc = cmd->arg_count;

	if (argc < 3) {
		session_tagged(s, "BAD", "STORE takes a sequence set, an action and flags");
		return -1;
	}
	size_t a = 1;
	if (args[1].type == IMAP_ARG_LIST) {
		const struct imap_arg *m;
		size_t nm;
		imap_arg_get_list(&args[1], &m, &nm);
		if (nm != 2 || !imap_arg_is_atom(&m[0], "UNCHANGEDSINCE") || m[1].type != IMAP_ARG_ATOM ||
		    str_to_u64(m[1].text, INT64_MAX, &req->unchangedsince) < 0) {
			session_tagged(s, "BAD", "Invalid STORE modifier");
			return -1;
		}
		session_condstore_enable(s);
		req->conditional = true;
		a = 2;
	}
	if (argc != a + 2 || args[a].type != IMAP_ARG_ATOM) {
		session_tagged(s, "BAD", "Invalid STORE arguments");
		return -1;
	}
	struct str action = args[a].text;
	req->mode = STORE_FLAGS_SET;
	if (action.len > 0 && (action.ptr[0] == '+' || action.ptr[0] == '-')) {
		req->mode = action.ptr[0] == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		action = str_sub(action, 1, action.len);
	}
	if (str_case_eq(action, STR("FLAGS.SILENT")))
		req->silent = true;
	else if (!str_case_eq(action, STR("FLAGS"))) {
		session_tagged(s, "BAD", "Unknown STORE action");
		return -1;
	}
	req->flags = &args[a + 1];
	return 0;
}

/* answer_fetches answers FETCH FLAGS for every message in the set still
 * there (not .SILENT); with CONDSTORE, .SILENT still reports the new
 * MODSEQ of the messages it changed.  Failed ones are not answered. */
static void answer_fetches(struct imap_session *s, const struct store_request *req,
			   const uint32_t *uids, const uint32_t *seqs, size_t n,
			   const struct store_message *changed, size_t nchanged,
			   const uint32_t *failed, size_t nfailed)
{
	const char *error;
	struct store_message *msgs = pool_alloc(s->pool, (n + 1) * sizeof(*msgs));
	if (msgs == NULL || session_load_messages(s, uids, n, msgs, &error) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].uid == 0)
			continue;
		bool was_failed =
			bsearch(&uids[i], failed, nfailed, sizeof(uint32_t), session_cmp_u32) != NULL;
		bool was_changed = false;
		for (size_t k = 0; k < nchanged && !was_changed; k++)
			was_changed = changed[k].uid == uids[i];
		if (was_failed || (req->silent && !was_changed))
			continue;
		if (req->silent) {
			buf_printf(s->out, "* %u FETCH (", seqs[i]);
			if (req->uid)
				buf_printf(s->out, "UID %u ", uids[i]);
			buf_printf(s->out, "MODSEQ (%llu))\r\n", (unsigned long long)msgs[i].modseq);
		} else {
			session_write_flags_fetch(s, seqs[i], &msgs[i], req->uid);
		}
	}
}

/* answer_modified writes the tagged OK [MODIFIED set] of a conditional
 * STORE that failed for failed[0..nfailed) (RFC 7162 3.1.3), in sequence
 * numbers unless uid. */
static void answer_modified(struct imap_session *s, bool uid, uint32_t *failed, size_t nfailed)
{
	qsort(failed, nfailed, sizeof(uint32_t), session_cmp_u32);
	buf_printf(s->out, "%s OK [MODIFIED ", s->tag);
	if (uid) {
		session_write_uid_set(s->out, failed, nfailed);
	} else {
		uint32_t *fs = pool_alloc(s->pool, nfailed * sizeof(uint32_t));
		size_t nf = 0;
		for (size_t i = 0; fs != NULL && i < nfailed; i++) {
			long idx = session_view_find(s, failed[i]);
			if (idx >= 0)
				fs[nf++] = (uint32_t)idx + 1;
		}
		session_write_uid_set(s->out, fs, nf);
	}
	buf_append(s->out, "] Conditional STORE failed\r\n", 28);
}

enum imap_command_result cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	struct store_request req = { .uid = strcmp(cmd->name.ptr, "UID STORE") == 0 };
	const char *error = "";

	if (parse_request(s, cmd, &req) < 0)
		return CMD_DONE;
	if (s->readonly) {
		session_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return CMD_DONE;
	}
	uint32_t flags;
	uint64_t keywords;
	int ret = imap_flags_parse(s->store, req.flags, req.mode != STORE_FLAGS_REMOVE, &flags,
				   &keywords, &error);
	if (ret == IMAP_FLAGS_BAD) {
		session_tagged(s, "BAD", "%s", error);
		return CMD_DONE;
	}
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	uint32_t *uids, *seqs;
	size_t n;
	if (session_resolve_set(s, &cmd->args[0], req.uid, &uids, &seqs, &n) < 0)
		return CMD_DONE;
	struct store_message *changed = NULL;
	uint32_t *failed = NULL;
	size_t nchanged = 0, nfailed = 0;
	if (req.conditional && req.unchangedsince == 0) {
		/* RFC 7162 3.1.3: UNCHANGEDSINCE 0 fails for every message. */
		failed = calloc(n + 1, sizeof(*failed));
		if (failed != NULL)
			memcpy(failed, uids, n * sizeof(*uids));
		nfailed = failed != NULL ? n : 0;
	} else if (n > 0) {
		ret = store_flags_update(s->store, s->mailbox, uids, n, req.mode, flags, keywords,
					 req.unchangedsince, &changed, &nchanged, &failed, &nfailed,
					 &error);
		if (ret != STORE_OK) {
			session_store_failed(s, ret, error);
			return CMD_DONE;
		}
	}
	if (nchanged > 0) {
		session_remember_own(s, changed[0].modseq);
		session_changed(s);
	}
	session_announce_flags(s, true);
	if (!req.silent || s->condstore)
		answer_fetches(s, &req, uids, seqs, n, changed, nchanged, failed, nfailed);
	if (nfailed > 0)
		answer_modified(s, req.uid, failed, nfailed);
	else
		session_tagged(s, "OK", "Store completed");
	free(changed);
	free(failed);
	return CMD_DONE;
}
