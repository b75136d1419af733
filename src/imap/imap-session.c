/*
 * imap-session: the command loop and the selected state (see
 * imap-session.h and imap-session-private.h).
 */
#include "imap-session-private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-capability.h"
#include "imap-flags.h"
#include "imap-search-run.h"
#include "imap-seqset.h"
#include "imap-utf7.h"
#include "lib/log.h"
#include "mail/imap-quote.h"

/* Messages read from the store per FETCH step. */
#define FETCH_STEP_MAX 256
/* A step's UID span may be this many times its message count (so a
 * sparse set does not read the whole mailbox for a few messages). */
#define FETCH_SPAN_FACTOR 4
/* Literals outside APPEND: passwords, search strings, mailbox names. */
#define SESSION_MAX_LITERAL IMAP_DEFAULT_MAX_LITERAL

struct imap_fetch_job {
	struct imap_fetch_plan *plan;
	struct imap_fetch_needs needs;
	uint32_t *uids;
	uint32_t *seqs;
	size_t count, next;
	bool uid;
	bool failed;
};

typedef enum imap_command_result command_fn(struct imap_session *s,
					    const struct imap_command *cmd);

/* ---------- writing answers ---------- */

void session_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	buf_append(s->out, "* ", 2);
	va_start(ap, fmt);
	buf_vprintf(s->out, fmt, ap);
	va_end(ap);
	buf_append(s->out, "\r\n", 2);
}

static bool command_allows_expunge(const char *name)
{
	/* RFC 9051 7.5.1: not during FETCH, STORE and SEARCH (UID forms allow it). */
	return strcmp(name, "FETCH") != 0 && strcmp(name, "STORE") != 0 &&
	       strcmp(name, "SEARCH") != 0;
}

void session_tagged(struct imap_session *s, const char *status, const char *fmt, ...)
{
	va_list ap;

	if (s->selected && strcmp(status, "BAD") != 0)
		session_sync(s, !s->no_expunge);
	buf_printf(s->out, "%s %s ", s->tag[0] != '\0' ? s->tag : "*", status);
	va_start(ap, fmt);
	buf_vprintf(s->out, fmt, ap);
	va_end(ap);
	buf_append(s->out, "\r\n", 2);
}

void session_store_failed(struct imap_session *s, int status, const char *error)
{
	switch (status) {
	case STORE_NOT_FOUND:
		session_tagged(s, "NO", "[NONEXISTENT] %s", error);
		return;
	case STORE_EXISTS:
		session_tagged(s, "NO", "[ALREADYEXISTS] %s", error);
		return;
	case STORE_OVER_QUOTA:
		session_tagged(s, "NO", "[OVERQUOTA] %s", error);
		return;
	case STORE_NOT_ALLOWED:
		session_tagged(s, "NO", "[CANNOT] %s", error);
		return;
	case STORE_LIMIT:
		session_tagged(s, "NO", "[LIMIT] %s", error);
		return;
	default:
		log_error("IMAP: store failed: %s", error);
		session_tagged(s, "NO", "[SERVERBUG] Internal error, try again later");
	}
}

