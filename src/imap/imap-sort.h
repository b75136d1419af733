#ifndef RAVELIN_IMAP_SORT_H
#define RAVELIN_IMAP_SORT_H
/*
 * imap-sort: the store-free half of SORT (RFC 5256), shared with THREAD:
 * the sort criteria, the base subject (RFC 5256 2.1), the collation key
 * (i;unicode-casemap, RFC 5051, which RFC 5256 asks for through
 * I18NLEVEL=1), the addr-mailbox of an ENVELOPE's first From/To/Cc
 * address, and the ordering of records that carry those keys.  No I/O:
 * imap-search-run.c reads the store and fills the records.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-proto/imap-parser.h"
#include "lib/buf.h"
#include "lib/str.h"

/* Octets of text a collation key is made from, and octets of key kept.
 * Two subjects or addresses that agree on their first 512 octets sort
 * as equal (then by sequence number): no person tells subjects apart
 * that far in, and it keeps a mailbox of hostile 1 MB subjects from
 * costing a megabyte per message in a SORT. */
#define IMAP_SORT_KEY_MAX 512
/* Criteria in one SORT: the seven keys, each with REVERSE, twice over
 * would be 28; clients send one to three. */
#define IMAP_SORT_MAX_CRITERIA 16

enum imap_sort_field {
	IMAP_SORT_ARRIVAL,   /* internal date */
	IMAP_SORT_CC,        /* addr-mailbox of the first Cc address */
	IMAP_SORT_DATE,      /* sent date, the internal date when there is none */
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT,   /* base subject */
	IMAP_SORT_TO,
	/* RFC 5957 SORT=DISPLAY: the display name of the first From/To
	 * address (RFC 2047 decoded), its addr-spec when it has none, a
	 * group's name for a group */
	IMAP_SORT_DISPLAYFROM,
	IMAP_SORT_DISPLAYTO,
};

struct imap_sort_criterion {
	enum imap_sort_field field;
	bool reverse;
};

/*
 * imap_sort_parse_criteria reads SORT's parenthesised criteria list
 * (REVERSE applies to the one key after it) into crit[0..*count_r), which
 * has room for IMAP_SORT_MAX_CRITERIA.  Returns 0, or -1 with a static
 * text for BAD in *error_r.
 */
int imap_sort_parse_criteria(const struct imap_arg *arg, struct imap_sort_criterion *crit,
			     size_t *count_r, const char **error_r);
/* imap_sort_needs_meta: do the criteria read more than flags, size and
 * internal date (so the header fields must be loaded)? */
bool imap_sort_needs_meta(const struct imap_sort_criterion *crit, size_t count);

/*
 * imap_sort_base_subject appends the base subject of subject (RFC 5256
 * 2.1 steps 1-7; the RFC 2047 decoding of step 1 is the caller's) to out.
 * *refwd_r tells whether the extraction removed a subj-refwd ("Re:",
 * "Fwd:"), a "(fwd)" trailer or a "[fwd: ...]" wrapper, which makes the
 * message a reply or forward for THREAD=REFERENCES.  Returns 0, or -1
 * when out is full.
 */
int imap_sort_base_subject(struct str subject, struct buf *out, bool *refwd_r);

/*
 * imap_sort_collate_key appends the i;unicode-casemap form of text (each
 * character titlecased, then NFKD; invalid UTF-8 becomes U+FFFD) to out,
 * made from at most IMAP_SORT_KEY_MAX octets of text and cut to as many
 * octets.  Keys compare with memcmp, a shorter prefix first, so the
 * empty string sorts first as RFC 5256 wants.  Returns 0, or -1 when out
 * is full or ICU fails.
 */
int imap_sort_collate_key(struct str text, struct buf *out);

/*
 * imap_sort_envelope_mailbox reads an IMAP ENVELOPE (the parenthesised
 * text, as store_message_meta gives it) and appends the addr-mailbox of
 * the first address of field (IMAP_SORT_FROM, _TO or _CC) to out: for a
 * group, the group's name, as ENVELOPE shows it.  Nothing is appended
 * when the field is NIL.  Returns false when the text is no ENVELOPE or
 * out is full.
 */
bool imap_sort_envelope_mailbox(struct str envelope, enum imap_sort_field field, struct buf *out);
/*
 * imap_sort_envelope_display is the same for IMAP_SORT_DISPLAYFROM and
 * _DISPLAYTO (RFC 5957 3): the addr-name of the first address as the
 * ENVELOPE holds it (still RFC 2047 encoded), or when that is NIL or
 * empty its addr-mailbox "@" addr-host (the mailbox alone when the host
 * is NIL, which is how a group's name comes).
 */
bool imap_sort_envelope_display(struct str envelope, enum imap_sort_field field, struct buf *out);

/* One message to sort; the string fields are collation keys. */
struct imap_sort_msg {
	uint32_t uid;
	uint32_t seq;          /* the implicit last criterion */
	int64_t arrival;       /* internal date */
	int64_t sent_date;     /* Date:, or arrival when it has none (RFC 5256 2.2) */
	uint64_t size;
	uint64_t modseq;       /* carried for the answer, not a criterion */
	struct str subject, from, to, cc, display_from, display_to;
};

/* imap_sort_msgs orders msgs by the criteria, then by sequence number
 * (which REVERSE never turns round: RFC 5256 section 3). */
void imap_sort_msgs(struct imap_sort_msg *msgs, size_t count,
		    const struct imap_sort_criterion *crit, size_t crit_count);

/* imap_sort_compare_date orders (sent date, sequence number) pairs as
 * RFC 5256 2.2 and THREAD do; returns <0, 0 or >0. */
int imap_sort_compare_date(int64_t date_a, uint32_t seq_a, int64_t date_b, uint32_t seq_b);

#endif
