#ifndef RAVELIN_IMAP_URL_H
#define RAVELIN_IMAP_URL_H
/*
 * imap-url: the IMAP URLs (RFC 5092) that CATENATE (RFC 4469) names
 * message parts with, in the form relative to the server that clients send:
 *
 *   "/" enc-mailbox [";UIDVALIDITY=" nz-number] "/;UID=" nz-number
 *       ["/;SECTION=" enc-section] ["/;PARTIAL=" number ["." nz-number]]
 *
 * Keys in any case; the mailbox and section percent-decoded (the mailbox
 * as UTF-8, RFC 5092 3.2).  The section is read as FETCH reads
 * BODY.PEEK[section], so it means what FETCH gives.  Refused: absolute
 * URLs ("imap://host/...", which would name a server and a user: the
 * worker serves one account and takes no name from a request for it),
 * ";URLAUTH=" (RFC 4467, not offered), "%00" and control characters,
 * anything past IMAP_URL_MAX octets.
 *
 * Shared (src/imap-proto): pure, no I/O.
 */
#include <stdbool.h>
#include <stdint.h>

#include "imap-parser.h"
#include "lib/pool.h"
#include "lib/str.h"

/* A URL names a mailbox (at most a few hundred octets in practice, and
 * the worker's names are bounded by the command line anyway) and a part;
 * 8 KiB leaves room for a long percent-encoded HEADER.FIELDS list while a
 * URL can never cost more than a fixed amount to decode. */
#define IMAP_URL_MAX (8u * 1024)

struct imap_url {
	const char *mailbox;                /* UTF-8, NUL-terminated */
	uint32_t uidvalidity;               /* 0: not given */
	uint32_t uid;
	const struct imap_section *section; /* BODY.PEEK[...], "[]" when no SECTION */
	bool partial;
	uint64_t partial_offset;
	uint64_t partial_length;            /* 0: to the end */
};

/*
 * imap_url_parse reads url into *url_r, everything allocated from pool.
 * Returns 0, or -1 with a static text in *error_r (the URL is then
 * refused with NO [BADURL]).
 */
int imap_url_parse(struct pool *pool, struct str url, struct imap_url *url_r,
		   const char **error_r);

#endif
