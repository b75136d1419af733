/*
 * imap-mailbox: the commands on mailboxes rather than messages: LIST
 * (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE),
 * LSUB, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, APPEND
 * (MULTIAPPEND, UIDPLUS, CATENATE: imap-catenate.c), NAMESPACE and QUOTA
 * (RFC 9208).
 */
#include "imap-session-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap-catenate.h"
#include "imap-flags.h"
#include "imap-match.h"
#include "imap-format/imap-message.h"
#include "lib/date.h"
#include "lib/log.h"
#include "mail/mime.h"

/* Messages in one MULTIAPPEND. */
#define APPEND_MAX_MESSAGES 1000
/* Patterns in one LIST. */
#define LIST_MAX_PATTERNS 64

/* ---------- LIST ---------- */

/* name_matches: INBOX matches case-insensitively (RFC 9051 5.1). */
static bool name_matches(const char *name, const char *pattern)
{
	if (strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/') &&
	    strncasecmp(pattern, "INBOX", 5) == 0) {
		char *p = strdup(pattern);
		if (p == NULL)
			return false;
		memcpy(p, "INBOX", 5);
		bool r = imap_match(name, p, '/');
		free(p);
		return r;
	}
	return imap_match(name, pattern, '/');
}

enum {
	SEL_SUBSCRIBED = 1,
	SEL_SPECIAL_USE = 2,
	RET_SUBSCRIBED = 4,
	RET_CHILDREN = 8,
	RET_SPECIAL_USE = 16,
	RET_STATUS = 32,
	LIST_EXTENDED = 64,
	SEL_RECURSIVE = 128,
};

static const char *const special_names[] = {
	[STORE_SPECIAL_NONE] = NULL,      [STORE_SPECIAL_INBOX] = NULL,
	[STORE_SPECIAL_SENT] = "\\Sent",  [STORE_SPECIAL_DRAFTS] = "\\Drafts",
	[STORE_SPECIAL_TRASH] = "\\Trash", [STORE_SPECIAL_JUNK] = "\\Junk",
	[STORE_SPECIAL_ARCHIVE] = "\\Archive",
};

/* One row of a listing: a mailbox, a parent level that does not exist, or
 * a subscribed name that is no mailbox. */
struct list_entry {
	const char *name;
	const struct store_mailbox *box; /* NULL: \NonExistent */
	bool kept;                       /* subscribed, no mailbox (box NULL) */
	bool children;
	bool subscribed_child;           /* a descendant is subscribed */
};

