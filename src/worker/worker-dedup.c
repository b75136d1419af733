/* worker-dedup: a delivery key from what stays the same between copies
 * of one message (see worker-dedup.h). */
#include "worker-dedup.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "lib/buf.h"
#include "mail/mail-decode.h"

/* body_start: where the body begins (after the blank line), or -1 when
 * the header block does not end within WORKER_DEDUP_MAX_HEADER. */
static long body_start(struct str m)
{
	size_t end = m.len < WORKER_DEDUP_MAX_HEADER ? m.len : WORKER_DEDUP_MAX_HEADER;
	for (size_t i = 0; i + 3 < end; i++)
		if (m.ptr[i] == '\r' && m.ptr[i + 1] == '\n' && m.ptr[i + 2] == '\r' &&
		    m.ptr[i + 3] == '\n')
			return (long)i + 4;
	return -1;
}

bool worker_dedup_key(struct str message, struct str sender, char key[WORKER_DEDUP_KEY_SIZE])
{
	static const char tag[] = "ravelin-dedup-1";
	long body = body_start(message);
	if (body < 0)
		return false;
	struct buf id;
	buf_init(&id, 1024);
	bool found = mail_header_field(str_from(message.ptr, (size_t)body), "Message-ID", &id) &&
		     id.len > 0;
	if (found) {
		unsigned char md[crypto_hash_sha256_BYTES];
		crypto_hash_sha256_state c;
		crypto_hash_sha256_init(&c);
		crypto_hash_sha256_update(&c, (const unsigned char *)tag, sizeof(tag));
		crypto_hash_sha256_update(&c, (const unsigned char *)id.data, id.len);
		crypto_hash_sha256_update(&c, (const unsigned char *)"", 1);
		crypto_hash_sha256_update(&c, (const unsigned char *)sender.ptr, sender.len);
		crypto_hash_sha256_update(&c, (const unsigned char *)"", 1);
		crypto_hash_sha256_update(&c, (const unsigned char *)message.ptr + body,
					  message.len - (size_t)body);
		crypto_hash_sha256_final(&c, md);
		key[0] = 'c';
		key[1] = ':';
		for (size_t i = 0; i < 16; i++)
			snprintf(key + 2 + 2 * i, 3, "%02x", md[i]);
	}
	buf_free(&id);
	return found;
}
