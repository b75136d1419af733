/*
 * NAME
 *	keys - the only process that holds the TLS private key
 * DESCRIPTION
 *	Loads the private key (tls.key) and certificate (tls.cert) at start,
 *	then signs TLS handshakes for pre-auth processes: each asks, over its
 *	own link, for one ECDSA signature of a digest or one RSA private
 *	operation on a padded block (IPC_KEY_SIGN) and gets IPC_KEY_SIGNATURE.
 *	Links come from master (IPC_PEER: the spawner's link, or a pre-auth
 *	link) and from the spawner (IPC_PEER with role pre-auth, one per
 *	forked pre-auth process).  It takes no network input.
 * SECURITY
 *	Reads its two files before the jail, then: no file access at all
 *	(Landlock, no paths), no new sockets or programs (seccomp),
 *	no_new_privs, a uid of its own (uids.h), no core dumps.  Every request is a
 *	typed message held to the kind table; only handshake-shaped input is
 *	signed (keys-sign.c: a digest's length for ECDSA, a full PSS or
 *	PKCS#1 v1.5 structure for RSA, so it is never an RSA decryption
 *	oracle), and at a bounded rate per link and in all.  A pre-auth
 *	process taken over can therefore get signatures on digests of its
 *	choosing, slowly, while it lives: it can impersonate the server in
 *	handshakes relayed through it, but cannot take the key away.  The key
 *	is freed (its private parts cleared) on exit; the PEM text is wiped
 *	as soon as it is parsed.
 */
#include "keys.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/jail.h"
#include "lib/uids.h"
#include "lib/log.h"
#include "lib/process.h"

/* One pre-auth process makes one handshake, hence one signature, in its
 * life (no renegotiation, no resumption, no tickets).  A burst of 8 is
 * generous for that; 4 a second after it is far below what an oracle
 * user would want and costs a legitimate process nothing. */
#define KEYS_SIGN_BURST 8
#define KEYS_SIGN_PER_SECOND 4
/* Per-link buckets do not bound an attacker with many connections (each
 * gets a new pre-auth process and a full bucket), so all links together
 * get at most this many a second, with a second's worth as burst: two
 * turnovers a second of front.max_connections' default (1000), more new
 * TLS connections than an organisation's server sees after a restart,
 * and within what one core signs with RSA-2048 (~1,500/s) or P-256. */
#define KEYS_GLOBAL_BURST 2000
#define KEYS_GLOBAL_PER_SECOND 2000
/* A pre-auth process has one request outstanding at a time; answers
 * piling up beyond this mean it does not read them, and it is cut off
 * instead of making keys hold its backlog. */
#define KEYS_MAX_LINK_QUEUED (16 * 1024)
/* Pre-auth links beyond front.max_connections: the spawner's spare
 * processes, waiting for a connection, have their link already. */
#define KEYS_SPARE_LINKS 256
/* Refusals for being over the global rate are logged at most this often:
 * every new link's first refusal would otherwise flood the log. */
#define KEYS_RATE_LOG_INTERVAL_MS 1000

struct keys_link {
	struct keys_link *prev, *next;
	struct keys_server *server;
	struct ipc *ipc;
	enum ipc_role role;
	uint64_t index;
	struct keys_bucket bucket;
	uint64_t signatures, refusals;
	char name[48];
};

struct keys_server {
	struct ev *ev;
	const struct keys_key *key;
	struct keys_link *links;
	unsigned preauth_links, max_links;
	struct keys_bucket global;
	uint64_t global_refusals;
	uint64_t last_rate_log_ms;
	bool rate_logged;
};

static void link_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx);

/* link_unlink removes link from the server's list and frees it (its ipc
 * is already gone). */
static void link_unlink(struct keys_link *link)
{
	struct keys_server *s = link->server;

	if (link->role == IPC_ROLE_PREAUTH)
		s->preauth_links--;
	if (link->prev != NULL)
		link->prev->next = link->next;
	else
		s->links = link->next;
	if (link->next != NULL)
		link->next->prev = link->prev;
	free(link);
}

/* link_free reports a link that went away, then unlinks it. */
static void link_free(struct keys_link *link)
{
	if (link->refusals > 1)
		log_warn("%s: %llu requests refused, %llu signed", link->name,
			 (unsigned long long)link->refusals, (unsigned long long)link->signatures);
	if (link->role == IPC_ROLE_SPAWNER && !ev_term_asked())
		log_warn("the spawner's link is closed: no new pre-auth links until master "
			 "connects it again");
	link_unlink(link);
}

/* link_closed is the ipc's closed callback: the peer went away or sent a
 * message the kind table refuses (ipc.c has logged it). */
static void link_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	link_free(ctx);
}

