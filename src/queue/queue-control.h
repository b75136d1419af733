#ifndef RAVELIN_QUEUE_CONTROL_H
#define RAVELIN_QUEUE_CONTROL_H
/* queue-control: what `ravelin queue retry|delete` asks of a running
 * queue, through master (IPC_QUEUE_CONTROL): try a message (or all) now,
 * or remove one, its sender told with a bounce if asked. */
#include "lib/ipc.h"

/* queue_control acts on one IPC_QUEUE_CONTROL from master and logs what
 * it did; a malformed one is logged and ignored. */
void queue_control(const struct ipc_msg *msg);

#endif
