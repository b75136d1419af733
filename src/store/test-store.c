/*
 * Unit tests for store: create/open, delivery (UIDs, MODSEQ, duplicates,
 * unknown mailboxes), listing, reading content back, shared blobs, reopen,
 * crash leftovers, schema versions, batches (group commit), expunge; the
 * IMAP calls are tested in test-store-imap.c, run from main here.
 * Messages are described by hand-made struct mime_message values, so these
 * tests do not depend on the MIME parser.  Each test works in its own
 * mkdtemp directory, removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/test-store.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int setup_dir(void **state)
{
	struct test_dir *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -1;
	memcpy(d->path, TEST_DIR_TEMPLATE, sizeof(TEST_DIR_TEMPLATE));
	if (mkdtemp(d->path) == NULL) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

int teardown_dir(void **state)
{
	struct test_dir *d = *state;
	nftw(d->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
	return 0;
}

int setup_dir_mem(void **state)
{
	if (store_backend_use("mem") < 0)
		return -1;
	return setup_dir(state);
}

int teardown_dir_mem(void **state)
{
	int ret = teardown_dir(state);
	return store_backend_use("sqlite") < 0 ? -1 : ret;
}

/* test_msg_init describes content (the concatenation of iov) as one text
 * part with a Subject. */
void test_msg_init(struct test_msg *t, const struct iovec *iov, int iovcnt, const char *subject)
{
	uint64_t size = 0, header = 0;
	size_t lines = 0;

	for (int i = 0; i < iovcnt; i++)
		size += iov[i].iov_len;
	/* Find the blank line across the pieces. */
	char *all = malloc(size + 1);
	assert_non_null(all);
	uint64_t at = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(all + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	all[size] = '\0';
	const char *blank = strstr(all, "\r\n\r\n");
	header = blank != NULL ? (uint64_t)(blank - all) + 4 : size;
	for (uint64_t i = header; i < size; i++)
		lines += all[i] == '\n';
	free(all);

	memset(t, 0, sizeof(*t));
	t->part.section = STR("");
	t->part.header_offset = 0;
	t->part.header_size = header;
	t->part.body_offset = header;
	t->part.body_size = size - header;
	t->part.body_lines = lines;
	t->part.content_type = STR("text/plain");
	t->msg.parts = &t->part;
	t->msg.part_count = 1;
	t->msg.envelope = STR("(NIL \"test\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	t->msg.body = STR("(\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1)");
	t->msg.bodystructure = t->msg.body;
	t->msg.subject = str_c(subject);
	t->msg.from = STR("Alice <alice@example.org>");
	t->msg.to = STR("bob@example.org");
	t->msg.message_id = STR("<1@example.org>");
	t->msg.date = 1700000000;
	t->msg.size = size;
	t->msg.lines = lines;
}

/* deliver_text delivers one NUL-terminated message and checks success. */
uint32_t deliver_text(struct store *store, const char *mailbox, const char *key, const char *text,
		      bool *duplicate_r)
{
	struct iovec iov = { (void *)text, strlen(text) };
	struct test_msg t;
	uint32_t uid;
	const char *error = NULL;

	test_msg_init(&t, &iov, 1, "hello");
	int ret = store_deliver(store, mailbox, key, &iov, 1, &t.msg, 1700000001, &uid,
				duplicate_r, &error);
	if (ret != 0)
		fail_msg("store_deliver: %s", error);
	return uid;
}

/* read_all: see test-store.h. */
char *read_all(int fd)
{
	size_t cap = 1024, len = 0;
	char *p = malloc(cap);
	assert_non_null(p);
	for (;;) {
		if (len + 1 == cap) {
			cap *= 2;
			p = realloc(p, cap);
			assert_non_null(p);
		}
		ssize_t n = read(fd, p + len, cap - len - 1);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	p[len] = '\0';
	return p;
}

/* count_files: see test-store.h. */
int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			n += count_files(path);
		else if (S_ISREG(st.st_mode))
			n++;
	}
	closedir(d);
	return n;
}

static struct store *open_store(const char *dir)
{
	struct store *store = NULL;
	const char *error = NULL;
	if (store_open(dir, &store, &error) != 0)
		fail_msg("store_open: %s", error);
	return store;
}

/* find_mailbox returns the entry named name in list, or fails the test. */
static const struct store_mailbox *find_mailbox(const struct store_mailbox *list, size_t count,
						const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	fail_msg("mailbox %s missing", name);
	return NULL;
}

static void test_create_open(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	static const char *const names[] = { "INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash" };
	static const enum store_special_use uses[] = {
		STORE_SPECIAL_INBOX, STORE_SPECIAL_ARCHIVE, STORE_SPECIAL_DRAFTS,
		STORE_SPECIAL_JUNK,  STORE_SPECIAL_SENT,    STORE_SPECIAL_TRASH,
	};

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	struct store_mailbox *list;
	size_t count;
	assert_int_equal(store_mailbox_list(store, &list, &count, &error), 0);
	assert_int_equal(count, 6);
	uint32_t uidvalidity0 = list[0].uidvalidity;
	for (size_t i = 0; i < count; i++) {
		assert_string_equal(list[i].name, names[i]);
		assert_int_equal(list[i].special_use, uses[i]);
		assert_true(list[i].subscribed);
		assert_int_equal(list[i].uidnext, 1);
		assert_int_equal(list[i].highestmodseq, 1);
		assert_int_equal(list[i].messages, 0);
		assert_int_equal(list[i].bytes, 0);
		assert_true(list[i].uidvalidity != 0);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(list[i].uidvalidity, list[j].uidvalidity);
	}
	store_mailbox_list_free(&list, count);
	assert_null(list);
	uint32_t uid;
	bool dup;
	uid = deliver_text(store, "INBOX", "q1 bob", "Subject: a\r\n\r\nbody\r\n", &dup);
	assert_int_equal(uid, 1);
	store_close(&store);
	assert_null(store);

	/* Again: changes nothing, keeps the message and the UIDVALIDITY. */
	assert_int_equal(store_create(d->path, &error), 0);
	store = open_store(d->path);
	assert_int_equal(store_mailbox_list(store, &list, &count, &error), 0);
	assert_int_equal(count, 6);
	assert_int_equal(list[0].uidvalidity, uidvalidity0);
	assert_int_equal(list[0].messages, 1);
	store_mailbox_list_free(&list, count);
	store_close(&store);

	struct stat st;
	char path[4096];
	snprintf(path, sizeof(path), "%s/blobs/tmp", d->path);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_open_missing(void **state)
{
	struct test_dir *d = *state;
	struct store *store = NULL;
	const char *error = NULL;
	char path[4096];

	assert_int_equal(store_open(d->path, &store, &error), -1);
	assert_null(store);
	assert_non_null(error);
	snprintf(path, sizeof(path), "%s/nonexistent", d->path);
	assert_int_equal(store_create(path, &error), -1);
	assert_non_null(strstr(error, "nonexistent"));
}

static void test_deliver_list_read(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	static const char head[] = "Return-Path: <alice@example.org>\r\n";
	static const char rest[] = "From: Alice <alice@example.org>\r\nSubject: one\r\n\r\n"
				   "first body\r\nline two\r\n";
	static const char second[] = "Subject: two\r\n\r\nsecond\r\n";
	struct iovec iov[2] = { { (void *)head, sizeof(head) - 1 },
				{ (void *)rest, sizeof(rest) - 1 } };
	struct test_msg t;
	uint32_t uid;
	bool dup = true;

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	test_msg_init(&t, iov, 2, "one");
	assert_int_equal(store_deliver(store, "INBOX", "q1 bob@example.org", iov, 2, &t.msg,
				       1700000002, &uid, &dup, &error), 0);
	assert_int_equal(uid, 1);
	assert_false(dup);
	/* IMAP spells INBOX in any case. */
	assert_int_equal(deliver_text(store, "inbox", "q2 bob@example.org", second, &dup), 2);
	assert_false(dup);

	struct store_mailbox *list;
	size_t count;
	assert_int_equal(store_mailbox_list(store, &list, &count, &error), 0);
	const struct store_mailbox *inbox = find_mailbox(list, count, "INBOX");
	assert_ptr_equal(inbox, &list[0]);
	assert_int_equal(inbox->messages, 2);
	assert_int_equal(inbox->unseen, 2);
	assert_int_equal(inbox->bytes, sizeof(head) - 1 + sizeof(rest) - 1 + sizeof(second) - 1);
	assert_int_equal(inbox->uidnext, 3);
	assert_int_equal(inbox->highestmodseq, 3);
	assert_int_equal(find_mailbox(list, count, "Sent")->messages, 0);
	store_mailbox_list_free(&list, count);

	struct store_message *msgs;
	assert_int_equal(store_message_list(store, "INBOX", &msgs, &count, &error), 0);
	assert_int_equal(count, 2);
	assert_int_equal(msgs[0].uid, 1);
	assert_int_equal(msgs[1].uid, 2);
	assert_int_equal(msgs[0].modseq, 2);
	assert_int_equal(msgs[1].modseq, 3);
	assert_int_equal(msgs[0].flags, 0);
	assert_int_equal(msgs[0].size, sizeof(head) - 1 + sizeof(rest) - 1);
	assert_int_equal(msgs[0].internal_date, 1700000002);
	assert_int_equal(strlen(msgs[0].hash), 64);
	assert_string_not_equal(msgs[0].hash, msgs[1].hash);
	free(msgs);

	int fd = store_message_open(store, "INBOX", 1, &error);
	assert_true(fd >= 0);
	char *content = read_all(fd);
	close(fd);
	char expect[sizeof(head) + sizeof(rest)];
	snprintf(expect, sizeof(expect), "%s%s", head, rest);
	assert_string_equal(content, expect);
	free(content);
	fd = store_message_open(store, "INBOX", 2, &error);
	assert_true(fd >= 0);
	content = read_all(fd);
	close(fd);
	assert_string_equal(content, second);
	free(content);

	assert_int_equal(store_message_open(store, "INBOX", 3, &error), -1);
	assert_non_null(strstr(error, "no message"));
	assert_int_equal(store_message_list(store, "Nowhere", &msgs, &count, &error), -1);
	assert_null(msgs);
	store_close(&store);
}

static void test_parts_and_fields(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	static const char text[] = "Subject: parts\r\n\r\nbody\r\n";
	bool dup;
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[4096];

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(deliver_text(store, "INBOX", "k", text, &dup), 1);
	store_close(&store);

	snprintf(path, sizeof(path), "%s/store.db", d->path);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT p.section, p.header_size, p.body_offset,"
					    " p.body_size, p.body_lines, p.content_type,"
					    " m.subject, m.from_addr, m.envelope, m.sent_date, m.lines"
					    " FROM parts p JOIN messages m ON p.message_id = m.id",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "");
	assert_int_equal(sqlite3_column_int(st, 1), 18);
	assert_int_equal(sqlite3_column_int(st, 2), 18);
	assert_int_equal(sqlite3_column_int(st, 3), 6);
	assert_int_equal(sqlite3_column_int(st, 4), 1);
	assert_string_equal((const char *)sqlite3_column_text(st, 5), "text/plain");
	assert_string_equal((const char *)sqlite3_column_text(st, 6), "hello");
	assert_string_equal((const char *)sqlite3_column_text(st, 7), "Alice <alice@example.org>");
	assert_non_null(strstr((const char *)sqlite3_column_text(st, 8), "\"test\""));
	assert_int_equal(sqlite3_column_int64(st, 9), 1700000000);
	assert_int_equal(sqlite3_column_int(st, 10), 1);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_duplicate(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	bool dup = true;

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(deliver_text(store, "INBOX", "q1 bob", "Subject: x\r\n\r\nx\r\n", &dup),
			 1);
	assert_false(dup);
	assert_int_equal(deliver_text(store, "INBOX", "q2 bob", "Subject: y\r\n\r\ny\r\n", &dup),
			 2);
	/* The key decides, even with other content or another mailbox. */
	assert_int_equal(deliver_text(store, "INBOX", "q1 bob", "Subject: x\r\n\r\nx\r\n", &dup),
			 1);
	assert_true(dup);
	assert_int_equal(deliver_text(store, "Sent", "q1 bob", "other\r\n", &dup), 1);
	assert_true(dup);

	struct store_mailbox *list;
	size_t count;
	assert_int_equal(store_mailbox_list(store, &list, &count, &error), 0);
	assert_int_equal(list[0].messages, 2);
	assert_int_equal(list[0].uidnext, 3);
	assert_int_equal(list[0].highestmodseq, 3);
	assert_int_equal(find_mailbox(list, count, "Sent")->messages, 0);
	store_mailbox_list_free(&list, count);
	store_close(&store);

	/* Still a duplicate after reopening. */
	store = open_store(d->path);
	assert_int_equal(deliver_text(store, "INBOX", "q2 bob", "Subject: y\r\n\r\ny\r\n", &dup),
			 2);
	assert_true(dup);
	store_close(&store);
}

static void test_unknown_mailbox(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	static const char text[] = "Subject: lost\r\n\r\nlost\r\n";
	struct iovec iov = { (void *)text, sizeof(text) - 1 };
	struct test_msg t;
	uint32_t uid = 99;
	bool dup = true;
	char path[4096];

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	test_msg_init(&t, &iov, 1, "lost");
	assert_int_equal(store_deliver(store, "Nowhere", "k1", &iov, 1, &t.msg, 0, &uid, &dup,
				       &error), -1);
	assert_non_null(strstr(error, "no such mailbox"));
	assert_int_equal(uid, 0);
	assert_false(dup);
	/* Nothing was written, and the key stays free. */
	snprintf(path, sizeof(path), "%s/blobs", d->path);
	assert_int_equal(count_files(path), 0);
	assert_int_equal(deliver_text(store, "INBOX", "k1", text, &dup), 1);
	assert_false(dup);

	/* Invalid arguments fail cleanly too. */
	assert_int_equal(store_deliver(store, "", "k2", &iov, 1, &t.msg, 0, &uid, &dup, &error),
			 -1);
	assert_int_equal(store_deliver(store, "INBOX", "", &iov, 1, &t.msg, 0, &uid, &dup, &error),
			 -1);
	assert_int_equal(store_deliver(store, "IN\nBOX", "k2", &iov, 1, &t.msg, 0, &uid, &dup,
				       &error), -1);
	t.msg.size++;
	assert_int_equal(store_deliver(store, "INBOX", "k2", &iov, 1, &t.msg, 0, &uid, &dup,
				       &error), -1);
	assert_non_null(strstr(error, "size"));
	t.msg.size--;
	t.part.body_size += 10;
	assert_int_equal(store_deliver(store, "INBOX", "k2", &iov, 1, &t.msg, 0, &uid, &dup,
				       &error), -1);

	struct store_mailbox *list;
	size_t count;
	assert_int_equal(store_mailbox_list(store, &list, &count, &error), 0);
	assert_int_equal(list[0].messages, 1);
	assert_int_equal(list[0].uidnext, 2);
	store_mailbox_list_free(&list, count);
	store_close(&store);
}

static void test_reopen(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	bool dup;

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(deliver_text(store, "Drafts", "a", "Subject: a\r\n\r\na\r\n", &dup), 1);
	assert_int_equal(deliver_text(store, "Drafts", "b", "Subject: b\r\n\r\nb\r\n", &dup), 2);
	store_close(&store);

	store = open_store(d->path);
	struct store_message *msgs;
	size_t count;
	assert_int_equal(store_message_list(store, "Drafts", &msgs, &count, &error), 0);
	assert_int_equal(count, 2);
	assert_int_equal(msgs[1].uid, 2);
	assert_int_equal(msgs[1].modseq, 3);
	free(msgs);
	assert_int_equal(deliver_text(store, "Drafts", "c", "Subject: c\r\n\r\nc\r\n", &dup), 3);
	assert_int_equal(store_message_list(store, "Drafts", &msgs, &count, &error), 0);
	assert_int_equal(count, 3);
	assert_int_equal(msgs[2].modseq, 4);
	free(msgs);
	int fd = store_message_open(store, "Drafts", 1, &error);
	assert_true(fd >= 0);
	char *content = read_all(fd);
	close(fd);
	assert_string_equal(content, "Subject: a\r\n\r\na\r\n");
	free(content);
	store_close(&store);
}

static void test_shared_blob(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	static const char text[] = "Subject: same\r\n\r\nsame content\r\n";
	char path[4096];
	bool dup;

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(deliver_text(store, "INBOX", "q1 a", text, &dup), 1);
	assert_int_equal(deliver_text(store, "INBOX", "q1 b", text, &dup), 2);
	assert_int_equal(deliver_text(store, "Archive", "q2 a", text, &dup), 1);

	struct store_message *a, *b;
	size_t na, nb;
	assert_int_equal(store_message_list(store, "INBOX", &a, &na, &error), 0);
	assert_int_equal(store_message_list(store, "Archive", &b, &nb, &error), 0);
	assert_int_equal(na, 2);
	assert_int_equal(nb, 1);
	assert_string_equal(a[0].hash, a[1].hash);
	assert_string_equal(a[0].hash, b[0].hash);
	free(a);
	free(b);
	snprintf(path, sizeof(path), "%s/blobs", d->path);
	assert_int_equal(count_files(path), 1);
	snprintf(path, sizeof(path), "%s/blobs/tmp", d->path);
	assert_int_equal(count_files(path), 0);
	int fd = store_message_open(store, "Archive", 1, &error);
	assert_true(fd >= 0);
	char *content = read_all(fd);
	close(fd);
	assert_string_equal(content, text);
	free(content);
	store_close(&store);
}

/* Leftovers of a crash: an old temporary is removed on open, a young one
 * (maybe another process's) kept; a damaged file of the wrong size under a
 * hash name is replaced by the next delivery of that content. */
static void test_crash_leftovers(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	static const char text[] = "Subject: again\r\n\r\nagain\r\n";
	char path[4096];
	bool dup;

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(deliver_text(store, "INBOX", "k1", text, &dup), 1);
	struct store_message *msgs;
	size_t count;
	assert_int_equal(store_message_list(store, "INBOX", &msgs, &count, &error), 0);
	snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", d->path, msgs[0].hash, msgs[0].hash);
	free(msgs);
	store_close(&store);
	assert_int_equal(truncate(path, 3), 0);

	char old_tmp[4096], new_tmp[4096];
	snprintf(old_tmp, sizeof(old_tmp), "%s/blobs/tmp/old", d->path);
	snprintf(new_tmp, sizeof(new_tmp), "%s/blobs/tmp/new", d->path);
	FILE *f = fopen(old_tmp, "w");
	assert_non_null(f);
	fclose(f);
	f = fopen(new_tmp, "w");
	assert_non_null(f);
	fclose(f);
	struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, old_tmp, times, 0), 0);

	store = open_store(d->path);
	assert_int_equal(access(old_tmp, F_OK), -1);
	assert_int_equal(access(new_tmp, F_OK), 0);
	assert_int_equal(deliver_text(store, "INBOX", "k2", text, &dup), 2);
	int fd = store_message_open(store, "INBOX", 1, &error);
	assert_true(fd >= 0);
	char *content = read_all(fd);
	close(fd);
	assert_string_equal(content, text);
	free(content);
	store_close(&store);
}

