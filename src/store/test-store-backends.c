/*
 * Unit tests for what every store backend does alike, run against both
 * (SQLite and store-mem): the message reader (store_reader_*, also from a
 * meta), the metas of several messages at once, INBOX as the first level
 * of a mailbox name, substring search, the view SELECT reads
 * (store_mailbox_view), deferred syncs (group commit), the unseen or
 * deleted of a span; and store-mem's own
 * calls for tests (store-mem.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store-mem.h"
#include "store/store.h"
#include "store/test-store.h"

static const char message[] = "Subject: Quarterly report\r\nFrom: alice@example.org\r\n\r\n"
			      "The figures for the third quarter are in.\r\n";

/* read_windows reads the whole content through reader, window bytes at a
 * time, into a new string. */
static char *read_windows(struct store_reader *reader, uint64_t size, size_t window)
{
	char *all = calloc(1, size + 1);
	const char *error = NULL;
	uint64_t at = 0;
	size_t n;

	assert_non_null(all);
	do {
		assert_int_equal(store_reader_read(reader, at, all + at, window, &n, &error),
				 STORE_OK);
		assert_true(n <= window);
		at += n;
	} while (n == window);
	assert_int_equal(at, size);
	return all;
}

static void test_reader(void **state)
{
	bool dup;
	struct store *store = new_store(*state);
	struct store_reader *reader = NULL;
	const char *error = NULL;
	uint64_t size = 0;
	char buf[16];
	size_t n = 99;

	uint32_t uid = deliver_text(store, "INBOX", "q1", message, &dup);
	assert_int_equal(store_reader_open(store, "inbox", uid, &reader, &size, &error), STORE_OK);
	assert_int_equal(size, strlen(message));
	/* Windows of every small size, and one larger than the content. */
	for (size_t window = 1; window <= 17; window += 4) {
		char *all = read_windows(reader, size, window);
		assert_string_equal(all, message);
		free(all);
	}
	char *all = read_windows(reader, size, 4096);
	assert_string_equal(all, message);
	free(all);
	/* Any offset, any order; at and past the end: nothing. */
	assert_int_equal(store_reader_read(reader, 9, buf, 9, &n, &error), STORE_OK);
	assert_int_equal(n, 9);
	assert_memory_equal(buf, "Quarterly", 9);
	assert_int_equal(store_reader_read(reader, size - 3, buf, sizeof(buf), &n, &error),
			 STORE_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, ".\r\n", 3);
	assert_int_equal(store_reader_read(reader, size, buf, sizeof(buf), &n, &error), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_reader_read(reader, size + 100, buf, sizeof(buf), &n, &error),
			 STORE_OK);
	assert_int_equal(n, 0);

	/* The reader outlives the message's expunge. */
	assert_int_equal(store_expunge(store, "INBOX", &uid, 1, &error), 0);
	assert_int_equal(store_reader_read(reader, 0, buf, 8, &n, &error), STORE_OK);
	assert_memory_equal(buf, "Subject:", 8);
	store_reader_close(&reader);
	assert_null(reader);
	store_reader_close(&reader);

	/* Gone, never there, no mailbox. */
	assert_int_equal(store_reader_open(store, "INBOX", uid, &reader, &size, &error),
			 STORE_NOT_FOUND);
	assert_null(reader);
	assert_int_equal(size, 0);
	assert_int_equal(store_reader_open(store, "INBOX", 0, &reader, &size, &error),
			 STORE_NOT_FOUND);
	assert_int_equal(store_reader_open(store, "INBOX", 777, &reader, &size, &error),
			 STORE_NOT_FOUND);
	assert_int_equal(store_reader_open(store, "Nowhere", 1, &reader, &size, &error),
			 STORE_NOT_FOUND);

	/* A copy reads the same content; an empty message reads nothing. */
	uid = deliver_text(store, "INBOX", "q2", message, &dup);
	uint32_t *src, *dst, uidvalidity;
	size_t copied;
	assert_int_equal(store_copy(store, "INBOX", &uid, 1, "Archive", false, &uidvalidity, &src,
				    &dst, &copied, &error),
			 STORE_OK);
	assert_int_equal(copied, 1);
	assert_int_equal(store_reader_open(store, "Archive", dst[0], &reader, &size, &error),
			 STORE_OK);
	all = read_windows(reader, size, 10);
	assert_string_equal(all, message);
	free(all);
	free(src);
	free(dst);
	store_reader_close(&reader);
	uid = deliver_text(store, "INBOX", "empty", "", &dup);
	assert_int_equal(store_reader_open(store, "INBOX", uid, &reader, &size, &error), STORE_OK);
	assert_int_equal(size, 0);
	assert_int_equal(store_reader_read(reader, 0, buf, sizeof(buf), &n, &error), STORE_OK);
	assert_int_equal(n, 0);
	store_reader_close(&reader);
	store_close(&store);
}