const char *session_decode_name(struct imap_session *s, struct str name, bool *invalid_r)
{
	*invalid_r = false;
	if (s->utf8)
		return pool_strndup(s->pool, name.ptr, name.len);
	struct buf b;
	buf_init(&b, 4 * name.len + 16);
	if (imap_utf7_decode(name, &b) < 0) {
		/* Lenient with an 8-bit name from a client that did not enable
		 * UTF-8; plain ASCII that is not modified UTF-7 is invalid. */
		bool eight_bit = false;
		for (size_t i = 0; i < name.len; i++)
			eight_bit |= (unsigned char)name.ptr[i] >= 0x80;
		*invalid_r = !eight_bit;
		buf_reset(&b);
		buf_append(&b, name.ptr, name.len);
	}
	const char *r = pool_strndup(s->pool, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return r;
}

const char *session_mailbox_arg(struct imap_session *s, const struct imap_arg *arg)
{
	struct str name;

	if (!imap_arg_get_astring(arg, &name) || name.len == 0 || memchr(name.ptr, 0, name.len)) {
		session_tagged(s, "BAD", "Invalid mailbox name");
		return NULL;
	}
	/* A trailing separator names the same mailbox (CREATE "a/"). */
	while (name.len > 1 && name.ptr[name.len - 1] == '/')
		name.len--;
	bool invalid;
	const char *r = session_decode_name(s, name, &invalid);
	if (invalid) {
		session_tagged(s, "NO", "[CANNOT] Invalid modified UTF-7 in mailbox name");
		return NULL;
	}
	if (r == NULL)
		session_tagged(s, "NO", "[LIMIT] Out of memory");
	return r;
}

int session_write_mailbox(struct imap_session *s, const char *name)
{
	struct str n = str_c(name);
	if (s->utf8)
		return imap_quote_string(s->out, n);
	struct buf b;
	buf_init(&b, 8 * n.len + 16);
	int ret = imap_utf7_encode(n, &b);
	if (ret == 0)
		ret = imap_quote_string(s->out, buf_str(&b));
	buf_free(&b);
	return ret;
}

void session_changed(struct imap_session *s)
{
	if (s->cb->changed != NULL)
		s->cb->changed(s->ctx);
}

static void session_close(struct imap_session *s)
{
	if (s->closed)
		return;
	s->closed = true;
	s->cb->close(s->ctx);
}

/* ---------- the selected mailbox view ---------- */

/* view_find gives the index of uid in the view, or -1. */
static long view_find(const struct imap_session *s, uint32_t uid)
{
	size_t lo = 0, hi = s->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->count && s->uids[lo] == uid ? (long)lo : -1;
}

static size_t view_lower_bound(const struct imap_session *s, uint32_t uid)
{
	size_t lo = 0, hi = s->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int view_reserve(struct imap_session *s, size_t n)
{
	if (n <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 64;
	while (cap < n)
		cap *= 2;
	uint32_t *u = realloc(s->uids, cap * sizeof(*u));
	if (u == NULL)
		return -1;
	s->uids = u;
	s->cap = cap;
	return 0;
}

/* view_remove drops the message at index i. */
static void view_remove(struct imap_session *s, size_t i)
{
	memmove(&s->uids[i], &s->uids[i + 1], (s->count - i - 1) * sizeof(*s->uids));
	s->count--;
}

/* is_recent: is uid \Recent for this session? */
bool session_is_recent(const struct imap_session *s, uint32_t uid)
{
	for (size_t i = 0; i < s->recent_count; i++)
		if (uid >= s->recent[i].first && uid < s->recent[i].next)
			return true;
	return false;
}

/* claim_recent takes the \Recent of the messages nobody has seen yet. */
static void claim_recent(struct imap_session *s)
{
	uint32_t first, next;
	const char *error;

	if (s->readonly ||
	    store_mailbox_claim_recent(s->store, s->mailbox, &first, &next, &error) != STORE_OK ||
	    first >= next)
		return;
	if (s->recent_count > 0 && s->recent[s->recent_count - 1].next == first) {
		s->recent[s->recent_count - 1].next = next;
		return;
	}
	if (s->recent_count == IMAP_RECENT_RANGES) {
		memmove(&s->recent[0], &s->recent[1], (IMAP_RECENT_RANGES - 1) * sizeof(s->recent[0]));
		s->recent_count--;
	}
	s->recent[s->recent_count].first = first;
	s->recent[s->recent_count++].next = next;
}

static size_t recent_in_view(const struct imap_session *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->recent_count; i++)
		n += view_lower_bound(s, s->recent[i].next) - view_lower_bound(s, s->recent[i].first);
	return n;
}

static bool own_modseq(const struct imap_session *s, uint64_t modseq)
{
	for (size_t i = 0; i < s->own_count; i++)
		if (s->own_modseqs[i] == modseq)
			return true;
	return false;
}

static void remember_own(struct imap_session *s, uint64_t modseq)
{
	if (s->own_count == IMAP_OWN_MODSEQS)
		memmove(s->own_modseqs, s->own_modseqs + 1, (IMAP_OWN_MODSEQS - 1) * sizeof(uint64_t));
	else
		s->own_count++;
	s->own_modseqs[s->own_count - 1] = modseq;
}

static int write_uid_set(struct buf *out, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0 && buf_putc(out, ',') < 0)
			return -1;
		if (j == i ? buf_printf(out, "%u", uids[i]) < 0
			   : buf_printf(out, "%u:%u", uids[i], uids[j]) < 0)
			return -1;
		i = j + 1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* report_expunges tells the client of the pending expunges. */
static void report_expunges(struct imap_session *s)
{
	if (s->pending_count == 0)
		return;
	qsort(s->pending_expunges, s->pending_count, sizeof(uint32_t), cmp_u32);
	if (s->qresync) {
		buf_append(s->out, "* VANISHED ", 11);
		write_uid_set(s->out, s->pending_expunges, s->pending_count);
		buf_append(s->out, "\r\n", 2);
	}
	for (size_t k = s->pending_count; k-- > 0;) {
		long i = view_find(s, s->pending_expunges[k]);
		if (i < 0)
			continue;
		if (!s->qresync)
			session_untagged(s, "%ld EXPUNGE", i + 1);
		view_remove(s, (size_t)i);
	}
	s->pending_count = 0;
}

static void write_flags_fetch(struct imap_session *s, uint32_t seq, const struct store_message *m,
			      bool with_uid)
{
	const char *const *names = NULL;
	size_t n = 0;
	const char *error;

	if (store_keyword_list(s->store, &names, &n, &error) < 0)
		n = 0;
	buf_printf(s->out, "* %u FETCH (", seq);
	if (with_uid)
		buf_printf(s->out, "UID %u ", m->uid);
	buf_append(s->out, "FLAGS ", 6);
	imap_flags_write(s->out, m->flags | (session_is_recent(s, m->uid) ? STORE_FLAG_RECENT : 0),
			 m->keywords, names, n);
	if (s->condstore)
		buf_printf(s->out, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	buf_append(s->out, ")\r\n", 3);
}

/* write_keyword_list writes " $a $b" for the account's keywords. */
static size_t write_keyword_list(struct imap_session *s)
{
	const char *const *names = NULL;
	size_t n = 0;
	const char *error;
	if (store_keyword_list(s->store, &names, &n, &error) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL)
			buf_printf(s->out, " %s", names[i]);
	return n;
}

static void announce_permanent(struct imap_session *s)
{
	if (s->readonly) {
		session_untagged(s, "OK [PERMANENTFLAGS ()] Read-only mailbox");
		return;
	}
	buf_append(s->out, "* OK [PERMANENTFLAGS (" IMAP_SYSTEM_FLAGS,
		   22 + sizeof(IMAP_SYSTEM_FLAGS) - 1);
	size_t n = write_keyword_list(s);
	buf_printf(s->out, "%s)] Flags permitted\r\n", n < STORE_KEYWORDS_MAX ? " \\*" : "");
}

/*
 * announce_flags sends FLAGS (and with permanent, PERMANENTFLAGS) when the
 * account has keywords the client has not been told of: RFC 3501 7.2.6
 * wants a keyword in FLAGS before a FETCH shows it.
 */
static void announce_flags(struct imap_session *s, bool permanent)
{
	const char *const *names = NULL;
	size_t n = 0;
	const char *error;
	if (store_keyword_list(s->store, &names, &n, &error) < 0 ||
	    (n <= s->keywords_known && s->keywords_known > 0))
		return;
	buf_append(s->out, "* FLAGS (" IMAP_SYSTEM_FLAGS, 9 + sizeof(IMAP_SYSTEM_FLAGS) - 1);
	write_keyword_list(s);
	buf_append(s->out, ")\r\n", 3);
	if (permanent)
		announce_permanent(s);
	s->keywords_known = n > 0 ? n : 1;
}

static int add_pending(struct imap_session *s, uint32_t uid)
{
	uint32_t *p = realloc(s->pending_expunges, (s->pending_count + 1) * sizeof(*p));
	if (p == NULL)
		return -1;
	s->pending_expunges = p;
	p[s->pending_count++] = uid;
	return 0;
}

void session_sync(struct imap_session *s, bool expunge)
{
	struct store_message *changed = NULL;
	uint32_t *expunged = NULL;
	size_t nchanged = 0, nexpunged = 0;
	uint64_t highest;
	const char *error;

	if (!s->selected)
		return;
	announce_flags(s, true);
	int ret = store_changes(s->store, s->mailbox, s->modseq, &changed, &nchanged, &expunged,
				&nexpunged, &highest, &error);
	if (ret == STORE_NOT_FOUND) {
		session_untagged(s, "BYE The selected mailbox was deleted");
		session_unselect(s);
		session_close(s);
		return;
	}
	if (ret != STORE_OK) {
		log_error("IMAP: reading changes failed: %s", error);
		return;
	}
	for (size_t i = 0; i < nexpunged; i++)
		if (view_find(s, expunged[i]) >= 0)
			add_pending(s, expunged[i]);
	uint32_t maxuid = s->count > 0 ? s->uids[s->count - 1] : 0;
	size_t fresh = 0;
	for (size_t i = 0; i < nchanged; i++) {
		const struct store_message *m = &changed[i];
		if (m->uid > maxuid) {
			fresh++;
			continue;
		}
		long idx = view_find(s, m->uid);
		if (idx >= 0 && !own_modseq(s, m->modseq))
			write_flags_fetch(s, (uint32_t)idx + 1, m, true);
	}
	if (expunge)
		report_expunges(s);
	if (fresh > 0 && view_reserve(s, s->count + fresh) == 0) {
		for (size_t i = 0; i < nchanged; i++)
			if (changed[i].uid > maxuid)
				s->uids[s->count++] = changed[i].uid;
		session_untagged(s, "%zu EXISTS", s->count);
		if (!s->rev2) {
			claim_recent(s);
			session_untagged(s, "%zu RECENT", recent_in_view(s));
		}
	}
	s->modseq = highest > s->modseq ? highest : s->modseq;
	s->own_count = 0;
	free(changed);
	free(expunged);
}

void session_unselect(struct imap_session *s)
{
	s->selected = false;
	free(s->mailbox);
	s->mailbox = NULL;
	s->count = 0;
	s->pending_count = 0;
	s->own_count = 0;
	free(s->saved);
	s->saved = NULL;
	s->saved_count = 0;
}

/* ---------- sequence sets ---------- */

/*
 * resolve_set turns a sequence set (seq numbers, or UIDs when uid) into
 * the view's messages, ascending: UIDs and sequence numbers from the
 * command pool.  Returns 0, or -1 after answering BAD.
 */
static int resolve_set(struct imap_session *s, const struct imap_arg *arg, bool uid,
		       uint32_t **uids_r, uint32_t **seqs_r, size_t *count_r)
{
	struct imap_seqset set;
	const char *error;

	if (arg->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(s->pool, arg->text, 0, &set, &error) < 0) {
		session_tagged(s, "BAD", "Invalid sequence set");
		return -1;
	}
	uint32_t *uids = pool_alloc(s->pool, (s->count + 1) * sizeof(*uids));
	uint32_t *seqs = pool_alloc(s->pool, (s->count + 1) * sizeof(*seqs));
	if (uids == NULL || seqs == NULL) {
		session_tagged(s, "NO", "[LIMIT] Too many messages");
		return -1;
	}
	size_t n = 0;
	if (set.saved) {
		for (size_t i = 0; i < s->count; i++)
			if (bsearch(&s->uids[i], s->saved, s->saved_count, sizeof(uint32_t), cmp_u32)) {
				uids[n] = s->uids[i];
				seqs[n++] = (uint32_t)i + 1;
			}
	} else if (!uid) {
		bool star = false;
		for (size_t r = 0; r < set.count; r++)
			star |= set.ranges[r].first == IMAP_SEQ_STAR || set.ranges[r].last == IMAP_SEQ_STAR;
		imap_seqset_normalize(&set, (uint32_t)s->count);
		for (size_t r = 0; r < set.count; r++) {
			if (set.ranges[r].last > s->count) {
				if (s->count == 0 && star)
					break;
				session_tagged(s, "BAD", "Invalid message sequence number");
				return -1;
			}
			for (uint32_t q = set.ranges[r].first; q <= set.ranges[r].last && q != 0; q++) {
				uids[n] = s->uids[q - 1];
				seqs[n++] = q;
				if (q == UINT32_MAX)
					break;
			}
		}
	} else {
		imap_seqset_normalize(&set, s->count > 0 ? s->uids[s->count - 1] : 0);
		for (size_t r = 0; r < set.count; r++) {
			for (size_t i = view_lower_bound(s, set.ranges[r].first);
			     i < s->count && s->uids[i] <= set.ranges[r].last; i++) {
				uids[n] = s->uids[i];
				seqs[n++] = (uint32_t)i + 1;
			}
		}
	}
	*uids_r = uids;
	if (seqs_r != NULL)
		*seqs_r = seqs;
	*count_r = n;
	return 0;
}

/*
 * load_messages reads the current state of uids[0..n) (ascending) from
 * the store in spans; msgs_r[i].uid is 0 for a message no longer there.
 */
static int load_messages(struct imap_session *s, const uint32_t *uids, size_t n,
			 struct store_message *msgs_r, const char **error_r)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i + 1;
		while (j < n && j - i < FETCH_STEP_MAX * 4 &&
		       (uint64_t)uids[j] - uids[i] < (uint64_t)(j - i + 1) * FETCH_SPAN_FACTOR + 64)
			j++;
		struct store_message *list = NULL;
		size_t count = 0;
		int ret = store_message_range(s->store, s->mailbox, uids[i], uids[j - 1], &list,
					      &count, error_r);
		if (ret != STORE_OK)
			return ret;
		size_t k = 0;
		for (size_t x = i; x < j; x++) {
			while (k < count && list[k].uid < uids[x])
				k++;
			if (k < count && list[k].uid == uids[x])
				msgs_r[x] = list[k];
			else
				memset(&msgs_r[x], 0, sizeof(msgs_r[x]));
		}
		free(list);
		i = j;
	}
	return STORE_OK;
}

/* condstore_enable: RFC 7162 3.1: the first CONDSTORE-enabling command of
 * a selected mailbox tells the client the mailbox's HIGHESTMODSEQ. */
static void condstore_enable(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->selected)
		session_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
				 (unsigned long long)s->modseq);
}

