/*
 * imap-sort: sort criteria, base subjects, collation keys and the record
 * ordering of SORT (see imap-sort.h).
 *
 * The base subject follows RFC 5256 2.1 step by step on a working copy:
 * step 1 normalises white space, then steps 2-5 strip trailers and
 * leaders until nothing changes, and step 6 unwraps "[fwd: ...]" and goes
 * round again.  Every step removes at least one octet or ends the loop,
 * so the work is bounded by the subject's length squared at worst, and
 * the subject is cut to a bound first.
 */
#include "imap-sort.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

/* Octets of a subject the base subject is made from.  Longer subjects
 * are cut first: only IMAP_SORT_KEY_MAX octets of the result count, and
 * leaders ("Re: [list] Fwd: ") rarely pass a few dozen octets, so this
 * leaves room for them while the quadratic worst case stays small. */
#define IMAP_SORT_SUBJECT_MAX (4u * IMAP_SORT_KEY_MAX)
/* NFKD makes at most 18 code units of one (U+FDFA); a key has at most
 * 2 * IMAP_SORT_KEY_MAX code units before it. */
#define COLLATE_NFKD_FACTOR 18

static const struct {
	const char *name;
	enum imap_sort_field field;
} sort_keys[] = {
	{ "ARRIVAL", IMAP_SORT_ARRIVAL },
	{ "CC", IMAP_SORT_CC },
	{ "DATE", IMAP_SORT_DATE },
	{ "DISPLAYFROM", IMAP_SORT_DISPLAYFROM },
	{ "DISPLAYTO", IMAP_SORT_DISPLAYTO },
	{ "FROM", IMAP_SORT_FROM },
	{ "SIZE", IMAP_SORT_SIZE },
	{ "SUBJECT", IMAP_SORT_SUBJECT },
	{ "TO", IMAP_SORT_TO },
};

int imap_sort_parse_criteria(const struct imap_arg *arg, struct imap_sort_criterion *crit,
			     size_t *count_r, const char **error_r)
{
	const struct imap_arg *items;
	size_t count, n = 0;
	bool reverse = false;

	*count_r = 0;
	if (!imap_arg_get_list(arg, &items, &count) || count == 0) {
		*error_r = "Invalid sort criteria";
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (imap_arg_is_atom(&items[i], "REVERSE")) {
			if (reverse) {
				*error_r = "REVERSE twice in sort criteria";
				return -1;
			}
			reverse = true;
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof(sort_keys) / sizeof(sort_keys[0]); k++)
			if (imap_arg_is_atom(&items[i], sort_keys[k].name))
				break;
		if (k == sizeof(sort_keys) / sizeof(sort_keys[0])) {
			*error_r = "Unknown sort criterion";
			return -1;
		}
		if (n == IMAP_SORT_MAX_CRITERIA) {
			*error_r = "Too many sort criteria";
			return -1;
		}
		crit[n].field = sort_keys[k].field;
		crit[n].reverse = reverse;
		n++;
		reverse = false;
	}
	if (reverse) {
		*error_r = "REVERSE without a sort criterion";
		return -1;
	}
	*count_r = n;
	return 0;
}

bool imap_sort_needs_meta(const struct imap_sort_criterion *crit, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (crit[i].field != IMAP_SORT_ARRIVAL && crit[i].field != IMAP_SORT_SIZE)
			return true;
	return false;
}

/* ---------- base subject (RFC 5256 2.1) ---------- */

