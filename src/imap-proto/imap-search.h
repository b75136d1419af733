#ifndef RAVELIN_IMAP_SEARCH_H
#define RAVELIN_IMAP_SEARCH_H
/*
 * imap-search: a SEARCH program (RFC 9051 6.4.4, RFC 3501 6.4.4, ESEARCH
 * RETURN options of RFC 4731, UPDATE of RFC 5267, PARTIAL of RFC 9394,
 * "$" of RFC 5182) from the argument tree of
 * imap-parser into a tree of keys.  No I/O, no evaluation: the store
 * evaluates the tree.  Everything is allocated from the caller's pool and
 * the strings point into the command's arguments, so the program lives as
 * long as both.
 *
 *   [RETURN (opts)] [CHARSET name] key *(SP key)
 *
 * Keys are case-insensitive.  CHARSET may be UTF-8 or US-ASCII; any other
 * gets NO [BADCHARSET (UTF-8 US-ASCII)].  RECENT, NEW and OLD (RFC 3501,
 * gone from RFC 9051) are accepted for IMAP4rev1 clients.  MODSEQ (RFC 7162
 * 3.1.5) takes its optional entry name and type, which are checked and
 * then ignored: flags have no mod-sequences of their own here, so every
 * entry type asks the same question.  The SAVEDBEFORE family is not
 * supported (BAD "Unknown search key").
 *
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-parser.h"
#include "imap-seqset.h"
#include "lib/buf.h"
#include "lib/pool.h"

/* Nesting of NOT, OR and parentheses.  "Any of N addresses" searches nest
 * one OR per alternative (OR a OR b OR c d), so this is the longest OR
 * chain accepted: far beyond a client's filter dialogue, while the
 * recursion stays a few tens of KiB of stack. */
#define IMAP_SEARCH_DEFAULT_MAX_DEPTH 256
/* Keys in one program, all levels (a key with its arguments is one). */
#define IMAP_SEARCH_DEFAULT_MAX_KEYS 4096

struct imap_search_limits {
	unsigned max_depth;
	unsigned max_keys;
	size_t max_ranges;    /* per sequence set; 0: IMAP_SEQSET_MAX_RANGES */
};

#define IMAP_SEARCH_DEFAULT_LIMITS ((struct imap_search_limits){ \
	.max_depth = IMAP_SEARCH_DEFAULT_MAX_DEPTH, .max_keys = IMAP_SEARCH_DEFAULT_MAX_KEYS, \
	.max_ranges = IMAP_SEQSET_MAX_RANGES })

enum imap_search_type {
	/* no argument */
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_ANSWERED,
	IMAP_SEARCH_DELETED,
	IMAP_SEARCH_DRAFT,
	IMAP_SEARCH_FLAGGED,
	IMAP_SEARCH_NEW,
	IMAP_SEARCH_OLD,
	IMAP_SEARCH_RECENT,
	IMAP_SEARCH_SEEN,
	IMAP_SEARCH_UNANSWERED,
	IMAP_SEARCH_UNDELETED,
	IMAP_SEARCH_UNDRAFT,
	IMAP_SEARCH_UNFLAGGED,
	IMAP_SEARCH_UNSEEN,
	/* value: a string */
	IMAP_SEARCH_BCC,
	IMAP_SEARCH_BODY,
	IMAP_SEARCH_CC,
	IMAP_SEARCH_FROM,
	IMAP_SEARCH_SUBJECT,
	IMAP_SEARCH_TEXT,
	IMAP_SEARCH_TO,
	/* field and value */
	IMAP_SEARCH_HEADER,
	/* value: a flag keyword */
	IMAP_SEARCH_KEYWORD,
	IMAP_SEARCH_UNKEYWORD,
	/* date (internal date, or Date: header for SENT*) */
	IMAP_SEARCH_BEFORE,
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	/* number: size in octets */
	IMAP_SEARCH_LARGER,
	IMAP_SEARCH_SMALLER,
	/* number: mod-sequence-valzer (RFC 7162), matches MODSEQ >= number */
	IMAP_SEARCH_MODSEQ,
	/* seqset */
	IMAP_SEARCH_UID,
	IMAP_SEARCH_SEQSET,      /* message sequence numbers */
	/* children */
	IMAP_SEARCH_NOT,         /* one */
	IMAP_SEARCH_OR,          /* two */
	IMAP_SEARCH_AND,         /* one or more: a group or the whole program */
};

