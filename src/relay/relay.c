/*
 * NAME
 *	relay - the relay spawner: one process per outbound connection
 * DESCRIPTION
 *	Started by master (`ravelin --role relay`).  On the queue's
 *	IPC_RELAY_OPEN it forks a relay child for that destination (see
 *	relay-child.c), gives the queue its end of a new link to the child
 *	(IPC_RELAY_READY, same id) and reaps the child when it ends.  At
 *	start it looks up the smarthost's addresses, reads the smarthost's
 *	credentials (relay.smarthost_auth_file) and loads the CA roots
 *	(relay.ca_file, or the system's) into the client contexts of MX
 *	connections and MTA-STS policy fetches, so that no child ever opens a
 *	file.
 * SECURITY
 *	Holds no key and no mail: the smarthost's credentials only, which
 *	its children need.  Jailed before its loop: no file access, a uid of
 *	its own, TCP connect to ports 25, 443 (MTA-STS policies) and the
 *	smarthost's only (for its children; it connects nowhere itself), a
 *	system call allow-list that its children narrow further.  Reads nothing from the network.
 */
#include "relay.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/uids.h"
#include "relay/dane.h"
#include "relay/mta-sts-fetch.h"

/* Relay children at once: relay.max_per_destination per destination is
 * the queue's to keep; this bounds the sum (a queue gone wrong). */
#define RELAY_MAX_CHILDREN 256
/* The credentials file: one short line. */
#define RELAY_MAX_AUTH_FILE 1024
/* SMTP's port (RFC 5321 4.5.4.2 wants MX hosts on it). */
#define RELAY_SMTP_PORT 25
/* The resolver's client is there (CONTRACTS 1): children get a link to
 * the resolver, made here and passed to it as a relay's (IPC_PEER). */
#define RELAY_HAS_RESOLVER __has_include("lib/dns-client.h")
/* HTTPS: MTA-STS policy fetches (RFC 8461 3.3). */
#define RELAY_HTTPS_PORT 443

struct relay {
	struct config config;
	struct ev *ev;
	struct ipc *master;
	struct ipc *queue;
	struct ipc *resolver;    /* passes the children's links to the resolver */
	uint64_t serial;         /* children made, naming their resolver links */
	SSL_CTX *tls;            /* MX and smarthost connections */
	SSL_CTX *sts_tls;        /* MTA-STS policy fetches, or NULL */
	char smarthost_name[CONFIG_MAX_STRING];
	struct relay_target targets[RELAY_MAX_ADDRS];
	size_t target_count;
	uint16_t smarthost_port;
	char *auth_plain;        /* base64 of "\0user\0password", or NULL */
	unsigned children;
};

static struct relay r;

/* read_credentials reads "user password" from the configured file and
 * makes the AUTH PLAIN message of it; 0 or -1 (logged). */
static int read_credentials(const char *path)
{
	char text[RELAY_MAX_AUTH_FILE];
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		log_error("open(%s) failed: %m", path);
		return -1;
	}
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	struct str all = str_trim(str_from(text, n));
	long sp = str_chr(all, ' ');
	if (sp <= 0 || (size_t)sp + 1 >= all.len) {
		log_error("%s: want one line \"user password\"", path);
		explicit_bzero(text, sizeof(text));
		return -1;
	}
	unsigned char plain[RELAY_MAX_AUTH_FILE + 2];
	size_t user_len = (size_t)sp, pass_len = all.len - user_len - 1;
	plain[0] = '\0';
	memcpy(plain + 1, all.ptr, user_len);
	plain[1 + user_len] = '\0';
	memcpy(plain + 2 + user_len, all.ptr + user_len + 1, pass_len);
	size_t plain_len = 2 + user_len + pass_len;
	r.auth_plain = malloc(4 * ((plain_len + 2) / 3) + 1);
	if (r.auth_plain != NULL)
		EVP_EncodeBlock((unsigned char *)r.auth_plain, plain, (int)plain_len);
	explicit_bzero(text, sizeof(text));
	explicit_bzero(plain, sizeof(plain));
	return r.auth_plain != NULL ? 0 : -1;
}

/* look_up_smarthost finds relay.smarthost's addresses (before the jail: no
 * child ever asks the system's resolver); 0 or -1 (logged). */
