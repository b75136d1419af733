/*
 * fuzz-ipc: libFuzzer target for the IPC reader (src/lib/ipc.c) and its
 * kind table, fed as a peer feeds it: whole SOCK_SEQPACKET messages over
 * a socketpair, each with up to three descriptors (a pipe's ends) beside.
 *
 * The first byte chooses the reader: the event-driven one (ipc_new, with
 * a handler), the blocking one (ipc_recv_blocking, with a buffer that may
 * be smaller than a message) or a spawner's link (ipc_spawner_link_new).
 * Then come records, each a flags byte, a kind byte, two length bytes
 * and the bytes: with the "raw" flag they are the message, header and
 * all; else a header is made with that kind and a length that is true or
 * off by the record's choice.  Checked for every message a reader
 * accepts: its kind is known, its payload is within the bounds the table
 * gives that kind, it has a descriptor exactly when the table says so,
 * the payload lies in the receive buffer, and a secret kind's payload is
 * wiped once the handler has returned; an ipc_reader walk over it (the
 * fields chosen by the message id) never reads past it.  After every
 * message no descriptor is left open that the reader did not hand out.
 *
 * ipc.c is compiled into this file so that the checks read the kind
 * table itself, not a copy of it.
 */
#include "lib/ipc.c"

#include <stdint.h>
#include <sys/stat.h>

/* The messages of one input; libFuzzer's input size bounds it before. */
#define FUZZ_MAX_MESSAGES 64

enum fuzz_mode {
	MODE_EVENT,    /* ipc_new and its handler */
	MODE_BLOCKING, /* ipc_recv_blocking */
	MODE_SPAWNER,  /* ipc_spawner_link_new */
	MODE_COUNT,
};

/* Record flags. */
#define REC_FDS 0x03     /* descriptors to pass beside: 0..3 */
#define REC_RAW 0x04     /* the bytes are the whole message */
#define REC_BAD_LEN 0x08 /* the header's length is off by the kind byte */

struct fuzz_state {
	bool closed;         /* the closed callback has run */
	bool secret_seen;    /* the last message handled was secret */
	size_t secret_len;   /* its header and payload */
};

static struct fuzz_state state;

static void quiet(enum log_level level, const char *record, size_t len)
{
	(void)level;
	(void)record;
	(void)len;
}

/* lowest_free_fd: the descriptor the next open would get. */
static int lowest_free_fd(void)
{
	int fd = dup(0);
	if (fd < 0)
		abort();
	close(fd);
	return fd;
}

/* check_fd checks that fd is a descriptor this process has open. */
static void check_fd(int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
}

/* check_accepted holds an accepted message against the table. */
static void check_accepted(const struct ipc_msg *msg, const unsigned char *buf, size_t bufsize)
{
	if ((unsigned)msg->kind == 0 || msg->kind >= IPC_KIND_MAX || kinds[msg->kind].name == NULL)
		abort();
	if (msg->len < kinds[msg->kind].min_len || msg->len > kinds[msg->kind].max_len ||
	    msg->len > IPC_MAX_PAYLOAD)
		abort();
	if (kinds[msg->kind].fd != (msg->fd >= 0))
		abort();
	if (msg->fd >= 0)
		check_fd(msg->fd);
	if (msg->payload != buf + sizeof(struct ipc_header) ||
	    sizeof(struct ipc_header) + msg->len > bufsize)
		abort();
	/* Fields as the message id says: two bits each, a u64, a short
	 * string, a long one, or the end. */
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	for (uint64_t script = msg->id; script != 0; script >>= 2) {
		const unsigned char *before = r.p;
		size_t left = r.left;
		unsigned op = script & 3;
		if (op == 3)
			break;
		if (op == 0) {
			(void)ipc_get_u64(&r);
		} else {
			size_t max = op == 1 ? 16 : IPC_LOGIN_MAX_PASSWORD;
			struct str s = ipc_get_str(&r, max);
			if (s.len > max ||
			    (s.len > 0 && (s.ptr < (const char *)msg->payload ||
					   s.ptr + s.len > (const char *)msg->payload + msg->len)))
				abort();
		}
		if (r.left > left || (!r.bad && r.p != before + (left - r.left)))
			abort();
	}
	if (ipc_reader_ok(&r) && r.left != 0)
		abort();
}

static void handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ipc;
	(void)ctx;
	check_accepted(msg, ipc_inbuf, sizeof(ipc_inbuf));
	state.secret_seen = kinds[msg->kind].secret;
	state.secret_len = sizeof(struct ipc_header) + msg->len;
	if (msg->fd >= 0)
		close(msg->fd);
}

static void closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	if (state.closed)
		abort();
	state.closed = true;
}

static void preauth_fn(int fd, uint64_t serial, void *ctx)
{
	(void)serial;
	(void)ctx;
	check_fd(fd);
	close(fd);
}

static void preauth_client_fn(uint64_t serial, struct str address, void *ctx)
{
	(void)serial;
	(void)ctx;
	if (address.len > IPC_LOGIN_MAX_IP)
		abort();
}

