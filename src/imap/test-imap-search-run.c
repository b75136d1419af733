/*
 * Tests of imap-search-run against the real store: a store made in a
 * mkdtemp directory, messages parsed with the MIME parser and delivered,
 * flags and keywords set, one message expunged behind the view's back;
 * then SEARCH (index, header, date, flag, set and MODSEQ keys, ESEARCH,
 * SAVE), SORT and THREAD as a client would send them.  The fake-store
 * tests (test-imap-search-fake.c) cover the answers' fine print; these
 * check that the store's data reads the way the commands expect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "imap-proto/imap-parser.h"
#include "imap/imap-search-run.h"
#include "mail/mime.h"

#define TEST_DIR_TEMPLATE "/tmp/ravelin-search-test-XXXXXX"
/* 2024-01-01T00:00:00Z */
#define JAN1 1704067200
#define HOUR 3600
#define DAY 86400

/* The test mailbox: INBOX with messages 1-6, 5 expunged after the view
 * was taken (so the view still has it). */
static const struct {
	const char *text;
	int64_t internal_date;
} mails[] = {
	{ "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	  "From: Alice <alice@example.org>\r\n"
	  "To: Bob <bob@example.org>\r\n"
	  "Subject: Hello world\r\n"
	  "Message-ID: <1@x>\r\n"
	  "\r\n"
	  "The first body text.\r\n", JAN1 + 10 * HOUR },
	{ "Date: Tue, 2 Jan 2024 09:00:00 +0000\r\n"
	  "From: carol@example.org\r\n"
	  "To: alice@example.org\r\n"
	  "Subject: Re: Hello world\r\n"
	  "Message-ID: <2@x>\r\n"
	  "In-Reply-To: <1@x>\r\n"
	  "References: <1@x>\r\n"
	  "X-Spam: yes\r\n"
	  "\r\n"
	  "Second body.\r\n", JAN1 + DAY + 10 * HOUR },
	{ "From: Bob <bob@example.org>\r\n"
	  "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
	  "Message-ID: <3@x>\r\n"
	  "References: <gone@x>\r\n"
	  "\r\n"
	  "Third.\r\n", JAN1 + 2 * DAY },
	{ "Date: Tue, 2 Jan 2024 12:00:00 +0000\r\n"
	  "From: dave@example.org\r\n"
	  "Subject: Re: Gruesse\r\n"
	  "Message-ID: <4@x>\r\n"
	  "References: <gone@x>\r\n"
	  "\r\n"
	  "Fourth.\r\n", JAN1 + 3 * DAY },
	{ "Date: Fri, 5 Jan 2024 12:00:00 +0000\r\n"
	  "From: eve@example.org\r\n"
	  "Subject: Expunged soon\r\n"
	  "Message-ID: <5@x>\r\n"
	  "\r\n"
	  "Fifth.\r\n", JAN1 + 4 * DAY },
	{ "Date: Sat, 6 Jan 2024 12:00:00 +0000\r\n"
	  "From: frank@example.org\r\n"
	  "Cc: erin@example.org\r\n"
	  "Message-ID: <6@x>\r\n"
	  "\r\n", JAN1 + 5 * DAY },
};
#define MAIL_COUNT (sizeof(mails) / sizeof(mails[0]))
/* Message 6 gets a body this long, so LARGER has something to find. */
#define BIG_BODY 3000

