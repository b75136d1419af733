#ifndef RAVELIN_AUTH_ACCOUNT_H
#define RAVELIN_AUTH_ACCOUNT_H
/*
 * auth-account: what auth tells an account's worker about its account
 * (IPC_ACCOUNT_INFO), over the link master made when the worker started.
 * The account is the link's (master named it from the directory), never
 * one the worker names: a worker compromised by its own account's data
 * learns nothing of another account.
 */
#include <stdint.h>

#include "auth/directory.h"
#include "lib/buf.h"

/*
 * auth_account_info writes the payload of IPC_ACCOUNT_INFO for account
 * into out: the account id, its primary address (the account's own, what
 * it logs in with, lower case), its display name (the directory keeps
 * none yet: empty), and the addresses that are the account's: its own
 * first, then the aliases that deliver to it and to no other account
 * (directory_sender_addresses), at most IPC_ACCOUNT_MAX_ADDRESSES.
 * 0; 1 if the account is not in the directory (deleted: nothing to send);
 * -1 if the directory failed (*error_r).
 */
int auth_account_info(struct directory *dir, uint64_t account, struct buf *out,
		      const char **error_r);

#endif
