#ifndef RAVELIN_DAV_STORE_PRIVATE_H
#define RAVELIN_DAV_STORE_PRIVATE_H
/*
 * What the two files of dav-store share:
 *
 *   dav-store.c          open, schema, running SQL, collections, tokens
 *   dav-store-object.c   objects, the change log, usage
 *
 * Nothing here is seen outside src/store.
 */
#include "dav-store.h"

#include <sqlite3.h>

#include "lib/sql.h"

/* Wait this long for another connection's write lock (a command-line tool
 * on the same account) before failing: one write takes milliseconds. */
#define DAV_BUSY_TIMEOUT_MS 5000
/* Error texts kept by a store (a SQLite message and what was being done). */
#define DAV_ERROR_MAX 512

/* The two homes a collection lives in (a column of collections). */
enum dav_home { DAV_HOME_CALENDAR = 1, DAV_HOME_ADDRESSBOOK = 2 };

enum dav_stmt {
	DS_BEGIN,
	DS_BEGIN_IMMEDIATE,
	DS_COMMIT,
	DS_ROLLBACK,
	DS_COLL_LIST,
	DS_COLL_LIST_HOME,
	DS_COLL_GET,
	DS_COLL_COUNT,
	DS_COLL_INSERT,
	DS_COLL_UPDATE,
	DS_COLL_KIND,
	DS_COLL_DELETE,
	DS_COLL_SYNC,
	DS_COLL_BUMP,
	DS_COLL_FORGET,
	DS_OBJ_GET,
	DS_OBJ_GET_DATA,
	DS_OBJ_BY_UID,
	DS_OBJ_UID_OTHER,
	DS_OBJ_EACH,
	DS_OBJ_EACH_DATA,
	DS_OBJ_COUNT,
	DS_OBJ_UPSERT,
	DS_OBJ_DELETE,
	DS_CHANGE_SET,
	DS_CHANGES_SINCE,
	DS_DELETED_COUNT,
	DS_DELETED_NTH,
	DS_DELETED_PRUNE,
	DS_USAGE,
	DS_COUNT
};

struct dav_store {
	sqlite3 *db;
	sqlite3_stmt *stmts[DS_COUNT];
	char error[DAV_ERROR_MAX];
};

/* ds_fail formats an error into the store and returns -1. */
int ds_fail(struct dav_store *s, const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* ds_sql_fail reports SQLite's last error, naming what was done; -1. */
int ds_sql_fail(struct dav_store *s, const char *what, const char **error_r);
/* ds_stmt gives kept statement id (prepared on first use), or NULL. */
sqlite3_stmt *ds_stmt(struct dav_store *s, enum dav_stmt id, const char **error_r);
/* ds_bind_run runs a bound statement that yields no row and resets it. */
int ds_bind_run(struct dav_store *s, struct sql_binder *b, const char *what, const char **error_r);
/* ds_query_i64 runs a bound statement yielding one integer: 1 with *v, 0 no
 * row, -1.  The statement is reset. */
int ds_query_i64(struct dav_store *s, struct sql_binder *b, int64_t *v, const char **error_r);
/* ds_begin opens a write transaction (BEGIN IMMEDIATE: the file's write
 * lock); ds_commit ends it (rolled back on failure); ds_rollback ends an
 * open one, keeping the error reported.  0 or -1. */
int ds_begin(struct dav_store *s, const char **error_r);
int ds_commit(struct dav_store *s, const char **error_r);
void ds_rollback(struct dav_store *s);
/* ds_status rolls back and returns status (a refusal, not an error). */
int ds_status(struct dav_store *s, int status);
/* ds_column_dup copies a column's text, NUL-terminated (a NULL column gives
 * NULL); out of memory gives NULL and sets *ok to false. */
char *ds_column_dup(sqlite3_stmt *st, int col, bool *ok);

#endif