/* link_reject closes link for a message its role may not send. */
static void link_reject(struct keys_link *link, const struct ipc_msg *msg)
{
	ipc_reject(&link->ipc, msg);
	link_free(link);
}

int keys_server_add_link(struct keys_server *s, int fd, enum ipc_role role, uint64_t index)
{
	char name[48];

	if (role != IPC_ROLE_PREAUTH && role != IPC_ROLE_SPAWNER) {
		log_error("refusing a link to a %s process: keys serves only pre-auth processes "
			  "and the spawner", process_role_name(role));
		close(fd);
		return -1;
	}
	if (role == IPC_ROLE_PREAUTH && s->preauth_links >= s->max_links) {
		log_error("refusing pre-auth link %llu: %u links are open already",
			  (unsigned long long)index, s->preauth_links);
		close(fd);
		return -1;
	}
	struct keys_link *link = calloc(1, sizeof(*link));
	snprintf(name, sizeof(name), "%s %llu", process_role_name(role),
		 (unsigned long long)index);
	if (link != NULL)
		memcpy(link->name, name, sizeof(name));
	if (link != NULL)
		link->ipc = ipc_new(s->ev, fd, name, link_handler, link_closed, link);
	if (link == NULL || link->ipc == NULL) {
		log_error("no memory for the link of %s", name);
		free(link);
		close(fd);
		return -1;
	}
	link->server = s;
	link->role = role;
	link->index = index;
	keys_bucket_init(&link->bucket, KEYS_SIGN_BURST, KEYS_SIGN_PER_SECOND, ev_now(s->ev));
	link->next = s->links;
	if (s->links != NULL)
		s->links->prev = link;
	s->links = link;
	if (role == IPC_ROLE_PREAUTH)
		s->preauth_links++;
	return 0;
}

/* log_refusal logs why a request on link was refused: the first refusal
 * of each link, and global-rate refusals at most once a second; the rest
 * are counted (link_free reports the count). */
static void log_refusal(struct keys_link *link, const char *why, bool global)
{
	struct keys_server *s = link->server;
	uint64_t now = ev_now(s->ev);

	link->refusals++;
	if (global) {
		s->global_refusals++;
		if (s->rate_logged && now - s->last_rate_log_ms < KEYS_RATE_LOG_INTERVAL_MS)
			return;
		s->rate_logged = true;
		s->last_rate_log_ms = now;
		log_warn("over %u signatures a second in all: %llu requests refused so far",
			 KEYS_GLOBAL_PER_SECOND, (unsigned long long)s->global_refusals);
		return;
	}
	if (link->refusals == 1)
		log_error("refused a signature to %s: %s", link->name, why);
}

/* sign_request answers one IPC_KEY_SIGN on a pre-auth link.  A payload
 * that does not parse, input that is not handshake-shaped and requests
 * over the rate are answered IPC_KEY_REFUSED; the link stays open (its
 * process serves one connection, which the failed handshake ends). */
static void sign_request(struct keys_link *link, const struct ipc_msg *msg)
{
	struct keys_server *s = link->server;
	unsigned char sig[IPC_KEY_MAX_SIGNATURE];
	size_t siglen = 0;
	const char *why = NULL;
	enum ipc_key_status status = IPC_KEY_REFUSED;
	struct ipc_reader r;
	bool global = false;
	uint64_t now = ev_now(s->ev);

	ipc_reader_init(&r, msg);
	uint64_t op = ipc_get_u64(&r);
	struct str input = ipc_get_str(&r, IPC_KEY_MAX_INPUT);
	if (!ipc_reader_ok(&r)) {
		why = "malformed request";
	} else if (!keys_bucket_ready(&link->bucket, now)) {
		why = "over the link's rate";
	} else if (!keys_bucket_ready(&s->global, now)) {
		why = "over the global rate";
		global = true;
	} else {
		status = keys_key_sign(s->key, op, (const unsigned char *)input.ptr, input.len, sig,
				       sizeof(sig), &siglen, &why);
		/* Refused input made no signature, so it costs no token. */
		if (status != IPC_KEY_REFUSED) {
			keys_bucket_take(&link->bucket);
			keys_bucket_take(&s->global);
		}
	}
	if (status == IPC_KEY_OK)
		link->signatures++;
	else if (status == IPC_KEY_REFUSED)
		log_refusal(link, why, global);
	else
		log_error("signing for %s failed: %s", link->name, why);

	struct buf out;
	buf_init(&out, 16 + IPC_KEY_MAX_SIGNATURE);
	ipc_put_u64(&out, status);
	ipc_put_str(&out, str_from((const char *)sig, status == IPC_KEY_OK ? siglen : 0));
	int sent = ipc_send_buf(link->ipc, IPC_KEY_SIGNATURE, msg->id, &out, -1);
	buf_free(&out);
	if (sent < 0 || ipc_queued(link->ipc) > KEYS_MAX_LINK_QUEUED) {
		log_error("%s does not read its answers: closing its link",
			  link->name);
		ipc_close(&link->ipc);
		link_free(link);
	}
}

