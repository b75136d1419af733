#ifndef RAVELIN_AUTH_FORWARD_H
#define RAVELIN_AUTH_FORWARD_H
/*
 * auth-forward: recipients that go on to other servers.  An alias with
 * remote targets, and a bounce to one of our SRS addresses (lib/srs.h),
 * are answered with the remote addresses, each sealed like a recipient
 * with no accounts, so the queue takes them as remote recipients on
 * auth's word only (never on the pre-auth process's).
 */
#include <stdbool.h>
#include <stdint.h>

#include "auth/directory.h"
#include "lib/buf.h"
#include "lib/srs.h"
#include "lib/ticket.h"

/*
 * auth_forward_resolve is directory_resolve_forwards for address, except
 * that an SRS0 address at hostname or one of our domains is decoded with
 * key (have_key false: every one refused) at now: a valid one resolves as
 * its original sender does (a remote sender: one forward to it), an
 * invalid or expired one is DIRECTORY_RESOLVE_UNKNOWN.
 */
int auth_forward_resolve(struct directory *dir, const unsigned char key[SRS_KEY_SIZE],
			 bool have_key, const char *hostname, struct str address, int64_t now,
			 uint64_t *ids, size_t max_ids, size_t *count_r,
			 struct directory_forwards *fw, const char **error_r);

/*
 * auth_forward_put appends IPC_RCPT_RESULT's forwards to out: the count,
 * then each address with its seal under key for pre-auth process serial's
 * transaction txn until expires (none unless sealed).
 */
void auth_forward_put(struct buf *out, const unsigned char key[TICKET_KEY_SIZE], bool sealed,
		      uint64_t serial, uint64_t txn, uint64_t expires,
		      const struct directory_forwards *fw);

#endif
