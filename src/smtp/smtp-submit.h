#ifndef RAVELIN_SMTP_SUBMIT_H
#define RAVELIN_SMTP_SUBMIT_H
/*
 * smtp-submit: what the submission dialogue (RFC 6409) adds to the SMTP
 * one, as code with no I/O and no state beyond the caller's structs: the
 * AUTH command's arguments, the base64 of SASL LOGIN, and the header
 * section of a submitted message (collected up to a limit, then scanned
 * for From:, Date: and Message-ID:).  Every input here is the client's:
 * bounded, and fuzzed through the session (fuzz/fuzz-smtp.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/str.h"

/* The header section of a submitted message is held whole to be checked
 * before any of it goes on: 256 KiB is many times what mail clients
 * write (a few KiB, with long References: chains), and what one pre-auth
 * process may hold for it.  A longer header section is refused (552). */
#define SMTP_SUBMIT_MAX_HEADER (256u * 1024)
/* Mailboxes looked at in From: (RFC 5322 3.6.2 allows several); each must
 * be the account's.  More is not a message a person sends: refused. */
#define SMTP_SUBMIT_MAX_FROM 16
/* A SASL LOGIN user name or password, decoded: what IPC_LOGIN carries at
 * most (a longer one is refused by the login code, as a wrong one). */
#define SMTP_SUBMIT_MAX_SASL 1024

enum smtp_auth_mech {
	SMTP_AUTH_MECH_UNKNOWN = 0,
	SMTP_AUTH_MECH_PLAIN,
	SMTP_AUTH_MECH_LOGIN,
};

/* smtp_submit_parse_auth splits AUTH's argument into the mechanism and
 * the initial response (STR_NULL when none was given; "=" stays "="). */
enum smtp_auth_mech smtp_submit_parse_auth(struct str arg, struct str *initial_r);

/* smtp_submit_base64 decodes b64 into out (size max); 0 with *len_r, or
 * -1 for bad base64 or a result over max.  "=" is the empty string. */
int smtp_submit_base64(struct str b64, char *out, size_t max, size_t *len_r);

/* Gathers a message's header section from its content as it streams. */
struct smtp_header_collector {
	struct buf header;   /* the section so far, its blank line excluded */
	size_t line_len;     /* octets of the current line, CR not counted */
	bool done;           /* the blank line was seen */
	bool too_big;        /* over SMTP_SUBMIT_MAX_HEADER: nothing more kept */
};

void smtp_header_collector_init(struct smtp_header_collector *h);
void smtp_header_collector_free(struct smtp_header_collector *h);
/*
 * smtp_header_collect takes content octets p[0..n) while the header
 * section lasts and returns how many it took: all of them, or up to and
 * including the blank line that ends the section (h->done is then set; the
 * rest is body).  The blank line itself is not kept.  Past
 * SMTP_SUBMIT_MAX_HEADER octets h->too_big is set and everything is taken
 * and dropped.
 */
size_t smtp_header_collect(struct smtp_header_collector *h, const char *p, size_t n);

/* What a header section says, for the submission checks. */
struct smtp_header_scan {
	bool has_date;
	bool has_message_id;
	bool has_from;
	/* From:'s addr-specs, pointing into the header scanned. */
	struct str from[SMTP_SUBMIT_MAX_FROM];
	size_t from_count;
	/* A From: with more mailboxes, or one that could not be read. */
	bool from_bad;
};

/* smtp_submit_scan_header reads the fields of a header section (lines
 * ending in CRLF or LF, folded lines unfolded). */
void smtp_submit_scan_header(struct str header, struct smtp_header_scan *out);

/*
 * smtp_submit_check_header checks a submitted header section (RFC 6409
 * 8): every From: mailbox must be one allowed(ctx, address) accepts, and
 * there must be one.  Returns -1 if not; else 0, with the fields to add
 * before the section appended to add: Date: and Message-ID: (random, at
 * hostname) when it has none (RFC 6409 8.2, 8.3).
 */
int smtp_submit_check_header(struct str header, bool (*allowed)(void *ctx, struct str address),
			     void *ctx, const char *hostname, struct buf *add);

/* smtp_submit_date writes an RFC 5322 date-time in UTC (Date:, Received:). */
void smtp_submit_date(time_t t, char *out, size_t size);

#endif
