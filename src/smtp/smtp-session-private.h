#ifndef RAVELIN_SMTP_SESSION_PRIVATE_H
#define RAVELIN_SMTP_SESSION_PRIVATE_H
/*
 * smtp-session-private: the session's state, shared by the dialogue
 * (smtp-session.c) and submission's SASL exchange (smtp-session-auth.c).
 * Nothing outside src/smtp includes it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "smtp-parser.h"
#include "smtp-session.h"
#include "smtp-submit.h"

/* Longer than any textual IPv6 address (INET6_ADDRSTRLEN is 46). */
#define SMTP_MAX_IP 63
/* The caller's session ids are short; a longer one is cut. */
#define SMTP_MAX_SESSION_ID 63

enum session_state {
	ST_COMMAND,
	ST_DISCARD_LINE,
	ST_DATA,
	ST_BDAT,
	ST_CLOSED,
};

enum session_wait {
	WAIT_NONE,
	WAIT_RCPT,    /* rcpt_lookup: smtp_session_rcpt_result */
	WAIT_DATA,    /* data_end after a message: smtp_session_data_result */
	WAIT_ABORT,   /* data_end(false) for an abandoned BDAT message */
	WAIT_TLS,     /* starttls: smtp_session_tls_started */
	WAIT_AUTH,    /* auth: smtp_session_auth_result */
};

/* Where a SASL exchange is (submission): which response line comes next. */
enum auth_step {
	AUTH_NONE,
	AUTH_PLAIN,       /* the PLAIN message after "334 " */
	AUTH_LOGIN_USER,  /* the user name after "334 VXNlcm5hbWU6" */
	AUTH_LOGIN_PASS,  /* the password after "334 UGFzc3dvcmQ6" */
};

/* Where the DATA machine is within the current line. */
enum data_state {
	DS_LINE_START, /* after a real CRLF, or the 354 */
	DS_DOT,        /* "." at a line start */
	DS_DOT_CR,     /* "." CR at a line start */
	DS_MID,        /* inside a line (also after a bare CR or bare LF) */
	DS_CR,         /* a CR that may begin a real CRLF */
};

/* Why a message being received will be refused at its end. */
enum refusal {
	REFUSE_NONE,
	REFUSE_SIZE,   /* over max_message_size: 552 */
	REFUSE_FAILED, /* data_chunk failed: 451 */
	REFUSE_HEADER, /* submission: header section over its limit: 552 */
	REFUSE_FROM,   /* submission: From: not the account's: 553 */
};

/* What the main loop does with the command line after handling it. */
enum consume {
	CONSUME_LINE, /* drop the line */
	CONSUME_NONE, /* keep it: it is handled again after an answer */
	CONSUME_DONE, /* the handler already consumed what it had to */
};

struct smtp_session {
	struct smtp_settings set;
	struct smtp_callbacks cb;
	void *ctx;
	char remote_ip[SMTP_MAX_IP + 1];
	char session_id[SMTP_MAX_SESSION_ID + 1];
	char helo[SMTP_MAX_DOMAIN + 1]; /* empty until HELO/EHLO */
	bool ehlo;
	unsigned errors;
	/* Submission: the login, and a SASL exchange under way. */
	bool authenticated;
	enum auth_step auth_step;
	char auth_user[SMTP_SUBMIT_MAX_SASL];
	size_t auth_user_len;
	/* Submission: the message's header section, held until it is checked. */
	bool in_header;
	struct smtp_header_collector header;
	enum session_state state;
	enum session_wait wait;

	/* The transaction: txn_pool is NULL when there is none. */
	struct pool *txn_pool;
	struct smtp_transaction txn;
	struct smtp_rcpt *rcpts;
	size_t rcpt_cap;
	struct str pending_rcpt;  /* being looked up */
	bool message_begun;       /* data_begin done, data_end not yet */
	bool used_bdat;
	enum refusal refused;
	uint64_t message_size;    /* content octets, without Received: */
	struct buf chunk;         /* staging for data_chunk */

	enum data_state dstate;
	uint64_t bdat_size;       /* the current chunk's announced size */
	uint64_t bdat_left;       /* its octets still to read */
	bool bdat_last;
	const char *bdat_error;   /* reply for a chunk that is only skipped */
	bool bdat_error_is_client; /* counts as a client error */
};

/* smtp_session_output sends one reply line; CRLF is added.  Nothing is
 * sent after the session closed. */
void smtp_session_output(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* smtp_session_error sends a reply for a client mistake and counts it;
 * the SMTP_MAX_ERRORS-th closes the session with 421. */
void smtp_session_error(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* smtp_session_has_helo: HELO or EHLO was accepted. */
bool smtp_session_has_helo(const struct smtp_session *s);

/* smtp_session_auth_command starts AUTH PLAIN or LOGIN (RFC 4954), in
 * submission only, only under TLS and once per session. */
void smtp_session_auth_command(struct smtp_session *s, const struct smtp_command *cmd);
/* smtp_session_auth_line takes one line of a SASL exchange under way. */
void smtp_session_auth_line(struct smtp_session *s, struct str line);
/* smtp_session_auth_forget ends a SASL exchange and wipes the user name
 * kept for it. */
void smtp_session_auth_forget(struct smtp_session *s);

#endif
