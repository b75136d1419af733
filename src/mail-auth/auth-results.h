#ifndef RAVELIN_AUTH_RESULTS_H
#define RAVELIN_AUTH_RESULTS_H
/*
 * auth-results: the RFC 8601 Authentication-Results header field that
 * records SPF, DKIM and DMARC outcomes at the top of a received message,
 * and the reading side: finding (and removing) such fields that claim our
 * authserv-id but came from outside (RFC 8601 5).  No I/O.
 */
#include <stdbool.h>
#include <stddef.h>

#include "dmarc.h"
#include "spf.h"
#include "lib/buf.h"
#include "lib/str.h"

/* The field as written, at most: the id, three methods and up to
 * AUTH_RESULTS_MAX_DKIM signatures with their values cut as below, folded
 * one result a line: about 300 + 8 x 560 + 300 octets in the worst case
 * (values all of AUTH_RESULTS_MAX_VALUE, quoted), so 8 KB always fits. */
#define AUTH_RESULTS_MAX 8192
/* Signatures listed; a message with more has the rest left out (the
 * verifier checks no more than a handful either). */
#define AUTH_RESULTS_MAX_DKIM 8
/* A value (domain, selector, address) written at most this long: a
 * domain is 253, an SMTP path 256. */
#define AUTH_RESULTS_MAX_VALUE 256
/* header.b: the first 8 characters of the signature tell two signatures of
 * one domain apart (RFC 6008 2). */
#define AUTH_RESULTS_B_PREFIX 8
/* Header fields looked at when searching a header block. */
#define AUTH_RESULTS_MAX_FIELDS 1000

/* One DKIM signature's outcome.  result is RFC 8601's word ("pass",
 * "fail", "neutral", "policy", "temperror", "permerror"). */
struct auth_results_dkim {
	const char *result;
	struct str d, s, b;
};

struct auth_results {
	bool spf_done;
	enum spf_result spf;
	struct str mailfrom;     /* MAIL FROM address; empty for <> */
	struct str helo;         /* given as smtp.helo when MAIL FROM is <> */
	bool dkim_done;          /* with dkim_count 0: "dkim=none" */
	const struct auth_results_dkim *dkim;
	size_t dkim_count;
	bool dmarc_done;
	enum dmarc_result dmarc;
	struct str from_domain;
};

/* auth_results_write appends the whole field, "Authentication-Results: "
 * to the final CRLF, folded, for authserv_id.  Values that are not tokens
 * are quoted; control characters are dropped.  With no method done it
 * says "none".  Returns 0, or -1 when out is full (out is then as it was). */
int auth_results_write(struct buf *out, struct str authserv_id, const struct auth_results *r);

/* auth_results_field_next steps *pos (0 at the start) over a raw header
 * block (lines ending in CRLF or LF, maybe with the blank line) to its
 * next field: *name is its name, *field the whole field with its
 * continuation lines and line end.  False at the end of the block. */
bool auth_results_field_next(struct str headers, size_t *pos, struct str *name,
			     struct str *field);

/* auth_results_is_ours says whether the field value of an
 * Authentication-Results field names authserv_id (case-insensitive, after
 * comments and white space). */
bool auth_results_is_ours(struct str value, struct str authserv_id);

/* auth_results_has_ours says whether headers hold an
 * Authentication-Results field with our authserv-id. */
bool auth_results_has_ours(struct str headers, struct str authserv_id);

/* auth_results_remove_ours appends headers to out without the
 * Authentication-Results fields with our authserv-id.  Returns the count
 * removed, or -1 when out is full. */
int auth_results_remove_ours(struct str headers, struct str authserv_id, struct buf *out);

#endif
