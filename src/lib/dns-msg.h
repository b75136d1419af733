#ifndef RAVELIN_DNS_MSG_H
#define RAVELIN_DNS_MSG_H
/*
 * dns-msg: the payloads of IPC_DNS_QUERY and IPC_DNS_ANSWER (see dns.h),
 * written and read in one place so that the resolver and every asker
 * agree on them.
 *
 *   IPC_DNS_QUERY:  u64 type, str name (1 to DNS_MAX_NAME octets)
 *   IPC_DNS_ANSWER: u64 status, u64 secure, u64 count, then per record
 *                   u64 pref, u64 usage, u64 selector, u64 mtype,
 *                   str data (<= DNS_MAX_RDATA); in all <= DNS_MAX_ANSWER
 *
 * The readers treat anything else as malformed: a type not in enum
 * dns_type, a status not in enum dns_status, records with a status other
 * than DNS_OK (or none with it), a field over its bound, data that does
 * not fit the record type (an address of the wrong length, an MX target
 * that is no host name).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dns.h"
#include "str.h"

/* An answer read from a message: the records are views into the payload,
 * valid while the message is (the handler's call). */
struct dns_msg_answer {
	struct dns_answer answer;
	struct dns_record records[DNS_MAX_RECORDS];
};

/* dns_type_known: is type one of enum dns_type? */
bool dns_type_known(uint64_t type);
/* dns_type_name: "MX", "TXT", ... ("?" for an unknown type). */
const char *dns_type_name(uint64_t type);

/* dns_msg_put_query appends a query's payload to b; 0, or -1 if the name
 * is empty or longer than DNS_MAX_NAME, or the type unknown. */
int dns_msg_put_query(struct buf *b, enum dns_type type, struct str name);
/* dns_msg_get_query reads a query's payload; 0, or -1 if malformed.
 * name is a view into payload. */
int dns_msg_get_query(const unsigned char *payload, size_t len, enum dns_type *type,
		      struct str *name);

/* dns_msg_put_answer appends an answer's payload to b; 0, or -1 if it
 * breaks a bound (too many records, data too long, over DNS_MAX_ANSWER)
 * or records come with a status other than DNS_OK. */
int dns_msg_put_answer(struct buf *b, const struct dns_answer *a);
/* dns_msg_get_answer reads the answer to a query of type; 0, or -1 if
 * malformed (out is then a DNS_TEMPFAIL answer without records). */
int dns_msg_get_answer(const unsigned char *payload, size_t len, enum dns_type type,
		       struct dns_msg_answer *out);
/* dns_msg_answer_status sets out to a record-less answer with status. */
void dns_msg_answer_status(struct dns_msg_answer *out, enum dns_status status);

#endif
