/*
 * Unit tests for the store's full-text search (store_text_search: fields,
 * case, short texts, query syntax taken literally, the index's caps, the
 * backlog deliveries mark and its indexing) and the upgrade of a version 1 store, which indexes
 * the messages it holds.  They look into store.db, so they run on the
 * SQLite backend only (test-store-backends.c searches on both).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "mail/mime.h"
#include "store/store.h"
#include "store/test-store.h"

/* ---------- full text ---------- */

static void test_text_search(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t *uids;
	size_t n;

	put(store, "INBOX", plain);
	put(store, "INBOX", alternative);
	put(store, "INBOX", latin1);
	put(store, "Archive", plain);

	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "QUARTERLY"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "terly rep"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "\"quoted\""), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "grüße"), "2");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_FROM, "alice@"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_FROM, "jürgen"), "2");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_TO, "example.net"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_CC, "carol"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BCC, "hidden.example"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BCC, "alice"), "");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "budget figures"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "Köln"), "2");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "words</b> here"), "2");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "crème brûlée"), "3");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "secretword"), "");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "quarterly"), "");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "quarterly"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "zebra-crossing"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "EXAMPLE"), "1,2,3");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "nothing like it"), "");
	/* Shorter than a trigram: a scan of the stored text, same answers. */
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "ö"), "2");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "Qu"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BCC, "da"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "zz"), "");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, ""), "1,2,3");
	/* FTS5 query syntax in the text is only text. */
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "budget OR menu"), "");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "NEAR(a b)*"), "");
	/* Only the mailbox asked about. */
	assert_string_equal(search(store, "Archive", STORE_TEXT_BODY, "budget"), "1");

	uint32_t one = 1;
	assert_int_equal(store_expunge(store, "INBOX", &one, 1, &error), 0);
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "budget"), "");
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), 3);
	assert_int_equal(store_text_search(store, "Nowhere", STORE_TEXT_ANY, "abc", &uids, &n,
					   &error), STORE_NOT_FOUND);
	assert_null(uids);
	store_close(&store);
}

/* A forwarded message's header is in the outer message's body: BODY and
 * TEXT find its Subject, SUBJECT (the outer one's) does not. */
static void test_text_search_forwarded(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);

	put(store, "INBOX",
	    "From: a@example.org\r\nSubject: Fwd: report\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "From: c@example.net\r\nSubject: =?utf-8?q?Kilimanjaro_Gr=C3=BC=C3=9Fe?=\r\n\r\n"
	    "Inner text.\r\n"
	    "--b--\r\n");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "kilimanjaro"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "kilimanjaro grüße"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "inner text"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "kilimanjaro"), "");
	store_close(&store);
}

/* A text part is indexed up to the cap, not dropped for being long. */
static void test_text_search_cap(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	static const char head[] = "Subject: log\r\n\r\nSTARTWORD\r\n";
	static const char line[] = "lorem ipsum dolor sit amet\r\n";
	size_t lines = 3 * 1024 * 1024 / (sizeof(line) - 1);
	size_t size = sizeof(head) - 1 + lines * (sizeof(line) - 1) + 16;
	char *text = malloc(size + 1), *p = text;

	assert_non_null(text);
	p += snprintf(p, size, "%s", head);
	for (size_t i = 0; i < lines; i++) {
		memcpy(p, line, sizeof(line) - 1);
		p += sizeof(line) - 1;
	}
	snprintf(p, 16, "ENDWORD\r\n");
	put(store, "INBOX", text);
	free(text);
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "startword"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "endword"), "");
	assert_true(sql_int(d, "SELECT max(length(CAST(body AS BLOB))) FROM fts") <= 1024 * 1024);
	store_close(&store);
}

/* A batch marks its deliveries for the index, which a search of their
 * mailbox or store_index_backlog fills: the ones that failed or were
 * aborted leave no mark. */
