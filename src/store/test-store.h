#ifndef RAVELIN_TEST_STORE_H
#define RAVELIN_TEST_STORE_H
/*
 * What the parts of the store's unit tests share: test-store.c (create,
 * delivery, batches), test-store-imap.c (the IMAP calls) and
 * test-store-backends.c (what both backends must do alike: the reader,
 * mailbox names, store-mem's own calls), linked into one test-store
 * program.  Each test works in its own mkdtemp directory.  The tests that
 * do not look inside the SQLite backend's files run against both backends.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mail/mime.h"
#include "store/store-private.h"
#include "store/store.h"

#define TEST_DIR_TEMPLATE "/tmp/ravelin-store-test-XXXXXX"

struct test_dir {
	char path[sizeof(TEST_DIR_TEMPLATE)];
};

/* cmocka setup and teardown: a fresh directory in *state, removed after. */
int setup_dir(void **state);
int teardown_dir(void **state);
/* The same for the in-memory backend: stores made and opened between them
 * are store-mem's (the directory only names the account). */
int setup_dir_mem(void **state);
int teardown_dir_mem(void **state);
/* A hand-made parse of a one-part message: header up to the blank line. */
struct test_msg {
	struct mime_part part;
	struct mime_message msg;
};
/* test_msg_init describes content (the concatenation of iov) as one text
 * part with a Subject. */
void test_msg_init(struct test_msg *t, const struct iovec *iov, int iovcnt, const char *subject);
/* deliver_text delivers one NUL-terminated message (key: its delivery key)
 * and fails the test unless it is stored; gives its UID. */
uint32_t deliver_text(struct store *store, const char *mailbox, const char *key, const char *text,
		      bool *duplicate_r);
/* read_all reads fd to the end into a new NUL-terminated string. */
char *read_all(int fd);
/* count_files counts the regular files below dir (recursively). */
int count_files(const char *dir);
/* test_store_imap_run runs the tests of test-store-imap.c (cmocka's
 * result: the number of failed tests). */
int test_store_imap_run(void);
/* test_store_backends_run runs the tests of test-store-backends.c. */
int test_store_backends_run(void);
/* test_store_search_run runs the tests of test-store-search.c. */
int test_store_search_run(void);
/* test_store_gc_run runs the tests of test-store-gc.c. */
int test_store_gc_run(void);
/* test_store_header_run runs the tests of test-store-header.c. */
int test_store_header_run(void);

/* test-store-util.c: what the IMAP and search tests share. */
struct test_dir;
/* A message parsed by the real parser; the text must outlive it. */
struct parsed {
	struct mime_parser *parser;
	const struct mime_message *msg;
	struct iovec iov;
};
void parse(struct parsed *p, const char *text);
void parsed_free(struct parsed *p);
/* new_store creates and opens the store of d (the test fails if it cannot). */
struct store *new_store(const struct test_dir *d);
/* put delivers text to mailbox (a new delivery key each time): its UID. */
uint32_t put(struct store *store, const char *mailbox, const char *text);
/* append appends one message; returns the store's status. */
int append(struct store *store, const char *mailbox, const char *text, uint32_t flags,
	   uint64_t keywords, uint32_t *uid_r);
/* box gets a mailbox (its name freed: only the numbers are meant). */
struct store_mailbox box(struct store *store, const char *name);
/* search runs store_text_search and gives "1,3,7" ("" for none; static). */
const char *search(struct store *store, const char *mailbox, enum store_text_field field,
		   const char *text);
/* index_all indexes the whole full-text backlog (store_index_backlog in
 * turns): the number of turns it took. */
unsigned index_all(struct store *store);
/* sql_int and sql_exec run SQL on the store's database with a connection
 * of their own (sql_int: the first column of the first row, -1 none). */
int64_t sql_int(const struct test_dir *d, const char *sql);
void sql_exec(const struct test_dir *d, const char *sql);
/* Sample messages: a plain one with every address field, a
 * multipart/alternative in UTF-8, a Latin-1 one with an attachment. */
extern const char plain[], alternative[], latin1[];

#endif