static void test_newer_schema_refused(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	struct store *store = NULL;
	char path[4096];
	sqlite3 *db;

	assert_int_equal(store_create(d->path, &error), 0);
	snprintf(path, sizeof(path), "%s/store.db", d->path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 999"
					  " WHERE key = 'schema_version'", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(d->path, &store, &error), -1);
	assert_null(store);
	assert_non_null(strstr(error, "newer"));
}

static void test_preinit(void **state)
{
	const char *error = NULL;
	(void)state;
	assert_int_equal(store_preinit(&error), 0);
}

/* batch_deliver_text is deliver_text inside an open batch; returns the
 * store's answer (*error_r gets the error text). */
static int batch_deliver_text(struct store *store, const char *mailbox, const char *key,
			      const char *text, uint32_t *uid_r, bool *duplicate_r,
			      const char **error_r)
{
	struct iovec iov = { (void *)text, strlen(text) };
	struct test_msg t;

	test_msg_init(&t, &iov, 1, "batch");
	return store_batch_deliver(store, mailbox, key, &iov, 1, &t.msg, 1700000002, uid_r,
				   duplicate_r, error_r);
}

/* batch_ok delivers text under key into the open batch, expects success
 * and no duplicate, and returns the UID. */
static uint32_t batch_ok(struct store *store, const char *mailbox, const char *key,
			 const char *text)
{
	const char *error = NULL;
	uint32_t uid = 0;
	bool dup = true;

	if (batch_deliver_text(store, mailbox, key, text, &uid, &dup, &error) != 0)
		fail_msg("store_batch_deliver(%s): %s", key, error);
	assert_false(dup);
	return uid;
}

