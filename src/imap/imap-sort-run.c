/*
 * imap-sort-run: SORT (RFC 5256, with RFC 5267 ESORT and RFC 5957
 * SORT=DISPLAY) and THREAD over the messages a program finds (evaluated
 * in imap-search-run.c), and the rerun of kept results (see
 * imap-search-run.h).
 */
#include "imap-search-run.h"
#include "imap-search-run-private.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "imap-search-return.h"
#include "imap-sort.h"
#include "imap-thread.h"
#include "mail/rfc2047.h"

/* Collation keys of one SORT: four per message at most (subject, and
 * the address keys asked, counted once each: clients ask one or two). */
#define SORT_KEYS_PER_MESSAGE 4
#define ERR_SORT_SAVE "RETURN (SAVE) is for SEARCH"


/*
 * parse_charset_program reads "charset program" (SORT and THREAD have no
 * RETURN, and their charset is not optional).
 */
static int parse_charset_program(struct pool *pool, const struct imap_arg *args, size_t count,
				 struct imap_search_program *prog, const char **error_r)
{
	struct str charset;

	if (count < 2 || !imap_arg_get_astring(&args[0], &charset)) {
		*error_r = "Missing charset or search program";
		return IMAP_RUN_BAD;
	}
	if (!str_case_eq(charset, STR("UTF-8")) && !str_case_eq(charset, STR("US-ASCII"))) {
		*error_r = "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset";
		return IMAP_RUN_NO;
	}
	int ret = imap_search_parse(pool, &args[1], count - 1, NULL, prog, error_r);
	if (ret != IMAP_SEARCH_OK)
		return ret == IMAP_SEARCH_NO ? IMAP_RUN_NO : IMAP_RUN_BAD;
	if (prog->has_return || prog->charset != IMAP_SEARCH_CHARSET_NONE) {
		*error_r = "Unknown search key";
		return IMAP_RUN_BAD;
	}
	return IMAP_RUN_OK;
}

/* The scratch space of one SORT: keys live in a pool (they never move),
 * text is prepared in the buffers. */
struct sort_space {
	struct pool *keys;
	struct buf text;            /* a base subject or an address */
	struct buf decoded;         /* a display name, RFC 2047 decoded */
	struct buf key;             /* its collation key */
};

/* sort_key makes the collation key of text (of its base subject with
 * subject) in the pool. */
static int sort_key(struct sort_space *sp, struct str text, bool subject, struct str *key_r)
{
	bool refwd;

	if (subject) {
		buf_reset(&sp->text);
		if (imap_sort_base_subject(text, &sp->text, &refwd) < 0)
			return -1;
		text = buf_str(&sp->text);
	}
	buf_reset(&sp->key);
	if (imap_sort_collate_key(text, &sp->key) < 0)
		return -1;
	*key_r = pool_str(sp->keys, buf_str(&sp->key));
	return key_r->ptr != NULL ? 0 : -1;
}

/* sort_address_key makes the key of one address criterion: FROM, TO, CC
 * (the addr-mailbox) or DISPLAYFROM, DISPLAYTO (RFC 5957 3). */
static int sort_address_key(struct sort_space *sp, struct str envelope,
			    enum imap_sort_field field, struct str *key_r)
{
	bool display = field == IMAP_SORT_DISPLAYFROM || field == IMAP_SORT_DISPLAYTO;

	buf_reset(&sp->text);
	/* A broken ENVELOPE sorts as no address. */
	if (!(display ? imap_sort_envelope_display(envelope, field, &sp->text)
		      : imap_sort_envelope_mailbox(envelope, field, &sp->text)))
		buf_reset(&sp->text);
	if (!display)
		return sort_key(sp, buf_str(&sp->text), false, key_r);
	buf_reset(&sp->decoded);
	if (rfc2047_decode(&sp->decoded, buf_str(&sp->text)) < 0)
		return -1;
	return sort_key(sp, buf_str(&sp->decoded), false, key_r);
}

/* sort_fill reads what the criteria need of one found message: STORE_OK,
 * STORE_NOT_FOUND (expunged since the search) or an error. */
