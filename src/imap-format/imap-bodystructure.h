#ifndef RAVELIN_IMAP_BODYSTRUCTURE_H
#define RAVELIN_IMAP_BODYSTRUCTURE_H
/*
 * imap-bodystructure: IMAP BODY and BODYSTRUCTURE (RFC 3501 section
 * 7.4.2, RFC 9051 section 7.5.2) of a parsed part tree, byte for byte as
 * Dovecot writes them.
 */
#include <stdbool.h>

#include "lib/buf.h"
#include "mail/mime-tree.h"

/*
 * imap_bodystructure_write appends "(...)" for node and everything below
 * it; extended adds the extension data of BODYSTRUCTURE (multipart:
 * parameters, disposition, language, location; single part: MD5 too).
 * Returns 0, or -1 when out is full.
 */
int imap_bodystructure_write(struct buf *out, const struct mime_node *node, bool extended);

#endif
