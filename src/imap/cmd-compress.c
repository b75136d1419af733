/* cmd-compress: COMPRESS DEFLATE (RFC 4978).  The deflate layer itself is
 * the worker's (worker-compress.h); the session answers the command and
 * asks for the layer through its compress callback. */
#include "imap-session-private.h"

enum imap_command_result cmd_compress(struct imap_session *s, const struct imap_command *cmd)
{
	/* RFC 4978 3: BAD for an unknown mechanism, NO [COMPRESSIONACTIVE]
	 * when a compression layer is already there. */
	if (cmd->arg_count != 1 || !imap_arg_is_atom(&cmd->args[0], "DEFLATE")) {
		session_tagged(s, "BAD", "Only COMPRESS DEFLATE is known");
		return CMD_DONE;
	}
	if (s->compressed) {
		session_tagged(s, "NO", "[COMPRESSIONACTIVE] DEFLATE is already active");
		return CMD_DONE;
	}
	if (s->cb->compress == NULL) {
		session_tagged(s, "NO", "[CANNOT] COMPRESS is not available here");
		return CMD_DONE;
	}
	/* Updates due go out before the OK, so that a refusal below can take
	 * the OK back without losing them. */
	if (s->selected)
		session_sync(s, !s->no_expunge);
	size_t mark = s->out->len;
	session_tagged(s, "OK", "DEFLATE active");
	if (s->cb->compress(s->ctx) < 0) {
		s->out->len = mark;
		if (s->out->data != NULL)
			s->out->data[mark] = '\0';
		session_tagged(s, "NO", "[UNAVAILABLE] COMPRESS could not start");
		return CMD_DONE;
	}
	s->compressed = true;
	return CMD_DONE;
}
