/*
 * imap-parser: IMAP command lines as a push parser (see imap-parser.h).
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 *
 * The parser is a byte-level state machine.  Each step consumes exactly one
 * byte (a state that ends at a delimiter hands the byte on to the next
 * state's step), so where the input is cut never matters.  Tokens collect
 * in one bounded buffer (tok) and become nodes in the command's pool when
 * they end; lists are linked while open and become arrays when they close.
 * Literal octets and the rest of a refused line are the only things handled
 * in bulk, since neither is inspected byte by byte.
 *
 * Errors: fail() records the first error and switches to DISCARD_LINE,
 * which reads to the LF without keeping anything and then reports.  While
 * any line byte passes, a small tracker (tail) remembers whether the line
 * so far ends in a literal announcement, so a bad line that announced a
 * literal is known at its LF and reported as fatal.
 */
#include "imap-parser.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "imap-section.h"
#include "imap-syntax.h"
#include "lib/buf.h"
#include "lib/pool.h"

/* Bookkeeping per pool allocation (alignment, node links) on top of what a
 * command's bytes need; used to size the command pool's hard maximum. */
#define IMAP_NODE_OVERHEAD 64
/* Fixed slack in the command pool for the section structs and the
 * top-level argument array of an otherwise tiny command. */
#define IMAP_POOL_SLACK (64u * 1024)

enum state {
	ST_LINE_START,     /* before a tag; empty lines are skipped */
	ST_EMPTY_CR,       /* CR at the start of a line */
	ST_TAG,
	ST_NAME,
	ST_ARGS,           /* between arguments; need_sep says one is owed */
	ST_ATOM,
	ST_SECTION,        /* inside "[...]" of an atom */
	ST_SECTION_QUOTED,
	ST_SECTION_ESC,
	ST_QUOTED,
	ST_QUOTED_ESC,
	ST_LITERAL_SIZE,   /* after "{" */
	ST_LITERAL_CLOSE,  /* after "+" or "-": "}" must follow */
	ST_LITERAL_CR,     /* after "}" */
	ST_LITERAL_LF,     /* after "}" CR */
	ST_LITERAL_DECIDE, /* waiting for accept or refuse */
	ST_LITERAL_DATA,
	ST_CR,             /* CR at the end of a command */
	ST_DISCARD_LITERAL,
	ST_DISCARD_LINE,
	ST_RAW_LINE,
	ST_RAW_DISCARD,
	ST_FATAL,
};

/* Where the line so far stands against "{" 1*DIGIT ["+"/"-"] "}" [CR]. */
enum tail {
	TAIL_NONE,
	TAIL_OPEN,
	TAIL_DIGITS,
	TAIL_SIGN,
	TAIL_CLOSED,
	TAIL_CLOSED_CR,
};

/* An argument while its command is read: lists link their items here and
 * turn them into an array when they close. */
struct node {
	struct imap_arg arg;
	struct node *next;
	struct node *parent;
	struct node *first, *last;
	size_t count;
};

struct imap_parser {
	struct imap_parser_limits limits;
	size_t pool_max;
	enum state state;
	bool finished;         /* an event ended the command: reset on feed */

	/* The command being read; all of it is in pool. */
	struct pool *pool;
	struct buf tag;
	bool tag_done;
	char name[IMAP_MAX_COMMAND_NAME + 1];
	size_t name_len;
	size_t word_start;     /* where the current word of the name began */
	bool uid;              /* the name began with "UID " */
	struct buf tok;        /* the token being read */
	size_t line_len;       /* command text without literal octets */
	uint64_t literal_octets;
	unsigned nodes;
	unsigned depth;
	struct node *root;
	struct node *cur;      /* the innermost open list */
	bool need_sep;
	enum tail tail;

	/* A literal being announced or read. */
	struct imap_literal lit;
	bool lit_nonsync;
	unsigned lit_digits;
	struct node *lit_node;
	char *lit_data;
	uint64_t lit_got;
	uint64_t discard_left;

	/* Results. */
	struct imap_command cmd;
	const char *error;
	bool fatal;
	struct str line;
};

