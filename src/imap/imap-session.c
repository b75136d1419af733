/*
 * imap-session: the session core after login: the command table and loop,
 * literals, parse errors, the selected mailbox's view and the untagged
 * updates (EXISTS, EXPUNGE, FETCH FLAGS) that keep a client's view in step
 * with the store.  The commands are in cmd-*.c and imap-mailbox.c (see
 * imap-session.h and imap-session-private.h).
 */
#include "imap-session-private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "imap-flags.h"
#include "imap-proto/imap-quote.h"
#include "imap-proto/imap-seqset.h"
#include "imap-proto/imap-utf7.h"
#include "imap-search-return.h"
#include "imap-search-update.h"
#include "lib/log.h"

/* Literals outside APPEND: passwords, search strings, mailbox names. */
#define SESSION_MAX_LITERAL IMAP_DEFAULT_MAX_LITERAL

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

void session_close(struct imap_session *s)
{
	if (s->closed)
		return;
	s->closed = true;
	s->cb->close(s->ctx);
}

/* ---------- the selected mailbox view ---------- */

/* session_view_find gives the index of uid in the view, or -1. */
long session_view_find(const struct imap_session *s, uint32_t uid)
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

size_t session_view_lower_bound(const struct imap_session *s, uint32_t uid)
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

int session_view_reserve(struct imap_session *s, size_t n)
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

/* session_claim_recent takes the \Recent of the messages nobody has seen yet. */
void session_claim_recent(struct imap_session *s)
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

size_t session_recent_in_view(const struct imap_session *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->recent_count; i++)
		n += session_view_lower_bound(s, s->recent[i].next) -
		     session_view_lower_bound(s, s->recent[i].first);
	return n;
}

static bool own_modseq(const struct imap_session *s, uint64_t modseq)
{
	for (size_t i = 0; i < s->own_count; i++)
		if (s->own_modseqs[i] == modseq)
			return true;
	return false;
}

void session_remember_own(struct imap_session *s, uint64_t modseq)
{
	if (s->own_count == IMAP_OWN_MODSEQS)
		memmove(s->own_modseqs, s->own_modseqs + 1, (IMAP_OWN_MODSEQS - 1) * sizeof(uint64_t));
	else
		s->own_count++;
	s->own_modseqs[s->own_count - 1] = modseq;
}

int session_write_uid_set(struct buf *out, const uint32_t *uids, size_t n)
{
	return imap_search_return_write_set(out, uids, n);
}

int session_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void session_write_vanished_earlier(struct imap_session *s, uint32_t *uids, size_t n)
{
	if (n == 0)
		return;
	qsort(uids, n, sizeof(uint32_t), session_cmp_u32);
	buf_append(s->out, "* VANISHED (EARLIER) ", 21);
	session_write_uid_set(s->out, uids, n);
	buf_append(s->out, "\r\n", 2);
}

/* session_report_expunges tells the client of the pending expunges. */
void session_report_expunges(struct imap_session *s)
{
	if (s->pending_count == 0)
		return;
	imap_search_update_expunged(s);
	qsort(s->pending_expunges, s->pending_count, sizeof(uint32_t), session_cmp_u32);
	if (s->qresync) {
		buf_append(s->out, "* VANISHED ", 11);
		session_write_uid_set(s->out, s->pending_expunges, s->pending_count);
		buf_append(s->out, "\r\n", 2);
	}
	for (size_t k = s->pending_count; k-- > 0;) {
		long i = session_view_find(s, s->pending_expunges[k]);
		if (i < 0)
			continue;
		if (!s->qresync)
			session_untagged(s, "%ld EXPUNGE", i + 1);
		view_remove(s, (size_t)i);
	}
	s->pending_count = 0;
}

void session_write_flags_fetch(struct imap_session *s, uint32_t seq,
			       const struct store_message *m, bool with_uid)
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

void session_announce_permanent(struct imap_session *s)
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
 * session_announce_flags sends FLAGS (and with permanent, PERMANENTFLAGS) when the
 * account has keywords the client has not been told of: RFC 3501 7.2.6
 * wants a keyword in FLAGS before a FETCH shows it.
 */
