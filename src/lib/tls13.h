#ifndef RAVELIN_TLS13_H
#define RAVELIN_TLS13_H
/*
 * tls13: the server side of the TLS 1.3 record layer (RFC 8446 section 5)
 * for a connection whose handshake another process made.  The pre-auth
 * process hands over the two application traffic secrets, the cipher suite
 * and the next record number in each direction; from then on this module
 * decrypts what the client sends, encrypts what we send, and follows
 * KeyUpdate (RFC 8446 4.6.3).  No I/O: bytes go in and out through bufs,
 * so it can be tested record by record and fuzzed.  docs/tls13-handoff.md
 * says why nonces never repeat.
 *
 * Any error on input is fatal: a fatal alert is queued for the peer and the
 * state is dead from then on (every later call fails), as RFC 8446 6.2
 * requires.  Keys live only inside the EVP cipher contexts; secrets are
 * wiped by tls13_clear and on every key update.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "buf.h"

#define TLS13_MAX_PLAINTEXT 16384            /* RFC 8446 5.1 */
#define TLS13_MAX_CIPHERTEXT (16384 + 256)   /* RFC 8446 5.2 */
#define TLS13_MAX_SECRET 48                  /* SHA-384 */
/* Records written under one key before we send a KeyUpdate ourselves (well
 * under AES-GCM's 2^24.5 limit, RFC 8446 5.5). */
#define TLS13_REKEY_RECORDS ((uint64_t)1 << 23)
/* type, legacy_record_version, length (RFC 8446 5.1) */
#define TLS13_HEADER_SIZE 5
/* All three suites use a 12-byte nonce and a 16-byte tag (RFC 8446 5.3). */
#define TLS13_IV_SIZE 12
#define TLS13_TAG_SIZE 16
#define TLS13_MAX_KEY 32
/* The only handshake message legal after the handshake is KeyUpdate: a
 * 4-byte header and a 1-byte body, so reassembly never needs more. */
#define TLS13_HANDSHAKE_HEADER 4
#define TLS13_MAX_HANDSHAKE (TLS13_HANDSHAKE_HEADER + 1)
/* Room a single control record takes in out: a KeyUpdate or an alert
 * (header, at most 5 bytes of content, the type byte, the tag). */
#define TLS13_CONTROL_RECORD (TLS13_HEADER_SIZE + TLS13_MAX_HANDSHAKE + 1 + TLS13_TAG_SIZE)

enum tls13_suite {
	TLS13_AES_128_GCM_SHA256 = 0x1301,
	TLS13_AES_256_GCM_SHA384 = 0x1302,
	TLS13_CHACHA20_POLY1305_SHA256 = 0x1303,
};

/* ContentType (RFC 8446 5.1) */
enum tls13_content {
	TLS13_CHANGE_CIPHER_SPEC = 20,
	TLS13_ALERT = 21,
	TLS13_HANDSHAKE = 22,
	TLS13_APPLICATION_DATA = 23,
};

/* AlertDescription values this module sends or acts on (RFC 8446 6). */
enum tls13_alert {
	TLS13_ALERT_CLOSE_NOTIFY = 0,
	TLS13_ALERT_UNEXPECTED_MESSAGE = 10,
	TLS13_ALERT_BAD_RECORD_MAC = 20,
	TLS13_ALERT_RECORD_OVERFLOW = 22,
	TLS13_ALERT_ILLEGAL_PARAMETER = 47,
	TLS13_ALERT_DECODE_ERROR = 50,
	TLS13_ALERT_INTERNAL_ERROR = 80,
};

/* One direction: its current traffic secret, the cipher context holding
 * the key derived from it, the IV, and the next record number. */
struct tls13_direction {
	EVP_CIPHER_CTX *ctx;
	uint8_t secret[TLS13_MAX_SECRET];
	uint8_t iv[TLS13_IV_SIZE];
	uint64_t seq;
};

/* Public so callers can embed it; only this module touches the fields
 * (the counters and alert codes may be read for logging). */
struct tls13 {
	uint16_t suite;
	size_t secret_len;             /* Hash.length of the suite */
	struct tls13_direction read;   /* client -> server */
	struct tls13_direction write;  /* server -> client */
	uint8_t handshake[TLS13_MAX_HANDSHAKE];  /* a KeyUpdate being reassembled */
	size_t handshake_len;
	bool dead;                     /* a fatal error happened */
	bool peer_closed;              /* the client sent close_notify */
	bool write_closed;             /* we sent close_notify or a fatal alert */
	int alert_sent;                /* fatal alert we queued, or -1 */
	int alert_received;            /* alert the peer sent, or -1 */
	const char *error;             /* why the state is dead */
};

/* tls13_init sets t up from the hand-off: secrets are the *current*
 * application traffic secrets (secret_len = the suite's hash length),
 * read_seq/write_seq the next record numbers.  Returns 0, or -1 with
 * *error_r (t is then cleared).  Call tls13_clear after either. */
int tls13_init(struct tls13 *t, uint16_t suite, const uint8_t *client_secret,
	       const uint8_t *server_secret, size_t secret_len, uint64_t read_seq,
	       uint64_t write_seq, const char **error_r);
/* tls13_clear frees the cipher contexts and wipes every key and secret. */
void tls13_clear(struct tls13 *t);

/* tls13_read consumes every complete record at the start of in (ciphertext
 * from the client; a partial record stays; consumed records are decrypted
 * in place first), appends application data to plain and anything we must
 * send (a KeyUpdate answer, an alert) to out.  It stops early, leaving the
 * next record in in, when plain might not hold it or out has less than
 * TLS13_CONTROL_RECORD free: the caller drains them and calls again.
 * plain->max must be at least TLS13_MAX_PLAINTEXT.  Returns 1 ok, 0 if the
 * peer sent close_notify (our own close_notify is appended to out, bytes
 * after it are ignored), -1 on a fatal error with *error_r (a fatal alert
 * was appended to out if there was room; any later call returns -1). */
int tls13_read(struct tls13 *t, struct buf *in, struct buf *plain, struct buf *out,
	       const char **error_r);
/* tls13_write encrypts len bytes as application_data records of at most
 * TLS13_MAX_PLAINTEXT each into out, sending a KeyUpdate first when the
 * write key has protected TLS13_REKEY_RECORDS records.  All or nothing:
 * returns 0, or -1 if out has no room for it all (errno ENOBUFS, nothing
 * written, the state unchanged) or the state is dead or closed (EPIPE). */
int tls13_write(struct tls13 *t, const void *data, size_t len, struct buf *out);
/* tls13_close_notify appends our close_notify; later writes fail.  0, or
 * -1 as for tls13_write.  A second call does nothing and returns 0. */
int tls13_close_notify(struct tls13 *t, struct buf *out);
/* tls13_key_update sends a KeyUpdate now and moves our write side to the
 * next key; with request_update the peer must answer with its own
 * (RFC 8446 4.6.3).  tls13_write does this by itself every
 * TLS13_REKEY_RECORDS records.  0, or -1 as for tls13_write. */
int tls13_key_update(struct tls13 *t, bool request_update, struct buf *out);
/* tls13_write_record appends one record of any inner content type, its
 * content followed by padding zero bytes (RFC 8446 5.4), under the write
 * key.  tls13_write is the normal way; this is for tests and the fuzzer,
 * which must make records a correct peer never sends.  0 or -1 as above. */
int tls13_write_record(struct tls13 *t, uint8_t type, const void *data, size_t len,
		       size_t padding, struct buf *out);

#endif
