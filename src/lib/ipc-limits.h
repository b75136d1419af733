#ifndef RAVELIN_IPC_LIMITS_H
#define RAVELIN_IPC_LIMITS_H
/*
 * ipc-limits: the longest field of each IPC message, named once.  The
 * sender refuses anything longer before it sends (answering its client as
 * the receiver would have), the receiver reads with the same bound, and
 * the kind table in ipc.c computes each kind's largest payload from these
 * numbers, so a message the sender allows can never be one the reader
 * calls malformed (and closes the link for).
 *
 * No includes beyond the C library: directory.h and the protocol code take
 * their bounds from here without pulling in the event loop.
 */
#include <netinet/in.h>

/* Each field on the wire: a u64, or a u64 length and that many bytes. */
#define IPC_U64_SIZE 8
#define IPC_STR_SIZE(max) (IPC_U64_SIZE + (max))

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets, so an address 254.
 * Login names are addresses; so are the directory's keys. */
#define IPC_MAX_ADDRESS 254
/* RFC 5321 4.5.3.1.3: a reverse- or forward-path as the SMTP parser hands
 * it over (SMTP_MAX_PATH, which front-smtp.c asserts fits). */
#define IPC_MAX_PATH 256

/* IPC_LOGIN: a login name is an address. */
#define IPC_LOGIN_MAX_USER IPC_MAX_ADDRESS
/* IPC_LOGIN: argon2id hashes any length, but nobody types more than this,
 * and it bounds the work of a hostile login.  The same bound applies when
 * a password is set (DIRECTORY_MAX_PASSWORD). */
#define IPC_LOGIN_MAX_PASSWORD 1024
/* IPC_LOGIN: the client's address as text (the longest IPv6 form, with an
 * embedded IPv4 address, is INET6_ADDRSTRLEN - 1 octets). */
#define IPC_LOGIN_MAX_IP (INET6_ADDRSTRLEN - 1)

/* IPC_RCPT_RESULT, IPC_QUEUE_RCPT: accounts one address may expand to (a
 * list alias); more is a mistake in the directory, not a mailing list. */
#define IPC_RCPT_MAX_ACCOUNTS 1000
/* IPC_RCPT_RESULT: remote addresses one address is forwarded to (an alias
 * with targets on other servers).  Each copy leaves under our name; a
 * list of more people elsewhere is a mailing list's job, not an alias's. */
#define IPC_RCPT_MAX_FORWARDS 50

/* IPC_SUBMIT_SENDERS: addresses one account may send as (its own and
 * the aliases that lead to it alone).  An account with more is a shared
 * mailbox set up by mistake; the rest are not offered. */
#define IPC_SUBMIT_MAX_SENDERS 64

/* IPC_ACCOUNT_INFO: the account's primary address (what it logs in
 * with) and its display name, each at most an address long. */
#define IPC_ACCOUNT_MAX_NAME IPC_MAX_ADDRESS
/* IPC_ACCOUNT_INFO: the addresses that are the account's (its own and the
 * aliases leading to it alone, as a calendar user address set lists
 * them): a person has a handful; a hundred is a shared mailbox at most,
 * and 100 x IPC_STR_SIZE(IPC_MAX_PATH) fits one message. */
#define IPC_ACCOUNT_MAX_ADDRESSES 100
/* IMAP sessions of one account at once: a person's phone, laptop and
 * desktop keep a few each (Thunderbird up to 5 per account); Dovecot's
 * default per user and address is 10.  100 covers a shared mailbox used
 * by a team while one runaway client cannot take the worker's
 * descriptors.  Master refuses the login of one more (IPC_SESSION_LIMIT,
 * counting with IPC_WORKER_SESSIONS); the worker checks it again. */
#define IPC_ACCOUNT_MAX_IMAP_SESSIONS 100

/* IPC_QUEUE_RESULT: a queue id as the spool names it (SPOOL_QID_SIZE,
 * which queue.c asserts fits). */
#define IPC_QUEUE_MAX_ID 32

/* IPC_QUEUE_END: header lines the front's checks add on top of the
 * message (Authentication-Results for a few signatures, folded). */
#define IPC_QUEUE_MAX_PREPEND 8192

/* IPC_DELIVER: the delivery key "queue id/account id" (an idempotency key
 * for the worker). */
#define IPC_DELIVER_MAX_KEY 128
/* IPC_DELIVER_RESULT: why a delivery failed, one line for the log. */
#define IPC_DELIVER_MAX_TEXT 512

/* IPC_RELAY_OPEN: a destination is a domain (RFC 1035: 253 octets as
 * text, DNS_MAX_NAME) or "[smarthost]". */
#define IPC_RELAY_MAX_DEST 253
/* IPC_RELAY_MSG: recipients per job; RFC 5321 4.5.3.1.8 makes every
 * server take 100 per transaction, so a job is one transaction. */
#define IPC_RELAY_MAX_RCPTS 100
/* IPC_RELAY_RESULT: the remote answer (RELAY_MAX_ANSWER) and the remote
 * host's name (DNS_MAX_NAME) or address. */
#define IPC_RELAY_MAX_ANSWER 512
#define IPC_RELAY_MAX_HOST 253
/* IPC_SPAM_CHECK: a HELO argument (RFC 5321 4.5.3.1.2: a domain is at most
 * 255 octets; an address literal is shorter). */
#define IPC_SPAM_MAX_HELO 255
/* IPC_SPAM_CHECK: recipients named to rspamd, as many as one message may
 * have (smtp.max_recipients at most 100000 would not fit a message: the
 * 1000 of its default do, with IPC_MAX_PATH each). */
#define IPC_SPAM_MAX_RCPTS 200
/* IPC_SPAM_VERDICT: the header lines rspamd asks for, folded, all of them
 * (a score line and a few X-Spam-* fields take well under 2 KiB; rspamd's
 * symbol list in X-Spamd-Result can take more). */
#define IPC_SPAM_MAX_HEADERS 8192
/* IPC_SPAM_VERDICT, IPC_QUEUE_RESULT: the text of a refusal as the SMTP
 * reply carries it (one line, well under RFC 5321's 512-octet reply line). */
#define IPC_SPAM_MAX_REPLY 200
/* IPC_QUEUE_RESULT: its text, a queue id or a refusal's text. */
#define IPC_QUEUE_MAX_REPLY IPC_SPAM_MAX_REPLY

/* IPC_PARK, IPC_UNPARK: a parked session's state (its transport and its
 * IMAP view, src/park/park.h): what one message carries with its two
 * length fields.  A session whose state does not fit is not parked. */
#define IPC_PARK_MAX_STATE (60 * 1024)

#endif
