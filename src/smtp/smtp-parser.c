/*
 * smtp-parser: one SMTP command line into a struct smtp_command (see
 * smtp-parser.h for the accepted syntax).  The parser is a set of small
 * recursive-descent functions over a cursor; none of them allocates, and
 * each either advances the cursor past what it recognised or fails.
 */
#include "smtp-parser.h"

#include <arpa/inet.h>
#include <string.h>

#include "smtp-session.h"

/* Reply lines for the errors the parser finds. */
#define ERR_UNKNOWN "500 5.5.2 Error: command not recognized"
#define ERR_HELO "501 5.5.4 Syntax: HELO hostname"
#define ERR_EHLO "501 5.5.4 Syntax: EHLO hostname"
#define ERR_MAIL "501 5.5.4 Syntax: MAIL FROM:<address>"
#define ERR_RCPT "501 5.5.4 Syntax: RCPT TO:<address>"
#define ERR_SENDER "501 5.1.7 Bad sender address syntax"
#define ERR_RECIPIENT "501 5.1.3 Bad recipient address syntax"
#define ERR_SENDER_LONG "501 5.1.7 Address too long"
#define ERR_RECIPIENT_LONG "501 5.1.3 Address too long"
#define ERR_PARAM "501 5.5.4 Bad parameter syntax"
#define ERR_PARAM_DUP "501 5.5.4 Duplicate parameter"
#define ERR_SIZE "501 5.5.4 Bad SIZE parameter"
#define ERR_BODY "501 5.5.4 Bad BODY parameter"
#define ERR_SMTPUTF8 "501 5.5.4 Bad SMTPUTF8 parameter"
#define ERR_UNSUPPORTED "555 5.5.4 Unsupported option"
#define ERR_BDAT "501 5.5.4 Syntax: BDAT count [LAST]"

struct cursor {
	const unsigned char *p;
	size_t len;
	size_t pos;
};

/* cur_left returns how many octets remain after the cursor. */
static size_t cur_left(const struct cursor *c)
{
	return c->len - c->pos;
}

/* cur_peek returns the octet at the cursor, or -1 at the end. */
static int cur_peek(const struct cursor *c)
{
	return c->pos < c->len ? c->p[c->pos] : -1;
}

/* cur_take advances past ch and returns true if ch is at the cursor. */
static bool cur_take(struct cursor *c, int ch)
{
	if (cur_peek(c) != ch)
		return false;
	c->pos++;
	return true;
}

/* ASCII character classes of RFC 5234; -1 (end) is in none of them. */
static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(int c)
{
	return str_is_alpha(c) || is_digit(c);
}

