#ifndef RAVELIN_IPC_H
#define RAVELIN_IPC_H
/*
 * ipc: typed, length-checked messages between Ravelin's processes over
 * SOCK_SEQPACKET socketpairs that master creates and hands down (nobody
 * connects by path).  A message is a fixed header (kind, length, id) and a
 * payload of at most IPC_MAX_PAYLOAD bytes, with at most one descriptor
 * passed alongside.  The reader checks kind, length and descriptor against
 * the kind table before a handler sees the payload; a malformed message
 * closes that link and is logged (DESIGN rule 9).
 *
 * Payloads are sequences of fields written with ipc_put_* and read back
 * with an ipc_reader, which fails (sticky) instead of reading past the end.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ev.h"
#include "ipc-limits.h"
#include "str.h"

/* Big enough for a message chunk worth a syscall, small enough to fit the
 * default socket buffer whole. */
#define IPC_MAX_PAYLOAD (64 * 1024)
/* Bytes queued for a peer that does not read before the link is dropped. */
#define IPC_MAX_QUEUED (64 * 1024 * 1024)

enum ipc_kind {
	IPC_LOG = 1,          /* child -> master: level, text */
	IPC_PEER,             /* master -> child: peer role, index; fd (and spawner
			       * -> keys: IPC_ROLE_PREAUTH, index; fd) */
	IPC_LISTEN,           /* master -> front: service; fd */
	IPC_RCPT_LOOKUP,      /* front -> auth: address, transaction number */
	IPC_RCPT_RESULT,      /* auth -> front: status, count, account ids,
			       * seal expiry, seal (lib/ticket.h), forwards
			       * count, count x (remote address, its seal) */
	IPC_QUEUE_BEGIN,      /* front -> queue: sender, flags, sender's account
			       * (0: none), auth's seal on it (expiry, MAC) */
	IPC_QUEUE_RCPT,       /* front -> queue: one recipient, its accounts and
			       * auth's seal on them (expiry, MAC) */
	IPC_QUEUE_DATA,       /* front -> queue: message bytes */
	IPC_QUEUE_END,        /* front -> queue: ok [, flags, header lines to add] */
	IPC_QUEUE_RESULT,     /* queue -> front: status, queue id (also the
			       * answer to IPC_QUEUE_QUOTA, with no id) */
	IPC_WORKER_REQUEST,   /* queue -> master: account id */
	IPC_WORKER_CONN,      /* master -> queue or worker: account id; fd */
	IPC_DELIVER,          /* queue -> worker: key, sender, arrival; fd (the
			       * message only: spool_message_body) */
	IPC_DELIVER_RESULT,   /* worker -> queue: status, uid, text, and the
			       * account's quota limit and bytes used after it */
	IPC_WORKER_IDLE,      /* worker -> master: may I exit? */
	IPC_WORKER_RETIRE,    /* master -> worker: exit once your sessions end */
	IPC_WORKER_UNAVAILABLE, /* master -> queue: account id has no store */
	IPC_TICKET_KEY,       /* master -> auth: the key tickets are sealed with */
	IPC_LOGIN,            /* front -> auth: user, password, client address */
	IPC_LOGIN_RESULT,     /* auth -> front: status, delay, sealed ticket */
	IPC_SESSION_OPEN,     /* front -> master: protocol, sealed ticket */
	IPC_SESSION_READY,    /* master -> front: account; fd (the session) */
	IPC_SESSION_REFUSED,  /* master -> front: why (a code) */
	IPC_SESSION,          /* master -> worker: protocol; fd (the session) */
	IPC_CONNCOUNT,        /* master -> front: fronts; fd (the shared counts) */
	IPC_KEY_SIGN,         /* pre-auth -> keys: op, input (see ipc_key_op) */
	IPC_KEY_SIGNATURE,    /* keys -> pre-auth: status, signature */
	IPC_PREAUTH_CONN,     /* spawner -> pre-auth: service; fd (the client) */
	IPC_PREAUTH_STATE,    /* master -> spawner: serial, enum ipc_preauth_state */
	IPC_HANDOFF,          /* pre-auth -> worker: the session (see lib/handoff.h); fd */
	IPC_PEER_REQUEST,     /* spawner -> master: role whose link it lost */
	IPC_PREAUTH_CLIENT,   /* spawner -> auth: serial, the client's address */
	IPC_RCPT_KEY,         /* master -> auth, queue: the key recipients are
			       * sealed with */
	IPC_WORKER_RELEASE,   /* queue -> worker: no more deliveries on this link */
	IPC_WORKER_DEFERRED,  /* master -> queue: account id, wait (ms), why: its
			       * worker failed at start and is backing off */
	IPC_TLS_CERT,         /* master -> spawner: 0; fd (the certificate chain, reloaded) */
	IPC_WORKER_QUOTA,     /* worker -> queue: limit, used (its account's
			       * quota, when the delivery link opens) */
	IPC_QUEUE_QUOTA,      /* front -> queue: declared size, then the fields
			       * of IPC_QUEUE_RCPT (sealed for the transaction
			       * about to begin): does it fit? */
	IPC_DNS_QUERY,        /* asker -> resolver: type, name (lib/dns-msg.h) */
	IPC_DNS_ANSWER,       /* resolver -> asker, same id: status, secure,
			       * count, records (lib/dns-msg.h) */
	IPC_QUEUE_CONTROL,    /* master -> queue: op (ipc_queue_control), queue
			       * id or "all" (from `ravelin queue retry|delete`) */
	IPC_SUBMIT_LOGIN,     /* front -> auth: user, password, client address
			       * (as IPC_LOGIN) for submission: answered by
			       * IPC_LOGIN_RESULT with no ticket, the login stays
			       * in the pre-auth process */
	IPC_SUBMIT_SENDERS,   /* auth -> front, before an OK IPC_LOGIN_RESULT to
			       * IPC_SUBMIT_LOGIN: account, seal expiry, count,
			       * then per address the account may send as: address,
			       * seal (MAC) */
	IPC_RELAY_OPEN,       /* queue -> relay spawner: destination (a domain, or
			       * "[smarthost]") */
	IPC_RELAY_READY,      /* relay spawner -> queue (same id): 0; fd (the
			       * queue's end of a link to a new relay child) */
	IPC_RELAY_REFUSED,    /* relay spawner -> queue (same id): why */
	IPC_RELAY_MSG,        /* queue -> relay child: job, sender, flags, size,
			       * count, count x recipient; fd (the sealed message
			       * as it goes out) */
	IPC_RELAY_RESULT,     /* relay child -> queue: job, recipient index, reply
			       * code, answer, remote host */
	IPC_RELAY_DONE,       /* relay child -> queue: job (every recipient reported) */
	IPC_SPAM_CHECK,       /* queue -> spam: client ip, helo, sender, count,
			       * count x recipient; fd (sealed memfd: the message) */
	IPC_SPAM_VERDICT,     /* spam -> queue (same id): verdict (ipc_spam_verdict),
			       * header lines to add, text for the SMTP reply */
	IPC_SPAM_LEARN,       /* queue or worker -> spam: 1 spam, 0 ham; fd (the
			       * message, sealed memfd) */
	IPC_SRS_KEY,          /* master -> auth, queue: the SRS key (lib/srs.h) */
	IPC_ACCOUNT_INFO_ASK, /* worker -> auth, on the link master made for it:
			       * empty (the account is the link's, never named) */
	IPC_ACCOUNT_INFO,     /* auth -> worker: account id, primary address,
			       * display name (may be empty), count, count x
			       * address (its own and the aliases that lead to
			       * it alone) */
	IPC_SUBMIT_SENDERS_ASK, /* worker -> auth, on the link master made for
				 * it: empty; answered IPC_SUBMIT_SENDERS for
				 * the link's account, as for a submission
				 * login (the worker submits scheduling mail) */
	IPC_WORKER_SESSIONS,  /* worker -> master: IMAP sessions master gave it
			       * (IPC_SESSION) that it has taken so far, IMAP
			       * sessions it holds now (open or being handed
			       * over): master counts an account's sessions
			       * with them and refuses one too many at login */
	IPC_PARK,             /* worker -> master: state (src/park/park.h); fd (the
			       * client); master -> park, id the account: the same */
	IPC_PARK_WAKE,        /* worker -> master: empty (its account changed);
			       * master -> park, id the account: empty */
	IPC_UNPARK,           /* park -> master, id the account: state; fd;
			       * master -> that account's worker: the same */
	IPC_PARK_GONE,        /* park -> master, id the account: empty (a parked
			       * session ended there: its client left) */
	IPC_KIND_MAX,
};

