/*
 * NAME
 *	worker - serves exactly one account
 * DESCRIPTION
 *	Opens that account's store and does everything that touches it:
 *	local deliveries from the queue, and the account's IMAP, POP3 and
 *	HTTP sessions (CalDAV and CardDAV on its dav.db, worker-http.c; JMAP
 *	is not built).  Master starts it when the
 *	account is needed.  A session comes from master as a link to the
 *	pre-auth process that served the login, which hands over the client's
 *	socket with its TLS 1.3 state, if any (this process then speaks TLS
 *	records itself), or, for TLS 1.2, a stream it relays
 *	(worker-transport.c).
 *	After worker.idle_timeout without work it asks master whether it may
 *	exit.
 * SECURITY
 *	Confined by Landlock to DATA/accounts/<id> (the id comes from master's
 *	argv, which master took from the directory, never from a request), so
 *	code execution inside it still cannot read another account's mail.
 *	A seccomp allow-list, no_new_privs, not dumpable.  Started as root,
 *	it also runs as its account's own uid (worker.uid_base + id), owner
 *	of that folder (mode 0700), so even
 *	without Landlock the kernel refuses it other accounts' files and
 *	signals to other workers.
 *	Messages to deliver arrive as sealed memfds holding the message only
 *	(never the spool file, whose envelope names every recipient).  The
 *	queue learns the account's quota figures from it, nothing more.
 */
#include "worker.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "imap-format/imap-message.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/handoff.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/uids.h"
#include "lib/log.h"
#include "lib/process.h"
#include "mail/mime.h"
#include "store/dav-store.h"
#include "store/store.h"
#include "worker-account.h"
#include "worker-dedup.h"
#include "worker-hygiene.h"
#include "worker-commit.h"
#include "worker-index.h"
#include "worker-schedule.h"
#include "worker-session.h"
#include "worker-spam.h"
#include "worker-submit.h"

/* Connections (queue links, later sessions) one worker holds at once. */
#define WORKER_MAX_LINKS 1024
/* How often, at most, the worker returns cached memory (SQLite's page
 * cache, free heap) to the system: only in a second without work. */
#define WORKER_TRIM_INTERVAL_MS 30000
/* How stale the worker lets its quota figures get while it has no limit
 * (then it skips the sum of sizes after each batch): a quota the
 * administrator sets while deliveries flow is seen within a minute. */
#define WORKER_QUOTA_REFRESH_MS 60000
/* How long a worker stays once its last session left by parking, when
 * nothing else keeps it (worker.idle_timeout otherwise).  Its clients sit
 * in IDLE: the next thing they do is a renewal (DONE, IDLE) every 25 to 29
 * minutes, or a delivery wakes them; either starts a worker if needed.
 * Kept 60 s, the worker each renewal woke made 10,000 idle sessions cost
 * 400-560 live workers (about 2 MB each). */
#define WORKER_PARKED_EXIT_MS 5000
/* Deliveries made durable by one commit (group commit). */
#define WORKER_MAX_BATCH 256
/* IPC_DELIVER's fields, as the queue sends them. */
#define WORKER_MAX_KEY IPC_DELIVER_MAX_KEY
#define WORKER_MAX_SENDER IPC_MAX_PATH

/* A link to the worker; kept until no pending delivery refers to it. */
struct link {
	struct ipc *ipc;
	unsigned refs;
	bool closed;
	bool released;           /* the queue is done with it (IPC_WORKER_RELEASE) */
};

struct pending {
	struct pending *next;
	struct link *link;
	uint64_t id;
	int fd;
	enum ipc_deliver_status status;
	uint32_t uid;
	char error[256];         /* copied: store error texts do not last */
	char key[WORKER_MAX_KEY + 1];
	char sender[WORKER_MAX_SENDER + 1];
	int64_t arrived;
	bool junk;               /* IPC_DELIVER_JUNK: filed in Junk */
	char mailbox[256];       /* where it goes (found before the batch: the
				  * store lists no mailbox inside one) */
	struct worker_itip *itip; /* its calendar part, applied once durable */
};