/* mailbox_state gives a mailbox's entry of store_mailbox_list (name is not
 * copied: only the numbers are meant to be read). */
static struct store_mailbox mailbox_state(struct store *store, const char *name)
{
	struct store_mailbox *list, m;
	size_t count;
	const char *error = NULL;
	if (store_mailbox_list(store, &list, &count, &error) != 0)
		fail_msg("store_mailbox_list: %s", error);
	m = *find_mailbox(list, count, name);
	m.name = NULL;
	store_mailbox_list_free(&list, count);
	return m;
}

/* tmp_files counts the temporaries left in the store's blobs/tmp. */
static int tmp_files(const struct test_dir *d)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/blobs/tmp", d->path);
	return count_files(path);
}

/* content_of reads message uid of mailbox back (the caller frees it). */
static char *content_of(struct store *store, const char *mailbox, uint32_t uid)
{
	const char *error = NULL;
	int fd = store_message_open(store, mailbox, uid, &error);
	if (fd < 0)
		fail_msg("store_message_open(%u): %s", uid, error);
	char *content = read_all(fd);
	close(fd);
	return content;
}

/* A batch of 50: UIDs 1..50 and MODSEQs 2..51 in call order, counts right,
 * every content readable, durable for a new connection, no temporaries. */
static void test_batch_commit(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	char key[32], text[128];
	uint64_t bytes = 0;

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(store_batch_begin(store, &error), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "q%d bob", i);
		snprintf(text, sizeof(text), "Subject: %d\r\n\r\nbody %d\r\n", i, i);
		bytes += strlen(text);
		assert_int_equal(batch_ok(store, "INBOX", key, text), 1 + i);
	}
	assert_int_equal(store_batch_commit(store, &error), 0);
	store_close(&store);

	store = open_store(d->path);
	struct store_mailbox inbox = mailbox_state(store, "INBOX");
	assert_int_equal(inbox.messages, 50);
	assert_int_equal(inbox.unseen, 50);
	assert_int_equal(inbox.bytes, bytes);
	assert_int_equal(inbox.uidnext, 51);
	assert_int_equal(inbox.highestmodseq, 51);
	struct store_message *msgs;
	size_t count;
	assert_int_equal(store_message_list(store, "INBOX", &msgs, &count, &error), 0);
	assert_int_equal(count, 50);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(msgs[i].uid, i + 1);
		assert_int_equal(msgs[i].modseq, i + 2);
		assert_int_equal(msgs[i].internal_date, 1700000002);
	}
	free(msgs);
	for (uint32_t uid = 1; uid <= 50; uid++) {
		char *content = content_of(store, "INBOX", uid);
		snprintf(text, sizeof(text), "Subject: %u\r\n\r\nbody %u\r\n", uid - 1, uid - 1);
		assert_string_equal(content, text);
		free(content);
	}
	assert_int_equal(tmp_files(d), 0);
	store_close(&store);
}

