#ifndef RAVELIN_MASTER_PRIVATE_H
#define RAVELIN_MASTER_PRIVATE_H
/*
 * master-private: what master's files share (master.c says what master
 * is): the children table, the master's state and the functions one file
 * calls in another.  master.c starts, runs the loop, handles the signals
 * and stops; master-children.c starts, wires and restarts the children;
 * master-workers.c starts account workers and keeps their back-offs;
 * master-preauth.c serves the pre-auth processes' links (logs, tickets);
 * master-reload.c is SIGHUP.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/config.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/srs.h"
#include "lib/str.h"
#include "lib/ticket.h"
#include "master-stderr.h"

/* Children of all kinds at once (spawners, auth, queue, workers). */
#define MASTER_MAX_CHILDREN 4096
/* A child that dies within this long of its start is restarted with a
 * growing delay, so a crash loop cannot spin the machine. */
#define MASTER_QUICK_DEATH_MS 10000
#define MASTER_MAX_RESTART_DELAY_MS 30000
/* Listening sockets of all services together: each of SMTP, POP3, POP3S,
 * IMAP, IMAPS, submission and submissions may have CONFIG_MAX_LISTEN. */
#define MASTER_MAX_LISTENERS (9 * CONFIG_MAX_LISTEN)
/* Room for the start-up line about uids, or the reason of a refusal. */
#define MASTER_UIDS_LINE 512
/* A child's last error record, kept to say why it could not start. */
#define MASTER_LAST_ERROR 300

struct child {
	pid_t pid;
	enum ipc_role role;
	unsigned index;           /* spawner number */
	uint64_t account;         /* worker's account id */
	struct ipc *link;
	uint64_t started;
	uint64_t restart_delay;
	bool retiring;            /* a worker that asked to exit, or keys replaced
				   * by a reload: not used, not restarted */
	struct ev_timer *restart_timer;
	struct child_stderr *err;   /* its standard error, logged as its own */
	bool in_use;
	char last_error[MASTER_LAST_ERROR];
	/* A worker's IMAP sessions: given it (IPC_SESSION), and as it last
	 * reported (IPC_WORKER_SESSIONS) taken and held. */
	uint64_t imap_given, imap_taken, imap_held;
};

struct master {
	struct ev *ev;
	const struct config *config;   /* &live */
	struct config live;      /* as started, with what SIGHUP reloaded */
	const char *config_path; /* read again on SIGHUP; NULL: defaults */
	enum log_level level;    /* records below it are not written */
	bool cert_pending;       /* spawners get the certificate when keys is back */
	char exe[PATH_MAX];
	char front_exe[PATH_MAX];   /* the spawners': ravelin-front beside exe, else exe */
	int config_fd;
	int log_fd;
	unsigned spawner_count;
	int conncount_fd;        /* connections per address, shared by spawners */
	int listen_fds[MASTER_MAX_LISTENERS];
	uint64_t listen_services[MASTER_MAX_LISTENERS];
	unsigned listen_count;
	struct child children[MASTER_MAX_CHILDREN];
	bool stopping;
	bool start_failed;       /* a child that cannot start stopped us */
	uint64_t stop_deadline;
	/* Made at start, given to auth only: auth seals tickets, master opens. */
	unsigned char ticket_key[TICKET_KEY_SIZE];
	/* Made at start, given to auth (which seals recipient answers) and the
	 * queue (which checks them) only. */
	unsigned char rcpt_key[TICKET_KEY_SIZE];
	unsigned char srs_key[SRS_KEY_SIZE];   /* DATA/srs.key, for auth and queue */
	/* Tickets already shown: each opens one session. */
	struct ticket_replay replay;
	/* Links of pre-auth processes (the spawners' children). */
	struct preauth *preauths;
	unsigned preauth_count;
};

/* The one master of this process (master_main's). */
extern struct master *the_master;

struct preauth;

/* master.c */
/* master_write_log writes a formatted record to stderr and the log file. */
void master_write_log(const char *record, size_t len);
/* master_write_child_log writes a record a child sent, escaped and marked
 * as the child's when it does not start with name. */
void master_write_child_log(const char *name, struct str text);
/* master_stop (SIGTERM, SIGINT, a child that cannot start) ends every
 * child, then the loop; SIGKILL after MASTER_STOP_GRACE_MS. */
