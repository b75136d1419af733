#ifndef RAVELIN_WORKER_ACCOUNT_H
#define RAVELIN_WORKER_ACCOUNT_H
/*
 * worker-account: what the worker knows of its account beyond its id:
 * the primary address, the display name and the addresses that are its
 * own, as auth tells them (IPC_ACCOUNT_INFO) over the link master makes
 * when the worker starts.  The worker asks (IPC_ACCOUNT_INFO_ASK, naming
 * no account: auth answers for the link's) on each new link, so an auth
 * that restarted is asked again.  The calendar and contacts side needs
 * it (principal URLs, calendar-user-address-set); nothing else waits.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ev.h"
#include "lib/ipc.h"

struct worker_account {
	uint64_t id;
	char name[IPC_ACCOUNT_MAX_NAME + 1];          /* primary address, lower case */
	char display_name[IPC_ACCOUNT_MAX_NAME + 1];  /* "" if none */
	size_t address_count;
	char addresses[IPC_ACCOUNT_MAX_ADDRESSES][IPC_MAX_PATH + 1];
	const char *address_list[IPC_ACCOUNT_MAX_ADDRESSES]; /* into addresses */
};

/* worker_account_decode reads an IPC_ACCOUNT_INFO payload into *out:
 * 0, or -1 with *error_r if it is malformed, names another account than
 * account, or holds a NUL, a primary address that is not lower case, or
 * no address at all. */
int worker_account_decode(const struct ipc_msg *msg, uint64_t account,
			  struct worker_account *out, const char **error_r);

/* worker_account_init says which account this worker serves and what to
 * call once its information is known (again, after each answer). */
void worker_account_init(uint64_t account, void (*known)(void));
/* worker_account_link takes fd, the link to auth master made (any older
 * one is closed), and asks on it at once. */
void worker_account_link(struct ev *ev, int fd);
/* worker_account_get is the account's information, or NULL until auth
 * has answered. */
const struct worker_account *worker_account_get(void);

#endif
