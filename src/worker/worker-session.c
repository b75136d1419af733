/* worker-session: authenticated sessions in the worker (see worker-session.h). */
#include "worker-session.h"
#include "worker-spam.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/ipc.h"
#include "imap/imap-session.h"
#include "imap/imap-session-park.h"
#include "lib/log.h"
#include "pop3/pop3-session.h"
#include "worker-account.h"
#include "worker-commit.h"
#include "worker-http.h"
#include "worker-transport.h"

/* Client bytes held before the protocol consumes them. */
#define SESSION_MAX_INPUT (64 * 1024)
/* Output not yet sent.  The protocols stop producing past their small
 * mark (IMAP_SESSION_OUTPUT_HIGH, POP3_SESSION_OUTPUT_HIGH) until the
 * client reads; this is the hard ceiling above it, where one IMAP FETCH
 * answer of the largest message with several body items still fits. */
#define SESSION_MAX_OUTPUT ((size_t)2 * 1024 * 1024 * 1024)
#define SESSION_READ_CHUNK (16 * 1024)
/* The session's input buffer (and, with COMPRESS, the compressed bytes
 * held below it) may hold one read past the input limit. */
#define SESSION_INPUT_BUF (SESSION_MAX_INPUT + SESSION_READ_CHUNK)

/* RFC 1939 4: a POP3 session holds the maildrop exclusively. */
static unsigned pop3_sessions;

struct session {
	const struct worker_session_env *env;
	struct transport t;           /* the client, plain or TLS 1.3 */
	struct ev_io *io;
	struct ev_timer *timer;       /* IMAP autologout, HTTP idle timeout */
	struct ev_timer *park_timer;  /* IMAP in IDLE: parked when it fires */
	uint64_t last_input;          /* HTTP: or the last output the client took */
	struct buf in, out;
	struct pop3_session *pop3;
	struct imap_session *imap;
	struct worker_http *http;
	struct session *next, **prev; /* IMAP sessions, for change notices;
				       * HTTP sessions, to go on once the
				       * account is known */
	struct store_reader *message; /* POP3: the message being sent, or NULL */
	uint32_t message_uid;
	bool closing;
	bool dead;
	/* IMAP: output waits for this sync of commits (worker-commit.h,
	 * a ticket); 0: none. */
	uint64_t held_for;
	/* HTTP, closing: the answer is out and the client's input is
	 * dropped (WORKER_HTTP_LINGER_MS). */
	bool draining;
	size_t drained;
};

static struct session *imap_sessions;
static unsigned imap_session_count;
static struct session *http_sessions;
/* A session was parked by this worker: changes to the account wake the
 * parked sessions (a new worker's start wakes those of an earlier one). */
static const struct worker_session_env *parked_env;
/* Change notices wait for this sync of the change (worker-commit.h, a
 * ticket); 0: none. */
static uint64_t notify_for;

/* session_release frees s and what it holds, whatever part of it exists
 * (a session whose protocol could not start included). */
static void session_release(struct session *s)
{
	ev_io_del(&s->io);
	ev_timer_del(&s->timer);
	ev_timer_del(&s->park_timer);
	transport_close(&s->t);
	store_reader_close(&s->message);
	pop3_session_free(&s->pop3);
	imap_session_free(&s->imap);
	worker_http_free(&s->http);
	buf_free(&s->in);
	buf_free(&s->out);
	free(s);
}

/* session_list_add puts s at the head of list (IMAP or HTTP sessions). */
static void session_list_add(struct session **list, struct session *s)
{
	s->next = *list;
	if (s->next != NULL)
		s->next->prev = &s->next;
	s->prev = list;
	*list = s;
}

static void session_free(struct session *s)
{
	if (s->pop3 != NULL)
		pop3_sessions--;
	if (s->imap != NULL)
		imap_session_count--;
	if (s->prev != NULL) {
		*s->prev = s->next;
		if (s->next != NULL)
			s->next->prev = s->prev;
	}
	const struct worker_session_env *env = s->env;
	session_release(s);
	env->closed();
}

static void cb_output(void *ctx, const char *data, size_t len)
{
	struct session *s = ctx;
	if (buf_append(&s->out, data, len) < 0)
		s->dead = true;
}

/* cb_unsent counts what the client has not taken: plaintext and the
 * ciphertext made of it. */
static size_t cb_unsent(void *ctx)
{
	struct session *s = ctx;
	return s->out.len + transport_unsent(&s->t);
}

