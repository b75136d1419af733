/*
 * imap-search-run: SEARCH, SORT and THREAD against the store (see
 * imap-search-run.h).
 *
 * A program (imap-search.c) is compiled into a tree of the same shape
 * that holds what can be asked once per command: the UIDs the full-text
 * index gives for each TEXT/BODY/SUBJECT/FROM/TO/CC/BCC key (one
 * store_text_search per key, then a binary search per message), keyword
 * numbers, days of dates, normalised sequence sets.  The messages come
 * from one store_message_range over the view's UID span, matched to the
 * view by UID: a message the view has and the store no longer has
 * (expunged by another session) matches nothing, not even NOT ALL.
 *
 * Evaluation is per message, cheapest first: the children of AND and OR
 * are ordered so that keys answered by struct store_message (flags,
 * size, dates, MODSEQ, sets, index hits) come before SENT* (which load
 * the message's meta from the store) and HEADER (which takes the header
 * from the copy in the meta, or from the message file for a message
 * stored without one); both loads are lazy and at most once per
 * message, so "SEEN SENTSINCE x" loads the meta of seen messages only.
 *
 * Semantics worth knowing:
 *  - RECENT, NEW and OLD ask the session (view->is_recent): \Recent is
 *    IMAP4rev1's, kept by the session that claimed it.
 *  - BEFORE/ON/SINCE compare the UTC day of the internal date; SENT*
 *    the day of the Date: header as written, in the sender's own zone
 *    (RFC 9051 6.4.4 disregards time and timezone).  A message without a usable
 *    Date: matches no SENT* key (RFC 3501/9051 define SENT* by the
 *    header; absent, there is nothing earlier, later or equal).
 *  - Strings are matched as UTF-8 whatever the charset said: US-ASCII
 *    is a subset, and clients without UTF8=ACCEPT send UTF-8 anyway.
 *  - HEADER matches every occurrence of the field, RFC 2047-decoded,
 *    ASCII case-insensitively; an empty value matches having the field.
 *    At most SEARCH_HEADER_MAX octets of a header are read.
 *  - "(MODSEQ n)" / "MODSEQ n" is answered when the program has a
 *    MODSEQ key (RFC 7162 3.1.5; using the key enables CONDSTORE).
 */
#include "imap-search-run.h"
#include "imap-search-run-private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-proto/imap-search.h"
#include "imap-proto/imap-seqset.h"
#include "imap-search-return.h"
#include "imap-sort.h"
#include "lib/date.h"
#include "mail/mail-decode.h"
#include "mail/rfc2047.h"

/* Octets of a message's header read for HEADER keys.  Real headers are
 * a few KiB (long Received chains reach tens); a field past 1 MiB is not
 * searched, which bounds what one message costs. */
#define SEARCH_HEADER_MAX (1024u * 1024)
/* The decoded value of one header field, for HEADER matching. */
#define SEARCH_FIELD_MAX SEARCH_HEADER_MAX

#define ERR_GONE "[NONEXISTENT] Mailbox no longer exists"
#define ERR_STRING_LIMIT "[LIMIT] Search string too long"
#define ERR_CPU_LIMIT "[LIMIT] Search takes too long; narrow it down"
/* Messages evaluated between two looks at the CPU clock (a system call). */
#define SEARCH_CLOCK_EVERY 64

/* How much evaluating a key costs, in the order AND and OR try them. */
enum search_cost {
	COST_MESSAGE,      /* struct store_message or a compiled answer */
	COST_META,         /* store_message_meta */
	COST_CONTENT,      /* the header read from the message file */
};

/* One key of the program with what was computed for it once. */
struct search_node {
	enum imap_search_type type;
	enum search_cost cost;
	struct search_node *children;
	size_t child_count;
	uint64_t number;            /* LARGER, SMALLER, MODSEQ */
	int64_t day;                /* dates: days since 1970-01-01 */
	struct imap_seqset set;     /* UID, SEQSET: normalised */
	uint32_t *uids;             /* text keys: the index's answer (malloc'd) */
	size_t uid_count;
	bool match_all;             /* text key with an empty string */
	bool keyword_known;         /* KEYWORD/UNKEYWORD: the account has it */
	unsigned keyword;
	const char *field;          /* HEADER: the name, NUL-terminated */
	struct str needle;          /* HEADER: the value, ASCII lower-cased */
};

