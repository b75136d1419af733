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

/* The links a pre-auth process is born with, in this order. */
enum preauth_link {
	PREAUTH_LINK_MASTER = 0,  /* logs, session tickets */
	PREAUTH_LINK_AUTH,        /* recipients, logins */
	PREAUTH_LINK_QUEUE,       /* SMTP transactions */
	PREAUTH_LINK_KEYS,        /* TLS handshake signatures */
	PREAUTH_LINK_CONTROL,     /* the spawner: its connection, its state */
	PREAUTH_LINKS,
};

/* A pre-auth process's serial: its spawner's number in the top bits, that
 * spawner's count of processes made below (unique among all spawners). */
#define PREAUTH_SERIAL_SHIFT 48
#define PREAUTH_SERIAL_COUNT ((UINT64_C(1) << PREAUTH_SERIAL_SHIFT) - 1)

int spawner_main(unsigned index);
/* preauth_main serves the connection the spawner will send on the control
 * link, then returns (the caller exits).  fds: the links, taken over. */
void preauth_main(const struct config *config, SSL_CTX *tls, uint64_t serial,
		  const int fds[PREAUTH_LINKS]);

#endif