/* cb_read_message reads a window of a message, keeping the message open
 * from one window to the next. */
static ssize_t cb_read_message(void *ctx, uint32_t uid, uint64_t offset, char *dst, size_t n)
{
	struct session *s = ctx;
	const char *error;
	uint64_t size;
	size_t got = 0;

	if (s->message != NULL && s->message_uid != uid)
		store_reader_close(&s->message);
	if (s->message == NULL) {
		if (store_reader_open(s->env->store, "INBOX", uid, &s->message, &size, &error) !=
		    STORE_OK) {
			log_error("reading message %u failed: %s", uid, error);
			return -1;
		}
		s->message_uid = uid;
	}
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (store_reader_read(s->message, offset, dst, n, &got, &error) != STORE_OK) {
		log_error("reading message %u failed: %s", uid, error);
		return -1;
	}
	return (ssize_t)got;
}

static int cb_expunge(void *ctx, const uint32_t *uids, size_t n)
{
	struct session *s = ctx;
	const char *error;
	/* POP3 answers are not held (worker-commit.h): durable before +OK. */
	if (store_expunge(s->env->store, "INBOX", uids, n, &error) < 0 ||
	    store_sync(s->env->store, &error) < 0) {
		log_error("POP3 deletions failed: %s", error);
		return -1;
	}
	log_info("POP3: %zu messages deleted by their owner", n);
	return 0;
}

static void cb_close(void *ctx)
{
	struct session *s = ctx;
	s->closing = true;
}

static const struct pop3_callbacks pop3_callbacks = {
	.output = cb_output,
	.unsent = cb_unsent,
	.read_message = cb_read_message,
	.expunge = cb_expunge,
	.close = cb_close,
};

static void session_flush(struct session *s);
static void session_send(struct session *s);
static void park_arm(struct session *s, bool unsent);
static void session_ready(struct ev_io *io, unsigned events, void *ctx);

/* http_account is the account as dav sees it, or NULL until auth has
 * said its addresses. */
static const struct dav_account *http_account(void)
{
	static struct dav_account account;
	const struct worker_account *info = worker_account_get();
	if (info == NULL)
		return NULL;
	account = (struct dav_account){ .id = info->id, .name = info->name,
					.display_name = info->display_name,
					.addresses = info->address_list,
					.address_count = info->address_count };
	return &account;
}

static void linger_over(struct ev_timer *t, void *ctx)
{
	struct session *s = ctx;
	(void)t;
	s->timer = NULL;
	session_free(s);
}

/* linger_start: s's answer is out and the connection ends; the client
 * sees the end at once, and what it still sends is dropped for a while
 * (see WORKER_HTTP_LINGER_MS).  False if that cannot start. */
static bool linger_start(struct session *s)
{
	ev_timer_del(&s->timer);
	s->timer = ev_timer_add(s->env->ev, WORKER_HTTP_LINGER_MS, linger_over, s);
	if (s->timer == NULL)
		return false;
	transport_finish(&s->t);
	s->draining = true;
	buf_reset(&s->in);
	ev_io_set(s->io, EV_READ);
	return true;
}

/* drain reads what the client still sends and drops it; the session ends
 * when the client stops, fails, or sends too much. */
static void drain(struct session *s, bool readable)
{
	int r;
	do {
		r = transport_read(&s->t, &s->in, readable);
		readable = false;
		s->drained += s->in.len;
		buf_reset(&s->in);
	} while (r > 0 && transport_pending(&s->t));
	if (r <= 0 || s->drained > WORKER_HTTP_LINGER_BYTES)
		session_free(s);
}

static void session_work(struct session *s, bool readable)
{
	if (s->draining) {
		drain(s, readable);
		return;
	}
	/* HTTP: no more is read while an answer waits for the client. */
	bool http_waits = s->http != NULL && cb_unsent(s) > 0;
	if (!s->closing && s->in.len < SESSION_MAX_INPUT && !http_waits) {
		size_t before = s->in.len;
		int r = transport_read(&s->t, &s->in, readable);
		if (r < 0)
			s->dead = true;
		else if (r == 0 && s->in.len == before)
			s->dead = true;   /* the client has finished */
		if (s->in.len > before)
			s->last_input = ev_now(s->env->ev);
	}
	if (!s->dead && !s->closing && s->pop3 != NULL)
		pop3_session_input(s->pop3, &s->in);
	else if (!s->dead && !s->closing && s->imap != NULL)
		imap_session_input(s->imap, &s->in);
	else if (!s->dead && !s->closing && s->http != NULL) {
		worker_http_input(s->http, http_account(), &s->in);
		s->closing = worker_http_closing(s->http);
	}
	session_flush(s);
}

