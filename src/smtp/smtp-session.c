/*
 * smtp-session: the RFC 5321 server dialogue (see smtp-session.h).
 *
 * The session is a state machine over the caller's input buffer:
 *  - COMMAND: one line at a time, at most SMTP_MAX_LINE octets including
 *    the line end; a longer line is answered 500 and its bytes are thrown
 *    away as they arrive (DISCARD_LINE) without being buffered.
 *  - DATA: a byte-level machine that removes dot stuffing, turns bare CR
 *    and bare LF into CRLF and ends only at a real CRLF "." CRLF.  Bytes
 *    stream from the input into a fixed staging buffer (SMTP_DATA_CHUNK)
 *    handed to data_chunk when full, so no line length matters.
 *  - BDAT: exactly the announced number of octets, passed on unchanged.
 * While a callback's answer is outstanding (recipient look-up, message
 * result, TLS handshake, the end of an aborted message, a submission
 * login) no input is
 * consumed; the *_result calls give the reply but never consume input
 * themselves: the caller calls smtp_session_input again after them.
 *
 * Submission mode (settings.submission) adds AUTH (smtp-session-auth.c: a
 * SASL exchange reads its response lines in COMMAND state, auth_step
 * saying which comes next)
 * and holds each message's header section (smtp-submit.c collects and
 * checks it) until it is whole.
 *
 * Memory: the session itself is one allocation; each transaction (MAIL to
 * its end) has its own pool, freed by RSET, EHLO/HELO, STARTTLS, the end
 * of the message and smtp_session_free; the staging buffer exists only
 * while a message is being received.
 */
#include "smtp-session-private.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/pool.h"
#include "smtp-parser.h"
#include "smtp-submit.h"

/* Message bytes are handed to data_chunk in pieces of this size: large
 * enough that the per-call cost (an IPC message in the front) is small
 * against the copying, small enough to hold for every receiving session. */
#define SMTP_DATA_CHUNK (64 * 1024)
/* Used when the settings give no message size: Postfix's default order of
 * magnitude, and what common providers accept. */
#define SMTP_DEFAULT_MAX_MESSAGE_SIZE (50u * 1024 * 1024)
/* One transaction's recipients, their paths and account ids: enough for
 * SMTP_DEFAULT_MAX_RECIPIENTS recipients that each resolve to hundreds of
 * accounts.  Past it, further recipients get 452 (try again later). */
#define SMTP_TXN_POOL_MAX (16u * 1024 * 1024)
/* The longest reply line we make: a 256-octet path and fixed text. */
#define SMTP_MAX_REPLY 1024
/* Queue ids echoed in the 250 reply are cut to this length. */
#define SMTP_MAX_QUEUE_ID 63