/* A subject being reduced: text[start..end) of a private copy. */
struct subject_work {
	char *text;
	size_t start, end;
	bool refwd;
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static size_t work_len(const struct subject_work *w)
{
	return w->end - w->start;
}

/* has_prefix_ci: does text[pos..end) start with the ASCII word (any case)? */
static bool has_prefix_ci(const struct subject_work *w, size_t pos, const char *word)
{
	size_t n = strlen(word);
	return w->end - pos >= n && str_case_eq(str_from(w->text + pos, n), str_c(word));
}

/* match_blob: subj-blob = "[" *BLOBCHAR "]" *WSP at pos; gives its end. */
static bool match_blob(const struct subject_work *w, size_t pos, size_t *end_r)
{
	if (pos >= w->end || w->text[pos] != '[')
		return false;
	size_t i = pos + 1;
	while (i < w->end && w->text[i] != ']' && w->text[i] != '[')
		i++;
	if (i >= w->end || w->text[i] != ']')
		return false;
	i++;
	while (i < w->end && is_wsp(w->text[i]))
		i++;
	*end_r = i;
	return true;
}

/* strip_trailers is step 2: drop "(fwd)" and WSP at the end, repeatedly. */
static void strip_trailers(struct subject_work *w)
{
	for (;;) {
		if (work_len(w) > 0 && is_wsp(w->text[w->end - 1])) {
			w->end--;
		} else if (work_len(w) >= 5 && has_prefix_ci(w, w->end - 5, "(fwd)")) {
			w->end -= 5;
			w->refwd = true;
		} else {
			return;
		}
	}
}

/* match_leader: subj-leader = (*subj-blob subj-refwd) / WSP at start;
 * gives its end and whether it was a subj-refwd. */
static bool match_leader(const struct subject_work *w, size_t *end_r, bool *refwd_r)
{
	size_t i = w->start;

	if (i < w->end && is_wsp(w->text[i])) {
		*end_r = i + 1;
		*refwd_r = false;
		return true;
	}
	size_t blob_end;
	while (match_blob(w, i, &blob_end))
		i = blob_end;
	/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
	if (has_prefix_ci(w, i, "re"))
		i += 2;
	else if (has_prefix_ci(w, i, "fwd"))
		i += 3;
	else if (has_prefix_ci(w, i, "fw"))
		i += 2;
	else
		return false;
	while (i < w->end && is_wsp(w->text[i]))
		i++;
	if (match_blob(w, i, &blob_end))
		i = blob_end;
	if (i >= w->end || w->text[i] != ':')
		return false;
	*end_r = i + 1;
	*refwd_r = true;
	return true;
}

/* strip_leaders is steps 3-5: leaders, then a blob that leaves something,
 * until neither applies. */
static void strip_leaders(struct subject_work *w)
{
	bool changed;
	do {
		size_t end;
		bool refwd;
		changed = false;
		while (match_leader(w, &end, &refwd)) {
			w->start = end;
			w->refwd |= refwd;
			changed = true;
		}
		/* Step 4: the remainder must hold a non-WSP octet (subj-base
		 * is not empty); trailing WSP went in step 2. */
		if (match_blob(w, w->start, &end) && end < w->end) {
			w->start = end;
			changed = true;
		}
	} while (changed);
}

int imap_sort_base_subject(struct str subject, struct buf *out, bool *refwd_r)
{
	size_t max = subject.len < IMAP_SORT_SUBJECT_MAX ? subject.len : IMAP_SORT_SUBJECT_MAX;
	char text[IMAP_SORT_SUBJECT_MAX];
	struct subject_work w = { .text = text };

	/* Step 1: tabs and line ends (left by unfolding) become spaces,
	 * runs of spaces one space. */
	for (size_t i = 0; i < max; i++) {
		char c = subject.ptr[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && w.end > 0 && text[w.end - 1] == ' ')
			continue;
		text[w.end++] = c;
	}
	for (;;) {
		strip_trailers(&w);
		strip_leaders(&w);
		/* Step 6: "[fwd:" ... "]" around everything. */
		if (work_len(&w) >= 6 && has_prefix_ci(&w, w.start, "[fwd:") &&
		    w.text[w.end - 1] == ']') {
			w.start += 5;
			w.end--;
			w.refwd = true;
			continue;
		}
		break;
	}
	*refwd_r = w.refwd;
	return buf_append(out, w.text + w.start, work_len(&w));
}

/* ---------- i;unicode-casemap (RFC 5051) ---------- */

int imap_sort_collate_key(struct str text, struct buf *out)
{
	UChar src[2 * IMAP_SORT_KEY_MAX];
	int32_t src_len = 0, i = 0;
	int32_t len = text.len < IMAP_SORT_KEY_MAX ? (int32_t)text.len : IMAP_SORT_KEY_MAX;
	UErrorCode err = U_ZERO_ERROR;

	while (i < len) {
		UChar32 c;
		U8_NEXT((const uint8_t *)text.ptr, i, len, c);
		if (c < 0)
			c = 0xFFFD;
		c = u_totitle(c);
		UBool unsafe = false;
		U16_APPEND(src, src_len, (int32_t)(sizeof(src) / sizeof(src[0])), c, unsafe);
		assert(!unsafe); /* at most two code units per octet read */
	}
	const UNormalizer2 *nfkd = unorm2_getNFKDInstance(&err);
	if (U_FAILURE(err))
		return -1;
	int32_t cap = src_len * COLLATE_NFKD_FACTOR + 1;
	UChar *norm = malloc((size_t)cap * sizeof(*norm));
	if (norm == NULL)
		return -1;
	int32_t norm_len = unorm2_normalize(nfkd, src, src_len, norm, cap, &err);
	int ret = -1;
	char *utf8 = U_SUCCESS(err) ? malloc((size_t)norm_len * 3 + 1) : NULL;
	if (utf8 != NULL) {
		int32_t utf8_len;
		u_strToUTF8(utf8, norm_len * 3 + 1, &utf8_len, norm, norm_len, &err);
		if (U_SUCCESS(err)) {
			if (utf8_len > IMAP_SORT_KEY_MAX)
				utf8_len = IMAP_SORT_KEY_MAX;
			ret = buf_append(out, utf8, (size_t)utf8_len);
		}
	}
	free(utf8);
	free(norm);
	return ret;
}

/* ---------- ENVELOPE addresses ---------- */

/* A position in ENVELOPE text. */
struct env_reader {
	const char *p, *end;
};

static bool env_char(struct env_reader *r, char c)
{
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return true;
	}
	return false;
}