/* Who is at the other end of an IPC_PEER descriptor. */
enum ipc_role {
	IPC_ROLE_MASTER = 0,
	IPC_ROLE_AUTH,
	IPC_ROLE_QUEUE,
	IPC_ROLE_WORKER,
	IPC_ROLE_SPAWNER,
	IPC_ROLE_PREAUTH,
	IPC_ROLE_KEYS,
	IPC_ROLE_RESOLVER,
	IPC_ROLE_RELAY,
	IPC_ROLE_SPAM,
	IPC_ROLE_PARK,
};

/* What a listening socket serves (IPC_LISTEN). */
enum ipc_service {
	IPC_SERVICE_SMTP = 0,
	IPC_SERVICE_POP3 = 1,
	IPC_SERVICE_POP3S = 2,
	IPC_SERVICE_IMAP = 3,
	IPC_SERVICE_IMAPS = 4,
	IPC_SERVICE_SUBMISSION = 5,  /* RFC 6409, STARTTLS then AUTH */
	IPC_SERVICE_SUBMISSIONS = 6, /* RFC 8314, implicit TLS */
	IPC_SERVICE_HTTPS = 7,       /* CalDAV, CardDAV, set-up documents */
	IPC_SERVICE_HTTP = 8,        /* redirect to HTTPS, autoconfig documents */
};