/* store_reader_open_meta reads the content of the message a meta
 * describes, as store_reader_open does (SQLite: also after its expunge). */
static void test_reader_from_meta(void **state)
{
	bool dup;
	struct store *store = new_store(*state);
	struct store_message_meta *meta = NULL;
	struct store_reader *reader = NULL;
	const char *error = NULL;
	uint64_t size = 0;

	deliver_text(store, "INBOX", "m0", "Subject: other\r\n\r\nnot this one\r\n", &dup);
	uint32_t uid = deliver_text(store, "INBOX", "m1", message, &dup);
	assert_int_equal(store_message_meta(store, "inbox", uid, &meta, &error), STORE_OK);
	assert_int_equal(store_reader_open_meta(store, "inbox", meta, &reader, &size, &error),
			 STORE_OK);
	assert_int_equal(size, strlen(message));
	char *all = read_windows(reader, size, 7);
	assert_string_equal(all, message);
	free(all);
	store_reader_close(&reader);
	/* Expunged after its meta was read: still the content it described
	 * (store-mem has no way of its own and finds the UID again). */
	assert_int_equal(store_expunge(store, "INBOX", &uid, 1, &error), 0);
	int ret = store_reader_open_meta(store, "INBOX", meta, &reader, &size, &error);
	if (store->backend->reader_open_meta == NULL) {
		assert_int_equal(ret, STORE_NOT_FOUND);
	} else {
		assert_int_equal(ret, STORE_OK);
		all = read_windows(reader, size, 64);
		assert_string_equal(all, message);
		free(all);
		store_reader_close(&reader);
	}
	store_message_meta_free(&meta);
	store_close(&store);
}

/* store_message_meta_list: the metas of several messages at once, NULL
 * for those not there, each as store_message_meta gives it. */
static void test_meta_list(void **state)
{
	bool dup;
	struct store *store = new_store(*state);
	struct store_message_meta *metas[4], *one = NULL;
	const char *error = NULL;
	uint32_t u[4];

	u[0] = deliver_text(store, "INBOX", "l0", message, &dup);
	u[1] = deliver_text(store, "INBOX", "l1", "Subject: two\r\n\r\nsecond\r\n", &dup);
	u[2] = deliver_text(store, "INBOX", "l2", "Subject: three\r\n\r\nthird\r\n", &dup);
	u[3] = 777;
	assert_int_equal(store_expunge(store, "INBOX", &u[1], 1, &error), 0);
	assert_int_equal(store_message_meta_list(store, "inbox", u, 4, metas, &error), STORE_OK);
	assert_non_null(metas[0]);
	assert_null(metas[1]);
	assert_non_null(metas[2]);
	assert_null(metas[3]);
	assert_int_equal(metas[2]->msg.uid, u[2]);
	assert_int_equal(metas[2]->msg.size, strlen("Subject: three\r\n\r\nthird\r\n"));
	assert_int_equal(store_message_meta(store, "INBOX", u[0], &one, &error), STORE_OK);
	assert_int_equal(metas[0]->msg.uid, one->msg.uid);
	assert_int_equal(metas[0]->msg.size, one->msg.size);
	assert_string_equal(metas[0]->envelope, one->envelope);
	assert_string_equal(metas[0]->bodystructure, one->bodystructure);
	assert_int_equal(metas[0]->part_count, one->part_count);
	assert_int_equal(metas[0]->parts[0].header_size, one->parts[0].header_size);
	store_message_meta_free(&one);
	for (size_t i = 0; i < 4; i++)
		store_message_meta_free(&metas[i]);
	assert_int_equal(store_message_meta_list(store, "Nowhere", u, 4, metas, &error),
			 STORE_NOT_FOUND);
	for (size_t i = 0; i < 4; i++)
		assert_null(metas[i]);
	assert_int_equal(store_message_meta_list(store, "INBOX", u, 0, metas, &error), STORE_OK);
	store_close(&store);
}

/* One INBOX (RFC 9051 5.1): "inbox/sub" is INBOX's child, however INBOX
 * is spelled, and the rest of the name keeps its case. */
