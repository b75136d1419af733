/*
 * front-smtp: joins a connection to the SMTP dialogue (src/smtp) and to
 * the two processes it needs: auth for recipients, queue for the message.
 * The dialogue itself has no I/O; this file turns its callbacks into
 * typed messages and the answers back into calls.
 *
 * Submission (ports 587 and 465) is the same dialogue in submission mode:
 * the login goes to auth as IPC_SUBMIT_LOGIN (front-login.c, with its
 * growing delay) and stays here; auth then lists, sealed, the addresses
 * the account may send as (IPC_SUBMIT_SENDERS), which MAIL FROM and From:
 * are checked against and which the queue checks again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "front.h"
#include "front-checks.h"
#include "spawner.h"
#include "lib/log.h"
#include "lib/ticket.h"
#include "smtp/smtp-session.h"

/* auth's seal on one recipient's answer (lib/ticket.h), kept until the
 * transaction it was made for begins at the queue, which checks it. */
struct smtp_seal {
	char address[IPC_MAX_PATH];
	size_t address_len;
	uint64_t expires;
	unsigned char mac[TICKET_RCPT_MAC_SIZE];
	/* A remote address the recipient via is forwarded to (auth's
	 * forwards); via_len 0: the recipient's own seal. */
	char via[IPC_MAX_PATH];
	size_t via_len;
};

/* The seals one transaction keeps: one per recipient (smtp.max_recipients)
 * and this many more for the remote targets of the aliases among them, two
 * aliases' worth of IPC_RCPT_MAX_FORWARDS (each needs its own seal); a
 * recipient whose forwards no longer fit is answered 451 (try later). */
#define SMTP_MAX_FORWARD_SEALS (2 * IPC_RCPT_MAX_FORWARDS)

/* An address a logged-in account may send as, with auth's seal on it. */
struct smtp_sender {
	char address[IPC_MAX_ADDRESS];
	size_t address_len;
	unsigned char mac[TICKET_RCPT_MAC_SIZE];
};

/* The connection's SMTP state (the protocol's one pointer in conn). */
struct smtp_conn {
	struct smtp_session *session;
	/* Submission, after the login: the account and its senders (auth's). */
	uint64_t account;
	uint64_t senders_expires;
	struct smtp_sender *senders;
	size_t sender_count;
	/* Transactions begun at the queue: the queue counts them too, and a
	 * seal holds only for the one it was asked for. */
	uint64_t txn;
	/* The address asked of auth, until its answer comes. */
	char asked[IPC_MAX_PATH];
	size_t asked_len;
	/* Seals for the transaction being built, one per address. */
	struct smtp_seal *seals;
	size_t seal_count, seal_cap;
	/* A recipient auth accepted, while the queue is asked whether the
	 * declared SIZE fits its quota (IPC_QUEUE_QUOTA): its accounts. */
	bool asking_quota;
	uint64_t *quota_ids;
	size_t quota_id_count;
	/* SMTP in: SPF, DKIM and DMARC of each message (front-checks.h);
	 * pass holds what goes on to the queue, the header block once whole. */
	struct front_checks *checks;
	struct buf pass;
	bool checks_refused;      /* the checks refused it: their reply, not 451 */
};

static struct smtp_conn *smtp_conn_of(const struct conn *c)
{
	return c->state;
}

static struct smtp_session *smtp_of(const struct conn *c)
{
	return c->state != NULL ? smtp_conn_of(c)->session : NULL;
}

static void smtp_free_state(struct conn *c)
{
	struct smtp_conn *sc = c->state;
	if (sc == NULL)
		return;
	smtp_session_free(&sc->session);
	front_checks_free(&sc->checks);
	buf_free(&sc->pass);
	free(sc->senders);
	free(sc->seals);
	free(sc->quota_ids);
	free(sc);
	c->state = NULL;
}

/* seal_find finds the seal on address, its own (via empty) or as a
 * forward of via. */
