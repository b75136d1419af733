#ifndef RAVELIN_SQL_H
#define RAVELIN_SQL_H
/*
 * sql: the one way Ravelin runs SQL on SQLite.  Statements are kept: each
 * lives in a slot of its owner (a table of statements, one per SQL text),
 * is prepared there on first use and reset after each use, so a statement
 * run per message or per login is parsed once per connection.  A binder
 * sets the parameters ?1, ?2, ... in order and remembers the first failure,
 * so a long INSERT reads as a list of values checked once.
 *
 *   sqlite3_stmt *st = sql_stmt(db, &slots[STMT_X], "SELECT ... ?1 ?2");
 *   if (st == NULL) -> sqlite3_errmsg(db)
 *   struct sql_binder b = sql_binder(st);
 *   sql_bind_cstr(&b, name);
 *   sql_bind_i64(&b, id);
 *   if (b.rc != SQLITE_OK) -> sqlite3_errstr(b.rc)
 *   ... sqlite3_step(st) ...
 *   sql_stmt_done(st);
 *
 * Texts are bound without a copy (SQLITE_STATIC): they must stay valid
 * until sql_stmt_done.  Scripts of several statements (a schema, pragmas)
 * are the one thing run otherwise, once, with sqlite3_exec.  Slots are
 * finalized by their owner (sqlite3_finalize on each) before closing.
 */
#include <stdint.h>

#include <sqlite3.h>

#include "lib/str.h"

struct sql_binder {
	sqlite3_stmt *st;
	int n;     /* the last parameter set */
	int rc;    /* SQLITE_OK, or the first failure */
};

/* sql_stmt returns the statement in *slot, preparing sql into it first
 * when the slot is empty (SQLITE_PREPARE_PERSISTENT).  NULL when sql does
 * not prepare: sqlite3_errmsg(db) says why. */
sqlite3_stmt *sql_stmt(sqlite3 *db, sqlite3_stmt **slot, const char *sql);
/* sql_stmt_done makes a statement ready for its next use (reset, no
 * bindings), ending the read it may hold open. */
void sql_stmt_done(sqlite3_stmt *st);

/* sql_binder starts binding st's parameters from ?1. */
struct sql_binder sql_binder(sqlite3_stmt *st);
void sql_bind_i64(struct sql_binder *b, int64_t v);
/* sql_bind_u64 binds an unsigned count; above INT64_MAX is SQLITE_TOOBIG
 * (SQLite integers are signed 64-bit). */
void sql_bind_u64(struct sql_binder *b, uint64_t v);
/* sql_bind_str binds a text (a NULL ptr is the empty text, not NULL). */
void sql_bind_str(struct sql_binder *b, struct str v);
void sql_bind_cstr(struct sql_binder *b, const char *v);
void sql_bind_null(struct sql_binder *b);

/* sql_column_str gives a text column of the current row ("" for NULL),
 * valid until the statement moves on. */
struct str sql_column_str(sqlite3_stmt *st, int col);

#endif