/* RFC 9051 date-text: day 1-31 (checked against the month), month 1-12. */
struct imap_date {
	unsigned year;
	unsigned month;
	unsigned day;
};

struct imap_search_key {
	enum imap_search_type type;
	struct str field;               /* HEADER */
	struct str value;               /* strings, HEADER, KEYWORD */
	struct imap_date date;
	uint64_t number;                /* LARGER, SMALLER, MODSEQ */
	struct imap_seqset seqset;      /* UID, SEQSET */
	struct imap_search_key *children;
	size_t child_count;
};

/* RFC 4731 RETURN options. */
#define IMAP_SEARCH_RETURN_MIN 0x01u
#define IMAP_SEARCH_RETURN_MAX 0x02u
#define IMAP_SEARCH_RETURN_ALL 0x04u
#define IMAP_SEARCH_RETURN_COUNT 0x08u
#define IMAP_SEARCH_RETURN_SAVE 0x10u
/* RFC 5267 CONTEXT=SEARCH: keep the result up to date (ADDTO/REMOVEFROM). */
#define IMAP_SEARCH_RETURN_UPDATE 0x20u
/* RFC 9394: one window of the result, by position (partial below). */
#define IMAP_SEARCH_RETURN_PARTIAL 0x40u

/* RFC 9394 partial-range: positions first..last (1-based, first <= last)
 * of the result, counted from its end when from_end ("-1:-100" is the
 * last 100).  "4:2" is read as 2:4. */
struct imap_search_partial {
	uint32_t first, last;
	bool from_end;
};

enum imap_search_charset {
	IMAP_SEARCH_CHARSET_NONE,       /* not given: US-ASCII, UTF-8 in rev2 */
	IMAP_SEARCH_CHARSET_UTF8,
	IMAP_SEARCH_CHARSET_US_ASCII,
};

struct imap_search_program {
	bool has_return;                /* RETURN given: answer with ESEARCH */
	unsigned return_options;        /* "RETURN ()" is RETURN (ALL) */
	struct imap_search_partial partial; /* with IMAP_SEARCH_RETURN_PARTIAL */
	enum imap_search_charset charset;
	struct imap_search_key root;    /* AND of the top-level keys */
};

enum imap_search_result {
	IMAP_SEARCH_OK = 0,
	IMAP_SEARCH_BAD = -1,           /* syntax: tagged BAD */
	IMAP_SEARCH_NO = -2,            /* unsupported charset: tagged NO */
};

/*
 * imap_search_parse parses the arguments of SEARCH / UID SEARCH (all of
 * them, after the command name) into *prog_r, allocating from pool.
 * limits NULL: the defaults.  Returns IMAP_SEARCH_OK, or IMAP_SEARCH_BAD /
 * IMAP_SEARCH_NO with a static text (response code included) in *error_r.
 */
int imap_search_parse(struct pool *pool, const struct imap_arg *args, size_t count,
		      const struct imap_search_limits *limits,
		      struct imap_search_program *prog_r, const char **error_r);

/*
 * imap_search_parse_return reads the parenthesised option list that
 * follows RETURN (list) into prog's has_return, return_options and
 * partial: SEARCH's, and SORT's of RFC 5267 ESORT.  PARTIAL takes a
 * range and excludes ALL (RFC 9394 3); "()" means ALL, and so does
 * UPDATE alone for the first answer.  Returns true, or false with a
 * static text for BAD in *error_r.
 */
bool imap_search_parse_return(const struct imap_arg *list, struct imap_search_program *prog,
			      const char **error_r);

/*
 * imap_search_program_copy copies prog, with every string, set and child
 * it points to, into pool, so that the copy outlives the command's
 * arguments (a CONTEXT=SEARCH result kept up to date).  Returns 0, or -1
 * when the pool is full.
 */
int imap_search_program_copy(struct pool *pool, const struct imap_search_program *prog,
			     struct imap_search_program *copy_r);

/*
 * imap_search_print writes the program in one canonical form, for tests
 * and logs: keys upper-case, strings quoted (a literal when they hold CR,
 * LF, NUL or 8-bit octets), dates as 1-Feb-1994, groups in parentheses,
 * the RETURN options in the order MIN MAX ALL COUNT SAVE UPDATE PARTIAL.  Returns 0, or -1
 * when out is full.
 */
int imap_search_print(const struct imap_search_program *prog, struct buf *out);

#endif
