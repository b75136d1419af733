#ifndef RAVELIN_WORKER_TRANSPORT_H
#define RAVELIN_WORKER_TRANSPORT_H
/*
 * worker-transport: how a session's bytes reach its client.  After a
 * TLS 1.3 hand-off the worker holds the client's socket and speaks the
 * record layer itself (lib/tls13.c) with the state the pre-auth process
 * handed over; after a plain hand-off it reads the socket directly; a
 * relayed session (TLS 1.2) reads the byte stream its pre-auth process
 * relays.  The session code sees plaintext only.
 */
#include <stdbool.h>

#include "lib/buf.h"
#include "lib/handoff.h"
#include "lib/tls13.h"

/* Ciphertext held each way: a few full records. */
#define TRANSPORT_MAX_RAW_IN (4 * (TLS13_HEADER_SIZE + TLS13_MAX_CIPHERTEXT))
#define TRANSPORT_MAX_RAW_OUT (256 * 1024)
#define TRANSPORT_READ_CHUNK (16 * 1024)

struct transport {
	int fd;
	bool tls;
	struct tls13 tls13;
	struct buf raw_in, raw_out;   /* ciphertext from and to the client */
	bool peer_closed;             /* close_notify or end of stream */
	bool failed;                  /* a TLS error: only the alert goes out */
	bool relayed;                 /* a stream a pre-auth process relays (TLS 1.2) */
};

/* transport_init takes fd and the hand-off's state (ciphertext that came
 * with it is queued as if just read).  0, or -1 with *error_r (fd stays
 * the caller's). */
int transport_init(struct transport *t, int fd, const struct handoff *h, const char **error_r);
/* transport_read reads once from the socket (if readable) and decrypts
 * what it can into in (never past in's maximum).  Returns 1, or 0 when
 * the client has finished (close_notify or end of stream), -1 on error. */
int transport_read(struct transport *t, struct buf *in, bool readable);
/* transport_pending is true if ciphertext holds a whole record not yet
 * decrypted (in was full), so reading must go on without an event. */
bool transport_pending(const struct transport *t);
/* transport_write moves plaintext from out to the socket (encrypting),
 * as much as the socket takes.  0, or -1 if the connection is broken. */
int transport_write(struct transport *t, struct buf *out);
/* transport_want_write is true if bytes wait for the socket. */
bool transport_want_write(const struct transport *t);
/* transport_say writes text to the client now, best effort (a refusal
 * before the session exists). */
void transport_say(struct transport *t, const char *text);
/* transport_park writes t's state into h (a TLS 1.3 hand-off, or a plain
 * one) so that the client can be parked (src/park) and taken up again by
 * transport_init: only between records, with nothing read and not yet
 * decrypted and nothing waiting to go out.  A relayed session (its
 * pre-auth process holds the TLS 1.2 state) is never parked.  0, or -1
 * when t cannot be parked now.  h holds keys: handoff_wipe it. */
int transport_park(const struct transport *t, struct handoff *h);
/* transport_forget lets the client go without a word (it is parked: no
 * close_notify): closes the socket, wipes the keys. */
void transport_forget(struct transport *t);
/* transport_close says close_notify (best effort), closes the socket and
 * wipes the keys. */
void transport_close(struct transport *t);

#endif
