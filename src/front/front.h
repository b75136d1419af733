#ifndef RAVELIN_FRONT_H
#define RAVELIN_FRONT_H
/*
 * front: the process that speaks to the network (see front.c).  This
 * header is internal to src/front: the connection and the process state
 * shared by the connection code and the protocol glue.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/config.h"
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
/* Bytes queued towards the queue process before fronts stop reading
 * message data (flow control back to the clients). */
#define FRONT_QUEUE_BACKLOG (8 * 1024 * 1024)

int front_main(unsigned index);

struct front;
struct smtp_session;

struct conn {
	struct conn *next, *prev;     /* all connections */
	struct conn *hash_next;       /* by id */
	struct front *front;
	uint64_t id;
	struct stream stream;
	struct ev_io *io;
	char ip[INET6_ADDRSTRLEN];
	struct ip_count *ip_count;
	struct buf in, out;
	struct smtp_session *smtp;
	struct ev_timer *timer;
	uint64_t started, last_activity;
	bool closing;                 /* close once output is flushed */
	bool dead;                    /* close now */
	bool tls_pending;             /* start TLS once output is flushed */
	bool waiting_auth;
	bool in_txn;                  /* a queue transaction is open */
	bool txn_ended;               /* ... and its end was sent */
	/* An answer decided inside a callback, given once input returns. */
	int deferred_rcpt;            /* -1 none, else enum smtp_rcpt_status */
	int deferred_data;            /* -1 none, 0 failed */
};

struct front {
	struct ev *ev;
	struct config config;
	unsigned index;
	SSL_CTX *tls;
	struct ipc *master, *auth, *queue;
	bool queue_congested;
	uint64_t next_id;
	unsigned conn_count;
	struct conn *conns;
};

/* Connection helpers the protocol glue uses. */
struct conn *front_conn_find(struct front *f, uint64_t id);
/* front_conn_resume processes buffered input and reads more, after an
 * answer the protocol code waited for. */
void front_conn_resume(struct conn *c);
void front_conn_output(struct conn *c, const char *data, size_t len);

/* front-smtp.c: the SMTP dialogue of a connection. */
int front_smtp_start(struct conn *c);
void front_smtp_input(struct conn *c);
void front_smtp_tls_started(struct conn *c);
void front_smtp_timeout(struct conn *c);
void front_smtp_closed(struct conn *c);
bool front_smtp_waiting(struct conn *c);
void front_smtp_auth_message(struct front *f, const struct ipc_msg *msg);
void front_smtp_queue_message(struct front *f, const struct ipc_msg *msg);
void front_smtp_auth_lost(struct front *f);
void front_smtp_queue_lost(struct front *f);

#endif