static int sort_fill(const struct imap_search_view *view, const struct store_message *msg,
		     const struct imap_sort_criterion *crit, size_t ncrit, struct imap_sort_msg *sm,
		     struct sort_space *sp, const char **error_r)
{
	static const enum imap_sort_field addr_field[] = { IMAP_SORT_FROM, IMAP_SORT_TO,
							   IMAP_SORT_CC, IMAP_SORT_DISPLAYFROM,
							   IMAP_SORT_DISPLAYTO };
	struct str *addr_key[] = { &sm->from, &sm->to, &sm->cc, &sm->display_from,
				   &sm->display_to };
	struct store_message_meta *meta = NULL;
	bool want[5] = { false, false, false, false, false }, subject = false;

	sm->uid = msg->uid;
	sm->arrival = msg->internal_date;
	sm->sent_date = msg->internal_date;
	sm->size = msg->size;
	sm->modseq = msg->modseq;
	if (!imap_sort_needs_meta(crit, ncrit))
		return STORE_OK;
	int ret = store_message_meta(view->store, view->mailbox, msg->uid, &meta, error_r);
	if (ret != STORE_OK)
		return ret;
	/* RFC 5256 2.2: without a Date:, the internal date is the sent date. */
	if (meta->sent_date >= 0)
		sm->sent_date = meta->sent_date;
	for (size_t i = 0; i < ncrit; i++) {
		subject |= crit[i].field == IMAP_SORT_SUBJECT;
		for (size_t a = 0; a < 5; a++)
			want[a] |= crit[i].field == addr_field[a];
	}
	if (subject && sort_key(sp, str_c(meta->subject), true, &sm->subject) < 0)
		ret = STORE_ERROR;
	for (size_t a = 0; a < 5 && ret == STORE_OK; a++) {
		if (want[a] &&
		    sort_address_key(sp, str_c(meta->envelope), addr_field[a], addr_key[a]) < 0)
			ret = STORE_ERROR;
	}
	if (ret != STORE_OK)
		*error_r = ERR_MEMORY;
	store_message_meta_free(&meta);
	return ret;
}

/* A SORT's answer: the found messages in sort order. */
struct sorted {
	uint32_t *uids, *seqs;
	uint64_t *modseqs;
	size_t count;
};

static void sorted_free(struct sorted *so)
{
	free(so->uids);
	free(so->seqs);
	free(so->modseqs);
	memset(so, 0, sizeof(*so));
}

/*
 * sort_result orders the messages of res by the criteria into *so.
 * Returns IMAP_RUN_OK, or another status with *error_r.
 */
static int sort_result(const struct imap_search_view *view, const struct search_result *res,
		       const struct imap_sort_criterion *crit, size_t ncrit, struct sorted *so,
		       const char **error_r)
{
	size_t n = 0;
	int ret = IMAP_RUN_OK;

	memset(so, 0, sizeof(*so));
	/* Each key is at most IMAP_SORT_KEY_MAX octets, plus the pool's
	 * rounding; a view of n messages needs at most this much. */
	struct sort_space sp = {
		.keys = pool_new((res->count + 1) * SORT_KEYS_PER_MESSAGE * (IMAP_SORT_KEY_MAX + 32)),
	};
	struct imap_sort_msg *msgs = calloc(res->count + 1, sizeof(*msgs));
	buf_init(&sp.text, 4 * IMAP_SORT_KEY_MAX + 1);
	buf_init(&sp.decoded, 4 * IMAP_SORT_KEY_MAX + 1);
	buf_init(&sp.key, IMAP_SORT_KEY_MAX + 1);
	so->uids = malloc((res->count + 1) * sizeof(*so->uids));
	so->seqs = malloc((res->count + 1) * sizeof(*so->seqs));
	so->modseqs = malloc((res->count + 1) * sizeof(*so->modseqs));
	if (msgs == NULL || sp.keys == NULL || so->uids == NULL || so->seqs == NULL ||
	    so->modseqs == NULL) {
		*error_r = ERR_MEMORY;
		ret = IMAP_RUN_ERROR;
	}
	for (size_t i = 0; i < res->count && ret == IMAP_RUN_OK; i++) {
		int s = sort_fill(view, res->msgs[i], crit, ncrit, &msgs[n], &sp, error_r);
		if (s == STORE_NOT_FOUND)
			continue;
		if (s != STORE_OK) {
			ret = search_store_status(s);
			break;
		}
		msgs[n++].seq = res->positions[i] + 1;
	}
	if (ret == IMAP_RUN_OK) {
		imap_sort_msgs(msgs, n, crit, ncrit);
		for (size_t i = 0; i < n; i++) {
			so->uids[i] = msgs[i].uid;
			so->seqs[i] = msgs[i].seq;
			so->modseqs[i] = msgs[i].modseq;
		}
		so->count = n;
	} else {
		sorted_free(so);
	}
	pool_free(&sp.keys);
	buf_free(&sp.text);
	buf_free(&sp.decoded);
	buf_free(&sp.key);
	free(msgs);
	return ret;
}