/* Error texts, sent after "tag BAD ". */
#define ERR_TAG "Invalid tag"
#define ERR_TAG_LONG "Tag too long"
#define ERR_NO_COMMAND "Missing command"
#define ERR_NAME "Invalid command name"
#define ERR_NAME_LONG "Command name too long"
#define ERR_NO_UID_COMMAND "Missing command after UID"
#define ERR_CHAR "Invalid character"
#define ERR_ATOM_CHAR "Invalid character in atom"
#define ERR_SEP "Missing space between arguments"
#define ERR_QUOTED_CHAR "Invalid character in quoted string"
#define ERR_QUOTED_END "Unterminated quoted string"
#define ERR_QUOTED_ESC "Invalid escape in quoted string"
#define ERR_LITERAL_SIZE "Invalid literal size"
#define ERR_LITERAL_CRLF "Literal must be followed by CRLF"
#define ERR_LITERAL_BIG "[TOOBIG] Literal too large"
#define ERR_LITERAL_NUL "NUL in literal"
#define ERR_LITERAL_REFUSED "Literal refused"
#define ERR_SECTION_END "Missing ']'"
#define ERR_SECTION_LITERAL "Literal not allowed in section"
#define ERR_SECTION_CHAR "Invalid character in section"
#define ERR_SECTION "Invalid section"
#define ERR_CLOSE "Unexpected ')'"
#define ERR_OPEN "Missing ')'"
#define ERR_DEPTH "Lists nested too deeply"
#define ERR_ARGS "Too many arguments"
#define ERR_LINE_LONG "Command line too long"
#define ERR_COMMAND_BIG "[TOOBIG] Command too large"
#define ERR_CR "Expected LF after CR"
#define ERR_MEMORY "Out of memory"
#define ERR_RAW_LONG "Line too long"

static int step(struct imap_parser *p, unsigned char c);
static int step_args(struct imap_parser *p, unsigned char c);

/* is_tag_char: RFC 9051 tag = 1*<any ASTRING-CHAR except "+">. */
static bool is_tag_char(unsigned char c)
{
	return imap_syntax_is_atom_char(c) && c != '+' && c != '%' && c != '*';
}

/* tail_update advances the literal-announcement tracker over one line byte. */
static void tail_update(struct imap_parser *p, unsigned char c)
{
	enum tail t = p->tail;

	if (t == TAIL_OPEN && imap_syntax_is_digit(c))
		t = TAIL_DIGITS;
	else if (t == TAIL_DIGITS && imap_syntax_is_digit(c))
		t = TAIL_DIGITS;
	else if (t == TAIL_DIGITS && (c == '+' || c == '-'))
		t = TAIL_SIGN;
	else if ((t == TAIL_DIGITS || t == TAIL_SIGN) && c == '}')
		t = TAIL_CLOSED;
	else if (t == TAIL_CLOSED && c == '\r')
		t = TAIL_CLOSED_CR;
	else
		t = c == '{' ? TAIL_OPEN : TAIL_NONE;
	p->tail = t;
}

/* wipe_secrets zeroes what a secret-holding parser's command left behind. */
static void wipe_secrets(struct imap_parser *p)
{
	if (!p->limits.secret)
		return;
	pool_wipe(p->pool);
	/* Only what the command can have written: tokens come from its line
	 * (line_len octets) or are a raw line (tok.len), so the pages of the
	 * buffer a short command never reached stay untouched. */
	size_t used = p->line_len > p->tok.len ? p->line_len : p->tok.len;
	if (p->tok.data != NULL)
		sodium_memzero(p->tok.data, used < p->tok.cap ? used : p->tok.cap);
}