static struct smtp_seal *seal_find_via(struct smtp_conn *sc, struct str address, struct str via)
{
	for (size_t i = 0; i < sc->seal_count; i++)
		if (str_eq(str_from(sc->seals[i].address, sc->seals[i].address_len), address) &&
		    str_eq(str_from(sc->seals[i].via, sc->seals[i].via_len), via))
			return &sc->seals[i];
	return NULL;
}

static struct smtp_seal *seal_find(struct smtp_conn *sc, struct str address)
{
	return seal_find_via(sc, address, STR(""));
}

/* seal_keep records auth's seal on address (the address last asked, or a
 * forward of it); at most smtp.max_recipients of them (the session takes
 * no more recipients) and SMTP_MAX_FORWARD_SEALS more.  false: not kept. */
static bool seal_keep(struct conn *c, struct str address, bool forward, uint64_t expires,
		      struct str mac)
{
	struct smtp_conn *sc = smtp_conn_of(c);
	struct str via = forward ? str_from(sc->asked, sc->asked_len) : STR("");
	struct smtp_seal *seal = seal_find_via(sc, address, via);

	if (mac.len != TICKET_RCPT_MAC_SIZE || address.len > IPC_MAX_PATH)
		return false;
	size_t limit = c->front->config.smtp_max_recipients + SMTP_MAX_FORWARD_SEALS;
	if (seal == NULL && sc->seal_count >= limit)
		return false;
	if (seal == NULL && sc->seal_count == sc->seal_cap) {
		size_t cap = sc->seal_cap ? sc->seal_cap * 2 : 4;
		if (cap > limit)
			cap = limit;
		void *p = realloc(sc->seals, cap * sizeof(*sc->seals));
		if (p == NULL)
			return false;
		sc->seals = p;
		sc->seal_cap = cap;
	}
	if (seal == NULL) {
		seal = &sc->seals[sc->seal_count++];
		memcpy(seal->address, address.ptr, address.len);
		seal->address_len = address.len;
		memcpy(seal->via, via.ptr, via.len);
		seal->via_len = via.len;
	}
	seal->expires = expires;
	memcpy(seal->mac, mac.ptr, TICKET_RCPT_MAC_SIZE);
	return true;
}

/* rcpt_send sends the queue one recipient with its accounts and seal. */
static int rcpt_send(struct front *f, struct conn *c, struct buf *b, struct str address,
		     const uint64_t *accounts, size_t count, const struct smtp_seal *seal)
{
	buf_reset(b);
	ipc_put_str(b, address);
	ipc_put_u64(b, count);
	for (size_t j = 0; j < count; j++)
		ipc_put_u64(b, accounts[j]);
	ipc_put_u64(b, seal->expires);
	ipc_put_str(b, str_from((const char *)seal->mac, sizeof(seal->mac)));
	return ipc_send_buf(f->queue, IPC_QUEUE_RCPT, c->id, b, -1);
}

/* forwards_send sends the queue the remote addresses auth forwards the
 * recipient via to, each under its own seal; the number sent, or -1. */
static int forwards_send(struct front *f, struct conn *c, struct buf *b, struct str via)
{
	struct smtp_conn *sc = smtp_conn_of(c);
	int n = 0;
	for (size_t i = 0; i < sc->seal_count; i++) {
		const struct smtp_seal *seal = &sc->seals[i];
		if (!str_eq(str_from(seal->via, seal->via_len), via) || seal->via_len == 0)
			continue;
		if (rcpt_send(f, c, b, str_from(seal->address, seal->address_len), NULL, 0, seal) < 0)
			return -1;
		n++;
	}
	return n;
}

/* Paths from the SMTP parser fit the queue's and auth's messages. */
_Static_assert(SMTP_MAX_PATH <= IPC_MAX_PATH, "an SMTP path fits IPC_RCPT_LOOKUP");

