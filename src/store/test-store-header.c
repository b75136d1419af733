/*
 * Unit tests for the header copies (store.h, "Header copies"; SQLite
 * backend): kept at delivery and APPEND, served by the meta and by a
 * reader without the file, shared by COPY and MOVE, absent for older
 * messages and oversized headers (the file answers), gone with the file
 * at the clean-up; and the covering index of the same schema version;
 * the heads a header FETCH reads (store_message_head_list).
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

#include "store/store-sqlite.h"
#include "store/store.h"
#include "store/test-store.h"

#define HEADER "Subject: Folded\r\n over two lines\r\nFrom: a@example.org\r\nX-Empty:\r\n\r\n"
static const char folded[] = HEADER "Body text.\r\n";

/* meta_of reads the meta of uid in mailbox (the test fails otherwise). */
static struct store_message_meta *meta_of(struct store *store, const char *mailbox, uint32_t uid)
{
	struct store_message_meta *meta = NULL;
	const char *error = NULL;
	if (store_message_meta(store, mailbox, uid, &meta, &error) != STORE_OK)
		fail_msg("store_message_meta: %s", error);
	return meta;
}

/* unlink_content removes the file of the meta's content, so that only
 * the copy can answer. */
static void unlink_content(const struct test_dir *d, const struct store_message_meta *meta)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", d->path, meta->msg.hash, meta->msg.hash);
	assert_int_equal(unlink(path), 0);
}

/* A delivered message's meta carries its header section, byte for byte,
 * and a reader from that meta answers reads inside it without the file;
 * a read past it needs the file. */
static void test_header_kept(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	struct store_reader *reader = NULL;
	const char *error = NULL;
	uint64_t size;
	char buf[sizeof(folded)];
	size_t n;

	uint32_t uid = put(store, "INBOX", folded);
	struct store_message_meta *meta = meta_of(store, "INBOX", uid);
	assert_non_null(meta->header_copy);
	assert_int_equal(meta->header_copy_size, strlen(HEADER));
	assert_memory_equal(meta->header_copy, HEADER, strlen(HEADER));
	assert_int_equal(meta->parts[0].header_size, strlen(HEADER));
	assert_int_equal(sql_int(d, "SELECT count(*) FROM headers"), 1);

	unlink_content(d, meta);
	assert_int_equal(store_reader_open_meta(store, "INBOX", meta, &reader, &size, &error),
			 STORE_OK);
	assert_int_equal(size, strlen(folded));
	assert_int_equal(store_reader_read(reader, 9, buf, 6, &n, &error), STORE_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "Folded", 6);
	assert_int_equal(store_reader_read(reader, 0, buf, strlen(HEADER), &n, &error), STORE_OK);
	assert_memory_equal(buf, HEADER, strlen(HEADER));
	/* One octet past the copy: the file, which is gone. */
	assert_int_equal(store_reader_read(reader, 0, buf, strlen(HEADER) + 1, &n, &error),
			 STORE_ERROR);
	store_reader_close(&reader);
	/* Opened by UID, a reader reads the file (none: it fails to open). */
	assert_int_equal(store_reader_open(store, "INBOX", uid, &reader, &size, &error),
			 STORE_ERROR);
	store_message_meta_free(&meta);
	store_close(&store);
}

/* With the file there, a reader from a meta with a copy reads the whole
 * content, windows across the copy's end included. */
static void test_header_reader_past_copy(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	struct store_reader *reader = NULL;
	const char *error = NULL;
	uint64_t size;
	char all[sizeof(folded)];

	uint32_t uid = put(store, "INBOX", folded);
	struct store_message_meta *meta = meta_of(store, "INBOX", uid);
	assert_int_equal(store_reader_open_meta(store, "INBOX", meta, &reader, &size, &error),
			 STORE_OK);
	for (size_t window = 1; window <= 29; window += 7) {
		uint64_t at = 0;
		size_t n;
		do {
			assert_int_equal(store_reader_read(reader, at, all + at, window, &n, &error),
					 STORE_OK);
			at += n;
		} while (n == window);
		assert_int_equal(at, size);
		assert_memory_equal(all, folded, size);
	}
	store_reader_close(&reader);
	store_message_meta_free(&meta);
	store_close(&store);
}