/* spawner_peer takes a new pre-auth link from the spawner: IPC_PEER with
 * role IPC_ROLE_PREAUTH and an index (for the log), the link as its fd.
 * Anything else from the spawner closes the spawner's link. */
static void spawner_peer(struct keys_link *link, const struct ipc_msg *msg)
{
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	uint64_t role = ipc_get_u64(&r);
	uint64_t index = ipc_get_u64(&r);
	if (!ipc_reader_ok(&r) || role != IPC_ROLE_PREAUTH) {
		link_reject(link, msg);
		return;
	}
	keys_server_add_link(link->server, msg->fd, IPC_ROLE_PREAUTH, index);
}

/* link_handler dispatches by the link's role: what each may send. */
static void link_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct keys_link *link = ctx;
	(void)ipc;

	if (link->role == IPC_ROLE_PREAUTH && msg->kind == IPC_KEY_SIGN)
		sign_request(link, msg);
	else if (link->role == IPC_ROLE_SPAWNER && msg->kind == IPC_PEER)
		spawner_peer(link, msg);
	else
		link_reject(link, msg);
}

struct keys_server *keys_server_new(struct ev *ev, const struct keys_key *key,
				    unsigned max_links)
{
	struct keys_server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->ev = ev;
	s->key = key;
	s->max_links = max_links;
	keys_bucket_init(&s->global, KEYS_GLOBAL_BURST, KEYS_GLOBAL_PER_SECOND, ev_now(ev));
	return s;
}

void keys_server_free(struct keys_server **sp)
{
	struct keys_server *s = *sp;
	if (s == NULL)
		return;
	*sp = NULL;
	while (s->links != NULL) {
		struct keys_link *link = s->links;
		ipc_close(&link->ipc);
		link_unlink(link);
	}
	free(s);
}

/* master_handler takes links from master: IPC_PEER naming the spawner or
 * a pre-auth process.  Master is trusted, so anything else is logged and
 * dropped rather than treated as an attack. */
static void master_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct keys_server *s = ctx;
	struct ipc_reader r;
	(void)ipc;

	if (msg->kind == IPC_PEER) {
		ipc_reader_init(&r, msg);
		uint64_t role = ipc_get_u64(&r);
		uint64_t index = ipc_get_u64(&r);
		if (ipc_reader_ok(&r) && role <= IPC_ROLE_KEYS) {
			keys_server_add_link(s, msg->fd, (enum ipc_role)role, index);
			return;
		}
	}
	log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
	if (msg->fd >= 0)
		close(msg->fd);
}

/* on_term ends the loop; main then wipes the key. */
static void on_term(int signo, void *ctx)
{
	(void)signo;
	ev_stop(ctx);
}

int keys_main(void)
{
	static struct config config;
	struct keys_key *key = NULL;
	const char *error;

	if (process_child_init("keys", &config) < 0)
		return 1;
	/* Master refuses to start without both (cli_serve); never name an
	 * empty path if one is missing all the same. */
	if (config.tls_cert[0] == '\0' || config.tls_key[0] == '\0') {
		log_error("%s is not set: no key to sign with",
			  config.tls_key[0] == '\0' ? "tls.key" : "tls.cert");
		return 1;
	}
	if (keys_key_load(config.tls_cert, config.tls_key, &key, &error) < 0) {
		log_error("loading the TLS key %s and certificate %s failed: %s", config.tls_key,
			  config.tls_cert, error);
		return 1;
	}
	/* The jail: no files at all, no new sockets; the key is in memory. */
	struct jail jail = { .name = "keys", .path_count = 0, .role = JAIL_ROLE_KEYS };
	if (uids_enter_for(&config, jail.role, 0, &jail.ids) < 0 || jail_enter(&jail) < 0) {
		keys_key_free(&key);
		return 1;
	}

	struct ev *ev = ev_new();
	unsigned max_links = (unsigned)config.front_max_connections + KEYS_SPARE_LINKS;
	struct keys_server *server = ev != NULL ? keys_server_new(ev, key, max_links) : NULL;
	if (server == NULL || process_master_link(ev, master_handler, server) == NULL) {
		keys_key_free(&key);
		return 1;
	}
	ev_signal_add(ev, SIGTERM, on_term, ev);
	signal(SIGPIPE, SIG_IGN);
	log_info("signing handshakes with the %s key of %s", keys_key_type(key), config.tls_cert);
	ev_run(ev);
	keys_server_free(&server);
	keys_key_free(&key);
	ev_free(&ev);
	return 0;
}
