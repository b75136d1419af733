/* pop3-session: POP3 after login, without I/O (see pop3-session.h). */
#include "pop3-session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"

/* A window dot-stuffed: a '.' more per line and a final CRLF at most. */
#define POP3_STUFFED_MAX (2 * POP3_SESSION_WINDOW + 8)

/* A RETR or TOP going on: where it is in the message and in its lines. */
struct pop3_transfer {
	bool active;
	uint32_t uid;
	uint64_t offset;      /* the next octet of the message to read */
	long lines;           /* TOP: body lines to send; -1 for all (RETR) */
	long body_lines;      /* body lines started */
	bool in_body;         /* the blank line after the header was sent */
	bool line_start;      /* the next octet starts a line */
	size_t line_len;      /* octets of the current line so far */
	char line_first;      /* its first octet */
};

struct pop3_session {
	const struct pop3_callbacks *cb;
	void *ctx;
	uint32_t uidvalidity;
	struct pop3_message *messages;
	size_t count;
	unsigned errors;
	bool closed;
	struct buf out;
	struct pop3_transfer transfer;
	struct buf stuffed;   /* one window, dot-stuffed */
	char *window;         /* POP3_SESSION_WINDOW octets read */
};

static void out_printf(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	buf_reset(&s->out);
	va_start(ap, fmt);
	int r = buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (r == 0)
		s->cb->output(s->ctx, s->out.data, s->out.len);
}

struct pop3_session *pop3_session_new(const struct pop3_callbacks *callbacks, void *ctx,
				      uint32_t uidvalidity, const struct pop3_message *messages,
				      size_t count)
{
	struct pop3_session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->messages = calloc(count ? count : 1, sizeof(*messages));
	if (s->messages == NULL) {
		free(s);
		return NULL;
	}
	if (count > 0)
		memcpy(s->messages, messages, count * sizeof(*messages));
	s->count = count;
	s->cb = callbacks;
	s->ctx = ctx;
	s->uidvalidity = uidvalidity;
	buf_init(&s->out, POP3_MAX_LINE * 2);
	buf_init(&s->stuffed, POP3_STUFFED_MAX);
	return s;
}

void pop3_session_free(struct pop3_session **sp)
{
	if (*sp == NULL)
		return;
	buf_free(&(*sp)->out);
	buf_free(&(*sp)->stuffed);
	free((*sp)->window);
	free((*sp)->messages);
	free(*sp);
	*sp = NULL;
}

static void totals(const struct pop3_session *s, size_t *n_r, uint64_t *octets_r)
{
	*n_r = 0;
	*octets_r = 0;
	for (size_t i = 0; i < s->count; i++)
		if (!s->messages[i].deleted) {
			(*n_r)++;
			*octets_r += s->messages[i].size;
		}
}

void pop3_session_start(struct pop3_session *s)
{
	size_t n;
	uint64_t octets;
	totals(s, &n, &octets);
	out_printf(s, "+OK Logged in, maildrop has %zu messages (%llu octets)\r\n", n,
		   (unsigned long long)octets);
}

static void err(struct pop3_session *s, const char *text)
{
	out_printf(s, "-ERR %s\r\n", text);
	if (++s->errors >= POP3_MAX_ERRORS) {
		out_printf(s, "-ERR Too many errors, closing\r\n");
		s->closed = true;
		s->cb->close(s->ctx);
	}
}

/* message_arg parses a message number; NULL (and an answer) if bad. */
static struct pop3_message *message_arg(struct pop3_session *s, struct str arg)
{
	uint64_t n;
	if (str_to_u64(arg, UINT32_MAX, &n) < 0 || n == 0 || n > s->count) {
		err(s, "No such message");
		return NULL;
	}
	struct pop3_message *m = &s->messages[n - 1];
	if (m->deleted) {
		err(s, "Message is deleted");
		return NULL;
	}
	return m;
}

/* stuff appends to s->stuffed the n octets at p of the transfer's
 * message, dot-stuffed; at a TOP's last line it ends the transfer (with
 * the final "."). */