static void cb_rcpt_lookup(void *ctx, struct str address)
{
	struct conn *c = ctx;
	struct front *f = c->front;
	struct buf b;

	struct smtp_conn *sc = smtp_conn_of(c);

	buf_init(&b, IPC_STR_SIZE(IPC_MAX_PATH) + IPC_U64_SIZE);
	if (address.len > IPC_MAX_PATH) {
		c->deferred_rcpt = SMTP_RCPT_UNKNOWN;
	} else if (f->auth == NULL || ipc_put_str(&b, address) < 0 ||
		   ipc_put_u64(&b, sc->txn) < 0 ||
		   ipc_send_buf(f->auth, IPC_RCPT_LOOKUP, c->id, &b, -1) < 0) {
		c->deferred_rcpt = SMTP_RCPT_TEMPFAIL;
	} else {
		memcpy(sc->asked, address.ptr, address.len);
		sc->asked_len = address.len;
		c->waiting_auth = true;
	}
	buf_free(&b);
}

/* sender_find: the sender auth listed for address, NULL if none. */
static const struct smtp_sender *sender_find(const struct smtp_conn *sc, struct str address)
{
	for (size_t i = 0; i < sc->sender_count; i++)
		if (str_case_eq(str_from(sc->senders[i].address, sc->senders[i].address_len),
				address))
			return &sc->senders[i];
	return NULL;
}

static bool cb_sender_allowed(void *ctx, struct str address)
{
	struct conn *c = ctx;
	return sender_find(smtp_conn_of(c), address) != NULL;
}

static void cb_auth(void *ctx, struct str user, struct str password)
{
	front_login_send(ctx, user, password);
}

static int cb_data_begin(void *ctx, const struct smtp_transaction *t)
{
	struct conn *c = ctx;
	struct front *f = c->front;
	struct buf b;
	int r = 0;

	struct smtp_conn *sc = smtp_conn_of(c);
	/* A logged-in sender goes as auth spelt it, with auth's seal. */
	const struct smtp_sender *sender = sc->account != 0 ? sender_find(sc, t->mail_from) : NULL;

	if (f->queue == NULL || t->mail_from.len > IPC_MAX_PATH ||
	    (sc->account != 0 && sender == NULL))
		return -1;
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_str(&b, sender != NULL ? str_from(sender->address, sender->address_len)
				       : t->mail_from);
	ipc_put_u64(&b, (t->body_8bitmime ? IPC_QUEUE_8BITMIME : 0u) |
				(t->smtputf8 ? IPC_QUEUE_SMTPUTF8 : 0u));
	ipc_put_u64(&b, sender != NULL ? sc->account : 0);
	ipc_put_u64(&b, sender != NULL ? sc->senders_expires : 0);
	ipc_put_str(&b, sender != NULL ? str_from((const char *)sender->mac, sizeof(sender->mac))
				       : STR(""));
	ipc_put_str(&b, str_c(c->ip));
	ipc_put_str(&b, str_sub(t->helo, 0, IPC_SPAM_MAX_HELO));
	if (ipc_send_buf(f->queue, IPC_QUEUE_BEGIN, c->id, &b, -1) < 0)
		r = -1;
	else
		sc->txn++;
	for (size_t i = 0; r == 0 && i < t->rcpt_count; i++) {
		const struct smtp_rcpt *rc = &t->rcpts[i];
		const struct smtp_seal *seal = seal_find(sc, rc->address);
		/* An alias whose targets are all elsewhere has no seal of its
		 * own, only its forwards'. */
		int forwards = rc->address.len > IPC_MAX_PATH ? -1
							       : forwards_send(f, c, &b, rc->address);
		if (forwards < 0 || rc->account_count > IPC_RCPT_MAX_ACCOUNTS ||
		    (seal == NULL && (forwards == 0 || rc->account_count > 0))) {
			log_error("no seal from auth kept for <%.*s>: message not accepted",
				  (int)rc->address.len, rc->address.ptr);
			r = -1;
			break;
		}
		if (seal != NULL &&
		    rcpt_send(f, c, &b, rc->address, rc->accounts, rc->account_count, seal) < 0)
			r = -1;
	}
	/* Seals hold for the transaction just begun only. */
	sc->seal_count = 0;
	buf_free(&b);
	if (r == 0) {
		c->in_txn = true;
		c->txn_ended = false;
		sc->checks_refused = false;
		/* SPF runs while the message comes in. */
		if (sc->checks != NULL)
			front_checks_mail(sc->checks, c->ip, t->helo, t->mail_from);
	}
	return r;
}