/* command_reset forgets the last command and frees its memory. */
static void command_reset(struct imap_parser *p)
{
	wipe_secrets(p);
	pool_free(&p->pool);
	buf_reset(&p->tag);
	buf_reset(&p->tok);
	p->tag_done = false;
	p->name_len = 0;
	p->name[0] = '\0';
	p->word_start = 0;
	p->uid = false;
	p->line_len = 0;
	p->literal_octets = 0;
	p->nodes = 0;
	p->depth = 0;
	p->root = NULL;
	p->cur = NULL;
	p->need_sep = false;
	p->tail = TAIL_NONE;
	memset(&p->lit, 0, sizeof(p->lit));
	p->lit_nonsync = false;
	p->lit_digits = 0;
	p->lit_node = NULL;
	p->lit_data = NULL;
	p->lit_got = 0;
	p->discard_left = 0;
	memset(&p->cmd, 0, sizeof(p->cmd));
	p->error = NULL;
	p->fatal = false;
	p->line = STR_NULL;
	p->finished = false;
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser_limits l = limits != NULL ? *limits : IMAP_PARSER_DEFAULT_LIMITS;

	if (l.max_line == 0 || l.max_literal == 0 || l.max_command == 0 || l.max_depth == 0 ||
	    l.max_args == 0 || l.max_tag == 0 || l.max_line > l.max_command || l.max_tag > l.max_line)
		return NULL;
	struct imap_parser *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->limits = l;
	/* Line text is copied about twice (token, then node or section
	 * parts), literals once; nodes and their arrays come on top. */
	uint64_t max = l.max_command;
	uint64_t per_node = sizeof(struct node) + sizeof(struct imap_arg) + IMAP_NODE_OVERHEAD;
	if (max > (UINT64_MAX - IMAP_POOL_SLACK) / 2 ||
	    (uint64_t)l.max_args + 1 > (UINT64_MAX - 2 * max - IMAP_POOL_SLACK) / per_node)
		max = SIZE_MAX;
	else
		max = 2 * max + ((uint64_t)l.max_args + 1) * per_node + IMAP_POOL_SLACK;
	p->pool_max = max > SIZE_MAX ? SIZE_MAX : (size_t)max;
	buf_init(&p->tag, l.max_tag);
	buf_init(&p->tok, l.max_line);
	if (l.secret && buf_reserve(&p->tok, l.max_line) < 0) {
		buf_free(&p->tag);
		free(p);
		return NULL;
	}
	p->state = ST_LINE_START;
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	if (p == NULL)
		return;
	wipe_secrets(p);
	pool_free(&p->pool);
	buf_free(&p->tag);
	buf_free(&p->tok);
	free(p);
	*pp = NULL;
}

/* fatal_error puts the parser in the state where it refuses all input. */
static int fatal_error(struct imap_parser *p, const char *text)
{
	if (p->error == NULL)
		p->error = text;
	p->fatal = true;
	p->state = ST_FATAL;
	return IMAP_PARSE_ERROR;
}

/* step_discard skips a byte of a refused line; at its LF the error is
 * reported, fatal when the line ended in a literal announcement. */
static int step_discard(struct imap_parser *p, unsigned char c)
{
	if (c != '\n')
		return IMAP_PARSE_MORE;
	if (p->tail == TAIL_CLOSED || p->tail == TAIL_CLOSED_CR)
		return fatal_error(p, p->error);
	p->finished = true;
	p->state = ST_LINE_START;
	return IMAP_PARSE_ERROR;
}

/* fail records the first error of the line and discards the rest of it,
 * starting with c. */
static int fail(struct imap_parser *p, const char *text, unsigned char c)
{
	if (p->error == NULL)
		p->error = text;
	p->state = ST_DISCARD_LINE;
	return step_discard(p, c);
}

/* add_node appends an argument of the given type to the open list; NULL
 * (error recorded, line discarded from c on) past max_args or the pool. */
static struct node *add_node(struct imap_parser *p, enum imap_arg_type type, int *r,
			     unsigned char c)
{
	if (p->nodes >= p->limits.max_args) {
		*r = fail(p, ERR_ARGS, c);
		return NULL;
	}
	struct node *n = pool_alloc(p->pool, sizeof(*n));
	if (n == NULL) {
		*r = fail(p, ERR_COMMAND_BIG, c);
		return NULL;
	}
	p->nodes++;
	n->arg.type = type;
	n->parent = p->cur;
	if (p->cur->last == NULL)
		p->cur->first = n;
	else
		p->cur->last->next = n;
	p->cur->last = n;
	p->cur->count++;
	*r = IMAP_PARSE_MORE;
	return n;
}

/* close_list turns the open list's items into its array and makes its
 * parent the open list.  Returns false when the pool is exhausted. */
static bool close_list(struct imap_parser *p)
{
	struct node *list = p->cur;
	struct imap_arg *items = NULL;

	if (list->count > 0) {
		items = pool_alloc(p->pool, list->count * sizeof(*items));
		if (items == NULL)
			return false;
		size_t i = 0;
		for (struct node *n = list->first; n != NULL; n = n->next)
			items[i++] = n->arg;
	}
	list->arg.list = items;
	list->arg.list_count = list->count;
	p->cur = list->parent;
	return true;
}

/* begin_command starts a command at its first byte c. */
static int begin_command(struct imap_parser *p, unsigned char c)
{
	p->pool = pool_new(p->pool_max);
	if (p->pool != NULL)
		p->root = pool_alloc(p->pool, sizeof(*p->root));
	if (p->root == NULL)
		return fatal_error(p, ERR_MEMORY);
	p->root->arg.type = IMAP_ARG_LIST;
	p->cur = p->root;
	p->line_len = 1;
	p->state = ST_TAG;
	return step(p, c);
}