/* entry_subscribed: the mailbox, or the name without one, is subscribed. */
static bool entry_subscribed(const struct list_entry *e)
{
	return e->kept || (e->box != NULL && e->box->subscribed);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* build_entries lists the mailboxes, their missing parent levels and the
 * subscribed names that are no mailbox (kept; they make no parents). */
static struct list_entry *build_entries(struct imap_session *s, struct store_mailbox *boxes,
					size_t n, char **kept, size_t nkept, size_t *count_r)
{
	size_t cap = n * 2 + nkept + 8, count = 0;
	struct list_entry *e = pool_alloc(s->pool, cap * sizeof(*e));
	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		e[count++] = (struct list_entry){ .name = boxes[i].name, .box = &boxes[i] };
	qsort(e, count, sizeof(*e), entry_cmp);
	size_t real = count;
	for (size_t i = 0; i < nkept; i++)
		e[count++] = (struct list_entry){ .name = kept[i], .kept = true };
	for (size_t i = 0; i < real; i++) {
		const char *name = e[i].name;
		for (const char *slash = strchr(name, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
			char *parent = pool_strndup(s->pool, name, (size_t)(slash - name));
			if (parent == NULL)
				return NULL;
			struct list_entry key = { .name = parent };
			bool found = bsearch(&key, e, real, sizeof(*e), entry_cmp) != NULL;
			for (size_t k = real; !found && k < count; k++)
				found = strcmp(e[k].name, parent) == 0;
			if (found)
				continue;
			if (count == cap) {
				struct list_entry *bigger = pool_alloc(s->pool, cap * 2 * sizeof(*e));
				if (bigger == NULL)
					return NULL;
				memcpy(bigger, e, count * sizeof(*e));
				e = bigger;
				cap *= 2;
			}
			e[count++] = (struct list_entry){ .name = parent };
		}
	}
	qsort(e, count, sizeof(*e), entry_cmp);
	/* INBOX first, as clients expect. */
	for (size_t i = 0; i < count; i++)
		if (strcmp(e[i].name, "INBOX") == 0 && i > 0) {
			struct list_entry inbox = e[i];
			memmove(&e[1], &e[0], i * sizeof(*e));
			e[0] = inbox;
			break;
		}
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(e[i].name);
		for (size_t k = 0; k < count; k++) {
			if (strncmp(e[k].name, e[i].name, len) != 0 || e[k].name[len] != '/')
				continue;
			e[i].children = e[i].children || !e[k].kept;
			if (entry_subscribed(&e[k]))
				e[i].subscribed_child = true;
		}
	}
	*count_r = count;
	return e;
}

/* STATUS items asked for, as bits. */
enum {
	ST_MESSAGES = 1,
	ST_UIDNEXT = 2,
	ST_UIDVALIDITY = 4,
	ST_UNSEEN = 8,
	ST_SIZE = 16,
	ST_HIGHESTMODSEQ = 32,
	ST_RECENT = 64,
	ST_DELETED = 128,
};

static int status_items(const struct imap_arg *arg, unsigned *items_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "MESSAGES", ST_MESSAGES }, { "UIDNEXT", ST_UIDNEXT },
		{ "UIDVALIDITY", ST_UIDVALIDITY }, { "UNSEEN", ST_UNSEEN },
		{ "SIZE", ST_SIZE }, { "HIGHESTMODSEQ", ST_HIGHESTMODSEQ },
		{ "RECENT", ST_RECENT }, { "DELETED", ST_DELETED },
	};
	const struct imap_arg *items;
	size_t n;

	if (!imap_arg_get_list(arg, &items, &n) || n == 0)
		return -1;
	*items_r = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned bit = 0;
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (imap_arg_is_atom(&items[i], names[k].name))
				bit = names[k].bit;
		if (bit == 0)
			return -1;
		*items_r |= bit;
	}
	return 0;
}

static void write_status(struct imap_session *s, const struct store_mailbox *box, unsigned items)
{
	const char *sep = "";
	uint64_t deleted = 0;

	if (items & ST_DELETED) {
		struct store_message *list = NULL;
		size_t n = 0;
		const char *error;
		if (store_message_list(s->store, box->name, &list, &n, &error) == STORE_OK)
			for (size_t i = 0; i < n; i++)
				deleted += (list[i].flags & STORE_FLAG_DELETED) != 0;
		free(list);
	}
	buf_append(s->out, "* STATUS ", 9);
	session_write_mailbox(s, box->name);
	buf_append(s->out, " (", 2);
#define ITEM(bit, fmt, value)                                                        \
	if (items & (bit)) {                                                         \
		buf_printf(s->out, "%s" fmt, sep, (unsigned long long)(value));      \
		sep = " ";                                                           \
	}
	ITEM(ST_MESSAGES, "MESSAGES %llu", box->messages)
	ITEM(ST_RECENT, "RECENT %llu", box->recent)
	ITEM(ST_UIDNEXT, "UIDNEXT %llu", box->uidnext)
	ITEM(ST_UIDVALIDITY, "UIDVALIDITY %llu", box->uidvalidity)
	ITEM(ST_UNSEEN, "UNSEEN %llu", box->unseen)
	ITEM(ST_DELETED, "DELETED %llu", deleted)
	ITEM(ST_SIZE, "SIZE %llu", box->bytes)
	ITEM(ST_HIGHESTMODSEQ, "HIGHESTMODSEQ %llu", box->highestmodseq)
#undef ITEM
	buf_append(s->out, ")\r\n", 3);
}

