#ifndef RAVELIN_FRONT_H
#define RAVELIN_FRONT_H
/*
 * front: the pre-auth process that serves one connection (see front.c,
 * and spawner.c, which forks it).  This header is internal to src/front:
 * the connection and the process state shared by the connection code and
 * the protocol glue.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/dns-client.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/stream.h"

/* Unread client input held per connection; past half of it the front stops
 * reading until the protocol code has consumed some. */
#define FRONT_MAX_INPUT (256 * 1024)
/* Output a client has not taken; a client that reads nothing is dropped. */
#define FRONT_MAX_OUTPUT (1024 * 1024)
/* One read from a socket. */
#define FRONT_READ_CHUNK (16 * 1024)
/* Client bytes queued towards a worker session before the front stops
 * reading from the client. */
#define FRONT_MAX_TO_SESSION (256 * 1024)
/* Seconds a logged-in POP3 or IMAP connection may last (as long as the
 * client keeps talking; a day bounds a forgotten one). */
#define FRONT_SESSION_TIMEOUT 86400
/* Bytes queued towards the queue process before fronts stop reading
 * message data (flow control back to the clients). */
#define FRONT_QUEUE_BACKLOG (8 * 1024 * 1024)

struct front;
struct conn;
struct handoff;

/* What a connection speaks before login; the front calls these. */
struct front_protocol {
	int (*start)(struct conn *c);         /* session and greeting */
	void (*input)(struct conn *c);        /* consume c->in */
	void (*tls_started)(struct conn *c);  /* after STARTTLS/STLS */
	void (*timeout)(struct conn *c);      /* say why, then close */
	void (*closed)(struct conn *c);       /* release what it holds */
	bool (*waiting)(struct conn *c);      /* an answer is awaited */
	/* Seconds the client may stay silent, and the connection may last. */
	uint64_t (*idle_timeout)(const struct conn *c);
	uint64_t (*session_timeout)(const struct conn *c);
	/* Written to a connection refused at accept, when the front is full
	 * or the address has too many connections (not on implicit-TLS
	 * ports, where nothing readable can be sent before the handshake). */
	const char *busy_reply;
	const char *per_ip_reply;
	/* Protocols with a login (front-login.c); NULL for SMTP. */
	enum ipc_protocol session_protocol;   /* what the worker is to speak */
	void (*login_result)(struct conn *c, bool ok, bool temporary);
	void (*session_ready)(struct conn *c);   /* before the relay starts */
	void (*session_refused)(struct conn *c); /* say so to the client */
	/* The login is for this process's own use (submission): asked with
	 * IPC_SUBMIT_LOGIN, and no worker session follows. */
	bool login_only;
	/* Adds what the protocol's session needs to the hand-off (HTTP: the
	 * credential binding); NULL for none. */
	void (*handoff_fill)(struct conn *c, struct handoff *h);
};

extern const struct front_protocol front_smtp_protocol;
extern const struct front_protocol front_pop3_protocol;
extern const struct front_protocol front_imap_protocol;
extern const struct front_protocol front_submission_protocol;
extern const struct front_protocol front_http_protocol;

struct conn {
	struct conn *next, *prev;     /* all connections */
	struct front *front;
	uint64_t id;
	struct stream stream;
	struct ev_io *io;
	char ip[INET6_ADDRSTRLEN];
	struct buf in, out;
	enum ipc_service service;
	const struct front_protocol *proto;
	void *state;                  /* the protocol's own (front-*.c) */
	struct ev_timer *timer;
	struct ev_timer *delay;       /* a failed login's answer waits */
	unsigned too_long_logins;     /* credentials refused here, unsent */
	/* After a login: the byte stream to the account's worker. */
	bool relaying;
	int handoff_fd;               /* master's session link, until output is sent */
	int session_fd;
	struct ev_io *session_io;
	struct buf to_session;
	uint64_t started, last_activity;
	bool closing;                 /* close once output is flushed */
	bool dead;                    /* close now */
	bool tls_pending;             /* start TLS once output is flushed */
	bool waiting_auth;
	bool waiting_session;         /* a ticket went to master */
	uint64_t session_refusal;     /* why master refused it (enum ipc_session_refusal) */
	bool greet_after_tls;         /* implicit TLS: greet once it is up */
	bool in_txn;                  /* a queue transaction is open */
	bool txn_ended;               /* ... and its end was sent */
	/* An answer decided inside a callback, given once input returns. */
	int deferred_rcpt;            /* -1 none, else enum smtp_rcpt_status */
	int deferred_data;            /* -1 none, 0 failed */
};

/* The pre-auth process: one connection (conns holds at most one). */
struct front {
	struct ev *ev;
	struct config config;
	uint64_t serial;              /* the spawner's number for this process */
	SSL_CTX *tls;
	struct ipc *master, *auth, *queue;
	struct ipc *control;          /* the spawner */
	int keys_fd;                  /* the keys process (blocking requests) */
	struct dns_client *resolver;  /* DNS questions; NULL if none */
	bool queue_congested;
	uint64_t next_id;
	unsigned conn_count;
	struct conn *conns;
};

/* The protocol a listening service speaks, NULL for an unknown one, and
 * whether TLS comes first (the spawner refuses with these). */
const struct front_protocol *front_service_protocol(uint64_t service);
bool front_service_implicit_tls(uint64_t service);


/* Connection helpers the protocol glue uses. */
struct conn *front_conn_find(struct front *f, uint64_t id);
/* front_conn_resume processes buffered input and reads more, after an
 * answer the protocol code waited for. */
void front_conn_resume(struct conn *c);
void front_conn_output(struct conn *c, const char *data, size_t len);

/* Callbacks every protocol's dialogue uses the same way (ctx: the conn). */
void front_cb_output(void *ctx, const char *data, size_t len);
void front_cb_starttls(void *ctx);
void front_cb_close(void *ctx);

/* front_conn_handoff gives the logged-in connection to the account's
 * worker over link_fd (master's session link, taken over), once what was
 * said to the client is sent; the caller then resumes the connection. */
void front_conn_handoff(struct conn *c, int link_fd);

/* front_conn_relay switches a connection to relaying between the client
 * and the worker session on fd (taken over); the caller then resumes it. */
void front_conn_relay(struct conn *c, int fd);

/* front-smtp.c: messages for the SMTP dialogues. */
void front_smtp_auth_message(struct front *f, const struct ipc_msg *msg);
void front_smtp_queue_message(struct front *f, const struct ipc_msg *msg);
void front_smtp_auth_lost(struct front *f);
void front_smtp_queue_lost(struct front *f);
/* IPC_SUBMIT_SENDERS: the addresses a submission login may send as. */
void front_smtp_senders_message(struct front *f, const struct ipc_msg *msg);

/* front-login.c: the login of POP3 and IMAP, after the credentials.
 * front_login_send hands them to auth (the protocol's login_result gets
 * the answer, at once when auth cannot be asked). */
void front_login_send(struct conn *c, struct str user, struct str password);
void front_login_auth_message(struct front *f, const struct ipc_msg *msg);
void front_login_session_message(struct front *f, const struct ipc_msg *msg);
void front_login_auth_lost(struct front *f);

#endif
