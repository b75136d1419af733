/* auth-account: an account's addresses for its worker (auth-account.h). */
#include "auth-account.h"

#include <string.h>

#include "lib/ipc.h"

_Static_assert(DIRECTORY_MAX_ADDRESS <= IPC_ACCOUNT_MAX_NAME &&
		       DIRECTORY_MAX_ADDRESS <= IPC_MAX_PATH,
	       "a directory address fits IPC_ACCOUNT_INFO's fields");

int auth_account_info(struct directory *dir, uint64_t account, struct buf *out,
		      const char **error_r)
{
	static char list[IPC_ACCOUNT_MAX_ADDRESSES][DIRECTORY_MAX_ADDRESS + 1];
	size_t n;

	if (directory_sender_addresses(dir, account, list, IPC_ACCOUNT_MAX_ADDRESSES, &n,
				       error_r) < 0)
		return -1;
	/* The candidates come by alias depth: the account's own address
	 * (depth 0, which delivers to it alone) first.  An account that is
	 * gone has none. */
	if (n == 0)
		return 1;
	ipc_put_u64(out, account);
	ipc_put_str(out, str_c(list[0]));
	ipc_put_str(out, STR(""));
	ipc_put_u64(out, n);
	for (size_t i = 0; i < n; i++)
		ipc_put_str(out, str_c(list[i]));
	return 0;
}
