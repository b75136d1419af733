#ifndef RAVELIN_ADDRESS_H
#define RAVELIN_ADDRESS_H
/*
 * address: RFC 5322 address lists (From, To, Cc, ...) parsed the way IMAP
 * ENVELOPE shows them, leniently as Dovecot does.  A group is an entry
 * with only mailbox set (the group name) followed by its members and an
 * entry with nothing set.  Display names stay raw (RFC 2047 words are
 * not decoded here; ENVELOPE carries them as written).
 */
#include <stdbool.h>

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/str.h"

struct address {
	struct address *next;
	struct str name;    /* display name, unquoted; ptr NULL when absent */
	struct str route;   /* obsolete source route "@a,@b"; ptr NULL when absent */
	struct str mailbox; /* local part; group name for a group start */
	struct str domain;  /* ptr NULL for group start/end */
};

/*
 * address_list_parse appends the addresses in value to the list whose
 * head and tail are *head and *tail (both NULL for an empty list), at most
 * *budget entries, decrementing *budget.  A mailbox without local part or
 * domain gets "MISSING_MAILBOX" / "MISSING_DOMAIN", as Dovecot fills them.
 * Everything is allocated from pool.  Returns 0, or -1 when the pool is
 * exhausted.
 */
int address_list_parse(struct pool *pool, struct str value, struct address **head,
		       struct address **tail, unsigned *budget);
/*
 * address_list_append_display appends the list for humans and search:
 * "Name <local@domain>, local@domain, Group: a@b;" with display names
 * RFC 2047-decoded to UTF-8.  Returns 0, or -1 when out is full.
 */
int address_list_append_display(struct buf *out, const struct address *list);

#endif
