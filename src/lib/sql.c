/*
 * sql: kept statements and the binder (see sql.h).
 */
#include "lib/sql.h"

#include <limits.h>

/* sql_stmt: see sql.h. */
sqlite3_stmt *sql_stmt(sqlite3 *db, sqlite3_stmt **slot, const char *sql)
{
	if (*slot == NULL &&
	    sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK)
		return NULL;
	return *slot;
}

/* sql_stmt_done: see sql.h. */
void sql_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* sql_binder: see sql.h. */
struct sql_binder sql_binder(sqlite3_stmt *st)
{
	return (struct sql_binder){ st, 0, SQLITE_OK };
}

void sql_bind_i64(struct sql_binder *b, int64_t v)
{
	b->n++;
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->st, b->n, v);
}

/* sql_bind_u64: see sql.h. */
void sql_bind_u64(struct sql_binder *b, uint64_t v)
{
	if (v > INT64_MAX && b->rc == SQLITE_OK)
		b->rc = SQLITE_TOOBIG;
	sql_bind_i64(b, (int64_t)v);
}

/* sql_bind_str: see sql.h; a text past INT_MAX bytes is SQLITE_TOOBIG. */
void sql_bind_str(struct sql_binder *b, struct str v)
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

void sql_bind_cstr(struct sql_binder *b, const char *v)
{
	sql_bind_str(b, str_c(v));
}

void sql_bind_null(struct sql_binder *b)
{
	b->n++;
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_null(b->st, b->n);
}

/* sql_column_str: see sql.h. */
struct str sql_column_str(sqlite3_stmt *st, int col)
{
	const char *p = (const char *)sqlite3_column_text(st, col);
	return p == NULL ? STR("") : str_from(p, (size_t)sqlite3_column_bytes(st, col));
}
