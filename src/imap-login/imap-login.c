/*
 * imap-login: IMAP before login, without I/O (see imap-login.h).
 *
 * The parser turns input into commands, literal announcements, raw lines
 * (the SASL response after "+ ") and errors; this file answers each.  It
 * reads nothing while an answer from outside is awaited, so the bytes a
 * client pipelines behind LOGIN stay in the caller's buffer.
 */
#include "imap-login.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "imap-proto/imap-capability.h"
#include "imap-proto/imap-parser.h"
#include "lib/sasl-plain.h"

enum state {
	ST_COMMAND,       /* reading commands */
	ST_AUTH_CONTINUE, /* "+ " sent: the SASL response line comes next */
	ST_WAIT_LOGIN,    /* the credentials are with auth */
	ST_WAIT_SESSION,  /* logged in; master is asked for the session */
	ST_WAIT_TLS,      /* STARTTLS answered; the handshake comes next */
	ST_DONE,          /* the tagged OK is written: the worker goes on */
	ST_CLOSED,
};

struct imap_login {
	const struct imap_login_callbacks *cb;
	void *ctx;
	bool tls_offered, tls_active;
	enum state state;
	unsigned errors;
	struct imap_parser *parser;
	/* The tag of LOGIN or AUTHENTICATE, answered after the parser has
	 * moved on. */
	char tag[IMAP_DEFAULT_MAX_TAG + 1];
	size_t tag_len;
};

#define NO_PRIVACY "[PRIVACYREQUIRED] Credentials only over TLS: use STARTTLS first"

/* Pre-login limits; see imap-login.h for the reasons of each. */
static const struct imap_parser_limits login_limits = {
	.max_line = IMAP_LOGIN_MAX_LINE,
	.max_literal = IMAP_LOGIN_MAX_LITERAL,
	.max_command = IMAP_LOGIN_MAX_COMMAND,
	.max_depth = IMAP_LOGIN_MAX_DEPTH,
	.max_args = IMAP_LOGIN_MAX_ARGS,
	.max_tag = IMAP_DEFAULT_MAX_TAG,
	.secret = true, /* LOGIN and AUTHENTICATE carry passwords */
};

static void say(struct imap_login *l, const char *text)
{
	l->cb->output(l->ctx, text, strlen(text));
}

/* reply writes "tag status text"; an unknown tag is answered with "*". */
static void reply(struct imap_login *l, struct str tag, const char *status, const char *text)
{
	if (tag.len == 0)
		tag = STR("*");
	l->cb->output(l->ctx, tag.ptr, tag.len);
	say(l, " ");
	say(l, status);
	say(l, " ");
	say(l, text);
	say(l, "\r\n");
}

static void close_with(struct imap_login *l, const char *text)
{
	say(l, text);
	l->state = ST_CLOSED;
	l->cb->close(l->ctx);
}

/* fail answers BAD or NO and closes after too many of them. */
static void fail(struct imap_login *l, struct str tag, const char *status, const char *text)
{
	reply(l, tag, status, text);
	if (++l->errors >= IMAP_LOGIN_MAX_ERRORS)
		close_with(l, "* BYE Too many invalid commands\r\n");
}

static void save_tag(struct imap_login *l, struct str tag)
{
	assert(tag.len < sizeof(l->tag));
	memcpy(l->tag, tag.ptr, tag.len);
	l->tag_len = tag.len;
}

static struct str saved_tag(const struct imap_login *l)
{
	return str_from(l->tag, l->tag_len);
}

/* wipe clears a secret where the parser handed it out.  The view is
 * const, but it points into the parser's command pool or line buffer,
 * ordinary heap memory; a password should not stay there after use. */
static void wipe(struct str s)
{
	if (s.len > 0)
		sodium_memzero((void *)s.ptr, s.len);
}

/* write_capabilities writes the list for the current state: with TLS the
 * mechanisms, without it STARTTLS (when TLS can be had) and LOGINDISABLED. */
static void write_capabilities(struct imap_login *l)
{
	if (l->tls_active) {
		say(l, IMAP_CAPABILITY_PREAUTH_TLS);
		return;
	}
	struct str rest = STR(IMAP_CAPABILITY_PREAUTH_PLAIN);
	bool first = true;
	while (rest.len > 0) {
		long sp = str_chr(rest, ' ');
		struct str word = sp < 0 ? rest : str_sub(rest, 0, (size_t)sp);
		rest = sp < 0 ? STR_NULL : str_sub(rest, (size_t)sp + 1, SIZE_MAX);
		if (!l->tls_offered && str_eq(word, STR("STARTTLS")))
			continue;
		if (!first)
			say(l, " ");
		l->cb->output(l->ctx, word.ptr, word.len);
		first = false;
	}
}

