#ifndef RAVELIN_QUEUE_INTAKE_H
#define RAVELIN_QUEUE_INTAKE_H
/* queue-intake: mail coming into the queue (see queue-intake.c). */
#include <stdint.h>

/* queue_intake_link_new takes fd, the link of a pre-auth process (serial,
 * as its spawner said) or of a worker submitting mail; its transactions
 * are served until it closes.  fd is closed on failure. */
void queue_intake_link_new(int fd, uint64_t serial, void *ctx);

#endif