/* The same key twice in one batch: the second is a duplicate with the
 * first's UID and adds nothing, whatever its content or mailbox. */
static void test_batch_duplicate_in_batch(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	uint32_t uid = 0;
	bool dup = false;

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "a", "Subject: a\r\n\r\na\r\n"), 1);
	assert_int_equal(batch_ok(store, "INBOX", "b", "Subject: b\r\n\r\nb\r\n"), 2);
	assert_int_equal(batch_deliver_text(store, "INBOX", "a", "Subject: a\r\n\r\na\r\n", &uid,
					    &dup, &error), 0);
	assert_true(dup);
	assert_int_equal(uid, 1);
	assert_int_equal(batch_deliver_text(store, "Sent", "b", "other\r\n", &uid, &dup, &error),
			 0);
	assert_true(dup);
	assert_int_equal(uid, 2);
	assert_int_equal(batch_ok(store, "INBOX", "c", "Subject: c\r\n\r\nc\r\n"), 3);
	assert_int_equal(store_batch_commit(store, &error), 0);

	struct store_mailbox inbox = mailbox_state(store, "INBOX");
	assert_int_equal(inbox.messages, 3);
	assert_int_equal(inbox.uidnext, 4);
	assert_int_equal(inbox.highestmodseq, 4);
	assert_int_equal(mailbox_state(store, "Sent").messages, 0);
	assert_int_equal(tmp_files(d), 0);
	store_close(&store);
}