struct worker {
	struct ev *ev;
	struct config config;
	uint64_t account;
	struct store *store;
	struct dav_store *dav;   /* the calendars and contacts (dav.db); NULL if
				  * it cannot be opened (HTTP then answers 503) */
	struct autoconfig_settings autoconfig; /* what the set-up profile offers */
	unsigned links;
	unsigned released;       /* links the queue let go: they keep nobody */
	bool let_go;             /* the queue let go of a link it closed: exits
				  * once nothing else keeps it */
	struct ipc *master;
	bool retiring;
	bool idle_asked;
	bool parking;            /* the session closing now was parked */
	bool parked_last;        /* the last session to leave was parked */
	uint64_t last_activity;
	uint64_t last_trim;
	uint64_t io_calls_seen;         /* ev_io_calls at the last idle check */
	struct pending *batch_head, **batch_tail;
	unsigned batch_count;
	/* The account's quota as the queue is told it (IPC_WORKER_QUOTA,
	 * IPC_DELIVER_RESULT), so that SMTP can refuse a message before it is
	 * accepted; the store refuses it anyway. */
	uint64_t quota_limit, quota_used;
	uint64_t quota_read_at;
	/* IMAP sessions as master counts them (IPC_WORKER_SESSIONS): hand-offs
	 * taken since the start, hand-offs waiting, and what master last heard. */
	uint64_t imap_taken;
	unsigned imap_pending;
	uint64_t imap_told_taken, imap_told_held;
};

static struct worker w;

/* deliver adds one message to the open batch; returns IPC_DELIVER_OK
 * (durable only once the batch commits), _TEMPFAIL or _PERMFAIL. */
/* junk_mailbox names the mailbox junk goes to: the one marked \\Junk
 * (the account may have renamed it), else INBOX. */
static void junk_mailbox(char *name, size_t size)
{
	struct store_mailbox *boxes;
	size_t n;
	const char *error;

	snprintf(name, size, "INBOX");
	if (store_mailbox_list(w.store, &boxes, &n, &error) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (boxes[i].special_use == STORE_SPECIAL_JUNK) {
			snprintf(name, size, "%s", boxes[i].name);
			break;
		}
	store_mailbox_list_free(&boxes, n);
}

static enum ipc_deliver_status deliver(struct pending *p)
{
	struct stat st;
	struct buf rp;
	enum ipc_deliver_status result = IPC_DELIVER_TEMPFAIL;

	if (fstat(p->fd, &st) < 0) {
		snprintf(p->error, sizeof(p->error), "the message's descriptor cannot be read");
		return IPC_DELIVER_TEMPFAIL;
	}
	size_t size = (size_t)st.st_size;
	void *map = NULL;
	if (size > 0) {
		map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, p->fd, 0);
		if (map == MAP_FAILED) {
			snprintf(p->error, sizeof(p->error), "mmap of the message failed");
			return IPC_DELIVER_TEMPFAIL;
		}
	}
	const char *content = map != NULL ? (const char *)map : "";
	/* RFC 5321 4.4: the delivering server records the envelope sender. */
	buf_init(&rp, WORKER_MAX_SENDER + 32);
	buf_printf(&rp, "Return-Path: <%s>\r\n", p->sender);

	struct mime_limits limits;
	mime_limits_default(&limits);
	struct mime_parser *parser = mime_parser_new(&limits);
	const struct mime_message *parsed = NULL;
	struct imap_message_opaque opaque;
	const char *perr;
	if (parser == NULL) {
		snprintf(p->error, sizeof(p->error), "out of memory");
		goto out;
	}
	if (mime_parser_feed(parser, rp.data, rp.len, &perr) < 0 ||
	    mime_parser_feed(parser, content, size, &perr) < 0 ||
	    mime_parser_finish(parser, &parsed, &perr) < 0) {
		log_warn("message %s is past the MIME limits (%s): stored as one opaque part",
			 p->key, perr);
		imap_message_opaque(&opaque, rp.len + size);
		parsed = &opaque.msg;
	}
	struct iovec iov[2] = { { rp.data, rp.len }, { (void *)content, size } };
	bool duplicate = false;
	const char *error;
	/* A copy another server sent again is the delivery we have. */
	char dedup[WORKER_DEDUP_KEY_SIZE];
	const char *key = worker_dedup_key(str_from(content, size), str_c(p->sender), dedup)
				  ? dedup : p->key;
	if (store_batch_deliver(w.store, p->mailbox, key, iov, 2, parsed, p->arrived, &p->uid,
				&duplicate, &error) < 0) {
		snprintf(p->error, sizeof(p->error), "%s", error);
		result = IPC_DELIVER_TEMPFAIL;
		goto out;
	}
	if (duplicate)
		log_info("delivery %s (%s) was stored before (uid %u): not stored twice", p->key, key,
			 p->uid);
	else if (!p->junk)
		p->itip = worker_schedule_find(str_from(content, size), rp.len, parsed);
	result = IPC_DELIVER_OK;
out:
	mime_parser_free(&parser);
	buf_free(&rp);
	if (map != NULL)
		munmap(map, size);
	return result;
}