static int list_options(const struct imap_arg *arg, bool selection, unsigned *opts,
			unsigned *status_items_r)
{
	const struct imap_arg *items;
	size_t n;

	if (!imap_arg_get_list(arg, &items, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &items[i];
		if (imap_arg_is_atom(a, "SUBSCRIBED"))
			*opts |= selection ? SEL_SUBSCRIBED | RET_SUBSCRIBED : RET_SUBSCRIBED;
		else if (imap_arg_is_atom(a, "SPECIAL-USE"))
			*opts |= selection ? SEL_SPECIAL_USE : RET_SPECIAL_USE;
		else if (selection && imap_arg_is_atom(a, "REMOTE"))
			continue;
		else if (selection && imap_arg_is_atom(a, "RECURSIVEMATCH"))
			*opts |= SEL_RECURSIVE;
		else if (!selection && imap_arg_is_atom(a, "CHILDREN"))
			*opts |= RET_CHILDREN;
		else if (!selection && imap_arg_is_atom(a, "STATUS") && i + 1 < n &&
			 status_items(&items[i + 1], status_items_r) == 0) {
			*opts |= RET_STATUS;
			i++;
		} else
			return -1;
	}
	return 0;
}

static void write_entry(struct imap_session *s, const struct list_entry *e, unsigned opts,
			bool lsub)
{
	const char *sep = "";
	buf_append(s->out, lsub ? "* LSUB (" : "* LIST (", 8);
#define ATTR(text)                                          \
	do {                                                \
		buf_printf(s->out, "%s%s", sep, text);      \
		sep = " ";                                  \
	} while (0)
	if (e->box == NULL)
		ATTR((opts & LIST_EXTENDED) || s->rev2 ? "\\NonExistent" : "\\Noselect");
	if (!lsub)
		ATTR(e->children ? "\\HasChildren" : "\\HasNoChildren");
	if ((opts & RET_SUBSCRIBED) && entry_subscribed(e))
		ATTR("\\Subscribed");
	if (e->box != NULL && special_names[e->box->special_use] != NULL)
		ATTR(special_names[e->box->special_use]);
#undef ATTR
	buf_append(s->out, ") \"/\" ", 6);
	session_write_mailbox(s, e->name);
	buf_append(s->out, "\r\n", 2);
}

/* pattern_arg reads a reference or pattern as UTF-8. */
static const char *pattern_arg(struct imap_session *s, const struct imap_arg *arg)
{
	struct str v;
	bool invalid; /* a pattern that is not modified UTF-7 is matched as sent */
	if (!imap_arg_get_astring(arg, &v))
		return NULL;
	return session_decode_name(s, v, &invalid);
}

/* matches_any: name matches one of the patterns. */
static bool matches_any(const char *name, const char *const *patterns, size_t np)
{
	for (size_t p = 0; p < np; p++)
		if (name_matches(name, patterns[p]))
			return true;
	return false;
}

/* subscribed_outside: entry k has a subscribed descendant that matches no
 * pattern (so RECURSIVEMATCH lists k with CHILDINFO in its place). */
static bool subscribed_outside(const struct list_entry *e, size_t count, size_t k,
			       const char *const *patterns, size_t np)
{
	size_t len = strlen(e[k].name);
	for (size_t i = 0; i < count; i++)
		if (strncmp(e[i].name, e[k].name, len) == 0 && e[i].name[len] == '/' &&
		    entry_subscribed(&e[i]) && !matches_any(e[i].name, patterns, np))
			return true;
	return false;
}

static enum imap_command_result list_common(struct imap_session *s,
					    const struct imap_command *cmd, bool lsub)
{
	const struct imap_arg *args = cmd->args;
	size_t argc = cmd->arg_count, i = 0;
	unsigned opts = lsub ? SEL_SUBSCRIBED : 0, items = 0;
	const char *patterns[LIST_MAX_PATTERNS];
	size_t np = 0;

	if (!lsub && argc > 0 && args[0].type == IMAP_ARG_LIST) {
		opts |= LIST_EXTENDED;
		/* RFC 5258 3: RECURSIVEMATCH needs another selection option. */
		if (list_options(&args[i++], true, &opts, &items) < 0 ||
		    ((opts & SEL_RECURSIVE) && !(opts & (SEL_SUBSCRIBED | SEL_SPECIAL_USE)))) {
			session_tagged(s, "BAD", "Invalid LIST selection options");
			return CMD_DONE;
		}
	}
	if (argc < i + 2) {
		session_tagged(s, "BAD", "%s takes a reference and a pattern", cmd->name.ptr);
		return CMD_DONE;
	}
	const char *ref = pattern_arg(s, &args[i++]);
	const struct imap_arg *pats = &args[i];
	size_t npats = 1;
	if (!lsub && args[i].type == IMAP_ARG_LIST) {
		imap_arg_get_list(&args[i], &pats, &npats);
		opts |= LIST_EXTENDED;
	}
	i++;
	if (!lsub && i + 2 == argc && imap_arg_is_atom(&args[i], "RETURN")) {
		opts |= LIST_EXTENDED;
		if (list_options(&args[i + 1], false, &opts, &items) < 0) {
			session_tagged(s, "BAD", "Invalid LIST return options");
			return CMD_DONE;
		}
		i += 2;
	}
	if (ref == NULL || i != argc || npats > LIST_MAX_PATTERNS) {
		session_tagged(s, "BAD", "Invalid %s arguments", cmd->name.ptr);
		return CMD_DONE;
	}
	for (size_t k = 0; k < npats; k++) {
		const char *p = pattern_arg(s, &pats[k]);
		if (p == NULL) {
			session_tagged(s, "BAD", "Invalid pattern");
			return CMD_DONE;
		}
		size_t rl = strlen(ref), pl = strlen(p);
		if (rl + pl > IMAP_MATCH_MAX_PATTERN) {
			session_tagged(s, "NO", "[LIMIT] Pattern longer than %u octets",
				       IMAP_MATCH_MAX_PATTERN);
			return CMD_DONE;
		}
		char *full = pool_alloc(s->pool, rl + pl + 1);
		if (full == NULL) {
			session_tagged(s, "NO", "[LIMIT] Out of memory");
			return CMD_DONE;
		}
		memcpy(full, ref, rl);
		memcpy(full + rl, p, pl + 1);
		patterns[np++] = full;
	}
	if (np == 1 && patterns[0][0] == '\0' && !lsub) {
		session_untagged(s, "LIST (\\Noselect) \"/\" \"\"");
		session_tagged(s, "OK", "List completed");
		return CMD_DONE;
	}

	struct store_mailbox *boxes = NULL;
	char **kept = NULL;
	size_t nboxes = 0, nkept = 0, count = 0;
	const char *error;
	int ret = store_mailbox_list(s->store, &boxes, &nboxes, &error);
	if (ret == STORE_OK && (opts & SEL_SUBSCRIBED))
		ret = store_subscription_list(s->store, &kept, &nkept, &error);
	if (ret != STORE_OK) {
		store_mailbox_list_free(&boxes, nboxes);
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	struct list_entry *e = build_entries(s, boxes, nboxes, kept, nkept, &count);
	for (size_t k = 0; e != NULL && k < count; k++) {
		if (!matches_any(e[k].name, patterns, np))
			continue;
		bool subscribed = entry_subscribed(&e[k]);
		if (lsub && !subscribed && e[k].subscribed_child) {
			/* RFC 3501 6.3.9: "foo" with \Noselect when only "foo/bar"
			 * is subscribed and "%" stops at the level of foo. */
			buf_append(s->out, "* LSUB (\\Noselect) \"/\" ", 23);
			session_write_mailbox(s, e[k].name);
			buf_append(s->out, "\r\n", 2);
			continue;
		}
		if ((opts & SEL_RECURSIVE) && !subscribed && e[k].subscribed_child) {
			/* RFC 5258 3.5: a parent of subscribed mailboxes that
			 * are not listed themselves (none matches a pattern). */
			if (!subscribed_outside(e, count, k, patterns, np))
				continue;
			struct list_entry parent = e[k];
			write_entry(s, &parent, opts & ~RET_SUBSCRIBED, false);
			s->out->len -= 2; /* the CRLF */
			buf_append(s->out, " (CHILDINFO (\"SUBSCRIBED\"))\r\n", 29);
			continue;
		}
		if ((opts & SEL_SUBSCRIBED) && !subscribed)
			continue;
		if ((opts & SEL_SPECIAL_USE) &&
		    (e[k].box == NULL || special_names[e[k].box->special_use] == NULL))
			continue;
		write_entry(s, &e[k], opts, lsub);
		if ((opts & RET_STATUS) && e[k].box != NULL)
			write_status(s, e[k].box, items);
	}
	store_mailbox_list_free(&boxes, nboxes);
	store_subscription_list_free(&kept, nkept);
	if (e == NULL && nboxes + nkept > 0) {
		session_tagged(s, "NO", "[LIMIT] Out of memory");
		return CMD_DONE;
	}
	session_tagged(s, "OK", "%s completed", lsub ? "Lsub" : "List");
	return CMD_DONE;
}

enum imap_command_result cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	return list_common(s, cmd, false);
}

enum imap_command_result cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	return list_common(s, cmd, true);
}