size_t smtp_parse_utf8_seq(const unsigned char *p, size_t len)
{
	if (len == 0 || p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	size_t n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* The second octet's range rules out overlong forms, surrogates and
	 * code points above U+10FFFF (RFC 3629 section 4). */
	if (p[0] == 0xe0 && p[1] < 0xa0)
		return 0;
	if (p[0] == 0xed && p[1] > 0x9f)
		return 0;
	if (p[0] == 0xf0 && p[1] < 0x90)
		return 0;
	if (p[0] == 0xf4 && p[1] > 0x8f)
		return 0;
	return n;
}

/* take_utf8 advances past one UTF-8 non-ASCII character if one is at the
 * cursor and sets *utf8; returns false when there is none. */
static bool take_utf8(struct cursor *c, bool *utf8)
{
	size_t n = smtp_parse_utf8_seq(c->p + c->pos, cur_left(c));
	if (n == 0)
		return false;
	c->pos += n;
	*utf8 = true;
	return true;
}

/* Which octets a domain label may hold beyond LDH. */
enum label_extra {
	LABEL_LDH = 0,
	LABEL_UTF8 = 1,       /* RFC 6531 U-labels */
	LABEL_UNDERSCORE = 2, /* tolerated in HELO */
};

/*
 * parse_label advances past one sub-domain (Let-dig [Ldh-str]), at most
 * SMTP_MAX_LABEL octets, not ending in "-".  Returns false (cursor
 * unspecified) when there is none.
 */
static bool parse_label(struct cursor *c, unsigned extra, bool *utf8)
{
	size_t start = c->pos;
	bool last_hyphen = false;

	for (;;) {
		int ch = cur_peek(c);
		if (is_alnum(ch) || ((extra & LABEL_UNDERSCORE) && ch == '_')) {
			c->pos++;
			last_hyphen = false;
		} else if (ch == '-' && c->pos > start) {
			c->pos++;
			last_hyphen = true;
		} else if (ch >= 0x80 && (extra & LABEL_UTF8) && take_utf8(c, utf8)) {
			last_hyphen = false;
		} else {
			break;
		}
	}
	return c->pos > start && !last_hyphen && c->pos - start <= SMTP_MAX_LABEL;
}

/* parse_domain advances past a Domain: labels joined by single dots, at
 * most SMTP_MAX_DOMAIN octets. */
static bool parse_domain(struct cursor *c, unsigned extra, bool *utf8)
{
	size_t start = c->pos;

	do {
		if (!parse_label(c, extra, utf8))
			return false;
	} while (cur_take(c, '.'));
	return c->pos - start <= SMTP_MAX_DOMAIN;
}

/* RFC 5321 dcontent: printable US-ASCII except "[", "\" and "]". */
static bool is_dcontent(int c)
{
	return (c >= 33 && c <= 90) || (c >= 94 && c <= 126);
}

/*
 * parse_address_literal advances past "[" IPv4 "]", "[IPv6:" IPv6 "]" or a
 * General-address-literal "[" tag ":" 1*dcontent "]".  The IP forms are
 * checked with inet_pton, which accepts only the dotted-quad and RFC 4291
 * text forms.
 */
static bool parse_address_literal(struct cursor *c)
{
	char text[SMTP_MAX_ADDRESS_LITERAL + 1];
	size_t start = c->pos;

	if (!cur_take(c, '['))
		return false;
	size_t inner = c->pos;
	while (is_dcontent(cur_peek(c)))
		c->pos++;
	size_t inner_len = c->pos - inner;
	if (!cur_take(c, ']') || inner_len == 0 || c->pos - start > SMTP_MAX_ADDRESS_LITERAL)
		return false;
	memcpy(text, c->p + inner, inner_len);
	text[inner_len] = '\0';

	unsigned char addr[16];
	struct str s = str_from(text, inner_len);
	if (str_case_prefix(s, STR("IPv6:")))
		return inet_pton(AF_INET6, text + 5, addr) == 1;
	if (is_digit(text[0]))
		return inet_pton(AF_INET, text, addr) == 1;
	/* General-address-literal: Standardized-tag is an Ldh-str. */
	long colon = str_chr(s, ':');
	if (colon <= 0 || (size_t)colon + 1 >= inner_len)
		return false;
	struct cursor tag = { (const unsigned char *)text, (size_t)colon, 0 };
	bool unused = false;
	return parse_label(&tag, LABEL_LDH, &unused) && tag.pos == tag.len;
}

/* parse_dot_string advances past Atom *("." Atom), UTF-8 allowed (RFC 5321
 * Atom is RFC 5322 atext). */
static bool parse_dot_string(struct cursor *c, bool *utf8)
{
	do {
		size_t start = c->pos;
		for (;;) {
			int ch = cur_peek(c);
			if (str_is_atext(ch))
				c->pos++;
			else if (!(ch >= 0x80 && take_utf8(c, utf8)))
				break;
		}
		if (c->pos == start)
			return false;
	} while (cur_take(c, '.'));
	return true;
}

/* parse_quoted_string advances past DQUOTE *QcontentSMTP DQUOTE, where
 * qtextSMTP is %d32-33 / %d35-91 / %d93-126 / UTF-8 and quoted-pairSMTP is
 * "\" followed by %d32-126. */
static bool parse_quoted_string(struct cursor *c, bool *utf8)
{
	if (!cur_take(c, '"'))
		return false;
	for (;;) {
		int ch = cur_peek(c);
		if (ch == '"') {
			c->pos++;
			return true;
		}
		if (ch == '\\') {
			c->pos++;
			ch = cur_peek(c);
			if (ch < 32 || ch > 126)
				return false;
			c->pos++;
		} else if (ch >= 32 && ch <= 126) {
			c->pos++;
		} else if (!(ch >= 0x80 && take_utf8(c, utf8))) {
			return false;
		}
	}
}

/* parse_mailbox advances past Local-part "@" (Domain / address-literal). */
static bool parse_mailbox(struct cursor *c, bool *utf8)
{
	bool ok = cur_peek(c) == '"' ? parse_quoted_string(c, utf8) : parse_dot_string(c, utf8);
	if (!ok || !cur_take(c, '@'))
		return false;
	if (cur_peek(c) == '[')
		return parse_address_literal(c);
	return parse_domain(c, LABEL_UTF8, utf8);
}

/* parse_source_route advances past A-d-l ":" (RFC 5321 4.1.2), which
 * servers must accept and ignore (appendix C). */
static bool parse_source_route(struct cursor *c)
{
	bool unused = false;
	do {
		if (!cur_take(c, '@') || !parse_domain(c, LABEL_UTF8, &unused))
			return false;
	} while (cur_take(c, ','));
	return cur_take(c, ':');
}

enum path_kind { PATH_REVERSE, PATH_FORWARD };

/*
 * parse_path advances past "<" [A-d-l ":"] Mailbox ">", "<>" (reverse-path
 * only) or "<Postmaster>" (forward-path only).  Fills address, null_path
 * and address_utf8 of cmd.  Returns 0, or -1 with *error_r set.
 */
static int parse_path(struct cursor *c, enum path_kind kind, struct smtp_command *cmd,
		      const char **error_r)
{
	const char *bad = kind == PATH_REVERSE ? ERR_SENDER : ERR_RECIPIENT;
	size_t start = c->pos;
	bool utf8 = false;

	if (!cur_take(c, '<')) {
		*error_r = kind == PATH_REVERSE ? ERR_MAIL : ERR_RCPT;
		return -1;
	}
	if (kind == PATH_REVERSE && cur_take(c, '>')) {
		cmd->null_path = true;
		cmd->address = STR("");
		return 0;
	}
	if (kind == PATH_FORWARD && cur_left(c) >= 11 &&
	    str_case_eq(str_from((const char *)c->p + c->pos, 11), STR("Postmaster>"))) {
		cmd->address = str_from((const char *)c->p + c->pos, 10);
		c->pos += 11;
		return 0;
	}
	if (cur_peek(c) == '@' && !parse_source_route(c)) {
		*error_r = bad;
		return -1;
	}
	size_t mailbox = c->pos;
	if (!parse_mailbox(c, &utf8) || !cur_take(c, '>')) {
		*error_r = bad;
		return -1;
	}
	if (c->pos - start > SMTP_MAX_PATH) {
		*error_r = kind == PATH_REVERSE ? ERR_SENDER_LONG : ERR_RECIPIENT_LONG;
		return -1;
	}
	cmd->address = str_from((const char *)c->p + mailbox, c->pos - 1 - mailbox);
	cmd->address_utf8 = utf8;
	return 0;
}

/*
 * parse_number parses a bounded unsigned decimal.  A string of digits that
 * is too large saturates at UINT64_MAX when saturate is set (a SIZE that
 * large is refused as too big, not as bad syntax); otherwise it fails.
 */
static int parse_number(struct str s, bool saturate, uint64_t *out)
{
	if (s.len == 0 || s.len > SMTP_MAX_NUMBER_DIGITS)
		return -1;
	if (str_to_u64(s, UINT64_MAX, out) == 0)
		return 0;
	for (size_t i = 0; i < s.len; i++)
		if (!is_digit(s.ptr[i]))
			return -1;
	if (!saturate)
		return -1;
	*out = UINT64_MAX;
	return 0;
}

/* is_esmtp_value_char: esmtp-value octets (%d33-60 / %d62-126, and UTF-8
 * by RFC 6531, which is checked for well-formedness by the caller). */
static bool is_esmtp_value_char(int c)
{
	return (c >= 33 && c <= 60) || (c >= 62 && c <= 126);
}

/*
 * parse_param splits one esmtp-param at the cursor into keyword and value
 * (value.ptr NULL when there is no "=").  Returns false on bad syntax.
 */
static bool parse_param(struct cursor *c, struct str *keyword, struct str *value)
{
	size_t start = c->pos;
	bool unused = false;

	if (!is_alnum(cur_peek(c)))
		return false;
	while (is_alnum(cur_peek(c)) || cur_peek(c) == '-')
		c->pos++;
	*keyword = str_from((const char *)c->p + start, c->pos - start);
	*value = STR_NULL;
	if (!cur_take(c, '='))
		return true;
	start = c->pos;
	for (;;) {
		int ch = cur_peek(c);
		if (is_esmtp_value_char(ch))
			c->pos++;
		else if (!(ch >= 0x80 && take_utf8(c, &unused)))
			break;
	}
	*value = str_from((const char *)c->p + start, c->pos - start);
	return value->len > 0;
}

/* parse_mail_param applies one MAIL parameter to cmd. */
static int parse_mail_param(struct str keyword, struct str value, struct smtp_command *cmd,
			    const char **error_r)
{
	if (str_case_eq(keyword, STR("SIZE"))) {
		if (cmd->size_given) {
			*error_r = ERR_PARAM_DUP;
			return -1;
		}
		if (value.ptr == NULL || parse_number(value, true, &cmd->size) < 0) {
			*error_r = ERR_SIZE;
			return -1;
		}
		cmd->size_given = true;
		return 0;
	}
	if (str_case_eq(keyword, STR("BODY"))) {
		if (cmd->body != SMTP_BODY_UNSPECIFIED) {
			*error_r = ERR_PARAM_DUP;
			return -1;
		}
		if (value.ptr != NULL && str_case_eq(value, STR("7BIT"))) {
			cmd->body = SMTP_BODY_7BIT;
		} else if (value.ptr != NULL && str_case_eq(value, STR("8BITMIME"))) {
			cmd->body = SMTP_BODY_8BITMIME;
		} else if (value.ptr != NULL && str_case_eq(value, STR("BINARYMIME"))) {
			/* RFC 3030 BINARYMIME is not offered in EHLO. */
			*error_r = ERR_UNSUPPORTED;
			return -1;
		} else {
			*error_r = ERR_BODY;
			return -1;
		}
		return 0;
	}
	if (str_case_eq(keyword, STR("SMTPUTF8"))) {
		if (cmd->smtputf8) {
			*error_r = ERR_PARAM_DUP;
			return -1;
		}
		if (value.ptr != NULL) {
			*error_r = ERR_SMTPUTF8;
			return -1;
		}
		cmd->smtputf8 = true;
		return 0;
	}
	*error_r = ERR_UNSUPPORTED;
	return -1;
}

/*
 * parse_params parses *(SP esmtp-param) up to the end of the line; MAIL
 * parameters are applied to cmd, and for RCPT every parameter is refused
 * as unsupported.  One or more SP separate parameters (lenient).
 */
static int parse_params(struct cursor *c, enum smtp_verb verb, struct smtp_command *cmd,
			const char **error_r)
{
	while (cur_left(c) > 0) {
		struct str keyword, value;
		if (!cur_take(c, ' ')) {
			*error_r = verb == SMTP_VERB_MAIL ? ERR_MAIL : ERR_RCPT;
			return -1;
		}
		while (cur_take(c, ' '))
			;
		if (cur_left(c) == 0)
			break;
		if (!parse_param(c, &keyword, &value) ||
		    (cur_left(c) > 0 && cur_peek(c) != ' ')) {
			*error_r = ERR_PARAM;
			return -1;
		}
		if (verb != SMTP_VERB_MAIL) {
			*error_r = ERR_UNSUPPORTED;
			return -1;
		}
		if (parse_mail_param(keyword, value, cmd, error_r) < 0)
			return -1;
	}
	return 0;
}

/* parse_mail_rcpt parses the argument of MAIL ("FROM:" path params) or
 * RCPT ("TO:" path params). */
static int parse_mail_rcpt(struct str arg, struct smtp_command *cmd, const char **error_r)
{
	bool mail = cmd->verb == SMTP_VERB_MAIL;
	struct str prefix = mail ? STR("FROM:") : STR("TO:");

	if (!str_case_prefix(arg, prefix)) {
		*error_r = mail ? ERR_MAIL : ERR_RCPT;
		return -1;
	}
	struct cursor c = { (const unsigned char *)arg.ptr, arg.len, prefix.len };
	while (cur_take(&c, ' '))
		;
	if (parse_path(&c, mail ? PATH_REVERSE : PATH_FORWARD, cmd, error_r) < 0)
		return -1;
	return parse_params(&c, cmd->verb, cmd, error_r);
}

/* parse_helo parses the EHLO/HELO argument: one domain or address literal. */
static int parse_helo(struct str arg, struct smtp_command *cmd, const char **error_r)
{
	struct cursor c = { (const unsigned char *)arg.ptr, arg.len, 0 };
	bool utf8 = false;
	bool ok;

	if (cur_peek(&c) == '[')
		ok = parse_address_literal(&c);
	else
		ok = parse_domain(&c, LABEL_UNDERSCORE, &utf8);
	if (!ok || cur_left(&c) != 0) {
		*error_r = cmd->verb == SMTP_VERB_EHLO ? ERR_EHLO : ERR_HELO;
		return -1;
	}
	cmd->domain = arg;
	return 0;
}

/* parse_bdat parses "chunk-size [SP LAST]". */
static int parse_bdat(struct str arg, struct smtp_command *cmd, const char **error_r)
{
	long sp = str_chr(arg, ' ');
	struct str num = sp < 0 ? arg : str_sub(arg, 0, (size_t)sp);

	*error_r = ERR_BDAT;
	if (parse_number(num, false, &cmd->chunk_size) < 0)
		return -1;
	if (sp >= 0) {
		struct str rest = str_sub(arg, (size_t)sp + 1, arg.len);
		while (rest.len > 0 && rest.ptr[0] == ' ')
			rest = str_sub(rest, 1, rest.len);
		if (!str_case_eq(rest, STR("LAST")))
			return -1;
		cmd->last = true;
	}
	return 0;
}

struct verb_entry {
	struct str name;
	enum smtp_verb verb;
	enum { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED } arg;
	const char *syntax; /* reply when the argument rule is broken */
};

static const struct verb_entry verbs[] = {
	{ STR("HELO"), SMTP_VERB_HELO, ARG_REQUIRED, ERR_HELO },
	{ STR("EHLO"), SMTP_VERB_EHLO, ARG_REQUIRED, ERR_EHLO },
	{ STR("MAIL"), SMTP_VERB_MAIL, ARG_REQUIRED, ERR_MAIL },
	{ STR("RCPT"), SMTP_VERB_RCPT, ARG_REQUIRED, ERR_RCPT },
	{ STR("DATA"), SMTP_VERB_DATA, ARG_NONE, "501 5.5.4 Syntax: DATA" },
	{ STR("BDAT"), SMTP_VERB_BDAT, ARG_REQUIRED, ERR_BDAT },
	{ STR("RSET"), SMTP_VERB_RSET, ARG_NONE, "501 5.5.4 Syntax: RSET" },
	{ STR("NOOP"), SMTP_VERB_NOOP, ARG_OPTIONAL, NULL },
	{ STR("QUIT"), SMTP_VERB_QUIT, ARG_NONE, "501 5.5.4 Syntax: QUIT" },
	{ STR("VRFY"), SMTP_VERB_VRFY, ARG_REQUIRED, "501 5.5.4 Syntax: VRFY address" },
	{ STR("EXPN"), SMTP_VERB_EXPN, ARG_OPTIONAL, NULL },
	{ STR("HELP"), SMTP_VERB_HELP, ARG_OPTIONAL, NULL },
	{ STR("STARTTLS"), SMTP_VERB_STARTTLS, ARG_NONE, "501 5.5.4 Syntax: STARTTLS" },
	{ STR("AUTH"), SMTP_VERB_AUTH, ARG_REQUIRED, "501 5.5.4 Syntax: AUTH mechanism" },
};

int smtp_parse_command(struct str line, struct smtp_command *cmd_r, const char **error_r)
{
	memset(cmd_r, 0, sizeof(*cmd_r));
	if (line.len > 0 && line.ptr[line.len - 1] == '\r')
		line.len--;
	while (line.len > 0 && (line.ptr[line.len - 1] == ' ' || line.ptr[line.len - 1] == '\t'))
		line.len--;

	long sp = str_chr(line, ' ');
	struct str name = sp < 0 ? line : str_sub(line, 0, (size_t)sp);
	struct str arg = sp < 0 ? STR("") : str_sub(line, (size_t)sp + 1, line.len);
	while (arg.len > 0 && arg.ptr[0] == ' ')
		arg = str_sub(arg, 1, arg.len);

	const struct verb_entry *e = NULL;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (str_case_eq(name, verbs[i].name)) {
			e = &verbs[i];
			break;
		}
	}
	if (e == NULL) {
		*error_r = ERR_UNKNOWN;
		return -1;
	}
	cmd_r->verb = e->verb;
	cmd_r->arg = arg;
	if ((e->arg == ARG_NONE && arg.len > 0) || (e->arg == ARG_REQUIRED && arg.len == 0)) {
		*error_r = e->syntax;
		return -1;
	}
	switch (e->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		return parse_helo(arg, cmd_r, error_r);
	case SMTP_VERB_MAIL:
	case SMTP_VERB_RCPT:
		return parse_mail_rcpt(arg, cmd_r, error_r);
	case SMTP_VERB_BDAT:
		return parse_bdat(arg, cmd_r, error_r);
	default:
		return 0;
	}
}