/* ---------- commands of any state ---------- */

static enum imap_command_result cmd_capability(struct imap_session *s,
					       const struct imap_command *cmd)
{
	(void)cmd;
	session_untagged(s, "CAPABILITY %s", IMAP_CAPABILITY_AUTH);
	session_tagged(s, "OK", "Capability completed");
	return CMD_DONE;
}

static enum imap_command_result cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	session_tagged(s, "OK", "%s completed", cmd->name.ptr);
	return CMD_DONE;
}

static enum imap_command_result cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_untagged(s, "BYE Logging out");
	bool selected = s->selected;
	s->selected = false;
	session_tagged(s, "OK", "Logout completed");
	s->selected = selected;
	session_close(s);
	return CMD_DONE;
}

static enum imap_command_result cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_untagged(s, "ID (\"name\" \"Ravelin\")");
	session_tagged(s, "OK", "ID completed");
	return CMD_DONE;
}

static enum imap_command_result cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	struct buf *o = s->out;
	if (cmd->arg_count == 0) {
		session_tagged(s, "BAD", "ENABLE needs a capability");
		return CMD_DONE;
	}
	buf_append(o, "* ENABLED", 9);
	for (size_t i = 0; i < cmd->arg_count; i++) {
		const struct imap_arg *a = &cmd->args[i];
		const char *name = NULL;
		if (imap_arg_is_atom(a, "CONDSTORE") && !s->condstore) {
			s->condstore = true;
			name = "CONDSTORE";
		} else if (imap_arg_is_atom(a, "QRESYNC") && !s->qresync) {
			s->qresync = s->condstore = true;
			name = "QRESYNC";
		} else if (imap_arg_is_atom(a, "IMAP4rev2") && !s->rev2) {
			s->rev2 = s->utf8 = true;
			name = "IMAP4rev2";
		} else if (imap_arg_is_atom(a, "UTF8=ACCEPT") && !(s->utf8 && !s->rev2)) {
			s->utf8 = true;
			name = "UTF8=ACCEPT";
		}
		if (name != NULL)
			buf_printf(o, " %s", name);
	}
	buf_append(o, "\r\n", 2);
	session_tagged(s, "OK", "Enabled");
	return CMD_DONE;
}

/* ---------- SELECT / EXAMINE ---------- */

static void write_qresync_answer(struct imap_session *s, uint64_t since,
				 const struct imap_arg *known)
{
	struct store_message *changed = NULL;
	uint32_t *expunged = NULL;
	size_t nchanged = 0, nexpunged = 0;
	uint64_t highest;
	const char *error;

	if (store_changes(s->store, s->mailbox, since, &changed, &nchanged, &expunged, &nexpunged,
			  &highest, &error) != STORE_OK)
		return;
	struct imap_seqset set = { 0 };
	bool filter = false;
	if (known != NULL && known->type == IMAP_ARG_ATOM &&
	    imap_seqset_parse(s->pool, known->text, 0, &set, &error) == 0 && !set.saved) {
		imap_seqset_normalize(&set, UINT32_MAX);
		filter = true;
	}
	size_t n = 0;
	for (size_t i = 0; i < nexpunged; i++)
		if (!filter || imap_seqset_contains(&set, expunged[i]))
			expunged[n++] = expunged[i];
	if (n > 0) {
		qsort(expunged, n, sizeof(uint32_t), cmp_u32);
		buf_append(s->out, "* VANISHED (EARLIER) ", 21);
		write_uid_set(s->out, expunged, n);
		buf_append(s->out, "\r\n", 2);
	}
	for (size_t i = 0; i < nchanged; i++) {
		long idx = view_find(s, changed[i].uid);
		if (idx >= 0)
			write_flags_fetch(s, (uint32_t)idx + 1, &changed[i], true);
	}
	free(changed);
	free(expunged);
}

