/*
 * Unit tests for imap-search-run against a store of hand-made messages:
 * every search key, the SEARCH, ESEARCH (RFC 4731), SAVE and "$" (RFC
 * 5182) and MODSEQ (RFC 7162) answers, SORT and THREAD, and the cost
 * rules: one index query per text key, the meta and the message file read
 * only for messages that still need them.  The store is store-mem (the
 * in-memory backend): the messages are put with their pre-parsed answers
 * as written below, and store-mem counts the calls and can fail a search
 * or lose a message on purpose.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "imap-proto/imap-parser.h"
#include "imap/imap-search-run.h"
#include "store/store-mem.h"

/* ---------- the store's messages ---------- */

struct fake_msg {
	struct store_message m;
	const char *subject, *from, *to, *cc, *bcc, *body;
	const char *header, *envelope;
	const char *message_id, *in_reply_to, *references;
	int64_t sent_date;
	bool expunged;     /* the view has it, the store does not */
};

#define E(from, to) "(NIL NIL " from " NIL NIL " to " NIL NIL NIL NIL)"
#define ADDR(box) "((NIL NIL \"" box "\" \"h\"))"

/* 2024-01-01T00:00:00Z */
#define JAN1 1704067200
#define HOUR 3600
#define DAY 86400

static struct fake_msg fake[] = {
	{ .m = { .uid = 3, .flags = STORE_FLAG_SEEN, .modseq = 10, .size = 100,
		 .internal_date = JAN1 + 10 * HOUR, .keywords = 1 },
	  .subject = "Hello world", .from = "Alice <alice@a.org>", .body = "first body",
	  .header = "Subject: Hello world\r\nFrom: Alice <alice@a.org>\r\nX-Spam: yes\r\n"
		    "Received: from a\r\nReceived: from b\r\n by c\r\n\r\n",
	  .envelope = E(ADDR("alice"), ADDR("bob")), .message_id = "<1@x>",
	  .sent_date = JAN1 - HOUR },
	{ .m = { .uid = 5, .flags = STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED, .modseq = 20,
		 .size = 2000, .internal_date = JAN1 + DAY },
	  .subject = "Re: Hello Gr\xc3\xbc\xc3\x9f" "e", .from = "carol@c.org", .to = "alice@a.org",
	  .header = "Subject: Re: Hello =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nX-Spam: no\r\n\r\n",
	  .envelope = E(ADDR("carol"), ADDR("alice")), .message_id = "<2@x>",
	  .references = "<1@x>", .sent_date = -1 },
	{ .m = { .uid = 7, .flags = STORE_FLAG_DELETED, .modseq = 15, .size = 500,
		 .internal_date = JAN1 + 2 * DAY + 12 * HOUR },
	  .subject = "Other", .from = "bob@b.org", .header = "Subject: Other\r\n\r\n",
	  .envelope = E(ADDR("bob"), "NIL"), .message_id = "<3@x>",
	  .sent_date = JAN1 + 2 * DAY + 8 * HOUR },
	{ .m = { .uid = 9, .modseq = 40, .size = 10, .internal_date = JAN1 }, .expunged = true,
	  .subject = "gone", .header = "\r\n", .envelope = E("NIL", "NIL"), .sent_date = -1 },
	{ .m = { .uid = 11, .flags = STORE_FLAG_SEEN | STORE_FLAG_DRAFT, .modseq = 30, .size = 50,
		 .internal_date = JAN1 + 4 * DAY, .keywords = 2 },
	  .subject = "hello again", .from = "alice@a.org", .cc = "dave@d.org",
	  .header = "Subject: hello again\r\nX-Spam: no\r\n\r\n",
	  .envelope = E(ADDR("alice"), "NIL"), .message_id = "<5@x>", .in_reply_to = "<3@x>",
	  .sent_date = JAN1 + DAY + 12 * HOUR },
	{ .m = { .uid = 13, .modseq = 25, .size = 1000, .internal_date = JAN1 + 5 * DAY - 1 },
	  .subject = "", .header = "X-Other: 1\r\n\r\n", .envelope = E("NIL", "NIL"),
	  .sent_date = -1 },
};
#define FAKE_COUNT (sizeof(fake) / sizeof(fake[0]))