/* quota_refresh reads the account's quota from the store (not while a
 * batch is open); kept as it was if the store cannot say.  Called when a
 * delivery link opens and after each batch of an account with a quota (or
 * WORKER_QUOTA_REFRESH_MS after the last reading), so the sum of sizes is
 * made where a limit asks for it. */
static void quota_refresh(bool always)
{
	const char *error;
	uint64_t limit, used;
	if (!always && w.quota_limit == 0 &&
	    ev_now(w.ev) - w.quota_read_at < WORKER_QUOTA_REFRESH_MS)
		return;
	w.quota_read_at = ev_now(w.ev);
	if (store_quota_get(w.store, &limit, &used, &error) != STORE_OK) {
		log_warn("the quota cannot be read: %s", error);
		return;
	}
	w.quota_limit = limit;
	w.quota_used = used;
}

static void maybe_exit(void);
static void ask_to_exit(void);
static void link_gone(struct link *l);

/* link_lost_answer: the queue does not read its answers (its link is full).
 * The link is closed, so the queue delivers what it did not hear about
 * again (the delivery key makes that safe) instead of waiting for ever. */
static void link_lost_answer(struct link *l)
{
	if (l->closed)
		return;
	log_error("the queue does not read its delivery answers: closing its link");
	ipc_close(&l->ipc);
	link_gone(l);
}

static void link_unref(struct link *l)
{
	if (--l->refs == 0 && l->closed)
		free(l);
}

/*
 * run_batch delivers everything that arrived in this turn of the loop in
 * one store batch: one commit (and one fsync per touched directory) makes
 * them all durable, and only then is any of them acknowledged.
 */
static void run_batch(struct ev_timer *timer, void *ctx)
{
	struct pending *list = w.batch_head;
	const char *error = "";
	(void)timer;
	(void)ctx;

	unsigned count = w.batch_count;
	w.batch_head = NULL;
	w.batch_tail = &w.batch_head;
	w.batch_count = 0;
	bool open = store_batch_begin(w.store, &error) == 0;
	for (struct pending *p = list; p != NULL; p = p->next) {
		if (!open) {
			p->status = IPC_DELIVER_TEMPFAIL;
			snprintf(p->error, sizeof(p->error), "%s", error);
		} else {
			p->status = deliver(p);
		}
		close(p->fd);
	}
	if (open && store_batch_commit(w.store, &error) < 0) {
		log_error("committing %u deliveries failed: %s", count, error);
		for (struct pending *p = list; p != NULL; p = p->next)
			if (p->status == IPC_DELIVER_OK) {
				p->status = IPC_DELIVER_TEMPFAIL;
				snprintf(p->error, sizeof(p->error), "%s", error);
			}
	}
	quota_refresh(false);
	while (list != NULL) {
		struct pending *p = list;
		list = p->next;
		if (!p->link->closed) {
			struct buf out;
			buf_init(&out, 1024);
			ipc_put_u64(&out, (uint64_t)p->status);
			ipc_put_u64(&out, p->status == IPC_DELIVER_OK ? p->uid : 0);
			ipc_put_str(&out, str_sub(str_c(p->status == IPC_DELIVER_OK ? "" : p->error),
						  0, IPC_DELIVER_MAX_TEXT));
			ipc_put_u64(&out, w.quota_limit);
			ipc_put_u64(&out, w.quota_used);
			if (ipc_send_buf(p->link->ipc, IPC_DELIVER_RESULT, p->id, &out, -1) < 0)
				link_lost_answer(p->link);
			buf_free(&out);
		}
		/* Scheduling after the answer: the mail is filed whatever it does. */
		if (p->status != IPC_DELIVER_OK)
			worker_schedule_discard(&p->itip);
		worker_schedule_received(&p->itip, p->sender);
		link_unref(p->link);
		free(p);
	}
	w.last_activity = ev_now(w.ev);
	worker_session_notify_all();
	if (w.released > 0 && w.links == w.released)
		ask_to_exit();
	maybe_exit();
}

