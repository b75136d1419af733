/*
 * NAME
 *	master-preauth - the links of pre-auth processes
 * DESCRIPTION
 *	A spawner hands master the link of each pre-auth process it makes.
 *	On it the process logs (a bucket of records) and, after a login auth
 *	accepted, shows auth's ticket: master opens it once, starts the
 *	account's worker if need be, gives the two a link for the session and
 *	tells the spawner that process now holds a session.
 * SECURITY
 *	A pre-auth process faces the network: what it may make master hold is
 *	bounded (queued answers, sessions asked for, log records), and any
 *	other message closes its link.  Only a ticket auth sealed, unexpired
 *	and never shown before names an account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/process.h"
#include "master-private.h"

/* Links of pre-auth processes at once, all spawners together (each
 * spawner has at most front.max_connections plus its spares). */
#define MASTER_MAX_PREAUTH (64 * 1024)
/* What a pre-auth process that does not read its link may make master
 * hold for it: its answers are a few small messages. */
#define MASTER_PREAUTH_MAX_QUEUED (64 * 1024)
/* Sessions one pre-auth process may ask for: it serves one connection,
 * and only a login auth accepted leads here (a refused one does not). */
#define MASTER_PREAUTH_MAX_OPENS 8
/* Log records of one pre-auth process: a burst, then a trickle. */
#define MASTER_PREAUTH_LOG_BURST 200
#define MASTER_PREAUTH_LOG_PER_SECOND 20

/* A pre-auth process's link: it logs and shows tickets here. */
struct preauth {
	struct preauth *next, **prev;
	struct ipc *link;
	uint64_t serial;
	char name[40];
	/* Its log records: a bucket, so that one cannot fill the disk. */
	double log_tokens;
	uint64_t log_time;
	uint64_t log_dropped;
	unsigned opens;         /* sessions asked for */
};

static void preauth_free(struct preauth *p);

/* preauth_refuse tells a pre-auth process it gets no session; one whose
 * link cannot take even that (it does not read) is cut off, so that its
 * client is not left waiting for an answer that never comes. */
static void preauth_refuse(struct preauth *p, uint64_t id, uint64_t why)
{
	if (ipc_send(p->link, IPC_SESSION_REFUSED, id, &why, sizeof(why), -1) == 0)
		return;
	log_error("%s does not read its link: closing it", p->name);
	preauth_free(p);
}

/*
 * preauth_open_session: a pre-auth process shows a ticket after a login.  Only a
 * ticket auth sealed, unexpired and never shown before names the account;
 * the pre-auth process then gets one end of a link whose other end goes to
 * that account's worker, and hands the connection over on it.
 */
static void preauth_open_session(struct preauth *p, const struct ipc_msg *msg)
{
	struct master *m = the_master;
	struct ipc_reader r;
	struct ticket t;
	uint64_t refused = IPC_SESSION_BAD_TICKET;
	int sv[2];

	ipc_reader_init(&r, msg);
	uint64_t protocol = ipc_get_u64(&r);
	struct str sealed = ipc_get_str(&r, TICKET_SIZE);
	uint64_t now = (uint64_t)time(NULL);
	if (!ipc_reader_ok(&r) ||
	    (protocol != IPC_PROTO_POP3 && protocol != IPC_PROTO_IMAP && protocol != IPC_PROTO_HTTP) ||
	    ticket_open(m->ticket_key, (const unsigned char *)sealed.ptr, sealed.len, now, &t) < 0) {
		log_error("%s showed an invalid or expired ticket: no session", p->name);
		preauth_refuse(p, msg->id, refused);
		return;
	}
	if (ticket_replay_use(&m->replay, &t, now) < 0) {
		log_error("%s showed a ticket that was used before: no session", p->name);
		preauth_refuse(p, msg->id, refused);
		return;
	}
	struct child *w = worker_for(t.account);
	if (w != NULL && protocol == IPC_PROTO_IMAP && worker_imap_full(w)) {
		/* Refused before the front says OK to the login. */
		log_info("%s: account %llu has %u IMAP sessions already: no session", p->name,
			 (unsigned long long)t.account, IPC_ACCOUNT_MAX_IMAP_SESSIONS);
		preauth_refuse(p, msg->id, IPC_SESSION_LIMIT);
		return;
	}
	if (w == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		preauth_refuse(p, msg->id, IPC_SESSION_NO_WORKER);
		return;
	}
	if (ipc_send(w->link, IPC_SESSION, msg->id, &protocol, sizeof(protocol), sv[0]) < 0 ||
	    ipc_send(p->link, IPC_SESSION_READY, msg->id, &t.account, sizeof(t.account), sv[1]) < 0) {
		log_error("%s: the session could not be passed on", p->name);
		close(sv[0]);
		close(sv[1]);
		preauth_refuse(p, msg->id, IPC_SESSION_NO_WORKER);
		return;
	}
	close(sv[0]);
	close(sv[1]);
	if (protocol == IPC_PROTO_IMAP)
		w->imap_given++;
	/* Its spawner spares it when places run out (a relayed session); a
	 * spawner that cannot hear it now merely may end it under pressure. */
	struct child *spawner = child_live_spawner((unsigned)(p->serial >> PREAUTH_SERIAL_SHIFT));
	uint64_t state[2] = { p->serial, IPC_PREAUTH_LOGGED_IN };
	if (spawner != NULL)
		(void)ipc_send(spawner->link, IPC_PREAUTH_STATE, 0, state, sizeof(state), -1);
}

