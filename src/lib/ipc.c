/* ipc: typed, length-checked messages over socketpairs (see ipc.h). */
#include "ipc.h"
#include "srs.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "dns.h"
#include "log.h"
#include "ticket.h"

/* What each kind may carry: payload bounds (from the field limits the
 * senders use, ipc-limits.h), whether a descriptor must come with it, and
 * whether the payload is a secret (wiped from ipc's buffers once handled).
 * Anything else is a malformed message. */
#define U64 IPC_U64_SIZE
static const struct {
	const char *name;
	size_t min_len, max_len;
	bool fd;
	bool secret;
} kinds[IPC_KIND_MAX] = {
	[IPC_LOG] = { "log", 2 * U64, U64 + IPC_STR_SIZE(LOG_MAX_RECORD), false, false },
	[IPC_PEER] = { "peer", 2 * U64, 2 * U64, true, false },
	[IPC_LISTEN] = { "listen", U64, U64, true, false },
	[IPC_RCPT_LOOKUP] = { "rcpt-lookup", 2 * U64, IPC_STR_SIZE(IPC_MAX_PATH) + U64, false,
			      false },
	[IPC_RCPT_RESULT] = { "rcpt-result", 5 * U64,
			      2 * U64 + U64 * IPC_RCPT_MAX_ACCOUNTS + U64 +
				      IPC_STR_SIZE(TICKET_RCPT_MAC_SIZE) + U64 +
				      IPC_RCPT_MAX_FORWARDS * (IPC_STR_SIZE(IPC_MAX_PATH) +
							       IPC_STR_SIZE(TICKET_RCPT_MAC_SIZE)),
			      false, false },
	[IPC_QUEUE_BEGIN] = { "queue-begin", 5 * U64,
			      IPC_STR_SIZE(IPC_MAX_PATH) + 3 * U64 +
				      IPC_STR_SIZE(TICKET_RCPT_MAC_SIZE) +
				      IPC_STR_SIZE(IPC_LOGIN_MAX_IP) + IPC_STR_SIZE(IPC_SPAM_MAX_HELO),
			      false, false },
	[IPC_QUEUE_RCPT] = { "queue-rcpt", 4 * U64,
			     IPC_STR_SIZE(IPC_MAX_PATH) + U64 + U64 * IPC_RCPT_MAX_ACCOUNTS + U64 +
				     IPC_STR_SIZE(TICKET_RCPT_MAC_SIZE),
			     false, false },
	[IPC_QUEUE_DATA] = { "queue-data", 1, IPC_MAX_PAYLOAD, false, false },
	[IPC_QUEUE_END] = { "queue-end", U64, 2 * U64 + IPC_STR_SIZE(IPC_QUEUE_MAX_PREPEND), false,
			    false },
	[IPC_QUEUE_RESULT] = { "queue-result", 2 * U64, U64 + IPC_STR_SIZE(IPC_QUEUE_MAX_REPLY),
			       false, false },
	[IPC_WORKER_REQUEST] = { "worker-request", U64, U64, false, false },
	[IPC_WORKER_CONN] = { "worker-conn", U64, U64, true, false },
	[IPC_DELIVER] = { "deliver", 4 * U64,
			  IPC_STR_SIZE(IPC_DELIVER_MAX_KEY) + IPC_STR_SIZE(IPC_MAX_PATH) + 2 * U64,
			  true, false },
	[IPC_DELIVER_RESULT] = { "deliver-result", 5 * U64,
				 4 * U64 + IPC_STR_SIZE(IPC_DELIVER_MAX_TEXT), false, false },
	[IPC_WORKER_IDLE] = { "worker-idle", 0, 0, false, false },
	[IPC_WORKER_RETIRE] = { "worker-retire", 0, 0, false, false },
	[IPC_WORKER_UNAVAILABLE] = { "worker-unavailable", U64, U64, false, false },
	[IPC_TICKET_KEY] = { "ticket-key", TICKET_KEY_SIZE, TICKET_KEY_SIZE, false, true },
	[IPC_LOGIN] = { "login", 3 * U64,
			IPC_STR_SIZE(IPC_LOGIN_MAX_USER) + IPC_STR_SIZE(IPC_LOGIN_MAX_PASSWORD) +
				IPC_STR_SIZE(IPC_LOGIN_MAX_IP),
			false, true },
	[IPC_LOGIN_RESULT] = { "login-result", 3 * U64, 2 * U64 + IPC_STR_SIZE(TICKET_SIZE),
			       false, false },
	[IPC_SESSION_OPEN] = { "session-open", 2 * U64, U64 + IPC_STR_SIZE(TICKET_SIZE), false,
			       false },
	[IPC_SESSION_READY] = { "session-ready", U64, U64, true, false },
	[IPC_SESSION_REFUSED] = { "session-refused", U64, U64, false, false },
	[IPC_SESSION] = { "session", U64, U64, true, false },
	[IPC_CONNCOUNT] = { "conncount", U64, U64, true, false },
	[IPC_KEY_SIGN] = { "key-sign", 2 * U64, U64 + IPC_STR_SIZE(IPC_KEY_MAX_INPUT), false,
			   false },
	[IPC_KEY_SIGNATURE] = { "key-signature", 2 * U64,
				U64 + IPC_STR_SIZE(IPC_KEY_MAX_SIGNATURE), false, false },
	[IPC_PREAUTH_CONN] = { "preauth-conn", U64, U64, true, false },
	[IPC_PREAUTH_STATE] = { "preauth-state", 2 * U64, 2 * U64, false, false },
	[IPC_HANDOFF] = { "handoff", U64, IPC_MAX_PAYLOAD, true, true },
	[IPC_PEER_REQUEST] = { "peer-request", U64, U64, false, false },
	[IPC_WORKER_RELEASE] = { "worker-release", 0, 0, false, false },
	[IPC_WORKER_DEFERRED] = { "worker-deferred", 3 * U64,
				  2 * U64 + IPC_STR_SIZE(IPC_DELIVER_MAX_TEXT), false, false },
	[IPC_RCPT_KEY] = { "rcpt-key", TICKET_KEY_SIZE, TICKET_KEY_SIZE, false, true },
	[IPC_PREAUTH_CLIENT] = { "preauth-client", 2 * U64, U64 + IPC_STR_SIZE(IPC_LOGIN_MAX_IP),
				 false, false },
	[IPC_TLS_CERT] = { "tls-cert", U64, U64, true, false },
	[IPC_WORKER_QUOTA] = { "worker-quota", 2 * U64, 2 * U64, false, false },
	[IPC_QUEUE_QUOTA] = { "queue-quota", 5 * U64,
			      U64 + IPC_STR_SIZE(IPC_MAX_PATH) + U64 +
				      U64 * IPC_RCPT_MAX_ACCOUNTS + U64 +
				      IPC_STR_SIZE(TICKET_RCPT_MAC_SIZE),
			      false, false },
	[IPC_DNS_QUERY] = { "dns-query", 2 * U64, U64 + IPC_STR_SIZE(DNS_MAX_NAME), false, false },
	[IPC_DNS_ANSWER] = { "dns-answer", 3 * U64, DNS_MAX_ANSWER, false, false },
	[IPC_QUEUE_CONTROL] = { "queue-control", 2 * U64, U64 + IPC_STR_SIZE(IPC_QUEUE_MAX_ID),
				false, false },
	[IPC_SUBMIT_LOGIN] = { "submit-login", 3 * U64,
			       IPC_STR_SIZE(IPC_LOGIN_MAX_USER) +
				       IPC_STR_SIZE(IPC_LOGIN_MAX_PASSWORD) +
				       IPC_STR_SIZE(IPC_LOGIN_MAX_IP),
			       false, true },
	[IPC_SUBMIT_SENDERS] = { "submit-senders", 3 * U64,
				 3 * U64 + IPC_SUBMIT_MAX_SENDERS *
						   (IPC_STR_SIZE(IPC_MAX_ADDRESS) +
						    IPC_STR_SIZE(TICKET_RCPT_MAC_SIZE)),
				 false, false },
	[IPC_RELAY_OPEN] = { "relay-open", U64, IPC_STR_SIZE(IPC_RELAY_MAX_DEST), false, false },
	[IPC_RELAY_READY] = { "relay-ready", U64, U64, true, false },
	[IPC_RELAY_REFUSED] = { "relay-refused", U64, U64, false, false },
	[IPC_RELAY_MSG] = { "relay-msg", 6 * U64,
			    4 * U64 + IPC_STR_SIZE(IPC_MAX_PATH) + U64 +
				    IPC_RELAY_MAX_RCPTS * IPC_STR_SIZE(IPC_MAX_PATH),
			    true, false },
	[IPC_RELAY_RESULT] = { "relay-result", 5 * U64,
			       3 * U64 + IPC_STR_SIZE(IPC_RELAY_MAX_ANSWER) +
				       IPC_STR_SIZE(IPC_RELAY_MAX_HOST),
			       false, false },
	[IPC_RELAY_DONE] = { "relay-done", U64, U64, false, false },
	[IPC_SPAM_CHECK] = { "spam-check", 4 * U64,
			     IPC_STR_SIZE(IPC_LOGIN_MAX_IP) + IPC_STR_SIZE(IPC_SPAM_MAX_HELO) +
				     IPC_STR_SIZE(IPC_MAX_PATH) + U64 +
				     IPC_SPAM_MAX_RCPTS * IPC_STR_SIZE(IPC_MAX_PATH),
			     true, false },
	[IPC_SPAM_VERDICT] = { "spam-verdict", 3 * U64,
			       U64 + IPC_STR_SIZE(IPC_SPAM_MAX_HEADERS) +
				       IPC_STR_SIZE(IPC_SPAM_MAX_REPLY),
			       false, false },
	[IPC_SPAM_LEARN] = { "spam-learn", U64, U64, true, false },
	[IPC_SRS_KEY] = { "srs-key", SRS_KEY_SIZE, SRS_KEY_SIZE, false, true },
	[IPC_ACCOUNT_INFO_ASK] = { "account-info-ask", 0, 0, false, false },
	[IPC_ACCOUNT_INFO] = { "account-info", 4 * U64,
			       2 * U64 + 2 * IPC_STR_SIZE(IPC_ACCOUNT_MAX_NAME) +
				       IPC_ACCOUNT_MAX_ADDRESSES * IPC_STR_SIZE(IPC_MAX_PATH),
			       false, false },
	[IPC_SUBMIT_SENDERS_ASK] = { "submit-senders-ask", 0, 0, false, false },
	[IPC_WORKER_SESSIONS] = { "worker-sessions", 2 * U64, 2 * U64, false, false },
	[IPC_PARK] = { "park", U64, IPC_STR_SIZE(IPC_PARK_MAX_STATE), true, true },
	[IPC_PARK_WAKE] = { "park-wake", 0, 0, false, false },
	[IPC_UNPARK] = { "unpark", U64, IPC_STR_SIZE(IPC_PARK_MAX_STATE), true, true },
	[IPC_PARK_GONE] = { "park-gone", 0, 0, false, false },
};
_Static_assert(DNS_MAX_ANSWER <= IPC_MAX_PAYLOAD, "a DNS answer fits one message");
_Static_assert(2 * U64 + 2 * IPC_STR_SIZE(IPC_ACCOUNT_MAX_NAME) +
			       IPC_ACCOUNT_MAX_ADDRESSES * IPC_STR_SIZE(IPC_MAX_PATH) <=
		       IPC_MAX_PAYLOAD,
	       "an account's addresses fit one message");