/* APPEND keeps a copy; a content whose first piece is shorter than its
 * header (a Return-Path line in front) is joined for it. */
static void test_header_append_and_pieces(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t uid = 0;
	bool dup;

	assert_int_equal(append(store, "Drafts", folded, 0, 0, &uid), STORE_OK);
	struct store_message_meta *meta = meta_of(store, "Drafts", uid);
	assert_int_equal(meta->header_copy_size, strlen(HEADER));
	assert_memory_equal(meta->header_copy, HEADER, strlen(HEADER));
	store_message_meta_free(&meta);

	static const char path_line[] = "Return-Path: <b@example.org>\r\n";
	static const char rest[] = "Subject: pieces\r\n\r\nbody\r\n";
	char whole[sizeof(path_line) + sizeof(rest)];
	snprintf(whole, sizeof(whole), "%s%s", path_line, rest);
	struct parsed p;
	parse(&p, whole);
	struct iovec iov[2] = { { (void *)path_line, strlen(path_line) },
				{ (void *)rest, strlen(rest) } };
	assert_int_equal(store_deliver(store, "INBOX", "pieces", iov, 2, p.msg, 1700000000, &uid,
				       &dup, &error),
			 0);
	parsed_free(&p);
	meta = meta_of(store, "INBOX", uid);
	size_t header_len = strlen(whole) - strlen("body\r\n");
	assert_int_equal(meta->header_copy_size, header_len);
	assert_memory_equal(meta->header_copy, whole, header_len);
	store_message_meta_free(&meta);
	store_close(&store);
}

/* header_text makes a message whose header is size octets ("X: aaa...",
 * the blank line included) followed by "body\r\n"; free() it. */
static char *header_text(size_t size)
{
	size_t filler = size - 3 - 2 - 2;
	char *text = malloc(size + 7);
	assert_non_null(text);
	memcpy(text, "X: ", 3);
	memset(text + 3, 'a', filler);
	memcpy(text + 3 + filler, "\r\n\r\nbody\r\n", 11);
	return text;
}

/* A header of STORE_HEADER_KEEP_MAX octets is kept; one octet more is
 * not, and FETCH's reader reads it from the file. */
static void test_header_cap(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	struct store_reader *reader = NULL;
	const char *error = NULL;
	uint64_t size;
	size_t n;

	for (size_t extra = 0; extra <= 1; extra++) {
		size_t header = STORE_HEADER_KEEP_MAX + extra;
		char *text = header_text(header);
		uint32_t uid = put(store, "INBOX", text);
		struct store_message_meta *meta = meta_of(store, "INBOX", uid);
		assert_int_equal(meta->parts[0].header_size, header);
		if (extra == 0) {
			assert_int_equal(meta->header_copy_size, header);
		} else {
			assert_null(meta->header_copy);
			assert_int_equal(meta->header_copy_size, 0);
		}
		assert_int_equal(store_reader_open_meta(store, "INBOX", meta, &reader, &size,
							&error),
				 STORE_OK);
		char *back = malloc(header);
		assert_non_null(back);
		assert_int_equal(store_reader_read(reader, 0, back, header, &n, &error), STORE_OK);
		assert_int_equal(n, header);
		assert_memory_equal(back, text, header);
		free(back);
		store_reader_close(&reader);
		store_message_meta_free(&meta);
		free(text);
	}
	assert_int_equal(sql_int(d, "SELECT count(*) FROM headers"), 1);
	store_close(&store);
}

/* A message stored before copies were kept (its row deleted here) has
 * none: the meta says so and the reader reads the file. */