/* ---------- CREATE, DELETE, RENAME, SUBSCRIBE ---------- */

enum imap_command_result cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	const char *error;
	if (cmd->arg_count < 1 || cmd->arg_count > 2) {
		session_tagged(s, "BAD", "CREATE takes a mailbox name");
		return CMD_DONE;
	}
	const char *name = session_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	if (strcasecmp(name, "INBOX") == 0) {
		session_tagged(s, "NO", "[ALREADYEXISTS] INBOX always exists");
		return CMD_DONE;
	}
	if (strstr(name, "//") != NULL || name[0] == '/' || strpbrk(name, "*%") != NULL) {
		session_tagged(s, "NO", "[CANNOT] Invalid mailbox name");
		return CMD_DONE;
	}
	int ret = store_mailbox_create(s->store, name, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, ret == STORE_EXISTS ? "Mailbox already exists" : error);
		return CMD_DONE;
	}
	session_changed(s);
	session_tagged(s, "OK", "Create completed");
	return CMD_DONE;
}

enum imap_command_result cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	const char *error;
	if (cmd->arg_count != 1) {
		session_tagged(s, "BAD", "DELETE takes a mailbox name");
		return CMD_DONE;
	}
	const char *name = session_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	if (strcasecmp(name, "INBOX") == 0) {
		session_tagged(s, "NO", "[CANNOT] INBOX cannot be deleted");
		return CMD_DONE;
	}
	if (s->selected && strcmp(s->mailbox, name) == 0) {
		session_unselect(s);
		session_untagged(s, "OK [CLOSED] Mailbox deleted");
	}
	int ret = store_mailbox_delete(s->store, name, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, ret == STORE_NOT_FOUND ? "No such mailbox" : error);
		return CMD_DONE;
	}
	session_changed(s);
	session_tagged(s, "OK", "Delete completed");
	return CMD_DONE;
}

