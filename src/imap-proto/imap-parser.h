#ifndef RAVELIN_IMAP_PARSER_H
#define RAVELIN_IMAP_PARSER_H
/*
 * imap-parser: client command lines of IMAP4rev1 (RFC 3501) and IMAP4rev2
 * (RFC 9051) as a push parser with no I/O.  The caller feeds bytes as they
 * arrive, in any chunking, and gets back one event at a time:
 *
 *   IMAP_PARSE_MORE     every byte given was consumed; feed more.
 *   IMAP_PARSE_COMMAND  a whole command: imap_parser_command().
 *   IMAP_PARSE_LITERAL  a literal was announced: imap_parser_literal()
 *                       says its size; the caller must call
 *                       imap_parser_literal_accept() or _refuse() before
 *                       feeding more.  Not one byte of it is buffered
 *                       before that answer.
 *   IMAP_PARSE_LINE     a raw line asked for with imap_parser_expect_line()
 *                       (a SASL response, IDLE's DONE): imap_parser_line().
 *   IMAP_PARSE_ERROR    imap_parser_error(): the tag (empty when unknown:
 *                       answer with "*"), the text for "BAD" and whether the
 *                       connection can go on.
 *
 * The parser stops right after each event, so bytes that follow a command
 * (pipelined commands, or data sent in clear after STARTTLS) stay with the
 * caller.  Feeding byte by byte gives exactly the same events as feeding
 * everything at once.
 *
 * Accepted syntax, generic as in RFC 9051 section 9 "command":
 *   tag SP name [SP argument *(SP argument)] CRLF
 *  - tag: 1*ASTRING-CHAR except "+", at most limits.max_tag octets.
 *  - name: an atom, upper-cased; "UID" takes the next word with it, so the
 *    name is "UID FETCH", "UID SEARCH", ...
 *  - arguments: atoms (also \Flags, sequence sets with * and $, LIST
 *    patterns with % and *), NIL, quoted strings (UTF-8 allowed, escapes
 *    only \" and \\), literals {n}, {n+} (LITERAL+), {n-} (LITERAL-),
 *    ~{n} literal8 (BINARY), parenthesised lists nested to limits.max_depth.
 *  - FETCH items with a section: BODY, BODY.PEEK, BINARY, BINARY.PEEK and
 *    BINARY.SIZE followed by "[...]" and an optional <offset.length> are one
 *    argument of type IMAP_ARG_SECTION, with the section parsed (parts,
 *    HEADER.FIELDS list, partial).  Inside the brackets spaces, parentheses
 *    and quoted strings belong to the item; a literal there is refused.
 *    Elsewhere "[" is an ATOM-CHAR like any other (RFC 9051: only "]" is a
 *    resp-special), so "[Gmail]/Sent" and "a[b" are plain atoms, ended by
 *    a space like any atom.
 *  - Leniency real clients need: runs of spaces count as one, a bare LF ends
 *    a line like CRLF, empty lines are ignored.
 *
 * Errors and resynchronisation.  A line the parser refuses is read to its
 * end without being buffered (a 10 MB line costs no memory) and the error is
 * reported once its LF has been consumed; the caller answers "tag BAD text"
 * and goes on feeding.  Two cases are fatal (imap_parser_error's fatal_r is
 * true, and the parser refuses all further input): a refused
 * non-synchronising literal, whose octets the client sends anyway, and a
 * bad line that ends with something shaped like a literal announcement
 * ("{" digits ["+" / "-"] "}", even with a size too large to parse; also
 * inside an unterminated quoted string), because what the client sends
 * next can no longer be told apart from commands.
 * The caller then answers BAD, sends "* BYE" and closes.  A synchronising
 * literal that is refused (by the size limits or by the caller) is not
 * fatal: the client waits for "+" and gets the tagged answer instead
 * (RFC 9051 section 4.3), and the next line is a new command.
 *
 * Refused on purpose: 8-bit octets outside quoted strings and literals
 * (RFC 9051 has UTF-8 only in quoted strings), a literal inside a section,
 * "\" inside an atom, and a FETCH item whose "[" is not closed before the
 * line ends.
 *
 * Memory: each command's arguments and literals live in a pool of their
 * own, freed when the next command starts; the line itself is copied token
 * by token, so at most limits.max_line octets of line text are held.  An
 * accepted literal is reserved whole when it is accepted (the caller agreed
 * to its size) and held until the command is done: APPEND of a big message
 * costs its size in memory.
 *
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

/* Command text without literal octets.  RFC 9051 section 4 has no limit
 * but RFC 7162 section 4 asks servers to take lines of at least 8192
 * octets; long UID sets from clients that resynchronise big mailboxes
 * reach tens of KiB, so allow 64 KiB, which is also what Dovecot allows. */
