#ifndef RAVELIN_SMTP_PARSER_H
#define RAVELIN_SMTP_PARSER_H
/*
 * smtp-parser: one SMTP command line (RFC 5321 4.1) into a structured
 * command.  No I/O, no allocation: every str in the result points into the
 * line that was given, so it lives as long as that line.  A line the parser
 * refuses comes back with the complete reply line (code, enhanced status
 * code and text, without CRLF) that the session should send.
 *
 * Accepted syntax (RFC 5321 4.1.2 unless noted):
 *  - verbs are case-insensitive; one or more SP separate verb and argument;
 *    trailing SP/HTAB on the line is ignored (clients send it).
 *  - EHLO/HELO: a Domain or an address literal ("_" is tolerated in HELO
 *    names because Windows clients send it; nothing else is).
 *  - MAIL FROM:<reverse-path> [SP esmtp-params]: "<>" is the null path;
 *    spaces after the colon are tolerated (as Postfix does); a source route
 *    "<@a,@b:user@c>" is parsed and dropped.  Parameters SIZE=n,
 *    BODY=7BIT|8BITMIME (RFC 6152) and SMTPUTF8 (RFC 6531); anything else
 *    is 555 5.5.4.
 *  - RCPT TO:<forward-path>: also "<Postmaster>" (no domain).  No RCPT
 *    parameter is supported (DSN is not offered): any is 555 5.5.4.
 *  - Addresses may hold UTF-8 (RFC 6531: UTF8-non-ascii in atext, qtext
 *    and domain labels); the parser checks it is well-formed UTF-8 and sets
 *    address_utf8.  Whether that is allowed (SMTPUTF8 given) is the
 *    session's decision, because for RCPT it depends on the MAIL command.
 *  - BDAT chunk-size [SP "LAST"] (RFC 3030).
 */
#include <stdbool.h>
#include <stdint.h>

#include "lib/str.h"

/* RFC 5321 4.5.3.1.2: a domain name is at most 255 octets. */
#define SMTP_MAX_DOMAIN 255
/* RFC 1035 2.3.4: a label is at most 63 octets. */
#define SMTP_MAX_LABEL 63
/* The longest address literal we accept: an IPv6 literal needs at most
 * 45 characters plus "[IPv6:" and "]"; general literals are rare and have
 * no reason to be longer than a domain. */
#define SMTP_MAX_ADDRESS_LITERAL SMTP_MAX_DOMAIN
/* A decimal number of more digits than this is not a size any more. */
#define SMTP_MAX_NUMBER_DIGITS 20

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,           /* RFC 4954 (submission only) */
};

enum smtp_body {
	SMTP_BODY_UNSPECIFIED = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

struct smtp_command {
	enum smtp_verb verb;
	struct str arg;           /* everything after the verb, trimmed */
	/* HELO, EHLO */
	struct str domain;        /* the domain or address literal as sent */
	/* MAIL, RCPT */
	struct str address;       /* mailbox without <> and source route;
				   * empty for the null reverse-path */
	bool null_path;           /* MAIL FROM:<> */
	bool address_utf8;        /* address has non-ASCII (UTF-8) octets */
	bool size_given;          /* MAIL SIZE=n */
	uint64_t size;            /* saturates at UINT64_MAX */
	enum smtp_body body;      /* MAIL BODY= */
	bool smtputf8;            /* MAIL SMTPUTF8 */
	/* BDAT */
	uint64_t chunk_size;
	bool last;
};

/*
 * smtp_parse_command parses one command line, given without its line end
 * (a trailing CR is dropped too).  Returns 0 and fills *cmd_r, or -1 and
 * sets *error_r to a static reply line such as "501 5.5.4 Syntax: HELO
 * hostname"; cmd_r->verb is then still set when the verb was recognised.
 */
int smtp_parse_command(struct str line, struct smtp_command *cmd_r, const char **error_r);

/*
 * smtp_parse_utf8_seq returns the length (2..4) of the well-formed UTF-8
 * sequence for one non-ASCII code point at the start of p (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
size_t smtp_parse_utf8_seq(const unsigned char *p, size_t len);

#endif