static int look_up_smarthost(void)
{
	char port[8];
	if (config_parse_listen(r.config.relay_smarthost, r.smarthost_name,
				sizeof(r.smarthost_name), &r.smarthost_port) < 0) {
		log_error("relay.smarthost '%s' is not host:port", r.config.relay_smarthost);
		return -1;
	}
	snprintf(port, sizeof(port), "%u", r.smarthost_port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int e = getaddrinfo(r.smarthost_name, port, &hints, &res);
	if (e != 0) {
		/* Not fatal: every job waits with the reason until it resolves
		 * (at the next start). */
		log_error("relay.smarthost %s: %s", r.smarthost_name, gai_strerror(e));
		return 0;
	}
	for (struct addrinfo *a = res; a != NULL && r.target_count < RELAY_MAX_ADDRS; a = a->ai_next) {
		memcpy(&r.targets[r.target_count].addr, a->ai_addr, a->ai_addrlen);
		r.targets[r.target_count++].addr_len = a->ai_addrlen;
	}
	freeaddrinfo(res);
	return 0;
}

/* make_tls makes the client contexts from relay.ca_file (or the system's
 * bundle), read now: one for MX connections (DANE enabled, each
 * connection's check set by dane_ssl_prepare; opportunistic TLS takes a
 * certificate that does not verify, RFC 7435) and one for MTA-STS policy
 * fetches (the certificate must verify).  0, or -1 (logged) when
 * relay.ca_file cannot be read or no context can be made; without the
 * second no policy is fetched. */
static int make_tls(void)
{
	const char *err = "";
	r.tls = dane_client_ctx_new(r.config.relay_ca_file, &err);
	if (r.tls == NULL && r.config.relay_ca_file[0] != '\0') {
		log_error("relay.ca_file %s: %s", r.config.relay_ca_file, err);
		return -1;
	}
	if (r.tls == NULL) {
		/* No system bundle: TLS goes on, DANE too; no certificate
		 * chains (an MTA-STS enforce policy holds its mail). */
		log_warn("the system's CA bundle could not be loaded (%s): no certificate will verify",
			 err);
		r.tls = SSL_CTX_new(TLS_client_method());
		if (r.tls == NULL || SSL_CTX_set_min_proto_version(r.tls, TLS1_2_VERSION) != 1 ||
		    dane_ctx_enable(r.tls, &err) < 0) {
			log_error("TLS client context: %s", err);
			return -1;
		}
	}
	SSL_CTX_set_mode(r.tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	r.sts_tls = mta_sts_fetch_ctx_new(r.config.relay_ca_file, &err);
	if (r.sts_tls == NULL)
		log_error("MTA-STS fetch context: %s: no policy will be fetched", err);
	return 0;
}

static void on_sigchld(int signo, void *ctx)
{
	int status;
	(void)signo;
	(void)ctx;
	while (waitpid(-1, &status, WNOHANG) > 0)
		if (r.children > 0)
			r.children--;
}

/* refuse answers an IPC_RELAY_OPEN with IPC_RELAY_REFUSED. */
static void refuse(uint64_t id, uint64_t why)
{
	if (r.queue != NULL)
		(void)ipc_send(r.queue, IPC_RELAY_REFUSED, id, &why, sizeof(why), -1);
}

/* resolver_link makes a link to the resolver for a child (the resolver
 * gets its end as IPC_ROLE_RELAY's); the child's end, or -1 (none: the
 * child's look-ups fail for now). */
static int resolver_link(void)
{
	int pair[2];
	if (r.resolver == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return -1;
	struct buf b;
	buf_init(&b, 2 * IPC_U64_SIZE);
	ipc_put_u64(&b, IPC_ROLE_RELAY);
	ipc_put_u64(&b, ++r.serial);
	int sent = ipc_send_buf(r.resolver, IPC_PEER, 0, &b, pair[0]);
	buf_free(&b);
	close(pair[0]);
	if (sent < 0) {
		close(pair[1]);
		return -1;
	}
	return pair[1];
}

/* open_relay forks a relay child for destination and hands the queue its
 * link. */
static void open_relay(uint64_t id, struct str destination)
{
	char dest[IPC_RELAY_MAX_DEST + 1];
	int pair[2];

	if (r.children >= RELAY_MAX_CHILDREN) {
		log_warn("%d relay children at work: %.*s waits", RELAY_MAX_CHILDREN,
			 (int)destination.len, destination.ptr);
		refuse(id, IPC_RELAY_NO_PLACE);
		return;
	}
	snprintf(dest, sizeof(dest), "%.*s", (int)destination.len, destination.ptr);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		log_error("socketpair() failed: %m");
		refuse(id, IPC_RELAY_FAILED);
		return;
	}
	bool smarthost = strcmp(dest, RELAY_SMARTHOST_DEST) == 0;
	int dns = smarthost ? -1 : resolver_link();
	pid_t pid = fork();
	if (pid == 0) {
		close(pair[0]);
		struct relay_child_setup setup = {
			.config = &r.config,
			.tls = r.tls,
			.sts_tls = r.sts_tls,
			.destination = dest,
			.host_name = smarthost ? r.smarthost_name : NULL,
			.targets = r.targets,
			.target_count = smarthost ? r.target_count : 0,
			.auth_plain = smarthost ? r.auth_plain : NULL,
			.tls_required = smarthost &&
					strcmp(r.config.relay_smarthost_tls, "opportunistic") != 0,
			.queue_fd = pair[1],
			.resolver_fd = dns,
		};
		relay_child_main(&setup);
	}
	close(pair[1]);
	if (dns >= 0)
		close(dns);
	if (pid < 0) {
		log_error("fork() of a relay child failed: %m");
		close(pair[0]);
		refuse(id, IPC_RELAY_FAILED);
		return;
	}
	r.children++;
	uint64_t zero = 0;
	if (r.queue == NULL || ipc_send(r.queue, IPC_RELAY_READY, id, &zero, sizeof(zero), pair[0]) < 0)
		kill(pid, SIGTERM);
	close(pair[0]);
	log_debug("relay child %d for %s", (int)pid, dest);
}

static void queue_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct ipc_reader rd;
	(void)ctx;
	ipc_reader_init(&rd, msg);
	if (msg->kind == IPC_RELAY_OPEN) {
		struct str dest = ipc_get_str(&rd, IPC_RELAY_MAX_DEST);
		if (ipc_reader_ok(&rd) && dest.len > 0) {
			open_relay(msg->id, dest);
			return;
		}
	}
	struct ipc *self = ipc;
	ipc_reject(&self, msg);
	r.queue = NULL;
}

static void queue_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	r.queue = NULL;
}