void session_announce_flags(struct imap_session *s, bool permanent)
{
	const char *const *names = NULL;
	size_t n = 0;
	const char *error;
	/* keywords_known is one more than the keywords announced (0: never),
	 * so that a first keyword after an announcement of none is news. */
	if (store_keyword_list(s->store, &names, &n, &error) < 0 || n < s->keywords_known)
		return;
	buf_append(s->out, "* FLAGS (" IMAP_SYSTEM_FLAGS, 9 + sizeof(IMAP_SYSTEM_FLAGS) - 1);
	write_keyword_list(s);
	buf_append(s->out, ")\r\n", 3);
	if (permanent)
		session_announce_permanent(s);
	s->keywords_known = n + 1;
}

int session_add_pending(struct imap_session *s, uint32_t uid)
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
	session_announce_flags(s, true);
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
		if (session_view_find(s, expunged[i]) >= 0)
			session_add_pending(s, expunged[i]);
	uint32_t maxuid = s->count > 0 ? s->uids[s->count - 1] : 0;
	size_t fresh = 0;
	for (size_t i = 0; i < nchanged; i++) {
		const struct store_message *m = &changed[i];
		if (m->uid > maxuid) {
			fresh++;
			continue;
		}
		long idx = session_view_find(s, m->uid);
		if (idx >= 0 && !own_modseq(s, m->modseq))
			session_write_flags_fetch(s, (uint32_t)idx + 1, m, true);
	}
	if (expunge)
		session_report_expunges(s);
	if (fresh > 0 && session_view_reserve(s, s->count + fresh) == 0) {
		for (size_t i = 0; i < nchanged; i++)
			if (changed[i].uid > maxuid)
				s->uids[s->count++] = changed[i].uid;
		session_untagged(s, "%zu EXISTS", s->count);
		if (!s->rev2) {
			session_claim_recent(s);
			session_untagged(s, "%zu RECENT", session_recent_in_view(s));
		}
	}
	if (nchanged > 0 || nexpunged > 0)
		imap_search_update_refresh(s, changed, nchanged, expunged, nexpunged);
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
	imap_search_update_clear(s);
}

/* ---------- sequence sets ---------- */

/*
 * session_resolve_set turns a sequence set (seq numbers, or UIDs when uid) into
 * the view's messages, ascending: UIDs and sequence numbers from the
 * command pool.  Returns 0, or -1 after answering BAD.
 */
int session_resolve_set(struct imap_session *s, const struct imap_arg *arg, bool uid,
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
			if (bsearch(&s->uids[i], s->saved, s->saved_count, sizeof(uint32_t), session_cmp_u32)) {
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
			for (size_t i = session_view_lower_bound(s, set.ranges[r].first);
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
 * session_load_messages reads the current state of uids[0..n) (ascending) from
 * the store in spans; msgs_r[i].uid is 0 for a message no longer there.
 */
int session_load_messages(struct imap_session *s, const uint32_t *uids, size_t n,
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

/* session_condstore_enable: RFC 7162 3.1: the first CONDSTORE-enabling command of
 * a selected mailbox tells the client the mailbox's HIGHESTMODSEQ. */
void session_condstore_enable(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->selected)
		session_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
				 (unsigned long long)s->modseq);
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
	{ "CANCELUPDATE", cmd_cancelupdate, SELECTED },
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
	{ "COMPRESS", cmd_compress, ANY },
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
			cmd_fetch_step(s);
			if (cmd_fetch_done(s))
				cmd_fetch_finish(s);
			continue;
		}
		if (in->len == 0)
			return;
		if (s->idling)
			s->idle_input = true;   /* it may hold part of DONE: not parked */
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
				cmd_idle_line(s, imap_parser_line(s->parser));
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

/* A BYE cannot go inside a FETCH answer that is half sent: the
 * connection is then closed without one. */
void imap_session_timeout(struct imap_session *s)
{
	if (!cmd_fetch_mid_message(s))
		session_untagged(s, "BYE Autologout; idle for too long");
	session_close(s);
}

void imap_session_shutdown(struct imap_session *s)
{
	if (!cmd_fetch_mid_message(s))
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
	cmd_fetch_job_free(s);
	session_unselect(s);
	free(s->uids);
	free(s->pending_expunges);
	pool_free(&s->pool);
	imap_parser_free(&s->parser);
	free(s);
	*session = NULL;
}
