/*
 * Unit tests for imap-session-park: the UID runs both ways and at their
 * bounds, states that are malformed, and a session in IDLE parked, the
 * store changed by another session, and taken up again: it reports the
 * new message and answers DONE with its IDLE's tag.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-session-park.h"
#include "lib/ipc.h"
#include "store/store.h"

#define TEST_DIR_TEMPLATE "/tmp/ravelin-park-test-XXXXXX"

static void roundtrip(const uint32_t *uids, size_t n)
{
	struct buf b;
	uint32_t *back;
	size_t count;
	const char *error;

	buf_init(&b, 1 << 20);
	assert_int_equal(imap_park_uids_encode(&b, uids, n), 0);
	assert_int_equal(imap_park_uids_decode(buf_str(&b), &back, &count, &error), 0);
	assert_int_equal(count, n);
	if (n > 0)
		assert_memory_equal(back, uids, n * sizeof(*uids));
	free(back);
	buf_free(&b);
}

static void test_uids_roundtrip(void **state)
{
	(void)state;
	static const uint32_t one[] = { 1 };
	static const uint32_t runs[] = { 1, 2, 3, 7, 9, 10, 11, 4000000000u, UINT32_MAX };
	roundtrip(NULL, 0);
	roundtrip(one, 1);
	roundtrip(runs, sizeof(runs) / sizeof(runs[0]));
	/* 100,000 contiguous UIDs take four bytes. */
	uint32_t *many = malloc(100000 * sizeof(*many));
	for (uint32_t i = 0; i < 100000; i++)
		many[i] = i + 1;
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(imap_park_uids_encode(&b, many, 100000), 0);
	assert_true(b.len <= 4);
	buf_free(&b);
	roundtrip(many, 100000);
	free(many);
}

/* A varint of a uint32_t: at most 5 bytes. */
#define PARK_TEST_VARINT 5

/* encode_run writes one run (gap 1, length run) the way the state does. */
static size_t encode_run(char *out, uint32_t run)
{
	size_t n = 0;
	out[n++] = 1;
	for (uint32_t v = run;; v >>= 7) {
		out[n++] = (char)((v & 0x7f) | (v >> 7 ? 0x80 : 0));
		if ((v >> 7) == 0)
			return n;
	}
}

static int decode(const char *bytes, size_t len, size_t *count_r)
{
	uint32_t *uids = NULL;
	const char *error = NULL;
	int r = imap_park_uids_decode(str_from(bytes, len), &uids, count_r, &error);
	if (r < 0)
		assert_non_null(error);
	free(uids);
	return r;
}

static void test_uids_malformed(void **state)
{
	size_t count;
	(void)state;
	assert_int_equal(decode("\x01", 1, &count), -1);           /* a run cut */
	assert_int_equal(decode("\x00\x01", 2, &count), -1);       /* gap 0 */
	assert_int_equal(decode("\x01\x00", 2, &count), -1);       /* run 0 */
	assert_int_equal(decode("\x80\x80\x80\x80\x80\x01\x01", 7, &count), -1); /* long */
	assert_int_equal(decode("\xff\xff\xff\xff\x0f\x02", 6, &count), -1); /* past 2^32-1 */
	assert_int_equal(decode("\x05\x01\x01\x01", 4, &count), 0); /* 5, 7 */
	assert_int_equal(count, 2);
	/* IMAP_PARK_MAX_UIDS in one run is taken; one more is not. */
	char enc[2 * PARK_TEST_VARINT];
	size_t n = encode_run(enc, IMAP_PARK_MAX_UIDS);
	assert_int_equal(decode(enc, n, &count), 0);
	assert_int_equal(count, IMAP_PARK_MAX_UIDS);
	n = encode_run(enc, IMAP_PARK_MAX_UIDS + 1);
	assert_int_equal(decode(enc, n, &count), -1);
}

static void cb_close(void *ctx)
{
	(void)ctx;
}

static void cb_changed(void *ctx)
{
	(void)ctx;
}