const char *ipc_service_name(enum ipc_service service);

/* What an authenticated session speaks (IPC_SESSION_OPEN, IPC_SESSION). */
enum ipc_protocol {
	IPC_PROTO_POP3 = 1,
	IPC_PROTO_IMAP = 2,
	IPC_PROTO_HTTP = 3,
};

/* IPC_LOGIN_RESULT: auth's verdict on a login. */
enum ipc_login_status {
	IPC_LOGIN_OK = 0,
	IPC_LOGIN_REFUSED = 1,  /* wrong credentials; answer after the delay */
	IPC_LOGIN_TEMPFAIL = 2, /* the check could not be made (now) */
};
/* A refused login is answered only after a delay that doubles with each
 * failure from the same client network, from IPC_LOGIN_FIRST_DELAY_MS up
 * to IPC_LOGIN_MAX_DELAY_MS: a password guesser gets a few tries a minute
 * instead of thousands.  auth sends it in IPC_LOGIN_RESULT; a front that
 * refuses credentials itself (too long to send) waits the same way. */
#define IPC_LOGIN_FIRST_DELAY_MS 500
#define IPC_LOGIN_MAX_DELAY_MS 15000

/* IPC_RCPT_RESULT: what a recipient address is. */
enum ipc_rcpt_status {
	IPC_RCPT_OK = 0,        /* accounts follow */
	IPC_RCPT_UNKNOWN = 1,   /* nobody has that address */
	IPC_RCPT_TEMPFAIL = 2,  /* the look-up could not be made */
	IPC_RCPT_NOT_LOCAL = 3, /* not one of our domains (a relay) */
	IPC_RCPT_LOOP = 4,      /* aliases that lead back to themselves */
};