/* env_nstring reads NIL, a quoted string or a literal, appending its
 * value to out when out is not NULL. */
static bool env_nstring(struct env_reader *r, struct buf *out)
{
	if (r->end - r->p >= 3 && str_case_eq(str_from(r->p, 3), STR("NIL"))) {
		r->p += 3;
		return true;
	}
	if (env_char(r, '"')) {
		while (r->p < r->end && *r->p != '"') {
			if (*r->p == '\\' && ++r->p == r->end)
				return false;
			if (out != NULL && buf_putc(out, *r->p) < 0)
				return false;
			r->p++;
		}
		return env_char(r, '"');
	}
	if (env_char(r, '{')) {
		uint64_t n = 0;
		const char *digits = r->p;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && r->p - digits < 19)
			n = n * 10 + (uint64_t)(*r->p++ - '0');
		if (r->p == digits || !env_char(r, '}') || !env_char(r, '\r') || !env_char(r, '\n') ||
		    n > (uint64_t)(r->end - r->p))
			return false;
		if (out != NULL && buf_append(out, r->p, (size_t)n) < 0)
			return false;
		r->p += n;
		return true;
	}
	return false;
}

/*
 * env_addresses reads an address list (NIL or "(" 1*address ")"); with
 * out, the first address's mailbox is appended, or with display its
 * name, or when that is empty its mailbox@host.
 */
static bool env_addresses(struct env_reader *r, struct buf *out, bool display)
{
	if (r->end - r->p >= 3 && str_case_eq(str_from(r->p, 3), STR("NIL"))) {
		r->p += 3;
		return true;
	}
	if (!env_char(r, '('))
		return false;
	bool first = true;
	size_t start = out != NULL ? out->len : 0;
	do {
		struct buf *name = first && display ? out : NULL;
		/* address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")" */
		if (!env_char(r, '(') || !env_nstring(r, name) || !env_char(r, ' ') ||
		    !env_nstring(r, NULL) || !env_char(r, ' '))
			return false;
		bool spec = first && out != NULL && (!display || out->len == start);
		if (!env_nstring(r, spec ? out : NULL) || !env_char(r, ' '))
			return false;
		size_t at = spec ? out->len : 0;
		if (spec && display && buf_putc(out, '@') < 0)
			return false;
		if (!env_nstring(r, spec && display ? out : NULL) || !env_char(r, ')'))
			return false;
		if (spec && display && out->len == at + 1) {
			out->len = at; /* no host: the mailbox alone */
			out->data[at] = '\0';
		}
		first = false;
		env_char(r, ' ');
	} while (r->p < r->end && *r->p == '(');
	return env_char(r, ')');
}

