/*
 * fuzz-imap-thread: libFuzzer target for THREAD=REFERENCES and
 * THREAD=ORDEREDSUBJECT (src/imap/imap-thread.c).
 *
 * The input is a mailbox, one message per line, fields separated by TAB:
 *
 *   subject TAB message-id TAB in-reply-to TAB references TAB date
 *
 * An ID token without "<" is wrapped as "<token@x>", so short tokens
 * ("a", "b") make the fuzzer's job of building chains, loops and
 * duplicates easy; tokens with "<" are passed as they are, which keeps
 * the Message-ID scanner under test too.  The date is the field's digits
 * (the sequence number when it has none).  Both algorithms run; the
 * answer must follow RFC 5256's thread-list grammar (checked without
 * recursion) and name every message exactly once.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-thread.h"
#include "lib/buf.h"

/* Messages per input: enough for deep and wide trees in a few KiB. */
#define FUZZ_MAX_MESSAGES 2000
/* The answer: at most 12 octets per message (number, space, parens). */
#define FUZZ_MAX_OUT (FUZZ_MAX_MESSAGES * 16u + 64)
/* Room for one field with its tokens wrapped ("<" "@x>" per token). */
#define FUZZ_MAX_FIELD 65536

struct fuzz_msg {
	struct str fields[5];
};

/* wrap_ids copies field to out, wrapping each space-separated token that
 * has no "<" as "<token@x>". */
static struct str wrap_ids(struct str field, struct buf *out)
{
	size_t start = out->len;

	for (size_t i = 0; i < field.len;) {
		size_t end = i;
		while (end < field.len && field.ptr[end] != ' ')
			end++;
		struct str tok = str_from(field.ptr + i, end - i);
		if (tok.len > 0) {
			bool raw = memchr(tok.ptr, '<', tok.len) != NULL;
			if (out->len > start && buf_putc(out, ' ') < 0)
				break;
			if ((!raw && buf_putc(out, '<') < 0) || buf_append_str(out, tok) < 0 ||
			    (!raw && buf_append_str(out, STR("@x>")) < 0))
				break;
		}
		i = end + 1;
	}
	return str_from(out->data != NULL ? out->data + start : "", out->len - start);
}

/* check_answer follows the thread-list grammar with an explicit stack:
 *   thread-list    = "(" (thread-members / thread-nested) ")"
 *   thread-members = nz-number *(SP nz-number) [SP thread-nested]
 *   thread-nested  = 2*thread-list
 * and checks each of 1..count appears once. */
static void check_answer(struct str text, size_t count)
{
	enum { START, NUMBER, SPACE, NESTED };
	struct frame {
		int state;
		unsigned nested;
	};
	struct frame *stack = calloc(count + 2, sizeof(*stack));
	bool *seen = calloc(count + 1, sizeof(*seen));
	size_t sp = 0, i = 0;

	if (stack == NULL || seen == NULL)
		abort();
	while (i < text.len) {
		char c = text.ptr[i];
		if (sp == 0) {
			if (c != '(')
				abort();
			stack[sp++] = (struct frame){ START, 0 };
			i++;
			continue;
		}
		struct frame *f = &stack[sp - 1];
		if (c >= '1' && c <= '9' && (f->state == START || f->state == SPACE)) {
			uint64_t v = 0;
			while (i < text.len && text.ptr[i] >= '0' && text.ptr[i] <= '9' && v <= count)
				v = v * 10 + (uint64_t)(text.ptr[i++] - '0');
			if (v == 0 || v > count || seen[v - 1])
				abort();
			seen[v - 1] = true;
			f->state = NUMBER;
		} else if (c == ' ' && f->state == NUMBER) {
			f->state = SPACE;
			i++;
		} else if (c == '(' && f->state != NUMBER) {
			if (f->state != NESTED)
				f->nested = 0;
			f->state = NESTED;
			if (sp == count + 2)
				abort();
			stack[sp++] = (struct frame){ START, 0 };
			i++;
		} else if (c == ')' && (f->state == NUMBER || (f->state == NESTED && f->nested >= 2))) {
			sp--;
			if (sp > 0)
				stack[sp - 1].nested++;
			i++;
		} else {
			abort();
		}
	}
	if (sp != 0)
		abort();
	for (size_t k = 0; k < count; k++)
		if (!seen[k])
			abort();
	free(stack);
	free(seen);
}

static void run(enum imap_thread_algorithm alg, const struct fuzz_msg *msgs, size_t count)
{
	struct imap_thread *t = imap_thread_new(alg, count);
	struct buf ids, out;

	if (t == NULL)
		abort();
	buf_init(&ids, 3 * FUZZ_MAX_FIELD);
	buf_init(&out, FUZZ_MAX_OUT);
	for (size_t i = 0; i < count; i++) {
		const struct fuzz_msg *m = &msgs[i];
		int64_t date = 0;
		bool digits = false;
		for (size_t k = 0; k < m->fields[4].len && k < 18; k++) {
			char c = m->fields[4].ptr[k];
			if (c >= '0' && c <= '9') {
				date = date * 10 + (c - '0');
				digits = true;
			}
		}
		buf_reset(&ids);
		/* Reserve once so the wrapped fields do not move. */
		if (buf_reserve(&ids, 3 * FUZZ_MAX_FIELD - 1) < 0)
			abort();
		struct imap_thread_msg tm = {
			.uid = (uint32_t)(2 * i + 7),
			.seq = (uint32_t)(i + 1),
			.subject = m->fields[0],
			.message_id = wrap_ids(m->fields[1], &ids),
			.in_reply_to = wrap_ids(m->fields[2], &ids),
			.references = wrap_ids(m->fields[3], &ids),
			.sent_date = digits ? date : (int64_t)i,
		};
		if (imap_thread_add(t, &tm) < 0)
			abort();
	}
	if (imap_thread_write(t, false, &out) < 0)
		abort();
	check_answer(buf_str(&out), count);
	buf_free(&ids);
	buf_free(&out);
	imap_thread_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_msg *msgs = calloc(FUZZ_MAX_MESSAGES, sizeof(*msgs));
	const char *p = (const char *)data, *end = p + size;
	size_t count = 0;

	if (msgs == NULL)
		return 0;
	while (p < end && count < FUZZ_MAX_MESSAGES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end;
		struct fuzz_msg *m = &msgs[count++];
		for (size_t f = 0; f < 5; f++) {
			const char *tab = f < 4 ? memchr(p, '\t', (size_t)(line_end - p)) : NULL;
			const char *field_end = tab != NULL ? tab : line_end;
			size_t len = (size_t)(field_end - p);
			m->fields[f] = str_from(p, len < FUZZ_MAX_FIELD / 4 ? len : FUZZ_MAX_FIELD / 4);
			p = tab != NULL ? tab + 1 : line_end;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	run(IMAP_THREAD_REFERENCES, msgs, count);
	run(IMAP_THREAD_ORDEREDSUBJECT, msgs, count);
	free(msgs);
	return 0;
}