static enum imap_command_result cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	bool examine = strcmp(cmd->name.ptr, "EXAMINE") == 0;
	const struct imap_arg *qresync = NULL;

	if (cmd->arg_count < 1 || cmd->arg_count > 2) {
		session_tagged(s, "BAD", "%s takes a mailbox and optional parameters", cmd->name.ptr);
		return CMD_DONE;
	}
	if (cmd->arg_count == 2) {
		const struct imap_arg *params;
		size_t np;
		if (!imap_arg_get_list(&cmd->args[1], &params, &np)) {
			session_tagged(s, "BAD", "Invalid SELECT parameters");
			return CMD_DONE;
		}
		for (size_t i = 0; i < np; i++) {
			if (imap_arg_is_atom(&params[i], "CONDSTORE")) {
				s->condstore = true;
			} else if (imap_arg_is_atom(&params[i], "QRESYNC") && i + 1 < np &&
				   params[i + 1].type == IMAP_ARG_LIST) {
				if (!s->qresync) {
					session_tagged(s, "BAD", "QRESYNC is not enabled");
					return CMD_DONE;
				}
				qresync = &params[++i];
			} else {
				session_tagged(s, "BAD", "Unknown SELECT parameter");
				return CMD_DONE;
			}
		}
	}
	const char *name = session_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	if (s->selected) {
		session_unselect(s);
		session_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}

	struct store_mailbox box;
	struct store_message *list = NULL;
	size_t count = 0;
	const char *error;
	int ret = store_mailbox_get(s->store, name, &box, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, ret == STORE_NOT_FOUND ? "No such mailbox" : error);
		return CMD_DONE;
	}
	ret = store_message_list(s->store, box.name, &list, &count, &error);
	if (ret != STORE_OK || view_reserve(s, count + 1) < 0 ||
	    (s->mailbox = strdup(box.name)) == NULL) {
		free(list);
		free(box.name);
		session_store_failed(s, STORE_ERROR, ret != STORE_OK ? error : "out of memory");
		return CMD_DONE;
	}
	uint32_t first_unseen = 0;
	uint64_t highest = box.highestmodseq;
	for (size_t i = 0; i < count; i++) {
		s->uids[i] = list[i].uid;
		if (first_unseen == 0 && (list[i].flags & STORE_FLAG_SEEN) == 0)
			first_unseen = (uint32_t)i + 1;
		if (list[i].modseq > highest)
			highest = list[i].modseq;
	}
	s->count = count;
	free(list);
	s->selected = true;
	s->readonly = examine;
	s->uidvalidity = box.uidvalidity;
	s->modseq = highest;
	s->pending_count = 0;
	s->own_count = 0;
	s->recent_count = 0;
	if (!examine) {
		claim_recent(s);
	} else if (box.recent > 0 && box.recent <= s->count) {
		/* EXAMINE shows what is recent without taking it. */
		s->recent[0].first = s->uids[s->count - box.recent];
		s->recent[0].next = box.uidnext;
		s->recent_count = 1;
	}

	s->keywords_known = 0;
	announce_flags(s, false);
	session_untagged(s, "%zu EXISTS", s->count);
	if (!s->rev2) {
		session_untagged(s, "%zu RECENT", recent_in_view(s));
		if (first_unseen != 0)
			session_untagged(s, "OK [UNSEEN %u] First unseen", first_unseen);
	}
	announce_permanent(s);
	session_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", box.uidvalidity);
	session_untagged(s, "OK [UIDNEXT %u] Predicted next UID", box.uidnext);
	if (s->condstore)
		session_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)highest);
	if (s->rev2) {
		buf_append(s->out, "* LIST () \"/\" ", 14);
		session_write_mailbox(s, box.name);
		buf_append(s->out, "\r\n", 2);
	}
	free(box.name);
	if (qresync != NULL) {
		const struct imap_arg *q;
		size_t nq;
		uint64_t uv = 0, since = 0;
		imap_arg_get_list(qresync, &q, &nq);
		if (nq < 2 || q[0].type != IMAP_ARG_ATOM || q[1].type != IMAP_ARG_ATOM ||
		    str_to_u64(q[0].text, UINT32_MAX, &uv) < 0 ||
		    str_to_u64(q[1].text, INT64_MAX, &since) < 0) {
			session_unselect(s);
			session_tagged(s, "BAD", "Invalid QRESYNC parameters");
			return CMD_DONE;
		}
		if (uv == s->uidvalidity)
			write_qresync_answer(s, since, nq >= 3 ? &q[2] : NULL);
	}
	session_tagged(s, "OK", "[%s] %s completed", examine ? "READ-ONLY" : "READ-WRITE",
		       cmd->name.ptr);
	return CMD_DONE;
}

static enum imap_command_result cmd_unselect(struct imap_session *s,
					     const struct imap_command *cmd)
{
	bool close = strcmp(cmd->name.ptr, "CLOSE") == 0;
	const char *error;

	if (close && !s->readonly) {
		uint32_t *del = NULL;
		size_t n = 0;
		struct store_message *msgs = calloc(s->count + 1, sizeof(*msgs));
		if (msgs != NULL && load_messages(s, s->uids, s->count, msgs, &error) == STORE_OK) {
			del = calloc(s->count + 1, sizeof(*del));
			for (size_t i = 0; del != NULL && i < s->count; i++)
				if (msgs[i].uid != 0 && (msgs[i].flags & STORE_FLAG_DELETED))
					del[n++] = msgs[i].uid;
			if (n > 0 && store_expunge(s->store, s->mailbox, del, n, &error) == STORE_OK)
				session_changed(s);
		}
		free(msgs);
		free(del);
	}
	session_unselect(s);
	session_tagged(s, "OK", "%s completed", cmd->name.ptr);
	return CMD_DONE;
}

/* ---------- EXPUNGE ---------- */

