#ifndef RAVELIN_WORKER_TRANSPORT_H
#define RAVELIN_WORKER_TRANSPORT_H
/*
 * worker-transport: how a session's bytes reach its client.  After a
 * TLS 1.3 hand-off the worker holds the client's socket and speaks the
 * record layer itself (lib/tls13.c) with the state the pre-auth process
 * handed over; after a plain hand-off it reads the socket directly; a
 * relayed session (TLS 1.2) reads the byte stream its pre-auth process
 * relays.  The session code sees plaintext only.
 *
 * After IMAP's COMPRESS DEFLATE (RFC 4978) a deflate layer
 * (worker-compress.h) sits between the session's plaintext and the
 * record layer, socket or relay stream: the same for all three.
 */
#include <stdbool.h>

#include "lib/buf.h"
#include "lib/handoff.h"
#include "lib/tls13.h"

/* Ciphertext held each way: a few full records. */
#define TRANSPORT_MAX_RAW_IN (4 * (TLS13_HEADER_SIZE + TLS13_MAX_CIPHERTEXT))
#define TRANSPORT_MAX_RAW_OUT (256 * 1024)
#define TRANSPORT_READ_CHUNK (16 * 1024)
/* Compressed output held before it goes to the record layer or socket:
 * what one deflate call may write, one full TLS record (answers compress
 * 5-10x, so it holds a good part of a COMPRESS_DEFLATE_STEP).  One less
 * than 16 KiB: struct buf keeps a NUL after its data, and its allocation
 * then stays at 16 KiB.  Freed whenever all is sent. */
#define TRANSPORT_COMPRESS_OUT (16 * 1024 - 1)

struct compress;

struct transport {
	int fd;
	bool tls;
	struct tls13 tls13;
	struct buf raw_in, raw_out;   /* ciphertext from and to the client */
	bool peer_closed;             /* close_notify or end of stream */
	bool failed;                  /* a TLS error: only the alert goes out */
	bool relayed;                 /* a stream a pre-auth process relays (TLS 1.2) */
	bool write_closed;            /* transport_finish: nothing more goes out */
	/* COMPRESS DEFLATE: NULL until it starts; then the client's
	 * compressed bytes not yet inflated, our compressed bytes not yet
	 * sent, and what was said before compression began (the tagged OK),
	 * which goes out first and uncompressed. */
	struct compress *z;
	struct buf z_in, z_out, z_before;
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
/* transport_unsent counts what waits for the client below the session's
 * own output: ciphertext, compressed bytes, the uncompressed OK. */
size_t transport_unsent(const struct transport *t);
/* transport_compress_start puts the deflate layer in: what out holds now
 * (the tagged OK of COMPRESS, and whatever came before it) still goes out
 * uncompressed, then everything written later is deflated; what in holds
 * now (bytes the client sent after the COMPRESS line) and everything read
 * later is inflated.  On success in and out are left empty.  0, or -1
 * with *error_r and nothing changed (out of memory). */
int transport_compress_start(struct transport *t, struct buf *in, struct buf *out,
			     const char **error_r);
/* transport_compressed: COMPRESS is active. */
bool transport_compressed(const struct transport *t);
/* transport_compress_memory is what the deflate layer holds now, in
 * octets (zlib and its buffers); 0 without compression. */
size_t transport_compress_memory(const struct transport *t);
/* transport_say writes text to the client now, best effort (a refusal
 * before the session exists). */
void transport_say(struct transport *t, const char *text);
/* transport_park writes t's state into h (a TLS 1.3 hand-off, or a plain
 * one) so that the client can be parked (src/park) and taken up again by
 * transport_init: only between records, with nothing read and not yet
 * decrypted and nothing waiting to go out.  A relayed session (its
 * pre-auth process holds the TLS 1.2 state) is never parked.  With
 * COMPRESS, z gets the deflate layer's windows (two strings: what we
 * sent, what the client sent; worker-compress.h) for
 * transport_compress_resume; without, nothing.  0, or -1 when t cannot
 * be parked now.  h holds keys: handoff_wipe it; z holds plaintext:
 * wipe it too. */
int transport_park(struct transport *t, struct handoff *h, struct buf *z);
/* transport_compress_resume puts back the deflate layer of a parked
 * session from what transport_park wrote into z (not empty); in_max is
 * the session's input buffer's maximum.  0, or -1 with *error_r. */
int transport_compress_resume(struct transport *t, struct str z, size_t in_max,
			      const char **error_r);
/* transport_forget lets the client go without a word (it is parked: no
 * close_notify): closes the socket, wipes the keys. */
void transport_forget(struct transport *t);
/* transport_finish ends what goes to the client while its input can
 * still be read (and dropped): close_notify (best effort), then the
 * socket's write side is shut, so the client sees the end at once.  A
 * relayed session's stream is left as it is: its pre-auth process ends
 * the client's connection when the stream ends. */
void transport_finish(struct transport *t);
/* transport_close says close_notify (best effort), closes the socket and
 * wipes the keys. */
void transport_close(struct transport *t);

#endif
