/*
 * Unit tests for the store calls that serve IMAP: keywords, mailboxes
 * (get, create, delete, rename, subscribe), message ranges and metadata,
 * flags with MODSEQ and UNCHANGEDSINCE, COPY and MOVE, APPEND, the change
 * feed (store_changes), quota, calls during a batch (full-text search and
 * the upgrade of a version 1 store: test-store-search.c).  Messages are
 * parsed by the real MIME parser, in the directories of test-store.h.
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

/* ---------- keywords ---------- */

static void test_keywords(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	const char *const *names;
	size_t count;
	unsigned index = 99;
	char name[32];

	assert_int_equal(store_keyword_list(store, &names, &count, &error), STORE_OK);
	assert_int_equal(count, 0);
	assert_int_equal(store_keyword_index(store, "$Forwarded", false, &index, &error),
			 STORE_NOT_FOUND);
	assert_non_null(error);
	assert_int_equal(store_keyword_index(store, "$Forwarded", true, &index, &error), STORE_OK);
	assert_int_equal(index, 0);
	/* Names compare case-insensitively; the first spelling is kept. */
	assert_int_equal(store_keyword_index(store, "$FORWARDED", true, &index, &error), STORE_OK);
	assert_int_equal(index, 0);
	assert_int_equal(store_keyword_index(store, "$forwarded", false, &index, &error), STORE_OK);
	assert_int_equal(index, 0);
	assert_int_equal(store_keyword_index(store, "$Junk", true, &index, &error), STORE_OK);
	assert_int_equal(index, 1);
	assert_int_equal(store_keyword_list(store, &names, &count, &error), STORE_OK);
	assert_int_equal(count, 2);
	assert_string_equal(names[0], "$Forwarded");
	assert_string_equal(names[1], "$Junk");
	assert_int_equal(store_keyword_index(store, "", true, &index, &error), STORE_NOT_ALLOWED);

	/* The table holds STORE_KEYWORDS_MAX; one more is STORE_LIMIT. */
	for (unsigned i = 2; i < STORE_KEYWORDS_MAX; i++) {
		snprintf(name, sizeof(name), "$label%u", i);
		assert_int_equal(store_keyword_index(store, name, true, &index, &error), STORE_OK);
		assert_int_equal(index, i);
	}
	assert_int_equal(store_keyword_index(store, "$onemore", true, &index, &error),
			 STORE_LIMIT);
	assert_non_null(error);
	/* Known ones are still found when the table is full. */
	assert_int_equal(store_keyword_index(store, "$LABEL63", true, &index, &error), STORE_OK);
	assert_int_equal(index, 63);
	store_close(&store);

	store = new_store(d);
	assert_int_equal(store_keyword_list(store, &names, &count, &error), STORE_OK);
	assert_int_equal(count, STORE_KEYWORDS_MAX);
	assert_string_equal(names[63], "$label63");
	store_close(&store);
}

/* ---------- mailboxes ---------- */

static void test_mailbox_get(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_mailbox m;

	put(store, "INBOX", plain);
	put(store, "INBOX", latin1);
	assert_int_equal(store_mailbox_get(store, "inbox", &m, &error), STORE_OK);
	assert_string_equal(m.name, "INBOX");
	assert_int_equal(m.special_use, STORE_SPECIAL_INBOX);
	assert_int_equal(m.messages, 2);
	assert_int_equal(m.unseen, 2);
	assert_int_equal(m.bytes, strlen(plain) + strlen(latin1));
	assert_int_equal(m.uidnext, 3);
	assert_int_equal(m.highestmodseq, 3);
	assert_int_equal(m.recent, 2);
	assert_true(m.subscribed);
	assert_true(m.uidvalidity != 0);
	free(m.name);

	assert_int_equal(store_mailbox_get(store, "Nowhere", &m, &error), STORE_NOT_FOUND);
	assert_null(m.name);
	assert_non_null(error);
	assert_int_equal(store_mailbox_get(store, "bad\001name", &m, &error), STORE_NOT_ALLOWED);
	store_close(&store);
}

static void test_mailbox_create(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	char sql[256];

	assert_int_equal(store_mailbox_create(store, "Projects", &error), STORE_OK);
	struct store_mailbox p = box(store, "Projects");
	assert_int_equal(p.uidnext, 1);
	assert_int_equal(p.messages, 0);
	assert_int_equal(p.special_use, STORE_SPECIAL_NONE);
	assert_false(p.subscribed);
	assert_true(p.uidvalidity > box(store, "Archive").uidvalidity);
	assert_int_equal(store_mailbox_create(store, "Projects", &error), STORE_EXISTS);
	assert_non_null(error);
	assert_int_equal(store_mailbox_create(store, "inbox", &error), STORE_EXISTS);
	/* Parents are not made. */
	assert_int_equal(store_mailbox_create(store, "A/B/C", &error), STORE_OK);
	struct store_mailbox a;
	assert_int_equal(store_mailbox_get(store, "A", &a, &error), STORE_NOT_FOUND);

	/* A name made again never gets an earlier UIDVALIDITY. */
	put(store, "Projects", plain);
	assert_int_equal(store_mailbox_delete(store, "Projects", &error), STORE_OK);
	assert_int_equal(store_mailbox_create(store, "Projects", &error), STORE_OK);
	struct store_mailbox again = box(store, "Projects");
	assert_true(again.uidvalidity > p.uidvalidity);
	assert_true(again.uidvalidity > box(store, "A/B/C").uidvalidity);
	assert_int_equal(again.messages, 0);
	assert_int_equal(again.uidnext, 1);
	store_close(&store);

	/* STORE_MAILBOXES_MAX: filled by hand, one more is refused. */
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO mailboxes (name, uidvalidity, created) SELECT 'x' || i, 1, 0 FROM n",
		 STORE_MAILBOXES_MAX - 8);
	sql_exec(d, sql);
	store = new_store(d);
	assert_int_equal(store_mailbox_create(store, "Full", &error), STORE_LIMIT);
	assert_non_null(error);
	store_close(&store);
}