enum imap_command_result cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	const char *error;
	if (cmd->arg_count != 2) {
		session_tagged(s, "BAD", "RENAME takes two mailbox names");
		return CMD_DONE;
	}
	const char *from = session_mailbox_arg(s, &cmd->args[0]);
	if (from == NULL)
		return CMD_DONE;
	const char *to = session_mailbox_arg(s, &cmd->args[1]);
	if (to == NULL)
		return CMD_DONE;
	if (strcasecmp(to, "INBOX") == 0) {
		session_tagged(s, "NO", "[ALREADYEXISTS] INBOX always exists");
		return CMD_DONE;
	}
	int ret = store_mailbox_rename(s->store, from, to, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, ret == STORE_NOT_FOUND ? "No such mailbox"
					     : ret == STORE_EXISTS   ? "Target mailbox exists"
								     : error);
		return CMD_DONE;
	}
	/* The selected mailbox (or a parent of it) may have been renamed. */
	size_t fl = strlen(from);
	if (s->selected && strcasecmp(from, "INBOX") != 0 && strncmp(s->mailbox, from, fl) == 0 &&
	    (s->mailbox[fl] == '\0' || s->mailbox[fl] == '/')) {
		size_t tl = strlen(to), rest = strlen(s->mailbox + fl);
		char *renamed = malloc(tl + rest + 1);
		if (renamed != NULL) {
			memcpy(renamed, to, tl);
			memcpy(renamed + tl, s->mailbox + fl, rest + 1);
			free(s->mailbox);
			s->mailbox = renamed;
		}
	}
	session_changed(s);
	session_tagged(s, "OK", "Rename completed");
	return CMD_DONE;
}

