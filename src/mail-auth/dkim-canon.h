#ifndef RAVELIN_DKIM_CANON_H
#define RAVELIN_DKIM_CANON_H
/*
 * dkim-canon: the "simple" and "relaxed" canonicalisations of RFC 6376
 * 3.4, for header fields (one field at a time) and for the body (streamed:
 * a message's body is never held whole, and its hash is taken as it goes
 * by, up to the l= count a signature may give).
 *
 * Lines end in CRLF or in a bare LF (a message stored with LF endings);
 * both count as CRLF, as they will on the wire.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "lib/buf.h"
#include "lib/str.h"

#define DKIM_HASH_LEN 32 /* SHA-256, the only hash RFC 8301 leaves */

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

/*
 * dkim_canon_header appends field (one header field: name, colon, value
 * with its folding, without the final line end) canonicalised to out,
 * followed by CRLF.  0, or -1 if out is full.
 */
int dkim_canon_header(enum dkim_canon c, struct str field, struct buf *out);

/* No l=: the whole body is hashed. */
#define DKIM_BODY_NO_LIMIT UINT64_MAX
/* Octets of canonical output gathered before a digest update. */
#define DKIM_BODY_CHUNK 4096

struct dkim_body_hash {
	/* libsodium's SHA-256: no allocation and no shared state, where
	 * OpenSSL's fetched its implementation and counted references in
	 * objects a pre-auth process shares with its spawner (pages copied
	 * for each message). */
	crypto_hash_sha256_state md;
	bool md_open;         /* md is started and not yet finished */
	enum dkim_canon canon;
	uint64_t limit;       /* octets of canonical body to hash (l=) */
	uint64_t length;      /* canonical octets so far, hashed or not */
	size_t empty_lines;   /* empty lines not written yet: trailing ones go */
	bool cr;              /* a CR was seen, its LF may follow */
	bool wsp;             /* relaxed: white space not written yet */
	bool in_line;         /* something of the current line was written */
	size_t chunk_len;
	uint8_t chunk[DKIM_BODY_CHUNK];
};

/* dkim_body_hash_init starts a SHA-256 of a body canonicalised by c that
 * stops after limit canonical octets.  0, or -1 (no memory). */
int dkim_body_hash_init(struct dkim_body_hash *h, enum dkim_canon c, uint64_t limit);
/* dkim_body_hash_update feeds the next n octets of the body. */
void dkim_body_hash_update(struct dkim_body_hash *h, const void *p, size_t n);
/*
 * dkim_body_hash_final ends the body and writes its hash to out.  0, or
 * -1 when a limit was set that is longer than the canonical body (RFC
 * 6376 6.1.3: such a signature cannot be verified).  Frees the digest.
 */
int dkim_body_hash_final(struct dkim_body_hash *h, uint8_t out[DKIM_HASH_LEN]);
/* dkim_body_hash_free frees a hash not finished (safe after final). */
void dkim_body_hash_free(struct dkim_body_hash *h);

#endif

/* Names one h= may list: a signer lists a dozen or two fields, some more
 * than once; sixty-four bounds the work of picking them. */
#define DKIM_H_MAX_NAMES 64

struct dkim_header;

/*
 * dkim_canon_signed_headers appends to out what a signature's b= signs
 * (RFC 6376 3.7): the fields h_list names (':'-separated, each taken
 * from the bottom up, one not there adding nothing), canonicalised by c,
 * then sig_field (the DKIM-Signature field itself) with its b= value
 * deleted and no final CRLF.  0, or -1 with *error_r (static) for an
 * h_list past DKIM_H_MAX_NAMES, a sig_field without b=, or out full.
 */
int dkim_canon_signed_headers(enum dkim_canon c, const struct dkim_header *h, struct str h_list,
			      struct str sig_field, struct buf *out, const char **error_r);
