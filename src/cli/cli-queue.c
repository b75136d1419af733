/*
 * cli-queue: `ravelin queue list|show|retry|delete`, the mail accepted but
 * not yet delivered.  list and show read the spool (envelopes, notes and
 * outcome logs; never a message's content).  retry and delete are the
 * running queue's to do: the request goes through master (a file in
 * DATA/control, then CLI_CONTROL_SIGNAL); with no server running, delete
 * acts on the spool itself and retry has nothing to hurry.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "queue/spool-state.h"
#include "queue/spool.h"

#define QUEUE_USAGE                                                                       \
	"usage: ravelin queue list\n"                                                     \
	"       ravelin queue show ID\n"                                                  \
	"       ravelin queue retry ID|all\n"                                             \
	"       ravelin queue delete ID [--bounce]\n"

struct listing {
	struct spool *spool;
	unsigned count;
	bool detail;       /* show: the envelope's every field */
	const char *only;  /* show: that message alone */
};

static void format_time(int64_t unix_time, char *out, size_t size)
{
	time_t t = (time_t)unix_time;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* show_rcpt prints recipient i: where it goes and what became of it. */
static void show_rcpt(const struct spool_envelope *env, const struct spool_state *st, size_t i)
{
	const struct spool_rcpt *rc = &env->rcpts[i];
	const struct spool_state_rcpt *r = spool_state_rcpt(st, i);
	char when[32];

	printf("    to <%.*s> ", (int)rc->address.len, rc->address.ptr);
	if (rc->account == 0)
		printf("remote");
	else
		printf("(account %llu) local", (unsigned long long)rc->account);
	if (r->status == SPOOL_STATE_DONE)
		printf(": delivered");
	else if (r->status == SPOOL_STATE_FAILED)
		printf(": failed");
	else if (r->attempts > 0)
		printf(": waiting, %u attempt%s", r->attempts, r->attempts == 1 ? "" : "s");
	else
		printf(": waiting");
	if (r->status == SPOOL_STATE_PENDING && r->next > 0) {
		format_time(r->next, when, sizeof(when));
		printf(", next try %s", when);
	}
	if (r->answer != NULL)
		printf(", last answer: %s", r->answer);
	printf("\n");
}

static void show(const char *qid, void *ctx)
{
	struct listing *l = ctx;
	struct buf text;
	struct spool_envelope env;
	struct spool_state st;
	uint64_t offset;
	struct stat sb;
	char when[32];

	if (l->only != NULL && strcmp(qid, l->only) != 0)
		return;
	int fd = spool_open_message(l->spool, qid, &text, &env, &offset);
	if (fd < 0)
		return;
	if (fstat(fd, &sb) < 0)
		sb.st_size = (off_t)offset;
	if (spool_state_load(l->spool, qid, &st) < 0)
		memset(&st, 0, sizeof(st));
	format_time(env.arrived, when, sizeof(when));
	printf("%s  %s  %8llu bytes  from <%.*s>\n", qid, when,
	       (unsigned long long)((uint64_t)sb.st_size - offset), (int)env.mail_from.len,
	       env.mail_from.ptr);
	if (l->detail) {
		printf("    flags %llu\n", (unsigned long long)env.flags);
		if (env.sender_account != 0)
			printf("    sent by account %llu\n", (unsigned long long)env.sender_account);
		if (st.first_tried != 0) {
			format_time(st.first_tried, when, sizeof(when));
			printf("    first tried %s\n", when);
		}
		if (st.notice_sent)
			printf("    delay notice sent\n");
	}
	for (size_t i = 0; i < env.rcpt_count; i++)
		show_rcpt(&env, &st, i);
	/* Why local deliveries wait, as the queue noted it (one line per
	 * recipient). */
	struct buf note;
	buf_init(&note, SPOOL_MAX_NOTE);
	if (spool_note_read(l->spool, qid, &note) == 0) {
		struct str rest = buf_str(&note);
		while (rest.len > 0) {
			long nl = str_chr(rest, '\n');
			size_t n = nl < 0 ? rest.len : (size_t)nl;
			printf("    deferred: %.*s\n", (int)n, rest.ptr);
			rest = str_sub(rest, n + 1, rest.len);
		}
	}
	buf_free(&note);
	spool_state_free(&st);
	l->count++;
	close(fd);
	spool_envelope_free(&env);
	buf_free(&text);
}

/* qid_ok: a queue id as spool_create makes them (hex), nothing that could
 * name another file. */
static bool qid_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n < SPOOL_QID_SIZE && strspn(id, "0123456789ABCDEF") == n;
}