/* queue_send passes message bytes on to the queue. */
static int queue_send(struct conn *c, const char *data, size_t len)
{
	struct front *f = c->front;
	while (len > 0) {
		size_t n = len > IPC_MAX_PAYLOAD ? IPC_MAX_PAYLOAD : len;
		if (ipc_send(f->queue, IPC_QUEUE_DATA, c->id, data, n, -1) < 0)
			return -1;
		data += n;
		len -= n;
	}
	return 0;
}

static int cb_data_chunk(void *ctx, const char *data, size_t len)
{
	struct conn *c = ctx;
	struct front *f = c->front;

	struct smtp_conn *sc = smtp_conn_of(c);

	if (f->queue == NULL || !c->in_txn)
		return -1;
	if (sc->checks != NULL) {
		/* The header block is held back until whole (our own
		 * Authentication-Results fields are dropped from it). */
		buf_reset(&sc->pass);
		if (front_checks_feed(sc->checks, data, len, &sc->pass) < 0 ||
		    queue_send(c, sc->pass.data, sc->pass.len) < 0)
			return -1;
	} else if (queue_send(c, data, len) < 0) {
		return -1;
	}
	if (ipc_queued(f->queue) > FRONT_QUEUE_BACKLOG)
		f->queue_congested = true;
	return 0;
}

/* queue_end ends the message at the queue: the verdict, and from the
 * checks a Junk mark and the header lines to put on top. */
static void queue_end(struct conn *c, bool ok, bool junk, struct str added)
{
	struct front *f = c->front;
	struct buf b;
	buf_init(&b, 2 * IPC_U64_SIZE + IPC_STR_SIZE(IPC_QUEUE_MAX_PREPEND));
	ipc_put_u64(&b, ok ? IPC_QUEUE_OK : IPC_QUEUE_FAILED);
	if (ok && (junk || added.len > 0)) {
		ipc_put_u64(&b, junk ? IPC_QUEUE_END_JUNK : 0);
		ipc_put_str(&b, added.len <= IPC_QUEUE_MAX_PREPEND ? added : STR(""));
	}
	if (f->queue == NULL || !c->in_txn || ipc_send_buf(f->queue, IPC_QUEUE_END, c->id, &b, -1) < 0) {
		c->in_txn = false;
		c->deferred_data = 0;
		buf_free(&b);
		return;
	}
	buf_free(&b);
	c->txn_ended = true;
}

/* checks_done: the checks' verdict on the message that ended. */
static void checks_done(void *ctx)
{
	struct conn *c = ctx;
	struct smtp_conn *sc = smtp_conn_of(c);
	enum front_checks_verdict v = front_checks_verdict(sc->checks);

	if (v == FRONT_CHECKS_REJECT) {
		/* The queue throws it away; its answer then gets ours. */
		sc->checks_refused = true;
		queue_end(c, false, false, STR(""));
	} else {
		queue_end(c, true, v == FRONT_CHECKS_JUNK, front_checks_header(sc->checks));
	}
	front_conn_resume(c);
}

static void cb_data_end(void *ctx, bool ok)
{
	struct conn *c = ctx;
	struct smtp_conn *sc = smtp_conn_of(c);

	if (!ok || sc->checks == NULL || c->front->queue == NULL || !c->in_txn) {
		queue_end(c, ok, false, STR(""));
		return;
	}
	buf_reset(&sc->pass);
	if (front_checks_feed_end(sc->checks, &sc->pass) < 0 ||
	    queue_send(c, sc->pass.data, sc->pass.len) < 0) {
		queue_end(c, false, false, STR(""));
		return;
	}
	/* DKIM (our verifier, fed while the message came), then DMARC. */
	if (front_checks_data(sc->checks, front_checks_headers(sc->checks), NULL, 0, checks_done,
			      c) == 1) {
		enum front_checks_verdict v = front_checks_verdict(sc->checks);
		if (v == FRONT_CHECKS_REJECT) {
			sc->checks_refused = true;
			queue_end(c, false, false, STR(""));
		} else {
			queue_end(c, true, v == FRONT_CHECKS_JUNK, front_checks_header(sc->checks));
		}
	}
}