static void stuff(struct pop3_session *s, const char *p, size_t n)
{
	struct pop3_transfer *t = &s->transfer;
	size_t i = 0;

	while (i < n) {
		if (t->line_start) {
			if (t->in_body && t->lines >= 0 && t->body_lines++ >= t->lines) {
				buf_append(&s->stuffed, ".\r\n", 3);
				t->active = false;
				return;
			}
			if (p[i] == '.')
				buf_putc(&s->stuffed, '.');
			t->line_start = false;
			t->line_len = 0;
			t->line_first = p[i];
		}
		const char *nl = memchr(p + i, '\n', n - i);
		size_t end = nl != NULL ? (size_t)(nl - p) + 1 : n;
		buf_append(&s->stuffed, p + i, end - i);
		t->line_len += end - i;
		i = end;
		if (nl == NULL)
			break;
		/* The first line that is "\r\n" or "\n" ends the header. */
		if (t->line_len == 1 || (t->line_len == 2 && t->line_first == '\r'))
			t->in_body = true;
		t->line_start = true;
	}
}

/* window_read reads the next window of the transfer's message into
 * s->window: the octets read (0 at the end), or -1. */
static ssize_t window_read(struct pop3_session *s)
{
	if (s->window == NULL && (s->window = malloc(POP3_SESSION_WINDOW)) == NULL)
		return -1;
	return s->cb->read_message(s->ctx, s->transfer.uid, s->transfer.offset, s->window,
				   POP3_SESSION_WINDOW);
}

/* window_send outputs the n octets read dot-stuffed, or at the end (n
 * is 0) a CRLF if the last line had none, then ".". */
static void window_send(struct pop3_session *s, size_t n)
{
	struct pop3_transfer *t = &s->transfer;

	buf_reset(&s->stuffed);
	if (n == 0) {
		if (!t->line_start)
			buf_append(&s->stuffed, "\r\n", 2);
		buf_append(&s->stuffed, ".\r\n", 3);
		t->active = false;
	} else {
		t->offset += n;
		stuff(s, s->window, n);
	}
	s->cb->output(s->ctx, s->stuffed.data, s->stuffed.len);
}

/* transfer_run goes on with the transfer while the client keeps up; a
 * message that cannot be read any more ends the session (the client
 * sees an answer without its final "."). */
static void transfer_run(struct pop3_session *s)
{
	while (s->transfer.active && !s->closed &&
	       s->cb->unsent(s->ctx) < POP3_SESSION_OUTPUT_HIGH) {
		ssize_t n = window_read(s);
		if (n < 0) {
			s->transfer.active = false;
			s->closed = true;
			s->cb->close(s->ctx);
			return;
		}
		window_send(s, (size_t)n);
	}
}

/* send_content starts sending a message (or its header and the first
 * lines lines of its body when lines >= 0), dot-stuffed, ended by ".";
 * the first window is read before "+OK" so that a message that cannot
 * be read gets "-ERR". */
static void send_content(struct pop3_session *s, struct pop3_message *m, long lines)
{
	s->transfer = (struct pop3_transfer){
		.active = true, .uid = m->uid, .lines = lines, .line_start = true,
	};
	ssize_t n = window_read(s);
	if (n < 0) {
		s->transfer.active = false;
		err(s, "[SYS/TEMP] Cannot read the message now");
		return;
	}
	out_printf(s, "+OK %llu octets\r\n", (unsigned long long)m->size);
	window_send(s, (size_t)n);
	transfer_run(s);
}

static void quit(struct pop3_session *s)
{
	size_t n = 0;
	uint32_t *uids = calloc(s->count ? s->count : 1, sizeof(*uids));
	for (size_t i = 0; uids != NULL && i < s->count; i++)
		if (s->messages[i].deleted)
			uids[n++] = s->messages[i].uid;
	if (uids == NULL || (n > 0 && s->cb->expunge(s->ctx, uids, n) < 0))
		out_printf(s, "-ERR [SYS/TEMP] Some deleted messages not removed\r\n");
	else
		out_printf(s, "+OK Logging out, %zu messages deleted\r\n", n);
	free(uids);
	s->closed = true;
	s->cb->close(s->ctx);
}

