#ifndef RAVELIN_MIME_HEADER_H
#define RAVELIN_MIME_HEADER_H
/*
 * mime-header: one header block (the bytes before the blank line) parsed
 * into the fields IMAP needs: Content-* for BODYSTRUCTURE and, for a
 * message, the ENVELOPE fields and References.
 */
#include "lib/pool.h"
#include "lib/str.h"
#include "mime-tree.h"

/*
 * mime_header_parse fills node->content, and node->envelope and
 * node->references when node->envelope is not NULL, from block.  Of
 * repeated Content-* fields the first counts; of repeated envelope fields
 * the last, except that address fields are merged (as Dovecot does, so a
 * second From: cannot hide behind the first).  At most *address_budget
 * addresses are kept (decremented).  Values are copied into pool.
 * Returns 0, or -1 when the pool is exhausted.
 */
int mime_header_parse(struct pool *pool, struct mime_node *node, struct str block,
		      unsigned *address_budget);

#endif