/* end_command completes the command at its LF. */
static int end_command(struct imap_parser *p, unsigned char c)
{
	if (p->name_len == 0)
		return fail(p, ERR_NO_COMMAND, c);
	if ((p->uid && p->name_len == p->word_start) ||
	    (p->name_len == 3 && memcmp(p->name, "UID", 3) == 0))
		return fail(p, ERR_NO_UID_COMMAND, c);
	if (p->depth > 0)
		return fail(p, ERR_OPEN, c);
	if (!close_list(p))
		return fail(p, ERR_COMMAND_BIG, c);
	p->cmd.tag = buf_str(&p->tag);
	p->cmd.name = str_from(p->name, p->name_len);
	p->cmd.args = p->root->arg.list;
	p->cmd.arg_count = p->root->arg.list_count;
	p->cmd.literal_octets = p->literal_octets;
	p->finished = true;
	p->state = ST_LINE_START;
	return IMAP_PARSE_COMMAND;
}

/* step_tag reads the tag up to its SP, at most max_tag octets. */
static int step_tag(struct imap_parser *p, unsigned char c)
{
	if (c == ' ' && p->tag.len == 0)
		return fail(p, ERR_TAG, c);
	if (c == ' ') {
		p->tag_done = true;
		p->state = ST_NAME;
		return IMAP_PARSE_MORE;
	}
	if ((c == '\r' || c == '\n') && p->tag.len > 0) {
		p->tag_done = true;
		return fail(p, ERR_NO_COMMAND, c);
	}
	if (!is_tag_char(c))
		return fail(p, ERR_TAG, c);
	if (buf_putc(&p->tag, (char)c) < 0)
		return fail(p, ERR_TAG_LONG, c);
	return IMAP_PARSE_MORE;
}

/* is_name_char: command names are atoms; in practice letters, digits and
 * the "-" / "_" / "." of extension names. */
static bool is_name_char(unsigned char c)
{
	return str_is_alpha(c) || imap_syntax_is_digit(c) || c == '-' ||
	       c == '_' || c == '.';
}

/* step_name reads the command name, upper-cased, joining "UID" with the
 * word after it; extra spaces between the words are skipped. */
static int step_name(struct imap_parser *p, unsigned char c)
{
	if (c == ' ') {
		if (p->name_len == p->word_start)
			return IMAP_PARSE_MORE; /* extra spaces */
		if (!p->uid && p->name_len == 3 && memcmp(p->name, "UID", 3) == 0) {
			p->uid = true;
			p->name[p->name_len++] = ' ';
			p->name[p->name_len] = '\0';
			p->word_start = p->name_len;
			return IMAP_PARSE_MORE;
		}
		p->state = ST_ARGS;
		return IMAP_PARSE_MORE;
	}
	if (c == '\r') {
		if (p->name_len == p->word_start)
			return fail(p, p->uid ? ERR_NO_UID_COMMAND : ERR_NO_COMMAND, c);
		p->state = ST_CR;
		return IMAP_PARSE_MORE;
	}
	if (c == '\n')
		return end_command(p, c);
	if (!is_name_char(c))
		return fail(p, ERR_NAME, c);
	if (p->name_len >= IMAP_MAX_COMMAND_NAME)
		return fail(p, ERR_NAME_LONG, c);
	p->name[p->name_len++] = str_upper_char((char)c);
	p->name[p->name_len] = '\0';
	return IMAP_PARSE_MORE;
}

/* finish_atom makes the token an ATOM, NIL or SECTION argument and hands
 * the delimiter c to the argument state. */
static int finish_atom(struct imap_parser *p, unsigned char c)
{
	struct str text = pool_str(p->pool, buf_str(&p->tok));
	buf_reset(&p->tok);
	if (text.ptr == NULL)
		return fail(p, ERR_COMMAND_BIG, c);
	struct imap_section *section = NULL;
	int s = imap_section_parse(p->pool, text, p->limits.max_args - p->nodes, &section);
	if (s < 0)
		return fail(p, s == IMAP_SECTION_PARSE_NO_MEMORY ? ERR_COMMAND_BIG :
			       s == IMAP_SECTION_PARSE_TOO_MANY ? ERR_ARGS : ERR_SECTION, c);
	if (section != NULL)
		p->nodes += (unsigned)section->field_count;
	enum imap_arg_type type = s > 0 ? IMAP_ARG_SECTION :
				  str_case_eq(text, STR("NIL")) ? IMAP_ARG_NIL : IMAP_ARG_ATOM;
	int r;
	struct node *n = add_node(p, type, &r, c);
	if (n == NULL)
		return r;
	n->arg.text = text;
	n->arg.section = section;
	p->need_sep = true;
	p->state = ST_ARGS;
	return step_args(p, c);
}