static const char *const keywords[] = { "$Forwarded", "$Junk" };
static struct store *the_store;
/* The account's name for store-mem (nothing is written there). */
#define STORE_DIR "/nonexistent/ravelin-test-imap-search"

/* The calls the tests count, as store-mem counts them. */
#define text_calls (*store_mem_calls(the_store, STORE_MEM_TEXT_SEARCH))
#define meta_calls (*store_mem_calls(the_store, STORE_MEM_MESSAGE_META))
#define open_calls (*store_mem_calls(the_store, STORE_MEM_CONTENT_OPEN))

/* meta_gone: message i is expunged between the range and the meta. */
static void meta_gone(size_t i, bool gone)
{
	assert_int_equal(store_mem_hide(the_store, "INBOX", fake[i].m.uid, gone), 0);
}

/* store_fill opens the store and puts every message not expunged, with
 * the two keywords; a search for "FAIL" fails as a broken index would. */
static int store_fill(void **state)
{
	const char *error = NULL;
	unsigned index;

	(void)state;
	if (store_backend_use("mem") < 0 || store_create(STORE_DIR, &error) < 0 ||
	    store_open(STORE_DIR, &the_store, &error) < 0)
		return -1;
	for (unsigned i = 0; i < 2; i++)
		if (store_keyword_index(the_store, keywords[i], true, &index, &error) != STORE_OK ||
		    index != i)
			return -1;
	for (size_t i = 0; i < FAKE_COUNT; i++) {
		const struct fake_msg *f = &fake[i];
		const struct store_mem_message m = {
			.m = f->m, .content = f->header, .envelope = f->envelope,
			.subject = f->subject, .from = f->from, .to = f->to, .cc = f->cc,
			.bcc = f->bcc, .body = f->body, .message_id = f->message_id,
			.in_reply_to = f->in_reply_to, .references = f->references,
			.sent_date = f->sent_date,
		};
		if (!f->expunged && store_mem_put(the_store, "INBOX", &m) < 0)
			return -1;
	}
	/* An index look-up of "SLOW" takes a second of CPU. */
	if (store_mem_slow_search(the_store, "SLOW", 1000) < 0)
		return -1;
	return store_mem_fail_search(the_store, "FAIL", "index broken");
}

/* store_done closes the store, failing the run if a search made a keyword
 * (a search only looks keywords up). */
static int store_done(void **state)
{
	const char *const *names;
	const char *error = NULL;
	size_t count = 0;

	(void)state;
	int ret = store_keyword_list(the_store, &names, &count, &error);
	store_close(&the_store);
	return ret == STORE_OK && count == 2 ? 0 : -1;
}

/* ---------- running commands ---------- */

static uint32_t view_uids[] = { 3, 5, 7, 9, 11, 13 };
static uint32_t *saved;
static size_t saved_count;

/*
 * run parses "A1 <command> <args>\r\n" and runs it; returns the status
 * and the untagged answer or the error text in *text_r (caller frees).
 */