/* session_flush sends what is waiting and chooses what to wait for. */
static void session_flush(struct session *s)
{
	/* Group commit: an IMAP session's answers wait until the changes
	 * made before them are durable, so until the sync that covers every
	 * commit made so far has ended (worker_session_synced sends them);
	 * all of its output waits for the latest of those syncs. */
	if (s->imap != NULL && !s->dead) {
		uint64_t ticket = worker_commit_ticket();
		if (ticket > s->held_for)
			s->held_for = ticket;
		if (!worker_commit_covered(s->held_for))
			return;
		s->held_for = 0;
	}
	session_send(s);
}

/* session_send: session_flush once nothing of the output waits. */
static void session_send(struct session *s)
{
	size_t before = cb_unsent(s);
	if (!s->dead && transport_write(&s->t, &s->out) < 0)
		s->dead = true;
	if (s->http != NULL && cb_unsent(s) < before)
		s->last_input = ev_now(s->env->ev);  /* the client is reading */
	bool unsent = s->out.len > 0 || transport_want_write(&s->t);
	if (s->dead || (s->closing && !unsent)) {
		if (s->dead || s->http == NULL || !linger_start(s))
			session_free(s);
		return;
	}
	if (s->imap != NULL)
		park_arm(s, unsent);
	/* Pipelined commands wait while earlier answers are still going out;
	 * an IMAP session goes on with a long FETCH once its output is sent. */
	/* A FETCH stopped at the output mark, or commands it held back, go on
	 * as soon as the socket can take more: a writable socket wakes the
	 * loop at once, while other sessions get their turn in between. */
	bool more = !s->closing && ((s->imap != NULL && (imap_session_pending(s->imap) ||
							   s->in.len > 0)) ||
				    (s->pop3 != NULL && pop3_session_pending(s->pop3)) ||
				    (s->http != NULL && worker_http_blocked(s->http)) ||
				    transport_pending(&s->t));
	ev_io_set(s->io, unsent || more ? EV_WRITE : EV_READ);
}

/* ---------- IMAP ---------- */

static void imap_cb_close(void *ctx)
{
	struct session *s = ctx;
	s->closing = true;
}

static void imap_cb_changed(void *ctx)
{
	(void)ctx;
	worker_session_notify_all();
}

/* imap_cb_compress: COMPRESS DEFLATE was answered OK (the answer is the
 * last of s->out); the rest of s->in came compressed. */
static int imap_cb_compress(void *ctx)
{
	struct session *s = ctx;
	const char *error;
	if (transport_compress_start(&s->t, &s->in, &s->out, &error) < 0) {
		log_error("COMPRESS could not start: %s", error);
		return -1;
	}
	return 0;
}

static const struct imap_session_callbacks imap_callbacks = {
	.close = imap_cb_close,
	.changed = imap_cb_changed,
	.copied = worker_spam_copied,
	.compress = imap_cb_compress,
};

void worker_session_notify_all(void)
{
	/* Sessions learn of a change once it is durable, all at once for
	 * every change of the turn. */
	uint64_t ticket = worker_commit_ticket();
	if (ticket != 0) {
		if (ticket > notify_for)
			notify_for = ticket;
		return;
	}
	if (parked_env != NULL && parked_env->wake != NULL)
		parked_env->wake();
	for (struct session *s = imap_sessions, *next; s != NULL; s = next) {
		next = s->next;
		size_t before = s->out.len;
		imap_session_notify(s->imap);
		if (s->out.len != before)
			session_flush(s);
	}
}

void worker_session_synced(bool ok, uint64_t done)
{
	/* The answers held for syncs up to done go out, or, that sync
	 * failed, their sessions close without them; later ones wait on. */
	for (struct session *s = imap_sessions, *next; s != NULL; s = next) {
		next = s->next;
		if (s->held_for == 0 || s->held_for > done)
			continue;
		s->held_for = 0;
		if (!ok)
			s->dead = true; /* nothing of what it was told may go out */
		session_send(s);
	}
	if (notify_for != 0 && notify_for <= done && ok) {
		notify_for = 0;
		worker_session_notify_all();
	}
}

void worker_session_shutdown_all(void)
{
	worker_commit_now();
	for (struct session *s = imap_sessions, *next; s != NULL; s = next) {
		next = s->next;
		imap_session_shutdown(s->imap);
		session_flush(s);
	}
}