/* write_sort writes "* SORT n n ...". */
static int write_sort(struct buf *out, const uint32_t *nums, size_t n)
{
	int w = buf_printf(out, "* SORT");
	for (size_t i = 0; i < n && w == 0; i++)
		w = buf_printf(out, " %u", (unsigned)nums[i]);
	return w < 0 ? -1 : buf_printf(out, "\r\n");
}

int imap_sort_command(struct pool *pool, const struct imap_search_view *view,
		      const struct imap_arg *args, size_t count, bool uid, struct str tag,
		      struct buf *out, struct imap_search_kept **kept_r, const char **error_r)
{
	struct imap_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
	struct imap_search_program prog, ret_prog;
	struct search_result res;
	struct sorted so;
	size_t ncrit, start = out->len;

	if (kept_r != NULL)
		*kept_r = NULL;
	memset(&ret_prog, 0, sizeof(ret_prog));
	/* RFC 5267 3: SORT RETURN (options) (criteria) charset program */
	if (count >= 2 && imap_arg_is_atom(&args[0], "RETURN")) {
		if (!imap_search_parse_return(&args[1], &ret_prog, error_r))
			return IMAP_RUN_BAD;
		if (ret_prog.return_options & IMAP_SEARCH_RETURN_SAVE) {
			*error_r = ERR_SORT_SAVE;
			return IMAP_RUN_BAD;
		}
		args += 2;
		count -= 2;
	}
	if (count < 1) {
		*error_r = "Missing sort criteria";
		return IMAP_RUN_BAD;
	}
	if (imap_sort_parse_criteria(&args[0], crit, &ncrit, error_r) < 0)
		return IMAP_RUN_BAD;
	int ret = parse_charset_program(pool, &args[1], count - 1, &prog, error_r);
	if (ret != IMAP_RUN_OK)
		return ret;
	prog.has_return = ret_prog.has_return;
	prog.return_options = ret_prog.return_options;
	prog.partial = ret_prog.partial;
	if ((ret = search_run(pool, view, &prog, &res, error_r)) != IMAP_RUN_OK)
		return ret;
	ret = sort_result(view, &res, crit, ncrit, &so, error_r);
	if (ret == IMAP_RUN_OK) {
		const uint32_t *nums = uid ? so.uids : so.seqs;
		int w = prog.has_return
				? imap_search_return_write(out, tag, uid, &prog, nums, so.modseqs,
							   so.count, res.has_modseq)
				: write_sort(out, nums, so.count);
		if (w < 0) {
			search_truncate_out(out, start);
			*error_r = ERR_TOO_LARGE;
			ret = IMAP_RUN_NO;
		} else if (prog.return_options & IMAP_SEARCH_RETURN_UPDATE) {
			struct imap_search_kept *kept = search_keep_new(&prog, crit, ncrit, so.uids,
								 so.count, kept_r != NULL, tag, out);
			if (kept_r != NULL)
				*kept_r = kept;
		}
	}
	sorted_free(&so);
	search_result_free(&res);
	return ret;
}

