#ifndef RAVELIN_QUEUE_DKIM_H
#define RAVELIN_QUEUE_DKIM_H
/*
 * queue-dkim: the queue signs outgoing mail with DKIM (RFC 6376,
 * relaxed/relaxed, one rsa-sha256 and one ed25519-sha256 signature) with
 * the newest keys of the From: domain.  The private keys are in
 * DATA/dkim/<domain>/<selector>.pem (0600, the queue's uid), made by
 * `ravelin domain dkim`; they are read once, when the queue starts and
 * before its jail, so the jailed queue opens no key file and no process
 * that parses network input ever holds one.
 *
 * A selector is the algorithm's letter ('r' RSA, 'e' Ed25519), the year
 * it was made and a letter or more (r2026a, e2026a; --rotate makes
 * r2026b, ...); the newest of each algorithm signs.
 */
#include <stddef.h>

#include "lib/buf.h"

/* The folder of DATA with the keys. */
#define QUEUE_DKIM_DIR "dkim"
/* Octets of a selector's suffix after the year: 26 rotations a year in
 * one letter, then "za".."zz" and so on; more is no name we make. */
#define QUEUE_DKIM_SUFFIX_MAX 8

struct queue_dkim;

/*
 * queue_dkim_load reads the newest key of each algorithm of every
 * domain in data_dir/dkim into *d (empty if the folder is missing).  A
 * key that does not load is logged and left out.  0, or -1 (logged)
 * without memory.  queue_dkim_free frees them.
 */
int queue_dkim_load(const char *data_dir, struct queue_dkim **d);
void queue_dkim_free(struct queue_dkim **d);
/* queue_dkim_domains counts the domains that have at least one key. */
size_t queue_dkim_domains(const struct queue_dkim *d);

/*
 * queue_dkim_sign reads the message in msg_fd (from offset 0, to its
 * end; the offset of fd is not used) and appends to headers_out one
 * DKIM-Signature field (CRLF-ended) per algorithm when its From:
 * domain is one with keys, nothing otherwise.  Returns the number of
 * fields appended (0 for a message not ours or whose header block is
 * past DKIM_HEADER_MAX_BYTES), or -1 (logged) when the file cannot be
 * read or a key does not sign.
 */
int queue_dkim_sign(struct queue_dkim *d, int msg_fd, struct buf *headers_out);

/*
 * queue_dkim_selector_cmp orders two selectors of one algorithm by age:
 * <0 if a is older than b, 0 if equal, >0 if newer; a name not of the
 * form above is older than any that is.
 */
int queue_dkim_selector_cmp(const char *a, const char *b);

#endif
