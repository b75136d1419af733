#ifndef RAVELIN_TEST_STORE_H
#define RAVELIN_TEST_STORE_H
/*
 * What the two halves of the store's unit tests share: test-store.c (create,
 * delivery, batches) and test-store-imap.c (the IMAP calls), linked into
 * one test-store program.  Each test works in its own mkdtemp directory.
 */

#define TEST_DIR_TEMPLATE "/tmp/ravelin-store-test-XXXXXX"

struct test_dir {
	char path[sizeof(TEST_DIR_TEMPLATE)];
};

/* cmocka setup and teardown: a fresh directory in *state, removed after. */
int setup_dir(void **state);
int teardown_dir(void **state);
/* read_all reads fd to the end into a new NUL-terminated string. */
char *read_all(int fd);
/* count_files counts the regular files below dir (recursively). */
int count_files(const char *dir);
/* test_store_imap_run runs the tests of test-store-imap.c (cmocka's
 * result: the number of failed tests). */
int test_store_imap_run(void);

#endif
