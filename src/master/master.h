#ifndef RAVELIN_MASTER_H
#define RAVELIN_MASTER_H
#include "lib/config.h"

/* master_main runs the server until SIGTERM/SIGINT; returns an exit code.
 * config_path (NULL: the embedded defaults) is read again on SIGHUP for
 * what can change without a restart: log.level, tls.cert, tls.key. */
int master_main(const struct config *config, const char *config_path);

#endif
