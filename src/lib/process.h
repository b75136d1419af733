#ifndef RAVELIN_PROCESS_H
#define RAVELIN_PROCESS_H
/*
 * process: how a child of master starts.  Master execs `ravelin --role R`
 * with exactly two descriptors besides stdio: PROCESS_FD_MASTER (the link
 * to master) and PROCESS_FD_CONFIG (a sealed memfd with the effective
 * configuration as "key = value" text, parsed by the one config loader).
 */
#include "config.h"
#include "ev.h"
#include "ipc.h"

#define PROCESS_FD_MASTER 3
#define PROCESS_FD_CONFIG 4
/* A child's exit status saying that starting it again cannot help (its
 * data folder cannot be opened, say): master stops instead of restarting
 * it in a loop.  EX_CONFIG of sysexits.h. */
#define PROCESS_EXIT_CANNOT_START 78

/* process_child_init names the process for the log, sends log records to
 * master, reads the configuration and closes its descriptor, and enters
 * DATA: config->data is "." from then on. */
int process_child_init(const char *name, struct config *config);
/* process_master_link wraps PROCESS_FD_MASTER in an ipc on ev; log records
 * go through it from then on.  A closed master link ends the process. */
struct ipc *process_master_link(struct ev *ev, ipc_handler_fn *handler, void *ctx);
/* process_forget_master_link drops the inherited master link object
 * without touching it (a forked pre-auth process makes its own). */
void process_forget_master_link(void);
/* process_set_argv records where argv lives so process_set_title can
 * overwrite it (what ps shows); main calls it first. */
void process_set_argv(int argc, char **argv);
void process_set_title(const char *title);
/* process_role_name maps an ipc_role to its name. */
const char *process_role_name(enum ipc_role role);

#endif