/* A key committed before (by store_deliver or an earlier batch) is a
 * duplicate inside a batch, with its UID. */
static void test_batch_duplicate_committed(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	uint32_t uid = 0;
	bool dup = false;

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(deliver_text(store, "INBOX", "early", "Subject: e\r\n\r\ne\r\n", &dup), 1);
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "batch1", "Subject: 1\r\n\r\n1\r\n"), 2);
	assert_int_equal(store_batch_commit(store, &error), 0);

	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_deliver_text(store, "INBOX", "early", "Subject: e\r\n\r\ne\r\n",
					    &uid, &dup, &error), 0);
	assert_true(dup);
	assert_int_equal(uid, 1);
	assert_int_equal(batch_deliver_text(store, "INBOX", "batch1", "x\r\n", &uid, &dup, &error),
			 0);
	assert_true(dup);
	assert_int_equal(uid, 2);
	assert_int_equal(batch_ok(store, "INBOX", "new", "Subject: n\r\n\r\nn\r\n"), 3);
	assert_int_equal(store_batch_commit(store, &error), 0);
	assert_int_equal(mailbox_state(store, "INBOX").messages, 3);
	store_close(&store);
}

/* A delivery that fails in the middle of a batch (unknown mailbox, bad
 * arguments) fails alone: the others keep consecutive UIDs and commit, and
 * the failed key stays free. */