#undef U64

struct ipc_out {
	struct ipc_out *next;
	int fd;
	bool secret;              /* wiped before it is freed */
	size_t len;
	unsigned char data[];
};

/* One receive buffer for every link of the process: a message is handled
 * before the next is read (handlers copy what they keep, as they must
 * anyway, since the next message on their own link would overwrite it),
 * so a process with thousands of links (master, auth, queue and keys have
 * one per pre-auth process) does not hold 64 KiB for each. */
static unsigned char ipc_inbuf[sizeof(struct ipc_header) + IPC_MAX_PAYLOAD];

struct ipc {
	struct ev *ev;
	struct ev_io *io;
	int fd;
	char peer[48];
	ipc_handler_fn *handler;
	ipc_closed_fn *closed;
	void (*drained)(struct ipc *ipc, void *ctx);
	void *ctx;
	struct ipc_out *out_head, *out_tail;
	size_t queued;
	size_t max_queued;
	bool in_handler;
	bool dead;
};

const char *ipc_service_name(enum ipc_service service)
{
	switch (service) {
	case IPC_SERVICE_SMTP:
		return "SMTP";
	case IPC_SERVICE_POP3:
		return "POP3";
	case IPC_SERVICE_POP3S:
		return "POP3S";
	case IPC_SERVICE_IMAP:
		return "IMAP";
	case IPC_SERVICE_IMAPS:
		return "IMAPS";
	case IPC_SERVICE_SUBMISSION:
		return "submission";
	case IPC_SERVICE_SUBMISSIONS:
		return "submissions";
	case IPC_SERVICE_HTTPS:
		return "HTTPS";
	case IPC_SERVICE_HTTP:
		return "HTTP";
	}
	return "unknown";
}