struct imap_login *imap_login_new(const struct imap_login_callbacks *callbacks, void *ctx,
				  bool tls_offered, bool tls_active)
{
	struct imap_login *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->parser = imap_parser_new(&login_limits);
	if (l->parser == NULL) {
		free(l);
		return NULL;
	}
	l->cb = callbacks;
	l->ctx = ctx;
	l->tls_offered = tls_offered;
	l->tls_active = tls_active;
	return l;
}

void imap_login_free(struct imap_login **lp)
{
	struct imap_login *l = *lp;
	if (l == NULL)
		return;
	imap_parser_free(&l->parser);
	free(l);
	*lp = NULL;
}

void imap_login_start(struct imap_login *l)
{
	say(l, "* OK [CAPABILITY ");
	write_capabilities(l);
	say(l, "] Ravelin ready\r\n");
}

/* begin_login hands credentials to the caller; its answer may come at
 * once (imap_login_result from inside the callback) or later. */
static void begin_login(struct imap_login *l, struct str user, struct str password)
{
	l->state = ST_WAIT_LOGIN;
	l->cb->login(l->ctx, user, password);
}

/* auth_plain decodes an RFC 4616 message, "authzid NUL authcid NUL
 * password" in base64 ("=" is the empty one, RFC 4959), and logs in. */
static void auth_plain(struct imap_login *l, struct str b64)
{
	struct sasl_plain plain;

	switch (sasl_plain_decode(&plain, b64, true)) {
	case SASL_PLAIN_OK:
		begin_login(l, plain.authcid, plain.password);
		break;
	case SASL_PLAIN_BAD_BASE64:
		/* RFC 9051 6.2.2: invalid base64 MUST be answered BAD. */
		fail(l, saved_tag(l), "BAD", "Invalid base64");
		break;
	case SASL_PLAIN_MALFORMED:
		fail(l, saved_tag(l), "BAD", "Invalid PLAIN message");
		break;
	case SASL_PLAIN_AUTHZID:
		fail(l, saved_tag(l), "NO",
		     "[AUTHORIZATIONFAILED] Acting as another user is not allowed");
		break;
	}
	sasl_plain_wipe(&plain);
}

static bool no_args(struct imap_login *l, const struct imap_command *cmd)
{
	if (cmd->arg_count == 0)
		return true;
	fail(l, cmd->tag, "BAD", "This command takes no arguments");
	return false;
}

static void cmd_capability(struct imap_login *l, const struct imap_command *cmd)
{
	if (!no_args(l, cmd))
		return;
	say(l, "* CAPABILITY ");
	write_capabilities(l);
	say(l, "\r\n");
	reply(l, cmd->tag, "OK", "CAPABILITY completed");
}

static void cmd_noop(struct imap_login *l, const struct imap_command *cmd)
{
	if (no_args(l, cmd))
		reply(l, cmd->tag, "OK", "NOOP completed");
}

static void cmd_logout(struct imap_login *l, const struct imap_command *cmd)
{
	if (!no_args(l, cmd))
		return;
	say(l, "* BYE Logging out\r\n");
	reply(l, cmd->tag, "OK", "LOGOUT completed");
	l->state = ST_CLOSED;
	l->cb->close(l->ctx);
}

/* cmd_id answers RFC 2971 ID; what the client says of itself is not used
 * before login. */
static void cmd_id(struct imap_login *l, const struct imap_command *cmd)
{
	if (cmd->arg_count != 1 ||
	    (cmd->args[0].type != IMAP_ARG_NIL && cmd->args[0].type != IMAP_ARG_LIST)) {
		fail(l, cmd->tag, "BAD", "ID takes a list or NIL");
		return;
	}
	say(l, "* ID (\"name\" \"Ravelin\")\r\n");
	reply(l, cmd->tag, "OK", "ID completed");
}

static void cmd_starttls(struct imap_login *l, const struct imap_command *cmd)
{
	if (!no_args(l, cmd))
		return;
	if (l->tls_active) {
		fail(l, cmd->tag, "BAD", "TLS is active already");
		return;
	}
	if (!l->tls_offered) {
		fail(l, cmd->tag, "NO", "TLS is not available here");
		return;
	}
	reply(l, cmd->tag, "OK", "Begin TLS negotiation now");
	l->state = ST_WAIT_TLS;
	l->cb->starttls(l->ctx);
}

