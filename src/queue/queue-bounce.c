/* queue-bounce: DSNs queued as spool messages (see queue-bounce.h). */
#include "queue-bounce.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"
#include "retry.h"
#include "spool-state.h"

/* read_headers reads the start of the message (after its envelope) into
 * out: enough for bounce_header_block. */
static void read_headers(int fd, uint64_t offset, struct buf *out)
{
	if (buf_reserve(out, BOUNCE_MAX_HEADERS + 2) < 0)
		return;
	ssize_t n = io_pread_full(fd, out->data, BOUNCE_MAX_HEADERS + 2, offset);
	out->len = n > 0 ? (size_t)n : 0;
	out->data[out->len] = '\0';
}

/* write_message writes a new spool message (envelope, then text) and
 * makes it durable; 0 with its id in qid, or -1 (logged). */
static int write_message(struct spool *spool, const struct spool_envelope *env, struct str text,
			 char qid[SPOOL_QID_SIZE])
{
	struct buf envelope;
	int fd = spool_create(spool, qid);
	if (fd < 0)
		return -1;
	buf_init(&envelope, SPOOL_MAX_ENVELOPE);
	int r = spool_envelope_format(&envelope, env);
	if (r == 0)
		r = io_write_all(fd, envelope.data, envelope.len);
	if (r == 0)
		r = io_write_all(fd, text.ptr, text.len);
	buf_free(&envelope);
	if (r == 0)
		r = spool_commit_file(spool, qid, fd);
	if (r == 0)
		r = spool_commit_dir(spool);
	if (r < 0) {
		log_error("writing the delivery report %s failed: %m", qid);
		spool_abort(spool, qid, fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* forwarded: every recipient reported is a remote one of env, which a
 * sender that is none of our accounts reaches only through an alias (auth
 * seals remote recipients for nothing else): its report goes back to that
 * sender, elsewhere, as the one who forwarded it must (RFC 5321 3.9). */
static bool forwarded(const struct spool_envelope *env, const struct bounce_rcpt *rcpts,
		      size_t count)
{
	for (size_t i = 0; i < count; i++) {
		bool remote = false;
		for (size_t j = 0; j < env->rcpt_count && !remote; j++)
			remote = env->rcpts[j].account == 0 &&
				 str_eq(env->rcpts[j].address, rcpts[i].address);
		if (!remote)
			return false;
	}
	return count > 0;
}

int queue_bounce_send(struct spool *spool, const char *hostname, const char *qid,
		      enum bounce_action action, const struct bounce_rcpt *rcpts, size_t count,
		      char bounce_qid[SPOOL_QID_SIZE])
{
	struct buf text, headers, dsn;
	struct spool_envelope env;
	struct spool_state st;
	uint64_t offset;
	const char *what = action == BOUNCE_FAILED ? "bounce" : "delay notice";

	int fd = spool_open_message(spool, qid, &text, &env, &offset);
	if (fd < 0)
		return -1;
	int r = 0;
	if (env.mail_from.len == 0 ||
	    (env.sender_account == 0 && !forwarded(&env, rcpts, count))) {
		log_info("%s: no %s: %s", qid, what,
			 env.mail_from.len == 0 ? "the sender is <> (itself a report)"
						: "not sent by one of our accounts");
		goto out;
	}
	if (spool_state_load(spool, qid, &st) < 0) {
		r = -1;
		goto out;
	}
	int64_t now = time(NULL);
	int64_t first = st.first_tried != 0 ? st.first_tried : env.arrived;
	spool_state_free(&st);
	buf_init(&headers, BOUNCE_MAX_HEADERS + 2);
	read_headers(fd, offset, &headers);
	buf_init(&dsn, BOUNCE_MAX_SIZE);
	/* Written as the bounce's own id would be: unique, ours. */
	char id[SPOOL_QID_SIZE + 16];
	snprintf(id, sizeof(id), "%s.%s", qid, action == BOUNCE_FAILED ? "f" : "d");
	struct bounce_report report = {
		.action = action, .hostname = hostname, .to = env.mail_from, .id = str_c(id),
		.arrived = env.arrived, .now = now, .retry_until = retry_until(first),
		.rcpts = rcpts, .rcpt_count = count, .headers = buf_str(&headers),
	};
	struct spool_rcpt to = { env.sender_account, env.mail_from };
	struct spool_envelope bounce_env = { .mail_from = STR(""), .arrived = now, .rcpts = &to,
					     .rcpt_count = 1 };
	r = bounce_build(&report, &dsn) < 0 ? -1 : write_message(spool, &bounce_env,
								  buf_str(&dsn), bounce_qid);
	if (r == 0) {
		log_info("%s: %s queued as %s for <%.*s> (account %llu), %zu recipients", qid, what,
			 bounce_qid, (int)env.mail_from.len, env.mail_from.ptr,
			 (unsigned long long)env.sender_account, count);
		r = 1;
	}
	buf_free(&dsn);
	buf_free(&headers);
out:
	close(fd);
	spool_envelope_free(&env);
	buf_free(&text);
	return r;
}

/* bounce_from_state names recipients indexes[0..count) of qid with the
 * last answers their log holds, and queues the DSN. */
static int bounce_from_state(struct spool *spool, const char *hostname, const char *qid,
			     enum bounce_action action, const size_t *indexes, size_t count,
			     char bounce_qid[SPOOL_QID_SIZE])
{
	struct buf text;
	struct spool_envelope env;
	struct spool_state st;
	uint64_t offset;

	if (count > BOUNCE_MAX_RCPTS)
		count = BOUNCE_MAX_RCPTS;
	int fd = spool_open_message(spool, qid, &text, &env, &offset);
	if (fd < 0)
		return -1;
	close(fd);
	struct bounce_rcpt *rcpts = calloc(count ? count : 1, sizeof(*rcpts));
	int r = rcpts == NULL ? -1 : spool_state_load(spool, qid, &st);
	if (r == 0) {
		size_t n = 0;
		for (size_t i = 0; i < count; i++) {
			if (indexes[i] >= env.rcpt_count)
				continue;
			rcpts[n].address = env.rcpts[indexes[i]].address;
			rcpts[n++].answer = str_c(spool_state_rcpt(&st, indexes[i])->answer);
		}
		r = queue_bounce_send(spool, hostname, qid, action, rcpts, n, bounce_qid);
		spool_state_free(&st);
	}
	free(rcpts);
	spool_envelope_free(&env);
	buf_free(&text);
	return r;
}

int queue_bounce_failed(struct spool *spool, const char *hostname, const char *qid,
			const size_t *indexes, size_t count, char bounce_qid[SPOOL_QID_SIZE])
{
	return bounce_from_state(spool, hostname, qid, BOUNCE_FAILED, indexes, count, bounce_qid);
}

int queue_bounce_delayed(struct spool *spool, const char *hostname, const char *qid,
			 const size_t *indexes, size_t count, char bounce_qid[SPOOL_QID_SIZE])
{
	int r = bounce_from_state(spool, hostname, qid, BOUNCE_DELAYED, indexes, count,
				  bounce_qid);
	/* Not marked (logged): one more notice later, the lesser harm. */
	if (r >= 0)
		spool_state_notice_sent(spool, qid);
	return r;
}