static void deliver_request(struct link *l, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	struct pending *p = calloc(1, sizeof(*p));

	ipc_reader_init(&r, msg);
	struct str key = ipc_get_str(&r, WORKER_MAX_KEY);
	struct str sender = ipc_get_str(&r, WORKER_MAX_SENDER);
	uint64_t arrived = ipc_get_u64(&r);
	uint64_t flags = ipc_get_u64(&r);
	if (p == NULL || !ipc_reader_ok(&r) || str_chr(key, '\0') >= 0 ||
	    str_chr(sender, '\0') >= 0 || w.batch_count == WORKER_MAX_BATCH) {
		struct buf out;
		buf_init(&out, 256);
		ipc_put_u64(&out, p == NULL || w.batch_count == WORKER_MAX_BATCH
					  ? IPC_DELIVER_TEMPFAIL : IPC_DELIVER_PERMFAIL);
		ipc_put_u64(&out, 0);
		ipc_put_str(&out, STR("malformed or too many delivery requests"));
		ipc_put_u64(&out, w.quota_limit);
		ipc_put_u64(&out, w.quota_used);
		if (ipc_send_buf(l->ipc, IPC_DELIVER_RESULT, msg->id, &out, -1) < 0)
			link_lost_answer(l);
		buf_free(&out);
		close(msg->fd);
		free(p);
		return;
	}
	p->link = l;
	l->refs++;
	p->id = msg->id;
	p->fd = msg->fd;
	snprintf(p->key, sizeof(p->key), "%.*s", (int)key.len, key.ptr);
	snprintf(p->sender, sizeof(p->sender), "%.*s", (int)sender.len, sender.ptr);
	p->arrived = (int64_t)arrived;
	p->junk = (flags & IPC_DELIVER_JUNK) != 0;
	snprintf(p->mailbox, sizeof(p->mailbox), "INBOX");
	if (p->junk)
		junk_mailbox(p->mailbox, sizeof(p->mailbox));
	if (w.batch_count++ == 0)
		ev_timer_add(w.ev, 0, run_batch, NULL);
	*w.batch_tail = p;
	w.batch_tail = &p->next;
}

static void maybe_exit(void)
{
	if (w.retiring && w.links == w.released && w.batch_count == 0)
		ev_stop(w.ev);
}

/* ask_to_exit asks master whether this worker may exit (master stops
 * sending it sessions and answers IPC_WORKER_RETIRE); asked again at the
 * next idle check if master cannot take it now. */
static void ask_to_exit(void)
{
	/* Scheduling mail still on its way keeps it, and a full-text
	 * backlog its idle time is getting through (asked again later). */
	if (w.retiring || w.idle_asked || worker_submit_busy() || worker_index_busy())
		return;
	w.idle_asked = ipc_send(w.master, IPC_WORKER_IDLE, 0, NULL, 0, -1) == 0;
}

static void link_gone(struct link *l)
{
	if (l->released)
		w.released--;
	l->closed = true;
	l->ipc = NULL;
	w.links--;
	w.last_activity = ev_now(w.ev);
	if (l->refs == 0)
		free(l);
	maybe_exit();
}

