/*
 * NAME
 *	resolver - the one process that speaks DNS
 * DESCRIPTION
 *	Answers IPC_DNS_QUERY (a type and a name) with IPC_DNS_ANSWER (a
 *	status and bounded records, lib/dns-msg.h) over each asker's own
 *	link, through libunbound's asynchronous interface driven by the
 *	event loop.  Links come from master (IPC_PEER: a spawner's link, or
 *	an asker's) and from spawners (IPC_PEER with an asker's role, one per
 *	forked process: pre-auth processes, relay processes).  With
 *	dns.resolver set it forwards every question to that one resolver;
 *	without, it uses the resolvers of /etc/resolv.conf (or, with none
 *	there, the root servers).  With dns.trust_anchor it validates
 *	DNSSEC and says which answers are secure; bogus ones are DNS_BOGUS.
 *	Every answer is held to DNS_MAX_RECORDS, DNS_MAX_RDATA and
 *	DNS_MAX_ANSWER, a question to RESOLVER_QUERY_TIMEOUT_MS, and a link
 *	to RESOLVER_MAX_OUTSTANDING questions at a time: anything past them
 *	is DNS_TEMPFAIL with a log line naming the question.
 * SECURITY
 *	Holds no mail, no key, no credential.  Reads /etc/resolv.conf and the
 *	trust anchor before its jail, then: no file access at all (Landlock,
 *	no paths), TCP connections only to the resolver's port (53, or
 *	dns.resolver's; Landlock ABI 4 and up), sockets of the Internet
 *	families only (seccomp), a uid of its own, no core dumps.  What the
 *	kernel cannot express is not restricted: the address a UDP datagram
 *	or a TCP connection goes to (only the port of TCP is checked).  The
 *	askers' names are checked (host-name characters, DNS_MAX_NAME) before
 *	libunbound sees them; what DNS answers is parsed here with bounds
 *	(resolver-rdata.c) and reaches the askers only as dns.h records.
 */
#include "resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unbound.h>

#include "lib/buf.h"
#include "lib/dns-client.h"
#include "lib/dns-msg.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/uids.h"
#include "resolver-rdata.h"

/* How long one question may take.  libunbound retries a silent server
 * itself; past this the asker hears DNS_TEMPFAIL and tries later (the
 * relay's next attempt, an SMTP client's 451).  Below the askers' own
 * bound (DNS_CLIENT_TIMEOUT_MS) so that they hear why. */
#define RESOLVER_QUERY_TIMEOUT_MS 8000
/* Questions one link may have outstanding: a relay process asks a few
 * (MX, then A and AAAA of each MX), the inbound checks of one message at
 * most SPF's ten look-ups plus DKIM and DMARC.  The client's own cap is
 * the same number. */
#define RESOLVER_MAX_OUTSTANDING DNS_CLIENT_MAX_OUTSTANDING
/* Asker links beyond front.max_connections: the spawners' spares and the
 * relay processes. */
#define RESOLVER_SPARE_LINKS 512
/* A trust anchor file: a few DS or DNSKEY records, one per line. */
#define RESOLVER_MAX_ANCHOR (64 * 1024)
/* The port DNS servers answer on (RFC 1035 4.2). */
#define RESOLVER_DNS_PORT 53

_Static_assert(RESOLVER_QUERY_TIMEOUT_MS < DNS_CLIENT_TIMEOUT_MS,
	       "the resolver answers before its askers give up");

struct resolver_link;

/* One question being resolved. */
struct resolver_query {
	struct resolver_query *next, **prev;
	struct resolver_link *link;
	uint64_t msg_id;
	int ub_id;
	enum dns_type type;
	struct ev_timer *timer;
	char name[DNS_MAX_NAME + 1];
};

struct resolver_link {
	struct resolver_link *next, **prev;
	struct resolver_server *server;
	struct ipc *ipc;
	enum ipc_role role;
	bool asker;                   /* asks questions; else passes asker links */
	unsigned outstanding;
	uint64_t refused;             /* questions over the cap */
	struct resolver_query *queries;
	char name[48];
};

struct resolver_server {
	struct ev *ev;
	struct ub_ctx *ub;
	struct ev_io *ub_io;
	struct resolver_link *links;
	unsigned asker_links, max_links;
};

/* The text of the one answer being built (answers are built one at a
 * time, from the loop). */
static char rdata_arena[RESOLVER_RDATA_ARENA];