const char *ipc_kind_name(enum ipc_kind kind)
{
	return kind > 0 && kind < IPC_KIND_MAX ? kinds[kind].name : "unknown";
}

/* kind_secret: is the payload of kind a secret that ipc wipes after use? */
static bool kind_secret(enum ipc_kind kind)
{
	return kind > 0 && kind < IPC_KIND_MAX && kinds[kind].secret;
}

/* out_free releases one queued message, wiping it first if it is secret. */
static void out_free(struct ipc_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->secret)
		sodium_memzero(o->data, o->len);
	free(o);
}

static void ipc_free(struct ipc *ipc)
{
	struct ipc_out *o = ipc->out_head;
	while (o != NULL) {
		struct ipc_out *next = o->next;
		out_free(o);
		o = next;
	}
	ev_io_del(&ipc->io);
	close(ipc->fd);
	free(ipc);
}

void ipc_close(struct ipc **ipcp)
{
	struct ipc *ipc = *ipcp;
	if (ipc == NULL)
		return;
	*ipcp = NULL;
	if (ipc->in_handler) {
		/* Freed when the handler returns. */
		ipc->dead = true;
		ipc->closed = NULL;
		return;
	}
	ipc_free(ipc);
}

static void ipc_fail(struct ipc *ipc)
{
	ipc_closed_fn *closed = ipc->closed;
	ipc->closed = NULL;
	ipc->dead = true;
	/* ipc_ready frees it once the callbacks have returned. */
	if (closed != NULL)
		closed(ipc, ipc->ctx);
}

