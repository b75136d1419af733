#ifndef RAVELIN_CLI_H
#define RAVELIN_CLI_H
/* cli: the `ravelin` command.  Internal header of src/cli. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"

struct cli_options {
	const char *config_path;  /* --config */
	const char *data;         /* --data */
	const char *password_file;/* --password-file */
	const char *postmaster;   /* --postmaster (domain add) */
	bool rotate;              /* --rotate (domain dkim) */
	const char *retire;       /* --retire SELECTOR (domain dkim) */
	bool bounce;              /* --bounce (queue delete) */
	struct config config;     /* defaults, then the file, then --data */
};

/* cli_load_config fills opts->config and makes its data folder absolute;
 * make_data: the folder is made if missing (its parent must exist), else
 * a missing one is left for cli_make_data_dirs to refuse.  Prints the
 * error and returns -1. */
int cli_load_config(struct cli_options *opts, bool make_data);
int cli_serve(struct cli_options *opts);
/* The lock file in DATA that a running server holds (flock), with its
 * master's pid in it. */
#define CLI_LOCK_FILE "ravelin.lock"
/* cli_server_pid gives the pid of the server that runs on data: 0 if
 * none does, -1 if one does but its file names no pid. */
long cli_server_pid(const char *data);
/* How the command line asks the running server to end an account's
 * sessions (after `account del` or `account passwd`): a file named
 * CLI_END_SESSIONS_PREFIX<id> in DATA/CLI_CONTROL_DIR, then this signal
 * to master, which ends that account's worker and removes the file. */
#define CLI_CONTROL_DIR "control"
#define CLI_END_SESSIONS_PREFIX "end-sessions-"
#define CLI_CONTROL_SIGNAL SIGUSR1
/* `ravelin queue retry|delete` leave CLI_QUEUE_PREFIX<op>-<queue id> there
 * (op: retry, delete, delete-bounce), for master to pass to the queue. */
#define CLI_QUEUE_PREFIX "queue-"
/* cli_control_request leaves the request file DATA/CLI_CONTROL_DIR/name
 * for the server whose master is pid, and signals it; what says what is
 * asked, for the error.  0, or -1 (printed). */
int cli_control_request(const struct config *config, long pid, const char *name,
			const char *what);
/* cli_end_sessions asks the server running on config's data (if any) to
 * end account's open sessions; 0 (also when no server runs) or -1,
 * printed. */
int cli_end_sessions(const struct config *config, uint64_t account);
int cli_domain(struct cli_options *opts, int argc, char **argv);
/* cli_domain_dkim is `domain dkim DOMAIN [--rotate | --retire SELECTOR]`
 * (cli-dkim.c): argv[0] is "dkim".  The exit status. */
int cli_domain_dkim(struct cli_options *opts, int argc, char **argv);
int cli_account(struct cli_options *opts, int argc, char **argv);
int cli_alias(struct cli_options *opts, int argc, char **argv);
int cli_queue(struct cli_options *opts, int argc, char **argv);
/* cli_make_data_dirs creates the folders of every process in DATA, which
 * must exist (-1, printed, if not). */
int cli_make_data_dirs(const char *data);
/* cli_own_data gives, when running as root, each folder a process writes
 * to that process's uid (cli-owner.c); 0 (also when nothing is to change)
 * or -1, printed. */
int cli_own_data(const struct config *config);
/* cli_own_account does that for one account's folder, after the command
 * line made or changed files in it; -1 too if the account has no uid. */
int cli_own_account(const struct config *config, uint64_t account);
/* cli_own_new_account does it for a folder the command line has just made
 * a store in, walking all of it: another command run at the same moment
 * may have given the top away while the store was being made, so the top's
 * owner says nothing of what is inside.  0 or -1 (printed). */
int cli_own_new_account(const struct config *config, uint64_t account);
/* cli_own_dkim gives DATA/dkim and every key in it to the queue's uid,
 * the only process that reads them; 0 or -1 (printed). */
int cli_own_dkim(const struct config *config);

#endif
