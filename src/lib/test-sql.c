/*
 * Unit tests for sql: kept statements (prepared once, in their slot), the
 * binder (order, the first failure kept, unsigned and empty texts) and
 * text columns, on an in-memory SQLite database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/sql.h"

static void test_stmt_kept(void **state)
{
	sqlite3 *db;
	sqlite3_stmt *slot = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	sqlite3_stmt *st = sql_stmt(db, &slot, "SELECT ?1 + ?2");
	assert_non_null(st);
	assert_ptr_equal(slot, st);
	/* The second use finds it in its slot, whatever the text. */
	assert_ptr_equal(sql_stmt(db, &slot, "not SQL at all"), st);
	struct sql_binder b = sql_binder(st);
	sql_bind_i64(&b, 40);
	sql_bind_u64(&b, 2);
	assert_int_equal(b.rc, SQLITE_OK);
	assert_int_equal(b.n, 2);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 42);
	sql_stmt_done(st);
	/* Reset and without bindings: NULL + NULL. */
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
	sql_stmt_done(st);

	sqlite3_stmt *bad = NULL;
	assert_null(sql_stmt(db, &bad, "SELEKT 1"));
	assert_null(bad);
	sqlite3_finalize(slot);
	sqlite3_close(db);
}

static void test_binder(void **state)
{
	sqlite3 *db;
	sqlite3_stmt *slot = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	sqlite3_stmt *st = sql_stmt(db, &slot, "SELECT ?1, ?2, ?3, ?4");
	assert_non_null(st);
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, "abc");
	sql_bind_str(&b, STR_NULL);        /* the empty text, not NULL */
	sql_bind_null(&b);
	sql_bind_str(&b, str_from("xyz", 2));
	assert_int_equal(b.rc, SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(str_eq(sql_column_str(st, 0), STR("abc")));
	assert_int_equal(sqlite3_column_type(st, 1), SQLITE_TEXT);
	assert_int_equal(sql_column_str(st, 1).len, 0);
	assert_int_equal(sql_column_str(st, 2).len, 0);   /* NULL reads as "" */
	assert_true(str_eq(sql_column_str(st, 3), STR("xy")));
	sql_stmt_done(st);

	/* Past INT64_MAX: the first failure is kept, later binds skipped. */
	b = sql_binder(st);
	sql_bind_u64(&b, (uint64_t)INT64_MAX);
	assert_int_equal(b.rc, SQLITE_OK);
	sql_bind_u64(&b, (uint64_t)INT64_MAX + 1);
	assert_int_equal(b.rc, SQLITE_TOOBIG);
	sql_bind_cstr(&b, "later");
	assert_int_equal(b.rc, SQLITE_TOOBIG);
	assert_int_equal(b.n, 3);
	sql_stmt_done(st);
	/* A parameter that is not there. */
	b = sql_binder(st);
	for (int i = 0; i < 5; i++)
		sql_bind_i64(&b, i);
	assert_int_equal(b.rc, SQLITE_RANGE);
	sql_stmt_done(st);
	sqlite3_finalize(slot);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stmt_kept),
		cmocka_unit_test(test_binder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