static enum imap_command_result subscribe(struct imap_session *s, const struct imap_command *cmd,
					  bool on)
{
	const char *error;
	if (cmd->arg_count != 1) {
		session_tagged(s, "BAD", "%s takes a mailbox name", cmd->name.ptr);
		return CMD_DONE;
	}
	const char *name = session_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	/* A name that is no mailbox is subscribed all the same (RFC 9051
	 * 6.3.7); LIST (SUBSCRIBED) shows it \NonExistent. */
	int ret = store_mailbox_subscribe(s->store, name, on, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	session_tagged(s, "OK", "%s completed", on ? "Subscribe" : "Unsubscribe");
	return CMD_DONE;
}

enum imap_command_result cmd_subscribe(struct imap_session *s, const struct imap_command *cmd)
{
	return subscribe(s, cmd, true);
}

enum imap_command_result cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd)
{
	return subscribe(s, cmd, false);
}

/* ---------- STATUS ---------- */

enum imap_command_result cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	unsigned items;
	const char *error;

	if (cmd->arg_count != 2 || status_items(&cmd->args[1], &items) < 0) {
		session_tagged(s, "BAD", "STATUS takes a mailbox and a list of items");
		return CMD_DONE;
	}
	const char *name = session_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	struct store_mailbox box;
	int ret = store_mailbox_get(s->store, name, &box, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, ret == STORE_NOT_FOUND ? "No such mailbox" : error);
		return CMD_DONE;
	}
	write_status(s, &box, items);
	free(box.name);
	session_tagged(s, "OK", "Status completed");
	return CMD_DONE;
}

/* ---------- APPEND ---------- */

/* parse_date_time reads RFC 9051 date-time "dd-Mon-yyyy hh:mm:ss +zzzz". */
static int parse_date_time(struct str v, int64_t *time_r)
{
	char text[40];
	unsigned day, year, hh, mm, ss, zone;
	char mon[4], sign;

	if (v.len < 25 || v.len >= sizeof(text))
		return -1;
	memcpy(text, v.ptr, v.len);
	text[v.len] = '\0';
	if (sscanf(text, "%2u-%3c-%4u %2u:%2u:%2u %c%4u", &day, mon, &year, &hh, &mm, &ss, &sign,
		   &zone) != 8 || (sign != '+' && sign != '-'))
		return -1;
	mon[3] = '\0';
	int month = date_month_number(str_c(mon));
	if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zone % 100 > 59 ||
	    year < 1900)
		return -1;
	int64_t t = date_time(year, month, (int)day, (int)hh, (int)mm, (int)ss);
	int64_t offset = (int64_t)(zone / 100 * 3600 + zone % 100 * 60);
	*time_r = sign == '+' ? t - offset : t + offset;
	return 0;
}

struct append_one {
	struct mime_parser *parser;
	struct imap_message_opaque *opaque; /* a message the parser refuses */
	char *catenated;                    /* CATENATE's message, malloc'd */
	struct iovec iov;
};

static void append_free(struct append_one *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		mime_parser_free(&a[i].parser);
		free(a[i].opaque);
		free(a[i].catenated);
	}
}

/* append_parse fills the store's message from a literal's content; one the
 * MIME parser refuses is stored as one opaque part (as delivery does), never
 * refused. */
static int append_parse(struct append_one *a, struct str content, struct store_append_msg *m)
{
	struct mime_limits limits;
	const struct mime_message *msg = NULL;
	const char *error;

	mime_limits_default(&limits);
	a->iov.iov_base = (void *)content.ptr;
	a->iov.iov_len = content.len;
	a->parser = mime_parser_new(&limits);
	if (a->parser != NULL && mime_parser_feed(a->parser, content.ptr, content.len, &error) == 0 &&
	    mime_parser_finish(a->parser, &msg, &error) == 0) {
		m->msg = msg;
	} else {
		a->opaque = malloc(sizeof(*a->opaque));
		if (a->opaque == NULL)
			return -1;
		imap_message_opaque(a->opaque, content.len);
		m->msg = &a->opaque->msg;
	}
	m->iov = &a->iov;
	m->iovcnt = 1;
	return 0;
}