/* IPC_QUEUE_CONTROL: what the administrator asks of queued messages. */
enum ipc_queue_control {
	IPC_QUEUE_CONTROL_RETRY = 1,        /* try now what waits */
	IPC_QUEUE_CONTROL_DELETE = 2,       /* remove, the sender told nothing */
	IPC_QUEUE_CONTROL_DELETE_BOUNCE = 3, /* remove, the sender gets a bounce */
};
/* A sender seal (IPC_SUBMIT_SENDERS, IPC_QUEUE_BEGIN) is a recipient seal
 * (lib/ticket.h) over the address and the one account that may send as
 * it, with this bit set in its transaction number: a recipient seal is
 * never one for a sender.  It holds for every transaction of the
 * pre-auth process that logged in. */
#define IPC_SENDER_SEAL_TXN (UINT64_C(1) << 63)
/* The serial auth and the queue give a worker's submission link (its
 * account's): a space of its own, apart from the serials spawners give
 * pre-auth processes (index << PREAUTH_SERIAL_SHIFT, the index a handful). */
#define IPC_WORKER_SERIAL(account) ((UINT64_C(1) << 62) | (uint64_t)(account))

/* IPC_QUEUE_BEGIN: flags of the message. */
enum ipc_queue_flag {
	IPC_QUEUE_8BITMIME = 1,
	IPC_QUEUE_SMTPUTF8 = 2,
};
/* IPC_QUEUE_END: the front's word on the message; IPC_QUEUE_RESULT: the
 * queue's (IPC_QUEUE_OK only once the message is durable). */
enum ipc_queue_status {
	IPC_QUEUE_FAILED = 0,
	IPC_QUEUE_OK = 1,
	IPC_QUEUE_OVER_QUOTA = 2, /* every recipient's mailbox is full (the
				   * message is not kept; or, to IPC_QUEUE_QUOTA,
				   * this recipient's would be) */
	IPC_QUEUE_SPAM_REJECTED = 3, /* the spam filter refused it: 550 5.7.1
				      * and the text in place of the queue id */
	IPC_QUEUE_SPAM_DEFERRED = 4, /* greylisted, or the filter could not
				      * be asked and spam.fail_closed: 451 4.7.1 */
};

/* IPC_SPAM_VERDICT: what the spam filter (rspamd) made of a message. */
enum ipc_spam_verdict {
	IPC_SPAM_ACCEPT = 0,    /* deliver (the header lines added) */
	IPC_SPAM_REJECT = 1,    /* refuse: 550 5.7.1 and the text */
	IPC_SPAM_TEMPFAIL = 2,  /* soft reject, greylist: 451 4.7.1 */
	IPC_SPAM_JUNK = 3,      /* deliver to Junk, with the header lines */
	IPC_SPAM_UNCHECKED = 4, /* rspamd could not be asked (down, timed out,
				 * nonsense answer): accepted and tagged unless
				 * spam.fail_closed */
};

/* IPC_QUEUE_END: what the front's checks say of the message (optional
 * second field). */
enum ipc_queue_end_flag {
	IPC_QUEUE_END_JUNK = 1,   /* file it in Junk (DMARC quarantine, say) */
};
/* IPC_DELIVER: how to file it. */
enum ipc_deliver_flag {
	IPC_DELIVER_JUNK = 1,     /* in the Junk mailbox, not INBOX */
};

/* IPC_DELIVER_RESULT: how a local delivery went. */
enum ipc_deliver_status {
	IPC_DELIVER_OK = 0,
	IPC_DELIVER_TEMPFAIL = 1, /* try again later */
	IPC_DELIVER_PERMFAIL = 2, /* never */
};

/* IPC_RELAY_REFUSED: why the relay spawner made no child. */
enum ipc_relay_refusal {
	IPC_RELAY_NO_PLACE = 1,  /* RELAY_MAX_CHILDREN at work */
	IPC_RELAY_FAILED = 2,    /* fork or socketpair failed */
};

/* IPC_SESSION_REFUSED: why master gave no session for a ticket. */
enum ipc_session_refusal {
	IPC_SESSION_BAD_TICKET = 1, /* invalid, expired or already used */
	IPC_SESSION_NO_WORKER = 2,  /* the account's worker cannot be had now */
	IPC_SESSION_LIMIT = 3,      /* the account has IPC_ACCOUNT_MAX_IMAP_SESSIONS
				     * IMAP sessions already */
};

