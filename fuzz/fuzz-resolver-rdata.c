/*
 * fuzz-resolver-rdata: libFuzzer target for the resolver's reading of DNS
 * record data (src/resolver/resolver-rdata.c), the bytes a DNS server
 * chooses.  The first byte chooses the type; the rest is records, each a
 * length byte and that many bytes (cut at the input's end).  Checked for
 * every answer accepted: at most DNS_MAX_RECORDS, every record's data in
 * the arena and within DNS_MAX_RDATA, an MX target a host name, and the
 * answer one the IPC writer takes (dns_msg_put_answer accepts it, unless
 * it is larger than DNS_MAX_ANSWER, which the resolver then refuses).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/ipc.h"
#include "resolver/resolver-rdata.h"

/* Records one input may hold: past DNS_MAX_RECORDS, to reach the bound. */
#define FUZZ_MAX_RECORDS (DNS_MAX_RECORDS + 2)

static const enum dns_type types[] = { DNS_TYPE_A, DNS_TYPE_MX, DNS_TYPE_TXT, DNS_TYPE_AAAA,
				       DNS_TYPE_TLSA };
static char arena[RESOLVER_RDATA_ARENA];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *rdata[FUZZ_MAX_RECORDS];
	int len[FUZZ_MAX_RECORDS];
	size_t count = 0, at = 1;
	struct dns_msg_answer a;
	char why[128];

	if (size < 1)
		return 0;
	enum dns_type type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	while (at < size && count < FUZZ_MAX_RECORDS) {
		size_t n = data[at++];
		if (n > size - at)
			n = size - at;
		rdata[count] = (char *)data + at;
		len[count] = (int)n;
		count++;
		at += n;
	}
	if (resolver_rdata_parse(type, rdata, len, count, &a, arena, why, sizeof(why)) < 0) {
		assert(a.answer.status == DNS_TEMPFAIL && a.answer.count == 0 && why[0] != '\0');
		return 0;
	}
	assert(a.answer.status == DNS_OK && a.answer.count == count && count <= DNS_MAX_RECORDS);
	for (size_t i = 0; i < count; i++) {
		struct str d = a.records[i].data;
		assert(d.len <= DNS_MAX_RDATA);
		assert(d.len == 0 || (d.ptr >= arena && d.ptr + d.len <= arena + sizeof(arena)));
	}
	struct buf out;
	buf_init(&out, IPC_MAX_PAYLOAD);
	if (dns_msg_put_answer(&out, &a.answer) == 0) {
		struct dns_msg_answer back;
		assert(dns_msg_get_answer((const unsigned char *)out.data, out.len, type, &back) == 0);
		assert(back.answer.count == count);
	}
	buf_free(&out);
	return 0;
}
