/*
 * fuzz-imap: libFuzzer target for the IMAP command parser (src/imap).
 *
 * The first bytes choose the limits (small ones, so every limit is hit),
 * the sizes in which the rest is fed and how literals are answered.  The
 * input is parsed twice, once in the chosen pieces and once all at once;
 * both must give the same events, which are checked on the way:
 * consumption stays within what was given, every command respects the
 * limits (tag, name, nesting, argument count, literal sizes), a literal is
 * announced within max_literal, and after a fatal error nothing more is
 * consumed.  An AUTHENTICATE with one argument is followed by a raw line,
 * as the front reads a SASL response.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-proto/imap-parser.h"
#include "lib/buf.h"

/* The events of one run, serialised; bounded so a run cannot grow it. */
#define FUZZ_MAX_TRANSCRIPT (4u * 1024 * 1024)

struct fuzz_setup {
	struct imap_parser_limits limits;
	size_t step;          /* piece size; SIZE_MAX: all at once */
	uint8_t policy;       /* how literals are answered */
};

/* walk checks one argument tree against the limits and serialises it;
 * returns the number of arguments (items and lists) in it. */
static size_t walk(const struct fuzz_setup *s, const struct imap_arg *args, size_t count,
		   unsigned depth, struct buf *out)
{
	size_t n = 0;

	if (depth > s->limits.max_depth)
		abort();
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		n++;
		buf_printf(out, "%d:", (int)a->type);
		switch (a->type) {
		case IMAP_ARG_LIST:
			if (a->list_count > 0 && a->list == NULL)
				abort();
			buf_putc(out, '(');
			n += walk(s, a->list, a->list_count, depth + 1, out);
			buf_putc(out, ')');
			break;
		case IMAP_ARG_LITERAL:
			if (a->text.len > s->limits.max_literal || a->text.ptr[a->text.len] != '\0')
				abort();
			buf_printf(out, "%d%d%zu:", a->literal8, a->literal_nonsync, a->text.len);
			buf_append_str(out, a->text);
			break;
		case IMAP_ARG_SECTION: {
			const struct imap_section *sec = a->section;
			if (sec == NULL || sec->part_count > IMAP_MAX_SECTION_PARTS)
				abort();
			if (sec->partial && sec->partial_length == 0)
				abort();
			for (size_t j = 0; j < sec->part_count; j++)
				if (sec->parts[j] == 0)
					abort();
			n += sec->field_count;
			buf_printf(out, "%d/%d/%zu/%zu/%d:", (int)sec->att, (int)sec->text,
				   sec->part_count, sec->field_count, sec->partial);
			buf_append_str(out, a->text);
			break;
		}
		case IMAP_ARG_ATOM:
		case IMAP_ARG_NIL:
			if (a->text.len == 0 || a->text.len > s->limits.max_line)
				abort();
			buf_append_str(out, a->text);
			break;
		case IMAP_ARG_STRING:
			buf_append_str(out, a->text);
			break;
		}
		buf_putc(out, ' ');
	}
	return n;
}

/* check_command checks a complete command and serialises it. */
static void check_command(const struct fuzz_setup *s, const struct imap_command *cmd,
			  struct buf *out)
{
	if (cmd->tag.len == 0 || cmd->tag.len > s->limits.max_tag)
		abort();
	if (cmd->name.len == 0 || cmd->name.len > IMAP_MAX_COMMAND_NAME)
		abort();
	for (size_t i = 0; i < cmd->name.len; i++)
		if (cmd->name.ptr[i] >= 'a' && cmd->name.ptr[i] <= 'z')
			abort();
	if (cmd->literal_octets > s->limits.max_command)
		abort();
	buf_printf(out, "C %.*s %.*s ", (int)cmd->tag.len, cmd->tag.ptr, (int)cmd->name.len,
		   cmd->name.ptr);
	if (walk(s, cmd->args, cmd->arg_count, 0, out) > s->limits.max_args)
		abort();
	buf_putc(out, '\n');
}

