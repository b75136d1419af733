/* cli-serve: configuration loading and `ravelin serve` (first-run set-up). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/directory.h"
#include "cli.h"
#include "lib/tls.h"
#include "lib/uids.h"
#include "master/master.h"

/* The demo password: 16 characters from an alphabet without look-alikes. */
#define DEMO_PASSWORD_LEN 16

int cli_load_config(struct cli_options *opts, bool make_data)
{
	char err[1024];
	char abs[PATH_MAX];

	config_defaults(&opts->config, opts->config_path == NULL);
	if (opts->config_path != NULL &&
	    config_load_file(&opts->config, opts->config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "ravelin: %s\n", err);
		return -1;
	}
	if (opts->data != NULL &&
	    config_set(&opts->config, "data", opts->data, err, sizeof(err)) < 0) {
		fprintf(stderr, "ravelin: --data: %s\n", err);
		return -1;
	}
	/* Children and later commands must see the same folder whatever
	 * their working directory: make it absolute. */
	/* A folder that is not there is refused by whatever would use it
	 * (cli_make_data_dirs), after the command's arguments were checked. */
	struct stat st;
	if (!make_data && stat(opts->config.data, &st) < 0 && errno == ENOENT)
		return 0;
	if (make_data && mkdir(opts->config.data, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "ravelin: mkdir(%s) failed: %s\n", opts->config.data,
			strerror(errno));
		return -1;
	}
	if (realpath(opts->config.data, abs) == NULL ||
	    config_set(&opts->config, "data", abs, err, sizeof(err)) < 0) {
		fprintf(stderr, "ravelin: data directory %s: %s\n", opts->config.data,
			strerror(errno));
		return -1;
	}
	return 0;
}

int cli_make_data_dirs(const char *data)
{
	static const char *const dirs[] = { "directory", "spool", "spool/tmp", "spool/q",
					    "accounts", "log", "audit", "tls" };
	char path[PATH_MAX];
	struct stat st;

	if (stat(data, &st) < 0) {
		fprintf(stderr, "ravelin: data folder %s: %s ('ravelin serve' makes it on its "
				"first start)\n", data, strerror(errno));
		return -1;
	}

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", data, dirs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "ravelin: mkdir(%s) failed: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int make_demo(struct directory *dir, const char *data)
{
	static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679";
	char password[DEMO_PASSWORD_LEN + 1];
	const char *error;
	uint64_t id;
	char path[PATH_MAX];

	for (int i = 0; i < DEMO_PASSWORD_LEN; i++)
		password[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	password[DEMO_PASSWORD_LEN] = '\0';
	if (directory_domain_add(dir, "example.org", &error) < 0 ||
	    directory_account_add(dir, "demo@example.org", str_c(password), &id, &error) < 0) {
		fprintf(stderr, "ravelin: demo account: %s\n", error);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/accounts/%llu", data, (unsigned long long)id);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "ravelin: mkdir(%s) failed: %s\n", path, strerror(errno));
		return -1;
	}
	printf("\n"
	       "  First start: made the domain example.org and the demo account\n"
	       "      demo@example.org   password: %s\n"
	       "  (shown this once; change it with 'ravelin account passwd demo@example.org')\n\n",
	       password);
	fflush(stdout);
	sodium_memzero(password, sizeof(password));
	return 0;
}

/* Room for the pid written in the lock file. */
#define LOCK_PID_TEXT 24

/* lock_path names DATA's lock file. */
static void lock_path(const char *data, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", data, CLI_LOCK_FILE);
}

long cli_server_pid(const char *data)
{
	char path[PATH_MAX], text[LOCK_PID_TEXT];

	lock_path(data, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	long pid = 0;
	/* Held: a server runs; its pid is what the file says. */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		uint64_t v;
		size_t len = strcspn(text, "\n");
		if (str_to_u64((struct str){ text, len }, INT32_MAX, &v) == 0)
			pid = (long)v;
		else
			pid = -1;
	}
	close(fd);
	return pid;
}

/* dirname_of cuts path (of size bytes) at its last slash: its folder. */
static const char *dirname_of(char *path, size_t size)
{
	char *slash = strrchr(path, '/');
	if (slash != NULL && (size_t)(slash - path) < size)
		*slash = '\0';
	return path;
}

int cli_control_request(const struct config *config, long pid, const char *name,
			const char *what)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", config->data, CLI_CONTROL_DIR);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "ravelin: mkdir(%s) failed: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", config->data, CLI_CONTROL_DIR, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* Master runs as DATA's owner (root, or the user that started an
	 * unprivileged server): the request must be its to read and remove. */
	struct stat st;
	if (fd >= 0 && geteuid() == 0 && stat(config->data, &st) == 0 &&
	    (fchown(fd, st.st_uid, st.st_gid) < 0 ||
	     chown(dirname_of(path, sizeof(path)), st.st_uid, st.st_gid) < 0)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0 || close(fd) < 0 || kill((pid_t)pid, CLI_CONTROL_SIGNAL) < 0) {
		fprintf(stderr, "ravelin: telling the server (pid %ld) to %s failed: %s\n", pid,
			what, strerror(errno));
		return -1;
	}
	return 0;
}

