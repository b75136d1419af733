/*
 * test-dav: the harness of the DAV unit tests: a real dav-store in a fresh
 * temporary directory, an account, and requests given to dav_handle as the
 * worker gives them (struct http_request with its headers and body).
 */
#ifndef RAVELIN_TEST_DAV_H
#define RAVELIN_TEST_DAV_H
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dav/dav.h"
#include "store/dav-store.h"

#define TEST_DAV_TEMPLATE "/tmp/ravelin-dav-XXXXXX"
#define TEST_DAV_ME "alice@example.com"
#define TEST_DAV_CAL "/dav/calendars/alice@example.com/calendar/"
#define TEST_DAV_BOOK "/dav/addressbooks/alice@example.com/contacts/"

struct test_dav_change {
	int64_t collection;
	char name[64];
	bool had_old, has_new;
};

struct test_dav {
	char dir[sizeof(TEST_DAV_TEMPLATE)];
	struct dav_store *store;
	struct dav_account account;
	struct dav_hooks hooks;
	struct dav_env env;
	struct dav_response resp;
	struct test_dav_change changes[16];
	size_t change_count;
};

int test_dav_setup(void **state);
int test_dav_teardown(void **state);
/*
 * test_dav_req sends one request: headers is NULL or a NULL-terminated list
 * of "Name", "value" pairs; body may be NULL.  Returns the answer's status
 * (the whole answer in t->resp until the next request).
 */
int test_dav_req(struct test_dav *t, const char *method, const char *target, const char *const *headers,
		 const char *body);
/* test_dav_has: the last answer's body contains text. */
bool test_dav_has(const struct test_dav *t, const char *text);
/* test_dav_header: the last answer has the header line "name: value". */
bool test_dav_header(const struct test_dav *t, const char *line);
/* test_dav_put_event stores a VEVENT with uid as name; returns the status. */
int test_dav_put_event(struct test_dav *t, const char *name, const char *uid);
/* test_dav_event: a VCALENDAR with one VEVENT of uid (static buffer). */
const char *test_dav_event(const char *uid);

/* The groups of the other test files (each runs its tests: failures). */
int test_dav_props_run(void);
int test_dav_object_run(void);
int test_dav_report_run(void);

#define assert_has(t, text) do { if (!test_dav_has((t), (text))) \
	fail_msg("answer %d lacks %s:\n%s", (t)->resp.status, (text), (t)->resp.body.data ? (t)->resp.body.data : ""); } while (0)
#define assert_lacks(t, text) do { if (test_dav_has((t), (text))) \
	fail_msg("answer %d has %s:\n%s", (t)->resp.status, (text), (t)->resp.body.data); } while (0)

#endif
