/*
 * fuzz-imap-search: libFuzzer target for SEARCH programs (src/imap).
 *
 * The input is a stream of IMAP command lines (literals accepted); every
 * command's arguments are parsed as a SEARCH program.  A program that is
 * accepted is printed in canonical form, and that text, parsed again as a
 * command and a program, must be accepted and print the same: the printer
 * and the parser agree on the language.  Checked too: the tree respects the
 * depth and key limits, dates are real dates and results are one of the
 * three documented, and a copy of an accepted program (what a result kept
 * up to date holds) prints the same as the original.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap-proto/imap-parser.h"
#include "imap-proto/imap-search.h"
#include "lib/buf.h"
#include "lib/pool.h"

/* A printed program: strings are quoted on one line, so it may be longer
 * than the command it came from; bounded by the command size and quoting. */
#define FUZZ_MAX_PRINT (4u * 1024 * 1024)
/* The pool for one program: its keys and sequence set arrays. */
#define FUZZ_POOL_MAX (64u * 1024 * 1024)

/* check_key walks a key tree; returns the number of keys in it. */
static size_t check_key(const struct imap_search_key *key, unsigned depth,
			const struct imap_search_limits *l)
{
	size_t n = 1;

	if (depth > l->max_depth)
		abort();
	switch (key->type) {
	case IMAP_SEARCH_NOT:
		if (key->child_count != 1)
			abort();
		break;
	case IMAP_SEARCH_OR:
		if (key->child_count != 2)
			abort();
		break;
	case IMAP_SEARCH_AND:
		if (key->child_count == 0)
			abort();
		break;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		if (key->date.month < 1 || key->date.month > 12 || key->date.day < 1 ||
		    key->date.day > 31 || key->date.year > 9999)
			abort();
		break;
	case IMAP_SEARCH_UID:
	case IMAP_SEARCH_SEQSET:
		if (key->seqset.count > IMAP_SEQSET_MAX_RANGES ||
		    (key->seqset.count == 0 && !key->seqset.saved))
			abort();
		break;
	default:
		if (key->child_count != 0)
			abort();
		break;
	}
	for (size_t i = 0; i < key->child_count; i++)
		n += check_key(&key->children[i], depth + 1, l);
	return n;
}

/* check_copy copies prog into a pool of its own and checks that the
 * copy prints as printed once the original's pool is gone. */
static void check_copy(const struct imap_search_program *prog, struct str printed)
{
	struct pool *pool = pool_new(FUZZ_POOL_MAX);
	struct imap_search_program copy;
	struct buf again;

	if (pool == NULL || imap_search_program_copy(pool, prog, &copy) < 0)
		abort();
	buf_init(&again, FUZZ_MAX_PRINT);
	if (imap_search_print(&copy, &again) < 0 || !str_eq(buf_str(&again), printed))
		abort();
	buf_free(&again);
	pool_free(&pool);
}

/* parse_print parses the program in args and prints it to out; returns
 * the search result. */
static int parse_print(const struct imap_arg *args, size_t count, struct buf *out)
{
	struct imap_search_limits l = IMAP_SEARCH_DEFAULT_LIMITS;
	struct pool *pool = pool_new(FUZZ_POOL_MAX);
	struct imap_search_program prog;
	const char *error = NULL;

	if (pool == NULL)
		abort();
	int r = imap_search_parse(pool, args, count, &l, &prog, &error);
	if (r == IMAP_SEARCH_OK) {
		if (error != NULL || check_key(&prog.root, 0, &l) - 1 > l.max_keys)
			abort();
		if (imap_search_print(&prog, out) < 0)
			abort();
		check_copy(&prog, buf_str(out));
	} else if ((r != IMAP_SEARCH_BAD && r != IMAP_SEARCH_NO) || error == NULL || error[0] == '\0') {
		abort();
	}
	pool_free(&pool);
	return r;
}

/* reparse parses "t SEARCH <printed>" and checks it prints the same. */
static void reparse(struct str printed)
{
	struct imap_parser_limits pl = IMAP_PARSER_DEFAULT_LIMITS;
	pl.max_line = FUZZ_MAX_PRINT;
	pl.max_command = 2 * (uint64_t)FUZZ_MAX_PRINT;
	pl.max_literal = FUZZ_MAX_PRINT;
	/* RETURN () prints as RETURN (ALL): one more argument. */
	pl.max_args = 2 * IMAP_DEFAULT_MAX_ARGS;
	struct imap_parser *p = imap_parser_new(&pl);
	struct buf line, again;
	size_t used, off = 0;
	int r;

	buf_init(&line, FUZZ_MAX_PRINT + 64);
	buf_init(&again, FUZZ_MAX_PRINT);
	if (p == NULL || buf_printf(&line, "t SEARCH ") < 0 || buf_append_str(&line, printed) < 0 ||
	    buf_printf(&line, "\r\n") < 0)
		abort();
	while ((r = imap_parser_feed(p, line.data + off, line.len - off, &used)) ==
	       IMAP_PARSE_LITERAL) {
		off += used;
		if (imap_parser_literal_accept(p) < 0)
			abort();
	}
	/* Deeper lists than the parser allows cannot come back: the printed
	 * program nests exactly as the original, which was parsed. */
	if (r != IMAP_PARSE_COMMAND || off + used != line.len)
		abort();
	const struct imap_command *cmd = imap_parser_command(p);
	if (parse_print(cmd->args, cmd->arg_count, &again) != IMAP_SEARCH_OK)
		abort();
	if (!str_eq(buf_str(&again), printed))
		abort();
	buf_free(&line);
	buf_free(&again);
	imap_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser *p = imap_parser_new(NULL);
	size_t off = 0;

	if (p == NULL)
		return 0;
	while (off < size) {
		size_t used;
		int r = imap_parser_feed(p, data + off, size - off, &used);
		off += used;
		if (r == IMAP_PARSE_MORE)
			break;
		if (r == IMAP_PARSE_LITERAL) {
			if (imap_parser_literal_accept(p) < 0)
				abort();
			continue;
		}
		if (r == IMAP_PARSE_ERROR) {
			bool fatal;
			imap_parser_error(p, NULL, &fatal);
			if (fatal)
				break;
			continue;
		}
		if (r != IMAP_PARSE_COMMAND)
			abort();
		const struct imap_command *cmd = imap_parser_command(p);
		struct buf printed;
		buf_init(&printed, FUZZ_MAX_PRINT);
		if (parse_print(cmd->args, cmd->arg_count, &printed) == IMAP_SEARCH_OK)
			reparse(buf_str(&printed));
		buf_free(&printed);
	}
	imap_parser_free(&p);
	return 0;
}