/* send_record sends one message with nfds descriptors beside it; false
 * if the kernel would not take it (too big, or the link is gone). */
static bool send_record(int fd, const unsigned char *msg, size_t len, unsigned nfds, int pipe_fd)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 3)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[3] = { pipe_fd, pipe_fd, pipe_fd };

	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

/* next_record builds the next message from the input into msg; returns
 * its length, or 0 at the end of the input. */
static size_t next_record(const uint8_t **data, size_t *size, unsigned char *msg, size_t room,
			  uint8_t *flags_r)
{
	if (*size < 4)
		return 0;
	uint8_t flags = (*data)[0], kind = (*data)[1];
	size_t len = (size_t)(*data)[2] | (size_t)(*data)[3] << 8;
	*data += 4;
	*size -= 4;
	if (len > *size)
		len = *size;
	*flags_r = flags;
	if (flags & REC_RAW) {
		if (len == 0 || len > room)
			return 0;
		memcpy(msg, *data, len);
		*data += len;
		*size -= len;
		return len;
	}
	struct ipc_header h = { .kind = kind % (IPC_KIND_MAX + 1), .len = (uint32_t)len };
	if (sizeof(h) + len > room)
		return 0;
	if (flags & REC_BAD_LEN)
		h.len += (uint32_t)(int8_t)kind;
	/* The id scripts the field walk: take it from the payload's start. */
	memcpy(&h.id, *data, len < sizeof(h.id) ? len : sizeof(h.id));
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), *data, len);
	*data += len;
	*size -= len;
	return sizeof(h) + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char msg[sizeof(struct ipc_header) + IPC_MAX_PAYLOAD + 64];
	static unsigned char rbuf[sizeof(struct ipc_header) + IPC_MAX_PAYLOAD];
	static bool init;
	int sv[2], pipe_fds[2];

	if (!init) {
		log_set_sink(quiet);
		init = true;
	}
	if (size < 1)
		return 0;
	enum fuzz_mode mode = (enum fuzz_mode)(data[0] % MODE_COUNT);
	/* The blocking reader's buffer: whole, or cut short by the input. */
	size_t rsize = data[0] & 0x80 ? sizeof(struct ipc_header) + (size_t)data[0] : sizeof(rbuf);
	data++;
	size--;

	int first_free = lowest_free_fd();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0 || pipe(pipe_fds) < 0)
		abort();
	state = (struct fuzz_state){ 0 };
	struct ev *ev = ev_new();
	struct ipc *ipc = NULL;
	if (ev == NULL)
		abort();
	if (mode == MODE_EVENT)
		ipc = ipc_new(ev, sv[1], "fuzz", handler, closed, NULL);
	else if (mode == MODE_SPAWNER)
		ipc = ipc_spawner_link_new(ev, sv[1], "fuzz", preauth_fn, preauth_client_fn, NULL);
	if (mode != MODE_BLOCKING && ipc == NULL)
		abort();

	bool gone = false;
	size_t len;
	uint8_t flags = 0;
	for (int n = 0; n < FUZZ_MAX_MESSAGES && !gone &&
			(len = next_record(&data, &size, msg, sizeof(msg), &flags)) > 0;
	     n++) {
		int fds_before = lowest_free_fd();
		if (!send_record(sv[0], msg, len, flags & REC_FDS, pipe_fds[0]))
			continue;
		if (mode == MODE_BLOCKING) {
			struct ipc_msg m;
			if (ipc_recv_blocking(sv[1], &m, rbuf, rsize, 1000) < 0) {
				if (errno == ETIMEDOUT)
					abort(); /* a message was waiting */
				gone = true;
			} else {
				check_accepted(&m, rbuf, rsize);
				if (m.fd >= 0)
					close(m.fd);
			}
		} else {
			state.secret_seen = false;
			bool was_closed = state.closed;
			ipc_ready(ipc->io, EV_READ, ipc);
			if (state.secret_seen) {
				for (size_t i = 0; i < state.secret_len; i++)
					if (ipc_inbuf[i] != 0)
						abort();
			}
			/* A spawner's link closes without calling back; a
			 * malformed message closes any link. */
			if (state.closed && !was_closed)
				gone = true;
			if (mode == MODE_SPAWNER && fcntl(sv[1], F_GETFD) < 0)
				gone = true;
		}
		/* A link that went away took its own descriptor with it. */
		int expect = gone && mode != MODE_BLOCKING && sv[1] < fds_before ? sv[1] : fds_before;
		if (lowest_free_fd() != expect)
			abort();
	}
	close(sv[0]);
	if (mode == MODE_BLOCKING) {
		close(sv[1]);
	} else if (!gone) {
		/* The peer hangs up: the link is closed and freed, as the
		 * processes leave their links (a spawner's link with it). */
		ipc_ready(ipc->io, EV_READ, ipc);
		if (mode == MODE_EVENT && !state.closed)
			abort();
	}
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	ev_free(&ev);
	if (lowest_free_fd() != first_free)
		abort();
	return 0;
}
