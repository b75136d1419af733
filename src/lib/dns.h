#ifndef RAVELIN_DNS_H
#define RAVELIN_DNS_H
/*
 * dns: what a DNS answer is to the rest of Ravelin.  Only the resolver
 * process speaks DNS (libunbound); everyone else asks it over its IPC link
 * (IPC_DNS_QUERY, answered by IPC_DNS_ANSWER with the same message id) and
 * gets an answer in these types, already bounded: no process but the
 * resolver ever parses a DNS packet.
 *
 * The records of one answer keep the order the resolver got them in; MX
 * preference ordering is the asker's job.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* RFC 1035 2.3.4: a name is at most 255 octets on the wire, 253 as text
 * without the final dot. */
#define DNS_MAX_NAME 253
/* Records handed out per answer; a bigger RRset (an MX set of 10,000, say)
 * is a temporary failure with a log line, not a partial answer. */
#define DNS_MAX_RECORDS 64
/* Octets of one record's data: a TXT record's strings joined (a DKIM key of
 * 4096 bits is about 750), an MX or CNAME target, a TLSA association. */
#define DNS_MAX_RDATA 4096
/* An answer as a whole fits one IPC message. */
#define DNS_MAX_ANSWER (60 * 1024)

/* RR types asked for (the numbers are IANA's). */
enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_PTR = 12,  /* SPF's "ptr": data is the target host (text, no final dot) */
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_TLSA = 52,
};

enum dns_status {
	DNS_OK = 0,        /* records follow (at least one) */
	DNS_NXDOMAIN = 1,  /* the name does not exist */
	DNS_NODATA = 2,    /* the name exists, no record of that type */
	DNS_TEMPFAIL = 3,  /* SERVFAIL, timeout, too big, resolver gone: try later */
	DNS_BOGUS = 4,     /* DNSSEC validation failed: treat as an attack */
};

/* One record.  MX: pref and the target host (text, no final dot).
 * A / AAAA: the 4 / 16 address octets.  TXT: the character-strings joined
 * without separators (RFC 7208 3.3, RFC 6376 3.6.2.2).  TLSA: usage,
 * selector, mtype and the association data octets. */
struct dns_record {
	uint16_t pref;
	uint8_t usage, selector, mtype;
	struct str data;
};

struct dns_answer {
	enum dns_status status;
	bool secure;              /* DNSSEC-validated (only with a trust anchor) */
	size_t count;
	struct dns_record *records;
};

#endif