static void update_events(struct ipc *ipc)
{
	ev_io_set(ipc->io, EV_READ | (ipc->out_head != NULL ? EV_WRITE : 0));
}

/* send_one sends one message made of head and payload (payload may be
 * NULL), gathered by the kernel: no copy of the payload is made first,
 * nor a stack frame of IPC_MAX_PAYLOAD to hold it (in a pre-auth process
 * each call reached 64 KB down its stack, a page fault or two more per
 * connection). */
static int send_one(int fd, const void *head, size_t head_len, const void *payload, size_t len,
		    int pass_fd)
{
	struct iovec iov[2] = { { .iov_base = (void *)head, .iov_len = head_len },
				{ .iov_base = (void *)payload, .iov_len = len } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = payload != NULL && len > 0 ? 2 : 1 };

	if (pass_fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return -1;
	return 0; /* SEQPACKET: all or nothing */
}

static int flush_out(struct ipc *ipc)
{
	while (ipc->out_head != NULL) {
		struct ipc_out *o = ipc->out_head;
		if (send_one(ipc->fd, o->data, o->len, NULL, 0, o->fd) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				break;
			return -1;
		}
		ipc->out_head = o->next;
		if (ipc->out_head == NULL)
			ipc->out_tail = NULL;
		ipc->queued -= o->len;
		out_free(o);
	}
	return 0;
}

/* check_message holds a received message against the kind table; false
 * (logged, naming peer) if it is malformed. */
static bool check_message(const char *peer, const struct ipc_header *h, size_t got, int fd)
{
	const char *why = NULL;

	if (h->kind == 0 || h->kind >= IPC_KIND_MAX || kinds[h->kind].name == NULL)
		why = "unknown kind";
	else if (h->len != got - sizeof(*h))
		why = "length does not match";
	else if (h->len < kinds[h->kind].min_len || h->len > kinds[h->kind].max_len)
		why = "length out of bounds";
	else if (kinds[h->kind].fd != (fd >= 0))
		why = "descriptor missing or unexpected";
	if (why == NULL)
		return true;
	log_error("malformed message from %s (kind %u, %u bytes): %s; closing the link",
		  peer, h->kind, h->len, why);
	return false;
}

/* What recv_message found. */
enum recv_result {
	RECV_MESSAGE,   /* *msg is a well-formed message */
	RECV_NONE,      /* nothing waiting */
	RECV_EOF,       /* the peer closed the link */
	RECV_ERROR,     /* recvmsg failed (errno) */
	RECV_MALFORMED, /* logged; its descriptors are closed */
};

/* recv_message takes one waiting message from fd into buf (size bytes,
 * header included) and checks it against the kind table, the one check
 * both readers share.  On RECV_MESSAGE, msg->payload points into buf and
 * msg->fd (-1 or a descriptor) is the caller's. */
static enum recv_result recv_message(int fd, unsigned char *buf, size_t size, const char *peer,
				     struct ipc_msg *msg)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	/* A peer that closed with messages of ours unread leaves ECONNRESET,
	 * which a SOCK_SEQPACKET socket reports before the messages it sent
	 * first (a child's last log record, why it could not start).  The
	 * report clears the error: read again, and the queue comes, then 0. */
	if (n < 0 && errno == ECONNRESET)
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return RECV_NONE;
	if (n < 0)
		return RECV_ERROR;
	if (n == 0)
		return RECV_EOF;
	int passed = -1, extra = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (passed < 0) {
				passed = f;
			} else {
				close(f);
				extra++;
			}
		}
	}
	struct ipc_header h;
	bool ok = (size_t)n >= sizeof(h) && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) &&
		  extra == 0;
	if (ok) {
		memcpy(&h, buf, sizeof(h));
		ok = check_message(peer, &h, (size_t)n, passed);
	} else {
		log_error("malformed message from %s: truncated or extra descriptors; "
			  "closing the link", peer);
	}
	if (!ok) {
		if (passed >= 0)
			close(passed);
		return RECV_MALFORMED;
	}
	*msg = (struct ipc_msg){ .kind = (enum ipc_kind)h.kind, .id = h.id,
				 .payload = buf + sizeof(h), .len = h.len, .fd = passed };
	return RECV_MESSAGE;
}