static int run(const char *line, char **text_r)
{
	struct imap_parser *p = imap_parser_new(NULL);
	struct buf in, out;
	size_t used, off = 0;
	int r;

	buf_init(&in, 1024 * 1024);
	buf_init(&out, 1024 * 1024);
	buf_printf(&in, "A1 %s\r\n", line);
	while ((r = imap_parser_feed(p, in.data + off, in.len - off, &used)) == IMAP_PARSE_LITERAL) {
		off += used;
		assert_int_equal(imap_parser_literal_accept(p), 0);
	}
	if (r != IMAP_PARSE_COMMAND)
		fail_msg("'%s': parser: %s", line, imap_parser_error(p, NULL, NULL));
	const struct imap_command *cmd = imap_parser_command(p);
	struct pool *pool = pool_new(16 * 1024 * 1024);
	struct imap_search_view view = {
		.store = the_store, .mailbox = "INBOX", .uids = view_uids,
		.count = sizeof(view_uids) / sizeof(view_uids[0]), .condstore = true,
		.saved_uids = &saved, .saved_count = &saved_count,
	};
	const char *error = NULL;
	struct imap_search_kept *kept = NULL;
	struct str name = cmd->name;
	bool uid = str_case_prefix(name, STR("UID "));
	if (uid)
		name = str_sub(name, 4, SIZE_MAX);
	if (str_eq(name, STR("SORT")))
		r = imap_sort_command(pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag, &out,
				      &kept, &error);
	else if (str_eq(name, STR("THREAD")))
		r = imap_thread_command(pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag, &out,
					&error);
	else
		r = imap_search_command(pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag,
					&out, &kept, &error);
	imap_search_kept_free(&kept);
	if (r == IMAP_RUN_OK) {
		assert_null(strstr(out.data != NULL ? out.data : "", "\r\n\r\n"));
		*text_r = strdup(out.data != NULL ? out.data : "");
	} else {
		assert_int_equal(out.len, 0);
		assert_non_null(error);
		*text_r = strdup(error);
	}
	pool_free(&pool);
	buf_free(&in);
	buf_free(&out);
	imap_parser_free(&p);
	return r;
}

/* answer: line must succeed with exactly the untagged text want. */
static void answer(const char *line, const char *want)
{
	char *got;
	int r = run(line, &got);
	if (r != IMAP_RUN_OK)
		fail_msg("'%s': status %d: %s", line, r, got);
	if (strcmp(got, want) != 0)
		fail_msg("'%s':\n got  '%s'\n want '%s'", line, got, want);
	free(got);
}

/* found: a SEARCH must find exactly the numbers in want ("1 2 5"). */
static void found(const char *program, const char *want)
{
	char line[512], text[512];
	snprintf(line, sizeof(line), "SEARCH %s", program);
	snprintf(text, sizeof(text), "* SEARCH%s%s\r\n", want[0] != '\0' ? " " : "", want);
	answer(line, text);
}

static void refused(const char *line, int status, const char *want)
{
	char *got;
	int r = run(line, &got);
	if (r != status || strcmp(got, want) != 0)
		fail_msg("'%s': got %d '%s', want %d '%s'", line, r, got, status, want);
	free(got);
}

static int reset(void **state)
{
	(void)state;
	free(saved);
	saved = NULL;
	saved_count = 0;
	if (the_store == NULL)
		return 0;
	text_calls = meta_calls = open_calls = 0;
	for (size_t i = 0; i < FAKE_COUNT; i++)
		if (!fake[i].expunged)
			meta_gone(i, false);
	return 0;
}

/* ---------- tests ---------- */

static void test_flags_and_sets(void **state)
{
	(void)state;
	/* Message 4 (UID 9) is gone from the store: never found. */
	found("ALL", "1 2 3 5 6");
	found("NOT ALL", "");
	answer("UID SEARCH ALL", "* SEARCH 3 5 7 11 13\r\n");
	found("SEEN", "1 5");
	found("UNSEEN", "2 3 6");
	found("FLAGGED ANSWERED", "2");
	found("UNFLAGGED", "1 3 5 6");
	found("UNANSWERED", "1 3 5 6");
	found("DELETED", "3");
	found("UNDELETED", "1 2 5 6");
	found("DRAFT", "5");
	found("UNDRAFT", "1 2 3 6");
	/* No \Recent here. */
	found("RECENT", "");
	found("NEW", "");
	found("OLD", "1 2 3 5 6");
	found("LARGER 100", "2 3 6");
	found("SMALLER 100", "5");
	found("KEYWORD $forwarded", "1");
	found("KEYWORD $Junk", "5");
	found("UNKEYWORD $Junk", "1 2 3 6");
	found("KEYWORD $Unknown", "");
	found("UNKEYWORD $Unknown", "1 2 3 5 6");
	found("1:3", "1 2 3");
	found("*", "6");
	found("2,4:*", "2 5 6");
	found("7", "");
	found("UID 5:9", "2 3");
	found("UID *", "6");
	found("UID 12:20", "6");
	found("UID 1000", "");
	found("OR SEEN DELETED", "1 3 5");
	found("NOT (SEEN DRAFT)", "1 2 3 6");
	found("OR (SEEN LARGER 60) (NOT UID 1:12)", "1 6");
}

