/*
 * cmd-any: the commands of any state after login: CAPABILITY, NOOP
 * (and CHECK), LOGOUT, ID (RFC 2971) and ENABLE (RFC 5161).
 */
#include "imap-session-private.h"

#include <string.h>

#include "imap-proto/imap-capability.h"

enum imap_command_result cmd_capability(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_untagged(s, "CAPABILITY %s", IMAP_CAPABILITY_AUTH);
	session_tagged(s, "OK", "Capability completed");
	return CMD_DONE;
}

enum imap_command_result cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	session_tagged(s, "OK", "%s completed", cmd->name.ptr);
	return CMD_DONE;
}

enum imap_command_result cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_untagged(s, "BYE Logging out");
	bool selected = s->selected;
	s->selected = false;
	session_tagged(s, "OK", "Logout completed");
	s->selected = selected;
	session_close(s);
	return CMD_DONE;
}

enum imap_command_result cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_untagged(s, "ID (\"name\" \"Ravelin\")");
	session_tagged(s, "OK", "ID completed");
	return CMD_DONE;
}

enum imap_command_result cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	struct buf *o = s->out;
	if (cmd->arg_count == 0) {
		session_tagged(s, "BAD", "ENABLE needs a capability");
		return CMD_DONE;
	}
	buf_append(o, "* ENABLED", 9);
	for (size_t i = 0; i < cmd->arg_count; i++) {
		const struct imap_arg *a = &cmd->args[i];
		const char *name = NULL;
		if (imap_arg_is_atom(a, "CONDSTORE") && !s->condstore) {
			s->condstore = true;
			name = "CONDSTORE";
		} else if (imap_arg_is_atom(a, "QRESYNC") && !s->qresync) {
			s->qresync = s->condstore = true;
			name = "QRESYNC";
		} else if (imap_arg_is_atom(a, "IMAP4rev2") && !s->rev2) {
			s->rev2 = s->utf8 = true;
			name = "IMAP4rev2";
		} else if (imap_arg_is_atom(a, "UTF8=ACCEPT") && !(s->utf8 && !s->rev2)) {
			s->utf8 = true;
			name = "UTF8=ACCEPT";
		}
		if (name != NULL)
			buf_printf(o, " %s", name);
	}
	buf_append(o, "\r\n", 2);
	session_tagged(s, "OK", "Enabled");
	return CMD_DONE;
}