/* envelope_address reads the ENVELOPE up to the address list of field. */
static bool envelope_address(struct str envelope, enum imap_sort_field field, struct buf *out,
			     bool display)
{
	struct env_reader r = { envelope.ptr, envelope.ptr + envelope.len };
	/* ENVELOPE: date subject from sender reply-to to cc ... */
	unsigned want = field == IMAP_SORT_FROM || field == IMAP_SORT_DISPLAYFROM ? 2
			: field == IMAP_SORT_CC ? 6 : 5;

	if (!env_char(&r, '(') || !env_nstring(&r, NULL) || !env_char(&r, ' ') ||
	    !env_nstring(&r, NULL))
		return false;
	for (unsigned i = 2; i <= want; i++) {
		if (!env_char(&r, ' ') || !env_addresses(&r, i == want ? out : NULL, display))
			return false;
	}
	return true;
}

bool imap_sort_envelope_mailbox(struct str envelope, enum imap_sort_field field, struct buf *out)
{
	assert(field == IMAP_SORT_FROM || field == IMAP_SORT_TO || field == IMAP_SORT_CC);
	return envelope_address(envelope, field, out, false);
}

bool imap_sort_envelope_display(struct str envelope, enum imap_sort_field field, struct buf *out)
{
	assert(field == IMAP_SORT_DISPLAYFROM || field == IMAP_SORT_DISPLAYTO);
	return envelope_address(envelope, field, out, true);
}

/* ---------- ordering ---------- */

int imap_sort_compare_date(int64_t date_a, uint32_t seq_a, int64_t date_b, uint32_t seq_b)
{
	if (date_a != date_b)
		return date_a < date_b ? -1 : 1;
	return seq_a < seq_b ? -1 : seq_a > seq_b;
}

/* compare_key orders collation keys octet by octet, a prefix first. */
static int compare_key(struct str a, struct str b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;
	if (c != 0)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

/* The criteria of one imap_sort_msgs call, for qsort_r. */
struct sort_context {
	const struct imap_sort_criterion *crit;
	size_t count;
};

static int compare_msgs(const void *pa, const void *pb, void *ctx_ptr)
{
	const struct imap_sort_msg *a = pa, *b = pb;
	const struct sort_context *ctx = ctx_ptr;

	for (size_t i = 0; i < ctx->count; i++) {
		int c = 0;
		switch (ctx->crit[i].field) {
		case IMAP_SORT_ARRIVAL:
			c = a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
			break;
		case IMAP_SORT_DATE:
			c = a->sent_date < b->sent_date ? -1 : a->sent_date > b->sent_date;
			break;
		case IMAP_SORT_SIZE:
			c = a->size < b->size ? -1 : a->size > b->size;
			break;
		case IMAP_SORT_SUBJECT:
			c = compare_key(a->subject, b->subject);
			break;
		case IMAP_SORT_FROM:
			c = compare_key(a->from, b->from);
			break;
		case IMAP_SORT_TO:
			c = compare_key(a->to, b->to);
			break;
		case IMAP_SORT_CC:
			c = compare_key(a->cc, b->cc);
			break;
		case IMAP_SORT_DISPLAYFROM:
			c = compare_key(a->display_from, b->display_from);
			break;
		case IMAP_SORT_DISPLAYTO:
			c = compare_key(a->display_to, b->display_to);
			break;
		}
		if (c != 0)
			return ctx->crit[i].reverse ? -c : c;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void imap_sort_msgs(struct imap_sort_msg *msgs, size_t count,
		    const struct imap_sort_criterion *crit, size_t crit_count)
{
	struct sort_context ctx = { crit, crit_count };
	if (count > 1)
		qsort_r(msgs, count, sizeof(*msgs), compare_msgs, &ctx);
}
