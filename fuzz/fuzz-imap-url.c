/*
 * fuzz-imap-url: libFuzzer target for CATENATE's IMAP URLs
 * (src/imap-proto/imap-url.c).  Any input is accepted or refused with a
 * text; an accepted URL names a message (UID > 0) in a mailbox no longer
 * than the URL, with a section, and never reads past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-proto/imap-url.h"

/* Room for everything one URL may allocate: its text decoded, the
 * section and its field names. */
#define FUZZ_POOL_MAX (4u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool = pool_new(FUZZ_POOL_MAX);
	struct imap_url url;
	const char *error = NULL;

	if (pool == NULL)
		return 0;
	if (imap_url_parse(pool, str_from((const char *)data, size), &url, &error) == 0) {
		if (url.uid == 0 || url.mailbox == NULL || url.section == NULL ||
		    strlen(url.mailbox) >= size || size > IMAP_URL_MAX)
			abort();
	} else if (error == NULL) {
		abort();
	}
	pool_free(&pool);
	return 0;
}
