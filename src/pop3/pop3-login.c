/* pop3-login: POP3 before login, without I/O (see pop3-login.h). */
#include "pop3-login.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/ipc-limits.h"
#include "lib/sasl-plain.h"

/* The longest AUTH PLAIN line auth can take: "AUTH PLAIN ", then base64 of
 * two user names, two NULs and a password; it fits in a line. */
#define POP3_AUTH_PLAIN_MAX                                                              \
	(sizeof("AUTH PLAIN ") - 1 +                                                     \
	 4 * ((2 * IPC_LOGIN_MAX_USER + 2 + IPC_LOGIN_MAX_PASSWORD + 2) / 3))
_Static_assert(POP3_AUTH_PLAIN_MAX <= POP3_LOGIN_MAX_LINE, "AUTH PLAIN fits in a line");

enum state { ST_COMMAND, ST_AUTH_CONTINUE, ST_WAIT_LOGIN, ST_WAIT_TLS, ST_DONE, ST_CLOSED };

struct pop3_login {
	const struct pop3_login_callbacks *cb;
	void *ctx;
	bool tls_offered, tls_active;
	enum state state;
	unsigned errors;
	char user[256];
	size_t user_len;
};

static void say(struct pop3_login *l, const char *text)
{
	l->cb->output(l->ctx, text, strlen(text));
}

struct pop3_login *pop3_login_new(const struct pop3_login_callbacks *callbacks, void *ctx,
				  bool tls_offered, bool tls_active)
{
	struct pop3_login *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->cb = callbacks;
	l->ctx = ctx;
	l->tls_offered = tls_offered;
	l->tls_active = tls_active;
	return l;
}

void pop3_login_free(struct pop3_login **lp)
{
	if (*lp != NULL)
		sodium_memzero((*lp)->user, sizeof((*lp)->user));
	free(*lp);
	*lp = NULL;
}

void pop3_login_start(struct pop3_login *l)
{
	say(l, "+OK Ravelin POP3 ready\r\n");
}

static void close_with(struct pop3_login *l, const char *text)
{
	say(l, text);
	l->state = ST_CLOSED;
	l->cb->close(l->ctx);
}

static void err(struct pop3_login *l, const char *text)
{
	say(l, text);
	if (++l->errors >= POP3_LOGIN_MAX_ERRORS)
		close_with(l, "-ERR Too many errors\r\n");
}

/* auth_plain decodes "authzid NUL authcid NUL password" and logs in. */
static void auth_plain(struct pop3_login *l, struct str b64)
{
	struct sasl_plain plain;

	switch (sasl_plain_decode(&plain, b64, false)) {
	case SASL_PLAIN_OK:
		l->state = ST_WAIT_LOGIN;
		l->cb->login(l->ctx, plain.authcid, plain.password);
		break;
	case SASL_PLAIN_BAD_BASE64:
		err(l, "-ERR Invalid base64\r\n");
		break;
	case SASL_PLAIN_MALFORMED:
		err(l, "-ERR Invalid AUTH PLAIN data\r\n");
		break;
	case SASL_PLAIN_AUTHZID:
		err(l, "-ERR [AUTH] Acting as another user is not allowed\r\n");
		break;
	}
	sasl_plain_wipe(&plain);
}

static bool credentials_allowed(struct pop3_login *l)
{
	if (l->tls_active)
		return true;
	err(l, "-ERR [AUTH] Plaintext authentication disallowed without TLS: use STLS\r\n");
	return false;
}

