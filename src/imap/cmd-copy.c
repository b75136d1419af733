/*
 * cmd-copy: COPY and MOVE (RFC 6851) and their UID forms, answering
 * COPYUID (RFC 4315).
 */
#include "imap-session-private.h"

#include <stdlib.h>
#include <string.h>

enum imap_command_result cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	bool uid = strncmp(cmd->name.ptr, "UID ", 4) == 0;
	bool move = strstr(cmd->name.ptr, "MOVE") != NULL;
	const char *error = "";

	if (cmd->arg_count != 2) {
		session_tagged(s, "BAD", "%s takes a sequence set and a mailbox", cmd->name.ptr);
		return CMD_DONE;
	}
	if (move && s->readonly) {
		session_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return CMD_DONE;
	}
	uint32_t *uids, *seqs;
	size_t n;
	if (session_resolve_set(s, &cmd->args[0], uid, &uids, &seqs, &n) < 0)
		return CMD_DONE;
	const char *to = session_mailbox_arg(s, &cmd->args[1]);
	if (to == NULL)
		return CMD_DONE;
	if (n == 0) {
		session_tagged(s, "OK", "No messages");
		return CMD_DONE;
	}
	uint32_t uidvalidity = 0, *src = NULL, *dst = NULL;
	size_t copied = 0;
	int ret = store_copy(s->store, s->mailbox, uids, n, to, move, &uidvalidity, &src, &dst,
			     &copied, &error);
	if (ret == STORE_NOT_FOUND) {
		session_tagged(s, "NO", "[TRYCREATE] No such mailbox");
		return CMD_DONE;
	}
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	session_changed(s);
	if (s->cb->copied != NULL && copied > 0)
		s->cb->copied(s->ctx, s->store, s->mailbox, to, dst, copied);
	struct buf code;
	buf_init(&code, 64 + copied * 24);
	if (copied > 0) {
		buf_printf(&code, "[COPYUID %u ", uidvalidity);
		session_write_uid_set(&code, src, copied);
		buf_putc(&code, ' ');
		session_write_uid_set(&code, dst, copied);
		buf_append(&code, "] ", 2);
	}
	if (move) {
		if (copied > 0)
			session_untagged(s, "OK %.*sMoved", (int)code.len, code.data);
		for (size_t i = 0; i < copied; i++)
			session_add_pending(s, src[i]);
		session_report_expunges(s);
		session_tagged(s, "OK", "Move completed");
	} else {
		session_tagged(s, "OK", "%.*sCopy completed", (int)code.len, code.data ? code.data : "");
	}
	buf_free(&code);
	free(src);
	free(dst);
	return CMD_DONE;
}
