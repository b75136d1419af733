/* process: a child's start-up, and its log going to master (see process.h). */
#include "process.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* The configuration master hands down is small (the table's keys). */
#define PROCESS_MAX_CONFIG (64 * 1024)

static struct ipc *master_link;

static void child_log_sink(enum log_level level, const char *record, size_t len)
{
	struct buf b;
	unsigned char space[LOG_MAX_RECORD + 32];
	/* A failed send logs why, which comes back here: that record is
	 * dropped instead of recursing until the stack is gone (master
	 * closed its end while this process was still saying something). */
	static bool in_sink;

	if (in_sink)
		return;
	in_sink = true;
	buf_init(&b, sizeof(space));
	if (ipc_put_u64(&b, (uint64_t)level) < 0 || ipc_put_str(&b, str_from(record, len)) < 0) {
		buf_free(&b);
		in_sink = false;
		return;
	}
	/* A record master cannot take now (its link full: master is stuck) is
	 * dropped, not waited for; the next one that goes says how many. */
	static uint64_t dropped;
	int r = master_link != NULL
			? ipc_send(master_link, IPC_LOG, 0, b.data, b.len, -1)
			: ipc_send_blocking(PROCESS_FD_MASTER, IPC_LOG, 0, b.data, b.len, -1);
	buf_free(&b);
	in_sink = false;
	if (r < 0) {
		dropped++;
	} else if (dropped > 0) {
		uint64_t n = dropped;
		dropped = 0;
		log_warn("%llu log records dropped: master did not take them",
			 (unsigned long long)n);
	}
}

/* process_absolute makes a path given relative to where the server was
 * started absolute, before the child leaves that folder. */
static void process_absolute(char *path, size_t size)
{
	char cwd[PATH_MAX];
	if (path[0] == '\0' || path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return;
	char joined[PATH_MAX + CONFIG_MAX_STRING];
	snprintf(joined, sizeof(joined), "%s/%s", cwd, path);
	if (strlen(joined) < size)
		memcpy(path, joined, strlen(joined) + 1);
}

int process_child_init(const char *name, struct config *config)
{
	char err[512];
	struct buf text;
	char chunk[4096];

	log_init(name);
	log_set_sink(child_log_sink);
	/* Ctrl-C reaches the whole process group; master alone decides how
	 * the children stop (SIGTERM, after which they finish what they do). */
	signal(SIGINT, SIG_IGN);
	buf_init(&text, PROCESS_MAX_CONFIG);
	for (;;) {
		ssize_t n = pread(PROCESS_FD_CONFIG, chunk, sizeof(chunk), (off_t)text.len);
		if (n == 0)
			break;
		if (n < 0 || buf_append(&text, chunk, (size_t)n) < 0) {
			log_error("reading the configuration from master failed");
			buf_free(&text);
			return -1;
		}
	}
	close(PROCESS_FD_CONFIG);
	config_defaults(config, false);
	int r = config_load_text(config, text.data ? text.data : "", text.len, "master", err,
				 sizeof(err));
	buf_free(&text);
	if (r < 0) {
		log_error("configuration from master: %s", err);
		return -1;
	}
	log_set_level((enum log_level)log_level_parse(config->log_level));
	/* A child works relative to DATA, entered now, while it still has the
	 * rights it was started with: once it runs as a uid of its own, the
	 * folders above DATA (a home directory of mode 0700, say) need not let
	 * it through. */
	process_absolute(config->tls_cert, sizeof(config->tls_cert));
	process_absolute(config->tls_key, sizeof(config->tls_key));
	process_absolute(config->dns_trust_anchor, sizeof(config->dns_trust_anchor));
	if (config->data[0] != '\0' && chdir(config->data) < 0) {
		log_error("chdir(%s) failed: %m", config->data);
		return -1;
	}
	snprintf(config->data, sizeof(config->data), ".");
	return 0;
}

static void master_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	/* Without master there is no log, no peers and no restarts: stop. */
	master_link = NULL;
	_exit(0);
}

struct ipc *process_master_link(struct ev *ev, ipc_handler_fn *handler, void *ctx)
{
	master_link = ipc_new(ev, PROCESS_FD_MASTER, "master", handler, master_closed, ctx);
	return master_link;
}

void process_forget_master_link(void)
{
	master_link = NULL;
}

static char *title_area;
static size_t title_size;

void process_set_argv(int argc, char **argv)
{
	if (argc < 1)
		return;
	/* The strings of argv are contiguous; their whole span is ours. */
	char *end = argv[argc - 1] + strlen(argv[argc - 1]);
	title_area = argv[0];
	title_size = (size_t)(end - argv[0]);
}

void process_set_title(const char *title)
{
	if (title_area == NULL || title_size == 0)
		return;
	size_t n = strlen(title);
	if (n > title_size)
		n = title_size;
	memcpy(title_area, title, n);
	memset(title_area + n, '\0', title_size - n + 1);
}

const char *process_role_name(enum ipc_role role)
{
	static const char *const names[] = {
		[IPC_ROLE_MASTER] = "master", [IPC_ROLE_AUTH] = "auth", [IPC_ROLE_QUEUE] = "queue",
		[IPC_ROLE_WORKER] = "worker", [IPC_ROLE_SPAWNER] = "spawner",
		[IPC_ROLE_PREAUTH] = "preauth", [IPC_ROLE_KEYS] = "keys",
		[IPC_ROLE_RESOLVER] = "resolver",
		[IPC_ROLE_RELAY] = "relay",
		[IPC_ROLE_SPAM] = "spam", [IPC_ROLE_PARK] = "park",
	};
	return (unsigned)role < sizeof(names) / sizeof(names[0]) ? names[role] : "unknown";
}