/* One evaluation: the command's state and the message at hand. */
struct search_run {
	struct pool *pool;
	const struct imap_search_view *view;
	const char *error;
	uint64_t deadline_ms;       /* process CPU time at which the command stops */
	bool has_modseq;            /* the program has a MODSEQ key */
	/* the message being evaluated */
	size_t pos;                 /* in view->uids */
	const struct store_message *msg;
	struct store_message_meta *meta;
	bool gone;                  /* expunged while we looked */
	bool header_loaded;
	struct buf header;          /* its header, up to SEARCH_HEADER_MAX */
	struct buf field;           /* scratch: one field's value */
	struct buf decoded;         /* scratch: the value decoded, lower-cased */
};


void search_result_free(struct search_result *res)
{
	free(res->list);
	free(res->positions);
	free(res->msgs);
	memset(res, 0, sizeof(*res));
}

/* store_status maps a failed store call to a run status. */
int search_store_status(int status)
{
	return status == STORE_ERROR ? IMAP_RUN_ERROR : IMAP_RUN_NO;
}


static bool uid_in(const uint32_t *uids, size_t count, uint32_t uid)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool saved_has(const struct imap_search_view *view, uint32_t uid)
{
	if (view->saved_uids == NULL || *view->saved_uids == NULL)
		return false;
	return uid_in(*view->saved_uids, *view->saved_count, uid);
}

/* ---------- compiling ---------- */

/* cpu_ms is the process's CPU time in milliseconds. */
static uint64_t cpu_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* past_deadline is true (with the error set) once the command has used
 * its IMAP_SEARCH_MAX_CPU_MS. */
static bool past_deadline(struct search_run *r)
{
	if (cpu_ms() < r->deadline_ms)
		return false;
	r->error = ERR_CPU_LIMIT;
	return true;
}

static int compile(struct search_run *r, const struct imap_search_key *key,
		   struct search_node *node);

/* text_field is the index field of a text key. */
static enum store_text_field text_field(enum imap_search_type type)
{
	switch (type) {
	case IMAP_SEARCH_BCC:
		return STORE_TEXT_BCC;
	case IMAP_SEARCH_BODY:
		return STORE_TEXT_BODY;
	case IMAP_SEARCH_CC:
		return STORE_TEXT_CC;
	case IMAP_SEARCH_FROM:
		return STORE_TEXT_FROM;
	case IMAP_SEARCH_SUBJECT:
		return STORE_TEXT_SUBJECT;
	case IMAP_SEARCH_TO:
		return STORE_TEXT_TO;
	default:
		return STORE_TEXT_ANY;
	}
}

/* compile_text asks the index once for a text key. */
static int compile_text(struct search_run *r, const struct imap_search_key *key,
			struct search_node *node)
{
	const char *error;

	if (key->value.len > IMAP_SEARCH_MAX_STRING) {
		r->error = ERR_STRING_LIMIT;
		return IMAP_RUN_NO;
	}
	if (key->value.len == 0) {
		node->match_all = true; /* every text holds the empty string */
		return IMAP_RUN_OK;
	}
	if (past_deadline(r))
		return IMAP_RUN_NO;
	if (memchr(key->value.ptr, '\0', key->value.len) != NULL) {
		r->error = "NUL in search string";
		return IMAP_RUN_BAD;
	}
	char *text = pool_strndup(r->pool, key->value.ptr, key->value.len);
	if (text == NULL) {
		r->error = ERR_MEMORY;
		return IMAP_RUN_ERROR;
	}
	/* The backlog the idle indexing has not reached yet is the
	 * account's work, not this search's: it does not count. */
	uint64_t before = cpu_ms();
	int ret = store_text_catch_up(r->view->store, r->view->mailbox, &error);
	r->deadline_ms += cpu_ms() - before;
	if (ret == STORE_OK)
		ret = store_text_search(r->view->store, r->view->mailbox, text_field(key->type),
					text, &node->uids, &node->uid_count, &error);
	if (ret != STORE_OK) {
		r->error = error;
		return search_store_status(ret);
	}
	return IMAP_RUN_OK;
}

/* compile_keyword looks the keyword up without adding it. */
static int compile_keyword(struct search_run *r, const struct imap_search_key *key,
			   struct search_node *node)
{
	const char *error;
	char *name = pool_strndup(r->pool, key->value.ptr, key->value.len);