static void test_dates(void **state)
{
	(void)state;
	found("BEFORE 2-Jan-2024", "1");
	found("ON 5-Jan-2024", "5 6");
	found("SINCE 3-Jan-2024", "3 5 6");
	found("ON 1-Jan-2024", "1");
	/* The Date: header; messages without one match no SENT* key. */
	found("SENTBEFORE 1-Jan-2024", "1");
	found("SENTON 31-Dec-2023", "1");
	found("SENTON 3-Jan-2024", "3");
	found("SENTSINCE 1-Jan-2024", "3 5");
	found("NOT SENTON 3-Jan-2024", "1 2 5 6");
}

static void test_text(void **state)
{
	(void)state;
	text_calls = 0;
	found("SUBJECT hello", "1 2 5");
	assert_int_equal(text_calls, 1);
	found("OR SUBJECT other FROM alice", "1 3 5");
	found("CC dave", "5");
	found("TO ALICE", "2");
	found("BCC x", "");
	found("BODY \"first\"", "1");
	found("TEXT spam", "1 2 5");
	/* The empty string is in every text: no index query. */
	text_calls = 0;
	found("SUBJECT \"\" BODY \"\"", "1 2 3 5 6");
	assert_int_equal(text_calls, 0);
	/* One query per key, however many messages. */
	found("SUBJECT hello SUBJECT world", "1");
	assert_int_equal(text_calls, 2);
}

static void test_header(void **state)
{
	(void)state;
	found("HEADER X-Spam yes", "1");
	found("HEADER x-spam \"\"", "1 2 5");
	found("HEADER X-Spam NO", "2 5");
	/* Every occurrence, unfolded. */
	found("HEADER Received \"from b by c\"", "1");
	/* RFC 2047-decoded. */
	found("HEADER Subject \"gr\xc3\xbc\xc3\x9f" "e\"", "2");
	found("HEADER X-Nothing \"\"", "");
	found("HEADER \"X-Spam:\" \"\"", "");
}

static void test_cost(void **state)
{
	(void)state;
	/* SEEN first although written last: the header is read for the two
	 * seen messages only. */
	meta_calls = open_calls = 0;
	found("HEADER X-Spam yes SEEN", "1");
	assert_int_equal(open_calls, 2);
	assert_int_equal(meta_calls, 2);
	/* OR stops at the first true child, the cheap one. */
	meta_calls = open_calls = 0;
	found("OR HEADER X-Spam yes SEEN", "1 5");
	assert_int_equal(open_calls, 3);
	/* Flags alone never load the meta. */
	meta_calls = open_calls = 0;
	found("OR SEEN (LARGER 10 UNDELETED)", "1 2 5 6");
	assert_int_equal(meta_calls, 0);
	assert_int_equal(open_calls, 0);
	/* The meta is loaded once per message for several SENT* keys. */
	meta_calls = 0;
	found("SENTSINCE 1-Jan-2000 SENTBEFORE 1-Jan-2030 NOT SENTON 1-Jan-2001", "1 3 5");
	assert_int_equal(meta_calls, 5);
	/* A message expunged between the range and the meta matches nothing,
	 * not even under NOT. */
	meta_gone(5, true);
	found("NOT SENTON 1-Jan-2000", "1 2 3 5");
	found("SEEN", "1 5");
	meta_gone(5, false);
}