static void test_mailbox_delete(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	char blobs[4096];

	snprintf(blobs, sizeof(blobs), "%s/blobs", d->path);
	assert_int_equal(store_mailbox_delete(store, "INBOX", &error), STORE_NOT_ALLOWED);
	assert_int_equal(store_mailbox_delete(store, "inbox", &error), STORE_NOT_ALLOWED);
	assert_int_equal(store_mailbox_delete(store, "Nowhere", &error), STORE_NOT_FOUND);
	assert_int_equal(store_mailbox_create(store, "Old", &error), STORE_OK);
	assert_int_equal(store_mailbox_create(store, "Old/Child", &error), STORE_OK);
	put(store, "Old", plain);
	put(store, "Old", alternative);
	put(store, "Old/Child", latin1);
	index_all(store);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), 3);
	int files = count_files(blobs);

	assert_int_equal(store_mailbox_delete(store, "Old", &error), STORE_OK);
	struct store_mailbox m;
	assert_int_equal(store_mailbox_get(store, "Old", &m, &error), STORE_NOT_FOUND);
	assert_int_equal(box(store, "Old/Child").messages, 1);
	/* Rows and index entries go; the files stay for a clean-up pass. */
	assert_int_equal(sql_int(d, "SELECT count(*) FROM messages"), 1);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM parts p LEFT JOIN messages m"
				    " ON m.id = p.message_id WHERE m.id IS NULL"), 0);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM fts"), 1);
	assert_int_equal(count_files(blobs), files);
	assert_string_equal(search(store, "Old/Child", STORE_TEXT_BODY, "crème"), "1");
	store_close(&store);
}

static void test_mailbox_rename(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_mailbox m;

	assert_int_equal(store_mailbox_create(store, "Prøjekt", &error), STORE_OK);
	assert_int_equal(store_mailbox_create(store, "Prøjekt/a", &error), STORE_OK);
	assert_int_equal(store_mailbox_create(store, "Prøjekt/a/b", &error), STORE_OK);
	assert_int_equal(store_mailbox_create(store, "Prøjektx", &error), STORE_OK);
	put(store, "Prøjekt/a/b", plain);
	uint32_t uidvalidity = box(store, "Prøjekt/a/b").uidvalidity;

	assert_int_equal(store_mailbox_rename(store, "Nowhere", "Else", &error), STORE_NOT_FOUND);
	assert_int_equal(store_mailbox_rename(store, "Prøjekt", "Sent", &error), STORE_EXISTS);
	assert_int_equal(store_mailbox_rename(store, "Prøjekt", "Prøjekt/a/z", &error),
			 STORE_NOT_ALLOWED);
	assert_int_equal(store_mailbox_rename(store, "Prøjekt", "inbox", &error),
			 STORE_NOT_ALLOWED);
	assert_non_null(error);
	/* A renamed child would land on an existing name: nothing changes. */
	assert_int_equal(store_mailbox_create(store, "Work/a", &error), STORE_OK);
	assert_int_equal(store_mailbox_rename(store, "Prøjekt", "Work", &error), STORE_EXISTS);
	assert_int_equal(box(store, "Prøjekt/a/b").messages, 1);
	assert_int_equal(store_mailbox_get(store, "Work", &m, &error), STORE_NOT_FOUND);
	assert_int_equal(store_mailbox_delete(store, "Work/a", &error), STORE_OK);

	assert_int_equal(store_mailbox_rename(store, "Prøjekt", "Wörk", &error), STORE_OK);
	m = box(store, "Wörk/a/b");
	assert_int_equal(m.uidvalidity, uidvalidity);
	assert_int_equal(m.messages, 1);
	box(store, "Wörk");
	box(store, "Wörk/a");
	box(store, "Prøjektx"); /* a longer name, not a child */
	assert_int_equal(store_mailbox_get(store, "Prøjekt/a", &m, &error), STORE_NOT_FOUND);
	/* Special use stays with the mailbox. */
	assert_int_equal(store_mailbox_rename(store, "Junk", "Spam", &error), STORE_OK);
	assert_int_equal(box(store, "Spam").special_use, STORE_SPECIAL_JUNK);
	store_close(&store);
}

static void test_rename_inbox(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_message *msgs, *changed;
	uint32_t *expunged;
	size_t count, nexp;
	uint64_t highest;

	put(store, "INBOX", plain);
	put(store, "INBOX", alternative);
	put(store, "INBOX", latin1);
	uint32_t gone[] = { 1 };
	assert_int_equal(store_expunge(store, "INBOX", gone, 1, &error), 0);
	uint32_t flag_uid = 3;
	assert_int_equal(store_flags_update(store, "INBOX", &flag_uid, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_FLAGGED, 0, 0, &changed, &count, &expunged,
					    &nexp, &error), STORE_OK);
	free(changed);
	free(expunged);
	struct store_mailbox before = box(store, "INBOX");

	assert_int_equal(store_mailbox_rename(store, "INBOX", "Old Inbox", &error), STORE_OK);
	struct store_mailbox old = box(store, "Old Inbox");
	assert_true(old.uidvalidity > before.uidvalidity);
	assert_int_equal(old.messages, 2);
	assert_int_equal(old.uidnext, 3);
	assert_int_equal(old.special_use, STORE_SPECIAL_NONE);
	assert_int_equal(store_message_list(store, "Old Inbox", &msgs, &count, &error), 0);
	assert_int_equal(count, 2);
	assert_int_equal(msgs[0].uid, 1);
	assert_int_equal(msgs[1].uid, 2);
	assert_int_equal(msgs[1].flags, STORE_FLAG_FLAGGED);
	free(msgs);
	assert_string_equal(search(store, "Old Inbox", STORE_TEXT_BODY, "crème"), "2");

	/* INBOX stays, empty, with its UIDVALIDITY and UIDNEXT; the moved
	 * messages are expunged from it for QRESYNC. */
	struct store_mailbox inbox = box(store, "INBOX");
	assert_int_equal(inbox.messages, 0);
	assert_int_equal(inbox.uidvalidity, before.uidvalidity);
	assert_int_equal(inbox.uidnext, 4);
	assert_true(inbox.highestmodseq > before.highestmodseq);
	assert_int_equal(store_changes(store, "INBOX", before.highestmodseq, &changed, &count,
				       &expunged, &nexp, &highest, &error), STORE_OK);
	assert_int_equal(count, 0);
	assert_int_equal(nexp, 2);
	assert_int_equal(expunged[0], 2);
	assert_int_equal(expunged[1], 3);
	assert_int_equal(highest, inbox.highestmodseq);
	free(changed);
	free(expunged);
	assert_int_equal(put(store, "INBOX", plain), 4);
	assert_int_equal(store_mailbox_rename(store, "INBOX", "Old Inbox", &error), STORE_EXISTS);
	store_close(&store);
}