static void test_inbox_hierarchy(void **state)
{
	bool dup;
	struct store *store = new_store(*state);
	struct store_mailbox *list, box;
	const char *error = NULL;
	size_t count;

	assert_int_equal(store_mailbox_create(store, "inbox/sub", &error), STORE_OK);
	assert_int_equal(store_mailbox_create(store, "INBOX/sub", &error), STORE_EXISTS);
	assert_int_equal(store_mailbox_create(store, "Inbox/sub", &error), STORE_EXISTS);
	assert_int_equal(store_mailbox_create(store, "INBOX/Sub", &error), STORE_OK);
	assert_int_equal(store_mailbox_create(store, "inboxes", &error), STORE_OK);
	assert_int_equal(store_mailbox_create(store, "iNbOx/a/b", &error), STORE_OK);
	assert_int_equal(store_mailbox_list(store, &list, &count, &error), 0);
	int inboxes = 0;
	bool sub = false, sub_upper = false, inboxes_kept = false, deep = false;
	for (size_t i = 0; i < count; i++) {
		inboxes += strcasecmp(list[i].name, "INBOX") == 0;
		sub = sub || strcmp(list[i].name, "INBOX/sub") == 0;
		sub_upper = sub_upper || strcmp(list[i].name, "INBOX/Sub") == 0;
		inboxes_kept = inboxes_kept || strcmp(list[i].name, "inboxes") == 0;
		deep = deep || strcmp(list[i].name, "INBOX/a/b") == 0;
		assert_true(strncmp(list[i].name, "inbox/", 6) != 0);
	}
	assert_int_equal(inboxes, 1);
	assert_true(sub && sub_upper && inboxes_kept && deep);
	store_mailbox_list_free(&list, count);

	/* Every call finds it by any spelling of INBOX. */
	uint32_t uid = deliver_text(store, "inBox/sub", "k1", message, &dup);
	assert_int_equal(store_mailbox_get(store, "INBOX/sub", &box, &error), STORE_OK);
	assert_string_equal(box.name, "INBOX/sub");
	assert_int_equal(box.messages, 1);
	free(box.name);
	assert_int_equal(store_mailbox_get(store, "Inbox/SUB", &box, &error), STORE_NOT_FOUND);
	assert_int_equal(store_mailbox_rename(store, "inbox/sub", "Projects", &error), STORE_OK);
	assert_int_equal(store_mailbox_get(store, "Projects", &box, &error), STORE_OK);
	assert_int_equal(box.messages, 1);
	free(box.name);
	assert_int_equal(store_mailbox_rename(store, "Projects", "inbox/back", &error), STORE_OK);
	struct store_reader *reader;
	uint64_t size;
	assert_int_equal(store_reader_open(store, "INBOX/back", uid, &reader, &size, &error),
			 STORE_OK);
	store_reader_close(&reader);
	assert_int_equal(store_mailbox_delete(store, "INBOX/BACK", &error), STORE_NOT_FOUND);
	assert_int_equal(store_mailbox_delete(store, "inbox/back", &error), STORE_OK);
	store_close(&store);
}

/* Substring search, case-insensitive, on both backends alike. */
static void test_search_alike(void **state)
{
	bool dup;
	struct store *store = new_store(*state);
	const char *error = NULL;
	uint32_t *uids;
	size_t count;
	const struct {
		enum store_text_field field;
		const char *text;
		size_t hits;
	} cases[] = {
		{ STORE_TEXT_BODY, "THIRD QUARTER", 1 }, { STORE_TEXT_BODY, "figures for", 1 },
		{ STORE_TEXT_BODY, "quarterly", 0 },     { STORE_TEXT_ANY, "quarterly", 1 },
		{ STORE_TEXT_ANY, "ALICE@", 1 },         { STORE_TEXT_ANY, "Qu", 1 },
		{ STORE_TEXT_ANY, "zz", 0 },             { STORE_TEXT_ANY, "", 1 },
		{ STORE_TEXT_ANY, "budget OR menu", 0 },
	};

	deliver_text(store, "INBOX", "s1", message, &dup);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(store_text_search(store, "INBOX", cases[i].field, cases[i].text,
						   &uids, &count, &error),
				 STORE_OK);
		if (count != cases[i].hits)
			fail_msg("search %s: %zu hits", cases[i].text, count);
		free(uids);
	}
	assert_int_equal(store_text_search(store, "Nowhere", STORE_TEXT_ANY, "x", &uids, &count,
					   &error),
			 STORE_NOT_FOUND);
	store_close(&store);
}

