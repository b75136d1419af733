#ifndef RAVELIN_RESOLVER_RDATA_H
#define RAVELIN_RESOLVER_RDATA_H
/*
 * resolver-rdata: turns the records libunbound hands over (each one's
 * RDATA in wire format, RFC 1035 3.3) into the bounded records of dns.h.
 * Pure code, no I/O: the resolver calls it, the unit test and the fuzz
 * target feed it bytes.
 */
#include <stddef.h>

#include "lib/dns-msg.h"

/* Room for the text of every record of one answer: an answer larger than
 * an IPC message is refused anyway. */
#define RESOLVER_RDATA_ARENA DNS_MAX_ANSWER

/* resolver_rdata_parse reads count records of type from data[i] (len[i]
 * octets each) into out (status DNS_OK), their text in arena (at least
 * RESOLVER_RDATA_ARENA octets), which out's records point into.  Returns
 * 0, or -1 with why set (out then DNS_TEMPFAIL): more than
 * DNS_MAX_RECORDS records, a record that does not parse (a label cut
 * short, a compression pointer, an MX target that is no host name, bytes
 * left over), data over DNS_MAX_RDATA, or more text than the arena. */
int resolver_rdata_parse(enum dns_type type, char *const *data, const int *len, size_t count,
			 struct dns_msg_answer *out, char *arena, char *why, size_t whysize);

#endif