/* run parses data in pieces of s->step and writes the events to out. */
static void run(const struct fuzz_setup *s, const uint8_t *data, size_t size, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(&s->limits);
	size_t off = 0;

	if (p == NULL)
		abort();
	while (off < size) {
		size_t n = size - off < s->step ? size - off : s->step;
		size_t used = SIZE_MAX;
		int r = imap_parser_feed(p, data + off, n, &used);
		if (used > n || (r == IMAP_PARSE_MORE && used != n))
			abort();
		off += used;
		if (r == IMAP_PARSE_MORE)
			continue;
		if (r == IMAP_PARSE_COMMAND) {
			const struct imap_command *cmd = imap_parser_command(p);
			check_command(s, cmd, out);
			if (cmd->arg_count == 1 && str_eq(cmd->name, STR("AUTHENTICATE")))
				imap_parser_expect_line(p);
		} else if (r == IMAP_PARSE_LINE) {
			struct str line = imap_parser_line(p);
			if (line.len > s->limits.max_line)
				abort();
			buf_printf(out, "L %zu\n", line.len);
			buf_append_str(out, line);
		} else if (r == IMAP_PARSE_LITERAL) {
			const struct imap_literal *lit = imap_parser_literal(p);
			if (lit->size > s->limits.max_literal || lit->depth > s->limits.max_depth)
				abort();
			buf_printf(out, "LIT %llu %d %d %zu %u\n", (unsigned long long)lit->size,
				   lit->sync, lit->binary, lit->arg_index, lit->depth);
			/* The answer depends only on the announcement, so both
			 * runs answer alike. */
			bool refuse = (s->policy & 1) && lit->size % 3 == (s->policy >> 1) % 3;
			if (refuse) {
				int rr = imap_parser_literal_refuse(p);
				if ((rr < 0) != !lit->sync)
					abort();
				buf_printf(out, "REFUSED %d\n", rr);
				if (rr < 0)
					break;
			} else if (imap_parser_literal_accept(p) < 0) {
				abort();
			}
		} else if (r == IMAP_PARSE_ERROR) {
			struct str tag;
			bool fatal;
			const char *text = imap_parser_error(p, &tag, &fatal);
			if (text == NULL || text[0] == '\0' || tag.len > s->limits.max_tag)
				abort();
			buf_printf(out, "E %.*s %s %d\n", (int)tag.len, tag.ptr, text, fatal);
			if (fatal) {
				size_t again = SIZE_MAX;
				if (imap_parser_feed(p, data + off, size - off, &again) != IMAP_PARSE_ERROR ||
				    again != 0)
					abort();
				break;
			}
		} else {
			abort();
		}
	}
	imap_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_setup s;
	struct buf a, b;

	if (size < 4)
		return 0;
	uint8_t flags = data[0];
	s.limits = IMAP_PARSER_DEFAULT_LIMITS;
	if (flags & 1) {
		/* Small limits so that each one is reached. */
		s.limits.max_line = 16 + data[1] % 128;
		s.limits.max_tag = 1 + data[1] % 8;
		s.limits.max_literal = data[2] % 64 + 1;
		s.limits.max_command = s.limits.max_line + data[2] % 128;
		s.limits.max_depth = 1 + data[3] % 8;
		s.limits.max_args = 1 + data[3] % 32;
	}
	s.policy = data[3];
	s.step = (flags & 6) == 0 ? 1 : (flags & 6) == 2 ? 1 + data[1] % 16 :
		 (flags & 6) == 4 ? 1 + (size_t)data[2] * 16 : SIZE_MAX;
	data += 4;
	size -= 4;

	buf_init(&a, FUZZ_MAX_TRANSCRIPT);
	buf_init(&b, FUZZ_MAX_TRANSCRIPT);
	run(&s, data, size, &a);
	struct fuzz_setup whole = s;
	whole.step = SIZE_MAX;
	run(&whole, data, size, &b);
	/* A transcript that hit its bound is cut at the same place in both. */
	if (!str_eq(buf_str(&a), buf_str(&b)))
		abort();
	buf_free(&a);
	buf_free(&b);
	return 0;
}
