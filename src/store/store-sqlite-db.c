/*
 * store-sqlite-db: the one way the backend runs SQL.  Statements are kept
 * (prepared once per store, reset after each use); a binder sets their
 * parameters in order and remembers the first failure.  Errors are
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
	if (s->stmts[id] == NULL &&
	    sqlite3_prepare_v3(s->db, sqlite_stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
			       &s->stmts[id], NULL) != SQLITE_OK) {
		db_sql_fail(s, "prepare", error_r);
		return NULL;
	}
	return s->stmts[id];
}

/* db_stmt_done makes a statement ready for its next use. */
void db_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void db_bind_i64(struct binder *b, int64_t v)
{
	b->n++;
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->st, b->n, v);
}

/* db_bind_u64 stores an unsigned count; SQLite integers are signed 64-bit. */
void db_bind_u64(struct binder *b, uint64_t v)
{
	if (v > INT64_MAX && b->rc == SQLITE_OK)
		b->rc = SQLITE_TOOBIG;
	db_bind_i64(b, (int64_t)v);
}

void db_bind_str(struct binder *b, struct str v)
{
	b->n++;
	if (b->rc != SQLITE_OK)
		return;
	if (v.ptr == NULL)
		v = STR("");
	if (v.len > INT_MAX)
		b->rc = SQLITE_TOOBIG;
	else
		b->rc = sqlite3_bind_text(b->st, b->n, v.ptr, (int)v.len, SQLITE_STATIC);
}

void db_bind_cstr(struct binder *b, const char *v)
{
	db_bind_str(b, str_c(v));
}

void db_bind_null(struct binder *b)
{
	b->n++;
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_null(b->st, b->n);
}

/* db_bind_check turns a binder's failure into an error.  Returns 0 or -1. */
int db_bind_check(struct sqlite_store *s, const struct binder *b, const char **error_r)
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
	db_stmt_done(st);
	return ret;
}

/* db_bind_run runs a bound statement that returns no rows (the binder's
 * failure first) and resets it.  Returns 0 or -1 with *error_r. */
int db_bind_run(struct sqlite_store *s, struct binder *b, const char *what,
		    const char **error_r)
{
	if (db_bind_check(s, b, error_r) < 0) {
		db_stmt_done(b->st);
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

/* db_exec runs SQL text once (schema, pragmas), not kept.  Returns 0 or -1. */
int db_exec(struct sqlite_store *s, const char *sql, const char **error_r)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_sql_fail(s, "exec", error_r);
	return 0;
}

/* db_query_int runs SQL that yields one integer (0 when there is no row). */
int db_query_int(struct sqlite_store *s, const char *sql, const char *param,
		     int64_t *value_r, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = 0;

	*value_r = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_sql_fail(s, "prepare", error_r);
	if (param != NULL && sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC) != SQLITE_OK)
		ret = db_sql_fail(s, "bind", error_r);
	if (ret == 0) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*value_r = sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE)
			ret = db_sql_fail(s, "query", error_r);
	}
	sqlite3_finalize(st);
	return ret;
}

/* db_meta_set stores an integer under key in meta (inside the caller's
 * transaction). */
int db_meta_set(struct sqlite_store *s, const char *key, int64_t value, const char **error_r)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_sql_fail(s, "prepare", error_r);
	struct binder b = { st, 0, SQLITE_OK };
	db_bind_cstr(&b, key);
	db_bind_i64(&b, value);
	int ret = db_bind_check(s, &b, error_r);
	if (ret == 0 && sqlite3_step(st) != SQLITE_DONE)
		ret = db_sql_fail(s, "meta", error_r);
	sqlite3_finalize(st);
	return ret;
}

/* db_prepare makes a one-off statement; NULL with *error_r. */
sqlite3_stmt *db_prepare(struct sqlite_store *s, const char *sql, const char **error_r)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_sql_fail(s, "prepare", error_r);
		return NULL;
	}
	return st;
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

/* db_column_str gives a text column of the current row (valid until the
 * statement moves on). */
struct str db_column_str(sqlite3_stmt *st, int col)
{
	const char *p = (const char *)sqlite3_column_text(st, col);
	return p == NULL ? STR("") : str_from(p, (size_t)sqlite3_column_bytes(st, col));
}