#define IMAP_DEFAULT_MAX_LINE (64u * 1024)
/* A literal outside APPEND is a password, a search string or a mailbox
 * name, none of which comes near 64 KiB.  APPEND's call site raises this
 * (and max_command) to the message size limit. */
#define IMAP_DEFAULT_MAX_LITERAL (64u * 1024)
/* One command, line text and literals together: a few default literals
 * plus a full line. */
#define IMAP_DEFAULT_MAX_COMMAND (1024u * 1024)
/* The RFC has no nesting limit.  Real commands nest three deep at most
 * (FETCH (BODY[HEADER.FIELDS (...)]), SEARCH groups, CATENATE); 32 leaves
 * room for search programs while a hostile "((((..." ends quickly. */
#define IMAP_DEFAULT_MAX_DEPTH 32
/* Arguments and list items of one command, all levels counted.  Thunderbird
 * sends about 20, a search with a hundred OR-ed addresses some 300; 10000
 * bounds the per-command memory at well under a megabyte. */
#define IMAP_DEFAULT_MAX_ARGS 10000
/* Clients count (A0001, 1.23); a tag is echoed in every tagged reply. */
#define IMAP_DEFAULT_MAX_TAG 64
/* The longest command names (GETQUOTAROOT, SETMETADATA) are 12 octets;
 * with "UID " and a future extension's name 64 is ample. */
#define IMAP_MAX_COMMAND_NAME 64
/* RFC 9051 number64 is at most 2^63-1: 19 digits; leading zeros beyond
 * this are not a size any more. */
#define IMAP_MAX_NUMBER_DIGITS 20
/* Section part numbers (1.2.3): a message cannot nest deeper than the MIME
 * parser's MIME_MAX_DEPTH (32); twice that for parts inside message/rfc822. */
#define IMAP_MAX_SECTION_PARTS 64

struct imap_parser_limits {
	size_t max_line;       /* command text without literal octets, CRLFs included */
	uint64_t max_literal;  /* one literal; larger ones are refused unasked */
	uint64_t max_command;  /* line text and literals together */
	unsigned max_depth;    /* nesting of parenthesised lists */
	unsigned max_args;     /* arguments and list items, all levels */
	size_t max_tag;        /* octets of the tag */
	/* Commands may hold passwords (before login): the token buffer is
	 * made full size at once, so it never moves, and it and the pool are
	 * wiped when a command is done and at free. */
	bool secret;
};

/* The defaults above, for a worker; the pre-login front lowers max_literal. */
#define IMAP_PARSER_DEFAULT_LIMITS ((struct imap_parser_limits){ \
	.max_line = IMAP_DEFAULT_MAX_LINE, .max_literal = IMAP_DEFAULT_MAX_LITERAL, \
	.max_command = IMAP_DEFAULT_MAX_COMMAND, .max_depth = IMAP_DEFAULT_MAX_DEPTH, \
	.max_args = IMAP_DEFAULT_MAX_ARGS, .max_tag = IMAP_DEFAULT_MAX_TAG })

enum imap_parse_result {
	IMAP_PARSE_ERROR = -1,
	IMAP_PARSE_MORE = 0,
	IMAP_PARSE_COMMAND = 1,
	IMAP_PARSE_LITERAL = 2,
	IMAP_PARSE_LINE = 3,
};

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* also \Flag, sequence sets, "[Gmail]/Sent" */
	IMAP_ARG_NIL,     /* the atom NIL, any case; text holds it as sent */
	IMAP_ARG_STRING,  /* quoted string, escapes removed */
	IMAP_ARG_LITERAL, /* {n}, {n+}, {n-} or ~{n} */
	IMAP_ARG_LIST,    /* ( ... ) */
	IMAP_ARG_SECTION, /* BODY[...]<...> and friends, see imap_section */
};

/* The FETCH item a section belongs to. */
enum imap_section_att {
	IMAP_SECTION_ATT_BODY,
	IMAP_SECTION_ATT_BODY_PEEK,
	IMAP_SECTION_ATT_BINARY,
	IMAP_SECTION_ATT_BINARY_PEEK,
	IMAP_SECTION_ATT_BINARY_SIZE,
};

/* What follows the part numbers in a section (RFC 9051 section-text). */
enum imap_section_text {
	IMAP_SECTION_WHOLE,             /* BODY[] or BODY[1.2] */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,              /* only after part numbers */
};

struct imap_section {
	enum imap_section_att att;
	struct str name;          /* the item name as sent: "BODY.PEEK" */
	struct str spec;          /* between the brackets as sent, for the reply */
	const uint32_t *parts;    /* 1.2.3 -> {1, 2, 3} */
	size_t part_count;
	enum imap_section_text text;
	const struct str *fields; /* HEADER.FIELDS[.NOT] names, as sent */
	size_t field_count;
	bool partial;             /* <offset.length> given */
	uint64_t partial_offset;
	uint64_t partial_length;  /* > 0 */
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, NIL, STRING, LITERAL: the value (NUL-terminated for
	 * convenience; a literal8 may hold NULs, so use len).  SECTION: the
	 * whole item as sent.  LIST: empty. */
	struct str text;
	const struct imap_arg *list; /* LIST: the items */
	size_t list_count;
	const struct imap_section *section; /* SECTION */
	bool literal8;               /* LITERAL announced as ~{n} */
	bool literal_nonsync;        /* LITERAL announced as {n+} or {n-} */
};