	if (name == NULL) {
		r->error = ERR_MEMORY;
		return IMAP_RUN_ERROR;
	}
	int ret = store_keyword_index(r->view->store, name, false, &node->keyword, &error);
	if (ret == STORE_NOT_FOUND)
		return IMAP_RUN_OK;
	if (ret != STORE_OK) {
		r->error = error;
		return search_store_status(ret);
	}
	node->keyword_known = true;
	return IMAP_RUN_OK;
}

/* compile_set copies and normalises a sequence set: UIDs with "*" the
 * last UID of the view, sequence numbers with "*" the message count. */
static int compile_set(struct search_run *r, const struct imap_search_key *key,
		       struct search_node *node)
{
	const struct imap_search_view *v = r->view;
	uint32_t star;

	if (key->type == IMAP_SEARCH_UID)
		star = v->count > 0 ? v->uids[v->count - 1] : 0;
	else
		star = v->count > UINT32_MAX ? UINT32_MAX : (uint32_t)v->count;
	node->set = key->seqset;
	if (key->seqset.count > 0) {
		node->set.ranges = pool_alloc(r->pool, key->seqset.count * sizeof(*node->set.ranges));
		if (node->set.ranges == NULL) {
			r->error = ERR_MEMORY;
			return IMAP_RUN_ERROR;
		}
		memcpy(node->set.ranges, key->seqset.ranges,
		       key->seqset.count * sizeof(*node->set.ranges));
	}
	imap_seqset_normalize(&node->set, star);
	return IMAP_RUN_OK;
}

/* compile_header keeps the field name as a C string and the value
 * lower-cased for matching. */
static int compile_header(struct search_run *r, const struct imap_search_key *key,
			  struct search_node *node)
{
	if (key->field.len > IMAP_SEARCH_MAX_STRING || key->value.len > IMAP_SEARCH_MAX_STRING) {
		r->error = ERR_STRING_LIMIT;
		return IMAP_RUN_NO;
	}
	char *field = pool_strndup(r->pool, key->field.ptr, key->field.len);
	char *needle = pool_strndup(r->pool, key->value.ptr, key->value.len);

	if (field == NULL || needle == NULL) {
		r->error = ERR_MEMORY;
		return IMAP_RUN_ERROR;
	}
	str_lower(needle, key->value.len);
	node->field = field;
	node->needle = str_from(needle, key->value.len);
	return IMAP_RUN_OK;
}

/* compile_children compiles the children, then orders them cheapest
 * first (AND and OR are commutative; insertion sort keeps the client's
 * order among equals). */
static int compile_children(struct search_run *r, const struct imap_search_key *key,
			    struct search_node *node)
{
	node->children = pool_alloc(r->pool, key->child_count * sizeof(*node->children));
	if (node->children == NULL) {
		r->error = ERR_MEMORY;
		return IMAP_RUN_ERROR;
	}
	node->child_count = key->child_count;
	for (size_t i = 0; i < key->child_count; i++) {
		int ret = compile(r, &key->children[i], &node->children[i]);
		if (ret != IMAP_RUN_OK)
			return ret;
		if (node->children[i].cost > node->cost)
			node->cost = node->children[i].cost;
	}
	for (size_t i = 1; i < node->child_count; i++) {
		struct search_node tmp = node->children[i];
		size_t j = i;
		for (; j > 0 && node->children[j - 1].cost > tmp.cost; j--)
			node->children[j] = node->children[j - 1];
		node->children[j] = tmp;
	}
	return IMAP_RUN_OK;
}

/* compile fills node for key; the recursion follows the program, whose
 * depth the parser bounded (IMAP_SEARCH_DEFAULT_MAX_DEPTH). */
static int compile(struct search_run *r, const struct imap_search_key *key,
		   struct search_node *node)
{
	memset(node, 0, sizeof(*node));
	node->type = key->type;
	node->number = key->number;
	switch (key->type) {
	case IMAP_SEARCH_BCC:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_CC:
	case IMAP_SEARCH_FROM:
	case IMAP_SEARCH_SUBJECT:
	case IMAP_SEARCH_TEXT:
	case IMAP_SEARCH_TO:
		return compile_text(r, key, node);
	case IMAP_SEARCH_HEADER:
		node->cost = COST_CONTENT;
		return compile_header(r, key, node);
	case IMAP_SEARCH_KEYWORD:
	case IMAP_SEARCH_UNKEYWORD:
		return compile_keyword(r, key, node);
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		node->cost = COST_META;
		/* fall through */
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
		node->day = date_days_from_civil(key->date.year, (int)key->date.month,
						 (int)key->date.day);
		return IMAP_RUN_OK;
	case IMAP_SEARCH_MODSEQ:
		r->has_modseq = true;
		return IMAP_RUN_OK;
	case IMAP_SEARCH_UID:
	case IMAP_SEARCH_SEQSET:
		return compile_set(r, key, node);
	case IMAP_SEARCH_NOT:
	case IMAP_SEARCH_OR:
	case IMAP_SEARCH_AND:
		return compile_children(r, key, node);
	default:
		return IMAP_RUN_OK;
	}
}