static enum imap_command_result cmd_expunge(struct imap_session *s,
					    const struct imap_command *cmd)
{
	bool uid = strcmp(cmd->name.ptr, "UID EXPUNGE") == 0;
	uint32_t *uids = s->uids;
	size_t n = s->count;
	const char *error;

	if (s->readonly) {
		session_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return CMD_DONE;
	}
	if (uid) {
		if (cmd->arg_count != 1) {
			session_tagged(s, "BAD", "UID EXPUNGE takes a UID set");
			return CMD_DONE;
		}
		if (resolve_set(s, &cmd->args[0], true, &uids, NULL, &n) < 0)
			return CMD_DONE;
	} else if (cmd->arg_count != 0) {
		session_tagged(s, "BAD", "EXPUNGE takes no arguments");
		return CMD_DONE;
	}
	struct store_message *msgs = pool_alloc(s->pool, (n + 1) * sizeof(*msgs));
	uint32_t *del = pool_alloc(s->pool, (n + 1) * sizeof(*del));
	if (msgs == NULL || del == NULL) {
		session_tagged(s, "NO", "[LIMIT] Too many messages");
		return CMD_DONE;
	}
	int ret = load_messages(s, uids, n, msgs, &error);
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	size_t nd = 0;
	for (size_t i = 0; i < n; i++)
		if (msgs[i].uid != 0 && (msgs[i].flags & STORE_FLAG_DELETED))
			del[nd++] = msgs[i].uid;
	if (nd > 0) {
		ret = store_expunge(s->store, s->mailbox, del, nd, &error);
		if (ret != STORE_OK) {
			session_store_failed(s, ret, error);
			return CMD_DONE;
		}
		for (size_t i = 0; i < nd; i++)
			add_pending(s, del[i]);
		report_expunges(s);
		session_changed(s);
	}
	session_tagged(s, "OK", "Expunge completed");
	return CMD_DONE;
}

/* ---------- FETCH ---------- */

static void job_free(struct imap_session *s)
{
	free(s->job);
	s->job = NULL;
}

/* fetch_step answers the next messages of the running FETCH. */
static void fetch_step(struct imap_session *s)
{
	struct imap_fetch_job *job = s->job;
	const char *error = "";
	size_t start = job->next;
	size_t end = start;

	while (end < job->count && end - start < FETCH_STEP_MAX &&
	       (uint64_t)job->uids[end] - job->uids[start] <
		       (uint64_t)(end - start + 1) * FETCH_SPAN_FACTOR + 64)
		end++;
	struct store_message *list = NULL;
	size_t count = 0;
	int ret = store_message_range(s->store, s->mailbox, job->uids[start], job->uids[end - 1],
				      &list, &count, &error);
	if (ret != STORE_OK) {
		log_error("IMAP FETCH: %s", error);
		job->failed = true;
		job->next = job->count;
		return;
	}
	/* Bodies: output waits for the client after about a buffer's worth. */
	if (job->needs.content)
		end = imap_fetch_batch_end(job->uids, start, end, list, count,
					   IMAP_SESSION_OUTPUT_HIGH);
	/* Non-PEEK body items set \Seen (not in a read-only mailbox), on the
	 * step's messages only (the UID range holds others of a sparse set). */
	uint32_t *seen_set = NULL;
	if (job->needs.sets_seen && !s->readonly) {
		uint32_t *unseen = calloc(end - start + 1, sizeof(*unseen));
		size_t nu = 0;
		for (size_t i = 0, x = start; unseen != NULL && i < count; i++) {
			while (x < end && job->uids[x] < list[i].uid)
				x++;
			if (x < end && job->uids[x] == list[i].uid &&
			    (list[i].flags & STORE_FLAG_SEEN) == 0)
				unseen[nu++] = list[i].uid;
		}
		struct store_message *changed = NULL;
		size_t nchanged = 0;
		uint32_t *failed = NULL;
		size_t nfailed = 0;
		if (nu > 0 && store_flags_update(s->store, s->mailbox, unseen, nu, STORE_FLAGS_ADD,
						 STORE_FLAG_SEEN, 0, 0, &changed, &nchanged,
						 &failed, &nfailed, &error) == STORE_OK) {
			for (size_t i = 0, k = 0; i < count && k < nchanged; i++) {
				if (list[i].uid == changed[k].uid) {
					list[i] = changed[k++];
					list[i].flags |= 0x80000000u; /* mark: FLAGS changed */
				}
			}
			if (nchanged > 0) {
				remember_own(s, changed[0].modseq);
				session_changed(s);
			}
		}
		free(changed);
		free(failed);
		seen_set = unseen;
	}
	const char *const *names = NULL;
	size_t nk = 0;
	if (store_keyword_list(s->store, &names, &nk, &error) < 0)
		nk = 0;
	size_t k = 0;
	for (size_t i = start; i < end; i++) {
		while (k < count && list[k].uid < job->uids[i])
			k++;
		if (k >= count || list[k].uid != job->uids[i])
			continue; /* expunged meanwhile */
		struct store_message m = list[k];
		bool flags_changed = (m.flags & 0x80000000u) != 0;
		m.flags &= ~0x80000000u;
		if (session_is_recent(s, m.uid))
			m.flags |= STORE_FLAG_RECENT;
		if (job->needs.changedsince && m.modseq <= job->needs.changedsince_modseq)
			continue;
		struct imap_fetch_input in = {
			.seq = job->seqs[i], .msg = &m, .fd = -1, .keywords = names,
			.keyword_count = nk, .condstore = s->condstore,
			.flags_changed = flags_changed,
		};
		struct store_message_meta *meta = NULL;
		if (job->needs.meta &&
		    store_message_meta(s->store, s->mailbox, m.uid, &meta, &error) != STORE_OK) {
			log_error("IMAP FETCH: reading message %u failed: %s", m.uid, error);
			job->failed = true;
			continue;
		}
		in.meta = meta;
		if (job->needs.content &&
		    (in.fd = store_message_open(s->store, s->mailbox, m.uid, &error)) < 0) {
			log_error("IMAP FETCH: opening message %u failed: %s", m.uid, error);
			store_message_meta_free(&meta);
			job->failed = true;
			continue;
		}
		ret = imap_fetch_write(job->plan, &in, s->out, &error);
		if (ret == IMAP_FETCH_UNKNOWN_CTE)
			job->failed = true;
		else if (ret != IMAP_FETCH_OK)
			log_error("IMAP FETCH: message %u: %s", m.uid, error);
		if (in.fd >= 0)
			close(in.fd);
		store_message_meta_free(&meta);
	}
	free(seen_set);
	free(list);
	job->next = end;
}

static void fetch_finish(struct imap_session *s)
{
	bool failed = s->job->failed;
	job_free(s);
	if (failed)
		session_tagged(s, "NO", "Some messages could not be fetched");
	else
		session_tagged(s, "OK", "Fetch completed");
	pool_free(&s->pool);
	s->no_expunge = false;
}