static void cmd_login(struct imap_login *l, const struct imap_command *cmd)
{
	struct str user, password;

	if (cmd->arg_count != 2 || !imap_arg_get_astring(&cmd->args[0], &user) ||
	    !imap_arg_get_astring(&cmd->args[1], &password)) {
		if (cmd->arg_count >= 2)
			wipe(cmd->args[1].text); /* a list's text is empty */
		fail(l, cmd->tag, "BAD", "LOGIN takes a user name and a password");
		return;
	}
	if (!l->tls_active) {
		wipe(password);
		fail(l, cmd->tag, "NO", NO_PRIVACY);
		return;
	}
	save_tag(l, cmd->tag);
	begin_login(l, user, password);
	wipe(password);
}

static void cmd_authenticate(struct imap_login *l, const struct imap_command *cmd)
{
	if (cmd->arg_count < 1 || cmd->arg_count > 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->arg_count == 2 && cmd->args[1].type != IMAP_ARG_ATOM)) {
		fail(l, cmd->tag, "BAD", "AUTHENTICATE takes a mechanism and an initial response");
		return;
	}
	if (!l->tls_active) {
		fail(l, cmd->tag, "NO", NO_PRIVACY);
		return;
	}
	if (!imap_arg_is_atom(&cmd->args[0], "PLAIN")) {
		fail(l, cmd->tag, "NO", "Unsupported authentication mechanism");
		return;
	}
	save_tag(l, cmd->tag);
	if (cmd->arg_count == 2) {
		auth_plain(l, cmd->args[1].text);
		wipe(cmd->args[1].text);
		return;
	}
	/* RFC 9051 6.2.2: an empty challenge, then one line of response. */
	say(l, "+ \r\n");
	l->state = ST_AUTH_CONTINUE;
	imap_parser_expect_line(l->parser);
}

/* sasl_response takes the line after "+ ": "*" cancels. */
static void sasl_response(struct imap_login *l, struct str line)
{
	l->state = ST_COMMAND;
	if (str_eq(line, STR("*")))
		fail(l, saved_tag(l), "BAD", "Authentication cancelled");
	else
		auth_plain(l, line);
	wipe(line);
}

struct command {
	const char *name;
	void (*run)(struct imap_login *l, const struct imap_command *cmd);
	bool literals; /* its arguments may be literals */
};

static const struct command commands[] = {
	{ "CAPABILITY", cmd_capability, false },
	{ "NOOP", cmd_noop, false },
	{ "LOGOUT", cmd_logout, false },
	{ "ID", cmd_id, true },
	{ "STARTTLS", cmd_starttls, false },
	{ "LOGIN", cmd_login, true },
	{ "AUTHENTICATE", cmd_authenticate, false },
};

/* Commands of the authenticated and selected states (RFC 9051 6.3, 6.4,
 * and the extensions the worker announces): answered "Log in first"
 * rather than "Unknown command", so a confused client learns why. */
static const char *const after_login[] = {
	"ENABLE", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE",
	"UNSUBSCRIBE", "LIST", "LSUB", "NAMESPACE", "STATUS", "APPEND", "IDLE", "CHECK",
	"CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "SORT",
	"THREAD", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA",
};

static const struct command *find_command(struct str name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (str_eq(name, str_c(commands[i].name)))
			return &commands[i];
	return NULL;
}

static bool is_after_login(struct str name)
{
	if (str_case_prefix(name, STR("UID ")))
		return true;
	for (size_t i = 0; i < sizeof(after_login) / sizeof(after_login[0]); i++)
		if (str_eq(name, str_c(after_login[i])))
			return true;
	return false;
}

static void command(struct imap_login *l, const struct imap_command *cmd)
{
	const struct command *c = find_command(cmd->name);
	if (c != NULL)
		c->run(l, cmd);
	else if (is_after_login(cmd->name))
		fail(l, cmd->tag, "BAD", "Log in first");
	else
		fail(l, cmd->tag, "BAD", "Unknown command");
}

/*
 * literal decides on an announced literal.  A synchronising one is let in
 * only where it can be used, so a client waiting for "+" gets its answer
 * without sending the octets: a password is not sent in clear only to be
 * refused.  A non-synchronising one comes anyway; within the parser's
 * limits it is taken (refusing it would cost the connection) and the
 * command's answer says what was wrong.
 */