void master_stop(int signo, void *ctx);
/* master_open_log (re)opens DATA/log/ravelin.log, keeping the old one on
 * failure. */
void master_open_log(struct master *m);
/* master_config_fd writes config to a sealed memfd for children; -1 on
 * failure (logged). */
int master_config_fd(const struct config *config);

/* master-children.c */
/* child_alloc takes a free, zeroed entry of the children table; NULL if
 * MASTER_MAX_CHILDREN are in use. */
struct child *child_alloc(void);
/* child_by_pid finds the entry of a running child, or NULL. */
struct child *child_by_pid(pid_t pid);
/* child_live finds a running, linked, not retiring child of role (for a
 * worker, of account), or NULL. */
struct child *child_live(enum ipc_role role, uint64_t account);
/* child_live_spawner finds spawner index if running and linked, or NULL. */
struct child *child_live_spawner(unsigned index);
/* child_name writes how the log names c ("spawner 2", "worker 7", "queue"). */
void child_name(const struct child *c, char *out, size_t size);
/* child_drop_link closes c's link after a message it needs was lost. */
void child_drop_link(struct child *c, const char *what);
/* child_connect gives a and b the two ends of a new link. */
void child_connect(struct child *a, struct child *b);
/* child_spawn starts c's process (fork + exec) and its link; 0 or -1. */
int child_spawn(struct child *c);
/* child_wire gives a (re)started child its peers and keys. */
void child_wire(struct child *c);
/* child_exited handles the end of c's process: restarted, retired or
 * (a worker) left to worker_exited. */
void child_exited(struct child *c, int status);
/* child_start allocates and starts a child of role; NULL on failure. */
struct child *child_start(enum ipc_role role, unsigned index);

/* master-workers.c */
/* worker_for finds or starts the worker of account, or NULL. */
struct child *worker_for(uint64_t account);
/* worker_link_all links every running worker to auth (back after a restart). */
void worker_link_all(struct child *auth);
/* worker_start answers the queue's request for a link to account's worker. */
void worker_start(struct child *requester, uint64_t account);
/* worker_imap_full: the worker holds (or has on its way) its account's
 * IPC_ACCOUNT_MAX_IMAP_SESSIONS IMAP sessions: the next login is refused. */
bool worker_imap_full(const struct child *w);
/* worker_imap_report takes a worker's IPC_WORKER_SESSIONS. */
void worker_imap_report(struct child *w, const struct ipc_msg *msg);
/* worker_exited handles the end of a worker's process (c is freed). */
void worker_exited(struct child *c, const char *name, const char *how, int status);
/* worker_end_sessions (SIGUSR1) ends the workers the command line names. */
void worker_end_sessions(int signo, void *ctx);

/* master-workers.c: parking (src/park) */
/* park_from_worker passes a worker's IPC_PARK (msg->fd is master's to
 * close) or IPC_PARK_WAKE on to the parking process, naming the worker's
 * account; without one, a session goes straight back to its worker. */
void park_from_worker(struct child *worker, const struct ipc_msg *msg);
/* park_to_worker passes park's IPC_UNPARK to the account's worker,
 * starting it if need be (msg->fd is master's to close). */
void park_to_worker(const struct ipc_msg *msg);
/* park_wake_account tells the parking process that account's worker
 * started: its parked sessions come back to it (if it has any). */
void park_wake_account(uint64_t account);
/* park_count is how many of account's IMAP sessions are parked (passed
 * to park and neither back nor gone); they count against the account's
 * IPC_ACCOUNT_MAX_IMAP_SESSIONS. */
uint64_t park_count(uint64_t account);
/* park_gone counts one parked session of account fewer (IPC_PARK_GONE:
 * its client left while parked). */
void park_gone(uint64_t account);
/* park_exited forgets every count: park's sessions went with it. */
void park_exited(void);

/* master-preauth.c */
/* preauth_add takes the link of a spare a spawner made (msg's fd). */
void preauth_add(struct child *spawner, const struct ipc_msg *msg);

/* master-reload.c */
/* reload_on_sighup reopens the log, reads log.level and TLS again. */
void reload_on_sighup(int signo, void *ctx);
/* reload_queue_control (SIGUSR1, with worker_end_sessions) passes the
 * command line's queue requests in DATA/control on to the queue. */
void reload_queue_control(int signo, void *ctx);

#endif