static void link_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx);
static void link_closed(struct ipc *ipc, void *ctx);

/* resolver_asker_role: may a process of role ask questions?  Pre-auth
 * processes (the inbound checks) and relay children do, over links their
 * spawner passes on; the links master gives (a front spawner's, the relay
 * spawner's, which has role IPC_ROLE_RELAY too) only pass links. */
static bool resolver_asker_role(uint64_t role)
{
	return role == IPC_ROLE_PREAUTH || role == IPC_ROLE_RELAY;
}

/* query_free takes q off its link and frees it (libunbound no longer
 * holds it: answered or cancelled). */
static void query_free(struct resolver_query *q)
{
	*q->prev = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->link->outstanding--;
	ev_timer_del(&q->timer);
	free(q);
}

/* link_free cancels link's questions and frees it (its ipc is gone). */
static void link_free(struct resolver_link *link)
{
	struct resolver_server *s = link->server;

	while (link->queries != NULL) {
		ub_cancel(s->ub, link->queries->ub_id);
		query_free(link->queries);
	}
	if (link->refused > 0)
		log_warn("%s: %llu questions refused over the cap of %d outstanding", link->name,
			 (unsigned long long)link->refused, RESOLVER_MAX_OUTSTANDING);
	if (link->asker)
		s->asker_links--;
	else if (!ev_term_asked())
		log_warn("%s's link is closed: no new asker links from it until master "
			 "connects it again", link->name);
	*link->prev = link->next;
	if (link->next != NULL)
		link->next->prev = link->prev;
	free(link);
}

static void link_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	link_free(ctx);
}

/* link_reject closes link for a message it may not send (an attack). */
static void link_reject(struct resolver_link *link, const struct ipc_msg *msg)
{
	ipc_reject(&link->ipc, msg);
	link_free(link);
}

/* link_add serves a new link; it owns fd.  0 or -1 (logged). */
static int link_add(struct resolver_server *s, int fd, uint64_t role, uint64_t index, bool asker)
{

	if (role == IPC_ROLE_MASTER || role == IPC_ROLE_RESOLVER) {
		log_error("refusing a link to a %s process", process_role_name((enum ipc_role)role));
		close(fd);
		return -1;
	}
	if (asker && s->asker_links >= s->max_links) {
		log_error("refusing %s link %llu: %u links are open already",
			  process_role_name((enum ipc_role)role), (unsigned long long)index,
			  s->asker_links);
		close(fd);
		return -1;
	}
	struct resolver_link *link = calloc(1, sizeof(*link));
	if (link == NULL) {
		log_error("no memory for a link");
		close(fd);
		return -1;
	}
	snprintf(link->name, sizeof(link->name), "%s %llu", process_role_name((enum ipc_role)role),
		 (unsigned long long)index);
	link->server = s;
	link->role = (enum ipc_role)role;
	link->asker = asker;
	link->ipc = ipc_new(s->ev, fd, link->name, link_handler, link_closed, link);
	if (link->ipc == NULL) {
		log_error("no memory for the link of %s", link->name);
		free(link);
		close(fd);
		return -1;
	}
	link->next = s->links;
	if (s->links != NULL)
		s->links->prev = &link->next;
	link->prev = &s->links;
	s->links = link;
	if (asker)
		s->asker_links++;
	return 0;
}

/* send_answer sends a to the asker of q (msg_id on link); a link that
 * cannot take it is closed (the asker does not read). */
static void send_answer(struct resolver_link *link, uint64_t msg_id, const struct dns_answer *a)
{
	struct buf out;
	buf_init(&out, DNS_MAX_ANSWER);
	int rc = dns_msg_put_answer(&out, a);
	if (rc == 0)
		rc = ipc_send_buf(link->ipc, IPC_DNS_ANSWER, msg_id, &out, -1);
	buf_free(&out);
	if (rc < 0) {
		log_error("%s does not take its answers: closing its link", link->name);
		ipc_close(&link->ipc);
		link_free(link);
	}
}

/* send_status answers with a status and no records. */
static void send_status(struct resolver_link *link, uint64_t msg_id, enum dns_status status)
{
	struct dns_msg_answer a;
	dns_msg_answer_status(&a, status);
	send_answer(link, msg_id, &a.answer);
}

/* answer_from_result turns libunbound's result for q into out; a failure
 * is logged naming the question. */
static void answer_from_result(const struct resolver_query *q, int err, struct ub_result *r,
			       struct dns_msg_answer *out)
{
	const char *type = dns_type_name(q->type);
	char why[128];