/* node_free releases what compile allocated outside the pool. */
static void node_free(struct search_node *node)
{
	free(node->uids);
	node->uids = NULL;
	for (size_t i = 0; i < node->child_count; i++)
		node_free(&node->children[i]);
}

/* ---------- evaluating ---------- */

/* load_meta gives the message's meta: 1, 0 when it is gone, -1 on error. */
static int load_meta(struct search_run *r)
{
	const char *error;

	if (r->meta != NULL)
		return 1;
	if (r->gone)
		return 0;
	int ret = store_message_meta(r->view->store, r->view->mailbox, r->msg->uid, &r->meta,
				     &error);
	if (ret == STORE_NOT_FOUND) {
		r->gone = true;
		return 0;
	}
	if (ret != STORE_OK) {
		r->error = error;
		return -1;
	}
	return 1;
}

/* load_header reads the message's header (at most SEARCH_HEADER_MAX
 * octets) into r->header: 1, 0 when gone, -1 on error. */
static int load_header(struct search_run *r)
{
	const char *error;

	if (r->header_loaded)
		return 1;
	int c = load_meta(r);
	if (c <= 0)
		return c;
	buf_reset(&r->header);
	r->header_loaded = true;
	if (r->meta->part_count == 0)
		return 1;
	const struct store_part *whole = &r->meta->parts[0];
	size_t size = whole->header_size < SEARCH_HEADER_MAX ? (size_t)whole->header_size
							     : SEARCH_HEADER_MAX;
	/* The copy the store kept at delivery, when it holds the header. */
	if (r->meta->header_copy != NULL && whole->header_offset <= r->meta->header_copy_size &&
	    size <= r->meta->header_copy_size - whole->header_offset) {
		if (buf_append(&r->header, r->meta->header_copy + whole->header_offset, size) < 0) {
			r->error = ERR_MEMORY;
			return -1;
		}
		return 1;
	}
	struct store_reader *reader = NULL;
	uint64_t content_size;
	if (store_reader_open_meta(r->view->store, r->view->mailbox, r->meta, &reader,
				   &content_size, &error) != STORE_OK) {
		r->error = error;
		return -1;
	}
	if (buf_reserve(&r->header, size) < 0) {
		store_reader_close(&reader);
		r->error = ERR_MEMORY;
		return -1;
	}
	while (r->header.len < size) {
		size_t n = 0;
		if (store_reader_read(reader, whole->header_offset + r->header.len,
				      r->header.data + r->header.len, size - r->header.len, &n,
				      &error) != STORE_OK) {
			r->error = "reading the message failed";
			store_reader_close(&reader);
			return -1;
		}
		if (n == 0)
			break; /* shorter than recorded: search what is there */
		r->header.len += n;
	}
	r->header.data[r->header.len] = '\0';
	store_reader_close(&reader);
	return 1;
}

/* field_value_matches: does one raw field (name, colon, folded value)
 * hold the node's needle, after unfolding and RFC 2047 decoding? */
static bool field_value_matches(struct search_run *r, const struct search_node *node,
				struct str raw)
{
	buf_reset(&r->field);
	buf_reset(&r->decoded);
	if (!mail_header_field(raw, node->field, &r->field))
		return false;
	if (rfc2047_decode(&r->decoded, buf_str(&r->field)) < 0) {
		buf_reset(&r->decoded);
		if (buf_append_str(&r->decoded, buf_str(&r->field)) < 0)
			return false;
	}
	str_lower(r->decoded.data, r->decoded.len);
	return node->needle.len <= r->decoded.len &&
	       memmem(r->decoded.data, r->decoded.len, node->needle.ptr, node->needle.len) != NULL;
}

/* eval_header walks the header field by field (a field is its first line
 * and the lines after it that start with white space) and tests every
 * field of the node's name. */