static void link_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct link *l = ctx;
	if (msg->kind == IPC_DELIVER) {
		deliver_request(l, msg);
		return;
	}
	if (msg->kind == IPC_WORKER_RELEASE && !l->released) {
		/* The queue bounds the workers it keeps: one it lets go with
		 * nothing else to do exits at once, not after the idle time. */
		if (w.links > w.released + 1 && l->refs == 0) {
			/* Sessions keep it (clients a delivery woke from
			 * parking, say): the link goes now, so that its place
			 * in the queue serves another account at once, not
			 * when they leave; and they leave nothing behind. */
			w.let_go = true;
			ipc_close(&l->ipc);
			link_gone(l);
			return;
		}
		l->released = true;
		w.released++;
		if (w.links == w.released && w.batch_count == 0)
			ask_to_exit();
		return;
	}
	ipc_reject(&ipc, msg);
	link_gone(l);
}

static void link_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	link_gone(ctx);
}

/* sessions_report tells master how many IMAP sessions the worker has
 * taken and holds, when that changed since it last did, so that master
 * refuses the login of one session too many before its OK.  The two are
 * totals, so a report lost to a full link is made good by the next. */
static void sessions_report(void)
{
	uint64_t report[2] = { w.imap_taken, w.imap_pending + worker_session_imap_count() };
	if (report[0] == w.imap_told_taken && report[1] == w.imap_told_held)
		return;
	if (ipc_send(w.master, IPC_WORKER_SESSIONS, 0, report, sizeof(report), -1) == 0) {
		w.imap_told_taken = report[0];
		w.imap_told_held = report[1];
	}
}

static void session_closed(void)
{
	sessions_report();
	w.links--;
	w.last_activity = ev_now(w.ev);
	w.parked_last = w.parking;
	w.parking = false;
	maybe_exit();
}

/* A session being handed over: the link master made, until the pre-auth
 * process's one message arrives on it. */
struct pending_session {
	struct ipc *link;
	uint64_t protocol;            /* what master's ticket check allowed */
};

/* park_session gives a session in IDLE to master for the parking process. */
static int park_session(const struct buf *state, int fd)
{
	struct buf out;
	buf_init(&out, IPC_STR_SIZE(IPC_PARK_MAX_STATE));
	int r = ipc_put_str(&out, buf_str(state));
	if (r == 0)
		r = ipc_send_buf(w.master, IPC_PARK, 0, &out, fd);
	sodium_memzero(out.data, out.len);
	buf_free(&out);
	w.parking = r == 0;
	return r;
}

/* park_wake: the account changed; its parked sessions come back. */
static void park_wake(void)
{
	(void)ipc_send(w.master, IPC_PARK_WAKE, 0, NULL, 0, -1);
}

/* session_env is what every session of this worker is run with. */
static const struct worker_session_env *session_env(void)
{
	static struct worker_session_env env;
	env.ev = w.ev;
	env.store = w.store;
	env.closed = session_closed;
	env.max_message_size = w.config.smtp_max_message_size;
	env.max_imap_sessions = IPC_ACCOUNT_MAX_IMAP_SESSIONS;
	env.http = (struct worker_http_env){ .dav = w.dav, .autoconfig = &w.autoconfig,
					     .hooks = worker_schedule_hooks() };
	env.park_delay_ms = w.config.imap_park_delay;
	env.http_idle_seconds = w.config.http_idle_timeout;
	env.park = park_session;
	env.wake = park_wake;
	return &env;
}

static void handoff_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct pending_session *p = ctx;
	struct handoff h = { 0 };
	(void)ipc;
	const char *error = msg->kind == IPC_HANDOFF ? NULL : "unexpected message";

	if (p->protocol == IPC_PROTO_IMAP)
		w.imap_pending--; /* an open session or none from here on */

	if (msg->kind == IPC_HANDOFF && handoff_decode(msg->payload, msg->len, &h, &error) == 0 &&
	    h.protocol != p->protocol)
		error = "a protocol other than the ticket's";
	else if (msg->kind == IPC_HANDOFF && error == NULL)
		error = NULL;
	if (msg->kind != IPC_HANDOFF || error != NULL) {
		handoff_wipe(&h);
		log_error("session hand-off refused: %s", error);
		if (msg->fd >= 0)
			close(msg->fd);
		ipc_close(&p->link);
		free(p);
		session_closed();
		return;
	}
	/* The session now counts in place of the link that brought it. */
	if (worker_session_open(session_env(), msg->fd, &h) < 0)
		session_closed();
	handoff_wipe(&h);
	ipc_close(&p->link);
	free(p);
	sessions_report();
}