	dns_msg_answer_status(out, DNS_TEMPFAIL);
	if (err != 0) {
		log_warn("%s %s: %s", type, q->name, ub_strerror(err));
		return;
	}
	if (r->bogus) {
		log_warn("%s %s: DNSSEC validation failed: %s", type, q->name,
			 r->why_bogus != NULL ? r->why_bogus : "bogus");
		dns_msg_answer_status(out, DNS_BOGUS);
		return;
	}
	if (r->nxdomain) {
		dns_msg_answer_status(out, DNS_NXDOMAIN);
		out->answer.secure = r->secure != 0;
		return;
	}
	if (r->rcode != 0) {
		/* SERVFAIL: a broken zone, a server that does not answer, a
		 * CNAME chain that loops or runs too long. */
		log_warn("%s %s: the resolver answered rcode %d (2 is SERVFAIL: a CNAME loop, a "
			 "broken zone or no server reached)", type, q->name, r->rcode);
		return;
	}
	if (!r->havedata) {
		dns_msg_answer_status(out, DNS_NODATA);
		out->answer.secure = r->secure != 0;
		return;
	}
	size_t count = 0;
	while (r->data[count] != NULL)
		count++;
	if (resolver_rdata_parse(q->type, r->data, r->len, count, out, rdata_arena, why,
				 sizeof(why)) < 0) {
		log_warn("%s %s: answer refused: %s", type, q->name, why);
		return;
	}
	out->answer.secure = r->secure != 0;
}

/* query_done is libunbound's callback: the result of q (never after
 * ub_cancel). */
static void query_done(void *mydata, int err, struct ub_result *result)
{
	struct resolver_query *q = mydata;
	struct dns_msg_answer a;
	struct buf check;

	answer_from_result(q, err, result, &a);
	ub_resolve_free(result);
	/* Over an IPC message in all: refused, like too many records. */
	buf_init(&check, DNS_MAX_ANSWER);
	if (a.answer.status == DNS_OK && dns_msg_put_answer(&check, &a.answer) < 0) {
		log_warn("%s %s: answer refused: larger than %d octets", dns_type_name(q->type),
			 q->name, DNS_MAX_ANSWER);
		dns_msg_answer_status(&a, DNS_TEMPFAIL);
	}
	buf_free(&check);
	struct resolver_link *link = q->link;
	uint64_t id = q->msg_id;
	query_free(q);
	send_answer(link, id, &a.answer);
}

/* query_timeout: q took longer than RESOLVER_QUERY_TIMEOUT_MS. */
static void query_timeout(struct ev_timer *t, void *ctx)
{
	struct resolver_query *q = ctx;
	(void)t;
	q->timer = NULL;
	log_warn("%s %s: no answer within %d ms", dns_type_name(q->type), q->name,
		 RESOLVER_QUERY_TIMEOUT_MS);
	ub_cancel(q->link->server->ub, q->ub_id);
	struct resolver_link *link = q->link;
	uint64_t id = q->msg_id;
	query_free(q);
	send_status(link, id, DNS_TEMPFAIL);
}

/* name_ok: may name be asked (host-name characters and dots, no empty
 * label)? */
static bool name_ok(struct str name)
{
	if (name.len == 0 || name.ptr[0] == '.')
		return false;
	for (size_t i = 0; i < name.len; i++) {
		unsigned char c = (unsigned char)name.ptr[i];
		bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ldh && !(c == '.' && i + 1 < name.len && name.ptr[i + 1] != '.') &&
		    !(c == '.' && i + 1 == name.len))
			return false;
	}
	return true;
}