/* http_idle_ms: how long an HTTP connection may stay silent (env's
 * setting, else WORKER_HTTP_IDLE_SECONDS), in ms. */
static uint64_t http_idle_ms(const struct worker_session_env *env)
{
	return (env->http_idle_seconds != 0 ? env->http_idle_seconds
					    : (uint64_t)WORKER_HTTP_IDLE_SECONDS) * 1000;
}

/* idle_check ends a session its client left idle: an IMAP session past
 * the autologout (with its BYE), an HTTP connection past http_idle_ms
 * (closed, as RFC 9112 9.8 lets a server do). */
static void idle_check(struct ev_timer *t, void *ctx)
{
	struct session *s = ctx;
	(void)t;
	s->timer = NULL;
	uint64_t limit = s->http != NULL ? http_idle_ms(s->env)
					 : (uint64_t)IMAP_SESSION_AUTOLOGOUT_SECONDS * 1000;
	uint64_t idle = ev_now(s->env->ev) - s->last_input;
	if (idle >= limit) {
		if (s->imap != NULL)
			imap_session_timeout(s->imap);
		else
			s->closing = true;
		session_flush(s);
		return;
	}
	s->timer = ev_timer_add(s->env->ev, limit - idle + 100, idle_check, s);
}

/* session_new makes a session of the client behind t (whose keys it
 * takes over) with pending, what the client sent already, as its input;
 * the protocol is the caller's to add.  NULL when out of memory (t is
 * closed). */
static struct session *session_new(const struct worker_session_env *env, struct transport *t,
				   struct str pending)
{
	struct session *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		transport_close(t);
		return NULL;
	}
	s->env = env;
	s->t = *t;
	sodium_memzero(t, sizeof(*t));  /* the session's copy holds the keys now */
	s->last_input = ev_now(env->ev);
	buf_init(&s->in, SESSION_INPUT_BUF);
	buf_init(&s->out, SESSION_MAX_OUTPUT);
	if (buf_append_str(&s->in, pending) < 0)
		s->dead = true;
	s->io = ev_io_add(env->ev, s->t.fd, EV_READ, session_ready, s);
	if (s->io == NULL) {
		session_release(s);
		return NULL;
	}
	return s;
}

/* session_start answers what the client sent with its login, if
 * anything, and from then on what it sends. */
static void session_start(struct session *s)
{
	if (s->in.len > 0 || transport_pending(&s->t))
		session_work(s, false);
}

unsigned worker_session_imap_count(void)
{
	return imap_session_count;
}

static int imap_open(const struct worker_session_env *env, struct transport *t,
		     struct str pending)
{
	if (imap_session_count >= env->max_imap_sessions) {
		transport_say(t, "* BYE [LIMIT] Too many sessions for this account\r\n");
		log_info("IMAP: session refused, the account has %u already", imap_session_count);
		transport_close(t);
		return -1;
	}
	struct session *s = session_new(env, t, pending);
	if (s == NULL)
		return -1;
	struct imap_session_settings settings = { .max_append = env->max_message_size };
	s->imap = imap_session_new(env->store, &s->out, &settings, &imap_callbacks, s);
	s->timer = ev_timer_add(env->ev, (uint64_t)IMAP_SESSION_AUTOLOGOUT_SECONDS * 1000,
				idle_check, s);
	if (s->imap == NULL || s->timer == NULL) {
		session_release(s);
		return -1;
	}
	imap_session_count++;
	session_list_add(&imap_sessions, s);
	session_start(s);
	return 0;
}

/* http_open starts an HTTP session bound to the hand-off's credentials;
 * its requests wait while the account's addresses are not known. */
static int http_open(const struct worker_session_env *env, struct transport *t,
		     const struct handoff *h)
{
	struct session *s = session_new(env, t, h->plain_in);
	if (s == NULL)
		return -1;
	s->http = worker_http_new(&env->http, h, &s->out);
	s->timer = ev_timer_add(env->ev, http_idle_ms(env), idle_check, s);
	if (s->http == NULL || s->timer == NULL) {
		log_error("HTTP: the session could not start%s",
			  h->http_auth ? "" : " (no credential binding came with it)");
		session_release(s);
		return -1;
	}
	session_list_add(&http_sessions, s);
	session_start(s);
	return 0;
}

void worker_session_account_known(void)
{
	for (struct session *s = http_sessions, *next; s != NULL; s = next) {
		next = s->next;
		session_work(s, false);
	}
}

