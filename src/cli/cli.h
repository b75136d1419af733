#ifndef RAVELIN_CLI_H
#define RAVELIN_CLI_H
/* cli: the `ravelin` command.  Internal header of src/cli. */
#include <stdbool.h>

#include "lib/config.h"

struct cli_options {
	const char *config_path;  /* --config */
	const char *data;         /* --data */
	const char *password_file;/* --password-file */
	struct config config;     /* defaults, then the file, then --data */
};

/* cli_load_config fills opts->config; prints the error and returns -1. */
int cli_load_config(struct cli_options *opts);
int cli_serve(struct cli_options *opts);
int cli_domain(struct cli_options *opts, int argc, char **argv);
int cli_account(struct cli_options *opts, int argc, char **argv);
int cli_alias(struct cli_options *opts, int argc, char **argv);
int cli_queue(struct cli_options *opts, int argc, char **argv);
/* cli_make_data_dirs creates DATA and the folders of every process. */
int cli_make_data_dirs(const char *data);
/* cli_own gives path (recursive: and all below it) to the `user` of the
 * configuration when running as root; 0 (also when nothing to do) or -1. */
int cli_own(const struct config *config, const char *path, bool recursive);
/* cli_own_data does that for the folders the processes write. */
int cli_own_data(const struct config *config);

#endif