/* ask takes one IPC_DNS_QUERY from an asker link. */
static void ask(struct resolver_link *link, const struct ipc_msg *msg)
{
	struct resolver_server *s = link->server;
	enum dns_type type;
	struct str name;

	if (dns_msg_get_query(msg->payload, msg->len, &type, &name) < 0) {
		link_reject(link, msg);
		return;
	}
	if (link->outstanding >= RESOLVER_MAX_OUTSTANDING) {
		if (link->refused++ == 0)
			log_warn("%s: more than %d questions outstanding: refusing %s %.*s", link->name,
				 RESOLVER_MAX_OUTSTANDING, dns_type_name(type), (int)name.len,
				 name.ptr);
		send_status(link, msg->id, DNS_TEMPFAIL);
		return;
	}
	if (!name_ok(name)) {
		log_warn("%s: %s for a name that is no host name refused", link->name,
			 dns_type_name(type));
		send_status(link, msg->id, DNS_TEMPFAIL);
		return;
	}
	struct resolver_query *q = calloc(1, sizeof(*q));
	if (q == NULL) {
		send_status(link, msg->id, DNS_TEMPFAIL);
		return;
	}
	memcpy(q->name, name.ptr, name.len);
	q->name[name.len] = '\0';
	q->link = link;
	q->msg_id = msg->id;
	q->type = type;
	q->timer = ev_timer_add(s->ev, RESOLVER_QUERY_TIMEOUT_MS, query_timeout, q);
	int err = q->timer != NULL ? ub_resolve_async(s->ub, q->name, (int)type, 1, q, query_done,
						      &q->ub_id)
				   : UB_NOMEM;
	if (err != 0) {
		log_warn("%s %s: %s", dns_type_name(type), q->name, ub_strerror(err));
		ev_timer_del(&q->timer);
		free(q);
		send_status(link, msg->id, DNS_TEMPFAIL);
		return;
	}
	q->next = link->queries;
	if (link->queries != NULL)
		link->queries->prev = &q->next;
	q->prev = &link->queries;
	link->queries = q;
	link->outstanding++;
}

/* spawner_peer takes an asker's link from a spawner: IPC_PEER with an
 * asker's role and an index.  Anything else closes the spawner's link. */
static void spawner_peer(struct resolver_link *link, const struct ipc_msg *msg)
{
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	uint64_t role = ipc_get_u64(&r);
	uint64_t index = ipc_get_u64(&r);
	if (!ipc_reader_ok(&r) || !resolver_asker_role(role)) {
		link_reject(link, msg);
		return;
	}
	link_add(link->server, msg->fd, role, index, true);
}

/* link_handler: askers ask, spawners pass links; nothing else. */
static void link_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct resolver_link *link = ctx;
	(void)ipc;

	if (link->asker && msg->kind == IPC_DNS_QUERY)
		ask(link, msg);
	else if (!link->asker && msg->kind == IPC_PEER)
		spawner_peer(link, msg);
	else
		link_reject(link, msg);
}

/* master_handler takes links from master: IPC_PEER naming a spawner (any
 * process that passes links on) or an asker.  Master is trusted: anything
 * else is logged and dropped. */
static void master_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct resolver_server *s = ctx;
	struct ipc_reader r;
	(void)ipc;

	if (msg->kind == IPC_PEER) {
		ipc_reader_init(&r, msg);
		uint64_t role = ipc_get_u64(&r);
		uint64_t index = ipc_get_u64(&r);
		if (ipc_reader_ok(&r)) {
			/* From master: spawners (front, and the relay's, whose role
			 * is IPC_ROLE_RELAY too) pass links; a pre-auth link (a
			 * test's) asks. */
			link_add(s, msg->fd, role, index, role == IPC_ROLE_PREAUTH);
			return;
		}
	}
	log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
	if (msg->fd >= 0)
		close(msg->fd);
}

/* ub_ready: libunbound has results; its callbacks run from here. */
static void ub_ready(struct ev_io *io, unsigned events, void *ctx)
{
	struct resolver_server *s = ctx;
	(void)io;
	(void)events;
	int err = ub_process(s->ub);
	if (err != 0)
		log_error("ub_process() failed: %s", ub_strerror(err));
}

/* load_anchor gives libunbound the trust anchor file's records, read now
 * (before the jail): one DS or DNSKEY record per line, ';' comments.
 * 0 or -1 (logged). */
static int load_anchor(struct ub_ctx *ub, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[RESOLVER_MAX_ANCHOR];
	unsigned records = 0;

	if (f == NULL) {
		log_error("dns.trust_anchor: open(%s) failed: %m", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, ";\r\n");
		line[n] = '\0';
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		int err = ub_ctx_add_ta(ub, line);
		if (err != 0) {
			log_error("dns.trust_anchor %s: %s: %s", path, line, ub_strerror(err));
			fclose(f);
			return -1;
		}
		records++;
	}
	fclose(f);
	if (records == 0) {
		log_error("dns.trust_anchor %s holds no record", path);
		return -1;
	}
	log_info("DNSSEC validation on: %u trust anchor records from %s", records, path);
	return 0;
}