static void test_subscribe(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;

	assert_int_equal(store_mailbox_create(store, "Lists", &error), STORE_OK);
	assert_int_equal(store_mailbox_subscribe(store, "Lists", true, &error), STORE_OK);
	assert_true(box(store, "Lists").subscribed);
	assert_int_equal(store_mailbox_subscribe(store, "Lists", true, &error), STORE_OK);
	assert_int_equal(store_mailbox_subscribe(store, "Lists", false, &error), STORE_OK);
	assert_false(box(store, "Lists").subscribed);
	/* A name that is no mailbox is kept (RFC 9051 6.3.7), listed apart. */
	char **kept = NULL;
	size_t nkept = 0;
	assert_int_equal(store_mailbox_subscribe(store, "Nowhere", true, &error), STORE_OK);
	assert_int_equal(store_mailbox_subscribe(store, "Nowhere", true, &error), STORE_OK);
	assert_int_equal(store_subscription_list(store, &kept, &nkept, &error), STORE_OK);
	assert_int_equal(nkept, 1);
	assert_string_equal(kept[0], "Nowhere");
	store_subscription_list_free(&kept, nkept);
	/* Created, it is a subscribed mailbox and no longer kept apart. */
	assert_int_equal(store_mailbox_create(store, "Nowhere", &error), STORE_OK);
	assert_true(box(store, "Nowhere").subscribed);
	assert_int_equal(store_subscription_list(store, &kept, &nkept, &error), STORE_OK);
	assert_int_equal(nkept, 0);
	store_subscription_list_free(&kept, nkept);
	/* Deleted, it stays subscribed (RFC 9051 6.3.9), until unsubscribed. */
	assert_int_equal(store_mailbox_delete(store, "Nowhere", &error), STORE_OK);
	assert_int_equal(store_subscription_list(store, &kept, &nkept, &error), STORE_OK);
	assert_int_equal(nkept, 1);
	store_subscription_list_free(&kept, nkept);
	/* Renamed onto a kept name, the mailbox takes the subscription. */
	assert_int_equal(store_mailbox_create(store, "Other", &error), STORE_OK);
	assert_int_equal(store_mailbox_rename(store, "Other", "Nowhere", &error), STORE_OK);
	assert_true(box(store, "Nowhere").subscribed);
	assert_int_equal(store_mailbox_delete(store, "Nowhere", &error), STORE_OK);
	assert_int_equal(store_mailbox_subscribe(store, "Nowhere", false, &error), STORE_OK);
	assert_int_equal(store_subscription_list(store, &kept, &nkept, &error), STORE_OK);
	assert_int_equal(nkept, 0);
	store_subscription_list_free(&kept, nkept);
	/* Unsubscribing a name nobody subscribed is fine too. */
	assert_int_equal(store_mailbox_subscribe(store, "Never", false, &error), STORE_OK);
	store_close(&store);
}

/* STORE_SUBSCRIPTIONS_MAX names without a mailbox are kept; one more is
 * STORE_LIMIT, one of them again is fine.  The SQLite store is filled by
 * SQL: ten thousand SUBSCRIBEs are ten thousand fsynced transactions. */
static void test_subscribe_limit(void **state, bool sqlite)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	char name[32];

	if (sqlite) {
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n"
			 " WHERE i + 1 < %u) INSERT INTO subscriptions SELECT 'gone/' || i FROM n",
			 (unsigned)STORE_SUBSCRIPTIONS_MAX);
		sql_exec(d, sql);
	}
	for (unsigned i = 0; !sqlite && i < STORE_SUBSCRIPTIONS_MAX; i++) {
		snprintf(name, sizeof(name), "gone/%u", i);
		assert_int_equal(store_mailbox_subscribe(store, name, true, &error), STORE_OK);
	}
	assert_int_equal(store_mailbox_subscribe(store, "gone/more", true, &error), STORE_LIMIT);
	assert_int_equal(store_mailbox_subscribe(store, "gone/7", true, &error), STORE_OK);
	/* A mailbox's own subscription does not count. */
	assert_int_equal(store_mailbox_subscribe(store, "INBOX", true, &error), STORE_OK);
	store_close(&store);
}

static void test_subscribe_limit_sqlite(void **state)
{
	test_subscribe_limit(state, true);
}

static void test_subscribe_limit_mem(void **state)
{
	test_subscribe_limit(state, false);
}

/* ---------- messages ---------- */

