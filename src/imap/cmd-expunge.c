/*
 * cmd-expunge: EXPUNGE and UID EXPUNGE (RFC 4315).
 */
#include "imap-session-private.h"

#include <stdlib.h>
#include <string.h>

enum imap_command_result cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	bool uid = strcmp(cmd->name.ptr, "UID EXPUNGE") == 0;
	uint32_t *uids = s->uids;
	size_t n = s->count;
	const char *error;

	if (s->readonly) {
		session_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return CMD_DONE;
	}
	if (uid) {
		if (cmd->arg_count != 1) {
			session_tagged(s, "BAD", "UID EXPUNGE takes a UID set");
			return CMD_DONE;
		}
		if (session_resolve_set(s, &cmd->args[0], true, &uids, NULL, &n) < 0)
			return CMD_DONE;
	} else if (cmd->arg_count != 0) {
		session_tagged(s, "BAD", "EXPUNGE takes no arguments");
		return CMD_DONE;
	}
	uint32_t *del = pool_alloc(s->pool, (n + 1) * sizeof(*del));
	if (del == NULL) {
		session_tagged(s, "NO", "[LIMIT] Too many messages");
		return CMD_DONE;
	}
	/* Only the \Deleted messages of the span are read, not every one. */
	struct store_message *list = NULL;
	size_t count = 0, nd = 0;
	int ret = n == 0 ? STORE_OK :
			   store_message_range_filtered(s->store, s->mailbox, uids[0], uids[n - 1],
							STORE_RANGE_DELETED, &list, &count, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	/* Those of the set asked (the view, or UID EXPUNGE's UIDs). */
	for (size_t i = 0, k = 0; i < count; i++) {
		while (k < n && uids[k] < list[i].uid)
			k++;
		if (k < n && uids[k] == list[i].uid)
			del[nd++] = list[i].uid;
	}
	free(list);
	if (nd > 0) {
		ret = store_expunge(s->store, s->mailbox, del, nd, &error);
		if (ret != STORE_OK) {
			session_store_failed(s, ret, error);
			return CMD_DONE;
		}
		for (size_t i = 0; i < nd; i++)
			session_add_pending(s, del[i]);
		session_report_expunges(s);
		session_changed(s);
	}
	session_tagged(s, "OK", "Expunge completed");
	return CMD_DONE;
}