static enum imap_command_result cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	bool uid = strcmp(cmd->name.ptr, "UID FETCH") == 0;
	const char *error;

	if (cmd->arg_count < 2) {
		session_tagged(s, "BAD", "FETCH takes a sequence set and items");
		return CMD_DONE;
	}
	struct imap_fetch_job *job = calloc(1, sizeof(*job));
	if (job == NULL) {
		session_tagged(s, "NO", "[LIMIT] Out of memory");
		return CMD_DONE;
	}
	if (imap_fetch_parse(s->pool, &cmd->args[1], cmd->arg_count - 1, uid, &job->plan,
			     &error) < 0) {
		free(job);
		session_tagged(s, "BAD", "%s", error);
		return CMD_DONE;
	}
	imap_fetch_plan_needs(job->plan, &job->needs);
	if (job->needs.vanished && (!uid || !s->qresync || !job->needs.changedsince)) {
		free(job);
		session_tagged(s, "BAD", "VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE");
		return CMD_DONE;
	}
	if (job->needs.modseq || job->needs.changedsince)
		condstore_enable(s);
	if (resolve_set(s, &cmd->args[0], uid, &job->uids, &job->seqs, &job->count) < 0) {
		free(job);
		return CMD_DONE;
	}
	if (job->needs.vanished) {
		struct store_message *changed = NULL;
		uint32_t *expunged = NULL;
		size_t nc = 0, ne = 0;
		uint64_t highest;
		struct imap_seqset set;
		if (store_changes(s->store, s->mailbox, job->needs.changedsince_modseq, &changed, &nc,
				  &expunged, &ne, &highest, &error) == STORE_OK &&
		    imap_seqset_parse(s->pool, cmd->args[0].text, 0, &set, &error) == 0) {
			imap_seqset_normalize(&set, s->count > 0 ? s->uids[s->count - 1] : 0);
			size_t n = 0;
			for (size_t i = 0; i < ne; i++)
				if (imap_seqset_contains(&set, expunged[i]) ||
				    (s->count > 0 && expunged[i] > s->uids[s->count - 1] &&
				     set.count > 0 && set.ranges[set.count - 1].last >= s->uids[s->count - 1]))
					expunged[n++] = expunged[i];
			if (n > 0) {
				qsort(expunged, n, sizeof(uint32_t), cmp_u32);
				buf_append(s->out, "* VANISHED (EARLIER) ", 21);
				write_uid_set(s->out, expunged, n);
				buf_append(s->out, "\r\n", 2);
			}
		}
		free(changed);
		free(expunged);
	}
	if (job->count == 0) {
		free(job);
		session_tagged(s, "OK", "Fetch completed");
		return CMD_DONE;
	}
	job->uid = uid;
	s->job = job;
	return CMD_PENDING;
}

/* ---------- STORE ---------- */

static enum imap_command_result cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	bool uid = strcmp(cmd->name.ptr, "UID STORE") == 0;
	const struct imap_arg *args = cmd->args;
	size_t argc = cmd->arg_count;
	uint64_t unchangedsince = 0;
	const char *error = "";

	if (argc < 3) {
		session_tagged(s, "BAD", "STORE takes a sequence set, an action and flags");
		return CMD_DONE;
	}
	size_t a = 1;
	if (args[1].type == IMAP_ARG_LIST) {
		const struct imap_arg *m;
		size_t nm;
		imap_arg_get_list(&args[1], &m, &nm);
		if (nm != 2 || !imap_arg_is_atom(&m[0], "UNCHANGEDSINCE") || m[1].type != IMAP_ARG_ATOM ||
		    str_to_u64(m[1].text, INT64_MAX, &unchangedsince) < 0) {
			session_tagged(s, "BAD", "Invalid STORE modifier");
			return CMD_DONE;
		}
		condstore_enable(s);
		a = 2;
	}
	if (argc != a + 2 || args[a].type != IMAP_ARG_ATOM) {
		session_tagged(s, "BAD", "Invalid STORE arguments");
		return CMD_DONE;
	}
	struct str action = args[a].text;
	enum store_flags_mode mode = STORE_FLAGS_SET;
	if (action.len > 0 && (action.ptr[0] == '+' || action.ptr[0] == '-')) {
		mode = action.ptr[0] == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		action = str_sub(action, 1, action.len);
	}
	bool silent = false;
	if (str_case_eq(action, STR("FLAGS.SILENT")))
		silent = true;
	else if (!str_case_eq(action, STR("FLAGS"))) {
		session_tagged(s, "BAD", "Unknown STORE action");
		return CMD_DONE;
	}
	if (s->readonly) {
		session_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return CMD_DONE;
	}
	uint32_t flags;
	uint64_t keywords;
	int ret = imap_flags_parse(s->store, &args[a + 1], mode != STORE_FLAGS_REMOVE, &flags,
				   &keywords, &error);
	if (ret == IMAP_FLAGS_BAD) {
		session_tagged(s, "BAD", "%s", error);
		return CMD_DONE;
	}
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	uint32_t *uids, *seqs;
	size_t n;
	if (resolve_set(s, &args[0], uid, &uids, &seqs, &n) < 0)
		return CMD_DONE;
	struct store_message *changed = NULL;
	uint32_t *failed = NULL;
	size_t nchanged = 0, nfailed = 0;
	if (a == 2 && unchangedsince == 0) {
		/* RFC 7162 3.1.3: UNCHANGEDSINCE 0 fails for every message. */
		failed = calloc(n + 1, sizeof(*failed));
		if (failed != NULL)
			memcpy(failed, uids, n * sizeof(*uids));
		nfailed = failed != NULL ? n : 0;
	} else if (n > 0) {
		ret = store_flags_update(s->store, s->mailbox, uids, n, mode, flags, keywords,
					 unchangedsince, &changed, &nchanged, &failed, &nfailed,
					 &error);
		if (ret != STORE_OK) {
			session_store_failed(s, ret, error);
			return CMD_DONE;
		}
	}
	if (nchanged > 0) {
		remember_own(s, changed[0].modseq);
		session_changed(s);
	}
	announce_flags(s, true);
	/* Answer FETCH FLAGS for every message in the set still there (not
	 * .SILENT); with CONDSTORE, .SILENT still reports the new MODSEQ. */
	if (!silent || s->condstore) {
		struct store_message *msgs = pool_alloc(s->pool, (n + 1) * sizeof(*msgs));
		if (msgs != NULL && load_messages(s, uids, n, msgs, &error) == STORE_OK) {
			for (size_t i = 0; i < n; i++) {
				if (msgs[i].uid == 0)
					continue;
				bool was_failed = bsearch(&uids[i], failed, nfailed, sizeof(uint32_t), cmp_u32) != NULL;
				bool was_changed = false;
				for (size_t k = 0; k < nchanged && !was_changed; k++)
					was_changed = changed[k].uid == uids[i];
				if (was_failed || (silent && !was_changed))
					continue;
				if (silent) {
					buf_printf(s->out, "* %u FETCH (", seqs[i]);
					if (uid)
						buf_printf(s->out, "UID %u ", uids[i]);
					buf_printf(s->out, "MODSEQ (%llu))\r\n",
						   (unsigned long long)msgs[i].modseq);
				} else {
					write_flags_fetch(s, seqs[i], &msgs[i], uid);
				}
			}
		}
	}
	if (nfailed > 0) {
		qsort(failed, nfailed, sizeof(uint32_t), cmp_u32);
		buf_printf(s->out, "%s OK [MODIFIED ", s->tag);
		if (uid) {
			write_uid_set(s->out, failed, nfailed);
		} else {
			uint32_t *fs = pool_alloc(s->pool, nfailed * sizeof(uint32_t));
			size_t nf = 0;
			for (size_t i = 0; fs != NULL && i < nfailed; i++) {
				long idx = view_find(s, failed[i]);
				if (idx >= 0)
					fs[nf++] = (uint32_t)idx + 1;
			}
			write_uid_set(s->out, fs, nf);
		}
		buf_append(s->out, "] Conditional STORE failed\r\n", 28);
	} else {
		session_tagged(s, "OK", "Store completed");
	}
	free(changed);
	free(failed);
	return CMD_DONE;
}

/* ---------- COPY / MOVE ---------- */