/* resolver_ctx makes the libunbound context from the configuration, with
 * what it reads read now.  *port is the one port it will connect to.
 * NULL (logged) if it cannot be made. */
static struct ub_ctx *resolver_ctx(const struct config *config, uint16_t *port)
{
	struct ub_ctx *ub = ub_ctx_create();
	int err;

	if (ub == NULL) {
		log_error("ub_ctx_create() failed");
		return NULL;
	}
	/* A thread, not a forked process: one process to jail, and its
	 * results come back through ub_fd. */
	err = ub_ctx_async(ub, 1);
	*port = RESOLVER_DNS_PORT;
	if (err == 0 && config->dns_resolver[0] != '\0') {
		char host[64], fwd[80];
		unsigned char addr[16];
		if (config_parse_listen(config->dns_resolver, host, sizeof(host), port) < 0 ||
		    (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)) {
			log_error("dns.resolver %s is not IP:port (an address, not a name)",
				  config->dns_resolver);
			ub_ctx_delete(ub);
			return NULL;
		}
		snprintf(fwd, sizeof(fwd), "%s@%u", host, (unsigned)*port);
		/* The resolver named may be on this machine. */
		err = ub_ctx_set_option(ub, "do-not-query-localhost:", "no");
		/* libunbound answers test. itself (NXDOMAIN, as RFC 6761 6.2
		 * allows); the resolver named decides instead, so that a test
		 * set-up (domains under test.) is served like any other. */
		if (err == 0)
			err = ub_ctx_set_option(ub, "local-zone:", "test. transparent");
		if (err == 0)
			err = ub_ctx_set_fwd(ub, fwd);
		if (err == 0)
			log_info("asking the resolver at %s", config->dns_resolver);
	} else if (err == 0) {
		/* Every question goes to those resolvers (localhost when the
		 * file names none, as resolv.conf(5) says), which may be on this
		 * machine (systemd-resolved's 127.0.0.53, a local unbound).
		 * Without the file, libunbound resolves from the root servers
		 * and keeps refusing referrals to localhost. */
		if (ub_ctx_resolvconf(ub, NULL) == 0) {
			err = ub_ctx_set_option(ub, "do-not-query-localhost:", "no");
			log_info("asking the resolvers of /etc/resolv.conf");
		} else {
			log_warn("reading /etc/resolv.conf failed: asking the root servers");
		}
	}
	if (err != 0) {
		log_error("setting up libunbound failed: %s", ub_strerror(err));
		ub_ctx_delete(ub);
		return NULL;
	}
	if (config->dns_trust_anchor[0] != '\0' && load_anchor(ub, config->dns_trust_anchor) < 0) {
		ub_ctx_delete(ub);
		return NULL;
	}
	return ub;
}

/* on_term ends the loop. */
static void on_term(int signo, void *ctx)
{
	(void)signo;
	ev_stop(ctx);
}

int resolver_main(void)
{
	static struct config config;
	static struct resolver_server server;
	uint16_t port;

	if (process_child_init("resolver", &config) < 0)
		return 1;
	server.ub = resolver_ctx(&config, &port);
	if (server.ub == NULL)
		return PROCESS_EXIT_CANNOT_START;
	/* The jail: no files (resolv.conf and the anchor are read), TCP
	 * only to the resolver's port. */
	struct jail jail = { .name = "resolver", .path_count = 0, .role = JAIL_ROLE_RESOLVER,
			     .connect_ports = { port }, .connect_port_count = 1 };
	if (uids_enter_for(&config, jail.role, 0, &jail.ids) < 0 || jail_enter(&jail) < 0)
		return 1;

	server.ev = ev_new();
	if (server.ev == NULL)
		return 1;
	server.max_links = (unsigned)config.front_max_connections + RESOLVER_SPARE_LINKS;
	server.ub_io = ev_io_add(server.ev, ub_fd(server.ub), EV_READ, ub_ready, &server);
	if (server.ub_io == NULL || process_master_link(server.ev, master_handler, &server) == NULL)
		return 1;
	ev_signal_add(server.ev, SIGTERM, on_term, server.ev);
	signal(SIGPIPE, SIG_IGN);
	ev_run(server.ev);
	while (server.links != NULL) {
		struct resolver_link *link = server.links;
		ipc_close(&link->ipc);
		link_free(link);
	}
	ev_io_del(&server.ub_io);
	ub_ctx_delete(server.ub);
	ev_free(&server.ev);
	return 0;
}