static const struct smtp_callbacks callbacks = {
	.output = front_cb_output,
	.rcpt_lookup = cb_rcpt_lookup,
	.data_begin = cb_data_begin,
	.data_chunk = cb_data_chunk,
	.data_end = cb_data_end,
	.starttls = front_cb_starttls,
	.close = front_cb_close,
	.auth = cb_auth,
	.sender_allowed = cb_sender_allowed,
};

static int smtp_start(struct conn *c)
{
	struct front *f = c->front;
	struct smtp_settings set = {
		.hostname = f->config.hostname,
		.max_message_size = f->config.smtp_max_message_size,
		.max_recipients = (unsigned)f->config.smtp_max_recipients,
		/* Implicit TLS (port 465): the handshake came before the start. */
		.tls_offered = f->tls != NULL,
		.tls_active = c->stream.ssl != NULL,
		.submission = c->proto == &front_submission_protocol,
		.received_ip = f->config.submission_received_ip != 0,
	};
	char session_id[32];

	/* The spawner's number, then its count of pre-auth processes. */
	snprintf(session_id, sizeof(session_id), "%X.%llX",
		 (unsigned)(f->serial >> PREAUTH_SERIAL_SHIFT),
		 (unsigned long long)(f->serial & PREAUTH_SERIAL_COUNT));
	struct smtp_conn *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return -1;
	c->state = sc;
	sc->session = smtp_session_new(&set, &callbacks, c, c->ip, session_id);
	if (sc->session == NULL)
		return -1;
	/* SMTP in is checked (SPF, DKIM, DMARC); a logged-in submission is ours. */
	struct front_checks_config cc = front_checks_config_from(&f->config);
	if (!set.submission && (cc.spf || cc.dkim || cc.dmarc)) {
		struct front_checks_dns dns = front_checks_dns_client(f->resolver);
		sc->checks = front_checks_new(&cc, f->config.hostname, &dns);
		if (sc->checks == NULL)
			return -1;
		buf_init(&sc->pass, FRONT_CHECKS_MAX_HEADER + IPC_MAX_PAYLOAD);
	}
	smtp_session_start(smtp_of(c));
	return 0;
}

static void smtp_input(struct conn *c)
{
	/* Answers decided inside a callback are given here, outside it. */
	for (int i = 0; i < 1000 && !c->dead; i++) {
		smtp_session_input(smtp_of(c), &c->in);
		if (c->deferred_rcpt >= 0) {
			int st = c->deferred_rcpt;
			c->deferred_rcpt = -1;
			smtp_session_rcpt_result(smtp_of(c), (enum smtp_rcpt_status)st, NULL, 0);
			continue;
		}
		if (c->deferred_data >= 0) {
			c->deferred_data = -1;
			smtp_session_data_result(smtp_of(c), false, NULL);
			continue;
		}
		break;
	}
}

static void smtp_tls_started(struct conn *c)
{
	smtp_session_tls_started(smtp_of(c));
}

static void smtp_timeout(struct conn *c)
{
	smtp_session_timeout(smtp_of(c));
}

static bool smtp_waiting(struct conn *c)
{
	return smtp_of(c) != NULL && smtp_session_waiting(smtp_of(c));
}

