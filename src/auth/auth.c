/*
 * NAME
 *	auth - the only process that reads credentials
 * DESCRIPTION
 *	Answers the pre-auth processes' questions about accounts: which
 *	accounts a recipient address delivers to (aliases resolved; the
 *	answer sealed with IPC_RCPT_KEY for that pre-auth process's
 *	transaction, which the queue checks), and
 *	whether a login's password is right.  Passwords are checked
 *	(argon2id) on a few checker threads, queued fairly by client network
 *	(auth-queue.c), and a refusal is answered after a delay that grows
 *	with that network's failures; the network is the one the spawner
 *	accepted the client from (IPC_PREAUTH_CLIENT), never what the
 *	pre-auth process says.  An accepted login gets a ticket sealed with
 *	the key master gave (IPC_TICKET_KEY).  It owns DATA/directory/.
 *	A login over submission (IPC_SUBMIT_LOGIN) gets no ticket: auth
 *	remembers the account for that pre-auth process, lists the
 *	addresses it may send as, sealed (IPC_SUBMIT_SENDERS), and from then
 *	on answers a remote recipient from that process with a seal and no
 *	accounts, which is what lets the queue take it (auth-submit.c).
 *	An account's worker gets, on the link master made for it, the
 *	account's primary address and the addresses that are its own
 *	(IPC_ACCOUNT_INFO, auth-account.c); the account is the link's.
 * SECURITY
 *	Confined by Landlock to DATA/directory (read-write) and nothing else;
 *	a seccomp allow-list, no_new_privs, not dumpable; runs as a uid of
 *	its own (uids.h), owner of DATA/directory.  Its input is typed
 *	messages from pre-auth processes, each field length-checked; the
 *	directory is queried with bound parameters only.  Passwords are
 *	copied into locked memory and wiped after the check.
 */
#include "auth.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sodium.h>

#include "auth-account.h"
#include "auth-queue.h"
#include "auth-forward.h"
#include "auth-submit.h"
#include "directory.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/jail.h"
#include "lib/uids.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/ticket.h"

/* Password checks that run at once, each on its own thread: argon2id at
 * the interactive cost takes 64 MiB and tens of milliseconds, and the
 * queue gives one network at most one of them, so a guesser cannot keep
 * every checker busy while a user waits. */
#define AUTH_CHECKERS 2

_Static_assert(DIRECTORY_MAX_PASSWORD == IPC_LOGIN_MAX_PASSWORD,
	       "a password that can be set can be sent to log in");

/* A front's link, kept while a login from it is being checked. */
struct front_link {
	struct front_link *next, **prev; /* open links, to find one by serial */
	struct ipc *ipc;
	uint64_t serial;
	unsigned refs;
	bool closed;
	/* The client's address, as the spawner that accepted it said. */
	bool ip_known;
	char ip[IPC_LOGIN_MAX_IP + 1];
	/* The account its client logged in as over submission (0: none). */
	uint64_t account;
};

/* One login from its arrival (main thread: parsed, hash looked up, queued)
 * to its answer; the argon2id check runs on a checker thread, so
 * recipient look-ups are never stuck behind it. */
struct login_job {
	struct login_job *next;
	struct front_link *link;
	uint64_t id;
	uint64_t account;
	bool known;
	bool ok;
	bool submission;        /* IPC_SUBMIT_LOGIN: no ticket, senders */
	char hash[DIRECTORY_HASH_SIZE];
	char *password;         /* sodium_malloc'd, wiped after the check */
	size_t password_len;
	char user[DIRECTORY_MAX_ADDRESS + 1];
	char ip[IPC_LOGIN_MAX_IP + 1];
};

