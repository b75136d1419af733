/*
 * collation: see collation.h.  Each side is first brought to the
 * collation's canonical form and the match is then a plain octet
 * comparison (memmem for contains):
 *
 *   i;octet            the octets as they are
 *   i;ascii-casemap    a..z mapped to A..Z (RFC 4790 9.2; we fold to lower
 *                      case, which compares the same)
 *   i;unicode-casemap  RFC 5051 2: each character replaced by its
 *                      titlecase mapping (UnicodeData.txt, simple), then
 *                      the whole string normalised to NFKD: utf8proc_map
 *                      with utf8proc_totitle as its per-character function
 *                      and DECOMPOSE|COMPAT, which is those two steps in
 *                      that order (so a ligature such as U+FB01 decomposes
 *                      to a lower-case "fi" after the titlecasing: "FIN"
 *                      does not find "\uFB01nance", as RFC 5051 has it).
 *                      imap-sort.c makes the same form with ICU for SORT
 *                      keys; src/ical has utf8proc.
 *                      Differences from RFC 5051: the Unicode
 *                      version is utf8proc's (newer than the RFC's); a
 *                      string that is not valid UTF-8 is compared with
 *                      i;ascii-casemap (RFC 5051 leaves its result to the
 *                      protocol; a contact's malformed text should still
 *                      be found by its ASCII); and substring matches are
 *                      made on the decomposed octets, so "e" is found in
 *                      "é" (e + U+0301), as RFC 4790's substring of
 *                      canonical forms gives.
 */
#include "ical/collation.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

/* collation_from_name: see collation.h. */
int collation_from_name(struct str name, enum collation *c)
{
	if (str_eq(name, STR("i;ascii-casemap")))
		*c = COLLATION_ASCII_CASEMAP;
	else if (str_eq(name, STR("i;unicode-casemap")))
		*c = COLLATION_UNICODE_CASEMAP;
	else if (str_eq(name, STR("i;octet")))
		*c = COLLATION_OCTET;
	else
		return -1;
	return 0;
}

/* collation_match_type_from_name: see collation.h. */
int collation_match_type_from_name(struct str name, enum match_type *m)
{
	if (str_eq(name, STR("equals")))
		*m = MATCH_EQUALS;
	else if (str_eq(name, STR("contains")))
		*m = MATCH_CONTAINS;
	else if (str_eq(name, STR("starts-with")))
		*m = MATCH_STARTS_WITH;
	else if (str_eq(name, STR("ends-with")))
		*m = MATCH_ENDS_WITH;
	else
		return -1;
	return 0;
}

/* title_map: RFC 5051's per-character step, for utf8proc_map_custom. */
static utf8proc_int32_t title_map(utf8proc_int32_t codepoint, void *data)
{
	(void)data;
	return utf8proc_totitle(codepoint);
}

/* canonical gives s in c's canonical form in *out: a view of s itself
 * (octet) or a malloc'd copy in *owned.  0, or -1 (invalid UTF-8 for
 * unicode-casemap, or out of memory). */
static int canonical(enum collation c, struct str s, struct str *out, char **owned)
{
	*owned = NULL;
	if (c == COLLATION_OCTET) {
		*out = s;
		return 0;
	}
	if (c == COLLATION_UNICODE_CASEMAP) {
		utf8proc_uint8_t *mapped = NULL;
		utf8proc_ssize_t n = utf8proc_map_custom((const utf8proc_uint8_t *)(s.ptr ? s.ptr : ""),
							 (utf8proc_ssize_t)s.len, &mapped,
							 UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT,
							 title_map, NULL);
		if (n < 0)
			return -1;
		*owned = (char *)mapped;
		*out = str_from(*owned, (size_t)n);
		return 0;
	}
	*owned = malloc(s.len + 1);
	if (*owned == NULL)
		return -1;
	for (size_t i = 0; i < s.len; i++)
		(*owned)[i] = str_lower_char(s.ptr[i]);
	*out = str_from(*owned, s.len);
	return 0;
}

/* octets_match applies m to two canonical forms. */
static bool octets_match(enum match_type m, struct str v, struct str t)
{
	if (t.len > v.len)
		return false;
	switch (m) {
	case MATCH_EQUALS:
		return t.len == v.len && (t.len == 0 || memcmp(v.ptr, t.ptr, t.len) == 0);
	case MATCH_STARTS_WITH:
		return t.len == 0 || memcmp(v.ptr, t.ptr, t.len) == 0;
	case MATCH_ENDS_WITH:
		return t.len == 0 || memcmp(v.ptr + v.len - t.len, t.ptr, t.len) == 0;
	case MATCH_CONTAINS:
		return t.len == 0 || memmem(v.ptr, v.len, t.ptr, t.len) != NULL;
	}
	return false;
}

/* collation_match: see collation.h. */
bool collation_match(enum collation c, enum match_type m, struct str value, struct str text)
{
	struct str v, t;
	char *v_owned, *t_owned = NULL;
	bool matched = false;

	int rc = canonical(c, value, &v, &v_owned);
	if (rc == 0)
		rc = canonical(c, text, &t, &t_owned);
	if (rc == 0)
		matched = octets_match(m, v, t);
	free(v_owned);
	free(t_owned);
	if (rc < 0 && c == COLLATION_UNICODE_CASEMAP)
		return collation_match(COLLATION_ASCII_CASEMAP, m, value, text);
	return matched;
}
