/*
 * NAME
 *	auth - the only process that reads credentials
 * DESCRIPTION
 *	Answers the fronts' questions about accounts: which accounts a
 *	recipient address delivers to (aliases resolved), and (for logins)
 *	whether a password is right.  It owns DATA/directory/.
 * SECURITY
 *	Confined by Landlock to DATA/directory (read-write) and nothing else;
 *	no_new_privs; runs as the configured user.  Its input is typed
 *	messages from fronts, each field length-checked; the directory is
 *	queried with bound parameters only.
 */
#include "auth.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "directory.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/ticket.h"

/* Failed logins are remembered per client address for this long. */
#define AUTH_FAILURE_MEMORY_S 900
/* The answer to a failed login waits longer for each failure from the same
 * address, doubling from AUTH_FIRST_DELAY_MS up to AUTH_MAX_DELAY_MS: a
 * password guesser gets a few tries a minute instead of thousands. */
#define AUTH_FIRST_DELAY_MS 500
#define AUTH_MAX_DELAY_MS 15000
/* Addresses tracked at once; the oldest entry makes room. */
#define AUTH_MAX_TRACKED 4096
#define AUTH_MAX_IP 64

struct failure {
	char ip[AUTH_MAX_IP];
	unsigned count;
	time_t last;
};

struct auth {
	struct ev *ev;
	struct config config;
	struct directory *dir;
	unsigned char ticket_key[TICKET_KEY_SIZE];
	bool have_key;
	struct failure failures[AUTH_MAX_TRACKED];
};

static void rcpt_lookup(struct auth *a, struct ipc *ipc, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	uint64_t ids[DIRECTORY_MAX_EXPANSION];
	size_t count = 0;
	const char *error;
	struct buf out;

	ipc_reader_init(&r, msg);
	struct str address = ipc_get_str(&r, DIRECTORY_MAX_ADDRESS + 64);
	if (!ipc_reader_ok(&r)) {
		log_error("malformed recipient look-up from %s", ipc_peer_name(ipc));
		return;
	}
	int found = directory_resolve(a->dir, address, ids, DIRECTORY_MAX_EXPANSION, &count, &error);
	if (found < 0)
		log_error("recipient look-up failed: %s", error);
	/* 0 ok, 1 unknown, 2 try later */
	uint64_t status = found > 0 ? 0 : found == 0 ? 1 : 2;
	buf_init(&out, 16 + 8 * 1024);
	ipc_put_u64(&out, status);
	size_t n = found > 0 ? count : 0;
	if (n > 1000)
		n = 1000;
	ipc_put_u64(&out, n);
	for (size_t i = 0; i < n; i++)
		ipc_put_u64(&out, ids[i]);
	ipc_send_buf(ipc, IPC_RCPT_RESULT, msg->id, &out, -1);
	buf_free(&out);
}

/* failure_slot finds the entry of ip (or the one to reuse for it). */
static struct failure *failure_slot(struct auth *a, struct str ip, bool create)
{
	struct failure *oldest = &a->failures[0];
	time_t now = time(NULL);

	for (size_t i = 0; i < AUTH_MAX_TRACKED; i++) {
		struct failure *f = &a->failures[i];
		if (f->count > 0 && now - f->last > AUTH_FAILURE_MEMORY_S)
			f->count = 0;
		if (f->count > 0 && str_eq(str_c(f->ip), ip))
			return f;
		if (f->count == 0 || f->last < oldest->last)
			oldest = f;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->ip, sizeof(oldest->ip), "%.*s", (int)ip.len, ip.ptr);
	return oldest;
}