static void handoff_closed(struct ipc *ipc, void *ctx)
{
	struct pending_session *p = ctx;
	(void)ipc;
	if (p->protocol == IPC_PROTO_IMAP)
		w.imap_pending--;
	log_warn("a pre-auth process closed its session link without handing over");
	free(p);
	session_closed();
}

static void master_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ipc;
	(void)ctx;
	switch (msg->kind) {
	case IPC_WORKER_CONN: {
		struct link *l = w.links < WORKER_MAX_LINKS ? calloc(1, sizeof(*l)) : NULL;
		if (l != NULL)
			l->ipc = ipc_new(w.ev, msg->fd, "queue", link_handler, link_closed, l);
		if (l == NULL || l->ipc == NULL) {
			free(l);
			close(msg->fd);
			return;
		}
		w.links++;
		w.idle_asked = false;
		w.let_go = false;
		w.last_activity = ev_now(w.ev);
		/* The queue learns the quota before its first delivery (it may
		 * be asked at RCPT); a batch may be open only inside run_batch. */
		quota_refresh(true);
		uint64_t quota[2] = { w.quota_limit, w.quota_used };
		if (ipc_send(l->ipc, IPC_WORKER_QUOTA, 0, quota, sizeof(quota), -1) < 0)
			log_warn("the queue was not told the quota: its link is full");
		return;
	}
	case IPC_SESSION: {
		/* The session arrives on this link: one IPC_HANDOFF from the
		 * pre-auth process that served the login. */
		uint64_t protocol;
		memcpy(&protocol, msg->payload, sizeof(protocol));
		/* Taken, whatever becomes of it: master stops counting it as
		 * on its way here. */
		if (protocol == IPC_PROTO_IMAP)
			w.imap_taken++;
		struct pending_session *p = calloc(1, sizeof(*p));
		if (p != NULL) {
			p->protocol = protocol;
			p->link = ipc_new(w.ev, msg->fd, "pre-auth", handoff_message, handoff_closed, p);
		}
		if (p == NULL || p->link == NULL) {
			free(p);
			close(msg->fd);
			sessions_report();
			return;
		}
		w.links++;
		w.idle_asked = false;
		w.last_activity = ev_now(w.ev);
		if (protocol == IPC_PROTO_IMAP)
			w.imap_pending++;
		sessions_report();
		return;
	}
	case IPC_PEER: {
		/* Links to spam (learning) and to auth (the account's
		 * addresses); the role is master's word. */
		struct ipc_reader r;
		ipc_reader_init(&r, msg);
		uint64_t role = ipc_get_u64(&r);
		if (role == IPC_ROLE_AUTH && msg->fd >= 0)
			worker_account_link(w.ev, msg->fd);
		else if (role == IPC_ROLE_QUEUE && msg->fd >= 0)
			worker_submit_link(msg->fd);
		else
			worker_spam_link(w.ev, msg);
		return;
	}
	case IPC_UNPARK: {
		/* A parked session of this account comes back (its client
		 * wrote, or the account changed): master's word that it is. */
		struct ipc_reader r;
		ipc_reader_init(&r, msg);
		struct str state = ipc_get_str(&r, IPC_PARK_MAX_STATE);
		if (!ipc_reader_ok(&r)) {
			log_error("a malformed parked session from master: dropped");
			close(msg->fd);
			return;
		}
		w.links++;
		w.idle_asked = false;
		w.last_activity = ev_now(w.ev);
		w.imap_taken++; /* master counts it as given, as a login's */
		if (worker_session_unpark(session_env(), msg->fd, state) < 0)
			session_closed();
		sessions_report();
		return;
	}
	case IPC_WORKER_RETIRE:
		w.retiring = true;
		maybe_exit();
		return;
	default:
		log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
		if (msg->fd >= 0)
			close(msg->fd);
	}
}

