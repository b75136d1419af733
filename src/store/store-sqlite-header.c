/*
 * store-sqlite-header: the copies of header sections (store.h, "Header
 * copies"; schema version 7).  A delivery or APPEND writes its content's
 * copy in the savepoint of its rows (header_keep), so a crash keeps both
 * or neither; the clean-up deletes it with the file (header_forget), in
 * the transaction that found no message naming the file.  A copy is
 * the content's first octets up to the end of its header section, so a
 * reader answers any read inside it from memory (store-sqlite-message.c).
 */
#include "store-sqlite.h"

#include <string.h>

/* header_span gives how many first octets of msg's content the copy
 * holds (its whole header section and blank line), 0 when none is kept:
 * no parsed header, or one over STORE_HEADER_KEEP_MAX. */
static size_t header_span(const struct mime_message *msg)
{
	if (msg->part_count == 0)
		return 0;
	const struct mime_part *whole = &msg->parts[0];
	if (whole->header_offset != 0 || whole->header_size == 0 ||
	    whole->header_size > STORE_HEADER_KEEP_MAX || whole->header_size > msg->size)
		return 0;
	return (size_t)whole->header_size;
}

/* gather copies the first n octets of iov[0..iovcnt) to dst; false when
 * the vector is shorter. */
static bool gather(const struct iovec *iov, int iovcnt, char *dst, size_t n)
{
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < n; i++) {
		size_t take = iov[i].iov_len < n - done ? iov[i].iov_len : n - done;
		memcpy(dst + done, iov[i].iov_base, take);
		done += take;
	}
	return done == n;
}

int header_keep(struct sqlite_store *s, const char *hash, const struct iovec *iov, int iovcnt,
		const struct mime_message *msg, const char **error_r)
{
	size_t n = header_span(msg);
	if (n == 0 || iovcnt < 1)
		return 0;
	/* The content's first piece nearly always holds the whole header
	 * (a Return-Path line alone in front is the exception). */
	char joined[STORE_HEADER_KEEP_MAX];
	const char *copy = iov[0].iov_base;
	if (iov[0].iov_len < n) {
		if (!gather(iov, iovcnt, joined, n))
			return 0;
		copy = joined;
	}
	sqlite3_stmt *st = db_stmt(s, STMT_HEADER_KEEP, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, hash);
	/* A blob: a header may hold any octet, NUL included. */
	if (b.rc == SQLITE_OK)
		b.rc = sqlite3_bind_blob(st, ++b.n, copy, (int)n, SQLITE_STATIC);
	return db_bind_run(s, &b, "keep header", error_r);
}

int header_forget(struct sqlite_store *s, const char *hash, const char **error_r)
{
	sqlite3_stmt *st = db_stmt(s, STMT_HEADER_FORGET, error_r);
	if (st == NULL)
		return -1;
	struct sql_binder b = sql_binder(st);
	sql_bind_cstr(&b, hash);
	return db_bind_run(s, &b, "forget header", error_r);
}
