/*
 * fuzz-park-state: the worker's reader of a parked IMAP session's state
 * (src/imap/imap-session-park.h), which comes back through master and the
 * parking process: the UID runs alone (what decodes must encode back to
 * the same UIDs), then the whole state taken up on a real, empty store.
 */
#include <ftw.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-session-park.h"
#include "store/store.h"

static struct store *store;
static char dir[] = "/tmp/ravelin-fuzz-park-XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* cleanup removes the store when the fuzzer exits. */
static void cleanup(void)
{
	store_close(&store);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void nothing(void *ctx)
{
	(void)ctx;
}

static const struct imap_session_callbacks callbacks = { .close = nothing, .changed = nothing };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error = NULL;
	uint32_t *uids = NULL;
	size_t count = 0;

	if (imap_park_uids_decode(str_from((const char *)data, size), &uids, &count, &error) == 0) {
		struct buf again;
		uint32_t *back = NULL;
		size_t n = 0;
		buf_init(&again, size + 16);
		if (imap_park_uids_encode(&again, uids, count) < 0 ||
		    imap_park_uids_decode(buf_str(&again), &back, &n, &error) < 0 || n != count ||
		    (n > 0 && memcmp(back, uids, n * sizeof(*uids)) != 0))
			__builtin_trap();
		free(back);
		buf_free(&again);
	}
	free(uids);

	if (store == NULL) {
		if (mkdtemp(dir) == NULL || store_create(dir, &error) < 0 ||
		    store_open(dir, &store, &error) < 0)
			abort();
		atexit(cleanup);
	}
	struct buf out;
	struct imap_session_settings settings = { .max_append = 1 << 20 };
	buf_init(&out, 1 << 20);
	struct imap_session *s = imap_session_unpark(store, &out, &settings, &callbacks, NULL,
						     str_from((const char *)data, size), &error);
	imap_session_free(&s);
	buf_free(&out);
	return 0;
}
