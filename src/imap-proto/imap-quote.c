/*
 * imap-quote: IMAP strings as Dovecot writes them (see imap-quote.h).
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 */
#include "imap-quote.h"

#include <stdbool.h>

#include "imap-syntax.h"

/* After this many quoted-specials a literal is shorter than escaping
 * (Dovecot's QUOTED_MAX_ESCAPE_CHARS). */
#define IMAP_QUOTED_MAX_ESCAPES 4

/* append_literal writes s as {n}CRLF followed by its bytes. */
static int append_literal(struct buf *out, struct str s)
{
	if (buf_printf(out, "{%zu}\r\n", s.len) < 0)
		return -1;
	return buf_append_str(out, s);
}

/* needs_literal is true for a byte a quoted string cannot hold. */
static bool needs_literal(unsigned char c)
{
	return c == '\r' || c == '\n' || c == '\0' || c >= 0x80;
}

/* append_quoted writes s between double quotes, escaping " and \. */
static int append_quoted(struct buf *out, struct str s)
{
	if (buf_putc(out, '"') < 0)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if ((c == '"' || c == '\\') && buf_putc(out, '\\') < 0)
			return -1;
		if (buf_putc(out, c) < 0)
			return -1;
	}
	return buf_putc(out, '"');
}

int imap_quote_string(struct buf *out, struct str s)
{
	unsigned escapes = 0;

	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c == '"' || c == '\\') {
			if (++escapes > IMAP_QUOTED_MAX_ESCAPES)
				return append_literal(out, s);
		} else if (needs_literal(c)) {
			return append_literal(out, s);
		}
	}
	return append_quoted(out, s);
}

int imap_quote_canonical(struct buf *out, struct str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (needs_literal((unsigned char)s.ptr[i]))
			return append_literal(out, s);
	return append_quoted(out, s);
}

bool imap_quote_is_atom(struct str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (!imap_syntax_is_atom_char(c) || c == '%' || c == '*' || c == ']')
			return false;
	}
	return true;
}

int imap_quote_nstring(struct buf *out, struct str s)
{
	if (s.ptr == NULL)
		return buf_append_str(out, STR("NIL"));
	return imap_quote_string(out, s);
}

static bool is_break(char c)
{
	return c == '\r' || c == '\n';
}

int imap_quote_nstring_nolf(struct buf *out, struct str s)
{
	if (s.ptr == NULL || (str_chr(s, '\r') < 0 && str_chr(s, '\n') < 0))
		return imap_quote_nstring(out, s);

	struct buf clean;
	buf_init(&clean, s.len);
	int ret = 0;
	for (size_t i = 0; i < s.len && ret == 0; i++) {
		if (!is_break(s.ptr[i])) {
			ret = buf_putc(&clean, s.ptr[i]);
			continue;
		}
		char next = i + 1 < s.len ? s.ptr[i + 1] : ' ';
		if (next != ' ' && next != '\t' && !is_break(next))
			ret = buf_putc(&clean, ' ');
	}
	if (ret == 0)
		ret = imap_quote_string(out, buf_str(&clean));
	buf_free(&clean);
	return ret;
}

static bool is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int imap_quote_human(struct buf *out, struct str s)
{
	size_t remove = 0;
	bool modify = false, last_lwsp = true, only_ws = true;

	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (is_lwsp((char)c)) {
			if (c != ' ' || last_lwsp)
				modify = true;
			if (last_lwsp)
				remove++;
			last_lwsp = true;
			continue;
		}
		if (c == '"' || c == '\\' || c >= 0x80 || c == '\0')
			modify = true;
		last_lwsp = false;
		only_ws = false;
	}
	if (last_lwsp && s.len > 0 && !only_ws) {
		modify = true;
		remove++;
	}
	if (!modify) {
		if (buf_putc(out, '"') < 0 || buf_append_str(out, s) < 0)
			return -1;
		return buf_putc(out, '"');
	}
	if (remove == s.len)
		return buf_append_str(out, STR("\"\""));
	if (buf_printf(out, "{%zu}\r\n", s.len - remove) < 0)
		return -1;
	size_t start = out->len;
	last_lwsp = true;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (is_lwsp(c)) {
			if (!last_lwsp && buf_putc(out, ' ') < 0)
				return -1;
			last_lwsp = true;
			continue;
		}
		last_lwsp = false;
		/* Dovecot writes NUL as 0x80 so the literal stays valid */
		if (buf_putc(out, c == '\0' ? (char)0x80 : c) < 0)
			return -1;
	}
	if (last_lwsp && out->len > start)
		out->len--;
	out->data[out->len] = '\0';
	return 0;
}