/* mark_seen adds \Seen to uids[0..n) of INBOX. */
static void mark_seen(struct store *store, const uint32_t *uids, size_t n)
{
	struct store_message *changed;
	uint32_t *failed;
	size_t nchanged, nfailed;
	const char *error = NULL;
	assert_int_equal(store_flags_update(store, "INBOX", uids, n, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, 0, 0, &changed, &nchanged, &failed,
					    &nfailed, &error),
			 STORE_OK);
	free(changed);
	free(failed);
}

/* store_mailbox_view: the UIDs, counts and first unseen message of a
 * mailbox as SELECT needs them, agreeing with store_mailbox_get and
 * store_message_list, on both backends alike. */
static void test_mailbox_view(void **state)
{
	bool dup;
	struct store *store = new_store(*state);
	struct store_mailbox box, got;
	const char *error = NULL;
	uint32_t *uids, first_unseen, u[5];

	/* Empty: no UIDs, nothing unseen. */
	assert_int_equal(store_mailbox_view(store, "inbox", &box, &uids, &first_unseen, &error),
			 STORE_OK);
	assert_string_equal(box.name, "INBOX");
	assert_int_equal(box.messages, 0);
	assert_null(uids);
	assert_int_equal(first_unseen, 0);
	free(box.name);

	char key[8];
	for (unsigned i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "v%u", i);
		u[i] = deliver_text(store, "INBOX", key, message, &dup);
	}
	/* 2 expunged, 1 and 3 seen: 4 is the first unseen. */
	assert_int_equal(store_expunge(store, "INBOX", &u[1], 1, &error), STORE_OK);
	uint32_t seen[] = { u[0], u[2] };
	mark_seen(store, seen, 2);
	assert_int_equal(store_mailbox_get(store, "INBOX", &got, &error), STORE_OK);
	assert_int_equal(store_mailbox_view(store, "INBOX", &box, &uids, &first_unseen, &error),
			 STORE_OK);
	assert_int_equal(box.messages, 4);
	assert_int_equal(uids[0], u[0]);
	assert_int_equal(uids[1], u[2]);
	assert_int_equal(uids[2], u[3]);
	assert_int_equal(uids[3], u[4]);
	assert_int_equal(first_unseen, u[3]);
	assert_int_equal(box.uidvalidity, got.uidvalidity);
	assert_int_equal(box.uidnext, got.uidnext);
	assert_int_equal(box.highestmodseq, got.highestmodseq);
	assert_int_equal(box.recent, got.recent);
	assert_int_equal(box.recent, 4);
	free(uids);
	free(box.name);
	free(got.name);

	/* Claimed \Recent is no longer counted; all seen: no first unseen. */
	uint32_t first, next;
	assert_int_equal(store_mailbox_claim_recent(store, "INBOX", &first, &next, &error),
			 STORE_OK);
	uint32_t rest[] = { u[3], u[4] };
	mark_seen(store, rest, 2);
	u[0] = deliver_text(store, "INBOX", "v5", message, &dup);
	assert_int_equal(store_mailbox_view(store, "INBOX", &box, &uids, &first_unseen, &error),
			 STORE_OK);
	assert_int_equal(box.messages, 5);
	assert_int_equal(box.recent, 1);
	assert_int_equal(first_unseen, u[0]);
	free(uids);
	free(box.name);

	assert_int_equal(store_mailbox_view(store, "Nowhere", &box, &uids, &first_unseen, &error),
			 STORE_NOT_FOUND);
	assert_null(box.name);
	assert_null(uids);
	store_close(&store);
}

/* store-mem's calls for tests: counters, a failing search, hidden
 * messages, messages put as given. */