struct fixture {
	char dir[sizeof(TEST_DIR_TEMPLATE)];
	struct store *store;
	uint32_t uids[MAIL_COUNT];     /* the view: all six */
	uint64_t modseq_before_flags;  /* HIGHESTMODSEQ after delivery */
	uint64_t modseq_after_flags;
	uint32_t *saved;
	size_t saved_count;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* deliver parses text with the MIME parser and delivers it to INBOX. */
static uint32_t deliver(struct store *store, const char *text, size_t len, int64_t date,
			unsigned n)
{
	struct mime_limits limits;
	const struct mime_message *msg;
	const char *error = NULL;
	char key[32];
	uint32_t uid;
	bool dup;

	mime_limits_default(&limits);
	struct mime_parser *p = mime_parser_new(&limits);
	assert_non_null(p);
	assert_int_equal(mime_parser_feed(p, text, len, &error), 0);
	assert_int_equal(mime_parser_finish(p, &msg, &error), 0);
	struct iovec iov = { (void *)text, len };
	snprintf(key, sizeof(key), "test-%u", n);
	if (store_deliver(store, "INBOX", key, &iov, 1, msg, date, &uid, &dup, &error) != 0)
		fail_msg("store_deliver: %s", error);
	mime_parser_free(&p);
	return uid;
}

static uint64_t highestmodseq(struct store *store)
{
	struct store_mailbox box;
	const char *error;
	assert_int_equal(store_mailbox_get(store, "INBOX", &box, &error), STORE_OK);
	free(box.name);
	return box.highestmodseq;
}

/* set_flags changes one message's flags and keywords. */
static void set_flags(struct store *store, uint32_t uid, uint32_t flags, uint64_t keywords)
{
	struct store_message *changed = NULL;
	uint32_t *failed = NULL;
	size_t nchanged = 0, nfailed = 0;
	const char *error;

	assert_int_equal(store_flags_update(store, "INBOX", &uid, 1, STORE_FLAGS_ADD, flags, keywords,
					    0, &changed, &nchanged, &failed, &nfailed, &error),
			 STORE_OK);
	free(changed);
	free(failed);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *error = NULL;
	unsigned work;

	memcpy(f->dir, TEST_DIR_TEMPLATE, sizeof(TEST_DIR_TEMPLATE));
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if (store_create(f->dir, &error) != 0 || store_open(f->dir, &f->store, &error) != 0) {
		fprintf(stderr, "store: %s\n", error);
		return -1;
	}
	for (unsigned i = 0; i < MAIL_COUNT; i++) {
		const char *text = mails[i].text;
		size_t len = strlen(text);
		if (i == 5) {
			/* Message 6: its header and a long body. */
			char *b = malloc(len + BIG_BODY + 1);
			memcpy(b, text, len);
			memset(b + len, 'z', BIG_BODY);
			f->uids[i] = deliver(f->store, b, len + BIG_BODY, mails[i].internal_date, i);
			free(b);
			continue;
		}
		f->uids[i] = deliver(f->store, text, len, mails[i].internal_date, i);
	}
	f->modseq_before_flags = highestmodseq(f->store);
	assert_int_equal(store_keyword_index(f->store, "$Work", true, &work, &error), STORE_OK);
	set_flags(f->store, f->uids[0], STORE_FLAG_SEEN, 0);
	set_flags(f->store, f->uids[1], STORE_FLAG_FLAGGED, 0);
	set_flags(f->store, f->uids[5], STORE_FLAG_SEEN, 1ull << work);
	f->modseq_after_flags = highestmodseq(f->store);
	/* Message 5 goes from the store; the view (f->uids) keeps it. */
	assert_int_equal(store_expunge(f->store, "INBOX", &f->uids[4], 1, &error), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(&f->store);
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->saved);
	free(f);
	return 0;
}

/* run parses "A1 <line>\r\n" and runs it on the fixture's view; returns
 * the status and the untagged answer or error text (caller frees). */
static int run(struct fixture *f, const char *line, char **text_r)
{
	struct imap_parser *p = imap_parser_new(NULL);
	struct buf in, out;
	size_t used;
	int r;

	buf_init(&in, 64 * 1024);
	buf_init(&out, 1024 * 1024);
	buf_printf(&in, "A1 %s\r\n", line);
	r = imap_parser_feed(p, in.data, in.len, &used);
	if (r != IMAP_PARSE_COMMAND)
		fail_msg("'%s': parser: %s", line, imap_parser_error(p, NULL, NULL));
	const struct imap_command *cmd = imap_parser_command(p);
	struct pool *pool = pool_new(16 * 1024 * 1024);
	struct imap_search_view view = {
		.store = f->store, .mailbox = "INBOX", .uids = f->uids, .count = MAIL_COUNT,
		.condstore = true, .utf8 = true, .saved_uids = &f->saved,
		.saved_count = &f->saved_count,
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
	*text_r = strdup(r == IMAP_RUN_OK ? (out.data != NULL ? out.data : "")
					  : (error != NULL ? error : "(no error text)"));
	pool_free(&pool);
	buf_free(&in);
	buf_free(&out);
	imap_parser_free(&p);
	return r;
}

static void answer(struct fixture *f, const char *line, const char *want)
{
	char *got;
	int r = run(f, line, &got);
	if (r != IMAP_RUN_OK)
		fail_msg("'%s': status %d: %s", line, r, got);
	if (strcmp(got, want) != 0)
		fail_msg("'%s':\n got  '%s'\n want '%s'", line, got, want);
	free(got);
}

static void found(struct fixture *f, const char *program, const char *want)
{
	char line[512], text[512];
	snprintf(line, sizeof(line), "SEARCH %s", program);
	snprintf(text, sizeof(text), "* SEARCH%s%s\r\n", want[0] != '\0' ? " " : "", want);
	answer(f, line, text);
}

static void test_message_keys(void **state)
{
	struct fixture *f = *state;
	char want[128];

	/* 5 is expunged: never found, not even by NOT. */
	found(f, "ALL", "1 2 3 4 6");
	found(f, "NOT ALL", "");
	found(f, "5", "");
	snprintf(want, sizeof(want), "* SEARCH %u %u %u %u %u\r\n", f->uids[0], f->uids[1],
		 f->uids[2], f->uids[3], f->uids[5]);
	answer(f, "UID SEARCH ALL", want);
	found(f, "SEEN", "1 6");
	found(f, "UNSEEN", "2 3 4");
	found(f, "FLAGGED", "2");
	found(f, "KEYWORD $work", "6");
	found(f, "UNKEYWORD $Work", "1 2 3 4");
	found(f, "KEYWORD $NoSuchKeyword", "");
	found(f, "LARGER 2000", "6");
	found(f, "NOT LARGER 2000", "1 2 3 4");
	found(f, "ON 3-Jan-2024", "3");
	found(f, "SINCE 4-Jan-2024", "4 6");
	found(f, "BEFORE 2-Jan-2024", "1");
	found(f, "2:4 UNSEEN", "2 3 4");
	found(f, "OR 1 *", "1 6");
}

/* header_keys checks the answers of HEADER keys. */
static void header_keys(struct fixture *f)
{
	found(f, "HEADER X-Spam yes", "2");
	found(f, "HEADER x-spam \"\"", "2");
	found(f, "HEADER References \"\"", "2 3 4");
	found(f, "HEADER Message-ID \"<3@x>\"", "3");
	found(f, "HEADER Subject \"gr\xc3\xbc\xc3\x9f" "e\"", "3");
	found(f, "UNSEEN HEADER Subject hello", "2");
}

/* sql_exec runs sql on the fixture's store database with a connection of
 * its own. */
static void sql_exec(struct fixture *f, const char *sql)
{
	char path[sizeof(f->dir) + 16];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/store.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* HEADER keys take the header from the copy the store kept at delivery:
 * the same answers with the message files out of reach; and from the
 * files for messages stored without a copy. */
static void test_header_sources(void **state)
{
	struct fixture *f = *state;
	char blobs[sizeof(f->dir) + 16], away[sizeof(f->dir) + 16];

	snprintf(blobs, sizeof(blobs), "%s/blobs", f->dir);
	snprintf(away, sizeof(away), "%s/blobs-away", f->dir);
	assert_int_equal(rename(blobs, away), 0);
	header_keys(f);
	assert_int_equal(rename(away, blobs), 0);
	sql_exec(f, "DELETE FROM headers");
	header_keys(f);
}

static void test_meta_keys(void **state)
{
	struct fixture *f = *state;

	found(f, "SENTON 2-Jan-2024", "2 4");
	found(f, "SENTBEFORE 2-Jan-2024", "1");
	/* Message 3 has no Date: it matches no SENT* key. */
	found(f, "SENTSINCE 1-Jan-2024", "1 2 4 6");
	found(f, "NOT SENTSINCE 1-Jan-2024", "3");
	header_keys(f);
}

static void test_text_keys(void **state)
{
	struct fixture *f = *state;

	found(f, "SUBJECT hello", "1 2");
	found(f, "SUBJECT WORLD", "1 2");
	found(f, "SUBJECT gruesse", "4");
	found(f, "FROM alice", "1");
	found(f, "TO alice", "2");
	found(f, "CC erin", "6");
	found(f, "BODY \"first body\"", "1");
	found(f, "TEXT \"second\"", "2");
	found(f, "SUBJECT \"\"", "1 2 3 4 6");
	found(f, "OR FROM bob SUBJECT hello", "1 2 3");
	found(f, "SUBJECT expunged", "");
}

static void test_modseq_esearch_save(void **state)
{
	struct fixture *f = *state;
	char line[128], want[128];

	/* The three messages whose flags changed after delivery. */
	snprintf(line, sizeof(line), "SEARCH MODSEQ %llu",
		 (unsigned long long)f->modseq_before_flags + 1);
	snprintf(want, sizeof(want), "* SEARCH 1 2 6 (MODSEQ %llu)\r\n",
		 (unsigned long long)f->modseq_after_flags);
	answer(f, line, want);
	snprintf(line, sizeof(line), "SEARCH RETURN (COUNT) MODSEQ %llu",
		 (unsigned long long)f->modseq_before_flags + 1);
	snprintf(want, sizeof(want), "* ESEARCH (TAG \"A1\") COUNT 3 MODSEQ %llu\r\n",
		 (unsigned long long)f->modseq_after_flags);
	answer(f, line, want);
	answer(f, "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN",
	       "* ESEARCH (TAG \"A1\") MIN 2 MAX 4 ALL 2:4 COUNT 3\r\n");
	answer(f, "SEARCH RETURN (SAVE) SEEN", "");
	found(f, "$", "1 6");
	snprintf(want, sizeof(want), "* SEARCH %u\r\n", f->uids[5]);
	answer(f, "UID SEARCH $ KEYWORD $Work", want);
}

static void test_sort(void **state)
{
	struct fixture *f = *state;

	answer(f, "SORT (SUBJECT) UTF-8 ALL", "* SORT 6 4 3 1 2\r\n");
	answer(f, "SORT (FROM) UTF-8 ALL", "* SORT 1 3 2 4 6\r\n");
	answer(f, "SORT (TO REVERSE DATE) UTF-8 ALL", "* SORT 6 3 4 2 1\r\n");
	answer(f, "SORT (DATE) UTF-8 ALL", "* SORT 1 2 4 3 6\r\n");
	answer(f, "SORT (REVERSE ARRIVAL) UTF-8 ALL", "* SORT 6 4 3 2 1\r\n");
	answer(f, "SORT (REVERSE SIZE) UTF-8 UNSEEN", "* SORT 2 4 3\r\n");
}

static void test_thread(void **state)
{
	struct fixture *f = *state;
	char want[128];

	/* 3 and 4 answer the same missing message: a dummy keeps them. */
	answer(f, "THREAD REFERENCES UTF-8 ALL", "* THREAD (1 2)((4)(3))(6)\r\n");
	answer(f, "THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (1 2)(4)(3)(6)\r\n");
	snprintf(want, sizeof(want), "* THREAD (%u %u)\r\n", f->uids[0], f->uids[1]);
	answer(f, "UID THREAD REFERENCES UTF-8 SUBJECT hello", want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_keys),
		cmocka_unit_test(test_meta_keys),
		cmocka_unit_test(test_header_sources),
		cmocka_unit_test(test_text_keys),
		cmocka_unit_test(test_modseq_esearch_save),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_thread),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
