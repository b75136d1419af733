/*
 * fuzz-dns-msg: libFuzzer target for the DNS question and answer payloads
 * (src/lib/dns-msg.c), fed as a peer feeds them.  The first byte chooses
 * the reader: a question, or the answer to a question of one of the
 * types.  Checked for every payload a reader accepts: the name or every
 * record's data lies inside the payload and within its bound, the counts
 * and fields are in range, and writing it again gives the same bytes (so
 * what the resolver may send and what an asker accepts are the same set).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/dns-msg.h"
#include "lib/ipc.h"

static const enum dns_type types[] = { DNS_TYPE_A, DNS_TYPE_MX, DNS_TYPE_TXT, DNS_TYPE_AAAA,
				       DNS_TYPE_TLSA };

/* inside: does s lie within p[0..len)? */
static int inside(struct str s, const uint8_t *p, size_t len)
{
	return s.len == 0 || ((const uint8_t *)s.ptr >= p && (const uint8_t *)s.ptr + s.len <= p + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf again;

	if (size < 1)
		return 0;
	unsigned choice = data[0] % (1 + sizeof(types) / sizeof(types[0]));
	const uint8_t *p = data + 1;
	size_t len = size - 1;
	buf_init(&again, IPC_MAX_PAYLOAD);
	if (choice == 0) {
		enum dns_type type;
		struct str name;
		if (dns_msg_get_query(p, len, &type, &name) == 0) {
			assert(dns_type_known(type));
			assert(name.len > 0 && name.len <= DNS_MAX_NAME && inside(name, p, len));
			assert(dns_msg_put_query(&again, type, name) == 0);
			assert(again.len == len && memcmp(again.data, p, len) == 0);
		}
	} else {
		struct dns_msg_answer a;
		enum dns_type type = types[choice - 1];
		if (dns_msg_get_answer(p, len, type, &a) == 0) {
			assert(a.answer.count <= DNS_MAX_RECORDS);
			assert((a.answer.count > 0) == (a.answer.status == DNS_OK));
			for (size_t i = 0; i < a.answer.count; i++) {
				assert(a.records[i].data.len <= DNS_MAX_RDATA);
				assert(inside(a.records[i].data, p, len));
			}
			assert(dns_msg_put_answer(&again, &a.answer) == 0);
			assert(again.len == len && memcmp(again.data, p, len) == 0);
		} else {
			assert(a.answer.status == DNS_TEMPFAIL && a.answer.count == 0);
		}
	}
	buf_free(&again);
	return 0;
}