static enum imap_command_result cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	bool uid = strncmp(cmd->name.ptr, "UID ", 4) == 0;
	bool move = strstr(cmd->name.ptr, "MOVE") != NULL;
	const char *error = "";

	if (cmd->arg_count != 2) {
		session_tagged(s, "BAD", "%s takes a sequence set and a mailbox", cmd->name.ptr);
		return CMD_DONE;
	}
	if (move && s->readonly) {
		session_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return CMD_DONE;
	}
	uint32_t *uids, *seqs;
	size_t n;
	if (resolve_set(s, &cmd->args[0], uid, &uids, &seqs, &n) < 0)
		return CMD_DONE;
	const char *to = session_mailbox_arg(s, &cmd->args[1]);
	if (to == NULL)
		return CMD_DONE;
	if (n == 0) {
		session_tagged(s, "OK", "No messages");
		return CMD_DONE;
	}
	uint32_t uidvalidity = 0, *src = NULL, *dst = NULL;
	size_t copied = 0;
	int ret = store_copy(s->store, s->mailbox, uids, n, to, move, &uidvalidity, &src, &dst,
			     &copied, &error);
	if (ret == STORE_NOT_FOUND) {
		session_tagged(s, "NO", "[TRYCREATE] No such mailbox");
		return CMD_DONE;
	}
	if (ret != STORE_OK) {
		session_store_failed(s, ret, error);
		return CMD_DONE;
	}
	session_changed(s);
	struct buf code;
	buf_init(&code, 64 + copied * 24);
	if (copied > 0) {
		buf_printf(&code, "[COPYUID %u ", uidvalidity);
		write_uid_set(&code, src, copied);
		buf_putc(&code, ' ');
		write_uid_set(&code, dst, copied);
		buf_append(&code, "] ", 2);
	}
	if (move) {
		if (copied > 0)
			session_untagged(s, "OK %.*sMoved", (int)code.len, code.data);
		for (size_t i = 0; i < copied; i++)
			add_pending(s, src[i]);
		report_expunges(s);
		session_tagged(s, "OK", "Move completed");
	} else {
		session_tagged(s, "OK", "%.*sCopy completed", (int)code.len, code.data ? code.data : "");
	}
	buf_free(&code);
	free(src);
	free(dst);
	return CMD_DONE;
}

/* ---------- SEARCH / SORT / THREAD ---------- */

static bool view_is_recent(const void *ctx, uint32_t uid)
{
	return session_is_recent(ctx, uid);
}

/*
 * search_to_esearch: RFC 9051 has no SEARCH response; an IMAP4rev2 client
 * gets ESEARCH for a plain SEARCH (RFC 9051 6.4.4: as if RETURN (ALL)).
 * The untagged "* SEARCH n n ..." just written from start is rewritten.
 */
static void search_to_esearch(struct imap_session *s, size_t start, bool uid)
{
	struct buf *o = s->out;
	if (o->len - start < 10 || memcmp(o->data + start, "* SEARCH", 8) != 0)
		return;
	struct str line = str_from(o->data + start + 8, o->len - start - 8);
	uint32_t *nums = malloc((line.len / 2 + 1) * sizeof(*nums));
	size_t n = 0;
	uint64_t modseq = 0;
	if (nums == NULL)
		return;
	const char *p = line.ptr, *end = line.ptr + line.len;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p < end && *p == '(') {
			/* "(MODSEQ n)" */
			const char *q = p;
			while (q < end && (*q < '0' || *q > '9'))
				q++;
			for (; q < end && *q >= '0' && *q <= '9'; q++)
				modseq = modseq * 10 + (uint64_t)(*q - '0');
			break;
		}
		if (p >= end || *p < '0' || *p > '9')
			break;
		uint64_t v = 0;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (uint64_t)(*p - '0');
		nums[n++] = (uint32_t)v;
	}
	qsort(nums, n, sizeof(*nums), cmp_u32);
	o->len = start;
	buf_printf(o, "* ESEARCH (TAG \"%s\")%s", s->tag, uid ? " UID" : "");
	if (n > 0) {
		buf_append(o, " ALL ", 5);
		write_uid_set(o, nums, n);
	}
	if (modseq > 0)
		buf_printf(o, " MODSEQ %llu", (unsigned long long)modseq);
	buf_append(o, "\r\n", 2);
	free(nums);
}

static enum imap_command_result cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	bool uid = strncmp(cmd->name.ptr, "UID ", 4) == 0;
	const char *name = uid ? cmd->name.ptr + 4 : cmd->name.ptr;
	const char *error = "";
	struct imap_search_view view = {
		.store = s->store, .mailbox = s->mailbox, .uids = s->uids, .count = s->count,
		.condstore = s->condstore, .utf8 = s->utf8, .saved_uids = &s->saved,
		.saved_count = &s->saved_count, .is_recent = view_is_recent, .recent_ctx = s,
	};
	int ret;
	size_t start = s->out->len;

	if (strcmp(name, "SORT") == 0)
		ret = imap_sort_command(s->pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag,
					s->out, &error);
	else if (strcmp(name, "THREAD") == 0)
		ret = imap_thread_command(s->pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag,
					  s->out, &error);
	else
		ret = imap_search_command(s->pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag,
					  s->out, &error);
	if (ret == IMAP_RUN_OK && s->rev2 && strcmp(name, "SEARCH") == 0)
		search_to_esearch(s, start, uid);
	switch (ret) {
	case IMAP_RUN_OK:
		session_tagged(s, "OK", "%s completed", name);
		break;
	case IMAP_RUN_BAD:
		session_tagged(s, "BAD", "%s", error);
		break;
	case IMAP_RUN_NO:
		session_tagged(s, "NO", "%s", error);
		break;
	default:
		session_store_failed(s, STORE_ERROR, error);
	}
	return CMD_DONE;
}

/* ---------- IDLE ---------- */

static enum imap_command_result cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	session_sync(s, true);
	buf_append(s->out, "+ idling\r\n", 10);
	s->idling = true;
	imap_parser_expect_line(s->parser);
	return CMD_PENDING;
}

static void idle_line(struct imap_session *s, struct str line)
{
	s->idling = false;
	if (str_case_eq(str_trim(line), STR("DONE")))
		session_tagged(s, "OK", "Idle completed");
	else
		session_tagged(s, "BAD", "Expected DONE");
	pool_free(&s->pool);
}

/* ---------- the command table and loop ---------- */

enum need {
	ANY,
	SELECTED,
};