struct auth {
	struct ev *ev;
	struct config config;
	struct directory *dir;
	unsigned char ticket_key[TICKET_KEY_SIZE];
	bool have_key;
	/* Made by master, shared with the queue: recipient answers are sealed. */
	unsigned char rcpt_key[TICKET_KEY_SIZE];
	bool have_rcpt_key;
	/* Made by master once, kept in DATA: bounces to SRS addresses. */
	unsigned char srs_key[SRS_KEY_SIZE];
	bool have_srs_key;
	/* Logins waiting for a checker, in flight, and the penalties. */
	struct auth_queue *queue;
	unsigned idle_checkers;
	/* The checker threads and what they share with the main thread. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct login_job *todo, **todo_tail, *done;
	int done_fd;
	struct front_link *links;
};

/* rcpt_lookup answers which accounts an address delivers to, sealed for
 * the asking pre-auth process's transaction (ticket.h): the queue believes
 * only accounts auth gave for that address. */
static void rcpt_lookup(struct auth *a, struct front_link *link, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	uint64_t ids[DIRECTORY_MAX_EXPANSION];
	static struct directory_forwards fw;
	size_t count = 0;
	const char *error;
	struct buf out;
	unsigned char mac[TICKET_RCPT_MAC_SIZE];

	ipc_reader_init(&r, msg);
	struct str address = ipc_get_str(&r, IPC_MAX_PATH);
	uint64_t txn = ipc_get_u64(&r);
	if (!ipc_reader_ok(&r)) {
		log_error("malformed recipient look-up from %s", ipc_peer_name(link->ipc));
		return;
	}
	fw.count = 0;
	int found = a->have_rcpt_key
			    ? auth_forward_resolve(a->dir, a->srs_key, a->have_srs_key,
						   a->config.hostname, address, time(NULL), ids,
						   DIRECTORY_MAX_EXPANSION, &count, &fw, &error)
			    : -1;
	if (found < 0)
		log_error("recipient look-up failed: %s",
			  a->have_rcpt_key ? error : "no recipient key from master yet");
	if (found == DIRECTORY_RESOLVE_LOOP)
		log_error("recipient refused: %s", error);
	bool sealed;
	uint64_t status = auth_submit_rcpt_status(found, count, link->account, &sealed);
	size_t n = found == DIRECTORY_RESOLVE_FOUND ? count : 0;
	if (n > IPC_RCPT_MAX_ACCOUNTS)
		n = IPC_RCPT_MAX_ACCOUNTS;
	struct ticket_rcpt seal = { .serial = link->serial, .txn = txn,
				    .expires = (uint64_t)time(NULL) + a->config.smtp_session_timeout,
				    .address = address, .accounts = ids, .account_count = n };
	if (sealed)
		ticket_rcpt_seal(a->rcpt_key, &seal, mac);
	buf_init(&out, IPC_MAX_PAYLOAD);
	ipc_put_u64(&out, status);
	ipc_put_u64(&out, n);
	for (size_t i = 0; i < n; i++)
		ipc_put_u64(&out, ids[i]);
	ipc_put_u64(&out, seal.expires);
	ipc_put_str(&out, str_from((const char *)mac, sealed ? sizeof(mac) : 0));
	auth_forward_put(&out, a->rcpt_key, status == IPC_RCPT_OK && found == DIRECTORY_RESOLVE_FOUND,
			 link->serial, txn, seal.expires, &fw);
	if (ipc_send_buf(link->ipc, IPC_RCPT_RESULT, msg->id, &out, -1) < 0)
		log_error("%s does not read its answers: recipient look-up dropped",
			  ipc_peer_name(link->ipc));
	buf_free(&out);
}

/* job_free wipes and releases a job (its password already gone or not). */
static void job_free(struct login_job *job)
{
	if (job->password != NULL)
		sodium_free(job->password);
	if (--job->link->refs == 0 && job->link->closed)
		free(job->link);
	sodium_memzero(job, sizeof(*job));
	free(job);
}

/* login_answer sends auth's verdict (sealed: the ticket, for IPC_LOGIN_OK). */
static void login_answer(struct ipc *ipc, uint64_t id, enum ipc_login_status status,
			 uint64_t delay, const unsigned char *sealed)
{
	struct buf out;
	buf_init(&out, 2 * IPC_U64_SIZE + IPC_STR_SIZE(TICKET_SIZE));
	ipc_put_u64(&out, status);
	ipc_put_u64(&out, delay);
	ipc_put_str(&out, str_from((const char *)sealed,
				   status == IPC_LOGIN_OK && sealed != NULL ? TICKET_SIZE : 0));
	if (ipc_send_buf(ipc, IPC_LOGIN_RESULT, id, &out, -1) < 0)
		log_error("%s does not read its answers: login answer dropped", ipc_peer_name(ipc));
	sodium_memzero(out.data, out.len);
	buf_free(&out);
}

/* submission_login answers a good submission login: the senders, then
 * the verdict (no ticket: the login stays in the pre-auth process), and
 * remembers the account for that process's recipients. */
static void submission_login(struct auth *a, struct login_job *job)
{
	const char *error;
	struct buf out;

	if (job->link->closed)
		return;
	buf_init(&out, IPC_MAX_PAYLOAD);
	uint64_t expires = (uint64_t)time(NULL) + a->config.smtp_session_timeout;
	if (!a->have_rcpt_key ||
	    auth_submit_senders(a->dir, a->rcpt_key, job->link->serial, job->account, expires,
				&out, &error) < 0 ||
	    ipc_send_buf(job->link->ipc, IPC_SUBMIT_SENDERS, job->id, &out, -1) < 0) {
		log_error("submission login of %s: its senders could not be given", job->user);
		login_answer(job->link->ipc, job->id, IPC_LOGIN_TEMPFAIL, 0, NULL);
		buf_free(&out);
		return;
	}
	buf_free(&out);
	job->link->account = job->account;
	log_info("submission login: %s from %s (account %llu)", job->user, job->ip,
		 (unsigned long long)job->account);
	login_answer(job->link->ipc, job->id, IPC_LOGIN_OK, 0, NULL);
}

/* login_finish answers a checked login (main thread). */
static void login_finish(struct auth *a, struct login_job *job)
{
	unsigned char sealed[TICKET_SIZE];
	enum ipc_login_status status = IPC_LOGIN_REFUSED;
	unsigned failures;
	bool ok = job->known && job->ok;

	uint64_t delay = auth_queue_done(a->queue, job, ok, time(NULL), &failures);
	if (ok && job->submission) {
		submission_login(a, job);
		return;
	}
	if (ok) {
		struct ticket t = { .account = job->account,
				    .expires = (uint64_t)time(NULL) + TICKET_LIFETIME_SECONDS };
		ticket_seal(a->ticket_key, &t, sealed);
		status = IPC_LOGIN_OK;
		log_info("login: %s from %s (account %llu)", job->user, job->ip,
			 (unsigned long long)job->account);
	} else {
		log_warn("login failed: %s from %s (%u failures from there)", job->user, job->ip,
			 failures);
	}
	if (!job->link->closed)
		login_answer(job->link->ipc, job->id, status, delay, sealed);
	sodium_memzero(sealed, sizeof(sealed));
}

/* checker is a password-checking thread: it takes jobs from todo, runs
 * argon2id, wipes the password and hash, and puts the job on done. */
static void *checker(void *arg)
{
	struct auth *a = arg;
	for (;;) {
		pthread_mutex_lock(&a->lock);
		while (a->todo == NULL)
			pthread_cond_wait(&a->wake, &a->lock);
		struct login_job *job = a->todo;
		a->todo = job->next;
		if (a->todo == NULL)
			a->todo_tail = &a->todo;
		pthread_mutex_unlock(&a->lock);

		job->ok = directory_password_matches(job->hash,
						     str_from(job->password, job->password_len));
		sodium_memzero(job->hash, sizeof(job->hash));
		sodium_free(job->password);
		job->password = NULL;

		pthread_mutex_lock(&a->lock);
		job->next = a->done;
		a->done = job;
		pthread_mutex_unlock(&a->lock);
		uint64_t one = 1;
		if (write(a->done_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow at this rate */
		}
	}
	return NULL;
}

/* dispatch hands the queue's next logins to idle checkers (main thread). */
static void dispatch(struct auth *a)
{
	while (a->idle_checkers > 0) {
		struct login_job *job = auth_queue_next(a->queue);
		if (job == NULL)
			return;
		a->idle_checkers--;
		job->next = NULL;
		pthread_mutex_lock(&a->lock);
		*a->todo_tail = job;
		a->todo_tail = &job->next;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
	}
}

/* checked answers the logins the checkers have finished, then gives them
 * the next ones. */
static void checked(struct ev_io *io, unsigned events, void *ctx)
{
	struct auth *a = ctx;
	uint64_t n;
	(void)io;
	(void)events;
	if (read(a->done_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&a->lock);
	struct login_job *list = a->done;
	a->done = NULL;
	pthread_mutex_unlock(&a->lock);
	while (list != NULL) {
		struct login_job *job = list;
		list = job->next;
		a->idle_checkers++;
		login_finish(a, job);
		job_free(job);
	}
	dispatch(a);
}

/* login takes an IPC_LOGIN: looks the hash up now, queues the check.  The
 * payload is wiped by ipc once this returns; the password is copied into
 * locked memory that is wiped after the check. */
static void login(struct auth *a, struct front_link *link, const struct ipc_msg *msg,
		  bool submission)
{
	struct ipc_reader r;
	const char *error;
	struct auth_client client;

	ipc_reader_init(&r, msg);
	struct str user = ipc_get_str(&r, IPC_LOGIN_MAX_USER);
	struct str pass = ipc_get_str(&r, IPC_LOGIN_MAX_PASSWORD);
	struct str ip = ipc_get_str(&r, IPC_LOGIN_MAX_IP);
	if (!ipc_reader_ok(&r)) {
		/* A long name with a short password fits the message but not
		 * the fields: a wrong login, not an attack on the link.
		 * Answer, and count it as a failure. */
		ipc_reader_init(&r, msg);
		ipc_get_str(&r, SIZE_MAX);
		ipc_get_str(&r, SIZE_MAX);
		ip = ipc_get_str(&r, IPC_LOGIN_MAX_IP);
		user = STR("(too long)");
		pass = STR_NULL;
	}
	/* The address is the spawner's word; the one in the message is the
	 * pre-auth process's and not believed.  Unknown yet: try again. */
	ip = str_c(link->ip);
	auth_client_from_ip(ip, &client);
	struct login_job *job = a->have_key && link->ip_known ? calloc(1, sizeof(*job)) : NULL;
	if (job == NULL) {
		login_answer(link->ipc, msg->id, IPC_LOGIN_TEMPFAIL, 0, NULL);
		return;
	}
	job->link = link;
	job->submission = submission;
	link->refs++;
	job->id = msg->id;
	snprintf(job->user, sizeof(job->user), "%.*s", (int)user.len, user.ptr);
	snprintf(job->ip, sizeof(job->ip), "%.*s", (int)ip.len, ip.ptr ? ip.ptr : "");
	int found = directory_password_lookup(a->dir, user, &job->account, job->hash, &error);
	job->password = sodium_malloc(pass.len + 1);
	if (found < 0 || job->password == NULL ||
	    auth_queue_push(a->queue, &client, job, time(NULL)) < 0) {
		if (found < 0)
			log_error("login look-up failed: %s", error);
		else if (job->password != NULL)
			log_warn("login from %s: too many waiting; try later", job->ip);
		login_answer(link->ipc, msg->id, IPC_LOGIN_TEMPFAIL, 0, NULL);
		job_free(job);
		return;
	}
	job->known = found == 1 && pass.ptr != NULL;
	if (pass.len > 0)
		memcpy(job->password, pass.ptr, pass.len);
	job->password_len = pass.len;
	dispatch(a);
}

static struct auth *the_auth;

static void front_closed(struct ipc *ipc, void *ctx)
{
	struct front_link *link = ctx;
	(void)ipc;
	if (link->prev != NULL) {
		*link->prev = link->next;
		if (link->next != NULL)
			link->next->prev = link->prev;
		link->prev = NULL;
	}
	link->closed = true;
	link->ipc = NULL;
	if (link->refs == 0)
		free(link);
}

static void front_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct front_link *link = ctx;
	struct auth *a = the_auth;

	if (msg->kind == IPC_RCPT_LOOKUP) {
		rcpt_lookup(a, link, msg);
		return;
	}
	if (msg->kind == IPC_LOGIN || msg->kind == IPC_SUBMIT_LOGIN) {
		login(a, link, msg, msg->kind == IPC_SUBMIT_LOGIN);
		return;
	}
	ipc_reject(&ipc, msg);
	front_closed(NULL, link);
}

/* A spawner made a pre-auth process: its link asks recipients and logins. */
static void preauth_link_new(int fd, uint64_t serial, void *ctx)
{
	struct auth *a = ctx;
	char name[40];
	preauth_name(serial, name, sizeof(name));
	struct front_link *link = calloc(1, sizeof(*link));
	if (link != NULL)
		link->ipc = ipc_new(a->ev, fd, name, front_handler, front_closed, link);
	if (link == NULL || link->ipc == NULL) {
		free(link);
		close(fd);
		return;
	}
	link->serial = serial;
	link->next = a->links;
	if (a->links != NULL)
		a->links->prev = &link->next;
	a->links = link;
	link->prev = &a->links;
}

/* The spawner says whom a pre-auth process serves: its logins are counted
 * against that address, whatever the process says. */
static void preauth_client(uint64_t serial, struct str address, void *ctx)
{
	struct auth *a = ctx;
	for (struct front_link *link = a->links; link != NULL; link = link->next)
		if (link->serial == serial && !link->ip_known) {
			snprintf(link->ip, sizeof(link->ip), "%.*s", (int)address.len, address.ptr);
			link->ip_known = true;
			return;
		}
}

/* A worker's link: master made it for one account's worker, so the
 * account is the link's, whatever the worker sends.  The worker submits
 * its scheduling mail as a submission login of that account would (front
 * holds the account and the serial the queue gives the same link). */
struct worker_link {
	uint64_t account;
	struct front_link front;
};

/* worker_senders answers IPC_SUBMIT_SENDERS_ASK: the account's sender
 * addresses sealed for the worker's submission link. */
static void worker_senders(struct auth *a, struct worker_link *link, const struct ipc_msg *msg)
{
	const char *error = "no recipient key from master yet";
	struct buf out;
	buf_init(&out, IPC_MAX_PAYLOAD);
	uint64_t expires = (uint64_t)time(NULL) + a->config.smtp_session_timeout;
	if (!a->have_rcpt_key ||
	    auth_submit_senders(a->dir, a->rcpt_key, link->front.serial, link->account, expires,
				&out, &error) < 0)
		log_error("account %llu: its senders cannot be given to its worker: %s",
			  (unsigned long long)link->account, error);
	else if (ipc_send_buf(link->front.ipc, IPC_SUBMIT_SENDERS, msg->id, &out, -1) < 0)
		log_error("worker %llu does not read its answers: senders dropped",
			  (unsigned long long)link->account);
	buf_free(&out);
}

static void worker_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	free(ctx);
}

/* worker_handler answers IPC_ACCOUNT_INFO_ASK with the link's account;
 * anything else closes the link (master gives the worker a new one when
 * it starts again). */
static void worker_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct worker_link *link = ctx;
	const char *error;
	struct buf out;