struct found {
	const char *qid;
	bool found;
};

static void find_qid(const char *qid, void *ctx)
{
	struct found *f = ctx;
	f->found |= strcmp(qid, f->qid) == 0;
}

/* queue_request asks the running server to act on id; with none running,
 * delete acts on the spool at once. */
static int queue_request(struct cli_options *opts, struct listing *l, const char *op,
			 const char *id)
{
	char name[64], what[96];
	long pid = cli_server_pid(opts->config.data);

	if (strcmp(id, "all") != 0) {
		struct found f = { id, false };
		spool_list(l->spool, find_qid, &f);
		if (!f.found) {
			fprintf(stderr, "ravelin: no message %s in the queue\n", id);
			return 1;
		}
	}
	snprintf(name, sizeof(name), "%s%s-%s", CLI_QUEUE_PREFIX, op, id);
	snprintf(what, sizeof(what), "%s %s", op, id);
	if (pid < 0) {
		fprintf(stderr, "ravelin: %s/%s names no server: nothing done\n", opts->config.data,
			CLI_LOCK_FILE);
		return 1;
	}
	if (pid > 0) {
		if (cli_control_request(&opts->config, pid, name, what) < 0)
			return 1;
		printf("asked the server to %s; its log says what was done\n", what);
		return 0;
	}
	if (strcmp(op, "retry") == 0) {
		printf("the server does not run: every message is tried when it starts\n");
		return 0;
	}
	if (strcmp(op, "delete-bounce") == 0) {
		fprintf(stderr, "ravelin: the server must run to send a bounce: nothing done\n");
		return 1;
	}
	spool_remove(l->spool, id);
	printf("deleted %s from the spool (the server does not run)\n", id);
	return 0;
}

int cli_queue(struct cli_options *opts, int argc, char **argv)
{
	struct listing l = { 0 };
	const char *cmd = argc > 0 ? argv[0] : "";
	bool list = strcmp(cmd, "list") == 0 && argc == 1;
	bool show_one = strcmp(cmd, "show") == 0 && argc == 2;
	bool retry = strcmp(cmd, "retry") == 0 && argc == 2;
	bool bounce = opts->bounce;
	bool del = strcmp(cmd, "delete") == 0 && argc == 2;

	if ((!list && !show_one && !retry && !del) || (bounce && !del)) {
		fprintf(stderr, QUEUE_USAGE);
		return 2;
	}
	if (!list && !qid_ok(argv[1]) && !(retry && strcmp(argv[1], "all") == 0)) {
		fprintf(stderr, "ravelin: '%s' is not a queue id (see `ravelin queue list`)\n",
			argv[1]);
		return 2;
	}
	if (cli_make_data_dirs(opts->config.data) < 0 ||
	    spool_open(opts->config.data, false, &l.spool) < 0)
		return 1;
	int r = 0;
	if (list) {
		spool_list(l.spool, show, &l);
		if (l.count == 0)
			printf("the queue is empty: all accepted mail has been delivered\n");
		else
			printf("%u messages waiting for delivery\n", l.count);
	} else if (show_one) {
		l.only = argv[1];
		l.detail = true;
		spool_list(l.spool, show, &l);
		if (l.count == 0) {
			fprintf(stderr, "ravelin: no message %s in the queue\n", argv[1]);
			r = 1;
		}
	} else {
		r = queue_request(opts, &l, retry ? "retry" : bounce ? "delete-bounce" : "delete",
				  argv[1]);
	}
	spool_close(&l.spool);
	return r;
}