static const struct {
	const char *name;
	command_fn *fn;
	enum need need;
} commands[] = {
	{ "CAPABILITY", cmd_capability, ANY },
	{ "NOOP", cmd_noop, ANY },
	{ "CHECK", cmd_noop, SELECTED },
	{ "LOGOUT", cmd_logout, ANY },
	{ "ID", cmd_id, ANY },
	{ "ENABLE", cmd_enable, ANY },
	{ "SELECT", cmd_select, ANY },
	{ "EXAMINE", cmd_select, ANY },
	{ "CLOSE", cmd_unselect, SELECTED },
	{ "UNSELECT", cmd_unselect, SELECTED },
	{ "EXPUNGE", cmd_expunge, SELECTED },
	{ "UID EXPUNGE", cmd_expunge, SELECTED },
	{ "FETCH", cmd_fetch, SELECTED },
	{ "UID FETCH", cmd_fetch, SELECTED },
	{ "STORE", cmd_store, SELECTED },
	{ "UID STORE", cmd_store, SELECTED },
	{ "COPY", cmd_copy, SELECTED },
	{ "UID COPY", cmd_copy, SELECTED },
	{ "MOVE", cmd_copy, SELECTED },
	{ "UID MOVE", cmd_copy, SELECTED },
	{ "SEARCH", cmd_search, SELECTED },
	{ "UID SEARCH", cmd_search, SELECTED },
	{ "SORT", cmd_search, SELECTED },
	{ "UID SORT", cmd_search, SELECTED },
	{ "THREAD", cmd_search, SELECTED },
	{ "UID THREAD", cmd_search, SELECTED },
	{ "IDLE", cmd_idle, ANY },
	{ "LIST", cmd_list, ANY },
	{ "LSUB", cmd_lsub, ANY },
	{ "CREATE", cmd_create, ANY },
	{ "DELETE", cmd_delete, ANY },
	{ "RENAME", cmd_rename, ANY },
	{ "SUBSCRIBE", cmd_subscribe, ANY },
	{ "UNSUBSCRIBE", cmd_unsubscribe, ANY },
	{ "STATUS", cmd_status, ANY },
	{ "APPEND", cmd_append, ANY },
	{ "NAMESPACE", cmd_namespace, ANY },
	{ "GETQUOTAROOT", cmd_getquotaroot, ANY },
	{ "GETQUOTA", cmd_getquota, ANY },
	{ "SETQUOTA", cmd_setquota, ANY },
};

static void set_tag(struct imap_session *s, struct str tag)
{
	size_t n = tag.len < sizeof(s->tag) - 1 ? tag.len : sizeof(s->tag) - 1;
	memcpy(s->tag, tag.ptr, n);
	s->tag[n] = '\0';
}

static void run_command(struct imap_session *s)
{
	const struct imap_command *cmd = imap_parser_command(s->parser);

	set_tag(s, cmd->tag);
	s->pool = pool_new(IMAP_COMMAND_POOL_MAX);
	if (s->pool == NULL) {
		session_tagged(s, "NO", "[LIMIT] Out of memory");
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, cmd->name.ptr) != 0)
			continue;
		if (commands[i].need == SELECTED && !s->selected) {
			session_tagged(s, "BAD", "No mailbox selected");
			break;
		}
		s->errors = 0;
		s->no_expunge = !command_allows_expunge(cmd->name.ptr);
		if (commands[i].fn(s, cmd) == CMD_PENDING)
			return; /* the pool lives on with the job or IDLE */
		s->no_expunge = false;
		pool_free(&s->pool);
		return;
	}
	if (strcmp(cmd->name.ptr, "LOGIN") == 0 || strcmp(cmd->name.ptr, "AUTHENTICATE") == 0)
		session_tagged(s, "BAD", "Already logged in");
	else if (strcmp(cmd->name.ptr, "STARTTLS") == 0)
		session_tagged(s, "BAD", "TLS is already active");
	else
		session_tagged(s, "BAD", "Unknown command");
	s->errors++;
	pool_free(&s->pool);
}

static void literal_decide(struct imap_session *s)
{
	const struct imap_literal *lit = imap_parser_literal(s->parser);
	bool append = str_case_eq(lit->name, STR("APPEND"));
	uint64_t max = append ? s->settings.max_append : SESSION_MAX_LITERAL;

	if (lit->size > max) {
		set_tag(s, lit->tag);
		bool selected = s->selected;
		s->selected = false; /* no updates before a refusal mid-command */
		if (imap_parser_literal_refuse(s->parser) < 0) {
			session_tagged(s, "BAD", "[TOOBIG] Literal too big");
			s->selected = selected;
			session_untagged(s, "BYE Literal too big");
			session_close(s);
			return;
		}
		session_tagged(s, "NO", "[TOOBIG] Literal too big");
		s->selected = selected;
		return;
	}
	if (imap_parser_literal_accept(s->parser) < 0) {
		session_untagged(s, "BYE Out of memory");
		session_close(s);
		return;
	}
	if (lit->sync)
		buf_append(s->out, "+ OK\r\n", 6);
}

static void parse_error(struct imap_session *s)
{
	struct str tag;
	bool fatal;
	const char *text = imap_parser_error(s->parser, &tag, &fatal);

	set_tag(s, tag);
	bool selected = s->selected;
	s->selected = false;
	session_tagged(s, "BAD", "%s", text);
	s->selected = selected;
	if (fatal || ++s->errors >= IMAP_SESSION_MAX_ERRORS) {
		session_untagged(s, "BYE Too many errors");
		session_close(s);
	}
}

void imap_session_input(struct imap_session *s, struct buf *in)
{
	while (!s->closed && s->out->len < IMAP_SESSION_OUTPUT_HIGH) {
		if (s->job != NULL) {
			fetch_step(s);
			if (s->job->next >= s->job->count)
				fetch_finish(s);
			continue;
		}
		if (in->len == 0)
			return;
		size_t used = 0;
		int r = imap_parser_feed(s->parser, in->data, in->len, &used);
		buf_consume(in, used);
		switch (r) {
		case IMAP_PARSE_MORE:
			return;
		case IMAP_PARSE_LITERAL:
			literal_decide(s);
			break;
		case IMAP_PARSE_COMMAND:
			run_command(s);
			break;
		case IMAP_PARSE_LINE:
			if (s->idling)
				idle_line(s, imap_parser_line(s->parser));
			break;
		default:
			if (s->idling) {
				s->idling = false;
				pool_free(&s->pool);
			}
			parse_error(s);
			break;
		}
	}
}

bool imap_session_pending(const struct imap_session *s)
{
	return s->job != NULL;
}

void imap_session_notify(struct imap_session *s)
{
	if (s->idling && !s->closed)
		session_sync(s, true);
}

void imap_session_timeout(struct imap_session *s)
{
	session_untagged(s, "BYE Autologout; idle for too long");
	session_close(s);
}

void imap_session_shutdown(struct imap_session *s)
{
	session_untagged(s, "BYE Server shutting down");
	session_close(s);
}

struct imap_session *imap_session_new(struct store *store, struct buf *out,
				      const struct imap_session_settings *settings,
				      const struct imap_session_callbacks *callbacks, void *ctx)
{
	struct imap_session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	struct imap_parser_limits limits = IMAP_PARSER_DEFAULT_LIMITS;
	limits.max_literal = settings->max_append > limits.max_literal ? settings->max_append
								       : limits.max_literal;
	limits.max_command = limits.max_literal + IMAP_DEFAULT_MAX_COMMAND;
	s->parser = imap_parser_new(&limits);
	if (s->parser == NULL) {
		free(s);
		return NULL;
	}
	s->store = store;
	s->out = out;
	s->settings = *settings;
	s->cb = callbacks;
	s->ctx = ctx;
	return s;
}

void imap_session_free(struct imap_session **session)
{
	struct imap_session *s = *session;
	if (s == NULL)
		return;
	job_free(s);
	session_unselect(s);
	free(s->uids);
	free(s->pending_expunges);
	pool_free(&s->pool);
	imap_parser_free(&s->parser);
	free(s);
	*session = NULL;
}