	if (msg->kind == IPC_RCPT_LOOKUP) {
		rcpt_lookup(the_auth, &link->front, msg);
		return;
	}
	if (msg->kind == IPC_SUBMIT_SENDERS_ASK) {
		worker_senders(the_auth, link, msg);
		return;
	}
	if (msg->kind != IPC_ACCOUNT_INFO_ASK) {
		ipc_reject(&ipc, msg);
		free(link);
		return;
	}
	buf_init(&out, IPC_MAX_PAYLOAD);
	int r = auth_account_info(the_auth->dir, link->account, &out, &error);
	if (r < 0)
		log_error("account %llu: its addresses cannot be read: %s",
			  (unsigned long long)link->account, error);
	else if (r > 0)
		log_warn("account %llu is not in the directory: its worker is told nothing",
			 (unsigned long long)link->account);
	else if (ipc_send_buf(ipc, IPC_ACCOUNT_INFO, msg->id, &out, -1) < 0)
		log_error("worker %llu does not read its answers: account information dropped",
			  (unsigned long long)link->account);
	buf_free(&out);
}

/* worker_link_new takes the link master made for account's worker. */
static void worker_link_new(struct auth *a, int fd, uint64_t account)
{
	char name[40];
	snprintf(name, sizeof(name), "worker %llu", (unsigned long long)account);
	struct worker_link *link = account != 0 ? calloc(1, sizeof(*link)) : NULL;
	if (link != NULL) {
		link->account = account;
		link->front.account = account;
		link->front.serial = IPC_WORKER_SERIAL(account);
		link->front.ipc = ipc_new(a->ev, fd, name, worker_handler, worker_closed, link);
		if (link->front.ipc != NULL)
			return;
	}
	free(link);
	close(fd);
}