static void test_mem_hooks(void **state)
{
	struct store *store = new_store(*state);
	struct store_message_meta *meta;
	struct store_reader *reader;
	const char *error = NULL;
	uint32_t *uids;
	size_t count;
	uint64_t size;

	const struct store_mem_message put = {
		.m = { .uid = 7, .flags = STORE_FLAG_SEEN, .modseq = 30, .size = 2000 },
		.content = "Subject: Put\r\n\r\n", .envelope = "(NIL)", .subject = "Put",
		.from = "carol@c.org", .body = "the body text", .sent_date = -1,
	};
	assert_int_equal(store_mem_put(store, "INBOX", &put), 0);
	assert_int_equal(store_mem_put(store, "INBOX", &put), -1); /* UID not above */
	struct store_mailbox box;
	assert_int_equal(store_mailbox_get(store, "INBOX", &box, &error), STORE_OK);
	assert_int_equal(box.uidnext, 8);
	assert_int_equal(box.highestmodseq, 30);
	free(box.name);
	assert_int_equal(store_message_meta(store, "INBOX", 7, &meta, &error), STORE_OK);
	assert_int_equal(meta->msg.size, 2000);
	assert_int_equal(meta->msg.modseq, 30);
	assert_string_equal(meta->subject, "Put");
	assert_string_equal(meta->envelope, "(NIL)");
	assert_int_equal(meta->sent_date, -1);
	store_message_meta_free(&meta);
	assert_int_equal(store_text_search(store, "INBOX", STORE_TEXT_BODY, "BODY TEXT", &uids,
					   &count, &error),
			 STORE_OK);
	assert_int_equal(count, 1);
	free(uids);

	assert_int_equal(*store_mem_calls(store, STORE_MEM_MESSAGE_META), 1);
	assert_int_equal(*store_mem_calls(store, STORE_MEM_TEXT_SEARCH), 1);
	*store_mem_calls(store, STORE_MEM_TEXT_SEARCH) = 0;
	assert_int_equal(*store_mem_calls(store, STORE_MEM_TEXT_SEARCH), 0);

	assert_int_equal(store_mem_fail_search(store, "FAIL", "index broken"), 0);
	assert_int_equal(store_text_search(store, "INBOX", STORE_TEXT_ANY, "FAIL", &uids, &count,
					   &error),
			 STORE_ERROR);
	assert_string_equal(error, "index broken");
	assert_int_equal(store_mem_fail_search(store, NULL, NULL), 0);
	assert_int_equal(store_text_search(store, "INBOX", STORE_TEXT_ANY, "FAIL", &uids, &count,
					   &error),
			 STORE_OK);

	assert_int_equal(store_mem_hide(store, "INBOX", 7, true), 0);
	assert_int_equal(store_mem_hide(store, "INBOX", 8, true), -1);
	assert_int_equal(store_message_meta(store, "INBOX", 7, &meta, &error), STORE_NOT_FOUND);
	assert_int_equal(store_reader_open(store, "INBOX", 7, &reader, &size, &error),
			 STORE_NOT_FOUND);
	assert_int_equal(store_message_open(store, "INBOX", 7, &error), -1);
	struct store_message *list;
	assert_int_equal(store_message_range(store, "INBOX", 1, 100, &list, &count, &error),
			 STORE_OK);
	assert_int_equal(count, 1);
	free(list);
	assert_int_equal(store_mem_hide(store, "INBOX", 7, false), 0);
	int fd = store_message_open(store, "INBOX", 7, &error);
	assert_true(fd >= 0);
	char *content = read_all(fd);
	assert_string_equal(content, "Subject: Put\r\n\r\n");
	free(content);
	close(fd);
	/* Two store_message_open, one store_reader_open. */
	assert_int_equal(*store_mem_calls(store, STORE_MEM_CONTENT_OPEN), 3);
	store_close(&store);
}

/* Group commit: with syncs deferred, the IMAP writes leave a sync pending
 * and store_sync ends it; a delivery (a batch) and the full-text index
 * leave nothing pending; what was committed is there for the next reader
 * either way, and a store that keeps everything as it is made (store-mem)
 * never pends. */
