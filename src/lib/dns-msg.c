/* dns-msg: IPC_DNS_QUERY and IPC_DNS_ANSWER payloads (see dns-msg.h). */
#include "dns-msg.h"

#include <string.h>

#include "ipc.h"

/* Octets one record takes in an answer's payload besides its data: four
 * u64 fields and the data's length. */
#define DNS_MSG_RECORD_FIXED (5 * IPC_U64_SIZE)

bool dns_type_known(uint64_t type)
{
	switch (type) {
	case DNS_TYPE_A:
	case DNS_TYPE_PTR:
	case DNS_TYPE_MX:
	case DNS_TYPE_TXT:
	case DNS_TYPE_AAAA:
	case DNS_TYPE_TLSA:
		return true;
	default:
		return false;
	}
}

const char *dns_type_name(uint64_t type)
{
	switch (type) {
	case DNS_TYPE_A:
		return "A";
	case DNS_TYPE_MX:
		return "MX";
	case DNS_TYPE_TXT:
		return "TXT";
	case DNS_TYPE_AAAA:
		return "AAAA";
	case DNS_TYPE_TLSA:
		return "TLSA";
	default:
		return "?";
	}
}

/* host_name_ok: is s a host name as the resolver writes one (letters,
 * digits, '-', '_' and dots, no final dot; empty for the root, which is
 * what a null MX names)? */
static bool host_name_ok(struct str s)
{
	if (s.len > DNS_MAX_NAME)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int dns_msg_put_query(struct buf *b, enum dns_type type, struct str name)
{
	if (!dns_type_known(type) || name.len == 0 || name.len > DNS_MAX_NAME)
		return -1;
	if (ipc_put_u64(b, type) < 0 || ipc_put_str(b, name) < 0)
		return -1;
	return 0;
}

int dns_msg_get_query(const unsigned char *payload, size_t len, enum dns_type *type,
		      struct str *name)
{
	struct ipc_reader r = { .p = payload, .left = len, .bad = false };
	uint64_t t = ipc_get_u64(&r);
	struct str n = ipc_get_str(&r, DNS_MAX_NAME);
	if (!ipc_reader_ok(&r) || !dns_type_known(t) || n.len == 0 || memchr(n.ptr, 0, n.len))
		return -1;
	*type = (enum dns_type)t;
	*name = n;
	return 0;
}

int dns_msg_put_answer(struct buf *b, const struct dns_answer *a)
{
	size_t start = b->len;
	size_t size = 3 * IPC_U64_SIZE;

	if (a->count > DNS_MAX_RECORDS || (a->count > 0) != (a->status == DNS_OK))
		return -1;
	for (size_t i = 0; i < a->count; i++) {
		if (a->records[i].data.len > DNS_MAX_RDATA)
			return -1;
		size += DNS_MSG_RECORD_FIXED + a->records[i].data.len;
	}
	if (size > DNS_MAX_ANSWER)
		return -1;
	/* One failed append leaves rc negative; the order of the fields is
	 * the order of the statements. */
	int rc = ipc_put_u64(b, a->status);
	rc |= ipc_put_u64(b, a->secure);
	rc |= ipc_put_u64(b, a->count);
	for (size_t i = 0; rc == 0 && i < a->count; i++) {
		const struct dns_record *rr = &a->records[i];
		rc |= ipc_put_u64(b, rr->pref);
		rc |= ipc_put_u64(b, rr->usage);
		rc |= ipc_put_u64(b, rr->selector);
		rc |= ipc_put_u64(b, rr->mtype);
		rc |= ipc_put_str(b, rr->data);
	}
	if (rc != 0) {
		b->len = start;
		return -1;
	}
	return 0;
}

void dns_msg_answer_status(struct dns_msg_answer *out, enum dns_status status)
{
	out->answer.status = status;
	out->answer.secure = false;
	out->answer.count = 0;
	out->answer.records = out->records;
}

/* record_ok: does rr fit a record of type? */
static bool record_ok(enum dns_type type, const struct dns_record *rr)
{
	switch (type) {
	case DNS_TYPE_A:
		return rr->data.len == 4;
	case DNS_TYPE_AAAA:
		return rr->data.len == 16;
	case DNS_TYPE_MX:
	case DNS_TYPE_PTR:
		return host_name_ok(rr->data);
	case DNS_TYPE_TXT:
		return true;
	case DNS_TYPE_TLSA:
		return rr->data.len > 0;
	}
	return false;
}

int dns_msg_get_answer(const unsigned char *payload, size_t len, enum dns_type type,
		       struct dns_msg_answer *out)
{
	struct ipc_reader r = { .p = payload, .left = len, .bad = false };

	dns_msg_answer_status(out, DNS_TEMPFAIL);
	if (len > DNS_MAX_ANSWER)
		return -1;
	uint64_t status = ipc_get_u64(&r);
	uint64_t secure = ipc_get_u64(&r);
	uint64_t count = ipc_get_u64(&r);
	if (r.bad || status > DNS_BOGUS || secure > 1 || count > DNS_MAX_RECORDS ||
	    (count > 0) != (status == DNS_OK))
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		struct dns_record *rr = &out->records[i];
		uint64_t pref = ipc_get_u64(&r);
		uint64_t usage = ipc_get_u64(&r);
		uint64_t selector = ipc_get_u64(&r);
		uint64_t mtype = ipc_get_u64(&r);
		rr->data = ipc_get_str(&r, DNS_MAX_RDATA);
		if (r.bad || pref > UINT16_MAX || usage > UINT8_MAX || selector > UINT8_MAX ||
		    mtype > UINT8_MAX)
			return -1;
		rr->pref = (uint16_t)pref;
		rr->usage = (uint8_t)usage;
		rr->selector = (uint8_t)selector;
		rr->mtype = (uint8_t)mtype;
		if (!record_ok(type, rr))
			return -1;
	}
	if (!ipc_reader_ok(&r))
		return -1;
	out->answer.status = (enum dns_status)status;
	out->answer.secure = secure == 1;
	out->answer.count = (size_t)count;
	return 0;
}
