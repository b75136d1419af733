/* cli-queue: `ravelin queue list`, the mail accepted but not yet delivered. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "queue/spool.h"

struct listing {
	struct spool *spool;
	unsigned count;
};

static void show(const char *qid, void *ctx)
{
	struct listing *l = ctx;
	struct buf text;
	struct spool_envelope env;
	uint64_t offset;
	struct stat st;
	char when[32];

	int fd = spool_open_message(l->spool, qid, &text, &env, &offset);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0)
		st.st_size = (off_t)offset;
	time_t t = (time_t)env.arrived;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	printf("%s  %s  %8llu bytes  from <%.*s>\n", qid, when,
	       (unsigned long long)((uint64_t)st.st_size - offset), (int)env.mail_from.len,
	       env.mail_from.ptr);
	for (size_t i = 0; i < env.rcpt_count; i++)
		if (env.rcpts[i].account == 0)
			printf("    to <%.*s> (remote)\n", (int)env.rcpts[i].address.len,
			       env.rcpts[i].address.ptr);
		else
			printf("    to <%.*s> (account %llu)\n", (int)env.rcpts[i].address.len,
			       env.rcpts[i].address.ptr, (unsigned long long)env.rcpts[i].account);
	/* Why it waits, as the queue noted it (one line per recipient). */
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
	l->count++;
	close(fd);
	spool_envelope_free(&env);
	buf_free(&text);
}

int cli_queue(struct cli_options *opts, int argc, char **argv)
{
	struct listing l = { 0 };

	if (argc != 1 || strcmp(argv[0], "list") != 0) {
		fprintf(stderr, "usage: ravelin queue list\n");
		return 2;
	}
	if (cli_make_data_dirs(opts->config.data) < 0 ||
	    spool_open(opts->config.data, false, &l.spool) < 0)
		return 1;
	spool_list(l.spool, show, &l);
	spool_close(&l.spool);
	if (l.count == 0)
		printf("the queue is empty: all accepted mail has been delivered\n");
	else
		printf("%u messages waiting for delivery\n", l.count);
	return 0;
}