static int eval_header(struct search_run *r, const struct search_node *node)
{
	int c = load_header(r);
	if (c <= 0)
		return c;
	const char *p = r->header.data, *end = p + r->header.len;
	struct str name = str_c(node->field);

	while (p < end && *p != '\r' && *p != '\n') {
		const char *start = p;
		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl != NULL ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		const char *colon = memchr(start, ':', (size_t)(p - start));
		if (colon == NULL)
			continue;
		struct str fname = str_from(start, (size_t)(colon - start));
		while (fname.len > 0 && (fname.ptr[fname.len - 1] == ' ' ||
					 fname.ptr[fname.len - 1] == '\t'))
			fname.len--;
		if (!str_case_eq(fname, name))
			continue;
		if (node->needle.len == 0 ||
		    field_value_matches(r, node, str_from(start, (size_t)(p - start))))
			return 1;
	}
	return 0;
}

/* sent_day gives the UTC day of the Date: header: 1, 0 when the message
 * has none or is gone, -1 on error. */
static int sent_day(struct search_run *r, int64_t *day_r)
{
	int c = load_meta(r);
	if (c <= 0)
		return c;
	if (r->meta->sent_date < 0)
		return 0;
	/* RFC 9051 6.4.4: the date as written, in the sender's zone. */
	*day_r = date_day_of(r->meta->sent_date + (int64_t)r->meta->sent_zone * 60);
	return 1;
}

static bool set_has(const struct search_run *r, const struct search_node *node, uint32_t n)
{
	return imap_seqset_contains(&node->set, n) || (node->set.saved && saved_has(r->view, r->msg->uid));
}

/* eval: does the message at hand match node?  1, 0, or -1 on error; the
 * recursion follows the program (depth bounded by the parser). */
static bool is_recent(const struct search_run *r)
{
	return r->view->is_recent != NULL && r->view->is_recent(r->view->recent_ctx, r->msg->uid);
}

static int eval(struct search_run *r, const struct search_node *node)
{
	const struct store_message *m = r->msg;
	int64_t day;
	int c;

	switch (node->type) {
	case IMAP_SEARCH_ALL:
		return 1;
	case IMAP_SEARCH_OLD:
		return !is_recent(r);
	case IMAP_SEARCH_RECENT:
		return is_recent(r);
	case IMAP_SEARCH_NEW:
		return is_recent(r) && (m->flags & STORE_FLAG_SEEN) == 0;
	case IMAP_SEARCH_ANSWERED:
		return (m->flags & STORE_FLAG_ANSWERED) != 0;
	case IMAP_SEARCH_DELETED:
		return (m->flags & STORE_FLAG_DELETED) != 0;
	case IMAP_SEARCH_DRAFT:
		return (m->flags & STORE_FLAG_DRAFT) != 0;
	case IMAP_SEARCH_FLAGGED:
		return (m->flags & STORE_FLAG_FLAGGED) != 0;
	case IMAP_SEARCH_SEEN:
		return (m->flags & STORE_FLAG_SEEN) != 0;
	case IMAP_SEARCH_UNANSWERED:
		return (m->flags & STORE_FLAG_ANSWERED) == 0;
	case IMAP_SEARCH_UNDELETED:
		return (m->flags & STORE_FLAG_DELETED) == 0;
	case IMAP_SEARCH_UNDRAFT:
		return (m->flags & STORE_FLAG_DRAFT) == 0;
	case IMAP_SEARCH_UNFLAGGED:
		return (m->flags & STORE_FLAG_FLAGGED) == 0;
	case IMAP_SEARCH_UNSEEN:
		return (m->flags & STORE_FLAG_SEEN) == 0;
	case IMAP_SEARCH_BCC:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_CC:
	case IMAP_SEARCH_FROM:
	case IMAP_SEARCH_SUBJECT:
	case IMAP_SEARCH_TEXT:
	case IMAP_SEARCH_TO:
		return node->match_all || uid_in(node->uids, node->uid_count, m->uid);
	case IMAP_SEARCH_HEADER:
		return eval_header(r, node);
	case IMAP_SEARCH_KEYWORD:
		return node->keyword_known && ((m->keywords >> node->keyword) & 1) != 0;
	case IMAP_SEARCH_UNKEYWORD:
		return !node->keyword_known || ((m->keywords >> node->keyword) & 1) == 0;
	case IMAP_SEARCH_BEFORE:
		return date_day_of(m->internal_date) < node->day;
	case IMAP_SEARCH_ON:
		return date_day_of(m->internal_date) == node->day;
	case IMAP_SEARCH_SINCE:
		return date_day_of(m->internal_date) >= node->day;
	case IMAP_SEARCH_SENTBEFORE:
		return (c = sent_day(r, &day)) <= 0 ? c : day < node->day;
	case IMAP_SEARCH_SENTON:
		return (c = sent_day(r, &day)) <= 0 ? c : day == node->day;
	case IMAP_SEARCH_SENTSINCE:
		return (c = sent_day(r, &day)) <= 0 ? c : day >= node->day;
	case IMAP_SEARCH_LARGER:
		return m->size > node->number;
	case IMAP_SEARCH_SMALLER:
		return m->size < node->number;
	case IMAP_SEARCH_MODSEQ:
		return m->modseq >= node->number;
	case IMAP_SEARCH_UID:
		return set_has(r, node, m->uid);
	case IMAP_SEARCH_SEQSET:
		return set_has(r, node, (uint32_t)(r->pos + 1));
	case IMAP_SEARCH_NOT:
		c = eval(r, &node->children[0]);
		return c < 0 ? c : !c;
	case IMAP_SEARCH_OR:
		for (size_t i = 0; i < node->child_count; i++)
			if ((c = eval(r, &node->children[i])) != 0)
				return c;
		return 0;
	case IMAP_SEARCH_AND:
		for (size_t i = 0; i < node->child_count; i++)
			if ((c = eval(r, &node->children[i])) <= 0)
				return c;
		return 1;
	}
	return 0;
}