/* ipc_readable hands the waiting messages to the handler, a bounded number
 * per wake-up so that one busy peer does not starve the others. */
static void ipc_readable(struct ipc *ipc)
{
	for (int round = 0; round < 64 && !ipc->dead; round++) {
		struct ipc_msg msg;
		switch (recv_message(ipc->fd, ipc_inbuf, sizeof(ipc_inbuf), ipc->peer, &msg)) {
		case RECV_NONE:
			return;
		case RECV_ERROR:
			log_warn("recvmsg(%s) failed: %m", ipc->peer);
			ipc_fail(ipc);
			return;
		case RECV_MALFORMED:
			/* It may have been a secret kind, cut or too long. */
			sodium_memzero(ipc_inbuf, sizeof(ipc_inbuf));
			ipc_fail(ipc);
			return;
		case RECV_EOF:
			ipc_fail(ipc);
			return;
		case RECV_MESSAGE:
			break;
		}
		ipc->in_handler = true;
		ipc->handler(ipc, &msg, ipc->ctx);
		ipc->in_handler = false;
		/* The handler has copied what it keeps of a secret. */
		if (kinds[msg.kind].secret)
			sodium_memzero(ipc_inbuf, sizeof(struct ipc_header) + msg.len);
	}
}

static void ipc_ready(struct ev_io *io, unsigned events, void *ctx)
{
	struct ipc *ipc = ctx;
	(void)io;
	if (events & EV_WRITE) {
		if (flush_out(ipc) < 0) {
			ipc_fail(ipc);
			return;
		}
		if (ipc->out_head == NULL && ipc->drained != NULL)
			ipc->drained(ipc, ipc->ctx);
	}
	if (events & EV_READ)
		ipc_readable(ipc);
	if (ipc->dead) {
		if (!ipc->in_handler)
			ipc_free(ipc);
		return;
	}
	update_events(ipc);
}

