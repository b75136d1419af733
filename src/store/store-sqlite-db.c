/*
 * store-sqlite-db: the one way the backend runs SQL: the kept statements of
 * store-sqlite-schema.c through lib/sql.h (prepared once per store, reset
 * after each use, parameters set with a binder).  Errors are
 * formatted into the store's buffer.  Transactions: BEGIN for a snapshot
 * read, BEGIN IMMEDIATE for a write (the account's write lock).
 */
#include "store-sqlite.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* db_fail formats an error into the store and returns -1. */
int db_fail(struct sqlite_store *s, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	*error_r = s->error;
	return -1;
}

/* db_sql_fail reports SQLite's last error on the connection, naming what was
 * being done, and returns -1. */
int db_sql_fail(struct sqlite_store *s, const char *what, const char **error_r)
{
	return db_fail(s, error_r, "sqlite: %s: %s", what, sqlite3_errmsg(s->db));
}

/* db_stmt returns the kept statement id, preparing it on first use, reset
 * and without bindings.  Returns NULL with *error_r. */
sqlite3_stmt *db_stmt(struct sqlite_store *s, enum stmt_id id, const char **error_r)
{
	sqlite3_stmt *st = sql_stmt(s->db, &s->stmts[id], sqlite_stmt_sql[id]);
	if (st == NULL)
		db_sql_fail(s, "prepare", error_r);
	return st;
}

/* db_bind_check turns a binder's failure into an error.  Returns 0 or -1. */
int db_bind_check(struct sqlite_store *s, const struct sql_binder *b, const char **error_r)
{
	if (b->rc == SQLITE_OK)
		return 0;
	return db_fail(s, error_r, "sqlite: bind: %s", sqlite3_errstr(b->rc));
}

/* db_step_done runs a statement that returns no rows and resets it.
 * Returns 0 or -1 with *error_r. */
int db_step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
		     const char **error_r)
{
	int ret = 0;
	if (sqlite3_step(st) != SQLITE_DONE)
		ret = db_sql_fail(s, what, error_r);
	sql_stmt_done(st);
	return ret;
}

/* db_bind_run runs a bound statement that returns no rows (the binder's
 * failure first) and resets it.  Returns 0 or -1 with *error_r. */
int db_bind_run(struct sqlite_store *s, struct sql_binder *b, const char *what,
		    const char **error_r)
{
	if (db_bind_check(s, b, error_r) < 0) {
		sql_stmt_done(b->st);
		return -1;
	}
	return db_step_done(s, b->st, what, error_r);
}

/* db_run executes one kept statement without parameters (BEGIN, COMMIT...). */
int db_run(struct sqlite_store *s, enum stmt_id id, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, id, error_r);
	if (st == NULL)
		return -1;
	return db_step_done(s, st, sqlite_stmt_sql[id], error_r);
}

/* db_rollback ends an open transaction, keeping the error already reported. */
void db_rollback(struct sqlite_store *s)
{
	const char *ignored;
	if (!sqlite3_get_autocommit(s->db))
		(void)db_run(s, STMT_ROLLBACK, &ignored);
}

/* db_no_batch refuses a call made while a batch is open (see store.h). */
int db_no_batch(struct sqlite_store *s, const char **error_r)
{
	if (s->in_batch)
		return db_fail(s, error_r, "store: a batch is open");
	return 0;
}

/* db_exec runs a script of several statements once (a schema version, the
 * pragmas), the one SQL not kept.  Returns 0 or -1. */
int db_exec(struct sqlite_store *s, const char *sql, const char **error_r)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_sql_fail(s, "exec", error_r);
	return 0;
}

/* db_query_int runs kept statement id, which yields one integer, with param
 * (when not NULL) as ?1: *value_r is that integer, 0 when there is no row. */
int db_query_int(struct sqlite_store *s, enum stmt_id id, const char *param, int64_t *value_r,
		 const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, id, error_r);
	int ret = 0;

	*value_r = 0;
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	if (param != NULL)
		sql_bind_cstr(&b, param);
	ret = db_bind_check(s, &b, error_r);
	if (ret == 0) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*value_r = sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE)
			ret = db_sql_fail(s, "query", error_r);
	}
	sql_stmt_done(st);
	return ret;
}

/* db_meta_set stores an integer under key in meta (inside the caller's
 * transaction). */
int db_meta_set(struct sqlite_store *s, const char *key, int64_t value, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_META_SET, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, key);
	sql_bind_i64(&b, value);
	return db_bind_run(s, &b, "meta", error_r);
}

/* db_begin_write opens a write transaction after refusing an open batch. */
int db_begin_write(struct sqlite_store *s, const char **error_r)
{
	if (db_no_batch(s, error_r) < 0)
		return -1;
	return db_run(s, STMT_BEGIN_IMMEDIATE, error_r);
}

/* db_commit ends a write transaction; on failure it is rolled back. */
int db_commit(struct sqlite_store *s, const char **error_r)
{
	if (db_run(s, STMT_COMMIT, error_r) < 0) {
		db_rollback(s);
		return -1;
	}
	return 0;
}

/* db_status_fail rolls back and returns a user-level status with its text. */
int db_status_fail(struct sqlite_store *s, int status, const char **error_r,
		       const char *text)
{
	db_rollback(s);
	snprintf(s->error, sizeof(s->error), "%s", text);
	*error_r = s->error;
	return status;
}

/* db_read_begin opens a read transaction (one snapshot for several queries). */
int db_read_begin(struct sqlite_store *s, const char **error_r)
{
	if (db_no_batch(s, error_r) < 0)
		return -1;
	return db_run(s, STMT_BEGIN, error_r);
}