/* append_target_exists: false, with NO [TRYCREATE] or the store's
 * failure written, when APPEND's mailbox is not there. */
static bool append_target_exists(struct imap_session *s, const char *name)
{
	struct store_mailbox box;
	const char *error;
	int ret = store_mailbox_get(s->store, name, &box, &error);
	if (ret == STORE_OK) {
		free(box.name);
		return true;
	}
	if (ret == STORE_NOT_FOUND)
		session_tagged(s, "NO", "[TRYCREATE] No such mailbox");
	else
		session_store_failed(s, ret, error);
	return false;
}

enum imap_command_result cmd_append(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	size_t argc = cmd->arg_count;
	struct store_append_msg *msgs = pool_alloc(s->pool, APPEND_MAX_MESSAGES * sizeof(*msgs));
	struct append_one *parts = pool_alloc(s->pool, APPEND_MAX_MESSAGES * sizeof(*parts));
	size_t n = 0;
	const char *error = "";
	/* What CATENATE messages may add up to: what literals may. */
	uint64_t budget = s->settings.max_append + IMAP_DEFAULT_MAX_COMMAND;
	bool target_checked = false;

	if (argc < 2 || msgs == NULL || parts == NULL) {
		session_tagged(s, "BAD", "APPEND takes a mailbox and a message");
		return CMD_DONE;
	}
	memset(parts, 0, APPEND_MAX_MESSAGES * sizeof(*parts));
	const char *name = session_mailbox_arg(s, &args[0]);
	if (name == NULL)
		return CMD_DONE;
	for (size_t i = 1; i < argc;) {
		struct store_append_msg *m = &msgs[n];
		memset(m, 0, sizeof(*m));
		m->internal_date = (int64_t)time(NULL);
		if (n == APPEND_MAX_MESSAGES) {
			append_free(parts, n);
			session_tagged(s, "NO", "[LIMIT] Too many messages in one APPEND");
			return CMD_DONE;
		}
		if (args[i].type == IMAP_ARG_LIST) {
			int ret = imap_flags_parse(s->store, &args[i], true, &m->flags, &m->keywords,
						   &error);
			if (ret != STORE_OK) {
				append_free(parts, n);
				if (ret == IMAP_FLAGS_BAD)
					session_tagged(s, "BAD", "%s", error);
				else
					session_store_failed(s, ret, error);
				return CMD_DONE;
			}
			i++;
		}
		if (i < argc && args[i].type == IMAP_ARG_STRING) {
			if (parse_date_time(args[i].text, &m->internal_date) < 0) {
				append_free(parts, n);
				session_tagged(s, "BAD", "Invalid date-time");
				return CMD_DONE;
			}
			i++;
		}
		const struct imap_arg *lit = i < argc ? &args[i] : NULL;
		if (lit != NULL && imap_arg_is_atom(lit, "CATENATE") && i + 1 < argc &&
		    args[i + 1].type == IMAP_ARG_LIST) {
			/* RFC 4469 5: a missing mailbox is TRYCREATE, whatever the
			 * URLs say. */
			if (!target_checked && !append_target_exists(s, name)) {
				append_free(parts, n);
				return CMD_DONE;
			}
			target_checked = true;
			struct append_one *a = &parts[n];
			size_t len;
			if (imap_catenate_build(s, args[i + 1].list, args[i + 1].list_count, &budget,
						&a->catenated, &len) < 0) {
				append_free(parts, n);
				return CMD_DONE;
			}
			i += 2;
			if (append_parse(a, str_from(a->catenated, len), m) < 0) {
				append_free(parts, n + 1);
				session_tagged(s, "NO", "[LIMIT] Out of memory");
				return CMD_DONE;
			}
			n++;
			continue;
		}
		if (lit != NULL && imap_arg_is_atom(lit, "UTF8") && i + 1 < argc) {
			const struct imap_arg *inner;
			size_t ni;
			if (!imap_arg_get_list(&args[i + 1], &inner, &ni) || ni != 1) {
				append_free(parts, n);
				session_tagged(s, "BAD", "Invalid UTF8 APPEND");
				return CMD_DONE;
			}
			lit = &inner[0];
			i++;
		}
		if (lit == NULL || lit->type != IMAP_ARG_LITERAL) {
			append_free(parts, n);
			session_tagged(s, "BAD", "APPEND needs the message as a literal");
			return CMD_DONE;
		}
		i++;
		if (lit->text.len == 0) {
			append_free(parts, n);
			session_tagged(s, "NO", "[CANNOT] An empty message cannot be stored");
			return CMD_DONE;
		}
		if (append_parse(&parts[n], lit->text, m) < 0) {
			append_free(parts, n + 1);
			session_tagged(s, "NO", "[LIMIT] Out of memory");
			return CMD_DONE;
		}
		n++;
	}
	uint32_t uidvalidity = 0;
	uint32_t *uids = pool_alloc(s->pool, n * sizeof(*uids));
	int ret = uids == NULL ? STORE_ERROR
			       : store_append(s->store, name, msgs, n, &uidvalidity, uids, &error);
	append_free(parts, n);
	if (ret == STORE_NOT_FOUND) {
		session_tagged(s, "NO", "[TRYCREATE] No such mailbox");
		return CMD_DONE;
	}
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	session_changed(s);
	if (s->cb->copied != NULL)
		s->cb->copied(s->ctx, s->store, "", name, uids, n);
	struct buf code;
	buf_init(&code, 64 + n * 12);
	for (size_t i = 0; i < n; i++)
		buf_printf(&code, "%s%u", i > 0 ? "," : "", uids[i]);
	session_tagged(s, "OK", "[APPENDUID %u %.*s] Append completed", uidvalidity, (int)code.len,
		       code.data != NULL ? code.data : "");
	buf_free(&code);
	return CMD_DONE;
}