static void test_header_absent(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	struct store_reader *reader = NULL;
	const char *error = NULL;
	uint64_t size;
	char buf[8];
	size_t n;

	uint32_t uid = put(store, "INBOX", folded);
	store_close(&store);
	sql_exec(d, "DELETE FROM headers");
	store = new_store(d);
	struct store_message_meta *meta = meta_of(store, "INBOX", uid);
	assert_null(meta->header_copy);
	assert_int_equal(meta->header_copy_size, 0);
	assert_int_equal(store_reader_open_meta(store, "INBOX", meta, &reader, &size, &error),
			 STORE_OK);
	assert_int_equal(store_reader_read(reader, 0, buf, 8, &n, &error), STORE_OK);
	assert_memory_equal(buf, "Subject:", 8);
	store_reader_close(&reader);
	store_message_meta_free(&meta);
	/* A copy that does not cover the header the parts name is not used. */
	store_close(&store);
	sql_exec(d, "INSERT INTO headers (blob, header) SELECT blob, x'5375626a' FROM messages");
	store = new_store(d);
	meta = meta_of(store, "INBOX", uid);
	assert_null(meta->header_copy);
	store_message_meta_free(&meta);
	store_close(&store);
}

/* COPY and MOVE share the copy (no new row); it goes with the file, once
 * the last message naming the content is expunged and the clean-up ran. */
static void test_header_copy_move_gc(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t *src, *dst, uidvalidity, moved_uid, copy_uid;
	size_t copied;
	bool more;

	uint32_t uid = put(store, "INBOX", folded);
	assert_int_equal(store_copy(store, "INBOX", &uid, 1, "Archive", false, &uidvalidity, &src,
				    &dst, &copied, &error),
			 STORE_OK);
	copy_uid = dst[0];
	free(src);
	free(dst);
	assert_int_equal(store_copy(store, "INBOX", &uid, 1, "Trash", true, &uidvalidity, &src,
				    &dst, &copied, &error),
			 STORE_OK);
	moved_uid = dst[0];
	free(src);
	free(dst);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM headers"), 1);
	struct store_message_meta *meta = meta_of(store, "Archive", copy_uid);
	assert_memory_equal(meta->header_copy, HEADER, strlen(HEADER));
	store_message_meta_free(&meta);
	meta = meta_of(store, "Trash", moved_uid);
	assert_memory_equal(meta->header_copy, HEADER, strlen(HEADER));
	store_message_meta_free(&meta);

	/* One of two expunged: the copy stays for the other. */
	assert_int_equal(store_expunge(store, "Trash", &moved_uid, 1, &error), 0);
	do
		assert_int_equal(store_gc_step(store, 1800000000, &more, &error), STORE_OK);
	while (more);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM headers"), 1);
	meta = meta_of(store, "Archive", copy_uid);
	assert_non_null(meta->header_copy);
	store_message_meta_free(&meta);
	/* The last one: the expunge leaves it for the clean-up, which
	 * removes it with the file. */
	assert_int_equal(store_expunge(store, "Archive", &copy_uid, 1, &error), 0);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM headers"), 1);
	do
		assert_int_equal(store_gc_step(store, 1800000000, &more, &error), STORE_OK);
	while (more);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM headers"), 0);
	/* Delivered again: kept again. */
	uid = put(store, "INBOX", folded);
	meta = meta_of(store, "INBOX", uid);
	assert_non_null(meta->header_copy);
	store_message_meta_free(&meta);
	store_close(&store);
}

/* A delivery that fails leaves no copy; a second identical one adds no
 * row. */
static void test_header_failed_and_twice(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	struct parsed p;
	uint32_t uid;
	bool dup;

	parse(&p, folded);
	assert_int_equal(store_deliver(store, "Nowhere", "k1", &p.iov, 1, p.msg, 1700000000, &uid,
				       &dup, &error),
			 -1);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM headers"), 0);
	parsed_free(&p);
	put(store, "INBOX", folded);
	put(store, "Sent", folded);
	assert_int_equal(sql_int(d, "SELECT count(*) FROM headers"), 1);
	store_close(&store);
}

/* plan_uses says whether the query plan of statement id names index. */
static bool plan_uses(const struct test_dir *d, enum stmt_id id, const char *index)
{
	char path[4096], sql[2048];
	sqlite3 *db;
	sqlite3_stmt *st;
	bool found = false;

	snprintf(path, sizeof(path), "%s/store.db", d->path);
	snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", sqlite_stmt_sql[id]);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		found = found || strstr((const char *)sqlite3_column_text(st, 3), index) != NULL;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

/* A range of messages (every SEARCH and FETCH step) is read from the
 * covering index of version 7, not the fat message rows; SELECT's first
 * unseen message still comes from its partial index. */
static void test_state_index(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);

	for (int i = 0; i < 3; i++)
		put(store, "INBOX", folded);
	store_close(&store);
	assert_true(plan_uses(d, STMT_MESSAGE_RANGE, "COVERING INDEX messages_state"));
	assert_true(plan_uses(d, STMT_MESSAGE_LIST, "COVERING INDEX messages_state"));
	assert_true(plan_uses(d, STMT_VIEW_FIRST_UNSEEN, "messages_unseen"));
}