int cli_end_sessions(const struct config *config, uint64_t account)
{
	char name[64], what[96];
	long pid = cli_server_pid(config->data);

	if (pid == 0)
		return 0;   /* no server: no sessions */
	if (pid < 0) {
		fprintf(stderr, "ravelin: %s/%s names no server; open sessions of account %llu "
				"end only when the server restarts\n",
			config->data, CLI_LOCK_FILE, (unsigned long long)account);
		return -1;
	}
	snprintf(name, sizeof(name), "%s%llu", CLI_END_SESSIONS_PREFIX,
		 (unsigned long long)account);
	snprintf(what, sizeof(what), "end the open sessions of account %llu",
		 (unsigned long long)account);
	return cli_control_request(config, pid, name, what);
}

/* lock_data takes DATA's lock for this process (master) and writes its
 * pid in it: a second server on the same folder would deliver into the
 * same stores and spool.  The descriptor is kept open, without being
 * inherited across exec, for as long as master runs.  0 or -1 (printed,
 * naming the pid of the server that holds it). */
static int lock_data(const char *data)
{
	char path[PATH_MAX], text[LOCK_PID_TEXT];

	lock_path(data, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		fprintf(stderr, "ravelin: open(%s) failed: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		long pid = cli_server_pid(data);
		if (e == EWOULDBLOCK && pid > 0)
			fprintf(stderr, "ravelin: another 'ravelin serve' (pid %ld) runs on %s; "
					"stop it first\n", pid, data);
		else
			fprintf(stderr, "ravelin: flock(%s) failed: %s\n", path, strerror(e));
		return -1;
	}
	int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n) {
		fprintf(stderr, "ravelin: writing %s failed: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

int cli_serve(struct cli_options *opts)
{
	struct config *c = &opts->config;
	char path[PATH_MAX], err[512];
	const char *error;

	/* Before anything is made for, or given to, ids that cannot be used. */
	if (uids_check(c, err, sizeof(err)) < 0) {
		fprintf(stderr, "ravelin: %s\n", err);
		return 1;
	}
	if (lock_data(c->data) < 0 || cli_make_data_dirs(c->data) < 0)
		return 1;
	/* The first run's certificate, when none is configured. */
	if (c->tls_cert[0] == '\0' && c->tls_key[0] == '\0') {
		char cert[PATH_MAX], key[PATH_MAX];
		snprintf(cert, sizeof(cert), "%s/tls/cert.pem", c->data);
		snprintf(key, sizeof(key), "%s/tls/key.pem", c->data);
		int made = tls_make_self_signed(cert, key, c->hostname, &error);
		if (made < 0) {
			fprintf(stderr, "ravelin: making a certificate failed: %s\n", error);
			return 1;
		}
		/* Flushed now: with standard output a file or a pipe it would
		 * otherwise wait in the buffer until the server stops. */
		if (made == 1) {
			printf("Made a self-signed certificate for %s: %s\n", c->hostname, cert);
			fflush(stdout);
		}
		if (config_set(c, "tls.cert", cert, err, sizeof(err)) < 0 ||
		    config_set(c, "tls.key", key, err, sizeof(err)) < 0) {
			fprintf(stderr, "ravelin: %s\n", err);
			return 1;
		}
	}
	/* A certificate that cannot be used stops the start: a server that
	 * came up without TLS would take passwords in the clear or refuse
	 * every TLS client, and the warning would go unread. */
	if (tls_check_files(c->tls_cert, c->tls_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "ravelin: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/directory/directory.db", c->data);
	bool first_run = access(path, F_OK) < 0;
	struct directory *dir;
	if (directory_open(c->data, true, &dir, &error) < 0) {
		fprintf(stderr, "ravelin: %s\n", error);
		return 1;
	}
	int r = first_run && opts->config_path == NULL ? make_demo(dir, c->data) : 0;
	directory_close(&dir);
	if (r < 0)
		return 1;
	if (cli_own_data(c) < 0)
		return 1;
	/* A queue with many messages in flight holds a descriptor for each. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	return master_main(c, opts->config_path);
}
