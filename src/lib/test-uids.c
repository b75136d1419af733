/* Unit tests for uids: the ids each process gets, and the accounts that
 * get none.  The choices are made only for root (there is nothing to drop
 * otherwise), so the tests skip when not run as root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/uids.h"

/* uid_of returns the uid uids_for gives (role, account), or -1 if none. */
static long long uid_of(const struct config *c, enum jail_role role, uint64_t account)
{
	struct jail_ids ids;
	char err[256];

	if (uids_for(c, role, account, &ids, err, sizeof(err)) < 0)
		return -1;
	assert_true(role == JAIL_ROLE_MASTER || ids.drop);
	assert_true(role == JAIL_ROLE_MASTER || c->user[0] != '\0' || ids.gid == ids.uid);
	return (long long)ids.uid;
}

/* test_roles_and_workers: the table of docs/design-notes.md. */
static void test_roles_and_workers(void **state)
{
	struct config c;
	(void)state;
	if (geteuid() != 0)
		skip();
	config_defaults(&c, false);
	assert_int_equal(uids_mode(&c), UIDS_PER_PROCESS);
	assert_int_equal(uid_of(&c, JAIL_ROLE_SPAWNER, 0), 2000000000);
	assert_int_equal(uid_of(&c, JAIL_ROLE_PREAUTH, 0), 2000000000);
	assert_int_equal(uid_of(&c, JAIL_ROLE_AUTH, 0), 2000000001);
	assert_int_equal(uid_of(&c, JAIL_ROLE_QUEUE, 0), 2000000002);
	assert_int_equal(uid_of(&c, JAIL_ROLE_KEYS, 0), 2000000003);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, 5), 2000065541);
	assert_int_equal(uid_of(&c, JAIL_ROLE_MASTER, 0), 0);
	char err[256];
	assert_int_equal(uids_check(&c, err, sizeof(err)), 0);
}

/* test_worker_bounds: no account 0, none past the top, none on a role. */
static void test_worker_bounds(void **state)
{
	struct config c;
	uint64_t top = CONFIG_UID_MAX - 2000065536ull;
	(void)state;
	if (geteuid() != 0)
		skip();
	config_defaults(&c, false);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, 0), -1);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, top), CONFIG_UID_MAX);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, top + 1), -1);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, UINT64_MAX), -1);
	/* Workers just below the roles: ids 1 and 2 fit, 3 to 18 are roles'. */
	c.worker_uid_base = c.uid_base - 3;
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, 2), 1999999999);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, 3), -1);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, 18), -1);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, 19), 2000000016);
	/* A first worker on a role's uid is refused at start. */
	char err[256];
	c.worker_uid_base = c.uid_base - 1;
	assert_int_equal(uids_check(&c, err, sizeof(err)), -1);
}

/* test_named_user: `user` set gives every child that user's ids. */
static void test_named_user(void **state)
{
	struct config c;
	char err[256];
	(void)state;
	if (geteuid() != 0)
		skip();
	config_defaults(&c, false);
	assert_int_equal(config_set(&c, "user", "root", err, sizeof(err)), 0);
	assert_int_equal(uids_mode(&c), UIDS_NAMED_USER);
	assert_int_equal(uid_of(&c, JAIL_ROLE_AUTH, 0), 0);
	assert_int_equal(uid_of(&c, JAIL_ROLE_WORKER, 7), 0);
	assert_int_equal(config_set(&c, "user", "no-such-user-here", err, sizeof(err)), 0);
	assert_int_equal(uid_of(&c, JAIL_ROLE_QUEUE, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_and_workers),
		cmocka_unit_test(test_worker_bounds),
		cmocka_unit_test(test_named_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