static void master_handler(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	struct auth *a = ctx;
	struct ipc_reader r;

	ipc_reader_init(&r, msg);
	if (msg->kind == IPC_PEER) {
		uint64_t role = ipc_get_u64(&r);
		uint64_t index = ipc_get_u64(&r);
		char name[32];
		snprintf(name, sizeof(name), "spawner %llu", (unsigned long long)index);
		/* A worker's index is its account (master's word). */
		if (role == IPC_ROLE_WORKER)
			worker_link_new(a, msg->fd, index);
		else if (role != IPC_ROLE_SPAWNER ||
			 ipc_spawner_link_new(a->ev, msg->fd, name, preauth_link_new, preauth_client,
					      a) == NULL)
			close(msg->fd);
		return;
	}
	if (msg->kind == IPC_TICKET_KEY) {
		memcpy(a->ticket_key, msg->payload, TICKET_KEY_SIZE);
		a->have_key = true;
		return;
	}
	if (msg->kind == IPC_RCPT_KEY) {
		memcpy(a->rcpt_key, msg->payload, TICKET_KEY_SIZE);
		a->have_rcpt_key = true;
		return;
	}
	if (msg->kind == IPC_SRS_KEY) {
		memcpy(a->srs_key, msg->payload, SRS_KEY_SIZE);
		a->have_srs_key = true;
		return;
	}
	log_error("unexpected %s message from master", ipc_kind_name(msg->kind));
	if (msg->fd >= 0)
		close(msg->fd);
	(void)ipc;
}