static void test_batch_bad_in_middle(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	uint32_t uid = 99;
	bool dup = true;
	char key[32], text[64];
	char path[4096];

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(store_batch_begin(store, &error), 0);
	for (uint32_t i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		snprintf(text, sizeof(text), "Subject: %u\r\n\r\n%u\r\n", i, i);
		assert_int_equal(batch_ok(store, "INBOX", key, text), i + 1);
		if (i != 4)
			continue;
		assert_int_equal(batch_deliver_text(store, "Nowhere", "bad", "Subject: b\r\n\r\n",
						    &uid, &dup, &error), -1);
		assert_non_null(strstr(error, "no such mailbox"));
		assert_int_equal(uid, 0);
		assert_false(dup);
		assert_int_equal(batch_deliver_text(store, "INBOX", "", "Subject: b\r\n\r\n", &uid,
						    &dup, &error), -1);
		/* The message's description does not match its content. */
		struct iovec iov = { (void *)"Subject: b\r\n\r\n", 14 };
		struct test_msg t;
		test_msg_init(&t, &iov, 1, "bad");
		t.msg.size++;
		assert_int_equal(store_batch_deliver(store, "INBOX", "bad2", &iov, 1, &t.msg, 0,
						     &uid, &dup, &error), -1);
	}
	assert_int_equal(store_batch_commit(store, &error), 0);

	struct store_mailbox inbox = mailbox_state(store, "INBOX");
	assert_int_equal(inbox.messages, 10);
	assert_int_equal(inbox.uidnext, 11);
	assert_int_equal(inbox.highestmodseq, 11);
	snprintf(path, sizeof(path), "%s/blobs", d->path);
	assert_int_equal(count_files(path), 10);
	char *content = content_of(store, "INBOX", 6);
	assert_string_equal(content, "Subject: 5\r\n\r\n5\r\n");
	free(content);
	/* The failed keys were not stored. */
	assert_int_equal(deliver_text(store, "INBOX", "bad", "Subject: b\r\n\r\n", &dup), 11);
	assert_false(dup);
	store_close(&store);
}

/* An aborted batch leaves nothing (rows, UIDs, files), its keys stay free,
 * and the next batch and store_deliver go on from where the store was. */
