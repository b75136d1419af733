/*
 * NAME
 *	master-reload - what SIGHUP changes without a restart
 * DESCRIPTION
 *	The log file is reopened (logrotate), log.level read again, and the
 *	TLS certificate and key read again: if they load and match, a new
 *	keys process takes the key and spawners are sent the certificate
 *	(connections already served keep theirs); the old keys process ends
 *	after MASTER_RELOAD_GRACE_MS.  Every other key needs a restart.
 *	On SIGUSR1 (the command line's), requests `ravelin queue retry|delete`
 *	left in DATA/control are passed on to the queue (IPC_QUEUE_CONTROL).
 * SECURITY
 *	Reads only the configuration file and the certificate and key it
 *	names, as master; a pair that does not load keeps the old one.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/tls.h"
#include "master-private.h"

/* Room for why a reload kept the old certificate (two paths and a reason). */
#define MASTER_RELOAD_ERROR (2 * CONFIG_MAX_STRING + 256)
/* A reload's old keys process is stopped this long after its successor
 * took over: no handshake waits longer for a signature (TLS_KEY_TIMEOUT_MS
 * is 5000), so the ones it was signing for finish. */
#define MASTER_RELOAD_GRACE_MS 6000

/* reload_stop_old_keys ends a keys process a reload replaced, once its grace
 * is over (ctx: its pid). */
static void reload_stop_old_keys(struct ev_timer *t, void *ctx)
{
	struct child *c = child_by_pid((pid_t)(intptr_t)ctx);
	(void)t;
	if (c != NULL && c->retiring)
		kill(c->pid, SIGTERM);
}

/* reload_check_tls: 1 if fresh's certificate and key load and match (an empty
 * pair means the first start's self-signed one, kept) and are now
 * m->live's; 0 if not (logged, the old ones kept). */
static int reload_check_tls(struct master *m, const struct config *fresh)
{
	char err[MASTER_RELOAD_ERROR];
	const char *cert = fresh->tls_cert, *key = fresh->tls_key;

	if (cert[0] == '\0' && key[0] == '\0') {
		cert = m->live.tls_cert;
		key = m->live.tls_key;
	}
	if (tls_check_files(cert, key, err, sizeof(err)) < 0) {
		log_error("reload: %s; TLS keeps the certificate it had", err);
		return 0;
	}
	snprintf(m->live.tls_cert, sizeof(m->live.tls_cert), "%s", cert);
	snprintf(m->live.tls_key, sizeof(m->live.tls_key), "%s", key);
	return 1;
}

/* reload_replace_keys starts a keys process on the (new) key before the old one
 * goes: wiring it sends each spawner the certificate, then the new link,
 * so every spare made from then on has both; the old one signs for the
 * handshakes already under way until MASTER_RELOAD_GRACE_MS.  Returns
 * true if the new one runs. */
static bool reload_replace_keys(struct master *m)
{
	struct child *old = child_live(IPC_ROLE_KEYS, 0);
	struct child *keys = child_start(IPC_ROLE_KEYS, 0);

	if (keys == NULL) {
		log_error("reload: a new keys process could not be started; TLS keeps the "
			  "certificate it had");
		return false;
	}
	m->cert_pending = true;
	child_wire(keys);
	if (old != NULL) {
		old->retiring = true;
		ev_timer_add(m->ev, MASTER_RELOAD_GRACE_MS, reload_stop_old_keys,
			     (void *)(intptr_t)old->pid);
	}
	return true;
}

/* reload_on_sighup (SIGHUP): the log file reopened, log.level and the TLS
 * certificate and key read again; every other key needs a restart. */
void reload_on_sighup(int signo, void *ctx)
{
	struct master *m = ctx;
	struct config fresh;
	char err[MASTER_RELOAD_ERROR];
	(void)signo;

	if (m->stopping)
		return;
	master_open_log(m);
	fresh = m->live;
	if (m->config_path != NULL) {
		config_defaults(&fresh, false);
		if (config_load_file(&fresh, m->config_path, err, sizeof(err)) < 0) {
			log_error("reload on SIGHUP: %s; nothing else changed", err);
			return;
		}
	}
	snprintf(m->live.log_level, sizeof(m->live.log_level), "%s", fresh.log_level);
	m->level = (enum log_level)log_level_parse(m->live.log_level);
	log_set_level(m->level);
	bool tls = reload_check_tls(m, &fresh);
	/* Children started from now on read the new values. */
	int fd = master_config_fd(m->config);
	if (fd >= 0) {
		close(m->config_fd);
		m->config_fd = fd;
	}
	if (tls)
		tls = reload_replace_keys(m);
	/* Said whatever the level, so the administrator sees it was done. */
	log_msg(m->level > LOG_LEVEL_INFO ? m->level : LOG_LEVEL_INFO,
		"reloaded on SIGHUP: log file reopened, log level %s, TLS certificate %s%s",
		m->live.log_level, m->live.tls_cert, tls ? " (loaded again)" : " (unchanged)");
}


/* Where `ravelin queue retry|delete` leave their requests (src/cli/cli.h
 * says the same): DATA/control/queue-<op>-<queue id or "all">. */
#define MASTER_QUEUE_CONTROL_DIR "control"
static const struct {
	const char *prefix;
	enum ipc_queue_control op;
} reload_queue_ops[] = {
	{ "queue-retry-", IPC_QUEUE_CONTROL_RETRY },
	{ "queue-delete-bounce-", IPC_QUEUE_CONTROL_DELETE_BOUNCE },
	{ "queue-delete-", IPC_QUEUE_CONTROL_DELETE },
};

/* reload_queue_request passes one request (a file name in DATA/control)
 * on to the queue; false if the name is not a queue request. */
static bool reload_queue_request(const char *name)
{
	for (size_t i = 0; i < sizeof(reload_queue_ops) / sizeof(reload_queue_ops[0]); i++) {
		size_t n = strlen(reload_queue_ops[i].prefix);
		if (strncmp(name, reload_queue_ops[i].prefix, n) != 0)
			continue;
		struct str id = str_c(name + n);
		struct child *queue = child_live(IPC_ROLE_QUEUE, 0);
		struct buf out;
		buf_init(&out, IPC_MAX_PAYLOAD);
		ipc_put_u64(&out, reload_queue_ops[i].op);
		ipc_put_str(&out, id);
		if (id.len == 0 || id.len > IPC_QUEUE_MAX_ID)
			log_error("queue request %s: not a queue id; ignored", name);
		else if (queue == NULL ||
			 ipc_send_buf(queue->link, IPC_QUEUE_CONTROL, 0, &out, -1) < 0)
			log_error("queue request %s: the queue does not run now; not done", name);
		else
			log_info("queue request %s passed to the queue", name);
		buf_free(&out);
		return true;
	}
	return false;
}

/* reload_queue_control (SIGUSR1): every queue request in DATA/control is
 * removed and passed on to the queue, which acts and logs. */
void reload_queue_control(int signo, void *ctx)
{
	struct master *m = ctx;
	char path[PATH_MAX];
	struct dirent *e;
	(void)signo;

	snprintf(path, sizeof(path), "%s/%s", m->config->data, MASTER_QUEUE_CONTROL_DIR);
	DIR *d = opendir(path);
	if (d == NULL)
		return;   /* worker_end_sessions says it, for the same signal */
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "queue-", 6) != 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			log_error("unlink(%s/%s) failed: %m", path, e->d_name);
		else if (!reload_queue_request(e->d_name))
			log_error("queue request %s: unknown; ignored", e->d_name);
	}
	closedir(d);
}