#if RELAY_HAS_RESOLVER
/* The resolver says nothing on this link: anything is an attack. */
static void resolver_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct ipc *self = ipc;
	(void)ctx;
	ipc_reject(&self, msg);
	r.resolver = NULL;
}

static void resolver_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	r.resolver = NULL;
}
#endif

static void master_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct ipc_reader rd;
	(void)ipc;
	(void)ctx;
	ipc_reader_init(&rd, msg);
	if (msg->kind == IPC_PEER) {
		uint64_t role = ipc_get_u64(&rd);
		if (role == IPC_ROLE_QUEUE) {
			if (r.queue != NULL)
				ipc_close(&r.queue);
			r.queue = ipc_new(r.ev, msg->fd, "queue", queue_message, queue_closed, NULL);
			if (r.queue == NULL)
				close(msg->fd);
			return;
		}
#if RELAY_HAS_RESOLVER
		if (role == IPC_ROLE_RESOLVER) {
			if (r.resolver != NULL)
				ipc_close(&r.resolver);
			r.resolver = ipc_new(r.ev, msg->fd, "resolver", resolver_message,
					     resolver_closed, NULL);
			if (r.resolver == NULL)
				close(msg->fd);
			return;
		}
#endif
	}
	log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
	if (msg->fd >= 0)
		close(msg->fd);
}

static void on_term(int signo, void *ctx)
{
	(void)signo;
	(void)ctx;
	ev_stop(r.ev);
}

int relay_main(void)
{
	if (process_child_init("relay", &r.config) < 0)
		return 1;
	tzset();
	if (r.config.relay_smarthost[0] != '\0' && look_up_smarthost() < 0)
		return PROCESS_EXIT_CANNOT_START;
	if (r.config.relay_smarthost_auth_file[0] != '\0' &&
	    read_credentials(r.config.relay_smarthost_auth_file) < 0)
		return PROCESS_EXIT_CANNOT_START;
	if (make_tls() < 0)
		return PROCESS_EXIT_CANNOT_START;

	/* Each child adds this table to the spawner's jail. */
	if (jail_prepare(JAIL_ROLE_RELAY_CHILD) < 0)
		return 1;
	struct jail jail = { .name = "relay", .role = JAIL_ROLE_RELAY,
			     .connect_ports = { RELAY_SMTP_PORT, RELAY_HTTPS_PORT },
			     .connect_port_count = 2 };
	if (r.smarthost_port != 0 && r.smarthost_port != RELAY_SMTP_PORT &&
	    r.smarthost_port != RELAY_HTTPS_PORT)
		jail.connect_ports[jail.connect_port_count++] = r.smarthost_port;
	if (uids_enter_for(&r.config, jail.role, 0, &jail.ids) < 0 || jail_enter(&jail) < 0)
		return 1;

	r.ev = ev_new();
	if (r.ev == NULL)
		return 1;
	r.master = process_master_link(r.ev, master_message, NULL);
	if (r.master == NULL)
		return 1;
	ev_signal_add(r.ev, SIGTERM, on_term, NULL);
	ev_signal_add(r.ev, SIGCHLD, on_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);
	ev_run(r.ev);
	return 0;
}