struct ipc *ipc_new(struct ev *ev, int fd, const char *peer_name, ipc_handler_fn *handler,
		    ipc_closed_fn *closed, void *ctx)
{
	struct ipc *ipc = calloc(1, sizeof(*ipc));
	if (ipc == NULL)
		return NULL;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	ipc->ev = ev;
	ipc->fd = fd;
	ipc->max_queued = IPC_MAX_QUEUED;
	ipc->handler = handler;
	ipc->closed = closed;
	ipc->ctx = ctx;
	snprintf(ipc->peer, sizeof(ipc->peer), "%s", peer_name);
	ipc->io = ev_io_add(ev, fd, EV_READ, ipc_ready, ipc);
	if (ipc->io == NULL) {
		free(ipc);
		return NULL;
	}
	return ipc;
}

void ipc_reject(struct ipc **ipc, const struct ipc_msg *msg)
{
	log_error("unexpected %s message from %s: closing its link", ipc_kind_name(msg->kind),
		  ipc_peer_name(*ipc));
	if (msg->fd >= 0)
		close(msg->fd);
	ipc_close(ipc);
}

const char *ipc_peer_name(const struct ipc *ipc)
{
	return ipc->peer;
}

int ipc_flush_blocking(struct ipc *ipc, int timeout_ms)
{
	while (ipc->out_head != NULL && !ipc->dead) {
		if (flush_out(ipc) < 0)
			return -1;
		if (ipc->out_head == NULL)
			break;
		struct pollfd p = { .fd = ipc->fd, .events = POLLOUT };
		if (timeout_ms <= 0 || poll(&p, 1, 100) < 0)
			return -1;
		timeout_ms -= 100;
	}
	return ipc->out_head == NULL ? 0 : -1;
}

void ipc_set_max_queued(struct ipc *ipc, size_t max)
{
	ipc->max_queued = max;
}

size_t ipc_queued(const struct ipc *ipc)
{
	return ipc->queued;
}

void ipc_set_drained(struct ipc *ipc, void (*fn)(struct ipc *ipc, void *ctx))
{
	ipc->drained = fn;
}

int ipc_send(struct ipc *ipc, enum ipc_kind kind, uint64_t id, const void *payload, size_t len,
	     int fd)
{
	if (ipc->dead || len > IPC_MAX_PAYLOAD)
		return -1;
	struct ipc_header h = { .kind = (uint32_t)kind, .len = (uint32_t)len, .id = id };
	size_t total = sizeof(h) + len;
	if (ipc->out_head == NULL) {
		/* Straight from the caller's payload: no copy to wipe. */
		int sent = send_one(ipc->fd, &h, sizeof(h), payload, len, fd);
		if (sent == 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
			/* Told to stop, the peer may well have gone first. */
			if (ev_term_asked())
				log_debug("sendmsg(%s) failed: %m", ipc->peer);
			else
				log_warn("sendmsg(%s) failed: %m", ipc->peer);
			return -1;
		}
	}
	if (ipc->queued + total > ipc->max_queued) {
		log_error("%s does not read its link (%zu bytes queued); refusing more", ipc->peer,
			  ipc->queued);
		return -1;
	}
	struct ipc_out *o = malloc(sizeof(*o) + total);
	if (o == NULL)
		return -1;
	o->next = NULL;
	o->secret = kind_secret(kind);
	o->len = total;
	o->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	if (fd >= 0 && o->fd < 0) {
		/* Queued without its descriptor it would be malformed. */
		log_warn("keeping a descriptor for %s failed: %m", ipc->peer);
		free(o);
		return -1;
	}
	memcpy(o->data, &h, sizeof(h));
	if (len > 0)
		memcpy(o->data + sizeof(h), payload, len);
	if (ipc->out_tail != NULL)
		ipc->out_tail->next = o;
	else
		ipc->out_head = o;
	ipc->out_tail = o;
	ipc->queued += total;
	update_events(ipc);
	return 0;
}

int ipc_send_buf(struct ipc *ipc, enum ipc_kind kind, uint64_t id, const struct buf *payload,
		 int fd)
{
	return ipc_send(ipc, kind, id, payload->data, payload->len, fd);
}

int ipc_send_blocking(int fd, enum ipc_kind kind, uint64_t id, const void *payload, size_t len,
		      int pass_fd)
{
	struct ipc_header h = { .kind = (uint32_t)kind, .len = (uint32_t)len, .id = id };

	if (len > IPC_MAX_PAYLOAD)
		return -1;
	int r = -1;
	for (;;) {
		if (send_one(fd, &h, sizeof(h), payload, len, pass_fd) == 0) {
			r = 0;
			break;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			break;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, 1000) <= 0)
			break;
	}
	return r;
}