/* preauth_may_log: a pre-auth process logs a few records for its one
 * connection; past MASTER_PREAUTH_LOG_BURST, MASTER_PREAUTH_LOG_PER_SECOND. */
static bool preauth_may_log(struct preauth *p)
{
	uint64_t now = ev_now(the_master->ev);
	p->log_tokens += (double)(now - p->log_time) * MASTER_PREAUTH_LOG_PER_SECOND / 1000.0;
	if (p->log_tokens > MASTER_PREAUTH_LOG_BURST)
		p->log_tokens = MASTER_PREAUTH_LOG_BURST;
	p->log_time = now;
	if (p->log_tokens >= 1) {
		p->log_tokens -= 1;
		return true;
	}
	if (p->log_dropped++ == 0)
		log_warn("%s logs too much; its records are dropped for a while", p->name);
	return false;
}

static void preauth_free(struct preauth *p)
{
	if (p->log_dropped > 0)
		log_warn("%s: %llu log records dropped", p->name, (unsigned long long)p->log_dropped);
	*p->prev = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	the_master->preauth_count--;
	ipc_close(&p->link);
	free(p);
}

static void preauth_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct preauth *p = ctx;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_LOG) {
		uint64_t level = ipc_get_u64(&r);
		struct str text = ipc_get_str(&r, LOG_MAX_RECORD);
		/* Below the level (raised by a reload) it costs no token. */
		if (ipc_reader_ok(&r) && level >= the_master->level && preauth_may_log(p))
			master_write_child_log(p->name, text);
		return;
	}
	if (msg->kind == IPC_SESSION_OPEN && ++p->opens <= MASTER_PREAUTH_MAX_OPENS) {
		preauth_open_session(p, msg);
		return;
	}
	(void)ipc;
	ipc_reject(&p->link, msg);
	preauth_free(p);
}

static void preauth_closed(struct ipc *ipc, void *ctx)
{
	struct preauth *p = ctx;
	(void)ipc;
	p->link = NULL;
	preauth_free(p);
}

/* A spawner made a spare: master takes the spare's end of its link. */
void preauth_add(struct child *spawner, const struct ipc_msg *msg)
{
	struct master *m = the_master;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	uint64_t role = ipc_get_u64(&r);
	uint64_t serial = ipc_get_u64(&r);
	struct preauth *p = NULL;
	if (ipc_reader_ok(&r) && role == IPC_ROLE_PREAUTH && m->preauth_count < MASTER_MAX_PREAUTH)
		p = calloc(1, sizeof(*p));
	if (p == NULL) {
		log_error("spawner %u: no link for a pre-auth process (%u already)", spawner->index,
			  m->preauth_count);
		close(msg->fd);
		return;
	}
	p->serial = serial;
	p->log_tokens = MASTER_PREAUTH_LOG_BURST;
	p->log_time = ev_now(m->ev);
	preauth_name(serial, p->name, sizeof(p->name));
	p->link = ipc_new(m->ev, msg->fd, p->name, preauth_handler, preauth_closed, p);
	if (p->link == NULL) {
		close(msg->fd);
		free(p);
		return;
	}
	ipc_set_max_queued(p->link, MASTER_PREAUTH_MAX_QUEUED);
	p->next = m->preauths;
	if (m->preauths != NULL)
		m->preauths->prev = &p->next;
	m->preauths = p;
	p->prev = &m->preauths;
	m->preauth_count++;
}