/* check_head says that head (store_message_head_list) holds what the
 * full meta of the same message says of its state and own header. */
static void check_head(const struct store_message_meta *head,
		       const struct store_message_meta *full)
{
	assert_non_null(head);
	assert_int_equal(head->msg.uid, full->msg.uid);
	assert_int_equal(head->msg.flags, full->msg.flags);
	assert_int_equal(head->msg.modseq, full->msg.modseq);
	assert_int_equal(head->msg.size, full->msg.size);
	assert_int_equal(head->msg.internal_date, full->msg.internal_date);
	assert_int_equal(head->msg.keywords, full->msg.keywords);
	assert_string_equal(head->msg.hash, full->msg.hash);
	assert_int_equal(head->header_copy_size, full->header_copy_size);
	assert_memory_equal(head->header_copy, full->header_copy, full->header_copy_size);
	assert_int_equal(head->part_count, 1);
	assert_int_equal(head->parts[0].header_offset, full->parts[0].header_offset);
	assert_int_equal(head->parts[0].header_size, full->parts[0].header_size);
	assert_int_equal(head->parts[0].body_offset, full->parts[0].body_offset);
	assert_int_equal(head->parts[0].body_size, full->parts[0].body_size);
	assert_null(head->envelope);
	assert_null(head->bodystructure);
}

/* store_message_head_list gives the state and header copy of the UIDs
 * asked (a sparse set, one expunged), the same as the full metas; NULL
 * for a message without a copy (a header one octet over
 * STORE_HEADER_KEEP_MAX, one stored before copies were kept, one not a
 * whole header) and for one that is gone; the range is read from the
 * covering index. */
static void test_head_list(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t uids[7];

	uids[0] = put(store, "INBOX", folded);
	char *at_max = header_text(STORE_HEADER_KEEP_MAX);
	char *over_max = header_text(STORE_HEADER_KEEP_MAX + 1);
	uids[1] = put(store, "INBOX", at_max);
	uids[2] = put(store, "INBOX", over_max);
	uids[3] = put(store, "INBOX", "Subject: no copy\r\n\r\nbody\r\n");
	put(store, "INBOX", "Subject: not asked\r\n\r\nbody\r\n");
	uids[4] = put(store, "INBOX", "Subject: expunged\r\n\r\nbody\r\n");
	uids[5] = put(store, "INBOX", "Subject: no body, no blank line\r\n");
	uids[6] = uids[5] + 5;  /* never was */
	free(at_max);
	free(over_max);
	struct store_message *changed = NULL;
	uint32_t *failed = NULL;
	size_t nchanged, nfailed;
	assert_int_equal(store_flags_update(store, "INBOX", &uids[0], 1, STORE_FLAGS_ADD,
					    STORE_FLAG_FLAGGED, 1, 0, &changed, &nchanged, &failed,
					    &nfailed, &error),
			 STORE_OK);
	free(changed);
	free(failed);
	struct store_message_meta *full[7] = { 0 };
	for (size_t i = 0; i < 6; i++)
		full[i] = meta_of(store, "INBOX", uids[i]);
	assert_int_equal(store_expunge(store, "INBOX", &uids[4], 1, &error), 0);
	store_close(&store);
	char forget[200];
	snprintf(forget, sizeof(forget), "DELETE FROM headers WHERE blob = '%s'",
		 full[3]->msg.hash);
	sql_exec(d, forget);
	store = new_store(d);

	struct store_message_meta *heads[7];
	assert_int_equal(store_message_head_list(store, "INBOX", uids, 7, heads, &error),
			 STORE_OK);
	check_head(heads[0], full[0]);
	check_head(heads[1], full[1]);
	assert_null(heads[2]);
	assert_null(full[2]->header_copy);
	assert_null(heads[3]);
	assert_null(heads[4]);
	check_head(heads[5], full[5]);
	assert_null(heads[6]);
	for (size_t i = 0; i < 7; i++) {
		store_message_meta_free(&heads[i]);
		store_message_meta_free(&full[i]);
	}
	/* One message; a mailbox that is not there. */
	assert_int_equal(store_message_head_list(store, "INBOX", &uids[1], 1, heads, &error),
			 STORE_OK);
	assert_non_null(heads[0]);
	store_message_meta_free(&heads[0]);
	assert_int_equal(store_message_head_list(store, "Nowhere", uids, 2, heads, &error),
			 STORE_NOT_FOUND);
	assert_null(heads[0]);
	/* A copy that is not a whole header section is not a head. */
	store_close(&store);
	sql_exec(d, "UPDATE headers SET header = x'5375626a'");
	store = new_store(d);
	assert_int_equal(store_message_head_list(store, "INBOX", uids, 2, heads, &error),
			 STORE_OK);
	assert_null(heads[0]);
	assert_null(heads[1]);
	store_close(&store);
	assert_true(plan_uses(d, STMT_HEAD_RANGE, "COVERING INDEX messages_state"));
}