static void session_ready(struct ev_io *io, unsigned events, void *ctx)
{
	(void)io;
	session_work(ctx, (events & EV_READ) != 0);
}

/* inbox_snapshot lists INBOX for a POP3 maildrop. */
static int inbox_snapshot(struct store *store, uint32_t *uidvalidity_r,
			  struct pop3_message **list_r, size_t *count_r)
{
	struct store_mailbox *boxes;
	struct store_message *msgs;
	size_t nboxes, nmsgs;
	const char *error;

	if (store_mailbox_list(store, &boxes, &nboxes, &error) < 0) {
		log_error("listing mailboxes failed: %s", error);
		return -1;
	}
	*uidvalidity_r = 0;
	for (size_t i = 0; i < nboxes; i++)
		if (strcmp(boxes[i].name, "INBOX") == 0)
			*uidvalidity_r = boxes[i].uidvalidity;
	store_mailbox_list_free(&boxes, nboxes);
	if (store_message_list(store, "INBOX", &msgs, &nmsgs, &error) < 0) {
		log_error("listing INBOX failed: %s", error);
		return -1;
	}
	*list_r = calloc(nmsgs ? nmsgs : 1, sizeof(**list_r));
	if (*list_r == NULL) {
		free(msgs);
		return -1;
	}
	for (size_t i = 0; i < nmsgs; i++) {
		(*list_r)[i].uid = msgs[i].uid;
		(*list_r)[i].size = msgs[i].size;
	}
	*count_r = nmsgs;
	free(msgs);
	return 0;
}

int worker_session_open(const struct worker_session_env *env, int fd, const struct handoff *h)
{
	struct pop3_message *list;
	size_t count;
	uint32_t uidvalidity;
	struct transport t;
	const char *error = NULL;

	if (transport_init(&t, fd, h, &error) < 0) {
		log_error("the session's TLS state is unusable: %s", error);
		close(fd);
		return -1;
	}
	if (h->protocol == IPC_PROTO_IMAP)
		return imap_open(env, &t, h->plain_in);
	if (h->protocol == IPC_PROTO_HTTP)
		return http_open(env, &t, h);
	if (h->protocol != IPC_PROTO_POP3) {
		transport_close(&t);
		return -1;
	}
	if (pop3_sessions > 0) {
		transport_say(&t, "-ERR [IN-USE] Mailbox is open in another POP3 session\r\n");
		log_info("POP3: second session refused, the maildrop is in use");
		transport_close(&t);
		return -1;
	}
	if (inbox_snapshot(env->store, &uidvalidity, &list, &count) < 0) {
		transport_close(&t);
		return -1;
	}
	struct session *s = session_new(env, &t, h->plain_in);
	if (s == NULL) {
		free(list);
		return -1;
	}
	s->pop3 = pop3_session_new(&pop3_callbacks, s, uidvalidity, list, count);
	free(list);
	if (s->pop3 == NULL) {
		session_release(s);
		return -1;
	}
	pop3_sessions++;
	pop3_session_start(s->pop3);
	session_work(s, false);
	return 0;
}

/* ---------- parking ---------- */

/* wall_ms is the time of day in milliseconds (a parked session's last
 * input crosses processes, whose monotonic clocks agree but whose loops
 * refresh them at different moments: either serves). */
static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* session_park hands s's client to the parking process with its state
 * and frees s; nothing happens if s cannot be parked now. */
static void session_park(struct session *s)
{
	const struct worker_session_env *env = s->env;
	struct handoff h;
	struct buf transport, z, state;

	if (cb_unsent(s) > 0 || s->in.len > 0 || !imap_session_parkable(s->imap))
		return;
	buf_init(&z, IPC_PARK_MAX_STATE);
	if (transport_park(&s->t, &h, &z) < 0) {
		sodium_memzero(z.data, z.cap);
		buf_free(&z);
		return;
	}
	buf_init(&transport, IPC_PARK_MAX_STATE);
	buf_init(&state, IPC_PARK_MAX_STATE);
	uint64_t silent = ev_now(env->ev) - s->last_input;
	int r = handoff_encode(&h, &transport);
	handoff_wipe(&h);
	/* The time of the last input, the transport, the deflate layer's
	 * windows (empty without COMPRESS), then the IMAP state. */
	if (r == 0)
		r = ipc_put_u64(&state, wall_ms() - silent) |
		    ipc_put_str(&state, buf_str(&transport)) | ipc_put_str(&state, buf_str(&z));
	if (r == 0)
		r = imap_session_park(s->imap, &state);
	if (r == 0)
		r = env->park(&state, s->t.fd);
	sodium_memzero(transport.data, transport.len);
	sodium_memzero(z.data, z.cap);
	sodium_memzero(state.data, state.len);
	buf_free(&transport);
	buf_free(&z);
	buf_free(&state);
	if (r < 0)
		return;
	parked_env = env;
	log_debug("IMAP: session parked%s", transport_compressed(&s->t) ? " (COMPRESS)" : "");
	/* Out of epoll before the close: the socket lives on elsewhere. */
	ev_io_del(&s->io);
	transport_forget(&s->t);
	session_free(s);
}

