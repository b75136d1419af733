#ifndef RAVELIN_SPAWNER_H
#define RAVELIN_SPAWNER_H
/*
 * spawner and pre-auth: the network front.  A spawner (role "spawner",
 * started by master) accepts connections and forks one pre-auth process
 * per connection (spawner.c); the pre-auth process serves that one
 * connection up to the login and hands it on (front.c).
 */
#include <stdint.h>

#include <openssl/ssl.h>

#include "lib/config.h"
#include "lib/ipc.h"

/* The links a pre-auth process is born with, in this order. */
enum preauth_link {
	PREAUTH_LINK_MASTER = 0,  /* logs, session tickets */
	PREAUTH_LINK_AUTH,        /* recipients, logins */
	PREAUTH_LINK_QUEUE,       /* SMTP transactions */
	PREAUTH_LINK_KEYS,        /* TLS handshake signatures */
	PREAUTH_LINK_RESOLVER,    /* DNS questions (the inbound checks) */
	PREAUTH_LINK_CONTROL,     /* the spawner: its connection, its state */
	PREAUTH_LINKS,
};

int spawner_main(unsigned index);
/* preauth_main serves the connection the spawner will send on the control
 * link, then returns (the caller exits).  fds: the links, taken over. */
void preauth_main(const struct config *config, SSL_CTX *tls, uint64_t serial,
		  const int fds[PREAUTH_LINKS]);

#endif
