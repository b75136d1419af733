/* worker-account: the account's addresses, from auth (worker-account.h). */
#include "worker-account.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

static struct {
	uint64_t account;
	void (*known)(void);
	struct ipc *auth;
	bool have;
	struct worker_account info;
} wa;

int worker_account_decode(const struct ipc_msg *msg, uint64_t account,
			  struct worker_account *out, const char **error_r)
{
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	uint64_t id = ipc_get_u64(&r);
	struct str name = ipc_get_str(&r, IPC_ACCOUNT_MAX_NAME);
	struct str display = ipc_get_str(&r, IPC_ACCOUNT_MAX_NAME);
	uint64_t count = ipc_get_u64(&r);
	if (r.bad || count == 0 || count > IPC_ACCOUNT_MAX_ADDRESSES) {
		*error_r = "malformed account information";
		return -1;
	}
	for (uint64_t i = 0; i < count; i++) {
		struct str a = ipc_get_str(&r, IPC_MAX_PATH);
		if (str_chr(a, '\0') >= 0 || a.len == 0) {
			*error_r = "an empty address or one with a NUL";
			return -1;
		}
		memcpy(out->addresses[i], a.ptr, a.len);
		out->addresses[i][a.len] = '\0';
		out->address_list[i] = out->addresses[i];
	}
	if (!ipc_reader_ok(&r)) {
		*error_r = "malformed account information";
		return -1;
	}
	if (id != account) {
		*error_r = "information about another account";
		return -1;
	}
	if (name.len == 0 || str_chr(name, '\0') >= 0 || str_chr(display, '\0') >= 0) {
		*error_r = "an empty primary address, or a NUL in a name";
		return -1;
	}
	/* The primary address names the account's URLs; the directory
	 * keeps it lower case, and so must what arrives. */
	for (size_t i = 0; i < name.len; i++)
		if (name.ptr[i] >= 'A' && name.ptr[i] <= 'Z') {
			*error_r = "a primary address that is not lower case";
			return -1;
		}
	out->id = id;
	memcpy(out->name, name.ptr, name.len);
	out->name[name.len] = '\0';
	memcpy(out->display_name, display.ptr, display.len);
	out->display_name[display.len] = '\0';
	out->address_count = (size_t)count;
	return 0;
}

void worker_account_init(uint64_t account, void (*known)(void))
{
	wa.account = account;
	wa.known = known;
}

const struct worker_account *worker_account_get(void)
{
	return wa.have ? &wa.info : NULL;
}

static void auth_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	wa.auth = NULL;
}

static void auth_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	static struct worker_account fresh;
	const char *error;
	(void)ctx;

	if (msg->kind != IPC_ACCOUNT_INFO ||
	    worker_account_decode(msg, wa.account, &fresh, &error) < 0) {
		if (msg->kind == IPC_ACCOUNT_INFO)
			log_error("auth's account information refused: %s", error);
		wa.auth = NULL;
		ipc_reject(&ipc, msg);
		return;
	}
	wa.info = fresh;
	for (size_t i = 0; i < wa.info.address_count; i++)
		wa.info.address_list[i] = wa.info.addresses[i];
	wa.have = true;
	log_debug("account %s: %zu addresses", wa.info.name, wa.info.address_count);
	if (wa.known != NULL)
		wa.known();
}

void worker_account_link(struct ev *ev, int fd)
{
	ipc_close(&wa.auth);
	wa.auth = ipc_new(ev, fd, "auth", auth_message, auth_closed, NULL);
	if (wa.auth == NULL) {
		close(fd);
		return;
	}
	if (ipc_send(wa.auth, IPC_ACCOUNT_INFO_ASK, 0, NULL, 0, -1) < 0)
		log_error("auth could not be asked for the account's addresses");
}
