/*
 * cmd-idle: IDLE (RFC 2177): updates as they come until DONE.
 */
#include "imap-session-private.h"

enum imap_command_result cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_sync(s, true);
	buf_append(s->out, "+ idling\r\n", 10);
	s->idling = true;
	s->idle_input = false;
	imap_parser_expect_line(s->parser);
	return CMD_PENDING;
}

void cmd_idle_line(struct imap_session *s, struct str line)
{
	s->idling = false;
	if (str_case_eq(str_trim(line), STR("DONE")))
		session_tagged(s, "OK", "Idle completed");
	else
		session_tagged(s, "BAD", "Expected DONE");
	pool_free(&s->pool);
}
