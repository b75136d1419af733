#ifndef RAVELIN_MASTER_H
#define RAVELIN_MASTER_H
#include "lib/config.h"

/* master_main runs the server until SIGTERM/SIGINT; returns an exit code. */
int master_main(const struct config *config);

#endif