static void test_modseq(void **state)
{
	(void)state;
	answer("SEARCH MODSEQ 20", "* SEARCH 2 5 6 (MODSEQ 30)\r\n");
	answer("SEARCH MODSEQ \"/flags/\\\\seen\" all 20 NOT DRAFT", "* SEARCH 2 6 (MODSEQ 25)\r\n");
	answer("SEARCH MODSEQ 1000", "* SEARCH\r\n");
	answer("UID SEARCH MODSEQ 0 DELETED", "* SEARCH 7 (MODSEQ 15)\r\n");
	/* Without a MODSEQ key there is no MODSEQ, CONDSTORE or not. */
	answer("SEARCH DELETED", "* SEARCH 3\r\n");
	/* ESEARCH: of MIN/MAX alone when only they are asked, else of all. */
	answer("SEARCH RETURN (MIN) MODSEQ 1", "* ESEARCH (TAG \"A1\") MIN 1 MODSEQ 10\r\n");
	answer("SEARCH RETURN (MIN MAX) MODSEQ 1",
	       "* ESEARCH (TAG \"A1\") MIN 1 MAX 6 MODSEQ 25\r\n");
	answer("SEARCH RETURN (COUNT) MODSEQ 1", "* ESEARCH (TAG \"A1\") COUNT 5 MODSEQ 30\r\n");
	answer("SEARCH RETURN (COUNT) MODSEQ 1000", "* ESEARCH (TAG \"A1\") COUNT 0\r\n");
}

static void test_esearch(void **state)
{
	(void)state;
	answer("SEARCH RETURN (MIN MAX COUNT) SEEN",
	       "* ESEARCH (TAG \"A1\") MIN 1 MAX 5 COUNT 2\r\n");
	answer("UID SEARCH RETURN (MIN COUNT) UNSEEN",
	       "* ESEARCH (TAG \"A1\") UID MIN 5 COUNT 3\r\n");
	answer("SEARCH RETURN (ALL) UNDELETED", "* ESEARCH (TAG \"A1\") ALL 1:2,5:6\r\n");
	answer("SEARCH RETURN () ALL", "* ESEARCH (TAG \"A1\") ALL 1:3,5:6\r\n");
	answer("UID SEARCH RETURN (ALL) ALL", "* ESEARCH (TAG \"A1\") UID ALL 3,5,7,11,13\r\n");
	answer("SEARCH RETURN (COUNT) DRAFT DELETED", "* ESEARCH (TAG \"A1\") COUNT 0\r\n");
	answer("SEARCH RETURN (MIN MAX ALL) DRAFT DELETED", "* ESEARCH (TAG \"A1\")\r\n");
	answer("SEARCH RETURN (MAX ALL MIN COUNT) SEEN",
	       "* ESEARCH (TAG \"A1\") MIN 1 MAX 5 ALL 1,5 COUNT 2\r\n");
}