static void literal(struct imap_login *l)
{
	const struct imap_literal *lit = imap_parser_literal(l->parser);
	const struct command *c = find_command(lit->name);
	const char *status = "BAD", *refusal = NULL;

	if (lit->sync) {
		if (str_eq(lit->name, STR("LOGIN")) && !l->tls_active) {
			status = "NO";
			refusal = NO_PRIVACY;
		} else if (c != NULL && !c->literals) {
			refusal = "Literal not expected here";
		} else if (c == NULL) {
			refusal = is_after_login(lit->name) ? "Log in first" : "Unknown command";
		}
	}
	if (refusal == NULL) {
		if (imap_parser_literal_accept(l->parser) < 0) {
			close_with(l, "* BYE Out of memory\r\n");
			return;
		}
		if (lit->sync)
			say(l, "+ OK\r\n");
		return;
	}
	char tag[IMAP_DEFAULT_MAX_TAG + 1];
	size_t tag_len = lit->tag.len < sizeof(tag) ? lit->tag.len : sizeof(tag) - 1;
	memcpy(tag, lit->tag.ptr, tag_len);
	/* Synchronising: the client sends nothing more of this command. */
	int r = imap_parser_literal_refuse(l->parser);
	assert(r == 0);
	(void)r;
	fail(l, str_from(tag, tag_len), status, refusal);
}

static void parse_error(struct imap_login *l)
{
	struct str tag;
	bool fatal;
	const char *text = imap_parser_error(l->parser, &tag, &fatal);

	if (l->state == ST_AUTH_CONTINUE) {
		/* The SASL response line was too long. */
		l->state = ST_COMMAND;
		tag = saved_tag(l);
	}
	if (fatal) {
		/* What follows cannot be told apart from commands any more
		 * (imap-parser.h): answer, then close. */
		reply(l, tag, "BAD", text);
		close_with(l, "* BYE Cannot follow the command stream, closing\r\n");
		return;
	}
	fail(l, tag, "BAD", text);
}

void imap_login_input(struct imap_login *l, struct buf *in)
{
	while ((l->state == ST_COMMAND || l->state == ST_AUTH_CONTINUE) && in->len > 0) {
		size_t used;
		int r = imap_parser_feed(l->parser, in->data, in->len, &used);
		/* The bytes may hold a password: wipe them as they go. */
		sodium_memzero(in->data, used);
		buf_consume(in, used);
		switch (r) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_COMMAND:
			command(l, imap_parser_command(l->parser));
			break;
		case IMAP_PARSE_LITERAL:
			literal(l);
			break;
		case IMAP_PARSE_LINE:
			sasl_response(l, imap_parser_line(l->parser));
			break;
		default:
			parse_error(l);
			break;
		}
		if (l->state == ST_WAIT_TLS) {
			/* RFC 9051 6.2.1: nothing sent before the handshake counts. */
			sodium_memzero(in->data, in->len);
			buf_reset(in);
		}
	}
}

void imap_login_result(struct imap_login *l, bool ok, bool temporary)
{
	if (l->state != ST_WAIT_LOGIN)
		return;
	if (ok) {
		l->state = ST_WAIT_SESSION;
		return;
	}
	l->state = ST_COMMAND;
	if (temporary)
		reply(l, saved_tag(l), "NO", "[UNAVAILABLE] Cannot log in now, try again later");
	else
		fail(l, saved_tag(l), "NO", "[AUTHENTICATIONFAILED] Authentication failed");
}

void imap_login_session_ready(struct imap_login *l)
{
	if (l->state != ST_WAIT_SESSION)
		return;
	reply(l, saved_tag(l), "OK", "[CAPABILITY " IMAP_CAPABILITY_AUTH "] Logged in");
	l->state = ST_DONE;
}

void imap_login_session_refused(struct imap_login *l, bool limit)
{
	if (l->state != ST_WAIT_SESSION)
		return;
	l->state = ST_COMMAND;
	if (limit)
		reply(l, saved_tag(l), "NO", "[LIMIT] Too many sessions for this account");
	else
		reply(l, saved_tag(l), "NO",
		      "[UNAVAILABLE] Mailbox not available now, try again later");
}

void imap_login_tls_started(struct imap_login *l)
{
	l->tls_active = true;
	if (l->state == ST_WAIT_TLS)
		l->state = ST_COMMAND;
}

void imap_login_timeout(struct imap_login *l)
{
	if (l->state != ST_CLOSED)
		close_with(l, "* BYE Autologout; idle for too long\r\n");
}

bool imap_login_waiting(const struct imap_login *l)
{
	return l->state == ST_WAIT_LOGIN || l->state == ST_WAIT_SESSION ||
	       l->state == ST_WAIT_TLS;
}

bool imap_login_done(const struct imap_login *l)
{
	return l->state == ST_DONE;
}
