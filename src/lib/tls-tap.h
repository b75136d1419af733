#ifndef RAVELIN_TLS_TAP_H
#define RAVELIN_TLS_TAP_H
/*
 * tls-tap: the socket side of a TLS server connection, kept so that the
 * connection can be handed to another process after the handshake.
 *
 * OpenSSL reads and writes the socket through this BIO.  It passes whole
 * TLS records to OpenSSL, never part of one, so that at any moment between
 * OpenSSL calls every byte read from the socket is either inside a record
 * OpenSSL has finished or in this tap's buffer, undecrypted.  It counts the
 * records in each direction after the handshake (the TLS 1.3 sequence
 * numbers, RFC 8446 5.3), keeps the application traffic secrets the
 * keylog callback reports, and notes a KeyUpdate (after which the secrets
 * it holds are no longer current, and the connection cannot be handed on).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "handoff.h"

/* The largest TLS record: header and RFC 8446 5.2's TLSCiphertext. */
#define TLS_TAP_RECORD_MAX (5 + 16384 + 256)

struct tls_tap {
	int fd;
	/* The record being received: rec_have bytes of rec_need, of which
	 * rec_given have gone to OpenSSL. */
	unsigned char rec[TLS_TAP_RECORD_MAX];
	size_t rec_have, rec_need, rec_given;
	/* Where the bytes OpenSSL writes stand: inside a record, out_left
	 * bytes of it to come; or in its header, out_hdr_len bytes seen. */
	unsigned char out_hdr[5];
	size_t out_hdr_len, out_left;
	bool counting;                /* the handshake is over */
	uint64_t records_in, records_out;
	bool key_update;
	size_t client_len, server_len;
	unsigned char client_secret[HANDOFF_MAX_SECRET];
	unsigned char server_secret[HANDOFF_MAX_SECRET];
};

/* tls_tap_attach makes ssl read and write fd through tap (which must
 * outlive ssl).  -1 on failure. */
int tls_tap_attach(SSL *ssl, struct tls_tap *tap, int fd);
/* tls_tap_handshake_done starts the record count (the handshake ended). */
void tls_tap_handshake_done(struct tls_tap *tap);
/* tls_tap_export fills h's TLS 1.3 fields (mode, suite, secrets, sequence
 * numbers, ciphertext not yet given to OpenSSL) if the connection can be
 * handed over now: TLS 1.3, a suite the worker speaks, both secrets known,
 * no KeyUpdate seen, nothing half read or half written.  0, or -1 with
 * *why_r. */
int tls_tap_export(SSL *ssl, const struct tls_tap *tap, struct handoff *h, const char **why_r);
/* tls_tap_wipe clears the secrets. */
void tls_tap_wipe(struct tls_tap *tap);

#endif