/* finish_string makes the token a quoted-string argument. */
static int finish_string(struct imap_parser *p, unsigned char c)
{
	struct str text = pool_str(p->pool, buf_str(&p->tok));
	buf_reset(&p->tok);
	if (text.ptr == NULL)
		return fail(p, ERR_COMMAND_BIG, c);
	int r;
	struct node *n = add_node(p, IMAP_ARG_STRING, &r, c);
	if (n == NULL)
		return r;
	n->arg.text = text;
	p->need_sep = true;
	p->state = ST_ARGS;
	return IMAP_PARSE_MORE;
}

/* start_literal begins reading a literal's announcement after "{". */
static void start_literal(struct imap_parser *p, bool binary)
{
	memset(&p->lit, 0, sizeof(p->lit));
	p->lit.binary = binary;
	p->lit_nonsync = false;
	p->lit_digits = 0;
	p->state = ST_LITERAL_SIZE;
}

/* opens_section: a "[" after tok starts a FETCH section, inside which
 * spaces and parentheses belong to the item, only after the names of the
 * items that take one (BODY, BODY.PEEK, BINARY, BINARY.PEEK, BINARY.SIZE).
 * Anywhere else "[" is an ATOM-CHAR like any other (RFC 9051 has only "]"
 * in resp-specials), so "a[b" and "[Gmail]/Sent" are plain atoms. */
static bool opens_section(const struct buf *tok)
{
	static const char *const items[] = { "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
					     "BINARY.SIZE" };
	struct str name = buf_str(tok);
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (str_case_eq(name, str_c(items[i])))
			return true;
	return false;
}

/* step_args is between arguments: spaces, line end, list brackets, or the
 * first octet of a quoted string, literal announcement or atom. */
static int step_args(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		p->need_sep = false;
		return IMAP_PARSE_MORE;
	case '\r':
		p->state = ST_CR;
		return IMAP_PARSE_MORE;
	case '\n':
		return end_command(p, c);
	case ')':
		if (p->depth == 0)
			return fail(p, ERR_CLOSE, c);
		if (!close_list(p))
			return fail(p, ERR_COMMAND_BIG, c);
		p->depth--;
		p->need_sep = true;
		return IMAP_PARSE_MORE;
	default:
		break;
	}
	if (p->need_sep)
		return fail(p, ERR_SEP, c);
	if (c == '(') {
		if (p->depth >= p->limits.max_depth)
			return fail(p, ERR_DEPTH, c);
		int r;
		struct node *n = add_node(p, IMAP_ARG_LIST, &r, c);
		if (n == NULL)
			return r;
		p->cur = n;
		p->depth++;
		return IMAP_PARSE_MORE;
	}
	if (c == '"') {
		p->state = ST_QUOTED;
		return IMAP_PARSE_MORE;
	}
	if (c == '{') {
		start_literal(p, false);
		return IMAP_PARSE_MORE;
	}
	if (!imap_syntax_is_atom_char(c) && c != '\\')
		return fail(p, ERR_CHAR, c);
	if (buf_putc(&p->tok, (char)c) < 0)
		return fail(p, ERR_LINE_LONG, c);
	p->state = ST_ATOM;
	return IMAP_PARSE_MORE;
}

/* step_atom collects an atom up to SP, ")" or the line end; "[" enters a
 * section and "~{" turns out to announce a literal8. */
static int step_atom(struct imap_parser *p, unsigned char c)
{
	if (c == ' ' || c == ')' || c == '\r' || c == '\n')
		return finish_atom(p, c);
	if (c == '{' && p->tok.len == 1 && p->tok.data[0] == '~') {
		buf_reset(&p->tok);
		start_literal(p, true);
		return IMAP_PARSE_MORE;
	}
	if (!imap_syntax_is_atom_char(c))
		return fail(p, ERR_ATOM_CHAR, c);
	if (c == '[' && opens_section(&p->tok))
		p->state = ST_SECTION;
	if (buf_putc(&p->tok, (char)c) < 0)
		return fail(p, ERR_LINE_LONG, c);
	return IMAP_PARSE_MORE;
}

/* step_section collects the inside of "[...]" of an atom, where spaces and
 * parentheses belong to the atom; "]" leaves it. */