static void test_save(void **state)
{
	(void)state;
	/* SAVE alone answers nothing. */
	answer("SEARCH RETURN (SAVE) SEEN", "");
	assert_int_equal(saved_count, 2);
	found("$", "1 5");
	found("UID $", "1 5");
	found("OR $ DELETED", "1 3 5");
	found("NOT $", "2 3 6");
	answer("UID SEARCH $", "* SEARCH 3 11\r\n");
	/* MIN and/or MAX alone save only those. */
	answer("SEARCH RETURN (MIN SAVE) UNSEEN", "* ESEARCH (TAG \"A1\") MIN 2\r\n");
	found("$", "2");
	answer("SEARCH RETURN (MIN MAX SAVE) UNSEEN", "* ESEARCH (TAG \"A1\") MIN 2 MAX 6\r\n");
	found("$", "2 6");
	answer("SEARCH RETURN (SAVE COUNT) UNSEEN", "* ESEARCH (TAG \"A1\") COUNT 3\r\n");
	found("$", "2 3 6");
	/* "$" reads the old result before SAVE replaces it. */
	answer("SEARCH RETURN (SAVE) $ DELETED", "");
	found("$", "3");
	/* A BAD leaves the result, a failure empties it. */
	refused("SEARCH RETURN (SAVE) FOO", IMAP_RUN_BAD, "Unknown search key");
	found("$", "3");
	refused("SEARCH RETURN (SAVE) SUBJECT FAIL", IMAP_RUN_ERROR, "index broken");
	found("$", "");
	assert_null(saved);
	/* No saved result: "$" is empty. */
	found("$", "");
	found("$,1:2", "1 2");
}

static void test_errors(void **state)
{
	(void)state;
	refused("SEARCH CHARSET KOI8-R ALL", IMAP_RUN_NO,
		"[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	refused("SEARCH", IMAP_RUN_BAD, "Missing search key");
	found("CHARSET UTF-8 SUBJECT hello", "1 2 5");
	found("CHARSET us-ascii SEEN", "1 5");
}

/* A string one past IMAP_SEARCH_MAX_STRING is NO [LIMIT], in any string
 * key; one at it is searched. */
static void test_string_limit(void **state)
{
	static const char *const keys[] = { "TEXT", "BODY", "SUBJECT", "FROM", "HEADER X-A",
					    "HEADER" };
	char line[IMAP_SEARCH_MAX_STRING + 64];
	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t len = IMAP_SEARCH_MAX_STRING; len <= IMAP_SEARCH_MAX_STRING + 1; len++) {
			int n = snprintf(line, sizeof(line), "SEARCH %s {%zu}\r\n", keys[k], len);
			memset(line + n, 'q', len);
			/* HEADER alone: the long string is the field name. */
			snprintf(line + n + len, sizeof(line) - (size_t)n - len, "%s",
				 strcmp(keys[k], "HEADER") == 0 ? " x" : "");
			char *got;
			int r = run(line, &got);
			if (len > IMAP_SEARCH_MAX_STRING &&
			    (r != IMAP_RUN_NO || strncmp(got, "[LIMIT]", 7) != 0))
				fail_msg("%s of %zu octets: %d %s", keys[k], len, r, got);
			if (len <= IMAP_SEARCH_MAX_STRING && r != IMAP_RUN_OK)
				fail_msg("%s of %zu octets: %d %s", keys[k], len, r, got);
			free(got);
		}
	}
}

/* Index look-ups of a second each: the command stops at its CPU bound
 * with NO [LIMIT], one look-up past it at most. */
static void test_cpu_limit(void **state)
{
	char line[512] = "SEARCH";
	size_t len = strlen(line);
	(void)state;
	for (unsigned i = 0; i < 2 * IMAP_SEARCH_MAX_CPU_MS / 1000 + 2; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " SUBJECT SLOW");
	clock_t start = clock();
	refused(line, IMAP_RUN_NO, "[LIMIT] Search takes too long; narrow it down");
	double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
	assert_true(seconds < IMAP_SEARCH_MAX_CPU_MS / 1000.0 + 1.5);
	assert_true(text_calls <= IMAP_SEARCH_MAX_CPU_MS / 1000 + 1);
}

