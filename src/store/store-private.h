#ifndef RAVELIN_STORE_PRIVATE_H
#define RAVELIN_STORE_PRIVATE_H
/*
 * The table every store backend fills in (store-sqlite.c today; a
 * PostgreSQL + object-store backend later).  store.c checks the arguments
 * of the public calls and then dispatches through this table, so a backend
 * may rely on:
 *   - every pointer argument is non-NULL, iovcnt >= 0;
 *   - mailbox names are at most STORE_MAILBOX_NAME_MAX bytes, with INBOX
 *     spelled "INBOX" whatever case the caller used;
 *   - delivery keys are 1..STORE_DELIVERY_KEY_MAX bytes;
 *   - msg->size equals the content length and every part lies inside it.
 * A backend embeds struct store as the first member of its own structure.
 * Lists it returns are allocated with malloc (names too): store.c frees them.
 */
#include "store.h"

/* A mailbox name longer than this is refused (IMAP clients use far less;
 * the bound keeps a hostile name out of the database and the logs). */
#define STORE_MAILBOX_NAME_MAX 1024
/* A delivery key is queue id + recipient: an address is at most 320 bytes. */
#define STORE_DELIVERY_KEY_MAX 512
/* Room for one error message kept by a store. */
#define STORE_ERROR_MAX 512

struct store_backend {
	const char *name;
	/* preinit does the process-wide setup that reads files outside the
	 * account directory (see store_preinit). */
	int (*preinit)(const char **error_r);
	int (*create)(const char *dir, const char **error_r);
	int (*open)(const char *dir, struct store **store_r, const char **error_r);
	void (*close)(struct store *store);
	int (*mailbox_list)(struct store *store, struct store_mailbox **list_r, size_t *count_r,
			    const char **error_r);
	/* The batch calls keep the batch's state and check it themselves (a
	 * batch open or not); store.c checks their arguments only. */
	int (*batch_begin)(struct store *store, const char **error_r);
	int (*batch_deliver)(struct store *store, const char *mailbox, const char *delivery_key,
			     const struct iovec *iov, int iovcnt, const struct mime_message *msg,
			     int64_t internal_date, uint32_t *uid_r, bool *duplicate_r,
			     const char **error_r);
	int (*batch_commit)(struct store *store, const char **error_r);
	void (*batch_abort)(struct store *store);
	int (*message_list)(struct store *store, const char *mailbox,
			    struct store_message **list_r, size_t *count_r, const char **error_r);
	int (*message_open)(struct store *store, const char *mailbox, uint32_t uid,
			    const char **error_r);
	int (*expunge)(struct store *store, const char *mailbox, const uint32_t *uids,
		       size_t count, const char **error_r);
};

struct store {
	const struct store_backend *backend;
};

extern const struct store_backend store_backend_sqlite;

#endif