static int step_section(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' || c == '\n')
		return fail(p, ERR_SECTION_END, c);
	if (c == '{')
		return fail(p, ERR_SECTION_LITERAL, c);
	if (c < 0x20 || c >= 0x7f)
		return fail(p, ERR_SECTION_CHAR, c);
	if (buf_putc(&p->tok, (char)c) < 0)
		return fail(p, ERR_LINE_LONG, c);
	if (c == ']')
		p->state = ST_ATOM;
	else if (c == '"')
		p->state = ST_SECTION_QUOTED;
	return IMAP_PARSE_MORE;
}

/* step_section_quoted collects a quoted string inside a section as it is
 * (escapes kept), so that a "]" in it does not end the section. */
static int step_section_quoted(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' || c == '\n')
		return fail(p, ERR_QUOTED_END, c);
	if (c == '\0')
		return fail(p, ERR_QUOTED_CHAR, c);
	if (p->state == ST_SECTION_ESC && c != '"' && c != '\\')
		return fail(p, ERR_QUOTED_ESC, c);
	if (buf_putc(&p->tok, (char)c) < 0)
		return fail(p, ERR_LINE_LONG, c);
	if (p->state == ST_SECTION_ESC)
		p->state = ST_SECTION_QUOTED;
	else if (c == '\\')
		p->state = ST_SECTION_ESC;
	else if (c == '"')
		p->state = ST_SECTION;
	return IMAP_PARSE_MORE;
}

/* step_quoted collects a quoted string's value with escapes removed. */
static int step_quoted(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' || c == '\n')
		return fail(p, ERR_QUOTED_END, c);
	if (c == '\0')
		return fail(p, ERR_QUOTED_CHAR, c);
	if (p->state == ST_QUOTED_ESC) {
		if (c != '"' && c != '\\')
			return fail(p, ERR_QUOTED_ESC, c);
		p->state = ST_QUOTED;
	} else if (c == '\\') {
		p->state = ST_QUOTED_ESC;
		return IMAP_PARSE_MORE;
	} else if (c == '"') {
		return finish_string(p, c);
	}
	if (buf_putc(&p->tok, (char)c) < 0)
		return fail(p, ERR_LINE_LONG, c);
	return IMAP_PARSE_MORE;
}

/* literal_refused ends a command whose literal will not be read: fatal
 * when the client sends the octets anyway, else the line is over. */
static int literal_refused(struct imap_parser *p, const char *text)
{
	if (p->lit_nonsync)
		return fatal_error(p, text);
	p->error = text;
	p->finished = true;
	p->state = ST_LINE_START;
	return IMAP_PARSE_ERROR;
}

/* announce checks a complete literal announcement (its LF was read) and hands
 * the decision to the caller.  Nothing of the literal is reserved yet. */
static int announce(struct imap_parser *p)
{
	if (p->nodes >= p->limits.max_args)
		return literal_refused(p, ERR_ARGS);
	if (p->lit.size > p->limits.max_literal)
		return literal_refused(p, ERR_LITERAL_BIG);
	uint64_t used = p->line_len + p->literal_octets;
	if (used > p->limits.max_command || p->lit.size > p->limits.max_command - used)
		return literal_refused(p, ERR_COMMAND_BIG);
	p->lit_node = pool_alloc(p->pool, sizeof(*p->lit_node));
	if (p->lit_node == NULL)
		return literal_refused(p, ERR_COMMAND_BIG);
	/* Linked now so that arg_index is right; filled when complete. */
	struct node *n = p->lit_node;
	p->nodes++;
	n->arg.type = IMAP_ARG_LITERAL;
	n->arg.literal8 = p->lit.binary;
	n->arg.literal_nonsync = p->lit_nonsync;
	n->arg.text = str_from("", 0);
	n->parent = p->cur;
	if (p->cur->last == NULL)
		p->cur->first = n;
	else
		p->cur->last->next = n;
	p->cur->last = n;
	p->cur->count++;

	p->lit.sync = !p->lit_nonsync;
	p->lit.tag = buf_str(&p->tag);
	p->lit.name = str_from(p->name, p->name_len);
	p->lit.arg_index = p->root->count - 1;
	p->lit.depth = p->depth;
	p->state = ST_LITERAL_DECIDE;
	return IMAP_PARSE_LITERAL;
}