static void test_message_range_and_meta(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_message *list;
	size_t count;
	struct store_message_meta *meta;

	for (int i = 0; i < 5; i++)
		put(store, "INBOX", i == 1 ? alternative : plain);
	assert_int_equal(store_message_range(store, "INBOX", 2, 4, &list, &count, &error),
			 STORE_OK);
	assert_int_equal(count, 3);
	assert_int_equal(list[0].uid, 2);
	assert_int_equal(list[2].uid, 4);
	assert_int_equal(list[0].size, strlen(alternative));
	assert_int_equal(list[0].modseq, 3);
	free(list);
	assert_int_equal(store_message_range(store, "INBOX", 6, UINT32_MAX, &list, &count, &error),
			 STORE_OK);
	assert_int_equal(count, 0);
	free(list);
	assert_int_equal(store_message_range(store, "INBOX", 4, 2, &list, &count, &error),
			 STORE_OK);
	assert_int_equal(count, 0);
	assert_int_equal(store_message_range(store, "Nowhere", 1, 9, &list, &count, &error),
			 STORE_NOT_FOUND);
	assert_null(list);

	assert_int_equal(store_message_meta(store, "INBOX", 2, &meta, &error), STORE_OK);
	assert_int_equal(meta->msg.uid, 2);
	assert_int_equal(meta->msg.size, strlen(alternative));
	assert_string_equal(meta->subject, "Grüße");
	assert_non_null(strstr(meta->from, "Jürgen"));
	assert_string_equal(meta->to, "team@example.de");
	assert_string_equal(meta->cc, "");
	assert_int_equal(meta->sent_date, -1);
	assert_int_equal(meta->part_count, 3);
	assert_string_equal(meta->parts[0].section, "");
	assert_string_equal(meta->parts[0].content_type, "multipart/alternative");
	assert_int_equal(meta->parts[0].child_count, 2);
	assert_string_equal(meta->parts[2].section, "2");
	assert_string_equal(meta->parts[2].content_type, "text/html");
	assert_true(meta->parts[2].body_offset + meta->parts[2].body_size <= meta->msg.size);
	assert_non_null(strstr(meta->bodystructure, "\"alternative\""));
	assert_non_null(meta->envelope);
	store_message_meta_free(&meta);
	assert_null(meta);
	assert_int_equal(store_message_meta(store, "INBOX", 9, &meta, &error), STORE_NOT_FOUND);
	assert_null(meta);
	assert_int_equal(store_message_meta(store, "Nowhere", 1, &meta, &error), STORE_NOT_FOUND);
	store_close(&store);
}

static void test_flags_update(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_message *changed, *list;
	uint32_t *failed;
	size_t nc, nf, count;

	for (int i = 0; i < 4; i++)
		put(store, "INBOX", plain);
	uint64_t h0 = box(store, "INBOX").highestmodseq;
	assert_int_equal(h0, 5);
	/* UID 9 is not there: skipped.  \Recent is never stored. */
	uint32_t uids[] = { 1, 2, 9 };
	assert_int_equal(store_flags_update(store, "INBOX", uids, 3, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN | STORE_FLAG_RECENT, 0x5, 0, &changed,
					    &nc, &failed, &nf, &error), STORE_OK);
	assert_int_equal(nc, 2);
	assert_int_equal(nf, 0);
	assert_int_equal(changed[0].uid, 1);
	assert_int_equal(changed[1].uid, 2);
	assert_int_equal(changed[0].flags, STORE_FLAG_SEEN);
	assert_int_equal(changed[0].keywords, 0x5);
	assert_int_equal(changed[0].modseq, h0 + 1);
	assert_int_equal(changed[1].modseq, h0 + 1);
	free(changed);
	free(failed);
	assert_int_equal(box(store, "INBOX").highestmodseq, h0 + 1);
	assert_int_equal(box(store, "INBOX").unseen, 2);

	/* Adding what is there changes nothing and no MODSEQ. */
	assert_int_equal(store_flags_update(store, "INBOX", uids, 2, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, 0x1, 0, &changed, &nc, &failed, &nf,
					    &error), STORE_OK);
	assert_int_equal(nc, 0);
	free(changed);
	free(failed);
	assert_int_equal(box(store, "INBOX").highestmodseq, h0 + 1);

	/* REMOVE, then SET; message 2 stays as it was. */
	uint32_t one = 1;
	assert_int_equal(store_flags_update(store, "INBOX", &one, 1, STORE_FLAGS_REMOVE, 0, 0x4, 0,
					    &changed, &nc, &failed, &nf, &error), STORE_OK);
	assert_int_equal(nc, 1);
	assert_int_equal(changed[0].keywords, 0x1);
	assert_int_equal(changed[0].modseq, h0 + 2);
	free(changed);
	free(failed);
	uint32_t three = 3;
	assert_int_equal(store_flags_update(store, "INBOX", &three, 1, STORE_FLAGS_SET,
					    STORE_FLAG_DELETED | STORE_FLAG_DRAFT,
					    UINT64_C(1) << 63, 0, &changed, &nc, &failed, &nf,
					    &error), STORE_OK);
	free(changed);
	free(failed);
	assert_int_equal(store_message_list(store, "INBOX", &list, &count, &error), 0);
	assert_int_equal(list[0].keywords, 0x1);
	assert_int_equal(list[1].keywords, 0x5);
	assert_int_equal(list[1].modseq, h0 + 1);
	assert_int_equal(list[2].flags, STORE_FLAG_DELETED | STORE_FLAG_DRAFT);
	assert_true(list[2].keywords == UINT64_C(1) << 63);
	assert_int_equal(list[2].modseq, h0 + 3);
	assert_int_equal(list[3].modseq, 5);
	free(list);

	/* UNCHANGEDSINCE: message 1 (MODSEQ h0+2) fails, 4 (MODSEQ 5) changes. */
	uint32_t both[] = { 1, 4 };
	assert_int_equal(store_flags_update(store, "INBOX", both, 2, STORE_FLAGS_ADD,
					    STORE_FLAG_ANSWERED, 0, h0 + 1, &changed, &nc, &failed,
					    &nf, &error), STORE_OK);
	assert_int_equal(nc, 1);
	assert_int_equal(changed[0].uid, 4);
	assert_int_equal(nf, 1);
	assert_int_equal(failed[0], 1);
	free(changed);
	free(failed);

	assert_int_equal(store_flags_update(store, "Nowhere", both, 2, STORE_FLAGS_ADD, 1, 0, 0,
					    &changed, &nc, &failed, &nf, &error), STORE_NOT_FOUND);
	store_close(&store);

	/* Durable: a new connection sees it. */
	store = new_store(d);
	assert_int_equal(store_message_list(store, "INBOX", &list, &count, &error), 0);
	assert_int_equal(list[3].flags, STORE_FLAG_ANSWERED);
	assert_true(list[2].keywords == UINT64_C(1) << 63);
	free(list);
	store_close(&store);
}