/* store_message_envelope_list gives the state and ENVELOPE of the UIDs
 * asked (a sparse set, one expunged, one never there), the same as the
 * full metas, and nothing else; the range is read in one query. */
static void test_envelope_list(void **state)
{
	struct test_dir *d = *state;
	struct store *store = new_store(d);
	const char *error = NULL;
	uint32_t uids[5];

	uids[0] = put(store, "INBOX", folded);
	put(store, "INBOX", "Subject: not asked\r\n\r\nbody\r\n");
	uids[1] = put(store, "INBOX", "Subject: expunged\r\n\r\nbody\r\n");
	uids[2] = put(store, "INBOX", "\r\nno header at all\r\n");
	uids[3] = put(store, "INBOX", "From: a@example.org\r\nSubject: last\r\n\r\nb\r\n");
	uids[4] = uids[3] + 5;  /* never was */
	struct store_message *changed = NULL;
	uint32_t *failed = NULL;
	size_t nchanged, nfailed;
	assert_int_equal(store_flags_update(store, "INBOX", &uids[3], 1, STORE_FLAGS_ADD,
					    STORE_FLAG_SEEN, 2, 0, &changed, &nchanged, &failed,
					    &nfailed, &error),
			 STORE_OK);
	free(changed);
	free(failed);
	struct store_message_meta *full[5] = { 0 };
	for (size_t i = 0; i < 4; i++)
		full[i] = meta_of(store, "INBOX", uids[i]);
	assert_int_equal(store_expunge(store, "INBOX", &uids[1], 1, &error), 0);

	struct store_message_meta *env[5];
	assert_int_equal(store_message_envelope_list(store, "INBOX", uids, 5, env, &error),
			 STORE_OK);
	assert_null(env[1]);
	assert_null(env[4]);
	for (size_t i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		assert_non_null(env[i]);
		assert_memory_equal(&env[i]->msg, &full[i]->msg, sizeof(env[i]->msg));
		assert_non_null(full[i]->envelope);
		assert_string_equal(env[i]->envelope, full[i]->envelope);
		assert_null(env[i]->header_copy);
		assert_null(env[i]->bodystructure);
		assert_int_equal(env[i]->part_count, 0);
	}
	for (size_t i = 0; i < 5; i++) {
		store_message_meta_free(&env[i]);
		store_message_meta_free(&full[i]);
	}
	assert_int_equal(store_message_envelope_list(store, "Nowhere", uids, 2, env, &error),
			 STORE_NOT_FOUND);
	assert_null(env[0]);
	store_close(&store);
	assert_true(plan_uses(d, STMT_ENVELOPE_RANGE, "mailbox_id=? AND uid>? AND uid<?"));
}

int test_store_header_run(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header_kept, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_header_reader_past_copy, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_header_append_and_pieces, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_header_cap, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_header_absent, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_header_copy_move_gc, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_header_failed_and_twice, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_state_index, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_head_list, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_envelope_list, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