/* IPC_KEY_SIGN: what the keys process is asked to do with the TLS key.
 * Payload: u64 op, str input; the reply (same message id) is
 * IPC_KEY_SIGNATURE: u64 status, str signature (empty unless IPC_KEY_OK).
 * Keys signs only handshake-shaped input (see src/keys/keys-sign.c). */
enum ipc_key_op {
	/* input: the digest to sign (20, 28, 32, 48 or 64 bytes);
	 * signature: DER ECDSA-Sig-Value */
	IPC_KEY_OP_ECDSA = 1,
	/* input: one block exactly the modulus' size, already padded by the
	 * requester: an EMSA-PSS encoding (RFC 8017 9.1, salt as long as the
	 * hash: TLS 1.3 and 1.2) or an EMSA-PKCS1-v1_5 encoding 00 01 FF..FF
	 * 00 DigestInfo (TLS 1.2); signature: block^d mod n, the modulus'
	 * size, big-endian */
	IPC_KEY_OP_RSA_RAW = 2,
};
/* Largest IPC_KEY_SIGN input and IPC_KEY_SIGNATURE output: an RSA block
 * of an 8192-bit key. */
#define IPC_KEY_MAX_INPUT 1024
#define IPC_KEY_MAX_SIGNATURE 1024
enum ipc_key_status {
	IPC_KEY_OK = 0,
	IPC_KEY_REFUSED = 1,       /* not handshake-shaped, or over the rate */
	IPC_KEY_FAILED = 2,        /* the signature could not be made */
};

/* IPC_PREAUTH_STATE (master -> spawner: serial, state): what became of a
 * pre-auth process.  Master says it, not the process: a compromised one
 * could otherwise claim a login to be spared when places run out. */
enum ipc_preauth_state {
	IPC_PREAUTH_LOGGED_IN = 1, /* it relays one logged-in session now */
};
/* A pre-auth process's serial: its spawner's number in the top bits, that
 * spawner's count of processes made below (unique among all spawners). */
#define PREAUTH_SERIAL_SHIFT 48
#define PREAUTH_SERIAL_COUNT ((UINT64_C(1) << PREAUTH_SERIAL_SHIFT) - 1)
/* preauth_name writes how logs name the pre-auth process serial:
 * "preauth 17" (the first spawner's), "preauth 1.17" (another's). */
void preauth_name(uint64_t serial, char *out, size_t size);

struct ipc_header {
	uint32_t kind;
	uint32_t len;
	uint64_t id;
};

struct ipc;

/* A received message; fd is -1 or a descriptor the handler now owns. */
struct ipc_msg {
	enum ipc_kind kind;
	uint64_t id;
	const unsigned char *payload;
	size_t len;
	int fd;
};

typedef void ipc_handler_fn(struct ipc *ipc, const struct ipc_msg *msg, void *ctx);
/* Called once when the link is gone (peer closed, error or malformed
 * message); the ipc is freed right after. */
typedef void ipc_closed_fn(struct ipc *ipc, void *ctx);

/* ipc_new takes over fd (made non-blocking) and watches it on ev. */
struct ipc *ipc_new(struct ev *ev, int fd, const char *peer_name, ipc_handler_fn *handler,
		    ipc_closed_fn *closed, void *ctx);
/* ipc_close closes the link now (closed is not called) and sets *ipc NULL. */
void ipc_close(struct ipc **ipc);
const char *ipc_peer_name(const struct ipc *ipc);

/* ipc_send queues one message (fd: -1 or a descriptor to pass, which stays
 * the caller's).  The payload of a secret kind (IPC_LOGIN) is wiped from
 * every copy ipc makes once it is sent; the receiving side wipes it from
 * its buffer once the handler has returned, so a handler that keeps any
 * of it must copy it (and wipe its copy).  Returns 0, or -1 if the payload
 * is too big or the peer has not read IPC_MAX_QUEUED bytes (the caller then
 * gives up on it). */