int imap_search_kept_rerun(const struct imap_search_kept *kept,
			   const struct imap_search_view *view, const uint32_t *only,
			   size_t only_count, uint32_t **uids_r, size_t *count_r,
			   const char **error_r)
{
	struct pool *pool = pool_new(IMAP_SEARCH_KEPT_PROGRAM_MAX);
	struct imap_search_view part;
	struct search_result res;
	struct sorted so;
	int ret;

	*uids_r = NULL;
	*count_r = 0;
	if (pool == NULL) {
		*error_r = ERR_MEMORY;
		return IMAP_RUN_ERROR;
	}
	if (only != NULL) {
		assert(kept->per_message);
		part = *view;
		part.uids = only;
		part.count = only_count;
		view = &part;
	}
	ret = search_run(pool, view, &kept->prog, &res, error_r);
	if (ret == IMAP_RUN_OK && (kept->crit_count == 0 || only != NULL)) {
		if ((*uids_r = search_result_uids(view, &res)) == NULL) {
			*error_r = ERR_MEMORY;
			ret = IMAP_RUN_ERROR;
		}
		*count_r = *uids_r != NULL ? res.count : 0;
	} else if (ret == IMAP_RUN_OK) {
		ret = sort_result(view, &res, kept->crit, kept->crit_count, &so, error_r);
		if (ret == IMAP_RUN_OK) {
			*uids_r = so.uids;
			*count_r = so.count;
			so.uids = NULL;
			sorted_free(&so);
		}
	}
	search_result_free(&res);
	pool_free(&pool);
	return ret;
}

int imap_thread_command(struct pool *pool, const struct imap_search_view *view,
			const struct imap_arg *args, size_t count, bool uid, struct str tag,
			struct buf *out, const char **error_r)
{
	struct imap_search_program prog;
	struct search_result res;
	enum imap_thread_algorithm alg;
	size_t start = out->len;

	(void)tag;
	if (count >= 1 && imap_arg_is_atom(&args[0], "REFERENCES")) {
		alg = IMAP_THREAD_REFERENCES;
	} else if (count >= 1 && imap_arg_is_atom(&args[0], "ORDEREDSUBJECT")) {
		alg = IMAP_THREAD_ORDEREDSUBJECT;
	} else {
		*error_r = "Unknown threading algorithm";
		return IMAP_RUN_BAD;
	}
	int ret = parse_charset_program(pool, &args[1], count - 1, &prog, error_r);
	if (ret != IMAP_RUN_OK)
		return ret;
	if ((ret = search_run(pool, view, &prog, &res, error_r)) != IMAP_RUN_OK)
		return ret;

	struct imap_thread *t = imap_thread_new(alg, res.count);
	if (t == NULL) {
		*error_r = ERR_MEMORY;
		ret = IMAP_RUN_ERROR;
	}
	for (size_t i = 0; i < res.count && ret == IMAP_RUN_OK; i++) {
		struct store_message_meta *meta = NULL;
		int s = store_message_meta(view->store, view->mailbox, res.msgs[i]->uid, &meta,
					   error_r);
		if (s == STORE_NOT_FOUND)
			continue; /* expunged since the search */
		if (s != STORE_OK) {
			ret = search_store_status(s);
			break;
		}
		struct imap_thread_msg m = {
			.uid = res.msgs[i]->uid,
			.seq = res.positions[i] + 1,
			.subject = str_c(meta->subject),
			.message_id = str_c(meta->message_id),
			.in_reply_to = str_c(meta->in_reply_to),
			.references = str_c(meta->references),
			.sent_date = meta->sent_date >= 0 ? meta->sent_date : res.msgs[i]->internal_date,
		};
		if (imap_thread_add(t, &m) < 0) {
			*error_r = ERR_MEMORY;
			ret = IMAP_RUN_ERROR;
		}
		store_message_meta_free(&meta);
	}
	if (ret == IMAP_RUN_OK) {
		size_t before;
		int w = buf_printf(out, "* THREAD");
		before = out->len;
		if (w == 0 && buf_putc(out, ' ') == 0) {
			w = imap_thread_write(t, uid, out);
			if (w == 0 && out->len == before + 1)
				search_truncate_out(out, before); /* no thread: "* THREAD" alone */
		} else {
			w = -1;
		}
		if (w < 0 || buf_printf(out, "\r\n") < 0) {
			search_truncate_out(out, start);
			*error_r = ERR_TOO_LARGE;
			ret = IMAP_RUN_NO;
		}
	}
	imap_thread_free(&t);
	search_result_free(&res);
	return ret;
}