static void test_sync_deferred(void **state)
{
	const struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	bool sqlite = strcmp(store->backend->name, "sqlite") == 0;
	bool more;

	assert_false(store_sync_pending(store));
	assert_int_equal(store_sync_defer(store, true, &error), 0);
	assert_int_equal(store_sync_defer(store, true, &error), 0); /* again: no change */
	/* A delivery is durable on return even now. */
	uint32_t a = put(store, "INBOX", message), b = put(store, "INBOX", message);
	assert_false(store_sync_pending(store));
	assert_int_equal(store_index_backlog(store, STORE_INDEX_TURN_MAX, &more, &error), STORE_OK);
	assert_false(store_sync_pending(store));

	struct store_message *changed = NULL;
	uint32_t *failed = NULL;
	size_t nchanged = 0, nfailed = 0;
	assert_int_equal(store_flags_update(store, "INBOX", &a, 1, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN | STORE_FLAG_DELETED, 0, 0, &changed,
					    &nchanged, &failed, &nfailed, &error),
			 STORE_OK);
	free(changed);
	free(failed);
	assert_int_equal(store_sync_pending(store), sqlite);
	assert_int_equal(store_sync(store, &error), 0);
	assert_false(store_sync_pending(store));
	assert_int_equal(store_sync(store, &error), 0); /* nothing pending: nothing done */
	/* Flags the message has already: no row changes, nothing to sync. */
	assert_int_equal(store_flags_update(store, "INBOX", &a, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
					    0, 0, &changed, &nchanged, &failed, &nfailed, &error),
			 STORE_OK);
	assert_int_equal(nchanged, 0);
	free(changed);
	free(failed);
	assert_false(store_sync_pending(store));

	assert_int_equal(store_expunge(store, "INBOX", &a, 1, &error), 0);
	assert_int_equal(store_sync_pending(store), sqlite);
	/* The index's own commit leaves the expunge's sync pending. */
	assert_int_equal(store_index_backlog(store, STORE_INDEX_TURN_MAX, &more, &error), STORE_OK);
	assert_int_equal(store_sync_pending(store), sqlite);
	/* Back to a sync per commit: what was pending is synced first. */
	assert_int_equal(store_sync_defer(store, false, &error), 0);
	assert_false(store_sync_pending(store));
	assert_int_equal(store_mailbox_create(store, "Later", &error), STORE_OK);
	assert_false(store_sync_pending(store));
	store_close(&store);

	store = new_store(d);
	struct store_mailbox inbox = box(store, "INBOX");
	assert_int_equal(inbox.messages, 1);
	struct store_message *list = NULL;
	size_t n = 0;
	assert_int_equal(store_message_range(store, "INBOX", 1, b, &list, &n, &error), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].uid, b);
	free(list);
	store_close(&store);
}

/* store_message_range_filtered: the unseen, or the deleted, of a span, in
 * UID order, alike in both backends. */
static void test_range_filtered(void **state)
{
	const struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t u[5];
	for (size_t i = 0; i < 5; i++)
		u[i] = put(store, "INBOX", message);
	struct store_message *changed = NULL, *list = NULL;
	uint32_t *failed = NULL;
	size_t nchanged = 0, nfailed = 0, n = 0;
	uint32_t seen[] = { u[0], u[2] }, deleted[] = { u[2], u[4] };
	assert_int_equal(store_flags_update(store, "INBOX", seen, 2, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, 0, 0, &changed, &nchanged, &failed,
					    &nfailed, &error),
			 STORE_OK);
	free(changed);
	free(failed);
	assert_int_equal(store_flags_update(store, "INBOX", deleted, 2, STORE_FLAGS_ADD,
					    STORE_FLAG_DELETED, 0, 0, &changed, &nchanged, &failed,
					    &nfailed, &error),
			 STORE_OK);
	free(changed);
	free(failed);

	assert_int_equal(store_message_range_filtered(store, "INBOX", u[0], u[4],
						      STORE_RANGE_UNSEEN, &list, &n, &error),
			 STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].uid, u[1]);
	assert_int_equal(list[1].uid, u[3]);
	assert_int_equal(list[2].uid, u[4]);
	assert_int_equal(list[2].flags, STORE_FLAG_DELETED);
	free(list);
	/* A span that leaves the first and last out. */
	assert_int_equal(store_message_range_filtered(store, "INBOX", u[1], u[3],
						      STORE_RANGE_DELETED, &list, &n, &error),
			 STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].uid, u[2]);
	assert_int_equal(list[0].flags, STORE_FLAG_SEEN | STORE_FLAG_DELETED);
	free(list);
	assert_int_equal(store_message_range_filtered(store, "Nowhere", 1, 9, STORE_RANGE_DELETED,
						      &list, &n, &error),
			 STORE_NOT_FOUND);
	assert_int_equal(n, 0);
	store_close(&store);
}

int test_store_backends_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reader, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_reader_from_meta, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_meta_list, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_meta_list, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_reader_from_meta, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_inbox_hierarchy, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_search_alike, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mailbox_view, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mailbox_view, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_reader, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_inbox_hierarchy, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_search_alike, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_mem_hooks, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_sync_deferred, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_sync_deferred, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_range_filtered, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_range_filtered, setup_dir_mem, teardown_dir_mem),
	};
	return cmocka_run_group_tests_name("store-backends", tests, NULL, NULL);
}
