#ifndef RAVELIN_IMAP_CATENATE_H
#define RAVELIN_IMAP_CATENATE_H
/*
 * imap-catenate: CATENATE (RFC 4469), the message APPEND stores made of
 * TEXT literals and URLs of messages (or parts of them) in this account.
 * A URL is read as FETCH reads BODY.PEEK[section] (src/imap-proto/imap-url),
 * so a part means what FETCH shows; a URL that names nothing here (another
 * server, a mailbox that is not there, a UIDVALIDITY that changed, a UID
 * that is gone) is refused with NO [BADURL].
 */
#include <stddef.h>
#include <stdint.h>

#include "imap-proto/imap-parser.h"

struct imap_session;

/*
 * imap_catenate_build assembles the message described by parts, the items
 * of the list after the word CATENATE, into *content_r (malloc'd: the
 * caller frees it) of *len_r octets.  *budget is what all messages of the
 * command may still add up to; the message's size is taken from it.
 * Returns 0, or -1 with the tagged answer written (BAD for a malformed
 * part, NO [BADURL] for a URL, NO [TOOBIG] past s->settings.max_append or
 * the budget).
 */
int imap_catenate_build(struct imap_session *s, const struct imap_arg *parts, size_t count,
			uint64_t *budget, char **content_r, size_t *len_r);

#endif