static void test_batch_index(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct parsed p[3];
	uint32_t uid;
	bool dup;

	parse(&p[0], plain);
	parse(&p[1], alternative);
	parse(&p[2], latin1);
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(store_batch_deliver(store, "INBOX", "a", &p[0].iov, 1, p[0].msg, 0, &uid,
					     &dup, &error), 0);
	assert_int_equal(store_batch_deliver(store, "Nowhere", "b", &p[1].iov, 1, p[1].msg, 0,
					     &uid, &dup, &error), -1);
	assert_int_equal(store_batch_deliver(store, "INBOX", "c", &p[2].iov, 1, p[2].msg, 0, &uid,
					     &dup, &error), 0);
	assert_int_equal(store_batch_commit(store, &error), 0);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), 0);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), 2);
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "budget"), "1");
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), 2);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), 0);
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "brûlée"), "2");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "grüße"), "");

	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(store_batch_deliver(store, "INBOX", "d", &p[1].iov, 1, p[1].msg, 0, &uid,
					     &dup, &error), 0);
	store_batch_abort(store);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), 0);
	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "grüße"), "");
	for (int i = 0; i < 3; i++)
		parsed_free(&p[i]);
	store_close(&store);
}

/* The backlog: indexed in turns of at most STORE_INDEX_TURN_MAX messages
 * (one past it takes two), oldest first, each turn all or nothing; a
 * search indexes its own mailbox's backlog only; marks survive a close
 * (a crash) and go with an expunged message; a COPY of an unindexed
 * message is marked, of an indexed one copies its row. */
static void test_index_backlog(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t *src, *dst, uidvalidity;
	size_t copied;
	bool more;

	uint64_t marks = store_index_marks(store);
	for (int i = 0; i <= STORE_INDEX_TURN_MAX; i++)
		put(store, "INBOX", plain);
	put(store, "Archive", alternative);
	put(store, "Archive", latin1);
	assert_int_equal(store_index_marks(store), marks + STORE_INDEX_TURN_MAX + 3);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), STORE_INDEX_TURN_MAX + 3);

	/* A search of Archive indexes Archive's two, not INBOX's. */
	assert_string_equal(search(store, "Archive", STORE_TEXT_BODY, "köln"), "1");
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), 2);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), STORE_INDEX_TURN_MAX + 1);

	/* Closed with a backlog (as by a crash): the marks are still there. */
	store_close(&store);
	store = new_store(d);
	assert_int_equal(store_index_marks(store), 0);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), STORE_INDEX_TURN_MAX + 1);

	/* An expunge takes the message's mark with it. */
	uint32_t one = 1;
	assert_int_equal(store_expunge(store, "INBOX", &one, 1, &error), 0);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), STORE_INDEX_TURN_MAX);
	/* COPY of an unindexed message marks the copy. */
	uint32_t two = 2;
	assert_int_equal(store_copy(store, "INBOX", &two, 1, "Trash", false, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	free(src);
	free(dst);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), STORE_INDEX_TURN_MAX + 1);

	/* One turn: STORE_INDEX_TURN_MAX, the oldest; then the last one. */
	assert_int_equal(store_index_backlog(store, 1000, &more, &error), STORE_OK);
	assert_true(more);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), 1);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending p JOIN messages m"
				    " ON m.id = p.id JOIN mailboxes b ON b.id = m.mailbox_id"
				    " WHERE b.name = 'Trash'"), 1);
	assert_int_equal(store_index_backlog(store, 1000, &more, &error), STORE_OK);
	assert_false(more);
	assert_int_equal(store_index_backlog(store, 1000, &more, &error), STORE_OK);
	assert_false(more);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), 0);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), STORE_INDEX_TURN_MAX + 3);

	/* COPY of an indexed message copies its index row: no mark. */
	assert_int_equal(store_copy(store, "INBOX", &two, 1, "Trash", false, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	free(src);
	free(dst);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), 0);
	assert_string_equal(search(store, "Trash", STORE_TEXT_BODY, "budget"), "1,2");
	assert_string_equal(search(store, "Archive", STORE_TEXT_ANY, "zebra"), "");
	store_close(&store);
}

/* A turn stops once the content it read reaches STORE_INDEX_TURN_BYTES
 * (at least one message a turn). */
static void test_index_backlog_bytes(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	size_t size = STORE_INDEX_TURN_BYTES / 2 + 1;
	char *text = malloc(size + 64);
	bool more;

	assert_non_null(text);
	int n = snprintf(text, 64, "Subject: big\r\n\r\n");
	memset(text + n, 'x', size);
	memcpy(text + n + size - 2, "\r\n", 3);
	for (int i = 0; i < 3; i++)
		put(store, "INBOX", text);
	free(text);
	/* Two of them pass the bound: the turn ends after the second. */
	assert_int_equal(store_index_backlog(store, STORE_INDEX_TURN_MAX, &more, &error),
			 STORE_OK);
	assert_true(more);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), 1);
	assert_int_equal(index_all(store), 1);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), 3);
	store_close(&store);
}