static void test_sort(void **state)
{
	(void)state;
	answer("SORT (SIZE) UTF-8 ALL", "* SORT 5 1 3 6 2\r\n");
	answer("UID SORT (SIZE) UTF-8 ALL", "* SORT 11 3 7 13 5\r\n");
	answer("SORT (REVERSE ARRIVAL) UTF-8 ALL", "* SORT 6 5 3 2 1\r\n");
	/* DATE: the Date: header, else the internal date. */
	answer("SORT (DATE) UTF-8 ALL", "* SORT 1 2 5 3 6\r\n");
	/* Base subjects, i;unicode-casemap, the empty one first. */
	answer("SORT (SUBJECT) US-ASCII ALL", "* SORT 6 5 2 1 3\r\n");
	answer("SORT (FROM REVERSE SIZE) UTF-8 ALL", "* SORT 6 1 5 3 2\r\n");
	answer("SORT (TO) UTF-8 ALL", "* SORT 3 5 6 2 1\r\n");
	answer("SORT (CC SIZE) UTF-8 ALL", "* SORT 5 1 3 6 2\r\n");
	answer("SORT (SIZE) UTF-8 SEEN", "* SORT 5 1\r\n");
	answer("SORT (SIZE) UTF-8 DRAFT DELETED", "* SORT\r\n");
	answer("SORT (ARRIVAL) UTF-8 $", "* SORT\r\n");
	refused("SORT (FOO) UTF-8 ALL", IMAP_RUN_BAD, "Unknown sort criterion");
	refused("SORT SIZE UTF-8 ALL", IMAP_RUN_BAD, "Invalid sort criteria");
	refused("SORT (SIZE) KOI8-R ALL", IMAP_RUN_NO,
		"[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	refused("SORT (SIZE) UTF-8", IMAP_RUN_BAD, "Missing charset or search program");
	refused("SORT (SIZE) UTF-8 CHARSET UTF-8 ALL", IMAP_RUN_BAD, "Unknown search key");
	refused("SORT", IMAP_RUN_BAD, "Missing sort criteria");
	/* A message lost after the search is left out. */
	meta_gone(5, true);
	answer("SORT (SUBJECT) UTF-8 ALL", "* SORT 5 2 1 3\r\n");
	answer("SORT (SIZE) UTF-8 ALL", "* SORT 5 1 3 6 2\r\n");
	meta_gone(5, false);
}

static void test_thread(void **state)
{
	(void)state;
	answer("THREAD REFERENCES UTF-8 ALL", "* THREAD (1 2)(3 5)(6)\r\n");
	answer("UID THREAD REFERENCES UTF-8 ALL", "* THREAD (3 5)(7 11)(13)\r\n");
	answer("THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (1)(2)(5)(3)(6)\r\n");
	answer("THREAD REFERENCES UTF-8 NOT 2", "* THREAD (1)(3 5)(6)\r\n");
	answer("THREAD REFERENCES UTF-8 DRAFT DELETED", "* THREAD\r\n");
	refused("THREAD FOO UTF-8 ALL", IMAP_RUN_BAD, "Unknown threading algorithm");
	refused("THREAD", IMAP_RUN_BAD, "Unknown threading algorithm");
	refused("THREAD REFERENCES KOI8-R ALL", IMAP_RUN_NO,
		"[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	refused("THREAD REFERENCES UTF-8 RETURN (ALL) ALL", IMAP_RUN_BAD, "Unknown search key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_flags_and_sets, reset),
		cmocka_unit_test_setup(test_dates, reset),
		cmocka_unit_test_setup(test_text, reset),
		cmocka_unit_test_setup(test_header, reset),
		cmocka_unit_test_setup(test_cost, reset),
		cmocka_unit_test_setup(test_modseq, reset),
		cmocka_unit_test_setup(test_esearch, reset),
		cmocka_unit_test_setup(test_save, reset),
		cmocka_unit_test_setup(test_errors, reset),
		cmocka_unit_test_setup(test_string_limit, reset),
		cmocka_unit_test_setup(test_cpu_limit, reset),
		cmocka_unit_test_setup(test_sort, reset),
		cmocka_unit_test_setup(test_thread, reset),
	};
	int r = cmocka_run_group_tests(tests, store_fill, store_done);
	reset(NULL);
	return r;
}