static void command(struct pop3_session *s, struct str line)
{
	long sp = str_chr(line, ' ');
	struct str verb = sp < 0 ? line : str_sub(line, 0, (size_t)sp);
	struct str args = sp < 0 ? STR_NULL : str_sub(line, (size_t)sp + 1, SIZE_MAX);
	long sp2 = str_chr(args, ' ');
	struct str arg1 = sp2 < 0 ? args : str_sub(args, 0, (size_t)sp2);
	struct str arg2 = sp2 < 0 ? STR_NULL : str_sub(args, (size_t)sp2 + 1, SIZE_MAX);
	struct pop3_message *m;
	size_t n;
	uint64_t octets;

	if (str_case_eq(verb, STR("STAT")) && args.len == 0) {
		totals(s, &n, &octets);
		out_printf(s, "+OK %zu %llu\r\n", n, (unsigned long long)octets);
	} else if (str_case_eq(verb, STR("LIST")) || str_case_eq(verb, STR("UIDL"))) {
		bool uidl = str_case_eq(verb, STR("UIDL"));
		if (args.len > 0) {
			if ((m = message_arg(s, args)) == NULL)
				return;
			size_t i = (size_t)(m - s->messages) + 1;
			if (uidl)
				out_printf(s, "+OK %zu %u.%u\r\n", i, s->uidvalidity, m->uid);
			else
				out_printf(s, "+OK %zu %llu\r\n", i, (unsigned long long)m->size);
			return;
		}
		struct buf all;
		buf_init(&all, 64 + s->count * 48);
		buf_printf(&all, "+OK\r\n");
		for (size_t i = 0; i < s->count; i++) {
			if (s->messages[i].deleted)
				continue;
			if (uidl)
				buf_printf(&all, "%zu %u.%u\r\n", i + 1, s->uidvalidity,
					   s->messages[i].uid);
			else
				buf_printf(&all, "%zu %llu\r\n", i + 1,
					   (unsigned long long)s->messages[i].size);
		}
		buf_printf(&all, ".\r\n");
		s->cb->output(s->ctx, all.data, all.len);
		buf_free(&all);
	} else if (str_case_eq(verb, STR("RETR")) && args.len > 0) {
		if ((m = message_arg(s, args)) != NULL)
			send_content(s, m, -1);
	} else if (str_case_eq(verb, STR("TOP")) && arg2.len > 0) {
		uint64_t lines;
		if (str_to_u64(arg2, 100000000, &lines) < 0) {
			err(s, "Syntax: TOP msg lines");
			return;
		}
		if ((m = message_arg(s, arg1)) != NULL)
			send_content(s, m, (long)lines);
	} else if (str_case_eq(verb, STR("DELE")) && args.len > 0) {
		if ((m = message_arg(s, args)) == NULL)
			return;
		m->deleted = true;
		out_printf(s, "+OK Marked to be deleted\r\n");
	} else if (str_case_eq(verb, STR("RSET")) && args.len == 0) {
		for (size_t i = 0; i < s->count; i++)
			s->messages[i].deleted = false;
		totals(s, &n, &octets);
		out_printf(s, "+OK %zu messages\r\n", n);
	} else if (str_case_eq(verb, STR("NOOP")) && args.len == 0) {
		out_printf(s, "+OK\r\n");
	} else if (str_case_eq(verb, STR("CAPA")) && args.len == 0) {
		out_printf(s, "+OK\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
			      "IMPLEMENTATION Ravelin\r\n.\r\n");
	} else if (str_case_eq(verb, STR("QUIT")) && args.len == 0) {
		quit(s);
	} else {
		err(s, "Unknown command or wrong arguments");
	}
}

void pop3_session_input(struct pop3_session *s, struct buf *in)
{
	transfer_run(s);
	while (!s->closed && !s->transfer.active && in->len > 0 &&
	       s->cb->unsent(s->ctx) < POP3_SESSION_OUTPUT_HIGH) {
		long nl = str_chr(buf_str(in), '\n');
		if (nl < 0) {
			if (in->len > POP3_MAX_LINE) {
				out_printf(s, "-ERR Line too long\r\n");
				s->closed = true;
				s->cb->close(s->ctx);
			}
			return;
		}
		struct str line = str_from(in->data, (size_t)nl);
		if (line.len > 0 && line.ptr[line.len - 1] == '\r')
			line.len--;
		if ((size_t)nl > POP3_MAX_LINE)
			err(s, "Line too long");
		else
			command(s, line);
		if (in->len > 0)
			buf_consume(in, (size_t)nl + 1);
	}
}

bool pop3_session_pending(const struct pop3_session *s)
{
	return s->transfer.active && !s->closed;
}