/* step_literal reads "{" number64 ["+" / "-"] "}" CRLF after the "{". */
static int step_literal(struct imap_parser *p, unsigned char c)
{
	if (p->state == ST_LITERAL_SIZE && imap_syntax_is_digit(c)) {
		unsigned d = (unsigned)(c - '0');
		if (p->lit_digits >= IMAP_MAX_NUMBER_DIGITS ||
		    p->lit.size > (IMAP_NUMBER64_MAX - d) / 10)
			return fail(p, ERR_LITERAL_SIZE, c);
		p->lit.size = p->lit.size * 10 + d;
		p->lit_digits++;
		return IMAP_PARSE_MORE;
	}
	if (p->state == ST_LITERAL_SIZE && p->lit_digits > 0 && (c == '+' || c == '-')) {
		p->lit_nonsync = true;
		p->state = ST_LITERAL_CLOSE;
		return IMAP_PARSE_MORE;
	}
	if (p->state == ST_LITERAL_SIZE || p->state == ST_LITERAL_CLOSE) {
		if (c != '}' || p->lit_digits == 0)
			return fail(p, ERR_LITERAL_SIZE, c);
		p->state = ST_LITERAL_CR;
		return IMAP_PARSE_MORE;
	}
	if (p->state == ST_LITERAL_CR && c == '\r') {
		p->state = ST_LITERAL_LF;
		return IMAP_PARSE_MORE;
	}
	/* After "}" a bare LF is taken as CRLF. */
	if (c != '\n')
		return fail(p, ERR_LITERAL_CRLF, c);
	return announce(p);
}

/* step_raw collects a line for imap_parser_expect_line. */
static int step_raw(struct imap_parser *p, unsigned char c)
{
	if (c == '\n') {
		if (p->state == ST_RAW_DISCARD) {
			p->error = ERR_RAW_LONG;
			p->finished = true;
			p->state = ST_LINE_START;
			return IMAP_PARSE_ERROR;
		}
		struct str line = buf_str(&p->tok);
		if (line.len > 0 && line.ptr[line.len - 1] == '\r')
			line.len--;
		p->line = line;
		p->finished = true;
		p->state = ST_LINE_START;
		return IMAP_PARSE_LINE;
	}
	if (p->state == ST_RAW_LINE && buf_putc(&p->tok, (char)c) < 0)
		p->state = ST_RAW_DISCARD;
	return IMAP_PARSE_MORE;
}

/* step consumes one byte in the current state and returns the event. */
static int step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case ST_LINE_START:
		if (c == '\n')
			return IMAP_PARSE_MORE;
		if (c == '\r') {
			p->state = ST_EMPTY_CR;
			return IMAP_PARSE_MORE;
		}
		return begin_command(p, c);
	case ST_EMPTY_CR:
		if (c == '\n') {
			p->state = ST_LINE_START;
			return IMAP_PARSE_MORE;
		}
		return fail(p, ERR_CR, c);
	case ST_TAG:
		return step_tag(p, c);
	case ST_NAME:
		return step_name(p, c);
	case ST_ARGS:
		return step_args(p, c);
	case ST_ATOM:
		return step_atom(p, c);
	case ST_SECTION:
		return step_section(p, c);
	case ST_SECTION_QUOTED:
	case ST_SECTION_ESC:
		return step_section_quoted(p, c);
	case ST_QUOTED:
	case ST_QUOTED_ESC:
		return step_quoted(p, c);
	case ST_LITERAL_SIZE:
	case ST_LITERAL_CLOSE:
	case ST_LITERAL_CR:
	case ST_LITERAL_LF:
		return step_literal(p, c);
	case ST_CR:
		if (c != '\n')
			return fail(p, ERR_CR, c);
		return end_command(p, c);
	case ST_DISCARD_LINE:
		return step_discard(p, c);
	case ST_RAW_LINE:
	case ST_RAW_DISCARD:
		return step_raw(p, c);
	case ST_LITERAL_DECIDE:
	case ST_LITERAL_DATA:
	case ST_DISCARD_LITERAL:
	case ST_FATAL:
		break;
	}
	assert(!"step in a state without steps");
	return fatal_error(p, ERR_MEMORY);
}

/* is_command_text: states in which bytes count against max_line. */
static bool is_command_text(enum state s)
{
	return s >= ST_TAG && s <= ST_CR && s != ST_LITERAL_DECIDE && s != ST_LITERAL_DATA;
}