static void command(struct pop3_login *l, struct str line)
{
	long sp = str_chr(line, ' ');
	struct str verb = sp < 0 ? line : str_sub(line, 0, (size_t)sp);
	struct str args = sp < 0 ? STR_NULL : str_sub(line, (size_t)sp + 1, SIZE_MAX);

	if (l->state == ST_AUTH_CONTINUE) {
		l->state = ST_COMMAND;
		if (str_eq(line, STR("*")))
			err(l, "-ERR Authentication cancelled\r\n");
		else
			auth_plain(l, line);
		return;
	}
	if (str_case_eq(verb, STR("CAPA"))) {
		say(l, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nRESP-CODES\r\n"
		       "AUTH-RESP-CODE\r\nPIPELINING\r\n");
		if (l->tls_active)
			say(l, "SASL PLAIN\r\n");
		if (l->tls_offered && !l->tls_active)
			say(l, "STLS\r\n");
		say(l, "IMPLEMENTATION Ravelin\r\n.\r\n");
	} else if (str_case_eq(verb, STR("STLS")) && args.len == 0) {
		if (!l->tls_offered || l->tls_active) {
			err(l, "-ERR TLS is not available here\r\n");
			return;
		}
		say(l, "+OK Begin TLS negotiation\r\n");
		l->state = ST_WAIT_TLS;
		l->cb->starttls(l->ctx);
	} else if (str_case_eq(verb, STR("USER")) && args.len > 0) {
		if (!credentials_allowed(l))
			return;
		if (args.len >= sizeof(l->user)) {
			err(l, "-ERR User name too long\r\n");
			return;
		}
		memcpy(l->user, args.ptr, args.len);
		l->user_len = args.len;
		say(l, "+OK\r\n");
	} else if (str_case_eq(verb, STR("PASS")) && args.len > 0) {
		if (!credentials_allowed(l))
			return;
		if (l->user_len == 0) {
			err(l, "-ERR USER first\r\n");
			return;
		}
		l->state = ST_WAIT_LOGIN;
		l->cb->login(l->ctx, str_from(l->user, l->user_len), args);
	} else if (str_case_eq(verb, STR("AUTH"))) {
		if (args.len == 0) {
			say(l, "+OK\r\nPLAIN\r\n.\r\n");
			return;
		}
		if (!credentials_allowed(l))
			return;
		long sp2 = str_chr(args, ' ');
		struct str mech = sp2 < 0 ? args : str_sub(args, 0, (size_t)sp2);
		if (!str_case_eq(mech, STR("PLAIN"))) {
			err(l, "-ERR Unsupported authentication mechanism\r\n");
			return;
		}
		if (sp2 < 0) {
			say(l, "+ \r\n");
			l->state = ST_AUTH_CONTINUE;
			return;
		}
		auth_plain(l, str_sub(args, (size_t)sp2 + 1, SIZE_MAX));
	} else if (str_case_eq(verb, STR("QUIT"))) {
		close_with(l, "+OK Bye\r\n");
	} else {
		err(l, "-ERR Unknown command, or not before login\r\n");
	}
}

void pop3_login_input(struct pop3_login *l, struct buf *in)
{
	while ((l->state == ST_COMMAND || l->state == ST_AUTH_CONTINUE) && in->len > 0) {
		long nl = str_chr(buf_str(in), '\n');
		if (nl < 0) {
			if (in->len > POP3_LOGIN_MAX_LINE)
				close_with(l, "-ERR Line too long\r\n");
			return;
		}
		struct str line = str_from(in->data, (size_t)nl);
		if (line.len > 0 && line.ptr[line.len - 1] == '\r')
			line.len--;
		if ((size_t)nl > POP3_LOGIN_MAX_LINE)
			close_with(l, "-ERR Line too long\r\n");
		else
			command(l, line);
		/* The line may hold a password: wipe it as it goes. */
		sodium_memzero(in->data, (size_t)nl + 1);
		buf_consume(in, (size_t)nl + 1);
		if (l->state == ST_WAIT_TLS)
			buf_reset(in); /* nothing sent before the handshake counts */
	}
}

void pop3_login_result(struct pop3_login *l, bool ok, bool temporary)
{
	if (l->state != ST_WAIT_LOGIN)
		return;
	if (ok) {
		l->state = ST_DONE;
		return;
	}
	l->state = ST_COMMAND;
	l->user_len = 0;
	err(l, temporary ? "-ERR [SYS/TEMP] Cannot log in now, try again later\r\n"
			 : "-ERR [AUTH] Authentication failed\r\n");
}

void pop3_login_tls_started(struct pop3_login *l)
{
	l->tls_active = true;
	l->user_len = 0;
	if (l->state == ST_WAIT_TLS)
		l->state = ST_COMMAND;
}

void pop3_login_timeout(struct pop3_login *l)
{
	if (l->state != ST_CLOSED)
		close_with(l, "-ERR Timeout, closing\r\n");
}

bool pop3_login_waiting(const struct pop3_login *l)
{
	return l->state == ST_WAIT_LOGIN || l->state == ST_WAIT_TLS;
}

bool pop3_login_done(const struct pop3_login *l)
{
	return l->state == ST_DONE;
}