/*
 * search_run evaluates prog over the view into *res.  Returns
 * IMAP_RUN_OK, or another status with the text in *error_r.
 */
int search_run(struct pool *pool, const struct imap_search_view *view,
		      const struct imap_search_program *prog, struct search_result *res,
		      const char **error_r)
{
	struct search_run r = { .pool = pool, .view = view,
				.deadline_ms = cpu_ms() + IMAP_SEARCH_MAX_CPU_MS };
	struct search_node root;
	const char *error;
	size_t list_count = 0;
	int ret;

	memset(res, 0, sizeof(*res));
	ret = compile(&r, &prog->root, &root);
	res->has_modseq = r.has_modseq;
	if (ret != IMAP_RUN_OK || view->count == 0) {
		*error_r = r.error;
		node_free(&root);
		return ret;
	}
	/* UNSEEN alone (a client's unread count): only the unseen are read
	 * (the others are left out of the list, so match nothing). */
	const struct imap_search_key *top = &prog->root;
	while (top->type == IMAP_SEARCH_AND && top->child_count == 1)
		top = &top->children[0];
	if (top->type == IMAP_SEARCH_UNSEEN)
		ret = store_message_range_filtered(view->store, view->mailbox, view->uids[0],
						   view->uids[view->count - 1], STORE_RANGE_UNSEEN,
						   &res->list, &list_count, &error);
	else
		ret = store_message_range(view->store, view->mailbox, view->uids[0],
					  view->uids[view->count - 1], &res->list, &list_count,
					  &error);
	if (ret != STORE_OK) {
		node_free(&root);
		*error_r = ret == STORE_NOT_FOUND ? ERR_GONE : error;
		return search_store_status(ret);
	}
	res->positions = malloc(view->count * sizeof(*res->positions));
	res->msgs = malloc(view->count * sizeof(*res->msgs));
	buf_init(&r.header, SEARCH_HEADER_MAX);
	buf_init(&r.field, SEARCH_FIELD_MAX);
	buf_init(&r.decoded, SEARCH_FIELD_MAX);
	ret = IMAP_RUN_OK;
	if (res->positions == NULL || res->msgs == NULL) {
		r.error = ERR_MEMORY;
		ret = IMAP_RUN_ERROR;
	}
	size_t j = 0;
	for (size_t i = 0; i < view->count && ret == IMAP_RUN_OK; i++) {
		while (j < list_count && res->list[j].uid < view->uids[i])
			j++;
		if (j == list_count || res->list[j].uid != view->uids[i])
			continue; /* expunged meanwhile: matches nothing */
		if (i % SEARCH_CLOCK_EVERY == SEARCH_CLOCK_EVERY - 1 && past_deadline(&r)) {
			ret = IMAP_RUN_NO;
			break;
		}
		r.pos = i;
		r.msg = &res->list[j];
		r.gone = false;
		r.header_loaded = false;
		int c = eval(&r, &root);
		if (r.meta != NULL)
			store_message_meta_free(&r.meta);
		if (c < 0) {
			ret = IMAP_RUN_ERROR;
		} else if (c > 0 && !r.gone) {
			res->positions[res->count] = (uint32_t)i;
			res->msgs[res->count++] = r.msg;
		}
	}
	buf_free(&r.header);
	buf_free(&r.field);
	buf_free(&r.decoded);
	node_free(&root);
	if (ret != IMAP_RUN_OK) {
		*error_r = r.error;
		search_result_free(res);
		res->has_modseq = r.has_modseq;
	}
	return ret;
}