struct imap_command {
	struct str tag;
	struct str name;             /* upper-cased; "UID FETCH" for UID */
	const struct imap_arg *args; /* the arguments after the name */
	size_t arg_count;
	uint64_t literal_octets;     /* all literals of the command together */
};

/* A literal announcement waiting for the caller's decision. */
struct imap_literal {
	uint64_t size;
	bool sync;          /* {n}: after accepting, send "+ ..." */
	bool binary;        /* ~{n} */
	struct str tag;
	struct str name;    /* the command name so far (may be empty) */
	size_t arg_index;   /* top-level position of the argument it is or is in */
	unsigned depth;     /* 0: a top-level argument; else inside a list */
};

struct imap_parser;

/*
 * imap_parser_new makes a parser with the given limits (NULL: the
 * defaults).  Returns NULL when a limit is 0, max_tag or max_line is
 * larger than max_command, or memory is exhausted.
 */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
/* imap_parser_free releases the parser and all it returned; sets *p NULL. */
void imap_parser_free(struct imap_parser **p);

/*
 * imap_parser_feed consumes bytes from data up to and including the one
 * that completes the next event and returns that event (see above), with
 * the number of bytes consumed in *used_r; IMAP_PARSE_MORE means all were.
 * What an earlier event returned (command, line, error text, literal info)
 * stays valid until the next call of imap_parser_feed or _free.  While a
 * literal decision is awaited it consumes nothing and returns
 * IMAP_PARSE_LITERAL again; after a fatal error it consumes nothing and
 * returns IMAP_PARSE_ERROR again.
 */
int imap_parser_feed(struct imap_parser *p, const void *data, size_t len, size_t *used_r);

/* imap_parser_command is the command of the last IMAP_PARSE_COMMAND. */
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* imap_parser_literal is the announcement of the last IMAP_PARSE_LITERAL. */
const struct imap_literal *imap_parser_literal(const struct imap_parser *p);
/*
 * imap_parser_literal_accept lets the announced literal in: the parser
 * reserves its size (the caller agreed to that) and reads its octets.  For a
 * synchronising literal the caller now sends a continuation ("+ OK").
 * Returns 0, or -1 when memory is exhausted: the parser is then in the fatal
 * state and the caller closes the connection.
 */
int imap_parser_literal_accept(struct imap_parser *p);
/*
 * imap_parser_literal_refuse turns the literal down; the caller answers the
 * tag with its own NO or BAD.  Returns 0 for a synchronising literal (the
 * client sends no octets; the next line is a new command), or -1 for a
 * non-synchronising one: the parser is then in the fatal state and the
 * caller closes the connection after its answer.
 */
int imap_parser_literal_refuse(struct imap_parser *p);
/*
 * imap_parser_error is the error of the last IMAP_PARSE_ERROR: returns the
 * static text for BAD (RFC 9051 response codes included, e.g. "[TOOBIG]"),
 * the tag in *tag_r (empty when the tag was not read) and in *fatal_r
 * whether the connection must be closed.  Either pointer may be NULL.
 */
const char *imap_parser_error(const struct imap_parser *p, struct str *tag_r, bool *fatal_r);

/*
 * imap_parser_expect_line makes the next line (up to max_line octets) be
 * returned as it is, without CRLF, as IMAP_PARSE_LINE: a SASL response after
 * "+ ", or DONE after IDLE.  Only between events, not inside a command.
 * A longer line is discarded and reported as the error "Line too long".
 */
void imap_parser_expect_line(struct imap_parser *p);
/* imap_parser_line is the line of the last IMAP_PARSE_LINE. */
struct str imap_parser_line(const struct imap_parser *p);

/* imap_arg_is_atom is true when arg is an atom equal to s in any case. */
bool imap_arg_is_atom(const struct imap_arg *arg, const char *s);
/*
 * imap_arg_get_astring gives the value of an astring (RFC 9051: an atom,
 * quoted string or literal; NIL and a section item count as their text,
 * since they are valid atoms in astring position).  Returns false for a
 * list or a literal8.
 */
bool imap_arg_get_astring(const struct imap_arg *arg, struct str *value_r);
/* imap_arg_get_string gives the value of a quoted string or literal only. */
bool imap_arg_get_string(const struct imap_arg *arg, struct str *value_r);
/* imap_arg_get_list gives a list's items; false when arg is not a list. */
bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **items_r,
		       size_t *count_r);

#endif