/* park_fired: the session's park delay passed in IDLE; park it if it still may be. */
static void park_fired(struct ev_timer *t, void *ctx)
{
	struct session *s = ctx;
	(void)t;
	s->park_timer = NULL;
	session_park(s);
}

/* park_arm (re)starts s's park delay when it is in IDLE with nothing to
 * send or read, and stops it otherwise. */
static void park_arm(struct session *s, bool unsent)
{
	const struct worker_session_env *env = s->env;
	ev_timer_del(&s->park_timer);
	if (env->park_delay_ms == 0 || env->park == NULL || unsent || s->in.len > 0 ||
	    s->closing || !imap_session_parkable(s->imap))
		return;
	s->park_timer = ev_timer_add(env->ev, env->park_delay_ms, park_fired, s);
}

int worker_session_unpark(const struct worker_session_env *env, int fd, struct str state)
{
	struct ipc_msg msg = { .payload = (const unsigned char *)state.ptr, .len = state.len };
	struct ipc_reader r;
	struct handoff h = { 0 };
	struct transport t;
	const char *error = NULL;

	ipc_reader_init(&r, &msg);
	uint64_t last_input = ipc_get_u64(&r);
	struct str transport = ipc_get_str(&r, IPC_PARK_MAX_STATE);
	struct str z = ipc_get_str(&r, IPC_PARK_MAX_STATE);
	struct str rest = str_from((const char *)r.p, r.left);
	if (r.bad || handoff_decode((const unsigned char *)transport.ptr, transport.len, &h,
				    &error) < 0 ||
	    h.protocol != IPC_PROTO_IMAP || h.mode == HANDOFF_RELAY || h.plain_in.len > 0 ||
	    h.cipher_in.len > 0) {
		log_error("a parked session came back unusable: %s",
			  error != NULL ? error : "malformed state");
		handoff_wipe(&h);
		close(fd);
		return -1;
	}
	int ret = transport_init(&t, fd, &h, &error);
	handoff_wipe(&h);
	if (ret < 0) {
		log_error("a parked session's TLS state is unusable: %s", error);
		close(fd);
		return -1;
	}
	if (z.len > 0 && transport_compress_resume(&t, z, SESSION_INPUT_BUF, &error) < 0) {
		log_error("a parked session's COMPRESS state is unusable: %s", error);
		transport_forget(&t);
		return -1;
	}
	if (imap_session_count >= env->max_imap_sessions) {
		transport_say(&t, "* BYE [LIMIT] Too many sessions for this account\r\n");
		transport_close(&t);
		return -1;
	}
	struct session *s = session_new(env, &t, STR(""));
	if (s == NULL)
		return -1;
	uint64_t now = wall_ms(), silent = now > last_input ? now - last_input : 0;
	s->last_input = ev_now(env->ev) > silent ? ev_now(env->ev) - silent : 0;
	struct imap_session_settings settings = { .max_append = env->max_message_size };
	s->imap = imap_session_unpark(env->store, &s->out, &settings, &imap_callbacks, s, rest,
				      &error);
	if (s->imap != NULL && imap_session_compressed(s->imap) != transport_compressed(&s->t)) {
		imap_session_free(&s->imap);
		error = "its COMPRESS state and its IMAP state disagree";
	}
	s->timer = ev_timer_add(env->ev, 1000, idle_check, s);
	if (s->imap == NULL || s->timer == NULL) {
		log_error("a parked session could not be taken up: %s",
			  s->imap == NULL ? error : "out of memory");
		session_release(s);
		return -1;
	}
	imap_session_count++;
	session_list_add(&imap_sessions, s);
	log_debug("IMAP: parked session taken up");
	session_flush(s);
	return 0;
}
