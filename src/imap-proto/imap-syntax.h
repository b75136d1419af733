#ifndef RAVELIN_IMAP_SYNTAX_H
#define RAVELIN_IMAP_SYNTAX_H
/*
 * imap-syntax: RFC 9051 character classes and numbers, shared by the
 * command parser (imap-parser.c) and the section parser (imap-section.c).
 * Internal to imap-proto.  Pure: linked into the pre-auth process too.
 */
#include <stdbool.h>
#include <stdint.h>

/* The largest RFC 9051 number64: 2^63 - 1. */
#define IMAP_NUMBER64_MAX ((uint64_t)INT64_MAX)

/* imap_syntax_is_atom_char: RFC 9051 ATOM-CHAR, plus the list wildcards
 * (LIST patterns, sequence sets) and "]" (ASTRING-CHAR); "\" only starts
 * a flag and is handled by the caller. */
static inline bool imap_syntax_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return c != '(' && c != ')' && c != '{' && c != '"' && c != '\\';
}

/* imap_syntax_is_digit: RFC 5234 DIGIT. */
static inline bool imap_syntax_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

#endif