/* copy_bounded copies the C string src into dst of size n, cutting it. */
static void copy_bounded(char *dst, size_t n, const char *src)
{
	size_t len = src == NULL ? 0 : strnlen(src, n - 1);
	if (len > 0)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

/* smtp_session_output sends one reply line; CRLF is added.  Nothing is sent after
 * the session closed. */
void smtp_session_output(struct smtp_session *s, const char *fmt, ...)
{
	char line[SMTP_MAX_REPLY + 2];
	va_list ap;

	if (s->state == ST_CLOSED)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(line, SMTP_MAX_REPLY + 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n > SMTP_MAX_REPLY ? SMTP_MAX_REPLY : (size_t)n;
	line[len++] = '\r';
	line[len++] = '\n';
	s->cb.output(s->ctx, line, len);
}

/* session_close marks the session over and tells the caller. */
static void session_close(struct smtp_session *s)
{
	if (s->state == ST_CLOSED)
		return;
	s->state = ST_CLOSED;
	s->cb.close(s->ctx);
}

/* smtp_session_error sends a reply for a client mistake and counts it; the
 * SMTP_MAX_ERRORS-th closes the session with 421. */
void smtp_session_error(struct smtp_session *s, const char *fmt, ...)
{
	char line[SMTP_MAX_REPLY];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	smtp_session_output(s, "%s", line);
	if (++s->errors >= SMTP_MAX_ERRORS) {
		smtp_session_output(s, "421 4.7.0 %s Too many errors", s->set.hostname);
		session_close(s);
	}
}

/* txn_reset forgets the transaction and frees its memory.  A message must
 * not be in progress (its data_end is owed first). */
static void txn_reset(struct smtp_session *s)
{
	assert(!s->message_begun);
	pool_free(&s->txn_pool);
	memset(&s->txn, 0, sizeof(s->txn));
	s->rcpts = NULL;
	s->rcpt_cap = 0;
	s->pending_rcpt = STR_NULL;
	s->used_bdat = false;
	s->refused = REFUSE_NONE;
	s->message_size = 0;
	buf_free(&s->chunk);
	s->in_header = false;
	smtp_header_collector_free(&s->header);
}

/* chunk_flush hands the staged bytes to data_chunk; a failure makes the
 * message refused (451 at its end). */
static void chunk_flush(struct smtp_session *s)
{
	if (s->chunk.len > 0 && s->refused == REFUSE_NONE &&
	    s->cb.data_chunk(s->ctx, s->chunk.data, s->chunk.len) < 0)
		s->refused = REFUSE_FAILED;
	buf_reset(&s->chunk);
}

/* stage puts octets in the staging buffer while nothing failed. */
static void stage(struct smtp_session *s, const char *p, size_t n)
{
	while (n > 0 && s->refused == REFUSE_NONE) {
		size_t room = SMTP_DATA_CHUNK - s->chunk.len;
		if (room == 0) {
			chunk_flush(s);
			continue;
		}
		size_t take = n < room ? n : room;
		if (buf_append(&s->chunk, p, take) < 0) {
			s->refused = REFUSE_FAILED;
			break;
		}
		p += take;
		n -= take;
	}
}

static void header_done(struct smtp_session *s);

/* content_put counts message octets and stages them while the message is
 * within its size and nothing failed; past that they are only counted.
 * In submission the header section is held back until it is whole and
 * checked (header_done). */
static void content_put(struct smtp_session *s, const char *p, size_t n)
{
	s->message_size = s->message_size > UINT64_MAX - n ? UINT64_MAX : s->message_size + n;
	if (s->refused == REFUSE_NONE && s->message_size > s->set.max_message_size)
		s->refused = REFUSE_SIZE;
	if (s->in_header && s->refused == REFUSE_NONE) {
		size_t took = smtp_header_collect(&s->header, p, n);
		if (s->header.too_big)
			s->refused = REFUSE_HEADER;
		if (!s->header.done)
			return;
		header_done(s);
		p += took;
		n -= took;
	}
	stage(s, p, n);
}

static const char crlf[] = "\r\n";

/*
 * message_begin starts receiving a message after data_begin agreed: makes
 * the staging buffer and stages the Received: header (RFC 5321 4.4, with
 * the protocol names of RFC 3848 and RFC 6531), which therefore reaches
 * data_chunk before any content.
 */
static void message_begin(struct smtp_session *s)
{
	char date[64];
	const bool tls = s->set.tls_active;
	const char *proto;

	/* RFC 3848: "A" for a client that logged in. */
	if (!s->ehlo)
		proto = "SMTP";
	else if (s->txn.smtputf8)
		proto = s->authenticated ? (tls ? "UTF8SMTPSA" : "UTF8SMTPA")
					 : (tls ? "UTF8SMTPS" : "UTF8SMTP");
	else
		proto = s->authenticated ? (tls ? "ESMTPSA" : "ESMTPA") : (tls ? "ESMTPS" : "ESMTP");
	smtp_submit_date(time(NULL), date, sizeof(date));

	s->message_begun = true;
	s->refused = REFUSE_NONE;
	s->message_size = 0;
	buf_free(&s->chunk);
	buf_init(&s->chunk, SMTP_DATA_CHUNK);
	/* One allocation of the full size up front; content_put never
	 * lets it grow past that. */
	int r = buf_reserve(&s->chunk, SMTP_DATA_CHUNK);
	/* Submitted mail names no client address unless told to (RFC 6409
	 * 8: the MSA need not disclose it; it says where a user was). */
	if (s->set.submission && !s->set.received_ip)
		r = r < 0 ? r : buf_printf(&s->chunk, "Received: from %s (authenticated)\r\n",
					   s->helo);
	else
		r = r < 0 ? r : buf_printf(&s->chunk, "Received: from %s (%s%s%s)\r\n", s->helo,
					   strchr(s->remote_ip, ':') ? "[IPv6:" : "[", s->remote_ip,
					   "]");
	r = r < 0 ? r : buf_printf(&s->chunk, "\tby %s (Ravelin) with %s id %s", s->set.hostname,
				   proto, s->session_id);
	if (s->txn.rcpt_count == 1)
		r = r < 0 ? r : buf_printf(&s->chunk, "\r\n\tfor <%.*s>; %s\r\n",
					   (int)s->txn.rcpts[0].address.len,
					   s->txn.rcpts[0].address.ptr, date);
	else
		r = r < 0 ? r : buf_printf(&s->chunk, ";\r\n\t%s\r\n", date);
	if (r < 0)
		s->refused = REFUSE_FAILED;
	s->in_header = s->set.submission;
	smtp_header_collector_free(&s->header);
	if (s->in_header)
		smtp_header_collector_init(&s->header);
}

/*
 * header_done checks a submitted message's header section once it is
 * whole (smtp_submit_check_header): a From: not the account's is refused
 * at the end (553); else Date: and Message-ID: are added when missing and
 * the section goes on as it came.
 */
static void header_done(struct smtp_session *s)
{
	struct buf added;

	s->in_header = false;
	buf_init(&added, SMTP_MAX_REPLY);
	if (s->refused == REFUSE_NONE &&
	    smtp_submit_check_header(buf_str(&s->header.header), s->cb.sender_allowed, s->ctx,
				     s->set.hostname, &added) < 0) {
		log_info("%s: message refused: its From: is not the account's", s->remote_ip);
		s->refused = REFUSE_FROM;
	}
	if (s->refused == REFUSE_NONE) {
		stage(s, added.data, added.len);
		stage(s, s->header.header.data, s->header.header.len);
		stage(s, crlf, 2);
	}
	buf_free(&added);
	smtp_header_collector_free(&s->header);
}

/* message_end gives the last bytes and calls data_end; the reply follows
 * in smtp_session_data_result. */
static void message_end(struct smtp_session *s)
{
	assert(s->message_begun);
	if (s->in_header)
		header_done(s);
	chunk_flush(s);
	buf_free(&s->chunk);
	s->message_begun = false;
	s->state = ST_COMMAND;
	s->wait = WAIT_DATA;
	s->cb.data_end(s->ctx, s->refused == REFUSE_NONE);
}

/*
 * abort_if_begun: a BDAT message was started and the client now leaves the
 * transaction (RSET, EHLO, HELO, STARTTLS, QUIT).  data_end(false) is owed
 * first; returns true when it was called, and the command line must then
 * be handled again once smtp_session_data_result answered.
 */
static bool abort_if_begun(struct smtp_session *s)
{
	if (!s->message_begun)
		return false;
	buf_free(&s->chunk);
	s->message_begun = false;
	s->wait = WAIT_ABORT;
	s->cb.data_end(s->ctx, false);
	return true;
}

/* forget_helo makes MAIL need a new HELO/EHLO (start, STARTTLS). */
static void forget_helo(struct smtp_session *s)
{
	s->helo[0] = '\0';
	s->ehlo = false;
}

/* smtp_session_has_helo: HELO or EHLO was given (since the start or STARTTLS). */
bool smtp_session_has_helo(const struct smtp_session *s)
{
	return s->helo[0] != '\0';
}

/* cmd_helo answers HELO (250) or EHLO (the extension list) and resets
 * the transaction (RFC 5321 4.1.4). */
static enum consume cmd_helo(struct smtp_session *s, const struct smtp_command *cmd)
{
	if (abort_if_begun(s))
		return CONSUME_NONE;
	txn_reset(s);
	size_t n = cmd->domain.len < SMTP_MAX_DOMAIN ? cmd->domain.len : SMTP_MAX_DOMAIN;
	memcpy(s->helo, cmd->domain.ptr, n);
	s->helo[n] = '\0';
	s->ehlo = cmd->verb == SMTP_VERB_EHLO;
	if (!s->ehlo) {
		smtp_session_output(s, "250 %s", s->set.hostname);
		return CONSUME_LINE;
	}

	char size[32];
	snprintf(size, sizeof(size), "SIZE %" PRIu64, s->set.max_message_size);
	const char *ext[] = { "PIPELINING", size, "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
			      "CHUNKING", NULL, NULL };
	size_t n_ext = 6;
	if (s->set.tls_offered && !s->set.tls_active)
		ext[n_ext++] = "STARTTLS";
	/* RFC 4954 / RFC 8314: passwords only under TLS. */
	if (s->set.submission && s->set.tls_active && !s->authenticated)
		ext[n_ext++] = "AUTH PLAIN LOGIN";
	struct buf b;
	buf_init(&b, SMTP_MAX_REPLY);
	int r = buf_printf(&b, "250-%s\r\n", s->set.hostname);
	for (size_t i = 0; r == 0 && i < n_ext; i++)
		r = buf_printf(&b, "250%c%s\r\n", i + 1 < n_ext ? '-' : ' ', ext[i]);
	if (r == 0)
		s->cb.output(s->ctx, b.data, b.len);
	else
		smtp_session_output(s, "451 4.3.0 Error: internal error");
	buf_free(&b);
	return CONSUME_LINE;
}

/* cmd_mail starts a transaction with its own pool after checking the
 * sequence, SMTPUTF8 and the declared SIZE. */
static enum consume cmd_mail(struct smtp_session *s, const struct smtp_command *cmd)
{
	if (!smtp_session_has_helo(s)) {
		smtp_session_error(s, "503 5.5.1 Error: send HELO/EHLO first");
		return CONSUME_LINE;
	}
	if (s->txn_pool != NULL) {
		smtp_session_error(s, "503 5.5.1 Error: nested MAIL command");
		return CONSUME_LINE;
	}
	if (s->set.submission && !s->authenticated) {
		smtp_session_error(s, "530 5.7.0 Authentication required");
		return CONSUME_LINE;
	}
	if (cmd->address_utf8 && !cmd->smtputf8) {
		smtp_session_error(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
		return CONSUME_LINE;
	}
	if (cmd->size_given && cmd->size > s->set.max_message_size) {
		log_info("%s: message refused: SIZE=%" PRIu64 " is over the %" PRIu64
			 "-byte limit (smtp.max_message_size)",
			 s->remote_ip, (uint64_t)cmd->size, (uint64_t)s->set.max_message_size);
		smtp_session_output(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		return CONSUME_LINE;
	}
	/* The sender is the account's, as auth listed it (never <>: a
	 * person's mail is not a bounce). */
	if (s->set.submission &&
	    (cmd->null_path || !s->cb.sender_allowed(s->ctx, cmd->address))) {
		log_info("%s: sender <%.*s> refused: not the account's", s->remote_ip,
			 (int)cmd->address.len, cmd->address.ptr);
		smtp_session_error(s, "553 5.7.1 <%.*s>: Sender address rejected: not owned by user",
			    (int)cmd->address.len, cmd->address.ptr);
		return CONSUME_LINE;
	}
	s->txn_pool = pool_new(SMTP_TXN_POOL_MAX);
	struct str from = s->txn_pool == NULL ? STR_NULL : pool_str(s->txn_pool, cmd->address);
	if (from.ptr == NULL) {
		txn_reset(s);
		smtp_session_output(s, "451 4.3.0 Error: insufficient resources");
		return CONSUME_LINE;
	}
	s->txn.mail_from = from;
	s->txn.body_8bitmime = cmd->body == SMTP_BODY_8BITMIME;
	s->txn.smtputf8 = cmd->smtputf8;
	s->txn.declared_size = cmd->size_given ? (uint64_t)cmd->size : 0;
	s->txn.helo = str_c(s->helo);
	smtp_session_output(s, "250 2.1.0 Ok");
	return CONSUME_LINE;
}

/* cmd_rcpt checks sequence and limits, then asks rcpt_lookup; the reply
 * comes from smtp_session_rcpt_result.  The address handed out is a copy
 * in the transaction pool, valid until the transaction ends. */
static enum consume cmd_rcpt(struct smtp_session *s, const struct smtp_command *cmd)
{
	if (s->txn_pool == NULL) {
		smtp_session_error(s, "503 5.5.1 Error: need MAIL command");
		return CONSUME_LINE;
	}
	if (s->used_bdat) {
		smtp_session_error(s, "503 5.5.1 Error: RCPT after BDAT");
		return CONSUME_LINE;
	}
	if (cmd->address_utf8 && !s->txn.smtputf8) {
		smtp_session_error(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
		return CONSUME_LINE;
	}
	if (s->txn.rcpt_count >= s->set.max_recipients) {
		smtp_session_output(s, "452 4.5.3 Error: too many recipients");
		return CONSUME_LINE;
	}
	s->pending_rcpt = pool_str(s->txn_pool, cmd->address);
	if (s->pending_rcpt.ptr == NULL) {
		smtp_session_output(s, "452 4.5.3 Error: too many recipients");
		return CONSUME_LINE;
	}
	s->wait = WAIT_RCPT;
	s->cb.rcpt_lookup(s->ctx, s->pending_rcpt);
	return CONSUME_LINE;
}

/* cmd_data asks data_begin and switches to the DATA machine after 354. */
static enum consume cmd_data(struct smtp_session *s)
{
	if (s->txn_pool == NULL) {
		smtp_session_error(s, "503 5.5.1 Error: need MAIL command");
		return CONSUME_LINE;
	}
	if (s->used_bdat) {
		smtp_session_error(s, "503 5.5.1 Error: DATA after BDAT");
		return CONSUME_LINE;
	}
	if (s->txn.rcpt_count == 0) {
		smtp_session_output(s, "554 5.5.1 Error: no valid recipients");
		return CONSUME_LINE;
	}
	if (s->cb.data_begin(s->ctx, &s->txn) < 0) {
		smtp_session_output(s, "451 4.3.0 Error: queue not available, try again later");
		return CONSUME_LINE;
	}
	message_begin(s);
	s->dstate = DS_LINE_START;
	s->state = ST_DATA;
	smtp_session_output(s, "354 End data with <CR><LF>.<CR><LF>");
	return CONSUME_LINE;
}

/*
 * bdat_chunk_done is called when the announced octets of a BDAT chunk
 * were read: replies for a skipped chunk, ends the message after LAST or a
 * refusal, or acknowledges the chunk.
 */
static void bdat_chunk_done(struct smtp_session *s)
{
	s->state = ST_COMMAND;
	if (s->bdat_error != NULL) {
		const char *err = s->bdat_error;
		s->bdat_error = NULL;
		if (s->bdat_error_is_client) {
			smtp_session_error(s, "%s", err);
		} else {
			txn_reset(s);
			smtp_session_output(s, "%s", err);
		}
		return;
	}
	if (s->bdat_last || s->refused != REFUSE_NONE) {
		message_end(s);
		return;
	}
	smtp_session_output(s, "250 2.0.0 %" PRIu64 " octets received", s->bdat_size);
}

/* cmd_bdat starts reading one chunk: to the message when the transaction
 * allows it, else only skipped and answered with an error at its end. */
static enum consume cmd_bdat(struct smtp_session *s, const struct smtp_command *cmd)
{
	s->bdat_left = cmd->chunk_size;
	s->bdat_size = cmd->chunk_size;
	s->bdat_last = cmd->last;
	s->bdat_error = NULL;
	s->bdat_error_is_client = true;
	if (s->txn_pool == NULL) {
		s->bdat_error = "503 5.5.1 Error: need MAIL command";
	} else if (s->txn.rcpt_count == 0) {
		s->bdat_error = "503 5.5.1 Error: no valid recipients";
	} else if (!s->message_begun) {
		if (s->cb.data_begin(s->ctx, &s->txn) < 0) {
			s->bdat_error = "451 4.3.0 Error: queue not available, try again later";
			s->bdat_error_is_client = false;
		} else {
			message_begin(s);
			s->used_bdat = true;
		}
	}
	/* Whatever the answer, the chunk's octets are read so that the
	 * next command is found where the client put it (RFC 3030 2). */
	s->state = ST_BDAT;
	if (s->bdat_left == 0)
		bdat_chunk_done(s);
	return CONSUME_LINE;
}

/* cmd_starttls answers 220, drops all pending input and calls starttls;
 * nothing more is read until smtp_session_tls_started. */
static enum consume cmd_starttls(struct smtp_session *s, struct buf *in)
{
	if (s->set.tls_active) {
		smtp_session_error(s, "503 5.5.1 Error: TLS already active");
		return CONSUME_LINE;
	}
	if (!s->set.tls_offered) {
		smtp_session_error(s, "502 5.5.1 Error: command not implemented");
		return CONSUME_LINE;
	}
	if (abort_if_begun(s))
		return CONSUME_NONE;
	txn_reset(s);
	forget_helo(s);
	smtp_session_auth_forget(s);
	smtp_session_output(s, "220 2.0.0 Ready to start TLS");
	/* RFC 3207 / CVE-2011-0411: whatever followed STARTTLS in the same
	 * read was sent in clear and must not be taken as commands under
	 * TLS.  Drop it before the callback, which may finish the handshake
	 * before it returns. */
	buf_consume(in, in->len);
	s->wait = WAIT_TLS;
	s->cb.starttls(s->ctx);
	return CONSUME_DONE;
}

/* handle_line parses and executes one command line (without line end). */
static enum consume handle_line(struct smtp_session *s, struct buf *in, struct str line)
{
	struct smtp_command cmd;
	const char *error = NULL;

	if (s->auth_step != AUTH_NONE) {
		smtp_session_auth_line(s, line);
		return CONSUME_LINE;
	}
	if (smtp_parse_command(line, &cmd, &error) < 0) {
		smtp_session_error(s, "%s", error);
		return CONSUME_LINE;
	}
	switch (cmd.verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		return cmd_helo(s, &cmd);
	case SMTP_VERB_MAIL:
		return cmd_mail(s, &cmd);
	case SMTP_VERB_RCPT:
		return cmd_rcpt(s, &cmd);
	case SMTP_VERB_DATA:
		return cmd_data(s);
	case SMTP_VERB_BDAT:
		return cmd_bdat(s, &cmd);
	case SMTP_VERB_RSET:
		if (abort_if_begun(s))
			return CONSUME_NONE;
		txn_reset(s);
		smtp_session_output(s, "250 2.0.0 Ok");
		return CONSUME_LINE;
	case SMTP_VERB_NOOP:
		smtp_session_output(s, "250 2.0.0 Ok");
		return CONSUME_LINE;
	case SMTP_VERB_QUIT:
		if (abort_if_begun(s))
			return CONSUME_NONE;
		txn_reset(s);
		smtp_session_output(s, "221 2.0.0 Bye");
		session_close(s);
		return CONSUME_LINE;
	case SMTP_VERB_VRFY:
		smtp_session_output(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
		return CONSUME_LINE;
	case SMTP_VERB_EXPN:
		smtp_session_error(s, "502 5.5.1 Error: EXPN not available");
		return CONSUME_LINE;
	case SMTP_VERB_HELP:
		smtp_session_output(s, "214 2.0.0 Ravelin ESMTP, see RFC 5321");
		return CONSUME_LINE;
	case SMTP_VERB_STARTTLS:
		return cmd_starttls(s, in);
	case SMTP_VERB_AUTH:
		if (!s->set.submission)
			break;
		smtp_session_auth_command(s, &cmd);
		return CONSUME_LINE;
	case SMTP_VERB_UNKNOWN:
		break;
	}
	smtp_session_error(s, "500 5.5.2 Error: command not recognized");
	return CONSUME_LINE;
}

/*
 * step_command handles the next complete command line in in.  Returns
 * false when in holds no complete line yet.  A line is at most
 * SMTP_MAX_LINE octets including CRLF (or a bare LF, accepted leniently).
 */
static bool step_command(struct smtp_session *s, struct buf *in)
{
	size_t scan = in->len < SMTP_MAX_LINE ? in->len : SMTP_MAX_LINE;
	const char *lf = memchr(in->data, '\n', scan);

	if (lf == NULL) {
		if (in->len < SMTP_MAX_LINE)
			return false;
		/* The line's bytes are dropped up to its LF as they come
		 * (step_discard), never collected. */
		smtp_session_error(s, "500 5.5.2 Line too long");
		if (s->state != ST_CLOSED)
			s->state = ST_DISCARD_LINE;
		return true;
	}
	size_t total = (size_t)(lf - in->data) + 1;
	struct str line = str_from(in->data, total - 1);
	if (line.len > 0 && line.ptr[line.len - 1] == '\r')
		line.len--;
	switch (handle_line(s, in, line)) {
	case CONSUME_LINE:
		buf_consume(in, total);
		break;
	case CONSUME_NONE:
	case CONSUME_DONE:
		break;
	}
	return true;
}

/* step_discard drops the rest of an overlong line, up to its LF. */
static void step_discard(struct smtp_session *s, struct buf *in)
{
	const char *lf = memchr(in->data, '\n', in->len);
	if (lf == NULL) {
		buf_consume(in, in->len);
		return;
	}
	buf_consume(in, (size_t)(lf - in->data) + 1);
	s->state = ST_COMMAND;
}

/*
 * step_data runs the DATA machine over all of in.  Dot stuffing is removed
 * only at a line start after a real CRLF (RFC 5321 4.5.2: a leading "." is
 * deleted); bare CR and bare LF become CRLF but do not start a line for
 * unstuffing or for the end, so "\n.\n", "\r.\r", "\n.\r\n" and
 * "\r\n.\n" are message content, never the end (SMTP smuggling).
 */
static void step_data(struct smtp_session *s, struct buf *in)
{
	const char *p = in->data;
	const size_t n = in->len;
	size_t i = 0;

	while (i < n) {
		char c;
		switch (s->dstate) {
		case DS_MID: {
			size_t j = i;
			while (j < n && p[j] != '\r' && p[j] != '\n')
				j++;
			content_put(s, p + i, j - i);
			i = j;
			if (i < n) {
				if (p[i] == '\r')
					s->dstate = DS_CR;
				else
					content_put(s, crlf, 2);
				i++;
			}
			break;
		}
		case DS_LINE_START:
			c = p[i++];
			if (c == '.') {
				s->dstate = DS_DOT;
			} else if (c == '\r') {
				s->dstate = DS_CR;
			} else {
				content_put(s, c == '\n' ? crlf : &c, c == '\n' ? 2 : 1);
				s->dstate = DS_MID;
			}
			break;
		case DS_DOT:
			/* The leading dot is deleted whatever follows. */
			c = p[i++];
			if (c == '\r') {
				s->dstate = DS_DOT_CR;
			} else {
				content_put(s, c == '\n' ? crlf : &c, c == '\n' ? 2 : 1);
				s->dstate = DS_MID;
			}
			break;
		case DS_DOT_CR:
			c = p[i++];
			if (c == '\n') {
				buf_consume(in, i);
				message_end(s);
				return;
			}
			/* A bare CR after the leading dot. */
			content_put(s, crlf, 2);
			if (c == '\r') {
				s->dstate = DS_CR;
			} else {
				content_put(s, &c, 1);
				s->dstate = DS_MID;
			}
			break;
		case DS_CR:
			c = p[i++];
			content_put(s, crlf, 2);
			if (c == '\n') {
				s->dstate = DS_LINE_START;
			} else if (c == '\r') {
				s->dstate = DS_CR;
			} else {
				content_put(s, &c, 1);
				s->dstate = DS_MID;
			}
			break;
		}
	}
	buf_consume(in, n);
}

/* step_bdat passes up to the rest of the current chunk on unchanged. */
static void step_bdat(struct smtp_session *s, struct buf *in)
{
	size_t take = s->bdat_left < in->len ? (size_t)s->bdat_left : in->len;
	if (s->bdat_error == NULL)
		content_put(s, in->data, take);
	buf_consume(in, take);
	s->bdat_left -= take;
	if (s->bdat_left == 0)
		bdat_chunk_done(s);
}

struct smtp_session *smtp_session_new(const struct smtp_settings *settings,
				      const struct smtp_callbacks *callbacks, void *ctx,
				      const char *remote_ip, const char *session_id)
{
	struct smtp_session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->set = *settings;
	if (s->set.hostname == NULL)
		s->set.hostname = "localhost";
	if (s->set.max_recipients == 0)
		s->set.max_recipients = SMTP_DEFAULT_MAX_RECIPIENTS;
	if (s->set.max_message_size == 0)
		s->set.max_message_size = SMTP_DEFAULT_MAX_MESSAGE_SIZE;
	s->cb = *callbacks;
	s->ctx = ctx;
	copy_bounded(s->remote_ip, sizeof(s->remote_ip), remote_ip);
	copy_bounded(s->session_id, sizeof(s->session_id), session_id);
	buf_init(&s->chunk, SMTP_DATA_CHUNK);
	s->state = ST_COMMAND;
	return s;
}

void smtp_session_free(struct smtp_session **session)
{
	struct smtp_session *s = *session;
	if (s == NULL)
		return;
	s->message_begun = false;
	txn_reset(s);
	smtp_session_auth_forget(s);
	free(s);
	*session = NULL;
}

void smtp_session_start(struct smtp_session *s)
{
	smtp_session_output(s, "220 %s ESMTP Ravelin", s->set.hostname);
}

void smtp_session_input(struct smtp_session *s, struct buf *in)
{
	while (s->state != ST_CLOSED && in->len > 0) {
		if (s->wait == WAIT_TLS) {
			/* Clear text that arrived before the handshake. */
			buf_consume(in, in->len);
			break;
		}
		if (s->wait != WAIT_NONE)
			break;
		switch (s->state) {
		case ST_COMMAND:
			if (!step_command(s, in))
				return;
			break;
		case ST_DISCARD_LINE:
			step_discard(s, in);
			break;
		case ST_DATA:
			step_data(s, in);
			break;
		case ST_BDAT:
			step_bdat(s, in);
			break;
		case ST_CLOSED:
			return;
		}
	}
}

void smtp_session_rcpt_result(struct smtp_session *s, enum smtp_rcpt_status status,
			      const uint64_t *accounts, size_t account_count)
{
	if (s->wait != WAIT_RCPT)
		return;
	s->wait = WAIT_NONE;
	struct str addr = s->pending_rcpt;
	s->pending_rcpt = STR_NULL;
	if (s->state == ST_CLOSED)
		return;

	static const char *const why[] = {
		[SMTP_RCPT_UNKNOWN] = "no such user here",
		[SMTP_RCPT_TEMPFAIL] = "the look-up failed for now",
		[SMTP_RCPT_RELAY_DENIED] = "not one of our domains (relay)",
		[SMTP_RCPT_LOOP] = "its aliases loop",
		[SMTP_RCPT_OVER_QUOTA] = "the declared size is over its quota",
	};
	if (status != SMTP_RCPT_OK && (size_t)status < sizeof(why) / sizeof(why[0]) &&
	    why[status] != NULL)
		log_info("%s: recipient <%.*s> refused: %s", s->remote_ip,
			 (int)(addr.len > SMTP_MAX_PATH ? SMTP_MAX_PATH : addr.len), addr.ptr,
			 why[status]);
	switch (status) {
	case SMTP_RCPT_OK:
		break;
	case SMTP_RCPT_UNKNOWN:
		smtp_session_error(s, "550 5.1.1 <%.*s>: Recipient address rejected: User unknown",
			    (int)addr.len, addr.ptr);
		return;
	case SMTP_RCPT_RELAY_DENIED:
		/* Not our domain: only a client that logged in may relay, and
		 * none can before submission exists. */
		smtp_session_error(s, "554 5.7.1 <%.*s>: Relay access denied", (int)addr.len, addr.ptr);
		return;
	case SMTP_RCPT_LOOP:
		/* Permanent: retrying would meet the same aliases. */
		smtp_session_error(s, "550 5.4.6 <%.*s>: Recipient address rejected: aliases loop",
			    (int)addr.len, addr.ptr);
		return;
	case SMTP_RCPT_OVER_QUOTA:
		/* Temporary (RFC 1870 6.1): room may be made in the mailbox. */
		smtp_session_output(s, "452 4.2.2 <%.*s>: Mailbox full", (int)addr.len, addr.ptr);
		return;
	case SMTP_RCPT_TEMPFAIL:
	default:
		smtp_session_output(s, "451 4.3.0 <%.*s>: Temporary lookup failure", (int)addr.len,
			    addr.ptr);
		return;
	}

	if (s->txn.rcpt_count == s->rcpt_cap) {
		size_t cap = s->rcpt_cap == 0 ? 8 : s->rcpt_cap * 2;
		if (cap > s->set.max_recipients)
			cap = s->set.max_recipients;
		struct smtp_rcpt *grown = cap > SIZE_MAX / sizeof(*grown) ? NULL :
			pool_alloc(s->txn_pool, cap * sizeof(*grown));
		if (grown == NULL) {
			smtp_session_output(s, "452 4.5.3 Error: too many recipients");
			return;
		}
		if (s->txn.rcpt_count > 0)
			memcpy(grown, s->rcpts, s->txn.rcpt_count * sizeof(*grown));
		s->rcpts = grown;
		s->rcpt_cap = cap;
		s->txn.rcpts = grown;
	}
	uint64_t *ids = NULL;
	if (account_count > 0) {
		ids = account_count > SIZE_MAX / sizeof(*ids) ? NULL :
			pool_alloc(s->txn_pool, account_count * sizeof(*ids));
		if (ids == NULL) {
			smtp_session_output(s, "452 4.5.3 Error: too many recipients");
			return;
		}
		memcpy(ids, accounts, account_count * sizeof(*ids));
	}
	struct smtp_rcpt *r = &s->rcpts[s->txn.rcpt_count++];
	r->address = addr;
	r->accounts = ids;
	r->account_count = ids == NULL ? 0 : account_count;
	smtp_session_output(s, "250 2.1.5 Ok");
}

/* queue_id_ok: only printable ASCII without spaces is echoed. */
static bool queue_id_ok(const char *id)
{
	if (id == NULL || id[0] == '\0')
		return false;
	for (const char *p = id; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return false;
	return true;
}

void smtp_session_data_result(struct smtp_session *s, bool ok, const char *queue_id)
{
	if (s->wait != WAIT_DATA && s->wait != WAIT_ABORT)
		return;
	enum session_wait was = s->wait;
	s->wait = WAIT_NONE;
	enum refusal refused = s->refused;
	uint64_t size = s->message_size;
	size_t rcpts = s->txn.rcpt_count;
	txn_reset(s);
	if (was == WAIT_ABORT)
		return;
	if (refused == REFUSE_SIZE) {
		log_info("%s: message refused: %" PRIu64 " bytes or more, over the %" PRIu64
			 "-byte limit (smtp.max_message_size)",
			 s->remote_ip, size, (uint64_t)s->set.max_message_size);
		smtp_session_output(s, "552 5.3.4 Message size exceeds fixed maximum message size");
	}
	else if (refused == REFUSE_HEADER)
		smtp_session_output(s, "552 5.3.4 Message header size exceeds limit");
	else if (refused == REFUSE_FROM)
		smtp_session_output(s, "553 5.7.1 Sender address rejected: From: header not owned by user");
	else if (refused != REFUSE_NONE || !ok)
		smtp_session_output(s, "451 4.3.0 Error: message not accepted, try again later");
	else if (queue_id_ok(queue_id))
		smtp_session_output(s, "250 2.0.0 Ok: queued as %.*s", SMTP_MAX_QUEUE_ID, queue_id);
	else
		smtp_session_output(s, "250 2.0.0 Ok: queued");
	if (refused == REFUSE_NONE && ok)
		log_info("%s: message %.*s accepted: %" PRIu64 " bytes, %zu recipients, %s",
			 s->remote_ip, SMTP_MAX_QUEUE_ID, queue_id_ok(queue_id) ? queue_id : "",
			 size, rcpts, s->set.tls_active ? "TLS" : "no TLS");
	else if (refused != REFUSE_SIZE && refused != REFUSE_HEADER && refused != REFUSE_FROM)
		log_info("%s: message not accepted: %s", s->remote_ip,
			 refused != REFUSE_NONE ? "it could not be passed to the queue"
						: "the queue did not take it");
}

void smtp_session_data_refused(struct smtp_session *s, const char *reply)
{
	if (s->wait != WAIT_DATA || s->refused != REFUSE_NONE) {
		smtp_session_data_result(s, false, NULL);
		return;
	}
	s->wait = WAIT_NONE;
	txn_reset(s);
	smtp_session_output(s, "%.*s", SMTP_MAX_LINE, reply);
	log_info("%s: message refused: %s", s->remote_ip, reply);
}

void smtp_session_data_over_quota(struct smtp_session *s)
{
	if (s->wait != WAIT_DATA || s->refused != REFUSE_NONE) {
		smtp_session_data_result(s, false, NULL);
		return;
	}
	s->wait = WAIT_NONE;
	uint64_t size = s->message_size;
	txn_reset(s);
	log_info("%s: message refused: %" PRIu64 " bytes do not fit any recipient's quota",
		 s->remote_ip, size);
	smtp_session_output(s, "552 5.2.2 Mailbox full");
}

uint64_t smtp_session_declared_size(const struct smtp_session *s)
{
	return s->txn_pool != NULL ? s->txn.declared_size : 0;
}

void smtp_session_tls_started(struct smtp_session *s)
{
	if (s->wait != WAIT_TLS)
		return;
	s->wait = WAIT_NONE;
	s->set.tls_active = true;
	forget_helo(s);
	txn_reset(s);
}

void smtp_session_timeout(struct smtp_session *s)
{
	if (s->state == ST_CLOSED)
		return;
	smtp_session_output(s, "421 4.4.2 %s Error: timeout exceeded", s->set.hostname);
	session_close(s);
}

bool smtp_session_waiting(const struct smtp_session *s)
{
	return s->wait != WAIT_NONE;
}
