/* str: length-carrying string views (see str.h). */
#include "str.h"

#include <string.h>

struct str str_c(const char *s)
{
	return s == NULL ? STR_NULL : str_from(s, strlen(s));
}

bool str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

char str_lower_char(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

char str_upper_char(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool str_is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool str_is_atext(int c)
{
	static const char specials[] = "!#$%&'*+-/=?^_`{|}~";
	return str_is_alpha(c) || (c >= '0' && c <= '9') ||
	       (c > 0 && memchr(specials, c, sizeof(specials) - 1) != NULL);
}

void str_lower(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = str_lower_char(p[i]);
}

int str_case_cmp(struct str a, struct str b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	for (size_t i = 0; i < n; i++) {
		char x = str_lower_char(a.ptr[i]), y = str_lower_char(b.ptr[i]);
		if (x != y)
			return (x > y) - (x < y);
	}
	return (a.len > b.len) - (a.len < b.len);
}

bool str_case_eq(struct str a, struct str b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (str_lower_char(a.ptr[i]) != str_lower_char(b.ptr[i]))
			return false;
	return true;
}

bool str_case_prefix(struct str s, struct str prefix)
{
	return s.len >= prefix.len && str_case_eq(str_from(s.ptr, prefix.len), prefix);
}

static bool is_trim_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct str str_trim(struct str s)
{
	while (s.len > 0 && is_trim_space(s.ptr[0])) {
		s.ptr++;
		s.len--;
	}
	while (s.len > 0 && is_trim_space(s.ptr[s.len - 1]))
		s.len--;
	return s;
}

struct str str_sub(struct str s, size_t from, size_t len)
{
	if (from > s.len)
		from = s.len;
	if (len > s.len - from)
		len = s.len - from;
	return str_from(s.ptr + from, len);
}

long str_chr(struct str s, char c)
{
	const char *p = s.len ? memchr(s.ptr, c, s.len) : NULL;
	return p == NULL ? -1 : (long)(p - s.ptr);
}

int str_to_u64(struct str s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.len == 0)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (c < '0' || c > '9')
			return -1;
		unsigned d = (unsigned)(c - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int str_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int str_percent_octet(struct str s, size_t i)
{
	if (i >= s.len || s.ptr[i] != '%' || s.len - i < 3)
		return -1;
	int hi = str_hex_digit(s.ptr[i + 1]), lo = str_hex_digit(s.ptr[i + 2]);
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}
