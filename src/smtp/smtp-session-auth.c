/*
 * smtp-session-auth: submission's AUTH PLAIN and LOGIN (RFC 4954, RFC 4616)
 * within the SMTP dialogue (see smtp-session-private.h).  The credentials
 * go to the auth callback; the user name kept between the two LOGIN steps
 * is wiped as soon as the exchange ends.
 */
#include "smtp-session-private.h"

#include <sodium.h>

#include "lib/sasl-plain.h"

void smtp_session_auth_forget(struct smtp_session *s)
{
	s->auth_step = AUTH_NONE;
	sodium_memzero(s->auth_user, sizeof(s->auth_user));
	s->auth_user_len = 0;
}

/* auth_ask hands a login to the auth callback; its answer comes in
 * smtp_session_auth_result. */
static void auth_ask(struct smtp_session *s, struct str user, struct str password)
{
	s->auth_step = AUTH_NONE;
	s->wait = WAIT_AUTH;
	s->cb.auth(s->ctx, user, password);
}

/* auth_plain decodes a SASL PLAIN message (RFC 4616) and asks for it. */
static void auth_plain(struct smtp_session *s, struct str b64)
{
	static struct sasl_plain plain;
	enum sasl_plain_result r = sasl_plain_decode(&plain, b64, true);
	if (r == SASL_PLAIN_OK)
		auth_ask(s, plain.authcid, plain.password);
	else if (r == SASL_PLAIN_AUTHZID)
		smtp_session_error(s, "535 5.7.8 Error: authentication failed");
	else
		smtp_session_error(s, "501 5.5.2 Error: cannot decode the response");
	sasl_plain_wipe(&plain);
}

/* "*" cancels the exchange (RFC 4954 4). */
void smtp_session_auth_line(struct smtp_session *s, struct str line)
{
	char pass[SMTP_SUBMIT_MAX_SASL];
	size_t len;
	enum auth_step step = s->auth_step;

	if (str_eq(line, STR("*"))) {
		smtp_session_auth_forget(s);
		smtp_session_error(s, "501 5.0.0 Authentication aborted");
		return;
	}
	switch (step) {
	case AUTH_PLAIN:
		s->auth_step = AUTH_NONE;
		auth_plain(s, line);
		return;
	case AUTH_LOGIN_USER:
		if (smtp_submit_base64(line, s->auth_user, sizeof(s->auth_user),
				       &s->auth_user_len) < 0)
			break;
		s->auth_step = AUTH_LOGIN_PASS;
		smtp_session_output(s, "334 UGFzc3dvcmQ6");
		return;
	case AUTH_LOGIN_PASS:
		if (smtp_submit_base64(line, pass, sizeof(pass), &len) < 0)
			break;
		auth_ask(s, str_from(s->auth_user, s->auth_user_len), str_from(pass, len));
		sodium_memzero(pass, sizeof(pass));
		smtp_session_auth_forget(s);
		return;
	case AUTH_NONE:
		return;
	}
	smtp_session_auth_forget(s);
	smtp_session_error(s, "501 5.5.2 Error: cannot decode the response");
}

void smtp_session_auth_command(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct str initial;

	if (!s->set.tls_active) {
		smtp_session_error(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (!smtp_session_has_helo(s)) {
		smtp_session_error(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->authenticated) {
		smtp_session_error(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->txn_pool != NULL) {
		smtp_session_error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	switch (smtp_submit_parse_auth(cmd->arg, &initial)) {
	case SMTP_AUTH_MECH_PLAIN:
		if (initial.ptr != NULL) {
			auth_plain(s, initial);
			return;
		}
		s->auth_step = AUTH_PLAIN;
		smtp_session_output(s, "334 ");
		return;
	case SMTP_AUTH_MECH_LOGIN:
		s->auth_step = AUTH_LOGIN_USER;
		if (initial.ptr != NULL) {
			smtp_session_auth_line(s, initial);
			return;
		}
		smtp_session_output(s, "334 VXNlcm5hbWU6");
		return;
	case SMTP_AUTH_MECH_UNKNOWN:
		break;
	}
	smtp_session_error(s, "504 5.5.4 Unrecognized authentication type");
}

void smtp_session_auth_result(struct smtp_session *s, enum smtp_auth_status status)
{
	if (s->wait != WAIT_AUTH)
		return;
	s->wait = WAIT_NONE;
	if (status == SMTP_AUTH_OK) {
		s->authenticated = true;
		smtp_session_output(s, "235 2.7.0 Authentication successful");
	} else if (status == SMTP_AUTH_REFUSED) {
		smtp_session_error(s, "535 5.7.8 Error: authentication failed");
	} else {
		smtp_session_output(s, "454 4.7.0 Temporary authentication failure");
	}
}