/* ---------- answers ---------- */

static uint32_t number_of(const struct imap_search_view *view, const struct search_result *res,
			  size_t i, bool uid)
{
	return uid ? view->uids[res->positions[i]] : res->positions[i] + 1;
}

/*
 * write_esearch writes the RFC 4731 answer of a SEARCH: the found numbers
 * ascending, with their MODSEQ when the program has a MODSEQ key.
 */
static int write_esearch(struct buf *out, const struct imap_search_view *view,
			 const struct search_result *res, const struct imap_search_program *prog,
			 bool uid, struct str tag)
{
	uint32_t *nums = malloc((res->count + 1) * sizeof(*nums));
	uint64_t *modseqs = malloc((res->count + 1) * sizeof(*modseqs));
	int ret = -1;

	if (nums != NULL && modseqs != NULL) {
		for (size_t i = 0; i < res->count; i++) {
			nums[i] = number_of(view, res, i, uid);
			modseqs[i] = res->msgs[i]->modseq;
		}
		ret = imap_search_return_write(out, tag, uid, prog, nums, modseqs, res->count,
					       res->has_modseq);
	}
	free(nums);
	free(modseqs);
	return ret;
}

/* write_search writes "* SEARCH n ... [(MODSEQ m)]". */
static int write_search(struct buf *out, const struct imap_search_view *view,
			const struct search_result *res, bool uid)
{
	uint64_t modseq = 0;

	if (buf_printf(out, "* SEARCH") < 0)
		return -1;
	for (size_t i = 0; i < res->count; i++) {
		if (buf_printf(out, " %u", (unsigned)number_of(view, res, i, uid)) < 0)
			return -1;
		if (res->msgs[i]->modseq > modseq)
			modseq = res->msgs[i]->modseq;
	}
	if (res->has_modseq && res->count > 0 &&
	    buf_printf(out, " (MODSEQ %llu)", (unsigned long long)modseq) < 0)
		return -1;
	return buf_printf(out, "\r\n");
}

/* set_saved replaces the SEARCHRES variable with uids (taken). */
static void set_saved(const struct imap_search_view *view, uint32_t *uids, size_t count)
{
	if (view->saved_uids == NULL) {
		free(uids);
		return;
	}
	free(*view->saved_uids);
	*view->saved_uids = uids;
	*view->saved_count = count;
}

/*
 * save_result is RETURN (SAVE) (RFC 5182 2.4): MIN and/or MAX alone save
 * just those messages, anything else (SAVE alone, ALL, COUNT) all of
 * them.  Returns 0, or -1 when memory is exhausted.
 */
static int save_result(const struct imap_search_view *view, const struct search_result *res,
		       unsigned opts)
{
	bool all = (opts & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) != 0 ||
		   (opts & (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX)) == 0;
	uint32_t *uids = malloc((res->count + 1) * sizeof(*uids));
	size_t n = 0;

	if (uids == NULL)
		return -1;
	for (size_t i = 0; i < res->count; i++) {
		bool keep = all || (i == 0 && (opts & IMAP_SEARCH_RETURN_MIN)) ||
			    (i == res->count - 1 && (opts & IMAP_SEARCH_RETURN_MAX));
		if (keep)
			uids[n++] = number_of(view, res, i, true);
	}
	set_saved(view, uids, n);
	return 0;
}

/* truncate_out cuts out back to len (a partly written answer). */
void search_truncate_out(struct buf *out, size_t len)
{
	out->len = len;
	if (out->data != NULL)
		out->data[len] = '\0';
}

/* reads_seqnums: does a key of the tree read sequence numbers? */
static bool reads_seqnums(const struct imap_search_key *key)
{
	if (key->type == IMAP_SEARCH_SEQSET)
		return true;
	for (size_t i = 0; i < key->child_count; i++)
		if (reads_seqnums(&key->children[i]))
			return true;
	return false;
}

/*
 * keep_new makes the kept result of prog (copied) with uids[0..n) in
 * answer order, or writes "* NO [NOUPDATE "tag"]" when it cannot be kept
 * (no room at the caller, PARTIAL, too large a program, no memory).
 * Returns the kept result or NULL.
 */
