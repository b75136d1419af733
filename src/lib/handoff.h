#ifndef RAVELIN_HANDOFF_H
#define RAVELIN_HANDOFF_H
/*
 * handoff: the one message (IPC_HANDOFF) a pre-auth process sends the
 * account's worker after a login, on the link master made for that
 * session.  It says how the worker gets the client:
 *  - HANDOFF_TLS13: the descriptor is the client's socket; with it come
 *    the TLS 1.3 application traffic secrets, the record numbers in both
 *    directions, the ciphertext not yet decrypted and the plaintext not
 *    yet consumed.  The pre-auth process wipes its copies and exits.
 *  - HANDOFF_PLAIN: the client's socket, no TLS (a loopback test setup);
 *    plaintext not yet consumed comes along.
 *  - HANDOFF_RELAY: the descriptor is a byte stream whose other end the
 *    pre-auth process keeps, relaying a session it could not hand over
 *    (TLS 1.2); it already saw that one user's password, so this adds
 *    nothing to what a bug in it could reach.
 * An HTTP session is bound to the credentials it logged in with: the
 * pre-auth process sends a fresh random key and the HMAC-SHA-256 under it
 * of the Authorization field's value, and the worker closes the
 * connection on a request whose Authorization field gives another MAC
 * (the worker never sees the password itself).
 * The decoder is the worker's parser of pre-auth bytes: bounded, total.
 */
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ipc.h"
#include "str.h"

enum handoff_mode {
	HANDOFF_TLS13 = 1,
	HANDOFF_PLAIN = 2,
	HANDOFF_RELAY = 3,
};

/* Secrets are at most SHA-384's size (TLS_AES_256_GCM_SHA384). */
#define HANDOFF_MAX_SECRET 48
/* Bytes that travel in the message (ciphertext and plaintext together);
 * more than this and the pre-auth process relays instead. */
#define HANDOFF_MAX_PENDING (48 * 1024)
/* The HTTP credential binding: key and MAC sizes (HMAC-SHA-256). */
#define HANDOFF_AUTH_KEY 32
#define HANDOFF_AUTH_MAC 32

struct handoff {
	uint64_t protocol;            /* enum ipc_protocol */
	enum handoff_mode mode;
	uint16_t suite;               /* TLS 1.3 cipher suite (0x1301...) */
	size_t secret_len;
	unsigned char client_secret[HANDOFF_MAX_SECRET];
	unsigned char server_secret[HANDOFF_MAX_SECRET];
	uint64_t read_seq, write_seq; /* next record numbers */
	struct str cipher_in;         /* client records not yet decrypted */
	struct str plain_in;          /* client bytes not yet consumed */
	bool http_auth;               /* IPC_PROTO_HTTP: the two below are set */
	unsigned char http_auth_key[HANDOFF_AUTH_KEY];
	unsigned char http_auth_mac[HANDOFF_AUTH_MAC]; /* of the Authorization value */
};

/* handoff_encode writes h as an IPC_HANDOFF payload; -1 if it does not fit. */
int handoff_encode(const struct handoff *h, struct buf *out);
/* handoff_decode reads a payload into h (views into payload for the
 * strings); -1 with *error_r if it is malformed. */
int handoff_decode(const unsigned char *payload, size_t len, struct handoff *h,
		   const char **error_r);
/* handoff_wipe clears the secrets in h. */
void handoff_wipe(struct handoff *h);

#endif