static void on_term(int signo, void *ctx)
{
	struct auth *a = ctx;
	(void)signo;
	ev_stop(a->ev);
}

int auth_main(void)
{
	static struct auth a;
	char dir[PATH_MAX];
	const char *error;

	if (process_child_init("auth", &a.config) < 0)
		return 1;
	tzset();
	/* The jail: the directory and nothing else. */
	snprintf(dir, sizeof(dir), "%s/directory", a.config.data);
	struct jail jail = { .name = "auth", .paths = { { dir, true } }, .path_count = 1,
			     .role = JAIL_ROLE_AUTH };
	if (uids_enter_for(&a.config, jail.role, 0, &jail.ids) < 0)
		return 1;
	if (directory_open(a.config.data, false, &a.dir, &error) < 0) {
		log_error("%s", error);
		return PROCESS_EXIT_CANNOT_START;
	}
	if (jail_enter(&jail) < 0)
		return 1;

	a.ev = ev_new();
	if (a.ev == NULL || process_master_link(a.ev, master_handler, &a) == NULL)
		return 1;
	ev_signal_add(a.ev, SIGTERM, on_term, &a);
	signal(SIGPIPE, SIG_IGN);
	/* Made after the signals are blocked, so the thread inherits the mask
	 * and they all reach the loop's signalfd. */
	the_auth = &a;
	a.todo_tail = &a.todo;
	a.queue = auth_queue_new();
	a.done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a.queue == NULL || a.done_fd < 0 || pthread_mutex_init(&a.lock, NULL) != 0 ||
	    pthread_cond_init(&a.wake, NULL) != 0 ||
	    ev_io_add(a.ev, a.done_fd, EV_READ, checked, &a) == NULL) {
		log_error("starting the password checkers failed: %m");
		return 1;
	}
	for (unsigned i = 0; i < AUTH_CHECKERS; i++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, checker, &a) != 0) {
			log_error("starting a password checker failed: %m");
			return 1;
		}
		a.idle_checkers++;
	}
	ev_run(a.ev);
	directory_close(&a.dir);
	return 0;
}
