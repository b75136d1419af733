#ifndef RAVELIN_WORKER_DEDUP_H
#define RAVELIN_WORKER_DEDUP_H
/*
 * worker-dedup: the delivery key of a message that another server may
 * send twice.  A sending server that crashes after our 250 but before it
 * noted it sends the message again (RFC 1047's window, which no SMTP
 * client can close); the copy is the same message: same Message-ID, same
 * envelope sender, same body.  Keyed on those three, the store takes the
 * second copy as a delivery it has (store_batch_deliver's key), and the
 * owner sees the message once.  The body is in the key so that nobody can
 * suppress a message by sending another one with its Message-ID first;
 * the trace fields on top (Received:, Authentication-Results:), which
 * differ between the copies, are not.
 */
#include <stddef.h>

#include "lib/str.h"

/* "c:" and 32 hex digits (128 bits of SHA-256), NUL-terminated. */
#define WORKER_DEDUP_KEY_SIZE 35
/* The header block looked at for Message-ID (a longer one gets no key). */
#define WORKER_DEDUP_MAX_HEADER (256 * 1024)

/* worker_dedup_key writes message's key into key and returns true, or
 * returns false when it has no Message-ID field (then the queue's own
 * key is used). */
bool worker_dedup_key(struct str message, struct str sender, char key[WORKER_DEDUP_KEY_SIZE]);

#endif