static const struct imap_session_callbacks callbacks = { .close = cb_close,
							 .changed = cb_changed };

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void feed(struct imap_session *s, const char *text)
{
	struct buf in;
	buf_init(&in, 1 << 16);
	assert_int_equal(buf_append(&in, text, strlen(text)), 0);
	imap_session_input(s, &in);
	assert_int_equal(in.len, 0);
	buf_free(&in);
}

static bool has(const struct buf *out, const char *needle)
{
	return memmem(out->data, out->len, needle, strlen(needle)) != NULL;
}

static void test_malformed_state(void **state)
{
	struct buf out;
	const char *error = NULL;
	struct imap_session_settings settings = { .max_append = 1 << 20 };
	(void)state;
	buf_init(&out, 1 << 16);
	assert_null(imap_session_unpark(NULL, &out, &settings, &callbacks, NULL, STR("junk"),
					&error));
	assert_non_null(error);
	/* A version from elsewhere. */
	struct buf st;
	buf_init(&st, 1024);
	ipc_put_u64(&st, IMAP_PARK_VERSION + 1);
	error = NULL;
	assert_null(imap_session_unpark(NULL, &out, &settings, &callbacks, NULL, buf_str(&st),
					&error));
	assert_non_null(error);
	buf_free(&st);
	buf_free(&out);
}

static void test_park_and_take_up(void **state)
{
	char dir[] = TEST_DIR_TEMPLATE;
	struct store *store;
	const char *error = NULL;
	struct buf out, other_out, st;
	struct imap_session_settings settings = { .max_append = 1 << 20 };
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_create(dir, &error), 0);
	assert_int_equal(store_open(dir, &store, &error), 0);
	buf_init(&out, 1 << 20);
	buf_init(&other_out, 1 << 20);
	buf_init(&st, IPC_PARK_MAX_STATE);

	struct imap_session *s = imap_session_new(store, &out, &settings, &callbacks, NULL);
	feed(s, "a ENABLE CONDSTORE\r\nb SELECT INBOX\r\n");
	assert_false(imap_session_parkable(s));
	feed(s, "t7 IDLE\r\n");
	assert_true(imap_session_parkable(s));
	assert_int_equal(imap_session_park(s, &st), 0);
	imap_session_free(&s);
	buf_reset(&out);

	/* Another session adds a message meanwhile. */
	struct imap_session *o = imap_session_new(store, &other_out, &settings, &callbacks, NULL);
	feed(o, "x APPEND INBOX {12+}\r\nSubject: a\r\n\r\nx APPEND INBOX {12+}\r\nSubject: b\r\n\r\n");
	assert_true(has(&other_out, "x OK"));
	imap_session_free(&o);

	s = imap_session_unpark(store, &out, &settings, &callbacks, NULL, buf_str(&st), &error);
	assert_non_null(s);
	assert_true(has(&out, "* 2 EXISTS"));
	assert_true(imap_session_parkable(s));
	feed(s, "DONE\r\n");
	assert_true(has(&out, "t7 OK"));
	/* CONDSTORE stayed enabled: FETCH gives MODSEQ. */
	feed(s, "c FETCH 1 (FLAGS)\r\n");
	assert_true(has(&out, "MODSEQ"));
	imap_session_free(&s);

	/* A state whose mailbox has another UIDVALIDITY now: BYE. */
	assert_int_equal(store_mailbox_create(store, "Other", &error), 0);
	s = imap_session_new(store, &out, &settings, &callbacks, NULL);
	feed(s, "d SELECT Other\r\ne IDLE\r\n");
	buf_reset(&st);
	assert_int_equal(imap_session_park(s, &st), 0);
	imap_session_free(&s);
	assert_int_equal(store_mailbox_delete(store, "Other", &error), 0);
	assert_int_equal(store_mailbox_create(store, "Other", &error), 0);
	buf_reset(&out);
	s = imap_session_unpark(store, &out, &settings, &callbacks, NULL, buf_str(&st), &error);
	assert_non_null(s);
	assert_true(has(&out, "* BYE"));
	imap_session_free(&s);

	buf_free(&st);
	buf_free(&out);
	buf_free(&other_out);
	store_close(&store);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uids_roundtrip),
		cmocka_unit_test(test_uids_malformed),
		cmocka_unit_test(test_malformed_state),
		cmocka_unit_test(test_park_and_take_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
