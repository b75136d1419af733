#ifndef RAVELIN_MASTER_STDERR_H
#define RAVELIN_MASTER_STDERR_H
/*
 * master-stderr: what a child writes to its standard error (a sanitizer's
 * report, a library's complaint) reaches master through a pipe of its own
 * and is logged line by line as that child's, escaped; the child's
 * standard output goes to /dev/null.  So no child holds master's log file
 * or terminal, and none can write a line that poses as another's.
 */
#include <stddef.h>

#include "lib/ev.h"

/* Longest line kept whole; longer ones are logged in pieces. */
#define MASTER_STDERR_LINE 1024
/* Lines one child's pipe may log: a burst that holds a sanitizer's whole
 * report, then a trickle (a pipe is shared by a spawner's pre-auth
 * processes, which must not fill the disk). */
#define MASTER_STDERR_BURST 500
#define MASTER_STDERR_PER_SECOND 50

struct child_stderr;

/* child_stderr_watch reads fd (the pipe's read end, taken over) and logs
 * its lines with write_line(name, line, len).  NULL if it cannot. */
struct child_stderr *child_stderr_watch(struct ev *ev, int fd, const char *name,
					void (*write_line)(const char *name, const char *line,
							   size_t len));
/* child_stderr_free logs what is left to read, stops watching and closes
 * the pipe. */
void child_stderr_free(struct child_stderr **s);

#endif
