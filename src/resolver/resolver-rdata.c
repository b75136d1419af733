/* resolver-rdata: RDATA in wire format to dns.h records (see resolver-rdata.h). */
#include "resolver-rdata.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A label's length octet: the top two bits set make it a compression
 * pointer (RFC 1035 4.1.4), the other combinations with them are
 * reserved (RFC 6891 dropped extended labels). */
#define RDATA_LABEL_KIND 0xC0

/* The text of one record being built in the arena. */
struct rdata_out {
	char *arena;
	size_t used;
};

/* host_char: may c stand in a host name we hand out? */
static bool host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* parse_name reads the uncompressed name at p[0..len) as host-name text
 * into the arena ("" for the root); 0, or -1 with why. */
static int parse_name(const unsigned char *p, size_t len, struct rdata_out *o, struct str *text,
		      char *why, size_t whysize)
{
	size_t at = 0, start = o->used, wire = 0;

	for (;;) {
		if (at >= len) {
			snprintf(why, whysize, "a name runs past its record");
			return -1;
		}
		unsigned label = p[at++];
		if (label & RDATA_LABEL_KIND) {
			/* RDATA names reach us expanded; a pointer here would
			 * point into a packet we do not have. */
			snprintf(why, whysize, "a compressed name inside a record");
			return -1;
		}
		wire += 1 + label;
		if (wire > DNS_MAX_NAME + 2) {
			snprintf(why, whysize, "a name longer than %d octets", DNS_MAX_NAME);
			return -1;
		}
		if (label == 0)
			break;
		if (label > len - at) {
			snprintf(why, whysize, "a label runs past its record");
			return -1;
		}
		if (o->used + label + 1 > RESOLVER_RDATA_ARENA) {
			snprintf(why, whysize, "the answer is larger than %d octets", DNS_MAX_ANSWER);
			return -1;
		}
		if (o->used > start)
			o->arena[o->used++] = '.';
		for (unsigned i = 0; i < label; i++) {
			if (!host_char(p[at + i])) {
				snprintf(why, whysize, "a name that is not a host name");
				return -1;
			}
			o->arena[o->used++] = (char)p[at + i];
		}
		at += label;
	}
	if (at != len) {
		snprintf(why, whysize, "octets after a name");
		return -1;
	}
	if (o->used - start > DNS_MAX_NAME) {
		snprintf(why, whysize, "a name longer than %d octets", DNS_MAX_NAME);
		return -1;
	}
	*text = str_from(o->arena + start, o->used - start);
	return 0;
}

/* parse_txt joins the character-strings of one TXT record (RFC 1035
 * 3.3.14) into the arena; 0, or -1 with why. */
static int parse_txt(const unsigned char *p, size_t len, struct rdata_out *o, struct str *text,
		     char *why, size_t whysize)
{
	size_t at = 0, start = o->used;

	while (at < len) {
		size_t n = p[at++];
		if (n > len - at) {
			snprintf(why, whysize, "a TXT string runs past its record");
			return -1;
		}
		if (o->used - start + n > DNS_MAX_RDATA) {
			snprintf(why, whysize, "a TXT record longer than %d octets", DNS_MAX_RDATA);
			return -1;
		}
		if (o->used + n > RESOLVER_RDATA_ARENA) {
			snprintf(why, whysize, "the answer is larger than %d octets", DNS_MAX_ANSWER);
			return -1;
		}
		memcpy(o->arena + o->used, p + at, n);
		o->used += n;
		at += n;
	}
	*text = str_from(o->arena + start, o->used - start);
	return 0;
}

/* parse_one reads one record; 0, or -1 with why. */
static int parse_one(enum dns_type type, const unsigned char *p, size_t len, struct rdata_out *o,
		     struct dns_record *rr, char *why, size_t whysize)
{
	memset(rr, 0, sizeof(*rr));
	switch (type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA: {
		size_t want = type == DNS_TYPE_A ? 4 : 16;
		if (len != want || o->used + want > RESOLVER_RDATA_ARENA) {
			snprintf(why, whysize, "an address of %zu octets", len);
			return -1;
		}
		memcpy(o->arena + o->used, p, want);
		rr->data = str_from(o->arena + o->used, want);
		o->used += want;
		return 0;
	}
	case DNS_TYPE_MX:
		if (len < 3) {
			snprintf(why, whysize, "an MX record of %zu octets", len);
			return -1;
		}
		rr->pref = (uint16_t)(p[0] << 8 | p[1]);
		return parse_name(p + 2, len - 2, o, &rr->data, why, whysize);
	case DNS_TYPE_PTR:
		/* RFC 1035 3.3.12: the target name only. */
		return parse_name(p, len, o, &rr->data, why, whysize);
	case DNS_TYPE_TXT:
		return parse_txt(p, len, o, &rr->data, why, whysize);
	case DNS_TYPE_TLSA:
		/* RFC 6698 2.1: three octets, then at least one of data. */
		if (len < 4 || len - 3 > DNS_MAX_RDATA || o->used + len - 3 > RESOLVER_RDATA_ARENA) {
			snprintf(why, whysize, "a TLSA record of %zu octets", len);
			return -1;
		}
		rr->usage = p[0];
		rr->selector = p[1];
		rr->mtype = p[2];
		memcpy(o->arena + o->used, p + 3, len - 3);
		rr->data = str_from(o->arena + o->used, len - 3);
		o->used += len - 3;
		return 0;
	}
	snprintf(why, whysize, "type %d is not asked for", (int)type);
	return -1;
}

int resolver_rdata_parse(enum dns_type type, char *const *data, const int *len, size_t count,
			 struct dns_msg_answer *out, char *arena, char *why, size_t whysize)
{
	struct rdata_out o = { .arena = arena, .used = 0 };

	dns_msg_answer_status(out, DNS_TEMPFAIL);
	if (count == 0) {
		snprintf(why, whysize, "no records");
		return -1;
	}
	if (count > DNS_MAX_RECORDS) {
		snprintf(why, whysize, "%zu records, more than %d", count, DNS_MAX_RECORDS);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (len[i] < 0 ||
		    parse_one(type, (const unsigned char *)data[i], (size_t)len[i], &o,
			      &out->records[i], why, whysize) < 0) {
			dns_msg_answer_status(out, DNS_TEMPFAIL);
			return -1;
		}
	}
	out->answer.status = DNS_OK;
	out->answer.count = count;
	return 0;
}