struct imap_search_kept *search_keep_new(const struct imap_search_program *prog,
					 const struct imap_sort_criterion *crit, size_t ncrit,
					 const uint32_t *uids, size_t n, bool can_keep,
					 struct str tag, struct buf *out)
{
	struct imap_search_kept *kept = NULL;
	const char *why = "Updates are not kept for this search";

	if (can_keep && !(prog->return_options & IMAP_SEARCH_RETURN_PARTIAL)) {
		kept = calloc(1, sizeof(*kept));
		why = "Search program too large to keep up to date";
		if (kept != NULL && (kept->pool = pool_new(IMAP_SEARCH_KEPT_PROGRAM_MAX)) != NULL &&
		    imap_search_program_copy(kept->pool, prog, &kept->prog) == 0 &&
		    (kept->uids = malloc((n + 1) * sizeof(*kept->uids))) != NULL) {
			if (n > 0)
				memcpy(kept->uids, uids, n * sizeof(*uids));
			kept->count = n;
			if (ncrit > 0)
				memcpy(kept->crit, crit, ncrit * sizeof(*crit));
			kept->crit_count = ncrit;
			kept->per_message = !reads_seqnums(&prog->root);
			return kept;
		}
		imap_search_kept_free(&kept);
	}
	buf_printf(out, "* NO [NOUPDATE \"%.*s\"] %s\r\n", (int)tag.len, tag.ptr, why);
	return NULL;
}

void imap_search_kept_free(struct imap_search_kept **kept)
{
	if (*kept == NULL)
		return;
	pool_free(&(*kept)->pool);
	free((*kept)->uids);
	free(*kept);
	*kept = NULL;
}

/* result_uids gives the found UIDs, ascending (malloc'd), or NULL. */
uint32_t *search_result_uids(const struct imap_search_view *view, const struct search_result *res)
{
	uint32_t *uids = malloc((res->count + 1) * sizeof(*uids));
	for (size_t i = 0; uids != NULL && i < res->count; i++)
		uids[i] = number_of(view, res, i, true);
	return uids;
}

int imap_search_command(struct pool *pool, const struct imap_search_view *view,
			const struct imap_arg *args, size_t count, bool uid, struct str tag,
			struct buf *out, struct imap_search_kept **kept_r, const char **error_r)
{
	struct imap_search_program prog;
	struct search_result res;
	size_t start = out->len;

	if (kept_r != NULL)
		*kept_r = NULL;
	int ret = imap_search_parse(pool, args, count, NULL, &prog, error_r);
	if (ret != IMAP_SEARCH_OK)
		return ret == IMAP_SEARCH_NO ? IMAP_RUN_NO : IMAP_RUN_BAD;
	bool save = prog.has_return && (prog.return_options & IMAP_SEARCH_RETURN_SAVE);
	ret = search_run(pool, view, &prog, &res, error_r);
	if (ret == IMAP_RUN_OK) {
		int w = 0;
		unsigned opts = prog.return_options & ~IMAP_SEARCH_RETURN_SAVE;
		if (!prog.has_return)
			w = write_search(out, view, &res, uid);
		else if (opts != 0) /* SAVE alone answers nothing (RFC 5182) */
			w = write_esearch(out, view, &res, &prog, uid, tag);
		if (w < 0) {
			search_truncate_out(out, start);
			*error_r = ERR_TOO_LARGE;
			ret = IMAP_RUN_NO;
		} else if (save && save_result(view, &res, prog.return_options) < 0) {
			search_truncate_out(out, start);
			*error_r = ERR_MEMORY;
			ret = IMAP_RUN_ERROR;
		}
	}
	if (ret == IMAP_RUN_OK && (prog.return_options & IMAP_SEARCH_RETURN_UPDATE)) {
		uint32_t *uids = search_result_uids(view, &res);
		struct imap_search_kept *kept =
			search_keep_new(&prog, NULL, 0, uids, uids != NULL ? res.count : 0,
				 kept_r != NULL && uids != NULL, tag, out);
		if (kept_r != NULL)
			*kept_r = kept;
		free(uids);
	}
	/* RFC 5182 2.1: a SEARCH with SAVE that fails empties the variable
	 * (a BAD, above, leaves it alone). */
	if (ret != IMAP_RUN_OK && ret != IMAP_RUN_BAD && save)
		set_saved(view, NULL, 0);
	search_result_free(&res);
	return ret;
}