static void test_batch_abort(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	bool dup;
	char path[4096];

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(deliver_text(store, "INBOX", "first", "Subject: 1\r\n\r\n1\r\n", &dup), 1);
	struct store_mailbox before = mailbox_state(store, "INBOX");

	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "lost1", "Subject: l1\r\n\r\nl1\r\n"), 2);
	assert_int_equal(batch_ok(store, "INBOX", "lost2", "Subject: l2\r\n\r\nl2\r\n"), 3);
	store_batch_abort(store);
	store_batch_abort(store); /* a second abort does nothing */

	struct store_mailbox after = mailbox_state(store, "INBOX");
	assert_int_equal(after.messages, before.messages);
	assert_int_equal(after.uidnext, before.uidnext);
	assert_int_equal(after.highestmodseq, before.highestmodseq);
	snprintf(path, sizeof(path), "%s/blobs", d->path);
	assert_int_equal(count_files(path), 1);

	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "lost2", "Subject: l2\r\n\r\nl2\r\n"), 2);
	assert_int_equal(store_batch_commit(store, &error), 0);
	assert_int_equal(deliver_text(store, "INBOX", "lost1", "Subject: l1\r\n\r\nl1\r\n", &dup), 3);
	assert_false(dup);
	assert_int_equal(mailbox_state(store, "INBOX").messages, 3);

	/* Closing a store with a batch open aborts it. */
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "closed", "Subject: c\r\n\r\nc\r\n"), 4);
	store_close(&store);
	store = open_store(d->path);
	assert_int_equal(mailbox_state(store, "INBOX").uidnext, 4);
	assert_int_equal(tmp_files(d), 0);
	store_close(&store);
}

/* store_deliver works between batches; while a batch is open the other
 * calls (store_deliver included) are refused and leave the batch intact;
 * the batch calls refuse to run out of order. */
static void test_batch_and_other_calls(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	uint32_t uid = 7;
	bool dup = true;
	struct store_mailbox *list;
	struct store_message *msgs;
	size_t count;
	uint32_t uids[] = { 1 };

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(store_batch_commit(store, &error), -1);
	assert_int_equal(batch_deliver_text(store, "INBOX", "x", "x\r\n", &uid, &dup, &error), -1);
	assert_int_equal(deliver_text(store, "INBOX", "d1", "Subject: 1\r\n\r\n1\r\n", &dup), 1);

	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(store_batch_begin(store, &error), -1);
	assert_int_equal(batch_ok(store, "INBOX", "b1", "Subject: b\r\n\r\nb\r\n"), 2);
	struct iovec iov = { (void *)"Subject: d\r\n\r\n", 14 };
	struct test_msg t;
	test_msg_init(&t, &iov, 1, "d");
	assert_int_equal(store_deliver(store, "INBOX", "d2", &iov, 1, &t.msg, 0, &uid, &dup,
				       &error), -1);
	assert_non_null(strstr(error, "batch"));
	assert_int_equal(uid, 0);
	assert_int_equal(store_mailbox_list(store, &list, &count, &error), -1);
	assert_int_equal(store_message_list(store, "INBOX", &msgs, &count, &error), -1);
	assert_int_equal(store_message_open(store, "INBOX", 1, &error), -1);
	assert_int_equal(store_expunge(store, "INBOX", uids, 1, &error), -1);
	assert_int_equal(batch_ok(store, "INBOX", "b2", "Subject: b2\r\n\r\nb2\r\n"), 3);
	assert_int_equal(store_batch_commit(store, &error), 0);

	assert_int_equal(deliver_text(store, "INBOX", "d2", "Subject: d\r\n\r\n", &dup), 4);
	assert_int_equal(deliver_text(store, "INBOX", "b1", "other\r\n", &dup), 2);
	assert_true(dup);
	assert_int_equal(mailbox_state(store, "INBOX").messages, 4);

	/* Expunge after batches: gone, the UID is not given again. */
	assert_int_equal(store_expunge(store, "INBOX", uids, 1, &error), 0);
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "b3", "Subject: b3\r\n\r\n"), 5);
	assert_int_equal(store_batch_commit(store, &error), 0);
	struct store_mailbox inbox = mailbox_state(store, "INBOX");
	assert_int_equal(inbox.messages, 4);
	assert_int_equal(inbox.highestmodseq, 7);
	store_close(&store);
}

/* A batch stores at most STORE_BATCH_MAX messages; one past it fails alone
 * and the batch still commits.  Equal content is stored once. */
static void test_batch_full(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	uint32_t uid;
	bool dup;
	char key[32], path[4096];

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	assert_int_equal(store_batch_begin(store, &error), 0);
	for (uint32_t i = 0; i < STORE_BATCH_MAX; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		assert_int_equal(batch_ok(store, "INBOX", key, i % 2 ? "Subject: odd\r\n\r\n"
								 : "Subject: even\r\n\r\n"),
				 i + 1);
	}
	assert_int_equal(batch_deliver_text(store, "INBOX", "one more", "x\r\n", &uid, &dup,
					    &error), -1);
	assert_non_null(strstr(error, "full"));
	/* A duplicate stores nothing, so it is still answered. */
	assert_int_equal(batch_deliver_text(store, "INBOX", "k3", "x\r\n", &uid, &dup, &error), 0);
	assert_true(dup);
	assert_int_equal(uid, 4);
	assert_int_equal(store_batch_commit(store, &error), 0);
	assert_int_equal(mailbox_state(store, "INBOX").messages, STORE_BATCH_MAX);
	snprintf(path, sizeof(path), "%s/blobs", d->path);
	assert_int_equal(count_files(path), 2);
	store_close(&store);
}