/* literal_data takes up to len octets of the literal being read. */
static size_t literal_data(struct imap_parser *p, const unsigned char *data, size_t len)
{
	uint64_t left = p->lit.size - p->lit_got;
	size_t n = left < len ? (size_t)left : len;

	memcpy(p->lit_data + p->lit_got, data, n);
	if (!p->lit.binary && memchr(data, '\0', n) != NULL) {
		if (p->error == NULL)
			p->error = ERR_LITERAL_NUL;
		p->discard_left = left - n;
		p->state = p->discard_left > 0 ? ST_DISCARD_LITERAL : ST_DISCARD_LINE;
		return n;
	}
	p->lit_got += n;
	if (p->lit_got == p->lit.size) {
		p->lit_node->arg.text = str_from(p->lit_data, (size_t)p->lit.size);
		p->need_sep = true;
		p->state = ST_ARGS;
	}
	return n;
}

int imap_parser_feed(struct imap_parser *p, const void *data, size_t len, size_t *used_r)
{
	const unsigned char *in = data;
	size_t i = 0;
	int r = IMAP_PARSE_MORE;

	*used_r = 0;
	if (p->state == ST_FATAL)
		return IMAP_PARSE_ERROR;
	if (p->state == ST_LITERAL_DECIDE)
		return IMAP_PARSE_LITERAL;
	if (p->finished)
		command_reset(p);
	while (i < len && r == IMAP_PARSE_MORE) {
		if (p->state == ST_LITERAL_DATA) {
			i += literal_data(p, in + i, len - i);
			continue;
		}
		if (p->state == ST_DISCARD_LITERAL) {
			size_t n = p->discard_left < len - i ? (size_t)p->discard_left : len - i;
			p->discard_left -= n;
			i += n;
			if (p->discard_left == 0)
				p->state = ST_DISCARD_LINE;
			continue;
		}
		unsigned char c = in[i++];
		if (is_command_text(p->state)) {
			if (p->line_len >= p->limits.max_line)
				r = fail(p, ERR_LINE_LONG, c);
			else if (p->line_len + p->literal_octets >= p->limits.max_command)
				r = fail(p, ERR_COMMAND_BIG, c);
			else {
				p->line_len++;
				r = step(p, c);
			}
		} else {
			r = step(p, c);
		}
		tail_update(p, c);
	}
	*used_r = i;
	return r;
}

const struct imap_command *imap_parser_command(const struct imap_parser *p)
{
	return &p->cmd;
}

const struct imap_literal *imap_parser_literal(const struct imap_parser *p)
{
	return &p->lit;
}

int imap_parser_literal_accept(struct imap_parser *p)
{
	assert(p->state == ST_LITERAL_DECIDE);
	/* +1: a NUL after the octets, so text is a C string as promised. */
	p->lit_data = pool_alloc(p->pool, (size_t)p->lit.size + 1);
	if (p->lit_data == NULL)
		return fatal_error(p, ERR_MEMORY);
	p->literal_octets += p->lit.size;
	p->lit_got = 0;
	p->lit_node->arg.text = str_from(p->lit_data, 0);
	p->need_sep = true;
	p->state = p->lit.size > 0 ? ST_LITERAL_DATA : ST_ARGS;
	return 0;
}

int imap_parser_literal_refuse(struct imap_parser *p)
{
	assert(p->state == ST_LITERAL_DECIDE);
	literal_refused(p, ERR_LITERAL_REFUSED);
	return p->fatal ? -1 : 0;
}

const char *imap_parser_error(const struct imap_parser *p, struct str *tag_r, bool *fatal_r)
{
	if (tag_r != NULL)
		*tag_r = p->tag_done ? buf_str(&p->tag) : STR("");
	if (fatal_r != NULL)
		*fatal_r = p->fatal;
	return p->error != NULL ? p->error : "";
}

void imap_parser_expect_line(struct imap_parser *p)
{
	if (p->finished)
		command_reset(p);
	assert(p->state == ST_LINE_START);
	p->state = ST_RAW_LINE;
}

struct str imap_parser_line(const struct imap_parser *p)
{
	return p->line;
}

bool imap_arg_is_atom(const struct imap_arg *arg, const char *s)
{
	return arg->type == IMAP_ARG_ATOM && str_case_eq(arg->text, str_c(s));
}

bool imap_arg_get_astring(const struct imap_arg *arg, struct str *value_r)
{
	if (arg->type == IMAP_ARG_LIST || (arg->type == IMAP_ARG_LITERAL && arg->literal8))
		return false;
	*value_r = arg->text;
	return true;
}

bool imap_arg_get_string(const struct imap_arg *arg, struct str *value_r)
{
	if (arg->type != IMAP_ARG_STRING && !(arg->type == IMAP_ARG_LITERAL && !arg->literal8))
		return false;
	*value_r = arg->text;
	return true;
}

bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **items_r, size_t *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*items_r = arg->list;
	*count_r = arg->list_count;
	return true;
}