/* The memory backend has no backlog. */
static void test_index_backlog_mem(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	bool more = true;

	put(store, "INBOX", plain);
	assert_int_equal(store_index_backlog(store, 10, &more, &error), STORE_OK);
	assert_false(more);
	assert_int_equal(store_index_marks(store), 0);
	store_close(&store);
}

/* A long base64 text part of two-byte characters: cut at the cap, on a
 * character boundary; an unknown transfer encoding is left out. */
static void test_text_index_cap_utf8(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	static const char head[] = "Subject: wide\r\nContent-Type: text/plain; charset=utf-8\r\n"
				   "Content-Transfer-Encoding: base64\r\n\r\n";
	static const char b64[] = "w7bDtsO2"; /* "ööö" */
	size_t groups = 1536 * 1024 / 6;
	size_t size = sizeof(head) + groups * 10 + 1;
	char *text = malloc(size), *p = text;

	assert_non_null(text);
	p += snprintf(p, size, "%s", head);
	for (size_t i = 0; i < groups; i++) {
		memcpy(p, b64, 8);
		p += 8;
		if (i % 9 == 8) {
			memcpy(p, "\r\n", 2);
			p += 2;
		}
	}
	*p = '\0';
	put(store, "INBOX", text);
	free(text);
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "ÖÖÖÖ"), "1");
	int64_t len = sql_int(d, "SELECT length(CAST(body AS BLOB)) FROM fts");
	assert_true(len > 1000 * 1000 && len <= 1024 * 1024);
	assert_int_equal(len % 2, 0);

	put(store, "INBOX", "Subject: uu\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
			    "begin 644 hidden\r\nplainwords\r\n");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "plainwords"), "");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_SUBJECT, "uu"), "2");
	store_close(&store);
}

/* ---------- upgrade ---------- */

/* A version 1 store (made by hand from a new one: no keywords table, no
 * index, '' keywords) is upgraded at open and its messages indexed. */
static void test_upgrade_from_v1(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_message *list, *changed;
	uint32_t *failed;
	size_t count, nc, nf;
	unsigned index;

	put(store, "INBOX", plain);
	put(store, "INBOX", alternative);
	put(store, "Sent", latin1);
	store_close(&store);
	sql_exec(d, "DROP TABLE headers; DROP INDEX messages_state;"
		    " DROP TRIGGER subscription_kept; DROP TRIGGER subscription_taken;"
		    " DROP TRIGGER subscription_renamed; DROP TABLE subscriptions;"
		    " DROP TABLE fts_pending; DROP TABLE fts; DROP TABLE keywords;"
		    " DROP TRIGGER messages_orphan; DROP TABLE blob_orphans;"
		    " ALTER TABLE mailboxes DROP COLUMN first_recent;"
		    " ALTER TABLE messages DROP COLUMN sent_zone;"
		    " UPDATE messages SET keywords = '';"
		    " UPDATE meta SET value = 1 WHERE key = 'schema_version';");

	store = new_store(d);
	assert_int_equal(sql_int(d, "SELECT value FROM meta WHERE key = 'schema_version'"), 7);
	/* Version 2 indexed what was there: version 4's backlog is empty. */
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts_pending"), 0);
	assert_int_equal(store_message_list(store, "INBOX", &list, &count, &error), 0);
	assert_int_equal(count, 2);
	assert_int_equal(list[0].keywords, 0);
	free(list);
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "köln"), "2");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BCC, "hidden"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_ANY, "zebra"), "1");
	assert_string_equal(search(store, "Sent", STORE_TEXT_BODY, "brûlée"), "1");
	assert_int_equal(store_keyword_index(store, "$Junk", true, &index, &error), STORE_OK);
	uint32_t one = 1;
	assert_int_equal(store_flags_update(store, "INBOX", &one, 1, STORE_FLAGS_ADD, 0,
					    UINT64_C(1) << index, 0, &changed, &nc, &failed, &nf,
					    &error), STORE_OK);
	assert_int_equal(nc, 1);
	free(changed);
	free(failed);
	assert_int_equal(box(store, "INBOX").recent, 2);
	store_close(&store);
	/* Opening again changes nothing. */
	store = new_store(d);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), 3);
	store_close(&store);
}

int test_store_search_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text_search, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_text_search_forwarded, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_text_search_cap, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_index, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_index_backlog, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_index_backlog_bytes, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_index_backlog_mem, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_text_index_cap_utf8, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests_name("store-search", tests, NULL, NULL);
}