static void smtp_closed(struct conn *c)
{
	struct front *f = c->front;
	/* A message cut off mid-way is thrown away by the queue. */
	if (c->in_txn && !c->txn_ended && f->queue != NULL) {
		uint64_t v = IPC_QUEUE_FAILED;
		/* If it cannot be sent, the link's end (this process exits with
		 * its one connection) throws the message away just the same. */
		if (ipc_send(f->queue, IPC_QUEUE_END, c->id, &v, sizeof(v), -1) < 0)
			log_warn("the queue takes nothing now: the cut-off message goes with the link");
	}
	smtp_free_state(c);
}

static uint64_t smtp_idle_timeout(const struct conn *c)
{
	return c->front->config.smtp_idle_timeout;
}

static uint64_t smtp_total_timeout(const struct conn *c)
{
	return c->front->config.smtp_session_timeout;
}

static void submission_login_result(struct conn *c, bool ok, bool temporary)
{
	smtp_session_auth_result(smtp_of(c), ok ? SMTP_AUTH_OK
					: temporary ? SMTP_AUTH_TEMPFAIL : SMTP_AUTH_REFUSED);
}

/* SMTP in and submission: one dialogue, so one set of glue. */
#define SMTP_PROTOCOL_GLUE                                                              \
	.start = smtp_start, .input = smtp_input, .tls_started = smtp_tls_started,     \
	.timeout = smtp_timeout, .closed = smtp_closed, .waiting = smtp_waiting,       \
	.idle_timeout = smtp_idle_timeout, .session_timeout = smtp_total_timeout,      \
	.busy_reply = "421 4.3.2 Too many connections, try again later\r\n",          \
	.per_ip_reply = "421 4.7.0 Too many connections from your address\r\n"

const struct front_protocol front_submission_protocol = {
	SMTP_PROTOCOL_GLUE,
	.login_result = submission_login_result,
	.login_only = true,
};

const struct front_protocol front_smtp_protocol = {
	SMTP_PROTOCOL_GLUE,
};

/*
 * quota_ask asks the queue whether a message of the SIZE the client
 * declared fits the quota of the recipient auth just accepted, sending
 * auth's seal with it (the queue answers only about accounts auth named).
 * Returns false when it was not asked (no SIZE, no queue, no memory): the
 * recipient is then answered at once, and the quota is checked after DATA.
 */
static bool quota_ask(struct conn *c, const uint64_t *ids, size_t n, uint64_t expires,
		      struct str mac)
{
	struct front *f = c->front;
	struct smtp_conn *sc = smtp_conn_of(c);
	uint64_t size = smtp_session_declared_size(sc->session);
	if (size == 0 || f->queue == NULL || n == 0)
		return false;
	free(sc->quota_ids);
	sc->quota_ids = malloc(n * sizeof(*ids));
	if (sc->quota_ids == NULL)
		return false;
	memcpy(sc->quota_ids, ids, n * sizeof(*ids));
	sc->quota_id_count = n;
	struct buf b;
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_u64(&b, size);
	ipc_put_str(&b, str_from(sc->asked, sc->asked_len));
	ipc_put_u64(&b, n);
	for (size_t i = 0; i < n; i++)
		ipc_put_u64(&b, ids[i]);
	ipc_put_u64(&b, expires);
	ipc_put_str(&b, mac);
	sc->asking_quota = ipc_send_buf(f->queue, IPC_QUEUE_QUOTA, c->id, &b, -1) == 0;
	buf_free(&b);
	return sc->asking_quota;
}

/* quota_answered gives the recipient asked about its answer: 452 4.2.2
 * when the queue says it is over its quota, else accepted. */
static void quota_answered(struct conn *c, bool over)
{
	struct smtp_conn *sc = smtp_conn_of(c);
	sc->asking_quota = false;
	if (over)
		smtp_session_rcpt_result(sc->session, SMTP_RCPT_OVER_QUOTA, NULL, 0);
	else
		smtp_session_rcpt_result(sc->session, SMTP_RCPT_OK, sc->quota_ids,
					 sc->quota_id_count);
	free(sc->quota_ids);
	sc->quota_ids = NULL;
	sc->quota_id_count = 0;
	front_conn_resume(c);
}