/* A commit whose files cannot be put in place (every blobs/xx name is
 * taken by a plain file) fails and keeps nothing of the batch; once the
 * obstacle is gone the same deliveries go through. */
static void test_batch_commit_fails(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	bool dup;
	char path[4096];

	assert_int_equal(store_create(d->path, &error), 0);
	struct store *store = open_store(d->path);
	for (int i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "%s/blobs/%02x", d->path, i);
		assert_int_equal(rmdir(path), 0); /* made with the store, empty */
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "a", "Subject: a\r\n\r\na\r\n"), 1);
	assert_int_equal(batch_ok(store, "INBOX", "b", "Subject: b\r\n\r\nb\r\n"), 2);
	assert_int_equal(store_batch_commit(store, &error), -1);
	assert_non_null(strstr(error, "blobs/"));
	struct store_mailbox inbox = mailbox_state(store, "INBOX");
	assert_int_equal(inbox.messages, 0);
	assert_int_equal(inbox.uidnext, 1);
	assert_int_equal(inbox.highestmodseq, 1);
	assert_int_equal(tmp_files(d), 0);
	/* The batch is over. */
	assert_int_equal(store_batch_commit(store, &error), -1);

	for (int i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "%s/blobs/%02x", d->path, i);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "a", "Subject: a\r\n\r\na\r\n"), 1);
	assert_int_equal(batch_ok(store, "INBOX", "b", "Subject: b\r\n\r\nb\r\n"), 2);
	assert_int_equal(store_batch_commit(store, &error), 0);
	assert_int_equal(deliver_text(store, "INBOX", "b", "x\r\n", &dup), 2);
	assert_true(dup);
	char *content = content_of(store, "INBOX", 2);
	assert_string_equal(content, "Subject: b\r\n\r\nb\r\n");
	free(content);
	store_close(&store);
}

/* The connection of the store under test, caught as SQLite opens it, so a
 * test can do to it what SQLite does on its own after an I/O error, a full
 * disk or lack of memory: roll the whole transaction back. */
static sqlite3 *last_db;

static int catch_db(sqlite3 *db, char **error_r, const void *api)
{
	(void)error_r;
	(void)api;
	last_db = db;
	return SQLITE_OK;
}

/* After SQLite has dropped the batch's transaction, no delivery of the
 * batch may be stored (not even committed on its own outside the batch),
 * and the commit fails. */
static void test_batch_transaction_lost(void **state)
{
	struct test_dir *d = *state;
	const char *error = NULL;
	uint32_t uid;
	bool dup;

	assert_int_equal(store_create(d->path, &error), 0);
	assert_int_equal(sqlite3_auto_extension((void (*)(void))catch_db), SQLITE_OK);
	struct store *store = open_store(d->path);
	sqlite3_cancel_auto_extension((void (*)(void))catch_db);
	assert_non_null(last_db);
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "a", "Subject: a\r\n\r\na\r\n"), 1);
	assert_int_equal(sqlite3_exec(last_db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(batch_deliver_text(store, "INBOX", "b", "Subject: b\r\n\r\nb\r\n", &uid,
					    &dup, &error), -1);
	assert_non_null(strstr(error, "rolled back"));
	assert_int_equal(store_batch_commit(store, &error), -1);
	last_db = NULL;
	store_close(&store);

	store = open_store(d->path);
	struct store_mailbox inbox = mailbox_state(store, "INBOX");
	assert_int_equal(inbox.messages, 0);
	assert_int_equal(inbox.uidnext, 1);
	assert_int_equal(tmp_files(d), 0);
	assert_int_equal(store_batch_begin(store, &error), 0);
	assert_int_equal(batch_ok(store, "INBOX", "b", "Subject: b\r\n\r\nb\r\n"), 1);
	assert_int_equal(store_batch_commit(store, &error), 0);
	store_close(&store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preinit),
		cmocka_unit_test_setup_teardown(test_create_open, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_open_missing, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_deliver_list_read, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_parts_and_fields, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_duplicate, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_unknown_mailbox, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_reopen, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_shared_blob, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_crash_leftovers, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_commit, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_duplicate_in_batch, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_duplicate_committed, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_bad_in_middle, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_abort, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_and_other_calls, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_full, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_commit_fails, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_batch_transaction_lost, setup_dir,
						teardown_dir),
	};
	/* The tests that ask only what store.h promises, on store-mem. */
	const struct CMUnitTest mem_tests[] = {
		cmocka_unit_test_setup_teardown(test_deliver_list_read, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_duplicate, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_reopen, setup_dir_mem, teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_batch_duplicate_committed, setup_dir_mem,
						teardown_dir_mem),
		cmocka_unit_test_setup_teardown(test_batch_and_other_calls, setup_dir_mem,
						teardown_dir_mem),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("store-mem", mem_tests, NULL, NULL);
	return failed + test_store_imap_run() + test_store_search_run() +
	       test_store_backends_run() + test_store_gc_run() + test_store_header_run();
}