/* ---------- NAMESPACE and QUOTA ---------- */

enum imap_command_result cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	session_tagged(s, "OK", "Namespace completed");
	return CMD_DONE;
}

static int write_quota(struct imap_session *s)
{
	uint64_t limit, used;
	const char *error;
	int ret = store_quota_get(s->store, &limit, &used, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return -1;
	}
	/* RFC 9208 5.1: STORAGE counts units of 1024 octets. */
	if (limit > 0)
		session_untagged(s, "QUOTA \"\" (STORAGE %llu %llu)",
				 (unsigned long long)((used + 1023) / 1024),
				 (unsigned long long)(limit / 1024));
	else
		session_untagged(s, "QUOTA \"\" ()");
	return 0;
}

enum imap_command_result cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	struct store_mailbox box;
	const char *error;

	if (cmd->arg_count != 1) {
		session_tagged(s, "BAD", "GETQUOTAROOT takes a mailbox name");
		return CMD_DONE;
	}
	const char *name = session_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	int ret = store_mailbox_get(s->store, name, &box, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, ret == STORE_NOT_FOUND ? "No such mailbox" : error);
		return CMD_DONE;
	}
	buf_append(s->out, "* QUOTAROOT ", 12);
	session_write_mailbox(s, box.name);
	buf_append(s->out, " \"\"\r\n", 5);
	free(box.name);
	if (write_quota(s) == 0)
		session_tagged(s, "OK", "Getquotaroot completed");
	return CMD_DONE;
}

enum imap_command_result cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	struct str root;
	if (cmd->arg_count != 1 || !imap_arg_get_astring(&cmd->args[0], &root)) {
		session_tagged(s, "BAD", "GETQUOTA takes a quota root");
		return CMD_DONE;
	}
	if (root.len != 0) {
		session_tagged(s, "NO", "[NONEXISTENT] No such quota root");
		return CMD_DONE;
	}
	if (write_quota(s) == 0)
		session_tagged(s, "OK", "Getquota completed");
	return CMD_DONE;
}

enum imap_command_result cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_tagged(s, "NO", "[NOPERM] Quotas are set by the administrator");
	return CMD_DONE;
}