int ipc_send(struct ipc *ipc, enum ipc_kind kind, uint64_t id, const void *payload, size_t len,
	     int fd);
int ipc_send_buf(struct ipc *ipc, enum ipc_kind kind, uint64_t id, const struct buf *payload,
		 int fd);
/* ipc_send_blocking writes one message now, waiting if needed (used before
 * a loop runs, and for the last records of a dying process). */
int ipc_send_blocking(int fd, enum ipc_kind kind, uint64_t id, const void *payload, size_t len,
		      int pass_fd);
/* ipc_recv_blocking waits up to timeout_ms for one message on fd (a
 * SEQPACKET link not wrapped in an ipc) and checks it against the kind
 * table exactly as the event-driven reader does.  buf (bufsize bytes, at
 * least a header) receives it: a message bigger than buf is malformed, so
 * the buffer is the caller's bound on what it accepts.  Returns 0 with msg
 * filled (payload points into buf; msg->fd, -1 or a descriptor, is the
 * caller's), or -1 with errno ETIMEDOUT, ECONNRESET (peer closed), EPROTO
 * (malformed: logged, the caller should give up on the link) or the
 * system call's. */
int ipc_recv_blocking(int fd, struct ipc_msg *msg, void *buf, size_t bufsize, int timeout_ms);
/* ipc_reject treats msg as an attack, not a hint (DESIGN rule 9): logs it,
 * closes any descriptor that came with it, closes the link (closed is not
 * called) and sets *ipc to NULL. */
void ipc_reject(struct ipc **ipc, const struct ipc_msg *msg);
/* ipc_flush_blocking writes what is queued, waiting up to timeout_ms in
 * all (a process about to exit); -1 if something is left. */
int ipc_flush_blocking(struct ipc *ipc, int timeout_ms);
/* ipc_set_max_queued lowers the bytes this link may queue for a peer that
 * does not read (IPC_MAX_QUEUED by default). */
void ipc_set_max_queued(struct ipc *ipc, size_t max);
/* Bytes queued but not yet taken by the peer. */
size_t ipc_queued(const struct ipc *ipc);
/* ipc_set_drained calls fn once the queue is empty again (flow control). */
void ipc_set_drained(struct ipc *ipc, void (*fn)(struct ipc *ipc, void *ctx));

/* A spawner's link to a long-lived process carries only IPC_PEER
 * messages (role IPC_ROLE_PREAUTH, serial; fd): each one a new pre-auth
 * process's link, given to fn (which owns fd).  Anything else closes it. */
typedef void ipc_preauth_fn(int fd, uint64_t serial, void *ctx);
/* client_fn (NULL: such messages close the link) gets IPC_PREAUTH_CLIENT:
 * the address the spawner accepted pre-auth process serial's client from
 * (it, not the pre-auth process, is believed). */
typedef void ipc_preauth_client_fn(uint64_t serial, struct str address, void *ctx);
struct ipc *ipc_spawner_link_new(struct ev *ev, int fd, const char *peer_name,
				 ipc_preauth_fn *fn, ipc_preauth_client_fn *client_fn, void *ctx);

/* Payload fields. */
int ipc_put_u64(struct buf *b, uint64_t v);
int ipc_put_str(struct buf *b, struct str s);

struct ipc_reader {
	const unsigned char *p;
	size_t left;
	bool bad;
};

void ipc_reader_init(struct ipc_reader *r, const struct ipc_msg *msg);
uint64_t ipc_get_u64(struct ipc_reader *r);
/* ipc_get_str returns a view into the payload of at most max bytes. */
struct str ipc_get_str(struct ipc_reader *r, size_t max);
/* ipc_reader_ok is true if every field was there and nothing is left. */
bool ipc_reader_ok(const struct ipc_reader *r);

const char *ipc_kind_name(enum ipc_kind kind);

#endif
