#ifndef RAVELIN_KEYS_H
#define RAVELIN_KEYS_H
/*
 * keys: the one process that holds the TLS private key and signs
 * handshakes for pre-auth processes (see keys.c).  The serving part is
 * exposed so that a test can run it on socketpairs, without the process
 * start-up and jail.
 */
#include <stdint.h>

#include "keys-sign.h"
#include "lib/ev.h"
#include "lib/ipc.h"

struct keys_server;

/* keys_main is `ravelin --role keys`; returns the exit status. */
int keys_main(void);

/* keys_server_new serves signatures with key (which stays the caller's
 * and must outlive the server) on ev, with at most max_links pre-auth
 * links open at once.  NULL if out of memory. */
struct keys_server *keys_server_new(struct ev *ev, const struct keys_key *key,
				    unsigned max_links);
/* keys_server_add_link takes over fd as a link to a process of role:
 * IPC_ROLE_PREAUTH links may ask for signatures (IPC_KEY_SIGN);
 * IPC_ROLE_SPAWNER links may only hand over new pre-auth links (IPC_PEER
 * with role IPC_ROLE_PREAUTH).  Returns 0, or -1 (fd closed, logged) for
 * another role, too many links, or no memory. */
int keys_server_add_link(struct keys_server *server, int fd, enum ipc_role role,
			 uint64_t index);
/* keys_server_free closes every link and sets *server NULL. */
void keys_server_free(struct keys_server **server);

#endif