static void idle_check(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	uint64_t quiet_ms = ev_now(w.ev) - w.last_activity;
	if (w.links == w.released &&
	    (w.released > 0 || w.let_go || quiet_ms >= w.config.worker_idle_timeout * 1000 ||
	     (w.parked_last && quiet_ms >= WORKER_PARKED_EXIT_MS)))
		ask_to_exit();
	/* A worker kept only by idle IMAP sessions gives its caches back, so
	 * an account whose clients sit in IDLE costs as little as it can; a
	 * worker that served a socket since the last check keeps them (it
	 * would only read the same pages again). */
	uint64_t io_calls = ev_io_calls(w.ev);
	bool quiet = io_calls == w.io_calls_seen;
	w.io_calls_seen = io_calls;
	if (quiet && ev_now(w.ev) - w.last_trim >= WORKER_TRIM_INTERVAL_MS) {
		store_release_memory(w.store);
		malloc_trim(0);
		w.last_trim = ev_now(w.ev);
	}
	worker_hygiene_kick();
	worker_index_check();
	ev_timer_add(w.ev, 1000, idle_check, NULL);
}

static void on_term(int signo, void *ctx)
{
	(void)signo;
	(void)ctx;
	worker_session_shutdown_all();
	ev_stop(w.ev);
}

/* account_known: auth has told the account's addresses; what waited for
 * them goes on (HTTP requests, calendar mails delivered first). */
static void account_known(void)
{
	worker_session_account_known();
	worker_schedule_account_known();
}

int worker_main(uint64_t account)
{
	char name[48], dir[PATH_MAX];
	const char *error;

	snprintf(name, sizeof(name), "worker %llu", (unsigned long long)account);
	if (process_child_init(name, &w.config) < 0)
		return 1;
	w.account = account;
	worker_account_init(account, account_known);
	w.batch_tail = &w.batch_head;
	tzset();
	snprintf(dir, sizeof(dir), "%s/accounts/%llu", w.config.data, (unsigned long long)account);
	/* The jail: this account's directory and nothing else. */
	struct jail jail = { .name = name, .paths = { { dir, true } }, .path_count = 1,
			     .role = JAIL_ROLE_WORKER };
	/* Its uid is this account's own: no other worker's files are open to it. */
	if (uids_enter_for(&w.config, jail.role, account, &jail.ids) < 0)
		return 1;
	/* Libraries read what they need from outside before the jail shuts. */
	if (store_preinit(&error) < 0) {
		log_error("%s", error);
		return 1;
	}
	if (jail_enter(&jail) < 0)
		return 1;
	if (store_create(dir, &error) < 0 || store_open(dir, &w.store, &error) < 0) {
		log_error("opening the store failed: %s", error);
		return 1;
	}
	/* Mail goes on without the calendars: a dav.db that cannot be
	 * opened fails HTTP only. */
	w.dav = dav_store_open(dir, &error);
	if (w.dav == NULL)
		log_error("opening the calendars and contacts (dav.db) failed: %s", error);
	autoconfig_settings_from(&w.config, NULL, &w.autoconfig);
	w.ev = ev_new();
	if (w.ev == NULL)
		return 1;
	struct ipc *master = process_master_link(w.ev, master_handler, NULL);
	if (master == NULL)
		return 1;
	w.master = master;
	worker_schedule_init(w.dav);
	worker_submit_init(w.ev);
	worker_hygiene_init(w.ev, w.store);
	worker_index_start(w.ev, w.store);
	if (worker_commit_start(w.ev, w.store, worker_session_synced, &error) < 0)
		log_error("group commit is off (every commit syncs): %s", error);
	ev_signal_add(w.ev, SIGTERM, on_term, NULL);
	signal(SIGPIPE, SIG_IGN);
	w.last_activity = ev_now(w.ev);
	ev_timer_add(w.ev, 1000, idle_check, master);
	ev_run(w.ev);
	worker_commit_now();
	worker_submit_close();
	dav_store_close(&w.dav);
	store_close(&w.store);
	return 0;
}