static void test_copy(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t uidvalidity, *src, *dst;
	size_t copied, count;
	struct store_message *list;
	char blobs[4096];

	snprintf(blobs, sizeof(blobs), "%s/blobs", d->path);
	put(store, "INBOX", plain);
	put(store, "INBOX", alternative);
	put(store, "INBOX", latin1);
	put(store, "Archive", plain);
	uint32_t flagged = 3;
	struct store_message *changed;
	uint32_t *failed;
	size_t nc, nf;
	assert_int_equal(store_flags_update(store, "INBOX", &flagged, 1, STORE_FLAGS_SET,
					    STORE_FLAG_SEEN, 0x2, 0, &changed, &nc, &failed, &nf,
					    &error), STORE_OK);
	free(changed);
	free(failed);
	int files = count_files(blobs);
	uint64_t archive_modseq = box(store, "Archive").highestmodseq;

	uint32_t uids[] = { 3, 1, 7 };
	assert_int_equal(store_copy(store, "INBOX", uids, 3, "Archive", false, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	assert_int_equal(uidvalidity, box(store, "Archive").uidvalidity);
	assert_int_equal(copied, 2);
	/* In UID order, whatever order they were asked in. */
	assert_int_equal(src[0], 1);
	assert_int_equal(src[1], 3);
	assert_int_equal(dst[0], 2);
	assert_int_equal(dst[1], 3);
	free(src);
	free(dst);
	assert_int_equal(count_files(blobs), files);
	assert_int_equal(store_message_list(store, "Archive", &list, &count, &error), 0);
	assert_int_equal(count, 3);
	assert_int_equal(list[2].flags, STORE_FLAG_SEEN);
	assert_int_equal(list[2].keywords, 0x2);
	assert_int_equal(list[2].internal_date, 1700000000);
	assert_true(list[1].modseq > archive_modseq);
	assert_int_equal(list[1].modseq, list[2].modseq);
	free(list);
	assert_int_equal(box(store, "Archive").uidnext, 4);
	assert_int_equal(box(store, "INBOX").messages, 3);
	assert_string_equal(search(store, "Archive", STORE_TEXT_BODY, "crème"), "3");
	assert_string_equal(search(store, "Archive", STORE_TEXT_SUBJECT, "quarterly"), "1,2");
	char *a = NULL, *b = NULL;
	int fd = store_message_open(store, "Archive", 3, &error);
	assert_true(fd >= 0);
	a = read_all(fd);
	close(fd);
	fd = store_message_open(store, "INBOX", 3, &error);
	b = read_all(fd);
	close(fd);
	assert_string_equal(a, b);
	free(a);
	free(b);
	struct store_message_meta *meta;
	assert_int_equal(store_message_meta(store, "Archive", 3, &meta, &error), STORE_OK);
	assert_int_equal(meta->part_count, 3);
	assert_string_equal(meta->subject, "menu");
	store_message_meta_free(&meta);

	/* Onto itself: COPY gives new UIDs. */
	assert_int_equal(store_copy(store, "INBOX", uids, 1, "inbox", false, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	assert_int_equal(copied, 1);
	assert_int_equal(dst[0], 4);
	free(src);
	free(dst);

	assert_int_equal(store_copy(store, "Nowhere", uids, 1, "Archive", false, &uidvalidity,
				    &src, &dst, &copied, &error), STORE_NOT_FOUND);
	assert_int_equal(store_copy(store, "INBOX", uids, 1, "Nowhere", false, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_NOT_FOUND);
	assert_null(src);
	assert_null(dst);
	assert_int_equal(copied, 0);
	store_close(&store);
}

static void test_move(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t uidvalidity, *src, *dst, *expunged;
	size_t copied, count, nexp;
	struct store_message *changed;
	uint64_t highest;
	char blobs[4096];

	snprintf(blobs, sizeof(blobs), "%s/blobs", d->path);
	for (int i = 0; i < 3; i++)
		put(store, "INBOX", i == 1 ? latin1 : plain);
	int files = count_files(blobs);
	uint64_t inbox_modseq = box(store, "INBOX").highestmodseq;
	uint64_t trash_modseq = box(store, "Trash").highestmodseq;
	uint32_t uids[] = { 2, 3 };
	assert_int_equal(store_copy(store, "INBOX", uids, 2, "Trash", true, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	assert_int_equal(copied, 2);
	assert_int_equal(dst[0], 1);
	assert_int_equal(dst[1], 2);
	free(src);
	free(dst);
	assert_int_equal(count_files(blobs), files);
	assert_int_equal(box(store, "INBOX").messages, 1);
	assert_int_equal(box(store, "Trash").messages, 2);
	assert_string_equal(search(store, "Trash", STORE_TEXT_BODY, "crème"), "1");
	assert_string_equal(search(store, "INBOX", STORE_TEXT_BODY, "crème"), "");

	/* The source reports VANISHED, the target the new messages. */
	assert_int_equal(store_changes(store, "INBOX", inbox_modseq, &changed, &count, &expunged,
				       &nexp, &highest, &error), STORE_OK);
	assert_int_equal(count, 0);
	assert_int_equal(nexp, 2);
	assert_int_equal(expunged[0], 2);
	assert_int_equal(expunged[1], 3);
	assert_true(highest > inbox_modseq);
	free(changed);
	free(expunged);
	assert_int_equal(store_changes(store, "Trash", trash_modseq, &changed, &count, &expunged,
				       &nexp, &highest, &error), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(nexp, 0);
	assert_int_equal(changed[0].uid, 1);
	assert_int_equal(changed[0].modseq, highest);
	free(changed);
	free(expunged);

	/* Within one mailbox (as the IMAP session allows it): new UIDs, the
	 * old ones expunged. */
	uint32_t one = 1;
	assert_int_equal(store_copy(store, "Trash", &one, 1, "Trash", true, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	assert_int_equal(copied, 1);
	assert_int_equal(dst[0], 3);
	free(src);
	free(dst);
	assert_int_equal(box(store, "Trash").messages, 2);
	assert_int_equal(store_message_open(store, "Trash", 1, &error), -1);

	assert_int_equal(store_copy(store, "INBOX", &one, 1, "Nowhere", true, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_NOT_FOUND);
	assert_int_equal(box(store, "INBOX").messages, 1);
	store_close(&store);
}

static void test_append(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct parsed p[2];
	uint32_t uids[2], uidvalidity = 0, uid;
	struct store_message *list;
	size_t count;

	put(store, "Drafts", plain);
	parse(&p[0], alternative);
	parse(&p[1], latin1);
	struct store_append_msg msgs[2] = {
		{ &p[0].iov, 1, p[0].msg, STORE_FLAG_DRAFT | STORE_FLAG_RECENT, 0x3, 1500000000 },
		{ &p[1].iov, 1, p[1].msg, STORE_FLAG_SEEN, 0, 1500000001 },
	};
	assert_int_equal(store_append(store, "drafts", msgs, 2, &uidvalidity, uids, &error),
			 STORE_NOT_FOUND);
	assert_int_equal(store_append(store, "Drafts", msgs, 2, &uidvalidity, uids, &error),
			 STORE_OK);
	assert_int_equal(uidvalidity, box(store, "Drafts").uidvalidity);
	assert_int_equal(uids[0], 2);
	assert_int_equal(uids[1], 3);
	assert_int_equal(store_message_list(store, "Drafts", &list, &count, &error), 0);
	assert_int_equal(count, 3);
	assert_int_equal(list[1].flags, STORE_FLAG_DRAFT);
	assert_int_equal(list[1].keywords, 0x3);
	assert_int_equal(list[1].internal_date, 1500000000);
	assert_int_equal(list[2].flags, STORE_FLAG_SEEN);
	assert_int_equal(list[2].modseq, 4);
	free(list);
	assert_string_equal(search(store, "Drafts", STORE_TEXT_BODY, "köln"), "2");
	int fd = store_message_open(store, "Drafts", 3, &error);
	assert_true(fd >= 0);
	char *content = read_all(fd);
	close(fd);
	assert_string_equal(content, latin1);
	free(content);
	parsed_free(&p[0]);
	parsed_free(&p[1]);

	/* Not all or nothing? A bad second message leaves no first one. */
	parse(&p[0], plain);
	struct store_append_msg bad[2] = {
		{ &p[0].iov, 1, p[0].msg, 0, 0, 0 },
		{ &p[0].iov, -1, p[0].msg, 0, 0, 0 },
	};
	assert_int_equal(store_append(store, "Drafts", bad, 2, &uidvalidity, uids, &error),
			 STORE_ERROR);
	assert_non_null(error);
	parsed_free(&p[0]);
	assert_int_equal(box(store, "Drafts").messages, 3);
	assert_int_equal(append(store, "Drafts", plain, 0, 0, &uid), STORE_OK);
	assert_int_equal(uid, 4);
	store_close(&store);
}

/* A message whose structure answer is past its bound is stored as one
 * opaque part, delivered or appended, never refused: its content is kept
 * and FETCH has answers for it. */
static void test_structure_past_bound(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *text = "Subject: a subject longer than the bound\r\n\r\nbody\r\n";
	const char *error = NULL;
	struct parsed p;
	uint32_t uid = 0, uidvalidity = 0;
	bool dup;

	parse(&p, text);
	struct mime_message small = *p.msg;
	small.text_max = 16;
	assert_int_equal(store_deliver(store, "INBOX", "past-bound", &p.iov, 1, &small, 1700000000,
				       &uid, &dup, &error),
			 0);
	struct store_append_msg m = { &p.iov, 1, &small, 0, 0, 1700000001 };
	uint32_t uids[1];
	assert_int_equal(store_append(store, "INBOX", &m, 1, &uidvalidity, uids, &error), STORE_OK);
	char want[128];
	snprintf(want, sizeof(want), "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" %zu)",
		 strlen(text));
	uint32_t stored[2] = { uid, uids[0] };
	for (size_t i = 0; i < 2; i++) {
		struct store_message_meta *meta = NULL;
		assert_int_equal(store_message_meta(store, "INBOX", stored[i], &meta, &error), 0);
		assert_string_equal(meta->bodystructure, want);
		assert_string_equal(meta->body, want);
		assert_string_equal(meta->envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		assert_int_equal(meta->part_count, 1);
		assert_int_equal(meta->parts[0].body_size, strlen(text));
		store_message_meta_free(&meta);
		int fd = store_message_open(store, "INBOX", stored[i], &error);
		assert_true(fd >= 0);
		char *content = read_all(fd);
		close(fd);
		assert_string_equal(content, text);
		free(content);
	}
	parsed_free(&p);
	store_close(&store);
}

/* UID lists in any order and with repeats: each message once, answers in
 * UID order. */
static void test_uid_lists(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_message *changed;
	uint32_t *failed, *src, *dst, uidvalidity;
	size_t nc, nf, copied;

	for (int i = 0; i < 4; i++)
		put(store, "INBOX", plain);
	uint32_t uids[] = { 4, 2, 4, 9, 2 };
	assert_int_equal(store_flags_update(store, "INBOX", uids, 5, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, 0, 5, &changed, &nc, &failed, &nf,
					    &error), STORE_OK);
	assert_int_equal(nc, 2);
	assert_int_equal(nf, 0);
	assert_int_equal(changed[0].uid, 2);
	assert_int_equal(changed[1].uid, 4);
	free(changed);
	free(failed);
	assert_int_equal(store_copy(store, "INBOX", uids, 5, "Archive", false, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	assert_int_equal(copied, 2);
	assert_int_equal(src[0], 2);
	assert_int_equal(src[1], 4);
	assert_int_equal(dst[1], 2);
	free(src);
	free(dst);
	assert_int_equal(box(store, "Archive").messages, 2);
	/* Nothing to copy: OK, empty lists. */
	assert_int_equal(store_copy(store, "INBOX", NULL, 0, "Archive", true, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	assert_int_equal(copied, 0);
	free(src);
	free(dst);
	/* RENAME INBOX makes a mailbox: refused at STORE_MAILBOXES_MAX. */
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO mailboxes (name, uidvalidity, created) SELECT 'x' || i, 1, 0 FROM n",
		 STORE_MAILBOXES_MAX - 6);
	sql_exec(d, sql);
	assert_int_equal(store_mailbox_rename(store, "INBOX", "Old", &error), STORE_LIMIT);
	assert_int_equal(box(store, "INBOX").messages, 4);
	store_close(&store);
}

/* ---------- changes ---------- */

static void test_changes(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_message *changed;
	uint32_t *expunged, *failed;
	size_t nc, nexp, nf;
	uint64_t highest = 0;

	assert_int_equal(store_changes(store, "INBOX", 0, &changed, &nc, &expunged, &nexp,
				       &highest, &error), STORE_OK);
	assert_int_equal(nc + nexp, 0);
	assert_int_equal(highest, 1);
	for (int i = 0; i < 4; i++)
		put(store, "INBOX", plain);
	uint64_t seen = box(store, "INBOX").highestmodseq;
	assert_int_equal(store_changes(store, "INBOX", seen, &changed, &nc, &expunged, &nexp,
				       &highest, &error), STORE_OK);
	assert_int_equal(nc + nexp, 0);
	assert_int_equal(highest, seen);

	uint32_t u2 = 2, u4 = 4;
	assert_int_equal(store_flags_update(store, "INBOX", &u4, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, 0, 0, &changed, &nc, &failed, &nf,
					    &error), STORE_OK);
	free(changed);
	free(failed);
	assert_int_equal(store_expunge(store, "INBOX", &u2, 1, &error), 0);
	put(store, "INBOX", plain);
	assert_int_equal(store_changes(store, "INBOX", seen, &changed, &nc, &expunged, &nexp,
				       &highest, &error), STORE_OK);
	assert_int_equal(nc, 2);
	assert_int_equal(changed[0].uid, 4);
	assert_int_equal(changed[0].flags, STORE_FLAG_SEEN);
	assert_int_equal(changed[1].uid, 5);
	assert_int_equal(nexp, 1);
	assert_int_equal(expunged[0], 2);
	assert_int_equal(highest, seen + 3);
	free(changed);
	free(expunged);
	/* From 0: every message there and every UID expunged (QRESYNC). */
	assert_int_equal(store_changes(store, "INBOX", 0, &changed, &nc, &expunged, &nexp,
				       &highest, &error), STORE_OK);
	assert_int_equal(nc, 4);
	assert_int_equal(nexp, 1);
	free(changed);
	free(expunged);
	assert_int_equal(store_changes(store, "Nowhere", 0, &changed, &nc, &expunged, &nexp,
				       &highest, &error), STORE_NOT_FOUND);
	assert_null(changed);
	assert_null(expunged);

	store_close(&store);
}

/* ---------- quota ---------- */

static const char *last_error;

/* deliver_quota delivers text under key; the store's status. */
static int deliver_quota(struct store *store, const char *key, const char *text)
{
	struct parsed p;
	const char *error = NULL;
	uint32_t uid;
	bool dup;

	parse(&p, text);
	int ret = store_deliver(store, "INBOX", key, &p.iov, 1, p.msg, 1700000000, &uid, &dup,
				&error);
	last_error = error;
	parsed_free(&p);
	return ret;
}

static void test_quota(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint64_t limit = 99, used = 99;
	uint32_t uid, *src, *dst, uidvalidity;
	size_t copied;

	assert_int_equal(store_quota_get(store, &limit, &used, &error), STORE_OK);
	assert_int_equal(limit, 0);
	assert_int_equal(used, 0);
	put(store, "INBOX", plain);
	put(store, "Sent", latin1);
	assert_int_equal(store_quota_get(store, &limit, &used, &error), STORE_OK);
	assert_int_equal(used, strlen(plain) + strlen(latin1));

	/* Room for latin1 and a little, not for alternative. */
	uint64_t room = strlen(latin1) + 10;
	assert_true(strlen(alternative) > room && strlen(plain) > 10);
	assert_int_equal(store_quota_set(store, used + room, &error), STORE_OK);
	assert_int_equal(store_quota_get(store, &limit, &used, &error), STORE_OK);
	assert_int_equal(limit, strlen(plain) + strlen(latin1) + room);
	/* APPEND: over the limit is refused and adds nothing. */
	assert_int_equal(append(store, "INBOX", alternative, 0, 0, &uid), STORE_OVER_QUOTA);
	assert_int_equal(box(store, "INBOX").messages, 1);
	assert_int_equal(append(store, "INBOX", latin1, 0, 0, &uid), STORE_OK);
	/* COPY would pass it; MOVE adds nothing and goes. */
	uint32_t one = 1;
	assert_int_equal(store_copy(store, "INBOX", &one, 1, "Archive", false, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OVER_QUOTA);
	assert_non_null(error);
	assert_int_equal(box(store, "Archive").messages, 0);
	assert_int_equal(store_copy(store, "INBOX", &one, 1, "Archive", true, &uidvalidity, &src,
				    &dst, &copied, &error), STORE_OK);
	free(src);
	free(dst);
	/* A delivery past the quota is refused and stores nothing; one that
	 * fits goes; a key delivered before is a duplicate, never refused. */
	uint64_t before;
	assert_int_equal(store_quota_get(store, &limit, &before, &error), STORE_OK);
	uint32_t inbox_before = box(store, "INBOX").messages;
	assert_int_equal(deliver_quota(store, "over1", alternative), STORE_OVER_QUOTA);
	assert_string_equal(last_error, "Quota exceeded");
	assert_int_equal(box(store, "INBOX").messages, inbox_before);
	assert_int_equal(store_quota_get(store, &limit, &used, &error), STORE_OK);
	assert_int_equal(used, before);
	assert_int_equal(store_quota_set(store, 0, &error), STORE_OK);
	assert_int_equal(deliver_quota(store, "fits1", plain), STORE_OK);
	assert_int_equal(store_quota_set(store, used, &error), STORE_OK);
	assert_int_equal(deliver_quota(store, "fits1", plain), STORE_OK);
	assert_int_equal(deliver_quota(store, "over2", plain), STORE_OVER_QUOTA);
	/* In a batch, what the batch added counts: the second one is over. */
	assert_int_equal(store_quota_get(store, &limit, &used, &error), STORE_OK);
	assert_int_equal(store_quota_set(store, used + strlen(plain) + 1, &error), STORE_OK);
	struct parsed p1, p2;
	uint32_t u1, u2;
	bool dup;
	parse(&p1, plain);
	parse(&p2, plain);
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(store_batch_deliver(store, "INBOX", "b1", &p1.iov, 1, p1.msg, 1, &u1,
					     &dup, &error), STORE_OK);
	assert_int_equal(store_batch_deliver(store, "INBOX", "b2", &p2.iov, 1, p2.msg, 1, &u2,
					     &dup, &error), STORE_OVER_QUOTA);
	assert_int_equal(store_batch_commit(store, &error), 0);
	parsed_free(&p1);
	parsed_free(&p2);
	assert_int_equal(store_quota_set(store, strlen(plain) + strlen(latin1) + room, &error),
			 STORE_OK);
	store_close(&store);

	store = new_store(d);
	assert_int_equal(store_quota_get(store, &limit, &used, &error), STORE_OK);
	assert_int_equal(limit, strlen(plain) + strlen(latin1) + room);
	assert_int_equal(store_quota_set(store, 0, &error), STORE_OK);
	assert_int_equal(append(store, "INBOX", latin1, 0, 0, &uid), STORE_OK);
	assert_int_equal(store_quota_get(store, &limit, &used, &error), STORE_OK);
	assert_int_equal(limit, 0);
	store_close(&store);
}

/* ---------- batches, arguments ---------- */

/* While a batch is open the IMAP calls are refused too. */
static void test_calls_during_batch(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct store_mailbox m;
	uint64_t limit, used;
	unsigned index;
	uint32_t uid;

	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(store_mailbox_get(store, "INBOX", &m, &error), STORE_ERROR);
	assert_int_equal(store_mailbox_create(store, "X", &error), STORE_ERROR);
	assert_int_equal(store_keyword_index(store, "$x", true, &index, &error), STORE_ERROR);
	assert_int_equal(store_quota_get(store, &limit, &used, &error), STORE_ERROR);
	assert_int_equal(store_quota_set(store, 5, &error), STORE_ERROR);
	assert_int_equal(append(store, "INBOX", plain, 0, 0, &uid), STORE_ERROR);
	store_batch_abort(store);
	assert_int_equal(store_mailbox_create(store, "X", &error), STORE_OK);
	store_close(&store);
}

int test_store_imap_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keywords, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mailbox_get, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mailbox_create, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mailbox_delete, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mailbox_rename, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_rename_inbox, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_subscribe, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_subscribe_limit_sqlite, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_message_range_and_meta, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_flags_update, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_copy, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_move, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_append, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_structure_past_bound, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_uid_lists, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_changes, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_quota, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_calls_during_batch, setup_dir, teardown_dir),
	};
	/* The tests that ask only what store.h promises, on store-mem. */
	const struct CMUnitTest mem_tests[] = {
		cmocka_unit_test_setup_teardown(test_keywords, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_mailbox_get, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_mailbox_rename, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_rename_inbox, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_subscribe, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_subscribe_limit_mem, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_message_range_and_meta, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_flags_update, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_copy, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_move, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_append, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_structure_past_bound, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_changes, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_quota, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_calls_during_batch, setup_dir_mem,
						teardown_dir_mem),
	};
	int failed = cmocka_run_group_tests_name("store-imap", tests, NULL, NULL);
	return failed + cmocka_run_group_tests_name("store-imap-mem", mem_tests, NULL, NULL);
}