struct spawner_link {
	ipc_preauth_fn *fn;
	ipc_preauth_client_fn *client_fn;
	void *ctx;
};

static void spawner_link_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct spawner_link *l = ctx;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_PREAUTH_CLIENT && l->client_fn != NULL) {
		uint64_t client = ipc_get_u64(&r);
		struct str address = ipc_get_str(&r, IPC_LOGIN_MAX_IP);
		if (ipc_reader_ok(&r)) {
			l->client_fn(client, address, l->ctx);
			return;
		}
	}
	uint64_t role = ipc_get_u64(&r);
	uint64_t serial = ipc_get_u64(&r);
	if (msg->kind != IPC_PEER || !ipc_reader_ok(&r) || role != IPC_ROLE_PREAUTH) {
		ipc_reject(&ipc, msg);
		free(l);
		return;
	}
	l->fn(msg->fd, serial, l->ctx);
}

static void spawner_link_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	free(ctx);
}

struct ipc *ipc_spawner_link_new(struct ev *ev, int fd, const char *peer_name,
				 ipc_preauth_fn *fn, ipc_preauth_client_fn *client_fn, void *ctx)
{
	struct spawner_link *l = malloc(sizeof(*l));
	if (l == NULL)
		return NULL;
	l->fn = fn;
	l->client_fn = client_fn;
	l->ctx = ctx;
	struct ipc *ipc = ipc_new(ev, fd, peer_name, spawner_link_message, spawner_link_closed, l);
	if (ipc == NULL)
		free(l);
	return ipc;
}

int ipc_recv_blocking(int fd, struct ipc_msg *msg, void *buf, size_t bufsize, int timeout_ms)
{
	char peer[32];
	struct timespec start, now;

	assert(bufsize >= sizeof(struct ipc_header));
	snprintf(peer, sizeof(peer), "link %d", fd);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long spent = (now.tv_sec - start.tv_sec) * 1000LL +
				  (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ready = poll(&p, 1, (int)(timeout_ms - spent));
		if (ready < 0 && errno != EINTR)
			return -1;
		if (ready <= 0)
			continue;
		switch (recv_message(fd, buf, bufsize, peer, msg)) {
		case RECV_MESSAGE:
			return 0;
		case RECV_NONE:
			continue;
		case RECV_EOF:
			errno = ECONNRESET;
			return -1;
		case RECV_MALFORMED:
			errno = EPROTO;
			return -1;
		case RECV_ERROR:
			return -1;
		}
	}
}

int ipc_put_u64(struct buf *b, uint64_t v)
{
	return buf_append(b, &v, sizeof(v));
}

int ipc_put_str(struct buf *b, struct str s)
{
	if (ipc_put_u64(b, s.len) < 0)
		return -1;
	return buf_append(b, s.ptr, s.len);
}

void ipc_reader_init(struct ipc_reader *r, const struct ipc_msg *msg)
{
	r->p = msg->payload;
	r->left = msg->len;
	r->bad = false;
}

uint64_t ipc_get_u64(struct ipc_reader *r)
{
	uint64_t v = 0;
	if (r->bad || r->left < sizeof(v)) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	r->left -= sizeof(v);
	return v;
}

struct str ipc_get_str(struct ipc_reader *r, size_t max)
{
	uint64_t len = ipc_get_u64(r);
	if (r->bad || len > max || len > r->left) {
		r->bad = true;
		return STR_NULL;
	}
	struct str s = str_from((const char *)r->p, (size_t)len);
	r->p += len;
	r->left -= (size_t)len;
	return s;
}

bool ipc_reader_ok(const struct ipc_reader *r)
{
	return !r->bad && r->left == 0;
}

void preauth_name(uint64_t serial, char *out, size_t size)
{
	unsigned spawner = (unsigned)(serial >> PREAUTH_SERIAL_SHIFT);
	unsigned long long count = serial & PREAUTH_SERIAL_COUNT;
	if (spawner == 0)
		snprintf(out, size, "preauth %llu", count);
	else
		snprintf(out, size, "preauth %u.%llu", spawner, count);
}
