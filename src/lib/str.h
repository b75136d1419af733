#ifndef RAVELIN_STR_H
#define RAVELIN_STR_H
/*
 * str: length-carrying string views.  Everything that came from the network
 * is handled as a struct str {ptr, len}; NUL termination is a convenience,
 * never the length.  A str never owns its bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct str {
	const char *ptr;
	size_t len;
};

#define STR(lit) ((struct str){ (lit), sizeof(lit) - 1 })
#define STR_NULL ((struct str){ NULL, 0 })

static inline struct str str_from(const char *ptr, size_t len)
{
	return (struct str){ ptr, len };
}

/* str_c wraps a NUL-terminated C string (may be NULL: gives the empty str). */
struct str str_c(const char *s);

bool str_eq(struct str a, struct str b);
/* str_lower_char folds one ASCII letter to lower case; other bytes stay. */
char str_lower_char(char c);
/* str_upper_char folds one ASCII letter to upper case; other bytes stay. */
char str_upper_char(char c);
/* str_is_alpha is true for an ASCII letter (RFC 5234 ALPHA); c may be any
 * int, so an end marker such as -1 is no letter. */
bool str_is_alpha(int c);
/* str_is_atext is true for an ASCII byte of RFC 5322 atext (letters,
 * digits and !#$%&'*+-/=?^_`{|}~); bytes past 0x7f are the caller's to
 * judge (RFC 6532 allows them in atext, plain RFC 5321 does not). */
bool str_is_atext(int c);
/* str_lower folds the n bytes at p to ASCII lower case, in place. */
void str_lower(char *p, size_t n);
/* str_case_cmp orders a and b bytewise after ASCII case folding, a proper
 * prefix first: <0, 0 or >0. */
int str_case_cmp(struct str a, struct str b);
bool str_case_eq(struct str a, struct str b);          /* ASCII case-insensitive */
bool str_case_prefix(struct str s, struct str prefix); /* ASCII case-insensitive */
struct str str_trim(struct str s);                     /* drops SP/HTAB/CR/LF both ends */
struct str str_sub(struct str s, size_t from, size_t len); /* clamped to s */
/* str_chr returns the index of the first c in s, or -1. */
long str_chr(struct str s, char c);
/*
 * str_to_u64 parses a strict unsigned decimal (no sign, no spaces, at least
 * one digit) that is at most max.  Returns 0, or -1 on any other input.
 */
int str_to_u64(struct str s, uint64_t max, uint64_t *out);
/* str_hex_digit gives the value of one hex digit (either case), or -1. */
int str_hex_digit(char c);
/* str_percent_octet gives the octet "%XX" at s.ptr[i] stands for (RFC 3986
 * pct-encoded, hex digits of either case), or -1 when s holds no valid
 * escape there.  The caller then skips three octets. */
int str_percent_octet(struct str s, size_t i);

#endif
