#ifndef RAVELIN_DKIM_TAGS_H
#define RAVELIN_DKIM_TAGS_H
/*
 * dkim-tags: the tag=value list of RFC 6376 3.2, the syntax of both a
 * DKIM-Signature header field and a DKIM key record.  Pure code: the text
 * comes from the network (a header) or from DNS (a key), so every count
 * and length is bounded and anything outside the grammar is refused.
 *
 * Values are views into the text given, with the folding white space
 * around them removed; white space inside a value stays (b=, bh= and p=
 * are folded base64, see dkim_tags_base64).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

/* Tags in one list: a signature defines 14, a key record 7; twice that
 * leaves room for extensions, which verifiers must ignore. */
#define DKIM_TAGS_MAX 32
/* Octets of a tag name: the defined ones have one or two letters. */
#define DKIM_TAG_NAME_MAX 16
/* Octets of one value: a 4096-bit RSA key's p= is about 740, its b= 690;
 * z= copies header fields and h= names them, so a few kilobytes. */
#define DKIM_TAG_VALUE_MAX 8192
/* Octets of a whole list: every value at its largest is not needed by any
 * real signature; one header field of this size is already odd. */
#define DKIM_TAGS_TEXT_MAX (16 * 1024)

struct dkim_tag {
	struct str name;
	struct str value;
};

struct dkim_tags {
	size_t count;
	struct dkim_tag tag[DKIM_TAGS_MAX];
};

/*
 * dkim_tags_parse splits text (a tag-list: tag-spec *( ";" tag-spec ) [";"])
 * into t.  0, or -1 with *error_r saying why (a static string): bad syntax,
 * a tag named twice (RFC 6376 3.2: permanent error), or past a bound.
 * The views in t point into text.
 */
int dkim_tags_parse(struct str text, struct dkim_tags *t, const char **error_r);

/* dkim_tags_get finds the tag named name (case-sensitive, as RFC 6376
 * says tag names are); true with *value_r set, or false. */
bool dkim_tags_get(const struct dkim_tags *t, const char *name, struct str *value_r);

/*
 * dkim_tags_base64 decodes a base64 value with folding white space in it
 * into out (room for max octets).  Returns the decoded length, or -1 for
 * anything but canonical base64 (wrong padding, stray characters) or
 * more than max octets.  The empty value decodes to 0 octets.
 */
long dkim_tags_base64(struct str value, uint8_t *out, size_t max);

/* dkim_tags_is_fws is true for the white space a tag list may fold with. */
bool dkim_tags_is_fws(char c);

#endif