void front_smtp_auth_message(struct front *f, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	uint64_t ids[IPC_RCPT_MAX_ACCOUNTS];
	struct conn *c = front_conn_find(f, msg->id);

	if (c == NULL || !c->waiting_auth || smtp_of(c) == NULL)
		return;
	ipc_reader_init(&r, msg);
	uint64_t status = ipc_get_u64(&r);
	uint64_t n = ipc_get_u64(&r);
	if (n > IPC_RCPT_MAX_ACCOUNTS)
		r.bad = true;
	for (uint64_t i = 0; i < n && !r.bad; i++)
		ids[i] = ipc_get_u64(&r);
	uint64_t expires = ipc_get_u64(&r);
	struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
	uint64_t forwards = ipc_get_u64(&r);
	if (forwards > IPC_RCPT_MAX_FORWARDS)
		r.bad = true;
	c->waiting_auth = false;
	enum smtp_rcpt_status st = SMTP_RCPT_TEMPFAIL;
	/* No accounts: a remote recipient, which auth seals only for a
	 * logged-in submission client; or an alias forwarded elsewhere
	 * (auth's forwards, each sealed). */
	bool kept = true;
	for (uint64_t i = 0; i < forwards && !r.bad; i++) {
		struct str to = ipc_get_str(&r, IPC_MAX_PATH);
		struct str to_mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
		if (!r.bad)
			kept &= seal_keep(c, to, true, expires, to_mac);
	}
	if (ipc_reader_ok(&r) && status == IPC_RCPT_OK && kept &&
	    (mac.len == TICKET_RCPT_MAC_SIZE || (forwards > 0 && n == 0))) {
		st = SMTP_RCPT_OK;
		struct smtp_conn *sc = smtp_conn_of(c);
		if (mac.len > 0 &&
		    !seal_keep(c, str_from(sc->asked, sc->asked_len), false, expires, mac))
			st = SMTP_RCPT_TEMPFAIL;
	} else if (ipc_reader_ok(&r) && status == IPC_RCPT_UNKNOWN)
		st = SMTP_RCPT_UNKNOWN;
	else if (ipc_reader_ok(&r) && status == IPC_RCPT_NOT_LOCAL)
		st = SMTP_RCPT_RELAY_DENIED;
	else if (ipc_reader_ok(&r) && status == IPC_RCPT_LOOP)
		st = SMTP_RCPT_LOOP;
	if (st == SMTP_RCPT_OK && quota_ask(c, ids, (size_t)n, expires, mac))
		return;
	smtp_session_rcpt_result(smtp_of(c), st, st == SMTP_RCPT_OK ? ids : NULL,
				 st == SMTP_RCPT_OK ? (size_t)n : 0);
	front_conn_resume(c);
}

/* spam_refused answers DATA with the spam filter's refusal: 550 5.7.1 or
 * 451 4.7.1 and its text, kept to one line of printable ASCII. */
static void spam_refused(struct conn *c, bool permanent, const char *text)
{
	char line[IPC_QUEUE_MAX_REPLY + 16];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s ", permanent ? "550 5.7.1" : "451 4.7.1");
	for (; *text != '\0' && n + 1 < sizeof(line); text++)
		line[n++] = *text >= 32 && *text <= 126 ? *text : ' ';
	line[n] = '\0';
	smtp_session_data_refused(smtp_of(c), line);
}