static void login(struct auth *a, struct ipc *ipc, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	struct buf out;
	unsigned char sealed[TICKET_SIZE];
	uint64_t account = 0, status, delay = 0;
	const char *error;

	ipc_reader_init(&r, msg);
	struct str user = ipc_get_str(&r, DIRECTORY_MAX_ADDRESS + 64);
	struct str pass = ipc_get_str(&r, DIRECTORY_MAX_PASSWORD + 64);
	struct str ip = ipc_get_str(&r, AUTH_MAX_IP - 1);
	if (!ipc_reader_ok(&r)) {
		log_error("malformed login from %s", ipc_peer_name(ipc));
		return;
	}
	int ok = a->have_key ? directory_verify_password(a->dir, user, pass, &account, &error) : -1;
	if (ok < 0)
		log_error("login check failed: %s", a->have_key ? error : "no ticket key yet");
	if (ok > 0) {
		struct failure *f = failure_slot(a, ip, false);
		if (f != NULL)
			f->count = 0;
		struct ticket t = { .account = account,
				    .expires = (uint64_t)time(NULL) + TICKET_LIFETIME_SECONDS };
		ticket_seal(a->ticket_key, &t, sealed);
		status = 0;
		log_info("login: %.*s from %.*s (account %llu)", (int)user.len, user.ptr,
			 (int)ip.len, ip.ptr, (unsigned long long)account);
	} else if (ok == 0) {
		struct failure *f = failure_slot(a, ip, true);
		f->count++;
		f->last = time(NULL);
		delay = AUTH_FIRST_DELAY_MS;
		for (unsigned i = 1; i < f->count && delay < AUTH_MAX_DELAY_MS; i++)
			delay *= 2;
		if (delay > AUTH_MAX_DELAY_MS)
			delay = AUTH_MAX_DELAY_MS;
		status = 1;
		log_warn("login failed: %.*s from %.*s (%u failures from there)", (int)user.len,
			 user.ptr, (int)ip.len, ip.ptr, f->count);
	} else {
		status = 2;
	}
	buf_init(&out, 128);
	ipc_put_u64(&out, status);
	ipc_put_u64(&out, delay);
	ipc_put_str(&out, str_from((const char *)sealed, status == 0 ? TICKET_SIZE : 0));
	ipc_send_buf(ipc, IPC_LOGIN_RESULT, msg->id, &out, -1);
	buf_free(&out);
	sodium_memzero(sealed, sizeof(sealed));
}

static void front_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct auth *a = ctx;

	if (msg->kind == IPC_RCPT_LOOKUP) {
		rcpt_lookup(a, ipc, msg);
		return;
	}
	if (msg->kind == IPC_LOGIN) {
		login(a, ipc, msg);
		return;
	}
	log_error("unexpected %s message from %s: closing its link", ipc_kind_name(msg->kind),
		  ipc_peer_name(ipc));
	if (msg->fd >= 0)
		close(msg->fd);
	ipc_close(&ipc);
}

static void master_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct auth *a = ctx;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_PEER) {
		uint64_t role = ipc_get_u64(&r);
		uint64_t index = ipc_get_u64(&r);
		char name[32];
		snprintf(name, sizeof(name), "front %llu", (unsigned long long)index);
		if (role != IPC_ROLE_FRONT ||
		    ipc_new(a->ev, msg->fd, name, front_handler, NULL, a) == NULL)
			close(msg->fd);
		return;
	}
	if (msg->kind == IPC_TICKET_KEY) {
		memcpy(a->ticket_key, msg->payload, TICKET_KEY_SIZE);
		a->have_key = true;
		return;
	}
	log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
	if (msg->fd >= 0)
		close(msg->fd);
	(void)ipc;
}

static void on_term(int signo, void *ctx)
{
	struct auth *a = ctx;
	(void)signo;
	ev_stop(a->ev);
}

int auth_main(void)
{
	static struct auth a;
	char dir[PATH_MAX];
	const char *error;

	if (process_child_init("auth", &a.config) < 0)
		return 1;
	tzset();
	/* The jail: the directory and nothing else. */
	snprintf(dir, sizeof(dir), "%s/directory", a.config.data);
	struct jail jail = { .name = "auth", .user = a.config.user,
			     .paths = { { dir, true } }, .path_count = 1,
			     .no_new_connections = true };
	if (directory_open(a.config.data, false, &a.dir, &error) < 0) {
		log_error("%s", error);
		return 1;
	}
	if (jail_enter(&jail) < 0)
		return 1;

	a.ev = ev_new();
	if (a.ev == NULL || process_master_link(a.ev, master_handler, &a) == NULL)
		return 1;
	ev_signal_add(a.ev, SIGTERM, on_term, &a);
	signal(SIGPIPE, SIG_IGN);
	ev_run(a.ev);
	directory_close(&a.dir);
	return 0;
}