void front_smtp_queue_message(struct front *f, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	char qid[IPC_QUEUE_MAX_REPLY + 1];
	struct conn *c = front_conn_find(f, msg->id);

	if (c != NULL && smtp_of(c) != NULL && smtp_conn_of(c)->asking_quota) {
		/* The answer to IPC_QUEUE_QUOTA (asked at RCPT, before any
		 * transaction begins at the queue). */
		ipc_reader_init(&r, msg);
		uint64_t status = ipc_get_u64(&r);
		(void)ipc_get_str(&r, IPC_QUEUE_MAX_ID);
		quota_answered(c, ipc_reader_ok(&r) && status == IPC_QUEUE_OVER_QUOTA);
		return;
	}
	if (c == NULL || !c->in_txn)
		return;
	ipc_reader_init(&r, msg);
	uint64_t ok = ipc_get_u64(&r);
	struct str id = ipc_get_str(&r, IPC_QUEUE_MAX_REPLY);
	snprintf(qid, sizeof(qid), "%.*s", (int)id.len, id.ptr ? id.ptr : "");
	c->in_txn = false;
	c->txn_ended = false;
	if (ipc_reader_ok(&r) && ok == IPC_QUEUE_OVER_QUOTA)
		smtp_session_data_over_quota(smtp_of(c));
	else if (smtp_conn_of(c)->checks_refused)
		smtp_session_data_refused(smtp_of(c), front_checks_reply(smtp_conn_of(c)->checks));
	else if (ipc_reader_ok(&r) &&
		 (ok == IPC_QUEUE_SPAM_REJECTED || ok == IPC_QUEUE_SPAM_DEFERRED))
		spam_refused(c, ok == IPC_QUEUE_SPAM_REJECTED, qid);
	else
		smtp_session_data_result(smtp_of(c), ipc_reader_ok(&r) && ok == IPC_QUEUE_OK, qid);
	front_conn_resume(c);
}

void front_smtp_auth_lost(struct front *f)
{
	for (struct conn *c = f->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (!c->waiting_auth || smtp_of(c) == NULL)
			continue;
		c->waiting_auth = false;
		/* Whichever was awaited (a recipient, or a submission login)
		 * gets its answer; the other call is ignored. */
		smtp_session_rcpt_result(smtp_of(c), SMTP_RCPT_TEMPFAIL, NULL, 0);
		smtp_session_auth_result(smtp_of(c), SMTP_AUTH_TEMPFAIL);
		front_conn_resume(c);
	}
}

void front_smtp_queue_lost(struct front *f)
{
	for (struct conn *c = f->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (smtp_of(c) == NULL)
			continue;
		bool asking = smtp_conn_of(c)->asking_quota;
		bool data = c->in_txn && c->txn_ended;
		c->in_txn = false;
		c->txn_ended = false;
		if (data)
			smtp_session_data_result(smtp_of(c), false, NULL);
		/* Resumed once, last: resuming may end the connection and free
		 * c.  No answer about the quota: the recipient is taken, and the
		 * message then meets the queue's absence at DATA. */
		if (asking)
			quota_answered(c, false);
		else if (data)
			front_conn_resume(c);
	}
}

void front_smtp_senders_message(struct front *f, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	struct conn *c = front_conn_find(f, msg->id);

	if (c == NULL || !c->waiting_auth || c->proto != &front_submission_protocol ||
	    smtp_of(c) == NULL)
		return;
	struct smtp_conn *sc = smtp_conn_of(c);
	ipc_reader_init(&r, msg);
	uint64_t account = ipc_get_u64(&r);
	uint64_t expires = ipc_get_u64(&r);
	uint64_t n = ipc_get_u64(&r);
	if (n > IPC_SUBMIT_MAX_SENDERS)
		r.bad = true;
	struct smtp_sender *list = r.bad || n == 0 ? NULL : calloc((size_t)n, sizeof(*list));
	for (uint64_t i = 0; list != NULL && i < n && !r.bad; i++) {
		struct str a = ipc_get_str(&r, IPC_MAX_ADDRESS);
		struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
		if (mac.len != TICKET_RCPT_MAC_SIZE)
			r.bad = true;
		if (r.bad)
			break;
		memcpy(list[i].address, a.ptr, a.len);
		list[i].address_len = a.len;
		memcpy(list[i].mac, mac.ptr, mac.len);
	}
	if (!ipc_reader_ok(&r) || list == NULL || account == 0) {
		free(list);
		return;
	}
	free(sc->senders);
	sc->senders = list;
	sc->sender_count = (size_t)n;
	sc->account = account;
	sc->senders_expires = expires;
}
